//! The typed bodies of every JSON response, and the request bodies only the server reads (`requests.rs`).
//!
//! Each derives `utoipa::ToSchema`: the OpenAPI document's schemas are derived from these types (`crate::openapi`).
//!
//! **Field order is wire order.** serde_json is built without `preserve_order`, so the `json!` objects these types
//! replaced went out with their members sorted by name (byte order), and an idempotent replay — the stored text read
//! back as a `serde_json::Value` — still goes out sorted. A struct serializes in declaration order, so every struct
//! here declares its fields sorted by wire name; then a fresh answer and its replay are the same bytes, and so are
//! the bodies before and after the change. `null` members stay present (`Option` without `skip_serializing_if`)
//! unless the old body left the member out. The unit test below and `tests/wire_bytes.rs` fail on an unsorted field.
//!
//! Core's client models (`allowly_core::model`) describe the same shapes but declare fields in documentation order
//! and read more than the server writes (aliases, defaults), so they are not reused for serializing here.

mod agents;
mod decisions;
mod keys;
mod members;
mod policies;
mod requests;
mod setup;
mod webhooks;

pub use agents::*;
pub use decisions::*;
pub use keys::*;
pub use members::*;
pub use policies::*;
pub use requests::*;
pub use setup::*;
pub use webhooks::*;

use serde::Serialize;

/// The JSON text of a body, as it is answered and stored for idempotent replays.
pub fn to_text<T: Serialize>(body: &T) -> String {
    // Serializing these types cannot fail: no map has non-string keys and every value is plain data.
    serde_json::to_string(body).unwrap_or_else(|e| unreachable!("response body does not serialize: {e}"))
}

