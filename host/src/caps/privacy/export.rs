//! A person's archive of what the host holds about them (PIPL art. 45):
//! their map record with contact details and links, their consents, their
//! own devices and those devices' readings, their inbox and notification
//! preferences, the ledger accounts and entries that name them, the plugin
//! state keys that are theirs (last `/` segment their id; never `sealed/`
//! ones), and the log of who read their data. One JSON document, built
//! within the request: a wearable reporting every minute for the default
//! 30 days of retention is some 45,000 readings, a few megabytes.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use super::access::{self, AccessEntry};
use super::consent::{self, ConsentRecord};
use crate::caps::ledger::log::LedgerError;
use crate::caps::ledger::log::{self as ledger_log, AccountRow, StoredEntry};
use crate::caps::map::geojson::person_feature;
use crate::caps::map::MapService;
use crate::caps::sensor::{self, Reading};
use crate::clock::Millis;
use crate::db::Db;
use crate::devices::{self, Device};
use crate::ids::{CommunityId, PersonId};

/// The archive's format, for readers that check it.
pub const FORMAT: &str = "linli-personal-data/1";

/// Everything the host holds about one person.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PersonalData {
    pub format: &'static str,
    pub community: String,
    pub person: String,
    pub generated_at: Millis,
    /// Their map feature: name, birth year, links, roles, skills, contact details.
    #[schema(value_type = Object)]
    pub map_record: Value,
    pub consents: Vec<ConsentRecord>,
    pub devices: Vec<Device>,
    /// Every reading of their own devices still kept, by device, in log order.
    pub readings: Vec<Reading>,
    pub inbox: Vec<InboxItem>,
    #[schema(value_type = Option<Object>)]
    pub notification_preferences: Option<Value>,
    pub ledger_accounts: Vec<AccountRow>,
    /// Entries whose accounts or record kind name them.
    pub ledger_entries: Vec<StoredEntry>,
    pub plugin_state: Vec<StateItem>,
    pub access_log: Vec<AccessEntry>,
}

/// A message they received.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InboxItem {
    pub message: String,
    pub plugin: String,
    pub topic: String,
    pub severity: String,
    pub title: String,
    pub body: String,
    pub channel: String,
    pub sent_at: Millis,
    pub read_at: Option<Millis>,
}

/// A plugin state key of theirs; the value as JSON when it is JSON, else hex.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StateItem {
    pub plugin: String,
    pub key: String,
    #[schema(value_type = Object)]
    pub value: Value,
}

/// Why an archive could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no person {0} on the community map")]
    NotFound(PersonId),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Builds `person`'s archive.
pub async fn collect(
    db: &Db,
    maps: &MapService,
    community: &CommunityId,
    person: &PersonId,
    now: Millis,
) -> Result<PersonalData, ExportError> {
    let map_record = {
        let map = maps.get(community).await?;
        let map = map.read().await;
        let found = map
            .person(person)
            .ok_or_else(|| ExportError::NotFound(person.clone()))?;
        serde_json::to_value(person_feature(found)).map_err(|e| sqlx::Error::Decode(e.into()))?
    };
    let devices: Vec<Device> = devices::list(db, community)
        .await?
        .into_iter()
        .filter(|d| d.person.as_ref() == Some(person))
        .collect();
    let mut readings = Vec::new();
    for device in &devices {
        readings.extend(sensor::of_device(db, community, device.id.as_str()).await?);
    }
    let (ledger_accounts, ledger_entries) = ledger_of(db, community, person).await?;
    Ok(PersonalData {
        format: FORMAT,
        community: community.to_string(),
        person: person.to_string(),
        generated_at: now,
        map_record,
        consents: consent::history(db, community, person).await?,
        devices,
        readings,
        inbox: inbox(db, community, person).await?,
        notification_preferences: preferences(db, community, person).await?,
        ledger_accounts,
        ledger_entries,
        plugin_state: plugin_state(db, community, person).await?,
        access_log: access::about(db, community, person).await?,
    })
}

/// Whether ledger name `name` (an account or record kind) is `person`'s.
fn names_person(name: &str, person: &PersonId) -> bool {
    name.rsplit('/').next() == Some(person.as_str())
}

async fn ledger_of(
    db: &Db,
    community: &CommunityId,
    person: &PersonId,
) -> Result<(Vec<AccountRow>, Vec<StoredEntry>), ExportError> {
    let mut accounts = ledger_log::accounts(db, community).await?;
    accounts.retain(|a| names_person(&a.name, person));
    // Every entry naming them mentions their id in its body: the text
    // search narrows the scan, the names decide.
    let rows = sqlx::query(
        "SELECT idx FROM ledger_entries WHERE community_id = $1 AND body LIKE $2 ESCAPE '\\' ORDER BY idx",
    )
    .bind(community.as_str())
    .bind(super::containing(person.as_str()))
    .fetch_all(db)
    .await?;
    let mut entries = Vec::new();
    for row in rows {
        let index: i64 = row.try_get("idx")?;
        if let Some(entry) = ledger_log::entry(db, community, index as u64).await? {
            if crate::caps::ledger::entry_namespaces(&entry.body)
                .iter()
                .any(|name| names_person(name, person))
            {
                entries.push(entry);
            }
        }
    }
    Ok((accounts, entries))
}

async fn inbox(
    db: &Db,
    community: &CommunityId,
    person: &PersonId,
) -> Result<Vec<InboxItem>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT m.id, m.plugin_id, m.topic, m.severity, m.title, m.body, d.channel, d.created_at, d.read_at \
         FROM notify_deliveries d JOIN notify_messages m ON m.id = d.message_id \
         WHERE d.community_id = $1 AND d.person_id = $2 ORDER BY d.created_at, d.id",
    )
    .bind(community.as_str())
    .bind(person.as_str())
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(InboxItem {
                message: row.try_get("id")?,
                plugin: row.try_get("plugin_id")?,
                topic: row.try_get("topic")?,
                severity: row.try_get("severity")?,
                title: row.try_get("title")?,
                body: row.try_get("body")?,
                channel: row.try_get("channel")?,
                sent_at: row.try_get("created_at")?,
                read_at: row.try_get("read_at")?,
            })
        })
        .collect()
}

async fn preferences(
    db: &Db,
    community: &CommunityId,
    person: &PersonId,
) -> Result<Option<Value>, sqlx::Error> {
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT preferences FROM notify_preferences WHERE community_id = $1 AND person_id = $2",
    )
    .bind(community.as_str())
    .bind(person.as_str())
    .fetch_optional(db)
    .await?;
    Ok(stored.and_then(|s| serde_json::from_str(&s).ok()))
}

async fn plugin_state(
    db: &Db,
    community: &CommunityId,
    person: &PersonId,
) -> Result<Vec<StateItem>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT plugin_id, key, value FROM plugin_state WHERE community_id = $1 \
         AND (key = $2 OR SUBSTR(key, LENGTH(key) - LENGTH($3) + 1) = $3) ORDER BY plugin_id, key",
    )
    .bind(community.as_str())
    .bind(person.as_str())
    .bind(format!("/{person}"))
    .fetch_all(db)
    .await?;
    let mut items = Vec::new();
    for row in rows {
        let key: String = row.try_get("key")?;
        if key.starts_with(crate::caps::store::snapshot::SEALED) {
            continue;
        }
        let value: Vec<u8> = row.try_get("value")?;
        items.push(StateItem {
            plugin: row.try_get("plugin_id")?,
            key,
            value: serde_json::from_slice(&value)
                .unwrap_or_else(|_| Value::String(hex::encode(&value))),
        });
    }
    Ok(items)
}
