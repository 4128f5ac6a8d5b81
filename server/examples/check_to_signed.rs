//! Open-loop load generator for the server benchmarks (`bench/server/run.sh`).
//!
//! Closed-loop tools (wrk) measure saturation but hide queueing: a slow response delays the next request. Here
//! requests start on a fixed schedule whether or not earlier ones finished, and every latency is measured from the
//! request's *scheduled* start, so a stalled server shows up in the percentiles instead of silently lowering the
//! offered rate (coordinated omission).
//!
//! Modes (first argument), each printing one JSON object on stdout and a human summary on stderr:
//! - `rate RATE SECONDS`: `POST /v1/check` only, at RATE checks/s: p50/p99/p99.9 of the 200 answers, the other
//!   answers by status (503 = shed load), achieved vs offered rate (P5 at 1k/5k/10k/s and at 2x saturation); works
//!   against `allowly serve` and `allowly-floor` alike (both take the same body and bearer key);
//! - `signed RATE SAMPLES`: check, then long-poll `GET /v1/receipts/{id}` until signed (P6: check → signed);
//! - `fetch RATE SAMPLES`: allowly-core's `Client::check`, then `Client::fetch_signed` on its receipt, timing how long
//!   `fetch_signed` takes to return the signed bytes after the check answered (P6: what an SDK caller waits).
//!
//! Reads ALLOWLY_BASE_URL, ALLOWLY_API_KEY and ALLOWLY_AUTH_ID (an authorization granting `email.read`). Without
//! arguments it runs `signed 500 2000`, the old behaviour of this example.

use std::time::Duration;

use allowly_core::client::FetchSignedOptions;
use allowly_core::model::CheckRequest;
use allowly_core::{Client, ClientConfig};
use serde_json::{Value, json};
use tokio::time::{Instant, MissedTickBehavior};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set"))
}

/// Nearest-rank percentile of sorted samples, in milliseconds.
fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

fn summary(mut samples: Vec<Duration>) -> Value {
    samples.sort();
    json!({
        "n": samples.len(),
        "p50_ms": pct(&samples, 0.50),
        "p90_ms": pct(&samples, 0.90),
        "p99_ms": pct(&samples, 0.99),
        "p999_ms": pct(&samples, 0.999),
        "max_ms": pct(&samples, 1.0),
    })
}

struct Target {
    base: String,
    key: String,
    auth: String,
}

/// Spawns `samples` tasks on a fixed schedule of `rate` per second; each gets its scheduled start instant.
async fn open_loop<F, Fut, T>(rate: u64, samples: usize, job: F) -> (Vec<T>, usize, Duration)
where
    F: Fn(Instant) -> Fut,
    Fut: std::future::Future<Output = Result<T, String>> + Send + 'static,
    T: Send + 'static,
{
    let mut ticker = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate.max(1)));
    // Burst: if the generator itself falls behind, it catches up, so the offered rate stays the asked one.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..samples {
        let scheduled = ticker.tick().await;
        tasks.spawn(job(scheduled));
    }
    let offered_for = started.elapsed();
    let (mut ok, mut errors) = (Vec::with_capacity(samples), 0usize);
    while let Some(r) = tasks.join_next().await {
        match r.expect("task") {
            Ok(v) => ok.push(v),
            Err(e) => {
                if errors == 0 {
                    eprintln!("first error: {e}");
                }
                errors += 1;
            }
        }
    }
    (ok, errors, offered_for)
}

async fn post_check(http: &reqwest::Client, t: &Target) -> Result<Value, String> {
    let body = json!({"authorization_id": t.auth, "scopes": ["email.read"]});
    let resp = http
        .post(format!("{}/v1/check", t.base))
        .bearer_auth(&t.key)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("check answered {}", resp.status()));
    }
    resp.json().await.map_err(|e| e.to_string())
}

/// Requests in flight at most in `rate` mode unless ALLOWLY_BENCH_CONNECTIONS says otherwise, like wrk2's fixed
/// connection count: when the server stalls, later requests wait for a connection (and that wait counts, from their
/// scheduled start) instead of the generator opening hundreds of new connections, which would measure connection
/// set-up rather than the server. 10,000 checks/s at ~1 ms each need ~10 in flight; the rest is headroom for stalls.
const CONNECTIONS: usize = 128;

