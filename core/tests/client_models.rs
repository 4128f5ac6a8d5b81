//! Wire models (request shapes, lenient/strict response parsing, receipt envelopes) and the client's secret hygiene
//! (Debug, error messages) and configuration rules.

mod client_support;

use std::time::Duration;

use allowly_core::model::{
    Authorization, AuthorizationStatus, CheckRequest, CheckResponse, Condition, ConditionOp, ConfirmationStatus,
    CreateAuthorizationRequest, Decision, ReceiptEnvelope, ReceiptStatus, ScopeConstraints, ScopeGrant, ScopeResult,
    SignedReceipt, reason,
};
use allowly_core::{Client, ClientConfig, Error};
use client_support::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[test]
fn create_request_sends_scopes_and_omits_absent_fields() {
    let request = CreateAuthorizationRequest::new("user_1", "agent_1", ["email.read"]);
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"user_id": "user_1", "agent_id": "agent_1", "scopes": ["email.read"]})
    );

    let constraints = ScopeConstraints {
        max_per_day: Some(20),
        resource_pattern: Some("gmail:thread:*".into()),
        confirm_when: vec![Condition::new("amount", ConditionOp::Gte, 100)],
        deny_when: vec![Condition::new("recipient_domain", ConditionOp::In, json!(["evil.test"]))],
        confirm_prompt: Some("Send this email?".into()),
    };
    let request = CreateAuthorizationRequest::new(
        "user_1",
        "agent_1",
        [ScopeGrant::from("email.read"), ScopeGrant::with_constraints("email.send", constraints)],
    )
    .with_expires_at("2026-12-31T00:00:00Z")
    .with_budget_limit_micros(50_000_000)
    .with_requires_confirm_for(["email.send"]);
    let value = serde_json::to_value(&request).unwrap();
    assert!(value.get("actions").is_none());
    assert_eq!(value["scopes"][0], json!("email.read"));
    assert_eq!(
        value["scopes"][1],
        json!({"name": "email.send", "constraints": {
            "max_per_day": 20,
            "resource_pattern": "gmail:thread:*",
            "confirm_when": [{"field": "amount", "op": "gte", "value": 100}],
            "deny_when": [{"field": "recipient_domain", "op": "in", "value": ["evil.test"]}],
            "confirm_prompt": "Send this email?"
        }})
    );
    assert_eq!(value["budget_limit_micros"], json!(50_000_000));
    assert_eq!(value["requires_confirm_for"], json!(["email.send"]));
    assert!(
        value.get("metadata").is_none() && value.get("replaces").is_none() && value.get("requires_deny_for").is_none()
    );
}

#[test]
fn check_request_sends_scopes_and_never_the_wait_flag() {
    let request = CheckRequest::new(AUTH_ID, ["email.send"]).with_resource("gmail:thread:abc123").with_wait(true);
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"authorization_id": AUTH_ID, "scopes": ["email.send"], "resource": "gmail:thread:abc123"})
    );
    let read: CheckRequest = serde_json::from_value(json!({"authorization_id": "a", "actions": ["x"]})).unwrap();
    assert_eq!(read.scopes, ["x"]);
}

#[test]
fn responses_accept_actions_and_ignore_unknown_fields() {
    let mut body = authorization_body();
    let scopes = body.as_object_mut().unwrap().remove("scopes").unwrap();
    body["actions"] = scopes;
    body["status"] = json!("revoked");
    body["some_future_field"] = json!({"nested": true});
    body["requires_deny_for"] = json!(null);
    body["scopes_extra"] = json!(1);
    let authorization: Authorization = serde_json::from_value(body).unwrap();
    assert_eq!(authorization.scope_names().collect::<Vec<_>>(), ["email.read", "email.send"]);
    assert_eq!(authorization.status, Some(AuthorizationStatus::Revoked));
    assert!(authorization.requires_deny_for.is_empty(), "null lists read as empty");
    assert_eq!(authorization.receipt.as_ref().unwrap().status(), ReceiptStatus::Pending);

    let detailed: ScopeGrant = serde_json::from_value(json!({"name": "email.send"})).unwrap();
    assert_eq!(detailed.name(), "email.send");
    assert_eq!(detailed.constraints(), Some(&ScopeConstraints::default()));
    let op: ConditionOp = serde_json::from_value(json!("neq")).unwrap();
    assert_eq!(op, ConditionOp::Ne);
}

