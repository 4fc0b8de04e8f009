//! What a community's records show a test: its notifications with their
//! deliveries, its ledger entries and its alarms, read through the API as
//! an admin reads them.

use serde_json::Value;

use crate::Community;

impl Community {
    /// The community's notifications of `topic`, newest first (at most 100).
    pub async fn notifications(&self, topic: &str) -> Vec<Value> {
        self.admin
            .get(&format!(
                "/api/v1/communities/{}/notifications?topic={topic}&limit=100",
                self.id
            ))
            .await
            .expect(200)["notifications"]
            .as_array()
            .expect("a list")
            .clone()
    }

    /// One notification with its deliveries.
    pub async fn notification(&self, id: &str) -> Value {
        self.admin
            .get(&format!(
                "/api/v1/communities/{}/notifications/{id}",
                self.id
            ))
            .await
            .expect(200)
    }

    /// The community's ledger entries as an admin reads them, oldest first
    /// (at most 1,000).
    pub async fn ledger_entries(&self) -> Vec<Value> {
        self.admin
            .get(&format!(
                "/api/v1/communities/{}/ledger/entries?limit=1000",
                self.id
            ))
            .await
            .expect(200)
            .as_array()
            .expect("a list")
            .clone()
    }

    /// Alarms of `alarm_type` in `state` (`active` or `cleared`).
    pub async fn alarms(&self, alarm_type: &str, state: &str) -> Vec<Value> {
        self.admin
            .get(&format!(
                "/api/v1/communities/{}/alarms?type={alarm_type}&state={state}",
                self.id
            ))
            .await
            .expect(200)
            .as_array()
            .expect("a list")
            .clone()
    }
}

/// The people a notification was delivered to (or is due to be), sorted.
pub fn recipients(notification: &Value) -> Vec<String> {
    let mut people: Vec<String> = notification["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| d["person"].as_str().expect("a person").to_owned())
        .collect();
    people.sort();
    people.dedup();
    people
}
