//! Agent identity bodies: key registration (`POST /v1/setup/agents/{agent_id}/keys`), the key list, and the workspace
//! setting that requires agent tokens.

use serde::Serialize;
use utoipa::ToSchema;

/// An Ed25519 public key as a JWK. Only public keys ever reach the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PublicJwk {
    /// `Ed25519`.
    pub crv: String,
    /// `OKP`.
    pub kty: String,
    /// The raw 32-byte public key, canonical unpadded base64url.
    pub x: String,
}

/// `POST /v1/setup/agents/{agent_id}/keys`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct AgentKeyRegister {
    pub public_key_jwk: PublicJwk,
}

/// The ids an agent credential records (201 of registration).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentKeyRegistered {
    pub agent_id: String,
    pub binding_id: String,
    pub created_at: String,
    pub key_id: String,
    pub workspace_id: String,
}

/// One registered key.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentKeyRecord {
    pub agent_id: String,
    pub binding_id: String,
    pub created_at: String,
    pub key_id: String,
    pub public_key_jwk: PublicJwk,
    pub revoked_at: Option<String>,
}

/// `GET /v1/setup/agents`: every registered key, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentKeyList {
    pub items: Vec<AgentKeyRecord>,
}

/// `PUT /v1/setup/agent-identity` (request).
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct AgentIdentityPut {
    /// Require a verified `X-Allowly-Agent-Token` on every check (`false` stops requiring it).
    pub require_agent_tokens: bool,
}

/// `GET` / `PUT /v1/setup/agent-identity` (answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AgentIdentitySettings {
    /// Every check must carry a verified `X-Allowly-Agent-Token`.
    pub require_agent_tokens: bool,
}
