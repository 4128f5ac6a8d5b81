//! The allowly-mcp decision step for the JS MCP middleware (`lib/mcp.cjs`). The middleware only moves values between
//! its MCP SDK's types and [`Gate::step`]: every decision, text and result shape (refusals, the elicitation form, the
//! 2026-07-28 `input_required` result, the -32021 / -32602 errors) is built in allowly-mcp, the same as in
//! `allowly mcp proxy` and the Python middleware.
//!
//! Two host callbacks may be async in JS (and may hit a database): who the user is (`userIdFn`) and which
//! authorization they hold (`authorizationIdFn`). core's identity source and the gate's resolver are sync, so the JS
//! side awaits them first and hands the answers in: the awaited user id is the transport's trusted `principal`, and the
//! authorization becomes this call's resolver. The identity rule itself (transport principal by default, a tool
//! argument only on the explicit opt-in) stays core's [`IdentitySource`]: [`NativeGate::identity_of`] is what JS asks
//! before it looks up the authorization, and the step resolves the same identity again from the same inputs.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use allowly_mcp::{
    AuthorizationTable, CallContext, ClientCapabilities, ElicitAnswer, Era, FailMode, Gate, GateConfig, IdentitySource,
    PendingConfirmation, RequestStateKey, Retry, ScopeMapping, Step, StepInput, ToolAnnotations, TransportAuth,
    UpstreamResume,
};
use napi::bindgen_prelude::{Error, Result, Status, Uint8Array};
use napi_derive::napi;
use serde_json::{Map, Value};

use crate::client::NativeClient;

/// How tool calls become checks.
#[napi(object)]
pub struct GateOptions {
    /// `{server}` / `{tool}` template, e.g. `mcp.{server}.{tool}`; default: the tool name is the scope.
    pub scope_template: Option<String>,
    /// Value of `{server}` in `scopeTemplate`.
    pub server_name: Option<String>,
    /// Explicit tool → scope table; other tools use the template or the tool name.
    pub scope_map: Option<HashMap<String, String>>,
    /// Scopes allowed while Allowly is unreachable; every other scope fails closed.
    pub fail_open_scopes: Option<Vec<String>>,
    /// Context field → argument name, copied into the check's context (and so into the signed receipt).
    pub context_fields: Option<HashMap<String, String>>,
    /// An argument whose string value is the check's `resource`.
    pub resource_field: Option<String>,
    /// Ask the server to sign receipts before answering.
    pub wait_for_signed_receipts: Option<bool>,
    /// **Single-user servers only** (opt-in): the caller is the string value of this top-level tool argument. The model
    /// writes the arguments, so on a server with several users any caller could name another.
    pub identity_from_argument: Option<String>,
    /// 32 secret bytes that seal 2026-07-28 `requestState` values. Absent: a random key per middleware, so a retry must
    /// come back to the same process; give every process behind one endpoint the same key to let any of them open it.
    pub request_state_key: Option<Uint8Array>,
}

/// The MCP `ToolAnnotations` hints (`readOnlyHint`, …).
#[napi(object)]
pub struct ToolHints {
    pub read_only_hint: Option<bool>,
    pub destructive_hint: Option<bool>,
    pub idempotent_hint: Option<bool>,
    pub open_world_hint: Option<bool>,
}

/// One `tools/call` request, as the MCP SDK delivered it, plus the host's awaited answers.
#[napi(object)]
pub struct StepCall {
    pub tool_name: String,
    pub arguments: Option<Map<String, Value>>,
    pub annotations: Option<ToolHints>,
    /// An agent run or MCP session id, sent as the check's `session_id`.
    pub run_id: Option<String>,
    /// Who the transport authenticated (its `authInfo`), or the host's identity callback's answer. Never an argument.
    pub principal: Option<String>,
    /// The authorization the host resolved for the identity `identityOf` answered; absent = none.
    pub authorization_id: Option<String>,
    /// The host's own scope for this call (`scopeFn`); absent = the configured mapping.
    pub scope: Option<String>,
    /// The request's protocol revision (per-request `_meta` on 2026-07-28, else the negotiated one); absent = the
    /// 2025-11-25 era.
    pub protocol_version: Option<String>,
    /// The client's declared capabilities for this request (its `_meta` on 2026-07-28, `initialize`'s before).
    pub client_capabilities: Option<Value>,
    /// A 2026-07-28 retry: the request's `inputResponses` and echoed `requestState`.
    pub input_responses: Option<Value>,
    pub request_state: Option<String>,
}

