//! Talking to a host over HTTP: a client holding one bearer token, its
//! replies, Server-Sent Event streams, and waiting until something holds.

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

/// Waits until `check` holds, polling; fails the test after a minute.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An HTTP response: status, headers and JSON body (`Null` when empty).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// The error message of a JSON error body.
    pub fn message(&self) -> String {
        self.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// An API client holding one bearer token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    /// The bearer token; fixtures that hand it to devices read it.
    pub(crate) token: String,
}

impl Client {
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            token: token.to_owned(),
        }
    }

    /// The same host with another token.
    pub fn with_token(&self, token: &str) -> Self {
        Self::new(&self.base, token)
    }

    /// Sends a request; an error when the host cannot be reached or the
    /// connection dropped before a full reply.
    async fn try_send(&self, request: reqwest::RequestBuilder) -> Result<Reply, reqwest::Error> {
        let response = request.bearer_auth(&self.token).send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        self.try_send(request).await.expect("request sent")
    }

    /// Opens a Server-Sent Events stream, resuming after `last_event_id` if given.
    pub async fn events(&self, path: &str, last_event_id: Option<&str>) -> EventStream {
        let mut request = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.expect("request sent");
        assert_eq!(response.status(), 200, "opening the event stream {path}");
        EventStream {
            response,
            buffer: String::new(),
        }
    }

    /// The status of a GET, or `None` when the host cannot be reached.
    /// POSTs raw bytes with a content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    pub async fn try_get(&self, path: &str) -> Option<StatusCode> {
        let request = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        request.send().await.ok().map(|r| r.status())
    }

    /// POSTs JSON with extra request headers; `None` when the host cannot be
    /// reached or the connection dropped before a full reply.
    pub async fn try_post_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Option<Reply> {
        self.try_send(self.post_request(path, headers, body))
            .await
            .ok()
    }

    fn post_request(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> reqwest::RequestBuilder {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    /// POSTs JSON with extra request headers.
    pub async fn post_with(&self, path: &str, headers: &[(&str, &str)], body: Value) -> Reply {
        self.send(self.post_request(path, headers, &body)).await
    }

    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> Reply {
        self.post_raw(path, "application/x-tar", body).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(self.http.patch(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(self.http.put(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.http.delete(format!("{}{path}", self.base)))
            .await
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone)]
pub struct ServerEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

/// An open Server-Sent Events stream.
pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    /// The next event (keep-alive comments skipped); panics after 30 s of silence.
    pub async fn next(&mut self) -> ServerEvent {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = ServerEvent {
                    id: None,
                    event: "message".to_owned(),
                    data: Value::Null,
                };
                let mut data = String::new();
                for line in block.lines() {
                    match line.split_once(':') {
                        Some(("id", v)) => event.id = Some(v.trim().to_owned()),
                        Some(("event", v)) => event.event = v.trim().to_owned(),
                        Some(("data", v)) => data.push_str(v.trim()),
                        _ => {}
                    }
                }
                if data.is_empty() {
                    continue;
                }
                event.data = serde_json::from_str(&data).expect("event data is JSON");
                return event;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(30), self.response.chunk())
                .await
                .expect("an event within 30 s")
                .expect("the stream stays open")
                .expect("the stream does not end");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event named `event`, skipping others.
    pub async fn next_of(&mut self, event: &str) -> ServerEvent {
        loop {
            let next = self.next().await;
            if next.event == event {
                return next;
            }
        }
    }
}
