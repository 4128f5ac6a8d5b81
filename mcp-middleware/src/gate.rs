//! The gate: one check per tool call, before the tool runs.

use std::fmt;
use std::sync::Arc;

use allowly_core::model::{CheckRequest, CheckResponse, Decision, ReceiptEnvelope, ScopeResult, reason};
use allowly_core::{Client, Error};
use serde_json::{Map, Value};

use crate::annotations::ToolAnnotations;
use crate::config::{AuthorizationTable, GateConfig, ScopeMapping};
use crate::request_state::RequestStateKey;
use crate::upstream_state::SpentStates;

/// One tool call as the MCP layer sees it.
#[derive(Debug, Clone, Copy)]
pub struct CallContext<'a> {
    /// Who is calling, as the resolver understands it; `None` when the transport carries no identity.
    pub identity: Option<&'a str>,
    pub tool_name: &'a str,
    /// The call's arguments. Only fields named in [`GateConfig::context_fields`] / `resource_field` are read.
    pub arguments: Option<&'a Map<String, Value>>,
    /// `None` when the tool declared no annotations.
    pub annotations: Option<&'a ToolAnnotations>,
    /// An agent run or MCP session id; sent as the check's `session_id` so receipts of one run can be grouped.
    pub run_id: Option<&'a str>,
}

impl<'a> CallContext<'a> {
    pub fn new(tool_name: &'a str) -> Self {
        CallContext { identity: None, tool_name, arguments: None, annotations: None, run_id: None }
    }
}

/// The single-use secret that approves or rejects a pending confirmation.
///
/// Opaque on purpose: it is only ever handed back to [`Gate::resolve_confirmation`], never shown to a model, a user or
/// a log (`Debug` is redacted, there is no `Display`).
#[derive(Clone, PartialEq, Eq)]
pub struct ConfirmNonce(String);

impl ConfirmNonce {
    pub(crate) fn new(secret: String) -> Self {
        ConfirmNonce(secret)
    }

    pub(crate) fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ConfirmNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConfirmNonce([redacted])")
    }
}

/// What to do with the tool call.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Run the tool.
    Allow { scope: String, reason: String, receipt: Option<ReceiptEnvelope> },
    /// Do not run the tool; `reason` is a wire-v1 reason code (or, for a failed check, the error's code).
    Deny { scope: String, reason: String, receipt: Option<ReceiptEnvelope> },
    /// Ask the user, then call [`Gate::resolve_confirmation`] with their answer.
    Confirm {
        scope: String,
        prompt_hint: Option<String>,
        confirmation_id: Option<String>,
        nonce: ConfirmNonce,
        /// When the pending confirmation expires (RFC 3339), as the server said.
        expires_at: Option<String>,
        receipt: Option<ReceiptEnvelope>,
    },
}

impl Outcome {
    pub fn scope(&self) -> &str {
        match self {
            Outcome::Allow { scope, .. } | Outcome::Deny { scope, .. } | Outcome::Confirm { scope, .. } => scope,
        }
    }

    /// The reason code of the decision (`scope_requires_user_confirmation` for confirm).
    pub fn reason(&self) -> &str {
        match self {
            Outcome::Allow { reason, .. } | Outcome::Deny { reason, .. } => reason,
            Outcome::Confirm { .. } => reason::SCOPE_REQUIRES_USER_CONFIRMATION,
        }
    }

    pub fn decision(&self) -> Decision {
        match self {
            Outcome::Allow { .. } => Decision::Allow,
            Outcome::Deny { .. } => Decision::Deny,
            Outcome::Confirm { .. } => Decision::Confirm,
        }
    }

    /// The action receipt the server issued for this decision (`None` when no server was asked or reached).
    pub fn receipt(&self) -> Option<&ReceiptEnvelope> {
        match self {
            Outcome::Allow { receipt, .. } | Outcome::Deny { receipt, .. } | Outcome::Confirm { receipt, .. } => {
                receipt.as_ref()
            }
        }
    }

    pub fn is_allowed(&self) -> bool {
        matches!(self, Outcome::Allow { .. })
    }
}

