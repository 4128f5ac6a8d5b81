//! The request and response shapes of the official Allowly SDK 0.8.0 that the server answers beside the 0.3.1 wire:
//! `engine_version` as a manifest digest, `client_timestamp`, the confirmation monitor, and a typed 501 for the
//! parts of the official API this server does not implement yet.

#[macro_use]
mod common;

use common::{TestDb, TestServer};
use serde_json::{Value, json};

backend_tests!(official_shapes, confirmation_monitor_follows_the_lifecycle, unsupported_routes_are_typed_errors);

fn is_sha256_ref(v: &Value) -> bool {
    v.as_str()
        .and_then(|s| s.strip_prefix("sha256:"))
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

async fn official_shapes(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s.authorize(json!({"user_id": "u1", "agent_id": "ag", "actions": ["email.read"]})).await;
    let id = a["authorization_id"].as_str().expect("id");
    // 0.8.0 sends every optional member, null when unset, and its own timestamp.
    let body = json!({
        "authorization_id": id, "actions": ["email.read"], "resource": null, "session_id": null,
        "estimated_cost_micros": null, "context": {}, "client_timestamp": "2026-12-06T10:00:00.123+01:00",
    });
    let v = s.check(body).await;
    assert!(is_sha256_ref(&v["engine_version"]), "{v}");
    assert_eq!(v["engine_version"], allowly_core::policy::engine_version());
    assert_eq!(v["results"]["email.read"]["decision"], "allow");
    // The caller's timestamp is recorded as its claim in the signed receipt.
    let rid = v["results"]["email.read"]["receipt"]["receipt_id"].as_str().expect("rid");
    let receipt = s.signed(rid).await;
    assert_eq!(receipt["context"]["client_timestamp"], "2026-12-06T10:00:00.123+01:00");
    assert!(is_sha256_ref(&receipt["engine_version"]), "{receipt}");
    s.verify(&receipt).await;

    // A timestamp without a zone, or not a timestamp, is a field error and stores nothing.
    let before = s.count("receipts").await;
    for bad in [json!("2026-12-06T10:00:00"), json!("yesterday"), json!(5)] {
        let (st, e) = s
            .post("/v1/check", json!({"authorization_id": id, "actions": ["email.read"], "client_timestamp": bad}))
            .await;
        assert_eq!(st, 422, "{e}");
        assert_eq!(e["error"]["fields"][0]["field"], "client_timestamp", "{e}");
    }
    let (st, e) = s
        .post(
            "/v1/check",
            json!({"authorization_id": id, "actions": ["email.read"], "context": {"client_timestamp": "x"}}),
        )
        .await;
    assert_eq!((st, e["error"]["fields"][0]["field"].as_str()), (422, Some("context.client_timestamp")), "{e}");
    assert_eq!(s.count("receipts").await, before);

    // Readiness, as `Allowly.readiness()` reads it.
    let (st, r) = s.get("/readyz").await;
    assert_eq!((st, r["status"].as_str()), (200, Some("ready")));
}

async fn confirmation_monitor_follows_the_lifecycle(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s
        .authorize(
            json!({"user_id": "u1", "agent_id": "ag", "scopes": ["mail.send"], "requires_confirm_for": ["mail.send"]}),
        )
        .await;
    let id = a["authorization_id"].as_str().expect("id").to_string();
    let (d, _, res) = s.decide(&id, "mail.send", json!({"resource": "thread:1"})).await;
    assert_eq!(d, "confirm");
    let cnf = res["confirmation_id"].as_str().expect("cnf").to_string();
    let nonce = res["confirm_nonce"].as_str().expect("nonce").to_string();
    let source = res["receipt"]["receipt_id"].clone();

    let status =
        |v: &Value| (v["status"].as_str().map(str::to_owned), v["authority_status"].as_str().map(str::to_owned));
    let (st, m) = s.get(&format!("/v1/confirmations/{cnf}/status")).await;
    assert_eq!(st, 200, "{m}");
    assert_eq!(status(&m), (Some("pending".into()), Some("none".into())));
    assert_eq!((m["action"].as_str(), m["resource"].as_str()), (Some("mail.send"), Some("thread:1")));
    assert_eq!(m["source_receipt_id"], source);
    assert_eq!(m["resolved_at"], Value::Null);
    assert!(!m.to_string().contains(&nonce), "the monitor never shows the nonce");

    let (st, r) = s.post(&format!("/v1/confirmations/{nonce}"), json!({"approved": true, "ttl_seconds": 120})).await;
    assert_eq!(st, 200, "{r}");
    let (_, m) = s.get(&format!("/v1/confirmations/{cnf}/status")).await;
    assert_eq!(status(&m), (Some("approved".into()), Some("available".into())));
    // The older read reports the same authority (0.8.0 code reads it from `confirmations.get`).
    let (_, old) = s.get(&format!("/v1/confirmations/{cnf}")).await;
    assert_eq!((old["status"].as_str(), old["authority_status"].as_str()), (Some("approved"), Some("available")));
    assert_eq!(m["child_authorization_id"], json!(id));
    assert_eq!(m["authority_expires_at"], r["expires_at"]);
    assert_eq!(m["resolution_receipt_id"], r["receipt"]["receipt_id"]);

    // The re-check consumes the approval: still approved, no authority left.
    let (d, reason, _) = s.decide(&id, "mail.send", json!({"resource": "thread:1"})).await;
    assert_eq!((d.as_str(), reason.as_str()), ("allow", "user_confirmed"));
    let (_, m) = s.get(&format!("/v1/confirmations/{cnf}/status")).await;
    assert_eq!(status(&m), (Some("approved".into()), Some("none".into())));

    // A rejected one, then a revoked authorization's pending one.
    let (_, _, res) = s.decide(&id, "mail.send", json!({"resource": "thread:2"})).await;
    let (cnf2, nonce2) = (res["confirmation_id"].as_str().expect("c"), res["confirm_nonce"].as_str().expect("n"));
    s.post(&format!("/v1/confirmations/{nonce2}"), json!({"approved": false})).await;
    let (_, m) = s.get(&format!("/v1/confirmations/{cnf2}/status")).await;
    assert_eq!(status(&m), (Some("rejected".into()), Some("none".into())));
    let (_, _, res) = s.decide(&id, "mail.send", json!({"resource": "thread:3"})).await;
    let cnf3 = res["confirmation_id"].as_str().expect("c").to_string();
    let (st, _) = s.send("DELETE", &format!("/v1/authorizations/{id}"), Some(&s.rt), None, None).await;
    assert_eq!(st, 200);
    let (_, m) = s.get(&format!("/v1/confirmations/{cnf3}/status")).await;
    assert_eq!(status(&m), (Some("expired".into()), Some("revoked".into())));

    let (st, e) = s.get("/v1/confirmations/cnf_nope/status").await;
    assert_eq!((st, e["error"]["code"].as_str()), (404, Some("confirmation_not_found")));
}

async fn unsupported_routes_are_typed_errors(db: TestDb) {
    let s = TestServer::start(&db).await;
    let before = s.count("receipts").await;
    for (method, path) in [
        ("POST", "/v1/execute"),
        ("GET", "/v1/executions/op_1"),
        ("POST", "/v1/executions/op_1/continue"),
        ("POST", "/v1/seal"),
        ("POST", "/v1/receipts/rcp_1/acknowledgments"),
        ("GET", "/v1/receipts/rcp_1/acknowledgments/ack_1"),
        ("POST", "/v1/setup/custom-executables"),
    ] {
        let body = (method == "POST").then(|| json!({}));
        let (st, e) = s.send(method, path, Some(&s.rt), body.clone(), None).await;
        assert_eq!((st, e["error"]["code"].as_str()), (501, Some("not_supported")), "{method} {path}: {e}");
        // Authentication still comes first.
        let (st, _) = s.send(method, path, None, body, None).await;
        assert_eq!(st, 401, "{method} {path}");
    }
    assert_eq!(s.count("receipts").await, before);
}
