//! Security properties of issue 10 (part 5), on SQLite and PostgreSQL: key tiers hold on every setup route, API keys
//! exist in the database only as hashes, and workspaces are isolated — a receipt of one never verifies as another's,
//! and one workspace's key cannot read, check, confirm, settle or revoke another's objects.
//!
//! "Concurrent approve race (100) → exactly one winner" is `hundred_concurrent_approvals_have_exactly_one_winner` in
//! `concurrency.rs`; it is not repeated here.

#[macro_use]
mod common;

use std::collections::BTreeMap;

use allowly_core::VerificationErrorKind;
use allowly_core::receipt::load_keys_from_json;
use allowly_core::receipt::verify::{VerifyOptions, verify_receipt_json};
use allowly_server::store::api_keys::{self, Tier};
use allowly_server::store::{Store, signing_keys};
use allowly_server::{MasterKey, Running, ServeConfig, util};
use common::{TestDb, TestServer};
use serde_json::{Value, json};
use sqlx::{Connection as _, Row as _};

backend_tests!(
    runtime_key_is_refused_on_every_setup_route,
    api_keys_are_stored_only_as_hashes,
    receipt_of_one_workspace_never_verifies_as_another,
    another_workspace_cannot_touch_an_authorization,
    an_agent_token_the_server_cannot_verify_is_refused,
    a_member_credential_opens_only_the_escalation_routes
);

/// Every row of every table, as text (SQLite blobs as hex, PostgreSQL `bytea` as its `\x…` text), keyed by table.
/// Two snapshots compare equal only if no request inserted, updated or deleted anything. The snapshot is taken once
/// the async signer has no pending receipt left: it signs on its own schedule, and CI once saw a signature from an
/// earlier, accepted request land between two snapshots around a refused one.
async fn snapshot(url: &str) -> BTreeMap<String, Vec<Vec<Option<String>>>> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM receipts WHERE status = 'pending'")
            .fetch_one(&mut conn)
            .await
            .expect("count pending receipts");
        if pending == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{pending} receipts still pending after 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let sqlite = url.starts_with("sqlite:");
    let tables: Vec<String> = if sqlite {
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .fetch_all(&mut conn)
            .await
    } else {
        sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        )
        .fetch_all(&mut conn)
        .await
    }
    .expect("list tables");
    let mut out = BTreeMap::new();
    for t in tables {
        let cols: Vec<String> = if sqlite {
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{t}')")).fetch_all(&mut conn).await
        } else {
            sqlx::query_scalar(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            )
            .bind(&t)
            .fetch_all(&mut conn)
            .await
        }
        .expect("list columns");
        let exprs: Vec<String> = cols
            .iter()
            .map(|c| {
                if sqlite {
                    format!("CASE WHEN typeof(\"{c}\") = 'blob' THEN hex(\"{c}\") ELSE CAST(\"{c}\" AS TEXT) END")
                } else {
                    format!("CAST(\"{c}\" AS TEXT)")
                }
            })
            .collect();
        let rows = sqlx::query(&format!("SELECT {} FROM \"{t}\"", exprs.join(", ")))
            .fetch_all(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("dump {t}: {e}"));
        let mut dumped: Vec<Vec<Option<String>>> = rows
            .iter()
            .map(|r| (0..cols.len()).map(|i| r.try_get::<Option<String>, _>(i).expect("text cell")).collect())
            .collect();
        dumped.sort();
        out.insert(t, dumped);
    }
    conn.close().await.expect("close");
    out
}

fn assert_error(v: &Value, code: &str) {
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
}

/// The key tier the served OpenAPI document declares for `(method, path)`: `None` for public routes.
fn declared_tier(doc: &Value, method: &str, path: &str) -> Option<String> {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} of ROUTES is not in the OpenAPI document");
    op["x-allowly-key-tier"].as_str().map(str::to_string)
}

