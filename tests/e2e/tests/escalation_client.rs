//! allowly-core's client against the real `allowly serve --dev` for escalations and their approvers: the admin
//! members calls (setup key), an authorization escalating one scope over two levels, each member resolving with its
//! own credential (`resolve_escalation` / `approve_escalation`), the typed refusals, `wait_for_escalation`, and the
//! re-check of the call using the approval once. Proves core's models read what the server answers.

mod common;

use std::time::Duration;

use allowly_core::model::{CheckRequest, CreateAuthorizationRequest, CreateMemberRequest, Decision};
use allowly_core::{Client, ClientConfig, Error};
use common::Server;

fn client(server: &Server, key: &str) -> Client {
    Client::new(ClientConfig::new(key).with_base_url(server.field("base_url")).with_allow_insecure_http(true))
        .expect("client")
}

#[tokio::test]
async fn two_members_resolve_a_two_level_escalation_through_core() {
    let server = Server::start();
    let admin = client(&server, &server.field("setup_api_key"));
    let runtime = client(&server, &server.field("runtime_api_key"));
    let mut members = Vec::new();
    for id in ["l1", "l2"] {
        let created =
            admin.create_member(&CreateMemberRequest { member_id: id.into(), display_name: None }).await.unwrap();
        assert!(created.credential.expose().starts_with("allowly_mk_"));
        assert!(!format!("{created:?}").contains(created.credential.expose()), "Debug shows the credential");
        members.push(client(&server, created.credential.expose()));
    }
    let listed = admin.list_members().await.unwrap();
    assert_eq!(listed.iter().map(|m| m.member_id.as_str()).collect::<Vec<_>>(), ["l1", "l2"]);

    let request = CreateAuthorizationRequest::new("u-esc", "bot", ["payments.send"])
        .with_escalation("payments.send", ["member:l1", "member:l2"]);
    let auth = runtime.create_authorization(&request).await.unwrap();
    let check = CheckRequest::new(&auth.authorization_id, ["payments.send"]);
    let first = runtime.check(&check).await.unwrap().results["payments.send"].clone();
    assert_eq!((first.decision, first.reason.as_str()), (Decision::Escalate, "scope_requires_escalation"));
    assert_eq!(first.escalation_to.as_deref(), Some("member:l1"));
    let esc = first.escalation_id.clone().expect("escalation id");

    // Only the member asked now may answer; an API key is refused outright.
    match runtime.approve_escalation(&esc, None).await {
        Err(Error::PermissionDenied { code, .. }) => assert_eq!(code, "member_credential_required"),
        other => panic!("expected 403 member_credential_required, got {other:?}"),
    }
    match members[1].approve_escalation(&esc, None).await {
        Err(Error::PermissionDenied { code, .. }) => assert_eq!(code, "escalation_wrong_member"),
        other => panic!("expected 403 escalation_wrong_member, got {other:?}"),
    }
    let one = members[0].approve_escalation(&esc, Some("fine by me")).await.unwrap();
    assert_eq!((one.level, one.levels, one.escalation_status.as_deref()), (Some(1), Some(2), Some("pending")));
    assert_eq!((one.resolved_by.as_deref(), one.escalation_to.as_deref()), (Some("member:l1"), Some("member:l2")));

    // The runtime side waits for the escalation while level 2 answers.
    let waiter = {
        let runtime = runtime.clone();
        let esc = esc.clone();
        tokio::spawn(async move {
            runtime.wait_for_escalation(&esc, Duration::from_secs(20), Duration::from_millis(100)).await
        })
    };
    let two = members[1].approve_escalation(&esc, None).await.unwrap();
    assert_eq!((two.level, two.escalation_status.as_deref()), (Some(2), Some("approved")));
    let monitor = waiter.await.unwrap().unwrap();
    assert!(monitor.is_resolved());
    assert_eq!((monitor.status.as_str(), monitor.authority_status.as_str()), ("approved", "available"));
    assert_eq!(monitor.steps.len(), 2);
    assert_eq!(monitor.resolved_by.as_deref(), Some("member:l2"));
    match members[1].approve_escalation(&esc, None).await {
        Err(Error::Conflict { code, .. }) => assert_eq!(code, "escalation_not_pending"),
        other => panic!("expected 409 escalation_not_pending, got {other:?}"),
    }

    // The call's re-check uses the approval once.
    let used = runtime.check(&check).await.unwrap().results["payments.send"].clone();
    assert_eq!((used.decision, used.reason.as_str()), (Decision::Allow, "escalation_approved"));
    let again = runtime.check(&check).await.unwrap().results["payments.send"].clone();
    assert_eq!(again.decision, Decision::Escalate);
    assert_ne!(again.escalation_id.as_deref(), Some(esc.as_str()));
    let read = members[0].get_escalation_status(&esc).await.unwrap();
    assert_eq!(read.authority_status, "consumed");

    // Revoking a member stops its credential at once.
    admin.revoke_member("l1").await.unwrap();
    assert!(matches!(members[0].get_escalation_status(&esc).await, Err(Error::Authentication { .. })));
}
