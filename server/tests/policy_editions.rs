//! Policy editions end to end over HTTP: create / get / list / preview / publish / archive, authorizations granted
//! from an edition, their checks (allow, confirm, escalate, deny, guards) and their wire-5 receipts.

#[macro_use]
mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use common::{TestDb, TestServer};
use serde_json::{Value, json};

backend_tests!(editions_lifecycle, edition_authorizations_decide_and_receipt_in_wire_5);

fn definition() -> Value {
    json!({
        "profile": "allowly.policy.v1", "agent_id": "billing-agent", "default_expiry_days": 30,
        "actions": [
            {"policy": {"profile": "allowly.basic.v1", "action": "invoice.read", "decision": "allow", "target": null,
                        "fields": {}, "rules": []},
             "guards": {"resource_pattern": "invoice:*"}, "executable_operations": []},
            {"policy": {"profile": "allowly.basic.v1", "action": "invoice.pay", "decision": "allow", "target": null,
                        "fields": {"amount": "integer"},
                        "rules": [
                            {"id": "large", "decision": "escalate", "target": "member:cfo",
                             "conditions": [{"field": "amount", "op": "gte", "value": 10000}]},
                            {"id": "medium", "decision": "confirm", "target": "agent_owner",
                             "conditions": [{"field": "amount", "op": "gte", "value": 1000}]},
                            {"id": "refund", "decision": "deny", "target": null,
                             "conditions": [{"field": "amount", "op": "lt", "value": 0}]}]},
             "guards": {"max_per_day": 5}, "executable_operations": []}
        ]
    })
}

fn with(base: &Value, extra: Value) -> Value {
    let mut v = base.clone();
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    v
}

async fn setup_post(s: &TestServer, path: &str, body: Value, idem: Option<&str>) -> (u16, Value) {
    s.send("POST", path, Some(&s.setup), Some(body), idem).await
}

