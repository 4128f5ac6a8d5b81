//! Verifying a webhook delivery from an Allowly server on the receiving side: the Standard Webhooks signature
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256(secret, "id.timestamp.body")>`,
//! `whsec_` secrets), the timestamp tolerance, the workspace the event belongs to, and replays.
//!
//! Authentication comes first and runs on the exact received bytes: nothing of the body is parsed before its
//! signature verified, so a forged body cannot reach the JSON parser. The body is then parsed strictly (duplicate
//! member names are refused, as they would let two readers see two events) and must name the expected workspace and
//! repeat the `webhook-id`. Only then is the id recorded as seen: an unauthenticated request cannot fill the store.
//! This is the same profile as 0.8.0's `verify_resolution_webhook` (32-byte keys, 300 s, at most 8 signatures, 16 KiB),
//! extended to every event type the server sends.

mod seen;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub use seen::{MemorySeenIds, SeenIds};

use crate::error::{Error, WebhookError, WebhookErrorKind};

/// How far a delivery's `webhook-timestamp` may be from the receiver's clock, either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);
/// The largest body accepted (the server's events are far smaller).
pub const MAX_BODY: usize = 16 * 1024;
const MAX_SIGNATURES: usize = 8;

/// Options of [`verify_webhook_with`]; [`Default`] is what [`verify_webhook`] uses.
#[derive(Clone, Copy)]
pub struct WebhookVerifyOptions<'a> {
    /// Default 300 s.
    pub tolerance: Duration,
    /// The receiver's clock in Unix seconds; `None` reads the system clock.
    pub now: Option<i64>,
    /// Where accepted ids are remembered; `None` is one bounded in-memory store shared by the whole process. Borrowed,
    /// so a binding can lend a store that lives only for the call (a JavaScript callback).
    pub seen: Option<&'a dyn SeenIds>,
}

impl Default for WebhookVerifyOptions<'_> {
    fn default() -> Self {
        Self { tolerance: DEFAULT_TOLERANCE, now: None, seen: None }
    }
}

impl std::fmt::Debug for WebhookVerifyOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookVerifyOptions")
            .field("tolerance", &self.tolerance)
            .field("now", &self.now)
            .field("seen", &self.seen.as_ref().map(|_| "custom"))
            .finish()
    }
}

/// A verified event.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// The `webhook-id` (`evt_…` for resolution events, `msg_…` for the generic webhook's).
    pub id: String,
    /// `confirmation.resolved`, `escalation.resolved`, `confirmation.created`, `authorization.revoked`, …
    pub event_type: String,
    /// The event's own `timestamp` (RFC 3339), when it happened; the header's is when it was sent.
    pub timestamp: String,
    pub workspace_id: String,
    /// The event's `data` object (ids only).
    pub data: serde_json::Value,
}

fn fail(kind: WebhookErrorKind, message: impl Into<String>) -> Error {
    Error::Webhook(WebhookError::new(kind, message))
}

fn malformed(message: impl Into<String>) -> Error {
    fail(WebhookErrorKind::Malformed, message)
}

/// The raw key of a `whsec_` secret: canonical base64 of exactly 32 bytes (the server's, and 0.8.0's profile).
/// HMAC-SHA256 over `{id}.{timestamp}.{body}`: the one definition of what a `v1` signature covers, for the server
/// that signs deliveries ([`signature`]) and the receivers that verify them.
fn delivery_mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` value of a delivery: `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, where
/// `key` is the secret's 32 bytes (the base64 after `whsec_`).
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mac = delivery_mac(key, id, &timestamp.to_string(), body);
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

fn signing_key(secret: &str) -> Result<Vec<u8>, Error> {
    let bad = || Error::invalid_input("secret", "must be whsec_ followed by the canonical base64 of 32 bytes");
    let b64 = secret.strip_prefix("whsec_").ok_or_else(bad)?;
    let key = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| bad())?;
    if key.len() != 32 || base64::engine::general_purpose::STANDARD.encode(&key) != b64 {
        return Err(bad());
    }
    Ok(key)
}

/// The three signed headers, found case-insensitively; each must appear once, be printable ASCII and bounded.
fn signed_headers<I, K, V>(headers: I) -> Result<[String; 3], Error>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    const NAMES: [&str; 3] = ["webhook-id", "webhook-timestamp", "webhook-signature"];
    let mut found: [Option<String>; 3] = [None, None, None];
    for (name, value) in headers {
        let Some(i) = NAMES.iter().position(|n| n.eq_ignore_ascii_case(name.as_ref())) else { continue };
        let value = value.as_ref();
        let limit = if i == 2 { 1024 } else { 128 };
        if found[i].is_some() {
            return Err(malformed(format!("header {} appears more than once", NAMES[i])));
        }
        if value.is_empty() || value.len() > limit || !value.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(malformed(format!("header {} is empty, too long or not printable ASCII", NAMES[i])));
        }
        found[i] = Some(value.to_owned());
    }
    let [Some(id), Some(ts), Some(sig)] = found else {
        return Err(malformed("missing webhook-id, webhook-timestamp or webhook-signature header"));
    };
    Ok([id, ts, sig])
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn parse_timestamp(ts: &str) -> Option<i64> {
    let canonical = ts == "0" || (!ts.starts_with('0') && ts.len() <= 12 && ts.bytes().all(|b| b.is_ascii_digit()));
    canonical.then(|| ts.parse().ok()).flatten()
}

/// [`verify_webhook_with`] with the default options: 300 s tolerance, the system clock, the process's in-memory
/// seen-id store.
pub fn verify_webhook<I, K, V>(
    body: &[u8],
    headers: I,
    secret: &str,
    expected_workspace_id: &str,
) -> Result<WebhookEvent, Error>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    verify_webhook_with(body, headers, secret, expected_workspace_id, &WebhookVerifyOptions::default())
}

/// Verifies one delivery: `body` exactly as received, its headers (any case), the endpoint's `whsec_` secret and
/// the workspace the receiver expects events from (trusted configuration, never read from the request).
pub fn verify_webhook_with<I, K, V>(
    body: &[u8],
    headers: I,
    secret: &str,
    expected_workspace_id: &str,
    options: &WebhookVerifyOptions<'_>,
) -> Result<WebhookEvent, Error>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    if expected_workspace_id.is_empty() {
        return Err(Error::invalid_input("expected_workspace_id", "must name the workspace (trusted configuration)"));
    }
    let key = signing_key(secret)?;
    if body.is_empty() || body.len() > MAX_BODY {
        return Err(malformed(format!("the body must be 1 to {MAX_BODY} bytes")));
    }
    let [id, ts_text, signatures] = signed_headers(headers)?;
    if !valid_id(&id) {
        return Err(malformed("webhook-id must be 1-128 characters of A-Z a-z 0-9 _ -"));
    }
    let ts = parse_timestamp(&ts_text).ok_or_else(|| malformed("webhook-timestamp must be Unix seconds"))?;
    let now = options.now.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    });
    let tolerance = i64::try_from(options.tolerance.as_secs()).unwrap_or(i64::MAX);
    if now.abs_diff(ts) > tolerance.unsigned_abs() {
        let (which, by) = if ts < now { ("old", now - ts) } else { ("in the future", ts - now) };
        return Err(fail(
            WebhookErrorKind::Timestamp,
            format!("webhook-timestamp is {by} s {which}, outside the {tolerance} s tolerance"),
        ));
    }
    let entries: Vec<&str> = signatures.split(' ').filter(|s| !s.is_empty()).collect();
    if entries.is_empty() || entries.len() > MAX_SIGNATURES {
        return Err(malformed(format!("webhook-signature must hold 1 to {MAX_SIGNATURES} signatures")));
    }
    let mac = delivery_mac(&key, &id, &ts_text, body);
    let mut verified = false;
    for entry in entries {
        let Some((scheme, sig)) = entry.split_once(',') else {
            return Err(malformed("a webhook-signature entry is not <version>,<signature>"));
        };
        if scheme != "v1" {
            continue; // Other schemes (asymmetric v1a, future versions) are not ours to judge.
        }
        let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(sig) else { continue };
        verified |= mac.clone().verify_slice(&sig).is_ok();
    }
    if !verified {
        return Err(fail(WebhookErrorKind::SignatureMismatch, "no v1 signature matches the body and headers"));
    }
    let event = parse_event(body, &id, expected_workspace_id)?;
    let process = process_store();
    let seen: &dyn SeenIds = options.seen.unwrap_or(&*process);
    if !seen.check_and_record(&id, ts.saturating_add(tolerance)) {
        return Err(fail(WebhookErrorKind::Replay, format!("webhook {id} was already accepted (a replay)")));
    }
    Ok(event)
}

fn process_store() -> Arc<MemorySeenIds> {
    static STORE: OnceLock<Arc<MemorySeenIds>> = OnceLock::new();
    STORE.get_or_init(|| Arc::new(MemorySeenIds::default())).clone()
}

/// The authenticated body: an object `{data, id, timestamp, type, workspace_id}` (strictly parsed) whose `id` is the
/// header's and whose workspace is the expected one.
fn parse_event(body: &[u8], id: &str, expected_workspace_id: &str) -> Result<WebhookEvent, Error> {
    let parsed =
        crate::receipt::json::parse(body).map_err(|e| malformed(format!("the body is not strict JSON: {e}")))?;
    let value = parsed.to_serde().ok_or_else(|| malformed("the body holds a value JSON cannot carry"))?;
    let obj = value.as_object().ok_or_else(|| malformed("the body is not a JSON object"))?;
    let text = |k: &str| {
        obj.get(k)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| malformed(format!("the event has no {k} string")))
    };
    let workspace_id = text("workspace_id")?;
    if workspace_id != expected_workspace_id {
        return Err(fail(WebhookErrorKind::WorkspaceMismatch, "the event belongs to another workspace"));
    }
    if text("id")? != id {
        return Err(malformed("the event's id is not its webhook-id"));
    }
    let data =
        obj.get("data").filter(|d| d.is_object()).cloned().ok_or_else(|| malformed("the event has no data object"))?;
    Ok(WebhookEvent { id: id.to_owned(), event_type: text("type")?, timestamp: text("timestamp")?, workspace_id, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 0.8.0's published example: key bytes 0..32, body and signature as in its test suite (computed with openssl).
    #[test]
    fn the_official_golden_delivery_verifies() {
        let key: Vec<u8> = (0u8..32).collect();
        let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(&key));
        let body = br#"{"id":"evt_1","type":"confirmation.resolved","timestamp":"2023-11-14T22:13:00Z","workspace_id":"ws_test","data":{"prompt_id":"cnf_1","status":"approved","source_receipt_id":null,"resolution_receipt_id":"rcp_1"}}"#;
        let headers = [
            ("Webhook-Id", "evt_1"),
            ("Webhook-Timestamp", "1700000000"),
            ("Webhook-Signature", "v2,x v1,ccj9r4381eeqEORTlD4qdKOXeGA63FYeGAv62T9IPOI="),
        ];
        let store = MemorySeenIds::default();
        let opts = WebhookVerifyOptions { now: Some(1_700_000_100), seen: Some(&store), ..Default::default() };
        let event = verify_webhook_with(body, headers, &secret, "ws_test", &opts).expect("verifies");
        assert_eq!((event.id.as_str(), event.event_type.as_str()), ("evt_1", "confirmation.resolved"));
        assert_eq!(event.data["prompt_id"], "cnf_1");
        let again = verify_webhook_with(body, headers, &secret, "ws_test", &opts).unwrap_err();
        assert!(matches!(&again, Error::Webhook(e) if e.kind == WebhookErrorKind::Replay), "{again}");
        let other = verify_webhook_with(body, headers, &secret, "ws_other", &opts).unwrap_err();
        assert!(matches!(&other, Error::Webhook(e) if e.kind == WebhookErrorKind::WorkspaceMismatch), "{other}");
        let late = WebhookVerifyOptions { now: Some(1_700_000_301), ..opts };
        let stale = verify_webhook_with(body, headers, &secret, "ws_test", &late).unwrap_err();
        assert!(matches!(&stale, Error::Webhook(e) if e.kind == WebhookErrorKind::Timestamp), "{stale}");
        assert!(!stale.to_string().contains(&secret[6..]));
    }

    #[test]
    fn secrets_and_workspace_are_caller_configuration() {
        for secret in ["", "whsec_", "whsec_AAAA", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="] {
            let e = verify_webhook(b"{}", [("webhook-id", "evt_1")], secret, "ws").unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Validation, "{secret:?}");
        }
        let ok = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let e = verify_webhook(b"{}", [("webhook-id", "evt_1")], ok, "").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Validation);
    }
}
