//! What each person of the map consents to now, by purpose: the map holds
//! it beside the people because it is read where people are — the consent
//! filter on plugins' readings (`caps::privacy`), a plugin's `person`
//! record — and changes as a person does: recorded in the store first, in
//! memory once committed. The records themselves, with who gave each and
//! the text shown, are `caps::privacy::consent`'s.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::ids::{CommunityId, PersonId};
use crate::wit::linli::platform::map as wit;

/// A purpose of processing that needs a person's separate consent.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// Wearables' heart rate, SpO2, steps and fall detection.
    HealthMonitoring,
    /// Door, motion, occupancy and water-meter readings at home, for welfare checks.
    PresenceChecks,
    /// Telling volunteers and helpers where the person lives.
    LocationSharing,
}

impl Purpose {
    pub const ALL: [Purpose; 3] = [
        Purpose::HealthMonitoring,
        Purpose::PresenceChecks,
        Purpose::LocationSharing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::HealthMonitoring => "health-monitoring",
            Purpose::PresenceChecks => "presence-checks",
            Purpose::LocationSharing => "location-sharing",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    pub fn to_wit(self) -> wit::Purpose {
        match self {
            Purpose::HealthMonitoring => wit::Purpose::HealthMonitoring,
            Purpose::PresenceChecks => wit::Purpose::PresenceChecks,
            Purpose::LocationSharing => wit::Purpose::LocationSharing,
        }
    }
}

/// What each person consents to now.
#[derive(Debug, Default, Clone)]
pub struct ConsentBook {
    given: HashMap<PersonId, BTreeSet<Purpose>>,
}

impl ConsentBook {
    /// Whether `person` consents to `purpose` now.
    pub fn consents(&self, person: &PersonId, purpose: Purpose) -> bool {
        self.given.get(person).is_some_and(|p| p.contains(&purpose))
    }

    /// The purposes `person` consents to now, in order.
    pub fn purposes(&self, person: &PersonId) -> Vec<Purpose> {
        self.given
            .get(person)
            .map(|p| p.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Applies a record that has committed.
    pub fn apply(&mut self, person: &PersonId, purpose: Purpose, given: bool) {
        let purposes = self.given.entry(person.clone()).or_default();
        if given {
            purposes.insert(purpose);
        } else {
            purposes.remove(&purpose);
        }
    }

    /// Forgets an erased person.
    pub fn forget(&mut self, person: &PersonId) {
        self.given.remove(person);
    }
}

/// The consents in force in a community: the latest record of each
/// (person, purpose).
pub async fn load(
    conn: &mut sqlx::AnyConnection,
    community: &CommunityId,
) -> Result<ConsentBook, sqlx::Error> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT person_id, purpose, given FROM consent_records WHERE community_id = $1 ORDER BY seq",
    )
    .bind(community.as_str())
    .fetch_all(conn)
    .await?;
    let mut book = ConsentBook::default();
    for (person, purpose, given) in rows {
        if let (Ok(person), Some(purpose)) = (person.parse::<PersonId>(), Purpose::parse(&purpose))
        {
            book.apply(&person, purpose, given != 0);
        }
    }
    Ok(book)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_record_decides() {
        let p: PersonId = "p1".parse().unwrap();
        let mut book = ConsentBook::default();
        assert!(!book.consents(&p, Purpose::HealthMonitoring));
        book.apply(&p, Purpose::HealthMonitoring, true);
        book.apply(&p, Purpose::PresenceChecks, true);
        book.apply(&p, Purpose::PresenceChecks, false);
        assert!(book.consents(&p, Purpose::HealthMonitoring));
        assert!(!book.consents(&p, Purpose::PresenceChecks));
        assert_eq!(book.purposes(&p), vec![Purpose::HealthMonitoring]);
        book.forget(&p);
        assert!(book.purposes(&p).is_empty());
    }
}
