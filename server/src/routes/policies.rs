//! Policy editions: `POST /v1/policies`, `GET /v1/policies[/{policy_id}]`, `DELETE /v1/policies/{policy_id}`,
//! `POST /v1/setup/policies/preview` and `POST /v1/setup/policies/publish`, as the official 0.8.0 SDK calls them.
//!
//! A definition is validated, digested and evaluated by allowly-core (`policy`), never here, so the server refuses
//! exactly what every SDK refuses locally, naming the same path. Editions are immutable; a new edition must name the
//! newest one as `previous_policy_ref`, so two writers cannot silently overwrite each other.

use std::sync::Arc;

use allowly_core::policy::{self, Definition, PolicyError};
use allowly_core::receipt::{canonical, json::Value as CanonValue};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::Body;
use super::receipts::query_params;
use super::setup::{percent_decode, reject_unknown};
use crate::AppState;
use crate::auth::{Runtime, Setup};
use crate::error::{ApiError, ApiResult, FieldError, WireCode};
use crate::idempotency::{self, IdemKey};
use crate::parse::{self, Fields};
use crate::store::Tx;
use crate::store::policies::{self as db, EditionRef, EditionRow};
use crate::util;
use crate::wire::{PolicyBody, PolicyEvalBody, PolicyList, PolicyPreview, PolicyPublished};

const EDITION_FIELDS: &[&str] = &[
    "policy_id",
    "profile",
    "agent_id",
    "actions",
    "default_expiry_days",
    "description",
    "previous_policy_ref",
    "confirmation_timeout_seconds",
];
const DEFINITION_FIELDS: [&str; 4] = ["profile", "agent_id", "actions", "default_expiry_days"];
const MAX_DESCRIPTION: usize = 2048;
const MAX_LIST: i64 = 100;
/// Who created an edition. Setup keys are workspace credentials; named members arrive with the approvals work.
const CREATED_BY: &str = "setup_api_key";

/// A core policy error as a field error; `prefix` places the definition inside the request body.
pub(crate) fn field_error(e: PolicyError, prefix: &str) -> ApiError {
    let field = match (prefix, e.path.as_str()) {
        ("", "$") => "definition".to_owned(),
        ("", p) => p.to_owned(),
        (pre, "$") => pre.to_owned(),
        (pre, p) => format!("{pre}.{p}"),
    };
    ApiError::field(WireCode::ValidationError, &field, e.message)
}

/// The canonical text of a validated definition: what is stored, served and hashed.
fn canonical_text(d: &Definition) -> Result<String, ApiError> {
    let bytes = canonical::canonicalize(&CanonValue::from(d.as_json())).map_err(ApiError::internal)?;
    String::from_utf8(bytes).map_err(ApiError::internal)
}

/// A new edition's request, validated.
struct NewEdition {
    policy_id: String,
    definition: Definition,
    description: Option<String>,
    previous: Option<EditionRef>,
    confirmation_timeout: Option<i64>,
}

fn parse_previous(v: &Value) -> Result<EditionRef, String> {
    let m = v.as_object().ok_or("must be an object")?;
    if m.len() != 3 {
        return Err("must have exactly policy_id, policy_version and definition_sha256".into());
    }
    let policy_id = m.get("policy_id").and_then(Value::as_str).ok_or("policy_id must be a string")?;
    let policy_version = m.get("policy_version").and_then(Value::as_i64).filter(|v| *v >= 1);
    let policy_version = policy_version.ok_or("policy_version must be a positive integer")?;
    let sha = m.get("definition_sha256").and_then(Value::as_str).ok_or("definition_sha256 must be a string")?;
    Ok(EditionRef { definition_sha256: sha.to_owned(), policy_id: policy_id.to_owned(), policy_version })
}

fn valid_policy_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(&b))
}

