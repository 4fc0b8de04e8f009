//! Caps on live streams (Server-Sent Events): each open stream holds a
//! permit, per token and for the whole host, so no caller can hold an
//! unbounded number of connections open. Past a cap the answer is 429.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;

use super::error::ApiError;

/// Streams one token may hold open at once: a person's phone, tablet and a browser tab or two.
pub const MAX_STREAMS_PER_TOKEN: usize = 8;
/// Streams the host holds open at once.
pub const MAX_STREAMS: usize = 2_000;

/// The open streams, by token.
#[derive(Default)]
pub struct Streams {
    open: Mutex<HashMap<String, usize>>,
}

/// An open stream's place; dropping it (when the stream ends) frees it.
pub struct StreamPermit {
    streams: Arc<Streams>,
    token: String,
}

impl Streams {
    /// Takes a place for a stream of `token`, or says why not.
    pub fn open(self: &Arc<Self>, token: &str) -> Result<StreamPermit, ApiError> {
        let mut open = self.open.lock().expect("streams");
        let total: usize = open.values().sum();
        let mine = open.get(token).copied().unwrap_or(0);
        let refuse = |message: String| {
            Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "limit",
                message,
            ))
        };
        if mine >= MAX_STREAMS_PER_TOKEN {
            return refuse(format!(
                "this token already has {MAX_STREAMS_PER_TOKEN} live streams open; close one first"
            ));
        }
        if total >= MAX_STREAMS {
            return refuse(format!(
                "the host has {MAX_STREAMS} live streams open; try again later"
            ));
        }
        *open.entry(token.to_owned()).or_default() += 1;
        Ok(StreamPermit {
            streams: self.clone(),
            token: token.to_owned(),
        })
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.streams.open.lock().expect("streams");
        if let Some(count) = open.get_mut(&self.token) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.token);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_holds_at_most_its_share_and_gets_it_back_when_streams_close() {
        let streams = Arc::new(Streams::default());
        let held: Vec<_> = (0..MAX_STREAMS_PER_TOKEN)
            .map(|_| streams.open("a").unwrap())
            .collect();
        assert!(streams.open("a").is_err());
        assert!(streams.open("b").is_ok());
        drop(held);
        assert!(streams.open("a").is_ok());
    }
}
