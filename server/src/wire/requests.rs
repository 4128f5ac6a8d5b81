//! Request bodies of the setup routes, which only the server reads (the runtime routes' bodies are allowly-core's
//! request models). Their parsers (`routes/setup.rs`) return these types, and the OpenAPI document derives its
//! request schemas from them.

use utoipa::ToSchema;

use crate::store::api_keys::Tier;

/// `POST /v1/api-keys`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct ApiKeyCreate {
    pub tier: Tier,
    /// A label for people; not unique.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

/// `PUT /v1/webhook`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct WebhookPut {
    /// Where events are POSTed: an absolute http or https URL without credentials.
    #[schema(format = "uri", max_length = 2048)]
    pub url: String,
}

/// `PUT /v1/setup/resolution-webhook`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct ResolutionWebhookPut {
    /// Where resolution events are POSTed: an absolute https URL of a public host, without credentials (plain http
    /// and private addresses only under `--dev` or `--webhook-allow`).
    #[schema(format = "uri", max_length = 2048)]
    pub url: String,
}

/// `POST /v1/policies` and `POST /v1/setup/policies/publish`: a definition (`allowly.policy.v1`, validated by
/// allowly-core) plus where it goes.
#[derive(Debug, Clone, PartialEq, ToSchema)]
pub struct PolicyCreate {
    /// Lowercase letters, digits, `_` and `-`.
    #[schema(min_length = 1, max_length = 128, pattern = "^[a-z0-9_-]+$")]
    pub policy_id: String,
    /// `allowly.policy.v1`.
    pub profile: String,
    #[schema(min_length = 1, max_length = 128)]
    pub agent_id: String,
    /// 1 to 32 `{policy, guards, executable_operations}` entries (docs/policy-semantics.md).
    #[schema(value_type = Vec<Object>, min_items = 1, max_items = 32)]
    pub actions: serde_json::Value,
    #[schema(minimum = 1, maximum = 3650)]
    pub default_expiry_days: Option<i64>,
    #[schema(max_length = 2048)]
    pub description: Option<String>,
    /// The newest edition the new one replaces; required once the policy exists (optimistic concurrency).
    #[schema(value_type = Option<Object>)]
    pub previous_policy_ref: Option<serde_json::Value>,
}

/// `POST /v1/setup/policies/preview`.
#[derive(Debug, Clone, PartialEq, ToSchema)]
pub struct PolicyPreviewRequest {
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    #[schema(min_length = 1, max_length = 64)]
    pub action: String,
    /// At most 4 KiB canonical.
    #[schema(value_type = Object)]
    pub context: serde_json::Value,
}

/// `POST /v1/authorizations` from a policy edition (the official 0.8.0 shape): a names-only subset of the edition's
/// actions for one user; the agent is the edition's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, ToSchema)]
pub struct EditionGrantRequest {
    #[schema(min_length = 1)]
    pub user_id: String,
    #[schema(min_length = 1, max_length = 128)]
    pub policy_id: String,
    #[schema(minimum = 1)]
    pub policy_version: i64,
    /// 1 to 32 of the edition's action names; all of them when absent.
    #[schema(min_items = 1, max_items = 32)]
    pub actions: Option<Vec<String>>,
    /// Must equal the edition's `agent_id` when sent.
    pub agent_id: Option<String>,
    /// RFC 3339, in the future; the edition's `default_expiry_days` (else 90 days) when absent.
    #[schema(format = "date-time")]
    pub expires_at: Option<String>,
    #[schema(minimum = 0)]
    pub budget_limit_micros: Option<i64>,
    pub replaces: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// The two shapes `POST /v1/authorizations` reads: explicit scopes (SDK 0.3.1) or a policy edition (SDK 0.8.0).
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code, clippy::large_enum_variant)]
pub enum AuthorizationCreate {
    Scopes(allowly_core::model::CreateAuthorizationRequest),
    Edition(EditionGrantRequest),
}
