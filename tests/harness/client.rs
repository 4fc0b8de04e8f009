//! Talking to a host over HTTP in a test: the project's client with the
//! transport's failures made panics (a test cannot go on without its
//! host), Server-Sent Event streams with a patience, and waiting until
//! something holds.

use std::future::Future;
use std::time::{Duration, Instant};

use linli_client::Method;
pub use linli_client::{ClientError, Reply, ServerEvent, StatusCode};
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

/// The longest any one plain request of a test may take.
const REPLY_LIMIT: Duration = Duration::from_secs(120);

/// An API client holding one bearer token.
#[derive(Clone)]
pub struct Client {
    api: linli_client::Client,
}

impl Client {
    /// A reply that takes minutes is a host bug: the test fails naming the
    /// request instead of hanging the suite.
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            api: linli_client::Client::new(base, token).with_reply_limit(REPLY_LIMIT),
        }
    }

    /// The same host with another token.
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            api: self.api.with_token(token),
        }
    }

    /// The bearer token; fixtures that hand it to devices read it.
    pub fn token(&self) -> &str {
        self.api.token()
    }

    /// Opens a Server-Sent Events stream, resuming after `last_event_id` if given.
    pub async fn events(&self, path: &str, last_event_id: Option<&str>) -> EventStream {
        let stream = self
            .api
            .events(path, last_event_id)
            .await
            .unwrap_or_else(|e| panic!("opening the event stream: {e}"));
        EventStream { stream }
    }

    pub async fn get(&self, path: &str) -> Reply {
        sent(self.api.get(path).await)
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        sent(self.api.post(path, &body).await)
    }

    /// POSTs JSON with extra request headers.
    pub async fn post_with(&self, path: &str, headers: &[(&str, &str)], body: Value) -> Reply {
        sent(self.try_send_with(path, headers, &body).await)
    }

    /// POSTs raw bytes with a content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let request = self
            .api
            .request(Method::POST, path)
            .body(content_type, body);
        sent(request.send().await)
    }

    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> Reply {
        self.post_raw(path, "application/x-tar", body).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        sent(self.api.patch(path, &body).await)
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        sent(self.api.put(path, &body).await)
    }

    pub async fn delete(&self, path: &str) -> Reply {
        sent(self.api.delete(path).await)
    }

    /// The status of a GET, or `None` when the host cannot be reached.
    pub async fn try_get(&self, path: &str) -> Option<StatusCode> {
        self.api.get(path).await.ok().map(|reply| reply.status)
    }

    /// Opens an event stream, or says why the host would not: a stream
    /// never ends, so a plain GET of one would wait for ever.
    pub async fn try_events(&self, path: &str) -> Result<EventStream, ClientError> {
        let stream = self.api.events(path, None).await?;
        Ok(EventStream { stream })
    }

    /// POSTs JSON with extra request headers; `None` when the host cannot be
    /// reached or the connection dropped before a full reply.
    pub async fn try_post_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Option<Reply> {
        self.try_send_with(path, headers, body).await.ok()
    }

    async fn try_send_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Result<Reply, ClientError> {
        let mut request = self.api.request(Method::POST, path).json(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send().await
    }
}

/// A reply, or the test stops: the host it drives is gone.
#[track_caller]
fn sent(reply: Result<Reply, ClientError>) -> Reply {
    reply.unwrap_or_else(|e| panic!("{e}"))
}

/// An open Server-Sent Events stream.
pub struct EventStream {
    stream: linli_client::EventStream,
}

impl EventStream {
    /// The next event; panics after 30 s of silence or when the stream ends.
    pub async fn next(&mut self) -> ServerEvent {
        patiently(self.stream.next()).await
    }

    /// The next event named `event`, skipping others; panics when none
    /// comes within 30 s.
    pub async fn next_of(&mut self, event: &str) -> ServerEvent {
        patiently(self.stream.next_of(event)).await
    }
}

/// An event within 30 s, or the test stops.
async fn patiently(next: impl Future<Output = Result<ServerEvent, ClientError>>) -> ServerEvent {
    tokio::time::timeout(Duration::from_secs(30), next)
        .await
        .expect("an event within 30 s")
        .unwrap_or_else(|e| panic!("{e}"))
}
