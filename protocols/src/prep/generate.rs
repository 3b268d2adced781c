//! Expansion of preprocessing material from seeds, on the party side ([`PartyGen`]) and the
//! dealer side ([`DealerGen`]). The two sides of each request type sit next to each other
//! below and must draw in exactly the same order.

use mpc_core::party::PartyId;
use mpc_core::prg::Prg;
use mpc_core::ring::{Ring, RingId, Z64, Z128};
use mpc_core::share::{SharedBits, SharedMat, SharedVec, last_word_mask, words_for_bits};

use super::{
    Beaver, BinTriples, BinTriplesShared, CmpMasks, DaBits, DotTriples, LiftMasks, MatTriple,
    MatTriple2, PrepRequest, SecretPerm, ShuffleCorrelation, SquarePairs, TruncTuples, apply_rows,
};
use crate::error::{ProtocolError, Result};
use crate::kernel;

/// One party's view of one request: its PRG stream and, for the last party, the dealer's
/// correction bytes.
pub struct PartyGen {
    prg: Prg,
    correction: Option<Vec<u8>>,
    pos: usize,
    dealer: PartyId,
}

impl PartyGen {
    /// A generator from this request's PRG; `correction` is `Some` for the last party only.
    pub fn new(prg: Prg, correction: Option<Vec<u8>>, dealer: PartyId) -> Self {
        Self {
            prg,
            correction,
            pos: 0,
            dealer,
        }
    }

    fn take(&mut self, len: usize) -> Result<&[u8]> {
        let dealer = self.dealer;
        let c = self
            .correction
            .as_deref()
            .ok_or(ProtocolError::Unreachable("no correction"))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= c.len())
            .ok_or_else(|| ProtocolError::PeerMisbehaved {
                party: dealer,
                reason: "correction too short".into(),
            })?;
        let s = c
            .get(self.pos..end)
            .ok_or(ProtocolError::Unreachable("checked range"))?;
        self.pos = end;
        Ok(s)
    }

    /// This party's share of a uniformly random component.
    pub fn random<R: Ring>(&mut self, n: usize) -> Vec<R> {
        let mut v = vec![R::ZERO; n];
        R::fill_random(&mut self.prg, &mut v);
        v
    }

    /// This party's share of a derived component.
    pub fn derived<R: Ring>(&mut self, n: usize) -> Result<Vec<R>> {
        if self.correction.is_some() {
            Ok(R::read_le(self.take(n * R::BYTES)?))
        } else {
            Ok(self.random(n))
        }
    }

    /// This party's XOR share of `nbits` random bits.
    pub fn random_bits(&mut self, nbits: usize) -> Vec<u64> {
        let mut w: Vec<u64> = (0..words_for_bits(nbits))
            .map(|_| self.prg.next_u64())
            .collect();
        if let Some(last) = w.last_mut() {
            *last &= last_word_mask(nbits);
        }
        w
    }

    /// This party's XOR share of `nbits` derived bits.
    pub fn derived_bits(&mut self, nbits: usize) -> Result<Vec<u64>> {
        if self.correction.is_some() {
            let bytes = self.take(words_for_bits(nbits) * 8)?;
            let mut w: Vec<u64> = bytes
                .chunks_exact(8)
                .map(|c| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(c);
                    u64::from_le_bytes(a)
                })
                .collect();
            if let Some(last) = w.last_mut() {
                *last &= last_word_mask(nbits);
            }
            Ok(w)
        } else {
            Ok(self.random_bits(nbits))
        }
    }

    /// A uniformly random permutation of `n` rows from this party's stream.
    pub fn perm(&mut self, n: usize) -> Vec<u32> {
        random_perm(&mut self.prg, n)
    }

    /// Checks that the whole correction was used.
    pub fn finish(self) -> Result<()> {
        match &self.correction {
            Some(c) if c.len() != self.pos => Err(ProtocolError::PeerMisbehaved {
                party: self.dealer,
                reason: "correction longer than the request".into(),
            }),
            _ => Ok(()),
        }
    }
}

/// The dealer's view of one request: every party's PRG stream, and the correction being built
/// for the last party.
pub struct DealerGen {
    prgs: Vec<Prg>,
    correction: Vec<u8>,
}

