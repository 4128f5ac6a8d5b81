//! Prometheus metrics at `GET /metrics`: request counts and latency by route template, check decisions, requests
//! shed by overload control (with the gate's in-progress and waiting gauges), and the state of the two queues
//! (pending receipts with their signing lag, webhook deliveries).
//!
//! Labels are route templates, never concrete paths — a confirmation nonce travels in a path and must not become a
//! label value. The registry is a few mutex-guarded maps: a scrape is rare and the per-request cost is one lock
//! and two map updates, which keeps this free of a metrics framework dependency.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::store::{audit, webhooks};
use crate::util;

/// Latency buckets in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, &'static str, u16), u64>,
    latency: BTreeMap<(String, &'static str), Histogram>,
    decisions: BTreeMap<(String, String), u64>,
    /// Checks decided in their request task from the decision cache and kept by the group commit.
    decided_ahead: u64,
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn method_label(m: &axum::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

/// Escapes a label value (`\`, `"` and newlines).
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn observe(&self, route: &str, method: &'static str, status: u16, seconds: f64) {
        let mut g = self.lock();
        *g.requests.entry((route.to_string(), method, status)).or_default() += 1;
        let h = g.latency.entry((route.to_string(), method)).or_default();
        h.count += 1;
        h.sum += seconds;
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
    }

    /// Counts one check result.
    pub fn decision(&self, decision: &str, reason: &str) {
        *self.lock().decisions.entry((decision.to_string(), reason.to_string())).or_default() += 1;
    }

    /// Counts one check whose decision, made ahead of the group commit, was kept (`routes::check::decide_ahead`).
    pub fn decided_ahead(&self) {
        self.lock().decided_ahead += 1;
    }

    fn render_local(&self, out: &mut String) {
        let g = self.lock();
        out.push_str(
            "# HELP allowly_checks_decided_ahead_total Checks decided before the group commit from cached inputs \
             (SQLite) and kept.\n",
        );
        out.push_str("# TYPE allowly_checks_decided_ahead_total counter\n");
        let _ = writeln!(out, "allowly_checks_decided_ahead_total {}", g.decided_ahead);
        out.push_str("# HELP allowly_http_requests_total HTTP requests by route template, method and status.\n");
        out.push_str("# TYPE allowly_http_requests_total counter\n");
        for ((route, method, status), n) in &g.requests {
            let _ = writeln!(
                out,
                "allowly_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                esc(route)
            );
        }
        out.push_str(
            "# HELP allowly_http_request_duration_seconds HTTP request latency by route template and method.\n",
        );
        out.push_str("# TYPE allowly_http_request_duration_seconds histogram\n");
        for ((route, method), h) in &g.latency {
            let labels = format!("route=\"{}\",method=\"{method}\"", esc(route));
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "allowly_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(out, "allowly_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "allowly_http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "allowly_http_request_duration_seconds_count{{{labels}}} {}", h.count);
        }
        out.push_str("# HELP allowly_check_results_total Check results by decision and reason.\n");
        out.push_str("# TYPE allowly_check_results_total counter\n");
        for ((decision, reason), n) in &g.decisions {
            let _ = writeln!(
                out,
                "allowly_check_results_total{{decision=\"{}\",reason=\"{}\"}} {n}",
                esc(decision),
                esc(reason)
            );
        }
    }
}

/// Middleware recording every routed request.
pub async fn track(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let method = method_label(req.method());
    let started = Instant::now();
    let resp = next.run(req).await;
    let route = route.unwrap_or_else(|| "unmatched".to_string());
    s.metrics.observe(&route, method, resp.status().as_u16(), started.elapsed().as_secs_f64());
    resp
}

/// The whole exposition: in-process counters plus queue gauges read from the database at scrape time (so they are
/// right even with several server processes on one database).
pub async fn render(s: &AppState) -> String {
    let mut out = String::with_capacity(4096);
    let _ = writeln!(out, "# HELP allowly_build_info Server version.\n# TYPE allowly_build_info gauge");
    let _ = writeln!(out, "allowly_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
    s.metrics.render_local(&mut out);
    out.push_str("# HELP allowly_requests_in_flight Requests holding an overload-control slot.\n");
    out.push_str("# TYPE allowly_requests_in_flight gauge\n");
    let _ = writeln!(out, "allowly_requests_in_flight {}", s.admission.in_flight());
    out.push_str("# HELP allowly_requests_queued Requests waiting for an overload-control slot.\n");
    out.push_str("# TYPE allowly_requests_queued gauge\n");
    let _ = writeln!(out, "allowly_requests_queued {}", s.admission.queued());
    // Counted by the gate itself (atomics): it is the router's outermost layer, so refusals never reach `track`.
    out.push_str(
        "# HELP allowly_requests_shed_total Requests refused with 503 overloaded before any work, by reason.\n",
    );
    out.push_str("# TYPE allowly_requests_shed_total counter\n");
    for why in crate::admission::Shed::ALL {
        let _ = writeln!(out, "allowly_requests_shed_total{{reason=\"{}\"}} {}", why.label(), s.admission.shed(why));
    }
    match audit::pending_stats(s.store.reader()).await {
        Ok((pending, oldest)) => {
            let lag = oldest
                .as_deref()
                .and_then(util::parse_ts)
                .map(|t| (util::now() - t).as_seconds_f64().max(0.0))
                .unwrap_or(0.0);
            out.push_str("# HELP allowly_receipts_pending Receipts decided but not yet signed.\n");
            out.push_str("# TYPE allowly_receipts_pending gauge\n");
            let _ = writeln!(out, "allowly_receipts_pending {pending}");
            out.push_str(
                "# HELP allowly_receipt_signing_lag_seconds Age of the oldest unsigned receipt (0 when none).\n",
            );
            out.push_str("# TYPE allowly_receipt_signing_lag_seconds gauge\n");
            let _ = writeln!(out, "allowly_receipt_signing_lag_seconds {lag}");
        }
        Err(e) => tracing::error!(error = %e, "metrics: receipt queue read failed"),
    }
    match webhooks::counts(s.store.reader()).await {
        Ok(counts) => {
            out.push_str("# HELP allowly_webhook_deliveries Webhook events by delivery status.\n");
            out.push_str("# TYPE allowly_webhook_deliveries gauge\n");
            for status in ["pending", "delivered", "failed"] {
                let n = counts.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
                let _ = writeln!(out, "allowly_webhook_deliveries{{status=\"{status}\"}} {n}");
            }
        }
        Err(e) => tracing::error!(error = %e, "metrics: webhook queue read failed"),
    }
    let _ = writeln!(out, "# HELP allowly_signer_up Whether the signer task runs.\n# TYPE allowly_signer_up gauge");
    let _ = writeln!(out, "allowly_signer_up {}", u8::from(s.signer.is_running()));
    if let Some(lane) = s.store.lane_stats() {
        // Jobs ÷ commits is the group commit's batch size: how many answers share one fsync.
        let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        out.push_str("# HELP allowly_write_commits_total Group commits of decisions (SQLite).\n");
        out.push_str("# TYPE allowly_write_commits_total counter\n");
        let _ = writeln!(out, "allowly_write_commits_total {}", load(&lane.batches));
        out.push_str(
            "# HELP allowly_write_decisions_total Jobs (checks and signer passes) written by group commits (SQLite).\n",
        );
        out.push_str("# TYPE allowly_write_decisions_total counter\n");
        let _ = writeln!(out, "allowly_write_decisions_total {}", load(&lane.decisions));
    }
    out
}
