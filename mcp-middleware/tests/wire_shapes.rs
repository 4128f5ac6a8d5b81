//! The JSON the step builds is what MCP clients parse: checked against rmcp 3.11's types (both eras), so the proxy and
//! the middlewares can move these values into their frameworks unchanged.

use allowly_mcp::Step;
use allowly_mcp::results::{self, ElicitAnswer, Unanswered};
use rmcp::model::{
    CallToolResult, ElicitRequestParams, ElicitResult, ElicitationAction, ErrorCode, InputRequest, InputRequiredResult,
};
use serde_json::json;

#[test]
fn an_input_required_result_parses_as_rmcp_with_one_form_elicitation() {
    let params = results::elicitation_params("delete_note", "notes.delete", Some("Delete note n1?"));
    let value = Step::input_required_result(&results::confirm_input_requests(params), "sealed-state");
    let parsed: InputRequiredResult = serde_json::from_value(value).expect("rmcp InputRequiredResult");
    assert_eq!(parsed.request_state.as_deref(), Some("sealed-state"));
    let requests = parsed.input_requests.expect("input requests");
    let Some(InputRequest::Elicitation(request)) = requests.get(results::CONFIRM_INPUT_KEY) else {
        panic!("an elicitation under {}: {requests:?}", results::CONFIRM_INPUT_KEY)
    };
    let ElicitRequestParams::FormElicitationParams { message, .. } = &request.params else { panic!("a form") };
    assert_eq!(
        message,
        "Delete note n1?\n\nAllow the agent to run the tool `delete_note` (Allowly scope notes.delete)?"
    );
}

#[test]
fn old_era_elicitation_params_parse_as_rmcp_and_its_answers_are_read_back() {
    let params = results::elicitation_params("delete_note", "delete_note", None);
    let parsed: ElicitRequestParams = serde_json::from_value(params).expect("rmcp ElicitRequestParams");
    assert!(matches!(parsed, ElicitRequestParams::FormElicitationParams { .. }));
    for (action, answer) in [
        (ElicitationAction::Accept, ElicitAnswer::Accept),
        (ElicitationAction::Decline, ElicitAnswer::Decline),
        (ElicitationAction::Cancel, ElicitAnswer::Cancel),
    ] {
        let sent = serde_json::to_value(ElicitResult::new(action)).expect("serialize");
        assert_eq!(ElicitAnswer::from_result(&sent), Some(answer), "{sent}");
    }
    assert_eq!(ElicitAnswer::from_result(&json!({"action": "maybe"})), None);
}

#[test]
fn a_refusal_parses_as_an_rmcp_error_result_with_our_meta() {
    let meta = results::allowly_meta("confirm", "scope_requires_user_confirmation", &["rcp_1".to_owned()]);
    let text = results::unanswered_text(
        "scope_requires_user_confirmation",
        Some("hint"),
        Some("cnf_1"),
        Unanswered::Unsupported,
    );
    let parsed: CallToolResult =
        serde_json::from_value(results::refused_result(text, meta)).expect("rmcp CallToolResult");
    assert_eq!(parsed.is_error, Some(true));
    let meta = parsed.meta.expect("meta");
    assert_eq!(meta.0["allowly.ai/receipt_ids"], json!(["rcp_1"]));
    assert_eq!(results::code::MISSING_REQUIRED_CLIENT_CAPABILITY, ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY.0);
    assert_eq!(results::code::INVALID_PARAMS, ErrorCode::INVALID_PARAMS.0);
}
