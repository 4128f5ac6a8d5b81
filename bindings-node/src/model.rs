//! JS shapes of the wire models: camelCase plain objects, converted from and to allowly-core's serde types.
//!
//! Each object mirrors one core type field for field; nothing is validated or defaulted here (core does that), so
//! the conversions are total. Reason codes are strings in core (new server reasons must pass through) and typed as
//! the `Reason` union in TypeScript via the d.ts header (`dts-header.d.ts`).

use std::collections::HashMap;

use allowly_core::model as core;
use napi::Either;
use napi_derive::napi;
use serde_json::{Map, Value};

#[napi(string_enum = "snake_case")]
pub enum Decision {
    Allow,
    Confirm,
    Deny,
    Escalate,
}

impl From<core::Decision> for Decision {
    fn from(d: core::Decision) -> Self {
        match d {
            core::Decision::Allow => Decision::Allow,
            core::Decision::Confirm => Decision::Confirm,
            core::Decision::Deny => Decision::Deny,
            core::Decision::Escalate => Decision::Escalate,
        }
    }
}

#[napi(string_enum = "snake_case")]
pub enum ReceiptStatus {
    Pending,
    Signed,
}

/// A receipt as the server hands it out. A signed one keeps the exact JSON text the server sent in `json`, which is
/// what `verifyReceipt` must see; `status`, `receiptId` and `json` are also all a `SignedReceipt` has.
#[napi(object)]
pub struct ReceiptEnvelope {
    pub status: ReceiptStatus,
    pub receipt_id: String,
    pub ready_at_estimate: Option<String>,
    pub url: Option<String>,
    /// The signed receipt's exact JSON text (signed envelopes only).
    pub json: Option<String>,
}

/// A signed receipt: its id and its exact JSON text. Pass it to `verifyReceipt` as is.
#[napi(object)]
pub struct SignedReceipt {
    #[napi(ts_type = "'signed'")]
    pub status: String,
    pub receipt_id: String,
    pub json: String,
}

impl From<core::SignedReceipt> for SignedReceipt {
    fn from(r: core::SignedReceipt) -> Self {
        SignedReceipt { status: "signed".into(), receipt_id: r.receipt_id().to_owned(), json: r.json().to_owned() }
    }
}

impl From<core::ReceiptEnvelope> for ReceiptEnvelope {
    fn from(e: core::ReceiptEnvelope) -> Self {
        match e {
            core::ReceiptEnvelope::Pending { receipt_id, ready_at_estimate, url } => {
                ReceiptEnvelope { status: ReceiptStatus::Pending, receipt_id, ready_at_estimate, url, json: None }
            }
            core::ReceiptEnvelope::Signed(signed) => ReceiptEnvelope {
                status: ReceiptStatus::Signed,
                receipt_id: signed.receipt_id().to_owned(),
                ready_at_estimate: None,
                url: None,
                json: Some(signed.json().to_owned()),
            },
        }
    }
}

#[napi(string_enum = "snake_case")]
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

#[napi(object)]
pub struct Condition {
    pub field: String,
    pub op: ConditionOp,
    /// Compared value; ignored by `exists`, a list for `in`.
    pub value: Option<Value>,
}

#[napi(object)]
pub struct ScopeConstraints {
    pub max_per_day: Option<u32>,
    pub resource_pattern: Option<String>,
    pub confirm_when: Option<Vec<Condition>>,
    pub deny_when: Option<Vec<Condition>>,
    pub confirm_prompt: Option<String>,
}

/// A scope with constraints; a bare string grants the scope without any.
#[napi(object)]
pub struct ScopeGrant {
    pub name: String,
    pub constraints: Option<ScopeConstraints>,
}

fn conditions_to_core(list: Option<Vec<Condition>>) -> Vec<core::Condition> {
    list.unwrap_or_default()
        .into_iter()
        .map(|c| core::Condition { field: c.field, op: c.op.into(), value: c.value.unwrap_or(Value::Null) })
        .collect()
}

fn conditions_from_core(list: Vec<core::Condition>) -> Option<Vec<Condition>> {
    (!list.is_empty()).then(|| {
        list.into_iter().map(|c| Condition { field: c.field, op: c.op.into(), value: Some(c.value) }).collect()
    })
}

