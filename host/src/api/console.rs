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

/// The console's files, as they were when the host was built.
static ASSETS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/console");

/// Where the console is served.
pub const CONSOLE_PATH: &str = "/console";

/// The policy every console answer carries. `connect-src 'self'` covers the
/// API and its event streams; the map is inline SVG built through the DOM,
/// so no `unsafe-inline` is needed for scripts or styles.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The console's routes; they read no state, so any router takes them.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use tower::ServiceExt;

    async fn get(path: &str, etag: Option<&str>) -> axum::response::Response {
        let mut request = Request::get(path);
        if let Some(etag) = etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        super::routes::<()>()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_page_its_modules_and_styles_come_with_their_types_and_a_strict_policy() {
        for (path, wanted) in [
            ("/console/", "text/html; charset=utf-8"),
            ("/console/js/app.js", "text/javascript; charset=utf-8"),
            ("/console/console.css", "text/css; charset=utf-8"),
        ] {
            let answer = get(path, None).await;
            assert_eq!(answer.status(), StatusCode::OK, "{path}");
            let headers = answer.headers();
            assert_eq!(headers[header::CONTENT_TYPE], wanted, "{path}");
            let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
            assert!(
                policy.contains("script-src 'self'") && !policy.contains("unsafe"),
                "{policy}"
            );
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
        }
    }

    #[tokio::test]
    async fn a_browser_holding_this_build_is_told_its_copy_is_fresh() {
        let first = get("/console/js/app.js", None).await;
        let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
        let again = get("/console/js/app.js", Some(&etag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let stale = get("/console/js/app.js", Some("\"other\"")).await;
        assert_eq!(stale.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_missing_file_is_a_json_404_and_the_bare_path_redirects() {
        let missing = get("/console/js/nothing.js", None).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(missing.headers()[header::CONTENT_TYPE], "application/json");
        let bare = get("/console", None).await;
        assert_eq!(bare.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(bare.headers()[header::LOCATION], "/console/");
    }
}
