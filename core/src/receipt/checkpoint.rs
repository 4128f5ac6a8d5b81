//! Daily checkpoints: a signed commitment to one UTC day's set of signed receipts.
//!
//! The Merkle root is a *set* commitment (leaves are sorted), so export order never matters, and each leaf hashes
//! the full signed receipt, so swapping in a differently signed copy of the same payload changes the root. A
//! verified checkpoint proves the presented members are exactly the committed set; it cannot prove the issuer
//! committed to everything that happened.

use std::borrow::{Borrow, Cow};
use std::collections::HashSet;

use sha2::{Digest, Sha256};

use super::batch::verify_batch_refs;
use super::canonical;
use super::json::Value;
use super::jws;
use super::keys::{KeySet, push_hex};
use super::schema::{self, CHECKPOINT_EVENT, CheckpointContext};
use super::timestamp::parse_millis;
use super::verify::{ReceiptKind, VerifiedReceipt, VerifyOptions, verify_receipt};
use crate::error::{VerificationError, VerificationErrorKind};

fn checkpoint_error(msg: impl Into<String>) -> VerificationError {
    VerificationError::new(VerificationErrorKind::Checkpoint, msg)
}

/// Root over the full canonical bytes of each member, signatures included. Members must be receipts with distinct
/// string `receipt_id`s (a repeated member would otherwise be committed twice), all of one wire: wire-4 receipt
/// objects (each leaf hashes the receipt with its `signature`), or wire-5 JWS objects (each leaf hashes the
/// three-member object `{"payload","protected","signature"}`, its `receipt_id` read from the decoded payload).
pub fn merkle_root<V: Borrow<Value>>(members: &[V]) -> Result<String, VerificationError> {
    let wire5 = members.first().is_some_and(|m| jws::is_jws(m.borrow()));
    let mut seen: HashSet<Cow<'_, str>> = HashSet::with_capacity(members.len());
    let mut leaves: Vec<[u8; 32]> = Vec::with_capacity(members.len());
    let mut buf = Vec::with_capacity(1024);
    for (i, member) in members.iter().enumerate() {
        let member = member.borrow();
        if jws::is_jws(member) != wire5 {
            return Err(checkpoint_error(format!(
                "checkpoint member #{i} is a wire-{} receipt, the first member is wire {}; a checkpoint's members \
                 are all of one wire",
                if wire5 { 4 } else { 5 },
                if wire5 { 5 } else { 4 }
            )));
        }
        let obj = member
            .as_object()
            .ok_or_else(|| checkpoint_error(format!("checkpoint member #{i} is not a receipt object")))?;
        let id = member_id(member)
            .map_err(|e| checkpoint_error(format!("checkpoint member #{i} cannot be decoded: {}", e.message)))?
            .ok_or_else(|| checkpoint_error(format!("checkpoint member #{i} has no string receipt_id")))?;
        if seen.contains(id.as_ref()) {
            return Err(checkpoint_error(format!("duplicate checkpoint member receipt_id '{id}'")));
        }
        seen.insert(id);
        buf.clear();
        canonical::full_bytes_into(obj, &mut buf)?;
        let mut h = Sha256::new();
        h.update([0x00]);
        h.update(&buf);
        leaves.push(h.finalize().into());
    }
    Ok(root_of(leaves))
}

/// A member's `receipt_id`: read from a wire-4 object, or from a wire-5 receipt's decoded payload.
fn member_id(member: &Value) -> Result<Option<Cow<'_, str>>, VerificationError> {
    match jws::envelope(member) {
        None => Ok(member.as_object().and_then(|o| o.get("receipt_id")).and_then(Value::as_str).map(Cow::Borrowed)),
        Some(env) => {
            let payload = jws::decode_payload(&env)?;
            Ok(payload
                .as_object()
                .and_then(|o| o.get("receipt_id"))
                .and_then(Value::as_str)
                .map(|s| s.to_owned().into()))
        }
    }
}

/// The payload of a receipt: the receipt itself on wire 4, the decoded JWS payload on wire 5.
fn payload_of(receipt: &Value) -> Result<Cow<'_, Value>, VerificationError> {
    match jws::envelope(receipt) {
        None => Ok(Cow::Borrowed(receipt)),
        Some(env) => jws::decode_payload(&env).map(Cow::Owned),
    }
}

fn root_of(mut level: Vec<[u8; 32]>) -> String {
    let root: [u8; 32] = if level.is_empty() {
        Sha256::digest([0x02]).into()
    } else {
        level.sort_unstable();
        while level.len() > 1 {
            if level.len() % 2 == 1 {
                level.push(*level.last().expect("non-empty"));
            }
            level = level
                .chunks_exact(2)
                .map(|pair| {
                    let mut h = Sha256::new();
                    h.update([0x01]);
                    h.update(pair[0]);
                    h.update(pair[1]);
                    h.finalize().into()
                })
                .collect();
        }
        level[0]
    };
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    push_hex(&mut out, &root);
    out
}

/// The validated context of a receipt already known to be a verified checkpoint.
fn context_of<'a>(payload: &'a Value, what: &str) -> Result<CheckpointContext<'a>, VerificationError> {
    let obj = payload.as_object().expect("verified receipts are objects");
    if obj.get("event").and_then(Value::as_str) != Some(CHECKPOINT_EVENT) {
        return Err(checkpoint_error(format!("{what} must be a {CHECKPOINT_EVENT} event receipt")));
    }
    let ctx = obj.get("context").and_then(Value::as_object).expect("verified receipts have a context object");
    schema::checkpoint_context(ctx)
}

