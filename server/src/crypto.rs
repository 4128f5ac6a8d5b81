//! Sealing signing keys at rest with the master key.
//!
//! Private Ed25519 keys never touch the database in the clear: they are sealed with XChaCha20-Poly1305 under a
//! 32-byte master key (from `ALLOWLY_MASTER_KEY`, or a 0600 file in `--dev`), with the key id as associated data
//! so a sealed key cannot be moved to another row. `Debug` on these types never prints key material.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;

/// The 32-byte master key. Its `Debug` is redacted.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh random key (dev bootstrap).
    pub fn generate() -> Self {
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        Self(b)
    }

    /// Parses standard or url-safe base64 of exactly 32 bytes. The error never contains the input.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
            .map_err(|_| "master key is not valid base64".to_string())?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| "master key must decode to exactly 32 bytes".to_string())?;
        Ok(Self(arr))
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.0).into())
    }

    /// Seals `secret`; returns (ciphertext, nonce).
    pub fn seal(&self, secret: &[u8], aad: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher()
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: secret, aad: aad.as_bytes() })
            .map_err(|_| "sealing failed".to_string())?;
        Ok((ct, nonce.to_vec()))
    }

    /// Opens a sealed secret; fails (without detail) on a wrong master key or a tampered row.
    pub fn open(&self, ciphertext: &[u8], nonce: &[u8], aad: &str) -> Result<Vec<u8>, String> {
        if nonce.len() != 24 {
            return Err("sealed key has a bad nonce".into());
        }
        self.cipher()
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: aad.as_bytes() })
            .map_err(|_| "cannot open a sealed signing key: wrong master key or corrupted row".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_roundtrip_binds_the_key_id() {
        let mk = MasterKey::generate();
        let (ct, n) = mk.seal(b"secret", "key-1").expect("seal");
        assert_eq!(mk.open(&ct, &n, "key-1").expect("open"), b"secret");
        assert!(mk.open(&ct, &n, "key-2").is_err());
        assert!(MasterKey::generate().open(&ct, &n, "key-1").is_err());
        assert_eq!(format!("{mk:?}"), "MasterKey(<redacted>)");
        let again = MasterKey::from_base64(&mk.to_base64()).expect("parse");
        assert_eq!(again.open(&ct, &n, "key-1").expect("open"), b"secret");
    }
}