/// A request body that a setup key would get accepted, so a refusal can only come from the key tier.
fn valid_body(method: &str, path: &str) -> Option<Value> {
    match (method, path) {
        ("post", "/v1/api-keys") => Some(json!({"tier": "runtime", "name": "tier probe"})),
        ("put", "/v1/webhook" | "/v1/setup/resolution-webhook") => Some(json!({"url": "http://127.0.0.1:9/hook"})),
        ("post", "/v1/setup/agents/{id}/keys") => {
            let jwk = allowly_core::agent_identity::AgentCredential::generate().public_key_jwk();
            Some(json!({"public_key_jwk": {"kty": jwk.kty, "crv": jwk.crv, "x": jwk.x}}))
        }
        ("put", "/v1/setup/agent-identity") => Some(json!({"require_agent_tokens": false})),
        ("post", "/v1/setup/members") => Some(json!({"member_id": "tierprobe"})),
        ("post", "/v1/escalations/{id}/resolve") => Some(json!({"resolution": "approved"})),
        ("post", "/v1/authorizations") => Some(json!({"user_id": "u", "agent_id": "a", "scopes": ["x"]})),
        ("post", "/v1/check") => Some(json!({"authorization_id": "auth_01JNOTAREALIDXXXXXXXXXXXXX", "scopes": ["x"]})),
        ("post", "/v1/confirmations/{id}") => Some(json!({"approved": true})),
        ("post", "/v1/budget-settlements") => {
            Some(json!({"check_receipt_id": "rcp_01JNOTAREALIDXXXXXXXXXXXXX", "actual_cost_micros": 1}))
        }
        ("post", "/v1/policies" | "/v1/setup/policies/publish") => {
            let id = if path == "/v1/policies" { "tierprobe" } else { "tierprobe-published" };
            Some(json!({
                "policy_id": id, "profile": "allowly.policy.v1", "agent_id": "a", "default_expiry_days": null,
                "actions": [{"policy": {"profile": "allowly.basic.v1", "action": "x", "decision": "allow",
                                        "target": null, "fields": {}, "rules": []},
                             "guards": {}, "executable_operations": []}],
            }))
        }
        _ => None,
    }
}

