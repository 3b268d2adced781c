//! Domain-separated SHA-256 and the RFC 9162 Merkle tree over transcript entries.
//!
//! Every hash is plain SHA-256 over a domain label followed by fixed-width fields, so an
//! auditor can recompute any of them with standard tools:
//!
//! | label | input | used for |
//! |---|---|---|
//! | `igs-plan/v1` | canonical plan bytes | plan hash; approvals sign `label ‖ H(plan)` |
//! | `igs-entry/v1` | canonical entry bytes | `prev` links between entries |
//! | `igs-sth/v1` | run id ‖ size (u64 LE) ‖ root ‖ H(plan) | signed tree heads |
//! | `igs-run/v1` | canonical unsigned run record | co-signed run record |
//! | `igs-reveal/v1` | run id ‖ output ‖ salt ‖ value | commitments to revealed values |
//!
//! The Merkle tree is RFC 9162 §2.1.1: leaf = SHA-256(0x00 ‖ entry bytes),
//! node = SHA-256(0x01 ‖ left ‖ right), split at the largest power of two below n; the empty
//! tree's root is SHA-256 of the empty string.

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash32 = [u8; 32];

/// Domain labels.
pub mod domain {
    /// Plan hash and approvals.
    pub const PLAN: &[u8] = b"igs-plan/v1";
    /// Entry chaining.
    pub const ENTRY: &[u8] = b"igs-entry/v1";
    /// Signed tree heads.
    pub const STH: &[u8] = b"igs-sth/v1";
    /// Run records.
    pub const RUN: &[u8] = b"igs-run/v1";
    /// Reveal commitments.
    pub const REVEAL: &[u8] = b"igs-reveal/v1";
}

/// SHA-256 of `label ‖ parts…` (parts concatenated without framing: callers pass fixed-width
/// fields or a single variable-length part last, or length-prefix it themselves).
pub fn tagged(label: &[u8], parts: &[&[u8]]) -> Hash32 {
    let mut h = Sha256::new();
    h.update(label);
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// RFC 9162 leaf hash.
pub fn leaf_hash(entry: &[u8]) -> Hash32 {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

fn node_hash(l: &Hash32, r: &Hash32) -> Hash32 {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

/// RFC 9162 Merkle tree head over already computed leaf hashes.
pub fn merkle_root(leaves: &[Hash32]) -> Hash32 {
    match leaves {
        [] => Sha256::digest([]).into(),
        [one] => *one,
        _ => {
            // Largest power of two strictly smaller than n (n ≥ 2).
            let k = 1usize << (usize::BITS - 1 - (leaves.len() - 1).leading_zeros());
            let (l, r) = leaves.split_at(k);
            node_hash(&merkle_root(l), &merkle_root(r))
        }
    }
}

/// Audit path of leaf `index` (RFC 9162 §2.1.3), leaf-to-root order; `None` if out of range.
pub fn inclusion_proof(leaves: &[Hash32], index: usize) -> Option<Vec<Hash32>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    let mut lo = leaves;
    let mut m = index;
    let mut stack = Vec::new();
    while lo.len() > 1 {
        let k = 1usize << (usize::BITS - 1 - (lo.len() - 1).leading_zeros());
        let (l, r) = lo.split_at(k);
        if m < k {
            stack.push(merkle_root(r));
            lo = l;
        } else {
            stack.push(merkle_root(l));
            lo = r;
            m -= k;
        }
    }
    while let Some(h) = stack.pop() {
        path.push(h);
    }
    Some(path)
}

/// Checks an audit path (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash32,
    index: u64,
    size: u64,
    path: &[Hash32],
    root: &Hash32,
) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnn, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if sn == 0 {
            return false;
        }
        if fnn & 1 == 1 || fnn == sn {
            r = node_hash(p, &r);
            if fnn & 1 == 0 {
                while fnn & 1 == 0 && fnn != 0 {
                    fnn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnn >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(b: &[u8]) -> Hash32 {
        Sha256::digest(b).into()
    }

    #[test]
    fn known_small_trees() {
        assert_eq!(
            crate::codec::hex(&merkle_root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // RFC 9162 leaf of the empty entry: SHA-256(0x00).
        assert_eq!(
            crate::codec::hex(&leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let l: Vec<Hash32> = (0u8..7).map(|i| leaf_hash(&[i])).collect();
        let n = |a: &Hash32, b: &Hash32| {
            let mut v = vec![1u8];
            v.extend_from_slice(a);
            v.extend_from_slice(b);
            h(&v)
        };
        assert_eq!(merkle_root(&l[..1]), l[0]);
        assert_eq!(merkle_root(&l[..2]), n(&l[0], &l[1]));
        // n = 3: k = 2, so the right subtree is the single third leaf.
        assert_eq!(merkle_root(&l[..3]), n(&n(&l[0], &l[1]), &l[2]));
        // n = 7: k = 4; right is [4,5,6] with k = 2.
        let left = n(&n(&l[0], &l[1]), &n(&l[2], &l[3]));
        let right = n(&n(&l[4], &l[5]), &l[6]);
        assert_eq!(merkle_root(&l), n(&left, &right));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn inclusion_proofs_verify(n in 1usize..40, pick in 0usize..40) {
            let leaves: Vec<Hash32> = (0..n).map(|i| leaf_hash(&(i as u64).to_le_bytes())).collect();
            let root = merkle_root(&leaves);
            let i = pick % n;
            let path = inclusion_proof(&leaves, i).unwrap();
            prop_assert!(verify_inclusion(&leaves[i], i as u64, n as u64, &path, &root));
            let other = leaf_hash(b"x");
            prop_assert!(!verify_inclusion(&other, i as u64, n as u64, &path, &root));
        }
    }
}
