//! Comparison, equality, selection, min/max, abs and ReLU on additive shares.
//!
//! # Less than zero ([`ltz`])
//!
//! Masked-opening comparison with dealer masks, in the style of the "edaBits" comparison of
//! Escudero, Ghosh, Keller, Rachuri and Scholl, *Improved primitives for MPC over mixed
//! arithmetic-binary circuits* (CRYPTO 2020), §5 (LTZ from a masked opening and a binary
//! comparison circuit), with the binary circuit of Catrina–de Hoogh, *Improved primitives for
//! secure multiparty integer computation* (SCN 2010), §4 (bit-wise less-than as a prefix tree
//! of (LT, EQ) pairs). For |x| < 2^ℓ, ℓ = `bound_bits`:
//!
//! 1. The dealer provides r (uniform in Z_2^k, arithmetic shares), XOR shares of its bits
//!    r_0..r_ℓ and of the pair products r_{2i}·r_{2i+1} ([`crate::prep::CmpMasks`]).
//! 2. Open c = x' + r with x' = x + 2^ℓ ∈ [0, 2^(ℓ+1)). c is uniform: it reveals nothing.
//! 3. Since x' < 2^(ℓ+1), x' = (c − r) mod 2^(ℓ+1), so bit ℓ of x' is
//!    c_ℓ ⊕ r_ℓ ⊕ borrow, with borrow = \[c mod 2^ℓ < r mod 2^ℓ\]; and \[x < 0\] = ¬bit_ℓ(x').
//! 4. borrow is the LT output of a tree over (LT, EQ) pairs, most significant half first:
//!    (LT, EQ)_hi ∘ (LT, EQ)_lo = (LT_hi ⊕ EQ_hi·LT_lo, EQ_hi·EQ_lo). Leaves are
//!    lt_i = r_i·¬c_i and eq_i = ¬(c_i ⊕ r_i), local since c is public. The first level, pairs
//!    of bits (h = 2i+1, l = 2i), is local too thanks to the dealer's pair products
//!    p = r_h·r_l (write n_h = ¬c_h, n_l = ¬c_l, public):
//!    - LT = n_h·r_h ⊕ n_h·n_l·r_l ⊕ n_l·p
//!    - EQ = n_h·n_l ⊕ n_h·r_l ⊕ n_l·r_h ⊕ p
//!
//!    (tested on all 16 combinations). Every later level is one round of ANDs with
//!    shared-operand binary triples: EQ_hi⊕a, LT_lo⊕b1 and EQ_lo⊕b2 are opened, 3 bits per
//!    combine. The EQ of the lowest node of every level is never used (it only feeds the EQ
//!    of the lowest node above), so those combines open 2 bits with a plain triple; an odd
//!    top node passes up unchanged.
//! 5. The XOR-shared bit ¬(c_ℓ ⊕ r_ℓ ⊕ borrow) becomes an arithmetic share with a daBit
//!    (open β ⊕ b, 1 bit; \[β\] = e + (1 − 2e)\[b\]).
//!
//! **Range.** Exact (failure probability 0) for every |x| < 2^ℓ, 1 ≤ ℓ ≤ k − 1. Fixed-point
//! values in the safe range (|x| < 2^(k−2) in the ring) use ℓ = k − 2 ([`ltz_safe`], [`abs`],
//! [`relu`]); comparisons of two safe values compare their difference, which needs
//! ℓ = k − 1 ([`lt`], [`min`], …). The same design with ℓ = k − 1 still opens one ring
//! element: the design needs no headroom above bit ℓ.
//!
//! # Equality ([`eqz`])
//!
//! For |x| < 2^ℓ, x = 0 iff x ≡ 0 mod 2^ℓ (the only multiple of 2^ℓ in (−2^ℓ, 2^ℓ) is 0), i.e.
//! iff c = x + r agrees with r on bits 0..ℓ−1. That is an AND tree over eq_i, with the same
//! local first level (EQ above), then one round of plain ANDs (2 bits each) per level, then a
//! daBit.
//!
//! # Costs (ℓ = 62 in Z_2^64, per element, per party, N = 2; measured in `tests/compare.rs`)
//!
//! | operation | online rounds | bytes sent per element |
//! |---|---|---|
//! | [`ltz`] ℓ=62 | 7 | 8 + 85 bits + 1 bit ≈ 18.8 |
//! | [`ltz`] ℓ=63 ([`lt`]) | 7 | 8 + 88 bits + 1 bit ≈ 19.1 |
//! | [`eqz`] ℓ=62 | 7 | 8 + 60 bits + 1 bit ≈ 15.6 |
//! | [`select`] | 1 | 16 |
//! | [`min`], [`max`] | 8 | ≈ 35 |
//! | [`abs`], [`relu`] | 8 | ≈ 35 |
//!
//! Rounds: 1 (open c) + ⌈log2 ⌈ℓ/2⌉⌉ (tree levels) + 1 (daBit); 7 for 32 < ℓ ≤ 64 in Z_2^64,
//! 8 for ℓ up to 127 in Z_2^128. With N parties every party sends the same to each of its
//! N − 1 peers. The dealer sends the last party, per element, r's ℓ + 1 bits, ⌊ℓ/2⌋ pair
//! products, the triple products and one arithmetic daBit share.

