//! The walkthrough lifecycle, end to end, through allowly-core against a running `allowly serve --dev`.
//!
//! `tests/e2e/tests/demo_e2e.rs` includes this file and calls [`run`], so the Rust walkthrough and its test cannot
//! drift apart. `make demo` runs the Python version (`bindings-python/examples/walkthrough.py`, same steps).
//!
//! Usage: `walkthrough [READY.json] [--export DIR]` (the ready file may also come from `ALLOWLY_READY_FILE`). With
//! `--export`, the key document, every signed receipt (JSON Lines) and one tampered receipt are written to DIR, so
//! the `allowly` CLI can reach the same verdicts without any network.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use allowly_core::client::FetchSignedOptions;
use allowly_core::identifiers::from_email;
use allowly_core::model::{
    CheckRequest, CreateAuthorizationRequest, Decision, ReceiptEnvelope, RevokeRequest, ScopeConstraints, ScopeGrant,
    ScopeResult, SettlementRequest, SignedReceipt, reason,
};
use allowly_core::receipt::{
    KeySet, Value, VerifyOptions, json, load_keys_from_json, verify_receipt, verify_receipt_json,
};
use allowly_core::{Client, ClientConfig, VerificationErrorKind};
use serde_json::{Map, json as sj};

/// Errors that stop the walk: the server is unreachable or answered something the next step cannot build on.
pub type WalkError = Box<dyn std::error::Error + Send + Sync>;

/// Used only when `ALLOWLY_PII_PEPPER` is unset, so the demo runs from a clean clone. A real deployment keeps its pepper
/// secret: anyone holding it can test guessed emails against user ids.
pub const DEMO_PEPPER: &str = "allowly-demo-pepper-NOT-FOR-PRODUCTION";
/// The seed's user, agent, thread and context.
pub const DEMO_EMAIL: &str = "alice@example.com";
pub const EMAIL_AGENT: &str = "my-email-agent";
pub const BUDGET_AGENT: &str = "research-agent";
pub const THREAD: &str = "gmail:thread:abc123";
/// What the user is asked before `email.send` runs (the scope's `confirm_prompt`).
pub const SEND_PROMPT: &str = "Send this reply from your Gmail account (thread abc123)?";
/// The budgeted authorization's cap, the first estimate, what that action really cost, and an estimate that no
/// longer fits once the actual cost is settled (20 + 31 > 50).
pub const BUDGET_LIMIT: i64 = 50_000_000;
pub const ESTIMATE_FITS: i64 = 24_000_000;
pub const ACTUAL_COST: i64 = 20_000_000;
pub const ESTIMATE_OVER: i64 = 31_000_000;

/// Where the server is and how to talk to it; built from the ready file of `allowly serve --dev`.
///
/// No `Debug`: it holds the runtime API key, and nothing here ever prints it.
#[derive(Clone)]
pub struct WalkConfig {
    pub base_url: String,
    pub workspace_id: String,
    pub runtime_api_key: String,
    /// `None` uses [`DEMO_PEPPER`] (and says so in the output).
    pub pepper: Option<String>,
    pub export_dir: Option<PathBuf>,
}

impl WalkConfig {
    /// Reads `{"base_url","workspace_id","runtime_api_key",…}`; the setup key in the same file is deliberately ignored,
    /// since the lifecycle needs only runtime routes.
    pub fn from_ready_file(path: &Path) -> Result<WalkConfig, WalkError> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let doc: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
        let field = |name: &str| {
            doc.get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("{}: `{name}` is missing", path.display()))
        };
        Ok(WalkConfig {
            base_url: field("base_url")?,
            workspace_id: field("workspace_id")?,
            runtime_api_key: field("runtime_api_key")?,
            pepper: None,
            export_dir: None,
        })
    }
}

/// One check as it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckStep {
    pub label: String,
    pub decision: Decision,
    pub reason: String,
}

