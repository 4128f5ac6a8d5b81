//! The one error type of the whole core.
//!
//! Every binding maps these variants exactly once (Python exception classes, Node `Error` subclasses, a UniFFI error
//! enum), so the variants follow what a caller must *decide* rather than where the failure came from: retry later
//! (`RateLimited`, `Timeout`, `Network`, `Server`), fix the request (`Validation`, `Config`), fix credentials
//! (`Authentication`, `PermissionDenied`), or stop trusting data (`Protocol`, `Verification`).
//!
//! No variant ever carries an API key or a pepper: messages are built from server error envelopes and from our own
//! text, never from request headers or secrets.

use std::fmt;
use std::time::Duration;

/// A field-level validation problem, as sent by the server in `error.fields` or found locally before sending.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// What went wrong while verifying a receipt, a key document or a checkpoint.
///
/// Kinds are stable and coarse so callers can branch on them; the message names the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VerificationErrorKind {
    /// Not well-formed for the receipt format: bad JSON, duplicate member names, non-integer or unsafe numbers,
    /// unpaired surrogates, too deep or too large (canonicalization rules §4.2).
    Malformed,
    /// A required field is missing, has the wrong type, an unknown field is present, or a kind/pairing rule fails.
    Schema,
    /// `schema_version` is not `"4"` (a plain receipt) or not `"5"` (inside a wire-5 JWS).
    UnsupportedVersion,
    /// `issued_at` is not an exact UTC millisecond instant, not a calendar instant, or lies in the future.
    Timestamp,
    /// No key with the receipt's `key_id` in the key set.
    UnknownKey,
    /// The key exists but its half-open active window does not contain `issued_at`.
    KeyOutsideWindow,
    /// The key's fingerprint is not among the caller's trusted fingerprints.
    UntrustedKey,
    /// The receipt or the key document names another workspace than the expected one.
    WorkspaceMismatch,
    /// The Ed25519 signature does not verify over the signed bytes (wire 4: the canonical payload; wire 5:
    /// `protected.payload`).
    SignatureMismatch,
    /// The key document itself is invalid (§6): bad key bytes, fingerprint mismatch, duplicate key ids, bad windows.
    KeyDocument,
    /// A checkpoint's member set does not match its signed count, root or prior link (§3.7).
    Checkpoint,
}

impl VerificationErrorKind {
    /// Stable snake_case name, used as the error `code` in every language.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Schema => "schema",
            Self::UnsupportedVersion => "unsupported_version",
            Self::Timestamp => "timestamp",
            Self::UnknownKey => "unknown_key",
            Self::KeyOutsideWindow => "key_outside_window",
            Self::UntrustedKey => "untrusted_key",
            Self::WorkspaceMismatch => "workspace_mismatch",
            Self::SignatureMismatch => "signature_mismatch",
            Self::KeyDocument => "key_document",
            Self::Checkpoint => "checkpoint",
        }
    }

    /// Every kind, so binding tests can prove each one is mapped.
    pub const ALL: [VerificationErrorKind; 11] = [
        Self::Malformed,
        Self::Schema,
        Self::UnsupportedVersion,
        Self::Timestamp,
        Self::UnknownKey,
        Self::KeyOutsideWindow,
        Self::UntrustedKey,
        Self::WorkspaceMismatch,
        Self::SignatureMismatch,
        Self::KeyDocument,
        Self::Checkpoint,
    ];
}

impl fmt::Display for VerificationErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A receipt, key document or checkpoint failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct VerificationError {
    pub kind: VerificationErrorKind,
    pub message: String,
}

impl VerificationError {
    pub fn new(kind: VerificationErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

/// Why a webhook delivery was refused by `webhook::verify_webhook`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WebhookErrorKind {
    /// Headers missing, repeated or out of bounds, or the authenticated body is not the event shape.
    Malformed,
    /// No `v1` signature matches the body and headers (tampered, or another secret).
    SignatureMismatch,
    /// `webhook-timestamp` is outside the tolerance (stale or in the future).
    Timestamp,
    /// The event belongs to another workspace than the expected one.
    WorkspaceMismatch,
    /// The `webhook-id` was already accepted (a replayed delivery).
    Replay,
}

impl WebhookErrorKind {
    /// Stable snake_case name, used as the error `code` in every language.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "webhook_malformed",
            Self::SignatureMismatch => "webhook_signature_mismatch",
            Self::Timestamp => "webhook_timestamp",
            Self::WorkspaceMismatch => "webhook_workspace_mismatch",
            Self::Replay => "webhook_replay",
        }
    }

    /// Every kind, so binding tests can prove each one is mapped.
    pub const ALL: [WebhookErrorKind; 5] =
        [Self::Malformed, Self::SignatureMismatch, Self::Timestamp, Self::WorkspaceMismatch, Self::Replay];
}

