//! What the benchmarks that drive a real host over HTTP share: the release
//! `linli serve` binary on a temporary data dir, keep-alive connections to
//! it, publishing a plugin and the PASS/MISS verdict.

// Each benchmark compiles this module on its own and uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{header, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// The platform admin's token of every benchmark host.
pub const ADMIN_TOKEN: &str = "bench-admin-token";

/// The host under test; killed when dropped.
pub struct Host {
    process: Child,
    pub addr: String,
    _data: tempfile::TempDir,
}

impl Host {
    pub fn start() -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let mut process = Command::new(env!("CARGO_BIN_EXE_linli"))
            .args(["serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .env("LINLI_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the linli binary starts");
        let stdout = process.stdout.take().expect("stdout");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let addr = lines
            .find_map(|line| {
                line.ok()?
                    .strip_prefix("linli listening on http://")
                    .map(str::to_owned)
            })
            .expect("the host prints its address");
        Self {
            process,
            addr,
            _data: data,
        }
    }
}

impl Host {
    /// The host process's id, to read its memory from `/proc`.
    pub fn pid(&self) -> u32 {
        self.process.id()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// One keep-alive HTTP/1.1 connection to the host.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    addr: String,
}

impl Connection {
    pub async fn open(addr: &str) -> Self {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(connection);
        Self {
            sender,
            addr: addr.to_owned(),
        }
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        token: &str,
        content_type: &str,
        body: Bytes,
    ) -> Request<Full<Bytes>> {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.addr)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Full::new(body))
            .expect("request")
    }

    async fn respond(&mut self, request: Request<Full<Bytes>>) -> Response<Incoming> {
        self.sender.ready().await.expect("connection ready");
        self.sender.send_request(request).await.expect("response")
    }

    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        token: &str,
        content_type: &str,
        body: Bytes,
    ) -> (StatusCode, Bytes) {
        let request = self.request(method, path, token, content_type, body);
        let response = self.respond(request).await;
        let status = response.status();
        let body = response.into_body().collect().await.expect("body");
        (status, body.to_bytes())
    }

    pub async fn json(&mut self, method: Method, path: &str, token: &str, body: Value) -> Value {
        let (status, bytes) = self
            .send(
                method,
                path,
                token,
                "application/json",
                body.to_string().into(),
            )
            .await;
        assert!(
            status.is_success(),
            "{path}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }
}

impl Connection {
    /// A GET whose response body is left to the caller to read as it arrives (for streams).
    pub async fn stream(&mut self, path: &str, token: &str) -> Response<Incoming> {
        let request = self.request(Method::GET, path, token, "text/event-stream", Bytes::new());
        self.respond(request).await
    }

    /// Creates community `id` called `name` with `map` (GeoJSON) as its map.
    pub async fn community_with_map(&mut self, id: &str, name: &str, map: Value) {
        self.json(
            Method::POST,
            "/api/v1/communities",
            ADMIN_TOKEN,
            serde_json::json!({"id": id, "name": name}),
        )
        .await;
        self.json(
            Method::PUT,
            &format!("/api/v1/communities/{id}/map"),
            ADMIN_TOKEN,
            map,
        )
        .await;
    }

    /// A new token of a resident of `community` who is `person` of its map.
    pub async fn resident_token(&mut self, community: &str, person: &str) -> String {
        let token = self
            .json(
                Method::POST,
                "/api/v1/tokens",
                ADMIN_TOKEN,
                serde_json::json!({"role": "resident", "community": community, "subject": person, "person": person}),
            )
            .await;
        token["token"].as_str().expect("token").to_owned()
    }

    /// Uploads a plugin's package (a scene in `plugins/` or an example in
    /// `examples/`) as the platform admin.
    pub async fn publish(&mut self, plugin: &str) {
        let package = linli_host::registry::package::pack(
            &manifest_path(plugin),
            &workspace().join(format!(
                "target/wasm/wasm32-wasip2/plugin/{}.wasm",
                plugin.replace('-', "_")
            )),
        )
        .unwrap_or_else(|e| panic!("{plugin} is built (cargo xtask plugins): {e}"));
        let (status, body) = self
            .send(
                Method::POST,
                "/api/v1/plugins",
                ADMIN_TOKEN,
                "application/x-tar",
                package.into(),
            )
            .await;
        assert!(
            status.is_success(),
            "upload: {status} {}",
            String::from_utf8_lossy(&body)
        );
    }
}

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
}

/// The manifest of a scene in `plugins/` or an example in `examples/`.
fn manifest_path(plugin: &str) -> PathBuf {
    ["plugins", "examples"]
        .iter()
        .map(|dir| workspace().join(dir).join(plugin).join("linli.toml"))
        .find(|manifest| manifest.exists())
        .unwrap_or_else(|| panic!("no plugins/{plugin} or examples/{plugin}"))
}

/// Everything a plugin's manifest requests, as the grants of an installation.
pub fn requested_grants(plugin: &str) -> Value {
    let text = std::fs::read_to_string(manifest_path(plugin)).expect("the manifest is readable");
    let manifest = linli_host::registry::manifest::Manifest::parse(&text)
        .unwrap_or_else(|e| panic!("the manifest of {plugin}: {e}"));
    serde_json::to_value(manifest.capabilities).expect("capabilities serialize")
}

/// Reads a Server-Sent Events body and hands `each` the JSON data of every
/// event with the moment it arrived, until `each` says stop or the stream ends.
pub async fn each_event(mut body: Incoming, mut each: impl FnMut(Value, Instant) -> bool) {
    let mut buffer = String::new();
    while let Some(Ok(frame)) = body.frame().await {
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let arrived = Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&data));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let item = event
                .lines()
                .find_map(|l| l.strip_prefix("data:"))
                .and_then(|d| serde_json::from_str::<Value>(d.trim()).ok());
            if let Some(item) = item {
                if !each(item, arrived) {
                    return;
                }
            }
        }
    }
}

/// Now on the wall clock, in milliseconds since the Unix epoch.
pub fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
        * 1000.0
}

/// PASS when a figure meets its target, MISS otherwise.
pub fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}