#[napi]
pub struct NativeGate {
    /// The long-lived gate every per-call gate derives from ([`Gate::with_config`]): they share its client,
    /// request-state key and memory of spent wrapped states, so a tool's wrapped state opens once across calls.
    gate: Gate,
    config: GateConfig,
}

#[napi]
impl NativeGate {
    #[napi(constructor)]
    pub fn new(client: &NativeClient, options: Option<GateOptions>) -> Result<Self> {
        // No key here: the long-lived gate draws one, and every per-call gate shares it.
        let mut config = GateConfig::new(AuthorizationTable::default());
        if let Some(o) = options {
            let base = match o.scope_template {
                Some(template) => ScopeMapping::template(template, o.server_name.unwrap_or_default()),
                None => ScopeMapping::ToolName,
            };
            config.scope_for_tool = match o.scope_map {
                Some(scopes) => ScopeMapping::Map { scopes, otherwise: Box::new(base) },
                None => base,
            };
            if let Some(scopes) = o.fail_open_scopes {
                config.fail_mode = FailMode::OpenFor(scopes.into_iter().collect::<BTreeSet<_>>());
            }
            config.context_fields = o.context_fields.unwrap_or_default().into_iter().collect();
            config.resource_field = o.resource_field;
            config.wait_for_signed_receipts = o.wait_for_signed_receipts.unwrap_or(false);
            if let Some(argument) = o.identity_from_argument {
                config.identity = IdentitySource::identity_from_arguments(argument);
            }
            if let Some(key) = o.request_state_key {
                let bytes: [u8; 32] = key.as_ref().try_into().map_err(|_| {
                    Error::new(Status::InvalidArg, format!("requestStateKey must be 32 bytes, not {}", key.len()))
                })?;
                config.request_state.key = Some(RequestStateKey::from_bytes(bytes));
            }
        }
        let gate = Gate::new(client.client.clone(), config.clone());
        // Per-call configs carry no key, so they use the long-lived gate's (drawn or configured) one.
        config.request_state.key = None;
        Ok(NativeGate { gate, config })
    }

    #[napi]
    pub fn scope_for(&self, tool_name: String) -> String {
        self.config.scope_for_tool.scope_for(&tool_name)
    }

    /// The caller's identity by core's rule (the principal; a tool argument only when opted in), or `null`: the step
    /// then refuses with the no-trusted-identity help, so the host looks up no authorization.
    #[napi]
    pub fn identity_of(&self, principal: Option<String>, arguments: Option<Map<String, Value>>) -> Option<String> {
        let auth = TransportAuth { principal: principal.as_deref(), ..TransportAuth::default() };
        self.config.identity.resolve(&auth, arguments.as_ref())
    }

    /// Decides one `tools/call` (a first call or a retry). A 2026-07-28 retry carrying a state this gate wrapped around
    /// the tool's own `requestState` resumes the tool (`resume`, no new check: this call was approved already) or is
    /// refused; any other call goes through the step. Never rejects: anything that prevents a decision refuses.
    #[napi]
    pub async fn step(&self, call: StepCall) -> GateStep {
        let origin = Origin { gate: self.gate_for(&call), annotations: annotations_of(&call), call };
        let input = origin.input();
        let step = match origin.gate.open_upstream_state(&input) {
            UpstreamResume::Resume { request_state, input_responses: responses, meta } => {
                let mut out = GateStep::empty("resume");
                out.meta = Some(meta);
                out.request_state = request_state;
                out.input_responses = responses;
                out.origin = Some(Arc::new(origin));
                return out;
            }
            UpstreamResume::Refuse(step) => step,
            UpstreamResume::NotWrapped => origin.gate.step(input).await,
        };
        GateStep::new(Arc::new(origin), step)
    }
}

