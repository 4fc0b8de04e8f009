//! Work orders: the state machine from report to close, who may take each
//! step, and the deadline by severity. Pure: `work_orders` stores them, times
//! their deadlines and writes their history to the ledger.

use linli_sdk::Severity;
use serde::{Deserialize, Serialize};

use crate::config::Deadlines;

/// The steps of a work order, in the only order they can be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Report,
    Dispatch,
    Accept,
    OnSite,
    Resolve,
    Review,
    Close,
}

const STEPS: [Step; 7] = [
    Step::Report,
    Step::Dispatch,
    Step::Accept,
    Step::OnSite,
    Step::Resolve,
    Step::Review,
    Step::Close,
];

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Report => "report",
            Step::Dispatch => "dispatch",
            Step::Accept => "accept",
            Step::OnSite => "on-site",
            Step::Resolve => "resolve",
            Step::Review => "review",
            Step::Close => "close",
        }
    }

    pub fn parse(name: &str) -> Option<Step> {
        STEPS.into_iter().find(|s| s.name() == name)
    }

    /// The step after this one; `None` after closing.
    pub fn next(self) -> Option<Step> {
        STEPS
            .iter()
            .position(|s| *s == self)
            .and_then(|i| STEPS.get(i + 1).copied())
    }
}

/// What a caller is, for one work order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capacities {
    /// A community admin or operator: may take any step on someone's behalf.
    pub operator: bool,
    /// The configured supervisor.
    pub supervisor: bool,
    /// Holds the work order's staff role for its place.
    pub staff: bool,
    /// The staff member the order was dispatched to or accepted by.
    pub assignee: bool,
}

/// Why a step was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError {
    /// Not the next step; carries the step that is.
    OutOfOrder { expected: Option<Step> },
    /// The caller may not take this step.
    NotPermitted,
}

/// One line of a work order's history: a step, or something that happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// A step name, or `escalated`, `alarm-cleared`, `acknowledged`, `marked-false`.
    pub what: String,
    pub by: String,
    pub at: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A work order for one fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkOrder {
    pub id: String,
    /// The alarm that opened it, and later alarms of the same fault.
    pub alarms: Vec<String>,
    pub alarm_type: String,
    pub originator: String,
    /// Where the fault is (a map place), when known.
    pub place: Option<String>,
    #[serde(with = "crate::severity")]
    pub severity: Severity,
    pub opened_at: i64,
    /// When it must be resolved by.
    pub deadline: i64,
    /// The last step taken.
    pub step: Step,
    /// Who it was dispatched to, then who accepted it.
    pub assignee: Option<String>,
    /// Whether the supervisor was told it is overdue.
    pub escalated: bool,
    pub history: Vec<Entry>,
}

impl WorkOrder {
    /// A reported work order, due `deadlines` after `at` by its severity.
    pub fn report(
        id: String,
        alarm: Opening,
        deadlines: &Deadlines,
        by: &str,
        at: i64,
    ) -> WorkOrder {
        let allowed = i64::try_from(deadlines.for_severity(alarm.severity)).unwrap_or(i64::MAX);
        WorkOrder {
            id,
            alarms: vec![alarm.alarm],
            alarm_type: alarm.alarm_type,
            originator: alarm.originator,
            place: alarm.place,
            severity: alarm.severity,
            opened_at: at,
            deadline: at.saturating_add(allowed),
            step: Step::Report,
            assignee: None,
            escalated: false,
            history: vec![Entry {
                what: Step::Report.name().into(),
                by: by.into(),
                at,
                note: alarm.note,
            }],
        }
    }

    pub fn is_closed(&self) -> bool {
        self.step == Step::Close
    }

    /// Whether the fault is still to be resolved.
    pub fn is_unresolved(&self) -> bool {
        self.step < Step::Resolve
    }

    /// The step this order waits for.
    pub fn pending(&self) -> Option<Step> {
        self.step.next()
    }

    /// Takes `step` as `by`, if it is the next one and `capacities` allow it.
    /// Dispatching names the assignee (`to`); accepting makes the caller one.
    pub fn advance(
        &mut self,
        step: Step,
        capacities: Capacities,
        by: &str,
        to: Option<&str>,
        at: i64,
        note: &str,
    ) -> Result<(), StepError> {
        if self.pending() != Some(step) {
            return Err(StepError::OutOfOrder {
                expected: self.pending(),
            });
        }
        if !self.permits(step, capacities) {
            return Err(StepError::NotPermitted);
        }
        match step {
            Step::Dispatch => self.assignee = to.map(str::to_owned),
            Step::Accept if !capacities.operator || self.assignee.is_none() => {
                self.assignee = Some(by.to_owned());
            }
            _ => {}
        }
        self.step = step;
        self.note(step.name(), by, at, note);
        Ok(())
    }

    /// Who may take each step: operators any; the supervisor dispatches,
    /// reviews and closes; staff of the role accept (only the one it was
    /// dispatched to, once it was); whoever accepted goes on site and resolves.
    pub fn permits(&self, step: Step, who: Capacities) -> bool {
        who.operator
            || match step {
                Step::Report => false,
                Step::Dispatch | Step::Review | Step::Close => who.supervisor,
                Step::Accept => who.assignee || (who.staff && self.assignee.is_none()),
                Step::OnSite | Step::Resolve => who.assignee,
            }
    }

