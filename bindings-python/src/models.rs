//! Result classes: one thin Python class per core model, holding the core value itself.
//!
//! Nothing is re-declared: getters read the core struct, `to_dict()` is core's serde shape, equality is core's
//! `PartialEq`. `__repr__` shows what identifies a result and never a secret (API keys never reach these types;
//! the single-use `confirm_nonce` is shown as `<redacted>`).

use std::collections::BTreeMap;

use allowly_core::FieldError;
use allowly_core::model::{
    Authorization, BudgetInfo, CheckResponse, Confirmation, ConfirmationResolution, ReceiptEnvelope, Revocation,
    ScopeResult, Settlement, SignedReceipt,
};
use pyo3::prelude::*;

use crate::convert::{serialize, to_py};

/// Declares the Python class wrapping one core model.
macro_rules! wrapper {
    ($(#[$doc:meta])* $py:ident => $core:ty, $name:literal) => {
        $(#[$doc])*
        #[pyclass(frozen, eq, module = "allowly", name = $name)]
        #[derive(Clone, PartialEq)]
        pub struct $py {
            pub(crate) inner: $core,
        }

        impl From<$core> for $py {
            fn from(inner: $core) -> Self {
                $py { inner }
            }
        }
    };
}

wrapper!(
    /// One field-level problem of a `ValidationError`.
    PyFieldError => FieldError, "FieldError"
);
wrapper!(
    /// A receipt envelope: pending (signing is asynchronous) or signed.
    PyReceipt => ReceiptEnvelope, "Receipt"
);
wrapper!(
    /// A signed receipt, kept as the exact JSON text the server sent so verification sees the signed bytes.
    PySignedReceipt => SignedReceipt, "SignedReceipt"
);
wrapper!(PyAuthorization => Authorization, "Authorization");
wrapper!(PyRevocation => Revocation, "Revocation");
wrapper!(
    /// The answer of `check`: one `ScopeResult` per requested scope.
    PyCheckResult => CheckResponse, "CheckResult"
);
wrapper!(PyScopeResult => ScopeResult, "ScopeResult");
wrapper!(PyBudget => BudgetInfo, "Budget");
wrapper!(PyConfirmationResolution => ConfirmationResolution, "ConfirmationResolution");
wrapper!(PyConfirmation => Confirmation, "Confirmation");
wrapper!(PySettlement => Settlement, "Settlement");

/// Python-style quoting for reprs.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn q_opt(s: Option<&str>) -> String {
    s.map(q).unwrap_or_else(|| "None".to_owned())
}

fn receipt(envelope: &Option<ReceiptEnvelope>) -> Option<PyReceipt> {
    envelope.clone().map(PyReceipt::from)
}

fn dict_opt(py: Python<'_>, map: &Option<serde_json::Map<String, serde_json::Value>>) -> PyResult<Option<Py<PyAny>>> {
    map.as_ref().map(|m| Ok(to_py(py, &serde_json::Value::Object(m.clone()))?.unbind())).transpose()
}

#[pymethods]
impl PyFieldError {
    #[getter]
    fn field(&self) -> &str {
        &self.inner.field
    }
    #[getter]
    fn message(&self) -> &str {
        &self.inner.message
    }
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        serialize(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        format!("FieldError(field={}, message={})", q(&self.inner.field), q(&self.inner.message))
    }
}

#[pymethods]
impl PyReceipt {
    /// `"pending"` or `"signed"`.
    #[getter]
    fn status(&self) -> &'static str {
        self.inner.status().as_str()
    }
    #[getter]
    fn receipt_id(&self) -> &str {
        self.inner.receipt_id()
    }
    #[getter]
    fn ready_at_estimate(&self) -> Option<&str> {
        match &self.inner {
            ReceiptEnvelope::Pending { ready_at_estimate, .. } => ready_at_estimate.as_deref(),
            ReceiptEnvelope::Signed(_) => None,
        }
    }
    #[getter]
    fn url(&self) -> Option<&str> {
        match &self.inner {
            ReceiptEnvelope::Pending { url, .. } => url.as_deref(),
            ReceiptEnvelope::Signed(_) => None,
        }
    }
    #[getter]
    fn is_signed(&self) -> bool {
        self.inner.is_signed()
    }
    /// The signed receipt, once there is one (else `None`: poll with `receipts.fetch_signed`).
    #[getter]
    fn signed(&self) -> Option<PySignedReceipt> {
        self.inner.as_signed().cloned().map(PySignedReceipt::from)
    }
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        serialize(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        format!("Receipt(status={}, receipt_id={})", q(self.status()), q(self.receipt_id()))
    }
}

