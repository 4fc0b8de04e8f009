//! The linli host: runs sandboxed community scene plugins (WebAssembly
//! components targeting `linli:platform`) against the devices, data and people
//! of each community, and serves the admin and resident HTTP API.
//!
//! The pieces, in the order data flows through them:
//!
//! - [`ingest`] validates device readings and appends them to the durable
//!   event log in the store ([`db`]).
//! - [`runtime`] owns the wasmtime engine and one actor per
//!   [`Installation`](runtime::Installation); each actor feeds its plugin the
//!   events it subscribed to, in order, from its own cursor.
//! - [`caps`] holds one folder per host capability (sensor, store, timer,
//!   log, ledger, alarm, map): its WIT host implementation, its grant scope
//!   and its queries.
//! - [`monitor`] watches devices for silence and low batteries.
//! - [`feed`] records alarm and installation changes per community, feeds
//!   watching installations and streams it all live over SSE.
//! - [`registry`] reads plugin packages: manifest, component, grants.
//! - [`api`] is the HTTP surface; [`server`] wires everything together.
//! - [`vendor`] is what a plugin vendor runs on their own machine: a new
//!   plugin crate from the template, a package from a built crate.
//! - [`wit`] holds the generated bindings of the `linli:platform` contract,
//!   below everything that implements or calls it.

pub mod api;
pub mod auth;
pub mod caps;
pub mod clock;
pub mod config;
pub mod db;
pub mod devices;
pub mod feed;
pub mod ids;
pub mod ingest;
pub mod limits;
pub mod metrics;
pub mod monitor;
pub mod registry;
pub mod runtime;
pub mod scenarios;
pub mod server;
pub mod validation;
pub mod vendor;
pub mod wit;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::HostConfig;
pub use server::Server;
