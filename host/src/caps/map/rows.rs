//! The map in the store: one row per feature (place or person) holding the
//! feature as GeoJSON, with the place's kind and parent as columns so that
//! SQL can walk the hierarchy (the alarm listing's `?building=` does).

use sqlx::AnyConnection;

use super::geojson::{parse_feature, person_feature, place_feature, MapFeature};
use crate::db::Tx;
use crate::ids::CommunityId;

/// Rows per multi-row insert, well under every backend's parameter limit.
const INSERT_CHUNK: usize = 200;

fn decode(message: String) -> sqlx::Error {
    sqlx::Error::Decode(message.into())
}

/// Every feature of a community's map.
pub async fn load(
    conn: &mut AnyConnection,
    community: &CommunityId,
) -> Result<Vec<MapFeature>, sqlx::Error> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT feature FROM map_features WHERE community_id = $1")
            .bind(community.as_str())
            .fetch_all(conn)
            .await?;
    rows.into_iter()
        .enumerate()
        .map(|(index, (feature,))| {
            let value = serde_json::from_str(&feature).map_err(|e| decode(e.to_string()))?;
            parse_feature(index, &value)
                .map_err(|errors| decode(format!("stored map feature is invalid: {errors:?}")))
        })
        .collect()
}

struct Row {
    id: String,
    kind: &'static str,
    parent: Option<String>,
    feature: String,
}

fn row(feature: &MapFeature) -> Row {
    let (kind, parent, geojson) = match feature {
        MapFeature::Place(p) => (
            p.kind.as_str(),
            p.parent.as_ref().map(|p| p.to_string()),
            place_feature(p),
        ),
        MapFeature::Person(p) => ("person", None, person_feature(p)),
    };
    Row {
        id: feature.id().to_owned(),
        kind,
        parent,
        feature: serde_json::to_string(&geojson).expect("features serialize"),
    }
}

/// Replaces the community's whole map with `features`.
pub async fn replace(
    tx: &mut Tx,
    community: &CommunityId,
    features: &[MapFeature],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM map_features WHERE community_id = $1")
        .bind(community.as_str())
        .execute(&mut **tx)
        .await?;
    for chunk in features.chunks(INSERT_CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let n = i * 5;
                format!(
                    "(${}, ${}, ${}, ${}, ${})",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO map_features (community_id, id, kind, parent_id, feature) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for row in chunk.iter().map(row) {
            query = query
                .bind(community.as_str())
                .bind(row.id)
                .bind(row.kind)
                .bind(row.parent)
                .bind(row.feature);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Adds a feature or replaces the one with its id.
pub async fn put(
    tx: &mut Tx,
    community: &CommunityId,
    feature: &MapFeature,
) -> Result<(), sqlx::Error> {
    let row = row(feature);
    sqlx::query(
        "INSERT INTO map_features (community_id, id, kind, parent_id, feature) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (community_id, id) DO UPDATE SET kind = excluded.kind, \
         parent_id = excluded.parent_id, feature = excluded.feature",
    )
    .bind(community.as_str())
    .bind(row.id)
    .bind(row.kind)
    .bind(row.parent)
    .bind(row.feature)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes a feature.
pub async fn delete(tx: &mut Tx, community: &CommunityId, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM map_features WHERE community_id = $1 AND id = $2")
        .bind(community.as_str())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
