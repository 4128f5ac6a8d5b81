//! Test harness: the real router on 127.0.0.1:0, driven over HTTP, over a real database — a SQLite file in a temp
//! dir, or a fresh PostgreSQL database.
//!
//! A scenario listed in [`backend_tests!`] runs once per backend, as `<name>::sqlite` and `<name>::postgres`.
//! PostgreSQL comes from `ALLOWLY_TEST_PG_URL`, an admin URL: each test creates its own database there and drops it
//! afterwards. Without that variable the PostgreSQL variants pass with a note on stderr, unless
//! `ALLOWLY_TEST_REQUIRE_PG=1` — then they fail, so CI cannot silently test one backend (`scripts/with-postgres.sh`
//! sets both).
#![allow(dead_code)]

use std::sync::Mutex;

use allowly_server::bootstrap::init;
use allowly_server::{MasterKey, Running, ServeConfig};
use serde_json::{Value, json};
use sqlx::Connection as _;

/// Turns each `async fn name(db: TestDb)` of the test file into two tests, `name::sqlite` and `name::postgres`.
/// `multi_thread:` runs them on a 4-worker runtime (the concurrency tests need real parallelism).
macro_rules! backend_tests {
    (multi_thread: $($name:ident),+ $(,)?) => {
        backend_tests!(@with #[tokio::test(flavor = "multi_thread", worker_threads = 4)] $($name),+);
    };
    (@with #[$attr:meta] $($name:ident),+) => {
        $(
            mod $name {
                #[$attr]
                async fn sqlite() {
                    super::$name($crate::common::TestDb::sqlite()).await
                }

                #[$attr]
                async fn postgres() {
                    if let Some(db) = $crate::common::TestDb::postgres().await {
                        super::$name(db).await
                    }
                }
            }
        )+
    };
    ($($name:ident),+ $(,)?) => {
        backend_tests!(@with #[tokio::test] $($name),+);
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// API keys in clear, as bootstrap printed them.
#[derive(Clone)]
struct Keys {
    ws: String,
    rt: String,
    setup: String,
}

/// One test's database; servers started on it (also one after another, or side by side) share its data.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    /// Holds the SQLite file and the ready file.
    pub dir: tempfile::TempDir,
    master: MasterKey,
    /// PostgreSQL runs without `--dev`: `init` prints the keys once, and restarts reuse them from here.
    keys: Mutex<Option<Keys>>,
    /// (admin URL, database name) to drop at the end.
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempdir();
        let url = format!("sqlite://{}", dir.path().join("allowly.db").display());
        TestDb { backend: Backend::Sqlite, url, dir, master: MasterKey::generate(), keys: Mutex::new(None), pg: None }
    }

    /// A fresh database on the server named by `ALLOWLY_TEST_PG_URL`; `None` (skip) when it is unset, a panic when
    /// it is unset but `ALLOWLY_TEST_REQUIRE_PG=1`.
    pub async fn postgres() -> Option<TestDb> {
        let Some(admin) = std::env::var("ALLOWLY_TEST_PG_URL").ok().filter(|u| !u.is_empty()) else {
            assert!(
                std::env::var("ALLOWLY_TEST_REQUIRE_PG").as_deref() != Ok("1"),
                "ALLOWLY_TEST_REQUIRE_PG=1 but ALLOWLY_TEST_PG_URL is not set (run under scripts/with-postgres.sh)"
            );
            eprintln!("note: PostgreSQL variant skipped (set ALLOWLY_TEST_PG_URL, or use scripts/with-postgres.sh)");
            return None;
        };
        sqlx::any::install_default_drivers();
        let name = format!("allowly_t_{}", ulid::Ulid::new().to_string().to_lowercase());
        let mut conn = sqlx::AnyConnection::connect(&admin).await.expect("connect to ALLOWLY_TEST_PG_URL");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
        conn.close().await.expect("close admin connection");
        let mut url = reqwest::Url::parse(&admin).expect("ALLOWLY_TEST_PG_URL is a URL");
        url.set_path(&format!("/{name}"));
        Some(TestDb {
            backend: Backend::Postgres,
            url: url.to_string(),
            dir: tempdir(),
            master: MasterKey::generate(),
            keys: Mutex::new(None),
            pg: Some((admin, name)),
        })
    }

    /// Runs one statement straight on the database; returns the rows affected.
    pub async fn exec(&self, sql: &str) -> u64 {
        let mut conn = self.connect().await;
        let n = sqlx::query(sql).execute(&mut conn).await.expect("exec").rows_affected();
        conn.close().await.expect("close");
        n
    }

    /// Counts rows straight from the database (to prove errors store nothing). `table` may carry a `WHERE`.
    pub async fn count(&self, table: &str) -> i64 {
        let mut conn = self.connect().await;
        let n: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&mut conn).await.expect("count");
        conn.close().await.expect("close");
        n
    }

    async fn connect(&self) -> sqlx::AnyConnection {
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(&self.url).await.expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg.take() else { return };
        // Drop is synchronous and may run inside a runtime: drop the database from a thread of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                let mut conn = sqlx::AnyConnection::connect(&admin).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await.ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("note: could not drop a PostgreSQL test database");
        }
    }
}

