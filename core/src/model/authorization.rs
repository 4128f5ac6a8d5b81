//! Authorizations: what a user granted an agent (`POST /v1/authorizations`, `GET`, `DELETE /v1/authorizations/{id}`).
//!
//! Authorizations are immutable on the server: a change is a revoke plus a create (`replaces`), so the response types
//! here carry both the new authorization and the receipt envelopes of that pair.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::receipt::ReceiptEnvelope;
use super::{null_as_default, validate_id};
use crate::error::{Error, Result};

/// One granted scope: either a bare name (`"email.send"`) or a name with per-scope constraints.
///
/// Untagged because that is the wire shape: a list may mix strings and `{"name", "constraints"}` objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum ScopeGrant {
    /// A scope granted without constraints.
    #[cfg_attr(feature = "openapi", schema(value_type = ScopeName))]
    Name(String),
    /// A scope with constraints (daily limit, resource pattern, conditions).
    Detailed {
        #[cfg_attr(feature = "openapi", schema(min_length = 1))]
        name: String,
        #[serde(default)]
        constraints: ScopeConstraints,
    },
}

/// The schema of a bare scope name: a non-empty string. utoipa cannot put `minLength` on the unnamed field of
/// [`ScopeGrant::Name`], so the variant names this type's schema instead.
#[cfg(feature = "openapi")]
struct ScopeName;

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ScopeName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .min_length(Some(1))
            .description(Some("A scope name granted without constraints."))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ScopeName {}

impl ScopeGrant {
    /// A scope with constraints.
    pub fn with_constraints(name: impl Into<String>, constraints: ScopeConstraints) -> Self {
        ScopeGrant::Detailed { name: name.into(), constraints }
    }

    /// The scope name, whichever form the grant has.
    pub fn name(&self) -> &str {
        match self {
            ScopeGrant::Name(name) | ScopeGrant::Detailed { name, .. } => name,
        }
    }

    /// The constraints, if the grant has any.
    pub fn constraints(&self) -> Option<&ScopeConstraints> {
        match self {
            ScopeGrant::Name(_) => None,
            ScopeGrant::Detailed { constraints, .. } => Some(constraints),
        }
    }
}

impl From<&str> for ScopeGrant {
    fn from(name: &str) -> Self {
        ScopeGrant::Name(name.to_owned())
    }
}

impl From<String> for ScopeGrant {
    fn from(name: String) -> Self {
        ScopeGrant::Name(name)
    }
}

/// Per-scope constraints, evaluated by the server on every check (wire-v1, "Constraints per scope").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopeConstraints {
    /// At most this many allows per UTC day; the next check is deny `rate_limit_exceeded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub max_per_day: Option<u32>,
    /// Glob over `:`-separated resource ids (`*` one segment, `**` any suffix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub resource_pattern: Option<String>,
    /// Any matching condition turns an allow into confirm.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub confirm_when: Vec<Condition>,
    /// Any matching condition turns the decision into deny `deny_condition_matched`.
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub deny_when: Vec<Condition>,
    /// Hint shown to the user when this scope needs confirmation (`confirm_prompt_hint` in check results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_prompt: Option<String>,
}

/// One condition over a check's `context`: `{"field", "op", "value"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Condition {
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub field: String,
    pub op: ConditionOp,
    /// Compared value; ignored by `exists`, a list for `in`.
    #[serde(default)]
    pub value: Value,
}

impl Condition {
    pub fn new(field: impl Into<String>, op: ConditionOp, value: impl Into<Value>) -> Self {
        Condition { field: field.into(), op, value: value.into() }
    }
}

/// Condition operators of wire-v1. The receipt format spells "not equal" `neq`; that spelling is accepted on read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConditionOp {
    Eq,
    #[serde(alias = "neq")]
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
    Exists,
}

impl ConditionOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionOp::Eq => "eq",
            ConditionOp::Ne => "ne",
            ConditionOp::Lt => "lt",
            ConditionOp::Lte => "lte",
            ConditionOp::Gt => "gt",
            ConditionOp::Gte => "gte",
            ConditionOp::In => "in",
            ConditionOp::Exists => "exists",
        }
    }
}

