//! A motion (议案): what the owners are asked, of which matter class, of
//! whose units (the scope), when, and how — and where it stands.
//!
//! A motion is drafted, then scheduled (`open`), opens on its time, and
//! closes on its time with a result; a draft or a scheduled motion can be
//! withdrawn. Its text and attachments are fixed once scheduled: owners
//! were told what they will vote on.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::ballot::EntryPlace;
use crate::config::Config;
use crate::matter::MatterClass;
use crate::options::Question;
use crate::roll::Totals;

const MAX_TITLE_CHARS: usize = 200;
/// Long enough for a covenant's amendment; the opening record carries it
/// whole, within the ledger's 64 KiB bodies.
const MAX_TEXT_BYTES: usize = 32_000;
const MAX_ATTACHMENTS: usize = 20;

/// A document the owners should read, by its SHA-256: the motion records
/// what it was, the community keeps the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub name: String,
    pub sha256: String,
}

/// `draft-motion`'s input.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftInput {
    pub title: String,
    pub text: String,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    pub class: MatterClass,
    /// Candidates make it an election.
    #[serde(default)]
    pub candidates: Vec<String>,
    pub seats: Option<u32>,
    /// A building or grid cell; the whole compound when absent.
    pub scope: Option<String>,
    pub opens_at: i64,
    pub closes_at: i64,
    #[serde(default)]
    pub secret: bool,
    #[serde(default = "yes")]
    pub ballots_may_change: bool,
}

fn yes() -> bool {
    true
}

/// Where a motion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Draft,
    Scheduled,
    Open,
    Closed,
    Withdrawn,
}

impl Stage {
    /// The stage as commands and replies spell it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Draft => "draft",
            Stage::Scheduled => "scheduled",
            Stage::Open => "open",
            Stage::Closed => "closed",
            Stage::Withdrawn => "withdrawn",
        }
    }
}

/// What was frozen and recorded when the motion opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opened {
    pub at: i64,
    pub totals: Totals,
    /// How many shards the roll and the ballots are kept in.
    pub shards: u32,
    pub developer_voter: Option<String>,
    /// The `voting/motion` record, then the `voting/roll` records.
    pub record: EntryPlace,
    pub roll_records: Vec<u64>,
}

/// What was published when the motion closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Closed {
    pub at: i64,
    /// The `voting/tally` record.
    pub record: EntryPlace,
    /// The `voting/tally-part` records listing the counted ballots.
    pub parts: Vec<u64>,
    pub report: Json,
}

/// A motion and its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Motion {
    pub id: String,
    pub title: String,
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub class: MatterClass,
    pub question: Question,
    pub scope: Option<String>,
    pub opens_at: i64,
    pub closes_at: i64,
    pub secret: bool,
    pub ballots_may_change: bool,
    pub drafted_by: String,
    pub drafted_at: i64,
    pub stage: Stage,
    /// Reminders that went to everyone who had not voted.
    #[serde(default)]
    pub reminders_sent: u32,
    /// A reminder still going out in rounds: its number, and the last
    /// person its rounds so far reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_cursor: Option<(u32, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened: Option<Opened>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<Closed>,
    /// Why it was withdrawn, and by whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
}

fn sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl DraftInput {
    /// Checks everything a draft can be checked for without the map; the
    /// error names the field.
    pub fn into_motion(
        self,
        config: &Config,
        id: String,
        by: &str,
        now: i64,
    ) -> Result<Motion, String> {
        let title_chars = self.title.trim().chars().count();
        if title_chars == 0 || title_chars > MAX_TITLE_CHARS {
            return Err(format!("title: 1-{MAX_TITLE_CHARS} characters"));
        }
        if self.text.trim().is_empty() || self.text.len() > MAX_TEXT_BYTES {
            return Err(format!("text: 1-{MAX_TEXT_BYTES} bytes"));
        }
        if self.attachments.len() > MAX_ATTACHMENTS {
            return Err(format!("attachments: at most {MAX_ATTACHMENTS}"));
        }
        for (i, attachment) in self.attachments.iter().enumerate() {
            let chars = attachment.name.trim().chars().count();
            if chars == 0 || chars > MAX_TITLE_CHARS {
                return Err(format!(
                    "attachments[{i}].name: 1-{MAX_TITLE_CHARS} characters"
                ));
            }
            if !sha256_hex(&attachment.sha256) {
                return Err(format!(
                    "attachments[{i}].sha256: 64 lowercase hex digits, the file's SHA-256"
                ));
            }
        }
        let question = Question::from_draft(self.candidates, self.seats)?;
        if self.closes_at <= self.opens_at {
            return Err("closes_at: must be after opens_at".to_owned());
        }
        let length = self.closes_at - self.opens_at;
        if length < config.min_voting_ms || length > config.max_voting_ms {
            return Err(format!(
                "closes_at: a motion stays open {} to {} ms (config min-voting-ms, max-voting-ms); this one {length}",
                config.min_voting_ms, config.max_voting_ms
            ));
        }
        if self.closes_at <= now {
            return Err("closes_at: already past".to_owned());
        }
        Ok(Motion {
            id,
            title: self.title,
            text: self.text,
            attachments: self.attachments,
            class: self.class,
            question,
            scope: self.scope,
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            secret: self.secret,
            ballots_may_change: self.ballots_may_change,
            drafted_by: by.to_owned(),
            drafted_at: now,
            stage: Stage::Draft,
            reminders_sent: 0,
            reminder_cursor: None,
            opened: None,
            closed: None,
            withdrawn: None,
        })
    }
}

