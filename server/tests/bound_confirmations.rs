//! Confirmations bound to the call that asked (issue 20, part 1), on SQLite and PostgreSQL: an answer is used once,
//! only by a re-check of the same authorization, scope, resource, session and arguments digest (or the
//! `confirmation_id` it names); a rejection is not remembered past that re-check; timeouts per authorization or
//! policy edition are clamped; an unanswered confirmation's expiry is receipted exactly once; and under real
//! concurrency 100 calls each get only their own approval.

#[macro_use]
mod common;

use common::{Backend, TestDb, TestServer};
use serde_json::{Value, json};

backend_tests!(
    an_approval_answers_only_the_call_that_asked,
    a_named_confirmation_id_picks_that_answer,
    a_decline_answers_its_call_once_and_is_not_remembered,
    timeouts_default_to_an_hour_and_are_clamped_per_authorization_and_edition,
    expiry_is_receipted_exactly_once,
);
backend_tests!(multi_thread: a_hundred_parallel_calls_each_get_only_their_own_approval);

const DIGEST_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const DIGEST_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

async fn confirm_auth(s: &TestServer, extra: Value) -> String {
    let mut body = json!({"user_id": "u", "agent_id": "a", "scopes": ["pay"], "requires_confirm_for": ["pay"]});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    s.authorize(body).await["authorization_id"].as_str().expect("id").to_string()
}

async fn approve(s: &TestServer, result: &Value, approved: bool) {
    let nonce = result["confirm_nonce"].as_str().expect("nonce");
    let (st, v) = s.post(&format!("/v1/confirmations/{nonce}"), json!({"approved": approved})).await;
    assert_eq!(st, 200, "{v}");
}

fn reason(r: &(String, String, Value)) -> (&str, &str) {
    (r.0.as_str(), r.1.as_str())
}

async fn an_approval_answers_only_the_call_that_asked(db: TestDb) {
    let s = TestServer::start(&db).await;
    let auth = confirm_auth(&s, json!({})).await;
    let call = json!({"resource": "inv:1", "session_id": "s1", "arguments_sha256": DIGEST_A});
    let asked = s.decide(&auth, "pay", call.clone()).await;
    assert_eq!(reason(&asked), ("confirm", "scope_requires_user_confirmation"));
    approve(&s, &asked.2, true).await;

    // Any other parameter is another call: it is asked for itself and leaves the approval where it is.
    for other in [
        json!({"resource": "inv:2", "session_id": "s1", "arguments_sha256": DIGEST_A}),
        json!({"resource": "inv:1", "session_id": "s2", "arguments_sha256": DIGEST_A}),
        json!({"resource": "inv:1", "arguments_sha256": DIGEST_A}),
        json!({"resource": "inv:1", "session_id": "s1", "arguments_sha256": DIGEST_B}),
        json!({"resource": "inv:1", "session_id": "s1"}),
    ] {
        let r = s.decide(&auth, "pay", other.clone()).await;
        assert_eq!(reason(&r), ("confirm", "scope_requires_user_confirmation"), "{other}");
    }
    // The re-check of the same call uses it, once.
    let r = s
        .check(json!({"authorization_id": auth, "scopes": ["pay"], "resource": "inv:1", "session_id": "s1",
                           "arguments_sha256": DIGEST_A, "context": {}}))
        .await;
    assert_eq!(r["results"]["pay"]["reason"], "user_confirmed", "{r}");
    let again = s.decide(&auth, "pay", call).await;
    assert_eq!(reason(&again), ("confirm", "scope_requires_user_confirmation"));

    // The walkthrough's shape: asked with a resource, re-checked with the scope only.
    let asked = s.decide(&auth, "pay", json!({"resource": "inv:9"})).await;
    approve(&s, &asked.2, true).await;
    assert_eq!(reason(&s.decide(&auth, "pay", json!({})).await), ("allow", "user_confirmed"));
    // An approval is never used by another authorization.
    let other_auth = confirm_auth(&s, json!({})).await;
    let asked = s.decide(&other_auth, "pay", json!({})).await;
    approve(&s, &asked.2, true).await;
    assert_eq!(reason(&s.decide(&auth, "pay", json!({})).await).0, "confirm");
    assert_eq!(reason(&s.decide(&other_auth, "pay", json!({})).await), ("allow", "user_confirmed"));

    // A malformed digest or confirmation id is a 422 naming it, and stores nothing.
    let before = s.count("receipts").await;
    for (field, bad) in [("arguments_sha256", "ABC"), ("arguments_sha256", "sha256:aa"), ("confirmation_id", "x")] {
        let (st, e) = s.post("/v1/check", json!({"authorization_id": auth, "scopes": ["pay"], field: bad})).await;
        assert_eq!((st, e["error"]["fields"][0]["field"].as_str()), (422, Some(field)), "{e}");
    }
    assert_eq!(s.count("receipts").await, before);
    s.stop().await;
}

