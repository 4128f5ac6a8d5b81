//! Setup-tier (admin) models: API keys, the generic webhook endpoint, signing-key rotation and audit pages.
//!
//! Two answers carry a secret exactly once: a created API key and a webhook's signing secret. Both are held in
//! [`Secret`], whose `Debug` prints `[redacted]`, so logging a result (or an error built from one) cannot leak it;
//! the caller reads it with [`Secret::expose`] and stores it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::SignedReceipt;
use super::null_as_default;
use crate::error::{Error, Result};

/// A credential shown once. `Debug` never prints it; [`Secret::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The tier of a new API key: `runtime` (checks and everything an agent does) or `setup` (this admin API too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyTier {
    Runtime,
    Setup,
}

impl ApiKeyTier {
    /// Reads the wire name (`runtime` / `setup`); anything else is a validation error naming `tier`.
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "runtime" => Ok(Self::Runtime),
            "setup" => Ok(Self::Setup),
            other => Err(Error::invalid_input("tier", format!("tier must be \"runtime\" or \"setup\", not {other:?}"))),
        }
    }
}

/// Body of `POST /v1/api-keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateApiKeyRequest {
    pub tier: ApiKeyTier,
    /// 1 to 200 characters, for people reading the key list.
    pub name: String,
}

/// The longest key name the server accepts.
pub const MAX_API_KEY_NAME: usize = 200;

impl CreateApiKeyRequest {
    /// The server's rule, checked before sending so a bad name never costs a request.
    pub fn validate(&self) -> Result<()> {
        let chars = self.name.chars().count();
        if self.name.trim().is_empty() || chars > MAX_API_KEY_NAME {
            return Err(Error::invalid_input("name", format!("name must be 1-{MAX_API_KEY_NAME} characters")));
        }
        Ok(())
    }
}

/// One key of `GET /v1/api-keys`: its prefix only, never its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Pass to `revoke_api_key`.
    pub id: String,
    pub name: String,
    /// The start of the key text, enough to recognise it.
    pub prefix: String,
    /// `runtime` or `setup`.
    pub tier: String,
    pub created_at: String,
    #[serde(default)]
    pub revoked_at: Option<String>,
}

/// Answer of `POST /v1/api-keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub tier: String,
    pub created_at: String,
    /// The key text, shown in this answer only. `None` when the answer is the server's replay of an earlier attempt
    /// of the same call whose answer was lost: the key exists but its text cannot be shown again, so revoke it by
    /// `id` and create another.
    #[serde(default)]
    pub key: Option<Secret>,
}

/// Answer of `DELETE /v1/api-keys/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRevocation {
    pub id: String,
    /// The first revocation's time (revoking twice answers it again).
    pub revoked_at: String,
}

/// Answer of `GET /v1/webhook`: the endpoint, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub url: String,
    /// The events delivered to it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// Answer of `PUT /v1/webhook`: the endpoint and its new signing secret (`whsec_…`), shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSecret {
    pub url: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<String>,
    pub created_at: String,
    /// Verify deliveries with it; setting the endpoint again replaces it.
    pub signing_secret: Secret,
}

/// Answer of `POST /v1/signing-keys/rotate`: the new key, active now (the old one stays published for verification).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeyRotation {
    pub key_id: String,
    pub active_from: String,
    pub workspace_id: String,
}

/// Filters of `GET /v1/audit`. Every filter is an exact match; `since` (inclusive) and `until` (exclusive) are
/// RFC 3339 times over the receipts' `issued_at`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
    pub authorization_id: Option<String>,
    /// `context.run_id` of the checks.
    pub run_id: Option<String>,
    /// A check's scope, or an event receipt's event name (`authorization.create`, …).
    pub action: Option<String>,
    /// `allow`, `deny`, `confirm`, `escalate`, or an event's decision (`authorization_granted`, …).
    pub decision: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    /// Receipts per page, 1 to 1000 (the server's 100 when `None`).
    pub limit: Option<u32>,
}

/// The largest page `GET /v1/audit` answers.
pub const MAX_AUDIT_PAGE: u32 = 1000;

impl AuditQuery {
    /// The query parameters, in a fixed order; refuses a `limit` the server would refuse and times that are not
    /// RFC 3339, before anything is sent.
    pub fn params(&self) -> Result<Vec<(&'static str, String)>> {
        if let Some(limit) = self.limit {
            if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
                return Err(Error::invalid_input("limit", format!("limit must be 1 to {MAX_AUDIT_PAGE}")));
            }
        }
        for (field, value) in [("since", &self.since), ("until", &self.until)] {
            if let Some(v) = value {
                time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).map_err(|_| {
                    Error::invalid_input(field, format!("{field} must be an RFC 3339 time with a zone"))
                })?;
            }
        }
        let mut out = Vec::new();
        let text = [
            ("user_id", &self.user_id),
            ("agent_id", &self.agent_id),
            ("authorization_id", &self.authorization_id),
            ("run_id", &self.run_id),
            ("action", &self.action),
            ("decision", &self.decision),
            ("since", &self.since),
            ("until", &self.until),
        ];
        for (name, value) in text {
            if let Some(v) = value {
                out.push((name, v.clone()));
            }
        }
        if let Some(limit) = self.limit {
            out.push(("limit", limit.to_string()));
        }
        Ok(out)
    }
}

