//! Secure PRS weight fitting (aggregate-then-solve): pooled standardisation and ridge
//! regression by conjugate gradient on the shared Gram matrix. Plaintext reference and
//! definitions: [`crate::plain::prs`] (`data/small/README.md` §4d).
//!
//! **Protocol.** Every computing party is a site.
//!
//! 1. [`standardization`]: each site inputs its per-variant genotype counts (hom-ref, het,
//!    hom-alt, missing); the sums are opened. μ_j and s_j follow in plaintext
//!    ([`Standardization::from_counts`]). *Revealed:* the pooled genotype counts — exactly
//!    what pooled QC with `Reveal::Frequencies` reveals — hence μ and s.
//! 2. [`ridge`]: each site computes its [`SiteAggregates`] with the public μ, s (G_s =
//!    Z_s'Z_s/N and b_s = Z_s'y_s/N) and encodes them in fixed point, b_s pre-multiplied by
//!    the public 2^`rhs_shift`. Every computing party is a site, so site i's encoded
//!    aggregate *is* its additive share of G = Σ G_s and b = Σ b_s (no input protocol, no
//!    communication); it is only ever opened under the dealer's uniform mask A.
//! 3. Conjugate gradient on (G + (λ/N) I) β = b for every λ of the plan at once (vectors are
//!    λ-major, L × p) from β = 0, a public number of steps per λ ([`ridge_steps`]: `iters` for
//!    the smallest λ, ∝ 1/√λ for the others, so a converged large λ stops costing Gram
//!    products). Each step: one product G·D for the active λ's (below), q = G·D + c·D, p'q and
//!    r'r as batched dot products, one batched [`reciprocal_refined`] of (p'q, r'r), the
//!    quotients α = r'r/p'q and β = r'r_new/r'r by `div_refined` (two quotient corrections
//!    each), then the usual updates. ≈ 55 rounds.
//! 4. The weights 2^−rhs_shift·x stay shared ([`SharedVec`], L × p at `fx`).
//!
//! **The product G·D with one masking of G.** One matrix triple (A p×p, B p×(L·iters),
//! C = A·B) from the dealer, used column block by column block: E = G − A is opened once
//! (uniform: A masks G once); at step t with the L columns B_t, C_t, open F_t = D − B_t
//! (fresh mask each step) and compute locally G·D = E·B_t + A·F_t + C_t (+ E·F_t at party 0).
//! So the p² matrix crosses the network once, and each step moves only p·L elements; the
//! local work per step is two p × p × L ring products per party. (Opening G − A with the
//! usual per-product triple at every step would move p² elements per step.)
//!
//! **What each party learns:** its own data, the pooled genotype counts (step 1), and
//! nothing else: every other opened value (E, F_t, Beaver/truncation/comparison openings)
//! is uniformly masked. The weights are not opened. The dealer learns only shapes.
//!
//! **Numerics** (Z_2^128, f = 40). G has unit diagonal, so |G_jk| ≤ 1; b is scaled by
//! 2^`rhs_shift` so that r'r and p'(G + cI)p stay inside the reciprocal's domain
//! [2^−20, 2^40) until the relative residual is ~1e−7 (r'r₀ = 2^(2·shift)·‖b‖², ‖b‖² ≤
//! p·var(y)). Once a λ has converged below the domain, the clamped reciprocal (≤ 2^21 after
//! the Newton step) makes the remaining steps for that λ vanishingly small instead of
//! blowing up. Rounding: every truncation is < 1 ulp = 2^−40 of the scaled values. The
//! binding constraint is the reciprocal's window: p'(G + cI)p starts at 2^(2·shift)·b'Gb
//! (2.6e3·2^24 on `data/small`, must stay < 2^40) and ends near c·r'r (must stay > 2^−20);
//! with c = λ/N = 0.04 (λ = 100) that spread is ≈ 2^52 of the 2^60 available, so the shift
//! (12 by default, a plan parameter) has little slack.
//!
//! **Quotients.** A fixed-point reciprocal of a large value keeps few significant bits
//! (1/2^31 at f = 40 has 9), so α = r'r·(1/p'q) computed directly is only ~2^−9 accurate
//! early in CG, and CG's convergence for small λ stalls on it (an f64 emulation of this
//! exact arithmetic gives 7.7e−4 for λ = 100 after 160 steps, against 9.6e−6 in plain f64).
//! `div_refined` corrects the quotient twice with the exactly representable residual
//! num − q·den (emulated: 3.7e−5).
//!
//! **Measured** on `data/small` (p = 3,000, N = 2,400, 3 sites + dealer, in memory,
//! `parties/tests/prs_fit.rs`, steps 160/102/32 for λ = 100/1,000/10,000, shift 12):
//! max|Δw|/max|w| against `ridge_enet_weights.tsv` 3.40e−5 (λ = 100), 4.23e−8 (λ = 1000),
//! 1.16e−8 (λ = 10000): all within the 1e−4. 8,806 online rounds (the smallest λ's
//! 160 steps); 689 MB sent per party (288 MB: the single opening of E = G − A; the rest the
//! per-step vector products, ≈ 28 ring elements per active weight and step; r'r by squares); 19.9 s wall and
//! 30 s CPU on 2 cores (load ≈ 3), where the previous version (pooled input by PRG
//! expansion, 160 steps for every λ) took 24.1 s wall, 42.8 s CPU and 988 MB on the same
//! machine. The local products E·(B_t + F_t) + A·F_t are ≈ 60 % of the CPU (memory-bound:
//! two p × p ring matrices streamed per step and party).
//!
//! **Preconditioning.** Jacobi is the identity here (G has unit diagonal by the
//! standardisation), so it cannot help; the steps are saved per λ instead.
//!
//! **LD blocks** ([`ridge_blocked`], blocks of ≤ 500 consecutive variants per chromosome:
//! 7 blocks on `data/small`): 6.4 s wall, 469 MB per party, the same 8,806 rounds; equal to
//! the f64 block-by-block solve within 9.6e−7 · max|w|, but 1.43 (λ = 100), 0.96, 0.69
//! (λ = 10,000) · max|w| away from the full ridge: on `data/small` the variants are
//! correlated across blocks (the sites' populations differ), so the block approximation is
//! poor there; it is an option for panels with genuine LD-block structure, never the default.

