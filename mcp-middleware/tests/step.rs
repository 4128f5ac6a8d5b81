//! `Gate::step` against a real allowly-server: every step on both MCP eras, the sealed requestState round trip
//! (accepted once, declined never, tampered / moved / foreign / expired / replayed refused) and the rule that the
//! caller's identity never comes from tool arguments unless the server opts in.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use allowly_core::model::reason;
use allowly_mcp::results::code;
use allowly_mcp::{
    AuthorizationTable, CallContext, ClientCapabilities, ElicitAnswer, Era, Gate, GateConfig, IdentitySource,
    MAX_REQUEST_STATE_CHARS, NO_TRUSTED_IDENTITY_HELP, RequestStateConfig, RequestStateKey, Retry, Step, StepInput,
    TransportAuth,
};
use common::{Server, authorize};
use serde_json::{Map, Value, json};

const ERAS: [Era; 2] = [Era::Legacy2025_11_25, Era::Current2026_07_28];
const ELICITS: ClientCapabilities = ClientCapabilities { elicitation: true };

fn args(value: Value) -> Map<String, Value> {
    value.as_object().expect("object").clone()
}

fn accept() -> Value {
    json!({"allowly_confirmation": {"action": "accept", "content": {}}})
}

fn decline() -> Value {
    json!({"allowly_confirmation": {"action": "decline"}})
}

/// Alice may read notes and delete them with confirmation; Mallory may only touch notes. The gate finds the
/// authorization by identity.
async fn gate_for(server: &Server, config: impl FnOnce(GateConfig) -> GateConfig) -> Gate {
    let client = server.client();
    let alice = authorize(&client, "alice", &["read_note", "delete_note"], &["delete_note"]).await;
    let mallory = authorize(&client, "mallory", &["touch_note"], &[]).await;
    let table = AuthorizationTable(HashMap::from([("alice".to_owned(), alice), ("mallory".to_owned(), mallory)]));
    Gate::new(client, config(GateConfig::new(table)))
}