/// A webhook delivery did not verify; the message never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct WebhookError {
    pub kind: WebhookErrorKind,
    pub message: String,
}

impl WebhookError {
    pub fn new(kind: WebhookErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

/// Which [`Error`] variant an error is: the one list of client error kinds.
///
/// Each binding names its exception classes, `Error` subclasses or UniFFI variants after these, and its tests walk
/// [`ErrorKind::ALL`], so a kind added here fails every binding's test until that binding maps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    Authentication,
    PermissionDenied,
    NotFound,
    Conflict,
    Validation,
    RateLimited,
    Server,
    Timeout,
    Network,
    Protocol,
    Config,
    Verification,
    Webhook,
}

impl ErrorKind {
    /// Stable snake_case name, the kind every binding reports (Node payloads, scenario outcomes).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authentication => "authentication",
            Self::PermissionDenied => "permission_denied",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::Validation => "validation",
            Self::RateLimited => "rate_limited",
            Self::Server => "server",
            Self::Timeout => "timeout",
            Self::Network => "network",
            Self::Protocol => "protocol",
            Self::Config => "config",
            Self::Verification => "verification",
            Self::Webhook => "webhook",
        }
    }

    /// The exception class the Python and Node SDKs raise for this kind (`RateLimitError` for `rate_limited`): one
    /// name in both, kept here so the two bindings cannot drift apart. Swift and Kotlin name variants after
    /// [`Self::as_str`] instead.
    pub fn class_name(self) -> &'static str {
        match self {
            Self::Authentication => "AuthenticationError",
            Self::PermissionDenied => "PermissionDeniedError",
            Self::NotFound => "NotFoundError",
            Self::Conflict => "ConflictError",
            Self::Validation => "ValidationError",
            Self::RateLimited => "RateLimitError",
            Self::Server => "ServerError",
            Self::Timeout => "TimeoutError",
            Self::Network => "NetworkError",
            Self::Protocol => "ProtocolError",
            Self::Config => "ConfigError",
            Self::Verification => "VerificationError",
            Self::Webhook => "WebhookVerificationError",
        }
    }

    /// Every kind, so binding tests can prove each one is mapped.
    pub const ALL: [ErrorKind; 13] = [
        Self::Authentication,
        Self::PermissionDenied,
        Self::NotFound,
        Self::Conflict,
        Self::Validation,
        Self::RateLimited,
        Self::Server,
        Self::Timeout,
        Self::Network,
        Self::Protocol,
        Self::Config,
        Self::Verification,
        Self::Webhook,
    ];
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The core's error. See the module docs for how variants are chosen.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 401: the API key is missing, malformed or unknown.
    #[error("authentication failed ({code}): {message}")]
    Authentication { code: String, message: String },
    /// 403: the key is valid but may not do this (e.g. a runtime key on a setup route).
    #[error("permission denied ({code}): {message}")]
    PermissionDenied { code: String, message: String },
    /// 404: the authorization, confirmation or receipt does not exist (for this workspace).
    #[error("not found ({code}): {message}")]
    NotFound { code: String, message: String },
    /// 409 (idempotency conflict, already settled) and 410 (confirmation expired): the state forbids this call.
    #[error("conflict ({code}): {message}")]
    Conflict { status: u16, code: String, message: String },
    /// 400/413/422, or rejected locally before sending: the request is wrong; `fields` says where. `status` is the
    /// HTTP status the server answered, `None` when the request was rejected locally and never sent.
    #[error("invalid request ({code}): {message}{}", fmt_fields(.fields))]
    Validation { code: String, message: String, fields: Vec<FieldError>, status: Option<u16> },
    /// 429: slow down; `retry_after` comes from the `Retry-After` header when the server sent one.
    #[error("rate limited ({code}): {message}")]
    RateLimited { code: String, message: String, retry_after: Option<Duration> },
    /// 5xx after retries were exhausted (never raised by `check`, which falls back instead). A 503 `overloaded` is
    /// the server shedding load before any work; `retry_after` is its `Retry-After` when it sent one.
    #[error("server error {status} ({code}): {message}")]
    Server { status: u16, code: String, message: String, retry_after: Option<Duration> },
    /// The call, or a wait such as `fetch_signed`, ran out of time.
    #[error("timed out: {message}")]
    Timeout { message: String },
    /// The server could not be reached (DNS, connect, TLS, reset).
    #[error("network error: {message}")]
    Network { message: String },
    /// The server answered something that does not follow wire-v1 (bad JSON, missing required field, bad status).
    #[error("protocol error: {message}")]
    Protocol { message: String },
    /// The client was configured wrongly (e.g. plain HTTP without `allow_insecure_http`, an empty API key).
    #[error("configuration error: {message}")]
    Config { message: String },
    /// A receipt, key document or checkpoint did not verify.
    #[error("verification failed ({}): {}", .0.kind, .0.message)]
    Verification(#[from] VerificationError),
    /// A webhook delivery did not verify (`webhook::verify_webhook`): do not act on it.
    #[error("webhook refused ({}): {}", .0.kind.as_str(), .0.message)]
    Webhook(#[from] WebhookError),
}

fn fmt_fields(fields: &[FieldError]) -> String {
    if fields.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
    format!(" [{}]", parts.join("; "))
}

impl Error {
    /// Which variant this is, as the kind every binding names its classes after.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Authentication { .. } => ErrorKind::Authentication,
            Error::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Conflict { .. } => ErrorKind::Conflict,
            Error::Validation { .. } => ErrorKind::Validation,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Server { .. } => ErrorKind::Server,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Network { .. } => ErrorKind::Network,
            Error::Protocol { .. } => ErrorKind::Protocol,
            Error::Config { .. } => ErrorKind::Config,
            Error::Verification(_) => ErrorKind::Verification,
            Error::Webhook(_) => ErrorKind::Webhook,
        }
    }

    /// One representative error of `kind`, with the attributes bindings expose (fields, `Retry-After`), so each
    /// binding's test can build every kind through its real mapping without restating the list.
    pub fn example(kind: ErrorKind) -> Self {
        let message = "sample".to_owned();
        match kind {
            ErrorKind::Authentication => Error::Authentication { code: "invalid_api_key".into(), message },
            ErrorKind::PermissionDenied => Error::PermissionDenied { code: "insufficient_key_tier".into(), message },
            ErrorKind::NotFound => Error::NotFound { code: "receipt_not_found".into(), message },
            ErrorKind::Conflict => Error::Conflict { status: 409, code: "already_settled".into(), message },
            ErrorKind::Validation => Error::Validation {
                code: "validation_failed".into(),
                fields: vec![FieldError { field: "scopes".into(), message: message.clone() }],
                message,
                status: Some(422),
            },
            ErrorKind::RateLimited => Error::RateLimited {
                code: "rate_limited".into(),
                message,
                retry_after: Some(Duration::from_millis(1500)),
            },
            ErrorKind::Server => Error::Server {
                status: 503,
                code: "overloaded".into(),
                message,
                retry_after: Some(Duration::from_secs(1)),
            },
            ErrorKind::Timeout => Error::Timeout { message },
            ErrorKind::Network => Error::Network { message },
            ErrorKind::Protocol => Error::Protocol { message },
            ErrorKind::Config => Error::Config { message },
            ErrorKind::Verification => {
                Error::Verification(VerificationError::new(VerificationErrorKind::SignatureMismatch, message))
            }
            ErrorKind::Webhook => Error::Webhook(WebhookError::new(WebhookErrorKind::SignatureMismatch, message)),
        }
    }

    /// The stable machine code: the server's `error.code` for HTTP errors, a fixed name otherwise.
    pub fn code(&self) -> &str {
        match self {
            Error::Authentication { code, .. }
            | Error::PermissionDenied { code, .. }
            | Error::NotFound { code, .. }
            | Error::Conflict { code, .. }
            | Error::Validation { code, .. }
            | Error::RateLimited { code, .. }
            | Error::Server { code, .. } => code,
            Error::Timeout { .. } => "timeout",
            Error::Network { .. } => "network_error",
            Error::Protocol { .. } => "protocol_error",
            Error::Config { .. } => "invalid_config",
            Error::Verification(v) => v.kind.as_str(),
            Error::Webhook(w) => w.kind.as_str(),
        }
    }

    /// The HTTP status this error came from, if it came from an HTTP response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Authentication { .. } => Some(401),
            Error::PermissionDenied { .. } => Some(403),
            Error::NotFound { .. } => Some(404),
            Error::Conflict { status, .. } | Error::Server { status, .. } => Some(*status),
            Error::Validation { status, .. } => *status,
            Error::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// How long the server asked the caller to wait (`Retry-After` of a 429 or a 5xx), if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } | Error::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A validation error found locally, before anything was sent or stored.
    pub fn invalid_input(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Error::Validation {
            code: "invalid_input".into(),
            message: message.clone(),
            fields: vec![FieldError { field: field.into(), message }],
            status: None,
        }
    }
}

/// Short alias used throughout the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_rejected_locally_has_no_status() {
        let error = Error::invalid_input("scopes", "at least one scope is required");
        assert_eq!(error.kind(), ErrorKind::Validation);
        assert_eq!(error.status(), None, "nothing was sent, so no HTTP status");
    }

    #[test]
    fn every_kind_has_its_own_name_and_example() {
        let names: std::collections::BTreeSet<_> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ErrorKind::ALL.len());
        let classes: std::collections::BTreeSet<_> = ErrorKind::ALL.iter().map(|k| k.class_name()).collect();
        assert_eq!(classes.len(), ErrorKind::ALL.len());
        for kind in ErrorKind::ALL {
            assert_eq!(Error::example(kind).kind(), kind);
        }
    }
}
