//! `make demo` as a test: the real `allowly serve --dev` binary on a temp SQLite file, driven by the walkthrough
//! example's own `run`, so a change that breaks the demo breaks CI too. No mocks anywhere.

#[path = "../examples/walkthrough.rs"]
#[allow(dead_code)] // the example's `main` and CLI parsing are not used here
mod walkthrough;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use allowly_core::VerificationErrorKind;
use allowly_core::identifiers::from_email;
use allowly_core::model::{Decision, reason};
use walkthrough::{DEMO_EMAIL, DEMO_PEPPER, SEND_PROMPT, WalkConfig};

/// The server process; killed when the guard drops, so a failing assertion never leaves it running.
struct Server {
    child: Child,
    ready: PathBuf,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let ready = dir.path().join("ready.json");
        let log = dir.path().join("server.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_allowly"))
            .arg("serve")
            .arg("--dev")
            .arg("--db")
            .arg(format!("sqlite://{}", dir.path().join("demo.db").display()))
            .args(["--listen", "127.0.0.1:0", "--ready-file"])
            .arg(&ready)
            .env_remove("ALLOWLY_MASTER_KEY")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .spawn()
            .expect("spawn allowly serve");
        let mut server = Server { child, ready, log, _dir: dir };
        server.wait_ready(Duration::from_secs(60));
        server
    }

    fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !is_nonempty(&self.ready) {
            if let Some(status) = self.child.try_wait().expect("poll server") {
                panic!("allowly serve exited with {status} before it was ready; log:\n{}", self.log_text());
            }
            assert!(Instant::now() < deadline, "no ready file within {timeout:?}; log:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn is_nonempty(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_lifecycle_runs_as_documented_and_every_receipt_verifies() {
    let server = Server::start();
    let cfg = WalkConfig::from_ready_file(&server.ready).expect("ready file");
    let secrets: Vec<String> = {
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&server.ready).unwrap()).unwrap();
        ["runtime_api_key", "setup_api_key"].iter().map(|k| doc[k].as_str().unwrap().to_owned()).collect()
    };

    let mut out = Vec::new();
    let summary = walkthrough::run(cfg, &mut out)
        .await
        .unwrap_or_else(|e| panic!("walkthrough failed: {e}\noutput so far:\n{}", String::from_utf8_lossy(&out)));
    let text = String::from_utf8(out).expect("UTF-8 output");
    assert!(summary.unexpected.is_empty(), "deviations: {:?}\n{text}", summary.unexpected);

    let checks: Vec<(&str, Decision, &str)> =
        summary.checks.iter().map(|c| (c.label.as_str(), c.decision, c.reason.as_str())).collect();
    assert_eq!(
        checks,
        [
            ("check email.read", Decision::Allow, reason::SCOPE_GRANTED),
            ("check email.send", Decision::Confirm, reason::SCOPE_REQUIRES_USER_CONFIRMATION),
            ("re-check email.send", Decision::Allow, reason::USER_CONFIRMED),
            ("check llm.enrich estimated $24.00", Decision::Allow, reason::SCOPE_GRANTED),
            ("check llm.enrich estimated $31.00", Decision::Deny, reason::BUDGET_EXCEEDED),
            ("check email.read after revoke", Decision::Deny, reason::AUTHORIZATION_REVOKED),
        ],
        "{text}"
    );
    assert_eq!(summary.user_id, from_email(DEMO_EMAIL, DEMO_PEPPER).unwrap());
    assert_eq!(summary.prompt_hint.as_deref(), Some(SEND_PROMPT));
    assert_eq!(summary.confirmation_decision.as_deref(), Some("approved"));
    assert_eq!(summary.confirmation_status_after_recheck.as_deref(), Some("consumed"));
    assert_eq!(summary.budget_spent_after_settlement, Some(walkthrough::ACTUAL_COST));

    // Every receipt the walk was handed was fetched signed and verified: 6 checks plus create ×2, approval,
    // settlement and revocation.
    assert!(summary.receipts_fetched > 0);
    assert_eq!(summary.receipts_verified, summary.receipts_fetched, "{text}");
    assert_eq!(summary.receipts_fetched, 11, "{text}");
    for name in ["authorization.create", "confirmation.resolve", "budget.settle", "authorization.revoke", "email.send"]
    {
        assert!(
            summary.verified_names.iter().any(|n| n == name),
            "no verified {name} receipt: {:?}",
            summary.verified_names
        );
    }
    assert_eq!(summary.tampered_rejected_with, Some(VerificationErrorKind::SignatureMismatch));

    assert!(text.contains("✓ check email.send → confirm (scope_requires_user_confirmation)"), "{text}");
    assert!(!text.contains('✗'), "{text}");
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "the output leaks an API key");
    }
    drop(server);
}
