//! The fail-closed `check`: outages become deny (or allow for fail-open scopes) results; 4xx and protocol errors stay
//! errors.

mod client_support;

use std::time::{Duration, Instant};

use allowly_core::model::{CheckRequest, CheckResponse, Decision, reason};
use allowly_core::{Client, Error, FallbackMode};
use client_support::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn request() -> CheckRequest {
    CheckRequest::new(AUTH_ID, ["email.send", "email.read"])
}

async fn mount_check(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST")).and(path("/v1/check")).respond_with(response).mount(server).await;
}

fn assert_fallback(response: &CheckResponse, scope: &str, decision: Decision, expected_reason: &str) {
    let result = response.result(scope).unwrap_or_else(|| panic!("no result for {scope}"));
    assert_eq!(result.decision, decision, "{scope}");
    assert_eq!(result.reason, expected_reason, "{scope}");
    assert!(result.is_fallback, "{scope}");
    assert!(result.receipt.is_none(), "{scope}: a fallback has no server receipt");
}

#[tokio::test]
async fn unreachable_server_fails_closed() {
    let client = Client::new(config(&dead_base_url())).unwrap();
    let response = client.check(&request()).await.expect("an outage is not an error");

    assert_eq!(response.results.len(), 2);
    assert_fallback(&response, "email.send", Decision::Deny, reason::FALLBACK_CLOSED_UNREACHABLE);
    assert_fallback(&response, "email.read", Decision::Deny, reason::FALLBACK_CLOSED_UNREACHABLE);
    assert_eq!(response.authorization_id.as_deref(), Some(AUTH_ID));
    assert!(response.engine_version.starts_with("allowly-core/"), "{}", response.engine_version);
    assert!(response.engine_version.ends_with(" fallback"), "{}", response.engine_version);
    assert!(response.user_id.is_none() && response.agent_id.is_none());
    assert!(response.is_fallback());
    assert!(!response.is_allowed("email.send"));
}

#[tokio::test]
async fn fail_open_applies_only_to_mapped_scopes() {
    let config = config(&dead_base_url()).with_fallback("email.read", FallbackMode::Open);
    let response = Client::new(config).unwrap().check(&request()).await.unwrap();

    assert_fallback(&response, "email.read", Decision::Allow, reason::FALLBACK_OPEN_UNREACHABLE);
    assert_fallback(&response, "email.send", Decision::Deny, reason::FALLBACK_CLOSED_UNREACHABLE);
}

#[tokio::test]
async fn slow_server_fails_closed_within_check_timeout() {
    let server = MockServer::start().await;
    let slow = ResponseTemplate::new(200)
        .set_body_json(check_body(json!({"email.send": result("allow", "scope_granted")})))
        .set_delay(Duration::from_secs(3));
    mount_check(&server, slow).await;
    let config = config(&server.uri())
        .with_check_timeout(Duration::from_millis(300))
        .with_fallback("email.read", FallbackMode::Open);
    let client = Client::new(config).unwrap();

    let started = Instant::now();
    let response = client.check(&request()).await.expect("a timeout is not an error");
    let elapsed = started.elapsed();

    assert!(elapsed >= Duration::from_millis(280), "returned before the deadline: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(700), "check_timeout bounds the whole call: {elapsed:?}");
    assert_fallback(&response, "email.send", Decision::Deny, reason::FALLBACK_CLOSED_TIMEOUT);
    assert_fallback(&response, "email.read", Decision::Allow, reason::FALLBACK_OPEN_TIMEOUT);
}

#[tokio::test]
async fn retries_stay_within_check_timeout() {
    let server = MockServer::start().await;
    mount_check(&server, ResponseTemplate::new(503).set_delay(Duration::from_millis(250))).await;
    let config = config(&server.uri()).with_check_timeout(Duration::from_millis(600)).with_max_retries(10);
    let client = Client::new(config).unwrap();

    let started = Instant::now();
    let response = client.check(&request()).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(900), "{:?}", started.elapsed());
    assert!(response.is_fallback());
    let attempts = requests(&server).await.len();
    assert!((2..=3).contains(&attempts), "retried within the budget, then stopped: {attempts} attempts");
}

