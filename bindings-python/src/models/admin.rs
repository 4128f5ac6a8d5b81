//! Result classes of the admin client (setup key): API keys, the webhook endpoint, signing-key rotation, audit.
//!
//! Properties are generated (`make models`); reprs are written here and never show a secret: a created key's text
//! and a webhook's signing secret are readable as properties (that is how the caller gets them, once) but their
//! reprs leave them out.

use allowly_core::model::{
    ApiKey, ApiKeyRevocation, AuditPage, AuditRow, CreatedApiKey, CreatedMember, Member, MemberRevocation,
    SigningKeyRotation, WebhookEndpoint, WebhookSecret,
};
use pyo3::prelude::*;

use super::{q, q_opt};
use crate::convert::serialize;

wrapper!(
    /// One key of the workspace, by prefix (never its text).
    PyApiKey => ApiKey, "ApiKey"
);
wrapper!(
    /// A new API key: `key` is its text, shown in this answer only (not in the repr).
    PyCreatedApiKey => CreatedApiKey, "CreatedApiKey"
);
wrapper!(PyApiKeyRevocation => ApiKeyRevocation, "ApiKeyRevocation");
wrapper!(
    /// A member who answers escalations (never with a credential).
    PyMember => Member, "Member"
);
wrapper!(
    /// A new member, or a rotated credential: `credential` is shown in this answer only (not in the repr).
    PyCreatedMember => CreatedMember, "CreatedMember"
);
wrapper!(PyMemberRevocation => MemberRevocation, "MemberRevocation");
wrapper!(
    /// The webhook endpoint, without its secret.
    PyWebhookEndpoint => WebhookEndpoint, "WebhookEndpoint"
);
wrapper!(
    /// The webhook endpoint and its new signing secret, shown in this answer only (not in the repr).
    PyWebhookSecret => WebhookSecret, "WebhookSecret"
);
wrapper!(PySigningKeyRotation => SigningKeyRotation, "SigningKeyRotation");
wrapper!(
    /// One page of `audit.list`: signed receipts, newest first, and the cursor of the next page.
    PyAuditPage => AuditPage, "AuditPage"
);
wrapper!(
    /// What a listing shows of a signed receipt, read from its payload without verifying it.
    PyAuditRow => AuditRow, "AuditRow"
);

#[pymethods]
impl PyApiKey {
    fn __repr__(&self) -> String {
        let k = &self.inner;
        format!(
            "ApiKey(id={}, name={}, tier={}, prefix={}, revoked_at={})",
            q(&k.id),
            q(&k.name),
            q(&k.tier),
            q(&k.prefix),
            q_opt(k.revoked_at.as_deref())
        )
    }
}

#[pymethods]
impl PyCreatedApiKey {
    fn __repr__(&self) -> String {
        let k = &self.inner;
        format!(
            "CreatedApiKey(id={}, name={}, tier={}, prefix={}, key=<redacted>)",
            q(&k.id),
            q(&k.name),
            q(&k.tier),
            q(&k.prefix)
        )
    }
}

#[pymethods]
impl PyApiKeyRevocation {
    fn __repr__(&self) -> String {
        format!("ApiKeyRevocation(id={}, revoked_at={})", q(&self.inner.id), q(&self.inner.revoked_at))
    }
}

#[pymethods]
impl PyMember {
    fn __repr__(&self) -> String {
        let m = &self.inner;
        format!(
            "Member(member_id={}, display_name={}, revoked_at={})",
            q(&m.member_id),
            q_opt(m.display_name.as_deref()),
            q_opt(m.revoked_at.as_deref())
        )
    }
}

#[pymethods]
impl PyCreatedMember {
    fn __repr__(&self) -> String {
        let m = &self.inner;
        format!(
            "CreatedMember(member_id={}, display_name={}, credential=<redacted>)",
            q(&m.member_id),
            q_opt(m.display_name.as_deref())
        )
    }
}

#[pymethods]
impl PyMemberRevocation {
    fn __repr__(&self) -> String {
        format!("MemberRevocation(member_id={}, revoked_at={})", q(&self.inner.member_id), q(&self.inner.revoked_at))
    }
}

#[pymethods]
impl PyWebhookEndpoint {
    fn __repr__(&self) -> String {
        format!("WebhookEndpoint(url={}, events={:?})", q(&self.inner.url), self.inner.events)
    }
}

#[pymethods]
impl PyWebhookSecret {
    fn __repr__(&self) -> String {
        format!("WebhookSecret(url={}, signing_secret=<redacted>)", q(&self.inner.url))
    }
}

#[pymethods]
impl PySigningKeyRotation {
    fn __repr__(&self) -> String {
        format!("SigningKeyRotation(key_id={}, active_from={})", q(&self.inner.key_id), q(&self.inner.active_from))
    }
}

#[pymethods]
impl PyAuditPage {
    fn __len__(&self) -> usize {
        self.inner.receipts.len()
    }
    /// The display rows of this page's receipts (unverified; verify the receipts themselves before relying on them).
    fn rows(&self, py: Python<'_>) -> PyResult<Vec<PyAuditRow>> {
        let rows = self.inner.receipts.iter().map(AuditRow::of).collect::<Result<Vec<_>, _>>();
        rows.map(|r| r.into_iter().map(PyAuditRow::from).collect()).map_err(|e| crate::errors::to_py_err(py, e))
    }
    fn __repr__(&self) -> String {
        format!(
            "AuditPage(receipts={}, next_cursor={})",
            self.inner.receipts.len(),
            q_opt(self.inner.next_cursor.as_deref())
        )
    }
}

#[pymethods]
impl PyAuditRow {
    fn __repr__(&self) -> String {
        let r = &self.inner;
        format!(
            "AuditRow(receipt_id={}, action={}, decision={}, reason={})",
            q(&r.receipt_id),
            q(&r.action),
            q(&r.decision),
            q(&r.reason)
        )
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyApiKey>()?;
    m.add_class::<PyCreatedApiKey>()?;
    m.add_class::<PyApiKeyRevocation>()?;
    m.add_class::<PyMember>()?;
    m.add_class::<PyCreatedMember>()?;
    m.add_class::<PyMemberRevocation>()?;
    m.add_class::<PyWebhookEndpoint>()?;
    m.add_class::<PyWebhookSecret>()?;
    m.add_class::<PySigningKeyRotation>()?;
    m.add_class::<PyAuditPage>()?;
    m.add_class::<PyAuditRow>()?;
    Ok(())
}
