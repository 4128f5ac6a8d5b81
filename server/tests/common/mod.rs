//! Test harness: the real router on 127.0.0.1:0 over a real SQLite file in a temp dir, driven over HTTP.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use allowly_server::{Running, ServeConfig};
use serde_json::{Value, json};

pub struct TestServer {
    pub running: Option<Running>,
    pub base: String,
    pub ws: String,
    pub rt: String,
    pub setup: String,
    pub http: reqwest::Client,
    pub dir: PathBuf,
}

pub fn db_path(dir: &Path) -> PathBuf {
    dir.join("allowly.db")
}

impl TestServer {
    pub async fn start(dir: &Path) -> TestServer {
        let ready = dir.join("ready.json");
        let _ = std::fs::remove_file(&ready);
        let running = allowly_server::start(ServeConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            db_url: Some(format!("sqlite://{}", db_path(dir).display())),
            dev: true,
            ready_file: Some(ready.clone()),
            master_key: None,
        })
        .await
        .expect("server starts");
        let info: Value = serde_json::from_str(&std::fs::read_to_string(&ready).expect("ready file")).expect("json");
        let s = |k: &str| info[k].as_str().expect(k).to_string();
        TestServer {
            base: s("base_url"),
            ws: s("workspace_id"),
            rt: s("runtime_api_key"),
            setup: s("setup_api_key"),
            http: reqwest::Client::new(),
            running: Some(running),
            dir: dir.to_path_buf(),
        }
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
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

    /// Counts rows of a table straight from the database file (to prove errors store nothing).
    pub async fn count(&self, table: &str) -> i64 {
        let url = format!("sqlite://{}", db_path(&self.dir).display());
        let pool = sqlx::SqlitePool::connect(&url).await.expect("db");
        let n: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&pool).await.expect("count");
        pool.close().await;
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
