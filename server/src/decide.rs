//! The rest of a check's decision for one scope, after [`crate::policy::evaluate`]: what the user's stored answer
//! changes, which counters move, and what the result, the receipt and the `confirmation.created` event say.
//!
//! Pure, like the evaluation order, so `routes/check.rs` only loads, calls these and stores, and every rule of a
//! decision is unit-tested without a database. Reasons stay [`Reason`] until a body or a receipt is built here, and
//! each result's decision is the reason's own ([`Reason::decision`]), so a result cannot pair them wrongly.

use allowly_core::model::{Decision, Reason};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::policy::{Grant, Outcome};
use crate::store::authorizations::AuthRow;
use crate::store::receipts::{Draft, Kind};
use crate::util;
use crate::wire::{BudgetBlock, ConfirmationCreated, EscalationBlock, PolicyEvalBody, ReceiptEnvelope, ScopeResult};

/// How long a confirmation waits for the user's answer when neither the authorization nor its policy edition says.
pub const DEFAULT_CONFIRM_TIMEOUT_SECS: i64 = 3600;
/// The shortest wait a production server allows: an answer needs a human.
pub const MIN_CONFIRM_TIMEOUT_SECS: i64 = 60;
/// The shortest wait under `--dev`, so expiry scenarios need not sleep a minute.
pub const DEV_MIN_CONFIRM_TIMEOUT_SECS: i64 = 1;
/// The longest wait: past a week the question is stale.
pub const MAX_CONFIRM_TIMEOUT_SECS: i64 = 7 * 24 * 3600;

/// The user's answer to an earlier confirmation that matches this check (`confirmations::matching_decision`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredAnswer {
    /// Nothing usable: no answer, or an approval another check consumed first.
    None,
    /// An approval, already consumed by this check (approvals are single use).
    Approved { confirmation_id: String, resource: Option<String> },
    /// A rejection still within its TTL.
    Rejected { confirmation_id: String },
}

/// The escalation a check of an escalating scope inherits from an earlier check of the same call
/// (`escalations::for_call`), already used up by this check when it is a final resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscalationAnswer {
    /// Nothing to inherit: this check opens a new escalation.
    None,
    /// Still waiting on a member: this check answers the same escalation again (no new row, no new event).
    Pending { escalation_id: String },
    /// Approved at its last level.
    Approved { escalation_id: String },
    /// Rejected at some level.
    Rejected { escalation_id: String },
}

/// The reason of a check of an escalating scope: the member's final answer when this call has one, else the escalate
/// reason of whatever asked (the policy edition's rule or the authorization's `escalation_targets`).
pub fn escalation_reason(asked: Reason, answer: &EscalationAnswer) -> Reason {
    match answer {
        EscalationAnswer::Approved { .. } => Reason::EscalationApproved,
        EscalationAnswer::Rejected { .. } => Reason::EscalationRejected,
        EscalationAnswer::None | EscalationAnswer::Pending { .. } => asked,
    }
}

/// A confirmation this check opens: what the caller needs to ask the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub confirmation_id: String,
    /// The single-use secret; only its hash is stored.
    pub nonce: String,
    pub expires_at: String,
    pub prompt_hint: String,
}

/// The final reason for one scope. Only a confirmation-needing outcome looks at the stored answer.
pub fn final_reason(outcome: &Outcome, authorization_found: bool, answer: &StoredAnswer) -> Reason {
    match outcome {
        Outcome::Deny(reason) | Outcome::Allow(reason) => *reason,
        Outcome::NeedsEscalation { reason, .. } => *reason,
        // `evaluate` denies an unknown authorization before any confirmation, so this cannot happen; if it did, the
        // safe answer is the one an unknown authorization gets.
        Outcome::NeedsConfirm { .. } if !authorization_found => Reason::AuthorizationNotFound,
        Outcome::NeedsConfirm { reason, .. } => match answer {
            StoredAnswer::Approved { .. } => Reason::UserConfirmed,
            StoredAnswer::Rejected { .. } => Reason::UserRejected,
            StoredAnswer::None => *reason,
        },
    }
}

/// Whether the per-day counter must be read: only a grant with `max_per_day` uses it, and every statement is a round
/// trip on the one write connection all decisions queue for.
pub fn reads_today_count(grants: &[Grant], scope: &str) -> bool {
    grants.iter().any(|g| g.name == scope && g.max_per_day.is_some())
}

