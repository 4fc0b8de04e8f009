//! `log`: structured log lines from plugins into the host's `tracing`
//! output, tagged with the installation. Always available; no grant needed.
//! Plugin stdout and stderr end up here too (see `runtime::instance`).

use crate::runtime::bindings::linli::platform::log::{Host, Level};

/// Longest message kept; longer ones are cut so a plugin cannot flood the log.
const MAX_MESSAGE_BYTES: usize = 4096;

/// Per-instance `log` state. Plugin lines are emitted inside the
/// installation actor's span, which names the installation, plugin and community.
#[derive(Debug, Default)]
pub struct LogHost;

impl LogHost {
    /// Emits one plugin line at `level`, with `fields` (`k=v` pairs) after the message.
    /// The installation, plugin and community come from the actor's span.
    pub fn line(level: Level, message: &str, fields: &str) {
        let message = truncate(message, MAX_MESSAGE_BYTES);
        let separator = if fields.is_empty() { "" } else { " " };
        macro_rules! emit {
            ($lvl:ident) => {
                tracing::$lvl!(target: "plugin", "{message}{separator}{fields}")
            };
        }
        match level {
            Level::Trace => emit!(trace),
            Level::Debug => emit!(debug),
            Level::Info => emit!(info),
            Level::Warn => emit!(warn),
            Level::Error => emit!(error),
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Host for LogHost {
    async fn write(&mut self, level: Level, message: String, fields: Vec<(String, String)>) {
        let fields = fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        Self::line(level, &message, &fields);
    }
}

impl crate::runtime::bindings::linli::platform::types::Host for LogHost {}
impl crate::runtime::bindings::linli::platform::events::Host for LogHost {}
