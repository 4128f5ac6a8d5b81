//! UniFFI shapes of the wire models, converted from and to allowly-core's serde types field for field.
//!
//! Nothing is validated or defaulted here (core does that). Free-form JSON (`metadata`, `context`, a condition's
//! `value`, `policy_eval`) crosses the boundary as JSON text in `*_json` fields, since UniFFI has no JSON type.
//! The single-use confirmation nonce is an opaque [`ConfirmNonce`] object, so no generated `toString` /
//! `description` of a record can print it.

use std::fmt;
use std::sync::Arc;

use allowly_core::model as core;
use serde_json::{Map, Value};

use crate::error::{Result, invalid_input};

// Every record and enum that mirrors a core model field for field (`make models`, tools/modelgen); this file keeps
// the shapes that are Swift/Kotlin's own (receipt envelopes, grants, the opaque nonce) and the JSON-text helpers.
#[rustfmt::skip]
mod generated;
pub use generated::*;

fn parse_object(field: &str, text: Option<String>) -> Result<Option<Map<String, Value>>> {
    text.map(|t| match serde_json::from_str::<Value>(&t) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid_input(field, format!("{field} must be a JSON object"))),
        Err(e) => Err(invalid_input(field, format!("{field} is not valid JSON: {e}"))),
    })
    .transpose()
}

/// Optional JSON text of a value whose absence means `null` (a condition's compared value).
fn parse_json_or_null(field: &str, text: Option<String>) -> Result<Value> {
    match text {
        None => Ok(Value::Null),
        Some(t) => {
            serde_json::from_str(&t).map_err(|e| invalid_input(field, format!("{field} is not valid JSON: {e}")))
        }
    }
}

fn to_json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("a serde_json value always serializes")
}

/// A field-level validation problem.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl From<allowly_core::FieldError> for FieldError {
    fn from(f: allowly_core::FieldError) -> Self {
        FieldError { field: f.field, message: f.message }
    }
}

/// What `check` answers for a scope when the server cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FallbackMode {
    Closed,
    Open,
}

impl From<FallbackMode> for allowly_core::FallbackMode {
    fn from(m: FallbackMode) -> Self {
        match m {
            FallbackMode::Closed => allowly_core::FallbackMode::Closed,
            FallbackMode::Open => allowly_core::FallbackMode::Open,
        }
    }
}

/// Through core's flat `ReceiptParts`, which the generated `ReceiptEnvelope` mirrors.
impl From<core::ReceiptEnvelope> for ReceiptEnvelope {
    fn from(e: core::ReceiptEnvelope) -> Self {
        core::ReceiptParts::from(e).into()
    }
}

/// A signed receipt: its id and its exact JSON text, ready for `verify_receipt_json`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignedReceipt {
    pub receipt_id: String,
    pub json: String,
}

impl From<core::SignedReceipt> for SignedReceipt {
    fn from(s: core::SignedReceipt) -> Self {
        SignedReceipt { receipt_id: s.receipt_id().to_owned(), json: s.json().to_owned() }
    }
}

/// A granted scope; without constraints it is sent as the bare name.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ScopeGrant {
    pub name: String,
    #[uniffi(default = None)]
    pub constraints: Option<ScopeConstraints>,
}

impl ScopeGrant {
    fn into_core(self) -> Result<core::ScopeGrant> {
        Ok(match self.constraints {
            None => core::ScopeGrant::Name(self.name),
            Some(c) => core::ScopeGrant::with_constraints(self.name, c.into_core()?),
        })
    }
}

impl From<core::ScopeGrant> for ScopeGrant {
    fn from(g: core::ScopeGrant) -> Self {
        match g {
            core::ScopeGrant::Name(name) => ScopeGrant { name, constraints: None },
            core::ScopeGrant::Detailed { name, constraints } => {
                ScopeGrant { name, constraints: Some(constraints.into()) }
            }
        }
    }
}