#[test]
fn check_response_parses_every_result_field() {
    let body = check_body(json!({
        "email.send": {
            "decision": "confirm",
            "reason": "scope_requires_user_confirmation",
            "receipt": pending("rcp_1"),
            "confirm_nonce": "nonce-SECRET-value",
            "confirmation_id": "cnf_1",
            "confirm_expires_at": "2026-01-01T00:05:00Z",
            "confirm_prompt_hint": "Send it?",
            "budget": {"limit_micros": 100, "spent_micros": 10, "estimated_cost_micros": 5, "spent_after_micros": 10},
            "policy_eval": {"matched_condition": {"field": "amount", "op": "gte", "value": 100}, "field_value": 120},
            "new_field": 1
        }
    }));
    let response: CheckResponse = serde_json::from_value(body).unwrap();
    let result = response.result("email.send").unwrap();
    assert_eq!(result.decision, Decision::Confirm);
    assert_eq!(result.decision.as_str(), "confirm");
    assert_eq!(result.reason, reason::SCOPE_REQUIRES_USER_CONFIRMATION);
    assert_eq!(result.confirm_nonce.as_deref(), Some("nonce-SECRET-value"));
    assert_eq!(result.budget.unwrap().spent_after_micros, Some(10));
    assert!(!result.is_fallback);

    let debug = format!("{result:?}");
    assert!(!debug.contains("nonce-SECRET-value"), "nonce leaked into Debug: {debug}");
    assert!(debug.contains("confirm_nonce: Some(\"[redacted]\")"), "{debug}");
    assert!(debug.contains("cnf_1"), "{debug}");
    assert!(!format!("{response:?}").contains("nonce-SECRET-value"));
}

