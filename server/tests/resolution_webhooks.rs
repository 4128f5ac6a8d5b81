//! The resolution webhook over HTTP, as 0.8.0's `client.resolution_webhook` drives it, with a real receiver on
//! 127.0.0.1: signed deliveries in 0.8.0's event shape, a retry after a failed attempt, the delivery log, rotation
//! and disable, and the SSRF guard at configure time and at connect time (for both webhook endpoints).

#[macro_use]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use common::{Mode, TestDb, TestServer};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;

backend_tests!(
    resolution_events_are_signed_retried_logged_rotated_and_disabled,
    unsafe_urls_are_refused_at_configure_time,
    a_url_no_longer_allowed_is_refused_at_connect_time,
    an_escalation_notifies_the_generic_webhook_in_a_form_verify_webhook_accepts,
    an_expired_confirmation_notifies_the_generic_webhook_once
);

const PATH: &str = "/v1/setup/resolution-webhook";

type Inbox = mpsc::UnboundedReceiver<(axum::http::HeaderMap, String)>;

/// A receiver on 127.0.0.1 that fails the first `fail_first` requests with a 500 and records the others.
async fn receiver(fail_first: usize) -> (String, Inbox, Arc<AtomicUsize>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
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
    (url, rx, counter)
}

/// Checks the Standard Webhooks signature with `secret` and returns `(webhook-id, event)`.
fn verified(secret: &str, headers: &axum::http::HeaderMap, body: &str) -> (String, Value) {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    assert_eq!(key.len(), 32, "a whsec_ secret carries 32 bytes");
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("header {n}")).to_string();
    let (id, ts) = (h("webhook-id"), h("webhook-timestamp"));
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.{body}").as_bytes());
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    assert_eq!(h("webhook-signature"), expected, "signature over id.timestamp.body");
    (id, serde_json::from_str(body).unwrap())
}

async fn next(rx: &mut Inbox) -> (axum::http::HeaderMap, String) {
    tokio::time::timeout(Duration::from_secs(30), rx.recv()).await.expect("delivered in time").expect("open")
}

fn names(v: &Value) -> Vec<&str> {
    v.as_object().expect("object").keys().map(String::as_str).collect()
}

