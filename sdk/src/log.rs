//! Logging into the host's log, where each line is tagged with the installation.
//!
//! The one-argument helpers cover the common case of a plain message; use
//! [`write()`] directly to attach structured fields.

#[cfg(target_arch = "wasm32")]
pub use crate::bindings::linli::platform::log::write;
pub use crate::bindings::linli::platform::log::Level;
#[cfg(not(target_arch = "wasm32"))]
pub use crate::native::log::write;

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
