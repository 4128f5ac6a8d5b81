//! Setup routes over HTTP: API keys, webhooks (with a real receiving endpoint), audit, export, metrics, OpenAPI.

#[macro_use]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use common::{TestDb, TestServer};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;

backend_tests!(
    api_keys_are_shown_once_listed_by_prefix_and_revocable,
    webhooks_deliver_signed_events_without_context_values_and_retry,
    audit_filters_paginates_and_export_streams_verifiable_receipts,
    metrics_and_openapi_describe_the_running_server
);

fn assert_error(v: &Value, code: &str) {
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
}

async fn api_keys_are_shown_once_listed_by_prefix_and_revocable(db: TestDb) {
    let s = TestServer::start(&db).await;
    let setup = s.setup.clone();

    // A runtime key cannot administer keys.
    let (st, v) = s.send("GET", "/v1/api-keys", Some(&s.rt), None, None).await;
    assert_eq!(st, 403);
    assert_error(&v, "insufficient_key_tier");

    // Bad input: typed 422 naming the fields, nothing stored.
    let before = s.count("api_keys").await;
    let (st, v) = s.send("POST", "/v1/api-keys", Some(&setup), Some(json!({"tier": "admin", "name": ""})), None).await;
    assert_eq!(st, 422);
    assert_error(&v, "validation_error");
    let fields: Vec<&str> =
        v["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["tier", "name"]);
    assert_eq!(s.count("api_keys").await, before);

    // Create: the key text appears in this response only; a replay returns the same record without it.
    let body = json!({"tier": "runtime", "name": "ci agent"});
    let (st, created) = s.send("POST", "/v1/api-keys", Some(&setup), Some(body.clone()), Some("k-1")).await;
    assert_eq!(st, 201, "{created}");
    let key = created["key"].as_str().expect("key text").to_string();
    assert!(key.starts_with("allowly_rt_") && key.len() == "allowly_rt_".len() + 32);
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));
    let (st, replay) = s.send("POST", "/v1/api-keys", Some(&setup), Some(body), Some("k-1")).await;
    assert_eq!(st, 201);
    assert_eq!(replay["id"], created["id"]);
    assert!(replay["key"].is_null(), "a replay never repeats the key text: {replay}");
    assert_eq!(s.count("api_keys").await, before + 1);

    // The new key works on runtime routes.
    let (st, _) = s
        .send(
            "POST",
            "/v1/authorizations",
            Some(&key),
            Some(json!({"user_id": "u", "agent_id": "a", "scopes": ["x"]})),
            None,
        )
        .await;
    assert_eq!(st, 201);

    // Listing shows prefixes, never key text or hashes.
    let (st, list) = s.send("GET", "/v1/api-keys", Some(&setup), None, None).await;
    assert_eq!(st, 200);
    let text = list.to_string();
    assert!(!text.contains(&key) && !text.contains(&s.rt) && !text.contains(&setup), "{text}");
    assert!(list["data"].as_array().unwrap().iter().any(|k| k["id"] == created["id"] && k["revoked_at"].is_null()));

    // Revoke: the key stops working at once; revoking again answers the first revocation time.
    let id = created["id"].as_str().unwrap();
    let (st, r1) = s.send("DELETE", &format!("/v1/api-keys/{id}"), Some(&setup), None, None).await;
    assert_eq!(st, 200, "{r1}");
    let (st, r2) = s.send("DELETE", &format!("/v1/api-keys/{id}"), Some(&setup), None, None).await;
    assert_eq!(st, 200);
    assert_eq!(r1["revoked_at"], r2["revoked_at"]);
    let (st, v) = s.send("GET", "/v1/receipts/rcp_x", Some(&key), None, None).await;
    assert_eq!(st, 401);
    assert_error(&v, "invalid_api_key");
    let (st, v) = s.send("DELETE", "/v1/api-keys/key_nope", Some(&setup), None, None).await;
    assert_eq!(st, 404);
    assert_error(&v, "api_key_not_found");

    // The workspace's last live setup key cannot be revoked (that would lock the workspace out).
    let own = list["data"].as_array().unwrap().iter().find(|k| k["tier"] == "setup").unwrap()["id"].clone();
    let (st, v) = s.send("DELETE", &format!("/v1/api-keys/{}", own.as_str().unwrap()), Some(&setup), None, None).await;
    assert_eq!(st, 409);
    assert_error(&v, "last_setup_key");
    s.stop().await;
}

