//! Receipts: every kind gets signed and verifies with allowly-core against the served key document; restart
//! signs leftovers; rotation keeps old receipts verifiable; dev restart re-reads its keys.

#[macro_use]
mod common;

use common::{Backend, TestDb, TestServer};
use serde_json::{Value, json};

fn rid(v: &Value, ptr: &str) -> String {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or_else(|| panic!("no {ptr} in {v}")).to_string()
}

async fn every_receipt_kind_is_signed_and_verifies(db: TestDb) {
    let s = TestServer::start(&db).await;
    let resp = s.http.get(format!("{}/v1/workspaces/{}/keys", s.base, s.ws)).send().await.expect("keys");
    assert_eq!(resp.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("max-age=300"));
    let (st, _) = s.send("GET", "/v1/workspaces/ws_nope/keys", None, None, None).await;
    assert_eq!(st, 404);

    let a = s
        .authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["r", {"name": "w", "constraints": {
            "confirm_when": [{"field": "amount", "op": "gt", "value": 10}]}}], "budget_limit_micros": 1000}))
        .await;
    let id = rid(&a, "/authorization_id");
    let mut ids = vec![rid(&a, "/receipt/receipt_id")];
    let c = s.check(json!({"authorization_id": id, "scopes": ["w"], "context": {"amount": 50}, "estimated_cost_micros": 5, "session_id": "sess"})).await;
    ids.push(rid(&c, "/results/w/receipt/receipt_id"));
    let nonce = rid(&c, "/results/w/confirm_nonce");
    let (_, ap) = s.post(&format!("/v1/confirmations/{nonce}"), json!({"approved": true})).await;
    ids.push(rid(&ap, "/receipt/receipt_id"));
    // The re-check of the same call (an answer is bound to the asking check's session).
    let c2 = s
        .check(json!({"authorization_id": id, "scopes": ["w"], "context": {"amount": 50}, "estimated_cost_micros": 5,
                      "session_id": "sess"}))
        .await;
    assert_eq!(c2["results"]["w"]["reason"], "user_confirmed");
    ids.push(rid(&c2, "/results/w/receipt/receipt_id"));
    let (_, st) = s.post("/v1/budget-settlements", json!({"check_receipt_id": ids[3], "actual_cost_micros": 4})).await;
    ids.push(rid(&st, "/receipt/receipt_id"));
    let (_, rv) = s
        .send(
            "DELETE",
            &format!("/v1/authorizations/{id}"),
            Some(&s.rt),
            Some(json!({"revoked_by": "admin", "notes": "bye"})),
            None,
        )
        .await;
    ids.push(rid(&rv, "/receipt/receipt_id"));

    let mut kinds = Vec::new();
    for id in &ids {
        let r = s.signed(id).await;
        s.verify(&r).await;
        assert_eq!(r["engine_version"], allowly_server::engine_version());
        kinds.push(format!(
            "{}/{}",
            r.get("event").or(r.get("action")).and_then(Value::as_str).unwrap_or("?"),
            r["decision"].as_str().unwrap_or("?")
        ));
    }
    assert_eq!(
        kinds,
        [
            "authorization.create/authorization_granted",
            "w/confirm",
            "confirmation.resolve/confirmation_approved",
            "w/allow",
            "budget.settle/budget_settled",
            "authorization.revoke/authorization_revoked"
        ]
    );
    let confirmed = s.signed(&ids[3]).await;
    assert_eq!(confirmed["policy_eval"]["matched_condition"]["op"], "gt");
    assert_eq!(confirmed["context"]["confirmation_id"], c["results"]["w"]["confirmation_id"]);
    assert_eq!(confirmed["context"]["budget"]["estimated_cost_micros"], 5);
    let first = s.signed(&ids[1]).await;
    assert_eq!(first["context"]["session_id"], "sess");

    // check?wait=true returns signed receipts directly.
    let w = s.post("/v1/check?wait=true", json!({"authorization_id": "auth_x", "scopes": ["r"]})).await.1;
    assert_eq!(w["results"]["r"]["receipt"]["status"], "signed", "{w}");
    s.verify(&w["results"]["r"]["receipt"]["receipt"]).await;
    s.stop().await;
}

async fn rotation_keeps_old_receipts_verifiable(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["r"]})).await;
    let old = s.signed(&rid(&a, "/receipt/receipt_id")).await;
    let (st, rot) = s.send("POST", "/v1/signing-keys/rotate", Some(&s.setup), None, None).await;
    assert_eq!(st, 200, "{rot}");
    let c = s.check(json!({"authorization_id": rid(&a, "/authorization_id"), "scopes": ["r"]})).await;
    let new = s.signed(&rid(&c, "/results/r/receipt/receipt_id")).await;
    assert_ne!(old["key_id"], new["key_id"]);
    assert_eq!(new["key_id"], rot["key_id"]);
    let (_, doc) = s.send("GET", &format!("/v1/workspaces/{}/keys", s.ws), None, None, None).await;
    let keys = doc["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 2);
    assert_eq!(keys.iter().filter(|k| k["active_until"].is_null()).count(), 1);
    s.verify(&old).await;
    s.verify(&new).await;
    s.stop().await;
}

async fn restart_signs_leftover_pending_receipts_and_keeps_dev_keys(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (ws, rt) = (s.ws.clone(), s.rt.clone());
    let a = s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["r"]})).await;
    let c = s.check(json!({"authorization_id": rid(&a, "/authorization_id"), "scopes": ["r"]})).await;
    let receipt_id = rid(&c, "/results/r/receipt/receipt_id");
    s.stop().await;

    // Simulate a kill before signing: put every receipt back into the pending queue.
    assert!(db.exec("UPDATE receipts SET status = 'pending', signed = NULL").await >= 2);

    let s = TestServer::start(&db).await;
    // SQLite runs `--dev`, which re-reads its keys file; on PostgreSQL the keys `init` printed keep working.
    assert_eq!((s.ws.as_str(), s.rt.as_str()), (ws.as_str(), rt.as_str()), "same workspace and keys after restart");
    let r = s.signed(&receipt_id).await;
    s.verify(&r).await;
    assert_eq!(s.count("receipts WHERE status = 'pending'").await, 0);
    let (st, h) = s.send("GET", "/readyz", None, None, None).await;
    assert_eq!((st, h["status"].as_str()), (200, Some("ready")));
    let (st, _) = s.send("GET", "/healthz", None, None, None).await;
    assert_eq!(st, 200);
    #[cfg(unix)]
    if db.backend == Backend::Sqlite {
        use std::os::unix::fs::PermissionsExt as _;
        for f in ["allowly.db.master-key", "allowly.db.dev-keys.json", "ready.json"] {
            let mode = std::fs::metadata(db.dir.path().join(f)).expect(f).permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
    }
    s.stop().await;
}

backend_tests!(
    every_receipt_kind_is_signed_and_verifies,
    rotation_keeps_old_receipts_verifiable,
    restart_signs_leftover_pending_receipts_and_keeps_dev_keys
);
