//! Structural checks of a receipt (verification steps 1–4): version, top-level shape and types, the signature
//! text, `policy_eval`, receipt kind and event/decision pairing, checkpoint context, and `alg`.
//!
//! These run before any hashing or curve arithmetic, so malformed or hostile receipts are refused cheaply and with
//! a message that names the offending field. Everything here borrows from the parsed receipt; nothing is cloned.

use super::json::{JsonString, Number, Object, Value, quote};
use super::keys::decode_b64url_canonical;
use super::timestamp::{MILLIS_PER_DAY, parse_millis};
use super::verify::ReceiptKind;
use crate::error::{VerificationError, VerificationErrorKind};

pub(crate) const SCHEMA_VERSION: &str = "4";
pub(crate) const ALG: &str = "Ed25519";

/// Every event with the decisions it may carry. `confirmation.resolve` is the approved 4.3 extension of wire 4.
pub(crate) const EVENTS: [(&str, &[&str]); 6] = [
    ("authorization.create", &["authorization_granted"]),
    ("authorization.revoke", &["authorization_revoked"]),
    ("budget.settle", &["budget_settled"]),
    ("confirmation.resolve", &["confirmation_approved", "confirmation_rejected"]),
    ("escalation.resolve", &["escalation_approved", "escalation_rejected"]),
    ("receipt.checkpoint", &["receipt_set_committed"]),
];
pub(crate) const CHECKPOINT_EVENT: &str = "receipt.checkpoint";
pub(crate) const ACTION_DECISIONS: [&str; 4] = ["allow", "confirm", "deny", "escalate"];
/// Events whose receipts never name a resource.
pub(crate) const NULL_RESOURCE_EVENTS: [&str; 3] = ["authorization.create", "authorization.revoke", CHECKPOINT_EVENT];

/// Top-level members, indexed by `slot` (the fuzz targets mutate the same list).
pub(crate) const FIELDS: [&str; 18] = [
    "schema_version",
    "receipt_id",
    "workspace_id",
    "issued_at",
    "decision",
    "reason",
    "user_id",
    "agent_id",
    "action",
    "event",
    "resource",
    "context",
    "authorization_id",
    "engine_version",
    "policy_eval",
    "alg",
    "key_id",
    "signature",
];
const ACTION: usize = 8;
const EVENT: usize = 9;
const POLICY_EVAL: usize = 14;

#[inline]
fn slot(name: &str) -> Option<usize> {
    Some(match name {
        "schema_version" => 0,
        "receipt_id" => 1,
        "workspace_id" => 2,
        "issued_at" => 3,
        "decision" => 4,
        "reason" => 5,
        "user_id" => 6,
        "agent_id" => 7,
        "action" => 8,
        "event" => 9,
        "resource" => 10,
        "context" => 11,
        "authorization_id" => 12,
        "engine_version" => 13,
        "policy_eval" => 14,
        "alg" => 15,
        "key_id" => 16,
        "signature" => 17,
        _ => return None,
    })
}

pub(crate) fn schema(msg: impl Into<String>) -> VerificationError {
    VerificationError::new(VerificationErrorKind::Schema, msg)
}

/// The checked top-level fields of a receipt, borrowed from it.
#[derive(Debug)]
pub(crate) struct Fields<'a> {
    pub obj: &'a Object,
    pub receipt_id: &'a str,
    pub workspace_id: &'a str,
    pub issued_at: &'a str,
    pub decision: &'a str,
    pub reason: &'a str,
    pub kind: ReceiptKind,
    /// The `action` or the `event`.
    pub name: &'a str,
    pub authorization_id: Option<&'a str>,
    pub key_id: &'a str,
    pub signature: [u8; 64],
}

/// A checkpoint's validated `context`.
#[derive(Debug, Clone)]
pub(crate) struct CheckpointContext<'a> {
    pub period_start: &'a str,
    pub period_start_ms: i64,
    pub period_end: &'a str,
    pub period_end_ms: i64,
    pub receipt_count: i64,
    pub merkle_root: &'a str,
    pub previous_checkpoint_id: Option<&'a str>,
    pub previous_merkle_root: Option<&'a str>,
}

pub(crate) fn type_error(field: &str, expected: &str, got: &Value) -> VerificationError {
    schema(format!("{field} must be {expected}, got {}", got.type_name()))
}

fn lone_surrogate(field: &str) -> VerificationError {
    VerificationError::new(VerificationErrorKind::Malformed, format!("{field} contains an unpaired unicode surrogate"))
}

