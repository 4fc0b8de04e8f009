//! Devices: the `devices` table and everything that reads or writes it
//! record by record — registration, lookup, a device's place in the map,
//! the devices a gateway token speaks for, a move behind another gateway,
//! retirement. Whatever changes which devices a token speaks for is
//! followed by `Ingest::devices_changed` once it has committed. The HTTP routes are
//! in `api/devices.rs`; ingest's group
//! commit moves `last_seen` in its own batched statement.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::ids::{CommunityId, DeviceId, PersonId};

/// A registered device.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Device {
    pub id: DeviceId,
    /// What the device is: smoke-detector, wearable, door-sensor, gateway, ...
    pub kind: String,
    pub name: String,
    /// The reading kinds it reports, from the host's catalogue.
    pub reading_kinds: Vec<String>,
    /// Where it is placed in the community map.
    pub location: Option<String>,
    /// The gateway device allowed to send readings on its behalf.
    pub gateway: Option<DeviceId>,
    /// The person the device belongs to (a wearable's wearer), a person of the map.
    #[schema(value_type = Option<String>)]
    pub person: Option<PersonId>,
    pub created_at: Millis,
    pub last_seen: Option<Millis>,
}

const DEVICE_COLUMNS: &str =
    "id, kind, name, reading_kinds, location, gateway, person_id, created_at, last_seen";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Device, sqlx::Error> {
    let decode = |e: String| sqlx::Error::Decode(e.into());
    let id: String = row.try_get("id")?;
    let gateway: Option<String> = row.try_get("gateway")?;
    let person: Option<String> = row.try_get("person_id")?;
    let kinds: String = row.try_get("reading_kinds")?;
    Ok(Device {
        id: id
            .parse()
            .map_err(|e: crate::ids::InvalidId| decode(e.to_string()))?,
        kind: row.try_get("kind")?,
        name: row.try_get("name")?,
        reading_kinds: serde_json::from_str(&kinds).map_err(|e| decode(e.to_string()))?,
        location: row.try_get("location")?,
        gateway: gateway
            .map(|g| g.parse())
            .transpose()
            .map_err(|e: crate::ids::InvalidId| decode(e.to_string()))?,
        person: person
            .map(|p| p.parse())
            .transpose()
            .map_err(|e: crate::ids::InvalidId| decode(e.to_string()))?,
        created_at: row.try_get("created_at")?,
        last_seen: row.try_get("last_seen")?,
    })
}

/// Every device of a community, by id.
pub async fn list(db: &Db, community: &CommunityId) -> Result<Vec<Device>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {DEVICE_COLUMNS} FROM devices WHERE community_id = $1 ORDER BY id"
    ))
    .bind(community.as_str())
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

/// A device's location: `None` when there is no such device, `Some(None)` when it has no location.
pub async fn location(
    conn: &mut sqlx::AnyConnection,
    community: &CommunityId,
    device: &str,
) -> Result<Option<Option<String>>, sqlx::Error> {
    sqlx::query_scalar("SELECT location FROM devices WHERE community_id = $1 AND id = $2")
        .bind(community.as_str())
        .bind(device)
        .fetch_optional(conn)
        .await
}

/// One device of a community, if registered.
pub async fn get<'e, E>(
    executor: E,
    community: &CommunityId,
    id: &DeviceId,
) -> Result<Option<Device>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(&format!(
        "SELECT {DEVICE_COLUMNS} FROM devices WHERE community_id = $1 AND id = $2"
    ))
    .bind(community.as_str())
    .bind(id.as_str())
    .fetch_optional(executor)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Stores a new device whose token is `token_id`.
pub async fn insert(
    tx: &mut Tx,
    community: &CommunityId,
    device: &Device,
    token_id: &str,
) -> Result<(), sqlx::Error> {
    let kinds =
        serde_json::to_string(&device.reading_kinds).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query(
        "INSERT INTO devices (community_id, id, kind, name, reading_kinds, location, gateway, person_id, token_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(community.as_str())
    .bind(device.id.as_str())
    .bind(&device.kind)
    .bind(&device.name)
    .bind(kinds)
    .bind(&device.location)
    .bind(device.gateway.as_ref().map(|g| g.as_str()))
    .bind(device.person.as_ref().map(|p| p.as_str()))
    .bind(token_id)
    .bind(device.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Sets the gateway that sends a device's readings (`None`: the device itself).
pub async fn set_gateway(
    tx: &mut Tx,
    community: &CommunityId,
    id: &DeviceId,
    gateway: Option<&DeviceId>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE devices SET gateway = $1 WHERE community_id = $2 AND id = $3")
        .bind(gateway.map(DeviceId::as_str))
        .bind(community.as_str())
        .bind(id.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Revokes a device's token and removes it; its readings stay in the log.
pub async fn retire(
    tx: &mut Tx,
    community: &CommunityId,
    id: &DeviceId,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tokens SET revoked_at = $1 WHERE id = (SELECT token_id FROM devices WHERE community_id = $2 AND id = $3)",
    )
    .bind(now)
    .bind(community.as_str())
    .bind(id.as_str())
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM devices WHERE community_id = $1 AND id = $2")
        .bind(community.as_str())
        .bind(id.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The devices a token of device `sender` may send readings for: itself and
/// the devices whose gateway it is, each with the reading kinds it reports.
pub async fn sent_for(
    db: &Db,
    community: &CommunityId,
    sender: &str,
) -> Result<Vec<(String, Vec<String>)>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, reading_kinds FROM devices WHERE community_id = $1 AND (id = $2 OR gateway = $2)",
    )
    .bind(community.as_str())
    .bind(sender)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(id, kinds)| {
            let kinds = serde_json::from_str(&kinds).map_err(|e| sqlx::Error::Decode(e.into()))?;
            Ok((id, kinds))
        })
        .collect()
}