mod bits;

use mpc_core::ring::Ring;
use mpc_core::share::{SharedBits, SharedVec};

use self::bits::{
    AndMaterial, PlainAnd, SharedAnd, and_pp, and_sp, bits_to_arith, column, not_public, xor_sp,
};
use crate::arith::{self, open};
use crate::ctx::Ctx;
use crate::error::{ProtocolError, Result, ensure};
use crate::prep::{CmpMasks, Prep};

/// A node of the comparison tree: XOR shares of LT and (when it will be used) EQ, one bit per
/// element.
struct Node {
    lt: SharedBits,
    eq: Option<SharedBits>,
}

fn missing_eq() -> ProtocolError {
    ProtocolError::Unreachable("EQ of a non-lowest tree node")
}

/// Number of first-level nodes for ℓ compared bits: ⌊ℓ/2⌋ pairs and an odd top bit.
fn leaf_count(l: u32) -> usize {
    l.div_ceil(2) as usize
}

/// (plain AND bits, shared-operand AND bits) per element for the LT tree over `m` nodes.
fn lt_tree_shape(mut m: usize) -> (usize, usize) {
    let (mut plain, mut shared) = (0, 0);
    while m > 1 {
        let pairs = m / 2;
        plain += 1;
        shared += pairs - 1;
        m = m.div_ceil(2);
    }
    (plain, shared)
}

/// Plain AND bits per element for the EQ tree over `m` nodes.
fn eq_tree_shape(mut m: usize) -> usize {
    let mut plain = 0;
    while m > 1 {
        plain += m / 2;
        m = m.div_ceil(2);
    }
    plain
}

/// Step 4, first level (local): (LT, EQ) of \[c mod 2^ℓ < r mod 2^ℓ\] for every pair of bits,
/// from the public bits of c and the dealer's bits and pair products of r. Node 0 (bits 0, 1)
/// gets no EQ (never used).
fn lt_leaves(
    first: bool,
    c_cols: &[Vec<u64>],
    masks: &CmpMasks<impl Ring>,
    l: u32,
    n: usize,
) -> Result<Vec<Node>> {
    let col = |i: usize| {
        c_cols
            .get(i)
            .ok_or(ProtocolError::Unreachable("public column"))
    };
    let rbit = |i: usize| {
        masks
            .bits
            .get(i)
            .ok_or(ProtocolError::Unreachable("mask bit"))
    };
    let mut nodes = Vec::with_capacity(leaf_count(l));
    for j in 0..(l / 2) as usize {
        let (lo, hi) = (2 * j, 2 * j + 1);
        let nl = not_public(col(lo)?, n);
        let nh = not_public(col(hi)?, n);
        let (rl, rh) = (rbit(lo)?, rbit(hi)?);
        let p = masks
            .pairs
            .get(j)
            .ok_or(ProtocolError::Unreachable("pair product"))?;
        let nhl = and_pp(&nh, &nl);
        // LT = n_h·r_h ⊕ n_h·n_l·r_l ⊕ n_l·p
        let lt = and_sp(rh, &nh).xor(&and_sp(rl, &nhl)).xor(&and_sp(p, &nl));
        // EQ = n_h·n_l ⊕ n_h·r_l ⊕ n_l·r_h ⊕ p
        let eq = if j > 0 {
            Some(pair_eq(first, rl, rh, p, &nl, &nh, &nhl)?)
        } else {
            None
        };
        nodes.push(Node { lt, eq });
    }
    if l % 2 == 1 {
        // The odd top bit i = ℓ − 1 is a leaf on its own.
        let i = (l - 1) as usize;
        let ni = not_public(col(i)?, n);
        let ri = rbit(i)?;
        let eq = if nodes.is_empty() {
            None
        } else {
            Some(xor_sp(first, ri, &ni)?)
        };
        nodes.push(Node {
            lt: and_sp(ri, &ni),
            eq,
        });
    }
    Ok(nodes)
}

