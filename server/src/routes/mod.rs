//! The HTTP surface: router, body extraction with the 64 KiB limit, and the small routes (health, key document,
//! key rotation, metrics, the OpenAPI document). Every rejection is the wire-v1 envelope — including unknown routes
//! and wrong methods.

mod agents;
mod authorizations;
mod check;
mod confirmations;
pub mod edition_grants;
mod escalation_check;
mod escalation_targets;
mod escalations;
#[doc(hidden)]
pub mod fuzzing;
mod members;
mod policies;
mod receipts;
mod resolution_webhook;
mod settlements;
mod setup;
mod unsupported;

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, MatchedPath, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::auth::Setup;
use crate::error::{ApiError, ApiResult, WireCode};
use crate::openapi::operation::{Op, Query};
use crate::parse::MAX_BODY;
use crate::store::signing_keys;
use crate::util;
use crate::wire::{
    AgentIdentityPut, AgentIdentitySettings, AgentKeyList, AgentKeyRecord, AgentKeyRegister, AgentKeyRegistered,
    ApiKeyCreate, ApiKeyList, ApiKeyRecord, ApiKeyRevocation, AuditPage, AuthorizationBody, AuthorizationCreate,
    CheckBody, Confirmation, ConfirmationMonitor, ConfirmationResolution, EscalationMonitor, EscalationResolveAnswer,
    Health, KeyDocument, KeyRotation, MemberCreated, MemberList, MemberRevocation, PolicyBody, PolicyCreate,
    PolicyList, PolicyPreview, PolicyPreviewRequest, PolicyPublished, Readiness, ReceiptEnvelope,
    ResolutionWebhookConfig, ResolutionWebhookDeliveries, ResolutionWebhookPut, ResolutionWebhookSecret, Revocation,
    Settlement, WebhookCreated, WebhookDeleted, WebhookEndpoint, WebhookPut,
};
use allowly_core::model;

pub(crate) use policies::field_error as policy_field_error;
pub use receipts::wait_signed;

/// The request body, read up to 64 KiB; anything larger is a 413 envelope.
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let declared =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY as u64) {
            return Err(ApiError::payload_too_large());
        }
        axum::body::to_bytes(req.into_body(), MAX_BODY).await.map(Body).map_err(|_| ApiError::payload_too_large())
    }
}

/// Declares the route table once: each route with its handler and its OpenAPI operation. It expands to [`ROUTES`],
/// to [`operations`] (read by the OpenAPI generator) and to the function that registers the same routes on the router,
/// so a route cannot be served undocumented or documented unserved.
macro_rules! route_table {
    ($($method:ident $path:literal => $handler:path, $op:expr;)*) => {
        /// Every served `(method, path template)`, in the order the OpenAPI document lists them.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// Every route's OpenAPI operation, in the order of [`ROUTES`]. Bodies are named by type (`crate::openapi`).
        pub fn operations() -> Vec<(&'static str, &'static str, Op)> {
            vec![$((stringify!($method), $path, $op)),*]
        }

        fn with_routes(r: Router<Arc<AppState>>) -> Router<Arc<AppState>> {
            r$(.route($path, axum::routing::$method($handler)))*
        }
    };
}

