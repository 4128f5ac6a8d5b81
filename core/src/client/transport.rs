//! Request execution: authentication headers, idempotency keys, retries with backoff, deadlines, error mapping and
//! redaction. Every route goes through [`Transport::call`], so these rules hold everywhere or nowhere.
//!
//! - One `Idempotency-Key` per logical POST/DELETE, reused by all its retries: the server then applies the call once
//!   however many attempts reached it.
//! - Retries only where another attempt can succeed: transport failures and 408/429/502/503/504. Never 500 or 4xx —
//!   they would fail the same way. A 429 or 503 waits the server's `Retry-After` (at most 30 s) instead of the
//!   backoff — a 503 `overloaded` is a server shedding load, and an early retry would only add to it — and gives up
//!   early when that wait would overrun the call's deadline; the error then keeps the status and `Retry-After`.
//! - Messages never carry the API key, a confirmation nonce, or a URL (a URL may hold the nonce): reqwest errors are
//!   stripped of their URL and every message built from server text is redacted.

use std::error::Error as StdError;
use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::Url;

use super::config::ClientConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::model::ErrorEnvelope;

/// The longest `Retry-After` the client honours; a server asking for more gets its answer as an error sooner.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Cap of one exponential backoff step.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// What replaces a secret in any message.
const REDACTED: &str = "[redacted]";
const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// `allowly-core/<version>`, the start of every `User-Agent`.
pub(crate) const CORE_USER_AGENT: &str = concat!("allowly-core/", env!("CARGO_PKG_VERSION"));

/// One logical call: everything needed to run (and re-run) it.
pub(crate) struct Call<'a> {
    method: Method,
    /// The route template (`POST /v1/confirmations/{confirm_nonce}`): used in messages and logs instead of the URL.
    route: &'static str,
    path: Vec<&'a str>,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    attempt_timeout: Option<Duration>,
    deadline: Option<Instant>,
    /// A value to redact from every message besides the API key (the confirmation nonce).
    secret: Option<&'a str>,
    /// The caller's own idempotency key; POST and DELETE get a fresh one per call otherwise.
    idempotency_key: Option<String>,
    /// Overrides the client's `max_retries` for this call.
    max_retries: Option<u32>,
    /// `X-Allowly-Agent-Token` of this call (the same token on every retry).
    agent_token: Option<String>,
}

impl<'a> Call<'a> {
    pub(crate) fn new(method: Method, route: &'static str, path: Vec<&'a str>) -> Self {
        Call {
            method,
            route,
            path,
            query: Vec::new(),
            body: None,
            attempt_timeout: None,
            deadline: None,
            secret: None,
            idempotency_key: None,
            max_retries: None,
            agent_token: None,
        }
    }

    pub(crate) fn json<T: Serialize>(mut self, body: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::Protocol { message: format!("{}: cannot serialize the request: {e}", self.route) })?;
        self.body = Some(bytes);
        Ok(self)
    }

    pub(crate) fn query(mut self, name: &'static str, value: String) -> Self {
        self.query.push((name, value));
        self
    }

    /// Fewer retries than the client's `max_retries`, for a call whose failure answer is itself the result.
    pub(crate) fn max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = Some(max_retries);
        self
    }

    /// Per-attempt timeout; the client's `timeout` when not set.
    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// The whole call, retries included, must finish by then.
    pub(crate) fn deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    pub(crate) fn secret(mut self, secret: &'a str) -> Self {
        self.secret = Some(secret);
        self
    }

    pub(crate) fn agent_token(mut self, token: Option<String>) -> Self {
        self.agent_token = token;
        self
    }

    pub(crate) fn idempotency_key(mut self, key: Option<String>) -> Self {
        self.idempotency_key = key;
        self
    }
}

