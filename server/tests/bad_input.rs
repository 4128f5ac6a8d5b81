//! Inputs the schema-driven sweep (tests/reliability) cannot produce because its generator only builds valid URLs:
//! every answer is still the wire-v1 error envelope and stores nothing.

#[macro_use]
mod common;

use common::{TestDb, TestServer};
use serde_json::Value;

backend_tests!(a_path_id_that_is_not_utf8_gets_the_envelope_on_every_route);

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
            assert!((400..500).contains(&status), "{method} {path}: {status} {text}");
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
