//! `/v1/setup/members`: the people who answer escalations, and their credentials.

use reqwest::Method;
use serde::Deserialize;

use super::super::Client;
use super::super::transport::Call;
use crate::error::{Error, Result};
use crate::model::{CreateMemberRequest, CreatedMember, Member, MemberRevocation, validate_member_id};

#[derive(Deserialize)]
struct MemberList {
    members: Vec<Member>,
}

impl Client {
    /// Adds a member; its credential is in this answer only (`CreatedMember::credential`, redacted from `Debug`).
    /// An id already used (even by a removed member) is `Conflict`, so a removed member's escalation history can
    /// never be attributed to someone new.
    pub async fn create_member(&self, request: &CreateMemberRequest) -> Result<CreatedMember> {
        const ROUTE: &str = "POST /v1/setup/members";
        request.validate()?;
        let call = Call::new(Method::POST, ROUTE, vec!["v1", "setup", "members"]).json(request)?;
        let created: CreatedMember = self.transport().call(call).await?;
        if created.member_id != request.member_id {
            return Err(Error::Protocol { message: format!("{ROUTE}: the answer is another member") });
        }
        Ok(created)
    }

    /// Every member of the workspace, removed ones too (never with credentials).
    pub async fn list_members(&self) -> Result<Vec<Member>> {
        let call = Call::new(Method::GET, "GET /v1/setup/members", vec!["v1", "setup", "members"]);
        Ok(self.transport().call::<MemberList>(call).await?.members)
    }

    /// Issues the member a new credential; the old one stops working at once (for a lost or leaked credential).
    pub async fn rotate_member_credential(&self, member_id: &str) -> Result<CreatedMember> {
        const ROUTE: &str = "POST /v1/setup/members/{member_id}/credential";
        validate_member_id("member_id", member_id)?;
        let call = Call::new(Method::POST, ROUTE, vec!["v1", "setup", "members", member_id, "credential"]);
        let created: CreatedMember = self.transport().call(call).await?;
        if created.member_id != member_id {
            return Err(Error::Protocol { message: format!("{ROUTE}: the answer is another member") });
        }
        Ok(created)
    }

    /// Removes a member: its credential stops working and escalations waiting on it can only expire.
    pub async fn revoke_member(&self, member_id: &str) -> Result<MemberRevocation> {
        const ROUTE: &str = "DELETE /v1/setup/members/{member_id}";
        validate_member_id("member_id", member_id)?;
        let call = Call::new(Method::DELETE, ROUTE, vec!["v1", "setup", "members", member_id]);
        let revocation: MemberRevocation = self.transport().call(call).await?;
        if revocation.member_id != member_id {
            return Err(Error::Protocol { message: format!("{ROUTE}: the answer is about another member") });
        }
        Ok(revocation)
    }
}
