//! Member setup routes (setup key): create a member with its credential, list members, rotate a credential, revoke a
//! member. A credential is in the answer of the create or rotate that made it and nowhere else, ever.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::Body;
use crate::AppState;
use crate::auth::Setup;
use crate::error::{ApiError, ApiResult, WireCode};
use crate::parse::{self, Fields};
use crate::store::members::{self, MemberRow, NewCredential};
use crate::util;
use crate::wire::{MemberCreated, MemberInfo, MemberList, MemberRevocation};
use allowly_core::model::CreateMemberRequest;

/// The body of a create, checked by allowly-core's `CreateMemberRequest::validate` (the rules every SDK applies before
/// sending).
pub(super) fn parse_create(body: &axum::body::Bytes) -> Result<CreateMemberRequest, ApiError> {
    let mut f = Fields::new(parse::object(body, false)?, &["member_id", "display_name"])?;
    let member_id = f.req_str("member_id");
    let display_name = f.opt_str("display_name");
    f.finish()?;
    let member_id = member_id.ok_or_else(|| ApiError::internal("validated field missing"))?;
    let req = CreateMemberRequest { member_id, display_name };
    if let Err(allowly_core::Error::Validation { fields, message, .. }) = req.validate() {
        let field = fields.first().map_or("member_id", |f| f.field.as_str());
        let message = fields.first().map_or(message.as_str(), |f| f.message.as_str());
        return Err(ApiError::field(WireCode::ValidationError, field, message));
    }
    Ok(req)
}

fn created(row: MemberRow, credential: NewCredential) -> MemberCreated {
    MemberCreated {
        created_at: row.created_at,
        credential: credential.0,
        display_name: row.display_name,
        member_id: row.member_id,
        revoked_at: row.revoked_at,
    }
}

/// `POST /v1/setup/members`.
pub async fn create(State(s): State<Arc<AppState>>, who: Setup, Body(body): Body) -> ApiResult<Response> {
    let req = parse_create(&body)?;
    let now = util::fmt_ts(util::now());
    let mut tx = s.store.begin().await?;
    let Some((row, credential)) =
        members::create(&mut tx, &who.workspace_id, &req.member_id, req.display_name.as_deref(), &now).await?
    else {
        return Err(ApiError::new(WireCode::Conflict, "a member with this member_id exists (or existed)"));
    };
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created(row, credential))).into_response())
}

/// `GET /v1/setup/members`.
pub async fn list(State(s): State<Arc<AppState>>, who: Setup) -> ApiResult<Json<MemberList>> {
    let rows = members::list(s.store.reader(), &who.workspace_id).await?;
    let members = rows
        .into_iter()
        .map(|m| MemberInfo {
            created_at: m.created_at,
            display_name: m.display_name,
            member_id: m.member_id,
            revoked_at: m.revoked_at,
        })
        .collect();
    Ok(Json(MemberList { members }))
}

/// `POST /v1/setup/members/{member_id}/credential`: a new credential; the old one stops working with this commit.
pub async fn rotate(
    State(s): State<Arc<AppState>>,
    who: Setup,
    Path(member_id): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<MemberCreated>> {
    parse::no_fields(&body)?;
    let mut tx = s.store.begin().await?;
    let (row, credential) = members::rotate(&mut tx, &who.workspace_id, &member_id)
        .await?
        .ok_or_else(|| ApiError::not_found(WireCode::NotFound, "member"))?;
    tx.commit().await?;
    Ok(Json(created(row, credential)))
}

/// `DELETE /v1/setup/members/{member_id}`: its credential stops working; escalations waiting on it can no longer be
/// resolved by anyone and expire.
pub async fn revoke(
    State(s): State<Arc<AppState>>,
    who: Setup,
    Path(member_id): Path<String>,
) -> ApiResult<Json<MemberRevocation>> {
    let now = util::fmt_ts(util::now());
    let mut tx = s.store.begin().await?;
    let revoked_at = members::revoke(&mut tx, &who.workspace_id, &member_id, &now)
        .await?
        .ok_or_else(|| ApiError::not_found(WireCode::NotFound, "member"))?;
    tx.commit().await?;
    Ok(Json(MemberRevocation { member_id, revoked_at }))
}
