//! Server-Sent Event streams: the host's live messages, alarms and feeds.

use std::time::Instant;

use serde_json::Value;

use crate::reply::ClientError;

/// One event of a stream.
#[derive(Debug, Clone)]
pub struct ServerEvent {
    /// The event's id, to resume after with `Last-Event-ID`.
    pub id: Option<String>,
    /// The event's name (`message` when the host gave none).
    pub event: String,
    /// The event's data: JSON when it parses, a string otherwise.
    pub data: Value,
    /// When the bytes that completed this event arrived.
    pub arrived: Instant,
}

/// An open stream. Keep-alive comments and events without data are skipped.
pub struct EventStream {
    request: String,
    response: reqwest::Response,
    buffer: String,
    /// Events already complete in the buffer, with when they arrived.
    arrived: Instant,
}

impl EventStream {
    pub(crate) fn new(request: String, response: reqwest::Response) -> Self {
        Self {
            request,
            response,
            buffer: String::new(),
            arrived: Instant::now(),
        }
    }

    /// The next event; an error when the stream ends or breaks.
    pub async fn next(&mut self) -> Result<ServerEvent, ClientError> {
        loop {
            if let Some(event) = self.take_buffered() {
                return Ok(event);
            }
            let chunk = self.response.chunk().await.ok().flatten();
            let Some(chunk) = chunk else {
                return Err(ClientError::StreamEnded {
                    request: self.request.clone(),
                });
            };
            self.arrived = Instant::now();
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event named `event`, skipping others.
    pub async fn next_of(&mut self, event: &str) -> Result<ServerEvent, ClientError> {
        loop {
            let next = self.next().await?;
            if next.event == event {
                return Ok(next);
            }
        }
    }

    /// The first complete event in the buffer that carries data.
    fn take_buffered(&mut self) -> Option<ServerEvent> {
        while let Some(end) = self.buffer.find("\n\n") {
            let block: String = self.buffer.drain(..end + 2).collect();
            let mut event = ServerEvent {
                id: None,
                event: "message".to_owned(),
                data: Value::Null,
                arrived: self.arrived,
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
            if !data.is_empty() {
                event.data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                return Some(event);
            }
        }
        None
    }
}