/// Iterates the router's own route table, so a setup route added later is covered without touching this test. The
/// tier of each route comes from the served OpenAPI document (generated from the same table); the test also proves
/// that classification complete: a runtime key is refused exactly on the routes declared `setup`, and a setup key is
/// accepted on every one of them.
async fn runtime_key_is_refused_on_every_setup_route(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (st, doc) = s.send("GET", "/openapi.json", None, None, None).await;
    assert_eq!(st, 200);
    // A live target for DELETE /v1/api-keys/{id}: if the tier check were missing, the runtime key would revoke it.
    let (st, victim) =
        s.send("POST", "/v1/api-keys", Some(&s.setup), Some(json!({"tier": "runtime", "name": "victim"})), None).await;
    assert_eq!(st, 201, "{victim}");
    let victim_id = victim["id"].as_str().expect("id").to_string();
    let (st, _) = s.send("PUT", "/v1/webhook", Some(&s.setup), valid_body("put", "/v1/webhook"), None).await;
    assert_eq!(st, 200);

    let mut setup_routes = Vec::new();
    for (method, path) in allowly_server::routes::ROUTES {
        let tier = declared_tier(&doc, method, path);
        let concrete = path.replace("{id}", if path.starts_with("/v1/api-keys") { &victim_id } else { "x_unknown" });
        let before = snapshot(&db.url).await;
        let (st, v) = s.send(&method.to_uppercase(), &concrete, Some(&s.rt), valid_body(method, path), None).await;
        if tier.as_deref() == Some("setup") {
            assert_eq!(st, 403, "runtime key on {method} {path}: {v}");
            assert_error(&v, "insufficient_key_tier");
            assert_eq!(snapshot(&db.url).await, before, "a refused {method} {path} changed the database");
            setup_routes.push(format!("{method} {path}"));
        } else if tier.as_deref() == Some("member") {
            // Only a member's own credential resolves an escalation: an API key of either tier is refused.
            for key in [&s.rt, &s.setup] {
                let (st, v) =
                    s.send(&method.to_uppercase(), &concrete, Some(key), valid_body(method, path), None).await;
                assert_eq!(st, 403, "API key on {method} {path}: {v}");
                assert_error(&v, "member_credential_required");
            }
            assert_eq!(snapshot(&db.url).await, before, "a refused {method} {path} changed the database");
        } else {
            assert_ne!(st, 403, "runtime key refused on {method} {path}, which is not declared setup: {v}");
        }
    }
    // Every setup route of wire-v1 is among them (a floor, in case the document lost its tier annotations).
    for want in [
        "post /v1/api-keys",
        "get /v1/api-keys",
        "delete /v1/api-keys/{id}",
        "post /v1/signing-keys/rotate",
        "put /v1/webhook",
        "get /v1/audit",
        "get /v1/receipts/export",
    ] {
        assert!(setup_routes.iter().any(|r| r == want), "{want} is not refused to runtime keys: {setup_routes:?}");
    }
    // The setup key passes the same tier check on every one of them (in table order, each DELETE follows its reads).
    let mut agent_key = String::new();
    for (method, path) in allowly_server::routes::ROUTES {
        if declared_tier(&doc, method, path).as_deref() != Some("setup") {
            continue;
        }
        // Policies are addressed by their policy_id (created by the POST that precedes the DELETE in the table), agent
        // keys by the key id the registration that precedes the DELETE answered.
        let target = if path.starts_with("/v1/policies") || path.starts_with("/v1/setup/members") {
            "tierprobe"
        } else if path.starts_with("/v1/setup/agent-keys") {
            agent_key.as_str()
        } else {
            victim_id.as_str()
        };
        let concrete = path.replace("{id}", target);
        let idem = (*path == "/v1/setup/policies/publish").then_some("tier-probe-publish");
        let (st, v) = s.send(&method.to_uppercase(), &concrete, Some(&s.setup), valid_body(method, path), idem).await;
        assert!((200..300).contains(&st), "setup key on {method} {path}: {st} {v}");
        if let Some(k) = v["key_id"].as_str().filter(|_| path.starts_with("/v1/setup/agents/")) {
            agent_key = k.to_owned();
        }
    }
    s.stop().await;
}

/// Every cell of every table, searched for each key's text (and its hex, in case it sits in a blob). A positive
/// control proves the scan reads the data it claims to.
async fn api_keys_are_stored_only_as_hashes(db: TestDb) {
    let s = TestServer::start(&db).await;
    let mut keys = vec![s.rt.clone(), s.setup.clone()];
    for tier in ["runtime", "setup"] {
        let (st, v) =
            s.send("POST", "/v1/api-keys", Some(&s.setup), Some(json!({"tier": tier, "name": "scan"})), None).await;
        assert_eq!(st, 201, "{v}");
        keys.push(v["key"].as_str().expect("key text").to_string());
    }
    let marker = format!("marker-{}", ulid::Ulid::new());
    s.authorize(json!({"user_id": marker, "agent_id": "a", "scopes": ["x"]})).await;

    let snap = snapshot(&db.url).await;
    let cells: Vec<(&str, &str)> = snap
        .iter()
        .flat_map(|(t, rows)| rows.iter().flatten().flatten().map(move |c| (t.as_str(), c.as_str())))
        .collect();
    assert!(cells.iter().any(|(t, c)| *t == "authorizations" && c.contains(&marker)), "the scan sees no data");
    let hashes: Vec<String> = cells.iter().filter(|(t, _)| *t == "api_keys").map(|(_, c)| c.to_string()).collect();
    for key in &keys {
        let hex_lower: String = key.bytes().map(|b| format!("{b:02x}")).collect();
        let hex_upper = hex_lower.to_uppercase();
        let secret = &key[key.rfind('_').expect("prefix") + 1..];
        for (table, cell) in &cells {
            for needle in [key.as_str(), secret, &hex_lower, &hex_upper] {
                assert!(!cell.contains(needle), "key text found in table {table}");
            }
        }
        // What is stored instead: its SHA-256.
        assert!(hashes.contains(&util::sha256_hex(key.as_bytes())), "no hash stored for a key");
    }
    eprintln!("scanned {} cells of {} tables for {} keys", cells.len(), snap.len(), keys.len());
    s.stop().await;
}

