//! The check (`POST /v1/check`): one decision per requested scope, before every agent action.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::budget::BudgetInfo;
use super::policy::PolicyEval;
use super::receipt::ReceiptEnvelope;
use super::validate_id;
use crate::error::{Error, Result};

/// The most scopes one check may name (wire-v1).
pub const MAX_SCOPES_PER_CHECK: usize = 32;

/// The most bytes the serialized `context` of one check may take (wire-v1: "object ≤ 4 KiB").
pub const MAX_CONTEXT_BYTES: usize = 4096;

/// The reason codes, where they have always been reachable (`model::check::reason`).
pub use super::reason;
use super::reason::Reason;

/// Body of `POST /v1/check`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(description = "Body of `POST /v1/check` (`actions` is accepted for `scopes`)."))]
pub struct CheckRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub authorization_id: String,
    /// 1–32 unique, non-empty scope names.
    #[serde(alias = "actions")]
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeSet<String>, min_items = 1, max_items = 32))]
    pub scopes: Vec<String>,
    /// The target of the action (an identifier, never its contents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Facts for `confirm_when` / `deny_when`; keys `budget` and `session_id` are reserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Required by budgeted authorizations (one scope per check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub estimated_cost_micros: Option<i64>,
    /// When the caller asked, as RFC 3339 with a time zone; the server records it in each receipt's context as the
    /// caller's claim (it never decides with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_timestamp: Option<String>,
    /// Sent as `?wait=true`: the server waits up to 5 s for the receipts to be signed. Not part of the body.
    #[serde(skip)]
    pub wait: bool,
    /// Sent as the `Idempotency-Key` header instead of a generated one, so a caller's own retry (after a crash, from
    /// another process) is answered with the first answer. Not part of the body.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
    /// The call's arguments, to bind a confirmation to this exact call. Never sent: core sends their SHA-256 over
    /// canonical JSON as `arguments_sha256`, and the server uses an approval only for a re-check whose digest is the
    /// asking check's.
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub arguments: Option<Map<String, Value>>,
    /// Lowercase hex SHA-256 of the canonical arguments (`allowly_core::policy::arguments_sha256`); filled from
    /// `arguments` when that is given (both given must agree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub arguments_sha256: Option<String>,
    /// On the re-check after the user answered: the confirm result's `confirmation_id`, so only that answer is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation_id: Option<String>,
}

impl CheckRequest {
    pub fn new<S: Into<String>>(authorization_id: impl Into<String>, scopes: impl IntoIterator<Item = S>) -> Self {
        CheckRequest {
            authorization_id: authorization_id.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    pub fn with_context(mut self, context: Map<String, Value>) -> Self {
        self.context = Some(context);
        self
    }

    pub fn with_session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    pub fn with_estimated_cost_micros(mut self, micros: i64) -> Self {
        self.estimated_cost_micros = Some(micros);
        self
    }

    pub fn with_wait(mut self, wait: bool) -> Self {
        self.wait = wait;
        self
    }

    /// Adds ambient trace values (a run id, the agent's own step id, …) to the context, so every check made inside one
    /// traced run can be found by them in the audit trail. The caller's explicit context wins over the trace: a value
    /// passed for this one check is more specific than one set for the whole run. Every binding's `trace` helper goes
    /// through here, so the rule is the same in every language.
    pub fn with_trace(mut self, trace: Map<String, Value>) -> Self {
        if trace.is_empty() {
            return self;
        }
        let context = self.context.get_or_insert_with(Map::new);
        for (key, value) in trace {
            context.entry(key).or_insert(value);
        }
        self
    }

    /// Binds a confirmation this check asks for (or the answer it uses) to these arguments; see `arguments`.
    pub fn with_arguments(mut self, arguments: Map<String, Value>) -> Self {
        self.arguments = Some(arguments);
        self
    }

    /// The re-check of the call that asked `confirmation_id`: only that confirmation's answer may be used.
    pub fn with_confirmation_id(mut self, confirmation_id: impl Into<String>) -> Self {
        self.confirmation_id = Some(confirmation_id.into());
        self
    }

    /// The request as sent: `arguments_sha256` computed from `arguments` by core's canonicalizer.
    pub(crate) fn for_wire(&self) -> Result<std::borrow::Cow<'_, Self>> {
        let Some(arguments) = &self.arguments else { return Ok(std::borrow::Cow::Borrowed(self)) };
        let digest = crate::policy::arguments_sha256(&Value::Object(arguments.clone()));
        if self.arguments_sha256.as_ref().is_some_and(|d| *d != digest) {
            return Err(Error::invalid_input("arguments_sha256", "does not match the digest of arguments"));
        }
        let mut wire = self.clone();
        wire.arguments_sha256 = Some(digest);
        Ok(std::borrow::Cow::Owned(wire))
    }

    /// Checks that need no server. A failing request is rejected before sending and never falls back.
    pub fn validate(&self) -> Result<()> {
        validate_id("authorization_id", &self.authorization_id)?;
        if self.scopes.is_empty() {
            return Err(Error::invalid_input("scopes", "at least one scope is required"));
        }
        if self.scopes.len() > MAX_SCOPES_PER_CHECK {
            return Err(Error::invalid_input(
                "scopes",
                format!("at most {MAX_SCOPES_PER_CHECK} scopes per check, got {}", self.scopes.len()),
            ));
        }
        let mut seen = HashSet::with_capacity(self.scopes.len());
        for scope in &self.scopes {
            if scope.is_empty() {
                return Err(Error::invalid_input("scopes", "scope names must not be empty"));
            }
            if !seen.insert(scope.as_str()) {
                return Err(Error::invalid_input("scopes", format!("duplicate scope `{scope}`")));
            }
        }
        if let Some(key) = &self.idempotency_key {
            // A header value: visible ASCII only, bounded like the server's idempotency keys.
            if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
                return Err(Error::invalid_input("idempotency_key", "must be 1 to 255 visible ASCII characters"));
            }
        }
        if let Some(d) = &self.arguments_sha256 {
            if d.len() != 64 || !d.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(Error::invalid_input("arguments_sha256", "must be 64 lowercase hex digits"));
            }
        }
        if let Some(id) = &self.confirmation_id {
            validate_id("confirmation_id", id)?;
        }
        if let Some(ts) = &self.client_timestamp {
            let parsed = time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339);
            if parsed.is_err() {
                return Err(Error::invalid_input("client_timestamp", "must be an RFC 3339 timestamp with a time zone"));
            }
        }
        Ok(())
    }
}