/// The single-use secret that approves or rejects a `confirm` decision. Opaque on purpose: its text form is
/// `ConfirmNonce(<redacted>)`; [`ConfirmNonce::reveal`] is only for handing it to your own approval backend.
#[derive(PartialEq, Eq, uniffi::Object)]
#[uniffi::export(Display, Debug)]
pub struct ConfirmNonce {
    pub(crate) value: String,
}

impl fmt::Display for ConfirmNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConfirmNonce(<redacted>)")
    }
}

impl fmt::Debug for ConfirmNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[uniffi::export]
impl ConfirmNonce {
    /// Wraps a nonce received from elsewhere (e.g. your approval backend).
    #[uniffi::constructor]
    pub fn new(value: String) -> Arc<Self> {
        Arc::new(ConfirmNonce { value })
    }

    /// The secret itself. Treat like a password: never log it.
    pub fn reveal(&self) -> String {
        self.value.clone()
    }
}

/// A secret shown once by the admin API (a new API key's text, a webhook signing secret): `SecretText(<redacted>)`
/// when printed, so no generated `toString` / `description` of a record shows it; [`SecretText::reveal`] reads it.
#[derive(PartialEq, Eq, uniffi::Object)]
#[uniffi::export(Display, Debug)]
pub struct SecretText {
    pub(crate) value: String,
}

impl fmt::Display for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(<redacted>)")
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[uniffi::export]
impl SecretText {
    /// The secret itself, to store where secrets go. Never log it.
    pub fn reveal(&self) -> String {
        self.value.clone()
    }
}

/// JSON text as a value, refused as `field` when it does not parse (a lone surrogate escape does not).
pub(crate) fn parse_json(field: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| invalid_input(field, format!("{field} is not valid JSON: {e}")))
}

/// The edition a new one follows (`previous_policy_ref`), handed back as the `policy_ref` a read returned.
impl From<PolicyRef> for core::PolicyRef {
    fn from(r: PolicyRef) -> Self {
        core::PolicyRef {
            policy_id: r.policy_id,
            policy_version: r.policy_version,
            definition_sha256: r.definition_sha256,
        }
    }
}

/// Grants a user one policy edition: all its actions, or the `actions` subset (the official 0.8.0 call shape).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EditionAuthorizationRequest {
    pub user_id: String,
    pub policy_id: String,
    pub policy_version: i64,
    /// A subset of the edition's action names; all of them when absent.
    #[uniffi(default = None)]
    pub actions: Option<Vec<String>>,
    /// RFC 3339; the edition's `default_expiry_days` otherwise.
    #[uniffi(default = None)]
    pub expires_at: Option<String>,
    #[uniffi(default = None)]
    pub budget_limit_micros: Option<i64>,
    #[uniffi(default = None)]
    pub replaces: Option<String>,
    /// A JSON object as text.
    #[uniffi(default = None)]
    pub metadata_json: Option<String>,
    #[uniffi(default = None)]
    pub idempotency_key: Option<String>,
    /// How long each confirmation of this grant waits for the user's answer, in seconds (server default one hour;
    /// clamped to 60 s … 7 days, 1 s minimum under `allowly serve --dev`).
    #[uniffi(default = None)]
    pub confirmation_timeout_seconds: Option<i64>,
}

impl EditionAuthorizationRequest {
    pub(crate) fn into_core(self) -> Result<core::CreateEditionAuthorizationRequest> {
        Ok(core::CreateEditionAuthorizationRequest {
            user_id: self.user_id,
            policy_id: self.policy_id,
            policy_version: self.policy_version,
            actions: self.actions,
            expires_at: self.expires_at,
            budget_limit_micros: self.budget_limit_micros,
            replaces: self.replaces,
            metadata: parse_object("metadata_json", self.metadata_json)?.unwrap_or_default(),
            idempotency_key: self.idempotency_key,
            confirmation_timeout_seconds: self.confirmation_timeout_seconds,
        })
    }
}