fn wrap(what: &str, e: VerificationError) -> VerificationError {
    checkpoint_error(format!("{what} does not verify ({}): {}", e.kind, e.message))
}

/// Verifies a checkpoint against the exact member set presented (and, if given, the checkpoint it links to).
///
/// Failures of the checkpoint receipt itself keep their own kind; problems with members or the prior checkpoint are
/// reported as [`VerificationErrorKind::Checkpoint`], naming the member and the underlying reason.
pub fn verify_checkpoint(
    checkpoint: &Value,
    members: &[Value],
    previous: Option<&Value>,
    keys: &KeySet,
    opts: &VerifyOptions,
) -> Result<VerifiedReceipt, VerificationError> {
    let verified = verify_receipt(checkpoint, keys, opts)?;
    let payload = payload_of(checkpoint)?;
    let ctx = context_of(&payload, "checkpoint")?;
    let wire5 = jws::is_jws(checkpoint);

    let refs: Vec<&Value> = members.iter().collect();
    let results = verify_batch_refs(&refs, keys, opts);
    let mut seen: HashSet<&str> = HashSet::with_capacity(members.len());
    for (i, result) in results.iter().enumerate() {
        if jws::is_jws(&members[i]) != wire5 {
            return Err(checkpoint_error(format!(
                "checkpoint member #{i} is a wire-{} receipt; a wire-{} checkpoint commits only wire-{} receipts",
                if wire5 { 4 } else { 5 },
                verified.schema_version,
                verified.schema_version
            )));
        }
        let member = match result {
            Ok(member) => member,
            Err(e) => {
                let label = match member_id(&members[i]) {
                    Ok(Some(id)) => format!("checkpoint member '{id}'"),
                    _ => format!("checkpoint member #{i}"),
                };
                return Err(wrap(&label, e.clone()));
            }
        };
        let label = format!("checkpoint member '{}'", member.receipt_id);
        if member.kind == ReceiptKind::Event && member.name == CHECKPOINT_EVENT {
            return Err(checkpoint_error(format!("{label} is itself a checkpoint; checkpoints are not members")));
        }
        if !seen.insert(&member.receipt_id) {
            return Err(checkpoint_error(format!("duplicate checkpoint member receipt_id '{}'", member.receipt_id)));
        }
        let at = parse_millis(&member.issued_at).expect("verified issued_at parses");
        if at < ctx.period_start_ms || at >= ctx.period_end_ms {
            return Err(checkpoint_error(format!(
                "{label} issued_at {} falls outside the checkpoint period [{}, {})",
                member.issued_at, ctx.period_start, ctx.period_end
            )));
        }
    }
    if usize::try_from(ctx.receipt_count).ok() != Some(members.len()) {
        return Err(checkpoint_error(format!(
            "checkpoint receipt_count mismatch: committed {}, presented {}",
            ctx.receipt_count,
            members.len()
        )));
    }
    let root = merkle_root(members)?;
    if root != ctx.merkle_root {
        return Err(checkpoint_error(format!(
            "checkpoint merkle_root mismatch: committed {}, computed {root}",
            ctx.merkle_root
        )));
    }

    if let Some(prev) = previous {
        if jws::is_jws(prev) != wire5 {
            return Err(checkpoint_error(format!(
                "previous checkpoint is not a wire-{} receipt like this checkpoint",
                verified.schema_version
            )));
        }
        let prev_verified = verify_receipt(prev, keys, opts).map_err(|e| wrap("previous checkpoint", e))?;
        let prev_payload = payload_of(prev)?;
        let prev_ctx = context_of(&prev_payload, "previous checkpoint")?;
        let (Some(link_id), Some(link_root)) = (ctx.previous_checkpoint_id, ctx.previous_merkle_root) else {
            return Err(checkpoint_error(format!(
                "checkpoint has no previous_checkpoint_id, but previous checkpoint '{}' was given",
                prev_verified.receipt_id
            )));
        };
        if link_id != prev_verified.receipt_id {
            return Err(checkpoint_error(format!(
                "checkpoint previous_checkpoint_id mismatch: links to '{link_id}', previous checkpoint is '{}'",
                prev_verified.receipt_id
            )));
        }
        if link_root != prev_ctx.merkle_root {
            return Err(checkpoint_error(format!(
                "checkpoint previous_merkle_root mismatch: links to {link_root}, previous checkpoint commits {}",
                prev_ctx.merkle_root
            )));
        }
        if prev_ctx.period_end_ms > ctx.period_start_ms {
            return Err(checkpoint_error(format!(
                "previous checkpoint period ends {} after this checkpoint's period starts {}",
                prev_ctx.period_end, ctx.period_start
            )));
        }
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_domain_separated() {
        let empty: [Value; 0] = [];
        let expected = format!("sha256:{}", hex(&Sha256::digest([0x02])));
        assert_eq!(merkle_root(&empty).unwrap(), expected);
    }

    #[test]
    fn odd_levels_duplicate_the_last_leaf() {
        let leaves = vec![[1u8; 32], [3u8; 32], [2u8; 32]];
        let node = |l: &[u8], r: &[u8]| -> [u8; 32] {
            let mut h = Sha256::new();
            h.update([1]);
            h.update(l);
            h.update(r);
            h.finalize().into()
        };
        let a = node(&[1; 32], &[2; 32]);
        let b = node(&[3; 32], &[3; 32]);
        assert_eq!(root_of(leaves), format!("sha256:{}", hex(&node(&a, &b))));
    }

    fn hex(b: &[u8]) -> String {
        let mut s = String::new();
        push_hex(&mut s, b);
        s
    }
}
