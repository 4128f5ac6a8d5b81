//! Result classes: one thin Python class per core model, holding the core value itself.
//!
//! Nothing is re-declared: getters read the core struct, `to_dict()` is core's serde shape, equality is core's
//! `PartialEq`. `__repr__` shows what identifies a result and never a secret (API keys never reach these types;
//! the single-use `confirm_nonce` is shown as `<redacted>`).

use allowly_core::FieldError;
use allowly_core::model::{
    Authorization, BudgetInfo, CheckResponse, Confirmation, ConfirmationResolution, ReceiptEnvelope, Revocation,
    ScopeResult, Settlement, SignedReceipt,
};
use pyo3::prelude::*;

use crate::convert::serialize;

// The property getters of every wrapped model, one per core field (`make models`); this file keeps the classes,
// their reprs and the members that are not fields.
#[rustfmt::skip]
mod generated;

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

        #[pymethods]
        impl $py {
            /// The wire shape as a dict (core's serde form). A signed receipt is shown for display: verification
            /// uses its exact JSON text instead.
            fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                serialize(py, &self.inner)
            }
        }
    };
}

// After the macro, which a module sees only when declared below it.
mod admin;
mod policies;

pub(crate) use admin::*;
pub(crate) use policies::*;

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
    fn __repr__(&self) -> String {
        format!("SignedReceipt(receipt_id={})", q(self.inner.receipt_id()))
    }
    fn __str__(&self) -> &str {
        self.inner.json()
    }
}

#[pymethods]
impl PyAuthorization {
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

/// `ScopeResult.policy_eval`: a `PolicyEval` when core reads it as a policy edition's evaluation, else the JSON as a
/// dict (the scope-grant shape `{matched_condition, field_value}`).
pub(crate) fn policy_eval_py(py: Python<'_>, r: &ScopeResult) -> PyResult<Option<Py<PyAny>>> {
    if let Some(evaluation) = r.policy_evaluation() {
        return Ok(Some(Py::new(py, PyPolicyEval::from(evaluation))?.into_any()));
    }
    r.policy_eval.as_ref().map(|v| Ok(crate::convert::to_py(py, v)?.unbind())).transpose()
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
    #[getter]
    fn is_allowed(&self) -> bool {
        self.inner.is_allowed()
    }
    fn __repr__(&self) -> String {
        scope_repr(&self.inner)
    }
}

#[pymethods]
impl PyBudget {
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
    fn __repr__(&self) -> String {
        format!("Confirmation(confirmation_id={}, status={})", q(&self.inner.confirmation_id), q(self.status()))
    }
}

#[pymethods]
impl PySettlement {
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
    policies::register(m)?;
    admin::register(m)?;
    Ok(())
}