/// One workspace's keys, in clear.
struct Ws {
    id: String,
    rt: String,
    setup: String,
}

/// Two workspaces in ONE database behind one server, so isolation rests on the server's checks, not on separate
/// databases. The first comes from `init`; the second is created with the store's own functions (there is no route
/// for it), with a signing key sealed by the same master key.
struct TwoWorkspaces {
    running: Option<Running>,
    base: String,
    http: reqwest::Client,
    a: Ws,
    b: Ws,
}

impl TwoWorkspaces {
    async fn start(db: &TestDb) -> TwoWorkspaces {
        let master = MasterKey::generate();
        let k = allowly_server::bootstrap::init(&db.url, &master).await.expect("init");
        let a = Ws { id: k.workspace_id, rt: k.runtime_api_key, setup: k.setup_api_key };
        let store = Store::open(&db.url).await.expect("open store");
        let mut tx = store.begin().await.expect("begin");
        let now = util::fmt_ts(util::now());
        let ws = api_keys::create_workspace(&mut tx, "second", &now).await.expect("workspace");
        signing_keys::create(&mut tx, &master, &ws, &now).await.expect("signing key");
        let rt = api_keys::create(&mut tx, &ws, Tier::Runtime, "b runtime", &now).await.expect("runtime key");
        let setup = api_keys::create(&mut tx, &ws, Tier::Setup, "b setup", &now).await.expect("setup key");
        tx.commit().await.expect("commit");
        store.close().await;
        let b = Ws { id: ws, rt: rt.key.clone(), setup: setup.key.clone() };
        let running = allowly_server::start(ServeConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            db_url: Some(db.url.clone()),
            dev: false,
            ready_file: None,
            master_key: Some(master),
            rate_limits: Default::default(),
            admission: Default::default(),
            webhook_allow: Vec::new(),
            sqlite_synchronous: Default::default(),
        })
        .await
        .expect("server starts");
        TwoWorkspaces {
            base: format!("http://{}", running.addr),
            running: Some(running),
            http: reqwest::Client::new(),
            a,
            b,
        }
    }

    async fn send(&self, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.http.request(m, format!("{}{}", self.base, path)).bearer_auth(key);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn signed(&self, key: &str, receipt_id: &str) -> Value {
        let (st, v) = self.send("GET", &format!("/v1/receipts/{receipt_id}?wait_ms=10000"), key, None).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["status"], "signed", "{v}");
        v["receipt"].clone()
    }

    async fn key_document(&self, ws: &str) -> Vec<u8> {
        let resp = self.http.get(format!("{}/v1/workspaces/{ws}/keys", self.base)).send().await.expect("keys");
        assert_eq!(resp.status().as_u16(), 200);
        resp.bytes().await.expect("bytes").to_vec()
    }

    async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }
}

fn verify(receipt: &Value, key_doc: &[u8], expected: &str) -> Result<(), VerificationErrorKind> {
    let keys = load_keys_from_json(key_doc).expect("key document loads");
    let opts = VerifyOptions { expected_workspace_id: Some(expected.to_string()), ..Default::default() };
    verify_receipt_json(&serde_json::to_vec(receipt).expect("ser"), &keys, &opts).map(|_| ()).map_err(|e| e.kind)
}

