//! The last lines each installation logged, kept in memory so an admin can
//! read them over the API (the console's installations page) without access
//! to the host's own log. Only lines the installation's log rate admitted
//! are kept, the newest [`KEPT_LINES`] of them; a restart of the host starts
//! every tail empty, as the host log is the record and this only a window on it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::clock::Millis;
use crate::ids::InstallationId;

/// Lines kept per installation.
pub const KEPT_LINES: usize = 200;

/// One line a plugin logged (through `log` or its stdout and stderr).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LogLine {
    /// Host time of the line.
    pub at: Millis,
    /// `trace`, `debug`, `info`, `warn` or `error`.
    #[schema(value_type = String)]
    pub level: &'static str,
    /// The message with its fields, cut at 4 KiB as in the host log.
    pub line: String,
}

/// One installation's last lines; shared by every instance it runs.
#[derive(Clone, Default)]
pub struct LogTail(Arc<Mutex<VecDeque<LogLine>>>);

impl LogTail {
    /// Keeps `line`, forgetting the oldest past [`KEPT_LINES`].
    pub fn push(&self, line: LogLine) {
        let mut lines = self.0.lock().expect("log tail lock");
        if lines.len() == KEPT_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The newest `limit` lines, oldest first.
    pub fn last(&self, limit: usize) -> Vec<LogLine> {
        let lines = self.0.lock().expect("log tail lock");
        let skip = lines.len().saturating_sub(limit);
        lines.iter().skip(skip).cloned().collect()
    }
}

/// Every installation's tail on this host.
#[derive(Default)]
pub struct LogTails(Mutex<HashMap<InstallationId, LogTail>>);

impl LogTails {
    /// The tail of `installation`, made empty on first use.
    pub fn of(&self, installation: &InstallationId) -> LogTail {
        self.0
            .lock()
            .expect("log tails lock")
            .entry(installation.clone())
            .or_default()
            .clone()
    }

    /// Forgets a removed installation's lines.
    pub fn forget(&self, installation: &InstallationId) {
        self.0.lock().expect("log tails lock").remove(installation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize) -> LogLine {
        LogLine {
            at: n as Millis,
            level: "info",
            line: format!("line {n}"),
        }
    }

    #[test]
    fn a_tail_keeps_the_newest_lines_oldest_first() {
        let tail = LogTail::default();
        for n in 0..KEPT_LINES + 5 {
            tail.push(line(n));
        }
        let kept = tail.last(KEPT_LINES + 5);
        assert_eq!(kept.len(), KEPT_LINES);
        assert_eq!(kept[0].line, "line 5");
        let newest: Vec<String> = tail.last(2).into_iter().map(|l| l.line).collect();
        assert_eq!(
            newest,
            [
                format!("line {}", KEPT_LINES + 3),
                format!("line {}", KEPT_LINES + 4)
            ]
        );
    }

    #[test]
    fn every_instance_of_an_installation_shares_its_tail_until_it_is_removed() {
        let tails = LogTails::default();
        let id = InstallationId::from("inst_a".to_owned());
        tails.of(&id).push(line(1));
        assert_eq!(
            tails.of(&id).last(10).len(),
            1,
            "a second handle sees the line"
        );
        tails.forget(&id);
        assert!(tails.of(&id).last(10).is_empty());
    }
}
