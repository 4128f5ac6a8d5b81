//! allowly-core's admin client (the setup-key routes) against the real `allowly serve --dev`: API keys, the
//! webhook endpoint, signing-key rotation, audit queries with every filter and the page walker, the export, and a
//! runtime key refused on each admin call with a typed `PermissionDenied`.

mod common;

use std::time::Duration;

use allowly_core::client::FetchSignedOptions;
use allowly_core::model::{
    ApiKeyTier, AuditQuery, AuditRow, CheckRequest, CreateApiKeyRequest, CreateAuthorizationRequest,
};
use allowly_core::{Client, ClientConfig, Error};
use common::Server;

fn client(server: &Server, key: &str) -> Client {
    Client::new(ClientConfig::new(key).with_base_url(server.field("base_url")).with_allow_insecure_http(true))
        .expect("client")
}

fn forbidden<T: std::fmt::Debug>(result: Result<T, Error>) {
    match result {
        Err(Error::PermissionDenied { code, .. }) => assert_eq!(code, "insufficient_key_tier"),
        other => panic!("expected 403 insufficient_key_tier, got {other:?}"),
    }
}

#[tokio::test]
async fn api_keys_are_created_once_listed_and_revoked() {
    let server = Server::start();
    let admin = client(&server, &server.field("setup_api_key"));
    let created = admin
        .create_api_key(&CreateApiKeyRequest { tier: ApiKeyTier::Runtime, name: "ci runner".into() })
        .await
        .unwrap();
    let key = created.key.clone().expect("the key text, shown once");
    assert!(key.expose().starts_with("allowly_rt_") && key.expose().starts_with(&created.prefix));
    assert!(!format!("{created:?}").contains(key.expose()), "Debug shows the key");

    // The new key works on a runtime route; the list has its prefix, never its text.
    let runtime = client(&server, key.expose());
    let request = CreateAuthorizationRequest::new("u-1", "bot", ["a.read"]);
    runtime.create_authorization(&request).await.expect("the created key is usable");
    let listed = admin.list_api_keys().await.unwrap();
    let mine = listed.iter().find(|k| k.id == created.id).expect("listed");
    assert_eq!((mine.name.as_str(), mine.tier.as_str(), mine.revoked_at.as_deref()), ("ci runner", "runtime", None));
    assert!(listed.iter().all(|k| !format!("{k:?}").contains(key.expose())));

    let revoked = admin.revoke_api_key(&created.id).await.unwrap();
    assert_eq!(revoked.id, created.id);
    assert_eq!(admin.revoke_api_key(&created.id).await.unwrap().revoked_at, revoked.revoked_at, "idempotent");
    assert!(matches!(runtime.create_authorization(&request).await, Err(Error::Authentication { .. })));
    assert!(matches!(admin.revoke_api_key("key_unknown").await, Err(Error::NotFound { .. })));

    // Bad input is refused before sending.
    let blank = CreateApiKeyRequest { tier: ApiKeyTier::Setup, name: " ".into() };
    assert!(matches!(admin.create_api_key(&blank).await, Err(Error::Validation { status: None, .. })));
}

#[tokio::test]
async fn webhook_endpoint_is_set_read_and_deleted() {
    let server = Server::start();
    let admin = client(&server, &server.field("setup_api_key"));
    assert!(matches!(admin.get_webhook().await, Err(Error::NotFound { .. })));
    let set = admin.set_webhook("http://127.0.0.1:9/hook").await.unwrap();
    assert!(set.signing_secret.expose().starts_with("whsec_"));
    assert!(!format!("{set:?}").contains(set.signing_secret.expose()));
    let read = admin.get_webhook().await.unwrap();
    assert_eq!((read.url.as_str(), read.events.clone()), (set.url.as_str(), set.events.clone()));
    assert!(!read.events.is_empty());
    match admin.set_webhook("ftp://example.com/").await {
        Err(Error::Validation { fields, status: Some(422), .. }) => assert_eq!(fields[0].field, "url"),
        other => panic!("expected 422 url, got {other:?}"),
    }
    admin.delete_webhook().await.unwrap();
    assert!(matches!(admin.delete_webhook().await, Err(Error::NotFound { .. })));
}

