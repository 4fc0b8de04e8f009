//! `sensor`: devices, their readings, and the reading kinds a plugin may see.
//!
//! The grant's scope is a list of reading kinds (`"*"` for all): they decide
//! both which readings the installation receives as events and which it may
//! query. Devices are registered per community over the API ([`crate::api::devices`]);
//! readings arrive through `ingest` and are queried here.

pub mod catalogue;
pub mod visibility;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::effects::Effects;
use super::map::MapService;
use super::privacy;
use super::{InstallationContext, NameSet, Scope};
use crate::clock::Millis;
use crate::db::Db;
use crate::ids::CommunityId;
use crate::wit::linli::platform::sensor::{self as wit, Host};
use crate::wit::linli::platform::types::Error;

/// Most readings one `history` call returns.
pub const MAX_HISTORY: u32 = 1000;

/// The `sensor` scope: reading kinds, or `"*"` for every kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SensorScope {
    pub kinds: Vec<String>,
}

impl SensorScope {
    /// Whether readings of `kind` are within this scope.
    pub fn allows(&self, kind: &str) -> bool {
        NameSet(&self.kinds).allows(kind)
    }

    /// Checks every kind against the catalogue.
    pub fn check_kinds(&self) -> Result<(), String> {
        match self
            .kinds
            .iter()
            .find(|k| *k != "*" && catalogue::kind(k).is_none())
        {
            Some(unknown) => Err(format!(
                "unknown reading kind {unknown:?}{}; the kinds are listed at GET /api/v1/reading-kinds",
                crate::validation::did_you_mean(unknown, catalogue::CATALOGUE.iter().map(|k| k.name))
            )),
            None => Ok(()),
        }
    }
}

impl Scope for SensorScope {
    fn within(&self, requested: &Self) -> Result<(), String> {
        self.check_kinds()?;
        NameSet(&self.kinds).within(&NameSet(&requested.kinds), "kind")
    }
}

/// A reading's value, typed by its kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ReadingValue {
    Flag(bool),
    Number(f64),
    Text(String),
}

/// A reading as stored in the event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reading {
    /// Position in the community's event log.
    pub seq: i64,
    pub device: String,
    pub kind: String,
    pub value: ReadingValue,
    pub unit: Option<String>,
    pub at: Millis,
    pub location: Option<String>,
    /// When the host made it durable.
    pub received_at: Millis,
    /// The person the device belongs to (a wearable's wearer): whose
    /// consent decides whether plugins receive it. Not shown in the API,
    /// which names the device.
    #[serde(skip)]
    pub owner: Option<String>,
}

/// Columns that [`Reading::from_row`] reads, for readings joined with their device.
const READING_COLUMNS: &str =
    "r.seq, r.device_id, r.kind, r.num, r.flag, r.txt, r.unit, r.at, r.received_at, \
     d.location, d.person_id AS owner";

impl Reading {
    /// Reads a row selected with [`READING_COLUMNS`].
    pub fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        let value = if let Some(n) = row.try_get::<Option<f64>, _>("num")? {
            ReadingValue::Number(n)
        } else if let Some(f) = row.try_get::<Option<i64>, _>("flag")? {
            ReadingValue::Flag(f != 0)
        } else {
            ReadingValue::Text(row.try_get::<Option<String>, _>("txt")?.unwrap_or_default())
        };
        Ok(Self {
            seq: row.try_get("seq")?,
            device: row.try_get("device_id")?,
            kind: row.try_get("kind")?,
            value,
            unit: row.try_get("unit")?,
            at: row.try_get("at")?,
            location: row.try_get("location")?,
            received_at: row.try_get("received_at")?,
            owner: row.try_get("owner")?,
        })
    }

    /// The reading as the plugin sees it.
    pub fn to_wit(&self) -> wit::Reading {
        wit::Reading {
            device: self.device.clone(),
            kind: self.kind.clone(),
            value: match &self.value {
                ReadingValue::Number(n) => wit::Value::Number(*n),
                ReadingValue::Flag(f) => wit::Value::Flag(*f),
                ReadingValue::Text(t) => wit::Value::Text(t.clone()),
            },
            unit: self.unit.clone(),
            at: self.at,
            location: self.location.clone(),
        }
    }
}

