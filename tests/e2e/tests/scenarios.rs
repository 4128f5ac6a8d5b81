//! The cross-language scenarios (`tests/scenarios/*.json`) through the Rust SDK: each step name maps to one call of
//! allowly-core's public API; every expectation lives in the JSON. With `ALLOWLY_PARITY_DIR` set, the per-scenario
//! outcome is written to `$ALLOWLY_PARITY_DIR/rust.json` for `make parity`.

mod common;
#[path = "common/scenario.rs"]
mod scenario;

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use allowly_core::agent_identity::{AgentCredential, unix_now};
use allowly_core::client::FetchSignedOptions;
use allowly_core::model::{
    CheckRequest, CreateAuthorizationRequest, CreateMemberRequest, EscalationResolution, RevokeRequest,
    SettlementRequest,
};
use allowly_core::receipt::{KeySet, ReceiptKind, VerifyOptions, load_keys_from_json, verify_receipt_json};
use allowly_core::{Client, ClientConfig, Error, FallbackMode};
use scenario::{load_scenarios, matches};
use serde_json::{Map, Value, json};

const LANGUAGE: &str = "rust";

enum Fail {
    Sdk(Error),
    Runner(String),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Sdk(e)
    }
}

fn runner<E: std::fmt::Display>(e: E) -> Fail {
    Fail::Runner(e.to_string())
}

struct Run {
    env: Value,
    runtime_key: String,
    setup_key: String,
    client: Client,
    vars: Map<String, Value>,
    keys: HashMap<String, KeySet>,
    seen: HashMap<String, allowly_core::webhook::MemorySeenIds>,
}

fn client(env: &Value, key: &str, opts: Option<&Value>) -> Result<Client, Fail> {
    let o = opts.cloned().unwrap_or_else(|| json!({}));
    let base = o["base_url"].as_str().or(env["base_url"].as_str()).unwrap_or_default();
    let mut c = ClientConfig::new(o["api_key"].as_str().unwrap_or(key))
        .with_base_url(base)
        .with_allow_insecure_http(true)
        .with_retry_base_delay(Duration::from_millis(10));
    if let Some(n) = o["max_retries"].as_u64() {
        c = c.with_max_retries(n as u32);
    }
    if let Some(ms) = o["check_timeout_ms"].as_u64() {
        c = c.with_check_timeout(Duration::from_millis(ms));
    }
    for (scope, mode) in o["fallback_by_scope"].as_object().into_iter().flatten() {
        c = c.with_fallback(scope, if mode == "open" { FallbackMode::Open } else { FallbackMode::Closed });
    }
    if let Some(text) = o["agent_credential"].as_str() {
        c = c.with_agent_credential(AgentCredential::from_json(text)?);
    }
    if let Some(token) = o["agent_token"].as_str().map(str::to_owned) {
        c = c.with_agent_token_supplier(move || Ok(token.clone()));
    }
    Ok(Client::new(c)?)
}

fn resolve(vars: &Map<String, Value>, v: &Value) -> Result<Value, Fail> {
    scenario::resolve(vars, v).map_err(Fail::Runner)
}

fn error_json(e: &Error) -> Value {
    let kind = e.kind().as_str();
    let fields: Vec<&str> = match e {
        Error::Validation { fields, .. } => fields.iter().map(|f| f.field.as_str()).collect(),
        _ => vec![],
    };
    let retry_after = match e {
        Error::RateLimited { retry_after, .. } => retry_after.map(|d| d.as_secs_f64()),
        _ => None,
    };
    json!({"type": kind, "code": e.code(), "status": e.status(), "fields": fields, "retry_after": retry_after})
}