fn grant_to_core(grant: Either<String, ScopeGrant>) -> core::ScopeGrant {
    match grant {
        Either::A(name) => core::ScopeGrant::Name(name),
        Either::B(ScopeGrant { name, constraints: None }) => core::ScopeGrant::Name(name),
        Either::B(ScopeGrant { name, constraints: Some(c) }) => core::ScopeGrant::with_constraints(
            name,
            core::ScopeConstraints {
                max_per_day: c.max_per_day,
                resource_pattern: c.resource_pattern,
                confirm_when: conditions_to_core(c.confirm_when),
                deny_when: conditions_to_core(c.deny_when),
                confirm_prompt: c.confirm_prompt,
            },
        ),
    }
}

fn grant_from_core(grant: core::ScopeGrant) -> Either<String, ScopeGrant> {
    match grant {
        core::ScopeGrant::Name(name) => Either::A(name),
        core::ScopeGrant::Detailed { name, constraints: c } => Either::B(ScopeGrant {
            name,
            constraints: Some(ScopeConstraints {
                max_per_day: c.max_per_day,
                resource_pattern: c.resource_pattern,
                confirm_when: conditions_from_core(c.confirm_when),
                deny_when: conditions_from_core(c.deny_when),
                confirm_prompt: c.confirm_prompt,
            }),
        }),
    }
}

/// Arguments of `authorizations.create`.
#[napi(object)]
pub struct CreateAuthorizationRequest {
    /// Opaque user id; use `identifiers.fromEmail` rather than a raw email address.
    pub user_id: String,
    pub agent_id: String,
    pub scopes: Vec<Either<String, ScopeGrant>>,
    /// RFC 3339; the server defaults to 90 days.
    pub expires_at: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    pub budget_limit_micros: Option<i64>,
    pub requires_confirm_for: Option<Vec<String>>,
    pub requires_deny_for: Option<Vec<String>>,
    /// An authorization this one supersedes; the server revokes it in the same transaction.
    pub replaces: Option<String>,
}

impl From<CreateAuthorizationRequest> for core::CreateAuthorizationRequest {
    fn from(r: CreateAuthorizationRequest) -> Self {
        core::CreateAuthorizationRequest {
            user_id: r.user_id,
            agent_id: r.agent_id,
            scopes: r.scopes.into_iter().map(grant_to_core).collect(),
            expires_at: r.expires_at,
            metadata: r.metadata,
            budget_limit_micros: r.budget_limit_micros,
            requires_confirm_for: r.requires_confirm_for.unwrap_or_default(),
            requires_deny_for: r.requires_deny_for.unwrap_or_default(),
            replaces: r.replaces,
        }
    }
}

#[napi(string_enum = "snake_case")]
pub enum AuthorizationStatus {
    Active,
    Revoked,
    Expired,
}

