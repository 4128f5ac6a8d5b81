//! The native half of the `allowly` Python package (`allowly._native`).
//!
//! Everything here maps allowly-core to Python — names, types, errors, async — and nothing else: no HTTP, JSON
//! parsing of responses, hashing or verification happens in Python or in this crate. The pure-Python layer
//! (`python/allowly/`) only arranges these calls into the seed's API (namespaces, `trace`, context managers).
//!
//! Files: `runtime.rs` is the one async policy (awaitable or blocking, the GIL released while waiting, and no
//! runtime thread in Python once the interpreter exits), `errors.rs`
//! the one error mapping, `convert.rs` the value conversions, `client.rs` one method per core call (`admin.rs` those of the setup-key routes, `escalations.rs` resolving escalations and the members who do), `policies.rs` the policy profile's pure functions, `models.rs` and
//! `verify.rs` the result classes and the offline verifier, `mcp.rs`
//! the MCP gate (`allowly_mcp::Gate`) for the `allowly.mcp` middleware.

mod admin;
mod agents;
mod client;
mod convert;
mod errors;
mod escalations;
mod mcp;
mod models;
mod policies;
mod runtime;
mod verify;
mod webhook;

use pyo3::prelude::*;

/// `allowly-python/<version>`, appended to core's `User-Agent` so the server can tell which binding called.
pub(crate) const USER_AGENT: &str = concat!("allowly-python/", env!("CARGO_PKG_VERSION"));

/// A pepper as the 0.8.0 SDK takes it: text (its UTF-8 bytes) or raw bytes; anything else is a `TypeError`.
#[derive(FromPyObject)]
enum Pepper {
    Text(String),
    Bytes(Vec<u8>),
}

/// The pseudonymous `user_id` for an email (core's `identifiers::from_email_with`); raises `ValidationError` on an
/// empty email or pepper or an unknown `version`, and never puts the email or pepper in the message. The default is
/// spelled as a literal so Python's `inspect.signature` shows it (`identifiers.EMAIL_HMAC_VERSION` reads it there);
/// core accepts no other version, so a literal out of step with core would fail every default call.
#[pyfunction]
#[pyo3(signature = (email, *, pepper, version = "v1"))]
fn from_email(py: Python<'_>, email: &str, pepper: Pepper, version: &str) -> PyResult<String> {
    let pepper = match &pepper {
        Pepper::Text(text) => text.as_bytes(),
        Pepper::Bytes(bytes) => bytes.as_slice(),
    };
    allowly_core::identifiers::from_email_with(email, pepper, version).map_err(|e| errors::to_py_err(py, e))
}

/// The address `from_email` hashes (core's `identifiers::normalize_email_checked`: Python's `strip().lower()`);
/// raises `ValidationError` (a `ValueError`) when it is empty, as the official 0.8.0 SDK's `normalize_email` does.
#[pyfunction]
fn normalize_email(py: Python<'_>, email: &str) -> PyResult<String> {
    allowly_core::identifiers::normalize_email_checked(email).map_err(|e| errors::to_py_err(py, e))
}

/// Core's defaults in seconds, by parameter name (`allowly_core::client::DEFAULT_DURATIONS`): the Python signatures
/// spell theirs as literals, and `tests/test_defaults.py` checks each literal against this table.
#[pyfunction]
#[pyo3(name = "_client_defaults")]
fn client_defaults() -> std::collections::HashMap<&'static str, f64> {
    allowly_core::client::DEFAULT_DURATIONS.iter().map(|(name, d)| (*name, d.as_secs_f64())).collect()
}

#[pymodule]
#[pyo3(name = "_native")]
fn allowly_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    runtime::register(m)?;
    m.add_function(wrap_pyfunction!(from_email, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_email, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_error_samples, m)?)?;
    m.add_function(wrap_pyfunction!(client_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_error_kinds, m)?)?;
    m.add_class::<client::NativeClient>()?;
    agents::register(m)?;
    admin::register(m)?;
    models::register(m)?;
    verify::register(m)?;
    mcp::register(m)?;
    policies::register(m)?;
    webhook::register(m)?;
    Ok(())
}