/// A webhook endpoint on 127.0.0.1 that records what it receives and fails the first `fail_first` deliveries.
async fn receiver(fail_first: usize) -> (String, mpsc::UnboundedReceiver<(axum::http::HeaderMap, String)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let tx = tx.clone();
            let seen = seen.clone();
            async move {
                if seen.fetch_add(1, Ordering::SeqCst) < fail_first {
                    return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                }
                let _ = tx.send((headers, body));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

/// Checks the Standard Webhooks signature and returns the parsed payload.
fn verified_event(secret: &str, headers: &axum::http::HeaderMap, body: &str) -> Value {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("header {n}")).to_string();
    let (id, ts) = (h("webhook-id"), h("webhook-timestamp"));
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.{body}").as_bytes());
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    assert_eq!(h("webhook-signature"), expected, "signature over id.timestamp.body");
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["id"], id, "the body repeats webhook-id");
    // The payload's members are sorted at every level, as the `json!` payloads always were.
    assert_eq!(event.to_string(), body);
    event
}

fn member_names(v: &Value) -> Vec<&str> {
    v.as_object().expect("object").keys().map(String::as_str).collect()
}

async fn next_event(rx: &mut mpsc::UnboundedReceiver<(axum::http::HeaderMap, String)>, secret: &str) -> Value {
    let (headers, body) =
        tokio::time::timeout(Duration::from_secs(20), rx.recv()).await.expect("webhook delivered").expect("open");
    verified_event(secret, &headers, &body)
}

