//! JS shapes of the wire models: camelCase plain objects, converted from and to allowly-core's serde types.
//!
//! Each object mirrors one core type field for field; nothing is validated or defaulted here (core does that), so
//! the conversions are total. Reason codes are strings in core (new server reasons must pass through) and typed as
//! the `Reason` union in TypeScript via the d.ts header (`dts-header.d.ts`).

use allowly_core::model as core;
use napi::Either;
use napi_derive::napi;

// Every object and enum that mirrors a core model field for field (`make models`, tools/modelgen); this file keeps
// the shapes that are JavaScript's own (receipt envelopes, grants as `string | {name, constraints}`, option bags).
#[rustfmt::skip]
mod generated;
pub use generated::*;

/// A signed receipt: its id and its exact JSON text. Pass it to `verifyReceipt` as is.
#[napi(object)]
pub struct SignedReceipt {
    #[napi(ts_type = "'signed'")]
    pub status: String,
    pub receipt_id: String,
    pub json: String,
}

impl From<core::SignedReceipt> for SignedReceipt {
    fn from(r: core::SignedReceipt) -> Self {
        SignedReceipt { status: "signed".into(), receipt_id: r.receipt_id().to_owned(), json: r.json().to_owned() }
    }
}

/// Through core's flat `ReceiptParts`, which the generated `ReceiptEnvelope` mirrors.
impl From<core::ReceiptEnvelope> for ReceiptEnvelope {
    fn from(e: core::ReceiptEnvelope) -> Self {
        core::ReceiptParts::from(e).into()
    }
}

/// A scope with constraints; a bare string grants the scope without any.
#[napi(object)]
pub struct ScopeGrant {
    pub name: String,
    pub constraints: Option<ScopeConstraints>,
}

fn grant_to_core(grant: Either<String, ScopeGrant>) -> core::ScopeGrant {
    match grant {
        Either::A(name) => core::ScopeGrant::Name(name),
        Either::B(ScopeGrant { name, constraints: None }) => core::ScopeGrant::Name(name),
        Either::B(ScopeGrant { name, constraints: Some(c) }) => core::ScopeGrant::with_constraints(name, c.into()),
    }
}

fn grant_from_core(grant: core::ScopeGrant) -> Either<String, ScopeGrant> {
    match grant {
        core::ScopeGrant::Name(name) => Either::A(name),
        core::ScopeGrant::Detailed { name, constraints } => {
            Either::B(ScopeGrant { name, constraints: Some(constraints.into()) })
        }
    }
}

#[napi(object)]
pub struct ApproveOptions {
    pub approved: bool,
    /// How long the answer stays usable (the server clamps it to 60 s … 7 days).
    pub ttl_seconds: Option<u32>,
}

#[cfg(test)]
mod reason_union {
    /// `dts-header.d.ts` spells the `Reason` union for TypeScript users (napi cannot generate a union from a Rust
    /// enum it does not own); it must list exactly core's reasons, in core's order.
    #[test]
    fn the_typescript_reason_union_is_cores_reason_list() {
        let header = include_str!("../../dts-header.d.ts");
        let start = header.find("export type Reason =").expect("the header declares Reason");
        let union = &header[start..];
        let union = &union[..union.find("\n\n").unwrap_or(union.len())];
        let spelled: Vec<&str> =
            union.lines().filter_map(|l| l.trim().strip_prefix("| '")?.strip_suffix('\'')).collect();
        let core: Vec<&str> = allowly_core::model::Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(spelled, core, "update the Reason union in bindings-node/dts-header.d.ts (then npm run build)");
    }
}

/// JavaScript has one number type, and napi hands any number outside the 32-bit range to serde as a float, so
/// `9007199254740991` would arrive as `9007199254740991.0` and policy JSON (integers only) would refuse it. A number
/// with no fractional part within ±(2^53-1) is an integer in JavaScript, so it becomes one here; anything else is
/// left as it is for core to judge.
pub fn js_integers(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    match value {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() <= MAX_SAFE => Value::from(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(js_integers).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, js_integers(v))).collect()),
        other => other,
    }
}