/// What the walk observed, so a test can assert on it rather than on printed text.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub user_id: String,
    pub checks: Vec<CheckStep>,
    /// The prompt the user was shown for `email.send`.
    pub prompt_hint: Option<String>,
    /// `approved`, from the confirmation call.
    pub confirmation_decision: Option<String>,
    /// The confirmation's state after the re-check used it (`consumed`).
    pub confirmation_status_after_recheck: Option<String>,
    pub budget_spent_after_settlement: Option<i64>,
    pub receipts_fetched: usize,
    pub receipts_verified: usize,
    /// `action` or `event` of every verified receipt, in order.
    pub verified_names: Vec<String>,
    /// The verifier's reason for rejecting the tampered copy (`None` would mean it was accepted).
    pub tampered_rejected_with: Option<VerificationErrorKind>,
    /// Every deviation from what seed 000 promises; empty when the walk went as documented.
    pub unexpected: Vec<String>,
}

/// A receipt the walk was handed (pending or signed) and still has to fetch and verify.
struct Issued {
    what: String,
    receipt_id: String,
}

/// What receipts are verified against: the key document as served (exported verbatim) and the caller's trust.
struct Trust {
    text: String,
    keys: KeySet,
    options: VerifyOptions,
}

struct Walk<'o, W: Write> {
    client: Client,
    cfg: WalkConfig,
    out: &'o mut W,
    summary: Summary,
    issued: Vec<Issued>,
    /// Verified copies, kept for the export and the tamper step.
    signed: Vec<SignedReceipt>,
}

/// Runs the whole lifecycle, printing one line per step to `out`.
///
/// Deviations from the documented decisions do not stop the walk (later steps still show something useful); they are
/// marked `✗` and listed in [`Summary::unexpected`]. Only failures that leave nothing to continue with are errors.
pub async fn run(cfg: WalkConfig, out: &mut impl Write) -> Result<Summary, WalkError> {
    // `allowly serve --dev` speaks plain HTTP; allow that for loopback only, where the bearer key never leaves the host.
    let local = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"].iter().any(|p| cfg.base_url.starts_with(p));
    let client = Client::new(
        ClientConfig::new(cfg.runtime_api_key.clone())
            .with_base_url(cfg.base_url.clone())
            .with_allow_insecure_http(local)
            .with_user_agent("allowly-walkthrough"),
    )?;
    let mut walk = Walk { client, cfg, out, summary: Summary::default(), issued: Vec::new(), signed: Vec::new() };
    walk.lifecycle().await?;
    Ok(walk.summary)
}