/// Per-instance `sensor` state.
pub struct SensorHost {
    ctx: Arc<InstallationContext>,
    /// Who a reading is about and what they consent to, for the consent filter.
    maps: Arc<MapService>,
}

impl SensorHost {
    pub fn new(ctx: Arc<InstallationContext>, maps: Arc<MapService>) -> Self {
        Self { ctx, maps }
    }

    fn scope(&self) -> Result<&SensorScope, Error> {
        self.ctx.grants.sensor.as_ref().ok_or_else(|| {
            self.ctx
                .deny("sensor", "sensor was not granted to this installation")
        })
    }

    fn check_kind(&self, kind: &str) -> Result<(), Error> {
        if self.scope()?.allows(kind) {
            Ok(())
        } else {
            Err(self.ctx.deny(
                "sensor",
                format!("reading kind {kind:?} was not granted to this installation"),
            ))
        }
    }

    async fn readings(
        &self,
        device: &str,
        kind: &str,
        from: Millis,
        to: Millis,
        limit: u32,
        newest_first: bool,
    ) -> Result<Vec<wit::Reading>, Error> {
        let span = History {
            device,
            kind: Some(kind),
            from,
            to,
            limit,
            newest_first,
        };
        let readings = history(&self.ctx.db, &self.ctx.community, &span)
            .await
            .map_err(|e| self.ctx.internal("sensor", e))?;
        // A query answers what delivery would: readings the people they are
        // about have not consented to are not there for the plugin.
        let readings = privacy::consented(&self.maps, &self.ctx.community, readings)
            .await
            .map_err(|e| self.ctx.internal("sensor", e))?;
        Ok(readings.iter().map(Reading::to_wit).collect())
    }
}

/// Sensor calls only read: nothing to commit.
impl Effects for SensorHost {}

impl Host for SensorHost {
    async fn latest(
        &mut self,
        device: String,
        kind: String,
    ) -> Result<Option<wit::Reading>, Error> {
        self.check_kind(&kind)?;
        Ok(self
            .readings(&device, &kind, Millis::MIN, Millis::MAX, 1, true)
            .await?
            .pop())
    }

    async fn history(
        &mut self,
        device: String,
        kind: String,
        start: Millis,
        end: Millis,
        limit: u32,
    ) -> Result<Vec<wit::Reading>, Error> {
        self.check_kind(&kind)?;
        if start >= end {
            return Err(Error::Invalid("start must be before end".to_owned()));
        }
        self.readings(&device, &kind, start, end, limit, false)
            .await
    }

    async fn devices(&mut self, kind: Option<String>) -> Result<Vec<wit::Device>, Error> {
        match &kind {
            Some(kind) => self.check_kind(kind)?,
            None => {
                self.scope()?;
            }
        }
        let scope = self.scope()?.clone();
        let devices = crate::devices::list(&self.ctx.db, &self.ctx.community)
            .await
            .map_err(|e| self.ctx.internal("sensor", e))?;
        Ok(devices
            .into_iter()
            .filter(|d| match &kind {
                Some(kind) => d.reading_kinds.contains(kind),
                None => d.reading_kinds.iter().any(|k| scope.allows(k)),
            })
            .map(|d| wit::Device {
                id: d.id.to_string(),
                kind: d.kind,
                name: d.name,
                reading_kinds: d.reading_kinds,
                location: d.location,
            })
            .collect())
    }
}

/// Which of a device's readings to read.
pub struct History<'a> {
    pub device: &'a str,
    /// One kind, or every kind.
    pub kind: Option<&'a str>,
    /// Measured in `[from, to)`.
    pub from: Millis,
    pub to: Millis,
    /// At most this many (and never more than [`MAX_HISTORY`]).
    pub limit: u32,
    pub newest_first: bool,
}