use core::fmt;
use core::ops::Range;

use mpc_core::fixed::{FixedError, FixedPoint};
use mpc_core::ring::Ring;
use mpc_core::share::SharedVec;
use protocols::prep::Prep;
use protocols::{Ctx, ProtocolError, arith, kernel, trunc};

use crate::gwas::reciprocal_refined;
use crate::plain::prs::{SiteAggregates, Standardization};
use crate::plain::qc::GenotypeCounts;

/// Errors of the secure fits.
#[derive(Debug)]
#[non_exhaustive]
pub enum FitError {
    /// A protocol step failed (names the culprit for peer faults).
    Protocol(ProtocolError),
    /// This party's aggregates do not have the plan's shape.
    Shape,
    /// An aggregate does not encode in the fixed-point format (out of range or not finite).
    Encoding(FixedError),
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(e) => write!(f, "{e}"),
            Self::Shape => write!(f, "local aggregates do not match the plan's shape"),
            Self::Encoding(e) => write!(f, "aggregate does not encode: {e}"),
        }
    }
}

impl std::error::Error for FitError {}

impl From<ProtocolError> for FitError {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}

impl From<FixedError> for FitError {
    fn from(e: FixedError) -> Self {
        Self::Encoding(e)
    }
}

/// The public part of a ridge job (from the signed plan).
#[derive(Clone, Debug)]
pub struct RidgePlan {
    /// Variants p (same order at every site).
    pub n_variants: usize,
    /// Total samples N.
    pub n_total: u64,
    /// Penalties λ (on the unscaled objective ‖yc − Zβ‖² + λ‖β‖²).
    pub lambdas: Vec<f64>,
    /// Conjugate-gradient steps (public, data-independent).
    pub iters: usize,
    /// log2 of the public factor applied to b (see the module's numerics).
    pub rhs_shift: u32,
    /// Fixed-point format.
    pub fx: FixedPoint,
}