#[tokio::test]
async fn audit_filters_walks_pages_and_exports_after_a_rotation() {
    let server = Server::start();
    let admin = client(&server, &server.field("setup_api_key"));
    let runtime = client(&server, &server.field("runtime_api_key"));
    let request = CreateAuthorizationRequest::new("u-audit", "bot-1", ["mail.send", "mail.read"]);
    let auth = runtime.create_authorization(&request).await.unwrap();
    let mut ids = vec![auth.receipt.as_ref().expect("event receipt").receipt_id().to_owned()];
    for (i, scope) in ["mail.send", "mail.read", "mail.send", "files.delete"].iter().enumerate() {
        let mut check = CheckRequest::new(&auth.authorization_id, [*scope]);
        check.context =
            Some(serde_json::json!({"run_id": if i < 2 { "run-a" } else { "run-b" }}).as_object().unwrap().clone());
        let result = runtime.check(&check).await.unwrap();
        ids.push(result.results[*scope].receipt.as_ref().expect("receipt").receipt_id().to_owned());
    }
    let wait = FetchSignedOptions { poll_interval: Duration::from_millis(50), timeout: Duration::from_secs(20) };
    for id in &ids {
        runtime.fetch_signed(id, wait).await.unwrap();
    }
    let rotation = admin.rotate_signing_key().await.unwrap();
    assert_eq!(rotation.workspace_id, server.field("workspace_id"));

    let rows = |page: &allowly_core::model::AuditPage| {
        page.receipts.iter().map(|r| AuditRow::of(r).unwrap()).collect::<Vec<_>>()
    };
    let sends =
        admin.audit(&AuditQuery { action: Some("mail.send".into()), ..Default::default() }, None).await.unwrap();
    assert_eq!(sends.receipts.iter().map(|r| r.receipt_id()).collect::<Vec<_>>(), [ids[3].as_str(), ids[1].as_str()]);
    assert!(rows(&sends).iter().all(|r| r.action == "mail.send" && r.agent_id == "bot-1"));
    let run_b = AuditQuery { run_id: Some("run-b".into()), decision: Some("deny".into()), ..Default::default() };
    let denied = rows(&admin.audit(&run_b, None).await.unwrap());
    assert_eq!(denied.len(), 1);
    assert_eq!((denied[0].action.as_str(), denied[0].reason.as_str()), ("files.delete", "scope_not_in_authorization"));
    let nobody = AuditQuery { user_id: Some("u-other".into()), ..Default::default() };
    assert!(admin.audit(&nobody, None).await.unwrap().receipts.is_empty());
    let event = AuditQuery {
        action: Some("authorization.create".into()),
        agent_id: Some("bot-1".into()),
        ..Default::default()
    };
    assert_eq!(rows(&admin.audit(&event, None).await.unwrap())[0].receipt_id, ids[0]);
    let future = AuditQuery { since: Some("2999-01-01T00:00:00Z".into()), ..Default::default() };
    assert!(admin.audit(&future, None).await.unwrap().receipts.is_empty());

    // The page walker: limit 2 over 5 receipts is 3 pages, each receipt once, newest first.
    let mut pages =
        admin.audit_pages(AuditQuery { user_id: Some("u-audit".into()), limit: Some(2), ..Default::default() });
    let mut walked = Vec::new();
    let mut count = 0;
    while let Some(page) = pages.next_page().await.unwrap() {
        count += 1;
        walked.extend(page.receipts.iter().map(|r| r.receipt_id().to_owned()));
    }
    assert_eq!(count, 3);
    assert!(pages.next_page().await.unwrap().is_none());
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(walked, newest_first);

    // Bad filters are typed errors: before sending (limit) or from the server (a cursor it never issued).
    assert!(matches!(
        admin.audit(&AuditQuery { limit: Some(5000), ..Default::default() }, None).await,
        Err(Error::Validation { status: None, .. })
    ));
    match admin.audit(&AuditQuery::default(), Some("not-a-cursor")).await {
        Err(Error::Validation { fields, status: Some(422), .. }) => assert_eq!(fields[0].field, "cursor"),
        other => panic!("expected 422 cursor, got {other:?}"),
    }

    // Export: every receipt, oldest first, with the bytes the audit answer had.
    let exported = admin.export_receipts(Some("2000-01-01T00:00:00Z"), None).await.unwrap();
    assert_eq!(exported.iter().map(|r| r.receipt_id().to_owned()).collect::<Vec<_>>(), ids);
    assert_eq!(exported[1].json(), sends.receipts[1].json());
    assert!(admin.export_receipts(Some("2999-01-01T00:00:00Z"), None).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_runtime_key_is_refused_on_every_admin_call() {
    let server = Server::start();
    let runtime = client(&server, &server.field("runtime_api_key"));
    forbidden(runtime.list_api_keys().await);
    forbidden(runtime.create_api_key(&CreateApiKeyRequest { tier: ApiKeyTier::Setup, name: "escalate".into() }).await);
    forbidden(runtime.revoke_api_key("key_x").await);
    forbidden(runtime.set_webhook("http://127.0.0.1:9/").await);
    forbidden(runtime.get_webhook().await);
    forbidden(runtime.delete_webhook().await);
    forbidden(runtime.rotate_signing_key().await);
    forbidden(runtime.audit(&AuditQuery::default(), None).await);
    forbidden(runtime.export_receipts(None, None).await);
}