/// What one attempt brought back (any status).
struct Reply {
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

pub(crate) struct Transport {
    http: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    api_key: String,
    max_retries: u32,
    base_delay: Duration,
    timeout: Duration,
}

impl Transport {
    pub(crate) fn new(config: &ClientConfig, base: Url) -> Result<Self> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.api_key))
            .map_err(|_| Error::Config { message: "api_key is not a valid header value".into() })?;
        auth.set_sensitive(true);
        let user_agent = match &config.user_agent {
            Some(extra) if !extra.trim().is_empty() => format!("{CORE_USER_AGENT} {}", extra.trim()),
            _ => CORE_USER_AGENT.to_owned(),
        };
        let user_agent = HeaderValue::from_str(&user_agent)
            .map_err(|_| Error::Config { message: "user_agent is not a valid header value".into() })?;
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .https_only(!config.allow_insecure_http)
            // A redirect could carry the bearer token somewhere else; the API never redirects.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| Error::Config { message: format!("cannot build the HTTP client: {}", e.without_url()) })?;
        Ok(Transport {
            http,
            base,
            auth,
            api_key: config.api_key.clone(),
            max_retries: config.max_retries,
            base_delay: config.retry_base_delay,
            timeout: config.timeout,
        })
    }

    pub(crate) fn base_url(&self) -> &Url {
        &self.base
    }

    /// The per-attempt timeout configured for the client.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs the call and parses a 2xx body as `T`.
    pub(crate) async fn call<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T> {
        let (route, secret) = (call.route, call.secret);
        let body = self.execute(call).await?;
        self.decode(route, &body, secret)
    }

    /// Runs the call and returns a 2xx body as text.
    pub(crate) async fn call_text(&self, call: Call<'_>) -> Result<String> {
        let route = call.route;
        let body = self.execute(call).await?;
        String::from_utf8(body).map_err(|_| Error::Protocol { message: format!("{route}: response body is not UTF-8") })
    }

    /// A 2xx body that is not the expected model is a protocol error naming the route (and serde names the field).
    fn decode<T: DeserializeOwned>(&self, route: &str, body: &[u8], secret: Option<&str>) -> Result<T> {
        serde_json::from_slice(body).map_err(|e| Error::Protocol {
            message: self.redact(&format!("{route}: unexpected response body: {e}"), secret),
        })
    }

    /// The retry loop. Returns the body of a 2xx answer, or the mapped error of the last attempt.
    async fn execute(&self, call: Call<'_>) -> Result<Vec<u8>> {
        let url = self.url(&call);
        let idempotency_key = match &call.idempotency_key {
            Some(key) => Some(key.clone()),
            None => matches!(call.method, Method::POST | Method::DELETE).then(|| uuid::Uuid::new_v4().to_string()),
        };
        let attempt_timeout = call.attempt_timeout.unwrap_or(self.timeout);
        let mut attempt: u32 = 0;
        loop {
            let timeout = match call.deadline {
                Some(deadline) => {
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    if remaining.is_zero() {
                        return Err(Error::Timeout { message: format!("{}: deadline elapsed", call.route) });
                    }
                    remaining.min(attempt_timeout)
                }
                None => attempt_timeout,
            };
            let (error, retryable, server_wait) =
                match self.attempt(&call, &url, idempotency_key.as_deref(), timeout).await {
                    Ok(reply) if (200..300).contains(&reply.status) => {
                        tracing::debug!(route = call.route, attempt, status = reply.status, "allowly request done");
                        return Ok(reply.body);
                    }
                    Ok(reply) => {
                        tracing::debug!(route = call.route, attempt, status = reply.status, "allowly request failed");
                        let retryable = matches!(reply.status, 408 | 429 | 502 | 503 | 504);
                        let server_wait = if matches!(reply.status, 429 | 503) { reply.retry_after } else { None };
                        (self.status_error(call.route, &reply, call.secret), retryable, server_wait)
                    }
                    Err(error) => {
                        tracing::debug!(route = call.route, attempt, code = error.code(), "allowly request failed");
                        let retryable = matches!(error, Error::Network { .. } | Error::Timeout { .. });
                        (error, retryable, None)
                    }
                };
            if !retryable || attempt >= call.max_retries.unwrap_or(self.max_retries) {
                return Err(error);
            }
            let delay = match server_wait {
                Some(wait) => wait.min(MAX_RETRY_AFTER),
                None => self.backoff(attempt),
            };
            if let Some(deadline) = call.deadline {
                if Instant::now() + delay >= deadline {
                    // Waiting would overrun the caller's budget; the last answer is the honest result.
                    return Err(error);
                }
            }
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// One HTTP exchange, bounded by `timeout` from sending to the last body byte.
    async fn attempt(
        &self,
        call: &Call<'_>,
        url: &Url,
        idempotency_key: Option<&str>,
        timeout: Duration,
    ) -> Result<Reply> {
        let mut builder = self
            .http
            .request(call.method.clone(), url.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/json");
        if let Some(key) = idempotency_key {
            builder = builder.header(IDEMPOTENCY_KEY, key);
        }
        if let Some(token) = &call.agent_token {
            let mut value = HeaderValue::from_str(token)
                .map_err(|_| Error::Config { message: "the agent token is not a valid header value".into() })?;
            value.set_sensitive(true);
            builder = builder.header(crate::agent_identity::AGENT_TOKEN_HEADER, value);
        }
        if let Some(body) = &call.body {
            builder = builder.header(CONTENT_TYPE, "application/json").body(body.clone());
        }
        let exchange = async {
            let response = builder.send().await?;
            let status = response.status().as_u16();
            let retry_after = response.headers().get(RETRY_AFTER).and_then(parse_retry_after);
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>(Reply { status, retry_after, body: body.to_vec() })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(error)) => Err(self.transport_error(call.route, error, call.secret)),
            Err(_) => {
                Err(Error::Timeout { message: format!("{}: no response within {}", call.route, fmt_duration(timeout)) })
            }
        }
    }

    fn url(&self, call: &Call<'_>) -> Url {
        let mut url = self.base.clone();
        {
            // http(s) URLs always have path segments; validated at construction.
            let mut segments = url.path_segments_mut().expect("http(s) base URL can be a base");
            segments.pop_if_empty().extend(&call.path);
        }
        for (name, value) in &call.query {
            url.query_pairs_mut().append_pair(name, value);
        }
        url
    }

    /// Exponential backoff with full jitter: uniform in `[0, min(cap, base × 2^attempt)]`.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.base_delay.saturating_mul(2u32.saturating_pow(attempt)).min(MAX_BACKOFF);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::thread_rng().gen_range(0..=nanos))
    }

    fn transport_error(&self, route: &str, error: reqwest::Error, secret: Option<&str>) -> Error {
        let error = error.without_url();
        if error.is_timeout() {
            return Error::Timeout { message: format!("{route}: request timed out") };
        }
        let mut message = format!("{route}: {error}");
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        let message = self.redact(&message, secret);
        if error.is_builder() { Error::Config { message } } else { Error::Network { message } }
    }

    /// Maps a non-2xx answer to the error enum, from the error envelope when there is one.
    fn status_error(&self, route: &str, reply: &Reply, secret: Option<&str>) -> Error {
        let status = reply.status;
        let (kind, fallback_code) = status_kind(status);
        let (code, message, fields) = match serde_json::from_slice::<ErrorEnvelope>(&reply.body) {
            Ok(envelope) => (envelope.error.code, envelope.error.message, envelope.error.fields),
            Err(_) => (fallback_code.to_owned(), format!("{route} returned HTTP {status}"), Vec::new()),
        };
        let code = self.redact(&code, secret);
        let message = self.redact(&message, secret);
        let fields = fields
            .into_iter()
            .map(|f| crate::error::FieldError {
                field: self.redact(&f.field, secret),
                message: self.redact(&f.message, secret),
            })
            .collect();
        match kind {
            ErrorKind::Validation => Error::Validation { code, message, fields, status: Some(status) },
            ErrorKind::Authentication => Error::Authentication { code, message },
            ErrorKind::PermissionDenied => Error::PermissionDenied { code, message },
            ErrorKind::NotFound => Error::NotFound { code, message },
            ErrorKind::Conflict => Error::Conflict { status, code, message },
            ErrorKind::Timeout => {
                Error::Timeout { message: format!("{route}: server answered 408 ({code}): {message}") }
            }
            ErrorKind::RateLimited => Error::RateLimited { code, message, retry_after: reply.retry_after },
            ErrorKind::Server => Error::Server { status, code, message, retry_after: reply.retry_after },
            ErrorKind::Protocol
            | ErrorKind::Network
            | ErrorKind::Config
            | ErrorKind::Verification
            | ErrorKind::Webhook => Error::Protocol { message: format!("{route}: unexpected HTTP status {status}") },
        }
    }

    /// Removes the API key, the call's secret (raw and percent-encoded) and anything shaped like an Allowly key.
    pub(crate) fn redact(&self, text: &str, secret: Option<&str>) -> String {
        let mut out = text.replace(&self.api_key, REDACTED);
        if let Some(secret) = secret.filter(|s| !s.is_empty()) {
            out = out.replace(secret, REDACTED);
            let encoded = encode_segment(secret);
            if encoded != secret {
                out = out.replace(&encoded, REDACTED);
            }
        }
        redact_key_like(&out)
    }
}