async fn a_named_confirmation_id_picks_that_answer(db: TestDb) {
    let s = TestServer::start(&db).await;
    let auth = confirm_auth(&s, json!({})).await;
    // Two identical calls ask; only the second is approved.
    let first = s.decide(&auth, "pay", json!({"resource": "inv:1"})).await;
    let second = s.decide(&auth, "pay", json!({"resource": "inv:1"})).await;
    approve(&s, &second.2, true).await;
    let (cnf1, cnf2) = (first.2["confirmation_id"].clone(), second.2["confirmation_id"].clone());
    assert_ne!(cnf1, cnf2);
    // Naming the unanswered one finds no answer (and asks again); naming the approved one uses it.
    let r = s.decide(&auth, "pay", json!({"resource": "inv:1", "confirmation_id": cnf1})).await;
    assert_eq!(reason(&r).0, "confirm");
    let r = s.decide(&auth, "pay", json!({"resource": "inv:1", "confirmation_id": cnf2})).await;
    assert_eq!(reason(&r), ("allow", "user_confirmed"));
    // Named with other parameters, an approval is still not used.
    let third = s.decide(&auth, "pay", json!({"resource": "inv:3"})).await;
    approve(&s, &third.2, true).await;
    let cnf3 = third.2["confirmation_id"].clone();
    let r = s.decide(&auth, "pay", json!({"resource": "inv:4", "confirmation_id": cnf3})).await;
    assert_eq!(reason(&r).0, "confirm");
    let r = s.decide(&auth, "pay", json!({"resource": "inv:3", "confirmation_id": cnf3})).await;
    assert_eq!(reason(&r), ("allow", "user_confirmed"));
    s.stop().await;
}

async fn a_decline_answers_its_call_once_and_is_not_remembered(db: TestDb) {
    let s = TestServer::start(&db).await;
    let auth = confirm_auth(&s, json!({})).await;
    let asked = s.decide(&auth, "pay", json!({"resource": "inv:1"})).await;
    approve(&s, &asked.2, false).await;
    // The asking call's re-check is denied; a later identical call asks again.
    assert_eq!(reason(&s.decide(&auth, "pay", json!({"resource": "inv:1"})).await), ("deny", "user_rejected"));
    let later = s.decide(&auth, "pay", json!({"resource": "inv:1"})).await;
    assert_eq!(reason(&later), ("confirm", "scope_requires_user_confirmation"));
    // That new question can be approved and is used as usual.
    approve(&s, &later.2, true).await;
    assert_eq!(reason(&s.decide(&auth, "pay", json!({"resource": "inv:1"})).await), ("allow", "user_confirmed"));
    s.stop().await;
}

/// Seconds between a confirmation's creation and its nonce's expiry, as the server reports them.
async fn timeout_of(s: &TestServer, auth: &str, scope: &str, extra: Value) -> i64 {
    let r = s.decide(auth, scope, extra).await;
    assert_eq!(r.0, "confirm", "{}", r.2);
    let (st, c) = s.get(&format!("/v1/confirmations/{}", r.2["confirmation_id"].as_str().expect("cnf"))).await;
    assert_eq!(st, 200, "{c}");
    let at = |k: &str| {
        time::OffsetDateTime::parse(c[k].as_str().expect(k), &time::format_description::well_known::Rfc3339)
            .expect("timestamp")
    };
    assert_eq!(r.2["confirm_expires_at"], c["confirm_expires_at"]);
    (at("confirm_expires_at") - at("created_at")).whole_seconds()
}

