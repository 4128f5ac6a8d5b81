//! Bulk verification for exports and checkpoints.
//!
//! Every receipt goes through exactly the checks of single verification (`verify::prepare`); only the
//! Ed25519 equation is amortised, with `ed25519_dalek::verify_batch` over chunks spread across all cores. A chunk
//! that fails as a whole is re-checked one signature at a time, so each result is that receipt's own verdict.
//!
//! Agreement with single verification: key documents refuse keys with small-order or torsion components and every
//! signature's `R` must be canonically encoded, so for every signature an honest RFC 8032 signer can produce (and
//! every signature someone without the private key can forge) the batch verdict equals the single verdict. The
//! remaining gap is inherent to dalek's randomized, cofactorless batch equation: a *key holder* who deliberately
//! adds a small-order component to `R` gets a signature single verification rejects and a batch may accept. Such a
//! receipt is still a statement signed by that key.

use ed25519_dalek::{Signature, VerifyingKey};
use rayon::prelude::*;

use super::json::{self, Value};
use super::keys::KeySet;
use super::verify::{Prepared, VerifiedReceipt, VerifyOptions, prepare};
use crate::error::VerificationError;

/// Fewest receipts per `ed25519_dalek::verify_batch` call: below this the multiscalar multiplication is not
/// amortised.
pub const BATCH_CHUNK: usize = 64;

/// Most receipts per call. dalek's batch equation gets cheaper per signature up to a few hundred (on make bench's
/// 10,000 server-signed receipts, one thread, quiet machine: 59.1k/s in chunks of 64, 68.5k/s in chunks of 256; see
/// `core/examples/verify_rates.rs`), while a chunk that fails as a whole is re-checked one signature at a time, so
/// it should not grow without bound.
pub const BATCH_CHUNK_MAX: usize = 256;

/// The chunk size for `n` receipts: as large as allowed while every thread still gets a couple of chunks, so small
/// batches spread over all cores and large exports use the cheaper large chunks.
pub fn chunk_size(n: usize) -> usize {
    (n / (rayon::current_num_threads() * 2).max(1)).clamp(BATCH_CHUNK, BATCH_CHUNK_MAX)
}

/// Verifies many parsed receipts; results are in input order.
pub fn verify_batch(
    receipts: &[Value],
    keys: &KeySet,
    opts: &VerifyOptions,
) -> Vec<Result<VerifiedReceipt, VerificationError>> {
    let refs: Vec<&Value> = receipts.iter().collect();
    verify_batch_refs(&refs, keys, opts)
}

/// Strictly parses and verifies many receipts (e.g. the lines of an export); results are in input order.
pub fn verify_batch_json(
    inputs: &[&[u8]],
    keys: &KeySet,
    opts: &VerifyOptions,
) -> Vec<Result<VerifiedReceipt, VerificationError>> {
    let parsed: Vec<Result<Value, VerificationError>> = inputs.par_iter().map(|b| json::parse(b)).collect();
    let refs: Vec<&Value> = parsed.iter().filter_map(|p| p.as_ref().ok()).collect();
    let mut verified = verify_batch_refs(&refs, keys, opts).into_iter();
    parsed
        .iter()
        .map(|p| match p {
            Ok(_) => verified.next().expect("one result per parsed receipt"),
            Err(e) => Err(e.clone()),
        })
        .collect()
}

pub(crate) fn verify_batch_refs(
    receipts: &[&Value],
    keys: &KeySet,
    opts: &VerifyOptions,
) -> Vec<Result<VerifiedReceipt, VerificationError>> {
    // One clock reading for the whole batch, so every receipt is judged against the same "now".
    let latest = opts.latest_issued_at_millis();
    receipts
        .par_chunks(chunk_size(receipts.len()))
        .map(|chunk| verify_chunk(chunk, keys, opts, latest))
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .collect()
}

fn verify_chunk(
    chunk: &[&Value],
    keys: &KeySet,
    opts: &VerifyOptions,
    latest: i64,
) -> Vec<Result<VerifiedReceipt, VerificationError>> {
    let mut buf = Vec::with_capacity(chunk.len() * 640);
    let prepared: Vec<Result<Prepared<'_, '_>, VerificationError>> =
        chunk.iter().map(|r| prepare(r, keys, opts, latest, &mut buf)).collect();
    let ready: Vec<&Prepared<'_, '_>> = prepared.iter().filter_map(|p| p.as_ref().ok()).collect();
    if ready.len() >= 2 {
        let messages: Vec<&[u8]> = ready.iter().map(|p| &buf[p.message.clone()]).collect();
        let signatures: Vec<Signature> = ready.iter().map(|p| p.signature).collect();
        let verifying_keys: Vec<VerifyingKey> = ready.iter().map(|p| p.key.public_key).collect();
        if ed25519_dalek::verify_batch(&messages, &signatures, &verifying_keys).is_ok() {
            return prepared.into_iter().map(|p| p.map(Prepared::into_verified)).collect();
        }
    }
    prepared
        .into_iter()
        .map(|p| {
            let p = p?;
            p.check_signature(&buf)?;
            Ok(p.into_verified())
        })
        .collect()
}