/// EQ of a pair of bits (h = 2j+1, l = 2j), local: n_h·n_l ⊕ n_h·r_l ⊕ n_l·r_h ⊕ p, with
/// n = ¬c public, r the dealer's mask bits and p = r_h·r_l their pair product (`nhl` = n_h·n_l).
fn pair_eq(
    first: bool,
    rl: &SharedBits,
    rh: &SharedBits,
    p: &SharedBits,
    nl: &[u64],
    nh: &[u64],
    nhl: &[u64],
) -> Result<SharedBits> {
    let e = and_sp(rl, nh).xor(&and_sp(rh, nl)).xor(p);
    xor_sp(first, &e, nhl)
}

/// Step 4, one later level: combines nodes (2j, 2j+1) as (lo, hi), all in one round.
fn lt_level<P: Prep>(
    ctx: &mut Ctx<'_, P>,
    mat: &mut AndMaterial,
    nodes: Vec<Node>,
) -> Result<Vec<Node>> {
    let pairs = nodes.len() / 2;
    let mut plain: Vec<PlainAnd<'_>> = Vec::with_capacity(1);
    let mut shared: Vec<SharedAnd<'_>> = Vec::with_capacity(pairs);
    for j in 0..pairs {
        let (lo, hi) = match (nodes.get(2 * j), nodes.get(2 * j + 1)) {
            (Some(lo), Some(hi)) => (lo, hi),
            _ => return Err(ProtocolError::Unreachable("tree pair")),
        };
        let eq_hi = hi.eq.as_ref().ok_or_else(missing_eq)?;
        if j == 0 {
            plain.push((eq_hi, &lo.lt));
        } else {
            let eq_lo = lo.eq.as_ref().ok_or_else(missing_eq)?;
            shared.push((eq_hi, &lo.lt, eq_lo));
        }
    }
    let (zp, zs) = mat.and_level(ctx, &plain, &shared)?;
    let mut next = Vec::with_capacity(nodes.len().div_ceil(2));
    let mut zp = zp.into_iter();
    let mut zs = zs.into_iter();
    for j in 0..pairs {
        let hi = nodes
            .get(2 * j + 1)
            .ok_or(ProtocolError::Unreachable("tree pair"))?;
        if j == 0 {
            let z = zp.next().ok_or(ProtocolError::Unreachable("AND output"))?;
            next.push(Node {
                lt: hi.lt.xor(&z),
                eq: None,
            });
        } else {
            let (z1, z2) = zs.next().ok_or(ProtocolError::Unreachable("AND output"))?;
            next.push(Node {
                lt: hi.lt.xor(&z1),
                eq: Some(z2),
            });
        }
    }
    if nodes.len() % 2 == 1 {
        // The odd top node passes up unchanged.
        if let Some(top) = nodes.into_iter().last() {
            next.push(top);
        }
    }
    Ok(next)
}

/// Arithmetic shares of \[x < 0\] (0/1 in the ring) for |x| < 2^`bound_bits`,
/// 1 ≤ `bound_bits` ≤ k − 1. Seven rounds in Z_2^64 (module docs).
pub fn ltz<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    bound_bits: u32,
) -> Result<SharedVec<R>> {
    let n = x.len();
    if n == 0 {
        return Ok(SharedVec::zeros(0));
    }
    let dab = {
        let (prep, chan) = ctx.prep();
        prep.dabits::<R>(chan, n)?
    };
    let beta = ltz_xor(ctx, x, bound_bits)?;
    // Step 5: to arithmetic shares.
    bits_to_arith(ctx, &beta, &dab)
}

/// DECLASSIFIES \[x < 0\] for every element: the public bits, packed 64 per word. Only for
/// protocols whose comparison outcomes are simulatable from their outputs (the sort after a
/// secure shuffle, [`crate::sort`]). Steps 1–4 of [`ltz`], then one opening of one bit per
/// element instead of the daBit conversion.
pub(crate) fn ltz_open<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    bound_bits: u32,
) -> Result<Vec<u64>> {
    if x.is_empty() {
        return Ok(Vec::new());
    }
    let beta = ltz_xor(ctx, x, bound_bits)?;
    bits::open_bits(ctx, &beta)
}

