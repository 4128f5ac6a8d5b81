//! Webhook delivery: a background task that drains the outbox (`store::webhooks`) with the Standard Webhooks
//! signature scheme (<https://www.standardwebhooks.com/>) and retries on failure. Both endpoints use it: the
//! generic webhook (`PUT /v1/webhook`) and the resolution webhook (`store::resolution_webhooks`); a row's channel
//! says whose URL and secret it goes out with. Every attempt passes the SSRF guard (`crate::webhook_guard`).
//!
//! Deliveries never run on a request's path: a check only inserts an outbox row in its own transaction, so a slow or
//! failing endpoint can delay notifications but never a decision. Each attempt has a hard timeout, redirects are not
//! followed (a redirect could bounce a signed payload elsewhere), and the retry schedule is the one the Standard
//! Webhooks spec recommends, after which the event is marked `failed`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::crypto::MasterKey;
use crate::store::{Store, resolution_webhooks as resolution, webhooks as db};
use crate::util;
use crate::webhook_guard::{Guard, GuardedResolver};

/// Delays before attempt 2, 3, …; after the last one fails the event is given up.
pub const RETRY_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_secs(1);
const BATCH: i64 = 32;

/// Shared with the routes: they kick the task after committing an event.
#[derive(Debug, Default)]
pub struct Dispatcher {
    kick: Notify,
}

impl Dispatcher {
    pub fn kick(&self) {
        self.kick.notify_one();
    }
}

/// `v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`, as core's receivers verify it (one definition).
pub fn signature(secret: &[u8], msg_id: &str, timestamp: i64, body: &str) -> String {
    allowly_core::webhook::signature(secret, msg_id, timestamp, body.as_bytes())
}

