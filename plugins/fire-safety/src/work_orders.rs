//! Work orders in the store (`work-order/<id>`; `work-order-open/<id>` while
//! not closed; `work-order-fault/<type>/<originator>` naming the unresolved
//! order of a fault), their deadlines as timers, the supervisor's
//! escalation, and every line of their history on the ledger.

use linli_sdk::{audience, calendar, ledger, state, timer, Caller, Error};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::config::Config;
use crate::order_lifecycle::{Opening, Step, StepError, WorkOrder};
use crate::{alarms, callers, notices};

/// How the plugin signs what it does itself.
pub const PLUGIN: &str = "fire-safety";
/// The ledger record kind of work-order history.
const LEDGER_KIND: &str = "fire-safety/work-order";
/// The timer tags of deadlines, followed by the work order id.
pub const DEADLINE_TAG: &str = "work-order-deadline/";
const SEQUENCE: &str = "work-order-seq";
const ORDER_PREFIX: &str = "work-order/";
const OPEN_PREFIX: &str = "work-order-open/";
const FAULT_PREFIX: &str = "work-order-fault/";

fn key(id: &str) -> String {
    format!("{ORDER_PREFIX}{id}")
}

fn fault_key(alarm_type: &str, originator: &str) -> String {
    format!("{FAULT_PREFIX}{alarm_type}/{originator}")
}

pub fn get(id: &str) -> Result<WorkOrder, Error> {
    state::get(&key(id))?.ok_or_else(|| Error::NotFound(format!("no work order {id}")))
}

fn save(order: &WorkOrder) -> Result<(), Error> {
    state::put(&key(&order.id), order)?;
    let open = format!("{OPEN_PREFIX}{}", order.id);
    if order.is_closed() {
        state::delete(&open)?;
    } else {
        state::put(&open, &true)?;
    }
    let fault = fault_key(&order.alarm_type, &order.originator);
    if order.is_unresolved() {
        state::put(&fault, &order.id)?;
    } else if state::get::<String>(&fault)?.as_deref() == Some(order.id.as_str()) {
        state::delete(&fault)?;
    }
    Ok(())
}

/// The unresolved work order of this alarm's fault, or a new one. A fault
/// that comes back before its order is resolved joins that order rather
/// than opening another; once resolved, a new alarm is a new job.
pub fn open_or_join(config: &Config, opening: Opening) -> Result<WorkOrder, Error> {
    let now = timer::now();
    if let Some(id) = state::get::<String>(&fault_key(&opening.alarm_type, &opening.originator))? {
        let mut order = get(&id)?;
        if !order.alarms.contains(&opening.alarm) {
            order.alarms.push(opening.alarm.clone());
            append(&mut order, "alarm-raised", PLUGIN, now, &opening.alarm)?;
            save(&order)?;
        }
        return Ok(order);
    }
    let number = state::update(SEQUENCE, |n: &mut u64| {
        *n += 1;
        *n
    })?;
    let order = WorkOrder::report(
        format!("wo-{number:06}"),
        opening,
        &config.work_orders.deadlines_ms,
        PLUGIN,
        now,
    );
    timer::schedule(&format!("{DEADLINE_TAG}{}", order.id), order.deadline, None)?;
    write_to_ledger(&order, 0)?;
    save(&order)?;
    Ok(order)
}

/// Adds a line to the order's history and to the ledger.
pub fn append(
    order: &mut WorkOrder,
    what: &str,
    by: &str,
    at: i64,
    note: &str,
) -> Result<(), Error> {
    order.note(what, by, at, note);
    write_to_ledger(order, order.history.len() - 1)
}

/// Notes something that happened to work order `id` (an acknowledgement, a cleared alarm).
pub fn note(id: &str, what: &str, by: &str, note: &str) -> Result<(), Error> {
    let mut order = get(id)?;
    append(&mut order, what, by, timer::now(), note)?;
    save(&order)
}

