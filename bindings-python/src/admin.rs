//! The admin methods of `NativeClient` (setup-key routes), one per core call, and `NativeAuditPages`, core's
//! audit page walker: Python's `audit.iter` only asks it for the next page, so how pages are walked (cursor,
//! end, a repeating cursor refused) is core's rule, not re-written here.

use std::sync::Arc;

use allowly_core::client::AuditPages;
use allowly_core::model::{ApiKeyTier, AuditQuery, CreateApiKeyRequest};
use pyo3::prelude::*;

use crate::client::NativeClient;
use crate::models::{
    PyApiKey, PyApiKeyRevocation, PyAuditPage, PyCreatedApiKey, PySignedReceipt, PySigningKeyRotation,
    PyWebhookEndpoint, PyWebhookSecret,
};
use crate::runtime::run;

/// Pages of one audit query; `next_page()` answers `None` after the last one.
#[pyclass(frozen, module = "allowly._native")]
pub struct NativeAuditPages {
    pages: Arc<tokio::sync::Mutex<AuditPages>>,
    blocking: bool,
}

#[pymethods]
impl NativeAuditPages {
    fn next_page(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let pages = self.pages.clone();
        run(py, self.blocking, async move {
            let mut pages = pages.lock().await;
            pages.next_page().await.map(|page| page.map(PyAuditPage::from))
        })
    }

    fn __repr__(&self) -> &'static str {
        "NativeAuditPages()"
    }
}

#[allow(clippy::too_many_arguments)]
fn audit_query(
    user_id: Option<String>,
    agent_id: Option<String>,
    authorization_id: Option<String>,
    run_id: Option<String>,
    action: Option<String>,
    decision: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<u32>,
) -> AuditQuery {
    AuditQuery { user_id, agent_id, authorization_id, run_id, action, decision, since, until, limit }
}

#[pymethods]
impl NativeClient {
    #[pyo3(signature = (*, tier, name))]
    fn create_api_key(&self, py: Python<'_>, tier: String, name: String) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            let request = CreateApiKeyRequest { tier: ApiKeyTier::parse(&tier)?, name };
            Ok(move || async move { client.create_api_key(&request).await.map(PyCreatedApiKey::from) })
        })
    }

    fn list_api_keys(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            Ok(move || async move {
                client.list_api_keys().await.map(|keys| keys.into_iter().map(PyApiKey::from).collect::<Vec<_>>())
            })
        })
    }

    fn revoke_api_key(&self, py: Python<'_>, id: String) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            Ok(move || async move { client.revoke_api_key(&id).await.map(PyApiKeyRevocation::from) })
        })
    }

    fn set_webhook(&self, py: Python<'_>, url: String) -> PyResult<Py<PyAny>> {
        self.call(py, |client| Ok(move || async move { client.set_webhook(&url).await.map(PyWebhookSecret::from) }))
    }

    fn get_webhook(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.call(py, |client| Ok(move || async move { client.get_webhook().await.map(PyWebhookEndpoint::from) }))
    }

    fn delete_webhook(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        // `None` in Python: pyo3 would make `()` an empty tuple.
        self.call(py, |client| Ok(move || async move { client.delete_webhook().await.map(|()| Option::<bool>::None) }))
    }

    fn rotate_signing_key(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            Ok(move || async move { client.rotate_signing_key().await.map(PySigningKeyRotation::from) })
        })
    }

    #[pyo3(signature = (*, user_id=None, agent_id=None, authorization_id=None, run_id=None, action=None,
                        decision=None, since=None, until=None, limit=None, cursor=None))]
    #[allow(clippy::too_many_arguments)]
    fn audit(
        &self,
        py: Python<'_>,
        user_id: Option<String>,
        agent_id: Option<String>,
        authorization_id: Option<String>,
        run_id: Option<String>,
        action: Option<String>,
        decision: Option<String>,
        since: Option<String>,
        until: Option<String>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            let query = audit_query(user_id, agent_id, authorization_id, run_id, action, decision, since, until, limit);
            Ok(move || async move { client.audit(&query, cursor.as_deref()).await.map(PyAuditPage::from) })
        })
    }

    #[pyo3(signature = (*, user_id=None, agent_id=None, authorization_id=None, run_id=None, action=None,
                        decision=None, since=None, until=None, limit=None))]
    #[allow(clippy::too_many_arguments)]
    fn audit_pages(
        &self,
        py: Python<'_>,
        user_id: Option<String>,
        agent_id: Option<String>,
        authorization_id: Option<String>,
        run_id: Option<String>,
        action: Option<String>,
        decision: Option<String>,
        since: Option<String>,
        until: Option<String>,
        limit: Option<u32>,
    ) -> PyResult<NativeAuditPages> {
        let client = self.client().map_err(|e| crate::errors::to_py_err(py, e))?;
        let query = audit_query(user_id, agent_id, authorization_id, run_id, action, decision, since, until, limit);
        // Bad filters fail here, at the call, rather than at the first page.
        query.params().map_err(|e| crate::errors::to_py_err(py, e))?;
        Ok(NativeAuditPages {
            pages: Arc::new(tokio::sync::Mutex::new(client.audit_pages(query))),
            blocking: self.is_blocking(),
        })
    }

    #[pyo3(signature = (*, since=None, until=None))]
    fn export_receipts(&self, py: Python<'_>, since: Option<String>, until: Option<String>) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            Ok(move || async move {
                let receipts = client.export_receipts(since.as_deref(), until.as_deref()).await?;
                Ok(receipts.into_iter().map(PySignedReceipt::from).collect::<Vec<_>>())
            })
        })
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeAuditPages>()
}
