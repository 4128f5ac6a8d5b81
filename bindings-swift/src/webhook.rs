//! `verify_webhook` for Swift and Kotlin: core's `webhook::verify_webhook_with`, with the seen-id store given as
//! nothing (the process's in-memory store), a `MemorySeenIds` object or a foreign `SeenIdsCallback`.

use std::sync::Arc;
use std::time::Duration;

use allowly_core::webhook::{self, SeenIds, WebhookVerifyOptions};

use crate::error::{AllowlyError, Result};

/// One received header, as the receiver's HTTP framework handed it over (repeats kept: core refuses them).
#[derive(Debug, Clone, uniffi::Record)]
pub struct WebhookHeader {
    pub name: String,
    pub value: String,
}

/// A verified event; `data_json` is the event's `data` object as JSON text.
#[derive(Debug, Clone, uniffi::Record)]
pub struct WebhookEvent {
    pub id: String,
    pub event_type: String,
    pub timestamp: String,
    pub workspace_id: String,
    pub data_json: String,
}

/// A bounded in-memory store of accepted webhook ids (core's `MemorySeenIds`); share one per receiver.
#[derive(Debug, uniffi::Object)]
pub struct MemorySeenIds {
    inner: webhook::MemorySeenIds,
}

#[uniffi::export]
impl MemorySeenIds {
    /// `capacity` defaults to 100 000 ids.
    #[uniffi::constructor(default(capacity = None))]
    pub fn new(capacity: Option<u64>) -> Arc<Self> {
        let capacity = capacity.map_or(webhook::MemorySeenIds::DEFAULT_CAPACITY, |c| c as usize);
        Arc::new(Self { inner: webhook::MemorySeenIds::new(capacity) })
    }

    /// How many ids are remembered now.
    pub fn size(&self) -> u64 {
        self.inner.len() as u64
    }
}

/// The caller's own store of accepted ids (a database table, say): record `event_id` and return `true`, or return
/// `false` when it was already recorded. `forget_after` is the Unix second after which it may be dropped.
#[uniffi::export(with_foreign)]
pub trait SeenIdsCallback: Send + Sync {
    fn check_and_record(&self, event_id: String, forget_after: i64) -> bool;
}

struct Foreign<'a>(&'a dyn SeenIdsCallback);

impl SeenIds for Foreign<'_> {
    fn check_and_record(&self, id: &str, forget_after: i64) -> bool {
        self.0.check_and_record(id.to_owned(), forget_after)
    }
}

/// Verifies one webhook delivery: the exact body bytes, its headers, the endpoint's `whsec_` secret and the
/// workspace you expect. `tolerance_seconds` defaults to 300, `now` (Unix seconds) to the system clock; give at most
/// one of `seen` / `seen_callback` (neither: the process's in-memory store). Throws `Webhook` (code
/// `webhook_<kind>`) or `Validation` for a bad secret or workspace.
#[uniffi::export(default(tolerance_seconds = None, now = None, seen = None, seen_callback = None))]
#[allow(clippy::too_many_arguments)]
pub fn verify_webhook(
    body: Vec<u8>,
    headers: Vec<WebhookHeader>,
    secret: String,
    expected_workspace_id: String,
    tolerance_seconds: Option<u64>,
    now: Option<i64>,
    seen: Option<Arc<MemorySeenIds>>,
    seen_callback: Option<Arc<dyn SeenIdsCallback>>,
) -> Result<WebhookEvent> {
    let foreign = seen_callback.as_deref().map(Foreign);
    let store: Option<&dyn SeenIds> = match (&seen, &foreign) {
        (Some(m), _) => Some(&m.inner),
        (None, Some(f)) => Some(f),
        (None, None) => None,
    };
    let options = WebhookVerifyOptions {
        tolerance: tolerance_seconds.map_or(webhook::DEFAULT_TOLERANCE, Duration::from_secs),
        now,
        seen: store,
    };
    let pairs = headers.into_iter().map(|h| (h.name, h.value));
    let event = webhook::verify_webhook_with(&body, pairs, &secret, &expected_workspace_id, &options)
        .map_err(AllowlyError::from)?;
    Ok(WebhookEvent {
        id: event.id,
        event_type: event.event_type,
        timestamp: event.timestamp,
        workspace_id: event.workspace_id,
        data_json: event.data.to_string(),
    })
}