async fn editions_lifecycle(db: TestDb) {
    let s = TestServer::start(&db).await;
    let def = definition();
    let digest = allowly_core::policy::definition_sha256(&def).expect("digest");

    // A runtime key cannot write policies.
    let (st, _) = s.post("/v1/policies", with(&def, json!({"policy_id": "billing"}))).await;
    assert_eq!(st, 403);
    let (st, p) =
        setup_post(&s, "/v1/policies", with(&def, json!({"policy_id": "billing", "description": "d"})), None).await;
    assert_eq!(st, 201, "{p}");
    assert_eq!(p["policy_ref"], json!({"policy_id": "billing", "policy_version": 1, "definition_sha256": digest}));
    assert_eq!(p["definition"], def);
    assert_eq!((p["deleted_at"].is_null(), p["description"].as_str()), (true, Some("d")));
    let v1 = p["policy_ref"].clone();

    // A second edition must name the newest one.
    let mut def2 = def.clone();
    def2["default_expiry_days"] = json!(7);
    let (st, e) = setup_post(&s, "/v1/policies", with(&def2, json!({"policy_id": "billing"})), None).await;
    assert_eq!((st, e["error"]["code"].as_str()), (409, Some("policy_version_conflict")), "{e}");
    let (st, e) = s
        .send(
            "POST",
            "/v1/setup/policies/publish",
            Some(&s.setup),
            Some(with(&def2, json!({"policy_id": "billing"}))),
            None,
        )
        .await;
    assert_eq!((st, e["error"]["fields"][0]["field"].as_str()), (422, Some("Idempotency-Key")), "{e}");
    let body = with(&def2, json!({"policy_id": "billing", "previous_policy_ref": v1}));
    let (st, p2) = setup_post(&s, "/v1/setup/policies/publish", body.clone(), Some("pub-1")).await;
    assert_eq!(st, 201, "{p2}");
    assert_eq!(p2["policy_ref"]["policy_version"], 2);
    assert_eq!(
        (p2["authorization_migrations"].clone(), p2["revoked_confirmation_count"].clone()),
        (json!([]), json!(0))
    );
    let (st, again) = setup_post(&s, "/v1/setup/policies/publish", body, Some("pub-1")).await;
    assert_eq!((st, &again), (201, &p2), "an idempotent replay answers the first publish");

    let (st, g) = s.get("/v1/policies/billing").await;
    assert_eq!((st, g["policy_ref"]["policy_version"].as_i64()), (200, Some(2)));
    let (st, e) = s.get("/v1/policies/nope").await;
    assert_eq!((st, e["error"]["code"].as_str()), (404, Some("policy_not_found")));

    // Invalid definitions name the offending path and store nothing.
    let before = s.count("policy_editions").await;
    let mut bad = def.clone();
    bad["actions"][1]["policy"]["rules"][0]["conditions"][0]["op"] = json!("neq");
    let (st, e) = setup_post(&s, "/v1/policies", with(&bad, json!({"policy_id": "other"})), None).await;
    assert_eq!(st, 422, "{e}");
    assert_eq!(e["error"]["fields"][0]["field"], "actions[1].policy.rules[0].conditions[0].op", "{e}");
    let (st, e) = setup_post(&s, "/v1/policies", with(&def, json!({"policy_id": "Bad Id"})), None).await;
    assert_eq!((st, e["error"]["fields"][0]["field"].as_str()), (422, Some("policy_id")), "{e}");
    assert_eq!(s.count("policy_editions").await, before);

    // List pages by policy_id, one per page, until the last (the dev server's demo edition, when it runs --dev).
    setup_post(&s, "/v1/policies", with(&def, json!({"policy_id": "alpha"})), None).await;
    let (mut ids, mut cursor) = (Vec::new(), String::new());
    loop {
        let query = if cursor.is_empty() { "?limit=1".to_owned() } else { format!("?limit=1&cursor={cursor}") };
        let (st, page) = s.get(&format!("/v1/policies{query}")).await;
        assert_eq!(st, 200, "{page}");
        let item = &page["items"][0]["policy_ref"];
        ids.push((item["policy_id"].as_str().expect("id").to_owned(), item["policy_version"].as_i64().expect("v")));
        match page["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(page["has_more"], true);
                cursor = c.to_owned();
            }
            None => break assert_eq!(page["has_more"], false),
        }
    }
    let ids: Vec<(&str, i64)> =
        ids.iter().map(|(i, v)| (i.as_str(), *v)).filter(|(i, _)| *i != "walkthrough").collect();
    assert_eq!(ids, [("alpha", 1), ("billing", 2)], "newest edition of each policy, by policy_id");

    // Preview evaluates without storing, with the same input commitment as core.
    let ctx = json!({"amount": 20000});
    let (st, pv) =
        s.post("/v1/setup/policies/preview", json!({"definition": def, "action": "invoice.pay", "context": ctx})).await;
    assert_eq!(st, 200, "{pv}");
    let expected = allowly_core::policy::evaluate(
        &allowly_core::policy::validate_definition(&def).expect("v"),
        "invoice.pay",
        &ctx,
    )
    .expect("eval");
    assert_eq!(pv["policy_eval"], serde_json::to_value(&expected).expect("json"));
    assert_eq!((pv["provisional"].as_bool(), pv["definition_sha256"].as_str()), (Some(true), Some(digest.as_str())));
    let (st, e) = s
        .post(
            "/v1/setup/policies/preview",
            json!({"definition": def, "action": "invoice.pay", "context": {"amount": "1"}}),
        )
        .await;
    assert_eq!((st, e["error"]["fields"][0]["field"].as_str()), (422, Some("context.amount")), "{e}");
    assert_eq!(s.count("policy_editions").await, before + 1);

    // Archive: 204 (twice), then no new edition and no new authorization.
    for _ in 0..2 {
        let (st, _) = s.send("DELETE", "/v1/policies/alpha", Some(&s.setup), None, None).await;
        assert_eq!(st, 204);
    }
    let (_, g) = s.get("/v1/policies/alpha").await;
    assert!(g["deleted_at"].is_string(), "{g}");
    let (st, e) =
        s.post("/v1/authorizations", json!({"user_id": "u", "policy_id": "alpha", "policy_version": 1})).await;
    assert_eq!((st, e["error"]["code"].as_str()), (409, Some("policy_archived")), "{e}");
}

