//! What owners are told, through `notify`: a motion scheduled and opened,
//! reminders to those who have not voted, and the result.
//!
//! `notify` is optional: without it the motion, the ballots and the result
//! are all still there for anyone who asks, and on the ledger. Telling
//! people never stops a vote either: a message the host refuses is logged
//! and the handler goes on, so a full quota cannot keep a motion from
//! opening or closing on time.

use linli_sdk::notify::{self, Audience, Message};
use linli_sdk::{grants, log, Severity};
use serde_json::{json, Value as Json};

use crate::motion::Motion;

pub const MOTION_TOPIC: &str = "voting-motion";
pub const REMINDER_TOPIC: &str = "voting-reminder";
pub const RESULT_TOPIC: &str = "voting-result";

/// Most audience entries the host takes in one message.
const AUDIENCE_PER_MESSAGE: usize = 50;
/// The host's limits on a message's title and body, in bytes.
const TITLE_BYTES: usize = 200;
const BODY_BYTES: usize = 4 * 1024;

/// Whether the installation may send at all.
pub fn granted() -> bool {
    grants::granted().notify.is_some()
}

/// `text` cut to at most `bytes` bytes on a character boundary, with an
/// ellipsis when cut: titles are often Chinese, three bytes a character.
fn fit(text: &str, bytes: usize) -> String {
    if text.len() <= bytes {
        return text.to_owned();
    }
    let mut end = bytes - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// A message about one motion.
pub struct Notice {
    pub topic: &'static str,
    pub title: String,
    pub body: String,
    pub data: Json,
    /// Unique to what is told; each message of it adds its number.
    pub key: String,
}

impl Notice {
    /// A notice about `motion`, its data naming the motion.
    pub fn about(
        motion: &Motion,
        topic: &'static str,
        title: String,
        body: String,
        key: String,
    ) -> Self {
        Self {
            topic,
            title,
            body,
            data: json!({ "motion": motion.id }),
            key,
        }
    }

    /// Sends it to `audience`, as many messages as the host's audience
    /// limit needs; returns how many were sent. Refusals are logged.
    pub fn send(&self, audience: Vec<Audience>) -> usize {
        if !granted() || audience.is_empty() {
            return 0;
        }
        let mut sent = 0;
        for (i, chunk) in audience.chunks(AUDIENCE_PER_MESSAGE).enumerate() {
            let message = Message {
                audience: chunk.to_vec(),
                severity: Severity::Info,
                topic: self.topic.to_owned(),
                title: fit(&self.title, TITLE_BYTES),
                body: fit(&self.body, BODY_BYTES),
                data: self.data.to_string(),
                idempotency_key: format!("{}/{i}", self.key),
                require_ack: false,
                escalation: Vec::new(),
            };
            match notify::send(&message) {
                Ok(_) => sent += 1,
                Err(refused) => {
                    log::warn(&format!("{}: message {i} not sent: {refused:?}", self.key))
                }
            }
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_titles_are_cut_on_a_character_boundary() {
        let title = "维修资金使用表决".repeat(20);
        let cut = fit(&title, TITLE_BYTES);
        assert!(cut.len() <= TITLE_BYTES);
        assert!(cut.ends_with('…'));
        assert_eq!(fit("short", TITLE_BYTES), "short");
    }
}