/// Steps 1–4 of [`ltz`]: XOR shares of \[x < 0\].
fn ltz_xor<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    bound_bits: u32,
) -> Result<SharedBits> {
    let l = bound_bits;
    ensure(l >= 1 && l < R::BITS, || {
        format!("comparison bound 2^{l} in a {}-bit ring", R::BITS)
    })?;
    let n = x.len();
    // Step 1: all preprocessing up front (three dealer requests here, the daBits in the
    // caller; no online rounds).
    let (plain, shared) = lt_tree_shape(leaf_count(l));
    let masks = {
        let (prep, chan) = ctx.prep();
        prep.cmp::<R>(chan, n, l)?
    };
    let mut mat = AndMaterial::fetch(ctx, plain * n, shared * n)?;
    // Step 2: open c = x + 2^ℓ + r.
    let masked = arith::add_const(ctx, x, R::pow2(l)).add(&masks.r);
    let c = open(ctx, &masked)?;
    // Step 4: borrow = [c mod 2^ℓ < r mod 2^ℓ].
    let first = ctx.is_first();
    let c_cols: Vec<Vec<u64>> = (0..=l).map(|i| column(&c, i)).collect();
    let mut nodes = lt_leaves(first, &c_cols, &masks, l, n)?;
    while nodes.len() > 1 {
        nodes = lt_level(ctx, &mut mat, nodes)?;
    }
    let borrow = nodes
        .pop()
        .ok_or(ProtocolError::Unreachable("tree root"))?
        .lt;
    // Step 3: [x < 0] = ¬(c_ℓ ⊕ r_ℓ ⊕ borrow); party 0 XORs the public ¬c_ℓ.
    let r_l = masks
        .bits
        .get(l as usize)
        .ok_or(ProtocolError::Unreachable("mask bit ℓ"))?;
    let c_l = c_cols
        .get(l as usize)
        .ok_or(ProtocolError::Unreachable("public column ℓ"))?;
    xor_sp(first, &borrow.xor(r_l), &not_public(c_l, n))
}

/// \[x < 0\] for fixed-point values in the safe range |x| < 2^(k−2) (ℓ = k − 2).
pub fn ltz_safe<R: Ring, P: Prep>(ctx: &mut Ctx<'_, P>, x: &SharedVec<R>) -> Result<SharedVec<R>> {
    ltz(ctx, x, R::BITS - 2)
}

/// Arithmetic shares of \[x = 0\] for |x| < 2^`bound_bits`, 1 ≤ `bound_bits` ≤ k − 1.
/// Seven rounds for ℓ = 62 in Z_2^64; ≈ 15.6 bytes per element per peer (module docs).
pub fn eqz<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    bound_bits: u32,
) -> Result<SharedVec<R>> {
    let l = bound_bits;
    ensure(l >= 1 && l < R::BITS, || {
        format!("equality bound 2^{l} in a {}-bit ring", R::BITS)
    })?;
    let n = x.len();
    if n == 0 {
        return Ok(SharedVec::zeros(0));
    }
    let plain = eq_tree_shape(leaf_count(l));
    let (masks, dab) = {
        let (prep, chan) = ctx.prep();
        (prep.cmp::<R>(chan, n, l)?, prep.dabits::<R>(chan, n)?)
    };
    let mut mat = AndMaterial::fetch(ctx, plain * n, 0)?;
    // Open c = x + r; x = 0 iff c and r agree on bits 0..ℓ−1.
    let c = open(ctx, &x.add(&masks.r))?;
    let first = ctx.is_first();
    let c_cols: Vec<Vec<u64>> = (0..l).map(|i| column(&c, i)).collect();
    let mut eqs = eq_leaves(first, &c_cols, &masks, l, n)?;
    while eqs.len() > 1 {
        let pairs = eqs.len() / 2;
        let ops: Vec<PlainAnd<'_>> = (0..pairs)
            .filter_map(|j| Some((eqs.get(2 * j + 1)?, eqs.get(2 * j)?)))
            .collect();
        let (z, _) = mat.and_level(ctx, &ops, &[])?;
        let odd = (eqs.len() % 2 == 1).then(|| eqs.pop()).flatten();
        eqs = z;
        eqs.extend(odd);
    }
    let beta = eqs.pop().ok_or(ProtocolError::Unreachable("tree root"))?;
    bits_to_arith(ctx, &beta, &dab)
}