impl DealerGen {
    /// A generator over the parties' request PRGs (party order).
    pub fn new(prgs: Vec<Prg>) -> Self {
        Self {
            prgs,
            correction: Vec::new(),
        }
    }

    /// The correction for the last party.
    pub fn into_correction(self) -> Vec<u8> {
        self.correction
    }

    /// The value of a random component (the sum of all parties' shares).
    pub fn random<R: Ring>(&mut self, n: usize) -> Vec<R> {
        let mut sum = vec![R::ZERO; n];
        let mut buf = vec![R::ZERO; n];
        for p in &mut self.prgs {
            R::fill_random(p, &mut buf);
            for (s, b) in sum.iter_mut().zip(&buf) {
                *s += *b;
            }
        }
        sum
    }

    /// The permutation party `owner` draws with [`PartyGen::perm`] at this point of its
    /// stream.
    pub fn perm_of(&mut self, owner: usize, n: usize) -> Option<Vec<u32>> {
        self.prgs.get_mut(owner).map(|p| random_perm(p, n))
    }

    /// Shares a derived component: parties 0..N−1 draw, the last gets the correction.
    pub fn derived<R: Ring>(&mut self, value: &[R]) {
        let mut corr = value.to_vec();
        let mut buf = vec![R::ZERO; value.len()];
        let last = self.prgs.len().saturating_sub(1);
        for p in self.prgs.iter_mut().take(last) {
            R::fill_random(p, &mut buf);
            for (c, b) in corr.iter_mut().zip(&buf) {
                *c -= *b;
            }
        }
        R::write_le(&corr, &mut self.correction);
    }

    /// The value of random bits (XOR of all shares).
    pub fn random_bits(&mut self, nbits: usize) -> Vec<u64> {
        let nw = words_for_bits(nbits);
        let mut x = vec![0u64; nw];
        for p in &mut self.prgs {
            for w in x.iter_mut() {
                *w ^= p.next_u64();
            }
        }
        if let Some(last) = x.last_mut() {
            *last &= last_word_mask(nbits);
        }
        x
    }

    /// Shares derived bits.
    pub fn derived_bits(&mut self, value: &[u64]) {
        let mut corr = value.to_vec();
        let last = self.prgs.len().saturating_sub(1);
        for p in self.prgs.iter_mut().take(last) {
            for w in corr.iter_mut() {
                *w ^= p.next_u64();
            }
        }
        for w in corr {
            self.correction.extend_from_slice(&w.to_le_bytes());
        }
    }
}

/// A uniform index in 0..=`max` (rejection sampling, no modulo bias).
fn uniform_upto(prg: &mut Prg, max: u64) -> u64 {
    let Some(bound) = max.checked_add(1) else {
        return prg.next_u64();
    };
    // Largest multiple of `bound` that fits; values at or above it are redrawn.
    let zone = u64::MAX - (u64::MAX - bound + 1) % bound;
    loop {
        let x = prg.next_u64();
        if x <= zone {
            return x % bound;
        }
    }
}

/// Fisher–Yates shuffle of 0..n driven by `prg` (identical on the party and dealer sides).
fn random_perm(prg: &mut Prg, n: usize) -> Vec<u32> {
    let mut p: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        let j = uniform_upto(prg, i as u64) as usize;
        p.swap(i, j);
    }
    p
}

/// Packs bit `i` of each element into words.
pub(crate) fn bit_column<R: Ring>(xs: &[R], i: u32) -> Vec<u64> {
    let mut w = vec![0u64; words_for_bits(xs.len())];
    for (chunk, word) in xs.chunks(64).zip(w.iter_mut()) {
        let mut acc = 0u64;
        for (j, x) in chunk.iter().enumerate() {
            acc |= x.bit(i) << j;
        }
        *word = acc;
    }
    w
}

fn usize_of(v: u64) -> Result<usize> {
    usize::try_from(v).map_err(|_| ProtocolError::ApiMisuse("size does not fit usize".into()))
}