/// How long a confirmation waits, in seconds: the authorization's timeout (its own, else the one of the edition it
/// was granted from, copied at grant), else the default; clamped to `min` (60 s, or 1 s under `--dev`) … 7 days.
/// Stored values are clamped only here, so a timeout means the same whichever server mode stored it.
pub fn confirm_timeout(requested: Option<i64>, min: i64) -> i64 {
    requested.unwrap_or(DEFAULT_CONFIRM_TIMEOUT_SECS).clamp(min, MAX_CONFIRM_TIMEOUT_SECS)
}

/// When a confirmation opened at `now` with a timeout of `timeout_secs` stops accepting its nonce.
pub fn nonce_expires_at(now: OffsetDateTime, timeout_secs: i64) -> String {
    util::fmt_ts(now + time::Duration::seconds(timeout_secs))
}

/// The text a client may show the user: the grant's `confirm_prompt`, else one naming agent, scope and resource.
pub fn prompt_hint(prompt: Option<&str>, agent_id: &str, scope: &str, resource: Option<&str>) -> String {
    match (prompt, resource) {
        (Some(p), _) => p.to_string(),
        (None, Some(r)) => format!("Allow {agent_id} to {scope} on {r}?"),
        (None, None) => format!("Allow {agent_id} to {scope}?"),
    }
}

/// `data` of the `confirmation.created` webhook event: ids, scope and reason only, never context values (wire-v1).
pub fn confirmation_created(auth: &AuthRow, scope: &str, ask: &Ask, check_receipt_id: &str) -> ConfirmationCreated {
    ConfirmationCreated {
        agent_id: auth.agent_id.clone(),
        authorization_id: auth.id.clone(),
        check_receipt_id: check_receipt_id.to_string(),
        confirm_expires_at: ask.expires_at.clone(),
        confirmation_id: ask.confirmation_id.clone(),
        reason: Reason::ScopeRequiresUserConfirmation.as_str(),
        scope: scope.to_string(),
        user_id: auth.user_id.clone(),
    }
}

/// The `budget` block of a budgeted authorization's result (and receipt context); `None` without a budget.
/// `spent_before` is set by `evaluate` only once the budget step ran. Only an allow moves the spend.
pub fn budget_block(
    limit: Option<i64>,
    spent_before: Option<i64>,
    estimate: Option<i64>,
    decision: Decision,
) -> Option<BudgetBlock> {
    let (limit, before) = (limit?, spent_before?);
    let est = estimate.unwrap_or(0);
    let after = if decision == Decision::Allow { before + est } else { before };
    Some(BudgetBlock {
        estimated_cost_micros: est,
        limit_micros: limit,
        spent_after_micros: after,
        spent_micros: before,
    })
}

/// Counter writes a decision makes, in the same transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Writes {
    /// Reserve this estimate against the budget (an allowed budgeted check).
    pub reserve: Option<i64>,
    /// Count this allow against `max_per_day`.
    pub bump_count: bool,
}

/// What an allow records: the budget reservation when a budget block was reported, the day's count when the grant
/// has `max_per_day`. Nothing else writes counters, so a deny or confirm never uses up budget or quota.
pub fn writes(
    decision: Decision,
    budget: Option<&BudgetBlock>,
    estimate: Option<i64>,
    max_per_day: Option<i64>,
) -> Writes {
    let allow = decision == Decision::Allow;
    Writes {
        reserve: (allow && budget.is_some()).then(|| estimate.unwrap_or(0)),
        bump_count: allow && max_per_day.is_some(),
    }
}

