//! Route-level tests over HTTP against the real server on SQLite and PostgreSQL: every route, every reason code of
//! the evaluation order, error envelopes that store nothing, idempotent replay.

#[macro_use]
mod common;

use common::{TestDb, TestServer};
use serde_json::{Value, json};

fn assert_envelope(v: &Value, code: &str) {
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
    assert!(v["error"]["fields"].is_array(), "{v}");
}

async fn seed_lifecycle_and_every_reason_code(db: TestDb) {
    let s = TestServer::start(&db).await;

    // Create (with `actions`, the compatibility name: the response echoes it).
    let a = s
        .authorize(json!({
            "user_id": "u1", "agent_id": "mail-agent",
            "actions": ["email.read", {"name": "email.send", "constraints": {"confirm_prompt": "Send it?"}},
                        {"name": "doc.read", "constraints": {"resource_pattern": "doc:*", "max_per_day": 2,
                          "deny_when": [{"field": "risk", "op": "gte", "value": 80}]}},
                        "danger", "pay"],
            "requires_confirm_for": ["email.send"], "requires_deny_for": ["danger"],
            "metadata": {"source": "onboarding"},
            "requires_escalation_for": [], "escalation_targets": {}, "policy_id": null,
            "expires_at": "2099-12-31T00:00:00Z",
        }))
        .await;
    let id = a["authorization_id"].as_str().expect("id").to_string();
    assert!(id.starts_with("auth_"));
    assert!(a.get("scopes").is_none() && a["actions"].is_array(), "{a}");
    assert_eq!(a["receipt"]["status"], "pending");
    assert_eq!(a["revocation_receipt"], Value::Null);
    assert_eq!(a["requires_escalation_for"], json!([]));
    assert_eq!(a["expires_at"], "2099-12-31T00:00:00.000Z");

    let (st, g) = s.get(&format!("/v1/authorizations/{id}")).await;
    assert_eq!((st, g["status"].as_str()), (200, Some("active")));

    let r = |d: &str, r: &str| (d.to_string(), r.to_string());
    let got = |t: (String, String, Value)| (t.0, t.1);
    assert_eq!(got(s.decide(&id, "email.read", json!({})).await), r("allow", "scope_granted"));
    assert_eq!(got(s.decide(&id, "nope", json!({})).await), r("deny", "scope_not_in_authorization"));
    assert_eq!(got(s.decide(&id, "danger", json!({})).await), r("deny", "deny_condition_matched"));
    let (d, rs, res) = s.decide(&id, "doc.read", json!({"resource": "doc:1", "context": {"risk": 90}})).await;
    assert_eq!(r(&d, &rs), r("deny", "deny_condition_matched"));
    assert_eq!(res["policy_eval"]["field_value"], 90);
    assert_eq!(got(s.decide(&id, "doc.read", json!({"resource": "img:1"})).await), r("deny", "resource_not_permitted"));
    assert_eq!(got(s.decide(&id, "doc.read", json!({"resource": "doc:1"})).await), r("allow", "scope_granted"));
    assert_eq!(got(s.decide(&id, "doc.read", json!({"resource": "doc:2"})).await), r("allow", "scope_granted"));
    assert_eq!(got(s.decide(&id, "doc.read", json!({"resource": "doc:3"})).await), r("deny", "rate_limit_exceeded"));

    // Confirm → approve → allow user_confirmed (single use) → confirm again.
    let (d, rs, res) =
        s.decide(&id, "email.send", json!({"resource": "gmail:thread:abc", "context": {"origin": "chat"}})).await;
    assert_eq!(r(&d, &rs), r("confirm", "scope_requires_user_confirmation"));
    assert_eq!(res["confirm_prompt_hint"], "Send it?");
    let nonce = res["confirm_nonce"].as_str().expect("nonce").to_string();
    let cnf = res["confirmation_id"].as_str().expect("cnf").to_string();
    let (st, c) = s.get(&format!("/v1/confirmations/{cnf}")).await;
    assert_eq!((st, c["status"].as_str()), (200, Some("pending")));
    assert!(!c.to_string().contains(&nonce), "GET never returns the nonce");
    let (st, ap) = s.post(&format!("/v1/confirmations/{nonce}"), json!({"approved": true, "ttl_seconds": 60})).await;
    assert_eq!(st, 200, "{ap}");
    assert_eq!((ap["decision"].as_str(), ap["authorization_id"].as_str()), (Some("approved"), Some(id.as_str())));
    let (st, again) = s.post(&format!("/v1/confirmations/{nonce}"), json!({"approved": true})).await;
    assert_eq!(st, 404);
    assert_envelope(&again, "confirmation_not_found");
    // Another resource does not match the approval.
    assert_eq!(s.decide(&id, "email.send", json!({"resource": "gmail:thread:zzz"})).await.0, "confirm");
    let (d, rs, _) = s.decide(&id, "email.send", json!({})).await;
    assert_eq!(r(&d, &rs), r("allow", "user_confirmed"));
    assert_eq!(s.decide(&id, "email.send", json!({})).await.0, "confirm", "approval is single use");

    // Rejection → deny user_rejected.
    let (_, _, res) = s.decide(&id, "email.send", json!({"resource": "gmail:thread:r"})).await;
    let nonce = res["confirm_nonce"].as_str().expect("nonce").to_string();
    let (st, rej) = s.post(&format!("/v1/confirmations/{nonce}"), json!({"approved": false})).await;
    assert_eq!(st, 200);
    assert_eq!(
        (rej["decision"].as_str(), &rej["authorization_id"], &rej["expires_at"]),
        (Some("denied_by_user"), &Value::Null, &Value::Null)
    );
    assert_eq!(
        got(s.decide(&id, "email.send", json!({"resource": "gmail:thread:r"})).await),
        r("deny", "user_rejected")
    );

    // Budget: estimate required, single scope, exceeded, settle, already settled.
    let b = s.authorize(json!({"user_id": "u1", "agent_id": "research", "scopes": ["llm.enrich", "x"], "budget_limit_micros": 50_000})).await;
    let bid = b["authorization_id"].as_str().expect("id").to_string();
    let (st, e) = s.post("/v1/check", json!({"authorization_id": bid, "scopes": ["llm.enrich"]})).await;
    assert_eq!(st, 422);
    assert_envelope(&e, "budget_estimate_required");
    let (st, e) = s
        .post("/v1/check", json!({"authorization_id": bid, "scopes": ["llm.enrich", "x"], "estimated_cost_micros": 1}))
        .await;
    assert_eq!(st, 422);
    assert_envelope(&e, "budget_single_scope");
    let (d, _, res) = s.decide(&bid, "llm.enrich", json!({"estimated_cost_micros": 30_000})).await;
    assert_eq!(d, "allow");
    assert_eq!(
        res["budget"],
        json!({"limit_micros": 50_000, "spent_micros": 0, "estimated_cost_micros": 30_000, "spent_after_micros": 30_000})
    );
    let check_rcp = res["receipt"]["receipt_id"].as_str().expect("rcp").to_string();
    assert_eq!(
        got(s.decide(&bid, "llm.enrich", json!({"estimated_cost_micros": 30_000})).await),
        r("deny", "budget_exceeded")
    );
    let (st, set) =
        s.post("/v1/budget-settlements", json!({"check_receipt_id": check_rcp, "actual_cost_micros": 10_000})).await;
    assert_eq!(st, 200, "{set}");
    assert_eq!(
        (set["delta_micros"].as_i64(), set["spent_before_micros"].as_i64(), set["spent_after_micros"].as_i64()),
        (Some(-20_000), Some(30_000), Some(10_000))
    );
    let (st, e) =
        s.post("/v1/budget-settlements", json!({"check_receipt_id": check_rcp, "actual_cost_micros": 10_000})).await;
    assert_eq!(st, 409);
    assert_envelope(&e, "already_settled");
    assert_eq!(s.decide(&bid, "llm.enrich", json!({"estimated_cost_micros": 30_000})).await.0, "allow");

    // Unknown authorization: deny with a receipt that has authorization_id null.
    let v = s.check(json!({"authorization_id": "auth_nope", "scopes": ["a", "b"]})).await;
    assert_eq!(v["results"]["a"]["reason"], "authorization_not_found");
    assert_eq!(v["results"]["b"]["reason"], "authorization_not_found");
    let rc = s.signed(v["results"]["a"]["receipt"]["receipt_id"].as_str().expect("rcp")).await;
    assert_eq!(rc["authorization_id"], Value::Null);
    s.verify(&rc).await;

    // Revoke (twice → same result), then deny authorization_revoked; pending nonces die with it.
    let (_, _, res) = s.decide(&id, "email.send", json!({"resource": "gmail:thread:new"})).await;
    let nonce = res["confirm_nonce"].as_str().expect("nonce").to_string();
    let (st, rv) = s
        .send("DELETE", &format!("/v1/authorizations/{id}"), Some(&s.rt), Some(json!({"revoked_by": "user"})), None)
        .await;
    assert_eq!(st, 200, "{rv}");
    // Every still-pending nonce of the authorization (three were left unresolved above) stops working.
    assert_eq!(rv["revoked_confirmations"].as_array().map(Vec::len), Some(3));
    assert!(rv["revoked_confirmations"].as_array().expect("list").contains(&res["confirmation_id"]));
    let (st, rv2) = s.send("DELETE", &format!("/v1/authorizations/{id}"), Some(&s.rt), None, None).await;
    assert_eq!((st, &rv2), (200, &rv));
    let (st, e) = s.post(&format!("/v1/confirmations/{nonce}"), json!({"approved": true})).await;
    assert_eq!(st, 410);
    assert_envelope(&e, "confirmation_expired");
    assert_eq!(got(s.decide(&id, "email.read", json!({})).await), r("deny", "authorization_revoked"));
    let (_, g) = s.get(&format!("/v1/authorizations/{id}")).await;
    assert_eq!(g["status"], "revoked");

    // Replacement: the predecessor is revoked as superseded in the same transaction.
    let n = s.authorize(json!({"user_id": "u1", "agent_id": "research", "scopes": ["llm.enrich"], "budget_limit_micros": 1, "replaces": bid})).await;
    assert_eq!(n["replaced_authorization_id"], bid.as_str());
    let rev = s.signed(n["revocation_receipt"]["receipt_id"].as_str().expect("rcp")).await;
    assert_eq!(
        (rev["context"]["revoked_by"].as_str(), rev["context"]["superseded_by"].as_str()),
        (Some("superseded"), n["authorization_id"].as_str())
    );
    let cr = s.signed(n["receipt"]["receipt_id"].as_str().expect("rcp")).await;
    assert_eq!(cr["context"]["replaces"], bid.as_str());
    assert_eq!(
        got(s.decide(&bid, "llm.enrich", json!({"estimated_cost_micros": 1})).await),
        r("deny", "authorization_revoked")
    );

    // Expired: an authorization whose expiry passed.
    let e = s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["s"], "expires_at": soon()})).await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(
        got(s.decide(e["authorization_id"].as_str().expect("id"), "s", json!({})).await),
        r("deny", "authorization_expired")
    );
    s.stop().await;
}

