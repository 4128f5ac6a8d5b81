//! `NativeGate`: `allowly_mcp::Gate::step` in front of a Python MCP server's tools (`allowly.mcp`).
//!
//! Every decision and every word is the gate's: which scope a tool maps to, whose identity a call runs under, the
//! protocol era and what the client declared, deny / confirm / fail closed, the elicitation to push (2025-11-25) or
//! the `input_required` result with its sealed `requestState` (2026-07-28), the refusal texts and the JSON-RPC
//! errors. The Python adapters only move values: they hand over the request's protocol version, `_meta`, session
//! capabilities, retry fields and the trusted principal, and drop the returned [`PyGateStep`]'s JSON into their
//! framework's result types.
//!
//! The confirmation nonce stays in Rust: sealed inside `requestState` on the new era, and held by the step object
//! (never a getter, never in `repr`) until [`NativeGate::answer_elicitation`] on the old one.
//!
//! A tool's OWN `input_required` (its own elicitation, 2026-07-28) must not meet the gate on its retry as a foreign
//! state: the adapter hands the tool's result to [`NativeGate::wrap_input_required`], which seals the tool's state
//! inside one of the gate's, bound to this call; [`NativeGate::step`] opens such a state first and answers `resume`
//! (run the tool with its own state, no second check: this call was already approved), once only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

