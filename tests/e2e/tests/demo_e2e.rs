//! `make demo` as a test: the real `allowly serve --dev` binary on a temp SQLite file, driven by the walkthrough
//! example's own `run`, so a change that breaks the demo breaks CI too. No mocks anywhere.

#[path = "../examples/walkthrough.rs"]
#[allow(dead_code)] // the example's `main` and CLI parsing are not used here
mod walkthrough;

mod common;

use allowly_core::VerificationErrorKind;
use allowly_core::identifiers::from_email;
use allowly_core::model::{Decision, reason};
use common::Server;
use walkthrough::{DEMO_EMAIL, DEMO_PEPPER, SEND_PROMPT, WalkConfig};

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
