//! Structural checks of a wire-5 payload (the decoded JWS `payload`): version, members and types, `policy_ref`,
//! `engine_version`, `policy_eval`, receipt kind and event/decision pairing, checkpoint context, and when
//! `policy_ref` must or must not be null.
//!
//! The payload carries no `alg`, `key_id` or `signature` (those live in the JWS header and envelope). Value rules
//! (integers only, safe range, surrogates, depth, size) were applied when the payload was decoded, so every string
//! here is Unicode text.

use super::json::{Number, Value, quote};
use super::schema::{
    ACTION_DECISIONS, CHECKPOINT_EVENT, check_action_decision, check_event, exact_members, nullable_string_of,
    quoted_list, schema, string_of, type_error,
};
use super::verify::ReceiptKind;
use crate::error::{VerificationError, VerificationErrorKind};

pub(crate) const SCHEMA_VERSION_5: &str = "5";
/// The one policy-evaluation profile wire 5 defines.
pub(crate) const POLICY_PROFILE: &str = "allowly.basic.v1";
/// The action whose receipts may omit `policy_ref` even when an authorization applies.
pub(crate) const SEAL_ACTION: &str = "record.seal";

const REQUIRED: [&str; 13] = [
    "schema_version",
    "receipt_id",
    "workspace_id",
    "issued_at",
    "decision",
    "reason",
    "user_id",
    "agent_id",
    "resource",
    "context",
    "authorization_id",
    "policy_ref",
    "engine_version",
];
const OPTIONAL: [&str; 3] = ["action", "event", "policy_eval"];

/// The checked fields of a wire-5 payload, borrowed from it.
#[derive(Debug)]
pub(crate) struct Fields5<'a> {
    pub receipt_id: &'a str,
    pub workspace_id: &'a str,
    pub issued_at: &'a str,
    pub decision: &'a str,
    pub reason: &'a str,
    pub kind: ReceiptKind,
    pub name: &'a str,
    pub authorization_id: Option<&'a str>,
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn hex64_field(v: &Value) -> bool {
    v.as_str().is_some_and(is_hex64)
}

/// Checks a payload; `payload` must already be known to be an object.
pub(crate) fn check_structure(payload: &Value) -> Result<Fields5<'_>, VerificationError> {
    let obj = payload.as_object().ok_or_else(|| type_error("JWS payload", "an object", payload))?;

    // Version.
    match obj.get("schema_version") {
        Some(Value::String(s)) if s.as_str() == Some(SCHEMA_VERSION_5) => {}
        other => {
            let got = match other {
                None => "missing".to_owned(),
                Some(Value::String(s)) => quote(s.lossy()),
                Some(v) => v.type_name().to_owned(),
            };
            return Err(VerificationError::new(
                VerificationErrorKind::UnsupportedVersion,
                format!("unsupported schema_version: {got} (a JWS receipt must have \"{SCHEMA_VERSION_5}\")"),
            ));
        }
    }

    // Members and types.
    let mut unknown: Vec<&str> = obj
        .members()
        .iter()
        .map(|(k, _)| k.lossy())
        .filter(|k| !REQUIRED.contains(k) && !OPTIONAL.contains(k))
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        return Err(schema(format!("unknown top-level fields: {}", quoted_list(unknown))));
    }
    let mut missing: Vec<&str> = REQUIRED.iter().copied().filter(|f| obj.get(f).is_none()).collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        return Err(schema(format!("missing top-level fields: {}", quoted_list(missing))));
    }
    let req = |f: &str| obj.get(f).expect("presence checked above");
    let receipt_id = string_of("receipt_id", req("receipt_id"))?;
    let workspace_id = string_of("workspace_id", req("workspace_id"))?;
    let issued_at = string_of("issued_at", req("issued_at"))?;
    let decision = string_of("decision", req("decision"))?;
    let reason = string_of("reason", req("reason"))?;
    string_of("user_id", req("user_id"))?;
    string_of("agent_id", req("agent_id"))?;
    let engine_version = string_of("engine_version", req("engine_version"))?;
    let resource = nullable_string_of("resource", req("resource"))?;
    let authorization_id = nullable_string_of("authorization_id", req("authorization_id"))?;
    let context = match req("context") {
        Value::Object(o) => o,
        other => return Err(type_error("context", "an object", other)),
    };
    let policy_ref = req("policy_ref");
    check_policy_ref(policy_ref)?;
    if !engine_version.strip_prefix("sha256:").is_some_and(is_hex64) {
        return Err(schema(format!(
            "engine_version must be sha256: followed by 64 lowercase hex digits, got {}",
            quote(engine_version)
        )));
    }
    let policy_eval = obj.get("policy_eval");
    if let Some(pe) = policy_eval {
        check_policy_eval(pe)?;
        if policy_ref.is_null() {
            return Err(schema("policy_eval requires a non-null policy_ref"));
        }
    }

    // Kind and pairing.
    let action = obj.get("action").map(|v| string_of("action", v)).transpose()?;
    let event = obj.get("event").map(|v| string_of("event", v)).transpose()?;
    let (kind, name) = match (action, event) {
        (Some(_), Some(_)) => {
            return Err(schema("receipt has both 'action' and 'event'; exactly one must be present"));
        }
        (None, None) => return Err(schema("receipt has neither 'action' nor 'event'; exactly one must be present")),
        (Some(action), None) => {
            check_action_decision(action, decision)?;
            (ReceiptKind::Action, action)
        }
        (None, Some(event)) => {
            check_event(event, decision, resource, authorization_id, context, issued_at)?;
            if policy_eval.is_some() {
                return Err(schema("policy_eval must be absent on event receipts"));
            }
            (ReceiptKind::Event, event)
        }
    };

    // When policy_ref must or must not be null.
    let has_ref = !policy_ref.is_null();
    match kind {
        ReceiptKind::Event if name == CHECKPOINT_EVENT && has_ref => {
            return Err(schema(format!("{CHECKPOINT_EVENT} receipt must have null policy_ref")));
        }
        ReceiptKind::Event if name != CHECKPOINT_EVENT && !has_ref => {
            return Err(schema(format!("{name} receipt must have non-null policy_ref")));
        }
        ReceiptKind::Action if authorization_id.is_none() && has_ref => {
            return Err(schema("action receipt with null authorization_id (unresolved) must have null policy_ref"));
        }
        ReceiptKind::Action if authorization_id.is_some() && !has_ref && name != SEAL_ACTION => {
            return Err(schema(format!(
                "action receipt with an authorization_id must have non-null policy_ref (only {SEAL_ACTION} may omit it)"
            )));
        }
        _ => {}
    }

    Ok(Fields5 { receipt_id, workspace_id, issued_at, decision, reason, kind, name, authorization_id })
}

