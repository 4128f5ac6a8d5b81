//! `allowly mcp proxy` and `allowly mcp authorize` end to end: the real `allowly serve --dev`, the real proxy binary, a
//! real MCP server child (the `allowly-mcp-fixture` bin, which logs every tool body it runs) and a real rmcp client
//! speaking MCP over the proxy's stdio. No mocks.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use allowly_core::client::FetchSignedOptions;
use allowly_core::model::CreateAuthorizationRequest;
use allowly_core::receipt::{VerifyOptions, load_keys_from_json, verify_receipt_json};
use allowly_core::{Client, ClientConfig};
use common::Server;
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig as McpClientConfig, ElicitRequestParams, ElicitResult,
    ElicitationAction, Implementation, ProtocolVersion,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RequestContext, RoleClient, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, ErrorData, ServiceExt};
use serde_json::{Value, json};

/// An MCP client. With `answer`, it declares elicitation and answers every question that way (recording the message).
#[derive(Clone, Default)]
struct TestClient {
    answer: Option<ElicitationAction>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl ClientHandler for TestClient {
    fn get_info(&self) -> McpClientConfig {
        let capabilities = match self.answer {
            Some(_) => ClientCapabilities::builder().enable_elicitation().build(),
            None => ClientCapabilities::default(),
        };
        McpClientConfig::new(capabilities, Implementation::new("allowly-test-client", "0"))
            .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let ElicitRequestParams::FormElicitationParams { message, .. } = request {
            self.asked.lock().unwrap().push(message);
        }
        let action = self.answer.clone().expect("only elicitation clients are asked");
        let content = matches!(action, ElicitationAction::Accept).then(|| json!({}));
        Ok(serde_json::from_value(json!({"action": action, "content": content})).expect("elicit result"))
    }
}

struct Env {
    server: Server,
    base_url: String,
    key: String,
    client: Client,
    fixture_log: PathBuf,
}

impl Env {
    fn start() -> Env {
        let server = Server::start();
        let base_url = server.field("base_url");
        let key = server.field("runtime_api_key");
        let client =
            Client::new(ClientConfig::new(&key).with_base_url(&base_url).with_allow_insecure_http(true)).unwrap();
        let fixture_log = server.dir.path().join("fixture-calls.log");
        Env { server, base_url, key, client, fixture_log }
    }

    /// read_note granted, delete_note granted with confirmation, touch_note not granted.
    async fn authorize(&self) -> String {
        let request = CreateAuthorizationRequest::new("user-1", "agent-1", ["read_note", "delete_note"])
            .with_requires_confirm_for(["delete_note"]);
        self.client.create_authorization(&request).await.expect("authorization").authorization_id
    }

    async fn connect(&self, client: TestClient, base_url: &str, auth: &str, extra: &[&str]) -> Session {
        let mut cmd = tokio::process::Command::new(common::allowly_bin());
        cmd.args(["mcp", "proxy", "--base-url", base_url, "--authorization-id", auth])
            .args(extra)
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_allowly-mcp-fixture"))
            .env("ALLOWLY_API_KEY", &self.key)
            .env("ALLOWLY_MCP_FIXTURE_LOG", &self.fixture_log);
        let transport = TokioChildProcess::new(cmd).expect("spawn the proxy");
        client.serve(transport).await.expect("MCP handshake through the proxy")
    }

    /// A 2026-07-28 client (`server/discover`, no `initialize`) through the proxy, in front of a fixture that speaks
    /// 2025-11-25 at most.
    async fn connect_new_era_to_legacy_child(&self, client: TestClient, auth: &str) -> Session {
        let mut cmd = tokio::process::Command::new(common::allowly_bin());
        cmd.args(["mcp", "proxy", "--base-url", &self.base_url, "--authorization-id", auth, "--"])
            .arg(env!("CARGO_BIN_EXE_allowly-mcp-fixture"))
            .env("ALLOWLY_API_KEY", &self.key)
            .env("ALLOWLY_MCP_FIXTURE_LOG", &self.fixture_log)
            .env("ALLOWLY_MCP_FIXTURE_LEGACY", "1");
        let transport = TokioChildProcess::new(cmd).expect("spawn the proxy");
        let lifecycle = ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] };
        client.serve_with_lifecycle(transport, lifecycle).await.expect("server/discover through the proxy")
    }

    fn calls_that_ran(&self) -> Vec<String> {
        fixture_calls(&self.fixture_log)
    }

    /// Fetches every receipt signed and verifies it offline; returns their exact JSON.
    async fn verify_receipts(&self, ids: &[String]) -> Vec<String> {
        let workspace = self.server.field("workspace_id");
        let keys = load_keys_from_json(self.client.workspace_keys_json(&workspace).await.unwrap().as_bytes()).unwrap();
        let options = VerifyOptions { expected_workspace_id: Some(workspace), ..Default::default() };
        let mut out = Vec::new();
        for id in ids {
            let signed = self.client.fetch_signed(id, FetchSignedOptions::default()).await.expect("signed receipt");
            let verified = verify_receipt_json(signed.json().as_bytes(), &keys, &options).expect("receipt verifies");
            assert_eq!(&verified.receipt_id, id);
            out.push(signed.json().to_owned());
        }
        out
    }
}

