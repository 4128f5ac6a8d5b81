use allowly_core::model::Reason;
use serde_json::{Map, Value, json};

use super::*;
use crate::policy::{AuthState, Budget, CheckInput, Outcome};

fn definition(guards: Value) -> Definition {
    policy::validate_definition(&json!({
        "profile": "allowly.policy.v1", "agent_id": "agent", "default_expiry_days": null,
        "actions": [{
            "policy": {"profile": "allowly.basic.v1", "action": "pay", "decision": "allow", "target": null,
                       "fields": {"amount": "integer"},
                       "rules": [{"id": "big", "decision": "escalate", "target": "member:cfo",
                                  "conditions": [{"field": "amount", "op": "gte", "value": 1000}]},
                                 {"id": "mid", "decision": "confirm", "target": "agent_owner",
                                  "conditions": [{"field": "amount", "op": "gte", "value": 100}]},
                                 {"id": "neg", "decision": "deny", "target": null,
                                  "conditions": [{"field": "amount", "op": "lt", "value": 0}]}]},
            "guards": guards, "executable_operations": []
        }]
    }))
    .expect("valid")
}

fn run(def: &Definition, state: AuthState, ctx: Value, resource: Option<&str>, today: i64) -> Evaluation {
    let actions = vec!["pay".to_owned()];
    let view = EditionView { state, actions: &actions, definition: def, budget: None };
    let context: Map<String, Value> = ctx.as_object().cloned().unwrap_or_default();
    let input = CheckInput {
        scope: "pay",
        resource,
        context: &context,
        estimated_cost: None,
        scope_count: 1,
        today_count: today,
    };
    evaluate(&view, &input).expect("evaluates")
}

#[test]
fn the_editions_decision_maps_to_an_outcome_and_its_eval_is_kept() {
    let def = definition(json!({}));
    let active = AuthState::Active;
    assert_eq!(run(&def, active, json!({"amount": 5}), None, 0).outcome, Outcome::Allow(Reason::PolicyAllowed));
    let confirm = run(&def, active, json!({"amount": 500}), None, 0);
    assert_eq!(confirm.outcome, Outcome::NeedsConfirm { prompt: None, reason: Reason::PolicyRequiresConfirmation });
    let esc = run(&def, active, json!({"amount": 5000}), None, 0);
    assert_eq!(
        esc.outcome,
        Outcome::NeedsEscalation { targets: vec!["member:cfo".into()], reason: Reason::PolicyRequiresEscalation }
    );
    let PolicyEvalBody::Edition(pe) = esc.policy_eval.expect("eval") else { panic!("edition shape") };
    assert_eq!(pe.result.matched_rule_id.as_deref(), Some("big"));
    assert_eq!(run(&def, active, json!({"amount": -1}), None, 0).outcome, Outcome::Deny(Reason::PolicyDenied));
}

#[test]
fn state_and_grant_come_first_and_record_no_evaluation() {
    let def = definition(json!({}));
    for (state, reason) in
        [(AuthState::Revoked, Reason::AuthorizationRevoked), (AuthState::Expired, Reason::AuthorizationExpired)]
    {
        let e = run(&def, state, json!({"amount": 5}), None, 0);
        assert_eq!((e.outcome, e.policy_eval), (Outcome::Deny(reason), None));
    }
    let none: Vec<String> = Vec::new();
    let view = EditionView { state: AuthState::Active, actions: &none, definition: &def, budget: None };
    let ctx = Map::new();
    let input = CheckInput {
        scope: "pay",
        resource: None,
        context: &ctx,
        estimated_cost: None,
        scope_count: 1,
        today_count: 0,
    };
    assert_eq!(evaluate(&view, &input).expect("eval").outcome, Outcome::Deny(Reason::ScopeNotInAuthorization));
}

#[test]
fn guards_only_turn_a_decision_into_a_deny_and_keep_the_evaluation() {
    let def = definition(json!({"resource_pattern": "acct:*", "allowed_initiators": ["user"], "max_per_day": 2}));
    let ok = json!({"amount": 5, "initiator": "user"});
    assert_eq!(
        run(&def, AuthState::Active, ok.clone(), Some("acct:1"), 0).outcome,
        Outcome::Allow(Reason::PolicyAllowed)
    );
    let e = run(&def, AuthState::Active, json!({"amount": 5}), Some("acct:1"), 0);
    assert_eq!(e.outcome, Outcome::Deny(Reason::InitiatorNotAllowed));
    assert!(e.policy_eval.is_some(), "the evaluation that ran is recorded");
    assert_eq!(
        run(&def, AuthState::Active, ok.clone(), Some("card:1"), 0).outcome,
        Outcome::Deny(Reason::ResourceNotPermitted)
    );
    assert_eq!(
        run(&def, AuthState::Active, ok.clone(), Some("acct:1"), 2).outcome,
        Outcome::Deny(Reason::RateLimitExceeded)
    );
    // A policy deny wins over every guard.
    let neg = json!({"amount": -5});
    assert_eq!(run(&def, AuthState::Active, neg, None, 9).outcome, Outcome::Deny(Reason::PolicyDenied));
}

#[test]
fn a_budget_denies_what_the_edition_allows() {
    let def = definition(json!({}));
    let actions = vec!["pay".to_owned()];
    let budget = Some(Budget { limit: 100, spent: 90, reserved: 0 });
    let view = EditionView { state: AuthState::Active, actions: &actions, definition: &def, budget };
    let ctx: Map<String, Value> = json!({"amount": 5}).as_object().cloned().expect("obj");
    let input = CheckInput {
        scope: "pay",
        resource: None,
        context: &ctx,
        estimated_cost: Some(20),
        scope_count: 1,
        today_count: 0,
    };
    let e = evaluate(&view, &input).expect("eval");
    assert_eq!(e.outcome, Outcome::Deny(Reason::BudgetExceeded));
    let PolicyEvalBody::Edition(pe) = e.policy_eval.expect("eval") else { panic!("edition shape") };
    assert_eq!(pe.result.decision, "allow");
}

#[test]
fn a_context_of_the_wrong_declared_type_is_a_field_error() {
    let def = definition(json!({}));
    let actions = vec!["pay".to_owned()];
    let view = EditionView { state: AuthState::Active, actions: &actions, definition: &def, budget: None };
    let ctx: Map<String, Value> = json!({"amount": "5"}).as_object().cloned().expect("obj");
    let input = CheckInput {
        scope: "pay",
        resource: None,
        context: &ctx,
        estimated_cost: None,
        scope_count: 1,
        today_count: 0,
    };
    let err = evaluate(&view, &input).expect_err("refused");
    assert_eq!(err.status.as_u16(), 422);
    assert!(serde_json::to_string(&err.envelope()).expect("json").contains("context.amount"));
}
