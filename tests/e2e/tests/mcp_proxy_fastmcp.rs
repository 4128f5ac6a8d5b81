//! `allowly mcp proxy` in front of a real FastMCP 4.2.3 server (tests/e2e/fixtures/fastmcp_notes.py), with the real
//! `allowly serve --dev` and the real proxy binary, driven by a raw JSON-RPC client over the proxy's stdio (so the
//! tests can send what no SDK client would: tampered, moved and replayed states). Both MCP eras: 2026-07-28
//! (`server/discover`, per-request `_meta`, `input_required` rounds) and 2025-11-25 (`initialize`, pushed
//! elicitation). What ran is read from the file the tools append to, never from a mock.
//!
//! The FastMCP server runs in the Python binding's venv (bindings-python/.venv, which `make python-env` creates with
//! fastmcp and mcp); ALLOWLY_FASTMCP_PYTHON names another Python. Without one the tests print why and skip.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use allowly_core::client::FetchSignedOptions;
use allowly_core::model::CreateAuthorizationRequest;
use allowly_core::receipt::{VerifyOptions, load_keys_from_json, verify_receipt_json};
use allowly_core::{Client, ClientConfig};
use common::Server;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// A generous bound on one answer, only so a broken proxy fails the test instead of hanging it.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
const CONFIRM_KEY: &str = "allowly_confirmation";

fn fastmcp_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = std::env::var_os("ALLOWLY_FASTMCP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("bindings-python/.venv/bin/python"));
    let has_fastmcp = python.exists()
        && std::process::Command::new(&python)
            .args(["-c", "import fastmcp, mcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !has_fastmcp {
        println!("skipped: no Python with fastmcp at {} (make python-env)", python.display());
        return None;
    }
    Some(python)
}

struct Env {
    _server: Server,
    base_url: String,
    key: String,
    client: Client,
    python: PathBuf,
    log: PathBuf,
    /// The user's authorization: read_note granted, delete_note and archive_note with confirmation, touch_note not.
    auth: String,
}

impl Env {
    async fn start() -> Option<Env> {
        let python = fastmcp_python()?;
        let server = Server::start();
        let base_url = server.field("base_url");
        let key = server.field("runtime_api_key");
        let client =
            Client::new(ClientConfig::new(&key).with_base_url(&base_url).with_allow_insecure_http(true)).unwrap();
        let request =
            CreateAuthorizationRequest::new("user-1", "agent-1", ["read_note", "delete_note", "archive_note"])
                .with_requires_confirm_for(["delete_note", "archive_note"]);
        let auth = client.create_authorization(&request).await.expect("authorization").authorization_id;
        let log = server.dir.path().join("fastmcp-calls.log");
        Some(Env { _server: server, base_url, key, client, python, log, auth })
    }

    fn proxy(&self) -> Raw {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fastmcp_notes.py");
        let mut child = tokio::process::Command::new(common::allowly_bin())
            .args(["mcp", "proxy", "--base-url", &self.base_url, "--authorization-id", &self.auth, "--"])
            .arg(&self.python)
            .arg(fixture)
            .env("ALLOWLY_API_KEY", &self.key)
            .env("ALLOWLY_MCP_FIXTURE_LOG", &self.log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the proxy");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        Raw { _child: child, stdin, stdout, next_id: 0, elicit_answer: None, asked: Vec::new() }
    }

    /// The tools that ran, in order, with their recorded arguments.
    fn ran(&self) -> Vec<(String, Value)> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|line| {
                let (tool, args) = line.split_once(' ').expect("TOOL ARGS");
                (tool.to_owned(), serde_json::from_str(args).expect("recorded JSON"))
            })
            .collect()
    }

    /// Fetches each receipt signed and verifies it offline against the workspace's keys.
    async fn verify_receipts(&self, meta: &Value) {
        let workspace = self._server.field("workspace_id");
        let keys = load_keys_from_json(self.client.workspace_keys_json(&workspace).await.unwrap().as_bytes()).unwrap();
        let options = VerifyOptions { expected_workspace_id: Some(workspace), ..Default::default() };
        for id in meta["allowly.ai/receipt_ids"].as_array().expect("receipt ids") {
            let id = id.as_str().unwrap();
            let signed = self.client.fetch_signed(id, FetchSignedOptions::default()).await.expect("signed receipt");
            let verified = verify_receipt_json(signed.json().as_bytes(), &keys, &options).expect("receipt verifies");
            assert_eq!(verified.receipt_id, id);
        }
    }

    fn ran_tools(&self) -> Vec<String> {
        self.ran().into_iter().map(|(tool, _)| tool).collect()
    }
}