fn decode(jws: &Value) -> Value {
    let seg =
        |k: &str| serde_json::from_slice::<Value>(&B64.decode(jws[k].as_str().expect(k)).expect("b64")).expect("json");
    assert_eq!(seg("protected")["typ"], "allowly-receipt+jws");
    seg("payload")
}

async fn edition_authorizations_decide_and_receipt_in_wire_5(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (st, p) = setup_post(&s, "/v1/policies", with(&definition(), json!({"policy_id": "billing"})), None).await;
    assert_eq!(st, 201, "{p}");
    let policy_ref = p["policy_ref"].clone();

    let (st, a) = s
        .post(
            "/v1/authorizations",
            json!({"user_id": "u1", "policy_id": "billing", "policy_version": 1,
                                           "actions": ["invoice.pay"], "metadata": {"ticket": 7}}),
        )
        .await;
    assert_eq!(st, 201, "{a}");
    let keys: Vec<&str> = a.as_object().expect("obj").keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "actions",
            "authorization_id",
            "authorization_provenance",
            "created_at",
            "expires_at",
            "policy_ref",
            "receipt"
        ]
    );
    assert_eq!((a["actions"].clone(), a["policy_ref"].clone()), (json!(["invoice.pay"]), policy_ref.clone()));
    let auth = a["authorization_id"].as_str().expect("id").to_string();

    // An action outside the edition, and an edition that does not exist, are field errors.
    let (st, e) = s
        .post(
            "/v1/authorizations",
            json!({"user_id": "u", "policy_id": "billing", "policy_version": 1, "actions": ["wire.send"]}),
        )
        .await;
    assert_eq!((st, e["error"]["fields"][0]["field"].as_str()), (422, Some("actions[0]")), "{e}");
    let (st, e) =
        s.post("/v1/authorizations", json!({"user_id": "u", "policy_id": "billing", "policy_version": 9})).await;
    assert_eq!((st, e["error"]["code"].as_str()), (422, Some("policy_not_found")), "{e}");

    let check =
        |amount: i64| json!({"authorization_id": auth, "actions": ["invoice.pay"], "context": {"amount": amount}});
    let v = s.check(check(50)).await;
    let r = &v["results"]["invoice.pay"];
    assert_eq!((r["decision"].as_str(), r["reason"].as_str()), (Some("allow"), Some("policy_allowed")), "{v}");
    assert_eq!(r["policy_eval"]["result"]["matched_rule_id"], Value::Null);
    let allow_receipt = r["receipt"]["receipt_id"].as_str().expect("rid").to_string();

    let v = s.check(check(20000)).await;
    let r = &v["results"]["invoice.pay"];
    assert_eq!(
        (r["decision"].as_str(), r["reason"].as_str()),
        (Some("escalate"), Some("policy_requires_escalation")),
        "{v}"
    );
    assert!(r["escalation_id"].as_str().is_some_and(|i| i.starts_with("esc_")), "{r}");
    assert_eq!(
        (r["escalation_to"].as_str(), r["escalation"]["status"].as_str()),
        (Some("member:cfo"), Some("pending"))
    );
    let esc_receipt = r["receipt"]["receipt_id"].as_str().expect("rid").to_string();
    let (st, m) = s.get(&format!("/v1/escalations/{}", r["escalation_id"].as_str().expect("esc"))).await;
    assert_eq!(st, 200, "{m}");
    assert_eq!((m["status"].as_str(), m["authority_status"].as_str()), (Some("pending"), Some("none")));
    assert_eq!((m["action"].as_str(), m["escalation_to"].as_str()), (Some("invoice.pay"), Some("member:cfo")));
    assert_eq!(m["source_receipt_id"], json!(esc_receipt));
    let (st, e) = s.get("/v1/escalations/esc_nope").await;
    assert_eq!((st, e["error"]["code"].as_str()), (404, Some("escalation_not_found")));

    let v = s.check(check(-5)).await;
    assert_eq!(v["results"]["invoice.pay"]["reason"], "policy_denied");

    // Confirm → not approved (0.8.0's word on an edition-granted authorization) → confirm again → approve → allow.
    let v = s.check(check(5000)).await;
    let r = &v["results"]["invoice.pay"];
    assert_eq!((r["decision"].as_str(), r["reason"].as_str()), (Some("confirm"), Some("policy_requires_confirmation")));
    let (st, res) = s
        .post(&format!("/v1/confirmations/{}", r["confirm_nonce"].as_str().expect("n")), json!({"approved": false}))
        .await;
    assert_eq!(
        (st, res["decision"].as_str(), res["authorization_id"].is_null()),
        (200, Some("not_approved"), true),
        "{res}"
    );
    let v = s.check(check(5000)).await;
    assert_eq!(v["results"]["invoice.pay"]["reason"], "user_rejected");

    // A context of the wrong declared type is refused and stores nothing.
    let before = s.count("receipts").await;
    let (st, e) = s
        .post("/v1/check", json!({"authorization_id": auth, "actions": ["invoice.pay"], "context": {"amount": "5"}}))
        .await;
    assert_eq!((st, e["error"]["fields"][0]["field"].as_str()), (422, Some("context.amount")), "{e}");
    assert_eq!(s.count("receipts").await, before);

    // Receipts: wire 5 JWS with the edition as policy_ref, engine_version the manifest digest.
    let signed = s.signed(&allow_receipt).await;
    s.verify(&signed).await;
    let payload = decode(&signed);
    assert_eq!((payload["schema_version"].as_str(), payload["policy_ref"].clone()), (Some("5"), policy_ref.clone()));
    assert_eq!(payload["engine_version"], allowly_core::policy::engine_version());
    assert_eq!(payload["policy_eval"]["result"]["decision"], "allow");
    let esc = decode(&s.signed(&esc_receipt).await);
    assert_eq!(
        (esc["decision"].as_str(), esc["context"]["escalation_to"].as_str()),
        (Some("escalate"), Some("member:cfo"))
    );
    let create = decode(&s.signed(a["receipt"]["receipt_id"].as_str().expect("rid")).await);
    assert_eq!(
        (create["event"].as_str(), create["policy_ref"].clone()),
        (Some("authorization.create"), policy_ref.clone())
    );

    // Revoke: deny authorization_revoked, wire 5 revoke receipt.
    let (st, rv) = s.send("DELETE", &format!("/v1/authorizations/{auth}"), Some(&s.rt), None, None).await;
    assert_eq!(st, 200, "{rv}");
    assert_eq!(s.check(check(50)).await["results"]["invoice.pay"]["reason"], "authorization_revoked");
    let revoke_signed = s.signed(rv["receipt"]["receipt_id"].as_str().expect("rid")).await;
    s.verify(&revoke_signed).await;
    let revoke = decode(&revoke_signed);
    assert_eq!(
        (revoke["event"].as_str(), revoke["schema_version"].as_str()),
        (Some("authorization.revoke"), Some("5"))
    );

    // The 0.3.1 path keeps wire 4.
    let legacy = s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["x"]})).await;
    let old = s.signed(legacy["receipt"]["receipt_id"].as_str().expect("rid")).await;
    assert_eq!((old["schema_version"].as_str(), old.get("protected").is_none()), (Some("4"), true));
    s.verify(&old).await;
}