impl NativeGate {
    /// The gate of one call: the configured mapping with the host's own scope for this tool first, and a resolver
    /// that knows exactly this caller's authorization. Cheap (the client, state key and spent states are shared).
    fn gate_for(&self, call: &StepCall) -> Gate {
        let auth = TransportAuth { principal: call.principal.as_deref(), ..TransportAuth::default() };
        let identity = self.config.identity.resolve(&auth, call.arguments.as_ref());
        self.gate.for_host_call(&call.tool_name, call.scope.clone(), identity.zip(call.authorization_id.clone()))
    }
}

fn annotations_of(call: &StepCall) -> Option<ToolAnnotations> {
    call.annotations.as_ref().map(|a| ToolAnnotations {
        read_only: a.read_only_hint,
        destructive: a.destructive_hint,
        idempotent: a.idempotent_hint,
        open_world: a.open_world_hint,
    })
}

/// One call and its gate, kept by the step so the tool's own `input_required` can be wrapped for exactly this call.
struct Origin {
    gate: Gate,
    call: StepCall,
    annotations: Option<ToolAnnotations>,
}

impl Origin {
    fn input(&self) -> StepInput<'_> {
        let call = &self.call;
        let context = CallContext {
            arguments: call.arguments.as_ref(),
            annotations: self.annotations.as_ref(),
            run_id: call.run_id.as_deref(),
            ..CallContext::new(&call.tool_name)
        };
        let era = call.protocol_version.as_deref().map_or(Era::Legacy2025_11_25, Era::of_protocol_version);
        let mut input = StepInput::new(context, era);
        input.auth = TransportAuth { principal: call.principal.as_deref(), ..TransportAuth::default() };
        input.capabilities = ClientCapabilities::from_capabilities(call.client_capabilities.as_ref());
        input.retry = call
            .request_state
            .as_deref()
            .map(|request_state| Retry { input_responses: call.input_responses.as_ref(), request_state });
        input
    }
}

/// JSON-RPC internal error: the tool's state could not be carried (as `allowly mcp proxy` answers it).
const INTERNAL_ERROR: i32 = -32603;

/// What the MCP server does with the call. `kind` is `run`, `resume` (run the tool with its own `requestState` and
/// `inputResponses`, no new check), `refuse`, `elicit`, `inputRequired` or `protocolError`; the other getters hold
/// that kind's values (plain JSON, ready for the SDK's result and error types).
#[napi]
pub struct GateStep {
    kind: &'static str,
    /// `run` / `resume`: the `_meta` to add to the tool's result.
    meta: Option<Map<String, Value>>,
    /// `refuse`: a complete `isError` CallToolResult; `inputRequired`: the `input_required` result.
    result: Option<Value>,
    /// `elicit`: the `elicitation/create` params to push.
    params: Option<Value>,
    error: Option<StepError>,
    /// `resume`: the tool's own `requestState` (absent when it gave none) and the request's `inputResponses` for it.
    request_state: Option<String>,
    input_responses: Option<Value>,
    /// `run` / `resume` / `elicit`: the call, to wrap the tool's own `input_required` or to answer the confirmation.
    origin: Option<Arc<Origin>>,
    /// `elicit`: the confirmation waiting for [`GateStep::answer`] (its nonce never leaves Rust).
    pending: Mutex<Option<PendingConfirmation>>,
}

/// [`GateStep::wrap_request_state`]'s answer: the state to give the client, or the error to answer instead.
#[napi(object)]
pub struct WrappedState {
    pub request_state: Option<String>,
    pub error: Option<StepError>,
}

/// A JSON-RPC error to answer instead of a result.
#[napi(object)]
#[derive(Clone)]
pub struct StepError {
    pub code: i32,
    pub message: String,
    pub data: Option<Value>,
}

impl GateStep {
    fn empty(kind: &'static str) -> Self {
        GateStep {
            kind,
            meta: None,
            result: None,
            params: None,
            error: None,
            request_state: None,
            input_responses: None,
            origin: None,
            pending: Mutex::new(None),
        }
    }