route_table! {
    get "/healthz" => healthz, Op::public("healthz", "health", "Process is up").ok::<Health>(200);
    get "/readyz" => readyz,
        Op::public("readyz", "health", "Database reachable and signer running").ok::<Readiness>(200).errors(&[503]);
    get "/metrics" => metrics_text,
        Op::public("metrics", "health", "Prometheus metrics").ok_other("text/plain", "string");
    get "/openapi.json" => openapi_json,
        Op::public("openapi", "health", "This document").ok_other("application/json", "object");
    post "/v1/authorizations" => authorizations::create,
        Op::runtime("createAuthorization", "Create an authorization from scopes or a policy edition (optionally replacing another)")
            .body::<AuthorizationCreate>()
            .ok::<edition_grants::AuthorizationCreated>(201)
            .errors(&[404, 409, 422])
            .idempotent();
    get "/v1/authorizations/{id}" => authorizations::get_one,
        Op::runtime("getAuthorization", "Read an authorization").ok::<AuthorizationBody>(200).errors(&[404]);
    delete "/v1/authorizations/{id}" => authorizations::revoke,
        Op::runtime("revokeAuthorization", "Revoke an authorization (idempotent)")
            .optional_body::<model::RevokeRequest>()
            .ok::<Revocation>(200)
            .errors(&[404, 422])
            .idempotent();
    post "/v1/check" => check::check,
        Op::runtime("check", "Decide allow / confirm / deny for each scope")
            .body::<model::CheckRequest>()
            .query(&[("wait", Query::Boolean)])
            .ok::<CheckBody>(200)
            .errors(&[422])
            .idempotent();
    post "/v1/confirmations/{id}" => confirmations::resolve,
        Op::runtime("resolveConfirmation", "Approve or reject with a single-use confirm nonce (the path parameter)")
            .body::<model::ApproveConfirmationRequest>()
            .ok::<ConfirmationResolution>(200)
            .errors(&[404, 410, 422])
            .idempotent();
    get "/v1/confirmations/{id}" => confirmations::get_one,
        Op::runtime("getConfirmation", "Read a confirmation by id").ok::<Confirmation>(200).errors(&[404]);
    get "/v1/confirmations/{id}/status" => confirmations::status,
        Op::runtime("getConfirmationStatus", "A confirmation's monitor view by id (never its nonce)")
            .ok::<ConfirmationMonitor>(200)
            .errors(&[404]);
    post "/v1/budget-settlements" => settlements::settle,
        Op::runtime("settleBudget", "Settle the actual cost of an allowed budgeted check")
            .body::<model::SettlementRequest>()
            .ok::<Settlement>(200)
            .errors(&[404, 409, 422])
            .idempotent();
    get "/v1/receipts/export" => setup::export,
        Op::setup("exportReceipts", "Signed receipts as JSON Lines, oldest first")
            .query(&[("since", Query::DateTime), ("until", Query::DateTime)])
            .ok_other("application/x-ndjson", "string")
            .errors(&[422]);
    get "/v1/receipts/{id}" => receipts::get_one,
        Op::runtime("getReceipt", "A receipt envelope, optionally long-polling until signed")
            .query(&[("wait_ms", Query::Count)])
            .ok::<ReceiptEnvelope>(200)
            .errors(&[404, 422]);
    get "/v1/workspaces/{id}/keys" => key_document,
        Op::public("getKeyDocument", "public", "The workspace's public key document")
            .ok::<KeyDocument>(200)
            .errors(&[404]);
    post "/v1/signing-keys/rotate" => rotate,
        Op::setup("rotateSigningKey", "Rotate the receipt signing key").ok::<KeyRotation>(200).idempotent();
    post "/v1/api-keys" => setup::create_api_key,
        Op::setup("createApiKey", "Create an API key (its text is shown once)")
            .body::<ApiKeyCreate>()
            .ok::<ApiKeyRecord>(201)
            .errors(&[422])
            .idempotent();
    get "/v1/api-keys" => setup::list_api_keys,
        Op::setup("listApiKeys", "List API keys (prefixes only)").ok::<ApiKeyList>(200);
    delete "/v1/api-keys/{id}" => setup::revoke_api_key,
        Op::setup("revokeApiKey", "Revoke an API key").ok::<ApiKeyRevocation>(200).errors(&[404, 409]).idempotent();
    put "/v1/webhook" => setup::put_webhook,
        Op::setup("putWebhook", "Set the webhook endpoint (returns a new signing secret once)")
            .body::<WebhookPut>()
            .ok::<WebhookCreated>(200)
            .errors(&[422]);
    get "/v1/webhook" => setup::get_webhook,
        Op::setup("getWebhook", "Read the webhook endpoint").ok::<WebhookEndpoint>(200).errors(&[404]);
    delete "/v1/webhook" => setup::delete_webhook,
        Op::setup("deleteWebhook", "Remove the webhook endpoint").ok::<WebhookDeleted>(200).errors(&[404]);
    post "/v1/policies" => policies::create,
        Op::setup("createPolicy", "Create a policy edition (the next version; previous_policy_ref once it exists)")
            .body::<PolicyCreate>()
            .ok::<PolicyBody>(201)
            .errors(&[409, 422])
            .idempotent();
    get "/v1/policies" => policies::list,
        Op::runtime("listPolicies", "The newest edition of each policy, by policy_id")
            .query(&[("limit", Query::Range(1, 100)), ("cursor", Query::String)])
            .ok::<PolicyList>(200)
            .errors(&[422]);
    get "/v1/policies/{id}" => policies::get_one,
        Op::runtime("getPolicy", "The newest edition of a policy").ok::<PolicyBody>(200).errors(&[404]);
    delete "/v1/policies/{id}" => policies::archive,
        Op::setup("archivePolicy", "Archive a policy (no new editions or authorizations; existing ones keep working)")
            .no_content()
            .errors(&[404]);
    post "/v1/setup/policies/preview" => policies::preview,
        Op::runtime("previewPolicy", "Evaluate a definition for one action and context; stores nothing")
            .body::<PolicyPreviewRequest>()
            .ok::<PolicyPreview>(200)
            .errors(&[422]);
    post "/v1/setup/policies/publish" => policies::publish,
        Op::setup("publishPolicy", "Publish a policy edition (Idempotency-Key required)")
            .body::<PolicyCreate>()
            .ok::<PolicyPublished>(201)
            .errors(&[409, 422])
            .idempotent();
    post "/v1/execute" => unsupported::executions, Op::unsupported("execute", "Executions (not supported yet)");
    get "/v1/executions/{id}" => unsupported::executions,
        Op::unsupported("getExecution", "Executions (not supported yet)");
    post "/v1/executions/{id}/{step}" => unsupported::executions,
        Op::unsupported("executionStep", "Executions (not supported yet)");
    post "/v1/seal" => unsupported::seal, Op::unsupported("seal", "SEAL records (not supported yet)");
    post "/v1/receipts/{id}/acknowledgments" => unsupported::acknowledgments,
        Op::unsupported("acknowledgeReceipt", "Receipt acknowledgments (not supported yet)");
    get "/v1/receipts/{id}/acknowledgments/{ack}" => unsupported::acknowledgments,
        Op::unsupported("getReceiptAcknowledgment", "Receipt acknowledgments (not supported yet)");
    post "/v1/setup/custom-executables" => unsupported::custom_executables,
        Op::unsupported("createCustomExecutable", "Custom executables (not supported yet)");
    get "/v1/escalations/{id}" => escalations::status,
        Op::runtime_or_member("getEscalation", "An escalation's monitor view: its levels, who resolved each, its authority")
            .ok::<EscalationMonitor>(200)
            .errors(&[404]);
    post "/v1/escalations/{id}/resolve" => escalations::resolve,
        Op::member("resolveEscalation", "Approve or reject an escalation's current level (its member's own credential)")
            .body::<model::ResolveEscalationRequest>()
            .ok::<EscalationResolveAnswer>(200)
            .errors(&[404, 409, 410, 422])
            .idempotent();
    post "/v1/setup/members" => members::create,
        Op::setup("createMember", "Create a member (an approver); its credential is shown once")
            .body::<model::CreateMemberRequest>()
            .ok::<MemberCreated>(201)
            .errors(&[409, 422]);
    get "/v1/setup/members" => members::list,
        Op::setup("listMembers", "Every member, oldest first (never a credential)").ok::<MemberList>(200);
    post "/v1/setup/members/{id}/credential" => members::rotate,
        Op::setup("rotateMemberCredential", "A new credential for a member (shown once); the old one stops working")
            .ok::<MemberCreated>(200)
            .errors(&[404]);
    delete "/v1/setup/members/{id}" => members::revoke,
        Op::setup("revokeMember", "Revoke a member: its credential stops working, its pending escalations expire")
            .ok::<MemberRevocation>(200)
            .errors(&[404]);
    get "/v1/setup/resolution-webhook" => resolution_webhook::get,
        Op::setup("getResolutionWebhook", "The resolution webhook endpoint (never its secret)")
            .ok::<ResolutionWebhookConfig>(200);
    put "/v1/setup/resolution-webhook" => resolution_webhook::put,
        Op::setup("configureResolutionWebhook", "Configure the resolution webhook (returns a new signing secret once)")
            .body::<ResolutionWebhookPut>()
            .ok::<ResolutionWebhookSecret>(200)
            .errors(&[422]);
    post "/v1/setup/resolution-webhook/rotate" => resolution_webhook::rotate,
        Op::setup("rotateResolutionWebhook", "A new signing secret for the resolution webhook (shown once)")
            .ok::<ResolutionWebhookSecret>(200)
            .errors(&[404]);
    get "/v1/setup/resolution-webhook/deliveries" => resolution_webhook::deliveries,
        Op::setup("listResolutionWebhookDeliveries", "The newest 20 resolution webhook deliveries")
            .ok::<ResolutionWebhookDeliveries>(200);
    delete "/v1/setup/resolution-webhook" => resolution_webhook::disable,
        Op::setup("disableResolutionWebhook", "Disable the resolution webhook (queued events are cancelled)")
            .ok::<ResolutionWebhookConfig>(200);
    post "/v1/setup/agents/{id}/keys" => agents::register,
        Op::setup("registerAgentKey", "Register an enrolled agent's Ed25519 public key (never a private key)")
            .body::<AgentKeyRegister>()
            .ok::<AgentKeyRegistered>(201)
            .errors(&[422]);
    get "/v1/setup/agents" => agents::list,
        Op::setup("listAgentKeys", "Every registered agent key (public halves), oldest first").ok::<AgentKeyList>(200);
    delete "/v1/setup/agent-keys/{id}" => agents::revoke,
        Op::setup("revokeAgentKey", "Revoke an agent key: its tokens are refused from now on")
            .ok::<AgentKeyRecord>(200)
            .errors(&[404]);
    get "/v1/setup/agent-identity" => agents::get_settings,
        Op::setup("getAgentIdentitySettings", "Whether checks require an agent token").ok::<AgentIdentitySettings>(200);
    put "/v1/setup/agent-identity" => agents::put_settings,
        Op::setup("putAgentIdentitySettings", "Require (or stop requiring) a verified agent token on every check")
            .body::<AgentIdentityPut>()
            .ok::<AgentIdentitySettings>(200)
            .errors(&[422]);
    get "/v1/audit" => setup::audit,
        Op::setup("audit", "Signed receipts matching filters, newest first")
            .query(&[
                ("user_id", Query::String),
                ("agent_id", Query::String),
                ("authorization_id", Query::String),
                ("run_id", Query::String),
                ("action", Query::String),
                ("decision", Query::String),
                ("since", Query::DateTime),
                ("until", Query::DateTime),
                ("limit", Query::Range(1, setup::MAX_AUDIT_LIMIT)),
                ("cursor", Query::String),
            ])
            .ok::<AuditPage>(200)
            .errors(&[422]);
}