#[cfg(test)]
pub(crate) fn assert_sorted<T: Serialize>(body: &T) {
    let text = to_text(body);
    let sorted = serde_json::to_value(body).expect("value").to_string();
    assert_eq!(text, sorted, "fields must be declared in sorted order of their wire names");
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_body_serializes_its_members_sorted() {
        let pending = ReceiptEnvelope::pending("rcp_1");
        assert_sorted(&pending);
        assert_sorted(&ReceiptEnvelope::signed(json!({"b": 1, "a": 2})));
        assert_sorted(&Health { status: "ok" });
        let s = || "x".to_string();
        let created = ConfirmationCreated {
            agent_id: s(),
            authorization_id: s(),
            check_receipt_id: s(),
            confirm_expires_at: s(),
            confirmation_id: s(),
            reason: "r",
            scope: s(),
            user_id: s(),
        };
        assert_sorted(&WebhookEvent {
            data: created,
            id: "msg_1",
            timestamp: "t",
            event_type: "confirmation.created",
            workspace_id: "ws_1",
        });
        assert_sorted(&ConfirmationResolved {
            agent_id: s(),
            authorization_id: s(),
            confirmation_id: s(),
            decision: "approved",
            reason: "r",
            receipt_id: s(),
            scope: s(),
            user_id: s(),
        });
        assert_sorted(&AuthorizationRevoked {
            agent_id: s(),
            authorization_id: s(),
            reason: "r",
            receipt_id: s(),
            revoked_confirmations: vec![s()],
            user_id: s(),
        });
        let data = ResolutionEventData {
            prompt_id: s(),
            resolution_receipt_id: s(),
            source_receipt_id: None,
            status: "approved",
        };
        assert_sorted(&ResolutionEvent { data, id: "evt_1", timestamp: "t", event_type: "e", workspace_id: "w" });
        let secret = ResolutionWebhookSecret {
            created_at: None,
            credential_version: Some(1),
            enabled: true,
            endpoint_id: None,
            signing_secret: s(),
            updated_at: None,
            url: None,
            workspace_id: s(),
        };
        assert_sorted(&secret);
        assert_sorted(&ResolutionWebhookDelivery {
            attempts: 1,
            created_at: s(),
            delivered_at: None,
            event_id: s(),
            event_type: s(),
            last_error: None,
            status: "pending",
        });
        assert_sorted(&PolicyEval { field_value: serde_json::Value::Null, matched_condition: None });
        let error = crate::error::ApiError::validation(vec![crate::error::FieldError::new("f", "is required")]);
        assert_sorted(&error.envelope());
        assert_sorted(&Readiness { database: true, signer: false, status: "unavailable" });
        assert_sorted(&KeyRotation { active_from: "t".into(), key_id: "k".into(), workspace_id: "w".into() });
        let key = ApiKeyRecord {
            created_at: "t".into(),
            id: "key_1".into(),
            key: Some("allowly_rt_x".into()),
            name: "n".into(),
            prefix: "p".into(),
            revoked_at: None,
            tier: "runtime".into(),
        };
        assert_sorted(&key);
        assert_sorted(&ApiKeyList { data: vec![ApiKeyInfo::from(&key)] });
        assert_sorted(&ApiKeyRevocation { id: "key_1".into(), revoked_at: "t".into() });
        assert_sorted(&WebhookCreated {
            created_at: "t".into(),
            events: &["a"],
            signing_secret: "s".into(),
            url: "u".into(),
        });
        assert_sorted(&WebhookEndpoint {
            created_at: "t".into(),
            events: &["a"],
            updated_at: "t".into(),
            url: "u".into(),
        });
        assert_sorted(&WebhookDeleted { deleted: true });
        let key = PublicKey {
            active_from: "t".into(),
            active_until: None,
            alg: "Ed25519",
            key_id: "k".into(),
            public_key: "p".into(),
            public_key_fingerprint: "f".into(),
        };
        assert_sorted(&KeyDocument { keys: vec![key], workspace_id: "w".into() });
        let receipt = serde_json::value::RawValue::from_string(r#"{"a":1}"#.into()).expect("raw");
        assert_sorted(&AuditPage { data: vec![receipt], next_cursor: None });
        assert_sorted(&Revocation {
            authorization_id: "a".into(),
            receipt: pending.clone(),
            revoked_at: "t".into(),
            revoked_confirmations: vec!["cnf_1".into()],
        });
        assert_sorted(&Settlement {
            actual_cost_micros: 1,
            authorization_id: "a".into(),
            check_receipt_id: "c".into(),
            delta_micros: 0,
            estimated_cost_micros: 1,
            receipt: pending.clone(),
            spent_after_micros: 2,
            spent_before_micros: 1,
        });
        assert_sorted(&ConfirmationResolution {
            authorization_id: None,
            confirmation_id: "c".into(),
            decision: "denied_by_user",
            expires_at: None,
            receipt: pending.clone(),
        });
        assert_sorted(&Confirmation {
            authority_status: "none",
            authorization_id: "a".into(),
            check_receipt_id: "r".into(),
            confirm_expires_at: "t".into(),
            confirmation_id: "c".into(),
            created_at: "t".into(),
            decided_at: None,
            expires_at: None,
            receipt: Some(pending.clone()),
            resource: None,
            scope: "s".into(),
            status: "pending".into(),
            ttl_seconds: None,
        });
        for scope_field in ["scopes", "actions"] {
            for read in [false, true] {
                let body = AuthorizationBody {
                    actions: None,
                    agent_id: "a".into(),
                    authorization_id: "auth_1".into(),
                    budget_limit_micros: Some(5),
                    budget_spent_micros: Some(0),
                    created_at: "t".into(),
                    escalation_targets: Default::default(),
                    expires_at: "t".into(),
                    metadata: json!({"z": 1, "a": 2}),
                    policy_id: None,
                    receipt: Some(pending.clone()),
                    replaced_authorization_id: None,
                    requires_confirm_for: vec![],
                    requires_deny_for: vec![],
                    requires_escalation_for: Vec::new(),
                    revocation_receipt: None,
                    revoked_at: read.then_some(None),
                    scopes: None,
                    status: read.then_some("active"),
                    user_id: "u".into(),
                }
                .with_scopes(scope_field, json!(["x"]));
                assert_sorted(&body);
            }
        }
        let budget = BudgetBlock { estimated_cost_micros: 1, limit_micros: 9, spent_after_micros: 3, spent_micros: 2 };
        let result = ScopeResult {
            budget: Some(budget),
            confirm_expires_at: Some("t".into()),
            confirm_nonce: Some("n".into()),
            confirm_prompt_hint: Some("h".into()),
            confirmation_id: Some("c".into()),
            decision: "confirm",
            escalation: None,
            escalation_expires_at: None,
            escalation_id: None,
            escalation_to: None,
            policy_eval: Some(PolicyEvalBody::Conditions(PolicyEval {
                field_value: json!(3),
                matched_condition: Some(MatchedCondition { field: "f".into(), op: "gte".into(), value: json!(2) }),
            })),
            reason: "r",
            receipt: pending,
        };
        assert_sorted(&result);
        let step =
            EscalationStepBody { level: 1, receipt_id: s(), resolution: s(), resolved_by: s(), resolved_at: s() };
        assert_sorted(&step);
        assert_sorted(&EscalationResolveAnswer {
            escalation_id: s(),
            escalation_status: "pending",
            escalation_to: None,
            level: 1,
            levels: 2,
            receipt: ReceiptEnvelope::pending("rcp_1"),
            resolved_at: s(),
            resolved_by: s(),
            status: "approved",
        });
        assert_sorted(&EscalationMonitor {
            action: s(),
            authority_status: "none",
            authorization_id: s(),
            consumed_at: None,
            escalation_id: s(),
            escalation_to: s(),
            expires_at: s(),
            level: 1,
            levels: 1,
            resolution_receipt_id: None,
            resolved_at: None,
            resolved_by: None,
            resource: None,
            source_receipt_id: None,
            status: s(),
            steps: vec![step],
        });
        assert_sorted(&MemberCreated {
            created_at: s(),
            credential: s(),
            display_name: None,
            member_id: s(),
            revoked_at: None,
        });
        let info = MemberInfo { created_at: s(), display_name: None, member_id: s(), revoked_at: None };
        assert_sorted(&MemberList { members: vec![info] });
        assert_sorted(&MemberRevocation { member_id: s(), revoked_at: s() });
        assert_sorted(&EscalationResolvedEvent {
            agent_id: s(),
            authorization_id: s(),
            check_receipt_id: s(),
            escalation_id: s(),
            level: 1,
            levels: 1,
            receipt_id: s(),
            resolved_by: s(),
            scope: s(),
            status: "approved",
            user_id: s(),
        });
        assert_sorted(&EscalationExpiredEvent {
            agent_id: s(),
            authorization_id: s(),
            check_receipt_id: s(),
            escalation_expires_at: s(),
            escalation_id: s(),
            escalation_to: s(),
            level: 1,
            reason: "r",
            receipt_id: s(),
            scope: s(),
            user_id: s(),
        });
        assert_sorted(&CheckBody {
            agent_id: None,
            authorization_expires_at: None,
            authorization_id: "a".into(),
            engine_version: "e",
            results: [("z".to_string(), result.clone()), ("a".to_string(), result)].into_iter().collect(),
            user_id: None,
        });
    }
}
