//! Every text and JSON shape a gated tool call answers with, built once here so the proxy and the Python, Node and
//! Kotlin middlewares answer the same words: they only move these values into their framework's types.

use serde_json::{Map, Value, json};

/// The key of the gate's input request in a 2026-07-28 `inputRequests` / `inputResponses` map.
pub const CONFIRM_INPUT_KEY: &str = "allowly_confirmation";
/// `_meta` reason of a call refused because no trusted identity was found.
pub const NO_TRUSTED_IDENTITY: &str = "no_trusted_identity";

/// JSON-RPC error codes the step answers with.
pub mod code {
    /// The request needs a client capability it did not declare (2026-07-28: elicitation).
    pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i32 = -32021;
    /// Invalid params: a malformed, foreign, tampered, moved, replayed or expired `requestState`.
    pub const INVALID_PARAMS: i32 = -32602;
}

/// Why a confirmation could not be answered through elicitation (nothing was recorded; it stays pending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unanswered {
    /// The client declared no elicitation capability.
    Unsupported,
    /// The user cancelled or dismissed the question.
    Dismissed,
    /// Pushing the question to the client failed.
    Failed,
}

impl Unanswered {
    pub fn text(self) -> &'static str {
        match self {
            Unanswered::Unsupported => "this MCP client cannot ask the user (no elicitation support)",
            Unanswered::Dismissed => "the user dismissed the question",
            Unanswered::Failed => "asking the user failed",
        }
    }
}

/// The `_meta` keys every gated result carries; receipt ids are not secrets.
pub fn allowly_meta(decision: &str, reason: &str, receipt_ids: &[String]) -> Map<String, Value> {
    let mut meta = Map::new();
    meta.insert("allowly.ai/decision".into(), json!(decision));
    meta.insert("allowly.ai/reason".into(), json!(reason));
    meta.insert("allowly.ai/receipt_ids".into(), json!(receipt_ids));
    meta
}

/// A complete `isError` CallToolResult: the model reads `text`, the tool did not run.
pub fn refused_result(text: String, meta: Map<String, Value>) -> Value {
    json!({"content": [{"type": "text", "text": text}], "isError": true, "_meta": meta})
}

pub fn deny_text(reason: &str, scope: &str) -> String {
    format!("denied by Allowly: {reason} (scope {scope})")
}

/// A confirmation the user could not be asked: the model is told what to ask and why it was not asked here.
pub fn unanswered_text(
    reason: &str,
    prompt_hint: Option<&str>,
    confirmation_id: Option<&str>,
    why: Unanswered,
) -> String {
    let mut text = format!("confirmation required by Allowly: {reason}");
    if let Some(hint) = prompt_hint {
        text.push_str(&format!(" — ask the user: {hint}"));
    }
    if let Some(id) = confirmation_id {
        text.push_str(&format!(" (confirmation {id})"));
    }
    text.push_str(&format!("; {}", why.text()));
    text
}

/// The re-check after an answer asked for confirmation again.
pub fn still_pending_text(reason: &str) -> String {
    format!("denied by Allowly: {reason} still pending")
}

/// What the user is asked.
pub fn elicitation_message(tool: &str, scope: &str, prompt_hint: Option<&str>) -> String {
    let message = format!("Allow the agent to run the tool `{tool}` (Allowly scope {scope})?");
    match prompt_hint {
        Some(hint) => format!("{hint}\n\n{message}"),
        None => message,
    }
}

/// `elicitation/create` params: a form with no fields, so accept / decline is the answer.
pub fn elicitation_params(tool: &str, scope: &str, prompt_hint: Option<&str>) -> Value {
    json!({
        "mode": "form",
        "message": elicitation_message(tool, scope, prompt_hint),
        "requestedSchema": {"type": "object", "properties": {}},
    })
}

/// The 2026-07-28 `inputRequests` map of a confirmation.
pub fn confirm_input_requests(params: Value) -> Value {
    json!({CONFIRM_INPUT_KEY: {"method": "elicitation/create", "params": params}})
}

/// The user's answer to an elicitation, read from an `ElicitResult` (`{"action": …}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElicitAnswer {
    Accept,
    Decline,
    Cancel,
    /// The push itself failed (old era: the client errored or went away).
    Failed,
}

impl ElicitAnswer {
    /// `None` when `result` is not an ElicitResult.
    pub fn from_result(result: &Value) -> Option<ElicitAnswer> {
        match result.get("action")?.as_str()? {
            "accept" => Some(ElicitAnswer::Accept),
            "decline" => Some(ElicitAnswer::Decline),
            "cancel" => Some(ElicitAnswer::Cancel),
            _ => None,
        }
    }
}
