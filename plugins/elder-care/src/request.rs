//! A help request and its life: offered, accepted, started, completed,
//! confirmed (then paid), or cancelled or expired unmet.
//!
//! ```text
//!  open ──accept──▶ accepted ──start──▶ started ──complete──▶ completed ──confirm──▶ confirmed
//!   │ ▲               │  │                │                      (accepted may complete directly)
//!   │ └─withdraw / no-show┘                │
//!   ├──cancel (requester side, until started) ─────────────────▶ cancelled
//!   └──expire (nobody accepted by the end of its time) ────────▶ expired
//! ```
//!
//! Repeating the step that led to the current state, by the same side, is
//! answered as done ([`Outcome::Unchanged`]), so a retried command changes
//! nothing: a second confirmation pays nothing twice.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Where every request starts.
    #[default]
    Open,
    Accepted,
    Started,
    Completed,
    Confirmed,
    Cancelled,
    Expired,
}

impl Status {
    /// Still on someone's mind: not yet confirmed, cancelled or expired.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            Self::Open | Self::Accepted | Self::Started | Self::Completed
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Accepted => "accepted",
            Self::Started => "started",
            Self::Completed => "completed",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }
}

/// Who stands in for an erased person in the records that outlive them
/// (closed requests, which the monthly reports count).
pub const ERASED: &str = "erased";

/// What forgetting a person did to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forgotten {
    /// It does not name them.
    Untouched,
    /// Their own request, called off while live: these people (its
    /// volunteer, or those it was still offered to) were counting on it.
    Withdrawn(Vec<String>),
    /// They were its volunteer while it was under way: it is open again.
    HelperGone,
    /// It named them, and now names [`ERASED`] instead or no one.
    Scrubbed,
}

/// Someone asked to help.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Offer {
    pub person: String,
    pub round: u32,
    pub at: i64,
}

/// Where the payment for a service landed in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Receipt {
    pub index: u64,
    pub leaf_hash: String,
}

/// A request as stored. A new one is open, offered to nobody and untouched:
/// `Request { id, requester, .., ..Request::default() }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Request {
    pub id: String,
    /// Who needs the help and pays for it.
    pub requester: String,
    /// Who filed it: the requester, their family or staff.
    pub filed_by: String,
    /// The skill needed: shopping, escorting, chatting, ...
    pub need: String,
    /// When the help is wanted: some time in `[start, end)`, UTC ms.
    pub start: i64,
    pub end: i64,
    /// The estimated duration.
    pub minutes: i64,
    #[serde(default)]
    pub note: String,
    pub created_at: i64,
    pub status: Status,
    /// The latest round of offers, from 0.
    pub round: u32,
    #[serde(default)]
    pub offers: Vec<Offer>,
    /// Volunteers who withdrew or did not show: never asked again for this request.
    #[serde(default)]
    pub excluded: Vec<String>,
    pub volunteer: Option<String>,
    pub accepted_at: Option<i64>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    /// The minutes served, as the volunteer reported them; what is paid.
    pub served_minutes: Option<i64>,
    pub confirmed_at: Option<i64>,
    pub confirmed_by: Option<String>,
    /// 1 to 5, from the requester's side.
    pub rating: Option<u8>,
    pub receipt: Option<Receipt>,
    /// When it was cancelled or expired.
    pub closed_at: Option<i64>,
}

/// Who is acting on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The person acting, if the caller is a person.
    pub person: Option<String>,
    /// Whether they act for the requester: the requester, their family or staff.
    pub for_requester: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Accept,
    Start,
    /// With the minutes served, when they differ from the estimate.
    Complete(Option<i64>),
    /// With the rating.
    Confirm(u8),
    /// By the requester's side: called off. By the volunteer: withdrawn.
    Cancel,
    /// The volunteer did not come.
    NoShow,
    /// Nobody accepted in time.
    Expire,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Start => "start",
            Self::Complete(_) => "complete",
            Self::Confirm(_) => "confirm",
            Self::Cancel => "cancel",
            Self::NoShow => "report a no-show for",
            Self::Expire => "expire",
        }
    }
}

/// What an action did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Moved to a new state.
    Changed,
    /// The volunteer is gone; the request is open again for others.
    Reopened,
    /// It repeated the step that led here: nothing changed.
    Unchanged,
}

