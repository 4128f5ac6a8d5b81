//! End-to-end flows of seed 000 against a mock server: create, check → confirm → re-check, waiting on a confirmation,
//! polling for a signed receipt, settlements, revocation and the key document.

mod client_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use allowly_core::client::{ConfirmPrompt, FetchSignedOptions};
use allowly_core::model::{
    CheckRequest, ConfirmationDecision, ConfirmationStatus, CreateAuthorizationRequest, Decision, ReceiptEnvelope,
    RevokeRequest, SettlementRequest, reason,
};
use allowly_core::{Client, Error};
use client_support::*;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Contains `/`, `+` and `?` so it must be percent-encoded in the path.
const NONCE: &str = "cn/SECRET+nonce?value";
const NONCE_PATH: &str = "/v1/confirmations/cn%2FSECRET+nonce%3Fvalue";
const RECEIPT_ID: &str = "rcp_01HZZPOLLED0000000000000001";

fn confirm_result() -> Value {
    json!({
        "decision": "confirm",
        "reason": "scope_requires_user_confirmation",
        "receipt": pending("rcp_01HZZCONFIRM0000000000000001"),
        "confirm_nonce": NONCE,
        "confirmation_id": "cnf_01HZZCONFIRMATION000000001",
        "confirm_expires_at": "2026-01-01T00:05:00Z",
        "confirm_prompt_hint": "Send this email to bob?"
    })
}

fn resolution(decision: &str) -> Value {
    json!({
        "decision": decision,
        "confirmation_id": "cnf_01HZZCONFIRMATION000000001",
        "authorization_id": if decision == "approved" { json!(AUTH_ID) } else { Value::Null },
        "expires_at": if decision == "approved" { json!("2026-01-01T00:06:00Z") } else { Value::Null },
        "receipt": pending("rcp_01HZZRESOLVE0000000000000001")
    })
}

/// First check answers confirm for `email.send` (allow for `email.read`), the re-check answers `second`.
async fn confirm_server(approved: bool, second: Value) -> MockServer {
    let server = MockServer::start().await;
    let first = check_body(json!({"email.send": confirm_result(), "email.read": result("allow", "scope_granted")}));
    Mock::given(method("POST"))
        .and(path("/v1/check"))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/check"))
        .respond_with(ResponseTemplate::new(200).set_body_json(second))
        .mount(&server)
        .await;
    let decision = if approved { "approved" } else { "denied_by_user" };
    Mock::given(method("POST"))
        .and(path(NONCE_PATH))
        .and(body_json(json!({"approved": approved})))
        .respond_with(ResponseTemplate::new(200).set_body_json(resolution(decision)))
        .expect(1)
        .mount(&server)
        .await;
    server
}

fn request() -> CheckRequest {
    CheckRequest::new(AUTH_ID, ["email.send", "email.read"]).with_resource("gmail:thread:abc123")
}

