//! Authorizations granted from a policy edition (`POST /v1/authorizations` with `policy_id` + `policy_version`, the
//! 0.8.0 shape), and [`AuthorizationArgs`]: the one place that decides whether a binding's keyword arguments ask for
//! an edition grant or for the older scope grant, so every language answers the same call the same way.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::authorization::{Authorization, CreateAuthorizationRequest, ScopeGrant};
use super::policies::{validate_idempotency_key, validate_policy_id};
use super::policy::PolicyRef;
use super::receipt::ReceiptEnvelope;
use super::validate_id;
use crate::error::{Error, Result};

/// At most this many action names in one edition grant (the profile's limit on actions).
pub const MAX_GRANTED_ACTIONS: usize = 32;

/// Body of `POST /v1/authorizations` for an edition: every action of the edition, or the names-only subset
/// `actions`. The agent and the rules come from the edition, so they are not part of the request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateEditionAuthorizationRequest {
    pub user_id: String,
    pub policy_id: String,
    pub policy_version: i64,
    /// A subset of the edition's action names; all of them when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
    /// RFC 3339; the edition's `default_expiry_days` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_limit_micros: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// Always sent (`{}` when empty), as 0.8.0 does.
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// Sent as the `Idempotency-Key` header instead of a generated one. Not part of the body.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
    /// How long each confirmation of this authorization waits for an answer, in seconds (else the edition's, else
    /// one hour; clamped to 60 s … 7 days by the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation_timeout_seconds: Option<i64>,
}

impl CreateEditionAuthorizationRequest {
    pub fn new(user_id: impl Into<String>, policy_id: impl Into<String>, policy_version: i64) -> Self {
        CreateEditionAuthorizationRequest {
            user_id: user_id.into(),
            policy_id: policy_id.into(),
            policy_version,
            ..Default::default()
        }
    }

    pub fn validate(&self) -> Result<()> {
        validate_id("user_id", &self.user_id)?;
        validate_policy_id("policy_id", &self.policy_id)?;
        if self.policy_version < 1 {
            return Err(Error::invalid_input("policy_version", "policy_version must be >= 1"));
        }
        if let Some(actions) = &self.actions {
            if actions.is_empty() || actions.len() > MAX_GRANTED_ACTIONS {
                return Err(Error::invalid_input(
                    "actions",
                    format!("actions must name 1 to {MAX_GRANTED_ACTIONS} actions of the edition"),
                ));
            }
            let mut seen = std::collections::HashSet::new();
            for action in actions {
                if action.is_empty() || action.chars().count() > 64 {
                    return Err(Error::invalid_input("actions", "action names must be 1 to 64 characters"));
                }
                if !seen.insert(action.as_str()) {
                    return Err(Error::invalid_input("actions", format!("duplicate action `{action}`")));
                }
            }
        }
        if let Some(limit) = self.budget_limit_micros
            && limit < 0
        {
            return Err(Error::invalid_input("budget_limit_micros", "budget_limit_micros must be >= 0"));
        }
        if self.confirmation_timeout_seconds.is_some_and(|t| t < 1) {
            return Err(Error::invalid_input("confirmation_timeout_seconds", "must be a positive number of seconds"));
        }
        if let Some(replaces) = &self.replaces {
            validate_id("replaces", replaces)?;
        }
        if let Some(key) = &self.idempotency_key {
            validate_idempotency_key(key)?;
        }
        Ok(())
    }
}

/// Answer of an edition grant (201).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditionAuthorization {
    pub authorization_id: String,
    /// The exact edition granted.
    pub policy_ref: PolicyRef,
    /// The granted action names.
    pub actions: Vec<String>,
    pub created_at: String,
    pub expires_at: String,
    /// The `authorization.create` event receipt (pending at creation time).
    pub receipt: ReceiptEnvelope,
    /// Who granted it and how, as the server records it.
    pub authorization_provenance: Value,
    #[serde(default)]
    pub budget_limit_micros: Option<i64>,
    #[serde(default)]
    pub budget_spent_micros: Option<i64>,
    /// The predecessor revoked because of `replaces`.
    #[serde(default)]
    pub replaced_authorization_id: Option<String>,
    /// The predecessor's `authorization.revoke` receipt when `replaces` was given.
    #[serde(default)]
    pub revocation_receipt: Option<ReceiptEnvelope>,
}

