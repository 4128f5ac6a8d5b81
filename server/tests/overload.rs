//! Overload control, on SQLite and PostgreSQL: beyond its in-progress slots and its queue the server answers 503
//! `overloaded` with `Retry-After` before any work and stores nothing; admitted requests are served; health and
//! metrics still answer. The tests hold a slot with a request whose body has not fully arrived (the handler waits
//! for it), so which requests are refused never depends on timing.

#[macro_use]
mod common;

use std::time::Duration;

use allowly_server::admission::Limits;
use common::{TestDb, TestServer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

backend_tests!(
    beyond_the_slots_requests_get_503_overloaded_and_store_nothing,
    a_queued_request_is_served_once_a_slot_frees_and_the_queue_is_bounded,
    a_request_that_would_wait_too_long_is_refused,
    a_long_poll_gives_its_slot_back,
    a_refused_request_keeps_its_connection
);

fn limits(max_in_flight: u32, max_queue: u32, wait: Duration) -> Limits {
    Limits { max_in_flight, max_queue, max_queue_wait: wait }
}

/// A `POST /v1/check` whose body arrives in two parts: until [`Held::finish`] it holds one slot.
struct Held {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl Held {
    async fn start(s: &TestServer, body: &Value) -> Held {
        let body = serde_json::to_vec(body).expect("json");
        let addr = s.base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "POST /v1/check HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            s.rt,
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("write head");
        let (first, rest) = body.split_at(body.len() / 2);
        stream.write_all(first).await.expect("write half the body");
        stream.flush().await.expect("flush");
        Held { stream, rest: rest.to_vec() }
    }

    /// Sends the rest of the body; returns the answer's status.
    async fn finish(mut self) -> u16 {
        self.stream.write_all(&self.rest).await.expect("write the rest");
        let mut answer = Vec::new();
        self.stream.read_to_end(&mut answer).await.expect("read the answer");
        status_of(&String::from_utf8_lossy(&answer))
    }
}

/// The status code of an HTTP/1.1 response's text.
fn status_of(text: &str) -> u16 {
    text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status line: {text}"))
}

/// One gauge or counter line of `/metrics` (which is never shed).
async fn metric(s: &TestServer, line_start: &str) -> u64 {
    let text = s.http.get(format!("{}/metrics", s.base)).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix(line_start).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{line_start} missing from /metrics"))
}

/// Polls `/metrics` until the gauge reads `want` (the held request has reached its handler, or joined the queue).
async fn until_gauge(s: &TestServer, gauge: &str, want: u64) {
    for _ in 0..2_000 {
        if metric(s, gauge).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{gauge} never reached {want}");
}

async fn check_with_headers(s: &TestServer, body: &Value) -> (u16, Option<String>, Value) {
    let resp = s.http.post(format!("{}/v1/check", s.base)).bearer_auth(&s.rt).json(body).send().await.expect("check");
    let status = resp.status().as_u16();
    let retry_after = resp.headers().get("retry-after").map(|v| v.to_str().expect("ascii").to_owned());
    let text = resp.text().await.expect("body");
    (status, retry_after, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn assert_overloaded(status: u16, retry_after: Option<&str>, body: &Value) {
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "overloaded", "{body}");
    assert!(body.get("results").is_none(), "a refused check carries no results: {body}");
    let secs: u64 = retry_after.expect("Retry-After").parse().expect("Retry-After is whole seconds");
    assert!(secs >= 1, "Retry-After {secs}");
}

async fn an_authorization(s: &TestServer) -> Value {
    let auth = s.authorize(json!({"user_id": "u", "agent_id": "a", "scopes": ["s"]})).await;
    json!({"authorization_id": auth["authorization_id"], "scopes": ["s"]})
}

async fn beyond_the_slots_requests_get_503_overloaded_and_store_nothing(db: TestDb) {
    let s = TestServer::start_with_admission(&db, limits(1, 0, Duration::from_secs(60))).await;
    let check = an_authorization(&s).await;
    let held = Held::start(&s, &check).await;
    until_gauge(&s, "allowly_requests_in_flight ", 1).await;
    let receipts = s.count("receipts").await;
    let refused = futures::future::join_all((0..5).map(|_| check_with_headers(&s, &check))).await;
    for (status, retry_after, body) in &refused {
        assert_overloaded(*status, retry_after.as_deref(), body);
    }
    // Refused before authentication too: even an unknown key gets 503, not 401, while the server is full.
    let (st, v) = s.send("GET", "/v1/authorizations/auth_x", Some("allowly_rt_unknown"), None, None).await;
    assert_eq!((st, v["error"]["code"].as_str()), (503, Some("overloaded")), "{v}");
    assert_eq!(s.count("receipts").await, receipts, "refused checks store nothing");
    // Health, readiness and metrics are never shed.
    for path in ["/healthz", "/readyz"] {
        let (st, v) = s.send("GET", path, None, None, None).await;
        assert_eq!(st, 200, "{path}: {v}");
    }
    assert_eq!(metric(&s, "allowly_requests_shed_total{reason=\"queue_full\"} ").await, 6);
    // The admitted request is served in full once its body arrives, and the slot is free again.
    assert_eq!(held.finish().await, 200);
    assert_eq!(s.count("receipts").await, receipts + 1, "the admitted check wrote its receipt");
    let (st, _, v) = check_with_headers(&s, &check).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["results"]["s"]["decision"], "allow", "{v}");
    s.stop().await;
}

async fn a_queued_request_is_served_once_a_slot_frees_and_the_queue_is_bounded(db: TestDb) {
    let s = TestServer::start_with_admission(&db, limits(1, 1, Duration::from_secs(60))).await;
    let check = an_authorization(&s).await;
    let held = Held::start(&s, &check).await;
    until_gauge(&s, "allowly_requests_in_flight ", 1).await;
    let receipts = s.count("receipts").await;
    let queued = tokio::spawn({
        let (http, url, key, body) = (s.http.clone(), format!("{}/v1/check", s.base), s.rt.clone(), check.clone());
        async move { http.post(url).bearer_auth(key).json(&body).send().await.expect("check").status().as_u16() }
    });
    until_gauge(&s, "allowly_requests_queued ", 1).await;
    // The queue holds one: the next request is refused at once.
    let (st, retry_after, v) = check_with_headers(&s, &check).await;
    assert_overloaded(st, retry_after.as_deref(), &v);
    assert_eq!(held.finish().await, 200);
    assert_eq!(queued.await.expect("join"), 200, "the queued check got the freed slot");
    assert_eq!(s.count("receipts").await, receipts + 2, "two admitted checks, two receipts; none for the refused");
    assert_eq!(metric(&s, "allowly_requests_queued ").await, 0);
    s.stop().await;
}

async fn a_request_that_would_wait_too_long_is_refused(db: TestDb) {
    // The slot is never freed while the request waits, so the outcome does not depend on how long 20 ms really is.
    let s = TestServer::start_with_admission(&db, limits(1, 8, Duration::from_millis(20))).await;
    let check = an_authorization(&s).await;
    let held = Held::start(&s, &check).await;
    until_gauge(&s, "allowly_requests_in_flight ", 1).await;
    let receipts = s.count("receipts").await;
    let (st, retry_after, v) = check_with_headers(&s, &check).await;
    assert_overloaded(st, retry_after.as_deref(), &v);
    assert_eq!(metric(&s, "allowly_requests_shed_total{reason=\"queue_timeout\"} ").await, 1);
    assert_eq!(metric(&s, "allowly_requests_queued ").await, 0, "a refused request leaves the queue");
    assert_eq!(s.count("receipts").await, receipts);
    assert_eq!(held.finish().await, 200);
    s.stop().await;
}

async fn a_long_poll_gives_its_slot_back(db: TestDb) {
    // One slot and a patient queue: a long poll waiting for the signer must not keep every other request waiting.
    let s = TestServer::start_with_admission(&db, limits(1, 8, Duration::from_secs(60))).await;
    let check = an_authorization(&s).await;
    let v = s.check(check.clone()).await;
    let receipt_id = v["results"]["s"]["receipt"]["receipt_id"].as_str().expect("receipt id").to_owned();
    let auth_path = format!("/v1/authorizations/{}", check["authorization_id"].as_str().expect("id"));
    // Wait until it is signed, then hide its signed text: the poll sees it pending, and the signer (which takes rows
    // with status 'pending') leaves it alone until the test hands it back below.
    let (st, _) = s.get(&format!("/v1/receipts/{receipt_id}?wait_ms=10000")).await;
    assert_eq!(st, 200);
    db.exec(&format!("UPDATE receipts SET signed = NULL WHERE id = '{receipt_id}'")).await;
    let held = Held::start(&s, &check).await;
    until_gauge(&s, "allowly_requests_in_flight ", 1).await;
    let poll = tokio::spawn({
        let (http, key) = (s.http.clone(), s.rt.clone());
        let url = format!("{}/v1/receipts/{receipt_id}?wait_ms=20000", s.base);
        async move {
            let resp = http.get(url).bearer_auth(key).send().await.expect("poll");
            (resp.status().as_u16(), resp.json::<Value>().await.expect("json"))
        }
    });
    // The poll queued behind the held request: it has reached the server. Once the held request ends, the poll takes
    // the slot, reads the receipt pending and gives the slot back while it waits.
    until_gauge(&s, "allowly_requests_queued ", 1).await;
    assert_eq!(held.finish().await, 200);
    // Were the slot still held, this request would queue until the poll ends 20 s from now.
    let (st, v) = s.get(&auth_path).await;
    assert_eq!(st, 200, "{v}");
    assert!(!poll.is_finished(), "the long poll is still waiting");
    db.exec(&format!("UPDATE receipts SET status = 'pending' WHERE id = '{receipt_id}'")).await;
    let (st, v) = poll.await.expect("join");
    assert_eq!((st, v["status"].as_str()), (200, Some("signed")), "{v}");
    s.stop().await;
}

/// Reads one HTTP/1.1 response (headers and a `Content-Length` body) from a kept-alive connection; returns its status.
async fn read_response(stream: &mut TcpStream) -> u16 {
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "the server closed the connection: {}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        let Some(end) = text.find("\r\n\r\n") else { continue };
        let length: usize = text[..end]
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
            .and_then(|v| v.parse().ok())
            .expect("content-length");
        if buf.len() >= end + 4 + length {
            return status_of(&text);
        }
    }
}

/// A refusal reads the rest of the request's body: hyper would otherwise close a connection whose body it had not
/// read, and every client would reconnect during an overload — into a full listen queue (bench/README, "Overload").
async fn a_refused_request_keeps_its_connection(db: TestDb) {
    let s = TestServer::start_with_admission(&db, limits(1, 0, Duration::from_secs(60))).await;
    let check = an_authorization(&s).await;
    let held = Held::start(&s, &check).await;
    until_gauge(&s, "allowly_requests_in_flight ", 1).await;
    let addr = s.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let body = serde_json::to_vec(&check).expect("json");
    let head = format!(
        "POST /v1/check HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        s.rt,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    // The body follows its headers a moment later, as a second segment often does.
    tokio::time::sleep(Duration::from_millis(20)).await;
    stream.write_all(&body).await.expect("write body");
    assert_eq!(read_response(&mut stream).await, 503);
    // The same connection serves the next request.
    stream.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).await.expect("write");
    assert_eq!(read_response(&mut stream).await, 200);
    assert_eq!(held.finish().await, 200);
    s.stop().await;
}