fn parse_edition(body: &axum::body::Bytes) -> Result<NewEdition, ApiError> {
    let mut map = parse::object(body, false)?;
    // The definition members are validated by core, exactly as authored (null included); the rest here.
    let mut definition = Map::new();
    for name in DEFINITION_FIELDS {
        if let Some(v) = map.remove(name) {
            definition.insert(name.to_owned(), v);
        }
    }
    let mut f = Fields::new(map, EDITION_FIELDS)?;
    let policy_id = f.req_str("policy_id");
    if policy_id.as_deref().is_some_and(|p| !valid_policy_id(p)) {
        f.error("policy_id", "must be 1 to 128 lowercase letters, digits, '_' or '-'");
    }
    let description = f.opt_str("description");
    if description.as_deref().is_some_and(|d| d.len() > MAX_DESCRIPTION) {
        f.error("description", "must be at most 2048 bytes");
    }
    let previous = match f.take("previous_policy_ref").map(|v| parse_previous(&v)) {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(m)) => {
            f.error("previous_policy_ref", m);
            None
        }
    };
    let confirmation_timeout = super::authorizations::opt_confirm_timeout(&mut f);
    f.finish()?;
    let definition = policy::validate_definition(&Value::Object(definition)).map_err(|e| field_error(e, ""))?;
    let policy_id = policy_id.ok_or_else(|| ApiError::field(WireCode::ValidationError, "policy_id", "is required"))?;
    Ok(NewEdition { policy_id, definition, description, previous, confirmation_timeout })
}

/// Stores the next edition of `new.policy_id` inside `tx`, refusing archived policies and stale predecessors.
async fn store_edition(tx: &mut Tx, ws: &str, new: NewEdition) -> Result<EditionRow, ApiError> {
    if db::is_archived(tx, ws, &new.policy_id).await? {
        return Err(ApiError::conflict(WireCode::PolicyArchived, "this policy is archived"));
    }
    let version = db::next_version(tx, ws, &new.policy_id).await?;
    if version > 1 {
        let latest = db::edition(&mut *tx, ws, &new.policy_id, version - 1)
            .await?
            .ok_or_else(|| ApiError::internal("newest edition vanished"))?;
        if new.previous.as_ref() != Some(&latest.reference) {
            return Err(ApiError::conflict(
                WireCode::PolicyVersionConflict,
                format!(
                    "previous_policy_ref must name the newest edition ({} version {})",
                    latest.reference.policy_id, latest.reference.policy_version
                ),
            ));
        }
    } else if new.previous.is_some() {
        return Err(ApiError::conflict(WireCode::PolicyVersionConflict, "previous_policy_ref names no edition"));
    }
    let row = EditionRow {
        reference: EditionRef {
            definition_sha256: new.definition.sha256(),
            policy_id: new.policy_id,
            policy_version: version,
        },
        definition: canonical_text(&new.definition)?,
        agent_id: new.definition.agent_id().to_owned(),
        description: new.description,
        created_by: CREATED_BY.to_owned(),
        created_at: util::fmt_ts(util::now()),
        archived_at: None,
        confirmation_timeout: new.confirmation_timeout,
    };
    db::insert(tx, ws, &row).await?;
    Ok(row)
}

fn policy_body(row: &EditionRow) -> Result<PolicyBody, ApiError> {
    Ok(PolicyBody {
        created_at: row.created_at.clone(),
        created_by: row.created_by.clone(),
        definition: serde_json::from_str(&row.definition).map_err(ApiError::internal)?,
        deleted_at: row.archived_at.clone(),
        description: row.description.clone(),
        policy_ref: row.reference.clone(),
    })
}

