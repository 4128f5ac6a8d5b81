//! The pure part of `POST /v1/check`: wire-v1's evaluation order for one scope, with no I/O.
//!
//! The store feeds it a snapshot read inside the decision's write transaction (authorization, today's allow count)
//! and applies the outcome (count, reservation, confirmation lookup) in that same transaction, so this module can be
//! unit-tested exhaustively and the order lives in exactly one place.

use allowly_core::model::Reason;
use serde_json::{Map, Value};

use crate::error::{ApiError, FieldError, WireCode};
use crate::parse::receipt_safe;
use crate::wire::{MatchedCondition, PolicyEval, PolicyEvalBody};

/// Condition operators of `confirm_when` / `deny_when`.
const OPS: &[&str] = &["eq", "ne", "lt", "lte", "gt", "gte", "in", "exists"];

/// One `{"field","op","value"}` condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: String,
    pub op: String,
    pub value: Value,
}

/// One granted scope with its constraints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grant {
    pub name: String,
    pub max_per_day: Option<i64>,
    pub resource_pattern: Option<String>,
    pub confirm_when: Vec<Condition>,
    pub deny_when: Vec<Condition>,
    pub confirm_prompt: Option<String>,
}

impl Grant {
    fn has_conditions(&self) -> bool {
        !self.confirm_when.is_empty() || !self.deny_when.is_empty()
    }
}

/// Parses the `scopes` / `actions` list of `POST /v1/authorizations` (names or `{"name","constraints"}` objects).
pub fn parse_grants(value: &Value, field: &str) -> Result<Vec<Grant>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut err = |f: String, m: &str| errors.push(FieldError { field: f, message: m.to_string() });
    let Value::Array(items) = value else {
        err(field.into(), "must be a list of scope names or {name, constraints} objects");
        return Err(errors);
    };
    if items.is_empty() {
        err(field.into(), "must not be empty");
    }
    let mut grants: Vec<Grant> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("{field}[{i}]");
        let grant = match item {
            Value::String(s) if !s.is_empty() => Grant { name: s.clone(), ..Grant::default() },
            Value::Object(m) => {
                let mut g = Grant::default();
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("name", Value::String(s)) if !s.is_empty() => g.name = s.clone(),
                        ("constraints", Value::Object(c)) => {
                            parse_constraints(c, &format!("{path}.constraints"), &mut g, &mut err)
                        }
                        ("constraints", Value::Null) => {}
                        ("name" | "constraints", _) => err(format!("{path}.{k}"), "has the wrong type"),
                        _ => err(format!("{path}.{k}"), "unknown field"),
                    }
                }
                if g.name.is_empty() {
                    err(format!("{path}.name"), "is required");
                }
                g
            }
            _ => {
                err(path, "must be a non-empty string or an object");
                continue;
            }
        };
        if grants.iter().any(|g| g.name == grant.name) {
            err(path.clone(), "duplicate scope");
        }
        grants.push(grant);
    }
    if errors.is_empty() { Ok(grants) } else { Err(errors) }
}

fn parse_constraints(c: &Map<String, Value>, path: &str, g: &mut Grant, err: &mut impl FnMut(String, &str)) {
    for (k, v) in c {
        let p = format!("{path}.{k}");
        match k.as_str() {
            "max_per_day" => match v.as_i64() {
                Some(n) if n >= 0 => g.max_per_day = Some(n),
                _ if v.is_null() => {}
                _ => err(p, "must be a non-negative integer"),
            },
            "resource_pattern" => match v {
                Value::String(s) if !s.is_empty() => g.resource_pattern = Some(s.clone()),
                Value::Null => {}
                _ => err(p, "must be a non-empty string"),
            },
            "confirm_prompt" => match v {
                Value::String(s) => g.confirm_prompt = Some(s.clone()),
                Value::Null => {}
                _ => err(p, "must be a string"),
            },
            "confirm_when" | "deny_when" => {
                let list = match parse_conditions(v, &p) {
                    Ok(l) => l,
                    Err((f, m)) => {
                        err(f, &m);
                        continue;
                    }
                };
                if k == "confirm_when" { g.confirm_when = list } else { g.deny_when = list }
            }
            _ => err(p, "unknown constraint"),
        }
    }
}

fn parse_conditions(v: &Value, path: &str) -> Result<Vec<Condition>, (String, String)> {
    let Value::Array(items) = v else {
        if v.is_null() {
            return Ok(Vec::new());
        }
        return Err((path.into(), "must be a list of {field, op, value} conditions".into()));
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Value::Object(m) = item else { return Err((p, "must be an object".into())) };
        if let Some(k) = m.keys().find(|k| !["field", "op", "value"].contains(&k.as_str())) {
            return Err((format!("{p}.{k}"), "unknown field".into()));
        }
        let field = m.get("field").and_then(Value::as_str).filter(|s| !s.is_empty());
        let Some(field) = field else { return Err((format!("{p}.field"), "must be a non-empty string".into())) };
        let op = m.get("op").and_then(Value::as_str).filter(|o| OPS.contains(o));
        let Some(op) = op else { return Err((format!("{p}.op"), format!("must be one of {}", OPS.join(" ")))) };
        let value = m.get("value").cloned().unwrap_or(Value::Null);
        receipt_safe(&value, &format!("{p}.value")).map_err(|m| (format!("{p}.value"), m))?;
        let ok = match op {
            "exists" => value.is_boolean(),
            "in" => value.as_array().is_some_and(|a| a.iter().all(|x| !x.is_array() && !x.is_object())),
            _ => !value.is_array() && !value.is_object(),
        };
        if !ok {
            return Err((format!("{p}.value"), format!("has the wrong type for op {op}")));
        }
        out.push(Condition { field: field.to_string(), op: op.to_string(), value });
    }
    Ok(out)
}

