//! `POST /v1/authorizations` from a policy edition (`policy_id` + `policy_version`), as the official 0.8.0 SDK
//! creates them: the grant is a names-only subset of the edition's actions, the agent is the edition's, and every
//! receipt about it is wire 5 with the edition as `policy_ref`.

use allowly_core::policy::{self, Definition};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::{ApiError, WireCode};
use crate::parse::{self, Fields};
use crate::policy::parse_grants;
use crate::store::Tx;
use crate::store::authorizations::AuthRow;
use crate::store::policies::{self as editions, EditionRef};
use crate::util;
use crate::wire::ReceiptEnvelope;

const FIELDS: &[&str] = &[
    "user_id",
    "agent_id",
    "policy_id",
    "policy_version",
    "actions",
    "expires_at",
    "budget_limit_micros",
    "replaces",
    "metadata",
    "confirmation_timeout_seconds",
];
const MAX_ACTIONS: usize = 32;

/// A create request that names an edition (any non-null `policy_id` does).
pub(super) fn names_edition(body: &axum::body::Bytes) -> bool {
    parse::object(body, false).is_ok_and(|m| m.get("policy_id").is_some_and(|v| !v.is_null()))
}

/// The request, validated as far as it can be without reading the edition.
pub(super) struct EditionGrantReq {
    user_id: String,
    agent_id: Option<String>,
    policy_id: String,
    policy_version: i64,
    actions: Option<Vec<String>>,
    expires_at: Option<time::OffsetDateTime>,
    budget_limit: Option<i64>,
    pub replaces: Option<String>,
    metadata: Value,
    confirmation_timeout: Option<i64>,
}

pub(super) fn parse(body: &axum::body::Bytes, now: time::OffsetDateTime) -> Result<EditionGrantReq, ApiError> {
    let mut f = Fields::new(parse::object(body, false)?, FIELDS)?;
    let user_id = f.req_str("user_id");
    let agent_id = f.opt_str("agent_id");
    let policy_id = f.req_str("policy_id");
    let policy_version = f.opt_i64("policy_version");
    match policy_version {
        None if !f.has("policy_version") => f.error("policy_version", "is required with policy_id"),
        Some(v) if v < 1 => f.error("policy_version", "must be a positive integer"),
        _ => {}
    }
    let actions = f.opt_str_list("actions");
    if let Some(a) = &actions {
        if a.is_empty() || a.len() > MAX_ACTIONS {
            f.error("actions", format!("must name 1 to {MAX_ACTIONS} actions"));
        }
        if a.iter().any(|x| x.is_empty() || x.len() > 64) {
            f.error("actions", "action names are 1 to 64 characters");
        }
    }
    // Absent or invalid are both `None` here: an invalid one has its field error, so the request fails below.
    let expires_at = f.opt_future_ts("expires_at", now).flatten();
    // 0.8.0 accepts a zero budget: every costed check is then denied.
    let budget_limit = f.opt_i64("budget_limit_micros");
    if budget_limit.is_some_and(|b| b < 0) {
        f.error("budget_limit_micros", "must not be negative");
    }
    let metadata = f.opt_object_within("metadata", super::authorizations::MAX_META);
    if let Err(m) = parse::receipt_safe(&metadata, "metadata") {
        f.error("metadata", m);
    }
    let replaces = f.opt_str("replaces");
    let confirmation_timeout = super::authorizations::opt_confirm_timeout(&mut f);
    f.finish()?;
    let (Some(user_id), Some(policy_id), Some(policy_version)) = (user_id, policy_id, policy_version) else {
        return Err(ApiError::validation(Vec::new()));
    };
    Ok(EditionGrantReq {
        user_id,
        agent_id,
        policy_id,
        policy_version,
        actions,
        expires_at,
        budget_limit,
        replaces,
        metadata,
        confirmation_timeout,
    })
}