async fn timeouts_default_to_an_hour_and_are_clamped_per_authorization_and_edition(db: TestDb) {
    let s = TestServer::start(&db).await;
    let default = confirm_auth(&s, json!({})).await;
    assert_eq!(timeout_of(&s, &default, "pay", json!({})).await, 3600);
    let own = confirm_auth(&s, json!({"confirmation_timeout_seconds": 300})).await;
    assert_eq!(timeout_of(&s, &own, "pay", json!({})).await, 300);
    let long = confirm_auth(&s, json!({"confirmation_timeout_seconds": 30 * 24 * 3600})).await;
    assert_eq!(timeout_of(&s, &long, "pay", json!({})).await, 7 * 24 * 3600);
    // Below a minute is clamped to a minute, except under --dev (the SQLite harness runs `serve --dev`).
    let short = confirm_auth(&s, json!({"confirmation_timeout_seconds": 5})).await;
    let dev_min = if db.backend == Backend::Sqlite { 5 } else { 60 };
    assert_eq!(timeout_of(&s, &short, "pay", json!({})).await, dev_min);

    // Zero, negative or not a number is a 422 naming the field, and stores nothing.
    let before = s.count("authorizations").await;
    for bad in [json!(0), json!(-5), json!("60")] {
        let (st, e) = s
            .post(
                "/v1/authorizations",
                json!({"user_id": "u", "agent_id": "a", "scopes": ["pay"],
                                                "confirmation_timeout_seconds": bad}),
            )
            .await;
        assert_eq!((st, e["error"]["fields"][0]["field"].as_str()), (422, Some("confirmation_timeout_seconds")), "{e}");
    }
    assert_eq!(s.count("authorizations").await, before);

    // A policy edition's timeout applies to the authorizations it grants, unless the grant names its own.
    let def = json!({
        "profile": "allowly.policy.v1", "agent_id": "pay-agent", "default_expiry_days": 30,
        "actions": [{"policy": {"profile": "allowly.basic.v1", "action": "pay", "decision": "confirm",
                                "target": "agent_owner", "fields": {}, "rules": []},
                     "guards": {}, "executable_operations": []}]
    });
    let mut body = def.clone();
    body["policy_id"] = json!("payments");
    body["confirmation_timeout_seconds"] = json!(900);
    let (st, p) = s.send("POST", "/v1/policies", Some(&s.setup), Some(body), None).await;
    assert_eq!(st, 201, "{p}");
    assert_eq!(p["definition"], def, "the timeout stays outside the definition and its digest");
    let grant = |extra: Value| {
        let mut b = json!({"user_id": "u", "policy_id": "payments", "policy_version": 1});
        if let (Value::Object(m), Value::Object(e)) = (&mut b, extra) {
            m.extend(e);
        }
        b
    };
    let from_edition = s.authorize(grant(json!({}))).await["authorization_id"].as_str().expect("id").to_string();
    assert_eq!(timeout_of(&s, &from_edition, "pay", json!({})).await, 900);
    let overridden = s.authorize(grant(json!({"confirmation_timeout_seconds": 120}))).await;
    let overridden = overridden["authorization_id"].as_str().expect("id").to_string();
    assert_eq!(timeout_of(&s, &overridden, "pay", json!({})).await, 120);
    s.stop().await;
}

async fn expiry_is_receipted_exactly_once(db: TestDb) {
    let s = TestServer::start(&db).await;
    let auth = confirm_auth(&s, json!({})).await;
    let asked = s.decide(&auth, "pay", json!({"resource": "inv:1"})).await;
    let cnf = asked.2["confirmation_id"].as_str().expect("cnf").to_string();
    let nonce = asked.2["confirm_nonce"].as_str().expect("nonce").to_string();
    // Its time runs out (moved into the past rather than waited for).
    let moved = db
        .exec(&format!("UPDATE confirmations SET nonce_expires_at = '2000-01-01T00:00:00.000Z' WHERE id = '{cnf}'"))
        .await;
    assert_eq!(moved, 1);

    // Everything that touches it at once: late answers, both status reads, and a sweep of the database.
    let store = allowly_server::store::Store::open(&db.url).await.expect("store");
    let mut calls = Vec::new();
    for i in 0..10 {
        let (http, base, key, nonce, cnf) = (s.http.clone(), s.base.clone(), s.rt.clone(), nonce.clone(), cnf.clone());
        calls.push(tokio::spawn(async move {
            let req = match i % 3 {
                0 => http.post(format!("{base}/v1/confirmations/{nonce}")).json(&json!({"approved": true})),
                1 => http.get(format!("{base}/v1/confirmations/{cnf}/status")),
                _ => http.get(format!("{base}/v1/confirmations/{cnf}")),
            };
            let r = req.bearer_auth(key).send().await.expect("send");
            (i % 3, r.status().as_u16())
        }));
    }
    let swept = allowly_server::expiry::sweep_once(&store).await.expect("sweep");
    assert!(swept <= 1);
    for c in futures::future::join_all(calls).await {
        let (kind, status) = c.expect("join");
        assert_eq!(status, if kind == 0 { 410 } else { 200 });
    }
    assert_eq!(allowly_server::expiry::sweep_once(&store).await.expect("sweep"), 0, "nothing left to expire");
    store.close().await;
    let expiries = format!("receipts WHERE payload LIKE '%confirmation_expired%' AND payload LIKE '%{cnf}%'");
    assert_eq!(s.count(&expiries).await, 1);

    // The monitor names the expiry receipt; it is a confirmation.resolve rejection that verifies.
    let (_, m) = s.get(&format!("/v1/confirmations/{cnf}/status")).await;
    assert_eq!((m["status"].as_str(), m["authority_status"].as_str()), (Some("expired"), Some("none")), "{m}");
    let receipt = s.signed(m["resolution_receipt_id"].as_str().expect("expiry receipt")).await;
    assert_eq!(
        (receipt["event"].as_str(), receipt["decision"].as_str(), receipt["reason"].as_str()),
        (Some("confirmation.resolve"), Some("confirmation_rejected"), Some("confirmation_expired")),
        "{receipt}"
    );
    assert_eq!(receipt["context"]["confirmation_id"], json!(cnf));
    s.verify(&receipt).await;
    // The call that asked gets no answer from it: its re-check asks again.
    assert_eq!(reason(&s.decide(&auth, "pay", json!({"resource": "inv:1"})).await).0, "confirm");
    s.stop().await;
}

