//! What a plugin vendor runs on their own machine: a new plugin crate from
//! the template (`linli plugin new`), a package from a crate cargo has built
//! (`linli plugin pack`), signing keys, and the dev loop (`linli plugin
//! dev`), which reaches a host only over its HTTP API like any client.

pub mod build;
pub mod dev;
pub mod keys;
pub mod template;
pub mod watch;