/// The receipt's `context`: the request's, plus what the audit trail needs to explain the decision (the session,
/// the confirmation and approved resource, the budget block as the result shows it).
pub fn receipt_context(
    request: &Map<String, Value>,
    session_id: Option<&str>,
    answer: &StoredAnswer,
    ask: Option<&Ask>,
    budget: Option<&Value>,
) -> Map<String, Value> {
    let mut ctx = request.clone();
    if let Some(sid) = session_id {
        ctx.insert("session_id".into(), json!(sid));
    }
    match answer {
        StoredAnswer::Approved { confirmation_id, resource } => {
            ctx.insert("confirmation_id".into(), json!(confirmation_id));
            ctx.insert("approved_resource".into(), json!(resource));
        }
        StoredAnswer::Rejected { confirmation_id } => {
            ctx.insert("confirmation_id".into(), json!(confirmation_id));
        }
        StoredAnswer::None => {}
    }
    if let Some(ask) = ask {
        ctx.insert("confirmation_id".into(), json!(ask.confirmation_id));
    }
    if let Some(b) = budget {
        ctx.insert("budget".into(), b.clone());
    }
    ctx
}

/// Where one check's receipt is issued and what it is about (the same for every scope of the check).
pub struct ReceiptSite<'a> {
    pub receipt_id: &'a str,
    pub workspace_id: &'a str,
    pub now: &'a str,
    pub auth: Option<&'a AuthRow>,
    pub scope: &'a str,
    pub resource: Option<&'a str>,
}

/// The action receipt of one scope's decision.
pub fn check_receipt(
    site: &ReceiptSite<'_>,
    reason: Reason,
    context: Map<String, Value>,
    policy_eval: Option<PolicyEvalBody>,
) -> Draft {
    let auth = site.auth;
    Draft {
        receipt_id: site.receipt_id.to_string(),
        workspace_id: site.workspace_id.to_string(),
        issued_at: site.now.to_string(),
        user_id: auth.map(|a| a.user_id.clone()).unwrap_or_default(),
        agent_id: auth.map(|a| a.agent_id.clone()).unwrap_or_default(),
        kind: Kind::Action { scope: site.scope.to_string(), reason },
        resource: site.resource.map(str::to_string),
        context,
        authorization_id: auth.map(|a| a.id.clone()),
        engine_version: crate::engine_version().into(),
        policy_eval,
        policy_ref: auth.and_then(|a| a.policy.clone()),
    }
}

/// The event receipt of a confirmation's end, whichever way it ends (approved, rejected, expired): one shape, so an
/// answer and an expiry can never describe the same confirmation differently. `extra` joins the context.
pub fn confirmation_receipt(
    receipt_id: String,
    row: &crate::store::confirmations::ConfRow,
    auth: &AuthRow,
    now: &str,
    event: crate::store::receipts::Event,
    extra: impl IntoIterator<Item = (&'static str, Value)>,
) -> Draft {
    let mut context = Map::new();
    context.insert("confirmation_id".into(), Value::from(row.id.clone()));
    context.insert("scope".into(), Value::from(row.scope.clone()));
    context.insert("check_receipt_id".into(), Value::from(row.check_receipt_id.clone()));
    for (name, value) in extra {
        context.insert(name.into(), value);
    }
    Draft {
        receipt_id,
        workspace_id: row.workspace_id.clone(),
        issued_at: now.to_owned(),
        user_id: auth.user_id.clone(),
        agent_id: auth.agent_id.clone(),
        kind: Kind::Event(event),
        resource: row.resource.clone(),
        context,
        authorization_id: Some(auth.id.clone()),
        engine_version: crate::engine_version().into(),
        policy_eval: None,
        policy_ref: auth.policy.clone(),
    }
}

/// One entry of the response's `results`: every member present, `null` when it does not apply.
pub fn scope_result(
    reason: Reason,
    receipt: ReceiptEnvelope,
    ask: Option<&Ask>,
    escalation: Option<&EscalationBlock>,
    budget: Option<BudgetBlock>,
    policy_eval: Option<PolicyEvalBody>,
) -> ScopeResult {
    ScopeResult {
        budget,
        confirm_expires_at: ask.map(|a| a.expires_at.clone()),
        confirm_nonce: ask.map(|a| a.nonce.clone()),
        confirm_prompt_hint: ask.map(|a| a.prompt_hint.clone()),
        confirmation_id: ask.map(|a| a.confirmation_id.clone()),
        decision: reason.decision().as_str(),
        escalation: escalation.cloned(),
        escalation_expires_at: escalation.map(|e| e.expires_at.clone()),
        escalation_id: escalation.map(|e| e.escalation_id.clone()),
        escalation_to: escalation.map(|e| e.escalation_to.clone()),
        policy_eval,
        reason: reason.as_str(),
        receipt,
    }
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
