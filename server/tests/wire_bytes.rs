//! The JSON bodies of every route, pinned as text: member sets and member order at every level.
//!
//! Response bodies used to be `serde_json::Value`s, and serde_json is built without `preserve_order`, so every object
//! went out with its members sorted by name. The typed bodies must keep exactly those bytes. Ids and timestamps vary,
//! so the proof is structural: each body's text equals its own re-serialization through `Value` (which sorts every
//! object at every level — so the order on the wire is the sorted order, nested objects and `null` members
//! included), and each object's member set is the list written down here, recorded from the `json!` code.

#[macro_use]
mod common;

use common::{TestDb, TestServer};
use serde_json::{Value, json};

backend_tests!(every_route_answers_sorted_members_as_before);

const PENDING: &[&str] = &["ready_at_estimate", "receipt_id", "status", "url"];
const SIGNED: &[&str] = &["receipt", "status"];
const AUTH_CREATED: &[&str] = &[
    "agent_id",
    "authorization_id",
    "budget_limit_micros",
    "budget_spent_micros",
    "created_at",
    "escalation_targets",
    "expires_at",
    "metadata",
    "policy_id",
    "receipt",
    "replaced_authorization_id",
    "requires_confirm_for",
    "requires_deny_for",
    "requires_escalation_for",
    "revocation_receipt",
    "scopes",
    "user_id",
];
const SCOPE_RESULT: &[&str] = &[
    "budget",
    "confirm_expires_at",
    "confirm_nonce",
    "confirm_prompt_hint",
    "confirmation_id",
    "decision",
    "policy_eval",
    "reason",
    "receipt",
];
const ERROR: &[&str] = &["code", "fields", "message"];

/// Sends a request and returns the status and the raw body text.
async fn send(
    s: &TestServer,
    method: &str,
    path: &str,
    key: &str,
    body: Option<Value>,
    idem: Option<&str>,
) -> (u16, String) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut rb = s.http.request(m, format!("{}{}", s.base, path)).bearer_auth(key);
    if let Some(i) = idem {
        rb = rb.header("Idempotency-Key", i);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.expect("request");
    (resp.status().as_u16(), resp.text().await.expect("body"))
}

/// Parses `text`, asserts it is exactly the sorted serialization of itself and that its top-level members are `keys`.
fn body(text: &str, keys: &[&str]) -> Value {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert_eq!(v.to_string(), text, "members not in sorted order, or not compact");
    members(&v, keys);
    v
}

fn members(v: &Value, keys: &[&str]) {
    let got: Vec<&str> =
        v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().map(String::as_str).collect();
    assert_eq!(got, keys, "{v}");
}

