//! `NativeClient`: one method per core client call, each a conversion of arguments plus one call into
//! `allowly_core::Client`, handed to [`run`] (awaitable or blocking, decided once at construction).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use allowly_core::client::FetchSignedOptions;
use allowly_core::model::{
    AuthorizationArgs, CheckRequest, CreatePolicyRequest, CreatedAuthorization, PolicyPreviewRequest, PolicyRef,
    RevokeRequest, ScopeGrant, SettlementRequest,
};
use allowly_core::{Client, ClientConfig, Error, FallbackMode};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{optional_object, to_json};
use crate::errors::to_py_err;
use crate::models::{
    PyAuthorization, PyCheckResult, PyConfirmation, PyConfirmationMonitor, PyConfirmationResolution,
    PyEditionAuthorization, PyEscalationMonitor, PyPolicy, PyPolicyPage, PyPolicyPreview, PyPolicyPublication,
    PyPolicyRef, PyReceipt, PyRevocation, PySettlement, PySignedReceipt,
};
use crate::runtime::run;
use crate::verify::PyKeySet;

/// The core client behind `Allowly` (awaitable methods) and `SyncAllowly` (blocking methods).
///
/// `close()` drops the connection pool; later calls raise `ConfigError` instead of silently reconnecting.
#[pyclass(frozen, module = "allowly._native")]
pub struct NativeClient {
    client: Mutex<Option<Client>>,
    blocking: bool,
    base_url: String,
}

pub(crate) fn seconds(field: &str, value: f64) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| Error::invalid_input(field, format!("{field} must be a non-negative number of seconds")))
}

fn fallback_mode(scope: &str, mode: &str) -> Result<FallbackMode, Error> {
    match mode {
        "closed" => Ok(FallbackMode::Closed),
        "open" => Ok(FallbackMode::Open),
        other => Err(Error::invalid_input(
            "fallback_by_scope",
            format!("fallback for `{scope}` must be \"open\" or \"closed\", not {other:?}"),
        )),
    }
}

/// A `PolicyRef` result or a mapping with its three members (0.8.0 passes `policy_ref` dicts around).
fn policy_ref(obj: &Bound<'_, PyAny>) -> Result<PolicyRef, Error> {
    if let Ok(reference) = obj.extract::<PyRef<'_, PyPolicyRef>>() {
        return Ok(reference.inner.clone());
    }
    serde_json::from_value(to_json(obj, "previous_policy_ref")?).map_err(|e| {
        Error::invalid_input(
            "previous_policy_ref",
            format!("a PolicyRef or {{policy_id, policy_version, definition_sha256}}: {e}"),
        )
    })
}

/// A call whose result class depends on what core did (which authorization request; create or publish). Converted to
/// Python only in `into_pyobject`, on the thread `run` hands results over on, never on a runtime thread.
enum Created {
    Scopes(PyAuthorization),
    Edition(PyEditionAuthorization),
    Policy(PyPolicy),
    Publication(PyPolicyPublication),
}

impl From<CreatedAuthorization> for Created {
    fn from(created: CreatedAuthorization) -> Self {
        match created {
            CreatedAuthorization::Scopes(a) => Created::Scopes(a.into()),
            CreatedAuthorization::Edition(a) => Created::Edition(a.into()),
        }
    }
}

impl<'py> IntoPyObject<'py> for Created {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        Ok(match self {
            Created::Scopes(v) => Bound::new(py, v)?.into_any(),
            Created::Edition(v) => Bound::new(py, v)?.into_any(),
            Created::Policy(v) => Bound::new(py, v)?.into_any(),
            Created::Publication(v) => Bound::new(py, v)?.into_any(),
        })
    }
}

impl NativeClient {
    pub(crate) fn is_blocking(&self) -> bool {
        self.blocking
    }

    pub(crate) fn client(&self) -> Result<Client, Error> {
        let guard = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        guard.clone().ok_or_else(|| Error::Config { message: "this Allowly client is closed".into() })
    }

    /// Converts arguments (GIL held), then runs the core call.
    pub(crate) fn call<T, F, Fut>(
        &self,
        py: Python<'_>,
        make: impl FnOnce(Client) -> Result<F, Error>,
    ) -> PyResult<Py<PyAny>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = allowly_core::Result<T>> + Send + 'static,
        T: for<'py> IntoPyObject<'py> + Send + 'static,
    {
        let future = self.client().and_then(make).map_err(|e| to_py_err(py, e))?;
        run(py, self.blocking, future())
    }
}