impl EditionAuthorization {
    /// The answer must grant what was asked: the named edition, and exactly the requested actions when some were.
    pub(crate) fn check_matches(&self, request: &CreateEditionAuthorizationRequest, route: &str) -> Result<()> {
        let protocol = |m: &str| Error::Protocol { message: format!("{route}: {m}") };
        if self.policy_ref.policy_id != request.policy_id || self.policy_ref.policy_version != request.policy_version {
            return Err(protocol("policy_ref does not name the requested edition"));
        }
        if let Some(actions) = &request.actions
            && &self.actions != actions
        {
            return Err(protocol("the granted actions are not the requested ones"));
        }
        Ok(())
    }
}

/// Every keyword argument a binding's `authorizations.create` takes, in one place, so which request they make is
/// decided once: `policy_id` (with `policy_version`) asks for an edition grant, anything else for a scope grant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthorizationArgs {
    pub user_id: String,
    /// Scope grants only: the agent (an edition names its own).
    pub agent_id: Option<String>,
    /// Scope grants only: names or `{name, constraints}`.
    pub scopes: Option<Vec<ScopeGrant>>,
    pub policy_id: Option<String>,
    pub policy_version: Option<i64>,
    /// Edition grants: the names-only subset; scope grants: the 0.8.0 name for `scopes` (names only).
    pub actions: Option<Vec<String>>,
    pub expires_at: Option<String>,
    pub metadata: Option<Map<String, Value>>,
    pub budget_limit_micros: Option<i64>,
    pub requires_confirm_for: Option<Vec<String>>,
    pub requires_deny_for: Option<Vec<String>>,
    /// Scope grants only: scopes a named member approves first.
    pub requires_escalation_for: Option<Vec<String>>,
    /// Scope grants only: scope → `member:<id>` approvers, one per level (one or two).
    pub escalation_targets: Option<std::collections::BTreeMap<String, Vec<String>>>,
    pub replaces: Option<String>,
    pub idempotency_key: Option<String>,
    pub confirmation_timeout_seconds: Option<i64>,
}

/// The request [`AuthorizationArgs`] resolve to.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthorizationRequest {
    Scopes(CreateAuthorizationRequest),
    Edition(CreateEditionAuthorizationRequest),
}

/// What either request creates.
#[derive(Debug, Clone, PartialEq)]
pub enum CreatedAuthorization {
    Scopes(Authorization),
    Edition(EditionAuthorization),
}