/// One `rate` request: its latency from the scheduled start and the answer's status (the body is read, not parsed:
/// parsing would spend the generator's share of the cores at 10,000/s).
async fn timed_check(
    http: &reqwest::Client,
    t: &Target,
    body: &[u8],
    scheduled: Instant,
) -> Result<(Duration, u16), String> {
    let resp = http
        .post(format!("{}/v1/check", t.base))
        .bearer_auth(&t.key)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    resp.bytes().await.map_err(|e| e.to_string())?;
    Ok((scheduled.elapsed(), status))
}

/// Opens the `rate` mode's connections before its clock starts. Opened on demand, they would open in a burst exactly
/// when the server falls behind — a thousand at once past its capacity — overflow its listen queue, and wait out
/// TCP's one-second SYN retransmission: the run would report connection set-up (a tail at ~1 s) as check latency.
/// `/healthz` is never shed, so every connection opens even while the server is busy; any answer will do (the floor
/// server has no such route and says 404), only a transport error means a connection did not open.
async fn open_connections(http: &reqwest::Client, base: &str, connections: usize) {
    let url = format!("{base}/healthz");
    let mut opening = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (http, url) = (http.clone(), url.clone());
        opening.spawn(async move { http.get(url).send().await.map(drop) });
    }
    while let Some(r) = opening.join_next().await {
        if let Err(e) = r.expect("task") {
            eprintln!("opening a connection: {e}");
        }
    }
}

/// `rate RATE SECONDS`: latency percentiles of the 200 answers, every other answer counted by status (503s, the
/// server shedding load, on their own), and the rate achieved against the rate offered, so a generator that could
/// not keep up is visible instead of silently offering less.
async fn rate_mode(t: std::sync::Arc<Target>, rate: u64, seconds: u64) -> Value {
    let connections =
        std::env::var("ALLOWLY_BENCH_CONNECTIONS").ok().and_then(|c| c.parse().ok()).unwrap_or(CONNECTIONS);
    let http = reqwest::Client::builder().pool_max_idle_per_host(connections).build().expect("http client");
    let samples = (rate * seconds) as usize;
    let body: std::sync::Arc<[u8]> =
        json!({"authorization_id": t.auth, "scopes": ["email.read"]}).to_string().into_bytes().into();
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(connections));
    open_connections(&http, &t.base, connections).await;
    let started = Instant::now();
    let (answers, transport_errors, offered_for) = open_loop(rate, samples, |scheduled| {
        let (http, t, slots, body) = (http.clone(), t.clone(), slots.clone(), body.clone());
        async move {
            let _slot = slots.acquire_owned().await.map_err(|e| e.to_string())?;
            timed_check(&http, &t, &body, scheduled).await
        }
    })
    .await;
    let finished_for = started.elapsed();
    let mut ok = Vec::with_capacity(answers.len());
    let mut by_status = std::collections::BTreeMap::<String, usize>::new();
    for (latency, status) in answers {
        if status == 200 {
            ok.push(latency);
        } else {
            *by_status.entry(status.to_string()).or_default() += 1;
        }
    }
    let answered = ok.len() + by_status.values().sum::<usize>();
    let (n_ok, n_503) = (ok.len(), by_status.get("503").copied().unwrap_or(0));
    let non_200 = answered - n_ok;
    let s = summary(ok);
    let offered_rate = samples as f64 / offered_for.as_secs_f64();
    let achieved_rate = answered as f64 / finished_for.as_secs_f64();
    eprintln!(
        "{samples} checks offered at {rate}/s (schedule kept at {offered_rate:.0}/s, answered at {achieved_rate:.0}/s): \
         200s p50 {} ms p99 {} ms p99.9 {} ms; non-200 {non_200} (503: {n_503}); transport errors {transport_errors}",
        s["p50_ms"], s["p99_ms"], s["p999_ms"]
    );
    json!({"mode": "rate", "rate": rate, "seconds": seconds, "connections": connections, "samples": samples,
           "offered_for_s": offered_for.as_secs_f64(), "finished_for_s": finished_for.as_secs_f64(),
           "offered_per_s": offered_rate, "achieved_per_s": achieved_rate,
           "ok": n_ok, "non_200": non_200, "non_200_by_status": by_status, "status_503": n_503,
           "share_503": if answered == 0 { 0.0 } else { n_503 as f64 / answered as f64 },
           "transport_errors": transport_errors, "errors": non_200 + transport_errors, "latency": s})
}

