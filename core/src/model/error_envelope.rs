//! The error body every non-2xx response carries: `{"error": {"code", "message", "fields"}}`.
//!
//! The client turns it into [`crate::Error`]; the types are public so a binding or a test server can produce the same
//! shape.

use serde::{Deserialize, Serialize};

use super::null_as_default;
use crate::error::FieldError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine code (`invalid_api_key`, `authorization_not_found`, `validation_error`, …).
    pub code: String,
    /// Human-readable; may change between versions.
    #[serde(default)]
    pub message: String,
    /// Field-level problems of a 422.
    #[serde(default, deserialize_with = "null_as_default")]
    pub fields: Vec<FieldError>,
}