#[tokio::test]
async fn server_errors_after_retries_fail_closed() {
    // 500 is not retried, 502 is (1 + max_retries attempts); both end in the fallback.
    for (status, attempts) in [(500u16, 1usize), (502, 3), (503, 3)] {
        let server = MockServer::start().await;
        mount_check(&server, ResponseTemplate::new(status).set_body_json(error_body("internal", "boom"))).await;
        let response = client(&server).check(&request()).await.unwrap_or_else(|e| panic!("{status}: {e}"));
        assert_fallback(&response, "email.send", Decision::Deny, reason::FALLBACK_CLOSED_UNREACHABLE);
        assert_eq!(requests(&server).await.len(), attempts, "status {status}");
    }
}

#[tokio::test]
async fn an_overloaded_server_is_an_unreachable_one() {
    // 503 `overloaded` (a server shedding load before any work) takes the fallback like any outage, with or without
    // Retry-After; a Retry-After longer than the check deadline is not waited out (one attempt, then the fallback).
    for (retry_after, attempts) in [(None, 3usize), (Some("0"), 3), (Some("30"), 1)] {
        let server = MockServer::start().await;
        let mut answer = ResponseTemplate::new(503).set_body_json(error_body("overloaded", "over capacity"));
        if let Some(value) = retry_after {
            answer = answer.insert_header("Retry-After", value);
        }
        mount_check(&server, answer).await;
        let config = config(&server.uri()).with_fallback("email.read", FallbackMode::Open);
        let response = Client::new(config).unwrap().check(&request()).await.expect("an overload is not an error");
        assert_fallback(&response, "email.send", Decision::Deny, reason::FALLBACK_CLOSED_UNREACHABLE);
        assert_fallback(&response, "email.read", Decision::Allow, reason::FALLBACK_OPEN_UNREACHABLE);
        assert_eq!(requests(&server).await.len(), attempts, "Retry-After {retry_after:?}");
    }
}

#[tokio::test]
async fn an_overloaded_answer_keeps_its_status_and_retry_after_outside_check() {
    let server = MockServer::start().await;
    let answer = ResponseTemplate::new(503)
        .insert_header("Retry-After", "7")
        .set_body_json(error_body("overloaded", "over capacity"));
    Mock::given(method("GET"))
        .and(path(format!("/v1/authorizations/{AUTH_ID}")))
        .respond_with(answer)
        .mount(&server)
        .await;
    let client = Client::new(config(&server.uri()).with_max_retries(0)).unwrap();
    let error = client.get_authorization(AUTH_ID).await.unwrap_err();
    match &error {
        Error::Server { status, code, retry_after, .. } => {
            assert_eq!((*status, code.as_str()), (503, "overloaded"));
            assert_eq!(*retry_after, Some(Duration::from_secs(7)));
        }
        other => panic!("expected Server, got {other:?}"),
    }
    assert_eq!(
        (error.status(), error.code(), error.retry_after()),
        (Some(503), "overloaded", Some(Duration::from_secs(7)))
    );
}

#[tokio::test]
async fn client_errors_are_returned_not_hidden_by_a_fallback() {
    let server = MockServer::start().await;
    mount_check(&server, ResponseTemplate::new(401).set_body_json(error_body("invalid_api_key", "bad key"))).await;
    let error = client(&server).check(&request()).await.unwrap_err();
    assert!(matches!(error, Error::Authentication { .. }), "{error:?}");

    let server = MockServer::start().await;
    let body = json!({"error": {"code": "budget_estimate_required", "message": "estimate needed",
        "fields": [{"field": "estimated_cost_micros", "message": "required for budgeted authorizations"}]}});
    mount_check(&server, ResponseTemplate::new(422).set_body_json(body)).await;
    match client(&server).check(&request()).await.unwrap_err() {
        Error::Validation { code, fields, .. } => {
            assert_eq!(code, "budget_estimate_required");
            assert_eq!(fields[0].field, "estimated_cost_micros");
        }
        other => panic!("expected Validation, got {other:?}"),
    }

    let server = MockServer::start().await;
    mount_check(&server, ResponseTemplate::new(429).set_body_json(error_body("rate_limited", "slow"))).await;
    let error = client(&server).check(&request()).await.unwrap_err();
    assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
}