async fn signed_mode(t: std::sync::Arc<Target>, rate: u64, samples: usize) -> Value {
    let http = reqwest::Client::new();
    let (pairs, errors, _) = open_loop(rate, samples, |scheduled| {
        let (http, t) = (http.clone(), t.clone());
        async move {
            let v = post_check(&http, &t).await?;
            let decided = scheduled.elapsed();
            let id = v["results"]["email.read"]["receipt"]["receipt_id"].as_str().unwrap_or_default().to_string();
            loop {
                let r: Value = http
                    .get(format!("{}/v1/receipts/{id}?wait_ms=10000", t.base))
                    .bearer_auth(&t.key)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?
                    .json()
                    .await
                    .map_err(|e| e.to_string())?;
                if r["status"] == "signed" {
                    return Ok((decided, scheduled.elapsed()));
                }
            }
        }
    })
    .await;
    let (decided, signed): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
    let (d, s) = (summary(decided), summary(signed));
    eprintln!(
        "{samples} checks at {rate}/s: check p50 {} ms p99 {} ms; check → signed p50 {} ms p99 {} ms; {errors} errors",
        d["p50_ms"], d["p99_ms"], s["p50_ms"], s["p99_ms"]
    );
    json!({"mode": "signed", "rate": rate, "errors": errors, "check": d, "check_to_signed": s})
}

async fn fetch_mode(t: std::sync::Arc<Target>, rate: u64, samples: usize) -> Value {
    let config = ClientConfig::new(&t.key).with_base_url(&t.base).with_allow_insecure_http(true);
    let client = Client::new(config).expect("client");
    let (pairs, errors, _) = open_loop(rate, samples, |scheduled| {
        let (client, t) = (client.clone(), t.clone());
        async move {
            let resp = client.check(&CheckRequest::new(&t.auth, ["email.read"])).await.map_err(|e| e.to_string())?;
            let checked = Instant::now();
            let check_latency = checked - scheduled;
            let result = resp.results.get("email.read").ok_or("no result for email.read")?;
            if result.is_fallback {
                return Err(format!("fallback decision: {}", result.reason));
            }
            let id = result.receipt.as_ref().ok_or("no receipt")?.receipt_id().to_string();
            let signed = client.fetch_signed(&id, FetchSignedOptions::default()).await.map_err(|e| e.to_string())?;
            if signed.receipt_id() != id {
                return Err("fetch_signed returned another receipt".into());
            }
            Ok((check_latency, checked.elapsed(), scheduled.elapsed()))
        }
    })
    .await;
    let mut check = Vec::with_capacity(pairs.len());
    let mut fetch = Vec::with_capacity(pairs.len());
    let mut total = Vec::with_capacity(pairs.len());
    for (c, f, t) in pairs {
        check.push(c);
        fetch.push(f);
        total.push(t);
    }
    let (c, f, t) = (summary(check), summary(fetch), summary(total));
    eprintln!(
        "{samples} SDK checks at {rate}/s: check p50 {} ms; fetch_signed return p50 {} ms p99 {} ms; {errors} errors",
        c["p50_ms"], f["p50_ms"], f["p99_ms"]
    );
    json!({"mode": "fetch", "rate": rate, "errors": errors, "check": c, "fetch_signed_return": f,
           "check_to_signed": t})
}

#[tokio::main]
async fn main() {
    let t = std::sync::Arc::new(Target {
        base: env("ALLOWLY_BASE_URL"),
        key: env("ALLOWLY_API_KEY"),
        auth: env("ALLOWLY_AUTH_ID"),
    });
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: u64| args.get(i).map(|a| a.parse::<u64>().expect("a number")).unwrap_or(default);
    let out = match args.first().map(String::as_str) {
        Some("rate") => rate_mode(t, num(1, 1000), num(2, 10)).await,
        Some("fetch") => fetch_mode(t, num(1, 200), num(2, 1000) as usize).await,
        None | Some("signed") => signed_mode(t, num(1, 500), num(2, 2000) as usize).await,
        Some(other) => panic!("unknown mode {other}: use rate, signed or fetch"),
    };
    println!("{out}");
}
