//! UniFFI shapes of the wire models, converted from and to allowly-core's serde types field for field.
//!
//! Nothing is validated or defaulted here (core does that). Free-form JSON (`metadata`, `context`, a condition's
//! `value`, `policy_eval`) crosses the boundary as JSON text in `*_json` fields, since UniFFI has no JSON type.
//! The single-use confirmation nonce is an opaque [`ConfirmNonce`] object, so no generated `toString` /
//! `description` of a record can print it.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use allowly_core::model as core;
use serde_json::{Map, Value};

use crate::error::{Result, invalid_input};

fn parse_object(field: &str, text: Option<String>) -> Result<Option<Map<String, Value>>> {
    text.map(|t| match serde_json::from_str::<Value>(&t) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid_input(field, format!("{field} must be a JSON object"))),
        Err(e) => Err(invalid_input(field, format!("{field} is not valid JSON: {e}"))),
    })
    .transpose()
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

/// The decision for one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DecisionKind {
    Allow,
    Confirm,
    Deny,
    Escalate,
}

impl From<core::Decision> for DecisionKind {
    fn from(d: core::Decision) -> Self {
        match d {
            core::Decision::Allow => DecisionKind::Allow,
            core::Decision::Confirm => DecisionKind::Confirm,
            core::Decision::Deny => DecisionKind::Deny,
            core::Decision::Escalate => DecisionKind::Escalate,
        }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReceiptStatus {
    Pending,
    Signed,
}

/// A receipt as the server hands it out; a signed one keeps the exact JSON text in `json` (what the verifier needs).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReceiptEnvelope {
    pub status: ReceiptStatus,
    pub receipt_id: String,
    pub ready_at_estimate: Option<String>,
    pub url: Option<String>,
    pub json: Option<String>,
}

impl From<core::ReceiptEnvelope> for ReceiptEnvelope {
    fn from(e: core::ReceiptEnvelope) -> Self {
        match e {
            core::ReceiptEnvelope::Pending { receipt_id, ready_at_estimate, url } => {
                ReceiptEnvelope { status: ReceiptStatus::Pending, receipt_id, ready_at_estimate, url, json: None }
            }
            core::ReceiptEnvelope::Signed(s) => ReceiptEnvelope {
                status: ReceiptStatus::Signed,
                receipt_id: s.receipt_id().to_owned(),
                ready_at_estimate: None,
                url: None,
                json: Some(s.json().to_owned()),
            },
        }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ConditionOp {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
    Exists,
}

impl From<ConditionOp> for core::ConditionOp {
    fn from(op: ConditionOp) -> Self {
        match op {
            ConditionOp::Eq => core::ConditionOp::Eq,
            ConditionOp::Ne => core::ConditionOp::Ne,
            ConditionOp::Lt => core::ConditionOp::Lt,
            ConditionOp::Lte => core::ConditionOp::Lte,
            ConditionOp::Gt => core::ConditionOp::Gt,
            ConditionOp::Gte => core::ConditionOp::Gte,
            ConditionOp::In => core::ConditionOp::In,
            ConditionOp::Exists => core::ConditionOp::Exists,
        }
    }
}

impl From<core::ConditionOp> for ConditionOp {
    fn from(op: core::ConditionOp) -> Self {
        match op {
            core::ConditionOp::Eq => ConditionOp::Eq,
            core::ConditionOp::Ne => ConditionOp::Ne,
            core::ConditionOp::Lt => ConditionOp::Lt,
            core::ConditionOp::Lte => ConditionOp::Lte,
            core::ConditionOp::Gt => ConditionOp::Gt,
            core::ConditionOp::Gte => ConditionOp::Gte,
            core::ConditionOp::In => ConditionOp::In,
            core::ConditionOp::Exists => ConditionOp::Exists,
        }
    }
}

/// One condition over a check's `context`; `value_json` is the compared JSON value (a list for `in`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Condition {
    pub field: String,
    pub op: ConditionOp,
    #[uniffi(default = None)]
    pub value_json: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct ScopeConstraints {
    #[uniffi(default = None)]
    pub max_per_day: Option<u32>,
    #[uniffi(default = None)]
    pub resource_pattern: Option<String>,
    #[uniffi(default = [])]
    pub confirm_when: Vec<Condition>,
    #[uniffi(default = [])]
    pub deny_when: Vec<Condition>,
    #[uniffi(default = None)]
    pub confirm_prompt: Option<String>,
}

/// A granted scope; without constraints it is sent as the bare name.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ScopeGrant {
    pub name: String,
    #[uniffi(default = None)]
    pub constraints: Option<ScopeConstraints>,
}

fn conditions_to_core(list: Vec<Condition>) -> Result<Vec<core::Condition>> {
    list.into_iter()
        .map(|c| {
            let value = match c.value_json {
                None => Value::Null,
                Some(t) => serde_json::from_str(&t)
                    .map_err(|e| invalid_input("value_json", format!("condition value is not valid JSON: {e}")))?,
            };
            Ok(core::Condition { field: c.field, op: c.op.into(), value })
        })
        .collect()
}

fn conditions_from_core(list: Vec<core::Condition>) -> Vec<Condition> {
    list.into_iter()
        .map(|c| Condition { field: c.field, op: c.op.into(), value_json: Some(to_json_text(&c.value)) })
        .collect()
}

impl ScopeGrant {
    fn into_core(self) -> Result<core::ScopeGrant> {
        Ok(match self.constraints {
            None => core::ScopeGrant::Name(self.name),
            Some(c) => core::ScopeGrant::with_constraints(
                self.name,
                core::ScopeConstraints {
                    max_per_day: c.max_per_day,
                    resource_pattern: c.resource_pattern,
                    confirm_when: conditions_to_core(c.confirm_when)?,
                    deny_when: conditions_to_core(c.deny_when)?,
                    confirm_prompt: c.confirm_prompt,
                },
            ),
        })
    }
}

impl From<core::ScopeGrant> for ScopeGrant {
    fn from(g: core::ScopeGrant) -> Self {
        match g {
            core::ScopeGrant::Name(name) => ScopeGrant { name, constraints: None },
            core::ScopeGrant::Detailed { name, constraints: c } => ScopeGrant {
                name,
                constraints: Some(ScopeConstraints {
                    max_per_day: c.max_per_day,
                    resource_pattern: c.resource_pattern,
                    confirm_when: conditions_from_core(c.confirm_when),
                    deny_when: conditions_from_core(c.deny_when),
                    confirm_prompt: c.confirm_prompt,
                }),
            },
        }
    }
}

/// Arguments of "create authorization". Use `from_email` for `user_id` rather than a raw address.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CreateAuthorizationRequest {
    pub user_id: String,
    pub agent_id: String,
    pub scopes: Vec<ScopeGrant>,
    #[uniffi(default = None)]
    pub expires_at: Option<String>,
    /// A JSON object.
    #[uniffi(default = None)]
    pub metadata_json: Option<String>,
    #[uniffi(default = None)]
    pub budget_limit_micros: Option<i64>,
    #[uniffi(default = [])]
    pub requires_confirm_for: Vec<String>,
    #[uniffi(default = [])]
    pub requires_deny_for: Vec<String>,
    #[uniffi(default = None)]
    pub replaces: Option<String>,
}

impl CreateAuthorizationRequest {
    pub(crate) fn into_core(self) -> Result<core::CreateAuthorizationRequest> {
        Ok(core::CreateAuthorizationRequest {
            user_id: self.user_id,
            agent_id: self.agent_id,
            scopes: self.scopes.into_iter().map(ScopeGrant::into_core).collect::<Result<_>>()?,
            expires_at: self.expires_at,
            metadata: parse_object("metadata_json", self.metadata_json)?,
            budget_limit_micros: self.budget_limit_micros,
            requires_confirm_for: self.requires_confirm_for,
            requires_deny_for: self.requires_deny_for,
            replaces: self.replaces,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AuthorizationStatus {
    Active,
    Revoked,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Authorization {
    pub authorization_id: String,
    pub user_id: String,
    pub agent_id: String,
    pub scopes: Vec<ScopeGrant>,
    pub created_at: String,
    pub expires_at: String,
    pub requires_confirm_for: Vec<String>,
    pub requires_deny_for: Vec<String>,
    pub policy_id: Option<String>,
    pub budget_limit_micros: Option<i64>,
    pub budget_spent_micros: Option<i64>,
    pub metadata_json: Option<String>,
    /// Only on "get"; a created authorization is active.
    pub status: Option<AuthorizationStatus>,
    /// The `authorization.create` receipt (pending at creation time).
    pub receipt: Option<ReceiptEnvelope>,
    pub replaced_authorization_id: Option<String>,
    pub revocation_receipt: Option<ReceiptEnvelope>,
}

impl From<core::Authorization> for Authorization {
    fn from(a: core::Authorization) -> Self {
        Authorization {
            authorization_id: a.authorization_id,
            user_id: a.user_id,
            agent_id: a.agent_id,
            scopes: a.scopes.into_iter().map(Into::into).collect(),
            created_at: a.created_at,
            expires_at: a.expires_at,
            requires_confirm_for: a.requires_confirm_for,
            requires_deny_for: a.requires_deny_for,
            policy_id: a.policy_id,
            budget_limit_micros: a.budget_limit_micros,
            budget_spent_micros: a.budget_spent_micros,
            metadata_json: a.metadata.as_ref().map(to_json_text),
            status: a.status.map(|s| match s {
                core::AuthorizationStatus::Active => AuthorizationStatus::Active,
                core::AuthorizationStatus::Revoked => AuthorizationStatus::Revoked,
                core::AuthorizationStatus::Expired => AuthorizationStatus::Expired,
            }),
            receipt: a.receipt.map(Into::into),
            replaced_authorization_id: a.replaced_authorization_id,
            revocation_receipt: a.revocation_receipt.map(Into::into),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Revocation {
    pub authorization_id: String,
    pub revoked_at: String,
    /// The `authorization.revoke` receipt.
    pub receipt: ReceiptEnvelope,
    pub revoked_confirmations: Vec<String>,
}

impl From<core::Revocation> for Revocation {
    fn from(r: core::Revocation) -> Self {
        Revocation {
            authorization_id: r.authorization_id,
            revoked_at: r.revoked_at,
            receipt: r.receipt.into(),
            revoked_confirmations: r.revoked_confirmations,
        }
    }
}

/// Result of `settle_budget`: the check's estimate replaced by the actual cost. Settling twice is `Conflict`
/// (`already_settled`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Settlement {
    pub check_receipt_id: String,
    pub authorization_id: String,
    pub estimated_cost_micros: i64,
    pub actual_cost_micros: i64,
    /// actual − estimated.
    pub delta_micros: i64,
    pub spent_before_micros: i64,
    pub spent_after_micros: i64,
    /// The `budget.settle` event receipt.
    pub receipt: ReceiptEnvelope,
}

impl From<core::Settlement> for Settlement {
    fn from(s: core::Settlement) -> Self {
        Settlement {
            check_receipt_id: s.check_receipt_id,
            authorization_id: s.authorization_id,
            estimated_cost_micros: s.estimated_cost_micros,
            actual_cost_micros: s.actual_cost_micros,
            delta_micros: s.delta_micros,
            spent_before_micros: s.spent_before_micros,
            spent_after_micros: s.spent_after_micros,
            receipt: s.receipt.into(),
        }
    }
}

/// Arguments of `check`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CheckRequest {
    pub authorization_id: String,
    /// 1–32 unique scope names.
    pub scopes: Vec<String>,
    #[uniffi(default = None)]
    pub resource: Option<String>,
    /// A JSON object of facts for `confirm_when` / `deny_when`.
    #[uniffi(default = None)]
    pub context_json: Option<String>,
    #[uniffi(default = None)]
    pub session_id: Option<String>,
    #[uniffi(default = None)]
    pub estimated_cost_micros: Option<i64>,
    /// Let the server wait up to 5 s so the returned receipts are already signed.
    #[uniffi(default = false)]
    pub wait: bool,
}

impl CheckRequest {
    pub(crate) fn into_core(self) -> Result<core::CheckRequest> {
        Ok(core::CheckRequest {
            authorization_id: self.authorization_id,
            scopes: self.scopes,
            resource: self.resource,
            context: parse_object("context_json", self.context_json)?,
            session_id: self.session_id,
            estimated_cost_micros: self.estimated_cost_micros,
            wait: self.wait,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BudgetInfo {
    pub limit_micros: i64,
    pub spent_micros: i64,
    pub estimated_cost_micros: Option<i64>,
    pub spent_after_micros: Option<i64>,
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

/// The result for one scope.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ScopeResult {
    pub decision: DecisionKind,
    pub reason: String,
    /// The action receipt; absent only for client-side fallback results.
    pub receipt: Option<ReceiptEnvelope>,
    /// On confirm: pass it to `approve_confirmation`.
    pub confirm_nonce: Option<Arc<ConfirmNonce>>,
    /// On confirm: safe to log; wait on it with `wait_for_confirmation`.
    pub confirmation_id: Option<String>,
    pub confirm_expires_at: Option<String>,
    pub confirm_prompt_hint: Option<String>,
    pub budget: Option<BudgetInfo>,
    pub policy_eval_json: Option<String>,
    /// True only for results made up by the client because the server was unreachable or too slow.
    pub is_fallback: bool,
}

impl From<core::ScopeResult> for ScopeResult {
    fn from(r: core::ScopeResult) -> Self {
        ScopeResult {
            decision: r.decision.into(),
            reason: r.reason,
            receipt: r.receipt.map(Into::into),
            confirm_nonce: r.confirm_nonce.map(|value| Arc::new(ConfirmNonce { value })),
            confirmation_id: r.confirmation_id,
            confirm_expires_at: r.confirm_expires_at,
            confirm_prompt_hint: r.confirm_prompt_hint,
            budget: r.budget.map(|b| BudgetInfo {
                limit_micros: b.limit_micros,
                spent_micros: b.spent_micros,
                estimated_cost_micros: b.estimated_cost_micros,
                spent_after_micros: b.spent_after_micros,
            }),
            policy_eval_json: r.policy_eval.as_ref().map(to_json_text),
            is_fallback: r.is_fallback,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CheckResponse {
    pub authorization_id: Option<String>,
    pub user_id: Option<String>,
    pub agent_id: Option<String>,
    pub authorization_expires_at: Option<String>,
    /// `allowly-server/<version>`, or `allowly-core/<version> fallback` for client-side results.
    pub engine_version: String,
    /// Exactly one entry per requested scope.
    pub results: HashMap<String, ScopeResult>,
}

impl From<core::CheckResponse> for CheckResponse {
    fn from(r: core::CheckResponse) -> Self {
        CheckResponse {
            authorization_id: r.authorization_id,
            user_id: r.user_id,
            agent_id: r.agent_id,
            authorization_expires_at: r.authorization_expires_at,
            engine_version: r.engine_version,
            results: r.results.into_iter().map(|(k, v)| (k, v.into())).collect(),
        }
    }
}

/// The user's recorded answer (`decision` is `approved` or `denied_by_user`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConfirmationResolution {
    pub decision: String,
    pub confirmation_id: String,
    pub authorization_id: Option<String>,
    pub expires_at: Option<String>,
    /// The `confirmation.resolve` receipt.
    pub receipt: ReceiptEnvelope,
}

impl From<core::ConfirmationResolution> for ConfirmationResolution {
    fn from(r: core::ConfirmationResolution) -> Self {
        ConfirmationResolution {
            decision: r.decision.as_str().to_owned(),
            confirmation_id: r.confirmation_id,
            authorization_id: r.authorization_id,
            expires_at: r.expires_at,
            receipt: r.receipt.into(),
        }
    }
}

/// A confirmation's state (`status`: pending, approved, denied_by_user, expired, consumed).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Confirmation {
    pub confirmation_id: String,
    pub status: String,
    pub authorization_id: Option<String>,
    pub scope: Option<String>,
    pub resource: Option<String>,
    pub created_at: Option<String>,
    pub expires_at: Option<String>,
    pub resolved_at: Option<String>,
}

impl From<core::Confirmation> for Confirmation {
    fn from(c: core::Confirmation) -> Self {
        Confirmation {
            confirmation_id: c.confirmation_id,
            status: c.status.as_str().to_owned(),
            authorization_id: c.authorization_id,
            scope: c.scope,
            resource: c.resource,
            created_at: c.created_at,
            expires_at: c.expires_at,
            resolved_at: c.resolved_at,
        }
    }
}

/// What the confirm-flow helper shows the user for one scope (never the nonce).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConfirmPrompt {
    pub scope: String,
    pub prompt_hint: Option<String>,
    pub confirmation_id: Option<String>,
    pub resource: Option<String>,
}

impl From<allowly_core::client::ConfirmPrompt> for ConfirmPrompt {
    fn from(p: allowly_core::client::ConfirmPrompt) -> Self {
        ConfirmPrompt {
            scope: p.scope,
            prompt_hint: p.prompt_hint,
            confirmation_id: p.confirmation_id,
            resource: p.resource,
        }
    }
}