    /// Resolves the order at once, whatever step it is at (for a false alarm: there is nothing to repair).
    pub fn resolve_now(&mut self, by: &str, at: i64, note: &str) {
        if self.is_unresolved() {
            self.step = Step::Resolve;
            self.note(Step::Resolve.name(), by, at, note);
        }
    }

    /// Whether the deadline has passed with the fault unresolved and nobody told yet.
    pub fn due_for_escalation(&self, now: i64) -> bool {
        self.is_unresolved() && !self.escalated && now >= self.deadline
    }

    /// Adds a line to the history.
    pub fn note(&mut self, what: &str, by: &str, at: i64, note: &str) {
        self.history.push(Entry {
            what: what.into(),
            by: by.into(),
            at,
            note: note.into(),
        });
    }
}

/// What an alarm tells a new work order.
pub struct Opening {
    pub alarm: String,
    pub alarm_type: String,
    pub originator: String,
    pub place: Option<String>,
    pub severity: Severity,
    pub note: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPERATOR: Capacities = Capacities {
        operator: true,
        supervisor: false,
        staff: false,
        assignee: false,
    };

    fn order(severity: Severity) -> WorkOrder {
        let opening = Opening {
            alarm: "alm-1".into(),
            alarm_type: "hydrant-pressure-low".into(),
            originator: "pressure-b3-west".into(),
            place: Some("hydrant-b3-west".into()),
            severity,
            note: String::new(),
        };
        WorkOrder::report(
            "wo-1".into(),
            opening,
            &Deadlines::default(),
            "fire-safety",
            1_000,
        )
    }

    #[test]
    fn the_deadline_follows_the_severity() {
        assert_eq!(order(Severity::Critical).deadline, 1_000 + 600_000);
        assert_eq!(order(Severity::Minor).deadline, 1_000 + 86_400_000);
    }

    #[test]
    fn steps_go_in_order_and_no_step_is_skipped_or_repeated() {
        let mut wo = order(Severity::Major);
        assert_eq!(
            wo.advance(Step::Resolve, OPERATOR, "op", None, 2, ""),
            Err(StepError::OutOfOrder {
                expected: Some(Step::Dispatch)
            })
        );
        for step in STEPS.into_iter().skip(1) {
            wo.advance(step, OPERATOR, "op", None, 2, "")
                .expect("next step");
        }
        assert!(wo.is_closed());
        assert_eq!(
            wo.advance(Step::Close, OPERATOR, "op", None, 3, ""),
            Err(StepError::OutOfOrder { expected: None })
        );
        let steps: Vec<&str> = wo.history.iter().map(|e| e.what.as_str()).collect();
        assert_eq!(
            steps,
            ["report", "dispatch", "accept", "on-site", "resolve", "review", "close"]
        );
    }

    #[test]
    fn staff_accept_and_resolve_but_only_the_supervisor_reviews() {
        let mut wo = order(Severity::Major);
        let supervisor = Capacities {
            supervisor: true,
            ..Capacities::default()
        };
        let staff = Capacities {
            staff: true,
            ..Capacities::default()
        };
        let stranger = Capacities::default();
        assert_eq!(
            wo.advance(
                Step::Dispatch,
                staff,
                "person-217",
                Some("person-217"),
                2,
                ""
            ),
            Err(StepError::NotPermitted)
        );
        wo.advance(
            Step::Dispatch,
            supervisor,
            "person-216",
            Some("person-217"),
            2,
            "",
        )
        .expect("the supervisor dispatches");
        assert_eq!(wo.assignee.as_deref(), Some("person-217"));
        assert_eq!(
            wo.advance(Step::Accept, stranger, "person-100", None, 3, ""),
            Err(StepError::NotPermitted)
        );
        assert_eq!(
            wo.advance(Step::Accept, staff, "person-216", None, 3, ""),
            Err(StepError::NotPermitted),
            "once dispatched, only the one it was dispatched to accepts"
        );
        let assignee = Capacities {
            assignee: true,
            staff: true,
            ..Capacities::default()
        };
        wo.advance(Step::Accept, assignee, "person-217", None, 3, "")
            .expect("accepts");
        wo.advance(Step::OnSite, assignee, "person-217", None, 4, "")
            .expect("on site");
        wo.advance(
            Step::Resolve,
            assignee,
            "person-217",
            None,
            5,
            "valve opened",
        )
        .expect("resolves");
        assert_eq!(
            wo.advance(Step::Review, assignee, "person-217", None, 6, ""),
            Err(StepError::NotPermitted),
            "nobody reviews their own repair"
        );
        wo.advance(Step::Review, supervisor, "person-216", None, 6, "")
            .expect("reviews");
    }

    #[test]
    fn an_unresolved_order_escalates_once_after_its_deadline() {
        let mut wo = order(Severity::Critical);
        assert!(!wo.due_for_escalation(wo.deadline - 1));
        assert!(wo.due_for_escalation(wo.deadline));
        wo.escalated = true;
        assert!(!wo.due_for_escalation(wo.deadline + 1));

        let mut resolved = order(Severity::Critical);
        resolved.resolve_now("op", 2, "false alarm");
        assert!(!resolved.due_for_escalation(resolved.deadline));
        assert_eq!(resolved.pending(), Some(Step::Review));
    }
}