async fn webhooks_deliver_signed_events_without_context_values_and_retry(db: TestDb) {
    let s = TestServer::start(&db).await;
    // The first delivery attempt fails: the event must still arrive (on the 5 s retry).
    let (url, mut rx) = receiver(1).await;

    for bad in
        [json!({"url": "ftp://x/y"}), json!({"url": "https://user:pw@example.com/h"}), json!({"url": 5}), json!({})]
    {
        let (st, v) = s.send("PUT", "/v1/webhook", Some(&s.setup), Some(bad.clone()), None).await;
        assert_eq!(st, 422, "{bad} → {v}");
        assert_eq!(v["error"]["fields"][0]["field"], "url");
        assert!(!v.to_string().contains("pw"), "credentials are not echoed: {v}");
    }
    assert_eq!(s.count("webhooks").await, 0);
    let (st, v) = s.send("PUT", "/v1/webhook", Some(&s.rt), Some(json!({"url": url})), None).await;
    assert_eq!(st, 403);
    assert_error(&v, "insufficient_key_tier");

    let (st, hook) = s.send("PUT", "/v1/webhook", Some(&s.setup), Some(json!({"url": url})), None).await;
    assert_eq!(st, 200, "{hook}");
    let secret = hook["signing_secret"].as_str().unwrap().to_string();
    let (st, shown) = s.send("GET", "/v1/webhook", Some(&s.setup), None, None).await;
    assert_eq!(st, 200);
    assert!(shown["signing_secret"].is_null() && !shown.to_string().contains(&secret[6..]));

    let a = s
        .authorize(json!({"user_id": "u1", "agent_id": "mail", "scopes": ["email.send"],
                          "requires_confirm_for": ["email.send"]}))
        .await;
    let auth = a["authorization_id"].as_str().unwrap();
    let marker = "ctx-value-never-in-webhooks";
    let (d, reason, r) = s.decide(auth, "email.send", json!({"context": {"note": marker}})).await;
    assert_eq!((d.as_str(), reason.as_str()), ("confirm", "scope_requires_user_confirmation"));

    let created = next_event(&mut rx, &secret).await;
    assert_eq!(created["type"], "confirmation.created");
    assert_eq!(created["data"]["confirmation_id"], r["confirmation_id"]);
    assert_eq!(created["data"]["scope"], "email.send");
    assert_eq!(member_names(&created), ["data", "id", "timestamp", "type", "workspace_id"]);
    assert_eq!(created["workspace_id"], s.ws);
    assert!(created["id"].as_str().is_some_and(|id| id.starts_with("msg_")), "{created}");
    let members = [
        "agent_id",
        "authorization_id",
        "check_receipt_id",
        "confirm_expires_at",
        "confirmation_id",
        "reason",
        "scope",
        "user_id",
    ];
    assert_eq!(member_names(&created["data"]), members);
    let text = created.to_string();
    assert!(!text.contains(marker) && !text.contains(r["confirm_nonce"].as_str().unwrap()), "{text}");

    let nonce = r["confirm_nonce"].as_str().unwrap();
    let (st, _) = s.post(&format!("/v1/confirmations/{nonce}"), json!({"approved": true})).await;
    assert_eq!(st, 200);
    let resolved = next_event(&mut rx, &secret).await;
    assert_eq!(resolved["type"], "confirmation.resolved");
    assert_eq!(resolved["data"]["decision"], "approved");
    let members =
        ["agent_id", "authorization_id", "confirmation_id", "decision", "reason", "receipt_id", "scope", "user_id"];
    assert_eq!(member_names(&resolved["data"]), members);

    let (st, _) = s.send("DELETE", &format!("/v1/authorizations/{auth}"), Some(&s.rt), None, None).await;
    assert_eq!(st, 200);
    let revoked = next_event(&mut rx, &secret).await;
    assert_eq!(revoked["type"], "authorization.revoked");
    assert_eq!(revoked["data"]["authorization_id"], auth);
    let members = ["agent_id", "authorization_id", "reason", "receipt_id", "revoked_confirmations", "user_id"];
    assert_eq!(member_names(&revoked["data"]), members);

    // The receiver saw the third event before answering; the server records the delivery after the answer.
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = s.http.get(format!("{}/metrics", s.base)).send().await.unwrap().text().await.unwrap();
        if metrics.contains("allowly_webhook_deliveries{status=\"delivered\"} 3") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(metrics.contains("allowly_webhook_deliveries{status=\"delivered\"} 3"), "{metrics}");
    assert!(metrics.contains("allowly_webhook_deliveries{status=\"pending\"} 0"), "{metrics}");
    let (st, _) = s.send("DELETE", "/v1/webhook", Some(&s.setup), None, None).await;
    assert_eq!(st, 200);
    let (st, v) = s.send("GET", "/v1/webhook", Some(&s.setup), None, None).await;
    assert_eq!(st, 404);
    assert_error(&v, "webhook_not_found");
    s.stop().await;
}

