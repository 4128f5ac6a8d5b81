//! Daily checkpoints: a signed commitment to one UTC day's set of signed receipts.
//!
//! The Merkle root is a *set* commitment (leaves are sorted), so export order never matters, and each leaf hashes
//! the full signed receipt, so swapping in a differently signed copy of the same payload changes the root. A
//! verified checkpoint proves the presented members are exactly the committed set; it cannot prove the issuer
//! committed to everything that happened.

use std::borrow::Borrow;
use std::collections::HashSet;

use sha2::{Digest, Sha256};

use super::batch::verify_batch_refs;
use super::canonical;
use super::json::Value;
use super::keys::{KeySet, push_hex};
use super::schema::{self, CHECKPOINT_EVENT, CheckpointContext};
use super::timestamp::parse_millis;
use super::verify::{ReceiptKind, VerifiedReceipt, VerifyOptions, verify_receipt};
use crate::error::{VerificationError, VerificationErrorKind};

fn checkpoint_error(msg: impl Into<String>) -> VerificationError {
    VerificationError::new(VerificationErrorKind::Checkpoint, msg)
}

/// Root over the full canonical bytes of each member, signatures included. Members must be receipt objects with
/// distinct string `receipt_id`s (a repeated member would otherwise be committed twice).
pub fn merkle_root<V: Borrow<Value>>(members: &[V]) -> Result<String, VerificationError> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(members.len());
    let mut leaves: Vec<[u8; 32]> = Vec::with_capacity(members.len());
    let mut buf = Vec::with_capacity(1024);
    for (i, member) in members.iter().enumerate() {
        let obj = member
            .borrow()
            .as_object()
            .ok_or_else(|| checkpoint_error(format!("checkpoint member #{i} is not a receipt object")))?;
        let id = obj
            .get("receipt_id")
            .and_then(Value::as_str)
            .ok_or_else(|| checkpoint_error(format!("checkpoint member #{i} has no string receipt_id")))?;
        if !seen.insert(id) {
            return Err(checkpoint_error(format!("duplicate checkpoint member receipt_id '{id}'")));
        }
        buf.clear();
        canonical::full_bytes_into(obj, &mut buf)?;
        let mut h = Sha256::new();
        h.update([0x00]);
        h.update(&buf);
        leaves.push(h.finalize().into());
    }
    Ok(root_of(leaves))
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
fn context_of<'a>(receipt: &'a Value, what: &str) -> Result<CheckpointContext<'a>, VerificationError> {
    let obj = receipt.as_object().expect("verified receipts are objects");
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
    let ctx = context_of(checkpoint, "checkpoint")?;

    let refs: Vec<&Value> = members.iter().collect();
    let results = verify_batch_refs(&refs, keys, opts);
    let mut seen: HashSet<&str> = HashSet::with_capacity(members.len());
    for (i, result) in results.into_iter().enumerate() {
        let label = members[i]
            .as_object()
            .and_then(|o| o.get("receipt_id"))
            .and_then(Value::as_str)
            .map(|id| format!("checkpoint member '{id}'"))
            .unwrap_or_else(|| format!("checkpoint member #{i}"));
        let member = result.map_err(|e| wrap(&label, e))?;
        if member.kind == ReceiptKind::Event && member.name == CHECKPOINT_EVENT {
            return Err(checkpoint_error(format!("{label} is itself a checkpoint; checkpoints are not members")));
        }
        let id = members[i].as_object().and_then(|o| o.get("receipt_id")).and_then(Value::as_str).expect("verified");
        if !seen.insert(id) {
            return Err(checkpoint_error(format!("duplicate checkpoint member receipt_id '{id}'")));
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
        let prev_verified = verify_receipt(prev, keys, opts).map_err(|e| wrap("previous checkpoint", e))?;
        let prev_ctx = context_of(prev, "previous checkpoint")?;
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