use allowly_core::caller_identity::{IdentitySource, TransportAuth};
use allowly_core::{Client, Error};
use allowly_mcp::{
    AuthorizationTable, CallContext, ClientCapabilities, ElicitAnswer, Era, FailMode, Gate, GateConfig,
    PendingConfirmation, RequestStateConfig, RequestStateKey, Retry, ScopeMapping, Step, StepInput, UpstreamResume,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::{Map, Value, json};

use crate::client::NativeClient;
use crate::convert::{to_json, to_object, to_py};
use crate::errors::to_py_err;
use crate::runtime::run;

/// The gate of one MCP server, over a `NativeClient` (closing the client closes the gate).
#[pyclass(frozen, module = "allowly._native")]
pub struct NativeGate {
    client: Py<NativeClient>,
    /// Carries one request-state key drawn for this gate, so a state minted on one call opens on its retry although
    /// each call gets its own `Gate` (its own scope and authorization table).
    config: GateConfig,
    /// The long-lived gate every per-call gate derives from, so they share its key and its memory of spent wrapped
    /// states: a tool's wrapped state replayed at a later call's gate is still refused.
    base: Gate,
}

impl NativeGate {
    /// The gate for one call: the configured mapping, with the server's own scope for this tool (`scope_fn`) first,
    /// and an authorization table of exactly this caller — so a call whose authorization could not be resolved is
    /// denied `authorization_not_found` by the gate without a request.
    fn gate_for(
        &self,
        tool_name: &str,
        scope: Option<String>,
        identity: Option<String>,
        authorization_id: Option<String>,
    ) -> Result<Gate, Error> {
        // A closed client closes the gate, although the base gate holds its own handle.
        let _open: Client = self.client.get().client()?;
        Ok(self.base.for_host_call(tool_name, scope, identity.zip(authorization_id)))
    }
}

/// What a run's result may be wrapped for: the call as the gate bound it, owned, with the per-call gate.
struct RanCall {
    gate: Gate,
    tool_name: String,
    arguments: Option<Map<String, Value>>,
    principal: Option<String>,
    run_id: Option<String>,
    meta: Map<String, Value>,
}

impl RanCall {
    fn new(gate: Gate, input: &CallInput, meta: &Map<String, Value>) -> Self {
        RanCall {
            gate,
            tool_name: input.tool_name.clone(),
            arguments: input.arguments.clone(),
            principal: input.principal.clone(),
            run_id: input.run_id.clone(),
            meta: meta.clone(),
        }
    }

    /// Seals the tool's `requestState` (if any) for this call: `None` when it cannot be carried.
    fn wrap(&self, upstream_state: Option<&str>) -> Option<String> {
        let call = CallContext {
            arguments: self.arguments.as_ref(),
            run_id: self.run_id.as_deref(),
            ..CallContext::new(&self.tool_name)
        };
        let input = StepInput {
            auth: TransportAuth { principal: self.principal.as_deref(), ..TransportAuth::default() },
            ..StepInput::new(call, Era::Current2026_07_28)
        };
        self.gate.wrap_upstream_state(&input, upstream_state, &self.meta)
    }
}

/// Owned inputs of one `tools/call`, converted while the GIL is held.
struct CallInput {
    tool_name: String,
    arguments: Option<Map<String, Value>>,
    principal: Option<String>,
    run_id: Option<String>,
    era: Era,
    capabilities: ClientCapabilities,
    input_responses: Option<Value>,
    request_state: Option<String>,
}

#[pymethods]
impl NativeGate {
    /// `scopes` maps tool names to scopes; other tools use `scope_template` (`{server}` / `{tool}` placeholders, with
    /// `server_name`) or else their own name. Scopes in `fail_open_scopes` are allowed while Allowly is unreachable;
    /// every other scope fails closed. `context_fields` (context field → argument name) and `resource_field` name the
    /// only arguments that reach the check (and so the signed receipt). `identity_from_argument` names the tool
    /// argument read as the caller's identity — the single-user opt-in; without it the identity is the trusted
    /// `principal` each call passes, and nothing else. `request_state_key` (32 bytes, a secret) lets several server
    /// processes open each other's 2026-07-28 `requestState`s; by default each gate draws its own.
    #[new]
    #[pyo3(signature = (client, *, scopes=None, scope_template=None, server_name=None, fail_open_scopes=None,
                        context_fields=None, resource_field=None, wait_for_signed_receipts=false,
                        identity_from_argument=None, request_state_key=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        client: Py<NativeClient>,
        scopes: Option<HashMap<String, String>>,
        scope_template: Option<String>,
        server_name: Option<String>,
        fail_open_scopes: Option<Vec<String>>,
        context_fields: Option<BTreeMap<String, String>>,
        resource_field: Option<String>,
        wait_for_signed_receipts: bool,
        identity_from_argument: Option<String>,
        request_state_key: Option<Vec<u8>>,
    ) -> PyResult<Self> {
        let build = || -> Result<GateConfig, Error> {
            let mut mapping = match scope_template {
                Some(template) if template.contains("{server}") && server_name.is_none() => {
                    return Err(Error::invalid_input(
                        "server_name",
                        "scope_template uses {server}: pass server_name as well",
                    ));
                }
                Some(template) => ScopeMapping::template(template, server_name.unwrap_or_default()),
                None => ScopeMapping::ToolName,
            };
            if let Some(scopes) = scopes {
                mapping = ScopeMapping::Map { scopes, otherwise: Box::new(mapping) };
            }
            let fail_mode = match fail_open_scopes {
                Some(open) if !open.is_empty() => FailMode::OpenFor(open.into_iter().collect::<BTreeSet<_>>()),
                _ => FailMode::Closed,
            };
            let identity = match identity_from_argument {
                Some(argument) if argument.is_empty() => {
                    return Err(Error::invalid_input("identity_from_argument", "name a tool argument"));
                }
                Some(argument) => IdentitySource::identity_from_arguments(argument),
                None => IdentitySource::Transport,
            };
            let key = match request_state_key {
                Some(bytes) => {
                    let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
                        Error::invalid_input("request_state_key", "request_state_key must be exactly 32 bytes")
                    })?;
                    RequestStateKey::from_bytes(bytes)
                }
                None => RequestStateKey::generate(),
            };
            let request_state = RequestStateConfig { key: Some(key), ..RequestStateConfig::default() };
            let mut config = GateConfig::new(AuthorizationTable::default())
                .with_scope_mapping(mapping)
                .with_fail_mode(fail_mode)
                .with_wait_for_signed_receipts(wait_for_signed_receipts)
                .with_identity(identity)
                .with_request_state(request_state);
            config.context_fields = context_fields.unwrap_or_default();
            config.resource_field = resource_field;
            Ok(config)
        };
        let config = build().map_err(|e| to_py_err(py, e))?;
        let base = client.get().client().map(|c| Gate::new(c, config.clone())).map_err(|e| to_py_err(py, e))?;
        Ok(NativeGate { client, config, base })
    }

    /// The scope `tool_name` is checked against (without a per-call `scope`).
    fn scope_for(&self, tool_name: &str) -> String {
        self.config.scope_for_tool.scope_for(tool_name)
    }

    /// Whose call this is, by the gate's identity rule: the trusted `principal` (the transport's, or the server
    /// callback's answer), or — only when the gate opted in — the named tool argument. `None`: no trusted identity
    /// (the step refuses the call). The adapter looks up the authorization of exactly this identity.
    #[pyo3(signature = (principal=None, arguments=None))]
    fn identity(
        &self,
        py: Python<'_>,
        principal: Option<&str>,
        arguments: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Option<String>> {
        let arguments = arguments.map(|a| to_object(&a, "arguments")).transpose().map_err(|e| to_py_err(py, e))?;
        let auth = TransportAuth { principal, ..TransportAuth::default() };
        Ok(self.config.identity.resolve(&auth, arguments.as_ref()))
    }

    /// Decides one `tools/call` (a first call, or a 2026-07-28 retry when `request_state` is given); awaitable,
    /// never raises for a decision. `protocol_version` is the request's (or the session's negotiated) version;
    /// `request_meta` the request's `_meta` (2026-07-28 clients declare their capabilities there);
    /// `client_capabilities` the session's `initialize` capabilities (2025-11-25). `principal` must come from the
    /// transport's authentication or the server's own callback, never from the model; `authorization_id` is the
    /// server's for `identity(principal, arguments)`.
    #[pyo3(signature = (tool_name, arguments=None, *, protocol_version, request_meta=None, client_capabilities=None,
                        principal=None, authorization_id=None, scope=None, run_id=None, input_responses=None,
                        request_state=None))]
    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        py: Python<'_>,
        tool_name: String,
        arguments: Option<Bound<'_, PyDict>>,
        protocol_version: &str,
        request_meta: Option<Bound<'_, PyDict>>,
        client_capabilities: Option<Bound<'_, PyAny>>,
        principal: Option<String>,
        authorization_id: Option<String>,
        scope: Option<String>,
        run_id: Option<String>,
        input_responses: Option<Bound<'_, PyAny>>,
        request_state: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let prepare = || -> Result<(Gate, CallInput), Error> {
            let arguments = arguments.map(|a| to_object(&a, "arguments")).transpose()?;
            let era = Era::of_protocol_version(protocol_version);
            let capabilities = match era {
                Era::Current2026_07_28 => {
                    let meta = request_meta.map(|m| to_object(&m, "request_meta")).transpose()?;
                    ClientCapabilities::from_request_meta(meta.as_ref())
                }
                Era::Legacy2025_11_25 => {
                    let declared = client_capabilities.map(|c| to_json(&c, "client_capabilities")).transpose()?;
                    ClientCapabilities::from_capabilities(declared.as_ref())
                }
            };
            let input_responses = input_responses.map(|r| to_json(&r, "input_responses")).transpose()?;
            let auth = TransportAuth { principal: principal.as_deref(), ..TransportAuth::default() };
            let identity = self.config.identity.resolve(&auth, arguments.as_ref());
            let gate = self.gate_for(&tool_name, scope, identity, authorization_id)?;
            let input = CallInput {
                tool_name,
                arguments,
                principal,
                run_id,
                era,
                capabilities,
                input_responses,
                request_state,
            };
            Ok((gate, input))
        };
        let (gate, input) = prepare().map_err(|e| to_py_err(py, e))?;
        run(py, false, async move {
            let call = CallContext {
                arguments: input.arguments.as_ref(),
                run_id: input.run_id.as_deref(),
                ..CallContext::new(&input.tool_name)
            };
            let retry = input
                .request_state
                .as_deref()
                .map(|request_state| Retry { input_responses: input.input_responses.as_ref(), request_state });
            let step_input = StepInput {
                auth: TransportAuth { principal: input.principal.as_deref(), ..TransportAuth::default() },
                capabilities: input.capabilities,
                retry,
                ..StepInput::new(call, input.era)
            };
            let step = match gate.open_upstream_state(&step_input) {
                UpstreamResume::Resume { request_state, input_responses: responses, meta } => {
                    let ran = RanCall::new(gate, &input, &meta);
                    return Ok(PyGateStep::resume(meta, request_state, responses, ran));
                }
                UpstreamResume::Refuse(step) => step,
                UpstreamResume::NotWrapped => gate.step(step_input).await,
            };
            let ran = match (&step, input.era) {
                (Step::Run { meta, .. }, Era::Current2026_07_28) => Some(RanCall::new(gate.clone(), &input, meta)),
                _ => None,
            };
            Ok(PyGateStep::new(step, gate).with_ran(ran))
        })
    }

    /// A tool's own `input_required` after a 2026-07-28 `run` or `resume` step: `result` is that InputRequiredResult
    /// (a dict). Returns an `input_required` step whose `result` carries the gate's wrapped `requestState` in place
    /// of the tool's, or a `protocol_error` step when the tool's state is too large to carry; `None` when `step` is
    /// no 2026-07-28 run (a 2025-11-25 framework relays its tool's requests itself): answer `result` as it is.
    fn wrap_input_required(
        &self,
        py: Python<'_>,
        step: &PyGateStep,
        result: Bound<'_, PyAny>,
    ) -> PyResult<Option<PyGateStep>> {
        let mut result = to_json(&result, "result").map_err(|e| to_py_err(py, e))?;
        let Some(object) = result.as_object_mut() else {
            return Err(to_py_err(py, Error::invalid_input("result", "an InputRequiredResult is an object")));
        };
        let guard = step.ran.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(ran) = guard.as_ref() else { return Ok(None) };
        let upstream_state = match object.get("requestState") {
            None | Some(Value::Null) => None,
            Some(Value::String(state)) => Some(state.as_str()),
            Some(_) => return Err(to_py_err(py, Error::invalid_input("result", "requestState is a string"))),
        };
        let next = match ran.wrap(upstream_state) {
            Some(state) => {
                object.insert("requestState".to_owned(), Value::String(state));
                PyGateStep::plain("input_required", result)
            }
            None => PyGateStep::plain(
                "protocol_error",
                json!({"code": INTERNAL_ERROR, "message": "the tool's requestState is too large to carry"}),
            ),
        };
        Ok(Some(next))
    }

    /// The second half of a 2025-11-25 confirmation: `result` is the client's `ElicitResult` as a dict (`None` when
    /// pushing the question failed). Records the answer, re-checks and returns the next step (run or refuse).
    #[pyo3(signature = (step, result=None))]
    fn answer_elicitation(
        &self,
        py: Python<'_>,
        step: &PyGateStep,
        result: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let take = || -> Result<((Gate, PendingConfirmation), ElicitAnswer), Error> {
            let answer = match result {
                Some(result) => {
                    let value = to_json(&result, "result")?;
                    ElicitAnswer::from_result(&value).ok_or_else(|| {
                        Error::invalid_input("result", "an ElicitResult has action accept, decline or cancel")
                    })?
                }
                None => ElicitAnswer::Failed,
            };
            let pending =
                step.pending.lock().unwrap_or_else(PoisonError::into_inner).take().ok_or_else(|| {
                    Error::invalid_input("step", "only an elicit step can be answered, and only once")
                })?;
            Ok((pending, answer))
        };
        let ((gate, pending), answer) = take().map_err(|e| to_py_err(py, e))?;
        run(py, false, async move {
            let next = gate.answer_elicitation(pending, answer).await;
            Ok(PyGateStep::new(next, gate))
        })
    }

    fn __repr__(&self) -> String {
        format!("NativeGate({:?})", self.config)
    }
}