impl Motion {
    /// Whether ballots are taken at `now`.
    pub fn taking_ballots(&self, now: i64) -> bool {
        self.stage == Stage::Open && now >= self.opens_at && now < self.closes_at
    }

    /// What anyone in the community may read of the motion.
    pub fn summary(&self) -> Json {
        let mut summary = json!({
            "motion": self.id,
            "title": self.title,
            "class": self.class,
            "item": self.class.item(),
            "passing_bar": self.class.passing_bar().describe(),
            "scope": self.scope,
            "opens_at": self.opens_at,
            "closes_at": self.closes_at,
            "secret": self.secret,
            "ballots_may_change": self.ballots_may_change,
            "stage": self.stage,
        });
        if let Some(opened) = &self.opened {
            summary["totals"] = json!({
                "units": opened.totals.units,
                "area_m2": opened.totals.area,
                "owners": opened.totals.heads,
            });
        }
        if let Some(why) = &self.withdrawn {
            summary["withdrawn"] = json!(why);
        }
        summary
    }

    /// The whole motion as people read it: the summary with its text,
    /// attachments, options and records.
    pub fn view(&self) -> Json {
        let mut view = self.summary();
        view["text"] = json!(self.text);
        view["attachments"] = json!(self.attachments);
        view["question"] = json!(self.question);
        view["drafted_by"] = json!(self.drafted_by);
        if let Some(opened) = &self.opened {
            view["opening_record"] = json!(opened.record);
            view["roll_records"] = json!(opened.roll_records);
            view["developer_voter"] = json!(opened.developer_voter);
        }
        if let Some(closed) = &self.closed {
            view["tally_record"] = json!(closed.record);
            view["decision"] = closed.report["decision"].clone();
        }
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn draft() -> DraftInput {
        serde_json::from_value(json!({
            "title": "Repaint the stairwells",
            "text": "Use 120,000 yuan of the maintenance fund to repaint stairwells A and B.",
            "class": "use-maintenance-fund",
            "opens_at": 20 * DAY,
            "closes_at": 27 * DAY,
        }))
        .unwrap()
    }

    fn made(input: DraftInput) -> Result<Motion, String> {
        input.into_motion(&Config::default(), "motion-1".into(), "kim", DAY)
    }

    #[test]
    fn a_draft_takes_sensible_defaults() {
        let motion = made(draft()).unwrap();
        assert_eq!(motion.stage, Stage::Draft);
        assert_eq!(motion.question, Question::Proposal);
        assert!(!motion.secret);
        assert!(motion.ballots_may_change);
        assert_eq!(motion.summary()["item"], 5);
    }

    #[test]
    fn a_bad_draft_is_refused_naming_the_field() {
        let mut input = draft();
        input.title = "  ".into();
        assert!(made(input).unwrap_err().starts_with("title"));
        let mut input = draft();
        input.closes_at = input.opens_at;
        assert!(made(input).unwrap_err().starts_with("closes_at"));
        let mut input = draft();
        input.closes_at = input.opens_at + 1000;
        assert!(made(input).unwrap_err().contains("min-voting-ms"));
        let mut input = draft();
        input.attachments = vec![Attachment {
            name: "quote.pdf".into(),
            sha256: "ABC".into(),
        }];
        assert!(made(input)
            .unwrap_err()
            .starts_with("attachments[0].sha256"));
        let mut input = draft();
        input.seats = Some(2);
        assert!(made(input).unwrap_err().starts_with("seats"));
    }

    #[test]
    fn unknown_fields_and_classes_are_refused() {
        let unknown = serde_json::from_value::<DraftInput>(json!({
            "title": "t", "text": "x", "class": "use-maintenance-fund",
            "opens_at": 0, "closes_at": 1, "quorum": "1/2"
        }));
        assert!(unknown.is_err());
        let class = serde_json::from_value::<DraftInput>(json!({
            "title": "t", "text": "x", "class": "fund", "opens_at": 0, "closes_at": 1
        }));
        assert!(class.is_err());
    }

    #[test]
    fn ballots_are_taken_only_while_open_and_before_the_close() {
        let mut motion = made(draft()).unwrap();
        assert!(!motion.taking_ballots(21 * DAY));
        motion.stage = Stage::Open;
        assert!(!motion.taking_ballots(19 * DAY));
        assert!(motion.taking_ballots(20 * DAY));
        assert!(
            !motion.taking_ballots(27 * DAY),
            "closes_at itself is closed"
        );
    }
}
