//! `allowly.verify_webhook` and `allowly.MemorySeenIds`: core's `webhook::verify_webhook_with`, with the seen-id
//! store given as `None` (the process's in-memory store), a `MemorySeenIds` or a callable of the caller's own.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use allowly_core::webhook::{self, MemorySeenIds, SeenIds, WebhookVerifyOptions};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyMapping};

use crate::convert::to_py;
use crate::errors::to_py_err;

/// A bounded in-memory store of accepted webhook ids (core's `MemorySeenIds`); share one per receiver.
#[pyclass(frozen, module = "allowly", name = "MemorySeenIds")]
pub struct PyMemorySeenIds {
    inner: Arc<MemorySeenIds>,
}

#[pymethods]
impl PyMemorySeenIds {
    #[new]
    #[pyo3(signature = (capacity = 100000))]
    fn new(capacity: usize) -> Self {
        Self { inner: Arc::new(MemorySeenIds::new(capacity)) }
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!("MemorySeenIds(len={})", self.inner.len())
    }
}

/// The caller's own store: `seen(event_id, forget_after) -> bool` (true when the id is new and now recorded). An
/// exception it raises is kept and re-raised by `verify_webhook` (the delivery is not accepted meanwhile).
struct CallbackSeenIds {
    callback: Py<PyAny>,
    raised: Mutex<Option<PyErr>>,
}

impl SeenIds for CallbackSeenIds {
    fn check_and_record(&self, id: &str, forget_after: i64) -> bool {
        Python::attach(|py| match self.callback.call1(py, (id, forget_after)).and_then(|r| r.is_truthy(py)) {
            Ok(new) => new,
            Err(e) => {
                *self.raised.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                false
            }
        })
    }
}

/// `(name, value)` pairs from a mapping (`dict`, a framework's headers object) or an iterable of pairs, so repeated
/// headers reach core (which refuses them) instead of being merged.
fn header_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let items = match headers.cast::<PyMapping>() {
        Ok(m) => m.items()?.into_any(),
        Err(_) => match headers.hasattr("items")? {
            true => headers.call_method0("items")?,
            false => headers.clone(),
        },
    };
    items.try_iter()?.map(|pair| pair?.extract::<(String, String)>()).collect()
}

/// Verifies one webhook delivery and returns the event as a dict `{id, type, timestamp, workspace_id, data}`;
/// raises `WebhookVerificationError` (`kind`: malformed, signature_mismatch, timestamp, workspace_mismatch,
/// replay) or `ValidationError` for a bad `secret` / `expected_workspace_id`.
#[pyfunction]
#[pyo3(signature = (body, headers, secret, expected_workspace_id, *, tolerance_seconds = 300.0, now = None, seen = None))]
#[allow(clippy::too_many_arguments)]
fn verify_webhook<'py>(
    py: Python<'py>,
    body: &[u8],
    headers: &Bound<'py, PyAny>,
    secret: &str,
    expected_workspace_id: &str,
    tolerance_seconds: f64,
    now: Option<f64>,
    seen: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let pairs = header_pairs(headers)?;
    if !tolerance_seconds.is_finite() || tolerance_seconds < 0.0 {
        return Err(to_py_err(
            py,
            allowly_core::Error::invalid_input("tolerance_seconds", "must be a finite number of seconds, at least 0"),
        ));
    }
    if now.is_some_and(|n| !n.is_finite()) {
        return Err(to_py_err(py, allowly_core::Error::invalid_input("now", "must be finite Unix seconds")));
    }
    let mut callback = None;
    let mut memory = None;
    match seen {
        None => {}
        Some(s) => match s.cast::<PyMemorySeenIds>() {
            Ok(m) => memory = Some(m.get().inner.clone()),
            Err(_) if s.is_callable() => {
                callback = Some(CallbackSeenIds { callback: s.clone().unbind(), raised: Mutex::new(None) });
            }
            Err(_) => {
                return Err(to_py_err(
                    py,
                    allowly_core::Error::invalid_input("seen", "must be None, a MemorySeenIds or a callable"),
                ));
            }
        },
    }
    let store: Option<&dyn SeenIds> = match (&memory, &callback) {
        (Some(m), _) => Some(&**m),
        (None, Some(c)) => Some(c),
        (None, None) => None,
    };
    let options = WebhookVerifyOptions {
        tolerance: Duration::from_secs_f64(tolerance_seconds),
        now: now.map(|n| n.floor() as i64),
        seen: store,
    };
    let result = webhook::verify_webhook_with(body, pairs, secret, expected_workspace_id, &options);
    if let Some(err) = callback.and_then(|c| c.raised.into_inner().unwrap_or_else(|p| p.into_inner())) {
        return Err(err);
    }
    let event = result.map_err(|e| to_py_err(py, e))?;
    let out = PyDict::new(py);
    out.set_item("id", event.id)?;
    out.set_item("type", event.event_type)?;
    out.set_item("timestamp", event.timestamp)?;
    out.set_item("workspace_id", event.workspace_id)?;
    out.set_item("data", to_py(py, &event.data)?)?;
    Ok(out)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(verify_webhook, m)?)?;
    m.add_class::<PyMemorySeenIds>()?;
    Ok(())
}
