//! Escalations: a decision sent to a named member (`escalate`), read back, answered by that member, and waited on.
//!
//! Answering needs the member's own credential (`allowly_mk_…`) as the client's key: the server records the resolver
//! from it, so only the 0.8.0-compatible `resolve_escalation_as` carries a "resolved by", and the server checks it.

use std::time::Duration;

use reqwest::Method;
use tokio::time::Instant;

use super::Client;
use super::transport::{Call, fmt_duration, is_transient};
use crate::error::{Error, Result};
use crate::model::{
    EscalationMonitor, EscalationResolution, EscalationResolved, ResolveEscalationRequest, validate_id,
};

/// Polling faster than this only loads the server (the same floor as confirmations).
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(10);

impl Client {
    /// The 0.8.0 monitor view of an escalation (`escalations.get_status`): whether the member has answered and
    /// whether an approval is still usable. An answer about another escalation is a protocol error, since acting on
    /// it would act on the wrong decision.
    pub async fn get_escalation_status(&self, escalation_id: &str) -> Result<EscalationMonitor> {
        self.escalation_call(escalation_id, None).await
    }

    async fn escalation_call(&self, escalation_id: &str, deadline: Option<Instant>) -> Result<EscalationMonitor> {
        const ROUTE: &str = "GET /v1/escalations/{escalation_id}";
        validate_id("escalation_id", escalation_id)?;
        let mut call = Call::new(Method::GET, ROUTE, vec!["v1", "escalations", escalation_id]);
        if let Some(deadline) = deadline {
            call = call.deadline(deadline);
        }
        let monitor: EscalationMonitor = self.transport().call(call).await?;
        if monitor.escalation_id != escalation_id {
            return Err(Error::Protocol { message: format!("{ROUTE}: the answer is another escalation") });
        }
        Ok(monitor)
    }

    /// Answers the level the escalation waits on, as the member whose credential this client holds. Another member's
    /// credential is `PermissionDenied` (`escalation_wrong_member`); an escalation already answered at that level is
    /// `Conflict` (`escalation_not_pending`), one past its expiry `Conflict` (410 `escalation_expired`).
    ///
    /// Retries reuse one `Idempotency-Key`, so when an answer is lost the server replays the recorded resolution
    /// instead of refusing a second one.
    pub async fn resolve_escalation(
        &self,
        escalation_id: &str,
        resolution: EscalationResolution,
        note: Option<&str>,
    ) -> Result<EscalationResolved> {
        self.resolve_escalation_as(escalation_id, resolution, None, note).await
    }

    /// [`Client::resolve_escalation`] that also sends `resolved_by`, for code written against the official 0.8.0
    /// SDK (`escalations.approve(id, resolved_by=...)`). It names no one: the server answers 403
    /// `resolved_by_mismatch` unless it is this credential's member (`member:<id>` or `<id>`), and records the
    /// credential's member either way.
    pub async fn resolve_escalation_as(
        &self,
        escalation_id: &str,
        resolution: EscalationResolution,
        resolved_by: Option<&str>,
        note: Option<&str>,
    ) -> Result<EscalationResolved> {
        const ROUTE: &str = "POST /v1/escalations/{escalation_id}/resolve";
        validate_id("escalation_id", escalation_id)?;
        let body = ResolveEscalationRequest {
            resolution,
            resolved_by: resolved_by.map(str::to_owned),
            note: note.map(str::to_owned),
        };
        body.validate()?;
        let call = Call::new(Method::POST, ROUTE, vec!["v1", "escalations", escalation_id, "resolve"]).json(&body)?;
        let resolved: EscalationResolved = self.transport().call(call).await?;
        if resolved.escalation_id != escalation_id {
            return Err(Error::Protocol { message: format!("{ROUTE}: the answer is another escalation") });
        }
        if resolved.status != resolution {
            return Err(Error::Protocol { message: format!("{ROUTE}: the server recorded another answer") });
        }
        Ok(resolved)
    }

    /// [`Client::resolve_escalation`] with `approved`.
    pub async fn approve_escalation(&self, escalation_id: &str, note: Option<&str>) -> Result<EscalationResolved> {
        self.resolve_escalation(escalation_id, EscalationResolution::Approved, note).await
    }

    /// [`Client::resolve_escalation`] with `rejected`.
    pub async fn reject_escalation(&self, escalation_id: &str, note: Option<&str>) -> Result<EscalationResolved> {
        self.resolve_escalation(escalation_id, EscalationResolution::Rejected, note).await
    }

    /// Polls an escalation every `poll_interval` until no member is asked any more (approved at its last level,
    /// rejected or expired), for at most `timeout`: the escalation twin of `wait_for_confirmation`, with the same
    /// rules (transient failures and 429s are ridden out until the deadline; `Timeout` if still pending then).
    pub async fn wait_for_escalation(
        &self,
        escalation_id: &str,
        timeout: Duration,
        poll_interval: Duration,
    ) -> Result<EscalationMonitor> {
        validate_id("escalation_id", escalation_id)?;
        let deadline = Instant::now() + timeout;
        let poll_interval = poll_interval.max(MIN_POLL_INTERVAL);
        loop {
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    message: format!("escalation {escalation_id} was not resolved within {}", fmt_duration(timeout)),
                });
            }
            let pause = match self.escalation_call(escalation_id, Some(deadline)).await {
                Ok(monitor) if monitor.is_resolved() => return Ok(monitor),
                Ok(_) => poll_interval,
                Err(Error::RateLimited { retry_after, .. }) => retry_after.unwrap_or_default().max(poll_interval),
                Err(error) if is_transient(&error) => poll_interval,
                Err(error) => return Err(error),
            };
            tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
        }
    }
}