impl<W: Write> Walk<'_, W> {
    async fn lifecycle(&mut self) -> Result<(), WalkError> {
        writeln!(self.out, "Allowly walkthrough against {} (workspace {})", self.cfg.base_url, self.cfg.workspace_id)?;
        self.section("1. The user authorizes an email agent")?;
        let user_id = self.user_id()?;
        let auth_id = self.authorize(&user_id).await?;
        self.section("2. Check before every action")?;
        self.confirm_flow(&auth_id).await?;
        self.section("3. A budgeted authorization")?;
        let denial_id = self.budget(&user_id).await?;
        self.section("4. Fetch every signed receipt and verify it offline")?;
        let trust = self.verify_with_keys().await?;
        let tampered = self.tamper_step(&trust, &denial_id)?;
        self.section("5. The user withdraws the authorization")?;
        self.revoke(&auth_id, &trust).await?;
        self.export(&trust.text, &tampered)?;

        let s = &self.summary;
        let verdict = if s.unexpected.is_empty() { "as documented" } else { "with deviations (✗ above)" };
        writeln!(
            self.out,
            "\nDone {verdict}: {} checks, {} of {} signed receipts verified offline, tampered copy {}.",
            s.checks.len(),
            s.receipts_verified,
            s.receipts_fetched,
            if s.tampered_rejected_with.is_some() { "rejected" } else { "ACCEPTED" }
        )?;
        Ok(())
    }

    /// The seed derives the user id from the email so no raw address ever lands in a signed receipt.
    fn user_id(&mut self) -> Result<String, WalkError> {
        let (pepper, origin) = match &self.cfg.pepper {
            Some(p) => (p.clone(), "pepper from ALLOWLY_PII_PEPPER"),
            None => (DEMO_PEPPER.to_owned(), "demo-only pepper; set ALLOWLY_PII_PEPPER in real use"),
        };
        let user_id = from_email(DEMO_EMAIL, &pepper)?;
        self.ok(format!("user id from_email({DEMO_EMAIL}) → {user_id} ({origin})"))?;
        self.summary.user_id = user_id.clone();
        Ok(user_id)
    }

    async fn authorize(&mut self, user_id: &str) -> Result<String, WalkError> {
        let send = ScopeGrant::with_constraints(
            "email.send",
            ScopeConstraints { confirm_prompt: Some(SEND_PROMPT.into()), ..Default::default() },
        );
        let mut metadata = Map::new();
        metadata.insert("source".into(), sj!("onboarding"));
        let request = CreateAuthorizationRequest::new(user_id, EMAIL_AGENT, [ScopeGrant::from("email.read"), send])
            .with_requires_confirm_for(["email.send"])
            .with_metadata(metadata);
        let auth = self.client.create_authorization(&request).await?;
        let scopes: Vec<&str> = auth.scope_names().collect();
        self.ok(format!(
            "create authorization {}: {EMAIL_AGENT} may {} (email.send needs the user's OK), expires {}{}",
            auth.authorization_id,
            scopes.join(", "),
            auth.expires_at,
            pending_note(auth.receipt.as_ref())
        ))?;
        self.track("authorization.create", auth.receipt.as_ref());
        Ok(auth.authorization_id)
    }

    /// allow → confirm → the user approves → re-check allows, and the approval is used up.
    async fn confirm_flow(&mut self, auth_id: &str) -> Result<(), WalkError> {
        self.check("check email.read", email_check(auth_id, "email.read"), Decision::Allow, reason::SCOPE_GRANTED)
            .await?;
        let send = self
            .check(
                "check email.send",
                email_check(auth_id, "email.send"),
                Decision::Confirm,
                reason::SCOPE_REQUIRES_USER_CONFIRMATION,
            )
            .await?;
        let hint = send.confirm_prompt_hint.clone().unwrap_or_default();
        let confirmation_id = send.confirmation_id.clone().unwrap_or_default();
        self.detail(format!("the user is asked: \"{hint}\" (confirmation {confirmation_id})"))?;
        self.summary.prompt_hint = send.confirm_prompt_hint.clone();
        let nonce = send.confirm_nonce.clone().ok_or("the confirm result carries no confirm_nonce; cannot approve")?;

        let resolution = self.client.approve_confirmation(&nonce, true, None).await?;
        let decision = resolution.decision.as_str().to_owned();
        let approved = decision == "approved";
        self.mark(approved, format!("user approves → {decision}{}", pending_note(Some(&resolution.receipt))))?;
        self.expect(approved, format!("approval answered {decision}, not approved"));
        self.summary.confirmation_decision = Some(decision);
        self.track("confirmation.resolve", Some(&resolution.receipt));

        // The seed re-checks with the scope only; the approval matches because the resource is omitted.
        self.check(
            "re-check email.send",
            CheckRequest::new(auth_id, ["email.send"]),
            Decision::Allow,
            reason::USER_CONFIRMED,
        )
        .await?;
        if !confirmation_id.is_empty() {
            let status = self.client.get_confirmation(&confirmation_id).await?.status.as_str().to_owned();
            let consumed = status == "consumed";
            self.mark(consumed, format!("confirmation {confirmation_id} is now {status} (an approval works once)"))?;
            self.expect(consumed, format!("confirmation is {status} after the re-check, not consumed"));
            self.summary.confirmation_status_after_recheck = Some(status);
        }
        Ok(())
    }

    /// A check within the cap, the settlement of its real cost, and a check that no longer fits. Returns the
    /// denial's receipt id (the tamper step forges it).
    async fn budget(&mut self, user_id: &str) -> Result<String, WalkError> {
        let request = CreateAuthorizationRequest::new(user_id, BUDGET_AGENT, ["llm.enrich"])
            .with_budget_limit_micros(BUDGET_LIMIT);
        let budgeted = self.client.create_authorization(&request).await?;
        let budget_id = budgeted.authorization_id.clone();
        self.ok(format!(
            "create authorization {budget_id}: {BUDGET_AGENT} may llm.enrich, capped at {}{}",
            dollars(BUDGET_LIMIT),
            pending_note(budgeted.receipt.as_ref())
        ))?;
        self.track("authorization.create", budgeted.receipt.as_ref());
        let fits = self
            .check(
                &format!("check llm.enrich estimated {}", dollars(ESTIMATE_FITS)),
                CheckRequest::new(&budget_id, ["llm.enrich"]).with_estimated_cost_micros(ESTIMATE_FITS),
                Decision::Allow,
                reason::SCOPE_GRANTED,
            )
            .await?;
        let check_receipt =
            fits.receipt.as_ref().map(|r| r.receipt_id().to_owned()).ok_or("allowed check has no receipt")?;
        let settlement = self.client.settle_budget(&SettlementRequest::new(check_receipt, ACTUAL_COST)).await?;
        self.ok(format!(
            "settle the actual cost {} → spent {} of {}{}",
            dollars(settlement.actual_cost_micros),
            dollars(settlement.spent_after_micros),
            dollars(BUDGET_LIMIT),
            pending_note(Some(&settlement.receipt))
        ))?;
        self.summary.budget_spent_after_settlement = Some(settlement.spent_after_micros);
        self.track("budget.settle", Some(&settlement.receipt));
        let over = self
            .check(
                &format!("check llm.enrich estimated {}", dollars(ESTIMATE_OVER)),
                CheckRequest::new(&budget_id, ["llm.enrich"]).with_estimated_cost_micros(ESTIMATE_OVER),
                Decision::Deny,
                reason::BUDGET_EXCEEDED,
            )
            .await?;
        Ok(over.receipt.as_ref().map(|r| r.receipt_id().to_owned()).unwrap_or_default())
    }

    /// The key document is fetched once (the seed caches it); from then on verification needs no server.
    async fn verify_with_keys(&mut self) -> Result<Trust, WalkError> {
        let text = self.client.workspace_keys_json(&self.cfg.workspace_id).await?;
        let keys = load_keys_from_json(text.as_bytes())?;
        let described: Vec<String> =
            keys.iter().map(|k| format!("{} ({})", k.key_id, short_fingerprint(&k.fingerprint))).collect();
        self.ok(format!(
            "key document of {}: {} (fetched once; verifying needs no network)",
            keys.workspace_id,
            described.join(", ")
        ))?;
        let options =
            VerifyOptions { expected_workspace_id: Some(self.cfg.workspace_id.clone()), ..VerifyOptions::default() };
        let trust = Trust { text, keys, options };
        self.verify_issued(&trust).await?;
        Ok(trust)
    }

    /// Someone edits the stored over-budget denial so it reads as an allow; the signature no longer matches.
    fn tamper_step(&mut self, trust: &Trust, denial_id: &str) -> Result<Value, WalkError> {
        let original = self
            .signed
            .iter()
            .find(|r| r.receipt_id() == denial_id)
            .cloned()
            .ok_or("the over-budget denial was not signed; nothing to tamper with")?;
        let tampered = tamper(&original)?;
        match verify_receipt(&tampered, &trust.keys, &trust.options) {
            Err(e) => {
                let id = original.receipt_id();
                self.ok(format!("a copy of {id} edited from deny to allow is rejected: {} ({})", e.kind, e.message))?;
                let expected = e.kind == VerificationErrorKind::SignatureMismatch;
                self.expect(expected, format!("tampered copy rejected as {}, not signature_mismatch", e.kind));
                self.summary.tampered_rejected_with = Some(e.kind);
            }
            Ok(_) => {
                self.mark(false, "a tampered copy verified".to_owned())?;
                self.expect(false, "a tampered receipt verified".to_owned());
            }
        }
        Ok(tampered)
    }

    /// Revocation is receipted too, and every later check on the authorization is denied.
    async fn revoke(&mut self, auth_id: &str, trust: &Trust) -> Result<(), WalkError> {
        let revocation = self.client.revoke_authorization(auth_id, &RevokeRequest::new("user")).await?;
        self.ok(format!(
            "revoke {auth_id} by user at {}{}",
            revocation.revoked_at,
            pending_note(Some(&revocation.receipt))
        ))?;
        self.track("authorization.revoke", Some(&revocation.receipt));
        self.check(
            "check email.read after revoke",
            email_check(auth_id, "email.read"),
            Decision::Deny,
            reason::AUTHORIZATION_REVOKED,
        )
        .await?;
        self.verify_issued(trust).await
    }

    async fn check(
        &mut self,
        label: &str,
        request: CheckRequest,
        decision: Decision,
        expected_reason: &str,
    ) -> Result<ScopeResult, WalkError> {
        let scope = request.scopes[0].clone();
        let response = self.client.check(&request).await?;
        let result = response.results.get(&scope).cloned().ok_or_else(|| format!("{label}: no result for {scope}"))?;
        let as_expected = result.decision == decision && result.reason == expected_reason;
        let mut line = format!("{label} → {} ({})", result.decision, result.reason);
        if let Some(b) = &result.budget {
            let (spent, limit) = (dollars(b.spent_micros), dollars(b.limit_micros));
            match b.spent_after_micros.filter(|_| result.is_allowed()) {
                Some(after) => line.push_str(&format!(", spent {spent} → {} of {limit}", dollars(after))),
                None => line.push_str(&format!(", already spent {spent} of {limit}")),
            }
        }
        if result.is_fallback {
            line.push_str(" [client-side fallback: the server did not answer]");
        }
        self.mark(as_expected, line)?;
        self.expect(
            as_expected,
            format!("{label}: expected {decision} ({expected_reason}), got {} ({})", result.decision, result.reason),
        );
        self.summary.checks.push(CheckStep {
            label: label.to_owned(),
            decision: result.decision,
            reason: result.reason.clone(),
        });
        self.track(&format!("{label} → {}", result.decision), result.receipt.as_ref());
        Ok(result)
    }

    /// Fetches (long-polling until signed) and verifies every receipt issued since the last call.
    async fn verify_issued(&mut self, trust: &Trust) -> Result<(), WalkError> {
        for issued in std::mem::take(&mut self.issued) {
            let signed = self.client.fetch_signed(&issued.receipt_id, FetchSignedOptions::default()).await?;
            self.summary.receipts_fetched += 1;
            match verify_receipt_json(signed.json().as_bytes(), &trust.keys, &trust.options) {
                Ok(v) if v.receipt_id == issued.receipt_id => {
                    self.summary.receipts_verified += 1;
                    self.summary.verified_names.push(v.name.clone());
                    self.ok(format!("{} {} → {} ({}): valid", v.receipt_id, v.name, v.decision, v.reason))?;
                }
                Ok(v) => {
                    self.mark(false, format!("{}: the server returned receipt {}", issued.receipt_id, v.receipt_id))?;
                    self.expect(false, format!("asked for {}, verified {}", issued.receipt_id, v.receipt_id));
                }
                Err(e) => {
                    self.mark(
                        false,
                        format!("{} [{}]: INVALID {} ({})", issued.receipt_id, issued.what, e.kind, e.message),
                    )?;
                    self.expect(false, format!("receipt {} did not verify: {e}", issued.receipt_id));
                }
            }
            self.signed.push(signed);
        }
        Ok(())
    }

    /// Writes what `scripts/demo.sh` hands to the CLI. Receipts are written byte for byte as signed; a JSON text never
    /// holds a raw line break inside a string, so folding line breaks keeps one receipt per line without changing it.
    fn export(&mut self, keys_text: &str, tampered: &Value) -> Result<(), WalkError> {
        let Some(dir) = self.cfg.export_dir.clone() else { return Ok(()) };
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("keys.json"), keys_text)?;
        let mut lines = String::new();
        for signed in &self.signed {
            lines.push_str(&signed.json().replace(['\n', '\r'], " "));
            lines.push('\n');
        }
        std::fs::write(dir.join("receipts.jsonl"), lines)?;
        std::fs::write(dir.join("tampered.json"), tampered.to_json_string())?;
        Ok(())
    }

    fn track(&mut self, what: &str, receipt: Option<&ReceiptEnvelope>) {
        match receipt {
            Some(r) => self.issued.push(Issued { what: what.to_owned(), receipt_id: r.receipt_id().to_owned() }),
            None => self.expect(false, format!("{what}: the response carried no receipt")),
        }
    }

    fn expect(&mut self, ok: bool, problem: String) {
        if !ok {
            self.summary.unexpected.push(problem);
        }
    }

    fn section(&mut self, title: &str) -> std::io::Result<()> {
        writeln!(self.out, "\n{title}")
    }

    fn ok(&mut self, text: String) -> std::io::Result<()> {
        self.mark(true, text)
    }

    fn mark(&mut self, ok: bool, text: String) -> std::io::Result<()> {
        writeln!(self.out, "  {} {text}", if ok { "✓" } else { "✗" })
    }

    fn detail(&mut self, text: String) -> std::io::Result<()> {
        writeln!(self.out, "      {text}")
    }
}

