//! Agent identity setup routes (setup key): register an enrolled agent's public key, list and revoke keys, and the
//! workspace setting that requires agent tokens on checks. Tokens themselves are verified in `crate::auth`.
//!
//! The server only ever receives public keys: `allowly agent enroll` (and the SDKs' `enroll_agent`) generate the
//! private key on the agent's machine.

use std::sync::Arc;

use allowly_core::agent_identity::PublicKeyJwk;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::Body;
use crate::AppState;
use crate::auth::Setup;
use crate::error::{ApiError, ApiResult, WireCode};
use crate::parse::{self, Fields};
use crate::store::agents::{self, AgentKey};
use crate::util;
use crate::wire::{
    AgentIdentityPut, AgentIdentitySettings, AgentKeyList, AgentKeyRecord, AgentKeyRegister, AgentKeyRegistered,
    PublicJwk,
};

/// The longest agent id accepted (as for authorizations' `agent_id`).
const MAX_AGENT_ID: usize = 256;

pub(super) fn parse_register(body: &axum::body::Bytes) -> Result<AgentKeyRegister, ApiError> {
    let mut f = Fields::new(parse::object(body, false)?, &["public_key_jwk"])?;
    let jwk = match f.take("public_key_jwk") {
        None => {
            f.error("public_key_jwk", "is required");
            None
        }
        // A private key must never be sent here; refuse any member beyond the public ones rather than ignore it.
        Some(serde_json::Value::Object(m)) if m.contains_key("d") => {
            f.error("public_key_jwk.d", "a private key must not be sent: register the public key only");
            None
        }
        Some(v) => match serde_json::from_value::<PublicKeyJwk>(v.clone()) {
            Ok(jwk) if jwk.verifying_key().is_some() && v.as_object().is_some_and(|m| m.len() == 3) => Some(jwk),
            _ => {
                f.error(
                    "public_key_jwk",
                    "must be an Ed25519 public JWK {kty: OKP, crv: Ed25519, x: base64url of 32 bytes}",
                );
                None
            }
        },
    };
    f.finish()?;
    let jwk = jwk.ok_or_else(|| ApiError::internal("validated field missing"))?;
    Ok(AgentKeyRegister { public_key_jwk: PublicJwk { crv: jwk.crv, kty: jwk.kty, x: jwk.x } })
}

fn record(k: AgentKey) -> AgentKeyRecord {
    AgentKeyRecord {
        agent_id: k.agent_id,
        binding_id: k.binding_id,
        created_at: k.created_at,
        key_id: k.key_id,
        public_key_jwk: PublicJwk { crv: "Ed25519".into(), kty: "OKP".into(), x: k.public_key_x },
        revoked_at: k.revoked_at,
    }
}

/// `POST /v1/setup/agents/{agent_id}/keys {public_key_jwk}` → 201 the ids the agent's credential records.
pub async fn register(
    State(s): State<Arc<AppState>>,
    who: Setup,
    Path(agent_id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    if agent_id.is_empty() || agent_id.chars().count() > MAX_AGENT_ID || agent_id.chars().any(char::is_control) {
        return Err(ApiError::field(WireCode::ValidationError, "agent_id", "must be 1 to 256 characters"));
    }
    let AgentKeyRegister { public_key_jwk } = parse_register(&body)?;
    let key = AgentKey {
        key_id: util::new_id("akey"),
        agent_id,
        binding_id: util::new_id("bind"),
        public_key_x: public_key_jwk.x,
        created_at: util::fmt_ts(util::now()),
        revoked_at: None,
    };
    let mut tx = s.store.begin().await?;
    agents::insert(&mut tx, &who.workspace_id, &key).await?;
    tx.commit().await?;
    let out = AgentKeyRegistered {
        agent_id: key.agent_id,
        binding_id: key.binding_id,
        created_at: key.created_at,
        key_id: key.key_id,
        workspace_id: who.workspace_id,
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `GET /v1/setup/agents`: every registered key (public halves), oldest first.
pub async fn list(State(s): State<Arc<AppState>>, who: Setup) -> ApiResult<Json<AgentKeyList>> {
    let keys = agents::list(s.store.reader(), &who.workspace_id).await?;
    Ok(Json(AgentKeyList { items: keys.into_iter().map(record).collect() }))
}

/// `DELETE /v1/setup/agent-keys/{key_id}`: its tokens are refused from now on (`agent_token_unverifiable`).
/// Revoking twice answers the first revocation.
pub async fn revoke(
    State(s): State<Arc<AppState>>,
    who: Setup,
    Path(key_id): Path<String>,
) -> ApiResult<Json<AgentKeyRecord>> {
    let mut tx = s.store.begin().await?;
    let now = util::fmt_ts(util::now());
    let key = agents::revoke(&mut tx, &who.workspace_id, &key_id, &now)
        .await?
        .ok_or_else(|| ApiError::not_found(WireCode::AgentKeyNotFound, "agent key"))?;
    tx.commit().await?;
    Ok(Json(record(key)))
}

/// `GET /v1/setup/agent-identity`.
pub async fn get_settings(State(s): State<Arc<AppState>>, who: Setup) -> ApiResult<Json<AgentIdentitySettings>> {
    let require_agent_tokens = agents::requires_tokens(s.store.reader(), &who.workspace_id).await?;
    Ok(Json(AgentIdentitySettings { require_agent_tokens }))
}

pub(super) fn parse_settings(body: &axum::body::Bytes) -> Result<AgentIdentityPut, ApiError> {
    let mut f = Fields::new(parse::object(body, false)?, &["require_agent_tokens"])?;
    if !f.has("require_agent_tokens") {
        f.error("require_agent_tokens", "is required");
    }
    let required = f.opt_bool("require_agent_tokens");
    f.finish()?;
    Ok(AgentIdentityPut { require_agent_tokens: required.unwrap_or(false) })
}

/// `PUT /v1/setup/agent-identity {require_agent_tokens}`: with `true`, a check or a settlement without a verified agent
/// token is 401 `agent_token_required`.
pub async fn put_settings(
    State(s): State<Arc<AppState>>,
    who: Setup,
    Body(body): Body,
) -> ApiResult<Json<AgentIdentitySettings>> {
    let AgentIdentityPut { require_agent_tokens } = parse_settings(&body)?;
    let mut tx = s.store.begin().await?;
    agents::set_requires_tokens(&mut tx, &who.workspace_id, require_agent_tokens).await?;
    tx.commit().await?;
    // Cached key owners carry this setting.
    s.store.keys().invalidate();
    Ok(Json(AgentIdentitySettings { require_agent_tokens }))
}