type Session = RunningService<RoleClient, TestClient>;

fn fixture_calls(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().map(|l| l.split(' ').next().unwrap_or_default().to_owned()).collect()
}

/// A tool result as JSON: (is_error, all text, `_meta`).
async fn call(session: &Session, tool: &str, arguments: Value) -> (bool, String, Value) {
    let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments.as_object().unwrap().clone());
    let result = serde_json::to_value(session.call_tool(params).await.expect("tools/call answered")).unwrap();
    let text: Vec<&str> = result["content"].as_array().unwrap().iter().filter_map(|c| c["text"].as_str()).collect();
    (result["isError"] == json!(true), text.join("\n"), result["_meta"].clone())
}

fn receipt_ids(meta: &Value) -> Vec<String> {
    meta["allowly.ai/receipt_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_calls_run_ungranted_ones_never_reach_the_child_and_receipts_verify() {
    let env = Env::start();
    let auth = env.authorize().await;
    let session = env.connect(TestClient::default(), &env.base_url, &auth, &[]).await;
    let mut receipts = Vec::new();

    let names: Vec<String> = session.list_all_tools().await.unwrap().iter().map(|t| t.name.to_string()).collect();
    assert_eq!(names, ["read_note", "delete_note", "touch_note"]);

    let secret = "sk-live-do-not-record-me";
    let (error, text, meta) = call(&session, "read_note", json!({"note_id": "n1", "token": secret})).await;
    assert!(!error, "{text}");
    assert_eq!(text, "read_note ran for note n1", "the child's own result comes back");
    assert_eq!(
        (meta["allowly.ai/decision"].as_str(), meta["allowly.ai/reason"].as_str()),
        (Some("allow"), Some("scope_granted"))
    );
    receipts.extend(receipt_ids(&meta));

    let (error, text, meta) = call(&session, "touch_note", json!({"note_id": "n2"})).await;
    assert!(error);
    assert!(text.contains("denied by Allowly: scope_not_in_authorization"), "{text}");
    receipts.extend(receipt_ids(&meta));

    // Without elicitation the client gets the prompt and the confirmation id, and the tool does not run.
    let (error, text, meta) = call(&session, "delete_note", json!({"note_id": "n3"})).await;
    assert!(error);
    assert!(text.contains("confirmation required by Allowly: scope_requires_user_confirmation"), "{text}");
    assert!(text.contains("(confirmation cnf_") || text.contains("(confirmation "), "{text}");
    receipts.extend(receipt_ids(&meta));
    session.cancel().await.unwrap();

    assert_eq!(env.calls_that_ran(), ["read_note"], "only the allowed call reached the child");
    assert_eq!(receipts.len(), 3);
    for receipt in env.verify_receipts(&receipts).await {
        assert!(!receipt.contains(secret), "a tool argument reached a receipt");
    }

    // --hide-ungranted leaves touch_note out of tools/list.
    let session = env.connect(TestClient::default(), &env.base_url, &auth, &["--hide-ungranted"]).await;
    let names: Vec<String> = session.list_all_tools().await.unwrap().iter().map(|t| t.name.to_string()).collect();
    assert_eq!(names, ["read_note", "delete_note"]);
    session.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmation_through_elicitation_runs_on_accept_and_refuses_on_decline() {
    let env = Env::start();
    let auth = env.authorize().await;

    let accept = TestClient { answer: Some(ElicitationAction::Accept), ..Default::default() };
    let session = env.connect(accept.clone(), &env.base_url, &auth, &[]).await;
    let (error, text, meta) = call(&session, "delete_note", json!({"note_id": "n4"})).await;
    assert!(!error, "{text}");
    assert_eq!(text, "delete_note ran for note n4");
    assert_eq!(meta["allowly.ai/reason"], "user_confirmed");
    let accepted = receipt_ids(&meta);
    assert_eq!(accepted.len(), 3, "confirm, the user's approval, the re-check");
    session.cancel().await.unwrap();
    let asked = accept.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    assert!(asked[0].contains("delete_note"), "{asked:?}");

    let decline = TestClient { answer: Some(ElicitationAction::Decline), ..Default::default() };
    let session = env.connect(decline, &env.base_url, &auth, &[]).await;
    let (error, text, meta) = call(&session, "delete_note", json!({"note_id": "n5"})).await;
    assert!(error);
    assert!(text.contains("denied by Allowly: user_rejected"), "{text}");
    let declined = receipt_ids(&meta);
    session.cancel().await.unwrap();

    assert_eq!(env.calls_that_ran(), ["delete_note"], "only the accepted call ran");
    env.verify_receipts(&[accepted, declined].concat()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_fails_closed_and_the_tool_never_runs() {
    let env = Env::start();
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let session = env.connect(TestClient::default(), &format!("http://127.0.0.1:{port}"), "auth_any", &[]).await;
    let (error, text, meta) = call(&session, "read_note", json!({"note_id": "n6"})).await;
    session.cancel().await.unwrap();
    assert!(error);
    assert!(text.contains("denied by Allowly: fallback_closed_unreachable"), "{text}");
    assert_eq!(receipt_ids(&meta), Vec::<String>::new());
    assert!(env.calls_that_ran().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_grants_read_only_tools_and_confirms_the_rest() {
    let env = Env::start();
    let output = std::process::Command::new(common::allowly_bin())
        .args(["mcp", "authorize", "--base-url", &env.base_url, "--user-id", "user-2", "--agent-id", "agent-2"])
        .args(["--scope-template", "mcp.{server}.{tool}", "--"])
        .arg(env!("CARGO_BIN_EXE_allowly-mcp-fixture"))
        .env("ALLOWLY_API_KEY", &env.key)
        .output()
        .expect("run allowly mcp authorize");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains(&env.key), "the API key reached the output");
    let auth = String::from_utf8(output.stdout).unwrap().trim().to_owned();

    let authorization = env.client.get_authorization(&auth).await.expect("the printed id exists");
    let scopes: Vec<&str> = authorization.scope_names().collect();
    assert_eq!(scopes, ["mcp.notes.read_note", "mcp.notes.delete_note", "mcp.notes.touch_note"]);
    assert_eq!(authorization.requires_confirm_for, ["mcp.notes.delete_note", "mcp.notes.touch_note"]);

    // The proxy with the same template checks the same scopes.
    let session =
        env.connect(TestClient::default(), &env.base_url, &auth, &["--scope-template", "mcp.{server}.{tool}"]).await;
    let (error, text, _) = call(&session, "read_note", json!({"note_id": "n7"})).await;
    assert!(!error, "{text}");
    let (error, text, _) = call(&session, "touch_note", json!({})).await;
    assert!(error && text.contains("scope_requires_user_confirmation"), "{text}");
    session.cancel().await.unwrap();
    assert_eq!(env.calls_that_ran(), ["read_note"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_era_client_in_front_of_an_old_era_server_is_gated_the_same() {
    let env = Env::start();
    let auth = env.authorize().await;
    let accept = TestClient { answer: Some(ElicitationAction::Accept), ..Default::default() };
    let session = env.connect_new_era_to_legacy_child(accept.clone(), &auth).await;
    let info = session.peer_info().expect("discovered");
    assert_eq!(info.protocol_version, ProtocolVersion::V_2026_07_28, "the proxy speaks the new era to the client");
    assert_eq!(info.server_info.as_ref().map(|s| s.name.as_str()), Some("notes"));

    let (error, text, _) = call(&session, "read_note", json!({"note_id": "n20"})).await;
    assert!(!error, "{text}");
    let (error, text, _) = call(&session, "touch_note", json!({"note_id": "n21"})).await;
    assert!(error && text.contains("scope_not_in_authorization"), "{text}");
    // rmcp's client answers the input_required round through its elicitation handler and retries once.
    let (error, text, meta) = call(&session, "delete_note", json!({"note_id": "n22"})).await;
    assert!(!error, "{text}");
    assert_eq!(meta["allowly.ai/reason"], "user_confirmed");
    session.cancel().await.unwrap();
    assert_eq!(accept.asked.lock().unwrap().len(), 1, "asked once");
    assert_eq!(env.calls_that_ran(), ["read_note", "delete_note"]);
}
