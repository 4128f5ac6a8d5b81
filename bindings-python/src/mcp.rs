//! `NativeGate`: the `allowly_mcp::Gate` in front of a Python MCP server's tools (`allowly.mcp`).
//!
//! Every decision is the gate's — which scope a tool maps to, deny without identity or authorization, fail closed on
//! an outage, the confirm → answer → re-check flow — and so is the wording of the results (the same texts as
//! `allowly mcp proxy`). The Python adapters only pull the tool name, arguments and identity out of their framework's
//! request, await one of the two methods here and turn the returned [`PyGateOutcome`] into their result type.
//!
//! The confirmation nonce stays in Rust: a `GateOutcome` keeps it privately (never a getter, never in `repr`) and
//! `resolve_confirmation` takes the outcome back, so no Python code, log line or tool result can carry it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use allowly_core::model::ReceiptEnvelope;
use allowly_core::{Client, Error};
use allowly_mcp::{AuthorizationTable, CallContext, FailMode, Gate, GateConfig, Outcome, ScopeMapping};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::{Map, Value, json};

use crate::client::NativeClient;
use crate::convert::{to_object, to_py};
use crate::errors::to_py_err;
use crate::models::PyReceipt;
use crate::runtime::run;

/// One tool call as the adapter saw it, kept with its outcome so the re-check after a confirmation is the same call.
#[derive(Clone)]
struct Call {
    tool_name: String,
    arguments: Option<Map<String, Value>>,
    identity: Option<String>,
    authorization_id: Option<String>,
    scope: Option<String>,
    run_id: Option<String>,
}

impl Call {
    fn context(&self) -> CallContext<'_> {
        CallContext {
            identity: self.identity.as_deref(),
            arguments: self.arguments.as_ref(),
            run_id: self.run_id.as_deref(),
            ..CallContext::new(&self.tool_name)
        }
    }
}

/// The gate of one MCP server, over a `NativeClient` (closing the client closes the gate).
#[pyclass(frozen, module = "allowly._native")]
pub struct NativeGate {
    client: Py<NativeClient>,
    config: GateConfig,
}

impl NativeGate {
    /// The gate for one call: the configured mapping, with the server's own scope for this tool (`scope_fn`) first,
    /// and an authorization table of exactly this caller — so a call without an identity, or whose authorization
    /// could not be resolved, is denied `authorization_not_found` by the gate without a request.
    fn gate_for(&self, call: &Call) -> Result<Gate, Error> {
        let client: Client = self.client.get().client()?;
        let mut config = self.config.clone();
        if let Some(scope) = &call.scope {
            config.scope_for_tool = ScopeMapping::Map {
                scopes: HashMap::from([(call.tool_name.clone(), scope.clone())]),
                otherwise: Box::new(config.scope_for_tool),
            };
        }
        let mut table = HashMap::new();
        if let (Some(identity), Some(authorization_id)) = (&call.identity, &call.authorization_id) {
            table.insert(identity.clone(), authorization_id.clone());
        }
        config.resolver = std::sync::Arc::new(AuthorizationTable(table));
        Ok(Gate::new(client, config))
    }
}

#[allow(clippy::too_many_arguments)]
fn call_of(
    tool_name: String,
    arguments: Option<&Bound<'_, PyDict>>,
    identity: Option<String>,
    authorization_id: Option<String>,
    scope: Option<String>,
    run_id: Option<String>,
) -> Result<Call, Error> {
    let arguments = arguments.map(|a| to_object(a, "arguments")).transpose()?;
    Ok(Call { tool_name, arguments, identity, authorization_id, scope, run_id })
}

