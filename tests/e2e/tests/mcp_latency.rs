//! Added latency of `allowly mcp proxy` per tool call: 1,000 `tools/call` straight to the fixture MCP server versus
//! 1,000 through the proxy (which checks each with a local `allowly serve --dev` first). A measurement, not a test:
//! ignored by default, and it asserts nothing about timings. Run it on a release build:
//!
//! `cargo test --release --locked -p allowly-e2e --test mcp_latency -- --ignored --nocapture`
//!
//! With `ALLOWLY_BENCH_JSON=PATH` it also writes the figures there as JSON (milliseconds), which
//! `bench/server/run.sh` turns into P7. Each session first makes `WARMUP` uncounted calls, so the child's start, the
//! proxy's first check and connection set-up are not in the percentiles.

mod common;

use std::time::{Duration, Instant};

use allowly_core::model::{CheckRequest, CreateAuthorizationRequest};
use allowly_core::{Client, ClientConfig};
use common::Server;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;

const CALLS: usize = 1_000;
const WARMUP: usize = 100;

async fn measure(cmd: tokio::process::Command) -> Vec<Duration> {
    let session = ().serve(TokioChildProcess::new(cmd).expect("spawn")).await.expect("handshake");
    let arguments = serde_json::json!({"note_id": "n1"}).as_object().cloned().unwrap();
    let mut samples = Vec::with_capacity(CALLS);
    for i in 0..WARMUP + CALLS {
        let params = CallToolRequestParams::new("read_note").with_arguments(arguments.clone());
        let started = Instant::now();
        let result = session.call_tool(params).await.expect("tools/call");
        if i >= WARMUP {
            samples.push(started.elapsed());
        }
        assert_ne!(result.is_error, Some(true), "{result:?}");
    }
    session.cancel().await.unwrap();
    samples.sort();
    samples
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a latency measurement; run with --release -- --ignored --nocapture"]
async fn proxy_overhead_per_tool_call() {
    let server = Server::start();
    let key = server.field("runtime_api_key");
    let base_url = server.field("base_url");
    let client = Client::new(ClientConfig::new(&key).with_base_url(&base_url).with_allow_insecure_http(true)).unwrap();
    let auth = client
        .create_authorization(&CreateAuthorizationRequest::new("user-1", "agent-1", ["read_note"]))
        .await
        .unwrap()
        .authorization_id;

    // The check alone, from this process over the same loopback HTTP: the part of the added latency that is the
    // server's round trip rather than the proxy's own work.
    let request = CheckRequest::new(&auth, ["read_note"]);
    let mut checks = Vec::with_capacity(CALLS);
    for i in 0..WARMUP + CALLS {
        let started = Instant::now();
        client.check(&request).await.expect("check");
        if i >= WARMUP {
            checks.push(started.elapsed());
        }
    }
    checks.sort();
    println!(" check: p50 {:?}  p99 {:?}  ({CALLS} calls)", percentile(&checks, 0.50), percentile(&checks, 0.99));

    let direct = measure(tokio::process::Command::new(env!("CARGO_BIN_EXE_allowly-mcp-fixture"))).await;
    let mut proxied = tokio::process::Command::new(common::allowly_bin());
    proxied
        .args(["mcp", "proxy", "--base-url", &base_url, "--authorization-id", &auth, "--"])
        .arg(env!("CARGO_BIN_EXE_allowly-mcp-fixture"))
        .env("ALLOWLY_API_KEY", &key);
    let through = measure(proxied).await;

    for (name, s) in [("direct", &direct), ("proxy", &through)] {
        println!("{name:>6}: p50 {:?}  p99 {:?}  ({CALLS} calls)", percentile(s, 0.50), percentile(s, 0.99));
    }
    let added = |p| percentile(&through, p).saturating_sub(percentile(&direct, p));
    println!(" added: p50 {:?}  p99 {:?}", added(0.50), added(0.99));
    if let Ok(path) = std::env::var("ALLOWLY_BENCH_JSON") {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let doc = serde_json::json!({
            "calls": CALLS,
            "warmup": WARMUP,
            "direct_p50_ms": ms(percentile(&direct, 0.50)),
            "direct_p99_ms": ms(percentile(&direct, 0.99)),
            "proxy_p50_ms": ms(percentile(&through, 0.50)),
            "proxy_p99_ms": ms(percentile(&through, 0.99)),
            "added_p50_ms": ms(added(0.50)),
            "added_p99_ms": ms(added(0.99)),
            "check_p50_ms": ms(percentile(&checks, 0.50)),
            "check_p99_ms": ms(percentile(&checks, 0.99)),
        });
        std::fs::write(&path, format!("{doc}\n")).expect("write ALLOWLY_BENCH_JSON");
    }
}
