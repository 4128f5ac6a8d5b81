//! The in-process allowly-server (temp SQLite file) the gate's tests run against.

#![allow(dead_code)]

use std::time::Duration;

use allowly_core::model::CreateAuthorizationRequest;
use allowly_core::{Client, ClientConfig};

pub struct Server {
    running: Option<allowly_server::Running>,
    pub info: allowly_server::ReadyInfo,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = allowly_server::ServeConfig {
            listen: "127.0.0.1:0".parse().expect("address"),
            db_url: Some(format!("sqlite://{}", dir.path().join("gate.db").display())),
            dev: true,
            ready_file: None,
            master_key: None,
            rate_limits: Default::default(),
            admission: Default::default(),
            webhook_allow: Vec::new(),
            sqlite_synchronous: Default::default(),
        };
        let running = allowly_server::start(cfg).await.expect("start allowly-server");
        let info = running.info.clone().expect("dev mode reports its keys");
        Server { running: Some(running), info, _dir: dir }
    }

    pub fn client(&self) -> Client {
        client_for(&self.info.base_url, &self.info.runtime_api_key)
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }
}

pub fn client_for(base_url: &str, key: &str) -> Client {
    Client::new(
        ClientConfig::new(key)
            .with_base_url(base_url)
            .with_allow_insecure_http(true)
            .with_max_retries(0)
            .with_check_timeout(Duration::from_secs(2)),
    )
    .expect("client")
}

/// An authorization of `user` granting `granted`, with `confirm` needing the user's confirmation.
pub async fn authorize(client: &Client, user: &str, granted: &[&str], confirm: &[&str]) -> String {
    let request = CreateAuthorizationRequest::new(user, "agent-1", granted.iter().copied())
        .with_requires_confirm_for(confirm.iter().copied());
    client.create_authorization(&request).await.expect("create authorization").authorization_id
}