/// Runs the dealer side of `req`.
pub(crate) fn deal(req: &PrepRequest, g: &mut DealerGen) -> Result<()> {
    fn ring_dispatch(
        ring: u8,
        g: &mut DealerGen,
        f64_: impl FnOnce(&mut DealerGen) -> Result<()>,
        f128: impl FnOnce(&mut DealerGen) -> Result<()>,
    ) -> Result<()> {
        match RingId::from_byte(ring) {
            Some(RingId::Z64) => f64_(g),
            Some(RingId::Z128) => f128(g),
            None => Err(ProtocolError::ApiMisuse(format!("unknown ring id {ring}"))),
        }
    }
    match *req {
        PrepRequest::Beaver { ring, n } => {
            let n = usize_of(n)?;
            ring_dispatch(
                ring,
                g,
                |g| deal_beaver::<Z64>(g, n),
                |g| deal_beaver::<Z128>(g, n),
            )
        }
        PrepRequest::Square { ring, n } => {
            let n = usize_of(n)?;
            ring_dispatch(
                ring,
                g,
                |g| deal_square::<Z64>(g, n),
                |g| deal_square::<Z128>(g, n),
            )
        }
        PrepRequest::Dot { ring, n, len } => {
            let (n, len) = (usize_of(n)?, usize_of(len)?);
            ring_dispatch(
                ring,
                g,
                |g| deal_dot::<Z64>(g, n, len),
                |g| deal_dot::<Z128>(g, n, len),
            )
        }
        PrepRequest::Matrix { ring, m, k, n } => {
            let (m, k, n) = (usize_of(m)?, usize_of(k)?, usize_of(n)?);
            ring_dispatch(
                ring,
                g,
                |g| deal_matrix::<Z64>(g, m, k, n),
                |g| deal_matrix::<Z128>(g, m, k, n),
            )
        }
        PrepRequest::MatrixTwoSided { ring, m, k, n, l } => {
            let (m, k, n, l) = (usize_of(m)?, usize_of(k)?, usize_of(n)?, usize_of(l)?);
            ring_dispatch(
                ring,
                g,
                |g| deal_matrix_two_sided::<Z64>(g, m, k, n, l),
                |g| deal_matrix_two_sided::<Z128>(g, m, k, n, l),
            )
        }
        PrepRequest::Trunc { ring, n, frac_bits } => {
            let n = usize_of(n)?;
            ring_dispatch(
                ring,
                g,
                |g| deal_trunc::<Z64>(g, n, frac_bits),
                |g| deal_trunc::<Z128>(g, n, frac_bits),
            )
        }
        PrepRequest::Cmp { ring, n, bits } => {
            let n = usize_of(n)?;
            ring_dispatch(
                ring,
                g,
                |g| deal_cmp::<Z64>(g, n, bits),
                |g| deal_cmp::<Z128>(g, n, bits),
            )
        }
        PrepRequest::BinTriples { nbits } => {
            let nbits = usize_of(nbits)?;
            let a = g.random_bits(nbits);
            let b = g.random_bits(nbits);
            let c: Vec<u64> = a.iter().zip(&b).map(|(x, y)| x & y).collect();
            g.derived_bits(&c);
            Ok(())
        }
        PrepRequest::BinTriplesShared { nbits } => {
            let nbits = usize_of(nbits)?;
            let a = g.random_bits(nbits);
            let b1 = g.random_bits(nbits);
            let b2 = g.random_bits(nbits);
            let c1: Vec<u64> = a.iter().zip(&b1).map(|(x, y)| x & y).collect();
            let c2: Vec<u64> = a.iter().zip(&b2).map(|(x, y)| x & y).collect();
            g.derived_bits(&c1);
            g.derived_bits(&c2);
            Ok(())
        }
        PrepRequest::DaBits { ring, n } => {
            let n = usize_of(n)?;
            ring_dispatch(
                ring,
                g,
                |g| deal_dabits::<Z64>(g, n),
                |g| deal_dabits::<Z128>(g, n),
            )
        }
        PrepRequest::Shuffle {
            ring,
            n,
            width,
            owner,
        } => {
            let (n, width) = (usize_of(n)?, usize_of(width)?);
            if n > u32::MAX as usize {
                return Err(ProtocolError::ApiMisuse("shuffle of 2^32 rows".into()));
            }
            let owner = usize::from(owner);
            ring_dispatch(
                ring,
                g,
                |g| deal_shuffle::<Z64>(g, n, width, owner),
                |g| deal_shuffle::<Z128>(g, n, width, owner),
            )
        }
        PrepRequest::Lift64 { n } => deal_lift64(g, usize_of(n)?),
        PrepRequest::End => Ok(()),
    }
}

