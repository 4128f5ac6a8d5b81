//! allowly-core's `Client` against the real `allowly serve` through a proxy that drops, delays, truncates and resets
//! connections (`common/fault_proxy.rs`).
//!
//! What must hold when the network misbehaves: `check` answers deny `fallback_closed_*` (allow `fallback_open_*` only
//! for scopes mapped open) instead of raising; every retry of one call carries the same `Idempotency-Key`; and a
//! create / settlement / approve whose first response was lost *after* the server applied it has exactly one side
//! effect, counted in the server's own SQLite file. Run with `--nocapture` to see the faults injected per kind.

mod common;
#[path = "common/fault_proxy.rs"]
mod fault_proxy;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use allowly_core::model::{
    CheckRequest, ConfirmationDecision, CreateAuthorizationRequest, Decision, ScopeResult, SettlementRequest, reason,
};
use allowly_core::{Client, ClientConfig, FallbackMode};
use common::Server;
use fault_proxy::{Fault, FaultProxy, Recorded};
use sqlx::Connection as _;

/// Per-attempt timeout of the client; `Fault::Delay` holds a response longer than this.
const TIMEOUT: Duration = Duration::from_millis(800);
const HOLD: Duration = Duration::from_millis(1500);
const OPEN_SCOPE: &str = "docs.read";
const CLOSED_SCOPE: &str = "payments.send";

fn client(proxy: &FaultProxy, key: &str) -> Client {
    Client::new(
        ClientConfig::new(key)
            .with_base_url(proxy.base_url())
            .with_allow_insecure_http(true)
            .with_timeout(TIMEOUT)
            .with_check_timeout(Duration::from_secs(3))
            .with_max_retries(2)
            .with_retry_base_delay(Duration::from_millis(10))
            .with_fallback(OPEN_SCOPE, FallbackMode::Open),
    )
    .expect("client")
}

/// The attempts of one logical call: all to `route`, all carrying one and the same Idempotency-Key.
fn assert_one_key(requests: &[Recorded], method: &str, route_prefix: &str, attempts: usize) -> String {
    let ours: Vec<&Recorded> =
        requests.iter().filter(|r| r.method == method && r.path.starts_with(route_prefix)).collect();
    assert_eq!(ours.len(), attempts, "attempts of {method} {route_prefix}: {:?}", summary(requests));
    let keys: BTreeSet<&str> =
        ours.iter().map(|r| r.header("Idempotency-Key").expect("every POST carries an Idempotency-Key")).collect();
    assert_eq!(keys.len(), 1, "retries of one call must reuse its Idempotency-Key: {keys:?}");
    let bodies: BTreeSet<&[u8]> = ours.iter().map(|r| r.body.as_slice()).collect();
    assert_eq!(bodies.len(), 1, "retries of one call must send the same body");
    keys.into_iter().next().unwrap().to_owned()
}

fn summary(requests: &[Recorded]) -> Vec<String> {
    requests.iter().map(|r| format!("{} {} [{}]", r.method, r.path, r.fault.kind())).collect()
}

fn assert_fallback(result: &ScopeResult, decision: Decision, expected_reason: &str) {
    assert!(result.is_fallback, "expected a client-side fallback, got {result:?}");
    assert_eq!(result.decision, decision, "{result:?}");
    assert_eq!(result.reason, expected_reason);
    assert!(result.receipt.is_none(), "a fallback has no server receipt");
}

/// The real server, the fault proxy in front of it, a client that only reaches the server through the proxy, and a
/// read-only view of the server's database. The server is returned so it lives as long as the test.
async fn start() -> (Server, FaultProxy, Client, Db) {
    let server = Server::start();
    let upstream: SocketAddr =
        server.field("base_url").trim_start_matches("http://").trim_end_matches('/').parse().expect("server address");
    let proxy = FaultProxy::start(upstream).await;
    let client = client(&proxy, &server.field("runtime_api_key"));
    let db = Db::open(&server).await;
    (server, proxy, client, db)
}

/// Counts rows of the server's own database, read-only while it runs (WAL).
struct Db(sqlx::AnyConnection);

