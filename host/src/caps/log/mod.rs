//! `log`: structured log lines from plugins into the host's `tracing`
//! output, tagged with the installation. Always available; no grant needed.
//! Plugin stdout and stderr end up here too (see `runtime::instance`).

//!
//! Lines are bounded in size and in rate (`log-lines-per-second` and
//! `log-bytes-per-second` of the installation's limits): past the rate they
//! are dropped and counted in `linli_log_lines_dropped_total`, and the host
//! notes once a second how many went, so a flood never becomes an outage.
//! The lines admitted are also kept in the installation's [`tail::LogTail`],
//! the last few the API shows an admin.

pub mod tail;

use std::sync::Arc;

use super::effects::Effects;
use super::InstallationContext;
use crate::wit::linli::platform::log::{Host, Level};

/// Longest line kept, fields included; longer ones are cut.
const MAX_LINE_BYTES: usize = 4096;

/// Per-instance `log` state. Plugin lines are emitted inside the
/// installation actor's span, which names the installation, plugin and community.
pub struct LogHost {
    ctx: Arc<InstallationContext>,
}

impl LogHost {
    pub fn new(ctx: Arc<InstallationContext>) -> Self {
        Self { ctx }
    }

    /// Emits one plugin line at `level`, with `fields` (`k=v` pairs) after
    /// the message, if the installation's log rate allows it, and keeps it
    /// in the installation's tail.
    /// The installation, plugin and community come from the actor's span.
    pub fn line(ctx: &InstallationContext, level: Level, message: &str, fields: &str) {
        let separator = if fields.is_empty() { "" } else { " " };
        let line = format!("{message}{separator}{fields}");
        let line = truncate(&line, MAX_LINE_BYTES);
        let (admitted, dropped) = ctx.quotas.admit_log(line.len());
        if let Some(dropped) = dropped {
            tracing::warn!(target: "plugin", dropped, "log lines dropped in the last second: past the installation's log rate");
        }
        if !admitted {
            return;
        }
        // Emits the line at the level and names the level, for the tail.
        macro_rules! emit {
            ($lvl:ident) => {{
                tracing::$lvl!(target: "plugin", "{line}");
                stringify!($lvl)
            }};
        }
        let level = match level {
            Level::Trace => emit!(trace),
            Level::Debug => emit!(debug),
            Level::Info => emit!(info),
            Level::Warn => emit!(warn),
            Level::Error => emit!(error),
        };
        ctx.log_tail.push(tail::LogLine {
            at: ctx.clock.now(),
            level,
            line: line.to_owned(),
        });
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

/// Log lines are written as they come, not with the handler's transaction.
impl Effects for LogHost {}

impl Host for LogHost {
    async fn write(&mut self, level: Level, message: String, fields: Vec<(String, String)>) {
        let fields = fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        Self::line(&self.ctx, level, &message, &fields);
    }
}

impl crate::wit::linli::platform::types::Host for LogHost {}
impl crate::wit::linli::platform::events::Host for LogHost {}