async fn receipt_of_one_workspace_never_verifies_as_another(db: TestDb) {
    let t = TwoWorkspaces::start(&db).await;
    let (st, created) = t
        .send("POST", "/v1/authorizations", &t.a.rt, Some(json!({"user_id": "u", "agent_id": "a", "scopes": ["x"]})))
        .await;
    assert_eq!(st, 201, "{created}");
    let (st, checked) = t
        .send(
            "POST",
            "/v1/check",
            &t.a.rt,
            Some(json!({"authorization_id": created["authorization_id"], "scopes": ["x"]})),
        )
        .await;
    assert_eq!(st, 200, "{checked}");
    let doc_a = t.key_document(&t.a.id).await;
    let doc_b = t.key_document(&t.b.id).await;
    let ids = [created["receipt"]["receipt_id"].clone(), checked["results"]["x"]["receipt"]["receipt_id"].clone()];
    for id in ids {
        let receipt = t.signed(&t.a.rt, id.as_str().expect("receipt id")).await;
        assert_eq!(receipt["workspace_id"], json!(t.a.id));
        // Control: it is a valid receipt of A.
        assert_eq!(verify(&receipt, &doc_a, &t.a.id), Ok(()));
        // A's receipt with A's keys, but the caller expects B.
        assert_eq!(verify(&receipt, &doc_a, &t.b.id), Err(VerificationErrorKind::WorkspaceMismatch));
        // A's receipt against B's key document, expecting B.
        assert!(verify(&receipt, &doc_b, &t.b.id).is_err(), "A's receipt verified with B's keys");
        // Relabelled as B (workspace and key id), it no longer carries a valid signature.
        let b_key_id = serde_json::from_slice::<Value>(&doc_b).expect("doc")["keys"][0]["key_id"].clone();
        let mut forged = receipt.clone();
        forged["workspace_id"] = json!(t.b.id);
        forged["key_id"] = b_key_id;
        assert_eq!(verify(&forged, &doc_b, &t.b.id), Err(VerificationErrorKind::SignatureMismatch));
    }
    t.stop().await;
}