fn expect_error(exp: &Value, e: &Error) -> Result<(), String> {
    let act = error_json(e);
    let mut exp = exp.clone();
    let want_fields = exp.as_object_mut().and_then(|o| o.remove("fields"));
    matches(&exp, &act, "error").map_err(|m| format!("{m} ({e})"))?;
    for f in want_fields.as_ref().and_then(Value::as_array).into_iter().flatten() {
        if !act["fields"].as_array().is_some_and(|a| a.contains(f)) {
            return Err(format!("error fields {} lack {f} ({e})", act["fields"]));
        }
    }
    Ok(())
}

/// Macros rather than generic functions: this crate does not depend on serde itself, only on serde_json.
macro_rules! to_json {
    ($v:expr) => {
        serde_json::to_value($v).map_err(runner)
    };
}

macro_rules! from_json {
    ($t:ty, $v:expr) => {
        serde_json::from_value::<$t>($v.clone()).map_err(runner)?
    };
}

impl Run {
    async fn op(&mut self, step: &Value, args: &Value) -> Result<Value, Fail> {
        let c = match step.get("client") {
            Some(o) => client(&self.env, &self.runtime_key, Some(&resolve(&self.vars, o)?))?,
            None => self.client.clone(),
        };
        let s = |k: &str| args[k].as_str().unwrap_or_default().to_owned();
        match step["op"].as_str().unwrap_or_default() {
            "create_authorization" => {
                to_json!(&c.create_authorization(&from_json!(CreateAuthorizationRequest, args)).await?)
            }
            "get_authorization" => to_json!(&c.get_authorization(&s("authorization_id")).await?),
            "revoke" => {
                let mut req = RevokeRequest::new(s("revoked_by"));
                req.notes = args["notes"].as_str().map(str::to_owned);
                to_json!(&c.revoke_authorization(&s("authorization_id"), &req).await?)
            }
            "check" => to_json!(&c.check(&from_json!(CheckRequest, args)).await?),
            "approve_confirmation" => {
                let ttl = args["ttl_seconds"].as_u64().map(Duration::from_secs);
                to_json!(&c.approve_confirmation(&s("confirm_nonce"), args["approved"] == true, ttl).await?)
            }
            "settle_budget" => to_json!(&c.settle_budget(&from_json!(SettlementRequest, args)).await?),
            "fetch_signed" => {
                let ms = |k: &str| args[k].as_u64().map(Duration::from_millis).ok_or_else(|| runner(format!("no {k}")));
                let opts = FetchSignedOptions { poll_interval: ms("poll_interval_ms")?, timeout: ms("timeout_ms")? };
                let r = c.fetch_signed(&s("receipt_id"), opts).await?;
                let parsed: Value = serde_json::from_str(r.json()).map_err(runner)?;
                Ok(json!({"receipt_id": r.receipt_id(), "json": r.json(), "receipt": parsed}))
            }
            "fetch_keys" => {
                let text = c.workspace_keys_json(&s("workspace_id")).await?;
                let keys = load_keys_from_json(text.as_bytes()).map_err(Error::from)?;
                let out = json!({"workspace_id": keys.workspace_id, "fingerprints": keys.fingerprints()});
                self.keys.insert(step["save"].as_str().unwrap_or_default().to_owned(), keys);
                Ok(out)
            }
            "verify_receipt" => {
                let name = step["args"]["keys"].as_str().unwrap_or_default().trim_start_matches('$');
                let keys = self.keys.get(name).ok_or_else(|| Fail::Runner(format!("no key set ${name}")))?;
                let mut text = args["receipt"]["json"].as_str().unwrap_or_default().to_owned();
                if let Some(t) = args.get("tamper") {
                    let find = t["find"].as_str().unwrap_or_default();
                    if !text.contains(find) {
                        return Err(Fail::Runner(format!("tamper: {find} not in the receipt")));
                    }
                    text = text.replacen(find, t["replace"].as_str().unwrap_or_default(), 1);
                }
                let opts = VerifyOptions {
                    expected_workspace_id: args["expected_workspace_id"].as_str().map(str::to_owned),
                    ..Default::default()
                };
                let v = verify_receipt_json(text.as_bytes(), keys, &opts).map_err(Error::from)?;
                let kind = if v.kind == ReceiptKind::Action { "action" } else { "event" };
                Ok(json!({"receipt_id": v.receipt_id, "workspace_id": v.workspace_id, "kind": kind, "name": v.name,
                    "decision": v.decision, "reason": v.reason, "authorization_id": v.authorization_id,
                    "key_id": v.key_id, "issued_at": v.issued_at}))
            }
            "from_email" => Ok(json!({"user_id": allowly_core::identifiers::from_email(&s("email"), &s("pepper"))?})),
            "verify_webhook" => {
                use allowly_core::webhook::{WebhookVerifyOptions, verify_webhook_with};
                let headers: Vec<(String, String)> = args["headers"]
                    .as_array()
                    .ok_or_else(|| runner("no headers"))?
                    .iter()
                    .map(|h| {
                        (h[0].as_str().unwrap_or_default().to_owned(), h[1].as_str().unwrap_or_default().to_owned())
                    })
                    .collect();
                let seen = self.seen.entry(s("seen")).or_default();
                let opts = WebhookVerifyOptions { now: args["now"].as_i64(), seen: Some(&*seen), ..Default::default() };
                let e = verify_webhook_with(
                    s("body").as_bytes(),
                    headers,
                    &s("secret"),
                    &s("expected_workspace_id"),
                    &opts,
                )?;
                Ok(json!({"id": e.id, "type": e.event_type, "timestamp": e.timestamp, "workspace_id": e.workspace_id,
                    "data": e.data}))
            }
            "rotate_signing_key" => to_json!(&c.rotate_signing_key().await?),
            "set_webhook" => to_json!(&c.set_webhook(&s("url")).await?),
            "enroll_agent" => {
                let admin = client(&self.env, &self.setup_key, None)?;
                let a = admin.enroll_agent(&s("agent_id")).await?;
                Ok(json!({"agent_id": a.agent_id, "binding_id": a.binding_id, "key_id": a.key_id,
                    "workspace_id": a.workspace_id, "credential_json": a.to_json()}))
            }
            "mint_agent_token" => {
                let credential = AgentCredential::from_json(&s("credential"))?;
                let offset = args["issued_at_offset_seconds"].as_i64().unwrap_or(0);
                Ok(json!({"token": credential.token_at(unix_now() + offset)}))
            }
            "create_member" => {
                let request = CreateMemberRequest {
                    member_id: s("member_id"),
                    display_name: args["display_name"].as_str().map(str::to_owned),
                };
                let m = c.create_member(&request).await?;
                Ok(json!({"member_id": m.member_id, "display_name": m.display_name, "created_at": m.created_at,
                    "revoked_at": m.revoked_at, "credential": m.credential.expose()}))
            }
            "resolve_escalation" => {
                let resolution = EscalationResolution::parse(&s("resolution"))?;
                let (by, note) = (args["resolved_by"].as_str(), args["note"].as_str());
                to_json!(&c.resolve_escalation_as(&s("escalation_id"), resolution, by, note).await?)
            }
            "get_escalation_status" => to_json!(&c.get_escalation_status(&s("escalation_id")).await?),
            "wait_for_escalation" => {
                let ms = |k: &str| args[k].as_u64().map(Duration::from_millis).ok_or_else(|| runner(format!("no {k}")));
                let (timeout, poll) = (ms("timeout_ms")?, ms("poll_interval_ms")?);
                to_json!(&c.wait_for_escalation(&s("escalation_id"), timeout, poll).await?)
            }
            "sleep" => {
                tokio::time::sleep(Duration::from_millis(args["ms"].as_u64().unwrap_or(0))).await;
                Ok(Value::Null)
            }
            other => Err(Fail::Runner(format!("unknown op {other}"))),
        }
    }