#[pymethods]
impl PySignedReceipt {
    #[getter]
    fn receipt_id(&self) -> &str {
        self.inner.receipt_id()
    }
    /// Always `"signed"`, so pending and signed receipts answer the same questions.
    #[getter]
    fn status(&self) -> &'static str {
        self.inner.status().as_str()
    }
    /// The exact JSON text as received: store this, and verify this.
    #[getter]
    fn json(&self) -> &str {
        self.inner.json()
    }
    /// For display; verification uses the exact text instead.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        serialize(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        format!("SignedReceipt(receipt_id={})", q(self.inner.receipt_id()))
    }
    fn __str__(&self) -> &str {
        self.inner.json()
    }
}

#[pymethods]
impl PyAuthorization {
    #[getter]
    fn authorization_id(&self) -> &str {
        &self.inner.authorization_id
    }
    #[getter]
    fn user_id(&self) -> &str {
        &self.inner.user_id
    }
    #[getter]
    fn agent_id(&self) -> &str {
        &self.inner.agent_id
    }
    /// The granted scope names; `to_dict()["scopes"]` has their constraints.
    #[getter]
    fn scopes(&self) -> Vec<String> {
        self.inner.scope_names().map(str::to_owned).collect()
    }
    #[getter]
    fn created_at(&self) -> &str {
        &self.inner.created_at
    }
    #[getter]
    fn expires_at(&self) -> &str {
        &self.inner.expires_at
    }
    #[getter]
    fn requires_confirm_for(&self) -> Vec<String> {
        self.inner.requires_confirm_for.clone()
    }
    #[getter]
    fn requires_deny_for(&self) -> Vec<String> {
        self.inner.requires_deny_for.clone()
    }
    #[getter]
    fn budget_limit_micros(&self) -> Option<i64> {
        self.inner.budget_limit_micros
    }
    #[getter]
    fn budget_spent_micros(&self) -> Option<i64> {
        self.inner.budget_spent_micros
    }
    #[getter]
    fn metadata(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        dict_opt(py, &self.inner.metadata)
    }
    /// `"active"`, `"revoked"` or `"expired"` (only reads report it; a fresh authorization is active).
    #[getter]
    fn status(&self) -> Option<&'static str> {
        self.inner.status.map(|s| s.as_str())
    }
    #[getter]
    fn receipt(&self) -> Option<PyReceipt> {
        receipt(&self.inner.receipt)
    }
    #[getter]
    fn replaced_authorization_id(&self) -> Option<&str> {
        self.inner.replaced_authorization_id.as_deref()
    }
    #[getter]
    fn revocation_receipt(&self) -> Option<PyReceipt> {
        receipt(&self.inner.revocation_receipt)
    }
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        serialize(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        format!(
            "Authorization(authorization_id={}, agent_id={}, scopes={:?}, expires_at={})",
            q(&self.inner.authorization_id),
            q(&self.inner.agent_id),
            self.scopes(),
            q(&self.inner.expires_at)
        )
    }
}

#[pymethods]
impl PyRevocation {
    #[getter]
    fn authorization_id(&self) -> &str {
        &self.inner.authorization_id
    }
    #[getter]
    fn revoked_at(&self) -> &str {
        &self.inner.revoked_at
    }
    #[getter]
    fn receipt(&self) -> PyReceipt {
        self.inner.receipt.clone().into()
    }
    #[getter]
    fn revoked_confirmations(&self) -> Vec<String> {
        self.inner.revoked_confirmations.clone()
    }
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        serialize(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        format!(
            "Revocation(authorization_id={}, revoked_at={})",
            q(&self.inner.authorization_id),
            q(&self.inner.revoked_at)
        )
    }
}