impl fmt::Display for ConditionOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Body of `POST /v1/authorizations`.
///
/// Build it with [`CreateAuthorizationRequest::new`] and the `with_*` setters, or fill the public fields on top of
/// `Default` (that is what the bindings do with keyword arguments).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "Body of `POST /v1/authorizations` (`actions` is accepted for `scopes`).")
)]
pub struct CreateAuthorizationRequest {
    /// Opaque user id; derive it with `from_email` rather than sending a raw email address.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub user_id: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub agent_id: String,
    #[serde(alias = "actions")]
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub scopes: Vec<ScopeGrant>,
    /// RFC 3339; the server defaults to 90 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// Authorization-wide spending cap in micros (> 0); budgeted checks then need `estimated_cost_micros`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub budget_limit_micros: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires_confirm_for: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires_deny_for: Vec<String>,
    /// Scopes a named member must approve before they are allowed (decision `escalate`); each needs a target in
    /// `escalation_targets`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires_escalation_for: Vec<String>,
    /// Scope → the members who approve it, in order: `["member:<id>"]` for one level, `["member:<l1>",
    /// "member:<l2>"]` for two (level 2 is asked once level 1 approved). A single `"member:<id>"` string is read as
    /// one level.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "escalation_levels")]
    pub escalation_targets: BTreeMap<String, Vec<String>>,
    /// An authorization this one supersedes; the server revokes it in the same transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// How long each confirmation of this authorization waits for the user's answer, in seconds (server default one
    /// hour; clamped to 60 s … 7 days, 1 s minimum under `allowly serve --dev`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub confirmation_timeout_seconds: Option<i64>,
}

impl CreateAuthorizationRequest {
    pub fn new<S: Into<ScopeGrant>>(
        user_id: impl Into<String>,
        agent_id: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        CreateAuthorizationRequest {
            user_id: user_id.into(),
            agent_id: agent_id.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    pub fn with_expires_at(mut self, expires_at: impl Into<String>) -> Self {
        self.expires_at = Some(expires_at.into());
        self
    }

    pub fn with_metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.metadata = Some(metadata);
        self
    }

    pub fn with_budget_limit_micros(mut self, limit: i64) -> Self {
        self.budget_limit_micros = Some(limit);
        self
    }

    pub fn with_requires_confirm_for<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.requires_confirm_for = scopes.into_iter().map(Into::into).collect();
        self
    }

    pub fn with_requires_deny_for<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.requires_deny_for = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sends `scope` to `members` (`member:<id>`, one or two levels) before it is allowed.
    pub fn with_escalation<S: Into<String>>(
        mut self,
        scope: impl Into<String>,
        members: impl IntoIterator<Item = S>,
    ) -> Self {
        let scope = scope.into();
        if !self.requires_escalation_for.contains(&scope) {
            self.requires_escalation_for.push(scope.clone());
        }
        self.escalation_targets.insert(scope, members.into_iter().map(Into::into).collect());
        self
    }

    pub fn with_replaces(mut self, authorization_id: impl Into<String>) -> Self {
        self.replaces = Some(authorization_id.into());
        self
    }

    pub fn with_confirmation_timeout_seconds(mut self, seconds: i64) -> Self {
        self.confirmation_timeout_seconds = Some(seconds);
        self
    }

    /// The checks that need no server: a request failing them would be a 422 anyway, and failing here sends nothing.
    pub fn validate(&self) -> Result<()> {
        if self.user_id.is_empty() {
            return Err(Error::invalid_input("user_id", "user_id must not be empty"));
        }
        if self.agent_id.is_empty() {
            return Err(Error::invalid_input("agent_id", "agent_id must not be empty"));
        }
        if self.scopes.is_empty() {
            return Err(Error::invalid_input("scopes", "at least one scope is required"));
        }
        if self.scopes.iter().any(|s| s.name().is_empty()) {
            return Err(Error::invalid_input("scopes", "scope names must not be empty"));
        }
        if self.confirmation_timeout_seconds.is_some_and(|t| t < 1) {
            return Err(Error::invalid_input("confirmation_timeout_seconds", "must be a positive number of seconds"));
        }
        if let Some(limit) = self.budget_limit_micros {
            if limit <= 0 {
                return Err(Error::invalid_input("budget_limit_micros", "budget_limit_micros must be > 0"));
            }
        }
        if let Some(replaces) = &self.replaces {
            validate_id("replaces", replaces)?;
        }
        let names: Vec<&str> = self.scopes.iter().map(ScopeGrant::name).collect();
        check_escalations(
            &names,
            &self.requires_confirm_for,
            &self.requires_deny_for,
            &self.requires_escalation_for,
            &self.escalation_targets,
        )
    }
}