async fn a_hundred_parallel_calls_each_get_only_their_own_approval(db: TestDb) {
    let s = TestServer::start(&db).await;
    let auth = confirm_auth(&s, json!({})).await;
    let call = |i: usize| {
        json!({"authorization_id": auth, "scopes": ["pay"], "resource": format!("inv:{i}"),
               "arguments_sha256": format!("{i:064x}")})
    };
    let post_all = |bodies: Vec<(String, Value)>| {
        let calls = bodies.into_iter().map(|(path, body)| {
            let (http, url, key) = (s.http.clone(), format!("{}{path}", s.base), s.rt.clone());
            tokio::spawn(async move {
                let r = http.post(url).bearer_auth(key).json(&body).send().await.expect("send");
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.expect("json"))
            })
        });
        futures::future::join_all(calls)
    };
    // 100 calls ask at once; each gets a confirmation of its own.
    let asked: Vec<Value> = post_all((0..100).map(|i| ("/v1/check".to_owned(), call(i))).collect())
        .await
        .into_iter()
        .map(|r| {
            let (st, v) = r.expect("join");
            assert_eq!(st, 200, "{v}");
            v["results"]["pay"].clone()
        })
        .collect();
    assert!(asked.iter().all(|r| r["decision"] == "confirm"));
    // Every one is approved at once.
    let approvals = asked
        .iter()
        .map(|r| {
            (format!("/v1/confirmations/{}", r["confirm_nonce"].as_str().expect("nonce")), json!({"approved": true}))
        })
        .collect();
    assert!(post_all(approvals).await.into_iter().all(|r| r.expect("join").0 == 200));
    // Each call re-checks while 100 other calls (same scope, other arguments) check at the same time.
    let mut bodies: Vec<(String, Value)> = (0..100).map(|i| ("/v1/check".to_owned(), call(i))).collect();
    bodies.extend((0..100).map(|i| {
        let mut b = call(i);
        b["arguments_sha256"] = json!(format!("{:064x}", 1000 + i));
        ("/v1/check".to_owned(), b)
    }));
    let answers: Vec<Value> = post_all(bodies).await.into_iter().map(|r| r.expect("join").1).collect();
    for (i, a) in answers.iter().enumerate() {
        let r = &a["results"]["pay"];
        if i < 100 {
            assert_eq!(r["reason"], "user_confirmed", "call {i}: {a}");
            // The approval it used is the one its own question got.
            let (cnf, used_by) =
                (asked[i]["confirmation_id"].as_str().expect("cnf"), r["receipt"]["receipt_id"].as_str().expect("rcp"));
            assert_eq!(
                s.count(&format!("confirmations WHERE id = '{cnf}' AND consumed_receipt_id = '{used_by}'")).await,
                1
            );
        } else {
            assert_eq!(r["reason"], "scope_requires_user_confirmation", "intruder {i}: {a}");
        }
    }
    assert_eq!(s.count("confirmations WHERE status = 'consumed'").await, 100);
    s.stop().await;
}
