//! Webhook delivery: a background task that drains the outbox (`store::webhooks`) with the Standard Webhooks
//! signature scheme (<https://www.standardwebhooks.com/>) and retries on failure.
//!
//! Deliveries never run on a request's path: a check only inserts an outbox row in its own transaction, so a slow or
//! failing endpoint can delay notifications but never a decision. Each attempt has a hard timeout, redirects are not
//! followed (a redirect could bounce a signed payload elsewhere), and the retry schedule is the one the Standard
//! Webhooks spec recommends, after which the event is marked `failed`.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::{Notify, watch};

use crate::crypto::MasterKey;
use crate::store::{Store, webhooks as db};
use crate::util;

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

/// `v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`.
pub fn signature(secret: &[u8], msg_id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// Starts the delivery task; it stops when `shutdown` flips to true.
pub fn spawn(store: Store, master: MasterKey, mut shutdown: watch::Receiver<bool>) -> Arc<Dispatcher> {
    let d = Arc::new(Dispatcher::default());
    let task = d.clone();
    let http = reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
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
                        let (store, master, http) = (store.clone(), master.clone(), http.clone());
                        set.spawn(async move { deliver(&store, &master, &http, item).await });
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

async fn deliver(store: &Store, master: &MasterKey, http: &reqwest::Client, item: db::Due) {
    let endpoint = match db::get(store.reader(), &item.workspace_id).await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "webhook endpoint read failed");
            return; // The lease expires and the attempt is retried.
        }
    };
    let outcome = match endpoint {
        None => Err(None), // The endpoint was removed: nothing to deliver to.
        Some(ep) => match ep.secret(master, &item.workspace_id) {
            Err(_) => {
                tracing::error!(event = %item.event_type, "webhook secret cannot be opened with this master key");
                Err(None)
            }
            Ok(secret) => {
                let ts = util::now().unix_timestamp();
                let sig = signature(&secret, &item.id, ts, &item.payload);
                let sent = http
                    .post(&ep.url)
                    .header("content-type", "application/json")
                    .header("webhook-id", &item.id)
                    .header("webhook-timestamp", ts.to_string())
                    .header("webhook-signature", sig)
                    .body(item.payload.clone())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => Ok(r.status().as_u16()),
                    Ok(r) => Err(Some(Some(r.status().as_u16()))),
                    Err(_) => Err(Some(None)),
                }
            }
        },
    };
    let attempt = item.attempts as usize; // attempts made before this one
    let result = match outcome {
        Ok(code) => db::record_attempt(store, &item.id, true, Some(code.into()), None).await,
        Err(retryable) => {
            let code = retryable.flatten().map(i64::from);
            let retry_at = retryable
                .and(RETRY_SCHEDULE.get(attempt))
                .map(|d| util::fmt_ts(util::now() + time::Duration::try_from(*d).unwrap_or(time::Duration::HOUR)));
            tracing::warn!(event = %item.event_type, attempt = attempt + 1, status = ?code, "webhook delivery failed");
            db::record_attempt(store, &item.id, false, code, retry_at.as_deref()).await
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
    fn signature_matches_standard_webhooks_reference() {
        let secret = base64::engine::general_purpose::STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
