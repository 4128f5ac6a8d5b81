//! Measures how long a client waits from sending a check until its receipt is signed, at a steady rate below
//! saturation (signing is asynchronous, so this is the latency a `check?wait=true` caller or a receipt poller sees).
//!
//! Run by `bench/server_load.sh`; reads ALLOWLY_BASE_URL, ALLOWLY_API_KEY, ALLOWLY_AUTH_ID and optionally
//! ALLOWLY_SAMPLES (default 2000) and ALLOWLY_RATE (checks per second, default 500).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let base = env("ALLOWLY_BASE_URL");
    let key = env("ALLOWLY_API_KEY");
    let auth = env("ALLOWLY_AUTH_ID");
    let samples: usize = std::env::var("ALLOWLY_SAMPLES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let rate: u64 = std::env::var("ALLOWLY_RATE").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let http = reqwest::Client::new();
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..samples {
        ticker.tick().await;
        let (http, base, key, auth) = (http.clone(), base.clone(), key.clone(), auth.clone());
        tasks.spawn(async move {
            let t0 = Instant::now();
            let body = json!({"authorization_id": auth, "scopes": ["email.read"]});
            let v: Value =
                http.post(format!("{base}/v1/check")).bearer_auth(&key).json(&body).send().await?.json().await?;
            let decided = t0.elapsed();
            let id = v["results"]["email.read"]["receipt"]["receipt_id"].as_str().unwrap_or_default().to_string();
            loop {
                let r: Value = http
                    .get(format!("{base}/v1/receipts/{id}?wait_ms=10000"))
                    .bearer_auth(&key)
                    .send()
                    .await?
                    .json()
                    .await?;
                if r["status"] == "signed" {
                    break;
                }
            }
            Ok::<_, reqwest::Error>((decided, t0.elapsed()))
        });
    }
    let (mut decided, mut signed) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    while let Some(r) = tasks.join_next().await {
        let (d, s) = r.expect("task").expect("http");
        decided.push(d);
        signed.push(s);
    }
    decided.sort();
    signed.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{samples} checks at {rate}/s: check p50 {:.2} ms p99 {:.2} ms; check → signed p50 {:.2} ms p99 {:.2} ms",
        ms(percentile(&decided, 0.5)),
        ms(percentile(&decided, 0.99)),
        ms(percentile(&signed, 0.5)),
        ms(percentile(&signed, 0.99)),
    );
}
