//! Bearer API key authentication, the two key tiers, and member credentials.
//!
//! A member credential (`allowly_mk_…`, `store::members`) is a third kind of bearer token: it identifies one approver
//! and opens only the two escalation routes ([`EscalationReader`], [`Member`]); on every other route it is a 403
//! `insufficient_key_tier`. Who resolves an escalation is taken from it, never from a request body.
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
    /// The workspace's "agent tokens required" setting, read with the key.
    requires_agent_tokens: bool,
}

impl Runtime {
    /// A workspace that requires agent tokens refuses an agent's call (a check, a settlement) without one. Runs before
    /// any write, so a refused call stores nothing.
    pub fn require_agent_token_if_configured(&self) -> Result<(), ApiError> {
        if self.agent.is_none() && self.requires_agent_tokens {
            return Err(ApiError::agent_token(WireCode::AgentTokenRequired));
        }
        Ok(())
    }

    /// A verified agent token must name the agent of the authorization it acts on.
    pub fn require_agent_of(&self, authorization_agent_id: &str) -> Result<(), ApiError> {
        match &self.agent {
            Some(agent) if agent.agent_id != authorization_agent_id => {
                Err(ApiError::agent_token(WireCode::AgentTokenAgentMismatch))
            }
            _ => Ok(()),
        }
    }
}

/// The caller of a setup route (setup keys only; a runtime key is 403 `insufficient_key_tier`).
#[derive(Debug, Clone)]
pub struct Setup {
    pub workspace_id: String,
}

/// The caller of `POST /v1/escalations/{id}/resolve`: a member, by its own credential. An API key is a 403
/// `member_credential_required`: a key proves the workspace, not which person approves.
#[derive(Debug, Clone)]
pub struct Member {
    pub workspace_id: String,
    pub member_id: String,
}

/// The caller of `GET /v1/escalations/{id}`: the workspace (runtime or setup key) or a member, who may read only the
/// escalations addressed to it.
#[derive(Debug, Clone)]
pub enum EscalationReader {
    Workspace(Runtime),
    Member(Member),
}

impl EscalationReader {
    pub fn workspace_id(&self) -> &str {
        match self {
            Self::Workspace(r) => &r.workspace_id,
            Self::Member(m) => &m.workspace_id,
        }
    }
}

/// Who a bearer token turned out to be.
enum Caller {
    Key { workspace_id: String, tier: Tier, agent: Option<VerifiedAgent>, requires_agent_tokens: bool },
    Member(Member),
}

/// Who a verified agent token says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAgent {
    pub agent_id: String,
    pub key_id: String,
}

/// The header a caller uses to assert which agent it is (an EdDSA JWT in the official SDK).
pub const AGENT_TOKEN_HEADER: HeaderName = HeaderName::from_static("x-allowly-agent-token");

async fn authenticate(parts: &Parts, state: &AppState) -> Result<(Runtime, Tier), ApiError> {
    match identify(parts, state).await? {
        Caller::Key { workspace_id, tier, agent, requires_agent_tokens } => {
            Ok((Runtime { workspace_id, agent, requires_agent_tokens }, tier))
        }
        Caller::Member(_) => Err(ApiError::new(
            WireCode::InsufficientKeyTier,
            "a member credential can only read and resolve escalations; this route needs an API key",
        )),
    }
}

async fn identify(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    let header =
        parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(ApiError::invalid_api_key)?;
    let key = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(ApiError::invalid_api_key)?;
    // Hashed once: the key cache, the database and the rate-limit bucket all know a key by this hash.
    let key_hash = crate::util::sha256_hex(key.as_bytes());
    let member = crate::store::members::is_credential_text(key);
    if Tier::of_key_text(key).is_none() && !member {
        return Err(ApiError::invalid_api_key());
    }
    let caller = if member {
        let (workspace_id, member_id) = crate::store::members::authenticate(state.store.reader(), key)
            .await?
            .ok_or_else(ApiError::invalid_api_key)?;
        Caller::Member(Member { workspace_id, member_id })
    } else {
        let owner = api_keys::authenticate(&state.store, &key_hash).await?.ok_or_else(ApiError::invalid_api_key)?;
        Caller::Key {
            workspace_id: owner.workspace_id,
            tier: owner.tier,
            agent: None,
            requires_agent_tokens: owner.requires_agent_tokens,
        }
    };
    // Only known keys get a bucket, so garbage keys cannot fill the map; keyed by the hash, never the key text.
    state
        .limiter
        .keys
        .take(&key_hash, std::time::Instant::now())
        .map_err(|s| ApiError::rate_limited("this API key", s))?;
    // Checked after the key, so an unknown key is still a plain 401 `invalid_api_key`; before any handler runs, so a
    // refused request stores nothing.
    // A member carries no agent identity, but a header it sends is still verified: never ignored.
    let workspace_id = match &caller {
        Caller::Key { workspace_id, .. } | Caller::Member(Member { workspace_id, .. }) => workspace_id.clone(),
    };
    let agent = match parts.headers.get(AGENT_TOKEN_HEADER) {
        Some(value) => Some(verify_agent_token(state, &workspace_id, value).await?),
        None => None,
    };
    Ok(match caller {
        Caller::Key { workspace_id, tier, requires_agent_tokens, .. } => {
            Caller::Key { workspace_id, tier, agent, requires_agent_tokens }
        }
        member => member,
    })
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
        Ok(authenticate(parts, state).await?.0)
    }
}

impl FromRequestParts<Arc<AppState>> for Setup {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        match authenticate(parts, state).await? {
            (runtime, Tier::Setup) => Ok(Setup { workspace_id: runtime.workspace_id }),
            (_, Tier::Runtime) => Err(ApiError::insufficient_tier()),
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Member {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        match identify(parts, state).await? {
            Caller::Member(m) => Ok(m),
            Caller::Key { .. } => Err(ApiError::new(
                WireCode::MemberCredentialRequired,
                "only the member an escalation waits on may resolve it, with its own member credential",
            )),
        }
    }
}

impl FromRequestParts<Arc<AppState>> for EscalationReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        Ok(match identify(parts, state).await? {
            Caller::Member(m) => EscalationReader::Member(m),
            Caller::Key { workspace_id, agent, requires_agent_tokens, .. } => {
                EscalationReader::Workspace(Runtime { workspace_id, agent, requires_agent_tokens })
            }
        })
    }
}
