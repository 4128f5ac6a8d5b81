//! The one mapping of core's `Error` to the exception classes of `allowly.errors`.
//!
//! The classes are declared in Python (so they are ordinary, picklable exceptions with keyword attributes); this file
//! only decides which class each core variant becomes and which attributes it carries. Messages are core's `Display`,
//! which never contains an API key, a pepper or a confirmation nonce.

use allowly_core::{Error, ErrorKind, VerificationError, VerificationErrorKind};
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
        Error::Validation { fields, .. } => {
            let fields: Vec<PyFieldError> = fields.iter().cloned().map(PyFieldError::from).collect();
            kwargs.set_item("fields", fields)?;
            error.kind().class_name()
        }
        Error::RateLimited { retry_after, .. } | Error::Server { retry_after, .. } => {
            kwargs.set_item("retry_after", retry_after.map(|d| d.as_secs_f64()))?;
            error.kind().class_name()
        }
        Error::Verification(v) => {
            kwargs.set_item("kind", v.kind.as_str())?;
            verification_class(v.kind)
        }
        Error::Webhook(w) => {
            kwargs.set_item("kind", w.kind.as_str().trim_start_matches("webhook_"))?;
            error.kind().class_name()
        }
        _ => error.kind().class_name(),
    };
    let exception = error_class(py, class)?.call((error.to_string(),), Some(&kwargs))?;
    Ok(PyErr::from_value(exception))
}

fn error_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("allowly.errors")?.getattr(name)
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

/// Core's `ErrorKind::ALL`, each with the class core names for it (`ErrorKind::class_name`), so the test suite can
/// prove every core kind has a class of its own in `allowly.errors` without restating the list; a kind whose class
/// is missing there fails here with the `AttributeError`.
#[pyfunction]
pub(crate) fn _error_kinds(py: Python<'_>) -> PyResult<Vec<(String, Py<PyAny>)>> {
    ErrorKind::ALL
        .iter()
        .map(|kind| Ok((kind.as_str().to_owned(), error_class(py, kind.class_name())?.unbind())))
        .collect()
}

/// One exception per core kind (a verification failure once per verification kind), built by the real mapping, so
/// the Python test suite can prove every case lands on its own class (the libsignal habit of checking every error
/// code in every language).
#[pyfunction]
pub(crate) fn _error_samples(py: Python<'_>) -> Vec<(String, Py<PyAny>)> {
    let mut samples = Vec::new();
    for kind in ErrorKind::ALL {
        if kind == ErrorKind::Verification {
            for v in VerificationErrorKind::ALL {
                samples.push((v.as_str(), Error::Verification(VerificationError::new(v, "sample"))));
            }
        } else {
            samples.push((kind.as_str(), Error::example(kind)));
        }
    }
    samples
        .into_iter()
        .map(|(name, error)| (name.to_owned(), to_py_err(py, error).value(py).clone().into_any().unbind()))
        .collect()
}