/// `POST /v1/policies` (setup key): a new edition; 201 with the stored edition.
pub async fn create(
    State(s): State<Arc<AppState>>,
    who: Setup,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    let new = parse_edition(&body)?;
    let idem = IdemKey::from_request(&headers, "POST", "/v1/policies", &body)?;
    let mut tx = s.store.begin().await?;
    if let Some(r) = idempotency::replay(&mut tx, &who.workspace_id, idem.as_ref()).await? {
        return Ok(r);
    }
    let row = store_edition(&mut tx, &who.workspace_id, new).await?;
    let out = policy_body(&row)?;
    idempotency::save(&mut tx, &who.workspace_id, idem.as_ref(), StatusCode::CREATED, &out).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `POST /v1/setup/policies/publish` (setup key, `Idempotency-Key` required): a new edition, answered with the
/// publish summary. Existing authorizations keep the edition they were granted from (no migration, no archive).
pub async fn publish(
    State(s): State<Arc<AppState>>,
    who: Setup,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    let idem = IdemKey::from_request(&headers, "POST", "/v1/setup/policies/publish", &body)?;
    let Some(idem) = idem else {
        return Err(ApiError::field(WireCode::ValidationError, "Idempotency-Key", "is required to publish"));
    };
    let new = parse_edition(&body)?;
    let mut tx = s.store.begin().await?;
    if let Some(r) = idempotency::replay(&mut tx, &who.workspace_id, Some(&idem)).await? {
        return Ok(r);
    }
    let row = store_edition(&mut tx, &who.workspace_id, new).await?;
    let out = PolicyPublished {
        agent_id: row.agent_id.clone(),
        archived_policy_ids: Vec::new(),
        authorization_migrations: Vec::new(),
        created_at: row.created_at.clone(),
        created_by: row.created_by.clone(),
        policy_ref: row.reference.clone(),
        revoked_confirmation_count: 0,
    };
    idempotency::save(&mut tx, &who.workspace_id, Some(&idem), StatusCode::CREATED, &out).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `GET /v1/policies/{policy_id}`: the newest edition (archived ones too, with `deleted_at`).
pub async fn get_one(
    State(s): State<Arc<AppState>>,
    who: Runtime,
    Path(policy_id): Path<String>,
) -> ApiResult<Json<PolicyBody>> {
    let mut conn = s.store.reader().acquire().await?;
    let row = db::latest(&mut conn, &who.workspace_id, &policy_id)
        .await?
        .ok_or_else(|| ApiError::not_found(WireCode::PolicyNotFound, "policy"))?;
    Ok(Json(policy_body(&row)?))
}

/// `GET /v1/policies?limit=&cursor=`: newest editions by `policy_id`; the cursor is the last `policy_id` seen.
pub async fn list(State(s): State<Arc<AppState>>, who: Runtime, RawQuery(q): RawQuery) -> ApiResult<Json<PolicyList>> {
    let p = query_params(q.as_deref());
    let mut errors = reject_unknown(&p, &["limit", "cursor"]);
    let limit = match p.get("limit").map(|v| v.parse::<i64>()) {
        None => MAX_LIST,
        Some(Ok(n)) if (1..=MAX_LIST).contains(&n) => n,
        Some(_) => {
            errors.push(FieldError::new("limit", format!("must be an integer from 1 to {MAX_LIST}")));
            0
        }
    };
    let cursor = p.get("cursor").map(|c| percent_decode(c));
    if cursor.as_deref().is_some_and(|c| !valid_policy_id(c)) {
        errors.push(FieldError::new("cursor", "is not a cursor this server issued"));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut conn = s.store.reader().acquire().await?;
    let mut rows = db::list_latest(&mut conn, &who.workspace_id, cursor.as_deref(), limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if has_more { rows.last().map(|r| r.reference.policy_id.clone()) } else { None };
    let items = rows.iter().map(policy_body).collect::<Result<_, _>>()?;
    Ok(Json(PolicyList { has_more, items, next_cursor }))
}

/// `DELETE /v1/policies/{policy_id}` (setup key): archives the logical policy; 204, also when already archived.
/// Its editions stay readable (receipts reference them) and its authorizations keep working until revoked; no new
/// edition or authorization can name it.
pub async fn archive(State(s): State<Arc<AppState>>, who: Setup, Path(policy_id): Path<String>) -> ApiResult<Response> {
    let mut tx = s.store.begin().await?;
    if db::next_version(&mut tx, &who.workspace_id, &policy_id).await? == 1 {
        return Err(ApiError::not_found(WireCode::PolicyNotFound, "policy"));
    }
    db::archive(&mut tx, &who.workspace_id, &policy_id, &util::fmt_ts(util::now())).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1/setup/policies/preview`: evaluates a definition for one action and context; stores nothing.
pub async fn preview(_s: State<Arc<AppState>>, _who: Runtime, Body(body): Body) -> ApiResult<Json<PolicyPreview>> {
    let mut f = Fields::new(parse::object(&body, false)?, &["definition", "action", "context"])?;
    let definition = f.take("definition");
    if definition.is_none() {
        f.error("definition", "is required");
    }
    let action = f.req_str("action");
    let context = f.opt_object("context").unwrap_or_default();
    f.finish()?;
    let (Some(definition), Some(action)) = (definition, action) else {
        return Err(ApiError::validation(Vec::new()));
    };
    let definition = policy::validate_definition(&definition).map_err(|e| field_error(e, "definition"))?;
    let eval = policy::evaluate(&definition, &action, &Value::Object(context)).map_err(|e| field_error(e, ""))?;
    let PolicyEvalBody::Edition(policy_eval) = PolicyEvalBody::from(eval) else {
        return Err(ApiError::internal("an edition evaluation converts to the edition shape"));
    };
    Ok(Json(PolicyPreview { action, definition_sha256: definition.sha256(), policy_eval, provisional: true }))
}