/// B's keys (runtime and setup) against A's authorization, confirmation and receipts: every read and write is a 404
/// (a check is the wire-v1 deny `authorization_not_found`), and the only rows any of it adds are B's own deny
/// receipts. A's objects stay exactly as they were, and A can still use them.
async fn another_workspace_cannot_touch_an_authorization(db: TestDb) {
    let t = TwoWorkspaces::start(&db).await;
    let body = json!({"user_id": "u", "agent_id": "a", "scopes": ["pay", "read"], "requires_confirm_for": ["pay"],
                      "budget_limit_micros": 1_000});
    let (st, created) = t.send("POST", "/v1/authorizations", &t.a.rt, Some(body)).await;
    assert_eq!(st, 201, "{created}");
    let auth = created["authorization_id"].as_str().expect("id").to_string();
    let (st, pay) = t
        .send(
            "POST",
            "/v1/check",
            &t.a.rt,
            Some(json!({"authorization_id": auth, "scopes": ["pay"], "estimated_cost_micros": 10})),
        )
        .await;
    assert_eq!(st, 200, "{pay}");
    let pay = &pay["results"]["pay"];
    assert_eq!(pay["decision"], "confirm", "{pay}");
    let nonce = pay["confirm_nonce"].as_str().expect("nonce").to_string();
    let cnf = pay["confirmation_id"].as_str().expect("cnf").to_string();
    let rcp = created["receipt"]["receipt_id"].as_str().expect("rcp").to_string();
    t.signed(&t.a.rt, &rcp).await;
    let before = snapshot(&db.url).await;

    for key in [&t.b.rt, &t.b.setup] {
        let (st, v) = t.send("GET", &format!("/v1/authorizations/{auth}"), key, None).await;
        assert_eq!(st, 404, "{v}");
        assert_error(&v, "authorization_not_found");
        let (st, v) =
            t.send("DELETE", &format!("/v1/authorizations/{auth}"), key, Some(json!({"revoked_by": "user"}))).await;
        assert_eq!(st, 404, "{v}");
        assert_error(&v, "authorization_not_found");
        let (st, v) = t.send("GET", &format!("/v1/confirmations/{cnf}"), key, None).await;
        assert_eq!(st, 404, "{v}");
        assert_error(&v, "confirmation_not_found");
        let (st, v) = t.send("POST", &format!("/v1/confirmations/{nonce}"), key, Some(json!({"approved": true}))).await;
        assert_eq!(st, 404, "{v}");
        assert_error(&v, "confirmation_not_found");
        let (st, v) = t.send("GET", &format!("/v1/receipts/{rcp}"), key, None).await;
        assert_eq!(st, 404, "{v}");
        assert_error(&v, "receipt_not_found");
        let (st, v) = t
            .send(
                "POST",
                "/v1/budget-settlements",
                key,
                Some(json!({"check_receipt_id": rcp, "actual_cost_micros": 1})),
            )
            .await;
        assert_eq!(st, 404, "{v}");
        assert_error(&v, "receipt_not_found");
        for scope in ["pay", "read"] {
            let (st, v) = t
                .send(
                    "POST",
                    "/v1/check",
                    key,
                    Some(json!({"authorization_id": auth, "scopes": [scope], "estimated_cost_micros": 10})),
                )
                .await;
            assert_eq!(st, 200, "{v}");
            assert_eq!(v["results"][scope]["decision"], "deny", "{v}");
            assert_eq!(v["results"][scope]["reason"], "authorization_not_found", "{v}");
        }
    }
    // B's setup key sees none of A's receipts.
    let (st, audit) = t.send("GET", "/v1/audit?limit=100", &t.b.setup, None).await;
    assert_eq!(st, 200, "{audit}");
    assert!(!audit.to_string().contains(&auth), "B's audit lists A's authorization: {audit}");

    let after = snapshot(&db.url).await;
    for (table, rows) in &before {
        if table != "receipts" {
            assert_eq!(after.get(table), Some(rows), "table {table} changed");
        }
    }
    // Receipts: A's rows may only have been signed since; every new row is one of B's deny receipts.
    let id_of = |row: &Vec<Option<String>>| row[0].clone();
    let old: Vec<_> = before["receipts"].iter().map(id_of).collect();
    let new_rows: Vec<_> = after["receipts"].iter().filter(|r| !old.contains(&id_of(r))).collect();
    assert_eq!(new_rows.len(), 4, "two keys x two denied checks");
    for row in new_rows {
        let text = row.iter().flatten().cloned().collect::<Vec<_>>().join("|");
        assert!(text.contains(&t.b.id) && !text.contains(&t.a.id), "a cross-workspace check wrote {text}");
    }
    // The column order the id-based comparison relies on.
    assert!(after["receipts"].iter().all(|r| r[0].as_deref().is_some_and(|id| id.starts_with("rcp_"))));

    // A's objects still work for A: the confirmation is pending and approving it lets the check through.
    let (st, v) = t.send("GET", &format!("/v1/confirmations/{cnf}"), &t.a.rt, None).await;
    assert_eq!((st, v["status"].clone()), (200, json!("pending")), "{v}");
    let (st, v) = t.send("POST", &format!("/v1/confirmations/{nonce}"), &t.a.rt, Some(json!({"approved": true}))).await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = t
        .send(
            "POST",
            "/v1/check",
            &t.a.rt,
            Some(json!({"authorization_id": auth, "scopes": ["pay"], "estimated_cost_micros": 10})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["results"]["pay"]["reason"], "user_confirmed", "{v}");
    t.stop().await;
}

/// A request carrying an agent token the server cannot verify — well-formed, for this workspace, but signed by a key
/// no agent enrolled here — must never be answered as if the asserted identity had been enforced (it used to be: the
/// header was ignored and a check answered 200). On every authenticated route of the router's own table, with a key
/// that is otherwise accepted, the request is refused with 401 `agent_token_unverifiable` and changes nothing; an
/// unknown key stays `invalid_api_key`; public routes ignore it. (Before agent identity existed this test sent an
/// arbitrary header value; tokens of enrolled agents and each way a token can be bad are in `agent_identity.rs`.)
async fn an_agent_token_the_server_cannot_verify_is_refused(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (st, doc) = s.send("GET", "/openapi.json", None, None, None).await;
    assert_eq!(st, 200);
    let a = s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["x"]})).await;
    let auth_id = a["authorization_id"].as_str().expect("id").to_string();
    let never_enrolled = allowly_core::agent_identity::AgentCredential::generate()
        .complete(allowly_core::agent_identity::AgentRegistration {
            workspace_id: s.ws.clone(),
            agent_id: "a".into(),
            binding_id: "bind_unknown".into(),
            key_id: "akey_unknown".into(),
        })
        .expect("credential");
    let token = never_enrolled.token();
    let token = token.as_str();
    let with_token = |method: &str, path: &str, key: &str, body: Option<Value>| {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = s.http.request(m, format!("{}{path}", s.base)).bearer_auth(key);
        rb = rb.header("X-Allowly-Agent-Token", token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        async move {
            let resp = rb.send().await.expect("request");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.expect("JSON body"))
        }
    };

    let mut refused = 0;
    for (method, path) in allowly_server::routes::ROUTES {
        let Some(tier) = declared_tier(&doc, method, path) else { continue };
        let key = if tier == "setup" { &s.setup } else { &s.rt };
        let body = match (*method, *path) {
            ("post", "/v1/check") => Some(json!({"authorization_id": auth_id, "scopes": ["x"]})),
            _ => valid_body(method, path),
        };
        let before = snapshot(&db.url).await;
        let (st, v) = with_token(&method.to_uppercase(), &path.replace("{id}", "x_unknown"), key, body).await;
        assert_eq!(st, 401, "{method} {path} with an agent token: {v}");
        assert_error(&v, "agent_token_unverifiable");
        assert!(!v.to_string().contains(token), "the token is echoed: {v}");
        assert_eq!(snapshot(&db.url).await, before, "a refused {method} {path} changed the database");
        refused += 1;
    }
    assert!(refused >= 15, "only {refused} authenticated routes in the table");

    // The same check without the header is answered: the header alone is what is refused.
    assert_eq!(s.decide(&auth_id, "x", json!({})).await.0, "allow");
    // A bad key is reported as such first; public routes carry no identity and ignore the header.
    let (st, v) = with_token("POST", "/v1/check", &format!("allowly_rt_{}", "A".repeat(32)), Some(json!({}))).await;
    assert_eq!(st, 401);
    assert_error(&v, "invalid_api_key");
    let (st, _) = with_token("GET", "/healthz", &s.rt, None).await;
    assert_eq!(st, 200);
    s.stop().await;
}