/// The seed's check: the target thread and what started the action, never the email's contents.
fn email_check(authorization_id: &str, scope: &str) -> CheckRequest {
    let mut context = Map::new();
    context.insert("initiated_by".into(), sj!("user"));
    context.insert("origin".into(), sj!("chat"));
    CheckRequest::new(authorization_id, [scope]).with_resource(THREAD).with_context(context)
}

/// A lossless copy of a signed receipt with its decision flipped, as a forger would edit it.
fn tamper(signed: &SignedReceipt) -> Result<Value, WalkError> {
    let mut value = json::parse(signed.json().as_bytes())?;
    let Value::Object(obj) = &mut value else { return Err("a signed receipt is not a JSON object".into()) };
    let flipped = if obj.get("decision").and_then(Value::as_str) == Some("deny") { "allow" } else { "deny" };
    obj.insert("decision", Value::String(flipped.into()));
    Ok(value)
}

fn pending_note(receipt: Option<&ReceiptEnvelope>) -> String {
    match receipt {
        Some(r) => format!(" — receipt {} {}", r.receipt_id(), r.status()),
        None => " — no receipt".to_owned(),
    }
}

fn dollars(micros: i64) -> String {
    let cents = micros / 10_000;
    format!("${}.{:02}", cents / 100, cents % 100)
}