fn deal_lift64(g: &mut DealerGen, n: usize) -> Result<()> {
    let r = g.random::<Z64>(n);
    let wide: Vec<Z128> = r.iter().map(|x| Z128(u128::from(x.0))).collect();
    let msb: Vec<Z128> = r.iter().map(|x| Z128(u128::from(x.msb()))).collect();
    g.derived(&wide);
    g.derived(&msb);
    Ok(())
}

pub(crate) fn party_lift64(g: &mut PartyGen, n: usize) -> Result<LiftMasks> {
    let r64 = g.random::<Z64>(n);
    let r128 = g.derived::<Z128>(n)?;
    let msb = g.derived::<Z128>(n)?;
    Ok(LiftMasks {
        r64: SharedVec::from_share(r64),
        r128: SharedVec::from_share(r128),
        msb: SharedVec::from_share(msb),
    })
}

fn deal_shuffle<R: Ring>(g: &mut DealerGen, n: usize, width: usize, owner: usize) -> Result<()> {
    let total = n
        .checked_mul(width)
        .ok_or(ProtocolError::ApiMisuse("shuffle size".into()))?;
    let a = g.random::<R>(total);
    let perm = g
        .perm_of(owner, n)
        .ok_or_else(|| ProtocolError::ApiMisuse(format!("shuffle owner {owner}")))?;
    let b = apply_rows(&perm, &a, width).ok_or(ProtocolError::Unreachable("shuffle shape"))?;
    g.derived(&b);
    Ok(())
}

pub(crate) fn party_shuffle<R: Ring>(
    g: &mut PartyGen,
    n: usize,
    width: usize,
    owner: bool,
) -> Result<ShuffleCorrelation<R>> {
    let total = n
        .checked_mul(width)
        .ok_or(ProtocolError::ApiMisuse("shuffle size".into()))?;
    if n > u32::MAX as usize {
        return Err(ProtocolError::ApiMisuse("shuffle of 2^32 rows".into()));
    }
    let a = g.random::<R>(total);
    let perm = owner.then(|| SecretPerm::new(g.perm(n)));
    let b = g.derived::<R>(total)?;
    Ok(ShuffleCorrelation {
        a: SharedVec::from_share(a),
        perm,
        b: SharedVec::from_share(b),
    })
}

fn deal_beaver<R: Ring>(g: &mut DealerGen, n: usize) -> Result<()> {
    let a = g.random::<R>(n);
    let b = g.random::<R>(n);
    let c: Vec<R> = a.iter().zip(&b).map(|(&x, &y)| x * y).collect();
    g.derived(&c);
    Ok(())
}

pub(crate) fn party_beaver<R: Ring>(g: &mut PartyGen, n: usize) -> Result<Beaver<R>> {
    let a = g.random::<R>(n);
    let b = g.random::<R>(n);
    let c = g.derived::<R>(n)?;
    Ok(Beaver {
        a: SharedVec::from_share(a),
        b: SharedVec::from_share(b),
        c: SharedVec::from_share(c),
    })
}

fn deal_square<R: Ring>(g: &mut DealerGen, n: usize) -> Result<()> {
    let a = g.random::<R>(n);
    let a2: Vec<R> = a.iter().map(|&x| x * x).collect();
    g.derived(&a2);
    Ok(())
}

pub(crate) fn party_square<R: Ring>(g: &mut PartyGen, n: usize) -> Result<SquarePairs<R>> {
    let a = g.random::<R>(n);
    let a2 = g.derived::<R>(n)?;
    Ok(SquarePairs {
        a: SharedVec::from_share(a),
        a2: SharedVec::from_share(a2),
    })
}