async fn every_route_answers_sorted_members_as_before(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (rt, setup) = (s.rt.clone(), s.setup.clone());

    let (st, t) = send(&s, "GET", "/healthz", &rt, None, None).await;
    assert_eq!(st, 200);
    body(&t, &["status"]);
    let (st, t) = send(&s, "GET", "/readyz", &rt, None, None).await;
    assert_eq!(st, 200);
    body(&t, &["database", "signer", "status"]);

    // Authorizations: created (scopes and the legacy actions), read back, replaced, revoked.
    let create = json!({
        "user_id": "u1", "agent_id": "a1", "metadata": {"b": 1, "a": [2]},
        "scopes": ["mail.send", "docs.read", {"name": "cal.read", "constraints": {"max_per_day": 3,
            "deny_when": [{"field": "risk", "op": "gte", "value": 80}]}}],
        "requires_confirm_for": ["mail.send"],
    });
    let (st, t) = send(&s, "POST", "/v1/authorizations", &rt, Some(create.clone()), Some("a-1")).await;
    assert_eq!(st, 201, "{t}");
    let auth = body(&t, AUTH_CREATED);
    members(&auth["receipt"], PENDING);
    assert!(auth["revocation_receipt"].is_null() && auth["policy_id"].is_null());
    let (st, replay) = send(&s, "POST", "/v1/authorizations", &rt, Some(create), Some("a-1")).await;
    assert_eq!((st, replay), (201, t), "an idempotent replay answers the same bytes");
    let auth_id = auth["authorization_id"].as_str().unwrap().to_string();
    let budgeted = json!({"user_id": "u2", "agent_id": "a1", "budget_limit_micros": 1000, "scopes": ["docs.read"]});
    let (st, t) = send(&s, "POST", "/v1/authorizations", &rt, Some(budgeted), None).await;
    assert_eq!(st, 201, "{t}");
    let budgeted = body(&t, AUTH_CREATED);
    assert_eq!(budgeted["budget_spent_micros"], 0);
    let budgeted_id = budgeted["authorization_id"].as_str().unwrap().to_string();

    let (st, t) = send(
        &s,
        "POST",
        "/v1/authorizations",
        &rt,
        Some(json!({"user_id": "u1", "agent_id": "a1", "actions": ["docs.read"]})),
        None,
    )
    .await;
    assert_eq!(st, 201, "{t}");
    let mut with_actions = vec!["actions"];
    with_actions.extend(AUTH_CREATED.iter().filter(|k| **k != "scopes"));
    let legacy = body(&t, &with_actions);
    assert!(legacy["budget_limit_micros"].is_null() && legacy["budget_spent_micros"].is_null());
    let legacy_id = legacy["authorization_id"].as_str().unwrap().to_string();

    let (st, t) = send(
        &s,
        "POST",
        "/v1/authorizations",
        &rt,
        Some(json!({"user_id": "u1", "agent_id": "a1", "scopes": ["docs.read"], "replaces": legacy_id})),
        None,
    )
    .await;
    assert_eq!(st, 201, "{t}");
    let successor = body(&t, AUTH_CREATED);
    members(&successor["revocation_receipt"], PENDING);
    let successor_id = successor["authorization_id"].as_str().unwrap().to_string();

    let mut read = AUTH_CREATED.to_vec();
    read.extend(["revoked_at", "status"]);
    read.sort_unstable();
    let (st, t) = send(&s, "GET", &format!("/v1/authorizations/{successor_id}"), &rt, None, None).await;
    assert_eq!(st, 200, "{t}");
    let got = body(&t, &read);
    assert!(got["revocation_receipt"].is_object() && got["revoked_at"].is_null());

    // Check: allow with budget, confirm, deny; a replay is byte-identical (nonce sealed and reopened).
    let check = json!({"authorization_id": auth_id, "scopes": ["docs.read", "mail.send", "nope"],
        "context": {"z": 1, "a": "x"}});
    let (st, t) = send(&s, "POST", "/v1/check", &rt, Some(check.clone()), Some("c-1")).await;
    assert_eq!(st, 200, "{t}");
    let out =
        body(&t, &["agent_id", "authorization_expires_at", "authorization_id", "engine_version", "results", "user_id"]);
    members(&out["results"], &["docs.read", "mail.send", "nope"]);
    for r in out["results"].as_object().unwrap().values() {
        members(r, SCOPE_RESULT);
        members(&r["receipt"], PENDING);
    }
    assert_eq!(out["results"]["mail.send"]["decision"], "confirm", "{out}");
    let (st, replay) = send(&s, "POST", "/v1/check", &rt, Some(check), Some("c-1")).await;
    assert_eq!((st, &replay), (200, &t), "an idempotent replay answers the same bytes");

    let (st, t) =
        send(&s, "POST", "/v1/check", &rt, Some(json!({"authorization_id": "auth_missing", "scopes": ["x"]})), None)
            .await;
    assert_eq!(st, 200, "{t}");
    let unknown =
        body(&t, &["agent_id", "authorization_expires_at", "authorization_id", "engine_version", "results", "user_id"]);
    assert!(unknown["user_id"].is_null() && unknown["results"]["x"]["budget"].is_null());

    let (st, t) = send(
        &s,
        "POST",
        "/v1/check?wait=true",
        &rt,
        Some(json!({"authorization_id": auth_id, "scopes": ["cal.read"], "context": {"risk": 90}})),
        None,
    )
    .await;
    assert_eq!(st, 200, "{t}");
    let waited =
        body(&t, &["agent_id", "authorization_expires_at", "authorization_id", "engine_version", "results", "user_id"]);
    members(&waited["results"]["cal.read"]["receipt"], SIGNED);
    let policy_eval = &waited["results"]["cal.read"]["policy_eval"];
    members(policy_eval, &["field_value", "matched_condition"]);
    members(&policy_eval["matched_condition"], &["field", "op", "value"]);

    // Confirmations: read, resolve (approved and rejected), replay.
    let confirmation_id = out["results"]["mail.send"]["confirmation_id"].as_str().unwrap().to_string();
    let nonce = out["results"]["mail.send"]["confirm_nonce"].as_str().unwrap().to_string();
    // `authority_status` was added with the 0.8.0 shapes (an added member; the others are as before).
    let confirmation = [
        "authority_status",
        "authorization_id",
        "check_receipt_id",
        "confirm_expires_at",
        "confirmation_id",
        "created_at",
        "decided_at",
        "expires_at",
        "receipt",
        "resource",
        "scope",
        "status",
        "ttl_seconds",
    ];
    let (st, t) = send(&s, "GET", &format!("/v1/confirmations/{confirmation_id}"), &rt, None, None).await;
    assert_eq!(st, 200, "{t}");
    assert!(body(&t, &confirmation)["receipt"].is_null());
    let (st, t) =
        send(&s, "POST", &format!("/v1/confirmations/{nonce}"), &rt, Some(json!({"approved": true})), Some("r-1"))
            .await;
    assert_eq!(st, 200, "{t}");
    let resolved = body(&t, &["authorization_id", "confirmation_id", "decision", "expires_at", "receipt"]);
    members(&resolved["receipt"], PENDING);
    let (st, replay) =
        send(&s, "POST", &format!("/v1/confirmations/{nonce}"), &rt, Some(json!({"approved": true})), Some("r-1"))
            .await;
    assert_eq!((st, replay), (200, t), "an idempotent replay answers the same bytes");
    let (st, t) = send(&s, "GET", &format!("/v1/confirmations/{confirmation_id}"), &rt, None, None).await;
    assert_eq!(st, 200, "{t}");
    members(&body(&t, &confirmation)["receipt"], PENDING);

    let (st, t) = send(
        &s,
        "POST",
        "/v1/check",
        &rt,
        Some(json!({"authorization_id": auth_id, "scopes": ["mail.send"],
        "resource": "r2"})),
        None,
    )
    .await;
    assert_eq!(st, 200, "{t}");
    let second =
        body(&t, &["agent_id", "authorization_expires_at", "authorization_id", "engine_version", "results", "user_id"]);
    let nonce2 = second["results"]["mail.send"]["confirm_nonce"].as_str().unwrap().to_string();
    let (st, t) =
        send(&s, "POST", &format!("/v1/confirmations/{nonce2}"), &rt, Some(json!({"approved": false})), None).await;
    assert_eq!(st, 200, "{t}");
    let rejected = body(&t, &["authorization_id", "confirmation_id", "decision", "expires_at", "receipt"]);
    assert!(rejected["authorization_id"].is_null() && rejected["expires_at"].is_null());

    // Settlement of the budgeted allow, and its replay.
    let (st, t) = send(
        &s,
        "POST",
        "/v1/check",
        &rt,
        Some(json!({"authorization_id": budgeted_id,
        "scopes": ["docs.read"], "estimated_cost_micros": 10})),
        None,
    )
    .await;
    assert_eq!(st, 200, "{t}");
    let spend =
        body(&t, &["agent_id", "authorization_expires_at", "authorization_id", "engine_version", "results", "user_id"]);
    members(
        &spend["results"]["docs.read"]["budget"],
        &["estimated_cost_micros", "limit_micros", "spent_after_micros", "spent_micros"],
    );
    let check_receipt = spend["results"]["docs.read"]["receipt"]["receipt_id"].as_str().unwrap().to_string();
    let settle = json!({"check_receipt_id": check_receipt, "actual_cost_micros": 7});
    let (st, t) = send(&s, "POST", "/v1/budget-settlements", &rt, Some(settle.clone()), Some("s-1")).await;
    assert_eq!(st, 200, "{t}");
    let settled = body(
        &t,
        &[
            "actual_cost_micros",
            "authorization_id",
            "check_receipt_id",
            "delta_micros",
            "estimated_cost_micros",
            "receipt",
            "spent_after_micros",
            "spent_before_micros",
        ],
    );
    members(&settled["receipt"], PENDING);
    let (st, replay) = send(&s, "POST", "/v1/budget-settlements", &rt, Some(settle), Some("s-1")).await;
    assert_eq!((st, replay), (200, t), "an idempotent replay answers the same bytes");

    // Receipts: pending or signed envelope.
    let (st, t) = send(&s, "GET", &format!("/v1/receipts/{check_receipt}?wait_ms=10000"), &rt, None, None).await;
    assert_eq!(st, 200, "{t}");
    body(&t, SIGNED);

    // Revoke, twice (the second answers the first result), with a replay.
    let revocation = ["authorization_id", "receipt", "revoked_at", "revoked_confirmations"];
    let (st, t) =
        send(&s, "DELETE", &format!("/v1/authorizations/{auth_id}"), &rt, Some(json!({"notes": "n"})), Some("d-1"))
            .await;
    assert_eq!(st, 200, "{t}");
    members(&body(&t, &revocation)["receipt"], PENDING);
    let (st, again) = send(&s, "DELETE", &format!("/v1/authorizations/{auth_id}"), &rt, None, None).await;
    assert_eq!((st, &again), (200, &t), "revoking twice answers the first result's bytes");
    let (st, replay) =
        send(&s, "DELETE", &format!("/v1/authorizations/{auth_id}"), &rt, Some(json!({"notes": "n"})), Some("d-1"))
            .await;
    assert_eq!((st, replay), (200, t));

    // Keys: the document, rotation (and its replay).
    let (st, t) = send(&s, "GET", &format!("/v1/workspaces/{}/keys", s.ws), &rt, None, None).await;
    assert_eq!(st, 200, "{t}");
    body(&t, &["keys", "workspace_id"]);
    let (st, t) = send(&s, "POST", "/v1/signing-keys/rotate", &setup, None, Some("k-1")).await;
    assert_eq!(st, 200, "{t}");
    body(&t, &["active_from", "key_id", "workspace_id"]);
    let (st, replay) = send(&s, "POST", "/v1/signing-keys/rotate", &setup, None, Some("k-1")).await;
    assert_eq!((st, replay), (200, t));

    // API keys: created (the replay has `key: null`), listed, revoked.
    let key_record = ["created_at", "id", "key", "name", "prefix", "revoked_at", "tier"];
    let new_key = json!({"tier": "runtime", "name": "ci"});
    let (st, t) = send(&s, "POST", "/v1/api-keys", &setup, Some(new_key.clone()), Some("n-1")).await;
    assert_eq!(st, 201, "{t}");
    let created = body(&t, &key_record);
    let (st, replay) = send(&s, "POST", "/v1/api-keys", &setup, Some(new_key), Some("n-1")).await;
    assert_eq!(st, 201);
    assert_eq!(replay, t.replace(&format!("\"key\":\"{}\"", created["key"].as_str().unwrap()), "\"key\":null"));
    let (st, t) = send(&s, "GET", "/v1/api-keys", &setup, None, None).await;
    assert_eq!(st, 200, "{t}");
    let list = body(&t, &["data"]);
    for k in list["data"].as_array().unwrap() {
        members(k, &["created_at", "id", "name", "prefix", "revoked_at", "tier"]);
    }
    let key_id = created["id"].as_str().unwrap();
    let (st, t) = send(&s, "DELETE", &format!("/v1/api-keys/{key_id}"), &setup, None, Some("x-1")).await;
    assert_eq!(st, 200, "{t}");
    body(&t, &["id", "revoked_at"]);
    let (st, replay) = send(&s, "DELETE", &format!("/v1/api-keys/{key_id}"), &setup, None, Some("x-1")).await;
    assert_eq!((st, replay), (200, t));

    // Webhook endpoint.
    let (st, t) = send(&s, "PUT", "/v1/webhook", &setup, Some(json!({"url": "http://127.0.0.1:9/hook"})), None).await;
    assert_eq!(st, 200, "{t}");
    body(&t, &["created_at", "events", "signing_secret", "url"]);
    let (st, t) = send(&s, "GET", "/v1/webhook", &setup, None, None).await;
    assert_eq!(st, 200, "{t}");
    body(&t, &["created_at", "events", "updated_at", "url"]);
    let (st, t) = send(&s, "DELETE", "/v1/webhook", &setup, None, None).await;
    assert_eq!(st, 200, "{t}");
    body(&t, &["deleted"]);

    // Audit: signed receipts as stored.
    let (st, t) = send(&s, "GET", "/v1/audit?limit=2", &setup, None, None).await;
    assert_eq!(st, 200, "{t}");
    body(&t, &["data", "next_cursor"]);

    // Errors: the envelope, with and without fields.
    let (st, t) = send(&s, "POST", "/v1/check", &rt, Some(json!({"scopes": []})), None).await;
    assert_eq!(st, 422, "{t}");
    let e = body(&t, &["error"]);
    members(&e["error"], ERROR);
    for f in e["error"]["fields"].as_array().unwrap() {
        members(f, &["field", "message"]);
    }
    let (st, t) = send(&s, "GET", "/v1/nowhere", &rt, None, None).await;
    assert_eq!(st, 404, "{t}");
    members(&body(&t, &["error"])["error"], ERROR);
    let (st, t) = send(&s, "GET", "/v1/api-keys", &rt, None, None).await;
    assert_eq!(st, 403, "{t}");
    members(&body(&t, &["error"])["error"], ERROR);

    s.stop().await;
}
