//! `Gate::wrap_upstream_state` / `Gate::open_upstream_state` against a real allowly-server: a proxy's wrap of the
//! state of the MCP server behind it opens once, for the same call only, and never as one of the gate's own states.

mod common;

use std::collections::HashMap;

use allowly_mcp::results::code;
use allowly_mcp::{
    AuthorizationTable, CallContext, ClientCapabilities, Era, Gate, GateConfig, RequestStateConfig, RequestStateKey,
    Retry, Step, StepInput, TransportAuth, UpstreamResume,
};
use common::{Server, authorize};
use serde_json::{Map, Value, json};

async fn gate_for(server: &Server, key: Option<RequestStateKey>) -> Gate {
    let client = server.client();
    let alice = authorize(&client, "alice", &["read_note", "delete_note"], &["delete_note"]).await;
    let bob = authorize(&client, "bob", &["read_note"], &[]).await;
    let table = AuthorizationTable(HashMap::from([("alice".to_owned(), alice), ("bob".to_owned(), bob)]));
    let state = RequestStateConfig { key, ..RequestStateConfig::default() };
    Gate::new(client, GateConfig::new(table).with_request_state(state))
}

fn input<'a>(who: &'a str, tool: &'a str, arguments: &'a Map<String, Value>) -> StepInput<'a> {
    let call = CallContext { arguments: Some(arguments), ..CallContext::new(tool) };
    StepInput {
        auth: TransportAuth { principal: Some(who), ..Default::default() },
        capabilities: ClientCapabilities { elicitation: true },
        ..StepInput::new(call, Era::Current2026_07_28)
    }
}

fn retried<'a>(input: StepInput<'a>, state: &'a str, responses: &'a Value) -> StepInput<'a> {
    StepInput { retry: Some(Retry { input_responses: Some(responses), request_state: state }), ..input }
}

fn invalid_params(resume: UpstreamResume) -> String {
    match resume {
        UpstreamResume::Refuse(Step::ProtocolError { code: c, message, .. }) if c == code::INVALID_PARAMS => message,
        other => panic!("expected -32602, got {other:?}"),
    }
}