/// How [`TestServer::start_with`] runs the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `allowly serve --dev` (webhooks may go anywhere).
    Dev,
    /// `allowly init` + `allowly serve` with the master key and these `--webhook-allow` entries.
    Prod(Vec<String>),
}

/// The production overload limits (64 slots, a queue of 256), except that a burst may wait 10 s for a slot instead of
/// 1 s: these servers are debug builds, many at once on a CI machine's 2 cores, and a hundred parallel calls (several
/// tests send as many) can take a debug build longer than a second to clear. The gate's own timing is what
/// server/tests/overload.rs and the unit tests in admission.rs check, with limits of their own.
pub fn debug_build_admission() -> allowly_server::admission::Limits {
    allowly_server::admission::Limits {
        max_queue_wait: std::time::Duration::from_secs(10),
        ..allowly_server::admission::Limits::DEFAULT
    }
}

pub struct TestServer {
    pub running: Option<Running>,
    pub base: String,
    pub ws: String,
    pub rt: String,
    pub setup: String,
    pub http: reqwest::Client,
    pub backend: Backend,
    url: String,
}

impl TestServer {
    /// SQLite: `serve --dev` (bootstrap on first start, keys re-read on restart). PostgreSQL: `init` on first start,
    /// then `serve` with the master key, as in production, allowing webhooks to 127.0.0.1 (`--webhook-allow`) so the
    /// tests' loopback receivers work on both backends.
    pub async fn start(db: &TestDb) -> TestServer {
        Self::start_with_limits(db, Default::default()).await
    }

    /// [`TestServer::start`] with other request rate limits (the rate-limit tests use tiny ones).
    pub async fn start_with_limits(db: &TestDb, rate_limits: allowly_server::rate_limit::RateLimits) -> TestServer {
        let mode = match db.backend {
            Backend::Sqlite => Mode::Dev,
            Backend::Postgres => Mode::Prod(vec!["127.0.0.1".into()]),
        };
        Self::start_full(db, mode, rate_limits, debug_build_admission()).await
    }

    /// [`TestServer::start`] with other overload-control limits (the overload tests use tiny ones).
    pub async fn start_with_admission(db: &TestDb, admission: allowly_server::admission::Limits) -> TestServer {
        let mode = match db.backend {
            Backend::Sqlite => Mode::Dev,
            Backend::Postgres => Mode::Prod(vec!["127.0.0.1".into()]),
        };
        Self::start_full(db, mode, Default::default(), admission).await
    }

    /// Starts a server in `mode` on either backend (a database keeps the mode it was first started in).
    pub async fn start_with(db: &TestDb, mode: Mode) -> TestServer {
        Self::start_full(db, mode, Default::default(), debug_build_admission()).await
    }