/// JSON-RPC internal error: what the proxy answers too when a server's own state cannot be carried.
const INTERNAL_ERROR: i32 = -32603;

/// What the MCP server does with one `tools/call`. `kind` is `"run"` (run the tool, add `meta` to its result's
/// `_meta`), `"resume"` (2026-07-28: run the tool with its own `request_state` and `input_responses` back, no new
/// check, and add `meta`), `"refuse"` (answer `result`, a complete `isError` CallToolResult), `"elicit"`
/// (2025-11-25: push `elicitation/create` with `elicitation_params`, then `NativeGate.answer_elicitation`),
/// `"input_required"` (2026-07-28: answer `result`, an InputRequiredResult) or `"protocol_error"` (answer the
/// JSON-RPC `error`).
#[pyclass(frozen, module = "allowly._native", name = "GateStep")]
pub struct PyGateStep {
    kind: &'static str,
    /// The kind's JSON: the result, the meta, the elicitation params or the error object.
    value: Value,
    /// An elicit step's confirmation (holding the nonce) and the gate that asked, until answered.
    pending: Mutex<Option<(Gate, PendingConfirmation)>>,
    /// A 2026-07-28 run or resume: the call its tool's own `input_required` is wrapped for.
    ran: Mutex<Option<RanCall>>,
    /// `resume`: the tool's own state and the client's answers to its questions.
    resumed: Option<(Option<String>, Option<Value>)>,
}

