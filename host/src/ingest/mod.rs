//! Ingest: devices send batches of readings (a JSON array, or NDJSON with
//! `Content-Type: application/x-ndjson`) with their device token. Every item
//! is validated on its own against the device registry and the reading-kind
//! catalogue; good items are appended to the event log in one transaction
//! and acknowledged with 202 only once that commit is durable; bad items are
//! reported by index and field, and never stored.

mod validate;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::auth::{Principal, Role};
use crate::api::error::{ApiError, ApiResult, ErrorBody, Json};
use crate::api::AppState;
use crate::caps::sensor::ReadingValue;
use crate::ids::CommunityId;
pub use validate::{ItemError, Sender, ValidReading};

/// Most readings in one batch.
pub const MAX_BATCH: usize = 10_000;

/// What happened to a batch.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IngestReport {
    /// Readings now durable in the event log.
    pub accepted: usize,
    /// Readings refused; see `errors`.
    pub rejected: usize,
    /// One entry per refused reading.
    pub errors: Vec<ItemError>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ingest))
}

/// Splits a request body into items: a JSON array, or one JSON value per line.
fn split_items(
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Vec<Result<serde_json::Value, String>>> {
    let ndjson = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-ndjson"));
    if ndjson {
        let text = std::str::from_utf8(body).map_err(|_| ApiError::invalid("body: not UTF-8"))?;
        return Ok(text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}")))
            .collect());
    }
    let items: Vec<serde_json::Value> = serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid(format!(
            "body: expected a JSON array of readings (or NDJSON with Content-Type application/x-ndjson): {e}"
        ))
    })?;
    Ok(items.into_iter().map(Ok).collect())
}

/// Send a batch of readings (device token).
#[utoipa::path(post, path = "/api/v1/ingest", tag = "ingest",
    request_body(content = Vec<validate::ReadingInput>, description = "A JSON array of readings, or NDJSON"),
    responses((status = 202, body = IngestReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
async fn ingest(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<IngestReport>)> {
    if principal.role != Role::Device {
        return Err(ApiError::forbidden("ingest takes a device token"));
    }
    let community: CommunityId = principal
        .community
        .clone()
        .ok_or_else(|| ApiError::forbidden("this device token has no community"))?;
    let items = split_items(&headers, &body)?;
    if items.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!(
                "a batch holds at most {MAX_BATCH} readings, got {}",
                items.len()
            ),
        ));
    }
    let sender = Sender::load(&state.db, &community, &principal.subject).await?;
    let now = state.clock.now();
    let mut errors = Vec::new();
    let mut valid = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match item
            .map_err(|message| ItemError::new(index, "", message))
            .and_then(|item| sender.validate(index, &item, now))
        {
            Ok(reading) => valid.push(reading),
            Err(error) => errors.push(error),
        }
    }
    append(&state, &community, &valid, now).await?;
    state.metrics.readings_ingested(valid.len(), errors.len());
    if !valid.is_empty() {
        state.readings_appended(&community, valid.len());
    }
    tracing::debug!(%community, device = %principal.subject, accepted = valid.len(), rejected = errors.len(), "batch ingested");
    Ok((
        StatusCode::ACCEPTED,
        Json(IngestReport {
            accepted: valid.len(),
            rejected: errors.len(),
            errors,
        }),
    ))
}

/// Appends readings to the event log and marks their devices seen, in one transaction.
pub async fn append(
    state: &AppState,
    community: &CommunityId,
    readings: &[ValidReading],
    received_at: i64,
) -> Result<(), sqlx::Error> {
    if readings.is_empty() {
        return Ok(());
    }
    let mut tx = crate::db::begin(&state.db).await?;
    let mut last_seen: HashMap<&str, i64> = HashMap::new();
    for r in readings {
        let (num, flag, txt) = match &r.value {
            ReadingValue::Number(n) => (Some(*n), None, None),
            ReadingValue::Flag(f) => (None, Some(i64::from(*f)), None),
            ReadingValue::Text(t) => (None, None, Some(t.as_str())),
        };
        sqlx::query(
            "INSERT INTO readings (community_id, device_id, kind, num, flag, txt, unit, at, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(community.as_str())
        .bind(r.device.as_str())
        .bind(r.kind)
        .bind(num)
        .bind(flag)
        .bind(txt)
        .bind(r.unit)
        .bind(r.at)
        .bind(received_at)
        .execute(&mut *tx)
        .await?;
        let seen = last_seen.entry(r.device.as_str()).or_insert(r.at);
        *seen = (*seen).max(r.at);
    }
    for (device, at) in last_seen {
        sqlx::query(
            "UPDATE devices SET last_seen = CASE WHEN last_seen IS NULL OR last_seen < $1 THEN $1 ELSE last_seen END \
             WHERE community_id = $2 AND id = $3",
        )
        .bind(at)
        .bind(community.as_str())
        .bind(device)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
