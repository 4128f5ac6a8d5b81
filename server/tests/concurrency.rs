//! Concurrency guarantees, on SQLite and PostgreSQL: one winner among concurrent approvals, no budget overspend,
//! exact `max_per_day`, one execution per `Idempotency-Key`; and on PostgreSQL the same across two server processes
//! sharing one database, whose signers sign every receipt exactly once.

#[macro_use]
mod common;

use std::time::Duration;

use common::{TestDb, TestServer};
use serde_json::{Value, json};

async fn hundred_concurrent_approvals_have_exactly_one_winner(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a =
        s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["pay"], "requires_confirm_for": ["pay"]})).await;
    let id = a["authorization_id"].as_str().expect("id").to_string();
    let (_, _, res) = s.decide(&id, "pay", json!({})).await;
    let nonce = res["confirm_nonce"].as_str().expect("nonce").to_string();
    let calls = (0..100).map(|i| {
        let http = s.http.clone();
        let url = format!("{}/v1/confirmations/{nonce}", s.base);
        let key = s.rt.clone();
        tokio::spawn(async move {
            let r = http.post(url).bearer_auth(key).json(&json!({"approved": i % 2 == 0})).send().await.expect("send");
            r.status().as_u16()
        })
    });
    let statuses: Vec<u16> = futures::future::join_all(calls).await.into_iter().map(|r| r.expect("join")).collect();
    assert_eq!(statuses.iter().filter(|&&st| st == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|&st| st == 200 || st == 404), "{statuses:?}");
    assert_eq!(s.count("receipts WHERE payload LIKE '%confirmation.resolve%'").await, 1);
    s.stop().await;
}

async fn fifty_concurrent_budgeted_checks_never_overspend(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a =
        s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["llm"], "budget_limit_micros": 1_000})).await;
    let id = a["authorization_id"].as_str().expect("id").to_string();
    let calls = (0..50).map(|_| {
        let http = s.http.clone();
        let url = format!("{}/v1/check", s.base);
        let key = s.rt.clone();
        let body = json!({"authorization_id": id, "scopes": ["llm"], "estimated_cost_micros": 70});
        tokio::spawn(async move {
            let v: serde_json::Value =
                http.post(url).bearer_auth(key).json(&body).send().await.expect("send").json().await.expect("json");
            v["results"]["llm"]["decision"].as_str().expect("decision").to_string()
        })
    });
    let decisions: Vec<String> = futures::future::join_all(calls).await.into_iter().map(|r| r.expect("join")).collect();
    let allowed = decisions.iter().filter(|d| *d == "allow").count();
    assert_eq!(allowed, 1_000 / 70, "exactly floor(limit / estimate) fit: {decisions:?}");
    let (_, g) = s.get(&format!("/v1/authorizations/{id}")).await;
    assert_eq!(g["budget_spent_micros"], json!(70 * (1_000 / 70)));
    s.stop().await;
}

async fn max_per_day_is_exact_under_concurrency(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s
        .authorize(
            json!({"user_id": "u", "agent_id": "a", "scopes": [{"name": "send", "constraints": {"max_per_day": 7}}]}),
        )
        .await;
    let id = a["authorization_id"].as_str().expect("id").to_string();
    let calls = (0..40).map(|_| {
        let http = s.http.clone();
        let url = format!("{}/v1/check", s.base);
        let key = s.rt.clone();
        let body = json!({"authorization_id": id, "scopes": ["send"]});
        tokio::spawn(async move {
            let v: serde_json::Value =
                http.post(url).bearer_auth(key).json(&body).send().await.expect("send").json().await.expect("json");
            v["results"]["send"]["reason"].as_str().expect("reason").to_string()
        })
    });
    let reasons: Vec<String> = futures::future::join_all(calls).await.into_iter().map(|r| r.expect("join")).collect();
    assert_eq!(reasons.iter().filter(|r| *r == "scope_granted").count(), 7, "{reasons:?}");
    assert_eq!(reasons.iter().filter(|r| *r == "rate_limit_exceeded").count(), 33);
    s.stop().await;
}

async fn concurrent_requests_with_one_idempotency_key_execute_once(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["s"], "budget_limit_micros": 1_000})).await;
    let body = json!({"authorization_id": a["authorization_id"], "scopes": ["s"], "estimated_cost_micros": 10});
    let calls = (0..30).map(|_| {
        let http = s.http.clone();
        let url = format!("{}/v1/check", s.base);
        let (key, body) = (s.rt.clone(), body.clone());
        tokio::spawn(async move {
            let r = http.post(url).bearer_auth(key).header("Idempotency-Key", "once").json(&body).send().await;
            let r = r.expect("send");
            (r.status().as_u16(), r.json::<Value>().await.expect("json"))
        })
    });
    let answers: Vec<(u16, Value)> =
        futures::future::join_all(calls).await.into_iter().map(|r| r.expect("join")).collect();
    assert!(answers.iter().all(|(st, v)| *st == 200 && *v == answers[0].1), "{answers:?}");
    assert_eq!(s.count("budget_reservations").await, 1, "one reservation");
    assert_eq!(s.count("receipts").await, 2, "the authorization's and one check's");
    s.stop().await;
}