/// A registered device's readings in measurement order: what plugins and
/// people read as a device's history.
pub async fn history(
    db: &Db,
    community: &CommunityId,
    span: &History<'_>,
) -> Result<Vec<Reading>, sqlx::Error> {
    let order = if span.newest_first { "DESC" } else { "ASC" };
    // Spelled out per case, so that one kind is an index lookup.
    let kind = |table: &str| match span.kind {
        Some(_) => format!("{table}.kind = $3"),
        None => "$3 IS NULL".to_owned(),
    };
    // The history index up to its cursor, then the log after it, which the
    // log writer has not indexed yet (`ingest::history`); one statement,
    // so both are read from one snapshot.
    let rows = sqlx::query(&format!(
        "SELECT {READING_COLUMNS} FROM ( \
           SELECT seq FROM (SELECT h.seq FROM reading_history h \
             WHERE h.community_id = $1 AND h.device_id = $2 AND {indexed} AND h.at >= $4 AND h.at < $5 \
             ORDER BY h.at {order}, h.seq {order} LIMIT $6) past \
           UNION ALL \
           SELECT t.seq FROM readings t \
             WHERE t.community_id = $1 AND t.seq > (SELECT seq FROM history_cursor WHERE id = 1) \
             AND t.device_id = $2 AND {recent} AND t.at >= $4 AND t.at < $5 \
         ) s \
         JOIN readings r ON r.seq = s.seq \
         JOIN devices d ON d.community_id = r.community_id AND d.id = r.device_id \
         ORDER BY r.at {order}, r.seq {order} LIMIT $6",
        indexed = kind("h"),
        recent = kind("t"),
    ))
    .bind(community.as_str())
    .bind(span.device)
    .bind(span.kind)
    .bind(span.from)
    .bind(span.to)
    .bind(i64::from(span.limit.min(MAX_HISTORY)))
    .fetch_all(db)
    .await?;
    rows.iter().map(Reading::from_row).collect()
}

/// The sequence numbers of device `$2`'s readings in community `$1`: those
/// in the history index, and those after its cursor the log writer has not
/// indexed yet (`ingest::history`).
pub const DEVICE_SEQS: &str = "SELECT h.seq FROM reading_history h \
     WHERE h.community_id = $1 AND h.device_id = $2 \
     UNION ALL SELECT t.seq FROM readings t WHERE t.community_id = $1 \
     AND t.seq > (SELECT seq FROM history_cursor WHERE id = 1) AND t.device_id = $2";

/// Every reading of one device still in the log, in log order: what a
/// person's export holds of their own devices.
pub async fn of_device(
    db: &Db,
    community: &CommunityId,
    device: &str,
) -> Result<Vec<Reading>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {READING_COLUMNS} FROM ({DEVICE_SEQS}) s \
         JOIN readings r ON r.seq = s.seq \
         JOIN devices d ON d.community_id = r.community_id AND d.id = r.device_id \
         ORDER BY r.seq"
    ))
    .bind(community.as_str())
    .bind(device)
    .fetch_all(db)
    .await?;
    rows.iter().map(Reading::from_row).collect()
}

/// The community's readings after `cursor` in log order, at most `limit`:
/// what an installation handles next.
pub async fn readings_after(
    db: &Db,
    community: &CommunityId,
    cursor: i64,
    limit: i64,
) -> Result<Vec<Reading>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {READING_COLUMNS} FROM readings r \
         LEFT JOIN devices d ON d.community_id = r.community_id AND d.id = r.device_id \
         WHERE r.community_id = $1 AND r.seq > $2 ORDER BY r.seq LIMIT $3"
    ))
    .bind(community.as_str())
    .bind(cursor)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(Reading::from_row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(kinds: &[&str]) -> SensorScope {
        SensorScope {
            kinds: kinds.iter().map(|k| k.to_string()).collect(),
        }
    }

    #[test]
    fn grants_stay_within_the_request() {
        assert!(scope(&["temperature"]).within(&scope(&["*"])).is_ok());
        assert!(scope(&["temperature"])
            .within(&scope(&["temperature", "smoke"]))
            .is_ok());
        assert!(scope(&["*"]).within(&scope(&["temperature"])).is_err());
        let err = scope(&["smoke"])
            .within(&scope(&["temperature"]))
            .unwrap_err();
        assert!(err.contains("smoke"), "{err}");
        assert!(scope(&["nonsense"]).within(&scope(&["*"])).is_err());
    }
}
