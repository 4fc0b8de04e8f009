//! The community's monthly figures for its admins, computed from the
//! requests: each figure counts in the local month its moment fell in.
//!
//! - hours served: confirmed services, by the month of confirmation;
//! - active volunteers: distinct volunteers with a confirmed service that month;
//! - unmet requests: requests that expired with nobody accepting, by the month they expired;
//! - average minutes to accept: from filing to acceptance, by the month of acceptance.

use std::collections::{BTreeMap, BTreeSet};

use linli_sdk::calendar::{month, MINUTE_MS};
use serde::Serialize;

use crate::request::{Request, Status};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct MonthReport {
    pub hours_served: f64,
    pub services: u32,
    pub active_volunteers: u32,
    pub unmet_requests: u32,
    /// `None` when nothing was accepted that month.
    pub average_minutes_to_accept: Option<f64>,
}

#[derive(Default)]
struct Tally {
    minutes_served: i64,
    services: u32,
    volunteers: BTreeSet<String>,
    unmet: u32,
    accepted: u32,
    minutes_to_accept: f64,
}

fn tally(tallies: &mut BTreeMap<String, Tally>, at: i64, offset_minutes: i32) -> &mut Tally {
    tallies.entry(month(at, offset_minutes)).or_default()
}

/// Figures per month (`YYYY-MM`, local), oldest first.
pub fn monthly(requests: &[Request], offset_minutes: i32) -> BTreeMap<String, MonthReport> {
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for request in requests {
        if let (Status::Confirmed, Some(at)) = (request.status, request.confirmed_at) {
            let t = tally(&mut tallies, at, offset_minutes);
            t.minutes_served += request.served_minutes.unwrap_or(0);
            t.services += 1;
            t.volunteers.extend(request.volunteer.clone());
        }
        if let (Status::Expired, Some(at)) = (request.status, request.closed_at) {
            tally(&mut tallies, at, offset_minutes).unmet += 1;
        }
        if let Some(at) = request.accepted_at {
            let t = tally(&mut tallies, at, offset_minutes);
            t.accepted += 1;
            t.minutes_to_accept += (at - request.created_at) as f64 / MINUTE_MS as f64;
        }
    }
    tallies
        .into_iter()
        .map(|(month, t)| {
            let report = MonthReport {
                hours_served: t.minutes_served as f64 / 60.0,
                services: t.services,
                active_volunteers: t.volunteers.len() as u32,
                unmet_requests: t.unmet,
                average_minutes_to_accept: (t.accepted > 0)
                    .then(|| t.minutes_to_accept / f64::from(t.accepted)),
            };
            (month, report)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Action, Actor, Offer};

    /// 2026-01-01T00:00:00Z.
    const JANUARY: i64 = 1_767_225_600_000;
    const DAY: i64 = 86_400_000;

    fn request(id: &str, volunteer: &str, created_at: i64) -> Request {
        Request {
            id: id.into(),
            requester: "elder".into(),
            filed_by: "elder".into(),
            need: "shopping".into(),
            start: created_at,
            end: created_at + DAY,
            minutes: 90,
            created_at,
            offers: vec![Offer {
                person: volunteer.into(),
                round: 0,
                at: created_at,
            }],
            ..Request::default()
        }
    }

    fn served(
        id: &str,
        volunteer: &str,
        created_at: i64,
        minutes_to_accept: i64,
        served: i64,
    ) -> Request {
        let mut r = request(id, volunteer, created_at);
        let helper = Actor {
            person: Some(volunteer.into()),
            for_requester: false,
        };
        let elder = Actor {
            person: Some("elder".into()),
            for_requester: true,
        };
        let accepted = created_at + minutes_to_accept * MINUTE_MS;
        r.apply(Action::Accept, &helper, accepted).unwrap();
        r.apply(Action::Complete(Some(served)), &helper, accepted)
            .unwrap();
        r.apply(Action::Confirm(5), &elder, accepted).unwrap();
        r
    }

    #[test]
    fn hours_volunteers_unmet_and_time_to_accept_per_month() {
        let mut unmet = request("r3", "c", JANUARY + DAY);
        unmet
            .apply(
                Action::Expire,
                &Actor {
                    person: None,
                    for_requester: true,
                },
                JANUARY + 2 * DAY,
            )
            .unwrap();
        let requests = [
            served("r1", "a", JANUARY, 10, 90),
            served("r2", "a", JANUARY + 3 * DAY, 20, 30),
            unmet,
            served("r4", "b", JANUARY + 40 * DAY, 4, 60),
            request("r5", "c", JANUARY + 41 * DAY),
        ];
        let months = monthly(&requests, 0);
        assert_eq!(
            months["2026-01"],
            MonthReport {
                hours_served: 2.0,
                services: 2,
                active_volunteers: 1,
                unmet_requests: 1,
                average_minutes_to_accept: Some(15.0),
            }
        );
        assert_eq!(months["2026-02"].hours_served, 1.0);
        assert_eq!(months["2026-02"].average_minutes_to_accept, Some(4.0));
        assert_eq!(months.len(), 2, "an open request counts nowhere yet");
    }
}