#[tokio::test]
async fn create_authorization_posts_the_seed_shape() {
    let server = MockServer::start().await;
    let mut metadata = serde_json::Map::new();
    metadata.insert("source".into(), json!("onboarding"));
    Mock::given(method("POST"))
        .and(path("/v1/authorizations"))
        .and(body_json(json!({
            "user_id": "user_1", "agent_id": "agent_1", "scopes": ["email.read", "email.send"],
            "expires_at": "2026-12-31T00:00:00Z", "metadata": {"source": "onboarding"}
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(authorization_body()))
        .expect(1)
        .mount(&server)
        .await;

    let request = CreateAuthorizationRequest::new("user_1", "agent_1", ["email.read", "email.send"])
        .with_expires_at("2026-12-31T00:00:00Z")
        .with_metadata(metadata);
    let authorization = client(&server).create_authorization(&request).await.unwrap();
    assert_eq!(authorization.authorization_id, AUTH_ID);
    assert_eq!(authorization.receipt.unwrap().status().as_str(), "pending");

    for bad in [
        CreateAuthorizationRequest::new("", "agent_1", ["email.read"]),
        CreateAuthorizationRequest::new("user_1", "", ["email.read"]),
        CreateAuthorizationRequest::new("user_1", "agent_1", Vec::<String>::new()),
    ] {
        let error = client(&server).create_authorization(&bad).await.unwrap_err();
        assert_eq!(error.code(), "invalid_input", "{error:?}");
    }
}

#[tokio::test]
async fn revoke_sends_a_json_body_with_delete() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1/authorizations/{AUTH_ID}")))
        .and(body_json(json!({"revoked_by": "user"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "authorization_id": AUTH_ID, "revoked_at": "2026-02-01T00:00:00Z",
            "receipt": pending("rcp_R"), "revoked_confirmations": ["cnf_1"]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let revocation = client(&server).revoke_authorization(AUTH_ID, &RevokeRequest::new("user")).await.unwrap();
    assert_eq!(revocation.revoked_confirmations, ["cnf_1"]);
    assert_eq!(revocation.receipt.receipt_id(), "rcp_R");
}

#[tokio::test]
async fn approved_confirmation_rechecks_to_allow() {
    let second = check_body(
        json!({"email.send": result("allow", "user_confirmed"), "email.read": result("allow", "scope_granted")}),
    );
    let server = confirm_server(true, second).await;
    let prompts: Arc<Mutex<Vec<ConfirmPrompt>>> = Arc::default();
    let seen = prompts.clone();

    let response = client(&server)
        .check_with_confirmation(&request(), move |prompt| {
            seen.lock().unwrap().push(prompt);
            async { true }
        })
        .await
        .unwrap();

    assert_eq!(response.result("email.send").unwrap().reason, reason::USER_CONFIRMED);
    assert!(response.all_allowed());
    let prompts = prompts.lock().unwrap().clone();
    assert_eq!(prompts.len(), 1, "only confirm results are asked");
    assert_eq!(prompts[0].scope, "email.send");
    assert_eq!(prompts[0].prompt_hint.as_deref(), Some("Send this email to bob?"));
    assert_eq!(prompts[0].confirmation_id.as_deref(), Some("cnf_01HZZCONFIRMATION000000001"));
    assert_eq!(prompts[0].resource.as_deref(), Some("gmail:thread:abc123"));

    let received = requests(&server).await;
    assert_eq!(received.len(), 3, "check, approve, re-check");
    assert_eq!(received[1].url.path(), NONCE_PATH, "nonce is percent-encoded");
    let recheck: Value = received[2].body_json().unwrap();
    assert_eq!(
        recheck,
        json!({"authorization_id": AUTH_ID, "scopes": ["email.send", "email.read"], "resource": "gmail:thread:abc123"})
    );
}

#[tokio::test]
async fn rejected_confirmation_rechecks_to_deny() {
    let second = check_body(
        json!({"email.send": result("deny", "user_rejected"), "email.read": result("allow", "scope_granted")}),
    );
    let server = confirm_server(false, second).await;
    let response = client(&server).check_with_confirmation(&request(), |_| async { false }).await.unwrap();
    let send = response.result("email.send").unwrap();
    assert_eq!(send.decision, Decision::Deny);
    assert_eq!(send.reason, reason::USER_REJECTED);
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn no_confirm_means_no_question_and_no_recheck() {
    let server = MockServer::start().await;
    let body = check_body(
        json!({"email.send": result("allow", "scope_granted"), "email.read": result("deny", "scope_not_in_authorization")}),
    );
    Mock::given(method("POST"))
        .and(path("/v1/check"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let response =
        client(&server).check_with_confirmation(&request(), |_| async { panic!("nothing to confirm") }).await.unwrap();
    assert!(response.is_allowed("email.send") && !response.is_allowed("email.read"));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn approve_sends_ttl_and_keeps_the_nonce_out_of_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(NONCE_PATH))
        .and(body_json(json!({"approved": true, "ttl_seconds": 300})))
        .respond_with(ResponseTemplate::new(200).set_body_json(resolution("approved")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let body = json!({"error": {"code": "confirmation_not_found", "message": format!("no confirmation for {NONCE} at {NONCE_PATH}")}});
    Mock::given(method("POST"))
        .and(path(NONCE_PATH))
        .respond_with(ResponseTemplate::new(404).set_body_json(body))
        .mount(&server)
        .await;

    let client = client(&server);
    let resolution = client.approve_confirmation(NONCE, true, Some(Duration::from_secs(300))).await.unwrap();
    assert_eq!(resolution.decision, ConfirmationDecision::Approved);
    assert_eq!(resolution.authorization_id.as_deref(), Some(AUTH_ID));

    let error = client.approve_confirmation(NONCE, true, Some(Duration::from_secs(300))).await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains("SECRET"), "nonce leaked: {text}");
    }

    // Unreachable server: the transport error must not carry the URL (which holds the nonce).
    let offline = Client::new(config(&dead_base_url())).unwrap();
    let error = offline.approve_confirmation(NONCE, true, None).await.unwrap_err();
    assert!(matches!(error, Error::Network { .. }), "{error:?}");
    assert!(!error.to_string().contains("SECRET") && !error.to_string().contains("confirmations/c"), "{error}");

    assert_eq!(client.approve_confirmation("", true, None).await.unwrap_err().code(), "invalid_input");
}

#[tokio::test]
async fn wait_for_confirmation_polls_until_resolved() {
    let server = MockServer::start().await;
    let route = "/v1/confirmations/cnf_01HZZCONFIRMATION000000001";
    let status =
        |s: &str| json!({"confirmation_id": "cnf_01HZZCONFIRMATION000000001", "status": s, "scope": "email.send"});
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_json(status("pending")))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_json(status("approved")))
        .mount(&server)
        .await;

    let client = Client::new(config(&server.uri()).with_max_retries(0)).unwrap();
    let confirmation = client
        .wait_for_confirmation("cnf_01HZZCONFIRMATION000000001", Duration::from_secs(2), Duration::from_millis(20))
        .await
        .unwrap();
    assert_eq!(confirmation.status, ConfirmationStatus::Approved);
    assert_eq!(confirmation.scope.as_deref(), Some("email.send"));
    assert_eq!(requests(&server).await.len(), 4, "pending, pending, 503 ridden out, approved");

    let single = client.get_confirmation("cnf_01HZZCONFIRMATION000000001").await.unwrap();
    assert_eq!(single.status, ConfirmationStatus::Approved);
}

#[tokio::test]
async fn wait_for_confirmation_times_out() {
    let server = MockServer::start().await;
    let body = json!({"confirmation_id": "cnf_1", "status": "pending"});
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(body)).mount(&server).await;
    let started = Instant::now();
    let error = client(&server)
        .wait_for_confirmation("cnf_1", Duration::from_millis(200), Duration::from_millis(30))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_millis(600), "{:?}", started.elapsed());
    assert!(requests(&server).await.len() >= 3, "it polled");
}

#[tokio::test]
async fn fetch_signed_polls_until_signed_and_keeps_the_bytes() {
    let server = MockServer::start().await;
    let route = format!("/v1/receipts/{RECEIPT_ID}");
    Mock::given(method("GET"))
        .and(path(&route))
        .respond_with(ResponseTemplate::new(200).set_body_json(pending(RECEIPT_ID)))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&route))
        .respond_with(ResponseTemplate::new(200).set_body_raw(signed_envelope_text(RECEIPT_ID), "application/json"))
        .mount(&server)
        .await;

    let options = FetchSignedOptions { poll_interval: Duration::from_millis(20), timeout: Duration::from_secs(2) };
    let signed = client(&server).fetch_signed(RECEIPT_ID, options).await.unwrap();
    assert_eq!(signed.json(), signed_receipt_text(RECEIPT_ID), "byte-identical to what the server sent");
    assert_eq!(signed.receipt_id(), RECEIPT_ID);

    let received = requests(&server).await;
    assert_eq!(received.len(), 3);
    for request in &received {
        let wait_ms: u64 = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "wait_ms")
            .map(|(_, v)| v.parse().unwrap())
            .expect("fetch_signed long-polls with wait_ms");
        assert!(wait_ms > 0 && wait_ms <= 10_000, "wait_ms={wait_ms}");
    }
}

#[tokio::test]
async fn fetch_signed_times_out_when_never_signed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pending(RECEIPT_ID)))
        .mount(&server)
        .await;
    let options = FetchSignedOptions { poll_interval: Duration::from_millis(30), timeout: Duration::from_millis(250) };
    let started = Instant::now();
    let error = client(&server).fetch_signed(RECEIPT_ID, options).await.unwrap_err();
    match &error {
        Error::Timeout { message } => {
            assert_eq!(message, &format!("receipt {RECEIPT_ID} was not signed within 250ms"));
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_millis(700), "{:?}", started.elapsed());
}

