//! Result classes of policy editions, edition grants and the confirmation and escalation monitors (the official
//! 0.8.0 shapes).
//!
//! Like the rest of `models`, each holds the core value and its properties are generated (`make models`). The small
//! records 0.8.0 hands out as dicts (`policy_ref`, each authorization migration) also answer `obj["key"]`, so code
//! written against 0.8.0's dicts runs unchanged, while attribute access works as for every other result here.

use allowly_core::model::{
    AuthorizationMigration, ConfirmationMonitor, EditionAuthorization, EscalationMonitor, EscalationResolved,
    EscalationStep, Policy, PolicyEval, PolicyPage, PolicyPreview, PolicyPublication, PolicyRef, PolicyResult,
};
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;

use super::{q, q_opt};
use crate::convert::{serialize, to_py};

wrapper!(
    /// Which policy edition: `policy_id`, `policy_version` and the definition's SHA-256. Also readable as a dict.
    PyPolicyRef => PolicyRef, "PolicyRef"
);
wrapper!(PyPolicyResult => PolicyResult, "PolicyResult");
wrapper!(
    /// One evaluation: the input commitment and its result, as receipts, check results and previews carry it.
    PyPolicyEval => PolicyEval, "PolicyEval"
);
wrapper!(PyPolicy => Policy, "Policy");
wrapper!(PyPolicyPage => PolicyPage, "PolicyPage");
wrapper!(PyPolicyPreview => PolicyPreview, "PolicyPreview");
wrapper!(
    /// One authorization a publish moved onto the new edition. Also readable as a dict.
    PyAuthorizationMigration => AuthorizationMigration, "AuthorizationMigration"
);
wrapper!(PyPolicyPublication => PolicyPublication, "PolicyPublication");
wrapper!(
    /// An authorization granted from a policy edition.
    PyEditionAuthorization => EditionAuthorization, "EditionAuthorization"
);
wrapper!(
    /// `confirmations.get_status`: a confirmation's state and whether its approval is still usable.
    PyConfirmationMonitor => ConfirmationMonitor, "ConfirmationMonitor"
);
wrapper!(
    /// `escalations.get_status`: whether the member answered and whether an approval is still usable.
    PyEscalationMonitor => EscalationMonitor, "EscalationMonitor"
);
wrapper!(
    /// One answered level of an escalation: who answered (from their credential), what, and its receipt.
    PyEscalationStep => EscalationStep, "EscalationStep"
);
wrapper!(
    /// A member's answer to an escalation level, and where the escalation stands after it.
    PyEscalationResolved => EscalationResolved, "EscalationResolved"
);

/// `obj["key"]` over the wire shape, for records 0.8.0 returns as dicts.
fn item<T: serde::Serialize>(py: Python<'_>, value: &T, key: &str) -> PyResult<Py<PyAny>> {
    let json = serde_json::to_value(value).map_err(|e| PyKeyError::new_err(e.to_string()))?;
    match json.get(key) {
        Some(v) => Ok(to_py(py, v)?.unbind()),
        None => Err(PyKeyError::new_err(key.to_owned())),
    }
}

#[pymethods]
impl PyPolicyRef {
    fn __getitem__(&self, py: Python<'_>, key: &str) -> PyResult<Py<PyAny>> {
        item(py, &self.inner, key)
    }
    fn __repr__(&self) -> String {
        format!(
            "PolicyRef(policy_id={}, policy_version={}, definition_sha256={})",
            q(&self.inner.policy_id),
            self.inner.policy_version,
            q(&self.inner.definition_sha256)
        )
    }
}

#[pymethods]
impl PyAuthorizationMigration {
    fn __getitem__(&self, py: Python<'_>, key: &str) -> PyResult<Py<PyAny>> {
        item(py, &self.inner, key)
    }
    fn __repr__(&self) -> String {
        format!(
            "AuthorizationMigration(user_id={}, previous_authorization_id={}, authorization_id={})",
            q(&self.inner.user_id),
            q(&self.inner.previous_authorization_id),
            q(&self.inner.authorization_id)
        )
    }
}