/// First level of the equality tree (local): EQ of every pair of bits (formula in the module
/// docs) and of an odd top bit.
fn eq_leaves(
    first: bool,
    c_cols: &[Vec<u64>],
    masks: &CmpMasks<impl Ring>,
    l: u32,
    n: usize,
) -> Result<Vec<SharedBits>> {
    let col = |i: usize| {
        c_cols
            .get(i)
            .ok_or(ProtocolError::Unreachable("public column"))
    };
    let rbit = |i: usize| {
        masks
            .bits
            .get(i)
            .ok_or(ProtocolError::Unreachable("mask bit"))
    };
    let mut out = Vec::with_capacity(leaf_count(l));
    for j in 0..(l / 2) as usize {
        let (lo, hi) = (2 * j, 2 * j + 1);
        let nl = not_public(col(lo)?, n);
        let nh = not_public(col(hi)?, n);
        let p = masks
            .pairs
            .get(j)
            .ok_or(ProtocolError::Unreachable("pair product"))?;
        let nhl = and_pp(&nh, &nl);
        out.push(pair_eq(first, rbit(lo)?, rbit(hi)?, p, &nl, &nh, &nhl)?);
    }
    if l % 2 == 1 {
        let i = (l - 1) as usize;
        out.push(xor_sp(first, rbit(i)?, &not_public(col(i)?, n))?);
    }
    Ok(out)
}

/// \[x = y\] for |x − y| < 2^(k−1) (every pair of safe-range values).
pub fn eq<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    y: &SharedVec<R>,
) -> Result<SharedVec<R>> {
    same_len(x, y)?;
    eqz(ctx, &x.sub(y), R::BITS - 1)
}

fn same_len<R: Ring>(x: &SharedVec<R>, y: &SharedVec<R>) -> Result<()> {
    ensure(x.len() == y.len(), || {
        format!("comparison of lengths {} and {}", x.len(), y.len())
    })
}

/// 1 − b for a shared 0/1 vector (local).
fn not_arith<R: Ring, P: Prep>(ctx: &Ctx<'_, P>, b: &SharedVec<R>) -> SharedVec<R> {
    arith::add_const(ctx, &b.neg(), R::ONE)
}

/// \[x < y\] for |x − y| < 2^(k−1) (every pair of safe-range values). Seven rounds in Z_2^64.
pub fn lt<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    y: &SharedVec<R>,
) -> Result<SharedVec<R>> {
    same_len(x, y)?;
    ltz(ctx, &x.sub(y), R::BITS - 1)
}

/// \[x > y\] = \[y < x\].
pub fn gt<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    y: &SharedVec<R>,
) -> Result<SharedVec<R>> {
    lt(ctx, y, x)
}

/// \[x ≤ y\] = 1 − \[y < x\].
pub fn le<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    y: &SharedVec<R>,
) -> Result<SharedVec<R>> {
    let g = lt(ctx, y, x)?;
    Ok(not_arith(ctx, &g))
}

/// \[x ≥ y\] = 1 − \[x < y\].
pub fn ge<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    y: &SharedVec<R>,
) -> Result<SharedVec<R>> {
    let l = lt(ctx, x, y)?;
    Ok(not_arith(ctx, &l))
}

/// \[x < c\] for a public vector c, |x − c| < 2^(k−1).
pub fn lt_public<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    c: &[R],
) -> Result<SharedVec<R>> {
    ensure(x.len() == c.len(), || {
        format!("comparison of lengths {} and {}", x.len(), c.len())
    })?;
    let neg: Vec<R> = c.iter().map(|&v| -v).collect();
    let d = arith::add_public(ctx, x, &neg);
    ltz(ctx, &d, R::BITS - 1)
}

/// y + b·(x − y): x where b = 1, y where b = 0 (b shared 0/1). One Beaver product, one round.
pub fn select<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    b: &SharedVec<R>,
    x: &SharedVec<R>,
    y: &SharedVec<R>,
) -> Result<SharedVec<R>> {
    same_len(x, y)?;
    same_len(b, x)?;
    let d = arith::mul(ctx, b, &x.sub(y))?;
    Ok(y.add(&d))
}

