//! Log lines the plugin wrote. The host writes them as they come, not with
//! the handler's effects, so a failed handler's lines are kept here too:
//! they are often what explains the failure.

use crate::log::Level;

/// Longest line kept, fields included, as on the host; longer ones are cut.
const MAX_LINE_BYTES: usize = 4096;

/// One line of the plugin's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: Level,
    /// The message and its `key=value` fields, as the host's log shows them.
    pub line: String,
}

/// The line the host would write for a message and its fields.
pub(crate) fn line(level: Level, message: &str, fields: &[(String, String)]) -> LogLine {
    let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut line = if fields.is_empty() {
        message.to_owned()
    } else {
        format!("{message} {}", fields.join(" "))
    };
    if line.len() > MAX_LINE_BYTES {
        let mut end = MAX_LINE_BYTES;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
    }
    LogLine { level, line }
}