fn soon() -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    t.format(&time::format_description::well_known::Rfc3339).expect("fmt")
}

async fn bad_input_is_an_envelope_and_stores_nothing(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["s"]})).await;
    let id = a["authorization_id"].as_str().expect("id").to_string();
    let before = (s.count("receipts").await, s.count("authorizations").await, s.count("idempotency").await);

    let (st, v) = s.raw("POST", "/v1/authorizations", b"{not json".to_vec()).await;
    assert_eq!(st, 400);
    assert_envelope(&v, "malformed_json");
    let (st, v) = s.post("/v1/authorizations", json!({"user_id": 5, "agent_id": "a", "scopes": "s"})).await;
    assert_eq!(st, 422);
    assert_envelope(&v, "validation_error");
    let fields: Vec<&str> =
        v["error"]["fields"].as_array().expect("fields").iter().filter_map(|f| f["field"].as_str()).collect();
    assert!(fields.contains(&"user_id") && fields.contains(&"scopes"), "{v}");
    let (st, v) =
        s.post("/v1/authorizations", json!({"user_id": "u", "agent_id": "a", "scopes": ["s"], "surprise": 1})).await;
    assert_eq!(st, 422);
    assert_eq!(v["error"]["fields"][0]["field"], "surprise");
    // A `policy_id` makes it a request for a policy edition's grant, which takes `actions` from the edition and
    // refuses `scopes` (this pinned 422 `policy_id` "not supported yet" before policy editions existed).
    let (st, v) =
        s.post("/v1/authorizations", json!({"user_id": "u", "agent_id": "a", "scopes": ["s"], "policy_id": "p"})).await;
    assert_eq!((st, v["error"]["fields"][0]["field"].as_str()), (422, Some("scopes")));
    let (st, v) = s.post("/v1/check", json!({"authorization_id": id, "scopes": ["s"], "context": {"budget": 1}})).await;
    assert_eq!((st, v["error"]["fields"][0]["field"].as_str()), (422, Some("context.budget")));
    let (st, v) = s.post("/v1/check", json!({"authorization_id": id, "scopes": ["s"], "context": {"x": 1.5}})).await;
    assert_eq!(st, 422, "{v}");
    let (st, v) = s.post("/v1/check", json!({"authorization_id": id, "scopes": []})).await;
    assert_eq!(st, 422, "{v}");
    let big = json!({"user_id": "u", "agent_id": "a", "scopes": ["s"], "metadata": {"x": "y".repeat(70 * 1024)}});
    let (st, v) = s.raw("POST", "/v1/authorizations", serde_json::to_vec(&big).expect("ser")).await;
    assert_eq!(st, 413);
    assert_envelope(&v, "payload_too_large");
    let (st, v) = s.get("/v1/authorizations/auth_unknown").await;
    assert_eq!(st, 404);
    assert_envelope(&v, "authorization_not_found");
    let (st, v) = s.send("DELETE", "/v1/authorizations/auth_unknown", Some(&s.rt), None, None).await;
    assert_eq!(st, 404);
    assert_envelope(&v, "authorization_not_found");
    let (st, v) = s.get("/v1/receipts/rcp_unknown").await;
    assert_eq!(st, 404);
    assert_envelope(&v, "receipt_not_found");
    let (st, v) = s.post("/v1/budget-settlements", json!({"check_receipt_id": "rcp_x", "actual_cost_micros": 1})).await;
    assert_eq!(st, 404);
    assert_envelope(&v, "receipt_not_found");
    let (st, v) = s.post("/v1/confirmations/not-a-nonce", json!({"approved": true})).await;
    assert_eq!(st, 404);
    assert_envelope(&v, "confirmation_not_found");

    // Auth: missing / bad / unknown key → 401; runtime key on a setup route → 403.
    let (st, v) = s.send("POST", "/v1/check", None, Some(json!({})), None).await;
    assert_eq!(st, 401);
    assert_envelope(&v, "invalid_api_key");
    let (st, _) = s.send("POST", "/v1/check", Some("allowly_rt_short"), Some(json!({})), None).await;
    assert_eq!(st, 401);
    let (st, _) = s.send("GET", "/v1/receipts/x", Some(&format!("allowly_rt_{}", "A".repeat(32))), None, None).await;
    assert_eq!(st, 401);
    let (st, v) = s.send("POST", "/v1/signing-keys/rotate", Some(&s.rt), None, None).await;
    assert_eq!(st, 403);
    assert_envelope(&v, "insufficient_key_tier");
    let (st, v) = s.get("/v1/nowhere").await;
    assert_eq!(st, 404);
    assert_envelope(&v, "not_found");

    let after = (s.count("receipts").await, s.count("authorizations").await, s.count("idempotency").await);
    assert_eq!(before, after, "no error stored anything");
    s.stop().await;
}

