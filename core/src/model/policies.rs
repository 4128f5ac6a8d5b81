//! Policy editions over HTTP (`/v1/policies`, `/v1/setup/policies/preview` and `/publish`), the call shapes of the
//! official SDK 0.8.0.
//!
//! A definition is validated here, by the same profile code the server runs (`crate::policy`), before anything is
//! sent: an invalid definition is refused in-process with the path of its first problem, never by a 422 after a
//! round trip. Responses are checked against what was sent where a mismatch would mean the server stored something
//! else than the caller believes (a digest that is not the definition's, an edition of another policy).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::policy::{PolicyEval, PolicyRef};
use crate::error::{Error, Result};
use crate::policy::{Definition, validate_definition};

/// The longest `policy_id` the server accepts.
pub const MAX_POLICY_ID_LEN: usize = 128;
/// The longest `description` of an edition.
pub const MAX_DESCRIPTION_LEN: usize = 2048;

/// Body of `POST /v1/policies` and `POST /v1/setup/policies/publish`: the definition's members with `policy_id`
/// (and the optional `description` and `previous_policy_ref`) beside them, as 0.8.0 sends it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreatePolicyRequest {
    /// Lowercase letters, digits, `_` and `-`; at most 128.
    pub policy_id: String,
    /// The complete `allowly.policy.v1` definition (`profile`, `agent_id`, `actions`, `default_expiry_days`).
    pub definition: Value,
    pub description: Option<String>,
    /// The edition this one follows; the server refuses the create when it is no longer the newest (409).
    pub previous_policy_ref: Option<PolicyRef>,
    /// Sent as the `Idempotency-Key` header; required by publish, generated per call by create otherwise.
    pub idempotency_key: Option<String>,
}

impl CreatePolicyRequest {
    pub fn new(policy_id: impl Into<String>, definition: Value) -> Self {
        CreatePolicyRequest { policy_id: policy_id.into(), definition, ..Default::default() }
    }

    /// The local checks; returns the validated definition, which the client compares the answer with.
    pub fn validate(&self) -> Result<Definition> {
        validate_policy_id("policy_id", &self.policy_id)?;
        let definition = validate_definition(&self.definition)?;
        if let Some(description) = &self.description
            && description.chars().count() > MAX_DESCRIPTION_LEN
        {
            return Err(Error::invalid_input(
                "description",
                format!("description must be at most {MAX_DESCRIPTION_LEN} characters"),
            ));
        }
        if let Some(reference) = &self.previous_policy_ref {
            validate_policy_ref("previous_policy_ref", reference)?;
        }
        if let Some(key) = &self.idempotency_key {
            validate_idempotency_key(key)?;
        }
        Ok(definition)
    }

    /// The wire body: the definition's members, then `policy_id`, `description` and `previous_policy_ref`.
    pub fn body(&self) -> Result<Value> {
        let Value::Object(mut body) = self.definition.clone() else {
            return Err(Error::invalid_input("definition", "the definition must be an object"));
        };
        body.insert("policy_id".into(), Value::String(self.policy_id.clone()));
        if let Some(description) = &self.description {
            body.insert("description".into(), Value::String(description.clone()));
        }
        if let Some(reference) = &self.previous_policy_ref {
            body.insert("previous_policy_ref".into(), to_value(reference)?);
        }
        Ok(Value::Object(body))
    }
}

/// One edition as `POST /v1/policies` (201), `GET /v1/policies/{policy_id}` and the list answer it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub policy_ref: PolicyRef,
    /// The definition exactly as retained; its digest is `policy_ref.definition_sha256`.
    pub definition: Value,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    /// Set once the policy is archived.
    #[serde(default)]
    pub deleted_at: Option<String>,
}

