//! `POST /v1/check` and the fail-closed fallback.
//!
//! The safety property of the whole SDK: `check` never turns an outage into an error a caller might handle by going
//! ahead anyway, and never into an allow. When the server cannot answer — a transport error, the `check_timeout`
//! deadline elapsed, or 5xx after retries (a 503 `overloaded` from a server shedding load included: to the caller an
//! overloaded server is an unreachable one) — `check` returns a deny per scope (`fallback_closed_*`, `is_fallback`), or
//! an allow only for scopes the caller explicitly mapped to [`FallbackMode::Open`].
//!
//! It does *not* fall back on 4xx or on a malformed answer: those are bugs (bad key, bad request, incompatible server)
//! that a fallback would hide.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use tokio::time::Instant;

use super::transport::Call;
use super::{CORE_VERSION, Client, FallbackMode};
use crate::error::{Error, Result};
use crate::model::{CheckRequest, CheckResponse, Reason, ScopeResult};

/// How long the server may hold a `?wait=true` check for signing; added to the check's budget.
const CHECK_WAIT: Duration = Duration::from_secs(5);

/// Why the server did not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FallbackCause {
    Unreachable,
    Timeout,
}

impl FallbackCause {
    /// Only outages fall back; everything else is the caller's to see.
    fn of(error: &Error) -> Option<Self> {
        match error {
            Error::Timeout { .. } => Some(FallbackCause::Timeout),
            Error::Network { .. } | Error::Server { .. } => Some(FallbackCause::Unreachable),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            FallbackCause::Unreachable => "unreachable",
            FallbackCause::Timeout => "timeout",
        }
    }
}

impl Client {
    /// Checks scopes before an action. See the module docs for when this answers with a client-side fallback
    /// instead of an error.
    ///
    /// The whole call, retries included, finishes within `check_timeout` (plus 5 s when `wait` is set, the time the
    /// server may take to sign).
    pub async fn check(&self, request: &CheckRequest) -> Result<CheckResponse> {
        let agent_token = self.config().agent_token.as_ref().map(|s| s.token()).transpose()?;
        self.check_with_agent_token(request, agent_token).await
    }

    /// [`Client::check`] with this call's agent token instead of the configured source's: for a binding whose
    /// token supplier lives in the host language (and may be asynchronous there), or the official SDK's per-call
    /// `agent_token`. `None` sends no token. With a token, every scope falls back closed.
    pub async fn check_with_agent_token(
        &self,
        request: &CheckRequest,
        agent_token: Option<String>,
    ) -> Result<CheckResponse> {
        request.validate()?;
        if let Some(token) = &agent_token {
            if token.trim().is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::Config {
                    message: "the agent token must be a non-empty printable ASCII string".into(),
                });
            }
        }
        let wire = request.for_wire()?;
        let extra = if request.wait { CHECK_WAIT } else { Duration::ZERO };
        let deadline = Instant::now() + self.config().check_timeout + extra;
        let identity = agent_token.is_some();
        let mut call = Call::new(Method::POST, "POST /v1/check", vec!["v1", "check"])
            .agent_token(agent_token)
            .json(wire.as_ref())?
            .timeout(self.timeout() + extra)
            .deadline(deadline)
            .idempotency_key(request.idempotency_key.clone());
        if request.wait {
            call = call.query("wait", "true".to_owned());
        }
        match self.transport().call::<CheckResponse>(call).await {
            Ok(mut response) => {
                ensure_every_scope_answered(request, &response)?;
                // Only this client makes fallback results; a server cannot claim to be one.
                response.results.values_mut().for_each(|r| r.is_fallback = false);
                Ok(response)
            }
            Err(error) => match FallbackCause::of(&error) {
                Some(cause) => {
                    tracing::warn!(
                        cause = cause.as_str(),
                        error_code = error.code(),
                        scopes = request.scopes.len(),
                        "allowly check could not get an answer from the server; returning client-side fallback results"
                    );
                    Ok(self.fallback_response(request, cause, identity))
                }
                None => Err(error),
            },
        }
    }

    /// With an agent token every scope falls back closed: the identity could not be verified, so nothing may run
    /// unchecked on its strength (0.8.0 does the same).
    fn fallback_response(&self, request: &CheckRequest, cause: FallbackCause, identity: bool) -> CheckResponse {
        let results: BTreeMap<String, ScopeResult> = request
            .scopes
            .iter()
            .map(|scope| {
                let mode = if identity { FallbackMode::Closed } else { self.config().fallback_for(scope) };
                (scope.clone(), fallback_result(mode, cause))
            })
            .collect();
        CheckResponse {
            authorization_id: Some(request.authorization_id.clone()),
            user_id: None,
            agent_id: None,
            authorization_expires_at: None,
            engine_version: format!("{CORE_VERSION} fallback"),
            results,
        }
    }
}

fn fallback_result(mode: FallbackMode, cause: FallbackCause) -> ScopeResult {
    let reason = match (mode, cause) {
        (FallbackMode::Closed, FallbackCause::Unreachable) => Reason::FallbackClosedUnreachable,
        (FallbackMode::Closed, FallbackCause::Timeout) => Reason::FallbackClosedTimeout,
        (FallbackMode::Open, FallbackCause::Unreachable) => Reason::FallbackOpenUnreachable,
        (FallbackMode::Open, FallbackCause::Timeout) => Reason::FallbackOpenTimeout,
    };
    ScopeResult {
        decision: reason.decision(),
        reason: reason.as_str().to_owned(),
        receipt: None,
        confirm_nonce: None,
        confirmation_id: None,
        confirm_expires_at: None,
        confirm_prompt_hint: None,
        escalation_id: None,
        escalation_to: None,
        escalation_expires_at: None,
        budget: None,
        policy_eval: None,
        is_fallback: true,
    }
}

/// wire-v1 promises one result per requested scope; a caller indexing `results[scope]` must not find a hole.
fn ensure_every_scope_answered(request: &CheckRequest, response: &CheckResponse) -> Result<()> {
    match request.scopes.iter().find(|s| !response.results.contains_key(s.as_str())) {
        Some(missing) => {
            Err(Error::Protocol { message: format!("POST /v1/check: results has no entry for scope `{missing}`") })
        }
        None => Ok(()),
    }
}
