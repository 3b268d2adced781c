//! Correlated randomness ("preprocessing") behind one trait, [`Prep`].
//!
//! Sources:
//! - [`Dealer`] (with [`serve_dealer`] on the helper): a helper party that holds no data and
//!   learns nothing. At session start it sends each computing party a PRG seed. For every
//!   request, each party expands its shares of the *random* components (a, b of a triple,
//!   r of a truncation pair…) from its seed; the dealer expands the same streams, computes the
//!   *derived* components (c = a·b, r >> f…), and sends the last party only the corrections
//!   that make the shares add up. Seeds go to all N parties and corrections to one, so dealer
//!   traffic is about one value per derived element, independent of N.
//! - [`InsecureIdealPrep`]: test-only. Every party derives every seed from one common seed and
//!   runs the dealer's code locally: no communication, and no security at all.
//!
//! Dealer-free sources (OT or HE based) and MAC-carrying sources for malicious security
//! implement [`Prep`] directly: protocol code only sees the typed material below.
//!
//! Request flow with the dealer (P = N−1 is the last computing party, D the dealer):
//!
//! ```text
//!   P0..P(N-2):  shares = expand(seed_i, request#t)                      (no traffic)
//!   P(N-1) ──request#t (public sizes)──► D:  value = f(Σ expand(seed_j, t))
//!   P(N-1) ◄──correction = value − Σ_{j<N−1} share_j ────────────── D
//! ```

mod dealer;
mod generate;

use mpc_core::channel::Channel;
use mpc_core::ring::{Ring, Z64, Z128};
use mpc_core::share::{SharedBits, SharedMat, SharedVec};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::SecurityModel;

pub use dealer::{Dealer, DealerStats, InsecureIdealPrep, serve_dealer};
pub use generate::{DealerGen, PartyGen};

/// Largest number of ring elements (or bits / 64) one request may ask for.
pub const MAX_REQUEST_ELEMENTS: u64 = 1 << 31;

/// A public description of the correlated randomness a protocol step needs. Sent by the last
/// computing party to the dealer; contains sizes only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrepRequest {
    /// `n` Beaver triples (a, b, a·b).
    Beaver {
        /// Ring id byte.
        ring: u8,
        /// Number of triples.
        n: u64,
    },
    /// `n` square pairs (a, a²).
    Square {
        /// Ring id byte.
        ring: u8,
        /// Number of pairs.
        n: u64,
    },
    /// `n` dot-product triples of length `len`: vectors a, b (n·len) and c_i = Σ_j a_ij b_ij.
    Dot {
        /// Ring id byte.
        ring: u8,
        /// Number of dot products.
        n: u64,
        /// Length of each.
        len: u64,
    },
    /// A matrix triple A (m×k), B (k×n), C = A·B.
    Matrix {
        /// Ring id byte.
        ring: u8,
        /// Rows of A.
        m: u64,
        /// Columns of A = rows of B.
        k: u64,
        /// Columns of B.
        n: u64,
    },
    /// `n` truncation tuples (r, (r mod 2^(k−1)) >> f, msb(r)).
    Trunc {
        /// Ring id byte.
        ring: u8,
        /// Number of tuples.
        n: u64,
        /// Bits to truncate.
        frac_bits: u32,
    },
    /// `n` comparison masks: r, XOR shares of bits 0..=`bits` of r, and XOR shares of the
    /// pair products r_{2i}·r_{2i+1} for 2i+1 < `bits`.
    Cmp {
        /// Ring id byte.
        ring: u8,
        /// Number of masks.
        n: u64,
        /// ℓ, the number of low bits compared.
        bits: u32,
    },
    /// `nbits` binary triples (a, b, a∧b).
    BinTriples {
        /// Number of triples.
        nbits: u64,
    },
    /// `nbits` shared-operand binary triples (a, b1, b2, a∧b1, a∧b2).
    BinTriplesShared {
        /// Number of triples.
        nbits: u64,
    },
    /// `n` daBits: one random bit as an XOR share and as an arithmetic share.
    DaBits {
        /// Ring id byte.
        ring: u8,
        /// Number of bits.
        n: u64,
    },
    /// No more requests: the dealer ends its session.
    End,
    /// A permute-and-reshare correlation for one pass of [`crate::sort::shuffle_rows`]:
    /// every party holds a share a_i of a uniform mask A (n rows × `width`), party `owner`
    /// also holds a uniform permutation π of the rows, and all parties hold fresh shares of
    /// π(A). Appended after `End` so older encodings keep their tags.
    Shuffle {
        /// Ring id byte.
        ring: u8,
        /// Rows.
        n: u64,
        /// Elements per row.
        width: u64,
        /// The computing party that knows π.
        owner: u16,
    },
    /// A two-sided matrix triple: A (m×k) with B (k×n), C = A·B and B2 (l×m), C2 = B2·A, so
    /// one opening of X − A serves products X·v and u'·X (see
    /// [`crate::arith::PrivateMatrix`]).
    MatrixTwoSided {
        /// Ring id byte.
        ring: u8,
        /// Rows of A.
        m: u64,
        /// Columns of A.
        k: u64,
        /// Columns of B (right products).
        n: u64,
        /// Rows of B2 (left products).
        l: u64,
    },
    /// `n` ring-lifting masks (see [`crate::convert`]): r uniform in Z_2^64 shared in Z_2^64,
    /// the same r as an integer in [0, 2^64) shared in Z_2^128, and msb(r) shared in Z_2^128.
    Lift64 {
        /// Number of masks.
        n: u64,
    },
}

