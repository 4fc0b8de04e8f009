//! The web console at `/console`: plain HTML, ES modules and CSS from
//! `host/console/`, embedded in the binary so a host needs no other server
//! and no build step. The console is a client of the public API like any
//! other: it holds a bearer token typed into its login form and calls
//! `/api/v1/...`, so the role checks are the API's own; these routes serve
//! files only and need no token (the files hold nothing secret).
//!
//! Every answer carries a strict Content-Security-Policy: scripts, styles,
//! images and connections only from this host, no inline script, no
//! framing. `index.html` is revalidated on every load (`no-cache`, with an
//! `ETag` of the build's assets) so a host upgrade shows its new console at
//! once; the modules and styles it names are revalidated the same way,
//! since they are not fingerprinted by name.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use include_dir::{include_dir, Dir};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

use super::error::ApiError;
use super::AppState;

/// The console's files, as they were when the host was built.
static ASSETS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/console");

/// Where the console is served.
pub const CONSOLE_PATH: &str = "/console";

/// The policy every console answer carries. `connect-src 'self'` covers the
/// API and its event streams; the map is inline SVG built through the DOM,
/// so no `unsafe-inline` is needed for scripts or styles.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            CONSOLE_PATH,
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(index))
        .route("/console/{*file}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    serve(&file, &headers)
}

/// One embedded file with its type, validator and policy, or a JSON 404.
fn serve(file: &str, request: &HeaderMap) -> Response {
    let Some(found) = ASSETS.get_file(file) else {
        return ApiError::not_found(format!("path: the console has no file {file:?}"))
            .into_response();
    };
    let etag = assets_etag();
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .is_some_and(|tag| tag.as_bytes() == etag.as_bytes());
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, content_type(file))],
            found.contents(),
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(tag) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, tag);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// One validator for every file: a digest of all of them, so a file is
/// fresh exactly while the host serves the same console.
fn assets_etag() -> &'static str {
    static ETAG: OnceLock<String> = OnceLock::new();
    ETAG.get_or_init(|| {
        let mut digest = Sha256::new();
        let mut stack = vec![&ASSETS];
        while let Some(dir) = stack.pop() {
            for file in dir.files() {
                digest.update(file.path().to_string_lossy().as_bytes());
                digest.update(file.contents());
            }
            stack.extend(dir.dirs());
        }
        format!("\"{}\"", hex::encode(&digest.finalize()[..12]))
    })
}

/// The media type of a console file, by its extension.
fn content_type(file: &str) -> &'static str {
    match file.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}