/// Default CG steps: enough for λ/N ≥ 0.04 on `data/small` (see the module docs).
pub const DEFAULT_CG_STEPS: usize = 160;
/// Default right-hand-side shift.
pub const DEFAULT_RHS_SHIFT: u32 = 12;

/// Σ over sites of every site's value: every computing party is a site, so party i's own
/// (encoded) aggregate *is* its additive share of the pooled sum. No communication and no
/// PRG expansion; nothing is revealed (the share is only ever used under a uniform mask or
/// in an opening the plan names).
fn pooled_input<R: Ring, P: Prep>(
    _ctx: &mut Ctx<'_, P>,
    mine: &[R],
    n: usize,
) -> Result<SharedVec<R>, FitError> {
    if mine.len() != n {
        return Err(FitError::Shape);
    }
    Ok(SharedVec::from_share(mine.to_vec()))
}

/// Step 1: opens the pooled genotype counts and returns the pooled standardisation.
pub fn standardization<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    n_variants: usize,
    mine: &[GenotypeCounts],
) -> Result<Standardization, FitError> {
    if mine.len() != n_variants {
        return Err(FitError::Shape);
    }
    let enc: Vec<R> = mine
        .iter()
        .flat_map(|c| [c.hom_ref, c.het, c.hom_alt, c.missing])
        .map(R::from_u64)
        .collect();
    let pooled = pooled_input(ctx, &enc, 4 * n_variants)?;
    // Declassified: the pooled counts are an output of the plan (as in pooled QC).
    let open = arith::open(ctx, &pooled)?;
    let counts: Vec<GenotypeCounts> = open
        .chunks_exact(4)
        .map(|c| {
            let v = |i: usize| c.get(i).map_or(0, |x| x.low_u64());
            GenotypeCounts {
                hom_ref: v(0),
                het: v(1),
                hom_alt: v(2),
                missing: v(3),
            }
        })
        .collect();
    Ok(Standardization::from_counts(&counts))
}

/// Steps 2–4: ridge weights for every λ of the plan, shared, λ-major (row l = λ_l, p
/// weights on the standardised scale, fixed point `fx`).
pub fn ridge<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &RidgePlan,
    mine: &SiteAggregates,
) -> Result<SharedVec<R>, FitError> {
    let p = plan.n_variants;
    #[allow(clippy::single_range_in_vec_init, reason = "one block: the full Gram")]
    ridge_blocked(ctx, plan, mine, &[0..p])
}

/// Consecutive blocks of at most `block` variants that never cross a chromosome boundary:
/// the LD-block partition of [`ridge_blocked`]. `chrom` is each variant's chromosome in the
/// plan's variant order (public). A `block` of 0 is taken as 1.
pub fn ld_blocks<T: PartialEq>(chrom: &[T], block: usize) -> Vec<Range<usize>> {
    let block = block.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    for j in 1..=chrom.len() {
        let new_chrom = j == chrom.len() || chrom.get(j) != chrom.get(j - 1);
        if new_chrom || j - start == block {
            out.push(start..j);
            start = j;
        }
    }
    out
}

/// Public CG steps for each λ of the plan: `iters` for the smallest λ, and for a larger one
/// `iters`·2·√(λ_min/λ) (at least [`MIN_CG_STEPS`], at most `iters`). CG needs a number of
/// steps proportional to √κ for a given accuracy, and κ(G + cI) ≤ (‖G‖ + c)/c falls like
/// 1/c, so the factor 2 leaves the larger λ's a margin over the smallest one's. Public and
/// data-independent (a function of the plan only). Extra steps after convergence do no
/// harm, but cost a Gram product each.
pub fn ridge_steps(plan: &RidgePlan) -> Vec<usize> {
    let lmin = plan.lambdas.iter().copied().fold(f64::INFINITY, f64::min);
    plan.lambdas
        .iter()
        .map(|&lam| {
            let larger = lam > lmin && lmin > 0.0 && lam.is_finite();
            if !larger {
                return plan.iters;
            }
            let s = (2.0 * plan.iters as f64 * (lmin / lam).sqrt()).ceil();
            // In range: 0 < s ≤ 2·iters.
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "see above"
            )]
            let s = s as usize;
            s.clamp(MIN_CG_STEPS.min(plan.iters), plan.iters)
        })
        .collect()
}