fn deal_dot<R: Ring>(g: &mut DealerGen, n: usize, len: usize) -> Result<()> {
    let total = n
        .checked_mul(len)
        .ok_or(ProtocolError::ApiMisuse("dot size".into()))?;
    let a = g.random::<R>(total);
    let b = g.random::<R>(total);
    let c: Vec<R> = if len == 0 {
        vec![R::ZERO; n]
    } else {
        a.chunks(len)
            .zip(b.chunks(len))
            .map(|(x, y)| x.iter().zip(y).fold(R::ZERO, |s, (&p, &q)| s + p * q))
            .collect()
    };
    g.derived(&c);
    Ok(())
}

pub(crate) fn party_dot<R: Ring>(g: &mut PartyGen, n: usize, len: usize) -> Result<DotTriples<R>> {
    let total = n
        .checked_mul(len)
        .ok_or(ProtocolError::ApiMisuse("dot size".into()))?;
    let a = g.random::<R>(total);
    let b = g.random::<R>(total);
    let c = g.derived::<R>(n)?;
    Ok(DotTriples {
        a: SharedVec::from_share(a),
        b: SharedVec::from_share(b),
        c: SharedVec::from_share(c),
    })
}

fn deal_matrix<R: Ring>(g: &mut DealerGen, m: usize, k: usize, n: usize) -> Result<()> {
    let a = g.random::<R>(m * k);
    let b = g.random::<R>(k * n);
    let c = kernel::matmul(&a, &b, m, k, n);
    g.derived(&c);
    Ok(())
}

pub(crate) fn party_matrix<R: Ring>(
    g: &mut PartyGen,
    m: usize,
    k: usize,
    n: usize,
) -> Result<MatTriple<R>> {
    let shape = || ProtocolError::Unreachable("matrix triple shape");
    let a = SharedMat::from_share(m, k, g.random::<R>(m * k)).ok_or_else(shape)?;
    let b = SharedMat::from_share(k, n, g.random::<R>(k * n)).ok_or_else(shape)?;
    let c = SharedMat::from_share(m, n, g.derived::<R>(m * n)?).ok_or_else(shape)?;
    Ok(MatTriple { a, b, c })
}

fn deal_matrix_two_sided<R: Ring>(
    g: &mut DealerGen,
    m: usize,
    k: usize,
    n: usize,
    l: usize,
) -> Result<()> {
    let a = g.random::<R>(m * k);
    let b = g.random::<R>(k * n);
    let b2 = g.random::<R>(l * m);
    g.derived(&kernel::matmul(&a, &b, m, k, n));
    g.derived(&kernel::matmul(&b2, &a, l, m, k));
    Ok(())
}

pub(crate) fn party_matrix_two_sided<R: Ring>(
    g: &mut PartyGen,
    m: usize,
    k: usize,
    n: usize,
    l: usize,
) -> Result<MatTriple2<R>> {
    let shape = || ProtocolError::Unreachable("two-sided matrix triple shape");
    let a = SharedMat::from_share(m, k, g.random::<R>(m * k)).ok_or_else(shape)?;
    let b = SharedMat::from_share(k, n, g.random::<R>(k * n)).ok_or_else(shape)?;
    let b2 = SharedMat::from_share(l, m, g.random::<R>(l * m)).ok_or_else(shape)?;
    let c = SharedMat::from_share(m, n, g.derived::<R>(m * n)?).ok_or_else(shape)?;
    let c2 = SharedMat::from_share(l, k, g.derived::<R>(l * k)?).ok_or_else(shape)?;
    Ok(MatTriple2 { a, b, c, b2, c2 })
}

fn deal_trunc<R: Ring>(g: &mut DealerGen, n: usize, f: u32) -> Result<()> {
    let r = g.random::<R>(n);
    let low: Vec<R> = r.iter().map(|x| x.low_bits(R::BITS - 1).shr(f)).collect();
    let msb: Vec<R> = r.iter().map(|x| R::from_u64(u64::from(x.msb()))).collect();
    g.derived(&low);
    g.derived(&msb);
    Ok(())
}

pub(crate) fn party_trunc<R: Ring>(g: &mut PartyGen, n: usize) -> Result<TruncTuples<R>> {
    let r = g.random::<R>(n);
    let low = g.derived::<R>(n)?;
    let msb = g.derived::<R>(n)?;
    Ok(TruncTuples {
        r: SharedVec::from_share(r),
        r_low_shr: SharedVec::from_share(low),
        r_msb: SharedVec::from_share(msb),
    })
}

