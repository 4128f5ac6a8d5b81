//! The pure decision for one action of an authorization granted from a policy edition: the edition-side
//! counterpart of [`crate::policy::evaluate`], with no I/O.
//!
//! Order: the authorization's state, the grant (a names-only subset of the edition), the edition's evaluation
//! (allowly-core; its `policy_eval` is recorded from here on, whatever decides), a policy deny, then the guards
//! (`allowed_initiators`, `resource_pattern`, `max_per_day`), the budget, and last the policy's escalate / confirm /
//! allow. A guard or the budget can only make an allowed, confirmed or escalated action a deny, never the reverse,
//! which is what the official cases show (`opa_allow_final_deny`: the edition allows, the budget denies).

use allowly_core::model::{Decision, Reason};
use allowly_core::policy::{self, Definition};
use serde_json::Value;

use crate::error::ApiError;
use crate::policy::{AuthState, Budget, CheckInput, Evaluation, Outcome, budget_step, resource_matches};
use crate::wire::PolicyEvalBody;

/// What the store read for an edition-granted authorization.
pub struct EditionView<'a> {
    pub state: AuthState,
    /// The granted action names.
    pub actions: &'a [String],
    pub definition: &'a Definition,
    pub budget: Option<Budget>,
}

/// The context member `allowed_initiators` is checked against (docs/policy-semantics.md).
pub const INITIATOR_FIELD: &str = "initiator";

pub fn evaluate(auth: &EditionView<'_>, input: &CheckInput<'_>) -> Result<Evaluation, ApiError> {
    let mut eval = Evaluation {
        outcome: Outcome::Deny(Reason::ScopeNotInAuthorization),
        policy_eval: None,
        estimate: None,
        spent_before: None,
        max_per_day: None,
    };
    match auth.state {
        AuthState::Revoked => return Ok(deny(eval, Reason::AuthorizationRevoked)),
        AuthState::Expired => return Ok(deny(eval, Reason::AuthorizationExpired)),
        AuthState::Active => {}
    }
    if !auth.actions.iter().any(|a| a == input.scope) {
        return Ok(eval);
    }
    let context = Value::Object(input.context.clone());
    let pe = policy::evaluate(auth.definition, input.scope, &context)
        .map_err(|e| crate::routes::policy_field_error(e, ""))?;
    let (decision, target) = (pe.result.decision, pe.result.target.clone());
    eval.policy_eval = Some(PolicyEvalBody::from(pe));
    if decision == Decision::Deny {
        return Ok(deny(eval, Reason::PolicyDenied));
    }
    let guards = auth.definition.guards(input.scope).unwrap_or_default();
    if let Some(allowed) = &guards.allowed_initiators {
        let initiator = input.context.get(INITIATOR_FIELD).and_then(Value::as_str);
        if !initiator.is_some_and(|i| allowed.iter().any(|a| a == i)) {
            return Ok(deny(eval, Reason::InitiatorNotAllowed));
        }
    }
    if let Some(pattern) = &guards.resource_pattern {
        if !input.resource.is_some_and(|r| resource_matches(pattern, r)) {
            return Ok(deny(eval, Reason::ResourceNotPermitted));
        }
    }
    eval.max_per_day = guards.max_per_day.map(|m| i64::try_from(m).unwrap_or(i64::MAX));
    if eval.max_per_day.is_some_and(|max| input.today_count >= max) {
        return Ok(deny(eval, Reason::RateLimitExceeded));
    }
    if budget_step(auth.budget, input, &mut eval)? {
        return Ok(eval);
    }
    eval.outcome = match decision {
        Decision::Escalate => Outcome::NeedsEscalation {
            targets: vec![target.unwrap_or_default()],
            reason: Reason::PolicyRequiresEscalation,
        },
        Decision::Confirm => Outcome::NeedsConfirm { prompt: None, reason: Reason::PolicyRequiresConfirmation },
        Decision::Allow => Outcome::Allow(Reason::PolicyAllowed),
        Decision::Deny => Outcome::Deny(Reason::PolicyDenied),
    };
    Ok(eval)
}

fn deny(mut eval: Evaluation, reason: Reason) -> Evaluation {
    eval.outcome = Outcome::Deny(reason);
    eval
}

#[cfg(test)]
#[path = "edition_tests.rs"]
mod tests;