#[inline]
pub(crate) fn string_of<'a>(field: &str, v: &'a Value) -> Result<&'a str, VerificationError> {
    match v {
        Value::String(s) => s.as_str().ok_or_else(|| lone_surrogate(field)),
        other => Err(type_error(field, "a string", other)),
    }
}

#[inline]
pub(crate) fn nullable_string_of<'a>(field: &str, v: &'a Value) -> Result<Option<&'a str>, VerificationError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => s.as_str().map(Some).ok_or_else(|| lone_surrogate(field)),
        other => Err(type_error(field, "a string or null", other)),
    }
}

/// An event receipt's pairing rules (both wires): a known event, one of its decisions, the authorization and
/// resource nullness it requires, and a checkpoint's context and timing.
pub(crate) fn check_event(
    event: &str,
    decision: &str,
    resource: Option<&str>,
    authorization_id: Option<&str>,
    context: &Object,
    issued_at: &str,
) -> Result<(), VerificationError> {
    let Some((_, decisions)) = EVENTS.iter().find(|(e, _)| *e == event) else {
        return Err(schema(format!(
            "event must be one of {}, got {}",
            quoted_list(EVENTS.iter().map(|(e, _)| *e)),
            quote(event)
        )));
    };
    if !decisions.contains(&decision) {
        return Err(schema(match decisions {
            [only] => format!("{event} receipt must have decision {only:?}, got {}", quote(decision)),
            _ => format!(
                "{event} receipt must have decision in {}, got {}",
                quoted_list(decisions.iter().copied()),
                quote(decision)
            ),
        }));
    }
    if event == CHECKPOINT_EVENT {
        if authorization_id.is_some() {
            return Err(schema(format!("{event} receipt must have null authorization_id")));
        }
    } else if authorization_id.is_none() {
        return Err(schema(format!("{event} receipt must have non-null authorization_id")));
    }
    if resource.is_some() && NULL_RESOURCE_EVENTS.contains(&event) {
        return Err(schema(format!("{event} receipt must have null resource")));
    }
    if event == CHECKPOINT_EVENT {
        let ctx = checkpoint_context(context)?;
        // An unparsable issued_at is reported by the timestamp step with its own message.
        if let Ok(at) = parse_millis(issued_at) {
            if at < ctx.period_end_ms {
                return Err(schema(format!(
                    "{event} issued_at {} must be at or after period_end {}",
                    quote(issued_at),
                    ctx.period_end
                )));
            }
        }
    }
    Ok(())
}

/// An action receipt's decision (both wires): never an event's decision, and one of the action decisions.
pub(crate) fn check_action_decision(action: &str, decision: &str) -> Result<(), VerificationError> {
    if EVENTS.iter().any(|(_, ds)| ds.contains(&decision)) {
        return Err(schema(format!(
            "decision {} requires an event receipt (event field), got an action receipt with action {}",
            quote(decision),
            quote(action)
        )));
    }
    if !ACTION_DECISIONS.contains(&decision) {
        return Err(schema(format!(
            "action receipt must have decision in {}, got {}",
            quoted_list(ACTION_DECISIONS),
            quote(decision)
        )));
    }
    Ok(())
}

pub(crate) fn quoted_list<'s>(names: impl IntoIterator<Item = &'s str>) -> String {
    let parts: Vec<String> = names.into_iter().map(quote).collect();
    format!("[{}]", parts.join(", "))
}

/// Exact member sets, reported like the top level: unknown members first, then missing ones, both sorted.
pub(crate) fn exact_members(obj: &Object, expected: &[&str], what: &str) -> Result<(), VerificationError> {
    let mut unknown: Vec<&str> = obj
        .members()
        .iter()
        .map(|(k, _)| k)
        .filter(|k| !k.as_str().is_some_and(|k| expected.contains(&k)))
        .map(JsonString::lossy)
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        return Err(schema(format!("{what} has unknown fields: {}", quoted_list(unknown))));
    }
    let mut missing: Vec<&str> = expected.iter().copied().filter(|f| obj.get(f).is_none()).collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        return Err(schema(format!("{what} missing fields: {}", quoted_list(missing))));
    }
    Ok(())
}

