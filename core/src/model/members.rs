//! Members: the people who answer escalations (`member:<member_id>` in a policy or an authorization's
//! `escalation_targets`), each with a credential of their own (`allowly_mk_…`).
//!
//! A member's credential is what proves who resolved an escalation, so the server records the resolver from it and
//! never from a request body; it is shown once, when created or rotated, and held in [`Secret`].

use serde::{Deserialize, Serialize};

use super::admin::Secret;
use crate::error::{Error, Result};

/// The longest member id (`member:<id>` targets are bounded the same way by the official policy format).
pub const MAX_MEMBER_ID: usize = 128;
/// The longest display name.
pub const MAX_MEMBER_NAME: usize = 200;

/// The prefix every member credential starts with; it tells a log reader which kind of secret was redacted.
pub const MEMBER_CREDENTIAL_PREFIX: &str = "allowly_mk_";

/// A member id is 1–128 of `A-Z a-z 0-9 . _ @ -`: enough for account ids and email-like names, and nothing that
/// needs escaping in a URL path or a `member:` target.
pub fn validate_member_id(field: &str, member_id: &str) -> Result<()> {
    let ok = !member_id.is_empty()
        && member_id.len() <= MAX_MEMBER_ID
        && member_id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            field,
            format!("{field} must be 1-{MAX_MEMBER_ID} characters of A-Z, a-z, 0-9, '.', '_', '@' and '-'"),
        ))
    }
}

/// The member id a `member:<id>` target names, if the target is well formed.
pub fn member_of_target(target: &str) -> Option<&str> {
    let id = target.strip_prefix("member:")?;
    validate_member_id("target", id).ok().map(|()| id)
}

/// Body of `POST /v1/setup/members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateMemberRequest {
    pub member_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

impl CreateMemberRequest {
    /// The server's rules, checked before sending so bad input never costs a request.
    pub fn validate(&self) -> Result<()> {
        validate_member_id("member_id", &self.member_id)?;
        if let Some(name) = &self.display_name {
            if name.trim().is_empty() || name.chars().count() > MAX_MEMBER_NAME {
                return Err(Error::invalid_input(
                    "display_name",
                    format!("display_name must be 1-{MAX_MEMBER_NAME} characters"),
                ));
            }
        }
        Ok(())
    }
}

/// One member of `GET /v1/setup/members` (never with a credential).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    pub member_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub created_at: String,
    /// Set once the member is removed: its credential no longer works and it can resolve nothing.
    #[serde(default)]
    pub revoked_at: Option<String>,
}

/// Answer of `POST /v1/setup/members` and of a credential rotation: the member and its credential, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedMember {
    pub member_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub created_at: String,
    #[serde(default)]
    pub revoked_at: Option<String>,
    /// `allowly_mk_…`: give it to the member; a client built with it resolves that member's escalations.
    pub credential: Secret,
}

/// Answer of `DELETE /v1/setup/members/{member_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberRevocation {
    pub member_id: String,
    pub revoked_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids_are_bounded_and_plain() {
        for ok in ["alice", "a.b-c_d@example.com", &"x".repeat(MAX_MEMBER_ID)] {
            validate_member_id("member_id", ok).unwrap();
        }
        for bad in ["", "has space", "slash/", "ü", &"x".repeat(MAX_MEMBER_ID + 1)] {
            let err = validate_member_id("member_id", bad).unwrap_err();
            assert_eq!(err.kind().as_str(), "validation", "{bad:?}");
        }
    }

    #[test]
    fn targets_name_a_member() {
        assert_eq!(member_of_target("member:l1"), Some("l1"));
        assert_eq!(member_of_target("agent_owner"), None);
        assert_eq!(member_of_target("member:"), None);
        assert_eq!(member_of_target("member:a b"), None);
    }

    #[test]
    fn a_created_member_never_prints_its_credential() {
        let created: CreatedMember = serde_json::from_str(
            r#"{"member_id":"l1","display_name":null,"created_at":"t","credential":"allowly_mk_example-SECRET-not-real"}"#,
        )
        .unwrap();
        assert!(!format!("{created:?}").contains("SECRET"));
        assert_eq!(created.credential.expose(), "allowly_mk_example-SECRET-not-real");
    }

    #[test]
    fn display_names_are_checked_before_sending() {
        let req = CreateMemberRequest { member_id: "l1".into(), display_name: Some(" ".into()) };
        assert_eq!(req.validate().unwrap_err().kind().as_str(), "validation");
        CreateMemberRequest { member_id: "l1".into(), display_name: Some("Level one".into()) }.validate().unwrap();
    }
}