/// The most levels an escalation has: a first approver, then a second.
pub const MAX_ESCALATION_LEVELS: usize = 2;

/// The escalation rules of an authorization that need no server (whether each member exists is the server's to
/// say): every escalated scope is one of the authorization's, is not also confirmed or denied, and has one or two
/// distinct `member:<id>` targets; every target belongs to an escalated scope. The server applies the same function,
/// so a client and the server can never disagree about what is well formed.
pub fn check_escalations(
    scopes: &[&str],
    requires_confirm_for: &[String],
    requires_deny_for: &[String],
    requires_escalation_for: &[String],
    escalation_targets: &BTreeMap<String, Vec<String>>,
) -> Result<()> {
    const FIELD: &str = "requires_escalation_for";
    for (i, scope) in requires_escalation_for.iter().enumerate() {
        if !scopes.contains(&scope.as_str()) {
            return Err(Error::invalid_input(FIELD, format!("`{scope}` is not one of the authorization's scopes")));
        }
        if requires_escalation_for[..i].contains(scope) {
            return Err(Error::invalid_input(FIELD, format!("`{scope}` is listed twice")));
        }
        if requires_confirm_for.contains(scope) || requires_deny_for.contains(scope) {
            return Err(Error::invalid_input(
                FIELD,
                format!("`{scope}` is also in requires_confirm_for or requires_deny_for"),
            ));
        }
        if !escalation_targets.contains_key(scope) {
            return Err(Error::invalid_input("escalation_targets", format!("`{scope}` has no escalation target")));
        }
    }
    for (scope, members) in escalation_targets {
        let field = "escalation_targets";
        if !requires_escalation_for.contains(scope) {
            return Err(Error::invalid_input(field, format!("`{scope}` is not in requires_escalation_for")));
        }
        if members.is_empty() || members.len() > MAX_ESCALATION_LEVELS {
            return Err(Error::invalid_input(field, format!("`{scope}` needs 1 or 2 members, one per level")));
        }
        if members.len() == 2 && members[0] == members[1] {
            return Err(Error::invalid_input(field, format!("`{scope}`: the two levels need two different members")));
        }
        if let Some(bad) = members.iter().find(|m| super::members::member_of_target(m).is_none()) {
            return Err(Error::invalid_input(field, format!("`{scope}`: {bad:?} is not `member:<member_id>`")));
        }
    }
    Ok(())
}

/// Reads `escalation_targets` values written as one `"member:<id>"` or as a list of levels.
fn escalation_levels<'de, D>(deserializer: D) -> std::result::Result<BTreeMap<String, Vec<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Levels {
        One(String),
        Many(Vec<String>),
    }
    let raw = Option::<BTreeMap<String, Levels>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(raw
        .into_iter()
        .map(|(scope, levels)| {
            let members = match levels {
                Levels::One(m) => vec![m],
                Levels::Many(ms) => ms,
            };
            (scope, members)
        })
        .collect())
}

/// Lifecycle state reported by `GET /v1/authorizations/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorizationStatus {
    Active,
    Revoked,
    Expired,
}

impl AuthorizationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizationStatus::Active => "active",
            AuthorizationStatus::Revoked => "revoked",
            AuthorizationStatus::Expired => "expired",
        }
    }
}

impl fmt::Display for AuthorizationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authorization as returned by create (201) and GET (200).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Authorization {
    pub authorization_id: String,
    pub user_id: String,
    pub agent_id: String,
    #[serde(alias = "actions")]
    pub scopes: Vec<ScopeGrant>,
    pub created_at: String,
    pub expires_at: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub requires_confirm_for: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub requires_deny_for: Vec<String>,
    /// Scopes a named member must approve first (`escalate`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub requires_escalation_for: Vec<String>,
    /// Scope → its approvers by level (`member:<id>` strings; one string or a list of one or two).
    #[serde(default, deserialize_with = "null_as_default")]
    pub escalation_targets: Map<String, Value>,
    #[serde(default)]
    pub policy_id: Option<String>,
    #[serde(default)]
    pub budget_limit_micros: Option<i64>,
    #[serde(default)]
    pub budget_spent_micros: Option<i64>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
    /// Only on GET; create returns an active authorization.
    #[serde(default)]
    pub status: Option<AuthorizationStatus>,
    /// The `authorization.create` event receipt (pending at creation time).
    #[serde(default)]
    pub receipt: Option<ReceiptEnvelope>,
    /// The predecessor revoked because of `replaces`.
    #[serde(default)]
    pub replaced_authorization_id: Option<String>,
    /// The predecessor's `authorization.revoke` receipt when `replaces` was given.
    #[serde(default)]
    pub revocation_receipt: Option<ReceiptEnvelope>,
}