/// Failures worth waiting out in a polling loop: the next poll may succeed.
pub(crate) fn is_transient(error: &Error) -> bool {
    matches!(error, Error::Network { .. } | Error::Timeout { .. } | Error::Server { .. } | Error::RateLimited { .. })
}

/// The one place a non-2xx status becomes an error kind, with the code used when the body is not an error envelope
/// (a proxy's HTML page, an empty 502). A status the wire contract does not use is a protocol error.
fn status_kind(status: u16) -> (ErrorKind, &'static str) {
    match status {
        400 => (ErrorKind::Validation, "malformed_json"),
        401 => (ErrorKind::Authentication, "invalid_api_key"),
        403 => (ErrorKind::PermissionDenied, "forbidden"),
        404 => (ErrorKind::NotFound, "not_found"),
        408 => (ErrorKind::Timeout, "request_timeout"),
        409 => (ErrorKind::Conflict, "conflict"),
        410 => (ErrorKind::Conflict, "gone"),
        413 => (ErrorKind::Validation, "payload_too_large"),
        422 => (ErrorKind::Validation, "validation_error"),
        429 => (ErrorKind::RateLimited, "rate_limited"),
        503 => (ErrorKind::Server, "unavailable"),
        500..=599 => (ErrorKind::Server, "server_error"),
        _ => (ErrorKind::Protocol, "unexpected_status"),
    }
}

