//! `POST /api/v1/ingest`: a batch of readings over HTTP with a device token,
//! as a JSON array or NDJSON, optionally named by an `Idempotency-Key`.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, Body, ErrorBody, Json};
use super::AppState;
use crate::auth::{Principal, Role};
use crate::ids::CommunityId;
use crate::ingest::idempotency::BatchKey;
use crate::ingest::items::{self, ItemsError, RawItem};
use crate::ingest::{validate, Batch, IngestError, IngestReport};

/// The request header that names a batch.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The response header set on a replayed batch's report.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Largest ingest request body. A full batch of 10,000 readings of about
/// 100 bytes each is 1 MB; the rest is room for long device ids and
/// gateways. Ingest has its own limit, far below the one for plugin packages.
pub const MAX_INGEST_BODY_BYTES: usize = 4 << 20;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ingest))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_INGEST_BODY_BYTES))
}

/// Splits a request body into items: a JSON array, or one JSON value per line.
fn split_items<'a>(headers: &HeaderMap, body: &'a [u8]) -> ApiResult<Vec<RawItem<'a>>> {
    let ndjson = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-ndjson"));
    let items = if ndjson {
        let text = std::str::from_utf8(body).map_err(|_| ApiError::invalid("body: not UTF-8"))?;
        items::ndjson(text)
    } else {
        items::json_array(body)
    };
    items.map_err(|e| match e {
        ItemsError::TooMany => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", format!("body: {e}")),
        ItemsError::Json(e) => ApiError::invalid(format!(
            "body: expected a JSON array of readings (or NDJSON with Content-Type application/x-ndjson): {e}"
        )),
    })
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::TooLarge(_) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                error.to_string(),
            ),
            IngestError::KeyReused(_) => ApiError::conflict(format!("Idempotency-Key: {error}")),
            IngestError::Store(e) => ApiError::internal(e),
        }
    }
}

/// Send a batch of readings (device token). The batch is acknowledged (202)
/// only once its valid readings are durable. With an `Idempotency-Key`, a
/// retry of the same batch returns the first report with
/// `Idempotent-Replayed: true` and stores nothing.
#[utoipa::path(post, path = "/api/v1/ingest", tag = "ingest",
    request_body(content = Vec<validate::ReadingInput>, description = "A JSON array of readings, or NDJSON"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Names the batch so a retry stores nothing twice: 1-128 visible ASCII characters, scoped to the device")),
    responses(
        (status = 202, body = IngestReport, headers(("Idempotent-Replayed" = String, description = "true when this is the report of an earlier delivery"))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the key names a different batch"), (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
async fn ingest(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    if principal.role != Role::Device {
        return Err(ApiError::forbidden("ingest takes a device token"));
    }
    let community: CommunityId = principal
        .community
        .clone()
        .ok_or_else(|| ApiError::forbidden("this device token has no community"))?;
    let key = headers
        .get(&IDEMPOTENCY_KEY)
        .map(|key| BatchKey::new(key.as_bytes(), &body))
        .transpose()
        .map_err(|e| ApiError::invalid(format!("Idempotency-Key: {e}")))?;
    let items = split_items(&headers, &body)?;
    let outcome = state
        .ingest
        .submit(Batch {
            community: &community,
            device: &principal.subject,
            items,
            key,
            sender_by_default: false,
        })
        .await?;
    let mut response = (StatusCode::ACCEPTED, Json(outcome.report)).into_response();
    if outcome.replayed {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}
