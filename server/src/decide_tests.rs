//! Unit tests of what follows the evaluation order: stored answers, counters, the result and the receipt.

use serde_json::json;

use super::*;
use crate::policy::parse_grants;

fn approved() -> StoredAnswer {
    StoredAnswer::Approved { confirmation_id: "cnf_a".into(), resource: Some("doc:1".into()) }
}

fn rejected() -> StoredAnswer {
    StoredAnswer::Rejected { confirmation_id: "cnf_r".into() }
}

fn ask() -> Ask {
    Ask {
        confirmation_id: "cnf_new".into(),
        nonce: "nonce".into(),
        expires_at: "2026-01-01T00:10:00.000Z".into(),
        prompt_hint: "Allow bot to mail.send?".into(),
    }
}

#[test]
fn a_needed_confirmation_is_settled_by_the_stored_answer() {
    let confirm = Outcome::NeedsConfirm { prompt: None, reason: Reason::ScopeRequiresUserConfirmation };
    assert_eq!(final_reason(&confirm, true, &StoredAnswer::None), Reason::ScopeRequiresUserConfirmation);
    assert_eq!(final_reason(&confirm, true, &approved()), Reason::UserConfirmed);
    assert_eq!(final_reason(&confirm, true, &rejected()), Reason::UserRejected);
    assert_eq!(final_reason(&confirm, false, &approved()), Reason::AuthorizationNotFound);
    // Only a confirmation-needing outcome looks at the answer.
    assert_eq!(final_reason(&Outcome::Allow(Reason::ScopeGranted), true, &rejected()), Reason::ScopeGranted);
    assert_eq!(final_reason(&Outcome::Deny(Reason::BudgetExceeded), true, &approved()), Reason::BudgetExceeded);
    let decisions: Vec<&str> = [StoredAnswer::None, approved(), rejected()]
        .iter()
        .map(|a| final_reason(&confirm, true, a).decision().as_str())
        .collect();
    assert_eq!(decisions, ["confirm", "allow", "deny"]);
}

#[test]
fn only_a_grant_with_max_per_day_reads_the_counter() {
    let grants = parse_grants(&json!(["a", {"name": "b", "constraints": {"max_per_day": 3}}]), "scopes").expect("ok");
    assert!(!reads_today_count(&grants, "a"));
    assert!(reads_today_count(&grants, "b"));
    assert!(!reads_today_count(&grants, "c"));
}

#[test]
fn prompt_hint_prefers_the_grants_prompt() {
    assert_eq!(prompt_hint(Some("Pay?"), "bot", "pay", Some("inv:1")), "Pay?");
    assert_eq!(prompt_hint(None, "bot", "mail.send", Some("thread:9")), "Allow bot to mail.send on thread:9?");
    assert_eq!(prompt_hint(None, "bot", "mail.send", None), "Allow bot to mail.send?");
}

#[test]
fn nonces_expire_their_timeout_after_the_check() {
    let now = time::macros::datetime!(2026-04-21 23:55:00.123456 UTC);
    assert_eq!(nonce_expires_at(now, 600), "2026-04-22T00:05:00.123Z");
    assert_eq!(nonce_expires_at(now, DEFAULT_CONFIRM_TIMEOUT_SECS), "2026-04-22T00:55:00.123Z");
}

#[test]
fn confirm_timeouts_default_to_an_hour_and_are_clamped() {
    let min = MIN_CONFIRM_TIMEOUT_SECS;
    assert_eq!(confirm_timeout(None, min), 3600);
    assert_eq!(confirm_timeout(Some(120), min), 120);
    assert_eq!(confirm_timeout(Some(5), min), 60);
    assert_eq!(confirm_timeout(Some(5), DEV_MIN_CONFIRM_TIMEOUT_SECS), 5);
    assert_eq!(confirm_timeout(Some(0), DEV_MIN_CONFIRM_TIMEOUT_SECS), 1);
    assert_eq!(confirm_timeout(Some(30 * 24 * 3600), min), 7 * 24 * 3600);
}

#[test]
fn only_an_allow_moves_budget_and_quota() {
    let b = budget_block(Some(100), Some(60), Some(30), Decision::Allow).expect("budgeted");
    assert_eq!(
        serde_json::to_value(b).expect("json"),
        json!({"limit_micros": 100, "spent_micros": 60, "estimated_cost_micros": 30, "spent_after_micros": 90})
    );
    let denied = budget_block(Some(100), Some(60), Some(50), Decision::Deny).expect("budgeted");
    assert_eq!(denied.spent_after_micros, 60);
    // No budget, or the budget step never ran (an earlier deny): no block.
    assert_eq!(budget_block(None, Some(60), Some(1), Decision::Allow), None);
    assert_eq!(budget_block(Some(100), None, Some(1), Decision::Deny), None);

    assert_eq!(writes(Decision::Allow, Some(&b), Some(30), Some(5)), Writes { reserve: Some(30), bump_count: true });
    assert_eq!(writes(Decision::Allow, None, Some(30), None), Writes { reserve: None, bump_count: false });
    for decision in [Decision::Deny, Decision::Confirm] {
        assert_eq!(writes(decision, Some(&b), Some(30), Some(5)), Writes { reserve: None, bump_count: false });
    }
}