#[napi(object)]
pub struct Authorization {
    pub authorization_id: String,
    pub user_id: String,
    pub agent_id: String,
    pub scopes: Vec<Either<String, ScopeGrant>>,
    pub created_at: String,
    pub expires_at: String,
    pub requires_confirm_for: Vec<String>,
    pub requires_deny_for: Vec<String>,
    pub policy_id: Option<String>,
    pub budget_limit_micros: Option<i64>,
    pub budget_spent_micros: Option<i64>,
    pub metadata: Option<Map<String, Value>>,
    /// Only on `get`; a created authorization is active.
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
            scopes: a.scopes.into_iter().map(grant_from_core).collect(),
            created_at: a.created_at,
            expires_at: a.expires_at,
            requires_confirm_for: a.requires_confirm_for,
            requires_deny_for: a.requires_deny_for,
            policy_id: a.policy_id,
            budget_limit_micros: a.budget_limit_micros,
            budget_spent_micros: a.budget_spent_micros,
            metadata: a.metadata,
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

#[napi(object)]
pub struct RevokeOptions {
    /// Who revoked: `user`, `admin`, … (recorded in the revoke receipt).
    pub revoked_by: String,
    pub notes: Option<String>,
}

#[napi(object)]
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

/// Arguments of `check`.
#[napi(object)]
pub struct CheckRequest {
    pub authorization_id: String,
    /// 1–32 unique scope names.
    pub scopes: Vec<String>,
    /// The target of the action (an identifier, never its contents).
    pub resource: Option<String>,
    /// Facts for `confirm_when` / `deny_when`; recorded in the signed receipt.
    pub context: Option<Map<String, Value>>,
    pub session_id: Option<String>,
    /// Required by budgeted authorizations (one scope per check).
    pub estimated_cost_micros: Option<i64>,
    /// Let the server wait up to 5 s so the returned receipts are already signed.
    pub wait: Option<bool>,
}

impl From<CheckRequest> for core::CheckRequest {
    fn from(r: CheckRequest) -> Self {
        core::CheckRequest {
            authorization_id: r.authorization_id,
            scopes: r.scopes,
            resource: r.resource,
            context: r.context,
            session_id: r.session_id,
            estimated_cost_micros: r.estimated_cost_micros,
            wait: r.wait.unwrap_or(false),
        }
    }
}

#[napi(object)]
pub struct BudgetInfo {
    pub limit_micros: i64,
    pub spent_micros: i64,
    pub estimated_cost_micros: Option<i64>,
    pub spent_after_micros: Option<i64>,
}

impl From<core::BudgetInfo> for BudgetInfo {
    fn from(b: core::BudgetInfo) -> Self {
        BudgetInfo {
            limit_micros: b.limit_micros,
            spent_micros: b.spent_micros,
            estimated_cost_micros: b.estimated_cost_micros,
            spent_after_micros: b.spent_after_micros,
        }
    }
}

/// The result for one scope.
#[napi(object)]
pub struct ScopeResult {
    pub decision: Decision,
    #[napi(ts_type = "Reason")]
    pub reason: String,
    /// The action receipt; absent only for client-side fallback results.
    pub receipt: Option<ReceiptEnvelope>,
    /// On confirm: the single-use secret `confirmations.approve` takes. Treat like a password; never log it.
    pub confirm_nonce: Option<String>,
    /// On confirm: safe to log; poll it with `confirmations.get`.
    pub confirmation_id: Option<String>,
    pub confirm_expires_at: Option<String>,
    pub confirm_prompt_hint: Option<String>,
    pub budget: Option<BudgetInfo>,
    pub policy_eval: Option<Value>,
    /// True only for results made up by the client because the server was unreachable or too slow.
    pub is_fallback: bool,
}

impl From<core::ScopeResult> for ScopeResult {
    fn from(r: core::ScopeResult) -> Self {
        ScopeResult {
            decision: r.decision.into(),
            reason: r.reason,
            receipt: r.receipt.map(Into::into),
            confirm_nonce: r.confirm_nonce,
            confirmation_id: r.confirmation_id,
            confirm_expires_at: r.confirm_expires_at,
            confirm_prompt_hint: r.confirm_prompt_hint,
            budget: r.budget.map(Into::into),
            policy_eval: r.policy_eval,
            is_fallback: r.is_fallback,
        }
    }
}

#[napi(object)]
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

#[napi(object)]
pub struct ApproveOptions {
    pub approved: bool,
    /// How long the answer stays usable (the server clamps it to 60 s … 7 days).
    pub ttl_seconds: Option<u32>,
}

#[napi(object)]
pub struct ConfirmationResolution {
    #[napi(ts_type = "'approved' | 'denied_by_user'")]
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

#[napi(object)]
pub struct Confirmation {
    pub confirmation_id: String,
    #[napi(ts_type = "'pending' | 'approved' | 'denied_by_user' | 'expired' | 'consumed'")]
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

#[napi(object)]
pub struct SettlementRequest {
    pub check_receipt_id: String,
    pub actual_cost_micros: i64,
}

#[napi(object)]
pub struct Settlement {
    pub check_receipt_id: String,
    pub authorization_id: String,
    pub estimated_cost_micros: i64,
    pub actual_cost_micros: i64,
    pub delta_micros: i64,
    pub spent_before_micros: i64,
    pub spent_after_micros: i64,
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

#[cfg(test)]
mod reason_union {
    /// `dts-header.d.ts` spells the `Reason` union for TypeScript users (napi cannot generate a union from a Rust
    /// enum it does not own); it must list exactly core's reasons, in core's order.
    #[test]
    fn the_typescript_reason_union_is_cores_reason_list() {
        let header = include_str!("../dts-header.d.ts");
        let start = header.find("export type Reason =").expect("the header declares Reason");
        let union = &header[start..];
        let union = &union[..union.find("\n\n").unwrap_or(union.len())];
        let spelled: Vec<&str> =
            union.lines().filter_map(|l| l.trim().strip_prefix("| '")?.strip_suffix('\'')).collect();
        let core: Vec<&str> = allowly_core::model::Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(spelled, core, "update the Reason union in bindings-node/dts-header.d.ts (then npm run build)");
    }
}
