//! The real `allowly-floor` binary starts, answers one check (and refuses an unknown key), and the check's row is in
//! its SQLite file, readable by a fresh connection after the answer.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Row as _;

struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn floor_answers_a_check_and_stores_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("floor.db");
    let ready = dir.path().join("ready.json");
    let child = Command::new(env!("CARGO_BIN_EXE_allowly-floor"))
        .args(["serve", "--dev", "--db", &format!("sqlite://{}", db.display()), "--listen", "127.0.0.1:0"])
        .arg("--ready-file")
        .arg(&ready)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready.exists() {
        assert!(child.0.try_wait().unwrap().is_none(), "allowly-floor exited before it was ready");
        assert!(Instant::now() < deadline, "no ready file within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let info: Value = serde_json::from_str(&std::fs::read_to_string(&ready).unwrap()).unwrap();
    let base = info["base_url"].as_str().unwrap();
    let auth = info["authorization_id"].as_str().unwrap();
    let http = reqwest::Client::new();
    let body = json!({"authorization_id": auth, "scopes": ["email.read"]});

    let refused = http.post(format!("{base}/v1/check")).bearer_auth("alw_not_a_key").json(&body).send().await.unwrap();
    assert_eq!(refused.status(), 401);

    let resp = http
        .post(format!("{base}/v1/check"))
        .bearer_auth(info["runtime_api_key"].as_str().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    let result = &answer["results"]["email.read"];
    assert_eq!(result["decision"], "allow");
    let receipt_id = result["receipt"]["receipt_id"].as_str().unwrap();

    sqlx::any::install_default_drivers();
    let mut conn: sqlx::AnyConnection = sqlx::Connection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let rows = sqlx::query("SELECT receipt_id, authorization_id, scopes, signature FROM floor_checks")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "exactly the one answered check is stored (the refused one is not)");
    assert_eq!(rows[0].get::<String, _>(0), receipt_id);
    assert_eq!(rows[0].get::<String, _>(1), auth);
    assert_eq!(rows[0].get::<String, _>(2), "email.read");
    assert_eq!(rows[0].get::<String, _>(3), result["receipt"]["signature"].as_str().unwrap());
    drop(child);
}