fn js_object(map: serde_json::Map<String, serde_json::Value>) -> serde_json::Map<String, serde_json::Value> {
    map.into_iter().map(|(k, v)| (k, js_integers(v))).collect()
}

/// The edition a new one follows (`previousPolicyRef`), handed back as the `policyRef` a read returned.
impl From<PolicyRef> for core::PolicyRef {
    fn from(r: PolicyRef) -> Self {
        core::PolicyRef {
            policy_id: r.policy_id,
            policy_version: r.policy_version,
            definition_sha256: r.definition_sha256,
        }
    }
}

/// `policies.create` / `policies.publish`: a policy id and its complete definition (validated by core before sending).
#[napi(object)]
pub struct CreatePolicyRequest {
    /// Lowercase letters, digits, `_` and `-`; at most 128.
    pub policy_id: String,
    /// The complete `allowly.policy.v1` definition, snake_case as on the wire.
    pub definition: serde_json::Value,
    pub description: Option<String>,
    /// The edition this one follows; refused (409) when it is no longer the newest.
    pub previous_policy_ref: Option<PolicyRef>,
    /// Required by `publish`.
    pub idempotency_key: Option<String>,
}

impl From<CreatePolicyRequest> for core::CreatePolicyRequest {
    fn from(r: CreatePolicyRequest) -> Self {
        core::CreatePolicyRequest {
            policy_id: r.policy_id,
            definition: js_integers(r.definition),
            description: r.description,
            previous_policy_ref: r.previous_policy_ref.map(Into::into),
            idempotency_key: r.idempotency_key,
        }
    }
}

/// `policies.preview`: evaluate an unpublished definition.
#[napi(object)]
pub struct PolicyPreviewRequest {
    pub definition: serde_json::Value,
    pub action: String,
    pub context: Option<serde_json::Map<String, serde_json::Value>>,
}

impl From<PolicyPreviewRequest> for core::PolicyPreviewRequest {
    fn from(r: PolicyPreviewRequest) -> Self {
        core::PolicyPreviewRequest {
            definition: js_integers(r.definition),
            action: r.action,
            context: js_object(r.context.unwrap_or_default()),
        }
    }
}

#[napi(object)]
pub struct ListPoliciesOptions {
    /// 1 to 100.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `authorizations.createFromPolicy`: grant a user one policy edition, all its actions or the `actions` subset.
#[napi(object)]
pub struct EditionAuthorizationRequest {
    pub user_id: String,
    pub policy_id: String,
    pub policy_version: i64,
    pub actions: Option<Vec<String>>,
    /// RFC 3339; the edition's `default_expiry_days` otherwise.
    pub expires_at: Option<String>,
    pub budget_limit_micros: Option<i64>,
    pub replaces: Option<String>,
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    pub idempotency_key: Option<String>,
    /// How long each confirmation of this grant waits for the user's answer, in seconds (server default one hour;
    /// clamped to 60 s … 7 days, 1 s minimum under `allowly serve --dev`).
    pub confirmation_timeout_seconds: Option<i64>,
}

impl From<EditionAuthorizationRequest> for core::CreateEditionAuthorizationRequest {
    fn from(r: EditionAuthorizationRequest) -> Self {
        core::CreateEditionAuthorizationRequest {
            user_id: r.user_id,
            policy_id: r.policy_id,
            policy_version: r.policy_version,
            actions: r.actions,
            expires_at: r.expires_at,
            budget_limit_micros: r.budget_limit_micros,
            replaces: r.replaces,
            metadata: r.metadata.unwrap_or_default(),
            idempotency_key: r.idempotency_key,
            confirmation_timeout_seconds: r.confirmation_timeout_seconds,
        }
    }
}