/// A JSON-RPC client on the proxy's stdio. On 2025-11-25 it answers the server's `elicitation/create` with
/// `elicit_answer` and records the question.
struct Raw {
    _child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    next_id: u64,
    elicit_answer: Option<Value>,
    asked: Vec<String>,
}

impl Raw {
    async fn send(&mut self, message: &Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.expect("write to the proxy");
        self.stdin.flush().await.expect("flush");
    }

    /// Sends a request and returns its response (`result` or `error` object), answering server requests meanwhile.
    async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        loop {
            let line = tokio::time::timeout(ANSWER_TIMEOUT, self.stdout.next_line())
                .await
                .expect("the proxy answered in time")
                .expect("read from the proxy")
                .expect("the proxy closed its stdout");
            let message: Value = serde_json::from_str(&line).expect("JSON-RPC line");
            if message.get("method").is_some() {
                if let Some(server_id) = message.get("id").cloned() {
                    self.answer_server_request(server_id, &message).await;
                }
                continue;
            }
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    async fn answer_server_request(&mut self, id: Value, request: &Value) {
        let answer = match (request["method"].as_str(), &self.elicit_answer) {
            (Some("elicitation/create"), Some(answer)) => {
                self.asked.push(request["params"]["message"].as_str().unwrap_or_default().to_owned());
                json!({"jsonrpc": "2.0", "id": id, "result": answer})
            }
            _ => json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "not supported here"}}),
        };
        self.send(&answer).await;
    }

    /// A 2025-11-25 session.
    async fn initialize(&mut self, elicitation: bool) -> Value {
        let capabilities = if elicitation { json!({"elicitation": {"form": {}}}) } else { json!({}) };
        let params = json!({
            "protocolVersion": "2025-11-25",
            "capabilities": capabilities,
            "clientInfo": {"name": "raw-test-client", "version": "0"},
        });
        let response = self.request("initialize", params).await;
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
        response
    }

    /// A 2026-07-28 `tools/call` (first call, or a retry with `inputResponses` and `requestState`).
    async fn call(&mut self, tool: &str, arguments: Value, elicitation: bool, retry: Option<(Value, &str)>) -> Value {
        let mut params = json!({"name": tool, "arguments": arguments, "_meta": envelope(elicitation)});
        if let Some((responses, state)) = retry {
            params["inputResponses"] = responses;
            params["requestState"] = json!(state);
        }
        self.request("tools/call", params).await
    }

    /// A 2025-11-25 `tools/call`.
    async fn call_legacy(&mut self, tool: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({"name": tool, "arguments": arguments})).await
    }
}

/// The 2026-07-28 per-request `_meta`.
fn envelope(elicitation: bool) -> Value {
    let capabilities = if elicitation { json!({"elicitation": {"form": {}}}) } else { json!({}) };
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw-test-client", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    })
}

fn accept(content: Value) -> Value {
    json!({"action": "accept", "content": content})
}

fn decline() -> Value {
    json!({"action": "decline"})
}

/// A tool result: (isError, all text, `_meta`).
fn tool_result(response: &Value) -> (bool, String, Value) {
    let result = &response["result"];
    assert!(result.get("content").is_some(), "expected a tool result, got {response}");
    let text: Vec<&str> = result["content"].as_array().unwrap().iter().filter_map(|c| c["text"].as_str()).collect();
    (result["isError"] == json!(true), text.join("\n"), result["_meta"].clone())
}

/// An `input_required` result: (the keys of its input requests, its requestState).
fn input_required(response: &Value) -> (Vec<String>, String) {
    let result = &response["result"];
    assert_eq!(result["resultType"], json!("input_required"), "{response}");
    let keys = result["inputRequests"].as_object().expect("inputRequests").keys().cloned().collect();
    (keys, result["requestState"].as_str().expect("requestState").to_owned())
}

fn error_code(response: &Value) -> i64 {
    response["error"]["code"].as_i64().unwrap_or_else(|| panic!("expected a JSON-RPC error, got {response}"))
}