impl PyGateStep {
    fn new(step: Step, gate: Gate) -> Self {
        let mut pending = None;
        let (kind, value) = match step {
            Step::Run { meta, .. } => ("run", Value::Object(meta)),
            Step::Refuse { result } => ("refuse", result),
            Step::Elicit { params, pending: confirmation } => {
                pending = Some((gate, confirmation));
                ("elicit", params)
            }
            Step::InputRequired { input_requests, request_state } => {
                ("input_required", Step::input_required_result(&input_requests, &request_state))
            }
            Step::ProtocolError { code, message, data } => {
                let mut error = json!({"code": code, "message": message});
                if let Some(data) = data {
                    error["data"] = data;
                }
                ("protocol_error", error)
            }
        };
        PyGateStep { kind, value, pending: Mutex::new(pending), ran: Mutex::new(None), resumed: None }
    }

    fn plain(kind: &'static str, value: Value) -> Self {
        PyGateStep { kind, value, pending: Mutex::new(None), ran: Mutex::new(None), resumed: None }
    }

    fn resume(meta: Map<String, Value>, state: Option<String>, responses: Option<Value>, ran: RanCall) -> Self {
        PyGateStep {
            kind: "resume",
            value: Value::Object(meta),
            pending: Mutex::new(None),
            ran: Mutex::new(Some(ran)),
            resumed: Some((state, responses)),
        }
    }

