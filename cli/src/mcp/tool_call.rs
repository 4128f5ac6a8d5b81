//! The two routes the proxy looks into: `tools/call` goes through the gate's step, `tools/list` feeds it
//! annotations and can hide what the authorization does not grant.
//!
//! Every decision, text and result shape is allowly-mcp's (`Gate::step`); this file only moves values between rmcp's
//! types and the step: the era and capabilities of the request in, the step's answer out (the child's result with the
//! gate's `_meta` added, an `isError` result, a pushed elicitation, an `input_required` result, a JSON-RPC error).
//!
//! The child's own input requests are kept apart from the gate's. When the child answers a 2026-07-28 call with
//! `input_required`, its `requestState` is sealed inside one of the gate's (`Gate::wrap_upstream_state`), so the
//! client sees one opaque state; the retry is opened first (`Gate::open_upstream_state`) and goes to the child with
//! its own state and the client's answers, without a second decision — the call was approved in this call already,
//! and the approval was single use. A 2025-11-25 client cannot be sent an `input_required`, so the child's input
//! requests are asked of it as ordinary requests and the child is retried with the answers.

use std::collections::HashSet;

use allowly_mcp::{
    CallContext, ClientCapabilities, ElicitAnswer, Era, Retry, Step, StepInput, TransportAuth, UpstreamResume,
};
use rmcp::ErrorData;
use rmcp::model::{
    CallToolRequest, ClientRequest, ErrorCode, InputRequest, InputRequiredResult, InputResponses, MetaObject,
    ServerRequest, ServerResult,
};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Map, Value};

use super::child::service_error;
use super::proxy::{Proxy, lock};

/// Rounds of child input requests relayed to a 2025-11-25 client in one call (rmcp's client default).
const MAX_RELAYED_ROUNDS: usize = rmcp::model::DEFAULT_MRTR_MAX_ROUNDS;

impl Proxy {
    pub(super) async fn call_tool(
        &self,
        request: CallToolRequest,
        context: &RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        let gate = self.gate();
        let params = &request.params;
        let tool = params.name.to_string();
        let annotations = lock(&self.0.shared.tools).get(&tool).cloned().flatten();
        let era = super::era_of(context);
        let capabilities = match era {
            Era::Current2026_07_28 => ClientCapabilities::from_request_meta(Some(&context.meta.0.0)),
            Era::Legacy2025_11_25 => {
                let declared = context.peer.peer_info().and_then(|info| serde_json::to_value(&info.capabilities).ok());
                ClientCapabilities::from_capabilities(declared.as_ref())
            }
        };
        let responses = params.input_responses.as_ref().map(|r| Value::Object(r.clone().into_iter().collect()));
        let call = CallContext {
            arguments: params.arguments.as_ref(),
            annotations: annotations.as_ref(),
            ..CallContext::new(&tool)
        };
        let input = StepInput {
            auth: TransportAuth::default(),
            capabilities,
            retry: params
                .request_state
                .as_deref()
                .map(|request_state| Retry { input_responses: responses.as_ref(), request_state }),
            ..StepInput::new(call, era)
        };

        let mut step = match gate.open_upstream_state(&input) {
            UpstreamResume::Resume { request_state, input_responses, meta } => {
                let responses = match input_responses {
                    Some(Value::Object(responses)) => responses.into_iter().collect(),
                    _ => Default::default(),
                };
                let forwarded = to_child(&request, request_state, Some(responses));
                return self.run_on_child(forwarded, &input, meta, context).await;
            }
            UpstreamResume::Refuse(step) => step,
            UpstreamResume::NotWrapped => gate.step(input).await,
        };
        loop {
            step = match step {
                Step::Run { meta, .. } => {
                    // The client's requestState and inputResponses, if any, answered the gate: never the child's.
                    let forwarded = to_child(&request, None, None);
                    return self.run_on_child(forwarded, &input, meta, context).await;
                }
                Step::Refuse { result } => {
                    return Ok(ServerResult::CallToolResult(serde_json::from_value(result).map_err(not_mcp)?));
                }
                Step::InputRequired { input_requests, request_state } => {
                    let result = Step::input_required_result(&input_requests, &request_state);
                    return Ok(ServerResult::InputRequiredResult(serde_json::from_value(result).map_err(not_mcp)?));
                }
                Step::ProtocolError { code, message, data } => {
                    return Err(ErrorData::new(ErrorCode(code), message, data));
                }
                Step::Elicit { params, pending } => {
                    let answer =
                        match context.peer.create_elicitation(serde_json::from_value(params).map_err(not_mcp)?).await {
                            Ok(result) => serde_json::to_value(result)
                                .ok()
                                .and_then(|v| ElicitAnswer::from_result(&v))
                                .unwrap_or(ElicitAnswer::Failed),
                            Err(error) => {
                                eprintln!("allowly mcp proxy: asking the user failed: {error}");
                                ElicitAnswer::Failed
                            }
                        };
                    gate.answer_elicitation(pending, answer).await
                }
            };
        }
    }