fn receipt_count(meta: &Value) -> usize {
    meta["allowly.ai/receipt_ids"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_era_discover_answers_granted_runs_and_ungranted_never_reaches_the_server() {
    let Some(env) = Env::start().await else { return };
    // Mallory's own authorization grants touch_note: a `user_id` argument naming her must not borrow it.
    let mallory = CreateAuthorizationRequest::new("mallory", "agent-1", ["touch_note"]);
    env.client.create_authorization(&mallory).await.expect("mallory's authorization");
    let mut proxy = env.proxy();

    let discover = proxy.request("server/discover", json!({"_meta": envelope(true)})).await;
    let result = &discover["result"];
    assert!(result["supportedVersions"].as_array().unwrap().contains(&json!("2026-07-28")), "{discover}");
    assert_eq!(result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], json!("notes-py"), "{discover}");
    assert!(result["capabilities"]["tools"].is_object(), "{discover}");

    let list = proxy.request("tools/list", json!({"_meta": envelope(true)})).await;
    let names: Vec<&str> =
        list["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 4, "{list}");

    let (error, text, meta) = tool_result(&proxy.call("read_note", json!({"note_id": "n1"}), true, None).await);
    assert!(!error, "{text}");
    assert_eq!(text, "read_note ran for note n1", "the child's own result comes back");
    assert_eq!(meta["allowly.ai/decision"], json!("allow"));
    assert_eq!(receipt_count(&meta), 1);

    let response = proxy.call("touch_note", json!({"note_id": "n2", "user_id": "mallory"}), true, None).await;
    let (error, text, meta) = tool_result(&response);
    assert!(error);
    assert_eq!(text, "denied by Allowly: scope_not_in_authorization (scope touch_note)");
    assert_eq!(meta["allowly.ai/decision"], json!("deny"));

    assert_eq!(env.ran_tools(), ["read_note"], "the denied call never reached the FastMCP server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_era_confirm_asks_once_runs_once_on_accept_never_on_decline_and_refuses_bad_states() {
    let Some(env) = Env::start().await else { return };
    let mut proxy = env.proxy();
    let note = json!({"note_id": "n3"});

    let (keys, state) = input_required(&proxy.call("delete_note", note.clone(), true, None).await);
    assert_eq!(keys, [CONFIRM_KEY], "one input request, the gate's");
    assert!(env.ran_tools().is_empty(), "nothing runs before the answer");

    // Tampered and moved states are refused and spend nothing.
    let mut tampered = state.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let responses = json!({CONFIRM_KEY: accept(json!({}))});
    let refused = proxy.call("delete_note", note.clone(), true, Some((responses.clone(), &tampered))).await;
    assert_eq!(error_code(&refused), -32602, "{refused}");
    let moved = proxy.call("delete_note", json!({"note_id": "other"}), true, Some((responses.clone(), &state))).await;
    assert_eq!(error_code(&moved), -32602, "{moved}");
    assert!(env.ran_tools().is_empty());

    let accepted = proxy.call("delete_note", note.clone(), true, Some((responses.clone(), &state))).await;
    let (error, text, meta) = tool_result(&accepted);
    assert!(!error, "{text}");
    assert_eq!(text, "delete_note ran for note n3");
    assert_eq!(meta["allowly.ai/reason"], json!("user_confirmed"));
    assert_eq!(receipt_count(&meta), 3, "confirm, the user's approval, the re-check");
    env.verify_receipts(&meta).await;

    let replayed = proxy.call("delete_note", note.clone(), true, Some((responses, &state))).await;
    assert_eq!(error_code(&replayed), -32602, "{replayed}");
    assert_eq!(env.ran_tools(), ["delete_note"], "the accepted retry ran exactly once");

    let (_, state) = input_required(&proxy.call("delete_note", json!({"note_id": "n4"}), true, None).await);
    let declined = proxy
        .call("delete_note", json!({"note_id": "n4"}), true, Some((json!({CONFIRM_KEY: decline()}), &state)))
        .await;
    let (error, text, _) = tool_result(&declined);
    assert!(error);
    assert!(text.contains("user_rejected"), "{text}");
    assert_eq!(env.ran_tools(), ["delete_note"], "the declined call never ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_era_client_without_elicitation_gets_32021_and_is_never_pushed_to() {
    let Some(env) = Env::start().await else { return };
    let mut proxy = env.proxy();
    let response = proxy.call("delete_note", json!({"note_id": "n5"}), false, None).await;
    assert_eq!(error_code(&response), -32021, "{response}");
    assert_eq!(response["error"]["data"]["requiredCapabilities"]["elicitation"], json!({"form": {}}));
    assert!(proxy.asked.is_empty(), "no elicitation/create was pushed");
    assert!(env.ran_tools().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_that_asks_itself_is_wrapped_the_gate_asks_once_and_the_tool_gets_only_its_own_answers() {
    let Some(env) = Env::start().await else { return };
    let mut proxy = env.proxy();
    let note = json!({"note_id": "n6"});

    // Round 1: the gate's confirmation.
    let (keys, gate_state) = input_required(&proxy.call("archive_note", note.clone(), true, None).await);
    assert_eq!(keys, [CONFIRM_KEY]);
    // Round 2: approved; the tool asks its own question, under one opaque state of the proxy's.
    let approved = proxy
        .call("archive_note", note.clone(), true, Some((json!({CONFIRM_KEY: accept(json!({}))}), &gate_state)))
        .await;
    let (keys, wrapped) = input_required(&approved);
    assert_eq!(keys, ["archive_reason"], "the tool's question only; the gate does not ask again");
    assert_ne!(wrapped, gate_state);
    assert!(env.ran_tools().is_empty());

    // A wrapped state moved to other arguments is refused.
    let answers = json!({"archive_reason": accept(json!({"reason": "done"}))});
    let moved = proxy.call("archive_note", json!({"note_id": "n7"}), true, Some((answers.clone(), &wrapped))).await;
    assert_eq!(error_code(&moved), -32602, "{moved}");

    // Round 3: the tool gets its own state and answers back and runs, with the gate's receipts on the result.
    let done = proxy.call("archive_note", note.clone(), true, Some((answers.clone(), &wrapped))).await;
    let (error, text, meta) = tool_result(&done);
    assert!(!error, "{text}");
    assert_eq!(text, "archive_note ran for note n6: done");
    assert_eq!(meta["allowly.ai/reason"], json!("user_confirmed"));
    assert_eq!(receipt_count(&meta), 3, "one confirmation: confirm, approval, re-check");
    let ran = env.ran();
    assert_eq!(ran.len(), 1);
    assert_eq!(ran[0].0, "archive_note");
    assert_eq!(ran[0].1["state"], json!("asked:n6"), "the tool got its own requestState back");
    assert_eq!(ran[0].1["answers"], json!(["archive_reason"]), "and only its own inputResponses");

    // The wrapped state is single use: a replay neither asks nor runs.
    let replayed = proxy.call("archive_note", note, true, Some((answers, &wrapped))).await;
    assert_eq!(error_code(&replayed), -32602, "{replayed}");
    assert_eq!(env.ran_tools(), ["archive_note"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_era_clients_still_get_pushed_elicitation_and_the_named_confirmation_without_it() {
    let Some(env) = Env::start().await else { return };

    let mut plain = env.proxy();
    let init = plain.initialize(false).await;
    assert_eq!(init["result"]["serverInfo"]["name"], json!("notes-py"), "{init}");
    assert!(init["result"]["capabilities"]["tools"].is_object(), "{init}");
    let (error, text, _) = tool_result(&plain.call_legacy("read_note", json!({"note_id": "n8"})).await);
    assert!(!error, "{text}");
    let (error, text, _) = tool_result(&plain.call_legacy("delete_note", json!({"note_id": "n9"})).await);
    assert!(error);
    assert!(text.starts_with("confirmation required by Allowly: scope_requires_user_confirmation"), "{text}");
    assert!(text.contains("no elicitation support"), "{text}");

    // With elicitation: the gate's question is pushed, then the tool's own (relayed from its input_required).
    let mut asking = env.proxy();
    asking.elicit_answer = Some(accept(json!({"reason": "old era"})));
    asking.initialize(true).await;
    let (error, text, meta) = tool_result(&asking.call_legacy("delete_note", json!({"note_id": "n10"})).await);
    assert!(!error, "{text}");
    assert_eq!(meta["allowly.ai/reason"], json!("user_confirmed"));
    let (error, text, _) = tool_result(&asking.call_legacy("archive_note", json!({"note_id": "n11"})).await);
    assert!(!error, "{text}");
    assert_eq!(text, "archive_note ran for note n11: old era");
    assert_eq!(asking.asked.len(), 3, "{:?}", asking.asked);
    assert!(
        asking.asked[0].contains("`delete_note`") && asking.asked[1].contains("`archive_note`"),
        "{:?}",
        asking.asked
    );
    assert_eq!(asking.asked[2], "Why archive note n11?");

    asking.elicit_answer = Some(decline());
    let (error, text, _) = tool_result(&asking.call_legacy("delete_note", json!({"note_id": "n12"})).await);
    assert!(error && text.contains("user_rejected"), "{text}");
    assert_eq!(env.ran_tools(), ["read_note", "delete_note", "archive_note"]);
}