/// The gate lets alice's read_note run; the upstream server then asked for input with `upstream`.
async fn wrapped(gate: &Gate, arguments: &Map<String, Value>, upstream: &str) -> (String, Map<String, Value>) {
    let first = input("alice", "read_note", arguments);
    let Step::Run { meta, .. } = gate.step(first).await else { panic!("read_note runs") };
    let state = gate.wrap_upstream_state(&first, Some(upstream), &meta).expect("wrapped");
    assert!(!state.contains(upstream), "the upstream state is sealed, not carried in clear");
    (state, meta)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrapped_state_resumes_the_same_call_once_with_the_upstream_state_and_the_gate_meta() {
    let server = Server::start().await;
    let gate = gate_for(&server, None).await;
    let arguments = json!({"note_id": "n1"}).as_object().unwrap().clone();
    let responses = json!({
        "upstream_question": {"action": "accept", "content": {"sure": true}},
        "allowly_confirmation": {"action": "accept", "content": {}},
    });
    let (state, meta) = wrapped(&gate, &arguments, "upstream-state-123").await;

    // On 2025-11-25 no wrapped state is read at all (the step refuses any requestState there).
    let legacy = StepInput {
        era: Era::Legacy2025_11_25,
        ..retried(input("alice", "read_note", &arguments), &state, &responses)
    };
    assert!(matches!(gate.open_upstream_state(&legacy), UpstreamResume::NotWrapped));

    match gate.open_upstream_state(&retried(input("alice", "read_note", &arguments), &state, &responses)) {
        UpstreamResume::Resume { request_state, input_responses, meta: resumed } => {
            assert_eq!(request_state.as_deref(), Some("upstream-state-123"));
            // The upstream server gets its own answers only, never one to the gate's question.
            assert_eq!(input_responses, Some(json!({"upstream_question": responses["upstream_question"]})));
            assert_eq!(resumed, meta);
            assert_eq!(resumed["allowly.ai/decision"], json!("allow"));
        }
        other => panic!("expected a resume, got {other:?}"),
    }
    let replay = gate.open_upstream_state(&retried(input("alice", "read_note", &arguments), &state, &responses));
    assert_eq!(invalid_params(replay), "requestState was already used");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrapped_state_moved_tampered_or_foreign_is_refused() {
    let server = Server::start().await;
    let gate = gate_for(&server, None).await;
    let arguments = json!({"note_id": "n1"}).as_object().unwrap().clone();
    let others = json!({"note_id": "n2"}).as_object().unwrap().clone();
    let responses = json!({});
    let (state, _) = wrapped(&gate, &arguments, "child-state-of-the-upstream").await;

    for (who, tool, args) in
        [("alice", "read_note", &others), ("bob", "read_note", &arguments), ("alice", "delete_note", &arguments)]
    {
        let moved = gate.open_upstream_state(&retried(input(who, tool, args), &state, &responses));
        assert_eq!(invalid_params(moved), "requestState belongs to another tool call", "{who} {tool}");
    }
    // One character changed in the middle of the ciphertext.
    let mut tampered = state.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let refused = gate.open_upstream_state(&retried(input("alice", "read_note", &arguments), &tampered, &responses));
    assert!(invalid_params(refused).contains("altered"));

    let other_gate = gate_for(&server, Some(RequestStateKey::generate())).await;
    let foreign = other_gate.open_upstream_state(&retried(input("alice", "read_note", &arguments), &state, &responses));
    assert!(invalid_params(foreign).contains("not issued by this server"));

    // The refusals above spent nothing: the state still resumes once.
    let resumed = gate.open_upstream_state(&retried(input("alice", "read_note", &arguments), &state, &responses));
    assert!(matches!(resumed, UpstreamResume::Resume { .. }), "{resumed:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_own_states_and_wrapped_ones_never_stand_in_for_each_other() {
    let server = Server::start().await;
    let gate = gate_for(&server, None).await;
    let arguments = json!({"note_id": "n1"}).as_object().unwrap().clone();
    let responses = json!({"allowly_confirmation": {"action": "accept", "content": {}}});

    // No retry, garbage, and a confirmation state of the gate are the step's to answer.
    assert!(matches!(gate.open_upstream_state(&input("alice", "delete_note", &arguments)), UpstreamResume::NotWrapped));
    let garbage = retried(input("alice", "delete_note", &arguments), "x", &responses);
    assert!(matches!(gate.open_upstream_state(&garbage), UpstreamResume::NotWrapped));
    let Step::InputRequired { request_state, .. } = gate.step(input("alice", "delete_note", &arguments)).await else {
        panic!("delete_note asks for confirmation")
    };
    let own = retried(input("alice", "delete_note", &arguments), &request_state, &responses);
    assert!(matches!(gate.open_upstream_state(&own), UpstreamResume::NotWrapped));

    // A wrapped state given to the step instead is not a confirmation state.
    let (wrapped_state, _) = wrapped(&gate, &arguments, "child-state-of-the-upstream").await;
    match gate.step(retried(input("alice", "read_note", &arguments), &wrapped_state, &responses)).await {
        Step::ProtocolError { code: c, .. } => assert_eq!(c, code::INVALID_PARAMS),
        other => panic!("expected -32602, got {other:?}"),
    }
    server.stop().await;
}

/// A front that builds a gate per call (`Gate::with_config`) opens at the retry's gate what the first call's gate
/// wrapped, and a state spent at one per-call gate is spent at every other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_call_gates_of_one_gate_share_its_key_and_spent_states() {
    let server = Server::start().await;
    let gate = gate_for(&server, None).await;
    let arguments = json!({"note_id": "n1"}).as_object().unwrap().clone();
    let responses = json!({});
    let first_call = gate.with_config(gate.config().clone());
    let (state, _) = wrapped(&first_call, &arguments, "upstream-state-9").await;

    let retry_call = gate.with_config(gate.config().clone());
    let retry = retried(input("alice", "read_note", &arguments), &state, &responses);
    assert!(matches!(retry_call.open_upstream_state(&retry), UpstreamResume::Resume { .. }));
    let another_call = gate.with_config(gate.config().clone());
    assert_eq!(invalid_params(another_call.open_upstream_state(&retry)), "requestState was already used");

    // A separate gate (its own random key) cannot open it at all.
    let stranger = gate_for(&server, None).await;
    let (fresh, _) = wrapped(&first_call, &arguments, "upstream-state-10").await;
    let foreign = retried(input("alice", "read_note", &arguments), &fresh, &responses);
    assert!(matches!(stranger.open_upstream_state(&foreign), UpstreamResume::Refuse(_)));
    server.stop().await;
}
