//! The wire-v1 error envelope: `{"error":{"code","message","fields":[{"field","message"}]}}`.
//!
//! Every failure a client can see goes through [`ApiError`], so no route can answer with axum's plain-text
//! rejections. Messages are built from our own text and field names only — never from API keys, nonces or bodies.
//! Codes come from the one table in `codes.rs` ([`WireCode`]), never from string literals at the call site.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

mod codes;
pub use codes::WireCode;

/// One field-level problem (`fields[]` of the envelope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        // Field names can come from the request (unknown query parameters); keep echoes short.
        let field: String = field.chars().take(64).collect();
        Self { field, message: message.into() }
    }
}

/// An error answered with the wire-v1 envelope.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: WireCode,
    pub message: String,
    pub fields: Vec<FieldError>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error answered with the code's own status.
    pub fn new(code: WireCode, message: impl Into<String>) -> Self {
        Self::with_status(code.status(), code, message)
    }

    /// An error whose status was decided elsewhere (axum's rejections, which reach us as a bare status).
    pub fn with_status(status: StatusCode, code: WireCode, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), fields: Vec::new(), retry_after: None }
    }

    /// 422 with a single named field.
    pub fn field(code: WireCode, field: &str, message: impl Into<String>) -> Self {
        let f = FieldError::new(field, message);
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            message: format!("{}: {}", f.field, f.message),
            fields: vec![f],
            retry_after: None,
        }
    }

    /// 422 `validation_error` with every problem found.
    pub fn validation(fields: Vec<FieldError>) -> Self {
        // Every 422 passes here, and field names can be request keys (unknown members, constraint names): bound the
        // echo once for all of them (fuzz/regressions/server_body/unknown-field-name-echoed-in-full).
        let fields: Vec<FieldError> = fields.into_iter().map(|f| FieldError::new(&f.field, f.message)).collect();
        let message = fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ");
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: WireCode::ValidationError,
            message,
            fields,
            retry_after: None,
        }
    }

    pub fn malformed_json(detail: impl std::fmt::Display) -> Self {
        Self::new(WireCode::MalformedJson, format!("request body is not valid JSON: {detail}"))
    }

    pub fn payload_too_large() -> Self {
        Self::new(WireCode::PayloadTooLarge, "request body is larger than 64 KiB")
    }

    /// 404 whatever the code's usual status, so a wrong code cannot turn a missing thing into another status.
    pub fn not_found(code: WireCode, what: &str) -> Self {
        Self::with_status(StatusCode::NOT_FOUND, code, format!("{what} not found"))
    }

    /// 409 whatever the code's usual status.
    pub fn conflict(code: WireCode, message: impl Into<String>) -> Self {
        Self::with_status(StatusCode::CONFLICT, code, message)
    }

    pub fn invalid_api_key() -> Self {
        Self::new(WireCode::InvalidApiKey, "missing, malformed or unknown API key")
    }

    /// The request's `X-Allowly-Agent-Token` was refused; `code` says why. The token itself is never echoed.
    pub fn agent_token(code: WireCode) -> Self {
        let message = match code {
            WireCode::AgentTokenUnverifiable => {
                "the agent token names a key this workspace has not registered (or has revoked); enroll the agent"
            }
            WireCode::AgentTokenMalformed => "the agent token is not a compact EdDSA agent token",
            WireCode::AgentTokenWrongAudience => "the agent token was issued for another workspace",
            WireCode::AgentTokenInvalidSignature => "the agent token's signature does not verify for its agent",
            WireCode::AgentTokenExpired => "the agent token is expired or not yet valid",
            WireCode::AgentTokenAgentMismatch => "the agent token's agent is not this authorization's agent",
            WireCode::AgentTokenRequired => {
                "this workspace requires an agent token (X-Allowly-Agent-Token) on checks and settlements"
            }
            _ => "the agent token was refused",
        };
        Self::new(code, message)
    }

    pub fn insufficient_tier() -> Self {
        Self::new(WireCode::InsufficientKeyTier, "this route needs a setup API key")
    }

    /// 429 `rate_limited`: `what` (an API key, an authorization) is over its request rate; retry after `seconds`.
    pub fn rate_limited(what: &str, seconds: u64) -> Self {
        let mut e = Self::new(WireCode::RateLimited, format!("{what} is over its request rate limit; retry later"));
        e.retry_after = Some(seconds.max(1));
        e
    }

    /// 503 `overloaded`: refused before any work because the server is beyond its capacity; retry after `seconds`.
    pub fn overloaded(seconds: u64) -> Self {
        let mut e = Self::new(WireCode::Overloaded, "the server is over capacity and refused the request; retry later");
        e.retry_after = Some(seconds.max(1));
        e
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        let mut e = Self::new(WireCode::Unavailable, message);
        e.retry_after = Some(1);
        e
    }

    /// An unexpected internal failure: logged with its cause, answered as 503 without details.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::unavailable("the server could not complete the request; retry later")
    }

    /// The envelope as it is answered.
    pub fn envelope(&self) -> Envelope<'_> {
        let fields = self.fields.iter().map(|f| FieldBody { field: &f.field, message: &f.message }).collect();
        Envelope { error: ErrorBody { code: self.code.as_str(), fields, message: &self.message } }
    }

    /// The envelope as JSON (the fuzz harness checks its shape).
    pub fn body(&self) -> serde_json::Value {
        serde_json::to_value(self.envelope()).unwrap_or_default()
    }
}

// The envelope's fields are declared in sorted order of their wire names, the order the `json!` envelope had
// (serde_json runs without `preserve_order`; see `crate::wire`).

/// `{"error": …}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Envelope<'a> {
    pub error: ErrorBody<'a>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    pub code: &'static str,
    pub fields: Vec<FieldBody<'a>>,
    pub message: &'a str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldBody<'a> {
    pub field: &'a str,
    pub message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.envelope())).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::internal(format!("database: {e}"))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
