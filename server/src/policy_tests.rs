//! Unit tests of the evaluation order: one test per step, in wire-v1's order.

use serde_json::{Map, Value, json};

use super::*;

fn grants(v: Value) -> Vec<Grant> {
    parse_grants(&v, "scopes").expect("valid grants")
}

struct Fixture {
    grants: Vec<Grant>,
    confirm: Vec<String>,
    deny: Vec<String>,
    escalates_to: Option<Vec<String>>,
    budget: Option<Budget>,
    state: AuthState,
}

impl Fixture {
    fn new(g: Value) -> Self {
        Self {
            grants: grants(g),
            confirm: vec![],
            deny: vec![],
            escalates_to: None,
            budget: None,
            state: AuthState::Active,
        }
    }

    fn eval(
        &self,
        scope: &str,
        resource: Option<&str>,
        ctx: Value,
        est: Option<i64>,
        count: i64,
    ) -> Result<Evaluation, ApiError> {
        let view = AuthView {
            state: self.state,
            grants: &self.grants,
            requires_confirm_for: &self.confirm,
            requires_deny_for: &self.deny,
            escalates_to: self.escalates_to.clone(),
            budget: self.budget,
        };
        let ctx: Map<String, Value> = ctx.as_object().cloned().unwrap_or_default();
        let input =
            CheckInput { scope, resource, context: &ctx, estimated_cost: est, scope_count: 1, today_count: count };
        evaluate(Some(&view), &input)
    }

    fn outcome(&self, scope: &str) -> Outcome {
        self.eval(scope, None, json!({}), None, 0).expect("no 422").outcome
    }
}

#[test]
fn unknown_revoked_expired_and_ungranted_deny_in_order() {
    let input = CheckInput {
        scope: "a",
        resource: None,
        context: &Map::new(),
        estimated_cost: None,
        scope_count: 1,
        today_count: 0,
    };
    assert_eq!(evaluate(None, &input).expect("ok").outcome, Outcome::Deny(Reason::AuthorizationNotFound));
    let mut f = Fixture::new(json!(["a"]));
    f.state = AuthState::Revoked;
    assert_eq!(f.outcome("zzz"), Outcome::Deny(Reason::AuthorizationRevoked));
    f.state = AuthState::Expired;
    assert_eq!(f.outcome("a"), Outcome::Deny(Reason::AuthorizationExpired));
    f.state = AuthState::Active;
    assert_eq!(f.outcome("b"), Outcome::Deny(Reason::ScopeNotInAuthorization));
    assert_eq!(f.outcome("a"), Outcome::Allow(Reason::ScopeGranted));
}

#[test]
fn deny_conditions_come_before_resource_rate_budget_and_confirm() {
    let mut f = Fixture::new(json!([{"name": "a", "constraints": {
        "deny_when": [{"field": "risk", "op": "gte", "value": 80}],
        "resource_pattern": "doc:*",
        "max_per_day": 1,
    }}]));
    f.confirm = vec!["a".into()];
    let e = f.eval("a", Some("other:1"), json!({"risk": 90}), None, 5).expect("ok");
    assert_eq!(e.outcome, Outcome::Deny(Reason::DenyConditionMatched));
    assert_eq!(
        pe(&e),
        Some(json!({"matched_condition": {"field": "risk", "op": "gte", "value": 80}, "field_value": 90}))
    );
    let e = f.eval("a", Some("other:1"), json!({"risk": 10}), None, 5).expect("ok");
    assert_eq!(e.outcome, Outcome::Deny(Reason::ResourceNotPermitted));
    assert_eq!(pe(&e), Some(json!({"matched_condition": null, "field_value": null})));
    let e = f.eval("a", Some("doc:1"), json!({}), None, 1).expect("ok");
    assert_eq!(e.outcome, Outcome::Deny(Reason::RateLimitExceeded));
    let e = f.eval("a", Some("doc:1"), json!({}), None, 0).expect("ok");
    assert_eq!(e.outcome, Outcome::NeedsConfirm { prompt: None, reason: Reason::ScopeRequiresUserConfirmation });
    f.deny = vec!["a".into()];
    assert_eq!(
        f.eval("a", Some("doc:1"), json!({}), None, 0).expect("ok").outcome,
        Outcome::Deny(Reason::DenyConditionMatched)
    );
}

#[test]
fn budget_needs_an_estimate_one_scope_and_room() {
    let mut f = Fixture::new(json!(["llm"]));
    f.budget = Some(Budget { limit: 100, spent: 40, reserved: 20 });
    assert_eq!(
        f.eval("llm", None, json!({}), None, 0).err().map(|e| e.code.as_str()),
        Some("budget_estimate_required")
    );
    assert_eq!(f.eval("llm", None, json!({}), Some(41), 0).expect("ok").outcome, Outcome::Deny(Reason::BudgetExceeded));
    let e = f.eval("llm", None, json!({}), Some(40), 0).expect("ok");
    assert_eq!((e.outcome, e.estimate, e.spent_before), (Outcome::Allow(Reason::ScopeGranted), Some(40), Some(60)));
    let view = AuthView {
        state: AuthState::Active,
        grants: &f.grants,
        requires_confirm_for: &[],
        requires_deny_for: &[],
        escalates_to: None,
        budget: f.budget,
    };
    let ctx = Map::new();
    let two = CheckInput {
        scope: "llm",
        resource: None,
        context: &ctx,
        estimated_cost: Some(1),
        scope_count: 2,
        today_count: 0,
    };
    assert_eq!(evaluate(Some(&view), &two).err().map(|e| e.code.as_str()), Some("budget_single_scope"));
}