impl AuthorizationArgs {
    /// Resolves the arguments to one request, refusing combinations that mean nothing (an agent for an edition,
    /// both `scopes` and `actions`), so a caller's mix-up is named instead of half-honoured.
    pub fn into_request(self) -> Result<AuthorizationRequest> {
        let misplaced = |field: &str, why: &str| Err(Error::invalid_input(field, format!("{field} {why}")));
        if self.policy_id.is_some() || self.policy_version.is_some() {
            let Some(policy_id) = self.policy_id else {
                return misplaced("policy_id", "is required with policy_version");
            };
            let Some(policy_version) = self.policy_version else {
                return misplaced("policy_version", "is required with policy_id");
            };
            let from_edition = "is not accepted with policy_id: the policy edition defines it";
            if self.agent_id.is_some() {
                return misplaced("agent_id", from_edition);
            }
            if self.scopes.is_some() {
                return misplaced("scopes", "is not accepted with policy_id: name the edition's actions in `actions`");
            }
            if self.requires_confirm_for.is_some() {
                return misplaced("requires_confirm_for", from_edition);
            }
            if self.requires_deny_for.is_some() {
                return misplaced("requires_deny_for", from_edition);
            }
            if self.requires_escalation_for.is_some() {
                return misplaced("requires_escalation_for", from_edition);
            }
            if self.escalation_targets.is_some() {
                return misplaced("escalation_targets", from_edition);
            }
            return Ok(AuthorizationRequest::Edition(CreateEditionAuthorizationRequest {
                user_id: self.user_id,
                policy_id,
                policy_version,
                actions: self.actions,
                expires_at: self.expires_at,
                budget_limit_micros: self.budget_limit_micros,
                replaces: self.replaces,
                metadata: self.metadata.unwrap_or_default(),
                idempotency_key: self.idempotency_key,
                confirmation_timeout_seconds: self.confirmation_timeout_seconds,
            }));
        }
        let scopes = match (self.scopes, self.actions) {
            (Some(_), Some(_)) => return misplaced("scopes", "and actions name the same thing: pass one of them"),
            (Some(scopes), None) => scopes,
            (None, Some(actions)) => actions.into_iter().map(ScopeGrant::Name).collect(),
            (None, None) => return misplaced("scopes", "are required (or policy_id and policy_version)"),
        };
        let Some(agent_id) = self.agent_id else {
            return misplaced("agent_id", "is required for a scope grant (or pass policy_id and policy_version)");
        };
        if self.idempotency_key.is_some() {
            return misplaced("idempotency_key", "is supported for policy edition grants only");
        }
        Ok(AuthorizationRequest::Scopes(CreateAuthorizationRequest {
            user_id: self.user_id,
            agent_id,
            scopes,
            expires_at: self.expires_at,
            metadata: self.metadata,
            budget_limit_micros: self.budget_limit_micros,
            requires_confirm_for: self.requires_confirm_for.unwrap_or_default(),
            requires_deny_for: self.requires_deny_for.unwrap_or_default(),
            requires_escalation_for: self.requires_escalation_for.unwrap_or_default(),
            escalation_targets: self.escalation_targets.unwrap_or_default(),
            replaces: self.replaces,
            confirmation_timeout_seconds: self.confirmation_timeout_seconds,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> AuthorizationArgs {
        AuthorizationArgs { user_id: "u".into(), ..Default::default() }
    }

    #[test]
    fn policy_id_makes_an_edition_grant_and_agent_id_a_scope_grant() {
        let edition = AuthorizationArgs {
            policy_id: Some("p".into()),
            policy_version: Some(2),
            actions: Some(vec!["a".into()]),
            ..args()
        };
        match edition.into_request().unwrap() {
            AuthorizationRequest::Edition(r) => {
                assert_eq!((r.policy_id.as_str(), r.policy_version), ("p", 2));
                assert_eq!(serde_json::to_value(&r).unwrap()["metadata"], serde_json::json!({}));
            }
            other => panic!("{other:?}"),
        }
        let scopes = AuthorizationArgs { agent_id: Some("a".into()), actions: Some(vec!["x".into()]), ..args() };
        match scopes.into_request().unwrap() {
            AuthorizationRequest::Scopes(r) => assert_eq!(r.scopes, vec![ScopeGrant::Name("x".into())]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn meaningless_mixes_are_refused_by_name() {
        let field = |a: AuthorizationArgs| match a.into_request() {
            Err(Error::Validation { fields, .. }) => fields[0].field.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(field(AuthorizationArgs { policy_id: Some("p".into()), ..args() }), "policy_version");
        let with_agent = AuthorizationArgs {
            policy_id: Some("p".into()),
            policy_version: Some(1),
            agent_id: Some("a".into()),
            ..args()
        };
        assert_eq!(field(with_agent), "agent_id");
        assert_eq!(field(AuthorizationArgs { agent_id: Some("a".into()), ..args() }), "scopes");
        assert_eq!(field(AuthorizationArgs { scopes: Some(vec!["x".into()]), ..args() }), "agent_id");
    }
}
