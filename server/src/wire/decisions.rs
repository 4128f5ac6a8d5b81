//! Bodies of the decision routes: authorizations, checks, confirmations, settlements and receipt envelopes.
//! Fields are declared in sorted order of their wire names (see the module above).

use std::collections::BTreeMap;

use allowly_core::model::ReceiptStatus;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::util;

/// A receipt as every decision and `GET /v1/receipts/{id}` show it: pending until the signer ran, then signed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ReceiptEnvelope {
    Pending(PendingReceipt),
    Signed(SignedReceipt),
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PendingReceipt {
    pub ready_at_estimate: String,
    pub receipt_id: String,
    pub status: &'static str,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignedReceipt {
    /// The signed receipt as stored by the signer (Allowly Receipt Format wire 4; verify it with the workspace's key
    /// document).
    #[schema(value_type = Object)]
    pub receipt: Value,
    pub status: &'static str,
}

impl ReceiptEnvelope {
    /// The envelope of a receipt row just written: the signer usually signs within half a second.
    pub fn pending(receipt_id: &str) -> Self {
        let ready = util::fmt_ts(util::now() + time::Duration::milliseconds(500));
        Self::Pending(PendingReceipt {
            ready_at_estimate: ready,
            receipt_id: receipt_id.to_string(),
            status: ReceiptStatus::Pending.as_str(),
            url: format!("/v1/receipts/{receipt_id}"),
        })
    }

    pub fn signed(receipt: Value) -> Self {
        Self::Signed(SignedReceipt { receipt, status: ReceiptStatus::Signed.as_str() })
    }
}

/// The authorization of `POST /v1/authorizations` and `GET /v1/authorizations/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthorizationBody {
    // The grants, under the name the creating request used (`actions` sorts first, `scopes` after `revoked_at`).
    /// The grants, when the creating request named them `actions`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Value>,
    pub agent_id: String,
    pub authorization_id: String,
    pub budget_limit_micros: Option<i64>,
    pub budget_spent_micros: Option<i64>,
    pub created_at: String,
    /// `{scope: "member:<id>" | ["member:<level 1>", "member:<level 2>"]}`, as created.
    #[schema(value_type = Object)]
    pub escalation_targets: serde_json::Map<String, Value>,
    pub expires_at: String,
    pub metadata: Value,
    pub policy_id: Option<String>,
    /// The `authorization.create` receipt; `null` only if its row is gone.
    pub receipt: Option<ReceiptEnvelope>,
    pub replaced_authorization_id: Option<String>,
    pub requires_confirm_for: Vec<String>,
    pub requires_deny_for: Vec<String>,
    pub requires_escalation_for: Vec<String>,
    /// The predecessor's revoke receipt, for an authorization created with `replaces`.
    pub revocation_receipt: Option<ReceiptEnvelope>,
    /// Only a read answers `status` and `revoked_at` (then `null` until revoked); a create leaves both out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Option<String>>,
    /// The grants, when the creating request named them `scopes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    pub user_id: String,
}

impl AuthorizationBody {
    /// Puts the grants under `scopes` or `actions`, whichever the creating request used.
    pub fn with_scopes(mut self, field: &str, grants: Value) -> Self {
        if field == "actions" {
            self.actions = Some(grants);
        } else {
            self.scopes = Some(grants);
        }
        self
    }
}

/// `DELETE /v1/authorizations/{id}`; stored with the authorization and answered again to a second revoke.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Revocation {
    pub authorization_id: String,
    pub receipt: ReceiptEnvelope,
    pub revoked_at: String,
    pub revoked_confirmations: Vec<String>,
}

/// `POST /v1/check`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckBody {
    pub agent_id: Option<String>,
    pub authorization_expires_at: Option<String>,
    pub authorization_id: String,
    pub engine_version: &'static str,
    // A `BTreeMap` answers them sorted by scope name, as the `Value` map did.
    /// One result per requested scope, by scope name.
    pub results: BTreeMap<String, ScopeResult>,
    pub user_id: Option<String>,
}

/// One entry of a check's `results`. Every member is always present, `null` when it does not apply.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScopeResult {
    pub budget: Option<BudgetBlock>,
    pub confirm_expires_at: Option<String>,
    pub confirm_nonce: Option<String>,
    pub confirm_prompt_hint: Option<String>,
    pub confirmation_id: Option<String>,
    pub decision: &'static str,
    /// On escalate (policy editions only; left out otherwise): the escalation and whom it went to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EscalationBlock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation_expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation_to: Option<String>,
    pub policy_eval: Option<PolicyEvalBody>,
    pub reason: &'static str,
    pub receipt: ReceiptEnvelope,
}

/// The `escalation` member of an escalated result, as the official 0.8.0 SDK reads it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EscalationBlock {
    pub escalation_id: String,
    pub escalation_to: String,
    pub expires_at: String,
    pub status: &'static str,
}

/// `policy_eval` of a result and its receipt: the scope conditions' shape for scope-based authorizations, the
/// official `{input_sha256, result}` for authorizations granted from a policy edition.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum PolicyEvalBody {
    Conditions(PolicyEval),
    Edition(EditionEval),
}