/// Polls the delivery log until `done` holds for it (deliveries are recorded after the receiver answers).
async fn log_until(s: &TestServer, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        let (st, v) = s.send("GET", &format!("{PATH}/deliveries"), Some(&s.setup), None, None).await;
        assert_eq!(st, 200, "{v}");
        if done(&v) {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("delivery log never reached the expected state: {last}");
}

/// A confirmation asked for and resolved: `(confirmation_id, check receipt id, resolve receipt id)`.
async fn resolve_one(s: &TestServer, approved: bool, marker: &str) -> (String, String, String) {
    let a = s
        .authorize(json!({"user_id": "user-pii@example.com", "agent_id": "mail", "scopes": ["email.send"],
                          "requires_confirm_for": ["email.send"]}))
        .await;
    let auth = a["authorization_id"].as_str().unwrap();
    let (d, _, r) = s.decide(auth, "email.send", json!({"context": {"note": marker}, "resource": marker})).await;
    assert_eq!(d, "confirm");
    let nonce = r["confirm_nonce"].as_str().unwrap();
    let (st, res) = s.post(&format!("/v1/confirmations/{nonce}"), json!({"approved": approved})).await;
    assert_eq!(st, 200, "{res}");
    (
        r["confirmation_id"].as_str().unwrap().to_string(),
        r["receipt"]["receipt_id"].as_str().unwrap().to_string(),
        res["receipt"]["receipt_id"].as_str().unwrap().to_string(),
    )
}

async fn resolution_events_are_signed_retried_logged_rotated_and_disabled(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (url, mut rx, _) = receiver(1).await;

    // Nothing configured: the explicit empty configuration; rotating is a typed 404; runtime keys are refused.
    let (st, v) = s.send("GET", PATH, Some(&s.setup), None, None).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v,
        json!({"workspace_id": s.ws, "endpoint_id": null, "url": null, "enabled": false, "credential_version": null,
               "created_at": null, "updated_at": null})
    );
    let (st, v) = s.send("POST", &format!("{PATH}/rotate"), Some(&s.setup), None, None).await;
    assert_eq!((st, v["error"]["code"].as_str()), (404, Some("resolution_webhook_not_configured")), "{v}");
    let (st, v) = s.send("PUT", PATH, Some(&s.rt), Some(json!({"url": url})), None).await;
    assert_eq!((st, v["error"]["code"].as_str()), (403, Some("insufficient_key_tier")));
    for bad in [json!({"url": "ftp://x/y"}), json!({"url": "https://u:pw@example.com/h"}), json!({}), json!({"url": 1})]
    {
        let (st, v) = s.send("PUT", PATH, Some(&s.setup), Some(bad.clone()), None).await;
        assert_eq!(st, 422, "{bad}: {v}");
        assert_eq!(v["error"]["fields"][0]["field"], "url", "{v}");
    }
    assert_eq!(s.count("resolution_webhooks").await, 0);

    // Configure: the secret is in this answer only.
    let (st, conf) = s.send("PUT", PATH, Some(&s.setup), Some(json!({"url": url})), None).await;
    assert_eq!(st, 200, "{conf}");
    let secret = conf["signing_secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!((conf["enabled"].as_bool(), conf["credential_version"].as_i64()), (Some(true), Some(1)));
    assert!(conf["endpoint_id"].as_str().unwrap().starts_with("rwh_"));
    let (_, shown) = s.send("GET", PATH, Some(&s.setup), None, None).await;
    assert!(shown.get("signing_secret").is_none() && !shown.to_string().contains(&secret[6..]), "{shown}");
    assert_eq!(shown["url"], url);

    // A resolution is delivered in 0.8.0's shape, after the first attempt failed (the log shows both attempts).
    let marker = "ctx-value-never-in-resolution-webhooks";
    let (cnf, source, resolution) = resolve_one(&s, true, marker).await;
    let failed_once = log_until(&s, |v| v["items"][0]["attempts"] == 1).await;
    let first = &failed_once["items"][0];
    assert_eq!((first["status"].as_str(), first["last_error"].as_str()), (Some("pending"), Some("http_error")));
    let (headers, body) = next(&mut rx).await;
    let (id, event) = verified(&secret, &headers, &body);
    assert!(id.starts_with("evt_"), "{id}");
    assert_eq!(names(&event), ["data", "id", "timestamp", "type", "workspace_id"]);
    assert_eq!(event.to_string(), body, "members sorted, no whitespace");
    assert_eq!((event["id"].as_str(), event["type"].as_str()), (Some(id.as_str()), Some("confirmation.resolved")));
    assert_eq!(event["workspace_id"], s.ws);
    assert_eq!(
        event["data"],
        json!({"prompt_id": cnf, "status": "approved", "source_receipt_id": source, "resolution_receipt_id": resolution})
    );
    for private in [marker, "user-pii@example.com", "mail"] {
        assert!(!body.contains(private), "payloads carry ids only: {body}");
    }
    let log = log_until(&s, |v| v["items"][0]["status"] == "delivered").await;
    let item = &log["items"][0];
    assert_eq!(
        names(item),
        ["attempts", "created_at", "delivered_at", "event_id", "event_type", "last_error", "status"]
    );
    assert_eq!((item["event_id"].as_str(), item["attempts"].as_i64()), (Some(id.as_str()), Some(2)));
    assert!(item["delivered_at"].is_string() && item["last_error"].is_null(), "{item}");

    // Rotate: a new secret and version; the next event is signed with it.
    let (st, rotated) = s.send("POST", &format!("{PATH}/rotate"), Some(&s.setup), None, None).await;
    assert_eq!(st, 200, "{rotated}");
    let secret2 = rotated["signing_secret"].as_str().unwrap().to_string();
    assert_ne!(secret2, secret);
    assert_eq!(
        (rotated["credential_version"].as_i64(), rotated["endpoint_id"].clone()),
        (Some(2), conf["endpoint_id"].clone())
    );
    let (cnf2, _, _) = resolve_one(&s, false, marker).await;
    let (headers, body) = next(&mut rx).await;
    let (_, event) = verified(&secret2, &headers, &body);
    assert_eq!(
        (event["data"]["prompt_id"].as_str(), event["data"]["status"].as_str()),
        (Some(cnf2.as_str()), Some("rejected"))
    );

    // Disable: kept but off, idempotent; later resolutions queue nothing.
    let (st, off) = s.send("DELETE", PATH, Some(&s.setup), None, None).await;
    assert_eq!(st, 200, "{off}");
    assert_eq!((off["enabled"].as_bool(), off["credential_version"].as_i64()), (Some(false), Some(2)));
    let (st, again) = s.send("DELETE", PATH, Some(&s.setup), None, None).await;
    assert_eq!((st, again["enabled"].as_bool()), (200, Some(false)));
    let queued = s.count("webhook_deliveries WHERE channel = 'resolution'").await;
    resolve_one(&s, true, marker).await;
    assert_eq!(s.count("webhook_deliveries WHERE channel = 'resolution'").await, queued);
    let (_, log) = s.send("GET", &format!("{PATH}/deliveries"), Some(&s.setup), None, None).await;
    assert_eq!(log["items"].as_array().unwrap().len(), 2, "{log}");
    s.stop().await;
}

/// Outside `--dev` and without an allow-list, endpoints must be https URLs of public addresses, on both webhook
/// routes; a refusal is a 422 naming the problem and stores nothing.
async fn unsafe_urls_are_refused_at_configure_time(db: TestDb) {
    let s = TestServer::start_with(&db, Mode::Prod(Vec::new())).await;
    let cases = [
        ("http://93.184.216.34/hook", "https"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost:8443/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://169.254.10.1/hook", "link-local"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://[::1]/hook", "loopback"),
        ("https://[fd12::1]/hook", "unique local"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://[::ffff:10.0.0.1]/hook", "private"),
    ];
    for path in [PATH, "/v1/webhook"] {
        for (url, named) in cases {
            let (st, v) = s.send("PUT", path, Some(&s.setup), Some(json!({"url": url})), None).await;
            assert_eq!(st, 422, "{path} {url}: {v}");
            assert_eq!(v["error"]["fields"][0]["field"], "url", "{v}");
            let msg = v["error"]["fields"][0]["message"].as_str().unwrap();
            assert!(msg.contains(named), "{url}: the message names the problem: {msg}");
        }
    }
    assert_eq!(s.count("resolution_webhooks").await, 0);
    assert_eq!(s.count("webhooks").await, 0);
    // A public https endpoint is accepted (a literal address: nothing to resolve).
    let (st, v) = s.send("PUT", PATH, Some(&s.setup), Some(json!({"url": "https://93.184.216.34/hook"})), None).await;
    assert_eq!(st, 200, "{v}");
    s.stop().await;
}

/// The guard runs again on every delivery: an endpoint configured while its address was allowed is not contacted
/// once it no longer is, and the log says why.
async fn a_url_no_longer_allowed_is_refused_at_connect_time(db: TestDb) {
    let (url, mut rx, hits) = receiver(0).await;
    let s = TestServer::start_with(&db, Mode::Prod(vec!["127.0.0.0/8".into()])).await;
    let (st, v) = s.send("PUT", PATH, Some(&s.setup), Some(json!({"url": url})), None).await;
    assert_eq!(st, 200, "{v}");
    s.stop().await;

    let s = TestServer::start_with(&db, Mode::Prod(Vec::new())).await;
    resolve_one(&s, true, "m").await;
    let log = log_until(&s, |v| v["items"][0]["attempts"] == 1).await;
    let item = &log["items"][0];
    assert_eq!((item["status"].as_str(), item["last_error"].as_str()), (Some("pending"), Some("unsafe_url")), "{log}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the receiver was never contacted");
    assert!(rx.try_recv().is_err());
    s.stop().await;
}

/// The generic webhook gets `escalation.created` when a policy edition escalates, and its deliveries verify with
/// core's `verify_webhook` (the receivers' verifier in every SDK): right secret and workspace, once.
async fn an_escalation_notifies_the_generic_webhook_in_a_form_verify_webhook_accepts(db: TestDb) {
    use allowly_core::webhook::{MemorySeenIds, WebhookVerifyOptions, verify_webhook_with};
    let s = TestServer::start(&db).await;
    let (url, mut rx, _) = receiver(0).await;
    let (st, hook) = s.send("PUT", "/v1/webhook", Some(&s.setup), Some(json!({"url": url})), None).await;
    assert_eq!(st, 200, "{hook}");
    assert!(hook["events"].as_array().unwrap().iter().any(|e| e == "escalation.created"), "{hook}");
    let secret = hook["signing_secret"].as_str().unwrap().to_string();
    let policy = json!({
        "policy_id": "docs", "profile": "allowly.policy.v1", "agent_id": "ag", "default_expiry_days": null,
        "actions": [{"policy": {"profile": "allowly.basic.v1", "action": "doc.read", "decision": "allow",
                                "target": null, "fields": {"n": "integer"},
                                "rules": [{"id": "big", "decision": "escalate", "target": "member:boss",
                                           "conditions": [{"field": "n", "op": "gt", "value": 9}]}]},
                     "guards": {}, "executable_operations": []}],
    });
    let (st, p) = s.send("POST", "/v1/policies", Some(&s.setup), Some(policy), None).await;
    assert_eq!(st, 201, "{p}");
    let a = s.authorize(json!({"user_id": "u-esc", "policy_id": "docs", "policy_version": 1})).await;
    let auth = a["authorization_id"].as_str().unwrap();
    let (d, reason, r) = s.decide(auth, "doc.read", json!({"context": {"n": 10}})).await;
    assert_eq!((d.as_str(), reason.as_str()), ("escalate", "policy_requires_escalation"), "{r}");

    let (headers, body) = next(&mut rx).await;
    let pairs: Vec<(String, String)> =
        headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string())).collect();
    let store = MemorySeenIds::default();
    let opts = WebhookVerifyOptions { seen: Some(&store), ..Default::default() };
    let event = verify_webhook_with(body.as_bytes(), pairs.clone(), &secret, &s.ws, &opts).expect("verifies");
    assert_eq!(event.event_type, "escalation.created");
    assert_eq!(event.data["escalation_id"], r["escalation_id"]);
    assert_eq!(event.data["escalation_to"], "member:boss");
    assert_eq!(event.data["check_receipt_id"], r["receipt"]["receipt_id"]);
    let again = verify_webhook_with(body.as_bytes(), pairs.clone(), &secret, &s.ws, &opts).unwrap_err();
    assert_eq!(again.code(), "webhook_replay");
    let other = verify_webhook_with(body.as_bytes(), pairs, &secret, "ws_other", &Default::default()).unwrap_err();
    assert_eq!(other.code(), "webhook_workspace_mismatch");
    s.stop().await;
}

/// A confirmation nobody answered: its expiry (here found by a status read) sends `confirmation.expired` once, with
/// the expiry receipt's id; the resolution webhook is not told (0.8.0 knows only resolutions).
async fn an_expired_confirmation_notifies_the_generic_webhook_once(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (url, mut rx, hits) = receiver(0).await;
    let (st, hook) = s.send("PUT", "/v1/webhook", Some(&s.setup), Some(json!({"url": url})), None).await;
    assert_eq!(st, 200, "{hook}");
    let secret = hook["signing_secret"].as_str().unwrap().to_string();
    let a = s
        .authorize(json!({"user_id": "u-exp", "agent_id": "mail", "scopes": ["email.send"],
                          "requires_confirm_for": ["email.send"]}))
        .await;
    let (d, _, r) = s.decide(a["authorization_id"].as_str().unwrap(), "email.send", json!({})).await;
    assert_eq!(d, "confirm");
    let cnf = r["confirmation_id"].as_str().unwrap();
    let (headers, body) = next(&mut rx).await;
    assert_eq!(verified(&secret, &headers, &body).1["type"], "confirmation.created");
    // Its time runs out (moved into the past rather than waited for).
    let moved = db
        .exec(&format!("UPDATE confirmations SET nonce_expires_at = '2000-01-01T00:00:00.000Z' WHERE id = '{cnf}'"))
        .await;
    assert_eq!(moved, 1);
    let (st, m) = s.get(&format!("/v1/confirmations/{cnf}/status")).await;
    assert_eq!((st, m["status"].as_str()), (200, Some("expired")), "{m}");
    let (headers, body) = next(&mut rx).await;
    let (_, event) = verified(&secret, &headers, &body);
    assert_eq!(event["type"], "confirmation.expired");
    assert_eq!(event["data"]["confirmation_id"], cnf);
    assert_eq!(event["data"]["reason"], "confirmation_expired");
    assert!(event["data"]["receipt_id"].as_str().is_some_and(|id| id.starts_with("rcp_")), "{event}");
    // Reading it again expires nothing twice: one event of each kind was ever queued.
    s.get(&format!("/v1/confirmations/{cnf}/status")).await;
    assert_eq!(s.count("webhook_deliveries WHERE event_type = 'confirmation.expired'").await, 1);
    assert_eq!(s.count("webhook_deliveries WHERE event_type = 'confirmation.created'").await, 1);
    assert!(hits.load(Ordering::SeqCst) >= 2);
    assert_eq!(s.count("webhook_deliveries WHERE channel = 'resolution'").await, 0);
    s.stop().await;
}
