//! Agent identity, on SQLite and PostgreSQL: an agent enrolled through the setup API (public key only) is accepted
//! with the tokens allowly-core mints from its credential; every way a token can be bad is a 401 with its own code
//! that stores nothing and never echoes the token; a workspace can require tokens on checks and settlements.

#[macro_use]
mod common;

use allowly_core::agent_identity::{AgentCredential, AgentRegistration, unix_now};
use common::{TestDb, TestServer};
use serde_json::{Value, json};

backend_tests!(
    an_enrolled_agents_token_is_accepted_and_each_bad_token_refused,
    a_workspace_can_require_agent_tokens,
    settlements_follow_the_agent_token_rules_of_checks,
    registration_takes_public_keys_only
);

async fn enroll(s: &TestServer, agent_id: &str) -> AgentCredential {
    let pending = AgentCredential::generate();
    let jwk = pending.public_key_jwk();
    let body = json!({"public_key_jwk": {"kty": jwk.kty, "crv": jwk.crv, "x": jwk.x}});
    let (st, v) = s.send("POST", &format!("/v1/setup/agents/{agent_id}/keys"), Some(&s.setup), Some(body), None).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["workspace_id"], s.ws.as_str());
    let registration: AgentRegistration = serde_json::from_value(v).expect("registration");
    pending.complete(registration).expect("credential")
}

async fn check_with(s: &TestServer, token: Option<&str>, authorization_id: &str) -> (u16, Value) {
    let mut rb = s.http.post(format!("{}/v1/check", s.base)).bearer_auth(&s.rt);
    if let Some(t) = token {
        rb = rb.header("X-Allowly-Agent-Token", t);
    }
    let resp = rb.json(&json!({"authorization_id": authorization_id, "scopes": ["s"]})).send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON"))
}

/// POST with the runtime key and, when given, an agent token.
async fn post_as(s: &TestServer, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
    let mut rb = s.http.post(format!("{}{path}", s.base)).bearer_auth(&s.rt);
    if let Some(t) = token {
        rb = rb.header("X-Allowly-Agent-Token", t);
    }
    let resp = rb.json(&body).send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON"))
}

async fn grant(s: &TestServer, agent_id: &str) -> String {
    let a = s.authorize(json!({"user_id": "u", "agent_id": agent_id, "scopes": ["s"]})).await;
    a["authorization_id"].as_str().expect("id").to_owned()
}