impl Db {
    async fn open(server: &Server) -> Db {
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}?mode=ro", server.dir.path().join("test.db").display());
        Db(sqlx::AnyConnection::connect(&url).await.expect("open the server's SQLite file"))
    }

    async fn count(&mut self, sql: &str, arg: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql).bind(arg.to_owned()).fetch_one(&mut self.0).await.expect(sql)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_fail_closed_and_retries_apply_once() {
    let (_server, proxy, client, mut db) = start().await;

    // --- check: outages become fallback results, never errors and never an allow of a closed scope ---
    let auth = client
        .create_authorization(&CreateAuthorizationRequest::new("u_faults", "agent_check", [OPEN_SCOPE, CLOSED_SCOPE]))
        .await
        .expect("create authorization through a clean proxy");
    proxy.take_requests();
    let both = CheckRequest::new(auth.authorization_id.as_str(), [OPEN_SCOPE, CLOSED_SCOPE]);
    let receipts_of_auth = "SELECT COUNT(*) FROM receipts WHERE authorization_id = ?";
    for fault in [Fault::Drop, Fault::Reset, Fault::Truncate] {
        let before = db.count(receipts_of_auth, &auth.authorization_id).await;
        proxy.plan([fault; 3]);
        let response = client.check(&both).await.unwrap_or_else(|e| panic!("{fault:?}: check raised {e}"));
        assert_eq!(proxy.pending(), 0, "{fault:?}: all three attempts hit the proxy");
        assert_fallback(&response.results[CLOSED_SCOPE], Decision::Deny, reason::FALLBACK_CLOSED_UNREACHABLE);
        assert_fallback(&response.results[OPEN_SCOPE], Decision::Allow, reason::FALLBACK_OPEN_UNREACHABLE);
        assert_one_key(&proxy.take_requests(), "POST", "/v1/check", 3);
        // Dropped attempts never reached the server; delivered ones were decided once (one receipt per scope), however
        // many times they arrived, even though the client never saw that decision.
        let decided = db.count(receipts_of_auth, &auth.authorization_id).await - before;
        assert_eq!(decided, if fault.forwards() { 2 } else { 0 }, "{fault:?}: receipts of three deliveries");
    }
    // A response held past the deadline: the check's whole budget is spent waiting, so it is a timeout fallback.
    let impatient = Client::new(client.config().clone().with_check_timeout(TIMEOUT)).expect("client");
    proxy.plan([Fault::Delay(HOLD)]);
    let response = impatient.check(&both).await.expect("check with a held response");
    assert_fallback(&response.results[CLOSED_SCOPE], Decision::Deny, reason::FALLBACK_CLOSED_TIMEOUT);
    assert_fallback(&response.results[OPEN_SCOPE], Decision::Allow, reason::FALLBACK_OPEN_TIMEOUT);
    assert_one_key(&proxy.take_requests(), "POST", "/v1/check", 1);

    // Two lost answers, then the real one: the server's decision, made once though three attempts reached it.
    let receipts_before = db.count(receipts_of_auth, &auth.authorization_id).await;
    let one = CheckRequest::new(auth.authorization_id.as_str(), [CLOSED_SCOPE]);
    proxy.plan([Fault::Reset, Fault::Truncate]);
    let response = client.check(&one).await.expect("check after two lost answers");
    let result = &response.results[CLOSED_SCOPE];
    assert!(!result.is_fallback && result.decision == Decision::Allow, "{result:?}");
    assert_eq!(result.reason, reason::SCOPE_GRANTED);
    let attempts = proxy.take_requests();
    assert_one_key(&attempts, "POST", "/v1/check", 3);
    assert!(attempts.iter().all(|r| r.fault.forwards()), "all three attempts reached the server");
    let receipts_after = db.count(receipts_of_auth, &auth.authorization_id).await;
    assert_eq!(receipts_after - receipts_before, 1, "three deliveries of one check make one receipt");

    // --- create authorization: the first answer is lost after the server created it ---
    proxy.plan([Fault::Truncate]);
    let created = client
        .create_authorization(&CreateAuthorizationRequest::new("u_faults", "agent_create_once", ["files.write"]))
        .await
        .expect("create retried after a truncated answer");
    assert_one_key(&proxy.take_requests(), "POST", "/v1/authorizations", 2);
    assert_eq!(db.count("SELECT COUNT(*) FROM authorizations WHERE agent_id = ?", "agent_create_once").await, 1);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM authorizations WHERE agent_id = ?", "agent_create_once").await,
        db.count("SELECT COUNT(*) FROM authorizations WHERE id = ?", &created.authorization_id).await,
        "the one row is the authorization the client was given"
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM receipts WHERE agent_id = ?", "agent_create_once").await, 1);

    // --- budget settlement: the first answer is reset after the server settled ---
    let budgeted = client
        .create_authorization(&CreateAuthorizationRequest {
            budget_limit_micros: Some(1_000_000),
            ..CreateAuthorizationRequest::new("u_faults", "agent_settle_once", ["llm.call"])
        })
        .await
        .expect("create budgeted authorization");
    let checked = client
        .check(&CheckRequest::new(budgeted.authorization_id.as_str(), ["llm.call"]).with_estimated_cost_micros(400_000))
        .await
        .expect("budgeted check");
    let check_receipt =
        checked.results["llm.call"].receipt.as_ref().expect("allow has a receipt").receipt_id().to_owned();
    proxy.take_requests();
    proxy.plan([Fault::Reset]);
    let settled = client
        .settle_budget(&SettlementRequest::new(check_receipt.as_str(), 250_000))
        .await
        .expect("settlement retried after a reset");
    assert_eq!(settled.spent_after_micros, 250_000);
    assert_one_key(&proxy.take_requests(), "POST", "/v1/budget-settlements", 2);
    let after = client.get_authorization(&budgeted.authorization_id).await.expect("get budgeted authorization");
    assert_eq!(after.budget_spent_micros, Some(250_000), "spent once, not twice");
    assert_eq!(
        db.count(
            "SELECT COUNT(*) FROM budget_reservations WHERE settle_receipt_id IS NOT NULL AND check_receipt_id = ?",
            &check_receipt
        )
        .await,
        1
    );
    // create + check + one settlement.
    assert_eq!(
        db.count("SELECT COUNT(*) FROM receipts WHERE authorization_id = ?", &budgeted.authorization_id).await,
        3
    );
    proxy.take_requests();

    // --- approve: the first answer is held past the client's timeout after the server recorded it ---
    let confirming = client
        .create_authorization(&CreateAuthorizationRequest {
            requires_confirm_for: vec!["mail.send".into()],
            ..CreateAuthorizationRequest::new("u_faults", "agent_approve_once", ["mail.send"])
        })
        .await
        .expect("create confirm authorization");
    let send = CheckRequest::new(confirming.authorization_id.as_str(), ["mail.send"]);
    // The confirm answer itself is lost once: the retry's replay must carry the nonce (or the user could never
    // approve), while the server's stored copy of that answer must not hold the secret in clear.
    proxy.take_requests();
    proxy.plan([Fault::Truncate]);
    let first = client.check(&send).await.expect("check needing confirmation");
    assert_one_key(&proxy.take_requests(), "POST", "/v1/check", 2);
    let nonce = first.results["mail.send"].confirm_nonce.clone().expect("the replayed confirm carries the nonce");
    assert_eq!(
        db.count("SELECT COUNT(*) FROM idempotency WHERE instr(body, ?) > 0", &nonce).await,
        0,
        "the confirm nonce is stored only hashed (confirmations) or sealed (idempotency), never in clear"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM confirmations WHERE authorization_id = ?", &confirming.authorization_id).await,
        1
    );
    proxy.plan([Fault::Delay(HOLD)]);
    let resolution =
        client.approve_confirmation(&nonce, true, None).await.expect("approve retried after a held answer");
    assert_eq!(resolution.decision, ConfirmationDecision::Approved);
    assert_one_key(&proxy.take_requests(), "POST", "/v1/confirmations/", 2);
    assert_eq!(
        db.count(
            "SELECT COUNT(*) FROM confirmations WHERE resolve_receipt_id IS NOT NULL AND authorization_id = ?",
            &confirming.authorization_id
        )
        .await,
        1
    );
    // create + confirm check + one resolve.
    assert_eq!(
        db.count("SELECT COUNT(*) FROM receipts WHERE authorization_id = ?", &confirming.authorization_id).await,
        3
    );
    // The approval is consumed by exactly one re-check: there is one approval, not two.
    let again = client.check(&send).await.expect("re-check");
    assert_eq!(again.results["mail.send"].reason, reason::USER_CONFIRMED);
    let third = client.check(&send).await.expect("third check");
    assert_eq!(third.results["mail.send"].decision, Decision::Confirm, "one approval allows one action");

    let injected = proxy.injected();
    let total: u32 = injected.values().sum();
    println!("fault injection: {total} faults injected {injected:?}");
    for kind in ["drop", "delay", "truncate", "reset"] {
        assert!(injected.get(kind).copied().unwrap_or(0) > 0, "no {kind} fault was injected");
    }
}