impl Authorization {
    /// The granted scope names, in order.
    pub fn scope_names(&self) -> impl Iterator<Item = &str> {
        self.scopes.iter().map(ScopeGrant::name)
    }
}

/// Body of `DELETE /v1/authorizations/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeRequest {
    /// Who revoked: `user`, `admin`, … (recorded in the revoke receipt).
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub revoked_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl RevokeRequest {
    pub fn new(revoked_by: impl Into<String>) -> Self {
        RevokeRequest { revoked_by: revoked_by.into(), notes: None }
    }

    pub fn with_notes(mut self, notes: impl Into<String>) -> Self {
        self.notes = Some(notes.into());
        self
    }

    pub fn validate(&self) -> Result<()> {
        if self.revoked_by.is_empty() {
            return Err(Error::invalid_input("revoked_by", "revoked_by must not be empty"));
        }
        Ok(())
    }
}

/// Response of a revoke. Revoking twice returns the first result, so this is safe to retry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revocation {
    pub authorization_id: String,
    pub revoked_at: String,
    /// The `authorization.revoke` event receipt.
    pub receipt: ReceiptEnvelope,
    /// Pending confirmations of this authorization that the revoke cancelled.
    #[serde(default, deserialize_with = "null_as_default")]
    pub revoked_confirmations: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_level() -> CreateAuthorizationRequest {
        CreateAuthorizationRequest::new("u", "a", ["pay", "read"]).with_escalation("pay", ["member:l1", "member:l2"])
    }

    #[test]
    fn escalation_targets_read_one_member_or_levels_and_send_levels() {
        let req: CreateAuthorizationRequest = serde_json::from_value(serde_json::json!({
            "user_id": "u", "agent_id": "a", "scopes": ["pay", "send"],
            "requires_escalation_for": ["pay", "send"],
            "escalation_targets": {"pay": "member:l1", "send": ["member:l1", "member:l2"]}
        }))
        .unwrap();
        req.validate().unwrap();
        assert_eq!(req.escalation_targets["pay"], ["member:l1"]);
        let body = serde_json::to_value(two_level()).unwrap();
        assert_eq!(body["escalation_targets"], serde_json::json!({"pay": ["member:l1", "member:l2"]}));
        assert_eq!(body["requires_escalation_for"], serde_json::json!(["pay"]));
    }

    #[test]
    fn malformed_escalations_are_refused_naming_the_field() {
        let cases: Vec<(CreateAuthorizationRequest, &str)> = vec![
            (
                CreateAuthorizationRequest::new("u", "a", ["read"]).with_escalation("pay", ["member:l1"]),
                "requires_escalation_for",
            ),
            (two_level().with_requires_confirm_for(["pay"]), "requires_escalation_for"),
            (
                CreateAuthorizationRequest::new("u", "a", ["pay"]).with_escalation("pay", ["member:l1", "member:l1"]),
                "escalation_targets",
            ),
            (
                CreateAuthorizationRequest::new("u", "a", ["pay"]).with_escalation("pay", ["agent_owner"]),
                "escalation_targets",
            ),
            (
                CreateAuthorizationRequest::new("u", "a", ["pay"]).with_escalation("pay", Vec::<String>::new()),
                "escalation_targets",
            ),
            (
                CreateAuthorizationRequest::new("u", "a", ["pay"])
                    .with_escalation("pay", ["member:a", "member:b", "member:c"]),
                "escalation_targets",
            ),
        ];
        for (req, field) in cases {
            let err = req.validate().unwrap_err();
            assert_eq!(err.kind().as_str(), "validation");
            assert!(format!("{err:?}").contains(field), "{err:?} names {field}");
        }
        let mut untargeted = two_level();
        untargeted.escalation_targets.clear();
        assert!(format!("{:?}", untargeted.validate().unwrap_err()).contains("escalation_targets"));
        let mut stray = CreateAuthorizationRequest::new("u", "a", ["pay"]);
        stray.escalation_targets.insert("pay".into(), vec!["member:l1".into()]);
        assert!(format!("{:?}", stray.validate().unwrap_err()).contains("escalation_targets"));
    }
}