async fn an_enrolled_agents_token_is_accepted_and_each_bad_token_refused(db: TestDb) {
    let s = TestServer::start(&db).await;
    let agent = enroll(&s, "agent-a").await;
    let mine = grant(&s, "agent-a").await;
    let theirs = grant(&s, "agent-b").await;

    let (st, v) = check_with(&s, Some(&agent.token()), &mine).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["results"]["s"]["decision"], "allow", "{v}");

    let now = unix_now();
    let never_enrolled = AgentCredential::generate()
        .complete(AgentRegistration {
            workspace_id: s.ws.clone(),
            agent_id: "agent-a".into(),
            binding_id: agent.binding_id.clone(),
            key_id: "akey_never_registered".into(),
        })
        .expect("credential");
    let tampered = {
        let t = agent.token();
        let (rest, sig) = t.rsplit_once('.').expect("three parts");
        let flipped = match sig.strip_prefix('A') {
            Some(rest) => format!("B{rest}"),
            None => format!("A{}", &sig[1..]),
        };
        format!("{rest}.{flipped}")
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("another agent's authorization", agent.token(), "agent_token_agent_mismatch"),
        ("expired", agent.token_with(now - 600, now - 540, &s.ws, "agent-a"), "agent_token_expired"),
        ("not yet valid", agent.token_with(now + 600, now + 660, &s.ws, "agent-a"), "agent_token_expired"),
        ("valid for an hour", agent.token_with(now, now + 3600, &s.ws, "agent-a"), "agent_token_expired"),
        ("another workspace", agent.token_with(now, now + 60, "ws_other", "agent-a"), "agent_token_wrong_audience"),
        ("claims another agent", agent.token_with(now, now + 60, &s.ws, "agent-b"), "agent_token_invalid_signature"),
        ("tampered signature", tampered, "agent_token_invalid_signature"),
        ("not a token", "not.a-token".into(), "agent_token_malformed"),
        ("unknown key", never_enrolled.token(), "agent_token_unverifiable"),
    ];
    let before = [db.count("receipts").await, db.count("idempotency").await];
    for (label, token, code) in cases {
        let target = if label == "another agent's authorization" { &theirs } else { &mine };
        let (st, v) = check_with(&s, Some(&token), target).await;
        assert_eq!((st, v["error"]["code"].as_str()), (401, Some(code)), "{label}: {v}");
        assert!(v.get("results").is_none(), "{label}: {v}");
        assert!(!v.to_string().contains(&token), "{label}: the token is echoed: {v}");
    }
    assert_eq!([db.count("receipts").await, db.count("idempotency").await], before, "refused checks store nothing");

    // A revoked key's tokens cannot be verified any more.
    let (st, v) = s.send("DELETE", &format!("/v1/setup/agent-keys/{}", agent.key_id), Some(&s.setup), None, None).await;
    assert_eq!(st, 200, "{v}");
    assert!(v["revoked_at"].is_string(), "{v}");
    let (st, v) = check_with(&s, Some(&agent.token()), &mine).await;
    assert_eq!((st, v["error"]["code"].as_str()), (401, Some("agent_token_unverifiable")), "{v}");
    let (st, v) = s.send("DELETE", "/v1/setup/agent-keys/akey_unknown", Some(&s.setup), None, None).await;
    assert_eq!((st, v["error"]["code"].as_str()), (404, Some("agent_key_not_found")), "{v}");
    s.stop().await;
}

async fn a_workspace_can_require_agent_tokens(db: TestDb) {
    let s = TestServer::start(&db).await;
    let agent = enroll(&s, "agent-a").await;
    let auth = grant(&s, "agent-a").await;
    let (st, v) = s.send("GET", "/v1/setup/agent-identity", Some(&s.setup), None, None).await;
    assert_eq!((st, &v), (200, &json!({"require_agent_tokens": false})));
    let (st, _) = check_with(&s, None, &auth).await;
    assert_eq!(st, 200, "not required by default");

    let on = json!({"require_agent_tokens": true});
    let (st, v) = s.send("PUT", "/v1/setup/agent-identity", Some(&s.setup), Some(on.clone()), None).await;
    assert_eq!((st, &v), (200, &on));
    let before = db.count("receipts").await;
    let (st, v) = check_with(&s, None, &auth).await;
    assert_eq!((st, v["error"]["code"].as_str()), (401, Some("agent_token_required")), "{v}");
    assert_eq!(db.count("receipts").await, before);
    let (st, v) = check_with(&s, Some(&agent.token()), &auth).await;
    assert_eq!(st, 200, "{v}");

    let (st, v) = s.send("PUT", "/v1/setup/agent-identity", Some(&s.setup), Some(json!({})), None).await;
    assert_eq!(st, 422, "{v}");
    let off = json!({"require_agent_tokens": false});
    let (st, _) = s.send("PUT", "/v1/setup/agent-identity", Some(&s.setup), Some(off), None).await;
    assert_eq!(st, 200);
    let (st, _) = check_with(&s, None, &auth).await;
    assert_eq!(st, 200);
    s.stop().await;
}