#[pymethods]
impl PyCheckResult {
    /// Exactly one entry per requested scope.
    #[getter]
    fn results(&self) -> BTreeMap<String, PyScopeResult> {
        self.inner.results.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect()
    }
    #[getter]
    fn authorization_id(&self) -> Option<&str> {
        self.inner.authorization_id.as_deref()
    }
    #[getter]
    fn user_id(&self) -> Option<&str> {
        self.inner.user_id.as_deref()
    }
    #[getter]
    fn agent_id(&self) -> Option<&str> {
        self.inner.agent_id.as_deref()
    }
    #[getter]
    fn authorization_expires_at(&self) -> Option<&str> {
        self.inner.authorization_expires_at.as_deref()
    }
    #[getter]
    fn engine_version(&self) -> &str {
        &self.inner.engine_version
    }
    /// True when any result was made up by the client because the server did not answer.
    #[getter]
    fn is_fallback(&self) -> bool {
        self.inner.is_fallback()
    }
    fn is_allowed(&self, scope: &str) -> bool {
        self.inner.is_allowed(scope)
    }
    fn all_allowed(&self) -> bool {
        self.inner.all_allowed()
    }
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        serialize(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        let results: Vec<String> =
            self.inner.results.iter().map(|(scope, r)| format!("{}: {}", q(scope), scope_repr(r))).collect();
        format!(
            "CheckResult(authorization_id={}, results={{{}}})",
            q_opt(self.inner.authorization_id.as_deref()),
            results.join(", ")
        )
    }
}

fn scope_repr(r: &ScopeResult) -> String {
    let mut out = format!("ScopeResult(decision={}, reason={}", q(r.decision.as_str()), q(&r.reason));
    if r.confirm_nonce.is_some() {
        out.push_str(", confirm_nonce=<redacted>");
    }
    if let Some(id) = &r.confirmation_id {
        out.push_str(&format!(", confirmation_id={}", q(id)));
    }
    if let Some(receipt) = &r.receipt {
        out.push_str(&format!(", receipt_id={}", q(receipt.receipt_id())));
    }
    if r.is_fallback {
        out.push_str(", is_fallback=True");
    }
    out.push(')');
    out
}

#[pymethods]
impl PyScopeResult {
    /// `"allow"`, `"confirm"`, `"deny"` (or `"escalate"`).
    #[getter]
    fn decision(&self) -> &'static str {
        self.inner.decision.as_str()
    }
    #[getter]
    fn reason(&self) -> &str {
        &self.inner.reason
    }
    /// `None` only for client-side fallback results.
    #[getter]
    fn receipt(&self) -> Option<PyReceipt> {
        receipt(&self.inner.receipt)
    }
    /// On confirm: the single-use secret that approves this action. Treat it like a password.
    #[getter]
    fn confirm_nonce(&self) -> Option<&str> {
        self.inner.confirm_nonce.as_deref()
    }
    #[getter]
    fn confirmation_id(&self) -> Option<&str> {
        self.inner.confirmation_id.as_deref()
    }
    #[getter]
    fn confirm_expires_at(&self) -> Option<&str> {
        self.inner.confirm_expires_at.as_deref()
    }
    #[getter]
    fn confirm_prompt_hint(&self) -> Option<&str> {
        self.inner.confirm_prompt_hint.as_deref()
    }
    #[getter]
    fn budget(&self) -> Option<PyBudget> {
        self.inner.budget.map(PyBudget::from)
    }
    #[getter]
    fn policy_eval(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.inner.policy_eval.as_ref().map(|v| Ok(to_py(py, v)?.unbind())).transpose()
    }
    #[getter]
    fn is_fallback(&self) -> bool {
        self.inner.is_fallback
    }
    #[getter]
    fn is_allowed(&self) -> bool {
        self.inner.is_allowed()
    }
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        serialize(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        scope_repr(&self.inner)
    }
}

#[pymethods]
impl PyBudget {
    #[getter]
    fn limit_micros(&self) -> i64 {
        self.inner.limit_micros
    }
    #[getter]
    fn spent_micros(&self) -> i64 {
        self.inner.spent_micros
    }
    #[getter]
    fn estimated_cost_micros(&self) -> Option<i64> {
        self.inner.estimated_cost_micros
    }
    #[getter]
    fn spent_after_micros(&self) -> Option<i64> {
        self.inner.spent_after_micros
    }
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        serialize(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        let b = &self.inner;
        let opt = |v: Option<i64>| v.map_or_else(|| "None".to_owned(), |v| v.to_string());
        format!(
            "Budget(limit_micros={}, spent_micros={}, estimated_cost_micros={}, spent_after_micros={})",
            b.limit_micros,
            b.spent_micros,
            opt(b.estimated_cost_micros),
            opt(b.spent_after_micros)
        )
    }
}