/// Steps 1–4. Returns the receipt's fields for the cryptographic steps.
pub(crate) fn check_structure(receipt: &Value) -> Result<Fields<'_>, VerificationError> {
    let obj = receipt.as_object().ok_or_else(|| schema("receipt must be an object"))?;

    let mut slots: [Option<&Value>; FIELDS.len()] = [None; FIELDS.len()];
    let mut unknown: Vec<&str> = Vec::new();
    for (name, value) in obj.members() {
        match name.as_str().and_then(slot) {
            Some(i) => slots[i] = Some(value),
            None => unknown.push(name.lossy()),
        }
    }

    // Step 1: version.
    match slots[0] {
        Some(Value::String(s)) if s.as_str() == Some(SCHEMA_VERSION) => {}
        other => {
            let got = match other {
                None => "missing".to_owned(),
                Some(Value::String(s)) => quote(s.lossy()),
                Some(v) => v.type_name().to_owned(),
            };
            return Err(VerificationError::new(
                VerificationErrorKind::UnsupportedVersion,
                format!("unsupported schema_version: {got} (this verifier accepts only \"{SCHEMA_VERSION}\")"),
            ));
        }
    }

    // Step 2: shape and types.
    if !unknown.is_empty() {
        unknown.sort_unstable();
        return Err(schema(format!("unknown top-level fields: {}", quoted_list(unknown))));
    }
    let missing: Vec<&str> = FIELDS
        .iter()
        .enumerate()
        .filter(|&(i, _)| slots[i].is_none() && !matches!(i, ACTION | EVENT | POLICY_EVAL))
        .map(|(_, f)| *f)
        .collect();
    if !missing.is_empty() {
        let mut missing = missing;
        missing.sort_unstable();
        return Err(schema(format!("missing top-level fields: {}", quoted_list(missing))));
    }
    let req = |i: usize| slots[i].expect("presence checked above");
    let receipt_id = string_of("receipt_id", req(1))?;
    let workspace_id = string_of("workspace_id", req(2))?;
    let issued_at = string_of("issued_at", req(3))?;
    let decision = string_of("decision", req(4))?;
    let reason = string_of("reason", req(5))?;
    string_of("user_id", req(6))?;
    string_of("agent_id", req(7))?;
    let action = slots[ACTION].map(|v| string_of("action", v)).transpose()?;
    let event = slots[EVENT].map(|v| string_of("event", v)).transpose()?;
    let resource = nullable_string_of("resource", req(10))?;
    let context = match req(11) {
        Value::Object(o) => o,
        other => return Err(type_error("context", "an object", other)),
    };
    let authorization_id = nullable_string_of("authorization_id", req(12))?;
    string_of("engine_version", req(13))?;
    let alg = string_of("alg", req(15))?;
    let key_id = string_of("key_id", req(16))?;
    let signature = check_signature_text(string_of("signature", req(17))?)?;
    if let Some(pe) = slots[POLICY_EVAL] {
        check_policy_eval(pe)?;
    }

    // Step 3: kind and pairing.
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
            if slots[POLICY_EVAL].is_some() {
                return Err(schema("policy_eval must be absent on event receipts"));
            }
            (ReceiptKind::Event, event)
        }
    };

    // Step 4: algorithm.
    if alg != ALG {
        return Err(schema(format!("unsupported alg {} (only \"{ALG}\" is defined)", quote(alg))));
    }

    Ok(Fields {
        obj,
        receipt_id,
        workspace_id,
        issued_at,
        decision,
        reason,
        kind,
        name,
        authorization_id,
        key_id,
        signature,
    })
}

fn check_signature_text(text: &str) -> Result<[u8; 64], VerificationError> {
    if text.is_empty() {
        return Err(schema("signature must be a non-empty canonical unpadded base64url string"));
    }
    let mut buf = [0u8; 96];
    match decode_b64url_canonical(text, &mut buf) {
        Some(64) => Ok(buf[..64].try_into().expect("64 bytes")),
        Some(n) => {
            Err(schema(format!("signature must be canonical unpadded base64url of exactly 64 bytes, got {n} bytes")))
        }
        None => Err(schema(
            "signature is not canonical unpadded base64url (alphabet A-Z a-z 0-9 - _, no padding, zero pad bits) of 64 bytes",
        )),
    }
}

/// A scalar allowed in `policy_eval`: string, integer, boolean or null. Unsafe integers pass here so that
/// canonicalization reports them with the safe-range rule.
fn is_policy_scalar(v: &Value) -> bool {
    matches!(
        v,
        Value::Null | Value::Bool(_) | Value::String(_) | Value::Number(Number::Int(_) | Number::UnsafeInteger(_))
    )
}