impl PrepRequest {
    /// Approximate number of elements the request asks for (to bound dealer work).
    pub fn size(&self) -> Option<u64> {
        match *self {
            Self::Beaver { n, .. } | Self::Square { n, .. } | Self::DaBits { n, .. } => Some(n),
            Self::Trunc { n, .. } => Some(n),
            // Inputs and the n outputs: with len = 0 the request still makes n outputs.
            Self::Dot { n, len, .. } => n.checked_mul(len)?.checked_add(n),
            Self::Matrix { m, k, n, .. } => m
                .checked_mul(k)?
                .checked_add(k.checked_mul(n)?)?
                .checked_add(m.checked_mul(n)?),
            Self::Cmp { n, bits, .. } => n.checked_mul(u64::from(bits) + 2),
            Self::BinTriples { nbits } | Self::BinTriplesShared { nbits } => Some(nbits / 64 + 1),
            Self::End => Some(0),
            Self::Shuffle { n, width, .. } => n.checked_mul(width)?.checked_mul(2)?.checked_add(n),
            Self::MatrixTwoSided { m, k, n, l, .. } => m
                .checked_mul(k)?
                .checked_add(k.checked_add(m)?.checked_mul(n.checked_add(l)?)?),
            Self::Lift64 { n } => n.checked_mul(3),
        }
    }
}

/// Beaver triples: shares of a, b uniform and c = a·b.
pub struct Beaver<R: Ring> {
    /// a.
    pub a: SharedVec<R>,
    /// b.
    pub b: SharedVec<R>,
    /// a·b.
    pub c: SharedVec<R>,
}

/// Square pairs: a uniform, a².
pub struct SquarePairs<R: Ring> {
    /// a.
    pub a: SharedVec<R>,
    /// a².
    pub a2: SharedVec<R>,
}

/// Dot-product triples.
pub struct DotTriples<R: Ring> {
    /// a, n·len entries (row-major: dot product i uses entries i·len..(i+1)·len).
    pub a: SharedVec<R>,
    /// b, same layout.
    pub b: SharedVec<R>,
    /// c_i = Σ_j a_ij b_ij, n entries.
    pub c: SharedVec<R>,
}

/// A matrix triple.
pub struct MatTriple<R: Ring> {
    /// A, m×k.
    pub a: SharedMat<R>,
    /// B, k×n.
    pub b: SharedMat<R>,
    /// C = A·B, m×n.
    pub c: SharedMat<R>,
}

/// A two-sided matrix triple (see [`PrepRequest::MatrixTwoSided`]).
pub struct MatTriple2<R: Ring> {
    /// A, m×k.
    pub a: SharedMat<R>,
    /// B, k×n.
    pub b: SharedMat<R>,
    /// C = A·B, m×n.
    pub c: SharedMat<R>,
    /// B2, l×m.
    pub b2: SharedMat<R>,
    /// C2 = B2·A, l×k.
    pub c2: SharedMat<R>,
}