/// The opposite race: the client's first attempt fails at once, but its request reaches the server only later —
/// right behind the retry (a few ms), or after the retry was answered. The server sees the same Idempotency-Key
/// twice, possibly concurrently, and must still apply the call once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_duplicates_apply_once() {
    let (_server, proxy, client, mut db) = start().await;
    let lateness = [0, 5, 10, 20, 200].map(Duration::from_millis);

    for (i, late) in lateness.iter().enumerate() {
        let agent = format!("agent_late_{i}");
        proxy.plan([Fault::Late(*late)]);
        let created = client
            .create_authorization(&CreateAuthorizationRequest {
                budget_limit_micros: Some(1_000_000),
                requires_confirm_for: vec!["mail.send".into()],
                ..CreateAuthorizationRequest::new("u_late", agent.as_str(), ["llm.call", "mail.send"])
            })
            .await
            .expect("create retried after a dropped first attempt");
        proxy.settle().await;
        assert_one_key(&proxy.take_requests(), "POST", "/v1/authorizations", 2);
        assert_eq!(db.count("SELECT COUNT(*) FROM authorizations WHERE agent_id = ?", &agent).await, 1, "{late:?}");
        let auth = created.authorization_id;

        let checked = client
            .check(&CheckRequest::new(auth.as_str(), ["llm.call"]).with_estimated_cost_micros(300_000))
            .await
            .expect("budgeted check");
        let check_receipt = checked.results["llm.call"].receipt.as_ref().expect("receipt").receipt_id().to_owned();
        proxy.plan([Fault::Late(*late)]);
        client.settle_budget(&SettlementRequest::new(check_receipt.as_str(), 120_000)).await.expect("settle");
        proxy.settle().await;
        assert_one_key(&proxy.take_requests(), "POST", "/v1/budget-settlements", 2);
        let after = client.get_authorization(&auth).await.expect("get authorization");
        assert_eq!(after.budget_spent_micros, Some(120_000), "{late:?}: settled once");

        let confirm =
            client.check(&CheckRequest::new(auth.as_str(), ["mail.send"]).with_estimated_cost_micros(1)).await;
        let nonce = confirm.expect("confirm check").results["mail.send"].confirm_nonce.clone().expect("nonce");
        proxy.take_requests();
        proxy.plan([Fault::Late(*late)]);
        let resolution = client.approve_confirmation(&nonce, true, None).await.expect("approve");
        assert_eq!(resolution.decision, ConfirmationDecision::Approved);
        proxy.settle().await;
        assert_one_key(&proxy.take_requests(), "POST", "/v1/confirmations/", 2);
        // create + budgeted check + settlement + confirm check + one resolve.
        assert_eq!(db.count("SELECT COUNT(*) FROM receipts WHERE authorization_id = ?", &auth).await, 5, "{late:?}");
    }
    let injected = proxy.injected();
    println!("late duplicates: {} faults injected {injected:?}", injected.values().sum::<u32>());
    assert_eq!(injected.get("late").copied(), Some(3 * lateness.len() as u32));
}
