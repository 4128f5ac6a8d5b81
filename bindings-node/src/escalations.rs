//! The escalation methods of `NativeClient`: a member answering what it is asked (with the member's own credential
//! as the client's key), waiting for an answer, and the members themselves (setup key). One core call each; who may
//! answer, and who is recorded as the resolver, is decided by the server from the credential.

use allowly_core::model as core;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::client::{NativeClient, WaitOptions};
use crate::error::IntoNapi;
use crate::model::{CreatedMember, EscalationMonitor, EscalationResolved, Member, MemberRevocation};

/// Options of `escalations.resolve` / `approve` / `reject`.
#[napi(object)]
pub struct ResolveEscalationOptions {
    /// At most 1 000 characters; the receipt keeps only its SHA-256.
    pub note: Option<String>,
    /// The official 0.8.0 SDK's field: checked by the server against this client's member credential
    /// (`member:<id>` or `<id>`; otherwise 403 `resolved_by_mismatch`). The resolver is always the credential's member.
    pub resolved_by: Option<String>,
}

/// Body of `admin.members.create`.
#[napi(object)]
pub struct CreateMemberRequest {
    /// 1–128 of `A-Z a-z 0-9 . _ @ -`; targets name it as `member:<memberId>`.
    pub member_id: String,
    pub display_name: Option<String>,
}

#[napi]
impl NativeClient {
    /// `resolution` is `"approved"` or `"rejected"` (anything else: `ValidationError` naming `resolution`).
    #[napi]
    pub async fn resolve_escalation(
        &self,
        escalation_id: String,
        resolution: String,
        options: Option<ResolveEscalationOptions>,
    ) -> Result<EscalationResolved> {
        let resolution = core::EscalationResolution::parse(&resolution).napi()?;
        let (note, resolved_by) = options.map_or((None, None), |o| (o.note, o.resolved_by));
        self.client
            .resolve_escalation_as(&escalation_id, resolution, resolved_by.as_deref(), note.as_deref())
            .await
            .map(Into::into)
            .napi()
    }

    #[napi]
    pub async fn wait_for_escalation(
        &self,
        escalation_id: String,
        options: Option<WaitOptions>,
    ) -> Result<EscalationMonitor> {
        let defaults = allowly_core::client::WaitOptions::DEFAULT;
        let options = options.unwrap_or(WaitOptions { timeout_ms: None, poll_interval_ms: None });
        let timeout = options.timeout_ms.map_or(defaults.timeout, crate::client::ms);
        let poll = options.poll_interval_ms.map_or(defaults.poll_interval, crate::client::ms);
        self.client.wait_for_escalation(&escalation_id, timeout, poll).await.map(Into::into).napi()
    }

    /// The new member's credential (`allowly_mk_…`) is in this answer only.
    #[napi]
    pub async fn create_member(&self, request: CreateMemberRequest) -> Result<CreatedMember> {
        let request = core::CreateMemberRequest { member_id: request.member_id, display_name: request.display_name };
        self.client.create_member(&request).await.map(Into::into).napi()
    }

    #[napi]
    pub async fn list_members(&self) -> Result<Vec<Member>> {
        self.client.list_members().await.map(|members| members.into_iter().map(Into::into).collect()).napi()
    }

    /// A new credential, in this answer only; the old one stops working at once.
    #[napi]
    pub async fn rotate_member_credential(&self, member_id: String) -> Result<CreatedMember> {
        self.client.rotate_member_credential(&member_id).await.map(Into::into).napi()
    }

    #[napi]
    pub async fn revoke_member(&self, member_id: String) -> Result<MemberRevocation> {
        self.client.revoke_member(&member_id).await.map(Into::into).napi()
    }
}
