//! Checks read their authorization and signing keys from memory on SQLite (`store::decision_cache`) and sign their
//! receipts in their own transaction. These scenarios change what a check read — through the API, through a key
//! rotation, and behind the server's back from another connection (as another process would) — and require the next
//! check to see the change. They run on both backends; PostgreSQL, which reads every time, is the reference.

#[macro_use]
mod common;

use common::{Backend, TestDb, TestServer};
use serde_json::{Value, json};

fn rid(v: &Value, pointer: &str) -> String {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("{pointer} in {v}")).to_string()
}

async fn check_receipts_are_signed_when_answered(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["r", "w"]})).await;
    let c = s.check(json!({"authorization_id": rid(&a, "/authorization_id"), "scopes": ["r", "w"]})).await;
    for scope in ["r", "w"] {
        let id = rid(&c, &format!("/results/{scope}/receipt/receipt_id"));
        if db.backend == Backend::Sqlite {
            // No wait: the row was signed in the check's own commit.
            let (st, v) = s.get(&format!("/v1/receipts/{id}")).await;
            assert_eq!((st, v["status"].as_str()), (200, Some("signed")), "{v}");
        }
        let receipt = s.signed(&id).await;
        assert_eq!(receipt["action"], scope);
        s.verify(&receipt).await;
    }
    assert_eq!(s.count("receipts WHERE status = 'pending' AND action IN ('r', 'w')").await, 0);
    // A second check of the same authorization finds its row and keys cached: on SQLite it is decided in its request
    // task, ahead of the group commit (PostgreSQL never is).
    let again = s.check(json!({"authorization_id": rid(&a, "/authorization_id"), "scopes": ["r"]})).await;
    s.verify(&s.signed(&rid(&again, "/results/r/receipt/receipt_id")).await).await;
    let (st, metrics) = s.send("GET", "/metrics", None, None, None).await;
    assert_eq!(st, 200);
    let text = metrics.as_str().expect("metrics text");
    let ahead = text
        .lines()
        .find_map(|l| l.strip_prefix("allowly_checks_decided_ahead_total "))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no allowly_checks_decided_ahead_total in {text}"));
    match db.backend {
        Backend::Sqlite => assert!(ahead >= 1, "{ahead}"),
        Backend::Postgres => assert_eq!(ahead, 0),
    }
    s.stop().await;
}

async fn a_rotation_between_checks_signs_the_next_with_the_new_key(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["r"]})).await;
    let auth = rid(&a, "/authorization_id");
    let before = s.check(json!({"authorization_id": auth, "scopes": ["r"]})).await;
    let before = s.signed(&rid(&before, "/results/r/receipt/receipt_id")).await;
    let (st, rot) = s.send("POST", "/v1/signing-keys/rotate", Some(&s.setup), None, None).await;
    assert_eq!(st, 200, "{rot}");
    let after = s.check(json!({"authorization_id": auth, "scopes": ["r"]})).await;
    let after = s.signed(&rid(&after, "/results/r/receipt/receipt_id")).await;
    assert_ne!(before["key_id"], rot["key_id"]);
    assert_eq!(after["key_id"], rot["key_id"], "signed with the key active at its issued_at");
    s.verify(&before).await;
    s.verify(&after).await;
    s.stop().await;
}

async fn changes_made_through_the_api_reach_the_next_check(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s
        .authorize(json!({"user_id": "u", "agent_id": "a", "budget_limit_micros": 100,
            "scopes": ["r", {"name": "send", "constraints": {"max_per_day": 2}}]}))
        .await;
    let auth = rid(&a, "/authorization_id");
    // The budget: each allowed estimate is reserved (a write to the authorization the next check must see).
    let spend = json!({"estimated_cost_micros": 60});
    assert_eq!(s.decide(&auth, "r", spend.clone()).await.0, "allow");
    let (decision, reason, _) = s.decide(&auth, "r", spend).await;
    assert_eq!((decision.as_str(), reason.as_str()), ("deny", "budget_exceeded"));
    // The per-day counter.
    assert_eq!(s.decide(&auth, "send", json!({"estimated_cost_micros": 0})).await.0, "allow");
    assert_eq!(s.decide(&auth, "send", json!({"estimated_cost_micros": 0})).await.0, "allow");
    assert_eq!(s.decide(&auth, "send", json!({"estimated_cost_micros": 0})).await.0, "deny");
    // A revoke.
    let (st, _) = s.send("DELETE", &format!("/v1/authorizations/{auth}"), Some(&s.rt), Some(json!({})), None).await;
    assert_eq!(st, 200);
    let (decision, reason, _) = s.decide(&auth, "r", json!({})).await;
    assert_eq!((decision.as_str(), reason.as_str()), ("deny", "authorization_revoked"));
    s.stop().await;
}

async fn a_revoke_committed_by_another_connection_reaches_the_next_check(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["r"]})).await;
    let auth = rid(&a, "/authorization_id");
    assert_eq!(s.decide(&auth, "r", json!({})).await.0, "allow");
    assert_eq!(s.decide(&auth, "r", json!({})).await.0, "allow", "the second check reads the cached row");
    // Behind the server's back, as another process sharing the file would: no code of this server runs.
    let changed = db.exec(&format!("UPDATE authorizations SET status = 'revoked' WHERE id = '{auth}'")).await;
    assert_eq!(changed, 1);
    let (decision, reason, _) = s.decide(&auth, "r", json!({})).await;
    assert_eq!((decision.as_str(), reason.as_str()), ("deny", "authorization_revoked"));
    s.stop().await;
}

backend_tests!(
    check_receipts_are_signed_when_answered,
    a_rotation_between_checks_signs_the_next_with_the_new_key,
    changes_made_through_the_api_reach_the_next_check,
    a_revoke_committed_by_another_connection_reaches_the_next_check
);
