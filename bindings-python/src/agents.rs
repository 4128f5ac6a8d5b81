//! `allowly.AgentCredential` (also exported as `NativeAgentCredential`, 0.8.0's name): core's enrolled-agent
//! credential — the file format, token minting, `repr` without the key — and the client's agent-token options.

use std::path::PathBuf;

use allowly_core::agent_identity::AgentCredential;
use pyo3::prelude::*;

use crate::errors::to_py_err;

/// An enrolled agent's credential: `token()` signs a fresh 60-second `X-Allowly-Agent-Token`.
#[pyclass(module = "allowly._native", name = "AgentCredential", frozen)]
pub struct PyAgentCredential {
    pub(crate) inner: AgentCredential,
}

#[pymethods]
impl PyAgentCredential {
    /// Reads the credential file format (`ConfigError` on anything else; the text is never quoted).
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        AgentCredential::from_json(text).map(|inner| Self { inner }).map_err(|e| to_py_err(py, e))
    }

    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        AgentCredential::from_file(path).map(|inner| Self { inner }).map_err(|e| to_py_err(py, e))
    }

    /// A fresh token (iat = now, exp = now + 60 s), the same bytes 0.8.0 mints from this file.
    fn token(&self) -> String {
        self.inner.token()
    }

    /// The token as issued at `issued_at` (Unix seconds; valid for 60 s from then), e.g. to test a verifier.
    fn token_at(&self, issued_at: i64) -> String {
        self.inner.token_at(issued_at)
    }

    /// The credential file's text; it holds the private key (write it with owner-only permissions).
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    #[getter]
    fn workspace_id(&self) -> &str {
        &self.inner.workspace_id
    }

    #[getter]
    fn agent_id(&self) -> &str {
        &self.inner.agent_id
    }

    #[getter]
    fn binding_id(&self) -> &str {
        &self.inner.binding_id
    }

    #[getter]
    fn key_id(&self) -> &str {
        &self.inner.key_id
    }

    fn __repr__(&self) -> String {
        format!(
            "AgentCredential(agent_id={:?}, key_id={:?}, workspace_id={:?})",
            self.inner.agent_id, self.inner.key_id, self.inner.workspace_id
        )
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyAgentCredential>()
}
