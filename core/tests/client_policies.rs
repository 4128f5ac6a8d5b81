//! Policy editions, edition grants, the confirmation monitor and readiness against a mock server: the 0.8.0 call
//! shapes on the wire, local refusal of invalid definitions (nothing sent), and answers that do not match what was
//! sent refused as protocol errors.

mod client_support;

use allowly_core::Error;
use allowly_core::model::{
    AuthorizationArgs, AuthorizationRequest, CreateEditionAuthorizationRequest, CreatePolicyRequest,
    CreatedAuthorization, PolicyPreviewRequest, PolicyRef,
};
use allowly_core::policy::{definition_sha256, evaluate, validate_definition};
use client_support::*;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header as header_is, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn definition() -> Value {
    json!({
        "profile": "allowly.policy.v1", "agent_id": "agent_1", "default_expiry_days": 30,
        "actions": [{
            "policy": {
                "profile": "allowly.basic.v1", "action": "refunds.issue", "decision": "allow", "target": null,
                "fields": {"amount": "integer"},
                "rules": [{"id": "big", "decision": "confirm", "target": "agent_owner",
                           "conditions": [{"field": "amount", "op": "gt", "value": 100}]}]
            },
            "guards": {}, "executable_operations": []
        }]
    })
}

fn reference(version: i64) -> Value {
    json!({"policy_id": "refunds", "policy_version": version, "definition_sha256": definition_sha256(&definition()).unwrap()})
}

fn policy_body() -> Value {
    json!({"policy_ref": reference(1), "definition": definition(), "description": "d", "created_by": "key_1",
           "created_at": "2026-12-06T00:00:00Z", "deleted_at": null})
}

fn invalid_definition() -> Value {
    let mut bad = definition();
    bad["actions"][0]["policy"]["rules"][0]["conditions"][0]["op"] = json!("near");
    bad
}

fn field_of(error: Error) -> String {
    match error {
        Error::Validation { fields, .. } => fields[0].field.clone(),
        other => panic!("not a validation error: {other:?}"),
    }
}