#[tokio::test]
async fn fetch_signed_stops_on_not_found_and_rides_out_server_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(error_body("receipt_not_found", "no")))
        .mount(&server)
        .await;
    let error = client(&server).fetch_signed(RECEIPT_ID, FetchSignedOptions::default()).await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    assert_eq!(requests(&server).await.len(), 1);

    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(500)).up_to_n_times(2).mount(&server).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(signed_envelope_text(RECEIPT_ID), "application/json"))
        .mount(&server)
        .await;
    let options = FetchSignedOptions { poll_interval: Duration::from_millis(10), timeout: Duration::from_secs(2) };
    let signed = client(&server).fetch_signed(RECEIPT_ID, options).await.unwrap();
    assert_eq!(signed.receipt_id(), RECEIPT_ID);
}

#[tokio::test]
async fn get_receipt_passes_and_clamps_wait_ms() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/receipts/{RECEIPT_ID}")))
        .and(query_param("wait_ms", "30000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pending(RECEIPT_ID)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/receipts/{RECEIPT_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(pending("rcp_SOMETHING_ELSE")))
        .mount(&server)
        .await;
    let client = client(&server);
    let envelope = client.get_receipt(RECEIPT_ID, Some(Duration::from_secs(120))).await.unwrap();
    assert!(matches!(envelope, ReceiptEnvelope::Pending { .. }));

    let error = client.get_receipt(RECEIPT_ID, None).await.unwrap_err();
    assert!(matches!(error, Error::Protocol { .. }), "an answer about another receipt: {error:?}");
    assert_eq!(client.get_receipt("", None).await.unwrap_err().code(), "invalid_input");
}

#[tokio::test]
async fn settle_budget_and_conflicts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/budget-settlements"))
        .and(body_json(json!({"check_receipt_id": "rcp_C", "actual_cost_micros": 20000})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "check_receipt_id": "rcp_C", "authorization_id": AUTH_ID, "estimated_cost_micros": 24000,
            "actual_cost_micros": 20000, "delta_micros": -4000, "spent_before_micros": 24000,
            "spent_after_micros": 20000, "receipt": pending("rcp_S")
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/budget-settlements"))
        .respond_with(ResponseTemplate::new(409).set_body_json(error_body("already_settled", "settled")))
        .mount(&server)
        .await;

    let client = client(&server);
    let request = SettlementRequest::new("rcp_C", 20_000);
    let settlement = client.settle_budget(&request).await.unwrap();
    assert_eq!(settlement.delta_micros, -4000);
    let error = client.settle_budget(&request).await.unwrap_err();
    assert!(matches!(error, Error::Conflict { status: 409, .. }), "{error:?}");
    assert_eq!(error.code(), "already_settled");
}

#[tokio::test]
async fn workspace_keys_are_returned_as_sent() {
    let server = MockServer::start().await;
    let document = "{ \"workspace_id\":\"ws_1\",  \"keys\":[] }";
    Mock::given(method("GET"))
        .and(path("/v1/workspaces/ws_1/keys"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(document, "application/json")
                .insert_header("Cache-Control", "max-age=300"),
        )
        .mount(&server)
        .await;
    assert_eq!(client(&server).workspace_keys_json("ws_1").await.unwrap(), document);
}

#[tokio::test]
async fn check_with_wait_sends_the_query_flag() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/check"))
        .and(query_param("wait", "true"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(check_body(json!({"email.send": result("allow", "scope_granted")}))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let response = client(&server).check(&CheckRequest::new(AUTH_ID, ["email.send"]).with_wait(true)).await.unwrap();
    assert!(response.is_allowed("email.send"));
}
