//! `allowly init` then `allowly serve` without `--dev`, as an operator runs them against a production database: on
//! SQLite always, and on PostgreSQL when `ALLOWLY_TEST_PG_URL` names a server (an admin URL; the test creates and
//! drops its own database). With `ALLOWLY_TEST_REQUIRE_PG=1` a missing URL fails the PostgreSQL test instead of
//! skipping it (`scripts/with-postgres.sh` sets both).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use allowly_server::MasterKey;
use serde_json::{Value, json};
use sqlx::Connection as _;
use tokio::time::{Instant, sleep};

const BIN: &str = env!("CARGO_BIN_EXE_allowly");

fn allowly(args: &[&str], master: Option<&str>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("ALLOWLY_MASTER_KEY").stdin(Stdio::null());
    if let Some(m) = master {
        cmd.env("ALLOWLY_MASTER_KEY", m);
    }
    cmd
}

/// Runs a command that is expected to exit on its own; a server that keeps running instead is killed and fails.
async fn finish(mut cmd: Command) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn allowly");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("allowly did not exit: {:?}", child.wait_with_output());
        }
        sleep(Duration::from_millis(50)).await;
    }
    child.wait_with_output().expect("output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running `allowly serve`, killed on drop.
struct Served {
    child: std::process::Child,
    base: String,
    ready: Value,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve(url: &str, master: &str, dir: &Path) -> Served {
    let ready_file = dir.join("ready.json");
    let log = std::fs::File::create(dir.join("serve.log")).expect("log file");
    let ready_arg = ready_file.to_str().expect("utf-8 path");
    let mut child =
        allowly(&["serve", "--db", url, "--listen", "127.0.0.1:0", "--ready-file", ready_arg], Some(master))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn allowly serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    let ready: Value = loop {
        if let Some(v) = std::fs::read_to_string(&ready_file).ok().and_then(|t| serde_json::from_str(&t).ok()) {
            break v;
        }
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("allowly serve exited with {status}: {}", std::fs::read_to_string(dir.join("serve.log")).unwrap());
        }
        assert!(Instant::now() < deadline, "allowly serve did not become ready");
        sleep(Duration::from_millis(50)).await;
    };
    let base = ready["base_url"].as_str().expect("base_url").to_string();
    Served { child, base, ready }
}

async fn call(http: &reqwest::Client, method: &str, url: String, key: &str, body: Option<Value>) -> (u16, Value) {
    let mut rb = http.request(reqwest::Method::from_bytes(method.as_bytes()).expect("method"), url).bearer_auth(key);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.expect("request");
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

/// The whole operator flow on one database URL.
async fn init_then_serve(url: &str, dir: &Path) {
    let master = MasterKey::generate().to_base64();

    // Without the master key: a usage error, and no keys.
    let out = finish(allowly(&["init", "--db", url], None)).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains("ALLOWLY_MASTER_KEY"), "{out:?}");
    assert!(out.stdout.is_empty());

    // First init: the workspace and both keys, once, on stdout; the master key nowhere.
    let out = finish(allowly(&["init", "--db", url], Some(&master))).await;
    assert!(out.status.success(), "{out:?}");
    let keys: Value = serde_json::from_slice(&out.stdout).expect("init prints one JSON object");
    let field = |k: &str| keys[k].as_str().unwrap_or_else(|| panic!("no {k} in {keys}")).to_string();
    let (ws, rt, setup) = (field("workspace_id"), field("runtime_api_key"), field("setup_api_key"));
    assert_eq!(keys.as_object().map(|m| m.len()), Some(3), "{keys}");
    assert!(ws.starts_with("ws_"), "{ws}");
    assert!(rt.starts_with("allowly_rt_") && setup.starts_with("allowly_setup_"));
    assert!(!text(&out.stdout).contains(&master) && !text(&out.stderr).contains(&master));

    // Second init: refused, nothing printed, no second workspace.
    let again = finish(allowly(&["init", "--db", url], Some(&master))).await;
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    assert!(again.stdout.is_empty(), "{again:?}");
    assert!(text(&again.stderr).contains("already initialised") && text(&again.stderr).contains(&ws), "{again:?}");

    // Serving with another master key fails at start instead of leaving receipts unsigned.
    let wrong = MasterKey::generate().to_base64();
    let out = finish(allowly(&["serve", "--db", url, "--listen", "127.0.0.1:0"], Some(&wrong))).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains("master key"), "{out:?}");
    assert!(!text(&out.stderr).contains(&wrong) && !text(&out.stderr).contains(&master));

    // A --webhook-allow entry that is neither a host, an address nor a CIDR is a usage error naming it.
    let args = ["serve", "--db", url, "--listen", "127.0.0.1:0", "--webhook-allow", "10.0.0.0/99"];
    let out = finish(allowly(&args, Some(&master))).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains("10.0.0.0/99"), "{out:?}");

    // Serving with the right one: the printed keys work, receipts get signed.
    let served = serve(url, &master, dir).await;
    assert_eq!(served.ready["workspace_id"], ws.as_str());
    assert!(served.ready.get("runtime_api_key").is_none(), "keys are not re-issued: {}", served.ready);
    let http = reqwest::Client::new();
    let base = &served.base;
    let (st, a) = call(
        &http,
        "POST",
        format!("{base}/v1/authorizations"),
        &rt,
        Some(json!({"user_id": "u", "agent_id": "a", "scopes": ["s"]})),
    )
    .await;
    assert_eq!(st, 201, "{a}");
    let body = json!({"authorization_id": a["authorization_id"], "scopes": ["s"]});
    let (st, c) = call(&http, "POST", format!("{base}/v1/check"), &rt, Some(body)).await;
    assert_eq!((st, c["results"]["s"]["decision"].as_str()), (200, Some("allow")), "{c}");
    let receipt_id = c["results"]["s"]["receipt"]["receipt_id"].as_str().expect("receipt id");
    let (st, r) = call(&http, "GET", format!("{base}/v1/receipts/{receipt_id}?wait_ms=10000"), &rt, None).await;
    assert_eq!((st, r["status"].as_str()), (200, Some("signed")), "{r}");
    assert_eq!(r["receipt"]["workspace_id"], ws.as_str());
    let (st, _) = call(&http, "POST", format!("{base}/v1/signing-keys/rotate"), &rt, None).await;
    assert_eq!(st, 403, "a runtime key cannot rotate");
    let (st, rot) = call(&http, "POST", format!("{base}/v1/signing-keys/rotate"), &setup, None).await;
    assert_eq!(st, 200, "{rot}");
    drop(served);
}