impl Policy {
    /// The retained definition must be the one its reference names, or the reference proves nothing.
    pub(crate) fn check_digest(&self, route: &str) -> Result<()> {
        let digest = crate::policy::definition_sha256(&self.definition)
            .map_err(|e| protocol(route, &format!("the retained definition is not canonical JSON: {e}")))?;
        if digest != self.policy_ref.definition_sha256 {
            return Err(protocol(route, "policy_ref.definition_sha256 is not the digest of the retained definition"));
        }
        Ok(())
    }
}

/// `GET /v1/policies`: one page, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyPage {
    pub items: Vec<Policy>,
    pub has_more: bool,
    /// Pass it as `cursor` for the next page; `null` on the last one.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// Body of `POST /v1/setup/policies/preview`: evaluate a definition that is not published.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyPreviewRequest {
    pub definition: Value,
    pub action: String,
    #[serde(default)]
    pub context: Map<String, Value>,
}

/// Answer of a preview: a provisional evaluation, never evidence (no receipt, no authorization).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyPreview {
    /// Always true.
    pub provisional: bool,
    pub definition_sha256: String,
    pub action: String,
    pub policy_eval: PolicyEval,
}

/// One authorization a publish moved onto the new edition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationMigration {
    pub user_id: String,
    pub previous_authorization_id: String,
    pub authorization_id: String,
}

/// Answer of `POST /v1/setup/policies/publish` (201).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyPublication {
    pub policy_ref: PolicyRef,
    pub agent_id: String,
    pub created_by: String,
    pub created_at: String,
    /// Active authorizations of the previous edition, re-granted on this one.
    #[serde(default)]
    pub authorization_migrations: Vec<AuthorizationMigration>,
    #[serde(default)]
    pub archived_policy_ids: Vec<String>,
    /// Pending confirmations of the migrated authorizations that were revoked.
    pub revoked_confirmation_count: i64,
}

/// `[a-z0-9_-]{1,128}`: the id goes into URL paths and receipts, so it is kept to characters that need no escaping.
pub(crate) fn validate_policy_id(field: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > MAX_POLICY_ID_LEN {
        return Err(Error::invalid_input(field, format!("{field} must be 1 to {MAX_POLICY_ID_LEN} characters")));
    }
    if !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-') {
        return Err(Error::invalid_input(
            field,
            format!("{field} must use lowercase letters, digits, underscore or hyphen"),
        ));
    }
    Ok(())
}

pub(crate) fn validate_policy_ref(field: &str, reference: &PolicyRef) -> Result<()> {
    validate_policy_id(&format!("{field}.policy_id"), &reference.policy_id)?;
    if reference.policy_version < 1 {
        return Err(Error::invalid_input(&format!("{field}.policy_version"), "policy_version must be >= 1"));
    }
    let digest = &reference.definition_sha256;
    if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(Error::invalid_input(
            &format!("{field}.definition_sha256"),
            "definition_sha256 must be 64 lowercase hex digits",
        ));
    }
    Ok(())
}

/// A header value: visible ASCII only, bounded like the server's idempotency keys.
pub(crate) fn validate_idempotency_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(Error::invalid_input("idempotency_key", "must be 1 to 255 visible ASCII characters"));
    }
    Ok(())
}

pub(crate) fn protocol(route: &str, message: &str) -> Error {
    Error::Protocol { message: format!("{route}: {message}") }
}

fn to_value<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::Protocol { message: format!("cannot serialize the request: {e}") })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn policy_ids_are_lowercase_slugs() {
        assert!(validate_policy_id("policy_id", "refunds-v2_a").is_ok());
        for bad in ["", "Refunds", "a b", "a/b", &"x".repeat(129)] {
            assert!(validate_policy_id("policy_id", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_body_flattens_the_definition_beside_the_policy_id() {
        let mut request = CreatePolicyRequest::new("p", json!({"profile": "allowly.policy.v1", "agent_id": "a"}));
        request.description = Some("d".into());
        assert_eq!(
            request.body().unwrap(),
            json!({"profile": "allowly.policy.v1", "agent_id": "a", "policy_id": "p", "description": "d"})
        );
    }
}