#[pymethods]
impl NativeGate {
    /// `scopes` maps tool names to scopes; other tools use `scope_template` (`{server}` / `{tool}` placeholders, with
    /// `server_name`) or else their own name. Scopes in `fail_open_scopes` are allowed while Allowly is unreachable;
    /// every other scope fails closed. `context_fields` (context field → argument name) and `resource_field` name the
    /// only arguments that reach the check (and so the signed receipt).
    #[new]
    #[pyo3(signature = (client, *, scopes=None, scope_template=None, server_name=None, fail_open_scopes=None,
                        context_fields=None, resource_field=None, wait_for_signed_receipts=false))]
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
            let mut config = GateConfig::new(AuthorizationTable::default())
                .with_scope_mapping(mapping)
                .with_fail_mode(fail_mode)
                .with_wait_for_signed_receipts(wait_for_signed_receipts);
            config.context_fields = context_fields.unwrap_or_default();
            config.resource_field = resource_field;
            Ok(config)
        };
        let config = build().map_err(|e| to_py_err(py, e))?;
        Ok(NativeGate { client, config })
    }

    /// The scope `tool_name` is checked against (without a per-call `scope`).
    fn scope_for(&self, tool_name: &str) -> String {
        self.config.scope_for_tool.scope_for(tool_name)
    }

    /// Decides one tool call; awaitable, never raises for a decision (anything that prevents one is a deny).
    /// `identity` must come from trusted server context; `authorization_id` is what the server resolved for it.
    #[pyo3(signature = (tool_name, arguments=None, *, identity=None, authorization_id=None, scope=None, run_id=None))]
    #[allow(clippy::too_many_arguments)]
    fn on_tool_call(
        &self,
        py: Python<'_>,
        tool_name: String,
        arguments: Option<Bound<'_, PyDict>>,
        identity: Option<String>,
        authorization_id: Option<String>,
        scope: Option<String>,
        run_id: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let prepared = call_of(tool_name, arguments.as_ref(), identity, authorization_id, scope, run_id)
            .and_then(|call| Ok((self.gate_for(&call)?, call)));
        let (gate, call) = prepared.map_err(|e| to_py_err(py, e))?;
        run(py, false, async move {
            let outcome = gate.on_tool_call(&call.context()).await;
            let receipt_ids = outcome.receipt().map(receipt_id).into_iter().collect();
            Ok(PyGateOutcome { outcome, call, receipt_ids })
        })
    }

    /// Records the user's answer to a `confirm` outcome and checks the same call again; awaitable, returns the
    /// re-check's outcome (allow `user_confirmed` / deny `user_rejected`, or a deny naming what failed).
    fn resolve_confirmation(&self, py: Python<'_>, outcome: &PyGateOutcome, approved: bool) -> PyResult<Py<PyAny>> {
        let Outcome::Confirm { nonce, .. } = &outcome.outcome else {
            let error = Error::invalid_input("outcome", "only a confirm outcome can be resolved");
            return Err(to_py_err(py, error));
        };
        let nonce = nonce.clone();
        let call = outcome.call.clone();
        let mut receipt_ids = outcome.receipt_ids.clone();
        let gate = self.gate_for(&call).map_err(|e| to_py_err(py, e))?;
        run(py, false, async move {
            let resolved = gate.resolve_confirmation(&call.context(), &nonce, approved).await;
            receipt_ids.extend(resolved.resolution_receipt.as_ref().map(receipt_id));
            receipt_ids.extend(resolved.outcome.receipt().map(receipt_id));
            Ok(PyGateOutcome { outcome: resolved.outcome, call, receipt_ids })
        })
    }

    fn __repr__(&self) -> String {
        format!("NativeGate({:?})", self.config)
    }
}

fn receipt_id(receipt: &ReceiptEnvelope) -> String {
    receipt.receipt_id().to_owned()
}

/// Why a confirm could not be answered through elicitation; the nothing was recorded and the confirmation stays
/// pending.
fn unanswered_text(why: &str) -> Result<&'static str, Error> {
    match why {
        "unsupported" => Ok("this MCP client cannot ask the user (no elicitation support)"),
        "dismissed" => Ok("the user dismissed the question"),
        "failed" => Ok("asking the user failed"),
        other => Err(Error::invalid_input(
            "unanswered",
            format!("unanswered must be \"unsupported\", \"dismissed\" or \"failed\", not {other:?}"),
        )),
    }
}

/// What the gate decided for one tool call (`decision` is `"allow"`, `"deny"` or `"confirm"`).
#[pyclass(frozen, module = "allowly", name = "GateOutcome")]
pub struct PyGateOutcome {
    outcome: Outcome,
    call: Call,
    /// Every receipt of this call's decisions so far: the check, and after a confirmation its resolution and re-check.
    receipt_ids: Vec<String>,
}