#[tokio::test]
async fn create_get_list_archive_speak_the_0_8_shapes() {
    let server = MockServer::start().await;
    let mut body = definition();
    body["policy_id"] = json!("refunds");
    body["description"] = json!("d");
    Mock::given(method("POST"))
        .and(path("/v1/policies"))
        .and(body_json(body))
        .respond_with(ResponseTemplate::new(201).set_body_json(policy_body()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/policies/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(policy_body()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/policies"))
        .and(query_param("limit", "2"))
        .and(query_param("cursor", "c1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"items": [policy_body()], "has_more": true, "next_cursor": "c2"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/policies/refunds"))
        .and(header_is("Idempotency-Key", "arch-1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server);
    let mut request = CreatePolicyRequest::new("refunds", definition());
    request.description = Some("d".into());
    let created = client.create_policy(&request).await.unwrap();
    assert_eq!(created.policy_ref.policy_version, 1);
    assert_eq!(client.get_policy("refunds").await.unwrap(), created);
    let page = client.list_policies(Some(2), Some("c1")).await.unwrap();
    assert!(page.has_more);
    assert_eq!(page.next_cursor.as_deref(), Some("c2"));
    client.archive_policy("refunds", Some("arch-1")).await.unwrap();
}

#[tokio::test]
async fn an_invalid_definition_never_leaves_the_process() {
    let server = MockServer::start().await;
    let client = client(&server);
    let error = client.create_policy(&CreatePolicyRequest::new("refunds", invalid_definition())).await.unwrap_err();
    assert_eq!(field_of(error), "actions[0].policy.rules[0].conditions[0].op");
    let mut publish = CreatePolicyRequest::new("refunds", invalid_definition());
    publish.idempotency_key = Some("k".into());
    assert!(client.publish_policy(&publish).await.is_err());
    let preview =
        PolicyPreviewRequest { definition: invalid_definition(), action: "refunds.issue".into(), ..Default::default() };
    assert!(client.preview_policy(&preview).await.is_err());
    let undeclared = PolicyPreviewRequest { definition: definition(), action: "nope".into(), ..Default::default() };
    assert_eq!(field_of(client.preview_policy(&undeclared).await.unwrap_err()), "action");
    assert_eq!(
        field_of(client.create_policy(&CreatePolicyRequest::new("Bad Id", definition())).await.unwrap_err()),
        "policy_id"
    );
    assert_eq!(field_of(client.list_policies(Some(101), None).await.unwrap_err()), "limit");
    let mut no_key = CreatePolicyRequest::new("refunds", definition());
    no_key.idempotency_key = None;
    assert_eq!(field_of(client.publish_policy(&no_key).await.unwrap_err()), "idempotency_key");
    assert!(requests(&server).await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn an_answer_for_another_definition_is_a_protocol_error() {
    let server = MockServer::start().await;
    let mut other = policy_body();
    other["policy_ref"]["definition_sha256"] = json!("0".repeat(64));
    Mock::given(method("GET"))
        .and(path("/v1/policies/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(other))
        .mount(&server)
        .await;
    let error = client(&server).get_policy("refunds").await.unwrap_err();
    assert_eq!(error.kind(), allowly_core::ErrorKind::Protocol, "{error:?}");
}

#[tokio::test]
async fn preview_and_publish_are_checked_against_the_local_evaluation() {
    let server = MockServer::start().await;
    let context = json!({"amount": 250});
    let definition_value = definition();
    let local = evaluate(&validate_definition(&definition_value).unwrap(), "refunds.issue", &context).unwrap();
    Mock::given(method("POST"))
        .and(path("/v1/setup/policies/preview"))
        .and(body_json(json!({"definition": definition(), "action": "refunds.issue", "context": context})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "provisional": true, "definition_sha256": definition_sha256(&definition()).unwrap(),
            "action": "refunds.issue", "policy_eval": serde_json::to_value(&local).unwrap()
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/setup/policies/publish"))
        .and(header_is("Idempotency-Key", "pub-1"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "policy_ref": reference(2), "agent_id": "agent_1", "created_by": "key_setup",
            "created_at": "2026-12-06T00:00:00Z",
            "authorization_migrations": [{"user_id": "u", "previous_authorization_id": "auth_a", "authorization_id": "auth_b"}],
            "archived_policy_ids": [], "revoked_confirmation_count": 1
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let preview = PolicyPreviewRequest {
        definition: definition(),
        action: "refunds.issue".into(),
        context: context.as_object().unwrap().clone(),
    };
    let answer = client.preview_policy(&preview).await.unwrap();
    assert_eq!(answer.policy_eval, local);
    assert_eq!(answer.policy_eval.result.matched_rule_id.as_deref(), Some("big"));

    let mut publish = CreatePolicyRequest::new("refunds", definition());
    publish.idempotency_key = Some("pub-1".into());
    publish.previous_policy_ref = Some(serde_json::from_value::<PolicyRef>(reference(1)).unwrap());
    let published = client.publish_policy(&publish).await.unwrap();
    assert_eq!(published.policy_ref.policy_version, 2);
    assert_eq!(published.authorization_migrations[0].authorization_id, "auth_b");
    let sent: Value = serde_json::from_slice(&requests(&server).await.last().unwrap().body).unwrap();
    assert_eq!(sent["previous_policy_ref"], reference(1));
    assert_eq!(sent["policy_id"], "refunds");
}

fn edition_authorization_body() -> Value {
    json!({
        "authorization_id": AUTH_ID, "policy_ref": reference(1), "actions": ["refunds.issue"],
        "created_at": "2026-12-06T00:00:00Z", "expires_at": "2027-01-05T00:00:00Z",
        "receipt": pending("rcp_01HZZCREATE00000000000000001"),
        "authorization_provenance": {"kind": "api_key", "key_id": "key_1"},
        "budget_limit_micros": null, "budget_spent_micros": null
    })
}

#[tokio::test]
async fn authorization_args_choose_the_edition_or_the_scope_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/authorizations"))
        .and(body_json(json!({"user_id": "user_1", "policy_id": "refunds", "policy_version": 1,
                              "actions": ["refunds.issue"], "metadata": {}})))
        .respond_with(ResponseTemplate::new(201).set_body_json(edition_authorization_body()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/authorizations"))
        .and(body_json(json!({"user_id": "user_1", "agent_id": "agent_1", "scopes": ["email.read", "email.send"]})))
        .respond_with(ResponseTemplate::new(201).set_body_json(authorization_body()))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let edition = AuthorizationArgs {
        user_id: "user_1".into(),
        policy_id: Some("refunds".into()),
        policy_version: Some(1),
        actions: Some(vec!["refunds.issue".into()]),
        ..Default::default()
    };
    match client.create_any_authorization(&edition.into_request().unwrap()).await.unwrap() {
        CreatedAuthorization::Edition(a) => {
            assert_eq!(a.policy_ref.policy_id, "refunds");
            assert_eq!(a.authorization_provenance["kind"], "api_key");
        }
        other => panic!("{other:?}"),
    }
    let scopes = AuthorizationArgs {
        user_id: "user_1".into(),
        agent_id: Some("agent_1".into()),
        scopes: Some(vec!["email.read".into(), "email.send".into()]),
        ..Default::default()
    };
    let request = scopes.into_request().unwrap();
    assert!(matches!(request, AuthorizationRequest::Scopes(_)));
    assert!(matches!(client.create_any_authorization(&request).await.unwrap(), CreatedAuthorization::Scopes(_)));
}

#[tokio::test]
async fn an_edition_grant_for_other_actions_is_a_protocol_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/authorizations"))
        .respond_with(ResponseTemplate::new(201).set_body_json(edition_authorization_body()))
        .mount(&server)
        .await;
    let mut request = CreateEditionAuthorizationRequest::new("user_1", "refunds", 1);
    request.actions = Some(vec!["refunds.other".into()]);
    let error = client(&server).create_edition_authorization(&request).await.unwrap_err();
    assert_eq!(error.kind(), allowly_core::ErrorKind::Protocol, "{error:?}");
}

#[tokio::test]
async fn confirmation_status_and_readiness() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/confirmations/cnf_1/status"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "confirmation_id": "cnf_1", "authorization_id": AUTH_ID, "action": "refunds.issue", "resource": null,
            "status": "approved", "expires_at": "2026-12-06T01:00:00Z", "resolved_at": "2026-12-06T00:01:00Z",
            "source_receipt_id": "rcp_s", "resolution_receipt_id": "rcp_r", "authority_status": "available",
            "child_authorization_id": AUTH_ID, "authority_expires_at": "2026-12-06T01:00:00Z"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/readyz"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({"status": "unavailable", "database": false, "signer": true})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let monitor = client.get_confirmation_status("cnf_1").await.unwrap();
    assert_eq!((monitor.status.as_str(), monitor.authority_status.as_str()), ("approved", "available"));
    assert!(!client.readiness().await.unwrap(), "503 unavailable is an answer, not retried");

    let ready = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/readyz"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"status": "ready", "database": true, "signer": true})),
        )
        .mount(&ready)
        .await;
    assert!(client_support::client(&ready).readiness().await.unwrap());
}

#[tokio::test]
async fn check_results_carry_escalations_and_edition_evaluations() {
    let server = MockServer::start().await;
    let eval = evaluate(&validate_definition(&definition()).unwrap(), "refunds.issue", &json!({"amount": 5})).unwrap();
    let mut escalated = result("escalate", "escalation_required");
    escalated["escalation_id"] = json!("esc_1");
    escalated["escalation_to"] = json!("member:usr_2");
    escalated["escalation_expires_at"] = json!("2026-12-06T01:00:00Z");
    escalated["policy_eval"] = serde_json::to_value(&eval).unwrap();
    Mock::given(method("POST"))
        .and(path("/v1/check"))
        .respond_with(ResponseTemplate::new(200).set_body_json(check_body(json!({"refunds.issue": escalated}))))
        .mount(&server)
        .await;
    let response =
        client(&server).check(&allowly_core::model::CheckRequest::new(AUTH_ID, ["refunds.issue"])).await.unwrap();
    let r = response.result("refunds.issue").unwrap();
    assert_eq!(r.decision, allowly_core::model::Decision::Escalate);
    assert_eq!(r.escalation_to.as_deref(), Some("member:usr_2"));
    assert_eq!(r.policy_evaluation(), Some(eval));
}

#[tokio::test]
async fn escalation_status_reads_the_monitor_view_and_refuses_another_escalation() {
    let server = MockServer::start().await;
    let body = |id: &str| {
        json!({
            "escalation_id": id, "authorization_id": AUTH_ID, "action": "email.send", "resource": null,
            "status": "pending", "expires_at": "2026-12-07T00:00:00Z", "resolved_at": null,
            "source_receipt_id": "rcp_s", "resolution_receipt_id": null, "authority_status": "none",
            "consumed_at": null, "escalation_to": "member:compliance"
        })
    };
    Mock::given(method("GET"))
        .and(path("/v1/escalations/esc_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body("esc_1")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/escalations/esc_2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body("esc_other")))
        .mount(&server)
        .await;
    let client = client(&server);
    let monitor = client.get_escalation_status("esc_1").await.unwrap();
    assert_eq!((monitor.status.as_str(), monitor.authority_status.as_str()), ("pending", "none"));
    assert_eq!(monitor.escalation_to.as_deref(), Some("member:compliance"));
    assert_eq!(monitor.source_receipt_id.as_deref(), Some("rcp_s"));
    let error = client.get_escalation_status("esc_2").await.unwrap_err();
    assert_eq!(error.kind(), allowly_core::ErrorKind::Protocol, "{error:?}");
}