/// Truncation tuples (see `crate::trunc`).
pub struct TruncTuples<R: Ring> {
    /// r, uniform.
    pub r: SharedVec<R>,
    /// (r mod 2^(k−1)) >> f as a ring integer.
    pub r_low_shr: SharedVec<R>,
    /// msb(r) as a ring integer 0/1.
    pub r_msb: SharedVec<R>,
}

/// Ring-lifting masks (see [`PrepRequest::Lift64`] and [`crate::convert`]).
pub struct LiftMasks {
    /// r, uniform in Z_2^64.
    pub r64: SharedVec<Z64>,
    /// The same r as an integer in [0, 2^64), shared in Z_2^128.
    pub r128: SharedVec<Z128>,
    /// msb(r) (0 or 1), shared in Z_2^128.
    pub msb: SharedVec<Z128>,
}

/// Comparison masks (see `crate::compare`).
pub struct CmpMasks<R: Ring> {
    /// r, uniform in the ring.
    pub r: SharedVec<R>,
    /// `bits[i]`: XOR shares of bit i of every r, for i in 0..=ℓ.
    pub bits: Vec<SharedBits>,
    /// `pairs[i]`: XOR shares of bit 2i ∧ bit 2i+1 of every r, for 2i+1 < ℓ.
    pub pairs: Vec<SharedBits>,
}

/// Binary triples.
pub struct BinTriples {
    /// a.
    pub a: SharedBits,
    /// b.
    pub b: SharedBits,
    /// a ∧ b.
    pub c: SharedBits,
}

/// Shared-operand binary triples: two ANDs with a common left input cost one opening of it.
pub struct BinTriplesShared {
    /// a.
    pub a: SharedBits,
    /// b1.
    pub b1: SharedBits,
    /// b2.
    pub b2: SharedBits,
    /// a ∧ b1.
    pub c1: SharedBits,
    /// a ∧ b2.
    pub c2: SharedBits,
}

/// daBits: a random bit shared both ways.
pub struct DaBits<R: Ring> {
    /// XOR shares.
    pub bin: SharedBits,
    /// Arithmetic shares of the same bits (0/1 in the ring).
    pub arith: SharedVec<R>,
}

/// A uniformly random permutation of rows known to one party. Zeroized on drop; no `Debug`.
pub struct SecretPerm {
    /// `perm[r]` = the input row that lands at output row r.
    perm: Vec<u32>,
}

impl SecretPerm {
    /// Wraps a permutation (`perm[r]` = source row of output row r).
    pub(crate) fn new(perm: Vec<u32>) -> Self {
        Self { perm }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.perm.len()
    }

    /// True for the empty permutation.
    pub fn is_empty(&self) -> bool {
        self.perm.is_empty()
    }

    /// Applies the permutation to the rows of a row-major matrix with `width` columns:
    /// output row r is input row `perm[r]`. `None` if the shape does not match.
    pub fn apply_rows<R: Ring>(&self, x: &[R], width: usize) -> Option<Vec<R>> {
        apply_rows(&self.perm, x, width)
    }
}

impl Drop for SecretPerm {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.perm);
    }
}

/// Output row r = input row `perm[r]` of a row-major matrix with `width` columns.
pub(crate) fn apply_rows<R: Ring>(perm: &[u32], x: &[R], width: usize) -> Option<Vec<R>> {
    if perm.len().checked_mul(width)? != x.len() {
        return None;
    }
    let mut out = Vec::with_capacity(x.len());
    for &src in perm {
        let s = (src as usize).checked_mul(width)?;
        out.extend_from_slice(x.get(s..s.checked_add(width)?)?);
    }
    Some(out)
}

/// A permute-and-reshare correlation (see [`PrepRequest::Shuffle`]).
pub struct ShuffleCorrelation<R: Ring> {
    /// This party's share of the mask A (n·width, row-major).
    pub a: SharedVec<R>,
    /// π, at the owner only.
    pub perm: Option<SecretPerm>,
    /// This party's share of π(A).
    pub b: SharedVec<R>,
}

/// A source of correlated randomness for one computing party.
///
/// Every method is called by all computing parties in the same order with the same public
/// arguments; sources may communicate through `chan` (the dealer does, from the last party).
pub trait Prep {
    /// The security model this source provides (printed in plans and reports).
    const MODEL: SecurityModel;

