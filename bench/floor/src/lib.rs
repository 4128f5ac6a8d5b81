//! The floor of the server benchmarks (`bench/server/run.sh`): the least work a check can be, done with the crates
//! allowly-server uses and through its commit path, so that "ours ÷ floor" says how much of a check's cost is ours.
//!
//! # What the floor must do per `POST /v1/check` (nothing more, nothing less)
//!
//! 1. Parse the JSON body with serde_json into [`CheckBody`] (`authorization_id`, `scopes`): the body our check route
//!    gets. Unparsable or empty scopes → 400.
//! 2. Read `Authorization: Bearer <key>`, hash the key with SHA-256 (`allowly_server::util::sha256_hex`, as our server
//!    stores keys) and look the hash up in a `HashMap` built at start-up. Missing or unknown → 401.
//! 3. Sign ONE Ed25519 signature (ed25519-dalek) over a small canonical byte string ([`canonical_bytes`]): a new
//!    ULID receipt id, the authorization id, the scopes, the time in milliseconds.
//! 4. Insert ONE row into the table `floor_checks` through [`commit_row`], which must stay the commit path our check
//!    route uses (`Store::write`, the group commit, the row deferred to the batch's multi-row insert as the route's
//!    receipts are); the database is opened with `allowly_server::store::Store::open`
//!    (same pragmas, `synchronous = FULL`, same one-connection write pool, same `BEGIN IMMEDIATE`).
//! 5. Only after the commit returned, answer 200 with a small JSON body (`allow` per scope, the receipt id and the
//!    signature).
//!
//! No caches beyond the key map, no batching of its own, no middleware, no rate limit, no admission control: any of
//! them would make the floor a different server. Changing what a request does here changes every `P5_floor` figure,
//! so it needs the same review as a change to the figures' definitions (bench/README.md).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use allowly_server::store::{Insert, Store, StoreError, Val};
use allowly_server::util::sha256_hex;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signer as _, SigningKey};
use serde::Deserialize;
use serde_json::json;

/// The check body's fields the floor reads (our route reads these and more; unknown fields are ignored here).
#[derive(Deserialize)]
pub struct CheckBody {
    pub authorization_id: String,
    pub scopes: Vec<String>,
}

/// The one row a check stores.
pub struct Row<'a> {
    pub receipt_id: &'a str,
    pub authorization_id: &'a str,
    pub scopes: &'a str,
    pub signature: &'a str,
    pub created_at_ms: i64,
}

pub struct Floor {
    store: Store,
    /// SHA-256 hex of each API key → the workspace it belongs to.
    keys: HashMap<String, String>,
    signer: SigningKey,
}

