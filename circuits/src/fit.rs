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
//!    Z_s'Z_s/N and b_s = Z_s'y_s/N), encodes them in fixed point, b_s pre-multiplied by the
//!    public 2^`rhs_shift`, and inputs them (no communication). G = Σ G_s, b = Σ b_s.
//! 3. Conjugate gradient on (G + (λ/N) I) β = b for every λ of the plan at once (vectors are
//!    λ-major, L × p), a fixed, public number of steps `iters` from β = 0. Each step: one
//!    product G·D (below), q = G·D + c·D, p'q and r'r as batched dot products, one batched
//!    [`reciprocal_refined`] of (p'q, r'r) for all λ, the quotients α = r'r/p'q and
//!    β = r'r_new/r'r by `div_refined` (two quotient corrections each), then the usual
//!    updates. ≈ 55 rounds.
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
//! `parties/tests/prs_fit.rs`, 160 steps, shift 12): max|Δw|/max|w| against
//! `ridge_enet_weights.tsv` 3.40e−5 (λ = 100), 3.40e−8 (λ = 1000), 1.81e−9 (λ = 10000): all
//! within the 1e−4. 8,806 online rounds; 988 MB sent per party (the single opening
//! of E = G − A dominates); ≈ 70–95 s wall on 2 cores.

use core::fmt;

use mpc_core::fixed::{FixedError, FixedPoint};
use mpc_core::party::PartyId;
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

fn party(i: usize) -> Result<PartyId, ProtocolError> {
    Ok(PartyId(
        u16::try_from(i).map_err(|_| ProtocolError::Unreachable("party"))?,
    ))
}

