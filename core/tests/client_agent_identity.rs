//! Agent identity through the client: enrollment sends only the public key and returns a credential whose tokens
//! verify; `check` carries a fresh token (from the credential or the caller's supplier); with a token, an outage never
//! falls back open.

mod client_support;

use allowly_core::agent_identity::{AgentCredential, PublicKeyJwk, decode_token, unix_now};
use allowly_core::model::{CheckRequest, Decision, reason};
use allowly_core::{Client, Error, FallbackMode};
use client_support::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn enrollment_registers_only_the_public_key_and_returns_a_working_credential() {
    let server = MockServer::start().await;
    let answer = json!({"workspace_id": "ws_1", "agent_id": "agent-a", "binding_id": "bind_1", "key_id": "akey_1",
                        "created_at": "2026-01-01T00:00:00.000Z"});
    Mock::given(method("POST"))
        .and(path("/v1/setup/agents/agent-a/keys"))
        .respond_with(ResponseTemplate::new(201).set_body_json(answer))
        .mount(&server)
        .await;
    let credential = client(&server).enroll_agent("agent-a").await.expect("enrolled");

    let sent: Value = serde_json::from_slice(&requests(&server).await[0].body).expect("json body");
    assert_eq!(sent.as_object().map(|o| o.len()), Some(1), "{sent}");
    let jwk: PublicKeyJwk = serde_json::from_value(sent["public_key_jwk"].clone()).expect("a public JWK");
    assert_eq!(sent["public_key_jwk"].as_object().map(|o| o.len()), Some(3), "no private member: {sent}");
    assert_eq!(jwk, credential.public_key_jwk());
    assert_eq!((credential.key_id.as_str(), credential.binding_id.as_str()), ("akey_1", "bind_1"));

    let token = decode_token(&credential.token()).expect("decodes");
    assert_eq!(token.verify("ws_1", &jwk, "agent-a", "bind_1", unix_now()), Ok(()));
    // The file 0.8.0 reads round-trips.
    let back = AgentCredential::from_json(&credential.to_json()).expect("reads back");
    assert_eq!(back.public_key_jwk(), jwk);
}

#[tokio::test]
async fn an_answer_about_another_agent_is_a_protocol_error() {
    let server = MockServer::start().await;
    let answer = json!({"workspace_id": "ws_1", "agent_id": "agent-b", "binding_id": "b", "key_id": "k"});
    Mock::given(method("POST"))
        .and(path("/v1/setup/agents/agent-a/keys"))
        .respond_with(ResponseTemplate::new(201).set_body_json(answer))
        .mount(&server)
        .await;
    let error = client(&server).enroll_agent("agent-a").await.unwrap_err();
    assert!(matches!(error, Error::Protocol { .. }), "{error:?}");
}

fn enrolled() -> AgentCredential {
    AgentCredential::generate()
        .complete(allowly_core::agent_identity::AgentRegistration {
            workspace_id: "ws_1".into(),
            agent_id: "agent-a".into(),
            binding_id: "bind_1".into(),
            key_id: "akey_1".into(),
        })
        .expect("credential")
}

#[tokio::test]
async fn checks_carry_a_fresh_token_from_the_credential_or_the_supplier() {
    let server = MockServer::start().await;
    let body = check_body(json!({"s": result("allow", "scope_granted")}));
    Mock::given(method("POST"))
        .and(path("/v1/check"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let credential = enrolled();
    let jwk = credential.public_key_jwk();
    let with_credential = Client::new(config(&server.uri()).with_agent_credential(credential)).expect("client");
    with_credential.check(&CheckRequest::new(AUTH_ID, ["s"])).await.expect("check");
    let with_supplier =
        Client::new(config(&server.uri()).with_agent_token_supplier(|| Ok("supplied.token.value".into())))
            .expect("client");
    with_supplier.check(&CheckRequest::new(AUTH_ID, ["s"])).await.expect("check");
    let plain = client(&server);
    plain.check(&CheckRequest::new(AUTH_ID, ["s"])).await.expect("check");

    let seen = requests(&server).await;
    let minted = header(&seen[0], "x-allowly-agent-token").expect("token sent");
    let decoded = decode_token(minted).expect("decodes");
    assert_eq!(decoded.verify("ws_1", &jwk, "agent-a", "bind_1", unix_now()), Ok(()));
    assert_eq!(header(&seen[1], "x-allowly-agent-token"), Some("supplied.token.value"));
    assert_eq!(header(&seen[2], "x-allowly-agent-token"), None);
    // The key never shows in the config's Debug.
    let debug = format!("{:?}", with_credential.config());
    assert!(debug.contains("akey_1") && !debug.contains("\"d\""), "{debug}");
}

#[tokio::test]
async fn a_failing_supplier_is_a_config_error_and_sends_nothing() {
    let server = MockServer::start().await;
    let c = Client::new(config(&server.uri()).with_agent_token_supplier(|| Err("vault sealed".into()))).unwrap();
    let error = c.check(&CheckRequest::new(AUTH_ID, ["s"])).await.unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    let c = Client::new(config(&server.uri()).with_agent_token_supplier(|| Ok("  ".into()))).unwrap();
    assert!(matches!(c.check(&CheckRequest::new(AUTH_ID, ["s"])).await, Err(Error::Config { .. })));
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn with_an_agent_token_an_outage_never_falls_back_open() {
    let config = config(&dead_base_url()).with_fallback("s", FallbackMode::Open).with_agent_credential(enrolled());
    let response = Client::new(config).unwrap().check(&CheckRequest::new(AUTH_ID, ["s"])).await.expect("fallback");
    let r = response.result("s").expect("s");
    assert_eq!((r.decision, r.reason.as_str()), (Decision::Deny, reason::FALLBACK_CLOSED_UNREACHABLE));
}

#[tokio::test]
async fn a_per_call_token_replaces_the_configured_source() {
    let server = MockServer::start().await;
    let body = check_body(json!({"s": result("allow", "scope_granted")}));
    Mock::given(method("POST"))
        .and(path("/v1/check"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let c = Client::new(config(&server.uri()).with_agent_credential(enrolled())).unwrap();
    let request = CheckRequest::new(AUTH_ID, ["s"]);
    c.check_with_agent_token(&request, Some("per.call.token".into())).await.expect("check");
    assert_eq!(header(&requests(&server).await[0], "x-allowly-agent-token"), Some("per.call.token"));
    let error = c.check_with_agent_token(&request, Some(" ".into())).await.unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    assert_eq!(requests(&server).await.len(), 1, "a bad token is refused before sending");
}