#[test]
fn the_receipt_context_explains_the_decision() {
    let request = json!({"amount": 5}).as_object().cloned().expect("object");
    let plain = receipt_context(&request, None, &StoredAnswer::None, None, None);
    assert_eq!(Value::Object(plain), json!({"amount": 5}));
    let budget = json!({"limit_micros": 1});
    let full = receipt_context(&request, Some("s1"), &approved(), None, Some(&budget));
    assert_eq!(
        Value::Object(full),
        json!({"amount": 5, "session_id": "s1", "confirmation_id": "cnf_a", "approved_resource": "doc:1",
               "budget": {"limit_micros": 1}})
    );
    let no_resource = StoredAnswer::Approved { confirmation_id: "cnf_a".into(), resource: None };
    let ctx = receipt_context(&request, None, &no_resource, None, None);
    assert_eq!(ctx.get("approved_resource"), Some(&Value::Null), "present, null");
    let ctx = receipt_context(&request, None, &rejected(), None, None);
    assert_eq!(Value::Object(ctx), json!({"amount": 5, "confirmation_id": "cnf_r"}));
    let ctx = receipt_context(&request, None, &StoredAnswer::None, Some(&ask()), None);
    assert_eq!(Value::Object(ctx), json!({"amount": 5, "confirmation_id": "cnf_new"}));
}

#[test]
fn results_always_carry_every_member_in_wire_order() {
    let envelope = ReceiptEnvelope::pending("rcp_1");
    let receipt = serde_json::to_value(&envelope).expect("json");
    let allow = serde_json::to_value(scope_result(Reason::ScopeGranted, envelope.clone(), None, None, None, None))
        .expect("json");
    assert_eq!(
        allow,
        json!({"confirm_nonce": null, "confirmation_id": null, "confirm_expires_at": null,
               "confirm_prompt_hint": null, "budget": null, "decision": "allow", "reason": "scope_granted",
               "receipt": receipt, "policy_eval": null})
    );
    // With serde_json's `preserve_order` the members keep this order; without it they are sorted either way.
    let wire_order = [
        "confirm_nonce",
        "confirmation_id",
        "confirm_expires_at",
        "confirm_prompt_hint",
        "budget",
        "decision",
        "reason",
        "receipt",
        "policy_eval",
    ];
    let mut sorted = wire_order;
    sorted.sort_unstable();
    let keys: Vec<&str> = allow.as_object().expect("object").keys().map(String::as_str).collect();
    assert!(keys == wire_order || keys == sorted, "{keys:?}");
    let confirm = scope_result(Reason::ScopeRequiresUserConfirmation, envelope, Some(&ask()), None, None, None);
    crate::wire::assert_sorted(&confirm);
    let confirm = serde_json::to_value(confirm).expect("json");
    assert_eq!(confirm["decision"], json!("confirm"));
    assert_eq!(confirm["confirm_nonce"], json!("nonce"));
    assert_eq!(confirm["confirmation_id"], json!("cnf_new"));
    assert_eq!(confirm["confirm_expires_at"], json!("2026-01-01T00:10:00.000Z"));
    assert_eq!(confirm["confirm_prompt_hint"], json!("Allow bot to mail.send?"));
}

#[test]
fn the_receipt_records_the_reasons_own_decision() {
    let auth = AuthRow { id: "auth_1".into(), user_id: "u".into(), agent_id: "bot".into(), ..AuthRow::default() };
    let site = ReceiptSite {
        receipt_id: "rcp_1",
        workspace_id: "ws_1",
        now: "t",
        auth: Some(&auth),
        scope: "a",
        resource: None,
    };
    let draft = check_receipt(&site, Reason::UserRejected, Map::new(), None);
    assert_eq!((draft.decision(), draft.reason()), ("deny", "user_rejected"));
    assert_eq!((draft.user_id.as_str(), draft.authorization_id.as_deref()), ("u", Some("auth_1")));
    let unknown = ReceiptSite { auth: None, ..site };
    let draft = check_receipt(&unknown, Reason::AuthorizationNotFound, Map::new(), None);
    assert_eq!((draft.user_id.as_str(), draft.authorization_id), ("", None));

    let event = confirmation_created(&auth, "a", &ask(), "rcp_1");
    assert_eq!(
        serde_json::to_value(event).expect("json"),
        json!({"confirmation_id": "cnf_new", "authorization_id": "auth_1", "user_id": "u", "agent_id": "bot",
               "scope": "a", "reason": "scope_requires_user_confirmation", "check_receipt_id": "rcp_1",
               "confirm_expires_at": "2026-01-01T00:10:00.000Z"})
    );
}

#[test]
fn an_escalation_answers_with_the_members_final_resolution_or_asks_again() {
    let id = || "esc_1".to_string();
    let asked = Reason::ScopeRequiresEscalation;
    assert_eq!(escalation_reason(asked, &EscalationAnswer::None), asked);
    assert_eq!(escalation_reason(asked, &EscalationAnswer::Pending { escalation_id: id() }), asked);
    let approved = escalation_reason(asked, &EscalationAnswer::Approved { escalation_id: id() });
    assert_eq!((approved, approved.decision()), (Reason::EscalationApproved, Decision::Allow));
    let rejected =
        escalation_reason(Reason::PolicyRequiresEscalation, &EscalationAnswer::Rejected { escalation_id: id() });
    assert_eq!((rejected, rejected.decision()), (Reason::EscalationRejected, Decision::Deny));
    let outcome = Outcome::NeedsEscalation { targets: vec!["member:l1".into()], reason: asked };
    assert_eq!(final_reason(&outcome, true, &StoredAnswer::None), asked);
}
