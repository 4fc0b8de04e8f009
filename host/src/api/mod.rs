//! The HTTP API (`/api/v1`), its OpenAPI document, `/healthz` and `/metrics`:
//! the top floor. Each file holds the routes of one part of the host —
//! communities, tokens, devices and their kinds, readings in, plugins,
//! installations and commands, the capabilities' records (alarms, ledger,
//! map, notifications), the live feed, the web console's files — and
//! [`router`] composes them.
//! Everything below knows nothing of HTTP. Every handler authenticates a
//! [`crate::auth::Principal`] and returns [`error::ApiError`] on failure.

pub mod alarms;
pub mod auth;
pub mod communities;
pub mod console;
pub mod dead_letter_bundle;
pub mod dead_letters;
pub mod device_kinds;
pub mod devices;
pub mod error;
pub mod events;
pub mod ingest;
pub mod installation_health;
pub mod installations;
pub mod ledger;
pub mod map;
pub mod map_people;
pub mod map_search;
pub mod notify;
pub mod plugins;
pub mod privacy;
pub mod reading_kinds;
pub mod streams;
pub mod tokens;
pub mod vendor_keys;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::caps::Services;
use crate::config::HostConfig;
use crate::ingest::Ingest;
use crate::runtime::Runtime;
use error::ApiError;

/// Largest request body: plugin packages are the big ones.
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The services the runtime shares: database, clock, metrics, ledger,
    /// feed, maps and notification delivery.
    pub services: Services,
    pub runtime: Arc<Runtime>,
    pub config: Arc<HostConfig>,
    pub ingest: Arc<Ingest>,
    pub monitor: Arc<crate::monitor::Monitor>,
    /// The live streams open, capped per token and per host.
    pub streams: Arc<streams::Streams>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "linli",
        description = "Smart-community plugin platform: communities, devices, readings, plugins, installations and scene commands."
    ),
    modifiers(&BearerAuth),
    components(schemas(error::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The whole HTTP surface of a host.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(communities::routes())
        .merge(tokens::routes())
        .merge(devices::routes())
        .merge(ledger::routes())
        .merge(alarms::routes())
        .merge(map::routes())
        .merge(notify::routes())
        .merge(events::routes())
        .merge(device_kinds::routes())
        .merge(ingest::routes())
        .merge(plugins::routes())
        .merge(installations::routes())
        .merge(installation_health::routes())
        .merge(dead_letters::routes())
        .merge(dead_letter_bundle::routes())
        .merge(vendor_keys::routes())
        .merge(reading_kinds::routes())
        .merge(privacy::routes())
        .split_for_parts();
    let openapi = Arc::new(openapi);
    Router::new()
        .merge(api)
        .merge(console::routes())
        .route(
            "/api/v1/openapi.json",
            get(move || async move { axum::Json(openapi.as_ref().clone()) }),
        )
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this route does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match sqlx::query("SELECT 1").execute(&state.services.db).await {
        Ok(_) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok"})),
        ),
        Err(e) => {
            tracing::error!("health check failed: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "store unavailable"})),
            )
        }
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.services.metrics.render(),
    )
}
