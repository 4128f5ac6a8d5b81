//! `allowly.basic.v1` evaluation: one action's decision for one context.
//!
//! The semantics are written down in docs/policy-semantics.md and were read off the 53 signed official cases; a
//! change to anything here that changes a result must bump [`SEMANTICS_VERSION`](super::engine::SEMANTICS_VERSION).

use serde_json::{Map, Value};

use super::definition::{ActionPolicy, Condition, Definition, FieldType, Operator, Rule};
use super::digest::{check_context, input_sha256, member};
use super::error::PolicyError;
use super::validate::ACTION_PROFILE;
use crate::model::{Decision, PolicyEval, PolicyResult};

/// Evaluates `action`'s policy in `definition` for `context` and returns the `policy_eval` a receipt carries.
pub fn evaluate(definition: &Definition, action: &str, context: &Value) -> Result<PolicyEval, PolicyError> {
    let Some(policy) = definition.action(action) else {
        return Err(PolicyError::new("action", format!("action \"{action}\" is not declared in the definition")));
    };
    check_context(context)?;
    let context = context.as_object().expect("check_context admits objects only");
    check_declared_types(policy, context)?;
    let input_sha256 = input_sha256(&policy.json, action, &Value::Object(context.clone()))?;
    let result = match reported_rule(policy, context) {
        Some(rule) => PolicyResult {
            profile: ACTION_PROFILE.to_owned(),
            status: "ok".to_owned(),
            decision: rule.decision,
            target: rule.target.clone(),
            matched_rule_id: Some(rule.id.clone()),
            evaluated_fields: evaluated_fields(rule, context),
        },
        None => PolicyResult {
            profile: ACTION_PROFILE.to_owned(),
            status: "ok".to_owned(),
            decision: policy.decision,
            target: policy.target.clone(),
            matched_rule_id: None,
            evaluated_fields: Map::new(),
        },
    };
    Ok(PolicyEval { input_sha256, result })
}

/// A present declared field of the wrong type is refused rather than evaluated: every operator is defined over the
/// declared type only, and guessing (treating `"5"` as absent, or `true` as `1`) would turn a caller's mistake into
/// an allow. Failing closed makes the mistake visible.
fn check_declared_types(policy: &ActionPolicy, context: &Map<String, Value>) -> Result<(), PolicyError> {
    for (name, declared) in &policy.fields {
        if let Some(value) = context.get(name)
            && !declared.admits(value)
        {
            let message = match declared {
                FieldType::List => "must be a list of strings, integers, booleans or nulls, as declared".to_owned(),
                other => format!("must be of the declared type {}", other.name()),
            };
            return Err(PolicyError::new(member("context", name), message));
        }
    }
    Ok(())
}

/// 1 = allow … 4 = deny: the order in which a decision restricts more.
fn severity(decision: Decision) -> u8 {
    match decision {
        Decision::Allow => 1,
        Decision::Confirm => 2,
        Decision::Escalate => 3,
        Decision::Deny => 4,
    }
}

/// The rule that sets the final decision, if any.
///
/// The strictest decision wins, so a weaker rule listed first cannot loosen a stricter one listed later. A matching
/// rule as strict as the action's own decision is reported, because it names why the decision holds; among equally
/// strict matching rules the first in order is reported, so authors control which explanation appears. A deny action
/// is final: nothing can be stricter, and the official cases report no rule under it even when a deny rule matches.
fn reported_rule<'a>(policy: &'a ActionPolicy, context: &Map<String, Value>) -> Option<&'a Rule> {
    if policy.decision == Decision::Deny {
        return None;
    }
    let floor = severity(policy.decision);
    let mut best: Option<&Rule> = None;
    for rule in policy.rules.iter().filter(|r| rule_matches(r, context)) {
        let beats = match best {
            None => severity(rule.decision) >= floor,
            Some(current) => severity(rule.decision) > severity(current.decision),
        };
        if beats {
            best = Some(rule);
        }
    }
    best
}

/// Conditions are alternatives: one true condition is enough.
fn rule_matches(rule: &Rule, context: &Map<String, Value>) -> bool {
    rule.conditions.iter().any(|c| condition_holds(c, context.get(&c.field)))
}

fn condition_holds(condition: &Condition, actual: Option<&Value>) -> bool {
    let compared = &condition.value;
    let Some(actual) = actual else {
        // An absent field satisfies nothing but `exists: false`: no comparison can hold against a missing value.
        return condition.op == Operator::Exists && compared == &Value::Bool(false);
    };
    match condition.op {
        Operator::Exists => compared == &Value::Bool(true),
        Operator::Eq => typed_eq(actual, compared),
        Operator::Ne => !typed_eq(actual, compared),
        Operator::Gt => ordered(actual, compared, |a, b| a > b),
        Operator::Gte => ordered(actual, compared, |a, b| a >= b),
        Operator::Lt => ordered(actual, compared, |a, b| a < b),
        Operator::Lte => ordered(actual, compared, |a, b| a <= b),
        Operator::In => list(compared).iter().any(|v| typed_eq(actual, v)),
        Operator::NotIn => !list(compared).iter().any(|v| typed_eq(actual, v)),
        Operator::ContainsAny => overlaps(actual, compared),
        Operator::ContainsNone => !overlaps(actual, compared),
        Operator::Empty => Some(list(actual).is_empty()) == compared.as_bool(),
    }
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn overlaps(actual: &Value, compared: &Value) -> bool {
    list(actual).iter().any(|a| list(compared).iter().any(|c| typed_eq(a, c)))
}

/// Equality within one JSON type: `true` is never `1`, `"1"` never `1`.
fn typed_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_i64().is_some() && x.as_i64() == y.as_i64(),
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        _ => false,
    }
}

fn ordered(a: &Value, b: &Value, cmp: fn(i64, i64) -> bool) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => cmp(x, y),
        _ => false,
    }
}

/// The values the reported rule read, so the signed result shows what the decision was based on; a field the
/// context lacked is left out rather than shown as null, since null is itself a value a context can carry.
fn evaluated_fields(rule: &Rule, context: &Map<String, Value>) -> Map<String, Value> {
    rule.conditions.iter().filter_map(|c| context.get(&c.field).map(|v| (c.field.clone(), v.clone()))).collect()
}