fn check_policy_eval(pe: &Value) -> Result<(), VerificationError> {
    let Value::Object(pe) = pe else {
        return Err(type_error("policy_eval", "an object", pe));
    };
    exact_members(pe, &["matched_condition", "field_value"], "policy_eval")?;
    match pe.get("matched_condition") {
        Some(Value::Null) | None => {}
        Some(Value::Object(mc)) => {
            exact_members(mc, &["field", "op", "value"], "policy_eval.matched_condition")?;
            for f in ["field", "op"] {
                if !matches!(mc.get(f), Some(Value::String(_))) {
                    return Err(schema(format!("policy_eval.matched_condition.{f} must be a string")));
                }
            }
            let value = mc.get("value").expect("members checked");
            let ok = match value {
                Value::Array(items) => items.iter().all(is_policy_scalar),
                v => is_policy_scalar(v),
            };
            if !ok {
                return Err(schema(
                    "policy_eval.matched_condition.value must be a string, integer, boolean, null or an array of those",
                ));
            }
        }
        Some(other) => return Err(type_error("policy_eval.matched_condition", "an object or null", other)),
    }
    let fv = pe.get("field_value").expect("members checked");
    if !is_policy_scalar(fv) {
        return Err(schema(format!(
            "policy_eval.field_value must be a string, integer, boolean or null, got {}",
            fv.type_name()
        )));
    }
    Ok(())
}

const CHECKPOINT_CONTEXT: [&str; 6] =
    ["period_start", "period_end", "receipt_count", "merkle_root", "previous_checkpoint_id", "previous_merkle_root"];

/// `sha256:` followed by exactly 64 lowercase hex digits.
pub(crate) fn is_root_text(s: &str) -> bool {
    s.len() == 71
        && s.starts_with("sha256:")
        && s.as_bytes()[7..].iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Validates a checkpoint's context: exactly six members, one whole UTC day, a root in the committed spelling,
/// and prior links that are either both present or both null.
pub(crate) fn checkpoint_context(ctx: &Object) -> Result<CheckpointContext<'_>, VerificationError> {
    const WHAT: &str = "receipt.checkpoint context";
    exact_members(ctx, &CHECKPOINT_CONTEXT, WHAT)?;
    let get = |f: &str| ctx.get(f).expect("members checked");
    let period = |f: &str| -> Result<(&str, i64), VerificationError> {
        let text = string_of(f, get(f)).map_err(|e| schema(format!("{WHAT}.{}", e.message)))?;
        let ms = parse_millis(text).map_err(|e| schema(format!("{WHAT}: {}", e.describe(f, text))))?;
        Ok((text, ms))
    };
    let (period_start, period_start_ms) = period("period_start")?;
    let (period_end, period_end_ms) = period("period_end")?;
    if period_start_ms.rem_euclid(MILLIS_PER_DAY) != 0 || period_end_ms - period_start_ms != MILLIS_PER_DAY {
        return Err(schema(format!(
            "{WHAT}: period must be exactly one UTC day from midnight to midnight, got {period_start} .. {period_end}"
        )));
    }
    let receipt_count = match get("receipt_count") {
        Value::Number(Number::Int(n)) if *n >= 0 => *n,
        other => {
            return Err(schema(format!(
                "{WHAT}.receipt_count must be a non-negative integer, got {}",
                match other {
                    Value::Number(n) => n.to_string(),
                    v => v.type_name().to_owned(),
                }
            )));
        }
    };
    let merkle_root = match get("merkle_root") {
        Value::String(s) if s.as_str().is_some_and(is_root_text) => s.lossy(),
        _ => return Err(schema(format!("{WHAT}.merkle_root must be sha256: followed by 64 lowercase hex digits"))),
    };
    let previous_checkpoint_id = match get("previous_checkpoint_id") {
        Value::Null => None,
        Value::String(s) => Some(s.as_str().ok_or_else(|| lone_surrogate("previous_checkpoint_id"))?),
        other => return Err(type_error(&format!("{WHAT}.previous_checkpoint_id"), "a string or null", other)),
    };
    let previous_merkle_root = match get("previous_merkle_root") {
        Value::Null => None,
        Value::String(s) if s.as_str().is_some_and(is_root_text) => Some(s.lossy()),
        _ => {
            return Err(schema(format!(
                "{WHAT}.previous_merkle_root must be null or sha256: followed by 64 lowercase hex digits"
            )));
        }
    };
    if previous_checkpoint_id.is_some() != previous_merkle_root.is_some() {
        return Err(schema(format!(
            "{WHAT}: previous_checkpoint_id and previous_merkle_root must both be null or both be set"
        )));
    }
    Ok(CheckpointContext {
        period_start,
        period_start_ms,
        period_end,
        period_end_ms,
        receipt_count,
        merkle_root,
        previous_checkpoint_id,
        previous_merkle_root,
    })
}
