//! Bodies of the setup and service routes: health, key rotation, API keys, the webhook endpoint, the audit query.
//! Fields are declared in sorted order of their wire names (see the module above).

use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

/// `GET /healthz`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// `GET /readyz` (200 when both are up, 503 otherwise).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Readiness {
    pub database: bool,
    pub signer: bool,
    pub status: &'static str,
}

/// `POST /v1/signing-keys/rotate`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyRotation {
    pub active_from: String,
    pub key_id: String,
    pub workspace_id: String,
}

/// `POST /v1/api-keys`: `key` holds the text in the first answer only; the stored replay has `null`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyRecord {
    pub created_at: String,
    pub id: String,
    pub key: Option<String>,
    pub name: String,
    pub prefix: String,
    pub revoked_at: Option<String>,
    pub tier: String,
}

/// One key of `GET /v1/api-keys`: prefixes only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyInfo {
    pub created_at: String,
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub revoked_at: Option<String>,
    pub tier: String,
}

impl From<&ApiKeyRecord> for ApiKeyInfo {
    fn from(k: &ApiKeyRecord) -> Self {
        Self {
            created_at: k.created_at.clone(),
            id: k.id.clone(),
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            revoked_at: k.revoked_at.clone(),
            tier: k.tier.clone(),
        }
    }
}

/// `GET /v1/api-keys`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyList {
    pub data: Vec<ApiKeyInfo>,
}

/// `DELETE /v1/api-keys/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyRevocation {
    pub id: String,
    pub revoked_at: String,
}

/// `PUT /v1/webhook`: the signing secret appears in this answer only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookCreated {
    pub created_at: String,
    pub events: &'static [&'static str],
    pub signing_secret: String,
    pub url: String,
}

/// `GET /v1/webhook`: without the secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookEndpoint {
    pub created_at: String,
    pub events: &'static [&'static str],
    pub updated_at: String,
    pub url: String,
}

/// `DELETE /v1/webhook`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookDeleted {
    pub deleted: bool,
}

/// `GET /v1/audit`: a page of signed receipts, each exactly as the signer stored it (never re-serialized).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Signed receipts (Allowly Receipt Format wire 4), newest first.
    #[schema(value_type = Vec<Object>)]
    pub data: Vec<Box<RawValue>>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// `GET`/`DELETE /v1/setup/resolution-webhook`: the endpoint without its secret. A workspace that never configured
/// one answers `endpoint_id`, `url`, `credential_version`, `created_at`, `updated_at` as `null` and `enabled: false`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResolutionWebhookConfig {
    pub created_at: Option<String>,
    pub credential_version: Option<i64>,
    pub enabled: bool,
    pub endpoint_id: Option<String>,
    pub updated_at: Option<String>,
    pub url: Option<String>,
    pub workspace_id: String,
}

/// `PUT /v1/setup/resolution-webhook` and `POST …/rotate`: the configuration plus the new `whsec_` secret, shown in
/// this answer only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResolutionWebhookSecret {
    pub created_at: Option<String>,
    pub credential_version: Option<i64>,
    pub enabled: bool,
    pub endpoint_id: Option<String>,
    pub signing_secret: String,
    pub updated_at: Option<String>,
    pub url: Option<String>,
    pub workspace_id: String,
}

/// One entry of the delivery log: no payload, URL or secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResolutionWebhookDelivery {
    pub attempts: i64,
    pub created_at: String,
    pub delivered_at: Option<String>,
    pub event_id: String,
    /// `confirmation.resolved` or `escalation.resolved`.
    pub event_type: String,
    /// The latest failed attempt's code: `unsafe_url`, `dns_error`, `timeout`, `transport_error`, `http_error`,
    /// `attempts_exhausted`, `endpoint_disabled`, `endpoint_changed`, `endpoint_gone`.
    pub last_error: Option<String>,
    /// `pending`, `delivered`, `failed` or `cancelled` (a newer secret or a disable stopped it).
    pub status: &'static str,
}

/// `GET /v1/setup/resolution-webhook/deliveries`: the newest 20, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResolutionWebhookDeliveries {
    pub items: Vec<ResolutionWebhookDelivery>,
}