/// Fewest CG steps [`ridge_steps`] gives a λ.
pub const MIN_CG_STEPS: usize = 16;

/// Ridge with the **LD-block (block-diagonal) approximation** of the pooled Gram: G is
/// replaced by its diagonal blocks G[blk, blk] for the given partition of the variants
/// (e.g. [`ld_blocks`]: consecutive variants of one chromosome, at most B per block), so
/// each block is an independent ridge problem. This is an *approximation* of the full ridge
/// (it ignores the correlation between blocks) unless the blocks are a single block
/// `[0..p]`, which is exactly [`ridge`]. All blocks run in the same CG iterations, so they
/// share the rounds (the CG scalars are per block and λ); the masked Gram costs Σ B_k² instead
/// of p² elements, and so does each step's local product. `blocks` must be consecutive,
/// non-empty and cover 0..p in order (public, from the plan).
pub fn ridge_blocked<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &RidgePlan,
    mine: &SiteAggregates,
    blocks: &[Range<usize>],
) -> Result<SharedVec<R>, FitError> {
    let p = plan.n_variants;
    let l = plan.lambdas.len();
    if mine.n_variants() != p || mine.gram.len() != p * p || l == 0 || !is_partition(blocks, p) {
        return Err(FitError::Shape);
    }
    let fx = plan.fx;
    let f = fx.frac_bits();
    let shift = f64::from(plan.rhs_shift).exp2();
    let scaled_b: Vec<f64> = mine.zty.iter().map(|v| v * shift).collect();
    let b = pooled_input(ctx, &fx.encode_slice::<R>(&scaled_b)?, p)?;
    let steps = ridge_steps(plan);
    let total: usize = steps.iter().sum();
    let mut op = GramOperator::new(ctx, plan, &mine.gram, blocks, total)?;
    let nt = plan.n_total as f64;
    let c_enc: Vec<R> = plan
        .lambdas
        .iter()
        .map(|lam| fx.encode::<R>(lam / nt))
        .collect::<Result<_, _>>()?;
    let nb = blocks.len();
    // Per λ: x, r, d (p each) and r'r per block (nb each).
    let mut x = vec![SharedVec::<R>::zeros(p); l];
    let mut r = vec![b.clone(); l];
    let mut d = vec![b; l];
    let rr0 = block_dots(
        ctx,
        &SharedVec::concat(&r.iter().collect::<Vec<_>>()),
        None,
        blocks,
        f,
    )?;
    let mut rr = rr0.split(&vec![nb; l]);
    let iters = steps.iter().copied().max().unwrap_or(0);
    for t in 0..iters {
        let act: Vec<usize> = (0..l)
            .filter(|&i| steps.get(i).is_some_and(|&s| s > t))
            .collect();
        let na = act.len();
        let pick = |v: &[SharedVec<R>]| -> Vec<SharedVec<R>> {
            act.iter().filter_map(|&i| v.get(i).cloned()).collect()
        };
        let (da, ra, xa, rra) = (pick(&d), pick(&r), pick(&x), pick(&rr));
        let dcat = SharedVec::concat(&da.iter().collect::<Vec<_>>());
        let rrcat = SharedVec::concat(&rra.iter().collect::<Vec<_>>());
        let c_rep: Vec<R> = act
            .iter()
            .flat_map(|&i| std::iter::repeat_n(c_enc.get(i).copied().unwrap_or(R::ZERO), p))
            .collect();
        let gd = op.apply(ctx, &dcat, na)?;
        let q = trunc::trunc(ctx, &gd.add(&dcat.mul_public(&c_rep)), f)?;
        let dq = block_dots(ctx, &dcat, Some(&q), blocks, f)?;
        let inv = reciprocal_refined(ctx, &SharedVec::concat(&[&dq, &rrcat]), fx)?;
        let inv = inv.split(&[na * nb, na * nb]);
        let (inv_dq, inv_rr) = match inv.as_slice() {
            [a, b] => (a, b),
            _ => return Err(ProtocolError::Unreachable("split").into()),
        };
        let alpha = expand_blocks(&div_refined(ctx, &rrcat, &dq, inv_dq, fx)?, blocks, na);
        let upd = trunc::mul_fx(
            ctx,
            &SharedVec::concat(&[&alpha, &alpha]),
            &SharedVec::concat(&[&dcat, &q]),
            fx,
        )?;
        let upd = upd.split(&[na * p, na * p]);
        let (dx, dr) = match upd.as_slice() {
            [a, b] => (a, b),
            _ => return Err(ProtocolError::Unreachable("split").into()),
        };
        let xcat = SharedVec::concat(&xa.iter().collect::<Vec<_>>()).add(dx);
        let rcat = SharedVec::concat(&ra.iter().collect::<Vec<_>>()).sub(dr);
        let rr_new = block_dots(ctx, &rcat, None, blocks, f)?;
        let beta = expand_blocks(&div_refined(ctx, &rr_new, &rrcat, inv_rr, fx)?, blocks, na);
        let dnew = rcat.add(&trunc::mul_fx(ctx, &beta, &dcat, fx)?);
        let (xs, rs, ds, rrs) = (
            xcat.split(&vec![p; na]),
            rcat.split(&vec![p; na]),
            dnew.split(&vec![p; na]),
            rr_new.split(&vec![nb; na]),
        );
        for (k, &i) in act.iter().enumerate() {
            for (dst, src) in [(&mut x, &xs), (&mut r, &rs), (&mut d, &ds), (&mut rr, &rrs)] {
                if let (Some(slot), Some(v)) = (dst.get_mut(i), src.get(k)) {
                    *slot = v.clone();
                }
            }
        }
    }
    let x = SharedVec::concat(&x.iter().collect::<Vec<_>>());
    if plan.rhs_shift == 0 {
        Ok(x)
    } else {
        Ok(trunc::trunc(ctx, &x, plan.rhs_shift)?)
    }
}