    /// Beaver triples.
    fn beaver<R: Ring>(&mut self, chan: &mut dyn Channel, n: usize) -> Result<Beaver<R>>;
    /// Square pairs.
    fn square<R: Ring>(&mut self, chan: &mut dyn Channel, n: usize) -> Result<SquarePairs<R>>;
    /// Dot-product triples.
    fn dot<R: Ring>(
        &mut self,
        chan: &mut dyn Channel,
        n: usize,
        len: usize,
    ) -> Result<DotTriples<R>>;
    /// A matrix triple.
    fn matrix<R: Ring>(
        &mut self,
        chan: &mut dyn Channel,
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<MatTriple<R>>;
    /// A two-sided matrix triple: A (m×k), B (k×n), C = A·B, B2 (l×m), C2 = B2·A.
    fn matrix_two_sided<R: Ring>(
        &mut self,
        chan: &mut dyn Channel,
        m: usize,
        k: usize,
        n: usize,
        l: usize,
    ) -> Result<MatTriple2<R>>;
    /// Truncation tuples.
    fn trunc<R: Ring>(
        &mut self,
        chan: &mut dyn Channel,
        n: usize,
        frac_bits: u32,
    ) -> Result<TruncTuples<R>>;
    /// Comparison masks over ℓ = `bits` low bits.
    fn cmp<R: Ring>(&mut self, chan: &mut dyn Channel, n: usize, bits: u32) -> Result<CmpMasks<R>>;
    /// Binary triples.
    fn bin_triples(&mut self, chan: &mut dyn Channel, nbits: usize) -> Result<BinTriples>;
    /// Shared-operand binary triples.
    fn bin_triples_shared(
        &mut self,
        chan: &mut dyn Channel,
        nbits: usize,
    ) -> Result<BinTriplesShared>;
    /// daBits.
    fn dabits<R: Ring>(&mut self, chan: &mut dyn Channel, n: usize) -> Result<DaBits<R>>;
    /// A permute-and-reshare correlation for `n` rows of `width` elements, π known to
    /// `owner`.
    fn shuffle<R: Ring>(
        &mut self,
        chan: &mut dyn Channel,
        n: usize,
        width: usize,
        owner: mpc_core::party::PartyId,
    ) -> Result<ShuffleCorrelation<R>>;
    /// Ring-lifting masks from Z_2^64 to Z_2^128 ([`LiftMasks`]).
    fn lift64(&mut self, chan: &mut dyn Channel, n: usize) -> Result<LiftMasks>;
    /// Tells the source the session is over (the dealer then stops).
    fn finish(&mut self, chan: &mut dyn Channel) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpc_core::wire::Msg;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    // Byte snapshots of every request: a change here is a wire-format change (bump the version).
    #[test]
    fn request_snapshots() {
        let cases = [
            (PrepRequest::Beaver { ring: 1, n: 1000 }, "0001e807"),
            (PrepRequest::Square { ring: 2, n: 3 }, "010203"),
            (
                PrepRequest::Dot {
                    ring: 1,
                    n: 2,
                    len: 300,
                },
                "020102ac02",
            ),
            (
                PrepRequest::Matrix {
                    ring: 1,
                    m: 4,
                    k: 5,
                    n: 6,
                },
                "0301040506",
            ),
            (
                PrepRequest::Trunc {
                    ring: 2,
                    n: 7,
                    frac_bits: 40,
                },
                "04020728",
            ),
            (
                PrepRequest::Cmp {
                    ring: 1,
                    n: 8,
                    bits: 62,
                },
                "0501083e",
            ),
            (PrepRequest::BinTriples { nbits: 129 }, "068101"),
            (PrepRequest::BinTriplesShared { nbits: 1 }, "0701"),
            (PrepRequest::DaBits { ring: 1, n: 9 }, "080109"),
            (PrepRequest::End, "09"),
            (
                PrepRequest::Shuffle {
                    ring: 2,
                    n: 300,
                    width: 3,
                    owner: 1,
                },
                "0a02ac020301",
            ),
            (
                PrepRequest::MatrixTwoSided {
                    ring: 2,
                    m: 3,
                    k: 4,
                    n: 5,
                    l: 6,
                },
                "0b0203040506",
            ),
            (PrepRequest::Lift64 { n: 300 }, "0cac02"),
        ];
        for (req, want) in cases {
            let m = Msg::control(&req).unwrap();
            assert_eq!(hex(m.payload()), want, "{req:?}");
            assert_eq!(m.into_control::<PrepRequest>().unwrap(), req);
        }
    }
}