/// `null`, or exactly `{policy_id: non-empty string, policy_version: 1..=2^53-1, definition_sha256: 64 hex}`.
fn check_policy_ref(v: &Value) -> Result<(), VerificationError> {
    let pr = match v {
        Value::Null => return Ok(()),
        Value::Object(o) => o,
        other => return Err(type_error("policy_ref", "an object or null", other)),
    };
    exact_members(pr, &["policy_id", "policy_version", "definition_sha256"], "policy_ref")?;
    let get = |f: &str| pr.get(f).expect("members checked");
    if get("policy_id").as_str().is_none_or(str::is_empty) {
        return Err(schema("policy_ref.policy_id must be a non-empty string"));
    }
    if !matches!(get("policy_version"), Value::Number(Number::Int(n)) if *n >= 1) {
        return Err(schema("policy_ref.policy_version must be an integer from 1 to 2^53-1"));
    }
    if !hex64_field(get("definition_sha256")) {
        return Err(schema("policy_ref.definition_sha256 must be 64 lowercase hex digits"));
    }
    Ok(())
}

/// Exactly `{input_sha256: 64 hex, result: {...}}` with the `allowly.basic.v1` result profile.
fn check_policy_eval(v: &Value) -> Result<(), VerificationError> {
    let Value::Object(pe) = v else {
        return Err(type_error("policy_eval", "an object", v));
    };
    exact_members(pe, &["input_sha256", "result"], "policy_eval")?;
    if !hex64_field(pe.get("input_sha256").expect("members checked")) {
        return Err(schema("policy_eval.input_sha256 must be 64 lowercase hex digits"));
    }
    let result = pe.get("result").expect("members checked");
    let Value::Object(r) = result else {
        return Err(type_error("policy_eval.result", "an object", result));
    };
    exact_members(
        r,
        &["profile", "status", "decision", "target", "matched_rule_id", "evaluated_fields"],
        "policy_eval.result",
    )?;
    let get = |f: &str| r.get(f).expect("members checked");
    if get("profile").as_str() != Some(POLICY_PROFILE) || get("status").as_str() != Some("ok") {
        return Err(schema(format!("policy_eval.result must have profile \"{POLICY_PROFILE}\" and status \"ok\"")));
    }
    let decision = match get("decision").as_str() {
        Some(d) if ACTION_DECISIONS.contains(&d) => d,
        _ => {
            return Err(schema(format!(
                "policy_eval.result.decision must be one of {}",
                quoted_list(ACTION_DECISIONS)
            )));
        }
    };
    let target = get("target");
    let target_ok = match decision {
        "allow" | "deny" => target.is_null(),
        "confirm" => target.as_str() == Some("agent_owner"),
        _ => target.as_str().is_some_and(|t| t.starts_with("member:") && (8..=256).contains(&t.chars().count())),
    };
    if !target_ok {
        return Err(schema(format!(
            "policy_eval.result.target does not match decision {} (allow/deny: null, confirm: \"agent_owner\", \
             escalate: \"member:<id>\" of at most 256 characters)",
            quote(decision)
        )));
    }
    let rule = get("matched_rule_id");
    let rule_present = match rule {
        Value::Null => false,
        Value::String(s) if (1..=128).contains(&s.lossy().chars().count()) => true,
        _ => {
            return Err(schema("policy_eval.result.matched_rule_id must be null or a string of 1 to 128 characters"));
        }
    };
    let fields = get("evaluated_fields");
    let Value::Object(fields) = fields else {
        return Err(type_error("policy_eval.result.evaluated_fields", "an object", fields));
    };
    if fields.members().iter().any(|(k, _)| !(1..=128).contains(&k.lossy().chars().count())) {
        return Err(schema("policy_eval.result.evaluated_fields names must be strings of 1 to 128 characters"));
    }
    if !rule_present && !fields.is_empty() {
        return Err(schema("policy_eval.result.evaluated_fields must be empty when matched_rule_id is null"));
    }
    Ok(())
}
