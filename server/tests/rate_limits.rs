//! Request rate limits, on SQLite and PostgreSQL: a request over the API key's or the authorization's bucket is 429
//! `rate_limited` with a whole-seconds `Retry-After`, carries no per-scope results and stores nothing; other keys and
//! other authorizations keep their own buckets. The limits here refill so slowly (one token per 100 s) that no test
//! depends on time passing.

#[macro_use]
mod common;

use allowly_server::rate_limit::{Limit, RateLimits};
use common::{TestDb, TestServer};
use serde_json::{Value, json};

backend_tests!(
    an_authorization_over_its_rate_gets_429_with_retry_after_and_nothing_stored,
    an_api_key_over_its_rate_gets_429_on_every_route,
    the_default_limits_leave_a_busy_authorization_alone
);

const SLOW: f64 = 0.01;

/// Rows a check writes (or a refused one must not): receipts, counters, confirmations, idempotency records.
async fn written(s: &TestServer) -> [i64; 4] {
    [
        s.count("receipts").await,
        s.count("daily_counts").await,
        s.count("confirmations").await,
        s.count("idempotency").await,
    ]
}

async fn send_with_headers(s: &TestServer, key: &str, path: &str, body: Option<Value>) -> (u16, Option<String>, Value) {
    let mut rb = match &body {
        Some(b) => s.http.post(format!("{}{path}", s.base)).json(b),
        None => s.http.get(format!("{}{path}", s.base)),
    };
    rb = rb.bearer_auth(key).header("Idempotency-Key", ulid::Ulid::new().to_string());
    let resp = rb.send().await.expect("request");
    let status = resp.status().as_u16();
    let retry_after = resp.headers().get("retry-after").map(|v| v.to_str().expect("ascii").to_owned());
    let text = resp.text().await.expect("body");
    (status, retry_after, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn assert_rate_limited(status: u16, retry_after: Option<String>, body: &Value) {
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert!(body.get("results").is_none(), "a 429 carries no per-scope results: {body}");
    let secs: u64 = retry_after.expect("Retry-After").parse().expect("Retry-After is whole seconds");
    assert!(secs >= 1, "Retry-After {secs}");
}

async fn an_authorization_over_its_rate_gets_429_with_retry_after_and_nothing_stored(db: TestDb) {
    let limits = RateLimits { per_authorization: Limit::new(SLOW, 2), ..Default::default() };
    let s = TestServer::start_with_limits(&db, limits).await;
    let grant = json!({"user_id": "u", "agent_id": "a", "scopes": ["s"], "requires_confirm_for": ["s"]});
    let a = s.authorize(grant.clone()).await["authorization_id"].as_str().expect("id").to_owned();
    let b = s.authorize(grant).await["authorization_id"].as_str().expect("id").to_owned();
    let check = |id: &str| json!({"authorization_id": id, "scopes": ["s"]});
    for _ in 0..2 {
        let (st, _, v) = send_with_headers(&s, &s.rt, "/v1/check", Some(check(&a))).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["results"]["s"]["decision"], "confirm", "{v}");
    }
    let before = written(&s).await;
    let (st, retry_after, v) = send_with_headers(&s, &s.rt, "/v1/check", Some(check(&a))).await;
    assert_rate_limited(st, retry_after.clone(), &v);
    assert_eq!(retry_after.as_deref(), Some("100"), "the next token is 100 s away");
    assert_eq!(written(&s).await, before, "a refused check stores nothing");
    // The policy's per-scope reason is a different thing and stays unused here.
    assert!(!v.to_string().contains("rate_limit_exceeded"), "{v}");
    // Another authorization (same key) has its own bucket.
    let (st, _, v) = send_with_headers(&s, &s.rt, "/v1/check", Some(check(&b))).await;
    assert_eq!(st, 200, "{v}");
    // Routes other than check are not counted against the authorization.
    let (st, _, v) = send_with_headers(&s, &s.rt, &format!("/v1/authorizations/{a}"), None).await;
    assert_eq!(st, 200, "{v}");
    s.stop().await;
}

async fn an_api_key_over_its_rate_gets_429_on_every_route(db: TestDb) {
    let limits = RateLimits { per_key: Limit::new(SLOW, 3), ..Default::default() };
    let s = TestServer::start_with_limits(&db, limits).await;
    let auth = s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["s"]})).await;
    let id = auth["authorization_id"].as_str().expect("id");
    let (st, _, v) = send_with_headers(&s, &s.rt, &format!("/v1/authorizations/{id}"), None).await;
    assert_eq!(st, 200, "{v}");
    let (st, _, v) = send_with_headers(&s, &s.rt, "/v1/authorizations/auth_unknown", None).await;
    assert_eq!(st, 404, "{v}");
    // Three tokens spent (create, read, a 404 read): every route of this key is refused now.
    let before = written(&s).await;
    let (st, retry_after, v) =
        send_with_headers(&s, &s.rt, "/v1/check", Some(json!({"authorization_id": id, "scopes": ["s"]}))).await;
    assert_rate_limited(st, retry_after, &v);
    let (st, retry_after, v) = send_with_headers(&s, &s.rt, &format!("/v1/authorizations/{id}"), None).await;
    assert_rate_limited(st, retry_after, &v);
    assert_eq!(written(&s).await, before, "refused requests store nothing");
    // Another key of the same workspace has its own bucket; an unknown key is still a plain 401, not a 429.
    let (st, _, v) = send_with_headers(&s, &s.setup, &format!("/v1/authorizations/{id}"), None).await;
    assert_eq!(st, 200, "{v}");
    let unknown = format!("allowly_rt_{}", "0".repeat(32));
    let (st, _, v) = send_with_headers(&s, &unknown, "/v1/authorizations/x", None).await;
    assert_eq!((st, v["error"]["code"].as_str()), (401, Some("invalid_api_key")), "{v}");
    // Public routes need no key and are not limited per key.
    let (st, _, _) = send_with_headers(&s, &s.rt, "/healthz", None).await;
    assert_eq!(st, 200);
    s.stop().await;
}

async fn the_default_limits_leave_a_busy_authorization_alone(db: TestDb) {
    let s = TestServer::start(&db).await;
    let auth = s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["s"]})).await;
    let id = auth["authorization_id"].as_str().expect("id").to_owned();
    // 150 checks at once on one authorization and one key: more than any test or the demo sends, under the defaults.
    let calls = (0..150).map(|_| s.post("/v1/check", json!({"authorization_id": id, "scopes": ["s"]})));
    for (st, v) in futures::future::join_all(calls).await {
        assert_eq!(st, 200, "{v}");
    }
    s.stop().await;
}
