//! Bodies of the member (approver) setup routes and of the escalation routes: members, a resolution step, the
//! escalation monitor. Fields are declared in sorted order of their wire names (see the module above).

use serde::Serialize;
use utoipa::ToSchema;

use super::ReceiptEnvelope;

/// `POST /v1/setup/members` and `POST /v1/setup/members/{member_id}/credential`: the member with a credential
/// (`allowly_mk_…`) shown this once; only its SHA-256 is stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberCreated {
    pub created_at: String,
    pub credential: String,
    pub display_name: Option<String>,
    pub member_id: String,
    pub revoked_at: Option<String>,
}

/// One member of `GET /v1/setup/members` (never a credential).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberInfo {
    pub created_at: String,
    pub display_name: Option<String>,
    pub member_id: String,
    pub revoked_at: Option<String>,
}

/// `GET /v1/setup/members`, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberList {
    pub members: Vec<MemberInfo>,
}

/// `DELETE /v1/setup/members/{member_id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberRevocation {
    pub member_id: String,
    pub revoked_at: String,
}

/// One resolved level of an escalation, as `GET /v1/escalations/{id}` lists them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EscalationStepBody {
    pub level: i64,
    pub receipt_id: String,
    /// `approved` or `rejected`.
    pub resolution: String,
    pub resolved_at: String,
    /// `member:<id>` of the credential that resolved it.
    pub resolved_by: String,
}

/// `POST /v1/escalations/{escalation_id}/resolve`: this step's resolution and where the escalation stands after it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EscalationResolveAnswer {
    pub escalation_id: String,
    /// The escalation after this step: `pending` (a further level waits), `approved` or `rejected`.
    pub escalation_status: &'static str,
    /// The member asked now (`member:<id>`), `null` once the escalation is resolved.
    pub escalation_to: Option<String>,
    pub level: i64,
    pub levels: i64,
    /// This step's `escalation.resolve` receipt.
    pub receipt: ReceiptEnvelope,
    pub resolved_at: String,
    /// `member:<id>` of the credential that resolved this step.
    pub resolved_by: String,
    /// This step's resolution: `approved` or `rejected`.
    pub status: &'static str,
}