#[tokio::test]
async fn a_rate_limit_is_raised_even_for_scopes_mapped_to_fail_open() {
    // A 429 means the server is up and answering: turning it into an allow would let a throttled agent act unchecked.
    for retry_after in ["0", "30"] {
        let server = MockServer::start().await;
        let answer = ResponseTemplate::new(429)
            .insert_header("Retry-After", retry_after)
            .set_body_json(error_body("rate_limited", "slow down"));
        mount_check(&server, answer).await;
        let config = config(&server.uri())
            .with_fallback("email.send", FallbackMode::Open)
            .with_fallback("email.read", FallbackMode::Open);
        let error = Client::new(config).unwrap().check(&request()).await.unwrap_err();
        assert!(matches!(error, Error::RateLimited { .. }), "Retry-After {retry_after}: {error:?}");
        // Retry-After 0 is retried up to max_retries (2); 30 s overruns the 1 s check deadline, so no retry at all.
        let attempts = if retry_after == "0" { 3 } else { 1 };
        assert_eq!(requests(&server).await.len(), attempts, "Retry-After {retry_after}");
    }
}

#[tokio::test]
async fn malformed_answers_are_protocol_errors_not_fallbacks() {
    let server = MockServer::start().await;
    mount_check(&server, ResponseTemplate::new(200).set_body_string("{\"results\": ")).await;
    let error = client(&server).check(&request()).await.unwrap_err();
    assert!(matches!(error, Error::Protocol { .. }), "{error:?}");

    // A result with a decision this client does not know must not be guessed at.
    let server = MockServer::start().await;
    let body = check_body(json!({"email.send": result("maybe", "x"), "email.read": result("allow", "scope_granted")}));
    mount_check(&server, ResponseTemplate::new(200).set_body_json(body)).await;
    let error = client(&server).check(&request()).await.unwrap_err();
    assert!(matches!(error, Error::Protocol { .. }), "{error:?}");

    // Every requested scope must be answered.
    let server = MockServer::start().await;
    let body = check_body(json!({"email.send": result("allow", "scope_granted")}));
    mount_check(&server, ResponseTemplate::new(200).set_body_json(body)).await;
    match client(&server).check(&request()).await.unwrap_err() {
        Error::Protocol { message } => assert!(message.contains("email.read"), "{message}"),
        other => panic!("expected Protocol, got {other:?}"),
    }
}

#[tokio::test]
async fn a_server_cannot_claim_fallback_results() {
    let server = MockServer::start().await;
    let mut allow = result("allow", "scope_granted");
    allow["is_fallback"] = json!(true);
    let body = check_body(json!({"email.send": allow.clone(), "email.read": allow}));
    mount_check(&server, ResponseTemplate::new(200).set_body_json(body)).await;
    let response = client(&server).check(&request()).await.unwrap();
    assert!(!response.is_fallback());
    assert!(response.all_allowed());
}

#[tokio::test]
async fn invalid_checks_are_rejected_locally() {
    let server = MockServer::start().await;
    mount_check(&server, ResponseTemplate::new(500)).await;
    let client = client(&server);
    let too_many: Vec<String> = (0..33).map(|i| format!("scope.{i}")).collect();
    let cases = [
        CheckRequest::new(AUTH_ID, Vec::<String>::new()),
        CheckRequest::new(AUTH_ID, too_many),
        CheckRequest::new(AUTH_ID, ["email.send", "email.send"]),
        CheckRequest::new(AUTH_ID, ["email.send", ""]),
        CheckRequest::new("", ["email.send"]),
    ];
    for case in cases {
        match client.check(&case).await {
            Err(Error::Validation { code, fields, .. }) => {
                assert_eq!(code, "invalid_input");
                assert_eq!(fields.len(), 1);
            }
            other => panic!("expected a local Validation error for {case:?}, got {other:?}"),
        }
    }
    let exactly_32: Vec<String> = (0..32).map(|i| format!("scope.{i}")).collect();
    assert!(CheckRequest::new(AUTH_ID, exactly_32).validate().is_ok());
    assert!(requests(&server).await.is_empty(), "nothing was sent");
}