/// Whether `blocks` are non-empty, consecutive and cover 0..p.
fn is_partition(blocks: &[Range<usize>], p: usize) -> bool {
    let mut next = 0;
    for b in blocks {
        if b.start != next || b.end <= b.start {
            return false;
        }
        next = b.end;
    }
    next == p && !blocks.is_empty()
}

/// Per-row, per-block fixed-point dot products x'y, or x'x when `y` is `None` (by
/// [`arith::square`], which opens one masked copy of x instead of two): `x` and `y` are
/// λ-major (rows of p); the result is row-major (row, block).
fn block_dots<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    y: Option<&SharedVec<R>>,
    blocks: &[Range<usize>],
    f: u32,
) -> Result<SharedVec<R>, ProtocolError> {
    let p = blocks.last().map_or(0, |b| b.end);
    let prod = match y {
        Some(y) if blocks.len() == 1 => return dot_fx(ctx, x, y, p.max(1), f),
        Some(y) => arith::mul(ctx, x, y)?,
        None => arith::square(ctx, x)?,
    };
    let s = prod.expose_share();
    let sums: Vec<R> = s
        .chunks_exact(p.max(1))
        .flat_map(|row| {
            blocks.iter().map(move |b| {
                row.get(b.clone())
                    .unwrap_or_default()
                    .iter()
                    .fold(R::ZERO, |acc, &v| acc + v)
            })
        })
        .collect();
    trunc::trunc(ctx, &SharedVec::from_share(sums), f)
}

/// (row, block) scalars expanded to λ-major rows of p (each block's scalar on its variants).
fn expand_blocks<R: Ring>(v: &SharedVec<R>, blocks: &[Range<usize>], rows: usize) -> SharedVec<R> {
    let s = v.expose_share();
    let nb = blocks.len();
    SharedVec::from_share(
        (0..rows)
            .flat_map(|i| {
                blocks.iter().enumerate().flat_map(move |(k, b)| {
                    std::iter::repeat_n(s.get(i * nb + k).copied().unwrap_or(R::ZERO), b.len())
                })
            })
            .collect(),
    )
}

/// Quotient corrections of [`div_refined`]: each multiplies the quotient's relative error by
/// about the reciprocal's (see the module's numerics).
const QUOTIENT_CORRECTIONS: usize = 2;

