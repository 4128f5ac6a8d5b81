//! Concurrency guarantees: one winner among concurrent approvals, no budget overspend, exact `max_per_day`.

mod common;

use common::{TestServer, tempdir};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_approvals_have_exactly_one_winner() {
    let dir = tempdir();
    let s = TestServer::start(dir.path()).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_budgeted_checks_never_overspend() {
    let dir = tempdir();
    let s = TestServer::start(dir.path()).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn max_per_day_is_exact_under_concurrency() {
    let dir = tempdir();
    let s = TestServer::start(dir.path()).await;
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