/// A member credential (`allowly_mk_…`) identifies an approver, not the workspace: on every authenticated route of the
/// table but the two escalation routes it is a 403 `insufficient_key_tier` that stores nothing.
async fn a_member_credential_opens_only_the_escalation_routes(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (st, doc) = s.send("GET", "/openapi.json", None, None, None).await;
    assert_eq!(st, 200);
    let (st, m) = s.send("POST", "/v1/setup/members", Some(&s.setup), Some(json!({"member_id": "probe"})), None).await;
    assert_eq!(st, 201, "{m}");
    let credential = m["credential"].as_str().expect("credential").to_owned();
    let mut refused = 0;
    for (method, path) in allowly_server::routes::ROUTES {
        let Some(tier) = declared_tier(&doc, method, path) else { continue };
        let before = snapshot(&db.url).await;
        let concrete = path.replace("{id}", "x_unknown");
        let (st, v) =
            s.send(&method.to_uppercase(), &concrete, Some(&credential), valid_body(method, path), None).await;
        if tier.contains("member") {
            // Past authentication: the escalation does not exist.
            assert_eq!(st, 404, "member credential on {method} {path}: {v}");
        } else {
            assert_eq!(st, 403, "member credential on {method} {path}: {v}");
            assert_error(&v, "insufficient_key_tier");
            refused += 1;
        }
        assert!(!v.to_string().contains(&credential), "the credential is echoed: {v}");
        assert_eq!(snapshot(&db.url).await, before, "{method} {path} with a member credential changed the database");
    }
    assert!(refused >= 15, "only {refused} routes refused");
    // A well-formed credential nobody holds is a plain 401.
    let (st, v) = s.send("GET", "/v1/escalations/x", Some(&format!("allowly_mk_{}", "A".repeat(32))), None, None).await;
    assert_eq!(st, 401);
    assert_error(&v, "invalid_api_key");
    s.stop().await;
}