pub fn router(state: Arc<AppState>) -> Router {
    // Spans name the route template, never the concrete path: confirmation nonces travel in the path.
    let trace = TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
        let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_default();
        tracing::info_span!("request", method = %req.method(), route = %route)
    });
    with_routes(Router::new())
        .fallback(|| async { ApiError::new(WireCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(WireCode::MethodNotAllowed, "method not allowed on this route")
        })
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(45)))
        .layer(axum::middleware::map_response(envelope_bare_errors))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::metrics::track))
        .layer(trace)
        // Outermost, so a refused request costs next to nothing; its slot moves into `run_to_completion`'s task.
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::admission::gate))
        .with_state(state)
}

/// Runs the handler as its own task, so a client that hangs up (or the timeout layer) cannot cancel it halfway.
/// A cancelled handler could stop between `BEGIN IMMEDIATE` and commit: sqlx then left the single SQLite write
/// connection at a non-zero transaction depth and every later write failed until restart (found under load by
/// `make bench`; `abandoned_requests_never_poison_the_write_connection` reproduces it). A decision the client never
/// hears about is still receipted, exactly as if the answer had been lost on the way back.
async fn run_to_completion(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    tokio::spawn(crate::admission::carry_slot(next.run(req)))
        .await
        .unwrap_or_else(|e| ApiError::internal(format!("request handler task: {e}")).into_response())
}

