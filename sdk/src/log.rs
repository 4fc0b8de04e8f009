//! Logging into the host's log, where each line is tagged with the installation.
//!
//! The one-argument helpers cover the common case of a plain message; use
//! [`write()`] directly to attach structured fields.

pub use crate::bindings::linli::platform::log::{write, Level};

/// Logs `message` at [`Level::Trace`].
pub fn trace(message: &str) {
    write(Level::Trace, message, &[]);
}

/// Logs `message` at [`Level::Debug`].
pub fn debug(message: &str) {
    write(Level::Debug, message, &[]);
}

/// Logs `message` at [`Level::Info`].
pub fn info(message: &str) {
    write(Level::Info, message, &[]);
}

/// Logs `message` at [`Level::Warn`].
pub fn warn(message: &str) {
    write(Level::Warn, message, &[]);
}

/// Logs `message` at [`Level::Error`].
pub fn error(message: &str) {
    write(Level::Error, message, &[]);
}
