//! Ed25519 identity keys (ed25519-dalek): approvals, signed tree heads, run records.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// A site's (or helper's, or coordinator's) Ed25519 signing key. Zeroized on drop (dalek's
/// `SigningKey` is `ZeroizeOnDrop`); implements neither `Debug` nor `Display`.
pub struct IdentityKey(SigningKey);

impl IdentityKey {
    /// From the 32-byte secret seed (read by `parties` from the site's key file).
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(secret))
    }

    /// A fresh key from a cryptographic RNG.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self(SigningKey::generate(rng))
    }

    /// The public verifying key, as pinned in plans and consortium files.
    pub fn verifying_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    pub(crate) fn sign(&self, msg: &[u8]) -> SigBytes {
        SigBytes::from_signature(&self.0.sign(msg))
    }
}

/// A 64-byte Ed25519 signature as two 32-byte halves (R, s), so serde encodes it as 64 raw
/// bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigBytes(pub [[u8; 32]; 2]);

impl SigBytes {
    fn from_signature(s: &Signature) -> Self {
        let b = s.to_bytes();
        let mut r = [0u8; 32];
        let mut t = [0u8; 32];
        r.copy_from_slice(b.get(..32).unwrap_or(&[0; 32]));
        t.copy_from_slice(b.get(32..).unwrap_or(&[0; 32]));
        Self([r, t])
    }

    /// The 64 bytes.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        let (a, b) = out.split_at_mut(32);
        a.copy_from_slice(&self.0[0]);
        b.copy_from_slice(&self.0[1]);
        out
    }
}

/// Strict Ed25519 verification (`verify_strict`: no small-order keys, canonical s).
pub fn verify_signature(key: &[u8; 32], msg: &[u8], sig: &SigBytes) -> bool {
    let Ok(vk) = VerifyingKey::from_bytes(key) else {
        return false;
    };
    vk.verify_strict(msg, &Signature::from_bytes(&sig.to_bytes()))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify() {
        let k = IdentityKey::from_secret_bytes(&[9; 32]);
        let s = k.sign(b"m");
        assert!(verify_signature(&k.verifying_key(), b"m", &s));
        assert!(!verify_signature(&k.verifying_key(), b"n", &s));
        let other = IdentityKey::from_secret_bytes(&[8; 32]);
        assert!(!verify_signature(&other.verifying_key(), b"m", &s));
    }
}
