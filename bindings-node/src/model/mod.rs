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