/// History line `index` as a ledger record: evidence that cannot be
/// rewritten later. The key makes a retried handler write it once.
fn write_to_ledger(order: &WorkOrder, index: usize) -> Result<(), Error> {
    let entry = &order.history[index];
    let body = json!({
        "work_order": order.id,
        "line": index,
        "what": entry.what,
        "by": entry.by,
        "at": entry.at,
        "note": entry.note,
        "alarm_type": order.alarm_type,
        "originator": order.originator,
        "place": order.place,
        "severity": order.severity.name(),
        "deadline": order.deadline,
    });
    ledger::append_record(
        LEDGER_KIND,
        &body.to_string(),
        &format!("work-order/{}/{index}", order.id),
    )
    .map_err(ledger_error)?;
    Ok(())
}

fn ledger_error(error: ledger::LedgerError) -> Error {
    match error {
        ledger::LedgerError::Denied(m) => Error::Denied(m),
        ledger::LedgerError::UnknownAccount(a) => Error::NotFound(format!("no account {a}")),
        ledger::LedgerError::InsufficientFunds(f) => {
            Error::Internal(format!("unexpected transfer failure on {}", f.account))
        }
        ledger::LedgerError::Invalid(m) | ledger::LedgerError::Conflict(m) => Error::Invalid(m),
        ledger::LedgerError::Internal(m) => Error::Internal(m),
    }
}

/// What `order` is about, for people: its fault and where.
fn describe(order: &WorkOrder) -> String {
    format!(
        "{} at {}",
        alarms::describe(&order.alarm_type),
        order.place.as_deref().unwrap_or(&order.originator)
    )
}

/// When `order` is due, in the community's local time.
pub fn due_by(config: &Config, order: &WorkOrder) -> String {
    calendar::date_time(order.deadline, config.utc_offset_minutes)
}

/// A deadline came: an order still unresolved is escalated to the supervisor, once.
pub fn deadline_passed(config: &Config, id: &str) -> Result<(), Error> {
    let mut order = match get(id) {
        Ok(order) => order,
        Err(Error::NotFound(_)) => return Ok(()),
        Err(other) => return Err(other),
    };
    let now = timer::now();
    if !order.due_for_escalation(now) {
        return Ok(());
    }
    let waiting = order.pending().map_or("close", Step::name);
    notices::Notice {
        topic: "work-order-overdue",
        severity: order.severity,
        title: format!("Work order {} is overdue", order.id),
        body: format!(
            "{}: due by {}, still waiting for `{waiting}`.",
            describe(&order),
            due_by(config, &order)
        ),
        data: json!({
            "work_order": order.id,
            "waiting_for": waiting,
            "deadline": order.deadline,
            "alarm_type": order.alarm_type,
            "originator": order.originator,
            "place": order.place,
        }),
        key: format!("work-order-overdue/{}", order.id),
    }
    .send(notices::supervisor(config)?)?;
    order.escalated = true;
    append(
        &mut order,
        "escalated",
        PLUGIN,
        now,
        &format!("waiting for {waiting}"),
    )?;
    save(&order)
}

/// `advance`: takes the next step of a work order.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    id: String,
    step: String,
    /// For `dispatch`: the staff member it goes to.
    to: Option<String>,
    #[serde(default)]
    note: String,
}