/// Answer of `GET /v1/audit`: signed receipts, newest first, each with the exact bytes the server stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    #[serde(rename = "data")]
    pub receipts: Vec<SignedReceipt>,
    /// Pass back as the cursor for the next page; `None` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// What an audit listing shows of one signed receipt: read from its payload for display, **not verified** (verify
/// the receipt itself before relying on it). Wire 5 receipts are read from their JWS payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    pub receipt_id: String,
    pub issued_at: String,
    /// A check's scope, or an event receipt's event name.
    pub action: String,
    pub decision: String,
    pub reason: String,
    pub user_id: String,
    pub agent_id: String,
    pub authorization_id: Option<String>,
}

impl AuditRow {
    /// Reads the display fields; a receipt whose payload is not an object is a protocol error.
    pub fn of(receipt: &SignedReceipt) -> Result<Self> {
        use base64::Engine as _;
        let bad = |why: &str| Error::Protocol { message: format!("receipt {}: {why}", receipt.receipt_id()) };
        let outer: serde_json::Value = serde_json::from_str(receipt.json()).map_err(|_| bad("not JSON"))?;
        let payload = match outer.get("payload").and_then(serde_json::Value::as_str) {
            Some(jws) => {
                let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(jws)
                    .map_err(|_| bad("JWS payload is not base64url"))?;
                serde_json::from_slice(&bytes).map_err(|_| bad("JWS payload is not JSON"))?
            }
            None => outer,
        };
        if !payload.is_object() {
            return Err(bad("payload is not an object"));
        }
        let text = |k: &str| payload.get(k).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
        let action = payload.get("action").or_else(|| payload.get("event")).and_then(serde_json::Value::as_str);
        Ok(AuditRow {
            receipt_id: receipt.receipt_id().to_owned(),
            issued_at: text("issued_at"),
            action: action.unwrap_or_default().to_owned(),
            decision: text("decision"),
            reason: text("reason"),
            user_id: text("user_id"),
            agent_id: text("agent_id"),
            authorization_id: payload.get("authorization_id").and_then(serde_json::Value::as_str).map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(error: Error) -> String {
        match error {
            Error::Validation { fields, .. } => fields[0].field.clone(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn secrets_never_print() {
        let created: CreatedApiKey = serde_json::from_str(
            r#"{"id":"key_1","name":"ci","prefix":"allowly_rt_ab","tier":"runtime","created_at":"t",
                "revoked_at":null,"key":"allowly_rt_example-SECRET-not-a-real-key"}"#,
        )
        .unwrap();
        let shown = format!("{created:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert_eq!(created.key.as_ref().map(Secret::expose), Some("allowly_rt_example-SECRET-not-a-real-key"));
        let hook: WebhookSecret = serde_json::from_str(
            r#"{"url":"https://h.example/","events":["a"],"created_at":"t","signing_secret":"whsec_SECRET"}"#,
        )
        .unwrap();
        assert!(!format!("{hook:?}").contains("SECRET"));
    }

    #[test]
    fn audit_params_are_checked_before_sending() {
        let q = AuditQuery { action: Some("mail.send".into()), limit: Some(5), ..Default::default() };
        assert_eq!(q.params().unwrap(), [("action", "mail.send".to_string()), ("limit", "5".to_string())]);
        assert_eq!(field(AuditQuery { limit: Some(0), ..Default::default() }.params().unwrap_err()), "limit");
        let err = AuditQuery { since: Some("yesterday".into()), ..Default::default() }.params().unwrap_err();
        assert_eq!(field(err), "since");
        assert!(AuditQuery { until: Some("2026-01-01T00:00:00+02:00".into()), ..Default::default() }.params().is_ok());
    }

    #[test]
    fn audit_rows_read_both_wires() {
        use base64::Engine as _;
        let payload = r#"{"receipt_id":"rcp_1","issued_at":"2026-01-01T00:00:00.000Z","action":"mail.send","decision":"allow","reason":"scope_granted","user_id":"u","agent_id":"a","authorization_id":"auth_1"}"#;
        let row = AuditRow::of(&SignedReceipt::from_json(payload).unwrap()).unwrap();
        assert_eq!((row.action.as_str(), row.decision.as_str()), ("mail.send", "allow"));
        let jws = format!(
            r#"{{"protected":"e30","payload":"{}","signature":"AA"}}"#,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.replace("\"action\"", "\"event\""))
        );
        let row = AuditRow::of(&SignedReceipt::from_json(&jws).unwrap()).unwrap();
        assert_eq!((row.receipt_id.as_str(), row.action.as_str()), ("rcp_1", "mail.send"));
        assert_eq!(row.authorization_id.as_deref(), Some("auth_1"));
    }

    #[test]
    fn api_key_names_follow_the_server_rule() {
        let ok = CreateApiKeyRequest { tier: ApiKeyTier::Runtime, name: "ci".into() };
        assert!(ok.validate().is_ok());
        let blank = CreateApiKeyRequest { name: "  ".into(), ..ok.clone() };
        assert_eq!(field(blank.validate().unwrap_err()), "name");
        assert!(ApiKeyTier::parse("root").is_err());
    }
}
