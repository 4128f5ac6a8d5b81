//! `GET /v1/receipts/{receipt_id}` and polling until a receipt is signed.
//!
//! Signing is asynchronous on the server, so a fresh receipt is usually pending. `fetch_signed` long-polls
//! (`wait_ms`), which costs one request per signature on servers that support it and degrades to plain polling on
//! servers that ignore the parameter.

use std::time::Duration;

use reqwest::Method;
use tokio::time::Instant;

use super::Client;
use super::transport::{Call, fmt_duration, is_transient};
use crate::error::{Error, Result};
use crate::model::{ReceiptEnvelope, SignedReceipt, validate_id};

/// The longest `wait_ms` the server honours (wire-v1).
pub const MAX_RECEIPT_WAIT: Duration = Duration::from_secs(30);
/// The long-poll length `fetch_signed` asks for per request.
const LONG_POLL: Duration = Duration::from_secs(10);

/// How [`Client::fetch_signed`] polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchSignedOptions {
    /// Pause between two pending answers when the server answered before the long-poll ended (1 s by default).
    pub poll_interval: Duration,
    /// Give up after this long (30 s by default).
    pub timeout: Duration,
}

impl FetchSignedOptions {
    /// What a caller gets by naming nothing: poll every second, for as long as the server's longest wait.
    pub const DEFAULT: FetchSignedOptions =
        FetchSignedOptions { poll_interval: Duration::from_secs(1), timeout: MAX_RECEIPT_WAIT };
}

impl Default for FetchSignedOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Client {
    /// Reads a receipt envelope. With `wait`, the server holds the request up to that long (at most 30 s) until the
    /// receipt is signed; the HTTP timeout of the call is extended by the wait.
    pub async fn get_receipt(&self, receipt_id: &str, wait: Option<Duration>) -> Result<ReceiptEnvelope> {
        validate_id("receipt_id", receipt_id)?;
        self.receipt_call(receipt_id, wait, None).await
    }

    async fn receipt_call(
        &self,
        receipt_id: &str,
        wait: Option<Duration>,
        deadline: Option<Instant>,
    ) -> Result<ReceiptEnvelope> {
        let mut call = Call::new(Method::GET, "GET /v1/receipts/{receipt_id}", vec!["v1", "receipts", receipt_id]);
        if let Some(wait) = wait.map(|w| w.min(MAX_RECEIPT_WAIT)) {
            call = call.query("wait_ms", wait.as_millis().to_string()).timeout(self.timeout() + wait);
        }
        if let Some(deadline) = deadline {
            call = call.deadline(deadline);
        }
        let envelope: ReceiptEnvelope = self.transport().call(call).await?;
        if envelope.receipt_id() != receipt_id {
            return Err(Error::Protocol {
                message: format!(
                    "GET /v1/receipts/{{receipt_id}}: asked for {receipt_id}, got {}",
                    envelope.receipt_id()
                ),
            });
        }
        Ok(envelope)
    }

    /// Polls until the receipt is signed and returns it with its exact bytes, ready for offline verification.
    ///
    /// Transient failures (network, timeouts, 5xx, 429) are retried until the deadline; `NotFound` and other
    /// definite answers return at once; `Timeout` when the receipt is still pending at the deadline.
    pub async fn fetch_signed(&self, receipt_id: &str, options: FetchSignedOptions) -> Result<SignedReceipt> {
        validate_id("receipt_id", receipt_id)?;
        let deadline = Instant::now() + options.timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(Error::Timeout {
                    message: format!("receipt {receipt_id} was not signed within {}", fmt_duration(options.timeout)),
                });
            }
            let wait = remaining.min(LONG_POLL);
            let started = Instant::now();
            let pause = match self.receipt_call(receipt_id, Some(wait), Some(deadline)).await {
                Ok(ReceiptEnvelope::Signed(signed)) => return Ok(signed),
                // A server that held the request for the whole wait has already paced us.
                Ok(ReceiptEnvelope::Pending { .. }) if started.elapsed() >= wait => Duration::ZERO,
                Ok(ReceiptEnvelope::Pending { .. }) => options.poll_interval,
                Err(Error::RateLimited { retry_after, .. }) => {
                    retry_after.unwrap_or_default().max(options.poll_interval)
                }
                Err(error) if is_transient(&error) => options.poll_interval,
                Err(error) => return Err(error),
            };
            tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
        }
    }
}
