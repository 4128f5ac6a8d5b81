//! The gate against a real allowly-server (in process, temp SQLite file): every decision path of a tool call, and the
//! rule that arguments stay out of receipts unless mapped.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use allowly_core::client::FetchSignedOptions;
use allowly_core::model::{CreateAuthorizationRequest, reason};
use allowly_core::receipt::{VerifyOptions, load_keys_from_json, verify_receipt_json};
use allowly_core::{Client, ClientConfig};
use allowly_mcp::{
    AuthorizationTable, CallContext, FailMode, Gate, GateConfig, GrantKind, Outcome, ScopeMapping, ToolAnnotations,
};
use serde_json::{Map, Value, json};

struct Server {
    running: Option<allowly_server::Running>,
    info: allowly_server::ReadyInfo,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = allowly_server::ServeConfig {
            listen: "127.0.0.1:0".parse().expect("address"),
            db_url: Some(format!("sqlite://{}", dir.path().join("gate.db").display())),
            dev: true,
            ready_file: None,
            master_key: None,
            rate_limits: Default::default(),
            webhook_allow: Vec::new(),
        };
        let running = allowly_server::start(cfg).await.expect("start allowly-server");
        let info = running.info.clone().expect("dev mode reports its keys");
        Server { running: Some(running), info, _dir: dir }
    }

    fn client(&self) -> Client {
        client_for(&self.info.base_url, &self.info.runtime_api_key)
    }

    async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }
}

fn client_for(base_url: &str, key: &str) -> Client {
    Client::new(
        ClientConfig::new(key)
            .with_base_url(base_url)
            .with_allow_insecure_http(true)
            .with_max_retries(0)
            .with_check_timeout(Duration::from_secs(2)),
    )
    .expect("client")
}

/// read_note granted, delete_note granted with confirmation, touch_note not granted.
async fn authorize(client: &Client) -> String {
    let request = CreateAuthorizationRequest::new("user-1", "agent-1", ["read_note", "delete_note"])
        .with_requires_confirm_for(["delete_note"]);
    client.create_authorization(&request).await.expect("create authorization").authorization_id
}

fn args(value: Value) -> Map<String, Value> {
    value.as_object().expect("object").clone()
}