/// The decision for one scope.
///
/// Deliberately closed: an unknown decision from a server fails the parse (a protocol error) instead of being
/// mistaken for something a caller might treat as allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Confirm,
    Deny,
    Escalate,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Confirm => "confirm",
            Decision::Deny => "deny",
            Decision::Escalate => "escalate",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result for one scope of a check.
///
/// `Debug` is written by hand so the single-use `confirm_nonce` never reaches a log line.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopeResult {
    pub decision: Decision,
    /// A reason code (see [`Reason`]); a string, so a newer server's reasons pass through.
    pub reason: String,
    /// The action receipt; absent only for client-side fallbacks.
    #[serde(default)]
    pub receipt: Option<ReceiptEnvelope>,
    /// On confirm: the single-use secret that approves or rejects this action. Treat like a password.
    #[serde(default)]
    pub confirm_nonce: Option<String>,
    /// On confirm: the id to poll with `get_confirmation` (safe to log).
    #[serde(default)]
    pub confirmation_id: Option<String>,
    #[serde(default)]
    pub confirm_expires_at: Option<String>,
    #[serde(default)]
    pub confirm_prompt_hint: Option<String>,
    /// Present when the authorization has a budget.
    #[serde(default)]
    pub budget: Option<BudgetInfo>,
    /// On escalate: the id to poll the escalation with (safe to log).
    #[serde(default)]
    pub escalation_id: Option<String>,
    /// On escalate: who is asked, `member:<account_user_id>`.
    #[serde(default)]
    pub escalation_to: Option<String>,
    #[serde(default)]
    pub escalation_expires_at: Option<String>,
    /// The policy evidence of this decision, as JSON because it has two shapes: a policy edition's
    /// `{input_sha256, result}` and a scope grant's `{matched_condition, field_value}`.
    #[serde(default)]
    pub policy_eval: Option<Value>,
    /// True only for results made up by the client because the server was unreachable or too slow.
    #[serde(default)]
    pub is_fallback: bool,
}

impl ScopeResult {
    pub fn is_allowed(&self) -> bool {
        self.decision == Decision::Allow
    }

    /// `policy_eval` as a policy edition's evaluation; `None` when absent or in the scope-grant shape. Parsed strictly
    /// (unknown members refused), as the signed evidence it is.
    pub fn policy_evaluation(&self) -> Option<PolicyEval> {
        self.policy_eval.as_ref().and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// The reason as a [`Reason`]; `None` when a newer server sent one this version does not know.
    pub fn reason_code(&self) -> Option<Reason> {
        Reason::parse(&self.reason)
    }
}

impl fmt::Debug for ScopeResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopeResult")
            .field("decision", &self.decision)
            .field("reason", &self.reason)
            .field("receipt", &self.receipt)
            .field("confirm_nonce", &self.confirm_nonce.as_ref().map(|_| "[redacted]"))
            .field("confirmation_id", &self.confirmation_id)
            .field("confirm_expires_at", &self.confirm_expires_at)
            .field("confirm_prompt_hint", &self.confirm_prompt_hint)
            .field("escalation_id", &self.escalation_id)
            .field("escalation_to", &self.escalation_to)
            .field("escalation_expires_at", &self.escalation_expires_at)
            .field("budget", &self.budget)
            .field("policy_eval", &self.policy_eval)
            .field("is_fallback", &self.is_fallback)
            .finish()
    }
}

/// Response of `POST /v1/check` (or the client's fail-closed fallback, see `is_fallback` on each result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResponse {
    /// Absent when the authorization was not found.
    #[serde(default)]
    pub authorization_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub authorization_expires_at: Option<String>,
    /// `sha256:<hex>` naming the server's evaluator (its engine manifest), or `allowly-core/<version> fallback` for
    /// client-side results.
    pub engine_version: String,
    /// Exactly one entry per requested scope.
    pub results: BTreeMap<String, ScopeResult>,
}