#[pymethods]
impl PyGateOutcome {
    #[getter]
    fn decision(&self) -> &'static str {
        self.outcome.decision().as_str()
    }

    #[getter]
    fn is_allowed(&self) -> bool {
        self.outcome.is_allowed()
    }

    #[getter]
    fn scope(&self) -> &str {
        self.outcome.scope()
    }

    #[getter]
    fn reason(&self) -> &str {
        self.outcome.reason()
    }

    #[getter]
    fn tool_name(&self) -> &str {
        &self.call.tool_name
    }

    #[getter]
    fn prompt_hint(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Confirm { prompt_hint, .. } => prompt_hint.as_deref(),
            _ => None,
        }
    }

    #[getter]
    fn confirmation_id(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Confirm { confirmation_id, .. } => confirmation_id.as_deref(),
            _ => None,
        }
    }

    /// The receipt of this decision (`None` when no server was asked or reached).
    #[getter]
    fn receipt(&self) -> Option<PyReceipt> {
        self.outcome.receipt().cloned().map(PyReceipt::from)
    }

    #[getter]
    fn receipt_ids(&self) -> Vec<String> {
        self.receipt_ids.clone()
    }

    /// What to ask the user through elicitation for a confirm.
    #[getter]
    fn elicitation_message(&self) -> String {
        let mut message =
            format!("Allow the agent to run the tool `{}` (Allowly scope {})?", self.call.tool_name, self.scope());
        if let Some(hint) = self.prompt_hint() {
            message = format!("{hint}\n\n{message}");
        }
        message
    }

    /// The text of the error result a refused call gets: the deny's reason, or — for a confirm the user could not be
    /// asked (`unanswered`: `"unsupported"`, `"dismissed"`, `"failed"`) — the prompt hint and confirmation id.
    #[pyo3(signature = (unanswered=None))]
    fn refusal(&self, py: Python<'_>, unanswered: Option<&str>) -> PyResult<String> {
        let why = unanswered.map(unanswered_text).transpose().map_err(|e| to_py_err(py, e))?;
        Ok(match (&self.outcome, why) {
            (Outcome::Confirm { prompt_hint, confirmation_id, .. }, Some(why)) => {
                let mut text = format!("confirmation required by Allowly: {}", self.reason());
                if let Some(hint) = prompt_hint {
                    text.push_str(&format!(" — ask the user: {hint}"));
                }
                if let Some(id) = confirmation_id {
                    text.push_str(&format!(" (confirmation {id})"));
                }
                text.push_str(&format!("; {why}"));
                text
            }
            (Outcome::Confirm { .. }, None) => format!("denied by Allowly: {} still pending", self.reason()),
            (Outcome::Deny { reason, scope, .. }, _) => format!("denied by Allowly: {reason} (scope {scope})"),
            (Outcome::Allow { .. }, _) => {
                let error = Error::invalid_input("outcome", "an allow outcome is not refused");
                return Err(to_py_err(py, error));
            }
        })
    }

    /// The `_meta` keys a tool result carries (`allowly.ai/decision`, `allowly.ai/reason`, `allowly.ai/receipt_ids`),
    /// as `allowly mcp proxy` sets them; receipt ids are not secrets.
    fn meta(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let meta = json!({
            "allowly.ai/decision": self.decision(),
            "allowly.ai/reason": self.reason(),
            "allowly.ai/receipt_ids": self.receipt_ids,
        });
        Ok(to_py(py, &meta)?.unbind())
    }

    fn __repr__(&self) -> String {
        let mut out = format!(
            "GateOutcome(decision='{}', tool_name={:?}, scope={:?}, reason={:?}",
            self.decision(),
            self.call.tool_name,
            self.scope(),
            self.reason()
        );
        if let Some(id) = self.confirmation_id() {
            out.push_str(&format!(", confirmation_id={id:?}"));
        }
        out.push(')');
        out
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeGate>()?;
    m.add_class::<PyGateOutcome>()?;
    Ok(())
}
