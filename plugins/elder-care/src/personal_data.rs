//! What the scene keeps about one person, and forgetting them when the
//! community erases them at their request (`person-erased`).
//!
//! Records about one person are keyed with their id as the last segment —
//! `member/`, `care/`, `heart/`, `activity/` and
//! `request-key/<key>/<person>` — so the host puts them in the person's
//! "download my data" archive and deletes them before the event arrives.
//! The scene forgets the rest itself, because it is keyed by something a
//! reading, an alarm or a request names: wearables (`wearable/<device>`)
//! and their meter counts, alerts (`alert/<alarm-id>`, whose escalation
//! must be stopped, so the record is needed to find the message), and the
//! time bank's requests. Their ledger account and entries stay: they name
//! only the person id, which maps to no one once they are erased.

use linli_sdk::{parse_input, personal, timer, Caller, Error};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};

use crate::config::Config;
use crate::notices::{self, UPDATE};
use crate::request::Forgotten;
use crate::timebank::{self, EXPIRE, WIDEN};
use crate::{access, care, safety, welfare};

/// The community erased `person`: everything the host did not delete goes.
pub fn forget(config: &Config, person: &str) -> Result<(), Error> {
    safety::forget(person)?;
    let devices = care::forget(person)?;
    welfare::forget(person, &devices)?;
    forget_requests(config, person)
}

/// Their own live requests are called off and whoever was counting on them
/// told (with nothing about who asked); a service they were on is offered
/// to others; the requests that outlive them no longer name them.
fn forget_requests(config: &Config, person: &str) -> Result<(), Error> {
    let now = timer::now();
    for mut request in timebank::all_requests()? {
        let id = request.id.clone();
        match request.forget(person, now) {
            Forgotten::Untouched => continue,
            Forgotten::Scrubbed => {}
            Forgotten::Withdrawn(counting) => {
                timer::cancel(&format!("{WIDEN}{id}"))?;
                timer::cancel(&format!("{EXPIRE}{id}"))?;
                for helper in counting {
                    notices::tell(
                        &helper,
                        UPDATE,
                        "A request was withdrawn",
                        &format!("Request {id} was withdrawn: nobody needs to come."),
                        &json!({"request": id, "status": "cancelled"}),
                        &format!("withdrawn/{id}/{helper}"),
                    )?;
                }
            }
            Forgotten::HelperGone => {
                notices::tell(
                    &request.requester,
                    UPDATE,
                    "Your helper is not coming",
                    &format!(
                        "Your helper for {} can no longer come; others are being asked.",
                        request.need
                    ),
                    &json!({"request": id, "status": "open"}),
                    &format!("helper-gone/{id}"),
                )?;
                timebank::offer(config, &mut request, now)?;
            }
        }
        timebank::save(&request)?;
    }
    Ok(())
}

/// `personal-data`: `{person}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonOnly {
    person: String,
}

/// `personal-data`: what the scene keeps about a person, for staff, the
/// person and their family: the records keyed by them (what the host
/// exports), the devices registered to them, their alerts and the requests
/// that name them. After erasure every part of it is empty.
pub fn show(caller: &Caller, input: Json) -> Result<Json, Error> {
    let PersonOnly { person } = parse_input(input)?;
    if !access::may_act_for(caller, &person)? {
        return Err(Error::Denied(format!(
            "only staff, {person} and their family may see what is kept about {person}"
        )));
    }
    let records: Map<String, Json> = personal::records_of(&person)?.into_iter().collect();
    let requests: Vec<String> = timebank::all_requests()?
        .into_iter()
        .filter(|r| r.names(&person))
        .map(|r| r.id)
        .collect();
    Ok(json!({
        "person": person,
        "records": records,
        "wearables": care::devices_of(&person)?,
        "alerts": safety::alerts_of(&person)?,
        "requests": requests,
    }))
}