#[pymethods]
impl PyConfirmationResolution {
    /// `"approved"` or `"denied_by_user"`.
    #[getter]
    fn decision(&self) -> &'static str {
        self.inner.decision.as_str()
    }
    #[getter]
    fn confirmation_id(&self) -> &str {
        &self.inner.confirmation_id
    }
    #[getter]
    fn authorization_id(&self) -> Option<&str> {
        self.inner.authorization_id.as_deref()
    }
    #[getter]
    fn expires_at(&self) -> Option<&str> {
        self.inner.expires_at.as_deref()
    }
    #[getter]
    fn receipt(&self) -> PyReceipt {
        self.inner.receipt.clone().into()
    }
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        serialize(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        format!(
            "ConfirmationResolution(decision={}, confirmation_id={})",
            q(self.decision()),
            q(&self.inner.confirmation_id)
        )
    }
}

#[pymethods]
impl PyConfirmation {
    #[getter]
    fn confirmation_id(&self) -> &str {
        &self.inner.confirmation_id
    }
    /// `"pending"`, `"approved"`, `"denied_by_user"`, `"expired"` or `"consumed"`.
    #[getter]
    fn status(&self) -> &'static str {
        self.inner.status.as_str()
    }
    #[getter]
    fn authorization_id(&self) -> Option<&str> {
        self.inner.authorization_id.as_deref()
    }
    #[getter]
    fn scope(&self) -> Option<&str> {
        self.inner.scope.as_deref()
    }
    #[getter]
    fn resource(&self) -> Option<&str> {
        self.inner.resource.as_deref()
    }
    #[getter]
    fn created_at(&self) -> Option<&str> {
        self.inner.created_at.as_deref()
    }
    #[getter]
    fn expires_at(&self) -> Option<&str> {
        self.inner.expires_at.as_deref()
    }
    #[getter]
    fn resolved_at(&self) -> Option<&str> {
        self.inner.resolved_at.as_deref()
    }
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        serialize(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        format!("Confirmation(confirmation_id={}, status={})", q(&self.inner.confirmation_id), q(self.status()))
    }
}

#[pymethods]
impl PySettlement {
    #[getter]
    fn check_receipt_id(&self) -> &str {
        &self.inner.check_receipt_id
    }
    #[getter]
    fn authorization_id(&self) -> &str {
        &self.inner.authorization_id
    }
    #[getter]
    fn estimated_cost_micros(&self) -> i64 {
        self.inner.estimated_cost_micros
    }
    #[getter]
    fn actual_cost_micros(&self) -> i64 {
        self.inner.actual_cost_micros
    }
    #[getter]
    fn delta_micros(&self) -> i64 {
        self.inner.delta_micros
    }
    #[getter]
    fn spent_before_micros(&self) -> i64 {
        self.inner.spent_before_micros
    }
    #[getter]
    fn spent_after_micros(&self) -> i64 {
        self.inner.spent_after_micros
    }
    #[getter]
    fn receipt(&self) -> PyReceipt {
        self.inner.receipt.clone().into()
    }
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        serialize(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        format!(
            "Settlement(check_receipt_id={}, actual_cost_micros={}, spent_after_micros={})",
            q(&self.inner.check_receipt_id),
            self.inner.actual_cost_micros,
            self.inner.spent_after_micros
        )
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFieldError>()?;
    m.add_class::<PyReceipt>()?;
    m.add_class::<PySignedReceipt>()?;
    m.add_class::<PyAuthorization>()?;
    m.add_class::<PyRevocation>()?;
    m.add_class::<PyCheckResult>()?;
    m.add_class::<PyScopeResult>()?;
    m.add_class::<PyBudget>()?;
    m.add_class::<PyConfirmationResolution>()?;
    m.add_class::<PyConfirmation>()?;
    m.add_class::<PySettlement>()?;
    Ok(())
}
