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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::policy::validate_definition;

    fn definition(fields: Value, rules: Value, decision: &str, target: Value) -> Definition {
        validate_definition(&json!({
            "profile": "allowly.policy.v1",
            "agent_id": "agent",
            "default_expiry_days": null,
            "actions": [{
                "policy": {"profile": "allowly.basic.v1", "action": "act", "decision": decision, "target": target,
                           "fields": fields, "rules": rules},
                "guards": {}, "executable_operations": []
            }]
        }))
        .unwrap()
    }

    fn rule(id: &str, decision: &str, target: Value, conditions: Value) -> Value {
        json!({"id": id, "decision": decision, "target": target, "conditions": conditions})
    }

    fn result(def: &Definition, context: Value) -> PolicyResult {
        evaluate(def, "act", &context).unwrap().result
    }

    #[test]
    fn refusals_name_the_action_or_the_context_field() {
        let def = definition(json!({"risk": "integer", "tags": "list"}), json!([]), "allow", Value::Null);
        assert_eq!(evaluate(&def, "other", &json!({})).unwrap_err().path, "action");
        assert_eq!(evaluate(&def, "act", &json!([1])).unwrap_err().path, "context");
        assert_eq!(evaluate(&def, "act", &json!({"risk": true})).unwrap_err().path, "context.risk");
        assert_eq!(evaluate(&def, "act", &json!({"risk": "2"})).unwrap_err().path, "context.risk");
        assert_eq!(evaluate(&def, "act", &json!({"tags": [["x"]]})).unwrap_err().path, "context.tags");
        assert_eq!(evaluate(&def, "act", &json!({"tags": "x"})).unwrap_err().path, "context.tags");
        assert_eq!(evaluate(&def, "act", &json!({"other": 1.5})).unwrap_err().path, "context.other");
        // Undeclared fields may hold anything the context limits allow.
        assert!(evaluate(&def, "act", &json!({"other": {"nested": [true]}})).is_ok());
    }

    #[test]
    fn typed_equality_never_mixes_booleans_and_integers() {
        let rules =
            json!([rule("r", "deny", Value::Null, json!([{"field": "tags", "op": "contains_any", "value": [1]}]))]);
        let def = definition(json!({"tags": "list"}), rules, "allow", Value::Null);
        assert_eq!(result(&def, json!({"tags": [true]})).decision, Decision::Allow);
        assert_eq!(result(&def, json!({"tags": [1]})).decision, Decision::Deny);
        let rules = json!([rule("r", "deny", Value::Null, json!([{"field": "n", "op": "in", "value": [0, 1]}]))]);
        let def = definition(json!({"n": "integer"}), rules, "allow", Value::Null);
        assert_eq!(result(&def, json!({"n": 1})).decision, Decision::Deny);
        assert_eq!(result(&def, json!({"n": 2})).decision, Decision::Allow);
    }

    #[test]
    fn absent_fields_satisfy_only_exists_false() {
        let conditions = json!([{"field": "s", "op": "ne", "value": "x"}, {"field": "n", "op": "lt", "value": 5},
                                {"field": "n", "op": "not_in", "value": [1]}]);
        let def = definition(
            json!({"s": "string", "n": "integer"}),
            json!([rule("r", "deny", Value::Null, conditions)]),
            "allow",
            Value::Null,
        );
        assert_eq!(result(&def, json!({})).decision, Decision::Allow);
        assert_eq!(result(&def, json!({"s": "y"})).evaluated_fields, json!({"s": "y"}).as_object().unwrap().clone());
        let exists = |value: bool| {
            definition(
                json!({"v": "null"}),
                json!([rule("r", "deny", Value::Null, json!([{"field": "v", "op": "exists", "value": value}]))]),
                "allow",
                Value::Null,
            )
        };
        assert_eq!(result(&exists(true), json!({"v": null})).decision, Decision::Deny);
        assert_eq!(result(&exists(true), json!({})).decision, Decision::Allow);
        assert_eq!(result(&exists(false), json!({})).decision, Decision::Deny);
        assert_eq!(result(&exists(false), json!({"v": null})).decision, Decision::Allow);
    }

    #[test]
    fn empty_and_contains_none_on_empty_lists() {
        let rules = json!([
            rule("a", "confirm", json!("agent_owner"), json!([{"field": "t", "op": "empty", "value": true}])),
            rule("b", "deny", Value::Null, json!([{"field": "t", "op": "contains_none", "value": ["x"]}]))
        ]);
        let def = definition(json!({"t": "list"}), rules, "allow", Value::Null);
        let r = result(&def, json!({"t": []}));
        assert_eq!((r.decision, r.matched_rule_id.as_deref()), (Decision::Deny, Some("b")));
        let r = result(&def, json!({"t": ["x"]}));
        assert_eq!((r.decision, r.matched_rule_id), (Decision::Allow, None));
    }

    #[test]
    fn strictest_wins_and_the_first_of_equals_is_reported() {
        let when = json!([{"field": "n", "op": "gte", "value": 1}]);
        let rules = json!([
            rule("first-escalate", "escalate", json!("member:a"), when.clone()),
            rule("second-escalate", "escalate", json!("member:b"), when.clone()),
            rule("weaker", "confirm", json!("agent_owner"), when.clone()),
        ]);
        let def = definition(json!({"n": "integer"}), rules, "confirm", json!("agent_owner"));
        let r = result(&def, json!({"n": 1}));
        assert_eq!(r.matched_rule_id.as_deref(), Some("first-escalate"));
        assert_eq!(r.target.as_deref(), Some("member:a"));
        let r = result(&def, json!({"n": 0}));
        assert_eq!((r.decision, r.matched_rule_id, r.evaluated_fields.len()), (Decision::Confirm, None, 0));
    }

    #[test]
    fn undeclared_context_changes_the_commitment_but_not_the_result() {
        let def = definition(json!({"n": "integer"}), json!([]), "allow", Value::Null);
        let a = evaluate(&def, "act", &json!({"n": 1})).unwrap();
        let b = evaluate(&def, "act", &json!({"n": 1, "note": "x"})).unwrap();
        assert_eq!(a.result, b.result);
        assert_ne!(a.input_sha256, b.input_sha256);
    }

    #[test]
    fn serializes_to_the_wire_shape() {
        let def = definition(json!({}), json!([]), "allow", Value::Null);
        let eval = evaluate(&def, "act", &json!({})).unwrap();
        let wire = serde_json::to_value(&eval).unwrap();
        assert_eq!(
            wire["result"],
            json!({"profile": "allowly.basic.v1", "status": "ok", "decision": "allow", "target": null,
                   "matched_rule_id": null, "evaluated_fields": {}})
        );
        assert_eq!(wire["input_sha256"].as_str().unwrap().len(), 64);
        let back: PolicyEval = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(back, eval);
        let mut extra = wire;
        extra["result"]["extra"] = json!(true);
        assert!(serde_json::from_value::<PolicyEval>(extra).is_err());
    }
}