fn as_alice(call: CallContext<'_>, era: Era) -> StepInput<'_> {
    StepInput {
        auth: TransportAuth { principal: Some("alice"), ..Default::default() },
        capabilities: ELICITS,
        ..StepInput::new(call, era)
    }
}

fn refusal_text(step: &Step) -> &str {
    let Step::Refuse { result } = step else { panic!("expected a refusal, got {step:?}") };
    assert_eq!(result["isError"], json!(true), "{result}");
    result["content"][0]["text"].as_str().expect("text")
}

fn meta_reason(step: &Step) -> String {
    match step {
        Step::Refuse { result } => result["_meta"]["allowly.ai/reason"].as_str().expect("reason").to_owned(),
        Step::Run { meta, .. } => meta["allowly.ai/reason"].as_str().expect("reason").to_owned(),
        other => panic!("no meta on {other:?}"),
    }
}

fn invalid_params(step: &Step) -> &str {
    match step {
        Step::ProtocolError { code: c, message, .. } if *c == code::INVALID_PARAMS => message,
        other => panic!("expected -32602, got {other:?}"),
    }
}

/// The first step of a confirm-gated call on 2026-07-28: the input requests and the sealed state.
async fn input_required(gate: &Gate, call: CallContext<'_>) -> String {
    match gate.step(as_alice(call, Era::Current2026_07_28)).await {
        Step::InputRequired { input_requests, request_state } => {
            let request = &input_requests["allowly_confirmation"];
            assert_eq!(request["method"], json!("elicitation/create"), "{input_requests}");
            assert_eq!(request["params"]["mode"], json!("form"));
            assert!(request["params"]["message"].as_str().unwrap().contains("`delete_note`"));
            // Bounded base64url text.
            assert!(request_state.len() <= MAX_REQUEST_STATE_CHARS, "{}", request_state.len());
            assert!(request_state.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            request_state
        }
        other => panic!("expected input_required, got {other:?}"),
    }
}

async fn retry(gate: &Gate, call: CallContext<'_>, state: &str, responses: &Value) -> Step {
    let input = StepInput {
        retry: Some(Retry { input_responses: Some(responses), request_state: state }),
        ..as_alice(call, Era::Current2026_07_28)
    };
    gate.step(input).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn granted_tools_run_and_ungranted_ones_are_refused_on_both_eras() {
    let server = Server::start().await;
    let gate = gate_for(&server, |c| c).await;
    for era in ERAS {
        match gate.step(as_alice(CallContext::new("read_note"), era)).await {
            Step::Run { receipts, meta } => {
                assert_eq!(receipts.len(), 1);
                assert_eq!(meta["allowly.ai/decision"], json!("allow"));
                assert_eq!(meta["allowly.ai/receipt_ids"], json!(receipts));
            }
            other => panic!("read_note runs, got {other:?}"),
        }
        let touch = gate.step(as_alice(CallContext::new("touch_note"), era)).await;
        assert_eq!(refusal_text(&touch), "denied by Allowly: scope_not_in_authorization (scope touch_note)");
        let Step::Refuse { result } = &touch else { unreachable!() };
        assert_eq!(result["_meta"]["allowly.ai/decision"], json!("deny"));
        assert_eq!(result["_meta"]["allowly.ai/receipt_ids"].as_array().map(Vec::len), Some(1));
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_retry_runs_once_and_its_state_cannot_be_replayed() {
    let server = Server::start().await;
    let gate = gate_for(&server, |c| c).await;
    let arguments = args(json!({"note": "n1", "weight": 0.5}));
    let call = CallContext { arguments: Some(&arguments), ..CallContext::new("delete_note") };

    let state = input_required(&gate, call).await;
    let mut runs = 0;
    match retry(&gate, call, &state, &accept()).await {
        Step::Run { receipts, meta } => {
            runs += 1;
            // The confirm check, the recorded answer and the re-check.
            assert_eq!(receipts.len(), 3, "{receipts:?}");
            assert_eq!(meta["allowly.ai/reason"], json!(reason::USER_CONFIRMED));
        }
        other => panic!("accepted retry runs, got {other:?}"),
    }
    // The same state again: the nonce has been resolved, so the replay is refused and nothing runs.
    let replay = retry(&gate, call, &state, &accept()).await;
    assert!(invalid_params(&replay).contains("already used"), "{replay:?}");
    assert_eq!(runs, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_retries_racing_with_one_state_run_the_tool_once() {
    let server = Server::start().await;
    let gate = gate_for(&server, |c| c).await;
    let call = CallContext::new("delete_note");
    let state = input_required(&gate, call).await;
    let responses = accept();
    let (first, second) = tokio::join!(retry(&gate, call, &state, &responses), retry(&gate, call, &state, &responses));
    let runs = [&first, &second].iter().filter(|step| matches!(step, Step::Run { .. })).count();
    assert_eq!(runs, 1, "{first:?} / {second:?}");
    let loser = if matches!(first, Step::Run { .. }) { &second } else { &first };
    invalid_params(loser);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_retry_never_runs_and_cannot_be_turned_into_an_accept() {
    let server = Server::start().await;
    let gate = gate_for(&server, |c| c).await;
    let call = CallContext::new("delete_note");
    let state = input_required(&gate, call).await;
    let declined = retry(&gate, call, &state, &decline()).await;
    assert_eq!(refusal_text(&declined), "denied by Allowly: user_rejected (scope delete_note)");
    invalid_params(&retry(&gate, call, &state, &accept()).await);

    // A dismissed question records nothing: the same state can still be answered.
    let state = input_required(&gate, call).await;
    let cancelled = retry(&gate, call, &state, &json!({"allowly_confirmation": {"action": "cancel"}})).await;
    assert!(refusal_text(&cancelled).ends_with("; the user dismissed the question"), "{cancelled:?}");
    assert!(matches!(retry(&gate, call, &state, &accept()).await, Step::Run { .. }));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_moved_foreign_and_unanswered_states_are_refused_and_leave_the_confirmation_usable() {
    let server = Server::start().await;
    let gate = gate_for(&server, |c| c).await;
    let arguments = args(json!({"note": "n1"}));
    let call = CallContext { arguments: Some(&arguments), ..CallContext::new("delete_note") };
    let state = input_required(&gate, call).await;

    let mut tampered = state.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert!(invalid_params(&retry(&gate, call, &tampered, &accept()).await).contains("altered"));
    invalid_params(&retry(&gate, call, "not a state", &accept()).await);

    // Moved: the same state on other arguments, another tool, another caller.
    let other_arguments = args(json!({"note": "n2"}));
    let moved = CallContext { arguments: Some(&other_arguments), ..call };
    assert!(invalid_params(&retry(&gate, moved, &state, &accept()).await).contains("another tool call"));
    let other_tool = CallContext { tool_name: "read_note", ..call };
    invalid_params(&retry(&gate, other_tool, &state, &accept()).await);
    let as_mallory = StepInput {
        auth: TransportAuth { principal: Some("mallory"), ..Default::default() },
        retry: Some(Retry { input_responses: Some(&accept()), request_state: &state }),
        ..as_alice(call, Era::Current2026_07_28)
    };
    invalid_params(&gate.step(as_mallory).await);

    // Foreign: another gate (its own random key), and a gate with the same key for another audience.
    let key = RequestStateKey::generate();
    let keyed =
        |audience: &str| RequestStateConfig { key: Some(key.clone()), audience: audience.into(), ..Default::default() };
    let other_gate = gate_for(&server, |c| c).await;
    invalid_params(&retry(&other_gate, call, &state, &accept()).await);
    let gate_a = gate_for(&server, |c| c.with_request_state(keyed("gate-a"))).await;
    let gate_b = gate_for(&server, |c| c.with_request_state(keyed("gate-b"))).await;
    let state_a = input_required(&gate_a, call).await;
    assert!(invalid_params(&retry(&gate_b, call, &state_a, &accept()).await).contains("not issued"));

    // No answer to our input request.
    invalid_params(&retry(&gate, call, &state, &json!({"something_else": {"action": "accept"}})).await);
    let no_responses = StepInput {
        retry: Some(Retry { input_responses: None, request_state: &state }),
        ..as_alice(call, Era::Current2026_07_28)
    };
    invalid_params(&gate.step(no_responses).await);

    // None of those consumed the confirmation: the genuine retry still runs; and another gate instance configured
    // with the same key and audience (and so the same authorizations) opens a state minted by the first.
    assert!(matches!(retry(&gate, call, &state, &accept()).await, Step::Run { .. }));
    let gate_a2 = Gate::new(gate_a.client().clone(), gate_a.config().clone());
    assert!(matches!(retry(&gate_a2, call, &state_a, &accept()).await, Step::Run { .. }));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_past_its_expiry_is_refused() {
    let server = Server::start().await;
    // A zero lifetime: the state expires the second it is minted.
    let expired_config = RequestStateConfig { ttl: Duration::ZERO, ..Default::default() };
    let gate = gate_for(&server, |c| c.with_request_state(expired_config)).await;
    let call = CallContext::new("delete_note");
    let state = input_required(&gate, call).await;
    assert!(invalid_params(&retry(&gate, call, &state, &accept()).await).contains("expired"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_cannot_be_asked_gets_minus_32021_on_the_new_era_and_an_error_result_on_the_old() {
    let server = Server::start().await;
    let gate = gate_for(&server, |c| c).await;
    let call = CallContext::new("delete_note");
    let silent = |era| StepInput { capabilities: ClientCapabilities::default(), ..as_alice(call, era) };

    match gate.step(silent(Era::Current2026_07_28)).await {
        Step::ProtocolError { code: c, data, .. } => {
            assert_eq!(c, -32021);
            assert_eq!(data, Some(json!({"requiredCapabilities": {"elicitation": {"form": {}}}})));
        }
        other => panic!("expected -32021, got {other:?}"),
    }
    let old = gate.step(silent(Era::Legacy2025_11_25)).await;
    let text = refusal_text(&old);
    assert!(text.starts_with("confirmation required by Allowly: scope_requires_user_confirmation"), "{text}");
    assert!(text.contains("(confirmation ") && text.ends_with("(no elicitation support)"), "{text}");
    assert_eq!(meta_reason(&old), reason::SCOPE_REQUIRES_USER_CONFIRMATION);

    // A requestState on the old era is not part of that protocol.
    let stray = StepInput {
        retry: Some(Retry { input_responses: Some(&accept()), request_state: "x" }),
        ..as_alice(call, Era::Legacy2025_11_25)
    };
    invalid_params(&gate.step(stray).await);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_era_pushes_an_elicitation_and_the_answer_decides() {
    let server = Server::start().await;
    let gate = gate_for(&server, |c| c).await;
    let call = CallContext::new("delete_note");
    let elicit = || async { gate.step(as_alice(call, Era::Legacy2025_11_25)).await };

    let Step::Elicit { params, pending } = elicit().await else { panic!("elicit") };
    assert_eq!(params["requestedSchema"], json!({"type": "object", "properties": {}}));
    assert!(!format!("{pending:?}").contains("nonce"), "{pending:?}");
    let accepted = gate.answer_elicitation(pending, ElicitAnswer::Accept).await;
    assert!(matches!(&accepted, Step::Run { receipts, .. } if receipts.len() == 3), "{accepted:?}");

    let Step::Elicit { pending, .. } = elicit().await else { panic!("elicit") };
    let declined = gate.answer_elicitation(pending, ElicitAnswer::Decline).await;
    assert_eq!(meta_reason(&declined), reason::USER_REJECTED);

    let Step::Elicit { pending, .. } = elicit().await else { panic!("elicit") };
    let failed = gate.answer_elicitation(pending, ElicitAnswer::Failed).await;
    assert!(refusal_text(&failed).ends_with("; asking the user failed"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_id_argument_never_changes_whose_authorization_is_used_unless_opted_in() {
    let server = Server::start().await;
    let posing = args(json!({"user_id": "mallory"}));
    let call = CallContext { arguments: Some(&posing), ..CallContext::new("touch_note") };

    // Transport identity alice: Mallory's grant of touch_note is not hers, whatever the arguments say.
    let gate = gate_for(&server, |c| c).await;
    for era in ERAS {
        let step = gate.step(as_alice(call, era)).await;
        assert_eq!(meta_reason(&step), reason::SCOPE_NOT_IN_AUTHORIZATION, "{step:?}");
        // No transport identity: refused with how to provide one, never a fallback to the arguments.
        let anonymous = StepInput { auth: TransportAuth::default(), ..as_alice(call, era) };
        let step = gate.step(anonymous).await;
        assert_eq!(refusal_text(&step), NO_TRUSTED_IDENTITY_HELP);
        assert_eq!(meta_reason(&step), "no_trusted_identity");
    }
    // The `call.identity` field is not an identity source for the step either.
    let smuggled = StepInput::new(CallContext { identity: Some("mallory"), ..call }, Era::Current2026_07_28);
    assert_eq!(refusal_text(&gate.step(smuggled).await), NO_TRUSTED_IDENTITY_HELP);

    // A server-side callback maps the transport's session to the user.
    let by_session = gate_for(&server, |c| {
        c.with_identity(IdentitySource::callback(|auth| (auth.session_id == Some("s-m")).then(|| "mallory".into())))
    })
    .await;
    let session = StepInput {
        auth: TransportAuth { session_id: Some("s-m"), ..Default::default() },
        ..StepInput::new(call, Era::Current2026_07_28)
    };
    assert!(matches!(by_session.step(session).await, Step::Run { .. }));

    // Opted in (single-user servers): the argument is the identity.
    let opted_in = gate_for(&server, |c| c.with_identity(IdentitySource::identity_from_arguments("user_id"))).await;
    let step = opted_in.step(StepInput::new(call, Era::Current2026_07_28)).await;
    assert!(matches!(step, Step::Run { .. }), "{step:?}");
    server.stop().await;
}

#[test]
fn eras_and_capabilities_are_read_from_the_request() {
    assert_eq!(Era::of_protocol_version("2025-11-25"), Era::Legacy2025_11_25);
    assert_eq!(Era::of_protocol_version("2025-06-18"), Era::Legacy2025_11_25);
    assert_eq!(Era::of_protocol_version("2026-07-28"), Era::Current2026_07_28);
    assert_eq!(Era::of_protocol_version("2027-01-01"), Era::Current2026_07_28);
    assert_eq!(Era::of_protocol_version("draft"), Era::Legacy2025_11_25);
    let meta = |caps: Value| args(json!({"io.modelcontextprotocol/clientCapabilities": caps}));
    assert!(ClientCapabilities::from_request_meta(Some(&meta(json!({"elicitation": {}})))).elicitation);
    assert!(ClientCapabilities::from_request_meta(Some(&meta(json!({"elicitation": {"form": {}}})))).elicitation);
    assert!(!ClientCapabilities::from_request_meta(Some(&meta(json!({"elicitation": {"url": {}}})))).elicitation);
    assert!(!ClientCapabilities::from_request_meta(Some(&meta(json!({"sampling": {}})))).elicitation);
    assert!(!ClientCapabilities::from_request_meta(None).elicitation);
}