#[tokio::test]
async fn init_then_serve_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("prod.db").display());
    init_then_serve(&url, dir.path()).await;
}

#[tokio::test]
async fn init_then_serve_on_postgres() {
    let Some(admin) = std::env::var("ALLOWLY_TEST_PG_URL").ok().filter(|u| !u.is_empty()) else {
        assert!(
            std::env::var("ALLOWLY_TEST_REQUIRE_PG").as_deref() != Ok("1"),
            "ALLOWLY_TEST_REQUIRE_PG=1 but ALLOWLY_TEST_PG_URL is not set (run under scripts/with-postgres.sh)"
        );
        eprintln!("note: PostgreSQL variant skipped (set ALLOWLY_TEST_PG_URL, or use scripts/with-postgres.sh)");
        return;
    };
    sqlx::any::install_default_drivers();
    let name = format!("allowly_cli_{}", std::process::id());
    let mut conn = sqlx::AnyConnection::connect(&admin).await.expect("connect to ALLOWLY_TEST_PG_URL");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await.expect("drop");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
    let mut url = reqwest::Url::parse(&admin).expect("ALLOWLY_TEST_PG_URL is a URL");
    url.set_path(&format!("/{name}"));
    let dir = tempfile::tempdir().expect("tempdir");
    init_then_serve(url.as_str(), dir.path()).await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut conn).await.expect("drop test database");
    conn.close().await.expect("close");
}

#[tokio::test]
async fn serve_and_init_refuse_what_they_cannot_do_safely() {
    let dir = tempfile::tempdir().expect("tempdir");
    let master = MasterKey::generate().to_base64();
    // An empty database without --dev: the keys would be printed nowhere, so serve points to init instead.
    let url = format!("sqlite://{}", dir.path().join("empty.db").display());
    let out = finish(allowly(&["serve", "--db", &url, "--listen", "127.0.0.1:0"], Some(&master))).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains("allowly init"), "{out:?}");
    // Without the master key, init creates nothing.
    let db = dir.path().join("never.db");
    let url = format!("sqlite://{}", db.display());
    let out = finish(allowly(&["init", "--db", &url], None)).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(!db.exists());
    // Unknown URL schemes are refused without echoing the URL (it may hold a password).
    let out = finish(allowly(&["init", "--db", "mysql://root:hunter2@localhost/x"], Some(&master))).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains("unsupported database URL") && !text(&out.stderr).contains("hunter2"));
}