    fn new(origin: Arc<Origin>, step: Step) -> Self {
        let mut out = GateStep::empty("");
        match step {
            Step::Run { meta, .. } => {
                out.kind = "run";
                out.meta = Some(meta);
                out.origin = Some(origin);
            }
            Step::Refuse { result } => {
                out.kind = "refuse";
                out.result = Some(result);
            }
            Step::Elicit { params, pending } => {
                out.kind = "elicit";
                out.params = Some(params);
                out.pending = Mutex::new(Some(pending));
                out.origin = Some(origin);
            }
            Step::InputRequired { input_requests, request_state } => {
                out.kind = "inputRequired";
                out.result = Some(Step::input_required_result(&input_requests, &request_state));
            }
            Step::ProtocolError { code, message, data } => {
                out.kind = "protocolError";
                out.error = Some(StepError { code, message, data });
            }
        }
        out
    }
}

#[napi]
impl GateStep {
    #[napi(getter)]
    pub fn kind(&self) -> String {
        self.kind.to_owned()
    }

    #[napi(getter)]
    pub fn meta(&self) -> Option<Map<String, Value>> {
        self.meta.clone()
    }

    #[napi(getter)]
    pub fn result(&self) -> Option<Value> {
        self.result.clone()
    }

    #[napi(getter)]
    pub fn params(&self) -> Option<Value> {
        self.params.clone()
    }

    #[napi(getter)]
    pub fn error(&self) -> Option<StepError> {
        self.error.clone()
    }

    #[napi(getter)]
    pub fn request_state(&self) -> Option<String> {
        self.request_state.clone()
    }

    #[napi(getter)]
    pub fn input_responses(&self) -> Option<Value> {
        self.input_responses.clone()
    }

    /// After `run` or `resume`, when the tool answered `input_required` itself: seals the tool's own `requestState`
    /// (absent allowed) inside one of the gate's, bound to this call, so its retry resumes the tool without asking the
    /// user again, once. The `error` (the state is too large to carry) is the JSON-RPC error to answer instead.
    #[napi]
    pub fn wrap_request_state(&self, upstream_state: Option<String>) -> Result<WrappedState> {
        let (Some(origin), Some(meta)) = (self.origin.as_ref(), self.meta.as_ref()) else {
            return Err(Error::new(Status::InvalidArg, "only a run or resume step wraps the tool's requestState"));
        };
        let wrapped = origin.gate.wrap_upstream_state(&origin.input(), upstream_state.as_deref(), meta);
        Ok(match wrapped {
            Some(state) => WrappedState { request_state: Some(state), error: None },
            None => WrappedState {
                request_state: None,
                error: Some(StepError {
                    code: INTERNAL_ERROR,
                    message: "the tool's requestState is too large to carry".to_owned(),
                    data: None,
                }),
            },
        })
    }

    /// The second half of an `elicit` step: the client's `ElicitResult` (`{action: …}`), or `null` when pushing the
    /// question failed. Records the answer and re-checks; answers once.
    #[napi]
    pub async fn answer(&self, elicit_result: Option<Value>) -> Result<GateStep> {
        let pending = self.pending.lock().map_err(|_| Error::new(Status::GenericFailure, "poisoned"))?.take();
        let (Some(pending), Some(origin)) = (pending, self.origin.clone()) else {
            return Err(Error::new(Status::InvalidArg, "this step has no confirmation waiting for an answer"));
        };
        // Anything but a well-formed accept / decline / cancel counts as a failed question: nothing is recorded.
        let answer = elicit_result.as_ref().and_then(ElicitAnswer::from_result).unwrap_or(ElicitAnswer::Failed);
        let step = origin.gate.answer_elicitation(pending, answer).await;
        Ok(GateStep::new(origin, step))
    }
}

/// The refusal text of a call with no trusted identity (core's `NO_TRUSTED_IDENTITY_HELP`), exported so hosts and
/// tests can recognise it without copying it.
#[napi]
pub fn no_trusted_identity_help() -> String {
    allowly_mcp::NO_TRUSTED_IDENTITY_HELP.to_owned()
}
