//! The allowly-mcp gate for the JS MCP middleware (`lib/mcp.cjs`): the middleware only adapts the MCP SDK's
//! `tools/call` handler; every decision (fail closed, no authorization → deny without a request, confirm → record the
//! answer and re-check, fail-open scopes) is `allowly_mcp::Gate`'s.
//!
//! The JS side resolves the caller to an authorization id first (its `authorizationIdFn` may be async and may hit a
//! database), so the gate's resolver here is the identity: the identity handed to the gate *is* that id, and `None`
//! means the caller has none.

use std::collections::{BTreeSet, HashMap};

use allowly_mcp::{CallContext, ConfirmNonce, FailMode, Gate, GateConfig, Outcome, ScopeMapping, ToolAnnotations};
use napi_derive::napi;
use serde_json::{Map, Value};

use crate::client::NativeClient;
use crate::model::{Decision, ReceiptEnvelope};

fn identity_is_authorization(identity: Option<&str>) -> Option<String> {
    identity.map(str::to_owned)
}

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
}

/// The MCP `ToolAnnotations` hints (`readOnlyHint`, …).
#[napi(object)]
pub struct ToolHints {
    pub read_only_hint: Option<bool>,
    pub destructive_hint: Option<bool>,
    pub idempotent_hint: Option<bool>,
    pub open_world_hint: Option<bool>,
}

/// One tool call.
#[napi(object)]
pub struct ToolCall {
    /// The caller's authorization; absent means none, which is denied without asking the server.
    pub authorization_id: Option<String>,
    pub tool_name: String,
    pub arguments: Option<Map<String, Value>>,
    pub annotations: Option<ToolHints>,
    /// An agent run or MCP session id, sent as the check's `session_id`.
    pub run_id: Option<String>,
}

/// The owned form of a [`ToolCall`], kept by a confirm outcome for its re-check.
#[derive(Clone)]
struct OwnedCall {
    authorization_id: Option<String>,
    tool_name: String,
    arguments: Option<Map<String, Value>>,
    annotations: Option<ToolAnnotations>,
    run_id: Option<String>,
}

impl OwnedCall {
    fn context(&self) -> CallContext<'_> {
        CallContext {
            identity: self.authorization_id.as_deref(),
            tool_name: &self.tool_name,
            arguments: self.arguments.as_ref(),
            annotations: self.annotations.as_ref(),
            run_id: self.run_id.as_deref(),
        }
    }
}

#[napi]
pub struct NativeGate {
    gate: Gate,
}

#[napi]
impl NativeGate {
    #[napi(constructor)]
    pub fn new(client: &NativeClient, options: Option<GateOptions>) -> Self {
        let mut config = GateConfig::new(identity_is_authorization);
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
        }
        NativeGate { gate: Gate::new(client.client.clone(), config) }
    }

    #[napi]
    pub fn scope_for(&self, tool_name: String) -> String {
        self.gate.scope_for(&tool_name)
    }

    /// Never rejects: anything that prevents a decision is a deny.
    #[napi]
    pub async fn on_tool_call(&self, call: ToolCall) -> GateOutcome {
        let call = OwnedCall {
            authorization_id: call.authorization_id,
            tool_name: call.tool_name,
            arguments: call.arguments,
            annotations: call.annotations.map(|a| ToolAnnotations {
                read_only: a.read_only_hint,
                destructive: a.destructive_hint,
                idempotent: a.idempotent_hint,
                open_world: a.open_world_hint,
            }),
            run_id: call.run_id,
        };
        let outcome = self.gate.on_tool_call(&call.context()).await;
        GateOutcome { gate: self.gate.clone(), call, outcome, resolution_receipt: None }
    }
}

/// The gate's answer for one call. A confirm keeps its nonce inside (never readable from JS) for `resolve`.
#[napi]
pub struct GateOutcome {
    gate: Gate,
    call: OwnedCall,
    outcome: Outcome,
    resolution_receipt: Option<allowly_core::model::ReceiptEnvelope>,
}

#[napi]
impl GateOutcome {
    #[napi(getter)]
    pub fn decision(&self) -> Decision {
        self.outcome.decision().into()
    }

    #[napi(getter)]
    pub fn scope(&self) -> String {
        self.outcome.scope().to_owned()
    }

    #[napi(getter)]
    pub fn reason(&self) -> String {
        self.outcome.reason().to_owned()
    }

    #[napi(getter)]
    pub fn prompt_hint(&self) -> Option<String> {
        match &self.outcome {
            Outcome::Confirm { prompt_hint, .. } => prompt_hint.clone(),
            _ => None,
        }
    }

    #[napi(getter)]
    pub fn confirmation_id(&self) -> Option<String> {
        match &self.outcome {
            Outcome::Confirm { confirmation_id, .. } => confirmation_id.clone(),
            _ => None,
        }
    }

    /// The decision's action receipt (absent when no server was asked or reached).
    #[napi(getter)]
    pub fn receipt(&self) -> Option<ReceiptEnvelope> {
        self.outcome.receipt().cloned().map(Into::into)
    }

    /// After `resolve`: the `confirmation.resolve` receipt of the user's answer.
    #[napi(getter)]
    pub fn resolution_receipt(&self) -> Option<ReceiptEnvelope> {
        self.resolution_receipt.clone().map(Into::into)
    }

    /// Records the user's answer to this confirm and re-checks the same call; on anything but a confirm it answers
    /// this outcome again.
    #[napi]
    pub async fn resolve(&self, approved: bool) -> GateOutcome {
        let nonce: Option<ConfirmNonce> = match &self.outcome {
            Outcome::Confirm { nonce, .. } => Some(nonce.clone()),
            _ => None,
        };
        let Some(nonce) = nonce else {
            return GateOutcome {
                gate: self.gate.clone(),
                call: self.call.clone(),
                outcome: self.outcome.clone(),
                resolution_receipt: self.resolution_receipt.clone(),
            };
        };
        let resolved = self.gate.resolve_confirmation(&self.call.context(), &nonce, approved).await;
        GateOutcome {
            gate: self.gate.clone(),
            call: self.call.clone(),
            outcome: resolved.outcome,
            resolution_receipt: resolved.resolution_receipt,
        }
    }
}