/// Element-wise minimum: select(\[x < y\], x, y). Eight rounds.
pub fn min<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    y: &SharedVec<R>,
) -> Result<SharedVec<R>> {
    let b = lt(ctx, x, y)?;
    select(ctx, &b, x, y)
}

/// Element-wise maximum: select(\[x < y\], y, x). Eight rounds.
pub fn max<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    y: &SharedVec<R>,
) -> Result<SharedVec<R>> {
    let b = lt(ctx, x, y)?;
    select(ctx, &b, y, x)
}

/// |x| = (1 − 2\[x < 0\])·x for safe-range x. Eight rounds.
pub fn abs<R: Ring, P: Prep>(ctx: &mut Ctx<'_, P>, x: &SharedVec<R>) -> Result<SharedVec<R>> {
    let s = ltz_safe(ctx, x)?;
    let sign = arith::add_const(ctx, &s.scale(-R::from_u64(2)), R::ONE);
    arith::mul(ctx, &sign, x)
}

/// max(x, 0) = (1 − \[x < 0\])·x for safe-range x. Eight rounds.
pub fn relu<R: Ring, P: Prep>(ctx: &mut Ctx<'_, P>, x: &SharedVec<R>) -> Result<SharedVec<R>> {
    let s = ltz_safe(ctx, x)?;
    let keep = not_arith(ctx, &s);
    arith::mul(ctx, &keep, x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The local first level against the definition, on all 16 combinations of
    /// (c_h, c_l, r_h, r_l), with a single "party" holding the whole sharing.
    #[test]
    fn first_level_formulas_exhaustive() {
        use mpc_core::ring::Z64;
        let n = 16usize;
        // Element e encodes (c_h, c_l, r_h, r_l) = bits 3, 2, 1, 0 of e.
        let bit = |e: usize, b: usize| ((e >> b) & 1) as u64;
        let pack = |f: &dyn Fn(usize) -> u64| -> Vec<u64> {
            vec![(0..n).fold(0u64, |w, e| w | (f(e) << e))]
        };
        let c: Vec<Z64> = (0..n)
            .map(|e| Z64(bit(e, 2) | (bit(e, 3) << 1) | (bit(e, 2) << 2) | (bit(e, 3) << 3)))
            .collect();
        let c_cols: Vec<Vec<u64>> = (0..4).map(|i| column(&c, i)).collect();
        // Two pairs with identical bits so that node 1 has an EQ too.
        let rl = SharedBits::from_share(n, pack(&|e| bit(e, 0))).unwrap();
        let rh = SharedBits::from_share(n, pack(&|e| bit(e, 1))).unwrap();
        let p = SharedBits::from_share(n, pack(&|e| bit(e, 0) & bit(e, 1))).unwrap();
        let masks = CmpMasks::<Z64> {
            r: SharedVec::zeros(n),
            bits: vec![rl.clone(), rh.clone(), rl, rh, SharedBits::zeros(n)],
            pairs: vec![p.clone(), p],
        };
        let nodes = lt_leaves(true, &c_cols, &masks, 4, n).unwrap();
        let eqs = eq_leaves(true, &c_cols, &masks, 4, n).unwrap();
        for e in 0..n {
            let (ch, cl, rh, rl) = (bit(e, 3), bit(e, 2), bit(e, 1), bit(e, 0));
            let c2 = 2 * ch + cl;
            let r2 = 2 * rh + rl;
            let want_lt = u64::from(c2 < r2);
            let want_eq = u64::from(c2 == r2);
            let get = |s: &SharedBits| (s.expose_words()[0] >> e) & 1;
            assert_eq!(get(&nodes[0].lt), want_lt, "LT at {e:04b}");
            assert_eq!(get(&nodes[1].lt), want_lt, "LT at {e:04b}");
            assert_eq!(get(nodes[1].eq.as_ref().unwrap()), want_eq, "EQ at {e:04b}");
            assert_eq!(get(&eqs[0]), want_eq, "EQ leaf at {e:04b}");
        }
    }

    #[test]
    fn tree_shapes() {
        // ℓ = 62: 31 nodes → 16 → 8 → 4 → 2 → 1; lowest combine of each level is plain.
        assert_eq!(leaf_count(62), 31);
        assert_eq!(lt_tree_shape(31), (5, 15 - 1 + 8 - 1 + 4 - 1 + 2 - 1));
        assert_eq!(eq_tree_shape(31), 15 + 8 + 4 + 2 + 1);
        assert_eq!(lt_tree_shape(1), (0, 0));
    }
}
