//! Bulk verification for exports and checkpoints.
//!
//! Every receipt goes through exactly the checks of single verification (`verify::prepare`); only the
//! Ed25519 equation is amortised, with `batch_equation` over chunks spread across all cores. A chunk that
//! fails as a whole is bisected down to single verifications, so each result is that receipt's own verdict.
//!
//! Agreement with single verification: key documents refuse keys with small-order or torsion components and every
//! signature's `R` must be canonically encoded, so for every signature an honest RFC 8032 signer can produce (and
//! every signature someone without the private key can forge) the batch verdict equals the single verdict. The
//! remaining gap is inherent to the randomized, cofactorless batch equation (dalek's too): a *key holder* who
//! deliberately adds a small-order component to `R` gets a signature single verification rejects and a batch may
//! accept. Such a receipt is still a statement signed by that key.

use std::cell::RefCell;

use ed25519_dalek::{Signature, VerifyingKey};
use rayon::prelude::*;

use super::batch_equation;
use super::json::{self, Value};
use super::keys::KeySet;
use super::verify::{Prepared, VerifiedReceipt, VerifyOptions, prepare};
use crate::error::VerificationError;

/// Fewest receipts per batch-equation call: below this the multiscalar multiplication is not amortised.
pub const BATCH_CHUNK: usize = 64;

/// Most receipts per call. The batch equation gets cheaper per signature as chunks grow (make bench's 10,000
/// server-signed wire-5 receipts, `verify_batch_json` on one thread with this constant set to each size, before the
/// JSON fast paths: 48.5k/s in chunks of 128, 49.9k/s of 256, 53.0k/s of 512, 54.4k/s of 1024), and a chunk that
/// fails is bisected, so a large one costs little when a signature is bad.
pub const BATCH_CHUNK_MAX: usize = 1024;

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
///
/// Each chunk of lines is parsed, verified and its parsed values freed on the thread that verifies it: parsing
/// everything first and freeing it at the end would leave the frees (tens of allocations per receipt) to the
/// calling thread alone, serially, after the parallel part.
pub fn verify_batch_json(
    inputs: &[&[u8]],
    keys: &KeySet,
    opts: &VerifyOptions,
) -> Vec<Result<VerifiedReceipt, VerificationError>> {
    let latest = opts.latest_issued_at_millis();
    let mut out = Vec::with_capacity(inputs.len());
    out.par_extend(inputs.par_chunks(chunk_size(inputs.len())).flat_map_iter(|lines| {
        let parsed: Vec<Result<Value, VerificationError>> = lines.iter().map(|b| json::parse(b)).collect();
        let refs: Vec<&Value> = parsed.iter().filter_map(|p| p.as_ref().ok()).collect();
        let mut verified = verify_chunk(&refs, keys, opts, latest).into_iter();
        parsed
            .iter()
            .map(|p| match p {
                Ok(_) => verified.next().expect("one result per parsed receipt"),
                Err(e) => Err(e.clone()),
            })
            .collect::<Vec<_>>()
    }));
    out
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
    with_messages(|buf| {
        let prepared: Vec<Result<Prepared<'_, '_>, VerificationError>> =
            chunk.iter().map(|r| prepare(r, keys, opts, latest, buf)).collect();
        let ready: Vec<(usize, &Prepared<'_, '_>)> =
            prepared.iter().enumerate().filter_map(|(i, p)| p.as_ref().ok().map(|p| (i, p))).collect();
        let mut bad = vec![None; prepared.len()];
        settle(&ready, buf, &mut bad);
        prepared
            .into_iter()
            .zip(bad)
            .map(|(p, bad)| match bad {
                Some(e) => Err(e),
                None => p.map(Prepared::into_verified),
            })
            .collect()
    })
}

/// Largest message buffer a thread keeps between chunks (a chunk of 1024 wire-5 receipts writes ~1.5 MB).
const KEEP_MESSAGES_BELOW: usize = 8 << 20;

thread_local! {
    /// Each thread's buffer for a chunk's signed messages, kept between chunks rather than allocating (and faulting
    /// in) a fresh chunk-sized buffer of 0.6–1.5 MB for every chunk.
    static MESSAGES: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn with_messages<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    MESSAGES.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            let out = f(&mut buf);
            if buf.capacity() > KEEP_MESSAGES_BELOW {
                *buf = Vec::new();
            }
            out
        }
        Err(_) => f(&mut Vec::new()),
    })
}

/// Fewest signatures a failed batch is split into halves for; below it each is checked on its own.
const BISECT_BELOW: usize = 8;

/// Records in `bad` the signature error of each prepared receipt whose signature does not verify. A batch that fails
/// as a whole is split in halves and each half tried again, so one bad signature among a thousand costs a few dozen
/// small batches rather than a thousand single verifications.
fn settle(ready: &[(usize, &Prepared<'_, '_>)], buf: &[u8], bad: &mut [Option<VerificationError>]) {
    if ready.len() >= BISECT_BELOW {
        let messages: Vec<&[u8]> = ready.iter().map(|(_, p)| &buf[p.message.clone()]).collect();
        let signatures: Vec<Signature> = ready.iter().map(|(_, p)| p.signature).collect();
        let verifying_keys: Vec<VerifyingKey> = ready.iter().map(|(_, p)| p.key.public_key).collect();
        if batch_equation::verify(&messages, &signatures, &verifying_keys) {
            return;
        }
        let (left, right) = ready.split_at(ready.len() / 2);
        settle(left, buf, bad);
        settle(right, buf, bad);
        return;
    }
    for (i, p) in ready {
        if let Err(e) = p.check_signature(buf) {
            bad[*i] = Some(e);
        }
    }
}