/// num/den with relative precision, given y ≈ 1/den. The fixed-point reciprocal of a large
/// den (≈ 2^31 early in CG) keeps only 40 − 31 = 9 significant bits, so num·y alone is a
/// poor quotient even when num/den = O(1). Each correction q ← q + (num − q·den)·y uses the
/// exactly representable residual num − q·den (both terms large, absolute precision 2^−f)
/// and gains those bits back. 4 rounds per correction, vectorised over the λ's.
pub(crate) fn div_refined<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    num: &SharedVec<R>,
    den: &SharedVec<R>,
    inv_den: &SharedVec<R>,
    fx: FixedPoint,
) -> Result<SharedVec<R>, ProtocolError> {
    let mut q = trunc::mul_fx(ctx, num, inv_den, fx)?;
    for _ in 0..QUOTIENT_CORRECTIONS {
        let e = num.sub(&trunc::mul_fx(ctx, &q, den, fx)?);
        q = q.add(&trunc::mul_fx(ctx, &e, inv_den, fx)?);
    }
    Ok(q)
}

/// Fixed-point dot products of rows of `len` (two rounds).
fn dot_fx<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    y: &SharedVec<R>,
    len: usize,
    f: u32,
) -> Result<SharedVec<R>, ProtocolError> {
    let z = arith::dot(ctx, x, y, len)?;
    trunc::trunc(ctx, &z, f)
}

/// The shared symmetric p × p matrix G (or its diagonal blocks) as an operator V ↦ G·V on
/// a few columns at a time, with G masked once (see the module docs).
struct GramOperator<R: Ring> {
    p: usize,
    blocks: Vec<Block<R>>,
    /// Columns of the triples (Σ over steps of the columns used).
    width: usize,
    next: usize,
}

/// One diagonal block of G: variants `range`, E = G_bb − A public, shares of A, B, C.
struct Block<R: Ring> {
    range: Range<usize>,
    e: Vec<R>,
    a: Vec<R>,
    b: Vec<R>,
    c: Vec<R>,
}

impl<R: Ring> GramOperator<R> {
    /// Masks this party's share of every block of G (its own aggregate `gram`, p × p) for
    /// `width` columns in all: one opening for all blocks.
    fn new<P: Prep>(
        ctx: &mut Ctx<'_, P>,
        plan: &RidgePlan,
        gram: &[f64],
        blocks: &[Range<usize>],
        width: usize,
    ) -> Result<Self, FitError> {
        let p = plan.n_variants;
        let width = width.max(1);
        let mut parts = Vec::with_capacity(blocks.len());
        let mut masked = Vec::new();
        for blk in blocks {
            let s = blk.len();
            let t = {
                let (prep, chan) = ctx.prep();
                prep.matrix::<R>(chan, s, s, width)?
            };
            let a = t.a.expose_share().to_vec();
            for (i, row) in blk.clone().enumerate() {
                let g = gram
                    .get(row * p + blk.start..row * p + blk.end)
                    .ok_or(FitError::Shape)?;
                let g = plan.fx.encode_slice::<R>(g)?;
                let arow = a.get(i * s..(i + 1) * s).ok_or(FitError::Shape)?;
                masked.extend(g.iter().zip(arow).map(|(&x, &y)| x - y));
            }
            parts.push((
                blk.clone(),
                a,
                t.b.expose_share().to_vec(),
                t.c.expose_share().to_vec(),
            ));
        }
        let e_all = arith::open(ctx, &SharedVec::from_share(masked))?;
        let mut off = 0;
        let mut out = Vec::with_capacity(parts.len());
        for (range, a, b, c) in parts {
            let n = range.len() * range.len();
            let e = e_all.get(off..off + n).ok_or(FitError::Shape)?.to_vec();
            off += n;
            out.push(Block { range, e, a, b, c });
        }
        Ok(Self {
            p,
            blocks: out,
            width,
            next: 0,
        })
    }