    async fn start_full(
        db: &TestDb,
        mode: Mode,
        rate_limits: allowly_server::rate_limit::RateLimits,
        admission: allowly_server::admission::Limits,
    ) -> TestServer {
        let ready = db.dir.path().join("ready.json");
        let _ = std::fs::remove_file(&ready);
        let (dev, ready_file, master_key, webhook_allow) = match mode {
            Mode::Dev => (true, Some(ready.clone()), None, Vec::new()),
            Mode::Prod(allow) => {
                let known = db.keys.lock().expect("keys").clone();
                if known.is_none() {
                    let k = init(&db.url, &db.master).await.expect("init");
                    *db.keys.lock().expect("keys") =
                        Some(Keys { ws: k.workspace_id, rt: k.runtime_api_key, setup: k.setup_api_key });
                }
                (false, None, Some(db.master.clone()), allow)
            }
        };
        let running = allowly_server::start(ServeConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            db_url: Some(db.url.clone()),
            dev,
            ready_file,
            master_key,
            rate_limits,
            admission,
            webhook_allow,
            sqlite_synchronous: Default::default(),
        })
        .await
        .expect("server starts");
        let keys = match dev {
            true => {
                let info: Value =
                    serde_json::from_str(&std::fs::read_to_string(&ready).expect("ready file")).expect("json");
                let s = |k: &str| info[k].as_str().expect(k).to_string();
                assert_eq!(s("base_url"), format!("http://{}", running.addr));
                Keys { ws: s("workspace_id"), rt: s("runtime_api_key"), setup: s("setup_api_key") }
            }
            false => db.keys.lock().expect("keys").clone().expect("keys known after init"),
        };
        TestServer {
            base: format!("http://{}", running.addr),
            ws: keys.ws,
            rt: keys.rt,
            setup: keys.setup,
            http: reqwest::Client::new(),
            running: Some(running),
            backend: db.backend,
            url: db.url.clone(),
        }
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    /// `(signed, lost)` of this server's signer.
    pub fn signer_stats(&self) -> (u64, u64) {
        self.running.as_ref().expect("running").signer().stats()
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
        idem: Option<&str>,
    ) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.http.request(m, format!("{}{}", self.base, path));
        if let Some(k) = key {
            rb = rb.bearer_auth(k);
        }
        if let Some(i) = idem {
            rb = rb.header("Idempotency-Key", i);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn raw(&self, method: &str, path: &str, body: Vec<u8>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let resp = self
            .http
            .request(m, format!("{}{}", self.base, path))
            .bearer_auth(&self.rt)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send("POST", path, Some(&self.rt), Some(body), None).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, Some(&self.rt), None, None).await
    }

    /// Creates an authorization and returns its response body.
    pub async fn authorize(&self, body: Value) -> Value {
        let (st, v) = self.post("/v1/authorizations", body).await;
        assert_eq!(st, 201, "{v}");
        v
    }

    pub async fn check(&self, body: Value) -> Value {
        let (st, v) = self.post("/v1/check", body).await;
        assert_eq!(st, 200, "{v}");
        v
    }

    /// The (decision, reason) of one scope of a check.
    pub async fn decide(&self, auth: &str, scope: &str, extra: Value) -> (String, String, Value) {
        let mut body = json!({"authorization_id": auth, "scopes": [scope]});
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let v = self.check(body).await;
        let r = v["results"][scope].clone();
        (r["decision"].as_str().expect("decision").into(), r["reason"].as_str().expect("reason").into(), r)
    }

    /// Counts rows straight from the database (to prove errors store nothing). `table` may carry a `WHERE`.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url).await.expect("db");
        let n: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&mut conn).await.expect("count");
        conn.close().await.expect("close");
        n
    }

    /// Waits for a receipt to be signed and returns the signed receipt.
    pub async fn signed(&self, receipt_id: &str) -> Value {
        let (st, v) = self.get(&format!("/v1/receipts/{receipt_id}?wait_ms=10000")).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["status"], "signed", "{v}");
        v["receipt"].clone()
    }

    /// Verifies a signed receipt with allowly-core against the served key document.
    pub async fn verify(&self, receipt: &Value) {
        let resp = self.http.get(format!("{}/v1/workspaces/{}/keys", self.base, self.ws)).send().await.expect("keys");
        let doc = resp.bytes().await.expect("bytes");
        let keys = allowly_core::receipt::load_keys_from_json(&doc).expect("key document loads");
        let opts =
            allowly_core::receipt::VerifyOptions { expected_workspace_id: Some(self.ws.clone()), ..Default::default() };
        let bytes = serde_json::to_vec(receipt).expect("ser");
        allowly_core::receipt::verify_receipt_json(&bytes, &keys, &opts)
            .unwrap_or_else(|e| panic!("receipt does not verify: {e}: {receipt}"));
    }
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}
