//! The Ed25519 batch equation, with one term per distinct key.
//!
//! A batch of `n` signatures `(R_i, s_i)` by keys `A_i` over messages `M_i` holds when, for random 128-bit `z_i`,
//!
//! ```text
//! Σ z_i·R_i + Σ_i (z_i·h_i)·A_i − (Σ z_i·s_i)·B = 0,   h_i = SHA-512(R_i ‖ A_i ‖ M_i) mod ℓ
//! ```
//!
//! which is the equation `ed25519_dalek::verify_batch` checks (cofactorless, the same acceptance set). The receipts
//! of an export are almost all signed by one or two keys, so the `A` terms are summed per key before the
//! multiscalar multiplication: it then has `n + keys + 1` points instead of `2n + 1`, and the multiplication is
//! most of a batch's cost. That is the whole difference from dalek's batch, and why this module exists.
//!
//! The `z_i` come from a ChaCha stream seeded with a hash of every `h_i` and `s_i` of the batch (so they depend on
//! everything a forger controls, as in dalek) and with fresh randomness from the thread's CSPRNG.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::{Signature, VerifyingKey};
use rand::{Rng, RngCore, SeedableRng};
use sha2::{Digest, Sha512};

/// Whether every signature of the batch verifies (with overwhelming probability). `false` says only that at least
/// one does not (or that a signature is malformed: `R` not a point, `s` not reduced); the caller finds which one by
/// single verification.
pub(crate) fn verify(messages: &[&[u8]], signatures: &[Signature], keys: &[VerifyingKey]) -> bool {
    assert!(messages.len() == signatures.len() && keys.len() == signatures.len(), "one message and key per signature");
    let n = signatures.len();

    let mut transcript = Sha512::new();
    transcript.update(b"allowly receipt batch v1");
    let mut hrams = Vec::with_capacity(n);
    let mut ss = Vec::with_capacity(n);
    for ((message, signature), key) in messages.iter().zip(signatures).zip(keys) {
        let hram: [u8; 64] = Sha512::new()
            .chain_update(signature.r_bytes())
            .chain_update(key.as_bytes())
            .chain_update(message)
            .finalize()
            .into();
        transcript.update(hram);
        transcript.update(signature.s_bytes());
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(*signature.s_bytes())) else {
            return false;
        };
        hrams.push(Scalar::from_bytes_mod_order_wide(&hram));
        ss.push(s);
    }
    let mut fresh = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut fresh);
    transcript.update(fresh);
    let seed: [u8; 64] = transcript.finalize().into();
    let mut rng = rand::rngs::StdRng::from_seed(seed[..32].try_into().expect("32 bytes"));

    // Per distinct key: its point and the sum of z_i·h_i over its signatures.
    let mut key_terms: Vec<(&[u8; 32], EdwardsPoint, Scalar)> = Vec::new();
    let mut scalars = Vec::with_capacity(n + 3);
    let mut points = Vec::with_capacity(n + 3);
    let mut b_coefficient = Scalar::ZERO;
    for (i, signature) in signatures.iter().enumerate() {
        let z = Scalar::from(rng.r#gen::<u128>());
        b_coefficient += z * ss[i];
        let zh = z * hrams[i];
        let key = keys[i].as_bytes();
        match key_terms.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, _, sum)) => *sum += zh,
            None => key_terms.push((key, keys[i].to_edwards(), zh)),
        }
        scalars.push(z);
        points.push(CompressedEdwardsY(*signature.r_bytes()).decompress());
    }
    for (_, point, sum) in key_terms {
        scalars.push(sum);
        points.push(Some(point));
    }
    scalars.push(-b_coefficient);
    points.push(Some(ED25519_BASEPOINT_POINT));
    EdwardsPoint::optional_multiscalar_mul(scalars, points).is_some_and(|sum| sum.is_identity())
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;

    fn signed(n: usize, keys: &[SigningKey]) -> (Vec<Vec<u8>>, Vec<Signature>, Vec<VerifyingKey>) {
        let messages: Vec<Vec<u8>> = (0..n).map(|i| format!("receipt {i}").into_bytes()).collect();
        let sk = |i: usize| &keys[i % keys.len()];
        let signatures = messages.iter().enumerate().map(|(i, m)| sk(i).sign(m)).collect();
        let vks = (0..n).map(|i| sk(i).verifying_key()).collect();
        (messages, signatures, vks)
    }

    fn run(m: &[Vec<u8>], s: &[Signature], k: &[VerifyingKey]) -> bool {
        let refs: Vec<&[u8]> = m.iter().map(Vec::as_slice).collect();
        verify(&refs, s, k)
    }

    fn keys(n: u8) -> Vec<SigningKey> {
        (1..=n).map(|i| SigningKey::from_bytes(&[i; 32])).collect()
    }

    #[test]
    fn accepts_exactly_what_dalek_batch_accepts() {
        for key_count in [1, 2, 5] {
            let (m, mut s, k) = signed(40, &keys(key_count));
            let refs: Vec<&[u8]> = m.iter().map(Vec::as_slice).collect();
            assert!(run(&m, &s, &k));
            assert!(ed25519_dalek::verify_batch(&refs, &s, &k).is_ok());
            // One flipped bit anywhere: the signature's R, its s, or the message.
            let mut bytes = s[17].to_bytes();
            bytes[3] ^= 1;
            s[17] = Signature::from_bytes(&bytes);
            assert!(!run(&m, &s, &k), "{key_count} keys, R changed");
            assert!(ed25519_dalek::verify_batch(&refs, &s, &k).is_err());
        }
    }

    #[test]
    fn refuses_a_changed_message_a_swapped_key_and_an_unreduced_s() {
        let (mut m, s, mut k) = signed(20, &keys(2));
        assert!(run(&m, &s, &k));
        m[5].push(b'!');
        assert!(!run(&m, &s, &k));
        m[5].pop();
        k.swap(2, 3); // two signatures by different keys, each now attributed to the other
        assert!(!run(&m, &s, &k));
        k.swap(2, 3);
        // s + ℓ: the same equation mod ℓ, but not the canonical encoding.
        let mut bytes = s[0].to_bytes();
        let s_plus_l = Scalar::from_canonical_bytes(bytes[32..].try_into().unwrap()).unwrap().to_bytes();
        let mut carry = 0u16;
        // ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
        let ell: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
        ];
        for j in 0..32 {
            let v = s_plus_l[j] as u16 + ell[j] as u16 + carry;
            bytes[32 + j] = v as u8;
            carry = v >> 8;
        }
        let mut s2 = s.clone();
        s2[0] = Signature::from_bytes(&bytes);
        assert!(!run(&m, &s2, &k));
    }

    #[test]
    fn refuses_an_r_that_is_not_a_point() {
        let (m, mut s, k) = signed(8, &keys(1));
        let mut bytes = s[4].to_bytes();
        // y = 2 is not the y-coordinate of any point on edwards25519.
        bytes[..32].copy_from_slice(&{
            let mut y = [0u8; 32];
            y[0] = 2;
            y
        });
        assert!(CompressedEdwardsY(bytes[..32].try_into().unwrap()).decompress().is_none());
        s[4] = Signature::from_bytes(&bytes);
        assert!(!run(&m, &s, &k));
    }
}
