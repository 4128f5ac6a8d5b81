//! The escalation methods of `NativeClient`: a member answering the escalation it is asked (with the member's own
//! credential as the client's key), waiting for an answer, and the members themselves (setup key). One core call
//! each; who may answer, and who is recorded as the resolver, is decided by the server from the credential.

use std::collections::BTreeMap;

use allowly_core::model::{CreateMemberRequest, EscalationResolution};
use pyo3::prelude::*;

use crate::client::{NativeClient, seconds};
use crate::models::{PyCreatedMember, PyEscalationMonitor, PyEscalationResolved, PyMember, PyMemberRevocation};

/// One value of `escalation_targets`: a single `"member:<id>"` (one level) or the levels in order, as core's serde
/// reads the wire.
#[derive(FromPyObject)]
pub(crate) enum EscalationLevels {
    One(String),
    Many(Vec<String>),
}

/// `escalation_targets` as core takes it (scope → levels).
pub(crate) fn escalation_targets(
    targets: Option<BTreeMap<String, EscalationLevels>>,
) -> Option<BTreeMap<String, Vec<String>>> {
    targets.map(|targets| {
        targets
            .into_iter()
            .map(|(scope, levels)| match levels {
                EscalationLevels::One(member) => (scope, vec![member]),
                EscalationLevels::Many(members) => (scope, members),
            })
            .collect()
    })
}

#[pymethods]
impl NativeClient {
    /// `POST /v1/escalations/{id}/resolve`. `resolved_by` is 0.8.0's keyword: sent as given, checked by the server
    /// against this client's member credential (403 `resolved_by_mismatch`), never trusted.
    #[pyo3(signature = (escalation_id, *, resolution, note=None, resolved_by=None))]
    fn resolve_escalation(
        &self,
        py: Python<'_>,
        escalation_id: String,
        resolution: String,
        note: Option<String>,
        resolved_by: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            let resolution = EscalationResolution::parse(&resolution)?;
            Ok(move || async move {
                client
                    .resolve_escalation_as(&escalation_id, resolution, resolved_by.as_deref(), note.as_deref())
                    .await
                    .map(PyEscalationResolved::from)
            })
        })
    }

    #[pyo3(signature = (escalation_id, *, timeout=60.0, poll_interval=1.0))]
    fn wait_for_escalation(
        &self,
        py: Python<'_>,
        escalation_id: String,
        timeout: f64,
        poll_interval: f64,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            let (timeout, poll) = (seconds("timeout", timeout)?, seconds("poll_interval", poll_interval)?);
            Ok(move || async move {
                client.wait_for_escalation(&escalation_id, timeout, poll).await.map(PyEscalationMonitor::from)
            })
        })
    }

    #[pyo3(signature = (member_id, *, display_name=None))]
    fn create_member(&self, py: Python<'_>, member_id: String, display_name: Option<String>) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            let request = CreateMemberRequest { member_id, display_name };
            Ok(move || async move { client.create_member(&request).await.map(PyCreatedMember::from) })
        })
    }

    fn list_members(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            Ok(move || async move {
                client.list_members().await.map(|members| members.into_iter().map(PyMember::from).collect::<Vec<_>>())
            })
        })
    }

    fn rotate_member_credential(&self, py: Python<'_>, member_id: String) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            Ok(move || async move { client.rotate_member_credential(&member_id).await.map(PyCreatedMember::from) })
        })
    }

    fn revoke_member(&self, py: Python<'_>, member_id: String) -> PyResult<Py<PyAny>> {
        self.call(py, |client| {
            Ok(move || async move { client.revoke_member(&member_id).await.map(PyMemberRevocation::from) })
        })
    }
}
