//! The one mapping of core's `Error` to the exception classes of `allowly.errors`.
//!
//! The classes are declared in Python (so they are ordinary, picklable exceptions with keyword attributes); this file
//! only decides which class each core variant becomes and which attributes it carries. Messages are core's `Display`,
//! which never contains an API key, a pepper or a confirmation nonce.

use std::time::Duration;

use allowly_core::{Error, FieldError, VerificationError, VerificationErrorKind};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::models::PyFieldError;

/// The Python exception for a core error. Never fails: if the error classes cannot be built, the import error says why.
pub(crate) fn to_py_err(py: Python<'_>, error: Error) -> PyErr {
    build(py, &error).unwrap_or_else(|e| e)
}

pub(crate) fn verification_err(py: Python<'_>, error: VerificationError) -> PyErr {
    to_py_err(py, Error::Verification(error))
}

/// The exception *instance* for a verification failure, for batch results that report rather than raise.
pub(crate) fn verification_exception(py: Python<'_>, error: VerificationError) -> PyResult<Py<PyAny>> {
    let err = verification_err(py, error);
    Ok(err.value(py).clone().into_any().unbind())
}

fn build(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", error.code())?;
    kwargs.set_item("status", error.status())?;
    let class = match error {
        Error::Authentication { .. } => "AuthenticationError",
        Error::PermissionDenied { .. } => "PermissionDeniedError",
        Error::NotFound { .. } => "NotFoundError",
        Error::Conflict { .. } => "ConflictError",
        Error::Validation { fields, .. } => {
            let fields: Vec<PyFieldError> = fields.iter().cloned().map(PyFieldError::from).collect();
            kwargs.set_item("fields", fields)?;
            "ValidationError"
        }
        Error::RateLimited { retry_after, .. } => {
            kwargs.set_item("retry_after", retry_after.map(|d| d.as_secs_f64()))?;
            "RateLimitError"
        }
        Error::Server { .. } => "ServerError",
        Error::Timeout { .. } => "TimeoutError",
        Error::Network { .. } => "NetworkError",
        Error::Protocol { .. } => "ProtocolError",
        Error::Config { .. } => "ConfigError",
        Error::Verification(v) => {
            kwargs.set_item("kind", v.kind.as_str())?;
            verification_class(v.kind)
        }
        // A variant added to core after this binding was built still reaches Python as the base class.
        _ => "AllowlyError",
    };
    let exception = py.import("allowly.errors")?.getattr(class)?.call((error.to_string(),), Some(&kwargs))?;
    Ok(PyErr::from_value(exception))
}

/// One subclass of `VerificationError` per kind, so callers can `except SignatureMismatchError`.
fn verification_class(kind: VerificationErrorKind) -> &'static str {
    match kind {
        VerificationErrorKind::Malformed => "MalformedReceiptError",
        VerificationErrorKind::Schema => "SchemaError",
        VerificationErrorKind::UnsupportedVersion => "UnsupportedVersionError",
        VerificationErrorKind::Timestamp => "TimestampError",
        VerificationErrorKind::UnknownKey => "UnknownKeyError",
        VerificationErrorKind::KeyOutsideWindow => "KeyOutsideWindowError",
        VerificationErrorKind::UntrustedKey => "UntrustedKeyError",
        VerificationErrorKind::WorkspaceMismatch => "WorkspaceMismatchError",
        VerificationErrorKind::SignatureMismatch => "SignatureMismatchError",
        VerificationErrorKind::KeyDocument => "KeyDocumentError",
        VerificationErrorKind::Checkpoint => "CheckpointError",
        _ => "VerificationError",
    }
}

/// One exception per core variant and verification kind, built by the real mapping, so the Python test suite can
/// prove every case lands on its own class (the libsignal habit of checking every error code in every language).
#[pyfunction]
pub(crate) fn _error_samples(py: Python<'_>) -> Vec<(String, Py<PyAny>)> {
    let text = || "sample".to_owned();
    let mut samples = vec![
        ("authentication", Error::Authentication { code: "invalid_api_key".into(), message: text() }),
        ("permission_denied", Error::PermissionDenied { code: "insufficient_key_tier".into(), message: text() }),
        ("not_found", Error::NotFound { code: "receipt_not_found".into(), message: text() }),
        ("conflict", Error::Conflict { status: 409, code: "already_settled".into(), message: text() }),
        (
            "validation",
            Error::Validation {
                code: "validation_failed".into(),
                message: text(),
                fields: vec![FieldError { field: "scopes".into(), message: text() }],
            },
        ),
        (
            "rate_limited",
            Error::RateLimited {
                code: "rate_limited".into(),
                message: text(),
                retry_after: Some(Duration::from_millis(1500)),
            },
        ),
        ("server", Error::Server { status: 503, code: "unavailable".into(), message: text() }),
        ("timeout", Error::Timeout { message: text() }),
        ("network", Error::Network { message: text() }),
        ("protocol", Error::Protocol { message: text() }),
        ("config", Error::Config { message: text() }),
    ];
    for kind in VerificationErrorKind::ALL {
        samples.push((kind.as_str(), Error::Verification(VerificationError::new(kind, text()))));
    }
    samples
        .into_iter()
        .map(|(name, error)| (name.to_owned(), to_py_err(py, error).value(py).clone().into_any().unbind()))
        .collect()
}