#[pymethods]
impl NativeClient {
    #[new]
    #[pyo3(signature = (api_key, *, base_url=None, timeout=None, check_timeout=None, max_retries=None,
                        fallback_by_scope=None, allow_insecure_http=false, blocking=false, agent_credential=None,
                        agent_token_supplier=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        api_key: String,
        base_url: Option<String>,
        timeout: Option<f64>,
        check_timeout: Option<f64>,
        max_retries: Option<u32>,
        fallback_by_scope: Option<std::collections::HashMap<String, String>>,
        allow_insecure_http: bool,
        blocking: bool,
        agent_credential: Option<PyRef<'_, crate::agents::PyAgentCredential>>,
        agent_token_supplier: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let credential = agent_credential.map(|c| c.inner.clone());
        let build = || -> Result<Client, Error> {
            let mut config = ClientConfig::new(api_key)
                .with_allow_insecure_http(allow_insecure_http)
                .with_user_agent(crate::USER_AGENT);
            if let Some(url) = base_url {
                config = config.with_base_url(url);
            }
            if let Some(t) = timeout {
                config = config.with_timeout(seconds("timeout", t)?);
            }
            if let Some(t) = check_timeout {
                config = config.with_check_timeout(seconds("check_timeout", t)?);
            }
            if let Some(n) = max_retries {
                config = config.with_max_retries(n);
            }
            for (scope, mode) in fallback_by_scope.unwrap_or_default() {
                let mode = fallback_mode(&scope, &mode)?;
                config = config.with_fallback(scope, mode);
            }
            match (credential, agent_token_supplier) {
                (Some(_), Some(_)) => {
                    return Err(Error::Config {
                        message: "pass agent_credential or agent_token_supplier, not both".into(),
                    });
                }
                (Some(c), None) => config = config.with_agent_credential(c),
                (None, Some(f)) => config = config.with_agent_token_supplier(move || crate::runtime::supply_token(&f)),
                (None, None) => {}
            }
            // reqwest registers its connection pool with the runtime it is built on: build it on the shared one.
            let _guard = crate::runtime::tokio_runtime().enter();
            Client::new(config)
        };
        let client = build().map_err(|e| to_py_err(py, e))?;
        let base_url = client.base_url().to_owned();
        Ok(NativeClient { client: Mutex::new(Some(client)), blocking, base_url })
    }

    #[getter]
    fn base_url(&self) -> &str {
        &self.base_url
    }

    #[getter]
    fn blocking(&self) -> bool {
        self.blocking
    }

    #[getter]
    fn closed(&self) -> bool {
        self.client.lock().unwrap_or_else(PoisonError::into_inner).is_none()
    }

    /// Drops the connection pool. Idempotent.
    fn close(&self) {
        self.client.lock().unwrap_or_else(PoisonError::into_inner).take();
    }

    /// Both call shapes of `authorizations.create`: core's `AuthorizationArgs` decides from the arguments given whether
    /// this is a policy edition grant (`policy_id` + `policy_version`) or a scope grant (`agent_id` + `scopes`).
    #[pyo3(signature = (*, user_id, agent_id=None, scopes=None, policy_id=None, policy_version=None, actions=None,
                        expires_at=None, metadata=None, budget_limit_micros=None, requires_confirm_for=None,
                        requires_deny_for=None, replaces=None, idempotency_key=None,
                        confirmation_timeout_seconds=None, requires_escalation_for=None,
                        escalation_targets=None))]
    #[allow(clippy::too_many_arguments)]
    fn create_authorization(
        &self,
        py: Python<'_>,
        user_id: String,
        agent_id: Option<String>,
        scopes: Option<Vec<Bound<'_, PyAny>>>,
        policy_id: Option<String>,
        policy_version: Option<i64>,
        actions: Option<Vec<String>>,
        expires_at: Option<String>,
        metadata: Option<Bound<'_, PyAny>>,
        budget_limit_micros: Option<i64>,
        requires_confirm_for: Option<Vec<String>>,
        requires_deny_for: Option<Vec<String>>,
        replaces: Option<String>,
        idempotency_key: Option<String>,
        confirmation_timeout_seconds: Option<i64>,
        requires_escalation_for: Option<Vec<String>>,
        escalation_targets: Option<std::collections::BTreeMap<String, crate::escalations::EscalationLevels>>,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            let scopes = scopes
                .map(|scopes| {
                    scopes
                        .iter()
                        .map(|s| {
                            serde_json::from_value::<ScopeGrant>(to_json(s, "scopes")?).map_err(|e| {
                                Error::invalid_input(
                                    "scopes",
                                    format!("a scope is a name or {{\"name\", \"constraints\"}}: {e}"),
                                )
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?;
            let request = AuthorizationArgs {
                user_id,
                agent_id,
                scopes,
                policy_id,
                policy_version,
                actions,
                expires_at,
                metadata: optional_object(metadata.as_ref(), "metadata")?,
                budget_limit_micros,
                requires_confirm_for,
                requires_deny_for,
                requires_escalation_for,
                escalation_targets: crate::escalations::escalation_targets(escalation_targets),
                replaces,
                idempotency_key,
                confirmation_timeout_seconds,
            }
            .into_request()?;
            Ok(move || async move { client.create_any_authorization(&request).await.map(Created::from) })
        })
    }

    fn get_authorization(&self, py: Python<'_>, authorization_id: String) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            Ok(move || async move { client.get_authorization(&authorization_id).await.map(PyAuthorization::from) })
        })
    }

    #[pyo3(signature = (authorization_id, *, revoked_by, notes=None))]
    fn revoke_authorization(
        &self,
        py: Python<'_>,
        authorization_id: String,
        revoked_by: String,
        notes: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            let request = RevokeRequest { revoked_by, notes };
            Ok(
                move || async move {
                    client.revoke_authorization(&authorization_id, &request).await.map(PyRevocation::from)
                },
            )
        })
    }

    /// `trace` is the ambient `allowly.trace(...)` values; core merges them into the context.
    #[pyo3(signature = (*, authorization_id, scopes, resource=None, context=None, session_id=None,
                        estimated_cost_micros=None, wait=false, trace=None, client_timestamp=None,
                        idempotency_key=None, arguments=None, arguments_sha256=None, confirmation_id=None,
                        agent_token=None))]
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        py: Python<'_>,
        authorization_id: String,
        scopes: Vec<String>,
        resource: Option<String>,
        context: Option<Bound<'_, PyAny>>,
        session_id: Option<String>,
        estimated_cost_micros: Option<i64>,
        wait: bool,
        trace: Option<Bound<'_, PyDict>>,
        client_timestamp: Option<String>,
        idempotency_key: Option<String>,
        arguments: Option<Bound<'_, PyAny>>,
        arguments_sha256: Option<String>,
        confirmation_id: Option<String>,
        agent_token: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            let mut request = CheckRequest {
                authorization_id,
                scopes,
                resource,
                context: optional_object(context.as_ref(), "context")?,
                session_id,
                estimated_cost_micros,
                client_timestamp,
                wait,
                idempotency_key,
                arguments: optional_object(arguments.as_ref(), "arguments")?,
                arguments_sha256,
                confirmation_id,
            };
            if let Some(trace) = optional_object(trace.as_ref().map(|t| t.as_any()), "trace")? {
                request = request.with_trace(trace);
            }
            // 0.8.0's per-call `agent_token=` replaces the client's configured token source for this check.
            Ok(move || async move {
                match agent_token {
                    Some(token) => client.check_with_agent_token(&request, Some(token)).await,
                    None => client.check(&request).await,
                }
                .map(PyCheckResult::from)
            })
        })
    }

    #[pyo3(signature = (confirm_nonce, *, approved, ttl_seconds=None))]
    fn approve_confirmation(
        &self,
        py: Python<'_>,
        confirm_nonce: String,
        approved: bool,
        ttl_seconds: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            let ttl = ttl_seconds.map(|t| seconds("ttl_seconds", t)).transpose()?;
            Ok(move || async move {
                client.approve_confirmation(&confirm_nonce, approved, ttl).await.map(PyConfirmationResolution::from)
            })
        })
    }

    fn get_confirmation(&self, py: Python<'_>, confirmation_id: String) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            Ok(move || async move { client.get_confirmation(&confirmation_id).await.map(PyConfirmation::from) })
        })
    }

    #[pyo3(signature = (confirmation_id, *, timeout=60.0, poll_interval=1.0))]
    fn wait_for_confirmation(
        &self,
        py: Python<'_>,
        confirmation_id: String,
        timeout: f64,
        poll_interval: f64,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            let (timeout, poll) = (seconds("timeout", timeout)?, seconds("poll_interval", poll_interval)?);
            Ok(move || async move {
                client.wait_for_confirmation(&confirmation_id, timeout, poll).await.map(PyConfirmation::from)
            })
        })
    }

    #[pyo3(signature = (*, check_receipt_id, actual_cost_micros))]
    fn settle_budget(&self, py: Python<'_>, check_receipt_id: String, actual_cost_micros: i64) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            let request = SettlementRequest { check_receipt_id, actual_cost_micros };
            Ok(move || async move { client.settle_budget(&request).await.map(PySettlement::from) })
        })
    }

    #[pyo3(signature = (receipt_id, *, wait=None))]
    fn get_receipt(&self, py: Python<'_>, receipt_id: String, wait: Option<f64>) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            let wait = wait.map(|w| seconds("wait", w)).transpose()?;
            Ok(move || async move { client.get_receipt(&receipt_id, wait).await.map(PyReceipt::from) })
        })
    }

    #[pyo3(signature = (receipt_id, *, poll_interval=1.0, timeout=30.0))]
    fn fetch_signed(
        &self,
        py: Python<'_>,
        receipt_id: String,
        poll_interval: f64,
        timeout: f64,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            let options = FetchSignedOptions {
                poll_interval: seconds("poll_interval", poll_interval)?,
                timeout: seconds("timeout", timeout)?,
            };
            Ok(move || async move { client.fetch_signed(&receipt_id, options).await.map(PySignedReceipt::from) })
        })
    }

    /// `GET /v1/confirmations/{id}/status`: the 0.8.0 monitor view.
    fn get_confirmation_status(&self, py: Python<'_>, confirmation_id: String) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            Ok(move || async move {
                client.get_confirmation_status(&confirmation_id).await.map(PyConfirmationMonitor::from)
            })
        })
    }

    /// `GET /v1/escalations/{id}`: the 0.8.0 monitor view of an escalation.
    fn get_escalation_status(&self, py: Python<'_>, escalation_id: String) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            Ok(move || async move { client.get_escalation_status(&escalation_id).await.map(PyEscalationMonitor::from) })
        })
    }

    /// `POST /v1/setup/agents/{agent_id}/keys` (setup key): a key generated here, only its public half registered.
    fn enroll_agent(&self, py: Python<'_>, agent_id: String) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            Ok(move || async move {
                client.enroll_agent(&agent_id).await.map(|inner| crate::agents::PyAgentCredential { inner })
            })
        })
    }

    /// `GET /readyz` as a bool.
    fn readiness(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.call(py, |client| Ok(move || async move { client.readiness().await }))
    }

    #[pyo3(signature = (*, policy_id, definition, description=None, previous_policy_ref=None, idempotency_key=None,
                        publish=false))]
    #[allow(clippy::too_many_arguments)]
    fn create_policy(
        &self,
        py: Python<'_>,
        policy_id: String,
        definition: Bound<'_, PyAny>,
        description: Option<String>,
        previous_policy_ref: Option<Bound<'_, PyAny>>,
        idempotency_key: Option<String>,
        publish: bool,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            let request = CreatePolicyRequest {
                policy_id,
                definition: to_json(&definition, "definition")?,
                description,
                previous_policy_ref: previous_policy_ref.as_ref().map(policy_ref).transpose()?,
                idempotency_key,
            };
            Ok(move || async move {
                if publish {
                    client.publish_policy(&request).await.map(|p| Created::Publication(p.into()))
                } else {
                    client.create_policy(&request).await.map(|p| Created::Policy(p.into()))
                }
            })
        })
    }

    fn get_policy(&self, py: Python<'_>, policy_id: String) -> PyResult<Py<PyAny>> {
        self.call(py, |client| Ok(move || async move { client.get_policy(&policy_id).await.map(PyPolicy::from) }))
    }

    #[pyo3(signature = (*, limit=None, cursor=None))]
    fn list_policies(&self, py: Python<'_>, limit: Option<u32>, cursor: Option<String>) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            Ok(move || async move { client.list_policies(limit, cursor.as_deref()).await.map(PyPolicyPage::from) })
        })
    }

    #[pyo3(signature = (policy_id, *, idempotency_key=None))]
    fn archive_policy(
        &self,
        py: Python<'_>,
        policy_id: String,
        idempotency_key: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            // `None` in Python: pyo3 would make `()` an empty tuple.
            Ok(move || async move {
                client.archive_policy(&policy_id, idempotency_key.as_deref()).await.map(|()| Option::<bool>::None)
            })
        })
    }

    #[pyo3(signature = (*, definition, action, context=None))]
    fn preview_policy(
        &self,
        py: Python<'_>,
        definition: Bound<'_, PyAny>,
        action: String,
        context: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            let request = PolicyPreviewRequest {
                definition: to_json(&definition, "definition")?,
                action,
                context: optional_object(context.as_ref(), "context")?.unwrap_or_default(),
            };
            Ok(move || async move { client.preview_policy(&request).await.map(PyPolicyPreview::from) })
        })
    }

    /// The workspace's key document, loaded strictly by core.
    fn workspace_keys(&self, py: Python<'_>, workspace_id: String) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            Ok(move || async move {
                let text = client.workspace_keys_json(&workspace_id).await?;
                let keys = allowly_core::receipt::load_keys_from_json(text.as_bytes())?;
                Ok(PyKeySet::from(keys))
            })
        })
    }

    fn __repr__(&self) -> String {
        format!("NativeClient(base_url='{}', blocking={})", self.base_url, if self.blocking { "True" } else { "False" })
    }
}
