//! The one way tests start a host: a real `linli` host on a temporary data
//! dir and a random port, driven over real HTTP, with real wasm plugins built
//! from `examples/` by `cargo xtask plugins`, and a clock the test moves.
//!
//! With `LINLI_TEST_POSTGRES` set to a PostgreSQL URL (e.g.
//! `postgres://127.0.0.1:5432/test`), every host gets a fresh database on
//! that server instead of the embedded SQLite store, so the same scenarios
//! run against both stores; the database is dropped with the host.
//!
//! Scenarios read like what they protect: start a [`TestHost`], make a
//! community with [`TestHost::community`], register devices, enable plugins,
//! send readings, and ask plugins through commands. MQTT scenarios start
//! their own [`Broker`] (a real `mosquitto` on a free port) and a host
//! bridged to it with [`TestHost::start_with_mqtt`]. The console's
//! scenarios drive a headless Chromium through a [`Browser`].

mod broker;
mod browser;
mod client;
mod community;
mod host;
mod packages;
mod records;

pub use broker::*;
pub use browser::*;
pub use client::*;
pub use community::*;
pub use host::*;
pub use packages::*;
pub use records::*;