#[tokio::test]
async fn missing_required_fields_are_protocol_errors_naming_the_field() {
    let server = MockServer::start().await;
    let mut body = check_body(json!({"email.send": result("allow", "scope_granted")}));
    body.as_object_mut().unwrap().remove("engine_version");
    Mock::given(method("POST"))
        .and(path("/v1/check"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let error = client(&server).check(&CheckRequest::new(AUTH_ID, ["email.send"])).await.unwrap_err();
    match error {
        Error::Protocol { message } => {
            assert!(message.contains("POST /v1/check"), "{message}");
            assert!(message.contains("engine_version"), "{message}");
        }
        other => panic!("expected Protocol, got {other:?}"),
    }

    let server = MockServer::start().await;
    let mut body = authorization_body();
    body.as_object_mut().unwrap().remove("created_at");
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(body)).mount(&server).await;
    match client(&server).get_authorization(AUTH_ID).await.unwrap_err() {
        Error::Protocol { message } => assert!(message.contains("created_at"), "{message}"),
        other => panic!("expected Protocol, got {other:?}"),
    }
}

#[test]
fn signed_envelopes_keep_the_exact_receipt_bytes() {
    let text = signed_envelope_text("rcp_SIGNED");
    let envelope: ReceiptEnvelope = serde_json::from_str(&text).unwrap();
    assert_eq!(envelope.status(), ReceiptStatus::Signed);
    assert_eq!(envelope.status().as_str(), "signed");
    assert_eq!(envelope.receipt_id(), "rcp_SIGNED");
    let signed = envelope.as_signed().unwrap();
    assert_eq!(signed.json(), signed_receipt_text("rcp_SIGNED"), "byte-identical");
    assert_eq!(signed.receipt_id(), "rcp_SIGNED");

    // Back to the wire shape, receipt bytes untouched.
    let out = serde_json::to_string(&envelope).unwrap();
    assert_eq!(
        out,
        format!(r#"{{"status":"signed","receipt_id":"rcp_SIGNED","receipt":{}}}"#, signed_receipt_text("rcp_SIGNED"))
    );
    let again: ReceiptEnvelope = serde_json::from_str(&out).unwrap();
    assert_eq!(again, envelope);
    assert_eq!(serde_json::to_value(&envelope).unwrap()["receipt"]["nested"]["a"], json!([1, 2]));

    let bare = SignedReceipt::from_json(&signed_receipt_text("rcp_SIGNED")).unwrap();
    assert_eq!(&bare, signed);
}

#[test]
fn pending_envelopes_round_trip() {
    let envelope: ReceiptEnvelope = serde_json::from_value(json!({
        "status": "pending", "receipt_id": "rcp_P", "ready_at_estimate": "2026-01-01T00:00:01Z", "url": "/v1/receipts/rcp_P"
    }))
    .unwrap();
    assert_eq!(envelope.receipt_id(), "rcp_P");
    assert!(!envelope.is_signed());
    assert_eq!(
        serde_json::to_value(&envelope).unwrap(),
        json!({"status": "pending", "receipt_id": "rcp_P", "ready_at_estimate": "2026-01-01T00:00:01Z", "url": "/v1/receipts/rcp_P"})
    );
}

#[test]
fn inconsistent_envelopes_are_rejected() {
    let cases = [
        (r#"{"status":"pending"}"#, "receipt_id"),
        (r#"{"status":"signed"}"#, "receipt"),
        (r#"{"status":"signed","receipt":null}"#, "receipt"),
        (r#"{"status":"signed","receipt":[1]}"#, "object"),
        (r#"{"status":"signed","receipt":{"decision":"allow"}}"#, "receipt_id"),
        (r#"{"status":"signed","receipt_id":"rcp_A","receipt":{"receipt_id":"rcp_B"}}"#, "does not match"),
        (r#"{"status":"lost","receipt_id":"rcp_A"}"#, "lost"),
        (r#"{"receipt_id":"rcp_A"}"#, "status"),
    ];
    for (text, needle) in cases {
        let error = serde_json::from_str::<ReceiptEnvelope>(text).expect_err(text).to_string();
        assert!(error.contains(needle), "{text}: {error}");
    }
    // A signed receipt whose id the probe cannot read is kept when the envelope names it (the verifier judges it).
    let envelope: ReceiptEnvelope =
        serde_json::from_str(r#"{"status":"signed","receipt_id":"rcp_A","receipt":{"receipt_id":7}}"#).unwrap();
    assert_eq!(envelope.receipt_id(), "rcp_A");
}

#[test]
fn enums_have_stable_names() {
    assert_eq!(Decision::Escalate.as_str(), "escalate");
    assert_eq!(ConfirmationStatus::DeniedByUser.as_str(), "denied_by_user");
    assert_eq!(AuthorizationStatus::Expired.to_string(), "expired");
    assert_eq!(reason::FALLBACK_CLOSED_TIMEOUT, "fallback_closed_timeout");
    assert_eq!(serde_json::to_value(Decision::Allow).unwrap(), json!("allow"));
}

#[test]
fn debug_never_prints_the_api_key() {
    let config = ClientConfig::new(KEY);
    let debug = format!("{config:?}");
    assert!(!debug.contains(KEY), "{debug}");
    assert!(debug.contains("allowly_rt_…[redacted]"), "{debug}");
    let client = Client::new(config).unwrap();
    let debug = format!("{client:?}");
    assert!(!debug.contains(KEY) && !debug.contains("do-not-leak"), "{debug}");

    let setup = format!("{:?}", ClientConfig::new(format!("allowly_setup_{}", "secretsecretsecret")));
    assert!(setup.contains("allowly_setup_…[redacted]") && !setup.contains("secretsecret"), "{setup}");
    let other = format!("{:?}", ClientConfig::new("sk-something-secret"));
    assert!(!other.contains("something"), "{other}");
}

#[tokio::test]
async fn server_messages_echoing_the_key_are_redacted() {
    let server = MockServer::start().await;
    let body = json!({"error": {"code": "invalid_api_key", "message": format!("key {KEY} is unknown"),
        "fields": [{"field": "authorization", "message": format!("Bearer {KEY}")}]}});
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(401).set_body_json(body)).mount(&server).await;
    let error = client(&server).get_authorization(AUTH_ID).await.unwrap_err();
    let display = error.to_string();
    assert!(!display.contains(KEY), "{display}");
    assert!(!format!("{error:?}").contains(KEY), "{error:?}");
    assert!(display.contains("[redacted]"), "{display}");

    let server = MockServer::start().await;
    let body = json!({"error": {"code": "validation_error", "message": format!("other key allowly_rt_{} echoed", "AbCdEfGh0123456789")}});
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(422).set_body_json(body)).mount(&server).await;
    let display = client(&server).get_authorization(AUTH_ID).await.unwrap_err().to_string();
    assert!(!display.contains("AbCdEfGh0123456789"), "key-shaped tokens are redacted too: {display}");
}

#[test]
fn https_is_required_unless_insecure_http_is_allowed() {
    let error = Client::new(ClientConfig::new(KEY).with_base_url("http://localhost:8080")).unwrap_err();
    match &error {
        Error::Config { message } => assert!(message.contains("HTTPS is required"), "{message}"),
        other => panic!("expected Config, got {other:?}"),
    }
    let client =
        Client::new(ClientConfig::new(KEY).with_base_url("http://localhost:8080/").with_allow_insecure_http(true))
            .unwrap();
    assert_eq!(client.base_url(), "http://localhost:8080");
    let client = Client::new(ClientConfig::new(KEY).with_base_url("https://api.example.test/prefix///")).unwrap();
    assert_eq!(client.base_url(), "https://api.example.test/prefix");
    assert_eq!(Client::new(ClientConfig::new(KEY)).unwrap().base_url(), "https://api.allowly.ai");

    for bad in ["ftp://example.test", "not a url", "https://example.test/?q=1"] {
        let error = Client::new(ClientConfig::new(KEY).with_base_url(bad)).unwrap_err();
        assert!(matches!(error, Error::Config { .. }), "{bad}: {error:?}");
    }
}

#[test]
fn bad_api_keys_are_config_errors_that_do_not_echo_the_key() {
    for bad in ["", "allowly_rt_has space-SECRETPART", "allowly_rt_newline\nSECRETPART", "allowly_rt_ümlaut-SECRETPART"]
    {
        let error = Client::new(ClientConfig::new(bad)).unwrap_err();
        assert!(matches!(error, Error::Config { .. }), "{error:?}");
        assert!(!error.to_string().contains("SECRETPART"), "{error}");
    }
}

#[test]
fn zero_timeouts_are_rejected() {
    let error = Client::new(ClientConfig::new(KEY).with_check_timeout(Duration::ZERO)).unwrap_err();
    assert!(matches!(error, Error::Config { .. }));
}

#[test]
fn scope_result_serializes_the_nonce_for_the_caller() {
    // Serialization is the caller's own copy (bindings hand it over as a dict); only Debug redacts.
    let result: ScopeResult = serde_json::from_value(json!({
        "decision": "confirm", "reason": "scope_requires_user_confirmation", "receipt": null, "confirm_nonce": "n1"
    }))
    .unwrap();
    assert_eq!(serde_json::to_value(&result).unwrap()["confirm_nonce"], json!("n1"));
}

#[test]
fn a_signed_wire_5_receipt_is_identified_by_its_payload() {
    use base64::Engine as _;
    let payload = serde_json::json!({"receipt_id": "rcp_jws", "schema_version": "5"});
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string());
    let jws = serde_json::json!({"protected": "e30", "payload": b64, "signature": "AA"}).to_string();
    let signed = allowly_core::model::SignedReceipt::from_json(&jws).expect("a JWS receipt");
    assert_eq!(signed.receipt_id(), "rcp_jws");
    let envelope: allowly_core::model::ReceiptEnvelope =
        serde_json::from_str(&format!(r#"{{"status":"signed","receipt":{jws}}}"#)).expect("signed envelope");
    assert_eq!(envelope.receipt_id(), "rcp_jws");
}