    async fn step(&mut self, i: usize, step: &Value) -> Result<(), String> {
        let at = |m: String| format!("step {i} ({}): {m}", step["op"]);
        let args = resolve(&self.vars, step.get("args").unwrap_or(&json!({}))).map_err(|e| at(fail_text(e)))?;
        let outcome = self.op(step, &args).await;
        match (outcome, step.get("error")) {
            (Ok(v), None) => {
                if let Some(exp) = step.get("expect") {
                    let exp = resolve(&self.vars, exp).map_err(|e| at(fail_text(e)))?;
                    matches(&exp, &v, "result").map_err(at)?;
                }
                if let Some(name) = step["save"].as_str() {
                    self.vars.insert(name.to_owned(), v);
                }
                Ok(())
            }
            (Ok(v), Some(e)) => Err(at(format!("expected error {e}, got {v}"))),
            (Err(Fail::Sdk(err)), Some(e)) => {
                expect_error(&resolve(&self.vars, e).map_err(|e| at(fail_text(e)))?, &err).map_err(at)
            }
            (Err(f), _) => Err(at(fail_text(f))),
        }
    }
}

fn fail_text(f: Fail) -> String {
    match f {
        Fail::Sdk(e) => format!("unexpected error {}: {e}", error_json(&e)),
        Fail::Runner(m) => format!("runner: {m}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_passes_through_the_rust_sdk() {
    let server = common::Server::start();
    let dead = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind"); // never accepts: a peer that never answers
    let env_of = |server: &common::Server| {
        json!({
            "base_url": server.field("base_url"), "workspace_id": server.field("workspace_id"),
            "dead_base_url": format!("http://127.0.0.1:{dead}"),
            "silent_base_url": format!("http://{}", silent.local_addr().expect("addr")),
            "setup_api_key": server.field("setup_api_key"),
        })
    };
    let mut report = Map::new();
    let mut failures = Vec::new();
    for sc in load_scenarios() {
        let name = sc["name"].as_str().expect("name").to_owned();
        let skip = sc["skip"].as_str().or(sc["skip_languages"][LANGUAGE].as_str());
        let result = if let Some(reason) = skip {
            json!({"status": "skip", "reason": reason})
        } else {
            // A scenario with `serve_args` gets a server of its own, started with those flags.
            let serve_args: Vec<&str> =
                sc["serve_args"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let own = (!serve_args.is_empty()).then(|| common::Server::start_with(&serve_args));
            let server = own.as_ref().unwrap_or(&server);
            let env = env_of(server);
            let (runtime_key, setup_key) = (server.field("runtime_api_key"), server.field("setup_api_key"));
            let client = client(&env, &runtime_key, None).unwrap_or_else(|_| panic!("client"));
            let mut vars = Map::new();
            vars.insert("env".into(), env.clone());
            let mut run = Run {
                env: env.clone(),
                runtime_key: runtime_key.clone(),
                setup_key: setup_key.clone(),
                client,
                vars,
                keys: HashMap::new(),
                seen: HashMap::new(),
            };
            let mut outcome = Ok(());
            for (i, step) in sc["steps"].as_array().expect("steps").iter().enumerate() {
                outcome = run.step(i, step).await;
                if outcome.is_err() {
                    break;
                }
            }
            match outcome {
                Ok(()) => json!({"status": "pass"}),
                Err(m) => {
                    failures.push(format!("{name}: {m}"));
                    json!({"status": "fail", "reason": m})
                }
            }
        };
        report.insert(name, result);
    }
    if let Ok(dir) = std::env::var("ALLOWLY_PARITY_DIR") {
        std::fs::create_dir_all(&dir).expect("parity dir");
        let doc = json!({"language": LANGUAGE, "results": report});
        std::fs::write(Path::new(&dir).join("rust.json"), serde_json::to_string_pretty(&doc).expect("ser"))
            .expect("write");
    }
    assert!(failures.is_empty(), "{} scenario(s) failed:\n{}", failures.len(), failures.join("\n"));
}
