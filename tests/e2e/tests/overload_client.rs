//! allowly-core's `Client` against the real `allowly serve` with one in-progress slot and no queue: while a request
//! holds the slot (its body has not fully arrived), the server refuses everything else with 503 `overloaded` and
//! `Retry-After`, and the SDK treats that like an unreachable server — `check` falls back (closed, or open for the
//! scopes mapped open) and stores nothing; any other call raises the server error with its status, code and
//! `Retry-After`. Once the slot frees, the same client gets the server's own answers again.

mod common;

use std::time::Duration;

use allowly_core::model::{CheckRequest, CreateAuthorizationRequest, Decision, reason};
use allowly_core::{Client, ClientConfig, Error, FallbackMode};
use common::Server;
use sqlx::Connection as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const OPEN_SCOPE: &str = "docs.read";
const CLOSED_SCOPE: &str = "payments.send";

fn client(base_url: &str, key: &str) -> Client {
    Client::new(
        ClientConfig::new(key)
            .with_base_url(base_url)
            .with_allow_insecure_http(true)
            .with_check_timeout(Duration::from_millis(900))
            .with_max_retries(2)
            .with_fallback(OPEN_SCOPE, FallbackMode::Open),
    )
    .expect("client")
}

async fn receipts(server: &Server) -> i64 {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", server.dir.path().join("test.db").display());
    let mut conn = sqlx::AnyConnection::connect(&url).await.expect("open the server's database");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM receipts").fetch_one(&mut conn).await.expect("count");
    conn.close().await.expect("close");
    n
}

/// `allowly_requests_in_flight` from `/metrics` (never shed).
async fn in_flight(base_url: &str) -> u64 {
    let text = reqwest::get(format!("{base_url}/metrics")).await.expect("metrics").text().await.expect("text");
    text.lines().find_map(|l| l.strip_prefix("allowly_requests_in_flight ")?.trim().parse().ok()).expect("gauge")
}

#[tokio::test]
async fn an_overloaded_server_is_treated_like_an_unreachable_one() {
    let server = Server::start_with(&["--max-in-flight", "1", "--max-queue", "0"]);
    let base_url = server.field("base_url");
    let key = server.field("runtime_api_key");
    let sdk = client(&base_url, &key);
    let created = sdk
        .create_authorization(&CreateAuthorizationRequest::new("user-1", "agent-1", [OPEN_SCOPE, CLOSED_SCOPE]))
        .await
        .expect("create");
    let check = CheckRequest::new(created.authorization_id.clone(), [OPEN_SCOPE, CLOSED_SCOPE]);

    // Hold the only slot: a check whose body stops halfway keeps its handler waiting.
    let body =
        serde_json::to_vec(&serde_json::json!({"authorization_id": created.authorization_id, "scopes": [OPEN_SCOPE]}))
            .expect("json");
    let addr = base_url.trim_start_matches("http://");
    let mut held = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /v1/check HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    held.write_all(head.as_bytes()).await.expect("head");
    held.write_all(&body[..body.len() / 2]).await.expect("half the body");
    for _ in 0..2_000 {
        if in_flight(&base_url).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(in_flight(&base_url).await, 1, "the held request never reached its handler");
    let before = receipts(&server).await;

    // Retry-After (1 s) would overrun the 900 ms check deadline, so the client does not wait: it falls back at once.
    let answer = sdk.check(&check).await.expect("an overload is not an error for check");
    let open = answer.result(OPEN_SCOPE).expect("open scope");
    let closed = answer.result(CLOSED_SCOPE).expect("closed scope");
    assert!(open.is_fallback && closed.is_fallback);
    assert_eq!((open.decision, open.reason.as_str()), (Decision::Allow, reason::FALLBACK_OPEN_UNREACHABLE));
    assert_eq!((closed.decision, closed.reason.as_str()), (Decision::Deny, reason::FALLBACK_CLOSED_UNREACHABLE));

    // Any other call raises the server's answer, status, code and Retry-After kept.
    let no_retry = Client::new(
        ClientConfig::new(&key).with_base_url(&base_url).with_allow_insecure_http(true).with_max_retries(0),
    )
    .expect("client");
    let error = no_retry.get_authorization(&created.authorization_id).await.unwrap_err();
    assert!(matches!(error, Error::Server { status: 503, .. }), "{error:?}");
    assert_eq!((error.code(), error.retry_after()), ("overloaded", Some(Duration::from_secs(1))));
    assert_eq!(receipts(&server).await, before, "refused requests store nothing");

    // The held request completes; the slot is free and the same client gets the server's own decision.
    held.write_all(&body[body.len() / 2..]).await.expect("the rest of the body");
    let mut reply = Vec::new();
    held.read_to_end(&mut reply).await.expect("reply");
    assert!(reply.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&reply));
    let answer = sdk.check(&check).await.expect("check");
    let closed = answer.result(CLOSED_SCOPE).expect("closed scope");
    assert!(!closed.is_fallback);
    assert_eq!(closed.decision, Decision::Allow);
    assert_eq!(receipts(&server).await, before + 3, "the held check's receipt and one per scope of the last check");
}