/// Errors produced below our handlers — axum's extractor rejections (a path segment that is not UTF-8 was answered
/// as `text/plain`) and the timeout layer's empty 408 — get the wire-v1 envelope too. The message is fixed: a
/// rejection's own text can quote the path, and a confirmation nonce travels in the path.
async fn envelope_bare_errors(resp: Response) -> Response {
    let status = resp.status();
    let json = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    ApiError::with_status(status, WireCode::for_bare_status(status), "the request could not be read").into_response()
}

async fn metrics_text(State(s): State<Arc<AppState>>) -> Response {
    let body = crate::metrics::render(&s).await;
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))], body)
        .into_response()
}

async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], crate::openapi::DOCUMENT).into_response()
}

async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    let db = s.store.ping().await;
    let signer = s.signer.is_running();
    let body = Json(Readiness { database: db, signer, status: if db && signer { "ready" } else { "unavailable" } });
    if db && signer {
        (StatusCode::OK, body).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    }
}

/// `GET /v1/workspaces/{id}/keys`: public, cacheable, every key ever used (retired ones keep `active_until`).
async fn key_document(State(s): State<Arc<AppState>>, Path(ws): Path<String>) -> ApiResult<Response> {
    let doc = signing_keys::key_document(s.store.reader(), &ws)
        .await?
        .ok_or_else(|| ApiError::not_found(WireCode::WorkspaceNotFound, "workspace"))?;
    let mut resp = Json(doc).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    Ok(resp)
}

/// `POST /v1/signing-keys/rotate` (setup key): a new key active now; the old one is retired at the same instant.
async fn rotate(
    State(s): State<Arc<AppState>>,
    who: Setup,
    headers: axum::http::HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    crate::parse::no_fields(&body)?;
    let idem = crate::idempotency::IdemKey::from_request(&headers, "POST", "/v1/signing-keys/rotate", &body)?;
    let mut tx = s.store.begin().await?;
    if let Some(r) = crate::idempotency::replay(&mut tx, &who.workspace_id, idem.as_ref()).await? {
        return Ok(r);
    }
    signing_keys::lock_for_rotation(&mut tx).await?;
    let now = util::fmt_ts(util::now());
    let key_id = signing_keys::create(&mut tx, &s.master, &who.workspace_id, &now).await?;
    let out = KeyRotation { active_from: now, key_id, workspace_id: who.workspace_id.clone() };
    crate::idempotency::save(&mut tx, &who.workspace_id, idem.as_ref(), StatusCode::OK, &out).await?;
    tx.commit().await?;
    s.signer.keys_changed();
    Ok(Json(out).into_response())
}
