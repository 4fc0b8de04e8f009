//! The client and its requests: a base address, a bearer token and one
//! pool of keep-alive connections shared by every copy of the client.

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::Value;

use crate::events::EventStream;
use crate::reply::{ClientError, Reply};

/// A client of one host holding one bearer token. Cloning it, or taking
/// [`Client::with_token`], shares the connection pool.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    /// How long a plain request may take, reply included; `None` waits as
    /// long as the host does. Event streams are never cut by it.
    reply_limit: Option<Duration>,
}

impl Client {
    /// A client of the host at `base` (e.g. `http://127.0.0.1:8080`, no
    /// trailing slash) sending `token` as its bearer token.
    pub fn new(base: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.into().trim_end_matches('/').to_owned(),
            token: token.into(),
            reply_limit: None,
        }
    }

    /// Gives up on any plain request (not an event stream) whose whole
    /// exchange takes longer than `limit`, so a caller that must not hang
    /// (a test, a script) gets [`ClientError::Unreachable`] instead.
    pub fn with_reply_limit(mut self, limit: Duration) -> Self {
        self.reply_limit = Some(limit);
        self
    }

    /// The same host and connection pool with another token.
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        Self {
            http: self.http.clone(),
            base: self.base.clone(),
            token: token.into(),
            reply_limit: self.reply_limit,
        }
    }

    /// The host's base address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The bearer token this client sends.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A request to `path` (starting with `/`), to add a body or headers to
    /// before sending.
    pub fn request(&self, method: Method, path: &str) -> Request {
        Request {
            name: format!("{method} {path}"),
            limit: self.reply_limit,
            builder: self
                .http
                .request(method, format!("{}{path}", self.base))
                .bearer_auth(&self.token),
        }
    }

    pub async fn get(&self, path: &str) -> Result<Reply, ClientError> {
        self.request(Method::GET, path).send().await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Reply, ClientError> {
        self.request(Method::POST, path).json(body).send().await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Reply, ClientError> {
        self.request(Method::PUT, path).json(body).send().await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Reply, ClientError> {
        self.request(Method::PATCH, path).json(body).send().await
    }

    pub async fn delete(&self, path: &str) -> Result<Reply, ClientError> {
        self.request(Method::DELETE, path).send().await
    }

    /// Uploads a plugin package (a tar archive) to the catalogue.
    pub async fn upload_package(&self, package: Vec<u8>) -> Result<Reply, ClientError> {
        self.request(Method::POST, "/api/v1/plugins")
            .body("application/x-tar", package)
            .send()
            .await
    }

    /// Opens the Server-Sent Events stream at `path`, resuming after
    /// `last_event_id` when given; an error unless the host answers 200.
    pub async fn events(
        &self,
        path: &str,
        last_event_id: Option<&str>,
    ) -> Result<EventStream, ClientError> {
        let mut request = self.request(Method::GET, path);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        request.open_events().await
    }
}

/// A request being built; [`Request::send`] sends it.
pub struct Request {
    /// `METHOD /path`, naming the request in errors.
    name: String,
    /// The whole exchange's time limit, applied by [`Request::send`] only.
    limit: Option<Duration>,
    builder: reqwest::RequestBuilder,
}

impl Request {
    /// A JSON body.
    pub fn json(self, body: &Value) -> Self {
        self.body("application/json", body.to_string().into_bytes())
    }

    /// A body of any content type.
    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.builder = self.builder.header(CONTENT_TYPE, content_type).body(body);
        self
    }

    /// An extra header (for example `Idempotency-Key`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// Gives up when the whole exchange takes longer than `limit`.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Sends the request and reads the whole reply, whatever its status; an
    /// error only when the host cannot be reached or the connection dropped
    /// before a full reply.
    pub async fn send(self) -> Result<Reply, ClientError> {
        let unreachable = |source| ClientError::Unreachable {
            request: self.name.clone(),
            source,
        };
        let builder = match self.limit {
            Some(limit) => self.builder.timeout(limit),
            None => self.builder,
        };
        let response = builder.send().await.map_err(unreachable)?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(unreachable)?;
        Ok(Reply::new(self.name, status, headers, &bytes))
    }

    /// Sends a GET whose reply is a Server-Sent Events stream.
    async fn open_events(self) -> Result<EventStream, ClientError> {
        let response = self
            .builder
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                request: self.name.clone(),
                source,
            })?;
        if response.status() != reqwest::StatusCode::OK {
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = response.bytes().await.unwrap_or_default();
            return Err(Reply::new(self.name, status, headers, &bytes).refusal());
        }
        Ok(EventStream::new(self.name, response))
    }
}