fn short_fingerprint(fingerprint: &str) -> String {
    fingerprint.get(..19).map(|s| format!("{s}…")).unwrap_or_else(|| fingerprint.to_owned())
}

fn usage() -> ExitCode {
    eprintln!("usage: walkthrough [READY.json] [--export DIR]   (or set ALLOWLY_READY_FILE)");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut ready = std::env::var_os("ALLOWLY_READY_FILE").map(PathBuf::from);
    let mut export_dir = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--export" {
            let Some(dir) = args.next() else { return usage() };
            export_dir = Some(PathBuf::from(dir));
        } else if arg.to_string_lossy().starts_with('-') {
            return usage();
        } else {
            ready = Some(PathBuf::from(arg));
        }
    }
    let Some(ready) = ready else { return usage() };
    let mut cfg = match WalkConfig::from_ready_file(&ready) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    cfg.pepper = std::env::var("ALLOWLY_PII_PEPPER").ok().filter(|p| !p.is_empty());
    cfg.export_dir = export_dir;
    let mut stdout = std::io::stdout().lock();
    match run(cfg, &mut stdout).await {
        Ok(summary) if summary.unexpected.is_empty() => ExitCode::SUCCESS,
        Ok(summary) => {
            eprintln!("\nThe walkthrough deviated from the documented lifecycle:");
            summary.unexpected.iter().for_each(|p| eprintln!("  - {p}"));
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("\nerror: the walkthrough stopped: {e}");
            ExitCode::from(1)
        }
    }
}
