//! The ingest memory bound: how much the host's resident memory grows while
//! one device request sends a body of tiny items (`[0,0,…]`, and NDJSON
//! `0\n…`) at the ingest body limit. Before the bound, such a body was read
//! whole into millions of items (4.7 GB at 63 MB); now reading stops at the
//! first item past a batch and the body itself is capped. Target: less than
//! 100 MB above the idle host. Run it with `cargo xtask bench`.
//!
//! The host is the release `linli serve` binary in its own process; its peak
//! resident memory is read from `/proc/<pid>/status` (`VmHWM`), reset just
//! before each request through `/proc/<pid>/clear_refs`.

mod support;

use linli_client::Method;
use serde_json::json;
use support::{ok, verdict, Host};

/// The ingest body limit (`MAX_INGEST_BODY_BYTES`).
const BODY_LIMIT: usize = 4 << 20;
const TARGET_MB: f64 = 100.0;

/// A field of `/proc/<pid>/status`, in MB.
fn status_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let kb: f64 = status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    kb / 1024.0
}

/// A body of `0` items at the limit: a JSON array, or NDJSON.
fn tiny_items(ndjson: bool) -> Vec<u8> {
    let body = if ndjson {
        "0\n".repeat(BODY_LIMIT / 2)
    } else {
        format!("[{}0]", "0,".repeat((BODY_LIMIT - 2) / 2 - 1))
    };
    body.into_bytes()
}

fn main() {
    let host = Host::start();
    let pid = host.pid();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let admin = host.admin();
        ok(admin.post("/api/v1/communities", &json!({"id": "bench", "name": "Bench"}))).await;
        let device = ok(admin.post(
            "/api/v1/communities/bench/devices",
            &json!({"id": "t1", "kind": "thermometer", "reading_kinds": ["temperature"]}),
        ))
        .await;
        let device = host.client(device["token"].as_str().expect("device token"));
        println!();
        println!("ingest memory: one request of tiny items at the {} MiB ingest body limit", BODY_LIMIT >> 20);
        for (what, content_type, body) in [
            ("JSON array [0,0,…]", "application/json", tiny_items(false)),
            ("NDJSON 0\\n0\\n…", "application/x-ndjson", tiny_items(true)),
        ] {
            let idle = status_mb(pid, "VmRSS:");
            std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset the peak");
            let size = body.len();
            let status = device
                .request(Method::POST, "/api/v1/ingest")
                .body(content_type, body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .status;
            let peak = status_mb(pid, "VmHWM:");
            let above = peak - idle;
            println!(
                "  {what:<20} {:.1} MB body -> {status}: peak RSS {peak:.1} MB, idle {idle:.1} MB, {above:+.1} MB   target < {TARGET_MB} MB above idle   {}",
                size as f64 / 1e6,
                verdict(above < TARGET_MB)
            );
        }
    });
}
