//! Inputs the schema-driven sweep (tests/reliability) cannot produce because its generator only builds valid URLs:
//! every answer is still the wire-v1 error envelope and stores nothing; and bodies whose meaning depends on the parser.

#[macro_use]
mod common;

use common::{TestDb, TestServer};
use serde_json::Value;

backend_tests!(
    a_path_id_that_is_not_utf8_gets_the_envelope_on_every_route,
    a_body_with_a_repeated_member_name_is_malformed
);

/// `%FF` decodes to a byte that is not UTF-8, which axum's path extractor rejected with a plain-text 400 before any
/// handler ran. Every templated route of the router's table is tried, with both key tiers.
async fn a_path_id_that_is_not_utf8_gets_the_envelope_on_every_route(db: TestDb) {
    let s = TestServer::start(&db).await;
    let before = s.count("receipts").await + s.count("authorizations").await + s.count("idempotency").await;
    let mut tried = 0;
    for (method, path) in allowly_server::routes::ROUTES.iter().filter(|(_, p)| p.contains("{id}")) {
        for key in [&s.rt, &s.setup] {
            let url = format!("{}{}", s.base, path.replace("{id}", "x%FF%FEy"));
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let resp = s.http.request(m, url).bearer_auth(key).json(&serde_json::json!({})).send().await.expect("send");
            let status = resp.status().as_u16();
            let ctype = resp.headers().get("content-type").map(|v| v.to_str().unwrap_or("").to_string());
            let text = resp.text().await.expect("body");
            // A route this server answers with 501 `not_supported` never reads its path (checked below as an envelope).
            let unsupported = status == 501 && text.contains("\"not_supported\"");
            assert!((400..500).contains(&status) || unsupported, "{method} {path}: {status} {text}");
            assert_eq!(ctype.as_deref(), Some("application/json"), "{method} {path}: {status} {text}");
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"));
            let err = v["error"].as_object().unwrap_or_else(|| panic!("{method} {path}: not an envelope: {text}"));
            assert!(err["code"].is_string() && err["message"].is_string() && err["fields"].is_array(), "{text}");
            assert!(!text.contains("FF") && !text.contains('\u{FFFD}'), "the path is echoed: {text}");
            tried += 1;
        }
    }
    assert!(tried >= 14, "only {tried} templated routes");
    let after = s.count("receipts").await + s.count("authorizations").await + s.count("idempotency").await;
    assert_eq!(after, before, "a rejected request stored rows");
    s.stop().await;
}

/// serde_json keeps the last of repeated members; a proxy in front may keep the first. A body that says two things
/// is rejected as malformed, at any depth, on every route that reads a body, and stores nothing.
async fn a_body_with_a_repeated_member_name_is_malformed(db: TestDb) {
    let s = TestServer::start(&db).await;
    let a = s.authorize(serde_json::json!({"user_id": "u", "agent_id": "a", "scopes": ["x"]})).await;
    let auth = a["authorization_id"].as_str().expect("id");
    let before = (s.count("authorizations").await, s.count("receipts").await, s.count("api_keys").await);
    let revoke_path = format!("/v1/authorizations/{auth}");
    let bodies: Vec<(&str, &str, String, &str)> = vec![
        (
            "POST",
            "/v1/authorizations",
            r#"{"user_id": "u", "user_id": "v", "agent_id": "a", "scopes": ["x"]}"#.into(),
            &s.rt,
        ),
        (
            "POST",
            "/v1/authorizations",
            r#"{"user_id": "u", "agent_id": "a", "scopes": ["x"], "metadata": {"k": 1, "k": 2}}"#.into(),
            &s.rt,
        ),
        ("POST", "/v1/check", format!(r#"{{"authorization_id": "{auth}", "scopes": ["x"], "scopes": ["y"]}}"#), &s.rt),
        (
            "POST",
            "/v1/check",
            format!(r#"{{"authorization_id": "{auth}", "scopes": ["x"], "context": {{"a": {{"b": 1, "b": 2}}}}}}"#),
            &s.rt,
        ),
        ("DELETE", &revoke_path, r#"{"revoked_by": "user", "revoked_by": "admin"}"#.into(), &s.rt),
        ("POST", "/v1/api-keys", r#"{"tier": "setup", "tier": "runtime", "name": "n"}"#.into(), &s.setup),
    ];
    for (method, path, body, key) in bodies {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let resp = s
            .http
            .request(m, format!("{}{}", s.base, path))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("send");
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.expect("json");
        assert_eq!(status, 400, "{method} {path} {body}: {v}");
        assert_eq!(v["error"]["code"], "malformed_json", "{v}");
        assert!(v["error"]["message"].as_str().expect("message").contains("duplicate member name"), "{v}");
    }
    let after = (s.count("authorizations").await, s.count("receipts").await, s.count("api_keys").await);
    assert_eq!(after, before, "a rejected body stored rows");
    let (st, g) = s.get(&format!("/v1/authorizations/{auth}")).await;
    assert_eq!((st, g["status"].as_str()), (200, Some("active")), "{g}");
    // Control: the same bodies without the repeat are accepted.
    let (st, v) = s
        .post("/v1/check", serde_json::json!({"authorization_id": auth, "scopes": ["x"], "context": {"a": {"b": 1}}}))
        .await;
    assert_eq!(st, 200, "{v}");
    s.stop().await;
}
