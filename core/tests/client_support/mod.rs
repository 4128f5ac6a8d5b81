//! Shared fixtures of the `client_*` tests: a client pointed at a local mock server, canned wire-v1 bodies, and
//! helpers to read what the server received.
#![allow(dead_code)] // each test binary uses a different subset

use std::time::Duration;

use allowly_core::{Client, ClientConfig};
use serde_json::{Value, json};
use wiremock::{MockServer, Request};

/// A fake runtime key. Hyphenated so it does not look like a real key to secret scanners, and distinctive so a leak
/// in any message is easy to detect.
pub const KEY: &str = "allowly_rt_test-KEY-do-not-leak-7f3a";
pub const AUTH_ID: &str = "auth_01HZZTESTAUTHORIZATION00001";

/// Fast settings: tiny backoff, short timeouts.
pub fn config(base_url: &str) -> ClientConfig {
    ClientConfig::new(KEY)
        .with_base_url(base_url)
        .with_allow_insecure_http(true)
        .with_retry_base_delay(Duration::from_millis(1))
        .with_timeout(Duration::from_secs(2))
        .with_check_timeout(Duration::from_secs(1))
}

pub fn client(server: &MockServer) -> Client {
    Client::new(config(&server.uri())).expect("valid test config")
}

/// A base URL where nothing listens: bind a port, then free it.
pub fn dead_base_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

pub fn pending(receipt_id: &str) -> Value {
    json!({"status": "pending", "receipt_id": receipt_id, "ready_at_estimate": null, "url": null})
}

/// A signed receipt's text with unusual spacing and member order, to prove bytes are kept as sent.
pub fn signed_receipt_text(receipt_id: &str) -> String {
    format!(
        r#"{{ "schema_version":"4",  "receipt_id" : "{receipt_id}", "decision":"allow","amount":1.50,"nested":{{"b":1,"a":[ 1,2 ]}} }}"#
    )
}

/// A signed envelope body as raw text (a `Value` would normalize the receipt's bytes).
pub fn signed_envelope_text(receipt_id: &str) -> String {
    format!(r#"{{"status":"signed","receipt": {}}}"#, signed_receipt_text(receipt_id))
}

/// One check result.
pub fn result(decision: &str, reason: &str) -> Value {
    json!({"decision": decision, "reason": reason, "receipt": pending("rcp_01HZZRESULT0000000000000001")})
}

/// A check response with the given results.
pub fn check_body(results: Value) -> Value {
    json!({
        "authorization_id": AUTH_ID,
        "user_id": "user_1",
        "agent_id": "agent_1",
        "authorization_expires_at": "2026-12-31T00:00:00Z",
        "engine_version": "allowly-server/0.1.0",
        "results": results,
    })
}

pub fn error_body(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "fields": []}})
}

pub fn authorization_body() -> Value {
    json!({
        "authorization_id": AUTH_ID,
        "user_id": "user_1",
        "agent_id": "agent_1",
        "scopes": ["email.read", "email.send"],
        "created_at": "2026-01-01T00:00:00Z",
        "expires_at": "2026-12-31T00:00:00Z",
        "requires_confirm_for": [],
        "requires_deny_for": [],
        "requires_escalation_for": [],
        "escalation_targets": {},
        "policy_id": null,
        "budget_limit_micros": null,
        "budget_spent_micros": null,
        "metadata": {"source": "onboarding"},
        "receipt": pending("rcp_01HZZCREATE00000000000000001"),
        "replaced_authorization_id": null,
        "revocation_receipt": null
    })
}

pub async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.expect("request recording is on")
}

pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).map(|v| v.to_str().expect("ASCII header"))
}