    /// G·V for V λ-major (`cols` rows of p), result λ-major at 2f fractional bits (not
    /// truncated). Consumes `cols` columns of the triples; one opening for all blocks.
    fn apply<P: Prep>(
        &mut self,
        ctx: &mut Ctx<'_, P>,
        v: &SharedVec<R>,
        cols: usize,
    ) -> Result<SharedVec<R>, FitError> {
        let p = self.p;
        if self.next + cols > self.width || v.len() != p * cols {
            return Err(
                ProtocolError::ApiMisuse("Gram operator used beyond its triple".into()).into(),
            );
        }
        let width = self.width;
        let range = self.next..self.next + cols;
        self.next += cols;
        let vt = transpose(v.expose_share(), cols, p);
        let mut masks = Vec::with_capacity(self.blocks.len());
        let mut f_masked = Vec::with_capacity(p * cols);
        for blk in &self.blocks {
            let take = |m: &[R]| -> Vec<R> {
                m.chunks_exact(width)
                    .flat_map(|row| row.get(range.clone()).unwrap_or_default().iter().copied())
                    .collect()
            };
            let (bt, ct) = (take(&blk.b), take(&blk.c));
            let vb = vt
                .get(blk.range.start * cols..blk.range.end * cols)
                .unwrap_or_default();
            f_masked.extend(vb.iter().zip(&bt).map(|(&x, &y)| x - y));
            masks.push((bt, ct));
        }
        let f_open = arith::open(ctx, &SharedVec::from_share(f_masked))?;
        let first = ctx.is_first();
        let mut z = Vec::with_capacity(p * cols);
        for (blk, (bt, ct)) in self.blocks.iter().zip(masks) {
            let s = blk.range.len();
            let f = f_open
                .get(blk.range.start * cols..blk.range.end * cols)
                .unwrap_or_default();
            let left: Vec<R> = if first {
                bt.iter().zip(f).map(|(&x, &y)| x + y).collect()
            } else {
                bt
            };
            let mut zb = kernel::matmul(&blk.e, &left, s, s, cols);
            let af = kernel::matmul(&blk.a, f, s, s, cols);
            for ((zi, ai), ci) in zb.iter_mut().zip(af).zip(ct) {
                *zi += ai + ci;
            }
            z.extend(zb);
        }
        Ok(SharedVec::from_share(transpose(&z, p, cols)))
    }
}

/// Transpose of a row-major rows × cols matrix.
fn transpose<R: Ring>(m: &[R], rows: usize, cols: usize) -> Vec<R> {
    (0..cols)
        .flat_map(|j| (0..rows).map(move |i| m.get(i * cols + j).copied().unwrap_or(R::ZERO)))
        .collect()
}

#[cfg(test)]
mod tests {
    use mpc_core::fixed::FixedPoint;
    use mpc_core::ring::Z128;

    use super::*;

    #[test]
    fn ld_blocks_split_at_chromosomes_and_size() {
        let chrom = [1, 1, 1, 1, 1, 2, 2, 3];
        assert_eq!(ld_blocks(&chrom, 2), vec![0..2, 2..4, 4..5, 5..7, 7..8]);
        assert_eq!(ld_blocks(&chrom, 100), vec![0..5, 5..7, 7..8]);
        assert_eq!(ld_blocks(&[0u8; 4], 4), vec![0..4]);
        assert_eq!(ld_blocks(&[0u8; 3], 0), vec![0..1, 1..2, 2..3]);
        assert!(ld_blocks::<u8>(&[], 4).is_empty());
        assert!(is_partition(&ld_blocks(&chrom, 3), chrom.len()));
        assert!(!is_partition(&[0..2, 3..8], 8));
        assert!(!is_partition(&[], 0));
    }

    #[test]
    fn ridge_steps_scale_with_the_penalty() {
        let plan = |lambdas: Vec<f64>| RidgePlan {
            n_variants: 1,
            n_total: 100,
            lambdas,
            iters: 160,
            rhs_shift: DEFAULT_RHS_SHIFT,
            fx: FixedPoint::default_for::<Z128>(),
        };
        assert_eq!(
            ridge_steps(&plan(vec![100.0, 1000.0, 10000.0])),
            vec![160, 102, 32]
        );
        // Order-independent; equal λ's get equal steps; huge λ's get the floor.
        assert_eq!(
            ridge_steps(&plan(vec![1e9, 100.0, 100.0])),
            vec![MIN_CG_STEPS, 160, 160]
        );
        assert_eq!(ridge_steps(&plan(vec![0.0, 5.0])), vec![160, 160]);
    }
}
