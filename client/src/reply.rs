//! A reply of the host and the ways a request can fail.

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

/// Why a request did not give what its caller wanted.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The host could not be reached, or the connection dropped before a
    /// full reply.
    #[error("{request}: no answer from the host: {source}")]
    Unreachable {
        request: String,
        #[source]
        source: reqwest::Error,
    },
    /// The host answered with a status other than the one wanted; `body`
    /// is its reply (the JSON error body, usually).
    #[error("{request} answered {status}: {body}")]
    Refused {
        request: String,
        status: StatusCode,
        body: Value,
    },
    /// A stream ended or broke before the next event.
    #[error("{request}: the event stream ended")]
    StreamEnded { request: String },
}

/// A reply: status, headers and body. A JSON body is decoded; any other
/// body is kept as a string, an empty one is `Null`.
#[derive(Debug, Clone)]
pub struct Reply {
    /// `METHOD /path` of the request this answers.
    pub request: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub(crate) fn new(
        request: String,
        status: StatusCode,
        headers: HeaderMap,
        bytes: &[u8],
    ) -> Self {
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into()))
        };
        Self {
            request,
            status,
            headers,
            body,
        }
    }

    /// The body of a successful (2xx) reply; any other status is an error
    /// naming the request, the status and what the host said.
    pub fn ok(self) -> Result<Value, ClientError> {
        if self.status.is_success() {
            Ok(self.body)
        } else {
            Err(self.refusal())
        }
    }

    /// The body when the status is `status`, an error otherwise.
    pub fn with_status(self, status: u16) -> Result<Value, ClientError> {
        if self.status.as_u16() == status {
            Ok(self.body)
        } else {
            Err(self.refusal())
        }
    }

    /// Asserts the status and returns the body, for tests and scripts:
    /// panics with the request, the status and the body otherwise.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        match self.with_status(status) {
            Ok(body) => body,
            Err(refused) => panic!("expected {status}: {refused}"),
        }
    }

    /// The message of the host's JSON error body (empty when there is none).
    pub fn message(&self) -> String {
        self.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The machine-readable code of the host's JSON error body.
    pub fn code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }

    pub(crate) fn refusal(self) -> ClientError {
        ClientError::Refused {
            request: self.request,
            status: self.status,
            body: self.body,
        }
    }
}
