//! The two routes the proxy looks into: `tools/call` goes through the gate, `tools/list` feeds it annotations and
//! can hide what the authorization does not grant.
//!
//! A call the gate does not allow is answered here with an `isError` tool result, so the model reads why (the reason
//! code) and the child never sees the call. Every result the proxy answers carries the receipts of its decisions in
//! `_meta` (`allowly.ai/receipt_ids`), so a client can fetch and verify them; receipt ids are not secrets, the nonce
//! never leaves this file.

use std::collections::{BTreeMap, HashSet};

use allowly_core::model::ReceiptEnvelope;
use allowly_mcp::{CallContext, ConfirmNonce, Gate, Outcome};
use rmcp::ErrorData;
use rmcp::model::{
    CallToolRequest, CallToolResult, ClientRequest, ContentBlock, ElicitRequestParams, ElicitationAction,
    ElicitationSchema, MetaObject, ServerResult,
};
use rmcp::service::{ElicitationMode, RequestContext, RoleServer};
use serde_json::{Value, json};

use super::proxy::{Proxy, lock};

/// What the user was asked and answered, when a confirm was resolved through elicitation.
enum Asked {
    Answered(Outcome),
    /// The client cannot ask the user (no elicitation capability) or the user dismissed the question: nothing was
    /// recorded, the confirmation stays pending.
    NotAnswered(&'static str),
}

impl Proxy {
    pub(super) async fn call_tool(
        &self,
        request: CallToolRequest,
        context: &RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        let gate = self.gate()?;
        let tool = request.params.name.to_string();
        let annotations = lock(&self.0.tools).get(&tool).cloned().flatten();
        let call = CallContext {
            arguments: request.params.arguments.as_ref(),
            annotations: annotations.as_ref(),
            ..CallContext::new(&tool)
        };
        let mut receipts = Vec::new();
        let mut outcome = gate.on_tool_call(&call).await;
        receipts.extend(outcome.receipt().map(receipt_id));

        if let Outcome::Confirm { nonce, prompt_hint, confirmation_id, scope, .. } = &outcome {
            match ask_user(gate, &call, scope, prompt_hint.as_deref(), nonce, context, &mut receipts).await {
                Asked::Answered(recheck) => outcome = recheck,
                Asked::NotAnswered(why) => {
                    let mut text = format!("confirmation required by Allowly: {}", outcome.reason());
                    if let Some(hint) = prompt_hint {
                        text.push_str(&format!(" — ask the user: {hint}"));
                    }
                    if let Some(id) = confirmation_id {
                        text.push_str(&format!(" (confirmation {id})"));
                    }
                    text.push_str(&format!("; {why}"));
                    return Ok(refused(text, &outcome, &receipts));
                }
            }
        }

        match &outcome {
            Outcome::Allow { .. } => {
                let result = self.forward(ClientRequest::CallToolRequest(request), context).await?;
                Ok(annotate(result, &outcome, &receipts))
            }
            Outcome::Deny { reason, scope, .. } => {
                Ok(refused(format!("denied by Allowly: {reason} (scope {scope})"), &outcome, &receipts))
            }
            Outcome::Confirm { .. } => {
                Ok(refused(format!("denied by Allowly: {} still pending", outcome.reason()), &outcome, &receipts))
            }
        }
    }
}

/// Asks the user through `elicitation/create`, records the answer and re-checks.
async fn ask_user(
    gate: &Gate,
    call: &CallContext<'_>,
    scope: &str,
    prompt_hint: Option<&str>,
    nonce: &ConfirmNonce,
    context: &RequestContext<RoleServer>,
    receipts: &mut Vec<String>,
) -> Asked {
    if !context.peer.supported_elicitation_modes().contains(&ElicitationMode::Form) {
        return Asked::NotAnswered("this MCP client cannot ask the user (no elicitation support)");
    }
    let mut message = format!("Allow the agent to run the tool `{}` (Allowly scope {scope})?", call.tool_name);
    if let Some(hint) = prompt_hint {
        message = format!("{hint}\n\n{message}");
    }
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message,
        requested_schema: ElicitationSchema::new(BTreeMap::new()),
    };
    let approved = match context.peer.create_elicitation(params).await {
        Ok(answer) => match answer.action {
            ElicitationAction::Accept => true,
            ElicitationAction::Decline => false,
            _ => return Asked::NotAnswered("the user dismissed the question"),
        },
        Err(error) => {
            eprintln!("allowly mcp proxy: asking the user failed: {error}");
            return Asked::NotAnswered("asking the user failed");
        }
    };
    let resolved = gate.resolve_confirmation(call, nonce, approved).await;
    receipts.extend(resolved.resolution_receipt.as_ref().map(receipt_id));
    receipts.extend(resolved.outcome.receipt().map(receipt_id));
    Asked::Answered(resolved.outcome)
}

impl Proxy {
    /// Forwards `tools/list`, remembers annotations and, with `--hide-ungranted`, drops tools whose scope the
    /// authorization does not grant (calls to them are denied either way; hiding only spares the model the attempt).
    pub(super) async fn list_tools(
        &self,
        request: ClientRequest,
        context: &RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        let mut result = self.forward(request, context).await?;
        if let ServerResult::ListToolsResult(list) = &mut result {
            self.remember_tools(&list.tools);
            if self.0.options.hide_ungranted {
                let granted = self.granted_scopes().await;
                let gate = self.gate()?;
                list.tools.retain(|tool| granted.contains(&gate.scope_for(&tool.name)));
            }
        }
        Ok(result)
    }

    /// The authorization's scopes; none when it cannot be read, so an outage hides tools rather than showing them.
    async fn granted_scopes(&self) -> HashSet<String> {
        let options = &self.0.options;
        match options.client.get_authorization(&options.authorization_id).await {
            Ok(authorization) => authorization.scope_names().map(str::to_owned).collect(),
            Err(error) => {
                eprintln!("allowly mcp proxy: could not read the authorization to filter tools: {error}");
                HashSet::new()
            }
        }
    }
}

fn receipt_id(receipt: &ReceiptEnvelope) -> String {
    receipt.receipt_id().to_owned()
}

fn allowly_meta(outcome: &Outcome, receipts: &[String]) -> serde_json::Map<String, Value> {
    let mut meta = serde_json::Map::new();
    meta.insert("allowly.ai/decision".into(), json!(outcome.decision().as_str()));
    meta.insert("allowly.ai/reason".into(), json!(outcome.reason()));
    meta.insert("allowly.ai/receipt_ids".into(), json!(receipts));
    meta
}

/// An error result the model can read; the tool did not run.
fn refused(text: String, outcome: &Outcome, receipts: &[String]) -> ServerResult {
    let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
    result.meta = Some(MetaObject(allowly_meta(outcome, receipts)));
    ServerResult::CallToolResult(result)
}

/// The child's result, unchanged except for our keys added to its `_meta`.
fn annotate(mut result: ServerResult, outcome: &Outcome, receipts: &[String]) -> ServerResult {
    if let ServerResult::CallToolResult(call) = &mut result {
        let meta = call.meta.get_or_insert_with(|| MetaObject(serde_json::Map::new()));
        meta.0.extend(allowly_meta(outcome, receipts));
    }
    result
}