pub fn advance(config: &Config, caller: &Caller, input: Advance) -> Result<Json, Error> {
    let step = Step::parse(&input.step).ok_or_else(|| {
        Error::Invalid(format!(
            "command input at `step`: unknown step {:?}: one of dispatch, accept, on-site, resolve, review, close",
            input.step
        ))
    })?;
    let mut order = get(&input.id)?;
    if let Some(to) = &input.to {
        if step != Step::Dispatch {
            return Err(Error::Invalid(
                "command input at `to`: only a dispatch goes to someone".into(),
            ));
        }
        let role = config.work_orders.role.community_role();
        if !linli_sdk::roles::holds(to, role, order.place.as_deref())? {
            return Err(Error::Invalid(format!(
                "command input at `to`: {to} is not staff for {}",
                order.place.as_deref().unwrap_or("the whole community")
            )));
        }
    }
    let capacities = callers::capacities(
        config,
        caller,
        order.place.as_deref(),
        order.assignee.as_deref(),
    )?;
    let by = caller.name();
    let now = timer::now();
    order
        .advance(step, capacities, by, input.to.as_deref(), now, &input.note)
        .map_err(|refused| match refused {
            StepError::OutOfOrder {
                expected: Some(next),
            } => Error::Invalid(format!(
                "command input at `step`: work order {} waits for `{}`, not `{}`",
                order.id,
                next.name(),
                step.name()
            )),
            StepError::OutOfOrder { expected: None } => Error::Invalid(format!(
                "command input at `id`: work order {} is closed",
                order.id
            )),
            StepError::NotPermitted => Error::Denied(format!(
                "{by} may not {} work order {}",
                step.name(),
                order.id
            )),
        })?;
    write_to_ledger(&order, order.history.len() - 1)?;
    match step {
        Step::Dispatch => {
            if let Some(to) = &order.assignee {
                dispatched(config, &order, to)?;
            }
        }
        Step::Resolve => {
            timer::cancel(&format!("{DEADLINE_TAG}{}", order.id))?;
        }
        Step::Close => alarms::closed(&order)?,
        _ => {}
    }
    save(&order)?;
    Ok(summary(&order, true))
}

/// Tells the staff member a work order was dispatched to.
fn dispatched(config: &Config, order: &WorkOrder, to: &str) -> Result<(), Error> {
    notices::Notice {
        topic: "work-order",
        severity: order.severity,
        title: format!("Work order {} is yours", order.id),
        body: format!(
            "{}: accept it and resolve it by {}.",
            describe(order),
            due_by(config, order)
        ),
        data: json!({"work_order": order.id, "deadline": order.deadline, "place": order.place}),
        key: format!("work-order/{}/dispatch/{}", order.id, order.history.len()),
    }
    .send(vec![audience::person(to)])?;
    Ok(())
}

/// Resolves an order at once for an alarm found false.
pub fn resolve_as_false(id: &str, by: &str, reason: &str) -> Result<WorkOrder, Error> {
    let mut order = get(id)?;
    let now = timer::now();
    append(&mut order, "marked-false", by, now, reason)?;
    if order.is_unresolved() {
        order.resolve_now(by, now, &format!("false alarm: {reason}"));
        write_to_ledger(&order, order.history.len() - 1)?;
        timer::cancel(&format!("{DEADLINE_TAG}{}", order.id))?;
    }
    save(&order)?;
    Ok(order)
}

/// `work-orders`: the open ones (or all), newest first.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    #[serde(default = "yes")]
    open: bool,
    #[serde(default = "fifty")]
    limit: u32,
}

fn yes() -> bool {
    true
}

fn fifty() -> u32 {
    50
}

pub fn list(input: Listing) -> Result<Json, Error> {
    if !(1..=500).contains(&input.limit) {
        return Err(Error::Invalid(
            "command input at `limit`: must be 1-500".into(),
        ));
    }
    let prefix = if input.open {
        OPEN_PREFIX
    } else {
        ORDER_PREFIX
    };
    // Ids are numbered with leading zeros: newest first is the keys backwards.
    let keys = state::keys(prefix)?;
    let orders = keys
        .iter()
        .rev()
        .take(input.limit as usize)
        .map(|k| get(&k[prefix.len()..]).map(|order| summary(&order, false)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({ "work_orders": orders }))
}

/// `work-order`: one order with its history.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct One {
    id: String,
}

pub fn one(input: One) -> Result<Json, Error> {
    Ok(summary(&get(&input.id)?, true))
}

fn summary(order: &WorkOrder, with_history: bool) -> Json {
    let mut out = json!({
        "id": order.id,
        "alarms": order.alarms,
        "alarm_type": order.alarm_type,
        "originator": order.originator,
        "place": order.place,
        "severity": order.severity.name(),
        "opened_at": order.opened_at,
        "deadline": order.deadline,
        "step": order.step.name(),
        "waiting_for": order.pending().map(Step::name),
        "assignee": order.assignee,
        "escalated": order.escalated,
    });
    if with_history {
        out["history"] = json!(order.history);
    }
    out
}
