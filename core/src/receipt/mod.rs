//! The Allowly Receipt Format, wire 4 and wire 5 (a JWS, told apart by its shape, see [`jws`]): strict JSON, canonical bytes, key documents, verification of single
//! receipts, batches and daily checkpoints, and signing for the issuer.
//!
//! Verification is layered so that each layer refuses what the next one could misread: [`json`] keeps duplicate
//! names, number spellings and unpaired surrogates visible; [`canonical`] turns a value into the one byte string
//! that was signed or refuses it; [`verify`] applies the format's checks in their normative order.

pub mod batch;
mod batch_equation;
pub mod canonical;
pub mod checkpoint;
pub mod json;
pub mod jws;
pub mod keys;
pub(crate) mod schema;
pub(crate) mod schema5;
pub mod sign;
pub mod timestamp;
pub mod verify;

pub use batch::{verify_batch, verify_batch_json};
pub use checkpoint::{merkle_root, verify_checkpoint};
pub use json::Value;
pub use jws::is_jws;
pub use keys::{KeySet, PublicKeyEntry, fingerprint, load_keys_from_json};
pub use sign::{sign_payload, sign_receipt, sign_receipt_jws};
pub use verify::{ReceiptKind, VerifiedReceipt, VerifyOptions, verify_receipt, verify_receipt_json};