/// Why an action is not allowed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Request {
    pub fn offered_to(&self, person: &str) -> bool {
        self.offers.iter().any(|o| o.person == person)
    }

    /// The volunteer's time on it, for telling whether they are free.
    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        self.start < end && start < self.end
    }

    pub fn apply(&mut self, action: Action, actor: &Actor, now: i64) -> Result<Outcome, Refusal> {
        let is_volunteer = actor.person.is_some() && actor.person == self.volunteer;
        let refuse = |why: &str| {
            Err(Refusal(format!(
                "cannot {} request {} ({}): {why}",
                action.name(),
                self.id,
                self.status.name()
            )))
        };
        use Status::*;
        match (action, self.status) {
            (Action::Accept, Accepted)
            | (Action::Start, Started)
            | (Action::Complete(_), Completed)
                if is_volunteer =>
            {
                Ok(Outcome::Unchanged)
            }
            (Action::Confirm(_), Confirmed) | (Action::Cancel, Cancelled)
                if actor.for_requester =>
            {
                Ok(Outcome::Unchanged)
            }
            (Action::Accept, Open) => {
                let Some(person) = actor.person.as_deref() else {
                    return refuse("only a person can accept");
                };
                if self.excluded.iter().any(|p| p == person) {
                    return refuse("you withdrew from it or did not show");
                }
                if !self.offered_to(person) {
                    return refuse("it was not offered to you");
                }
                self.status = Accepted;
                self.volunteer = Some(person.to_owned());
                self.accepted_at = Some(now);
                Ok(Outcome::Changed)
            }
            (Action::Accept, _) => refuse("it is no longer open"),
            (Action::Start | Action::Complete(_), _) if !is_volunteer => {
                refuse("only its volunteer can do that")
            }
            (Action::Start, Accepted) => {
                self.status = Started;
                self.started_at = Some(now);
                Ok(Outcome::Changed)
            }
            (Action::Complete(minutes), Accepted | Started) => {
                self.status = Completed;
                self.completed_at = Some(now);
                self.served_minutes = Some(minutes.unwrap_or(self.minutes));
                Ok(Outcome::Changed)
            }
            (Action::Start | Action::Complete(_), _) => refuse("it is not in progress"),
            (Action::Confirm(_) | Action::NoShow, _) if !actor.for_requester => {
                refuse("only the requester, their family or staff can do that")
            }
            (Action::Confirm(rating), Completed) => {
                self.status = Confirmed;
                self.confirmed_at = Some(now);
                self.confirmed_by = actor.person.clone();
                self.rating = Some(rating);
                Ok(Outcome::Changed)
            }
            (Action::Confirm(_), _) => refuse("it is not completed"),
            (Action::NoShow, Accepted | Started) if now < self.start => {
                refuse("its time has not begun")
            }
            (Action::NoShow, Accepted | Started) => Ok(self.reopen()),
            (Action::NoShow, _) => refuse("no volunteer is on it"),
            (Action::Cancel, Open | Accepted | Started) if actor.for_requester => {
                self.status = Cancelled;
                self.closed_at = Some(now);
                Ok(Outcome::Changed)
            }
            (Action::Cancel, Accepted) if is_volunteer => Ok(self.reopen()),
            (Action::Cancel, _) if actor.for_requester || is_volunteer => {
                refuse("it is past cancelling")
            }
            (Action::Cancel, _) => refuse("only the requester's side or its volunteer can cancel"),
            (Action::Expire, Open) => {
                self.status = Expired;
                self.closed_at = Some(now);
                Ok(Outcome::Changed)
            }
            (Action::Expire, _) => Ok(Outcome::Unchanged),
        }
    }

    /// Whether the request names `person`: as its requester, who filed or
    /// confirmed it, its volunteer, or someone it was offered to.
    pub fn names(&self, person: &str) -> bool {
        self.requester == person
            || self.filed_by == person
            || self.volunteer.as_deref() == Some(person)
            || self.confirmed_by.as_deref() == Some(person)
            || self.offered_to(person)
            || self.excluded.iter().any(|p| p == person)
    }

    /// Takes `person` out of the request after the community erased them.
    ///
    /// Their own request keeps only what the reports count: a live one is
    /// called off, and whoever filed, noted or confirmed it on their side
    /// becomes [`ERASED`]. On someone else's request they leave the offers
    /// and the exclusions; as its volunteer while under way they leave it
    /// open for others, as the volunteer of a service done they become
    /// [`ERASED`] (one completed but not confirmed is called off, since
    /// nobody is left to pay).
    pub fn forget(&mut self, person: &str, now: i64) -> Forgotten {
        if self.requester == person {
            let was_live = self.status.is_live();
            let counting: Vec<String> = if !was_live {
                Vec::new()
            } else if let Some(volunteer) = &self.volunteer {
                vec![volunteer.clone()]
            } else {
                self.offers
                    .iter()
                    .map(|o| o.person.clone())
                    .filter(|p| !self.excluded.contains(p))
                    .collect()
            };
            if was_live {
                self.status = Status::Cancelled;
                self.closed_at = Some(now);
            }
            self.requester = ERASED.to_owned();
            self.filed_by = ERASED.to_owned();
            self.note.clear();
            if self.confirmed_by.is_some() {
                self.confirmed_by = Some(ERASED.to_owned());
            }
            return if was_live {
                Forgotten::Withdrawn(counting)
            } else {
                Forgotten::Scrubbed
            };
        }
        if !self.names(person) {
            return Forgotten::Untouched;
        }
        let volunteering = self.volunteer.as_deref() == Some(person);
        let helping = volunteering && matches!(self.status, Status::Accepted | Status::Started);
        if helping {
            self.reopen();
        } else if volunteering && self.status == Status::Completed {
            // Served but not yet confirmed: nobody is left to pay.
            self.status = Status::Cancelled;
            self.closed_at = Some(now);
        }
        for field in [&mut self.filed_by]
            .into_iter()
            .chain(self.volunteer.as_mut())
            .chain(self.confirmed_by.as_mut())
        {
            if *field == person {
                *field = ERASED.to_owned();
            }
        }
        self.offers.retain(|o| o.person != person);
        self.excluded.retain(|p| p != person);
        if helping {
            Forgotten::HelperGone
        } else {
            Forgotten::Scrubbed
        }
    }

    /// The volunteer leaves; the request is offered to others again.
    fn reopen(&mut self) -> Outcome {
        if let Some(volunteer) = self.volunteer.take() {
            self.excluded.push(volunteer);
        }
        self.status = Status::Open;
        self.accepted_at = None;
        self.started_at = None;
        Outcome::Reopened
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: i64 = 1_000_000;

    fn request() -> Request {
        Request {
            id: "r-000001".into(),
            requester: "elder".into(),
            filed_by: "daughter".into(),
            need: "shopping".into(),
            start: START,
            end: START + 3 * 3_600_000,
            minutes: 90,
            offers: vec![Offer {
                person: "helper".into(),
                round: 0,
                at: 0,
            }],
            ..Request::default()
        }
    }

    fn person(id: &str) -> Actor {
        Actor {
            person: Some(id.into()),
            for_requester: false,
        }
    }

    fn family() -> Actor {
        Actor {
            person: Some("daughter".into()),
            for_requester: true,
        }
    }

    #[test]
    fn the_whole_service_in_order_and_each_step_repeated_changes_nothing() {
        let mut r = request();
        let helper = person("helper");
        let steps = [
            (Action::Accept, &helper, Status::Accepted),
            (Action::Start, &helper, Status::Started),
            (Action::Complete(None), &helper, Status::Completed),
            (Action::Confirm(5), &family(), Status::Confirmed),
        ];
        for (action, actor, status) in steps {
            assert_eq!(
                r.apply(action, actor, START),
                Ok(Outcome::Changed),
                "{action:?}"
            );
            assert_eq!(r.status, status);
            assert_eq!(
                r.apply(action, actor, START),
                Ok(Outcome::Unchanged),
                "{action:?} again"
            );
        }
        assert_eq!(
            r.served_minutes,
            Some(90),
            "the estimate, when no minutes are reported"
        );
        assert_eq!(
            (r.rating, r.confirmed_by.as_deref()),
            (Some(5), Some("daughter"))
        );
    }

    #[test]
    fn only_those_offered_may_accept_and_only_the_volunteer_may_work() {
        let mut r = request();
        assert!(r.apply(Action::Accept, &person("stranger"), 0).is_err());
        assert!(
            r.apply(Action::Start, &person("helper"), 0).is_err(),
            "not accepted yet"
        );
        r.apply(Action::Accept, &person("helper"), 0).unwrap();
        let refused = r.apply(Action::Accept, &person("stranger"), 0).unwrap_err();
        assert!(refused.0.contains("no longer open"), "{refused}");
        assert!(r
            .apply(Action::Complete(Some(60)), &person("stranger"), 0)
            .is_err());
        assert!(
            r.apply(Action::Confirm(4), &person("helper"), 0).is_err(),
            "a volunteer does not confirm their own work"
        );
        assert!(
            r.apply(Action::Confirm(4), &family(), 0).is_err(),
            "not completed yet"
        );
        r.apply(Action::Complete(Some(60)), &person("helper"), 0)
            .unwrap();
        assert_eq!(r.served_minutes, Some(60), "accepted may complete directly");
    }

    #[test]
    fn a_withdrawal_or_a_no_show_reopens_without_that_volunteer() {
        let mut r = request();
        r.apply(Action::Accept, &person("helper"), 0).unwrap();
        assert_eq!(
            r.apply(Action::Cancel, &person("helper"), 0),
            Ok(Outcome::Reopened)
        );
        assert_eq!((r.status, r.volunteer.as_deref()), (Status::Open, None));
        assert!(
            r.apply(Action::Accept, &person("helper"), 0).is_err(),
            "not again"
        );

        r.offers.push(Offer {
            person: "second".into(),
            round: 1,
            at: 0,
        });
        r.apply(Action::Accept, &person("second"), 0).unwrap();
        let early = r.apply(Action::NoShow, &family(), START - 1).unwrap_err();
        assert!(early.0.contains("not begun"), "{early}");
        assert_eq!(
            r.apply(Action::NoShow, &family(), START),
            Ok(Outcome::Reopened)
        );
        assert_eq!(r.excluded, ["helper", "second"]);
    }

    #[test]
    fn cancelling_and_expiring() {
        let mut r = request();
        assert!(r.apply(Action::Cancel, &person("stranger"), 0).is_err());
        assert_eq!(r.apply(Action::Cancel, &family(), 7), Ok(Outcome::Changed));
        assert_eq!((r.status, r.closed_at), (Status::Cancelled, Some(7)));
        assert!(r.apply(Action::Accept, &person("helper"), 0).is_err());

        let mut unmet = request();
        assert_eq!(
            unmet.apply(Action::Expire, &family(), 9),
            Ok(Outcome::Changed)
        );
        assert_eq!(unmet.status, Status::Expired);
        let mut taken = request();
        taken.apply(Action::Accept, &person("helper"), 0).unwrap();
        assert_eq!(
            taken.apply(Action::Expire, &family(), 9),
            Ok(Outcome::Unchanged)
        );
        assert_eq!(
            taken.status,
            Status::Accepted,
            "an accepted request does not expire"
        );

        let mut done = request();
        done.apply(Action::Accept, &person("helper"), 0).unwrap();
        done.apply(Action::Complete(None), &person("helper"), 0)
            .unwrap();
        let late = done.apply(Action::Cancel, &family(), 0).unwrap_err();
        assert!(late.0.contains("past cancelling"), "{late}");
    }

    #[test]
    fn forgetting_the_requester_calls_off_their_live_request_and_keeps_what_reports_count() {
        let mut r = request();
        r.note = "ring twice, flat 301".into();
        assert_eq!(
            r.forget("elder", START),
            Forgotten::Withdrawn(vec!["helper".into()])
        );
        assert_eq!((r.status, r.closed_at), (Status::Cancelled, Some(START)));
        assert_eq!(
            (r.requester.as_str(), r.filed_by.as_str()),
            (ERASED, ERASED)
        );
        assert!(r.note.is_empty());
        assert_eq!((r.need.as_str(), r.minutes), ("shopping", 90));
    }

    #[test]
    fn forgetting_the_volunteer_under_way_reopens_the_request_for_others() {
        let mut r = request();
        r.apply(Action::Accept, &person("helper"), START).unwrap();
        assert_eq!(r.forget("helper", START), Forgotten::HelperGone);
        assert_eq!((r.status, r.volunteer.clone()), (Status::Open, None));
        assert!(!r.offered_to("helper") && r.excluded.is_empty());
        assert_eq!(r.forget("stranger", START), Forgotten::Untouched);
        assert!(!r.names("helper"));
    }

    #[test]
    fn forgetting_the_volunteer_of_a_service_done_leaves_a_stand_in() {
        let mut r = request();
        r.apply(Action::Accept, &person("helper"), START).unwrap();
        r.apply(Action::Complete(None), &person("helper"), START)
            .unwrap();
        r.apply(Action::Confirm(5), &family(), START).unwrap();
        assert_eq!(r.forget("helper", START), Forgotten::Scrubbed);
        assert_eq!(r.volunteer.as_deref(), Some(ERASED));
        assert_eq!(r.status, Status::Confirmed);
    }
}
