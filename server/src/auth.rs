//! Bearer API key authentication and the two key tiers.
//!
//! A presented key is checked for shape first (so garbage never reaches the database) and then looked up by its
//! SHA-256. Failures are a flat 401 `invalid_api_key` that never repeats the presented text.
//!
//! A request that asserts an agent identity (`X-Allowly-Agent-Token`, as the official 0.8.0 SDK sends it) is refused
//! with 401 `agent_token_unverifiable`: this server cannot verify agent tokens yet, and answering as if the header had
//! been checked would let a caller believe an identity was enforced when it was not.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderName;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::AppState;
use crate::error::ApiError;
use crate::store::api_keys::{self, Tier};

/// The caller of a runtime route (a runtime or a setup key).
#[derive(Debug, Clone)]
pub struct Runtime {
    pub workspace_id: String,
}

/// The caller of a setup route (setup keys only; a runtime key is 403 `insufficient_key_tier`).
#[derive(Debug, Clone)]
pub struct Setup {
    pub workspace_id: String,
}

/// The header a caller uses to assert which agent it is (an EdDSA JWT in the official SDK).
pub const AGENT_TOKEN_HEADER: HeaderName = HeaderName::from_static("x-allowly-agent-token");

async fn authenticate(parts: &Parts, state: &AppState) -> Result<(String, Tier), ApiError> {
    let header =
        parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(ApiError::invalid_api_key)?;
    let key = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(ApiError::invalid_api_key)?;
    if Tier::of_key_text(key).is_none() {
        return Err(ApiError::invalid_api_key());
    }
    let caller = api_keys::authenticate(state.store.reader(), key).await?.ok_or_else(ApiError::invalid_api_key)?;
    // Only known keys get a bucket, so garbage keys cannot fill the map; keyed by the hash, never the key text.
    let bucket = crate::util::sha256_hex(key.as_bytes());
    state
        .limiter
        .keys
        .take(&bucket, std::time::Instant::now())
        .map_err(|s| ApiError::rate_limited("this API key", s))?;
    // Checked after the key, so an unknown key is still a plain 401 `invalid_api_key`; before any handler runs, so a
    // refused request stores nothing.
    if parts.headers.contains_key(AGENT_TOKEN_HEADER) {
        return Err(ApiError::agent_token_unverifiable());
    }
    Ok(caller)
}

impl FromRequestParts<Arc<AppState>> for Runtime {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let (workspace_id, _tier) = authenticate(parts, state).await?;
        Ok(Runtime { workspace_id })
    }
}

impl FromRequestParts<Arc<AppState>> for Setup {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        match authenticate(parts, state).await? {
            (workspace_id, Tier::Setup) => Ok(Setup { workspace_id }),
            (_, Tier::Runtime) => Err(ApiError::insufficient_tier()),
        }
    }
}
