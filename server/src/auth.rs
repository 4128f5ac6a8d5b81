//! Bearer API key authentication and the two key tiers.
//!
//! A presented key is checked for shape first (so garbage never reaches the database) and then looked up by its
//! SHA-256. Failures are a flat 401 `invalid_api_key` that never repeats the presented text.
//!
//! A request that asserts an agent identity (`X-Allowly-Agent-Token`, as the official 0.8.0 SDK sends it) has that
//! token verified here, after the key and before any handler runs, against the public key the agent enrolled
//! (`store::agents`): audience = this workspace, EdDSA signature, the key bound to the claimed agent and binding,
//! validity window. A token that fails any rule is a 401 with its own code; one naming a key the workspace never
//! registered stays `agent_token_unverifiable`. A header is never ignored: answering as if it had been checked when it
//! was not would let a caller believe an identity was enforced.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderName;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::AppState;
use allowly_core::agent_identity::{self, PublicKeyJwk, TokenError};

use crate::error::{ApiError, WireCode};
use crate::store::agents;
use crate::store::api_keys::{self, Tier};

/// The caller of a runtime route (a runtime or a setup key).
#[derive(Debug, Clone)]
pub struct Runtime {
    pub workspace_id: String,
    /// The agent a verified `X-Allowly-Agent-Token` proved (none without the header).
    pub agent: Option<VerifiedAgent>,
}

/// The caller of a setup route (setup keys only; a runtime key is 403 `insufficient_key_tier`).
#[derive(Debug, Clone)]
pub struct Setup {
    pub workspace_id: String,
}

/// Who a verified agent token says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAgent {
    pub agent_id: String,
    pub key_id: String,
}

/// The header a caller uses to assert which agent it is (an EdDSA JWT in the official SDK).
pub const AGENT_TOKEN_HEADER: HeaderName = HeaderName::from_static("x-allowly-agent-token");

async fn authenticate(parts: &Parts, state: &AppState) -> Result<(String, Tier, Option<VerifiedAgent>), ApiError> {
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
    let agent = match parts.headers.get(AGENT_TOKEN_HEADER) {
        Some(value) => Some(verify_agent_token(state, &caller.0, value).await?),
        None => None,
    };
    Ok((caller.0, caller.1, agent))
}

async fn verify_agent_token(
    state: &AppState,
    workspace_id: &str,
    value: &axum::http::HeaderValue,
) -> Result<VerifiedAgent, ApiError> {
    let text = value.to_str().map_err(|_| ApiError::agent_token(WireCode::AgentTokenMalformed))?;
    let token = agent_identity::decode_token(text.trim()).map_err(token_error)?;
    // The audience first: a token for another workspace is that, whatever its key.
    if token.claims.aud != workspace_id {
        return Err(ApiError::agent_token(WireCode::AgentTokenWrongAudience));
    }
    let key = agents::live_key(state.store.reader(), workspace_id, &token.key_id)
        .await?
        .ok_or_else(|| ApiError::agent_token(WireCode::AgentTokenUnverifiable))?;
    let jwk = PublicKeyJwk { kty: "OKP".into(), crv: "Ed25519".into(), x: key.public_key_x.clone() };
    token
        .verify(workspace_id, &jwk, &key.agent_id, &key.binding_id, agent_identity::unix_now())
        .map_err(token_error)?;
    Ok(VerifiedAgent { agent_id: key.agent_id, key_id: key.key_id })
}

fn token_error(e: TokenError) -> ApiError {
    ApiError::agent_token(match e {
        TokenError::Malformed => WireCode::AgentTokenMalformed,
        TokenError::WrongAudience => WireCode::AgentTokenWrongAudience,
        TokenError::BadSignature => WireCode::AgentTokenInvalidSignature,
        TokenError::Expired => WireCode::AgentTokenExpired,
    })
}

impl FromRequestParts<Arc<AppState>> for Runtime {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let (workspace_id, _tier, agent) = authenticate(parts, state).await?;
        Ok(Runtime { workspace_id, agent })
    }
}

impl FromRequestParts<Arc<AppState>> for Setup {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        match authenticate(parts, state).await? {
            (workspace_id, Tier::Setup, _) => Ok(Setup { workspace_id }),
            (_, Tier::Runtime, _) => Err(ApiError::insufficient_tier()),
        }
    }
}