    fn with_ran(self, ran: Option<RanCall>) -> Self {
        PyGateStep { ran: Mutex::new(ran), ..self }
    }

    fn value_if(&self, py: Python<'_>, kinds: &[&str]) -> PyResult<Option<Py<PyAny>>> {
        if !kinds.contains(&self.kind) {
            return Ok(None);
        }
        Ok(Some(to_py(py, &self.value)?.unbind()))
    }
}

#[pymethods]
impl PyGateStep {
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind
    }

    /// `run` / `resume`: the keys to add to the tool result's `_meta` (decision, reason, receipt ids).
    #[getter]
    fn meta(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.value_if(py, &["run", "resume"])
    }

    /// `resume`: the tool's own `requestState` to hand back to it (`None` when it gave none). The tool minted it, so
    /// it is the tool's to read; the gate's own states never appear here.
    #[getter]
    fn request_state(&self) -> Option<String> {
        self.resumed.as_ref().and_then(|(state, _)| state.clone())
    }

    /// `resume`: the client's `inputResponses` for the tool's own questions.
    #[getter]
    fn input_responses(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        match self.resumed.as_ref().and_then(|(_, responses)| responses.as_ref()) {
            Some(responses) => Ok(Some(to_py(py, responses)?.unbind())),
            None => Ok(None),
        }
    }

    /// `refuse`: the CallToolResult; `input_required`: the InputRequiredResult (`requestState` is sealed).
    #[getter]
    fn result(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.value_if(py, &["refuse", "input_required"])
    }

    /// `elicit`: the `elicitation/create` params (mode, message, requestedSchema).
    #[getter]
    fn elicitation_params(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.value_if(py, &["elicit"])
    }

    /// `protocol_error`: `{"code", "message", "data"?}`.
    #[getter]
    fn error(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.value_if(py, &["protocol_error"])
    }

    fn __repr__(&self) -> String {
        format!("GateStep(kind='{}')", self.kind)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeGate>()?;
    m.add_class::<PyGateStep>()?;
    m.add("NO_TRUSTED_IDENTITY_HELP", allowly_mcp::NO_TRUSTED_IDENTITY_HELP)?;
    Ok(())
}
