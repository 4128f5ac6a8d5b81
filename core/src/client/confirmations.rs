//! Confirmations: approving or rejecting a `confirm` decision, waiting for a decision made elsewhere, and the whole
//! check → ask → approve → re-check flow of seed 000 in one call.
//!
//! The nonce is a single-use secret: it goes into the URL path percent-encoded, and since a URL may end up in an error
//! or a log, messages of the approve route name the route template instead and are redacted of the nonce.

use std::future::Future;
use std::time::Duration;

use reqwest::Method;
use tokio::time::Instant;

use super::Client;
use super::transport::{Call, fmt_duration, is_transient};
use crate::error::{Error, Result};
use crate::model::{
    ApproveConfirmationRequest, CheckRequest, CheckResponse, Confirmation, ConfirmationMonitor, ConfirmationResolution,
    Decision, validate_id,
};

/// Polling faster than this only loads the server.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// How [`Client::wait_for_confirmation`] waits when the caller names nothing: a human answers in seconds to minutes,
/// so a minute, asking once a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    pub timeout: Duration,
    pub poll_interval: Duration,
}

impl WaitOptions {
    pub const DEFAULT: WaitOptions =
        WaitOptions { timeout: Duration::from_secs(60), poll_interval: Duration::from_secs(1) };
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What [`Client::check_with_confirmation`] hands the `ask` callback for one scope that needs the user's approval.
///
/// It deliberately does not carry the nonce: the client approves or rejects with it, so the callback (often UI code)
/// never holds the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmPrompt {
    pub scope: String,
    /// The scope's `confirm_prompt`, when the authorization set one.
    pub prompt_hint: Option<String>,
    pub confirmation_id: Option<String>,
    /// The resource of the checked request.
    pub resource: Option<String>,
}

impl Client {
    /// Records the user's answer to a `confirm` decision. `ttl` says how long the approval (or rejection) stays
    /// usable (server clamps to 60 s … 7 days). A nonce works once: reuse is `NotFound`, an expired one `Conflict`
    /// (410).
    pub async fn approve_confirmation(
        &self,
        confirm_nonce: &str,
        approved: bool,
        ttl: Option<Duration>,
    ) -> Result<ConfirmationResolution> {
        validate_id("confirm_nonce", confirm_nonce)?;
        let body = ApproveConfirmationRequest { approved, ttl_seconds: ttl.map(|t| t.as_secs().max(1)) };
        let call = Call::new(
            Method::POST,
            "POST /v1/confirmations/{confirm_nonce}",
            vec!["v1", "confirmations", confirm_nonce],
        )
        .json(&body)?
        .secret(confirm_nonce);
        self.transport().call(call).await
    }

    /// Reads a confirmation's state by its id (never by nonce).
    pub async fn get_confirmation(&self, confirmation_id: &str) -> Result<Confirmation> {
        validate_id("confirmation_id", confirmation_id)?;
        self.confirmation_call(confirmation_id, None).await
    }

    /// The 0.8.0 monitor view of a confirmation (`GET /v1/confirmations/{id}/status`): its state and whether the
    /// approval is still usable. Never by nonce.
    pub async fn get_confirmation_status(&self, confirmation_id: &str) -> Result<ConfirmationMonitor> {
        const ROUTE: &str = "GET /v1/confirmations/{confirmation_id}/status";
        validate_id("confirmation_id", confirmation_id)?;
        let call = Call::new(Method::GET, ROUTE, vec!["v1", "confirmations", confirmation_id, "status"]);
        let monitor: ConfirmationMonitor = self.transport().call(call).await?;
        if monitor.confirmation_id != confirmation_id {
            return Err(Error::Protocol { message: format!("{ROUTE}: the answer is another confirmation") });
        }
        Ok(monitor)
    }

    async fn confirmation_call(&self, confirmation_id: &str, deadline: Option<Instant>) -> Result<Confirmation> {
        let mut call = Call::new(
            Method::GET,
            "GET /v1/confirmations/{confirmation_id}",
            vec!["v1", "confirmations", confirmation_id],
        );
        if let Some(deadline) = deadline {
            call = call.deadline(deadline);
        }
        self.transport().call(call).await
    }

    /// Polls a confirmation every `poll_interval` until it is no longer pending, for at most `timeout`.
    ///
    /// Transient failures (network, timeouts, 5xx, 429) are ridden out until the deadline; `Timeout` if the user has
    /// not answered by then.
    pub async fn wait_for_confirmation(
        &self,
        confirmation_id: &str,
        timeout: Duration,
        poll_interval: Duration,
    ) -> Result<Confirmation> {
        validate_id("confirmation_id", confirmation_id)?;
        let deadline = Instant::now() + timeout;
        let poll_interval = poll_interval.max(MIN_POLL_INTERVAL);
        loop {
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    message: format!(
                        "confirmation {confirmation_id} was not resolved within {}",
                        fmt_duration(timeout)
                    ),
                });
            }
            let pause = match self.confirmation_call(confirmation_id, Some(deadline)).await {
                Ok(confirmation) if confirmation.status.is_resolved() => return Ok(confirmation),
                Ok(_) => poll_interval,
                Err(Error::RateLimited { retry_after, .. }) => retry_after.unwrap_or_default().max(poll_interval),
                Err(error) if is_transient(&error) => poll_interval,
                Err(error) => return Err(error),
            };
            tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
        }
    }

    /// The confirm flow of seed 000 in one call: check; for every scope whose decision is confirm, `ask` the user
    /// (in the request's scope order) and approve or reject its nonce; then, if anyone was asked, check the same
    /// request once more and return that. Otherwise the first response is returned as is.
    pub async fn check_with_confirmation<F, Fut>(&self, request: &CheckRequest, mut ask: F) -> Result<CheckResponse>
    where
        F: FnMut(ConfirmPrompt) -> Fut,
        Fut: Future<Output = bool>,
    {
        let first = self.check(request).await?;
        let mut asked = false;
        for scope in &request.scopes {
            let Some(result) = first.results.get(scope) else { continue };
            if result.decision != Decision::Confirm {
                continue;
            }
            let nonce = result.confirm_nonce.as_deref().ok_or_else(|| Error::Protocol {
                message: format!("POST /v1/check: confirm result for scope `{scope}` has no `confirm_nonce`"),
            })?;
            let prompt = ConfirmPrompt {
                scope: scope.clone(),
                prompt_hint: result.confirm_prompt_hint.clone(),
                confirmation_id: result.confirmation_id.clone(),
                resource: request.resource.clone(),
            };
            let approved = ask(prompt).await;
            self.approve_confirmation(nonce, approved, None).await?;
            asked = true;
        }
        if asked { self.check(request).await } else { Ok(first) }
    }
}