/// `resource_pattern` matching: `*` matches within one `:`-separated segment, `**` matches any suffix.
pub fn resource_matches(pattern: &str, resource: &str) -> bool {
    fn go(p: &[u8], r: &[u8]) -> bool {
        if p.starts_with(b"**") {
            return true;
        }
        match p.first() {
            None => r.is_empty(),
            Some(b'*') => {
                let rest = &p[1..];
                let mut i = 0;
                loop {
                    if go(rest, &r[i..]) {
                        return true;
                    }
                    if i >= r.len() || r[i] == b':' {
                        return false;
                    }
                    i += 1;
                }
            }
            Some(c) => r.first() == Some(c) && go(&p[1..], &r[1..]),
        }
    }
    go(pattern.as_bytes(), resource.as_bytes())
}

/// Evaluates one condition against the request context; returns the field value it saw (scalar or null).
fn condition_matches(c: &Condition, context: &Map<String, Value>) -> (bool, Value) {
    let field = context.get(&c.field);
    let snapshot = match field {
        Some(v @ (Value::String(_) | Value::Bool(_) | Value::Null)) => v.clone(),
        Some(Value::Number(n)) if n.is_i64() => Value::Number(n.clone()),
        _ => Value::Null,
    };
    let Some(fv) = field else {
        return (c.op == "exists" && c.value == Value::Bool(false), Value::Null);
    };
    let ord = |a: &Value, b: &Value| match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_i64().zip(y.as_i64()).map(|(x, y)| x.cmp(&y)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    };
    use std::cmp::Ordering::*;
    let m = match c.op.as_str() {
        "eq" => fv == &c.value,
        "ne" => fv != &c.value,
        "lt" => ord(fv, &c.value) == Some(Less),
        "lte" => matches!(ord(fv, &c.value), Some(Less | Equal)),
        "gt" => ord(fv, &c.value) == Some(Greater),
        "gte" => matches!(ord(fv, &c.value), Some(Greater | Equal)),
        "in" => c.value.as_array().is_some_and(|a| a.contains(fv)),
        "exists" => c.value == Value::Bool(true),
        _ => false,
    };
    (m, snapshot)
}

/// The first matching condition of an ORed list, as `policy_eval` wants it.
fn first_match(conds: &[Condition], context: &Map<String, Value>) -> Option<PolicyEval> {
    conds.iter().find_map(|c| {
        let (m, field_value) = condition_matches(c, context);
        m.then(|| {
            let matched = MatchedCondition { field: c.field.clone(), op: c.op.clone(), value: c.value.clone() };
            PolicyEval { field_value, matched_condition: Some(matched) }
        })
    })
}

fn nothing_matched() -> PolicyEval {
    PolicyEval { field_value: Value::Null, matched_condition: None }
}

/// Authorization state as seen at decision time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthState {
    Active,
    Revoked,
    Expired,
}

/// Budget counters of a budgeted authorization (micros).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub limit: i64,
    pub spent: i64,
    pub reserved: i64,
}

/// What the store read for the authorization a check names.
pub struct AuthView<'a> {
    pub state: AuthState,
    pub grants: &'a [Grant],
    pub requires_confirm_for: &'a [String],
    pub requires_deny_for: &'a [String],
    /// The members this scope escalates to (`requires_escalation_for` + `escalation_targets`), if it does.
    pub escalates_to: Option<Vec<String>>,
    pub budget: Option<Budget>,
}

/// One scope of one check request.
pub struct CheckInput<'a> {
    pub scope: &'a str,
    pub resource: Option<&'a str>,
    pub context: &'a Map<String, Value>,
    pub estimated_cost: Option<i64>,
    /// How many scopes the request names (budgeted checks allow exactly one).
    pub scope_count: usize,
    /// Allows already recorded today (UTC) for this authorization and scope.
    pub today_count: i64,
}

