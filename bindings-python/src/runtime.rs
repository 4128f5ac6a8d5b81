//! The binding's one async policy.
//!
//! Every core call is a Rust future. [`run`] turns it into either an asyncio awaitable (the future runs on the shared
//! tokio runtime and resolves the Python future from there) or, for `SyncAllowly`, a blocking call that releases the
//! GIL while it waits, so other Python threads keep running during network waits. No other file decides this.

use std::future::Future;

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;

use crate::errors::to_py_err;

/// Runs a core future the way the calling client was built for: awaitable (`blocking == false`) or blocking.
pub(crate) fn run<F, T>(py: Python<'_>, blocking: bool, future: F) -> PyResult<Py<PyAny>>
where
    F: Future<Output = allowly_core::Result<T>> + Send + 'static,
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    if blocking {
        let result = py.detach(|| pyo3_async_runtimes::tokio::get_runtime().block_on(future));
        return match result {
            Ok(value) => value.into_py_any(py),
            Err(error) => Err(to_py_err(py, error)),
        };
    }
    let future = async move { future.await.map_err(|error| Python::attach(|py| to_py_err(py, error))) };
    Ok(pyo3_async_runtimes::tokio::future_into_py(py, future)?.unbind())
}
