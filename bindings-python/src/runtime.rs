//! The binding's one async policy, and the one place where a runtime thread may touch Python.
//!
//! Every core call is a Rust future. [`run`] turns it into either an asyncio awaitable (the future runs on the shared
//! tokio runtime and resolves the Python future from there) or, for `SyncAllowly`, a blocking call that releases the
//! GIL while it waits, so other Python threads keep running during network waits. No other file decides this.
//!
//! **Interpreter exit.** The runtime's threads outlive the interpreter: they are never joined. A thread that takes or
//! releases the GIL while `Py_FinalizeEx` runs crashes the process (exit 134/139; seen in 13–20 % of exits of the
//! release build with calls in flight). So no runtime thread attaches to Python except through [`PythonGate`], and
//! an `atexit` hook — which runs before finalization starts — closes the gate: it waits (GIL released) for the
//! threads inside Python to leave, and from then on a finished call's result is dropped instead of delivered. Python
//! objects dropped on a runtime thread go to pyo3's deferred-decref pool, which never calls into Python.

use std::future::Future;
use std::pin::Pin;
use std::sync::{OnceLock, PoisonError, RwLock};

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3_async_runtimes::TaskLocals;
use pyo3_async_runtimes::generic::{ContextExt, JoinError, Runtime};

use crate::errors::to_py_err;

/// Runs a core future the way the calling client was built for: awaitable (`blocking == false`) or blocking.
pub(crate) fn run<F, T>(py: Python<'_>, blocking: bool, future: F) -> PyResult<Py<PyAny>>
where
    F: Future<Output = allowly_core::Result<T>> + Send + 'static,
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    if blocking {
        let result = py.detach(|| tokio_runtime().block_on(future));
        return match result {
            Ok(value) => value.into_py_any(py),
            Err(error) => Err(to_py_err(py, error)),
        };
    }
    // The error becomes a Python exception inside the gated delivery (`Answer`'s conversion), not on the runtime
    // thread that finished the future: that thread must not attach to Python on its own.
    let future = async move { Ok(Answer(future.await)) };
    Ok(pyo3_async_runtimes::generic::future_into_py::<Shared, _, _>(py, future)?.unbind())
}

/// The shared multi-threaded tokio runtime (pyo3-async-runtimes' own, so `Client`s built on it share its pools).
pub(crate) fn tokio_runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// A finished core call, converted to its Python value or raised as its exception when it is delivered.
struct Answer<T>(allowly_core::Result<T>);

impl<'py, T: IntoPyObject<'py>> IntoPyObject<'py> for Answer<T> {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.0 {
            Ok(value) => value.into_bound_py_any(py),
            Err(error) => Err(to_py_err(py, error)),
        }
    }
}

/// Open while the interpreter runs; closed for good by [`close_python_gate`] at exit. A runtime thread holds the read
/// side for as long as it is attached to Python.
struct PythonGate(RwLock<bool>);

static GATE: PythonGate = PythonGate(RwLock::new(true));

impl PythonGate {
    /// Runs `f` (which attaches to Python) unless the interpreter is exiting; then `f` is dropped unrun.
    fn enter(&self, f: impl FnOnce()) {
        let open = self.0.read().unwrap_or_else(PoisonError::into_inner);
        if *open {
            f();
        }
    }

    fn close(&self) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = false;
    }
}

/// Calls the caller's agent-token supplier (a Python callable returning `str`) from a runtime thread, through the
/// gate: after interpreter exit it answers an error instead of entering Python.
pub(crate) fn supply_token(supplier: &Py<PyAny>) -> Result<String, String> {
    let mut out = Err("the interpreter is exiting".to_owned());
    GATE.enter(|| {
        out = Python::attach(|py| {
            supplier
                .call0(py)
                .and_then(|v| v.extract::<String>(py))
                .map_err(|e| e.get_type(py).name().map(|n| n.to_string()).unwrap_or_default())
        });
    });
    out
}

/// The `atexit` hook: no runtime thread enters Python after this returns. The GIL is released while waiting, so a
/// thread already delivering a result can finish.
#[pyfunction]
#[pyo3(name = "_close_python_gate")]
pub(crate) fn close_python_gate(py: Python<'_>) {
    py.detach(|| GATE.close());
}

/// Registers [`close_python_gate`] with `atexit` when the module is imported.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let hook = wrap_pyfunction!(close_python_gate, m)?;
    m.add_function(hook.clone())?;
    m.py().import("atexit")?.call_method1("register", (hook,))?;
    Ok(())
}

/// pyo3-async-runtimes' generic runtime over the shared tokio runtime, with every Python delivery through [`GATE`].
/// (Its built-in tokio runtime delivers on a blocking thread with no such gate.)
struct Shared;

struct Joined(tokio::task::JoinError);

impl JoinError for Joined {
    fn is_panic(&self) -> bool {
        self.0.is_panic()
    }

    fn into_panic(self) -> Box<dyn std::any::Any + Send + 'static> {
        self.0.into_panic()
    }
}

type JoinFuture = Pin<Box<dyn Future<Output = Result<(), Joined>> + Send>>;

impl Runtime for Shared {
    type JoinError = Joined;
    type JoinHandle = JoinFuture;

    fn spawn<F>(fut: F) -> JoinFuture
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let handle = tokio_runtime().spawn(fut);
        Box::pin(async move { handle.await.map_err(Joined) })
    }

    /// pyo3-async-runtimes calls this only to deliver a result or a panic to Python.
    fn spawn_blocking<F>(f: F) -> JoinFuture
    where
        F: FnOnce() + Send + 'static,
    {
        let handle = tokio_runtime().spawn_blocking(move || GATE.enter(f));
        Box::pin(async move { handle.await.map_err(Joined) })
    }
}

tokio::task_local! {
    static TASK_LOCALS: OnceLock<TaskLocals>;
}

impl ContextExt for Shared {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = OnceLock::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS.try_with(|c| c.get().cloned()).unwrap_or_default()
    }
}