/// Reads the edition inside `tx` and builds the authorization row it grants.
pub(super) async fn build_row(
    tx: &mut Tx,
    ws: &str,
    req: &EditionGrantReq,
    now: time::OffsetDateTime,
) -> Result<AuthRow, ApiError> {
    let edition = editions::edition(&mut *tx, ws, &req.policy_id, req.policy_version)
        .await?
        .ok_or_else(|| ApiError::field(WireCode::PolicyNotFound, "policy_version", "no such policy edition"))?;
    if edition.archived_at.is_some() {
        return Err(ApiError::conflict(WireCode::PolicyArchived, "this policy is archived"));
    }
    let definition = load_definition(&edition.definition)?;
    if req.agent_id.as_deref().is_some_and(|a| a != definition.agent_id()) {
        return Err(ApiError::field(WireCode::ValidationError, "agent_id", "must be the edition's agent_id"));
    }
    let declared: Vec<&str> = definition.action_names().collect();
    let actions = match &req.actions {
        Some(asked) => {
            let mut seen = std::collections::HashSet::new();
            for (i, a) in asked.iter().enumerate() {
                if !declared.contains(&a.as_str()) {
                    return Err(ApiError::field(
                        WireCode::ValidationError,
                        &format!("actions[{i}]"),
                        "is not an action of this policy edition",
                    ));
                }
                if !seen.insert(a.as_str()) {
                    return Err(ApiError::field(
                        WireCode::ValidationError,
                        &format!("actions[{i}]"),
                        "duplicate action",
                    ));
                }
            }
            asked.clone()
        }
        None => declared.iter().map(|s| (*s).to_owned()).collect(),
    };
    let days = definition.default_expiry_days().map_or(super::authorizations::DEFAULT_TTL_DAYS, i64::from);
    let expires_at = req.expires_at.unwrap_or(now + time::Duration::days(days));
    let scopes = json!(actions);
    let grants = parse_grants(&scopes, "actions").map_err(|_| ApiError::internal("edition action names"))?;
    Ok(AuthRow {
        id: util::new_id("auth"),
        workspace_id: ws.to_owned(),
        user_id: req.user_id.clone(),
        agent_id: definition.agent_id().to_owned(),
        scope_field: "actions".into(),
        scopes,
        grants,
        metadata: req.metadata.clone(),
        budget_limit: req.budget_limit,
        created_at: util::fmt_ts(now),
        expires_at: util::fmt_ts(expires_at),
        replaced_authorization_id: req.replaces.clone(),
        create_receipt_id: util::new_id("rcp"),
        policy: Some(edition.reference),
        confirmation_timeout: req.confirmation_timeout.or(edition.confirmation_timeout),
        ..AuthRow::default()
    })
}

/// A stored edition's definition. It was validated when published; failing now means the row was altered.
pub(crate) fn load_definition(text: &str) -> Result<Definition, ApiError> {
    let value: Value = serde_json::from_str(text).map_err(ApiError::internal)?;
    policy::validate_definition(&value).map_err(|e| ApiError::internal(format!("stored edition: {e}")))
}

/// `201` of `POST /v1/authorizations`: the scope-based body, or the edition-granted one.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)]
pub enum AuthorizationCreated {
    Scopes(crate::wire::AuthorizationBody),
    Edition(EditionAuthorizationBody),
}

/// The create response of an edition-granted authorization: exactly the members 0.8.0 reads (it refuses others).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EditionAuthorizationBody {
    #[schema(value_type = Vec<String>)]
    pub actions: Value,
    pub authorization_id: String,
    /// How the grant came about.
    #[schema(value_type = Object)]
    pub authorization_provenance: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_limit_micros: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_spent_micros: Option<i64>,
    pub created_at: String,
    pub expires_at: String,
    pub policy_ref: EditionRef,
    pub receipt: ReceiptEnvelope,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced_authorization_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_receipt: Option<ReceiptEnvelope>,
}

pub(super) fn body(
    row: &AuthRow,
    reference: EditionRef,
    receipt: ReceiptEnvelope,
    revocation: Option<ReceiptEnvelope>,
) -> EditionAuthorizationBody {
    EditionAuthorizationBody {
        actions: row.scopes.clone(),
        authorization_id: row.id.clone(),
        authorization_provenance: json!({"source": "policy_edition"}),
        budget_limit_micros: row.budget_limit,
        budget_spent_micros: row.budget_limit.map(|_| row.budget_spent + row.budget_reserved),
        created_at: row.created_at.clone(),
        expires_at: row.expires_at.clone(),
        policy_ref: reference,
        receipt,
        replaced_authorization_id: row.replaced_authorization_id.clone(),
        revocation_receipt: revocation,
    }
}