/// The user's answer to a confirm, recorded, and the re-check that followed it.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The `confirmation.resolve` receipt (`None` if recording the answer failed).
    pub resolution_receipt: Option<ReceiptEnvelope>,
    /// The re-check: allow `user_confirmed` after an approval, deny `user_rejected` after a rejection.
    pub outcome: Outcome,
}

/// Checks tool calls against Allowly. Cheap to clone; share one per MCP server.
#[derive(Debug, Clone)]
pub struct Gate {
    client: Client,
    config: GateConfig,
    /// The configured request-state key, or one drawn for this gate (its clones share it).
    state_key: Arc<RequestStateKey>,
    /// Wrapped upstream states already opened (their clones share it): each opens once.
    spent_upstream: Arc<SpentStates>,
}

impl Gate {
    pub fn new(client: Client, config: GateConfig) -> Gate {
        let state_key = Arc::new(config.request_state.key.clone().unwrap_or_else(RequestStateKey::generate));
        Gate { client, config, state_key, spent_upstream: Arc::default() }
    }

    /// A gate with another configuration that shares this gate's client, request-state key and memory of spent
    /// states: for a front that builds a gate per call (its host's scope and authorization for that call), so a state
    /// minted by one call's gate opens at the retry's, and a wrapped state spent at one is spent at all. A key set in
    /// `config` replaces this gate's.
    pub fn with_config(&self, config: GateConfig) -> Gate {
        let state_key = match &config.request_state.key {
            Some(key) => Arc::new(key.clone()),
            None => self.state_key.clone(),
        };
        Gate { client: self.client.clone(), config, state_key, spent_upstream: self.spent_upstream.clone() }
    }

    /// The gate of one call in a language front whose host answers per call (its own scope for the tool, the
    /// caller's authorization): this gate's scope mapping with `scope` for `tool` first, and an authorization table
    /// of exactly `caller` (identity, authorization id) — none when the host knew no caller, so the step refuses.
    /// Shares this gate's key and spent states ([`Gate::with_config`]).
    pub fn for_host_call(&self, tool: &str, scope: Option<String>, caller: Option<(String, String)>) -> Gate {
        let mut config = self.config.clone();
        if let Some(scope) = scope {
            config.scope_for_tool = ScopeMapping::Map {
                scopes: std::collections::HashMap::from([(tool.to_owned(), scope)]),
                otherwise: Box::new(config.scope_for_tool),
            };
        }
        config.resolver = Arc::new(AuthorizationTable(caller.into_iter().collect()));
        self.with_config(config)
    }

    pub(crate) fn spent_upstream_states(&self) -> &SpentStates {
        &self.spent_upstream
    }

    pub(crate) fn state_key(&self) -> &RequestStateKey {
        &self.state_key
    }

    pub(crate) fn state_audience(&self) -> &str {
        &self.config.request_state.audience
    }