    /// Runs the allowed call on the child and adds the gate's `meta` to its final result. The child's own
    /// `input_required` is wrapped for a 2026-07-28 client and relayed as requests to a 2025-11-25 one.
    async fn run_on_child(
        &self,
        mut request: CallToolRequest,
        input: &StepInput<'_>,
        meta: Map<String, Value>,
        context: &RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        for _ in 0..=MAX_RELAYED_ROUNDS {
            let result = self.forward(ClientRequest::CallToolRequest(request.clone()), context).await?;
            match result {
                ServerResult::CallToolResult(mut result) => {
                    result.meta.get_or_insert_with(MetaObject::default).0.extend(meta);
                    return Ok(ServerResult::CallToolResult(result));
                }
                ServerResult::InputRequiredResult(mut asked) if input.era == Era::Current2026_07_28 => {
                    let state = self.gate().wrap_upstream_state(input, asked.request_state.as_deref(), &meta);
                    let state = state.ok_or_else(|| {
                        ErrorData::internal_error("the MCP server's requestState is too large to carry", None)
                    })?;
                    asked.request_state = Some(state);
                    return Ok(ServerResult::InputRequiredResult(asked));
                }
                ServerResult::InputRequiredResult(asked) => {
                    let responses = self.ask_client(&asked, context).await?;
                    request = to_child(&request, asked.request_state, Some(responses));
                }
                other => return Ok(other),
            }
        }
        Err(ErrorData::internal_error("the MCP server kept asking for input; giving up", None))
    }

    /// A 2025-11-25 client answers the child's input requests as ordinary server requests.
    async fn ask_client(
        &self,
        asked: &InputRequiredResult,
        context: &RequestContext<RoleServer>,
    ) -> Result<InputResponses, ErrorData> {
        let mut responses = InputResponses::new();
        for (key, request) in asked.input_requests.clone().unwrap_or_default() {
            let request = match request {
                InputRequest::Elicitation(r) => ServerRequest::ElicitRequest(r),
                InputRequest::CreateMessage(r) => ServerRequest::CreateMessageRequest(r),
                InputRequest::ListRoots(r) => ServerRequest::ListRootsRequest(r),
                _ => return Err(ErrorData::internal_error("the MCP server asked for an unknown kind of input", None)),
            };
            let answer = context.peer.send_request(request).await.map_err(service_error)?;
            responses
                .insert(key, serde_json::to_value(answer).map_err(|e| ErrorData::internal_error(e.to_string(), None))?);
        }
        Ok(responses)
    }

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
                let gate = self.gate();
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

/// The call as the child gets it: the client's arguments, with the child's own retry fields only.
fn to_child(
    request: &CallToolRequest,
    request_state: Option<String>,
    responses: Option<InputResponses>,
) -> CallToolRequest {
    let mut request = request.clone();
    request.params.request_state = request_state;
    request.params.input_responses = responses.filter(|r| !r.is_empty());
    request
}

/// A JSON value the step built did not parse as the rmcp type it stands for.
fn not_mcp(error: serde_json::Error) -> ErrorData {
    ErrorData::internal_error(format!("allowly gate result: {error}"), None)
}