/// An edition's evaluation (allowly.basic.v1), members sorted as on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EditionEval {
    /// Lowercase hex SHA-256 of canonical `{"policy", "action", "context"}`.
    pub input_sha256: String,
    pub result: EditionResult,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EditionResult {
    pub decision: &'static str,
    #[schema(value_type = Object)]
    pub evaluated_fields: Value,
    pub matched_rule_id: Option<String>,
    pub profile: String,
    pub status: String,
    pub target: Option<String>,
}

impl From<allowly_core::model::PolicyEval> for PolicyEvalBody {
    fn from(pe: allowly_core::model::PolicyEval) -> Self {
        let r = pe.result;
        PolicyEvalBody::Edition(EditionEval {
            input_sha256: pe.input_sha256,
            result: EditionResult {
                decision: r.decision.as_str(),
                evaluated_fields: Value::Object(r.evaluated_fields),
                matched_rule_id: r.matched_rule_id,
                profile: r.profile,
                status: r.status,
                target: r.target,
            },
        })
    }
}

/// `policy_eval` of a result and its receipt: the condition that decided, with the context value it saw (`null`s
/// when a grant's conditions were evaluated and none matched).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PolicyEval {
    pub field_value: Value,
    pub matched_condition: Option<MatchedCondition>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MatchedCondition {
    pub field: String,
    pub op: String,
    pub value: Value,
}

/// The `budget` block of a budgeted authorization's result; the receipt context records the same members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct BudgetBlock {
    pub estimated_cost_micros: i64,
    pub limit_micros: i64,
    pub spent_after_micros: i64,
    pub spent_micros: i64,
}

/// `POST /v1/confirmations/{nonce}`. Only an approval has an authorization and an expiry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConfirmationResolution {
    pub authorization_id: Option<String>,
    pub confirmation_id: String,
    pub decision: &'static str,
    pub expires_at: Option<String>,
    pub receipt: ReceiptEnvelope,
}

/// `GET /v1/confirmations/{id}`: never the nonce.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Confirmation {
    /// Whether the approval can still be used (`none`, `available`, `expired`, `revoked`), as the monitor view says.
    pub authority_status: &'static str,
    pub authorization_id: String,
    pub check_receipt_id: String,
    pub confirm_expires_at: String,
    pub confirmation_id: String,
    pub created_at: String,
    pub decided_at: Option<String>,
    pub expires_at: Option<String>,
    /// The resolution's receipt, once resolved.
    pub receipt: Option<ReceiptEnvelope>,
    pub resource: Option<String>,
    pub scope: String,
    pub status: String,
    pub ttl_seconds: Option<i64>,
}

/// `GET /v1/confirmations/{confirmation_id}/status`: the monitor view the official 0.8.0 SDK reads
/// (`confirmations.get_status`). It never carries the nonce.
///
/// `status` speaks the 0.8.0 words (`rejected`, not `denied_by_user`). An approval here is carried by the asking
/// authorization itself (no child grant is minted), so `child_authorization_id` names that authorization while the
/// approval is usable (`authority_status` `available`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConfirmationMonitor {
    pub action: String,
    pub authority_expires_at: Option<String>,
    /// `none`, `available`, `expired` or `revoked`.
    pub authority_status: &'static str,
    pub authorization_id: String,
    pub child_authorization_id: Option<String>,
    pub confirmation_id: String,
    /// The nonce's expiry while pending, the decision's once resolved.
    pub expires_at: String,
    pub resolution_receipt_id: Option<String>,
    pub resolved_at: Option<String>,
    pub resource: Option<String>,
    pub source_receipt_id: Option<String>,
    /// `pending`, `approved`, `rejected` or `expired`.
    pub status: &'static str,
}

/// `GET /v1/escalations/{escalation_id}`: the monitor view the official 0.8.0 SDK reads (`escalations.get_status`),
/// plus the levels: which one waits now and who resolved each.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EscalationMonitor {
    pub action: String,
    /// `available` for an approval no check has used yet, `consumed` once one did, `revoked` / `expired` when its
    /// authorization is; `none` otherwise (pending, rejected, expired).
    pub authority_status: &'static str,
    pub authorization_id: String,
    pub consumed_at: Option<String>,
    pub escalation_id: String,
    /// The member asked at the current level (`member:<id>`); the last level's once resolved.
    pub escalation_to: String,
    pub expires_at: String,
    /// The level waiting now (the last one resolved once the escalation is).
    pub level: i64,
    pub levels: i64,
    pub resolution_receipt_id: Option<String>,
    pub resolved_at: Option<String>,
    /// `member:<id>` of the final resolver; `null` while pending or expired.
    pub resolved_by: Option<String>,
    pub resource: Option<String>,
    pub source_receipt_id: Option<String>,
    pub status: String,
    /// Each resolved level, level 1 first.
    pub steps: Vec<super::EscalationStepBody>,
}

/// `POST /v1/budget-settlements`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Settlement {
    pub actual_cost_micros: i64,
    pub authorization_id: String,
    pub check_receipt_id: String,
    pub delta_micros: i64,
    pub estimated_cost_micros: i64,
    pub receipt: ReceiptEnvelope,
    pub spent_after_micros: i64,
    pub spent_before_micros: i64,
}