    pub fn config(&self) -> &GateConfig {
        &self.config
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The scope a tool is checked against.
    pub fn scope_for(&self, tool_name: &str) -> String {
        self.config.scope_for_tool.scope_for(tool_name)
    }

    /// Decides one tool call. Never fails: anything that prevents a decision is a deny, because a gate that errors
    /// invites the caller to run the tool anyway.
    pub async fn on_tool_call(&self, call: &CallContext<'_>) -> Outcome {
        let scope = self.scope_for(call.tool_name);
        let Some(authorization_id) = self.config.resolver.authorization_for(call.identity) else {
            tracing::info!(tool = call.tool_name, "allowly gate: no authorization for this caller; denying");
            return deny(scope, reason::AUTHORIZATION_NOT_FOUND);
        };
        let request = self.check_request(call, &authorization_id, &scope);
        self.decide(&request, scope).await
    }

    /// Records the user's answer to a confirm and checks the same call again.
    pub async fn resolve_confirmation(&self, call: &CallContext<'_>, nonce: &ConfirmNonce, approved: bool) -> Resolved {
        let scope = self.scope_for(call.tool_name);
        let resolution_receipt = match self.client.approve_confirmation(&nonce.0, approved, None).await {
            Ok(resolution) => Some(resolution.receipt),
            Err(error) => {
                tracing::warn!(code = error.code(), %error, "allowly gate: recording the user's answer failed");
                return Resolved { resolution_receipt: None, outcome: deny(scope, error_reason(&error)) };
            }
        };
        let outcome = match self.config.resolver.authorization_for(call.identity) {
            Some(authorization_id) => self.decide(&self.check_request(call, &authorization_id, &scope), scope).await,
            None => deny(scope, reason::AUTHORIZATION_NOT_FOUND),
        };
        Resolved { resolution_receipt, outcome }
    }

    pub(crate) fn check_request(&self, call: &CallContext<'_>, authorization_id: &str, scope: &str) -> CheckRequest {
        let mut request = CheckRequest::new(authorization_id, [scope]).with_wait(self.config.wait_for_signed_receipts);
        let arguments = call.arguments;
        let context: Map<String, Value> = self
            .config
            .context_fields
            .iter()
            .filter_map(|(field, argument)| Some((field.clone(), arguments?.get(argument)?.clone())))
            .collect();
        if !context.is_empty() {
            request = request.with_context(context);
        }
        if let Some(resource) = self.config.resource_field.as_ref().and_then(|f| arguments?.get(f)?.as_str()) {
            request = request.with_resource(resource);
        }
        if let Some(run_id) = call.run_id {
            request = request.with_session_id(run_id);
        }
        // Only their digest is sent: it binds a confirmation to this exact call, so an approval given for one set of
        // arguments is never taken by a call with others.
        if let Some(arguments) = arguments {
            request = request.with_arguments(arguments.clone());
        }
        request
    }

    pub(crate) async fn decide(&self, request: &CheckRequest, scope: String) -> Outcome {
        match self.client.check(request).await {
            Ok(response) => self.outcome_of(response, scope),
            Err(error) => {
                tracing::warn!(code = error.code(), %error, "allowly gate: check failed; denying");
                deny(scope, error_reason(&error))
            }
        }
    }

    fn outcome_of(&self, mut response: CheckResponse, scope: String) -> Outcome {
        let Some(result) = response.results.remove(&scope) else {
            return deny(scope, "protocol_error");
        };
        let result = self.apply_fail_mode(&scope, result);
        let ScopeResult {
            decision,
            reason,
            receipt,
            confirm_nonce,
            confirmation_id,
            confirm_prompt_hint,
            confirm_expires_at,
            ..
        } = result;
        match (decision, confirm_nonce) {
            (Decision::Allow, _) => Outcome::Allow { scope, reason, receipt },
            (Decision::Confirm, Some(nonce)) => Outcome::Confirm {
                scope,
                prompt_hint: confirm_prompt_hint,
                confirmation_id,
                nonce: ConfirmNonce(nonce),
                expires_at: confirm_expires_at,
                receipt,
            },
            // A confirm without a nonce cannot be answered; escalations have no MCP flow yet.
            (Decision::Confirm, None) | (Decision::Deny | Decision::Escalate, _) => {
                Outcome::Deny { scope, reason, receipt }
            }
        }
    }

    /// Fallback results follow the gate's [`FailMode`](crate::FailMode), whatever the client was configured with.
    fn apply_fail_mode(&self, scope: &str, mut result: ScopeResult) -> ScopeResult {
        if !result.is_fallback {
            return result;
        }
        let timeout = result.reason.ends_with("_timeout");
        let (decision, reason) = match (self.config.fail_mode.is_open(scope), timeout) {
            (true, false) => (Decision::Allow, reason::FALLBACK_OPEN_UNREACHABLE),
            (true, true) => (Decision::Allow, reason::FALLBACK_OPEN_TIMEOUT),
            (false, false) => (Decision::Deny, reason::FALLBACK_CLOSED_UNREACHABLE),
            (false, true) => (Decision::Deny, reason::FALLBACK_CLOSED_TIMEOUT),
        };
        result.decision = decision;
        result.reason = reason.to_owned();
        result
    }
}

fn deny(scope: String, reason: &str) -> Outcome {
    Outcome::Deny { scope, reason: reason.to_owned(), receipt: None }
}

/// A failed check or approval is reported by the error's stable code (`invalid_api_key`, `confirmation_expired`, …):
/// it names what to fix without carrying the error text, which may quote a URL.
fn error_reason(error: &Error) -> &str {
    error.code()
}
