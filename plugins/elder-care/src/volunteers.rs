//! The members who could help with a piece of work near someone's home,
//! ranked by [`matching::rank`]: the time bank asks them in rounds, a
//! safety alarm calls the first of them.

use std::collections::BTreeSet;

use linli_sdk::Error;

use crate::availability;
use crate::config::Config;
use crate::geo::distance_m;
use crate::matching::{self, Candidate};
use crate::request::Status;
use crate::{members, people, timebank};

/// What needs doing, for whom, and when.
pub struct Work<'a> {
    /// Whose home the helper goes to.
    pub near: &'a str,
    /// The skill it takes; `None` for anyone who helps at all.
    pub need: Option<&'a str>,
    /// Some time in `[start, end)`, UTC ms, for `minutes`.
    pub start: i64,
    pub end: i64,
    pub minutes: i64,
}

/// Eligible members for `work`, best first, leaving out `exclude`.
pub fn ranked(config: &Config, work: &Work, exclude: &[String]) -> Result<Vec<Candidate>, Error> {
    let origin = people::home(&people::person(work.near)?)?;
    let busy: BTreeSet<String> = timebank::live_requests()?
        .into_iter()
        .filter(|r| matches!(r.status, Status::Accepted | Status::Started))
        .filter(|r| r.overlaps(work.start, work.end))
        .filter_map(|r| r.volunteer)
        .collect();
    let mut candidates = Vec::new();
    for member in members::all()? {
        if member.person == work.near || exclude.contains(&member.person) {
            continue;
        }
        // Someone removed from the map since they joined is asked no more.
        let person = match people::person(&member.person) {
            Ok(person) => person,
            Err(Error::NotFound(_)) => continue,
            Err(other) => return Err(other),
        };
        let skilled = match work.need {
            Some(need) => member.has_skill(&person, need),
            None => member.helps(&person),
        };
        let home = people::home(&person)?;
        candidates.push(Candidate {
            busy: busy.contains(&member.person),
            fit: availability::fit(
                &member.availability,
                work.start,
                work.end,
                work.minutes,
                config.utc_offset_minutes,
            ),
            distance_m: origin.zip(home).map(|(a, b)| distance_m(&a, &b)),
            skilled,
            person: member.person,
        });
    }
    Ok(matching::rank(candidates))
}
