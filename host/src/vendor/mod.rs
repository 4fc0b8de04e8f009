//! What a plugin vendor runs on their own machine, outside any host: a new
//! plugin crate from the template (`linli plugin new`) and a package from a
//! crate cargo has built (`linli plugin pack`). Nothing here talks to a host.

pub mod build;
pub mod keys;
pub mod template;
