//! Bearer-token authentication of HTTP requests: the `Authorization`
//! header's token, looked up in the store, becomes the handler's
//! [`Principal`]; the role checks themselves are [`crate::auth`]'s.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use super::AppState;
use crate::auth::{authenticate, Forbidden, Principal};

impl From<Forbidden> for ApiError {
    fn from(refused: Forbidden) -> Self {
        ApiError::forbidden(refused.0)
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(ApiError::unauthorized)?;
        authenticate(&state.services.db, secret.trim())
            .await?
            .ok_or_else(ApiError::unauthorized)
    }
}