async fn idempotency_replays_and_conflicts(db: TestDb) {
    let s = TestServer::start(&db).await;
    let body = json!({"user_id": "u", "agent_id": "a", "scopes": ["s"], "budget_limit_micros": 100});
    let (st1, a1) = s.send("POST", "/v1/authorizations", Some(&s.rt), Some(body.clone()), Some("k1")).await;
    let (st2, a2) = s.send("POST", "/v1/authorizations", Some(&s.rt), Some(body.clone()), Some("k1")).await;
    assert_eq!((st1, st2), (201, 201));
    assert_eq!(a1, a2, "replay returns the first response");
    assert_eq!(s.count("authorizations").await, 1);
    let (st, e) = s
        .send(
            "POST",
            "/v1/authorizations",
            Some(&s.rt),
            Some(json!({"user_id": "v", "agent_id": "a", "scopes": ["s"]})),
            Some("k1"),
        )
        .await;
    assert_eq!(st, 409);
    assert_envelope(&e, "idempotency_conflict");

    let id = a1["authorization_id"].as_str().expect("id");
    let chk = json!({"authorization_id": id, "scopes": ["s"], "estimated_cost_micros": 60});
    let (_, c1) = s.send("POST", "/v1/check", Some(&s.rt), Some(chk.clone()), Some("c1")).await;
    let (_, c2) = s.send("POST", "/v1/check", Some(&s.rt), Some(chk.clone()), Some("c1")).await;
    assert_eq!(c1, c2);
    assert_eq!(c1["results"]["s"]["decision"], "allow");
    // No second reservation: another 60 would still fit only if the replay reserved nothing.
    let (_, c3) = s
        .send(
            "POST",
            "/v1/check",
            Some(&s.rt),
            Some(json!({"authorization_id": id, "scopes": ["s"], "estimated_cost_micros": 40})),
            None,
        )
        .await;
    assert_eq!(c3["results"]["s"]["decision"], "allow", "{c3}");
    // wait=true on a replay answers the same ids, now signed.
    let (_, c4) = s.send("POST", "/v1/check?wait=true", Some(&s.rt), Some(chk), Some("c1")).await;
    assert_eq!(c4["results"]["s"]["receipt"]["status"], "signed", "{c4}");
    assert_eq!(c4["results"]["s"]["receipt"]["receipt"]["receipt_id"], c1["results"]["s"]["receipt"]["receipt_id"]);
    s.stop().await;
}

backend_tests!(
    seed_lifecycle_and_every_reason_code,
    bad_input_is_an_envelope_and_stores_nothing,
    idempotency_replays_and_conflicts
);