async fn signed_json(client: &Client, outcome: &Outcome) -> String {
    let id = outcome.receipt().expect("a receipt").receipt_id().to_owned();
    client.fetch_signed(&id, FetchSignedOptions::default()).await.expect("signed").json().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_deny_and_confirm_follow_the_authorization_and_receipts_verify() {
    let server = Server::start().await;
    let client = server.client();
    let auth = authorize(&client).await;
    let gate = Gate::new(client.clone(), GateConfig::for_authorization(&auth));
    let keys = load_keys_from_json(client.workspace_keys_json(&server.info.workspace_id).await.unwrap().as_bytes())
        .expect("key document");
    let verify = VerifyOptions { expected_workspace_id: Some(server.info.workspace_id.clone()), ..Default::default() };
    let mut receipts = Vec::new();

    let read = gate.on_tool_call(&CallContext::new("read_note")).await;
    assert!(matches!(&read, Outcome::Allow { reason, .. } if reason == reason::SCOPE_GRANTED), "{read:?}");
    receipts.push(signed_json(&client, &read).await);

    let touch = gate.on_tool_call(&CallContext::new("touch_note")).await;
    assert!(matches!(&touch, Outcome::Deny { reason, .. } if reason == reason::SCOPE_NOT_IN_AUTHORIZATION));
    receipts.push(signed_json(&client, &touch).await);

    // Confirm, approve, re-check: allowed as user_confirmed.
    let call = CallContext::new("delete_note");
    let Outcome::Confirm { nonce, confirmation_id, .. } = gate.on_tool_call(&call).await else {
        panic!("delete_note needs confirmation")
    };
    assert!(confirmation_id.is_some());
    assert_eq!(format!("{nonce:?}"), "ConfirmNonce([redacted])");
    let approved = gate.resolve_confirmation(&call, &nonce, true).await;
    assert!(matches!(&approved.outcome, Outcome::Allow { reason, .. } if reason == reason::USER_CONFIRMED));
    receipts.push(signed_json(&client, &approved.outcome).await);

    // Confirm, reject, re-check: denied as user_rejected.
    let Outcome::Confirm { nonce, .. } = gate.on_tool_call(&call).await else { panic!("confirm again") };
    let rejected = gate.resolve_confirmation(&call, &nonce, false).await;
    assert!(rejected.resolution_receipt.is_some());
    assert!(matches!(&rejected.outcome, Outcome::Deny { reason, .. } if reason == reason::USER_REJECTED));
    receipts.push(signed_json(&client, &rejected.outcome).await);

    for receipt in &receipts {
        verify_receipt_json(receipt.as_bytes(), &keys, &verify).expect("receipt verifies");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_is_bound_to_the_arguments_of_the_call_that_asked() {
    let server = Server::start().await;
    let client = server.client();
    let auth = authorize(&client).await;
    let gate = Gate::new(client.clone(), GateConfig::for_authorization(&auth));
    // Fractions included: the digest covers every JSON number, so such calls are bound too.
    let asked_args = args(json!({"note": "n1", "weight": 0.5}));
    let other_args = args(json!({"note": "n1", "weight": 0.25}));
    let asked = CallContext { arguments: Some(&asked_args), ..CallContext::new("delete_note") };
    let other = CallContext { arguments: Some(&other_args), ..CallContext::new("delete_note") };

    let Outcome::Confirm { nonce, .. } = gate.on_tool_call(&asked).await else { panic!("delete_note asks first") };
    // The user approves, and the re-check comes from a call with other arguments (same tool, same authorization):
    // it is asked again, and the approval stays for the call that asked.
    let taken_by_other = gate.resolve_confirmation(&other, &nonce, true).await;
    assert!(taken_by_other.resolution_receipt.is_some(), "the answer was recorded");
    assert!(matches!(&taken_by_other.outcome, Outcome::Confirm { .. }), "{:?}", taken_by_other.outcome);
    let own = gate.on_tool_call(&asked).await;
    assert!(matches!(&own, Outcome::Allow { reason, .. } if reason == reason::USER_CONFIRMED), "{own:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_identity_or_authorization_the_gate_denies_without_asking() {
    // The server is unreachable: a deny `authorization_not_found` (not a fallback) proves nothing was sent.
    let client = client_for("http://127.0.0.1:9", "allowly_rt_unused");
    let table = AuthorizationTable(HashMap::from([("alice".to_owned(), "auth_1".to_owned())]));
    let gate = Gate::new(client, GateConfig::new(table));
    for identity in [None, Some("mallory")] {
        let call = CallContext { identity, ..CallContext::new("read_note") };
        let outcome = gate.on_tool_call(&call).await;
        assert!(
            matches!(&outcome, Outcome::Deny { reason, receipt: None, .. } if reason == reason::AUTHORIZATION_NOT_FOUND)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_authorization_is_denied_by_the_server() {
    let server = Server::start().await;
    let gate = Gate::new(server.client(), GateConfig::for_authorization("auth_does_not_exist"));
    let outcome = gate.on_tool_call(&CallContext::new("read_note")).await;
    assert_eq!((outcome.decision().as_str(), outcome.reason()), ("deny", reason::AUTHORIZATION_NOT_FOUND));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_fails_closed_unless_the_scope_is_configured_open() {
    let client = client_for("http://127.0.0.1:9", "allowly_rt_unused");
    let open = FailMode::OpenFor(BTreeSet::from(["read_note".to_owned()]));
    let gate = Gate::new(client, GateConfig::for_authorization("auth_1").with_fail_mode(open));
    let write = gate.on_tool_call(&CallContext::new("delete_note")).await;
    assert!(matches!(&write, Outcome::Deny { reason, .. } if reason == reason::FALLBACK_CLOSED_UNREACHABLE));
    let read = gate.on_tool_call(&CallContext::new("read_note")).await;
    assert!(matches!(&read, Outcome::Allow { reason, .. } if reason == reason::FALLBACK_OPEN_UNREACHABLE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguments_reach_the_receipt_only_through_mapped_fields() {
    let server = Server::start().await;
    let client = server.client();
    let auth = authorize(&client).await;
    let arguments = args(json!({"note_id": "n-42", "api_token": "sk-very-secret-value", "folder": "inbox"}));
    let call = CallContext { arguments: Some(&arguments), ..CallContext::new("read_note") };

    let plain = Gate::new(client.clone(), GateConfig::for_authorization(&auth));
    let receipt = signed_json(&client, &plain.on_tool_call(&call).await).await;
    for leaked in ["sk-very-secret-value", "n-42", "inbox"] {
        assert!(!receipt.contains(leaked), "unmapped argument {leaked} reached the receipt: {receipt}");
    }

    let mapped = Gate::new(
        client.clone(),
        GateConfig::for_authorization(&auth).with_context_field("folder", "folder").with_resource_field("note_id"),
    );
    let receipt = signed_json(&client, &mapped.on_tool_call(&call).await).await;
    assert!(receipt.contains("inbox") && receipt.contains("n-42"), "{receipt}");
    assert!(!receipt.contains("sk-very-secret-value"), "{receipt}");
    server.stop().await;
}

#[test]
fn scopes_come_from_the_tool_name_a_template_or_a_map() {
    assert_eq!(ScopeMapping::ToolName.scope_for("read_note"), "read_note");
    let template = ScopeMapping::template("mcp.{server}.{tool}", "notes");
    assert_eq!(template.scope_for("read_note"), "mcp.notes.read_note");
    let map = ScopeMapping::Map {
        scopes: HashMap::from([("read_note".to_owned(), "notes.read".to_owned())]),
        otherwise: Box::new(template),
    };
    assert_eq!(map.scope_for("read_note"), "notes.read");
    assert_eq!(map.scope_for("delete_note"), "mcp.notes.delete_note");
}

#[test]
fn only_tools_that_say_they_are_harmless_are_granted_without_confirmation() {
    let read_only = ToolAnnotations { read_only: Some(true), ..Default::default() };
    let additive = ToolAnnotations { read_only: Some(false), destructive: Some(false), ..Default::default() };
    let destructive = ToolAnnotations { destructive: Some(true), ..Default::default() };
    assert_eq!(GrantKind::for_tool(Some(&read_only)), GrantKind::Plain);
    assert_eq!(GrantKind::for_tool(Some(&additive)), GrantKind::Plain);
    assert_eq!(GrantKind::for_tool(Some(&destructive)), GrantKind::Confirm);
    assert_eq!(GrantKind::for_tool(Some(&ToolAnnotations::default())), GrantKind::Confirm);
    assert_eq!(GrantKind::for_tool(None), GrantKind::Confirm);
}