async fn audit_filters_paginates_and_export_streams_verifiable_receipts(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s.authorize(json!({"user_id": "u-audit", "agent_id": "bot", "scopes": ["a.read", "a.write"]})).await;
    let auth = a["authorization_id"].as_str().unwrap();
    let mut ids = Vec::new();
    for (i, scope) in ["a.read", "a.write", "a.read", "a.delete"].iter().enumerate() {
        let ctx = json!({"context": {"run_id": if i < 3 { "run-1" } else { "run-2" }}});
        let (_, _, r) = s.decide(auth, scope, ctx).await;
        ids.push(r["receipt"]["receipt_id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        s.signed(id).await;
    }
    s.signed(a["receipt"]["receipt_id"].as_str().unwrap()).await;

    // run_id filter, newest first, every item a verifiable signed receipt.
    let (st, page) = s.send("GET", "/v1/audit?run_id=run-1", Some(&s.setup), None, None).await;
    assert_eq!(st, 200, "{page}");
    let got: Vec<&str> = page["data"].as_array().unwrap().iter().map(|r| r["receipt_id"].as_str().unwrap()).collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str(), ids[0].as_str()]);
    assert!(page["next_cursor"].is_null());
    for r in page["data"].as_array().unwrap() {
        s.verify(r).await;
    }
    let (_, denied) = s.send("GET", "/v1/audit?decision=deny", Some(&s.setup), None, None).await;
    assert_eq!(denied["data"].as_array().unwrap().len(), 1);
    assert_eq!(denied["data"][0]["reason"], "scope_not_in_authorization");

    // Pagination with limit=2 walks all 5 receipts of the user exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("/v1/audit?user_id=u-audit&limit=2&cursor={c}"),
            None => "/v1/audit?user_id=u-audit&limit=2".to_string(),
        };
        let (st, p) = s.send("GET", &q, Some(&s.setup), None, None).await;
        assert_eq!(st, 200, "{p}");
        seen.extend(p["data"].as_array().unwrap().iter().map(|r| r["receipt_id"].as_str().unwrap().to_string()));
        match p["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 5);

    // Bad queries are typed 422s; runtime keys are refused.
    for (q, field) in
        [("limit=0", "limit"), ("since=yesterday", "since"), ("cursor=zzz", "cursor"), ("colour=red", "colour")]
    {
        let (st, v) = s.send("GET", &format!("/v1/audit?{q}"), Some(&s.setup), None, None).await;
        assert_eq!(st, 422, "{q}: {v}");
        assert_eq!(v["error"]["fields"][0]["field"], field);
    }
    let (st, _) = s.send("GET", "/v1/audit", Some(&s.rt), None, None).await;
    assert_eq!(st, 403);

    // Export: JSON Lines of exactly the stored signed bytes, oldest first.
    let resp = s
        .http
        .get(format!("{}/v1/receipts/export?since=2000-01-01T00:00:00Z", s.base))
        .bearer_auth(&s.setup)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
    let body = resp.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 5, "{body}");
    let mut last = String::new();
    for line in &lines {
        let r: Value = serde_json::from_str(line).unwrap();
        s.verify(&r).await;
        let at = r["issued_at"].as_str().unwrap().to_string();
        assert!(at >= last, "oldest first");
        last = at;
    }
    let (st, v) = s.send("GET", "/v1/receipts/export?until=nope", Some(&s.setup), None, None).await;
    assert_eq!(st, 422, "{v}");
    let future = s
        .http
        .get(format!("{}/v1/receipts/export?since=2999-01-01T00:00:00Z", s.base))
        .bearer_auth(&s.setup)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(future.is_empty());
    s.stop().await;
}

async fn metrics_and_openapi_describe_the_running_server(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["s"], "requires_confirm_for": ["s"]})).await;
    let (_, _, r) = s.decide(a["authorization_id"].as_str().unwrap(), "s", json!({})).await;
    let nonce = r["confirm_nonce"].as_str().unwrap().to_string();
    let (st, _) = s.post(&format!("/v1/confirmations/{nonce}"), json!({"approved": false})).await;
    assert_eq!(st, 200);

    let resp = s.http.get(format!("{}/metrics", s.base)).send().await.unwrap();
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let m = resp.text().await.unwrap();
    assert!(m.contains(r#"allowly_http_requests_total{route="/v1/check",method="POST",status="200"} 1"#), "{m}");
    assert!(m.contains(r#"allowly_http_requests_total{route="/v1/confirmations/{id}",method="POST",status="200"} 1"#));
    assert!(
        m.contains(r#"allowly_check_results_total{decision="confirm",reason="scope_requires_user_confirmation"} 1"#)
    );
    assert!(
        m.contains("allowly_http_request_duration_seconds_bucket{route=\"/v1/check\",method=\"POST\",le=\"+Inf\"} 1")
    );
    assert!(m.contains("allowly_receipts_pending ") && m.contains("allowly_receipt_signing_lag_seconds "));
    assert!(!m.contains(&nonce), "nonces never become labels");

    // The served document is the committed one, and every documented operation is routed (not the 404/405 fallback).
    let served: Value = s.http.get(format!("{}/openapi.json", s.base)).send().await.unwrap().json().await.unwrap();
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json")).unwrap())
            .unwrap();
    assert_eq!(served, committed);
    let mut operations = 0;
    for (path, item) in served["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            let concrete = path.replace("{id}", "x");
            let (_, v) = s.send(&method.to_uppercase(), &concrete, None, None, None).await;
            let code = v["error"]["code"].as_str().unwrap_or("");
            assert!(code != "not_found" && code != "method_not_allowed", "{method} {path} is not routed: {v}");
        }
    }
    assert_eq!(operations, allowly_server::routes::ROUTES.len());
    s.stop().await;
}
