//! `verifyWebhook` and `MemorySeenIds`: core's `webhook::verify_webhook_with`, with the seen-id store given as
//! nothing (the process's in-memory store), a `MemorySeenIds` or a synchronous JavaScript callback.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use allowly_core::webhook::{self, MemorySeenIds as CoreMemorySeenIds, SeenIds, WebhookVerifyOptions};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::to_napi;

/// A bounded in-memory store of accepted webhook ids (core's `MemorySeenIds`); share one per receiver.
#[napi]
pub struct MemorySeenIds {
    inner: Arc<CoreMemorySeenIds>,
}

#[napi]
impl MemorySeenIds {
    #[napi(constructor)]
    pub fn new(capacity: Option<u32>) -> Self {
        let capacity = capacity.map_or(CoreMemorySeenIds::DEFAULT_CAPACITY, |c| c as usize);
        Self { inner: Arc::new(CoreMemorySeenIds::new(capacity)) }
    }

    /// How many ids are remembered now.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        u32::try_from(self.inner.len()).unwrap_or(u32::MAX)
    }
}

/// `toleranceSeconds` (default 300) and `now` (Unix seconds; default the system clock).
#[napi(object)]
pub struct VerifyWebhookOptions {
    pub tolerance_seconds: Option<f64>,
    pub now: Option<f64>,
}

/// A verified event: `data` is the event's `data` object.
#[napi(object)]
pub struct WebhookEvent {
    pub id: String,
    #[napi(js_name = "type")]
    pub event_type: String,
    pub timestamp: String,
    pub workspace_id: String,
    pub data: serde_json::Value,
}

/// The caller's callback `(eventId, forgetAfter) => boolean` (true when the id is new and now recorded). What it
/// throws is kept and rethrown by `verifyWebhook`; the delivery is not accepted meanwhile.
struct CallbackSeenIds<'f, 's> {
    callback: &'f Function<'s, FnArgs<(String, i64)>, bool>,
    thrown: RefCell<Option<napi::Error>>,
}

impl SeenIds for CallbackSeenIds<'_, '_> {
    fn check_and_record(&self, id: &str, forget_after: i64) -> bool {
        match self.callback.call((id.to_owned(), forget_after).into()) {
            Ok(new) => new,
            Err(e) => {
                *self.thrown.borrow_mut() = Some(e);
                false
            }
        }
    }
}

fn invalid(field: &str, message: &str) -> napi::Error {
    to_napi(allowly_core::Error::invalid_input(field, message))
}

/// Verifies one webhook delivery (`headers` as `[name, value]` pairs, so a repeated header reaches core, which
/// refuses it). At most one of `seenStore` / `seenCallback` is given.
#[napi]
pub fn verify_webhook(
    body: Buffer,
    headers: Vec<Vec<String>>,
    secret: String,
    expected_workspace_id: String,
    options: Option<VerifyWebhookOptions>,
    seen_store: Option<&MemorySeenIds>,
    seen_callback: Option<Function<FnArgs<(String, i64)>, bool>>,
) -> Result<WebhookEvent> {
    let pairs = headers
        .into_iter()
        .map(|h| match <[String; 2]>::try_from(h) {
            Ok([name, value]) => Ok((name, value)),
            Err(_) => Err(invalid("headers", "must be [name, value] pairs")),
        })
        .collect::<Result<Vec<_>>>()?;
    let tolerance = options.as_ref().and_then(|o| o.tolerance_seconds).unwrap_or(300.0);
    if !tolerance.is_finite() || tolerance < 0.0 {
        return Err(invalid("toleranceSeconds", "must be a finite number of seconds, at least 0"));
    }
    let now = options.as_ref().and_then(|o| o.now);
    if now.is_some_and(|n| !n.is_finite()) {
        return Err(invalid("now", "must be finite Unix seconds"));
    }
    let callback = seen_callback.as_ref().map(|f| CallbackSeenIds { callback: f, thrown: RefCell::new(None) });
    let store: Option<&dyn SeenIds> = match (seen_store, &callback) {
        (Some(m), _) => Some(&*m.inner),
        (None, Some(c)) => Some(c),
        (None, None) => None,
    };
    let opts = WebhookVerifyOptions {
        tolerance: Duration::from_secs_f64(tolerance),
        now: now.map(|n| n.floor() as i64),
        seen: store,
    };
    let result = webhook::verify_webhook_with(&body, pairs, &secret, &expected_workspace_id, &opts);
    if let Some(thrown) = callback.and_then(|c| c.thrown.into_inner()) {
        return Err(thrown);
    }
    let event = result.map_err(to_napi)?;
    Ok(WebhookEvent {
        id: event.id,
        event_type: event.event_type,
        timestamp: event.timestamp,
        workspace_id: event.workspace_id,
        data: event.data,
    })
}