#[test]
fn confirm_when_routes_to_confirmation_with_policy_eval() {
    let f = Fixture::new(json!([{"name": "a", "constraints": {
        "confirm_when": [{"field": "amount", "op": "gt", "value": 100}, {"field": "vip", "op": "eq", "value": true}],
        "confirm_prompt": "Pay?",
    }}]));
    let e = f.eval("a", None, json!({"amount": 5, "vip": true}), None, 0).expect("ok");
    assert_eq!(
        e.outcome,
        Outcome::NeedsConfirm { prompt: Some("Pay?".into()), reason: Reason::ScopeRequiresUserConfirmation }
    );
    assert_eq!(
        pe(&e),
        Some(json!({"matched_condition": {"field": "vip", "op": "eq", "value": true}, "field_value": true}))
    );
    let e = f.eval("a", None, json!({"amount": 5}), None, 0).expect("ok");
    assert_eq!(e.outcome, Outcome::Allow(Reason::ScopeGranted));
    assert_eq!(pe(&e), Some(json!({"matched_condition": null, "field_value": null})));
}

#[test]
fn condition_operators() {
    let ctx = json!({"s": "b", "n": 3, "t": true}).as_object().cloned().unwrap_or_default();
    let m = |op: &str, field: &str, value: Value| {
        condition_matches(&Condition { field: field.into(), op: op.into(), value }, &ctx).0
    };
    assert!(m("eq", "s", json!("b")) && m("ne", "s", json!("c")));
    assert!(m("lt", "n", json!(4)) && m("lte", "n", json!(3)) && m("gt", "n", json!(2)) && m("gte", "n", json!(3)));
    assert!(!m("lt", "s", json!(4)), "mixed types never compare");
    assert!(m("in", "s", json!(["a", "b"])) && !m("in", "n", json!(["3"])));
    assert!(
        m("exists", "t", json!(true)) && m("exists", "missing", json!(false)) && !m("exists", "missing", json!(true))
    );
    assert!(!m("eq", "missing", json!(null)));
}

#[test]
fn resource_patterns_match_segments() {
    assert!(resource_matches("gmail:thread:*", "gmail:thread:abc"));
    assert!(!resource_matches("gmail:thread:*", "gmail:thread:abc:x"));
    assert!(resource_matches("gmail:**", "gmail:thread:abc:x"));
    assert!(resource_matches("gmail:*:abc", "gmail:t:abc"));
    assert!(resource_matches("a*c", "abbc") && !resource_matches("a*c", "ab:c"));
    assert!(!resource_matches("exact", "exactly"));
}

#[test]
fn grant_parsing_rejects_bad_constraints_by_path() {
    let errs = parse_grants(&json!([{"name": "a", "constraints": {"bogus": 1}}]), "scopes").expect_err("bad");
    assert_eq!(errs[0].field, "scopes[0].constraints.bogus");
    let errs = parse_grants(
        &json!([{"name": "a", "constraints": {"confirm_when": [{"field": "x", "op": "lt", "value": 1.5}]}}]),
        "actions",
    )
    .expect_err("float");
    assert_eq!(errs[0].field, "actions[0].constraints.confirm_when[0].value");
    assert!(parse_grants(&json!(["a", "a"]), "scopes").is_err());
    assert!(parse_grants(&json!([]), "scopes").is_err());
    assert!(parse_grants(&json!("a"), "scopes").is_err());
}

/// `policy_eval` as the wire and the receipt show it.
fn pe(e: &Evaluation) -> Option<Value> {
    e.policy_eval.as_ref().map(|p| serde_json::to_value(p).expect("json"))
}

#[test]
fn an_escalating_scope_escalates_after_every_deny_step_and_before_any_confirmation() {
    let mut f = Fixture::new(json!([{"name": "pay", "constraints": {
        "deny_when": [{"field": "amount", "op": "gt", "value": 100}],
        "confirm_when": [{"field": "amount", "op": "gt", "value": 10}],
    }}, "read"]));
    f.escalates_to = Some(vec!["member:l1".into(), "member:l2".into()]);
    let e = f.eval("pay", None, json!({"amount": 50}), None, 0).expect("ok");
    assert_eq!(
        e.outcome,
        Outcome::NeedsEscalation {
            targets: vec!["member:l1".into(), "member:l2".into()],
            reason: Reason::ScopeRequiresEscalation
        }
    );
    // A deny condition still denies first.
    let e = f.eval("pay", None, json!({"amount": 500}), None, 0).expect("ok");
    assert_eq!(e.outcome, Outcome::Deny(Reason::DenyConditionMatched));
}