/// Starts the delivery task; it stops when `shutdown` flips to true. Every request resolves names through the
/// `guard` (connect-time SSRF check) and ignores proxy variables, so the checked address is the one connected to.
pub fn spawn(
    store: Store,
    master: MasterKey,
    guard: Arc<Guard>,
    mut shutdown: watch::Receiver<bool>,
) -> Arc<Dispatcher> {
    let d = Arc::new(Dispatcher::default());
    let task = d.clone();
    let http = reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver::new(guard.clone())))
        .user_agent(concat!("allowly-server/", env!("CARGO_PKG_VERSION"), " (webhooks)"))
        .build()
        .expect("reqwest client builds with static settings");
    tokio::spawn(async move {
        loop {
            if *shutdown.borrow() {
                break;
            }
            match db::lease_due(&store, BATCH).await {
                Ok(due) => {
                    let mut set = tokio::task::JoinSet::new();
                    for item in due {
                        let (store, master, http, guard) = (store.clone(), master.clone(), http.clone(), guard.clone());
                        set.spawn(async move { deliver(&store, &master, &guard, &http, item).await });
                    }
                    while set.join_next().await.is_some() {}
                }
                Err(e) => tracing::error!(error = %e, "webhook outbox read failed"),
            }
            tokio::select! {
                _ = task.kick.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
    });
    d
}

/// Why an attempt did not deliver: worth retrying (with the HTTP status, if one came back), or never deliverable
/// (the endpoint is gone, disabled or was given a newer secret). The text is the delivery log's `last_error`.
enum Failure {
    Retry(Option<u16>, &'static str),
    Cancel(&'static str),
}

/// The URL and raw secret an item is delivered with, per channel.
async fn target(store: &Store, master: &MasterKey, item: &db::Due) -> Result<(String, Vec<u8>), Failure> {
    let opened = |r: Result<Vec<u8>, String>| {
        r.map_err(|_| {
            tracing::error!(event = %item.event_type, "webhook secret cannot be opened with this master key");
            Failure::Cancel("endpoint_gone")
        })
    };
    let read_failed = |e: sqlx::Error| {
        tracing::error!(error = %e, "webhook endpoint read failed");
        Failure::Retry(None, "transport_error")
    };
    if item.channel == resolution::CHANNEL {
        match resolution::get(store.reader(), &item.workspace_id).await.map_err(read_failed)? {
            None => Err(Failure::Cancel("endpoint_gone")),
            Some(ep) if !ep.enabled => Err(Failure::Cancel("endpoint_disabled")),
            Some(ep) if Some(ep.credential_version) != item.credential_version => {
                Err(Failure::Cancel("endpoint_changed"))
            }
            Some(ep) => Ok((ep.url.clone(), opened(ep.secret(master, &item.workspace_id))?)),
        }
    } else {
        match db::get(store.reader(), &item.workspace_id).await.map_err(read_failed)? {
            None => Err(Failure::Cancel("endpoint_gone")),
            Some(ep) => Ok((ep.url.clone(), opened(ep.secret(master, &item.workspace_id))?)),
        }
    }
}

/// One signed POST. The URL is judged again first (scheme and every address), and the connection itself only
/// reaches addresses the guarded resolver checked.
async fn attempt(
    guard: &Guard,
    http: &reqwest::Client,
    url: &str,
    secret: &[u8],
    item: &db::Due,
) -> Result<u16, Failure> {
    let parsed = url::Url::parse(url).map_err(|_| Failure::Cancel("unsafe_url"))?;
    if let Err(r) = guard.check_url(&parsed).await {
        tracing::warn!(event = %item.event_type, refusal = %r, "webhook endpoint refused at connect time");
        return Err(Failure::Retry(None, r.code()));
    }
    let ts = util::now().unix_timestamp();
    let sig = signature(secret, &item.id, ts, &item.payload);
    let sent = http
        .post(parsed)
        .header("content-type", "application/json")
        .header("webhook-id", &item.id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", sig)
        .body(item.payload.clone())
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => Ok(r.status().as_u16()),
        Ok(r) => Err(Failure::Retry(Some(r.status().as_u16()), "http_error")),
        Err(e) => {
            let code = match crate::webhook_guard::refusal_of(&e) {
                Some(r) => {
                    tracing::warn!(event = %item.event_type, refusal = %r, "webhook address refused at connect time");
                    r.code()
                }
                None if e.is_timeout() => "timeout",
                None => "transport_error",
            };
            Err(Failure::Retry(None, code))
        }
    }
}

async fn deliver(store: &Store, master: &MasterKey, guard: &Guard, http: &reqwest::Client, item: db::Due) {
    let outcome = match target(store, master, &item).await {
        Ok((url, secret)) => attempt(guard, http, &url, &secret, &item).await,
        Err(f) => Err(f),
    };
    let attempt_no = item.attempts as usize; // attempts made before this one
    let result = match outcome {
        Ok(code) => db::record_attempt(store, &item.id, true, Some(code.into()), None, None).await,
        Err(Failure::Cancel(why)) => db::record_attempt(store, &item.id, false, None, None, Some(why)).await,
        Err(Failure::Retry(status, why)) => {
            let code = status.map(i64::from);
            let retry_at = RETRY_SCHEDULE
                .get(attempt_no)
                .map(|d| util::fmt_ts(util::now() + time::Duration::try_from(*d).unwrap_or(time::Duration::HOUR)));
            let why = if retry_at.is_some() { why } else { "attempts_exhausted" };
            tracing::warn!(event = %item.event_type, attempt = attempt_no + 1, status = ?code, error = why, "webhook delivery failed");
            db::record_attempt(store, &item.id, false, code, retry_at.as_deref(), Some(why)).await
        }
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "webhook attempt could not be recorded");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference libraries (secret `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`).
    #[test]
    fn retry_delays_grow() {
        assert!(RETRY_SCHEDULE.windows(2).all(|w| w[0] <= w[1]));
        assert!(RETRY_SCHEDULE[1] >= RETRY_SCHEDULE[0] * 10, "backoff, not a fixed interval");
    }

    #[test]
    fn signature_matches_standard_webhooks_reference() {
        use base64::Engine as _;
        let secret = base64::engine::general_purpose::STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
