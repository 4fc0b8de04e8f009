//! A client of the linli host's HTTP API, the one the project's own tests,
//! demo and benchmarks drive a host through.
//!
//! It knows what every caller of the API repeats and nothing of any route:
//! the base address and bearer token, JSON request and reply bodies, the
//! host's error body (`{"error": {"code", "message", "field"}}`), typed
//! errors that name the request, and Server-Sent Event streams (live
//! messages, alarms and feeds). Routes and their bodies stay with the caller,
//! so the client changes only when the wire does.
//!
//! ```no_run
//! # async fn example() -> Result<(), linli_client::ClientError> {
//! let admin = linli_client::Client::new("http://127.0.0.1:8080", "admin-token");
//! let community = admin
//!     .post("/api/v1/communities", &serde_json::json!({"id": "demo", "name": "Demo"}))
//!     .await?
//!     .ok()?;
//! # Ok(()) }
//! ```

mod client;
mod events;
mod reply;

pub use client::{Client, Request};
pub use events::{EventStream, ServerEvent};
pub use reply::{ClientError, Reply};
pub use reqwest::{header, Method, StatusCode};