/// Σ over sites of every site's input (each site inputs `mine`, length `n`).
fn pooled_input<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    mine: &[R],
    n: usize,
) -> Result<SharedVec<R>, FitError> {
    if mine.len() != n {
        return Err(FitError::Shape);
    }
    let me = ctx.me();
    let mut acc = SharedVec::<R>::zeros(n);
    for i in 0..ctx.n() {
        let owner = party(i)?;
        acc = acc.add(&arith::input(ctx, owner, (owner == me).then_some(mine), n)?);
    }
    Ok(acc)
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
    let l = plan.lambdas.len();
    if mine.n_variants() != p || mine.gram.len() != p * p || l == 0 {
        return Err(FitError::Shape);
    }
    let fx = plan.fx;
    let f = fx.frac_bits();
    let shift = f64::from(plan.rhs_shift).exp2();
    let scaled_b: Vec<f64> = mine.zty.iter().map(|v| v * shift).collect();
    let g = pooled_input(ctx, &fx.encode_slice::<R>(&mine.gram)?, p * p)?;
    let b = pooled_input(ctx, &fx.encode_slice::<R>(&scaled_b)?, p)?;
    let mut op = GramOperator::new(ctx, g, p, l, plan.iters)?;
    let nt = plan.n_total as f64;
    let c_enc: Vec<R> = plan
        .lambdas
        .iter()
        .map(|lam| fx.encode::<R>(lam / nt))
        .collect::<Result<_, _>>()?;
    let c_rep: Vec<R> = c_enc
        .iter()
        .flat_map(|&c| std::iter::repeat_n(c, p))
        .collect();
    let rhs = SharedVec::concat(&vec![&b; l]);
    let mut x = SharedVec::<R>::zeros(l * p);
    let mut r = rhs.clone();
    let mut d = rhs;
    let mut rr = dot_fx(ctx, &r, &r, p, f)?;
    for _ in 0..plan.iters {
        let gd = op.apply(ctx, &d)?;
        let q = trunc::trunc(ctx, &gd.add(&d.mul_public(&c_rep)), f)?;
        let dq = dot_fx(ctx, &d, &q, p, f)?;
        let inv = reciprocal_refined(ctx, &SharedVec::concat(&[&dq, &rr]), fx)?;
        let inv = inv.split(&[l, l]);
        let (inv_dq, inv_rr) = match inv.as_slice() {
            [a, b] => (a, b),
            _ => return Err(ProtocolError::Unreachable("split").into()),
        };
        let alpha = div_refined(ctx, &rr, &dq, inv_dq, fx)?.repeat_each(p);
        let upd = trunc::mul_fx(
            ctx,
            &SharedVec::concat(&[&alpha, &alpha]),
            &SharedVec::concat(&[&d, &q]),
            fx,
        )?;
        let upd = upd.split(&[l * p, l * p]);
        let (dx, dr) = match upd.as_slice() {
            [a, b] => (a, b),
            _ => return Err(ProtocolError::Unreachable("split").into()),
        };
        x = x.add(dx);
        r = r.sub(dr);
        let rr_new = dot_fx(ctx, &r, &r, p, f)?;
        let beta = div_refined(ctx, &rr_new, &rr, inv_rr, fx)?.repeat_each(p);
        d = r.add(&trunc::mul_fx(ctx, &beta, &d, fx)?);
        rr = rr_new;
    }
    if plan.rhs_shift == 0 {
        Ok(x)
    } else {
        Ok(trunc::trunc(ctx, &x, plan.rhs_shift)?)
    }
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

/// The shared symmetric p × p matrix G as an operator V ↦ G·V on L columns at a time, with
/// G masked once (see the module docs).
struct GramOperator<R: Ring> {
    p: usize,
    l: usize,
    /// E = G − A, public.
    e: Vec<R>,
    /// Share of A.
    a: Vec<R>,
    /// Shares of B and C (p × L·steps, row-major).
    b: Vec<R>,
    c: Vec<R>,
    steps: usize,
    next: usize,
}

impl<R: Ring> GramOperator<R> {
    fn new<P: Prep>(
        ctx: &mut Ctx<'_, P>,
        g: SharedVec<R>,
        p: usize,
        l: usize,
        steps: usize,
    ) -> Result<Self, FitError> {
        let t = {
            let (prep, chan) = ctx.prep();
            prep.matrix::<R>(chan, p, p, l * steps.max(1))?
        };
        let a = t.a.expose_share().to_vec();
        let masked = SharedVec::from_share(
            g.expose_share()
                .iter()
                .zip(&a)
                .map(|(&x, &y)| x - y)
                .collect(),
        );
        drop(g);
        let e = arith::open(ctx, &masked)?;
        Ok(Self {
            p,
            l,
            e,
            a,
            b: t.b.expose_share().to_vec(),
            c: t.c.expose_share().to_vec(),
            steps: steps.max(1),
            next: 0,
        })
    }

    /// G·V for V λ-major (L × p), result λ-major at 2f fractional bits (not truncated).
    fn apply<P: Prep>(
        &mut self,
        ctx: &mut Ctx<'_, P>,
        v: &SharedVec<R>,
    ) -> Result<SharedVec<R>, FitError> {
        let (p, l) = (self.p, self.l);
        if self.next >= self.steps || v.len() != p * l {
            return Err(
                ProtocolError::ApiMisuse("Gram operator used beyond its triple".into()).into(),
            );
        }
        let width = l * self.steps;
        let cols = self.next * l..(self.next + 1) * l;
        self.next += 1;
        let block = |m: &[R]| -> Vec<R> {
            m.chunks_exact(width)
                .flat_map(|row| row.get(cols.clone()).unwrap_or_default().iter().copied())
                .collect()
        };
        let (bt, ct) = (block(&self.b), block(&self.c));
        let vt = transpose(v.expose_share(), l, p);
        let f_masked = SharedVec::from_share(vt.iter().zip(&bt).map(|(&x, &y)| x - y).collect());
        let f_open = arith::open(ctx, &f_masked)?;
        let left: Vec<R> = if ctx.is_first() {
            bt.iter().zip(&f_open).map(|(&x, &y)| x + y).collect()
        } else {
            bt
        };
        let mut z = kernel::matmul(&self.e, &left, p, p, l);
        let af = kernel::matmul(&self.a, &f_open, p, p, l);
        for ((zi, ai), ci) in z.iter_mut().zip(af).zip(ct) {
            *zi += ai + ci;
        }
        Ok(SharedVec::from_share(transpose(&z, p, l)))
    }
}

/// Transpose of a row-major rows × cols matrix.
fn transpose<R: Ring>(m: &[R], rows: usize, cols: usize) -> Vec<R> {
    (0..cols)
        .flat_map(|j| (0..rows).map(move |i| m.get(i * cols + j).copied().unwrap_or(R::ZERO)))
        .collect()
}