impl CheckResponse {
    /// The result for one scope.
    pub fn result(&self, scope: &str) -> Option<&ScopeResult> {
        self.results.get(scope)
    }

    /// True when the scope is present and its decision is allow.
    pub fn is_allowed(&self, scope: &str) -> bool {
        self.result(scope).is_some_and(ScopeResult::is_allowed)
    }

    /// True when every result is allow (and there is at least one).
    pub fn all_allowed(&self) -> bool {
        !self.results.is_empty() && self.results.values().all(ScopeResult::is_allowed)
    }

    /// True when any result was made up by the client (server unreachable or too slow).
    pub fn is_fallback(&self) -> bool {
        self.results.values().any(|r| r.is_fallback)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    fn field_of(e: Error) -> String {
        match e {
            Error::Validation { fields, .. } => fields[0].field.clone(),
            other => panic!("not a validation error: {other}"),
        }
    }

    #[test]
    fn trace_values_join_the_context_and_explicit_context_wins() {
        let request = CheckRequest::new("auth_1", ["email.send"])
            .with_context(map(json!({"origin": "chat", "run_id": "explicit"})))
            .with_trace(map(json!({"run_id": "run_7", "agent_step": 3})));
        assert_eq!(request.context, Some(map(json!({"origin": "chat", "run_id": "explicit", "agent_step": 3}))));
    }

    #[test]
    fn trace_without_context_creates_one_and_empty_trace_changes_nothing() {
        let traced = CheckRequest::new("auth_1", ["a"]).with_trace(map(json!({"run_id": "run_7"})));
        assert_eq!(traced.context, Some(map(json!({"run_id": "run_7"}))));
        let untouched = CheckRequest::new("auth_1", ["a"]).with_trace(Map::new());
        assert_eq!(untouched.context, None);
        let body = serde_json::to_value(&untouched).expect("serializes");
        assert!(body.get("context").is_none(), "no empty context is sent: {body}");
    }

    #[test]
    fn arguments_are_sent_only_as_their_canonical_digest() {
        let a =
            CheckRequest::new("auth_1", ["pay"]).with_arguments(map(json!({"to": "alice", "amount": 5, "memo": "é"})));
        let b =
            CheckRequest::new("auth_1", ["pay"]).with_arguments(map(json!({"memo": "é", "amount": 5, "to": "alice"})));
        let body = |r: &CheckRequest| serde_json::to_value(r.for_wire().expect("digest").as_ref()).expect("serializes");
        let (wa, wb) = (body(&a), body(&b));
        // Key order is the caller's serialization, not the call: both digest alike, and the arguments stay here.
        assert_eq!(wa["arguments_sha256"], wb["arguments_sha256"]);
        assert!(wa.get("arguments").is_none(), "{wa}");
        let digest = wa["arguments_sha256"].as_str().expect("a digest").to_owned();
        assert_eq!(digest.len(), 64);
        assert_eq!(digest, crate::policy::arguments_sha256(&json!({"amount": 5, "memo": "é", "to": "alice"})));
        let other = CheckRequest::new("auth_1", ["pay"]).with_arguments(map(json!({"to": "mallory", "amount": 5})));
        assert_ne!(body(&other)["arguments_sha256"], wa["arguments_sha256"]);
        // A digest given with the arguments must be theirs. Fractions have a digest too (they used to be refused, which
        // left such calls unbound): 1.5 and 1.25 differ, 2.0 and 2 are one number.
        let mut mismatched = a.clone();
        mismatched.arguments_sha256 = Some("0".repeat(64));
        assert_eq!(mismatched.for_wire().map(drop).map_err(field_of).expect_err("mismatch"), "arguments_sha256");
        let with = |v: Value| body(&CheckRequest::new("auth_1", ["pay"]).with_arguments(map(json!({"amount": v}))));
        assert_ne!(with(json!(1.5))["arguments_sha256"], with(json!(1.25))["arguments_sha256"]);
        assert_eq!(with(json!(2.0))["arguments_sha256"], with(json!(2))["arguments_sha256"]);
        // Without arguments nothing is added, so servers that predate the field see the same body as before.
        assert!(body(&CheckRequest::new("auth_1", ["pay"])).get("arguments_sha256").is_none());
    }

    #[test]
    fn a_malformed_digest_or_confirmation_id_is_refused_before_sending() {
        let mut r = CheckRequest::new("auth_1", ["pay"]);
        r.arguments_sha256 = Some("ABC".into());
        assert_eq!(r.validate().map_err(field_of).expect_err("digest"), "arguments_sha256");
        let r = CheckRequest::new("auth_1", ["pay"]).with_confirmation_id("");
        assert_eq!(r.validate().map_err(field_of).expect_err("id"), "confirmation_id");
        assert!(CheckRequest::new("auth_1", ["pay"]).with_confirmation_id("cnf_1").validate().is_ok());
    }
}