/// What `start` hands back: where it listens and the credentials a load generator needs.
pub struct Running {
    pub addr: SocketAddr,
    pub api_key: String,
    pub authorization_id: String,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS floor_checks (receipt_id TEXT PRIMARY KEY, \
    authorization_id TEXT NOT NULL, scopes TEXT NOT NULL, signature TEXT NOT NULL, created_at_ms BIGINT NOT NULL)";

/// The floor's table as its deferred rows fill it.
static FLOOR_ROW: Insert = Insert {
    table: "floor_checks",
    columns: &["receipt_id", "authorization_id", "scopes", "signature", "created_at_ms"],
};

/// Commits one check's row. This MUST stay the commit path of our check route (`server/src/routes/check.rs`):
/// `Store::write`, the group commit, with the row deferred (`Writer::defer`) as the route defers its receipts — on
/// SQLite inserted with the rest of the lane's batch in its shared `BEGIN IMMEDIATE` transaction and answered after
/// the batch's fsynced commit. If the route ever commits through another `Store` function, this function must call
/// that one too, or `P5_floor` stops being the floor of our server.
pub async fn commit_row(store: &Store, row: &Row<'_>) -> Result<(), sqlx::Error> {
    // Owned: the write runs in the lane's task, after this request's borrow could end.
    let values = vec![
        Val::Text(row.receipt_id.to_owned()),
        Val::Text(row.authorization_id.to_owned()),
        Val::Text(row.scopes.to_owned()),
        Val::Text(row.signature.to_owned()),
        Val::Int(row.created_at_ms),
    ];
    store
        .write(move |w| {
            Box::pin(async move {
                w.defer(&FLOOR_ROW, values);
                Ok::<_, sqlx::Error>(())
            })
        })
        .await
}

/// The signed bytes: versioned and newline-separated, so no two different checks sign the same bytes.
pub fn canonical_bytes(receipt_id: &str, authorization_id: &str, scopes: &str, created_at_ms: i64) -> Vec<u8> {
    format!("allowly-floor-v1\n{receipt_id}\n{authorization_id}\n{scopes}\n{created_at_ms}").into_bytes()
}

fn error(status: StatusCode, code: &str) -> Response {
    (status, axum::Json(json!({"error": {"code": code}}))).into_response()
}

async fn check(State(f): State<Arc<Floor>>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<CheckBody>(&body) else {
        return error(StatusCode::BAD_REQUEST, "validation_error");
    };
    if req.scopes.is_empty() {
        return error(StatusCode::BAD_REQUEST, "validation_error");
    }
    let key = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if !key.is_some_and(|k| f.keys.contains_key(&sha256_hex(k.as_bytes()))) {
        return error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let receipt_id = format!("rcpt_{}", ulid::Ulid::new());
    let scopes = req.scopes.join(",");
    let created_at_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let signature = f.signer.sign(&canonical_bytes(&receipt_id, &req.authorization_id, &scopes, created_at_ms));
    let signature = B64.encode(signature.to_bytes());
    let row = Row {
        receipt_id: &receipt_id,
        authorization_id: &req.authorization_id,
        scopes: &scopes,
        signature: &signature,
        created_at_ms,
    };
    if commit_row(&f.store, &row).await.is_err() {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    }
    let results: serde_json::Map<_, _> = req
        .scopes
        .iter()
        .map(|s| {
            (s.clone(), json!({"decision": "allow", "receipt": {"receipt_id": receipt_id, "signature": signature}}))
        })
        .collect();
    axum::Json(json!({"results": results})).into_response()
}

pub fn router(floor: Arc<Floor>) -> Router {
    Router::new().route("/v1/check", post(check)).route("/readyz", get(|| async { StatusCode::OK })).with_state(floor)
}

/// Opens the database (creating the floor's table), makes one API key, one authorization id and one signing key,
/// and serves on `listen`.
pub async fn start(db_url: &str, listen: &str) -> Result<Running, StoreError> {
    let store = Store::open(db_url).await?;
    let mut tx = store.begin().await?;
    sqlx::query(CREATE_TABLE).execute(&mut *tx).await?;
    tx.commit().await?;
    let mut rng = rand::rngs::OsRng;
    let api_key = format!("alw_floor_{}", B64.encode(rand::Rng::r#gen::<[u8; 32]>(&mut rng)));
    let floor = Floor {
        store,
        keys: HashMap::from([(sha256_hex(api_key.as_bytes()), "ws_floor".to_string())]),
        signer: SigningKey::generate(&mut rng),
    };
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| StoreError::Other(e.to_string()))?;
    let addr = listener.local_addr().map_err(|e| StoreError::Other(e.to_string()))?;
    let app = router(Arc::new(floor));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Running { addr, api_key, authorization_id: format!("auth_floor_{}", ulid::Ulid::new()), server })
}

/// The ready file, like `allowly serve --dev`'s (tests/support/devserver.py reads it): mode 0600, since it holds the
/// key. `runtime_api_key` and `authorization_id` are what a check needs.
pub fn write_ready(path: &Path, r: &Running) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let doc = json!({"base_url": format!("http://{}", r.addr), "runtime_api_key": r.api_key,
                     "authorization_id": r.authorization_id, "server": "allowly-floor"});
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    f.write_all(doc.to_string().as_bytes())?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}