async fn settlements_follow_the_agent_token_rules_of_checks(db: TestDb) {
    let s = TestServer::start(&db).await;
    let agent = enroll(&s, "agent-a").await;
    let other = enroll(&s, "agent-b").await;
    let a =
        s.authorize(json!({"user_id": "u", "agent_id": "agent-a", "scopes": ["s"], "budget_limit_micros": 1000})).await;
    let auth = a["authorization_id"].as_str().expect("id");
    let check = json!({"authorization_id": auth, "scopes": ["s"], "estimated_cost_micros": 100});
    let (st, v) = post_as(&s, "/v1/check", check, Some(&agent.token())).await;
    assert_eq!(st, 200, "{v}");
    let receipt = v["results"]["s"]["receipt"]["receipt_id"].as_str().expect("receipt").to_owned();
    let settle = json!({"check_receipt_id": receipt, "actual_cost_micros": 80});

    let before = [db.count("receipts").await, db.count("idempotency").await];
    let (st, v) = post_as(&s, "/v1/budget-settlements", settle.clone(), Some(&other.token())).await;
    assert_eq!((st, v["error"]["code"].as_str()), (401, Some("agent_token_agent_mismatch")), "{v}");
    let on = json!({"require_agent_tokens": true});
    let (st, _) = s.send("PUT", "/v1/setup/agent-identity", Some(&s.setup), Some(on), None).await;
    assert_eq!(st, 200);
    let (st, v) = post_as(&s, "/v1/budget-settlements", settle.clone(), None).await;
    assert_eq!((st, v["error"]["code"].as_str()), (401, Some("agent_token_required")), "{v}");
    assert_eq!(
        [db.count("receipts").await, db.count("idempotency").await],
        before,
        "refused settlements store nothing"
    );

    let (st, v) = post_as(&s, "/v1/budget-settlements", settle, Some(&agent.token())).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["actual_cost_micros"], 80);
    s.stop().await;
}

async fn registration_takes_public_keys_only(db: TestDb) {
    let s = TestServer::start(&db).await;
    let credential: Value = serde_json::from_str(
        &AgentCredential::generate()
            .complete(AgentRegistration {
                workspace_id: s.ws.clone(),
                agent_id: "a".into(),
                binding_id: "b".into(),
                key_id: "k".into(),
            })
            .expect("credential")
            .to_json(),
    )
    .expect("json");
    let private = credential["private_key_jwk"].clone();
    let path = "/v1/setup/agents/agent-a/keys";
    let (st, v) = s.send("POST", path, Some(&s.setup), Some(json!({"public_key_jwk": private})), None).await;
    assert_eq!(st, 422, "{v}");
    assert_eq!(v["error"]["fields"][0]["field"], "public_key_jwk.d", "{v}");
    assert!(!v.to_string().contains(private["d"].as_str().expect("d")), "{v}");
    for bad in [
        json!({"kty": "OKP", "crv": "Ed25519", "x": "short"}),
        json!({"kty": "EC", "crv": "P-256", "x": private["x"]}),
        json!("not an object"),
    ] {
        let (st, v) = s.send("POST", path, Some(&s.setup), Some(json!({"public_key_jwk": bad})), None).await;
        assert_eq!(st, 422, "{bad}: {v}");
    }
    let public = json!({"kty": "OKP", "crv": "Ed25519", "x": private["x"]});
    let (st, v) = s.send("POST", path, Some(&s.rt), Some(json!({"public_key_jwk": public.clone()})), None).await;
    assert_eq!((st, v["error"]["code"].as_str()), (403, Some("insufficient_key_tier")), "{v}");
    assert_eq!(db.count("agent_keys").await, 0, "refused registrations store nothing");
    let (st, v) = s.send("POST", path, Some(&s.setup), Some(json!({"public_key_jwk": public})), None).await;
    assert_eq!(st, 201, "{v}");
    let (st, list) = s.send("GET", "/v1/setup/agents", Some(&s.setup), None, None).await;
    assert_eq!(st, 200);
    assert_eq!(list["items"][0]["public_key_jwk"]["x"], private["x"], "{list}");
    assert_eq!(list["items"][0]["key_id"], v["key_id"], "{list}");
    s.stop().await;
}
