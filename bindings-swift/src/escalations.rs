//! The escalation methods of `NativeClient`: a member answering what it is asked (with the member's own credential
//! as the client's key), waiting for an answer, and the members themselves (setup key). One core call each; who may
//! answer, and who is recorded as the resolver, is decided by the server from the credential.

use std::time::Duration;

use allowly_core::model as core;

use crate::client::NativeClient;
use crate::error::Result;
use crate::model::{CreatedMember, EscalationMonitor, EscalationResolved, Member, MemberRevocation};

#[uniffi::export(async_runtime = "tokio")]
impl NativeClient {
    /// Answers the level the escalation waits on (`resolution`: `approved` or `rejected`) as the member whose
    /// credential this client holds. `resolved_by` is the official 0.8.0 field: checked by the server against the
    /// credential (403 `resolved_by_mismatch`), never trusted; `note` is at most 1 000 characters.
    pub async fn resolve_escalation(
        &self,
        escalation_id: String,
        resolution: String,
        note: Option<String>,
        resolved_by: Option<String>,
    ) -> Result<EscalationResolved> {
        let resolution = core::EscalationResolution::parse(&resolution)?;
        let resolved = self
            .core()
            .resolve_escalation_as(&escalation_id, resolution, resolved_by.as_deref(), note.as_deref())
            .await?;
        Ok(resolved.into())
    }

    /// Polls until no member is asked any more (approved at its last level, rejected or expired); `Timeout` if still
    /// pending after `timeout`.
    pub async fn wait_for_escalation(
        &self,
        escalation_id: String,
        timeout: Duration,
        poll_interval: Duration,
    ) -> Result<EscalationMonitor> {
        Ok(self.core().wait_for_escalation(&escalation_id, timeout, poll_interval).await?.into())
    }

    /// A new member; its credential (`SecretText`) is in this answer only.
    pub async fn create_member(&self, member_id: String, display_name: Option<String>) -> Result<CreatedMember> {
        let request = core::CreateMemberRequest { member_id, display_name };
        Ok(self.core().create_member(&request).await?.into())
    }

    pub async fn list_members(&self) -> Result<Vec<Member>> {
        Ok(self.core().list_members().await?.into_iter().map(Into::into).collect())
    }

    /// A new credential, in this answer only; the old one stops working at once.
    pub async fn rotate_member_credential(&self, member_id: String) -> Result<CreatedMember> {
        Ok(self.core().rotate_member_credential(&member_id).await?.into())
    }

    pub async fn revoke_member(&self, member_id: String) -> Result<MemberRevocation> {
        Ok(self.core().revoke_member(&member_id).await?.into())
    }
}