/// The outcome before the confirmation lookup.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Deny(Reason),
    /// Confirmation required; [`crate::decide::final_reason`] picks `reason` (the confirm) / user_confirmed /
    /// user_rejected from the user's stored answer.
    NeedsConfirm {
        prompt: Option<String>,
        reason: Reason,
    },
    /// The action goes to named members (`member:<id>`, level 1 first): a policy edition's rule (one level) or the
    /// authorization's `escalation_targets` (one or two). `reason` is the escalate reason of whichever sent it.
    NeedsEscalation {
        targets: Vec<String>,
        reason: Reason,
    },
    Allow(Reason),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub outcome: Outcome,
    pub policy_eval: Option<PolicyEvalBody>,
    /// Amount to reserve if the final decision is allow (budgeted authorizations only).
    pub estimate: Option<i64>,
    /// `spent + reserved` before this check, for the response's `budget` block.
    pub spent_before: Option<i64>,
    pub max_per_day: Option<i64>,
}

/// wire-v1's evaluation order for one scope; first match wins. `Err` is a 422 the whole request fails with.
pub fn evaluate(auth: Option<&AuthView<'_>>, input: &CheckInput<'_>) -> Result<Evaluation, ApiError> {
    let deny = |reason| Evaluation {
        outcome: Outcome::Deny(reason),
        policy_eval: None,
        estimate: None,
        spent_before: None,
        max_per_day: None,
    };
    let Some(auth) = auth else { return Ok(deny(Reason::AuthorizationNotFound)) };
    match auth.state {
        AuthState::Revoked => return Ok(deny(Reason::AuthorizationRevoked)),
        AuthState::Expired => return Ok(deny(Reason::AuthorizationExpired)),
        AuthState::Active => {}
    }
    let Some(grant) = auth.grants.iter().find(|g| g.name == input.scope) else {
        return Ok(deny(Reason::ScopeNotInAuthorization));
    };
    // Every later step either returns its deny / confirm or falls through to allow.
    let mut eval = Evaluation {
        outcome: Outcome::Allow(Reason::ScopeGranted),
        policy_eval: None,
        estimate: None,
        spent_before: None,
        max_per_day: grant.max_per_day,
    };
    if grant.has_conditions() {
        eval.policy_eval = Some(PolicyEvalBody::Conditions(nothing_matched()));
    }
    if auth.requires_deny_for.iter().any(|s| s == input.scope) {
        eval.outcome = Outcome::Deny(Reason::DenyConditionMatched);
        return Ok(eval);
    }
    if let Some(pe) = first_match(&grant.deny_when, input.context) {
        eval.policy_eval = Some(PolicyEvalBody::Conditions(pe));
        eval.outcome = Outcome::Deny(Reason::DenyConditionMatched);
        return Ok(eval);
    }
    if let Some(pattern) = &grant.resource_pattern {
        if !input.resource.is_some_and(|r| resource_matches(pattern, r)) {
            eval.outcome = Outcome::Deny(Reason::ResourceNotPermitted);
            return Ok(eval);
        }
    }
    if grant.max_per_day.is_some_and(|max| input.today_count >= max) {
        eval.outcome = Outcome::Deny(Reason::RateLimitExceeded);
        return Ok(eval);
    }
    if budget_step(auth.budget, input, &mut eval)? {
        return Ok(eval);
    }
    // An authorization cannot both confirm and escalate one scope (refused at create), so the order of the two is
    // immaterial; escalation is checked first so a `confirm_when` match can never skip the approvers.
    if let Some(targets) = &auth.escalates_to {
        eval.outcome = Outcome::NeedsEscalation { targets: targets.clone(), reason: Reason::ScopeRequiresEscalation };
        return Ok(eval);
    }
    let confirm_match = first_match(&grant.confirm_when, input.context);
    if auth.requires_confirm_for.iter().any(|s| s == input.scope) || confirm_match.is_some() {
        if let Some(pe) = confirm_match {
            eval.policy_eval = Some(PolicyEvalBody::Conditions(pe));
        }
        eval.outcome = Outcome::NeedsConfirm {
            prompt: grant.confirm_prompt.clone(),
            reason: Reason::ScopeRequiresUserConfirmation,
        };
        return Ok(eval);
    }
    eval.outcome = Outcome::Allow(Reason::ScopeGranted);
    Ok(eval)
}

/// The budget step of both evaluation orders (scopes and policy editions): a budgeted check must carry one scope and
/// an estimate (else the whole request is a 422); over the limit it denies. Returns whether it denied.
pub(crate) fn budget_step(
    budget: Option<Budget>,
    input: &CheckInput<'_>,
    eval: &mut Evaluation,
) -> Result<bool, ApiError> {
    let Some(b) = budget else { return Ok(false) };
    let Some(estimate) = input.estimated_cost else {
        return Err(ApiError::field(
            WireCode::BudgetEstimateRequired,
            "estimated_cost_micros",
            "is required for an authorization with a budget",
        ));
    };
    if input.scope_count != 1 {
        return Err(ApiError::field(WireCode::BudgetSingleScope, "scopes", "a budgeted check names exactly one scope"));
    }
    eval.spent_before = Some(b.spent + b.reserved);
    if b.spent + b.reserved + estimate > b.limit {
        eval.outcome = Outcome::Deny(Reason::BudgetExceeded);
        return Ok(true);
    }
    eval.estimate = Some(estimate);
    Ok(false)
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