/// `Retry-After` as delta-seconds or an HTTP-date (a date in the past means "now").
pub(crate) fn parse_retry_after(value: &HeaderValue) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(text).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// `30s`, `1.5s` or `250ms`, for messages.
pub(crate) fn fmt_duration(duration: Duration) -> String {
    if duration >= Duration::from_secs(1) {
        if duration.subsec_millis() == 0 {
            format!("{}s", duration.as_secs())
        } else {
            format!("{:.1}s", duration.as_secs_f64())
        }
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// The percent-encoded form a value takes as one URL path segment.
fn encode_segment(value: &str) -> String {
    let mut url = Url::parse("http://redact.invalid/").expect("static URL parses");
    url.path_segments_mut().expect("http URL can be a base").push(value);
    url.path().trim_start_matches('/').to_owned()
}

/// Replaces `allowly_rt_…` / `allowly_setup_…` / `allowly_mk_…` (member) tokens (prefix + at least 8 alphanumerics) with `[redacted]`, so a
/// server that echoes some other key still cannot leak it through us.
fn redact_key_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for prefix in ["allowly_rt_", "allowly_setup_", "allowly_mk_"] {
            if let Some(after) = rest.strip_prefix(prefix) {
                let tail = after.bytes().take_while(u8::is_ascii_alphanumeric).count();
                if tail >= 8 {
                    out.push_str(REDACTED);
                    rest = &after[tail..];
                    continue 'scan;
                }
            }
        }
        let ch = rest.chars().next().expect("rest is not empty");
        out.push(ch);
        rest = &rest[ch.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after(&HeaderValue::from_static("3")), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(&HeaderValue::from_static(" 0 ")), Some(Duration::ZERO));
        let soon = SystemTime::now() + Duration::from_secs(20);
        let header = HeaderValue::from_str(&httpdate::fmt_http_date(soon)).unwrap();
        let parsed = parse_retry_after(&header).unwrap();
        assert!(parsed > Duration::from_secs(17) && parsed <= Duration::from_secs(20), "{parsed:?}");
        let past = HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(parse_retry_after(&past), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(&HeaderValue::from_static("soon")), None);
    }

    #[test]
    fn key_like_tokens_are_redacted() {
        let text = format!("key {}{} leaked", "allowly_rt_", "abcdefgh12345678");
        assert_eq!(redact_key_like(&text), "key [redacted] leaked");
        assert_eq!(redact_key_like("allowly_setup_ABCDEFGH1234"), "[redacted]");
        assert_eq!(redact_key_like("allowly_mk_ABCDEFGH1234"), "[redacted]");
        assert_eq!(redact_key_like("allowly_rt_ is a prefix"), "allowly_rt_ is a prefix");
        assert_eq!(redact_key_like("héllo wörld"), "héllo wörld");
    }

    #[test]
    fn segments_are_encoded_like_the_url_library_does() {
        assert_eq!(encode_segment("a/b?c"), "a%2Fb%3Fc");
        assert_eq!(encode_segment("plain"), "plain");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(fmt_duration(Duration::from_secs(30)), "30s");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(fmt_duration(Duration::from_millis(250)), "250ms");
    }
}