/// Clients that hang up mid-request must not leave the write connection inside a transaction. A dropped request used
/// to cancel its handler between `BEGIN IMMEDIATE` and commit/rollback; after such a cancellation every later write
/// failed with "attempted to call begin_with at non-zero transaction depth" (503) until the process restarted.
async fn abandoned_requests_never_poison_the_write_connection(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["mail"]})).await;
    let id = a["authorization_id"].as_str().expect("id").to_string();
    for round in 0..20u64 {
        let calls = (0..40u64).map(|i| {
            // A fresh client per request: dropping the future closes its connection, which cancels the handler.
            let http = reqwest::Client::new();
            let url = format!("{}/v1/check", s.base);
            let key = s.rt.clone();
            let body = json!({"authorization_id": id, "scopes": ["mail"]});
            let cut = Duration::from_micros(100 + (round * 40 + i) * 37 % 3_000);
            tokio::spawn(async move {
                let _ = tokio::time::timeout(cut, http.post(url).bearer_auth(key).json(&body).send()).await;
            })
        });
        futures::future::join_all(calls).await;
    }
    // Every abandoned handler has finished or rolled back: a normal check still writes its receipt.
    for _ in 0..5 {
        let (status, body) = s.post("/v1/check", json!({"authorization_id": id, "scopes": ["mail"]})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["results"]["mail"]["decision"], json!("allow"));
    }
    s.stop().await;
}

backend_tests!(multi_thread: abandoned_requests_never_poison_the_write_connection, hundred_concurrent_approvals_have_exactly_one_winner, fifty_concurrent_budgeted_checks_never_overspend, max_per_day_is_exact_under_concurrency, concurrent_requests_with_one_idempotency_key_execute_once);

/// Two server processes (here: two servers with their own pools and signers) on one PostgreSQL database: limits
/// hold across them, and the receipts both create are signed once each, by whichever signer claimed them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_share_one_postgres_database() {
    let Some(db) = TestDb::postgres().await else { return };
    let a = TestServer::start(&db).await;
    let b = TestServer::start(&db).await;
    let auth = a
        .authorize(json!({"user_id": "u", "agent_id": "ag", "budget_limit_micros": 1_000,
            "scopes": ["llm", {"name": "send", "constraints": {"max_per_day": 9}}]}))
        .await;
    let id = auth["authorization_id"].as_str().expect("id").to_string();
    let calls = (0..80).map(|i| {
        let s = if i % 2 == 0 { &a } else { &b };
        let (http, url, key) = (s.http.clone(), format!("{}/v1/check", s.base), s.rt.clone());
        let body = if i % 4 < 2 {
            json!({"authorization_id": id, "scopes": ["llm"], "estimated_cost_micros": 70})
        } else {
            json!({"authorization_id": id, "scopes": ["send"], "estimated_cost_micros": 0})
        };
        tokio::spawn(async move {
            let v: Value =
                http.post(url).bearer_auth(key).json(&body).send().await.expect("send").json().await.expect("json");
            let (scope, r) = v["results"].as_object().and_then(|m| m.iter().next()).expect("one result");
            (scope.clone(), r["decision"].as_str().expect("decision").to_string())
        })
    });
    let results: Vec<(String, String)> =
        futures::future::join_all(calls).await.into_iter().map(|r| r.expect("join")).collect();
    let allowed = |scope: &str| results.iter().filter(|(s, d)| s == scope && d == "allow").count();
    assert_eq!(allowed("llm"), 1_000 / 70, "{results:?}");
    assert_eq!(allowed("send"), 9, "{results:?}");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while db.count("receipts WHERE status = 'pending'").await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "receipts still pending");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let total = u64::try_from(db.count("receipts").await).expect("count");
    assert_eq!(total, 81);
    let ((signed_a, lost_a), (signed_b, lost_b)) = (a.signer_stats(), b.signer_stats());
    assert_eq!(signed_a + signed_b, total, "every receipt signed once: a={signed_a} b={signed_b}");
    assert_eq!(lost_a + lost_b, 0, "no signer signed a row another had claimed");
    // A receipt decided on one server verifies against the key document of the other.
    let create = b.signed(auth["receipt"]["receipt_id"].as_str().expect("create receipt id")).await;
    b.verify(&create).await;

    // A key revoked through one server: refused there at once, and by the other, which had it cached, within the
    // key cache's lifetime (store::key_cache::TTL, 1 s); the deadline only bounds a failing run.
    let (st, created) =
        a.send("POST", "/v1/api-keys", Some(&a.setup), Some(json!({"tier": "runtime", "name": "two"})), None).await;
    assert_eq!(st, 201, "{created}");
    let key = created["key"].as_str().expect("key").to_string();
    let path = format!("/v1/authorizations/{id}");
    assert_eq!(b.send("GET", &path, Some(&key), None, None).await.0, 200, "the new key works on the other server");
    let revoke = format!("/v1/api-keys/{}", created["id"].as_str().expect("key id"));
    assert_eq!(a.send("DELETE", &revoke, Some(&a.setup), None, None).await.0, 200);
    assert_eq!(a.send("GET", &path, Some(&key), None, None).await.0, 401, "refused at once where it was revoked");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while b.send("GET", &path, Some(&key), None, None).await.0 != 401 {
        assert!(tokio::time::Instant::now() < deadline, "the other server still accepts the revoked key");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    a.stop().await;
    b.stop().await;
}