#[pymethods]
impl PyPolicyResult {
    fn __repr__(&self) -> String {
        format!(
            "PolicyResult(decision={}, target={}, matched_rule_id={})",
            q(self.inner.decision.as_str()),
            q_opt(self.inner.target.as_deref()),
            q_opt(self.inner.matched_rule_id.as_deref())
        )
    }
}

#[pymethods]
impl PyPolicyEval {
    fn __repr__(&self) -> String {
        format!(
            "PolicyEval(input_sha256={}, decision={})",
            q(&self.inner.input_sha256),
            q(self.inner.result.decision.as_str())
        )
    }
}

#[pymethods]
impl PyPolicy {
    fn __repr__(&self) -> String {
        let r = &self.inner.policy_ref;
        format!("Policy(policy_id={}, policy_version={})", q(&r.policy_id), r.policy_version)
    }
}

#[pymethods]
impl PyPolicyPage {
    fn __len__(&self) -> usize {
        self.inner.items.len()
    }
    fn __repr__(&self) -> String {
        format!(
            "PolicyPage(items={}, has_more={})",
            self.inner.items.len(),
            if self.inner.has_more { "True" } else { "False" }
        )
    }
}

#[pymethods]
impl PyPolicyPreview {
    fn __repr__(&self) -> String {
        format!(
            "PolicyPreview(action={}, decision={})",
            q(&self.inner.action),
            q(self.inner.policy_eval.result.decision.as_str())
        )
    }
}

#[pymethods]
impl PyPolicyPublication {
    fn __repr__(&self) -> String {
        let r = &self.inner.policy_ref;
        format!(
            "PolicyPublication(policy_id={}, policy_version={}, migrated={})",
            q(&r.policy_id),
            r.policy_version,
            self.inner.authorization_migrations.len()
        )
    }
}

#[pymethods]
impl PyEditionAuthorization {
    fn __repr__(&self) -> String {
        let r = &self.inner.policy_ref;
        format!(
            "EditionAuthorization(authorization_id={}, policy_id={}, policy_version={}, actions={:?})",
            q(&self.inner.authorization_id),
            q(&r.policy_id),
            r.policy_version,
            self.inner.actions
        )
    }
}

#[pymethods]
impl PyConfirmationMonitor {
    fn __repr__(&self) -> String {
        format!(
            "ConfirmationMonitor(confirmation_id={}, status={}, authority_status={})",
            q(&self.inner.confirmation_id),
            q(&self.inner.status),
            q(&self.inner.authority_status)
        )
    }
}

#[pymethods]
impl PyEscalationMonitor {
    fn __repr__(&self) -> String {
        format!(
            "EscalationMonitor(escalation_id={}, status={}, authority_status={})",
            q(&self.inner.escalation_id),
            q(&self.inner.status),
            q(&self.inner.authority_status)
        )
    }
}

#[pymethods]
impl PyEscalationStep {
    fn __repr__(&self) -> String {
        let s = &self.inner;
        format!("EscalationStep(level={}, resolution={}, resolved_by={})", s.level, q(&s.resolution), q(&s.resolved_by))
    }
}

#[pymethods]
impl PyEscalationResolved {
    fn __repr__(&self) -> String {
        let r = &self.inner;
        format!(
            "EscalationResolved(escalation_id={}, status={}, resolved_by={}, escalation_status={})",
            q(&r.escalation_id),
            q(r.status.as_str()),
            q_opt(r.resolved_by.as_deref()),
            q_opt(r.escalation_status.as_deref())
        )
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPolicyRef>()?;
    m.add_class::<PyPolicyResult>()?;
    m.add_class::<PyPolicyEval>()?;
    m.add_class::<PyPolicy>()?;
    m.add_class::<PyPolicyPage>()?;
    m.add_class::<PyPolicyPreview>()?;
    m.add_class::<PyAuthorizationMigration>()?;
    m.add_class::<PyPolicyPublication>()?;
    m.add_class::<PyEditionAuthorization>()?;
    m.add_class::<PyConfirmationMonitor>()?;
    m.add_class::<PyEscalationMonitor>()?;
    m.add_class::<PyEscalationStep>()?;
    m.add_class::<PyEscalationResolved>()?;
    Ok(())
}