fn deal_cmp<R: Ring>(g: &mut DealerGen, n: usize, bits: u32) -> Result<()> {
    if bits == 0 || bits >= R::BITS {
        return Err(ProtocolError::ApiMisuse(format!("comparison width {bits}")));
    }
    let r = g.random::<R>(n);
    let cols: Vec<Vec<u64>> = (0..=bits).map(|i| bit_column(&r, i)).collect();
    for c in &cols {
        g.derived_bits(c);
    }
    for i in 0..(bits / 2) {
        let (lo, hi) = (cols.get(2 * i as usize), cols.get(2 * i as usize + 1));
        let (Some(lo), Some(hi)) = (lo, hi) else {
            return Err(ProtocolError::Unreachable("pair index"));
        };
        let p: Vec<u64> = lo.iter().zip(hi).map(|(a, b)| a & b).collect();
        g.derived_bits(&p);
    }
    Ok(())
}

pub(crate) fn party_cmp<R: Ring>(g: &mut PartyGen, n: usize, bits: u32) -> Result<CmpMasks<R>> {
    if bits == 0 || bits >= R::BITS {
        return Err(ProtocolError::ApiMisuse(format!("comparison width {bits}")));
    }
    let bad = || ProtocolError::Unreachable("bit column length");
    let r = SharedVec::from_share(g.random::<R>(n));
    let mut cols = Vec::with_capacity(bits as usize + 1);
    for _ in 0..=bits {
        cols.push(SharedBits::from_share(n, g.derived_bits(n)?).ok_or_else(bad)?);
    }
    let mut pairs = Vec::with_capacity(bits as usize / 2);
    for _ in 0..(bits / 2) {
        pairs.push(SharedBits::from_share(n, g.derived_bits(n)?).ok_or_else(bad)?);
    }
    Ok(CmpMasks {
        r,
        bits: cols,
        pairs,
    })
}

pub(crate) fn party_bin_triples(g: &mut PartyGen, nbits: usize) -> Result<BinTriples> {
    let bad = || ProtocolError::Unreachable("bit length");
    let a = SharedBits::from_share(nbits, g.random_bits(nbits)).ok_or_else(bad)?;
    let b = SharedBits::from_share(nbits, g.random_bits(nbits)).ok_or_else(bad)?;
    let c = SharedBits::from_share(nbits, g.derived_bits(nbits)?).ok_or_else(bad)?;
    Ok(BinTriples { a, b, c })
}

pub(crate) fn party_bin_triples_shared(g: &mut PartyGen, nbits: usize) -> Result<BinTriplesShared> {
    let bad = || ProtocolError::Unreachable("bit length");
    let a = SharedBits::from_share(nbits, g.random_bits(nbits)).ok_or_else(bad)?;
    let b1 = SharedBits::from_share(nbits, g.random_bits(nbits)).ok_or_else(bad)?;
    let b2 = SharedBits::from_share(nbits, g.random_bits(nbits)).ok_or_else(bad)?;
    let c1 = SharedBits::from_share(nbits, g.derived_bits(nbits)?).ok_or_else(bad)?;
    let c2 = SharedBits::from_share(nbits, g.derived_bits(nbits)?).ok_or_else(bad)?;
    Ok(BinTriplesShared { a, b1, b2, c1, c2 })
}

fn deal_dabits<R: Ring>(g: &mut DealerGen, n: usize) -> Result<()> {
    let b = g.random_bits(n);
    let arith: Vec<R> = (0..n)
        .map(|i| R::from_u64(b.get(i / 64).map_or(0, |w| (w >> (i % 64)) & 1)))
        .collect();
    g.derived(&arith);
    Ok(())
}

pub(crate) fn party_dabits<R: Ring>(g: &mut PartyGen, n: usize) -> Result<DaBits<R>> {
    let bin = SharedBits::from_share(n, g.random_bits(n))
        .ok_or(ProtocolError::Unreachable("bit length"))?;
    let arith = SharedVec::from_share(g.derived::<R>(n)?);
    Ok(DaBits { bin, arith })
}
