//! Leave-one-site-out (LOSO) cross-validation of the ridge penalty λ in MPC, from the same
//! aggregates as the pooled ridge ([`crate::fit`]); only the chosen λ (and, if the plan asks,
//! the fold R²) is opened. Definitions and plaintext reference: [`crate::plain::cv`]
//! (scikit-learn's `Ridge(alpha = λ, fit_intercept = True)` trained on the other sites'
//! rows of the pooled standardisation, validation R² on the held-out site with its own mean,
//! λ = argmax of the mean fold R²).
//!
//! **Protocol** (every computing party is a site; S sites, L penalties, p variants).
//!
//! 1. **Input.** Site t inputs, in fixed point, its [`SiteAggregates`] under the pooled
//!    standardisation (from [`crate::fit::standardization`]): G_t = Z_t'Z_t/N, b_t =
//!    Z_t'y_t/N (also pre-multiplied by the public 2^`rhs_shift`, as in [`crate::fit`]),
//!    u_t = Z_t'1/N, Σ_t y/N, Σ_t y²/N and N/TSS_t (its own total sum of squares). Inputs
//!    cost no communication.
//! 2. **Each G_t masked once.** One matrix triple per site (A_t, B_t, C_t = A_t B_t), E_t =
//!    G_t − A_t opened once for all sites in one round; each later product G_t·V opens only
//!    V − B_t (fresh columns each time), all sites batched in one round (the fixed-mask
//!    technique of [`crate::fit`]'s Gram operator, on site matrices here).
//! 3. **Folds.** Fold s solves the centred training system
//!    (G − G_s − (N/n_t) u_s u_s' + (λ/N) I) β = b − b_s + ȳ_t u_s for every λ at once by a
//!    public number of conjugate-gradient steps from 0: the product is Σ_{t≠s} G_t D_s
//!    (step 2) minus the rank-one term (one dot product and one scalar × vector product),
//!    the quotients by the refined division of [`crate::fit`]. All S·L systems share each
//!    round.
//! 4. **Validation on site s** (fold s, every λ): G_s β_s (one more use of site s's masked
//!    matrix), then b0 = ȳ_t + (N/n_t) u_s'β and RSS_s/N from site s's aggregates
//!    ([`crate::plain::cv`]), R²_{s,λ} = 1 − (RSS_s/N)·(N/TSS_s).
//! 5. **Choice.** Σ_s R²_{s,λ} (∝ the mean) for each λ; pairwise comparisons [m_i < m_j]
//!    (shared), the one-hot winner (strictly above every earlier λ, at least every later one:
//!    the first of equal means) and its index Σ k·[k wins], which alone is opened; the S × L
//!    fold R² are opened only when the plan asks ([`LosoPlan::reveal_fold_r2`]).
//!
//! **What each party learns:** the pooled genotype counts (the standardisation, as for the
//! pooled ridge), the chosen λ, and the fold R² if planned. Everything else opened (E_t, the
//! V − B openings, Beaver/truncation/comparison openings) is uniformly masked; no fold's
//! weights, intercept, RSS or TSS is opened.
//!
//! **Numerics** (Z_2^128, f = 40) as [`crate::fit`]: the fold systems have diagonal
//! n_t/N·(…) < 1 and the same right-hand-side shift; the validation combines terms of order
//! n_s/N·E[y²] with absolute error ≈ p·2^−40 per dot product. Conditions: TSS_s/N ∈
//! [2^−20, 2^40) is the site's own input (N/TSS_s is computed locally); |Σ_s R²| < 2^16 for
//! the comparisons.
//!
//! **Cost.** Bytes: each site's p × p matrix crosses the network once (every party opens its
//! share of E_t: (N−1)·p²·16 bytes per party per site), then per CG step S·(S−1)·L·p
//! elements for the products plus the vector arithmetic of S·L systems. Local work per step:
//! two p × p × (S−1)L ring products per site (the dealer: p²·((S−1)·L·steps + L) per site
//! once).
//!
//! **Measured** on data/small, every 6th variant (p = 500; `parties/tests/loso_cv.rs`, 3
//! sites as 3 parties + dealer in memory, 3 λ, 100 CG steps): fold R² within 2.3e−8 of
//! scikit-learn, the chosen λ (1000) equal; 5,929 rounds, 341 MB sent per party, 5.9 s wall.
//! Every 3rd variant (p = 1,000, run once): 4.2e−8, 717 MB per party, 9.1 s. All 3,000
//! variants (run once, not in the tests; loaded machine, niced): 181 s, 2.70 GB sent per
//! party, 5,929 rounds, ≈ 7 GB RSS for the 3 parties + dealer; the chosen λ (10000) equals
//! scikit-learn's and the fold R² are within 7.9e−5 of it (λ = 100 is not converged after 100
//! CG steps: f64 CG with 100 steps is 1.1e−4 away), so a full-size job needs ≈ 160 steps, as
//! the pooled ridge does. The plaintext reference matches scikit-learn to 5e−13 on all
//! 3,000 variants.

use mpc_core::fixed::FixedPoint;
use mpc_core::party::PartyId;
use mpc_core::ring::Ring;
use mpc_core::share::SharedVec;
use protocols::prep::Prep;
use protocols::{Ctx, ProtocolError, arith, compare, kernel, trunc};

use crate::fit::{FitError, div_refined};
use crate::gwas::reciprocal_refined;
use crate::plain::prs::SiteAggregates;

/// The public part of a LOSO job (from the signed plan).
#[derive(Clone, Debug)]
pub struct LosoPlan {
    /// Variants p (same order at every site).
    pub n_variants: usize,
    /// Samples per site, in party order (site s is party s).
    pub site_sizes: Vec<u64>,
    /// Candidate penalties λ (on the unscaled objective ‖yc − Zβ‖² + λ‖β‖²).
    pub lambdas: Vec<f64>,
    /// Conjugate-gradient steps per fold (public).
    pub iters: usize,
    /// log2 of the public factor applied to the right-hand sides (see [`crate::fit`]).
    pub rhs_shift: u32,
    /// Open the S × L fold R² too (otherwise only the chosen λ).
    pub reveal_fold_r2: bool,
    /// Fixed-point format.
    pub fx: FixedPoint,
}

/// The opened result of a LOSO job.
#[derive(Clone, Debug, PartialEq)]
pub struct LosoResult {
    /// Index of the chosen λ in the plan's list.
    pub chosen: usize,
    /// The chosen λ.
    pub lambda: f64,
    /// Validation R², `fold_r2[s][l]` for site s held out and λ_l, when the plan reveals them.
    pub fold_r2: Option<Vec<Vec<f64>>>,
}

fn party(i: usize) -> Result<PartyId, ProtocolError> {
    Ok(PartyId(
        u16::try_from(i).map_err(|_| ProtocolError::Unreachable("party"))?,
    ))
}

fn unreachable(what: &'static str) -> FitError {
    FitError::Protocol(ProtocolError::Unreachable(what))
}

/// Fixed-point dot products of rows of `len`.
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

/// A site's shared p × p Gram matrix, masked once by a matrix triple with `width` columns,
/// applied to column blocks (step 2 of the module docs).
struct MaskedGram<R: Ring> {
    p: usize,
    width: usize,
    e: Vec<R>,
    a: Vec<R>,
    b: Vec<R>,
    c: Vec<R>,
    next: usize,
}

/// The masked columns V − B of one use, and the B and C blocks it consumed (p × k).
struct Pending<R: Ring> {
    k: usize,
    bt: Vec<R>,
    ct: Vec<R>,
    masked: Vec<R>,
}

impl<R: Ring> MaskedGram<R> {
    /// Takes the next `k` columns of the triple and masks `cols` (k vectors of p).
    fn start(&mut self, cols: &[SharedVec<R>]) -> Result<Pending<R>, FitError> {
        let (p, k) = (self.p, cols.len());
        if self.next + k > self.width || cols.iter().any(|c| c.len() != p) {
            return Err(
                ProtocolError::ApiMisuse("masked Gram used beyond its triple".into()).into(),
            );
        }
        let range = self.next..self.next + k;
        self.next += k;
        let block = |m: &[R]| -> Vec<R> {
            m.chunks_exact(self.width)
                .flat_map(|row| row.get(range.clone()).unwrap_or_default().iter().copied())
                .collect()
        };
        let (bt, ct) = (block(&self.b), block(&self.c));
        // V row-major p × k.
        let masked: Vec<R> = (0..p * k)
            .map(|x| {
                let (j, c) = (x / k, x % k);
                let v = cols
                    .get(c)
                    .and_then(|v| v.expose_share().get(j))
                    .copied()
                    .unwrap_or(R::ZERO);
                v - bt.get(x).copied().unwrap_or(R::ZERO)
            })
            .collect();
        Ok(Pending { k, bt, ct, masked })
    }

    /// G·V (2f fractional bits, not truncated) as k column vectors, from the opened V − B.
    fn finish(&self, first: bool, pending: Pending<R>, f_open: &[R]) -> Vec<SharedVec<R>> {
        let (p, k) = (self.p, pending.k);
        let left: Vec<R> = if first {
            pending
                .bt
                .iter()
                .zip(f_open)
                .map(|(&x, &y)| x + y)
                .collect()
        } else {
            pending.bt
        };
        let mut z = kernel::matmul(&self.e, &left, p, p, k);
        let af = kernel::matmul(&self.a, f_open, p, p, k);
        for ((zi, ai), ci) in z.iter_mut().zip(af).zip(pending.ct) {
            *zi += ai + ci;
        }
        (0..k)
            .map(|c| {
                SharedVec::from_share(
                    (0..p)
                        .map(|j| z.get(j * k + c).copied().unwrap_or(R::ZERO))
                        .collect(),
                )
            })
            .collect()
    }
}

/// Products G_t · V_t for every site t at once (one opening round): `cols[t]` are the
/// columns for site t (possibly none).
fn apply_all<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    ops: &mut [MaskedGram<R>],
    cols: &[Vec<SharedVec<R>>],
) -> Result<Vec<Vec<SharedVec<R>>>, FitError> {
    let mut pend = Vec::with_capacity(ops.len());
    for (op, c) in ops.iter_mut().zip(cols) {
        pend.push(op.start(c)?);
    }
    let all: Vec<R> = pend.iter().flat_map(|q| q.masked.iter().copied()).collect();
    let opened = arith::open(ctx, &SharedVec::from_share(all))?;
    let first = ctx.is_first();
    let mut out = Vec::with_capacity(ops.len());
    let mut off = 0;
    for (op, q) in ops.iter().zip(pend) {
        let len = q.masked.len();
        let f = opened
            .get(off..off + len)
            .ok_or_else(|| unreachable("opened"))?;
        off += len;
        out.push(op.finish(first, q, f));
    }
    Ok(out)
}

/// One site's inputs, shared.
struct SiteInputs<R: Ring> {
    g: SharedVec<R>,
    b_scaled: SharedVec<R>,
    b: SharedVec<R>,
    u: SharedVec<R>,
    /// [Σy/N, Σy²/N, N/TSS].
    scalars: SharedVec<R>,
}

/// LOSO cross-validation of the ridge penalty (module docs). `mine` are this site's
/// aggregates under the pooled standardisation.
pub fn ridge_loso<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &LosoPlan,
    mine: &SiteAggregates,
) -> Result<LosoResult, FitError> {
    let p = plan.n_variants;
    let l = plan.lambdas.len();
    let s_n = plan.site_sizes.len();
    let fx = plan.fx;
    let f = fx.frac_bits();
    let me = ctx.me().index();
    if mine.n_variants() != p
        || mine.gram.len() != p * p
        || l == 0
        || p == 0
        || s_n < 2
        || s_n != ctx.n()
        || plan.site_sizes.get(me) != Some(&mine.n)
    {
        return Err(FitError::Shape);
    }
    let nt: u64 = plan.site_sizes.iter().sum();
    let ntf = nt as f64;
    // 1. Inputs.
    let shift = f64::from(plan.rhs_shift).exp2();
    let tss = mine.yy - mine.ysum * mine.ysum / mine.n as f64;
    let mut local: Vec<f64> = mine.gram.clone();
    local.extend(mine.zty.iter().map(|v| v * shift));
    local.extend(&mine.zty);
    local.extend(&mine.zsum);
    local.extend([mine.ysum / ntf, mine.yy / ntf, ntf / tss]);
    let enc: Vec<R> = fx.encode_slice(&local)?;
    let width_in = p * p + 3 * p + 3;
    let mut sites = Vec::with_capacity(s_n);
    for t in 0..s_n {
        let owner = party(t)?;
        let v = arith::input(ctx, owner, (t == me).then_some(enc.as_slice()), width_in)?;
        let parts = v.split(&[p * p, p, p, p, 3]);
        let mut it = parts.into_iter();
        let mut next = || it.next().ok_or_else(|| unreachable("input split"));
        sites.push(SiteInputs {
            g: next()?,
            b_scaled: next()?,
            b: next()?,
            u: next()?,
            scalars: next()?,
        });
    }
    // 2. Mask every G_t once (one round for all sites).
    let width = plan.iters * (s_n - 1) * l + l;
    let mut ops = Vec::with_capacity(s_n);
    let mut masked = Vec::with_capacity(s_n);
    for s in &sites {
        let t = {
            let (prep, chan) = ctx.prep();
            prep.matrix::<R>(chan, p, p, width)?
        };
        let a = t.a.expose_share().to_vec();
        masked.push(SharedVec::from_share(
            s.g.expose_share()
                .iter()
                .zip(&a)
                .map(|(&x, &y)| x - y)
                .collect(),
        ));
        ops.push(MaskedGram {
            p,
            width,
            e: Vec::new(),
            a,
            b: t.b.expose_share().to_vec(),
            c: t.c.expose_share().to_vec(),
            next: 0,
        });
    }
    let opened = arith::open(ctx, &SharedVec::concat(&masked.iter().collect::<Vec<_>>()))?;
    for (op, e) in ops.iter_mut().zip(opened.chunks_exact(p * p)) {
        op.e = e.to_vec();
    }
    drop(masked);
    // Public per-fold constants: κ_s = N/n_t, n_s/N.
    let kappa: Vec<f64> = plan
        .site_sizes
        .iter()
        .map(|&n| ntf / (nt - n) as f64)
        .collect();
    let enc1 = |v: f64| fx.encode::<R>(v);
    // ȳ_t per fold: (Σ_all y/N − Σ_s y/N)·κ_s.
    let ysum_all = sites.iter().fold(SharedVec::<R>::zeros(1), |acc, s| {
        acc.add(&s.scalars.slice(0, 1))
    });
    let ybar_parts: Vec<SharedVec<R>> = sites
        .iter()
        .map(|s| ysum_all.sub(&s.scalars.slice(0, 1)))
        .collect();
    let ybar = trunc::mul_public_fx(
        ctx,
        &SharedVec::concat(&ybar_parts.iter().collect::<Vec<_>>()),
        &kappa
            .iter()
            .map(|&k| enc1(k))
            .collect::<Result<Vec<_>, _>>()?,
        fx,
    )?;
    // Right-hand sides (fold-major, then λ): b − b_s + ȳ_t u_s, times 2^shift.
    let b_all = sites
        .iter()
        .fold(SharedVec::<R>::zeros(p), |acc, s| acc.add(&s.b_scaled));
    let u_all = SharedVec::concat(&sites.iter().map(|s| &s.u).collect::<Vec<_>>());
    let yu =
        trunc::mul_fx(ctx, &u_all, &ybar.repeat_each(p), fx)?.scale(R::ONE.shl(plan.rhs_shift));
    let mut rhs_parts = Vec::with_capacity(s_n * l);
    for (s, site) in sites.iter().enumerate() {
        let fold = b_all.sub(&site.b_scaled).add(&yu.slice(s * p, p));
        for _ in 0..l {
            rhs_parts.push(fold.clone());
        }
    }
    let rhs = SharedVec::concat(&rhs_parts.iter().collect::<Vec<_>>());
    // κ_s u_s, repeated per λ (for the rank-one term).
    let ku = trunc::mul_public_fx(
        ctx,
        &u_all,
        &kappa
            .iter()
            .flat_map(|&k| std::iter::repeat_n(enc1(k), p))
            .collect::<Result<Vec<_>, _>>()?,
        fx,
    )?;
    let ku_rep = SharedVec::concat(
        &(0..s_n * l)
            .map(|x| ku.slice((x / l) * p, p))
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>(),
    );
    let u_rep = SharedVec::concat(
        &(0..s_n * l)
            .map(|x| u_all.slice((x / l) * p, p))
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>(),
    );
    let c_rep: Vec<R> = (0..s_n)
        .flat_map(|_| plan.lambdas.iter())
        .map(|lam| enc1(lam / ntf))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flat_map(|c| std::iter::repeat_n(c, p))
        .collect();
    // The fold operator: q = Σ_{t≠s} G_t d_s + c d_s − κ_s u_s (u_s'd_s).
    let apply = |ctx: &mut Ctx<'_, P>,
                 ops: &mut [MaskedGram<R>],
                 d: &SharedVec<R>|
     -> Result<SharedVec<R>, FitError> {
        let cols: Vec<Vec<SharedVec<R>>> = (0..s_n)
            .map(|t| {
                (0..s_n)
                    .filter(|&s| s != t)
                    .flat_map(|s| (0..l).map(move |k| (s, k)))
                    .map(|(s, k)| d.slice((s * l + k) * p, p))
                    .collect()
            })
            .collect();
        let prods = apply_all(ctx, ops, &cols)?;
        let mut acc = vec![SharedVec::<R>::zeros(p); s_n * l];
        for (t, per_t) in prods.into_iter().enumerate() {
            let folds = (0..s_n)
                .filter(|&s| s != t)
                .flat_map(|s| (0..l).map(move |k| s * l + k));
            for (idx, v) in folds.zip(per_t) {
                if let Some(a) = acc.get_mut(idx) {
                    *a = a.add(&v);
                }
            }
        }
        let gd = SharedVec::concat(&acc.iter().collect::<Vec<_>>());
        let q = trunc::trunc(ctx, &gd.add(&d.mul_public(&c_rep)), f)?;
        let ud = dot_fx(ctx, &u_rep, d, p, f)?;
        let r1 = trunc::mul_fx(ctx, &ku_rep, &ud.repeat_each(p), fx)?;
        Ok(q.sub(&r1))
    };
    // 3. CG on all S·L systems.
    let mut x = SharedVec::<R>::zeros(s_n * l * p);
    let mut r = rhs.clone();
    let mut d = rhs;
    let mut rr = dot_fx(ctx, &r, &r, p, f)?;
    let m = s_n * l;
    for _ in 0..plan.iters {
        let q = apply(ctx, &mut ops, &d)?;
        let dq = dot_fx(ctx, &d, &q, p, f)?;
        let inv = reciprocal_refined(ctx, &SharedVec::concat(&[&dq, &rr]), fx)?;
        let (inv_dq, inv_rr) = (inv.slice(0, m), inv.slice(m, m));
        let alpha = div_refined(ctx, &rr, &dq, &inv_dq, fx)?.repeat_each(p);
        let upd = trunc::mul_fx(
            ctx,
            &SharedVec::concat(&[&alpha, &alpha]),
            &SharedVec::concat(&[&d, &q]),
            fx,
        )?;
        x = x.add(&upd.slice(0, m * p));
        r = r.sub(&upd.slice(m * p, m * p));
        let rr_new = dot_fx(ctx, &r, &r, p, f)?;
        let beta = div_refined(ctx, &rr_new, &rr, &inv_rr, fx)?.repeat_each(p);
        d = r.add(&trunc::mul_fx(ctx, &beta, &d, fx)?);
        rr = rr_new;
    }
    let beta = if plan.rhs_shift == 0 {
        x
    } else {
        trunc::trunc(ctx, &x, plan.rhs_shift)?
    };
    // 4. Validation: G_s β_s with site s's own masked matrix.
    let cols: Vec<Vec<SharedVec<R>>> = (0..s_n)
        .map(|s| (0..l).map(|k| beta.slice((s * l + k) * p, p)).collect())
        .collect();
    let gb = apply_all(ctx, &mut ops, &cols)?;
    let gb: Vec<SharedVec<R>> = gb.into_iter().flatten().collect();
    let gb = trunc::trunc(ctx, &SharedVec::concat(&gb.iter().collect::<Vec<_>>()), f)?;
    let b_rep = SharedVec::concat(
        &(0..m)
            .filter_map(|x| sites.get(x / l).map(|s| s.b.clone()))
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>(),
    );
    let dots = dot_fx(
        ctx,
        &SharedVec::concat(&[&beta, &beta, &beta]),
        &SharedVec::concat(&[&u_rep, &b_rep, &gb]),
        p,
        f,
    )?;
    let (ub, bb, bgb) = (dots.slice(0, m), dots.slice(m, m), dots.slice(2 * m, m));
    let kappa_rep: Vec<R> = kappa
        .iter()
        .flat_map(|&k| std::iter::repeat_n(enc1(k), l))
        .collect::<Result<_, _>>()?;
    let b0 = trunc::mul_public_fx(ctx, &ub, &kappa_rep, fx)?.add(&ybar.repeat_each(l));
    let scal = |i: usize| -> SharedVec<R> {
        SharedVec::concat(
            &sites
                .iter()
                .map(|s| s.scalars.slice(i, 1).repeat_each(l))
                .collect::<Vec<_>>()
                .iter()
                .collect::<Vec<_>>(),
        )
    };
    let (ysum, yy, inv_tss) = (scal(0), scal(1), scal(2));
    let prods = trunc::mul_fx(
        ctx,
        &SharedVec::concat(&[&b0, &b0, &b0]),
        &SharedVec::concat(&[&ysum, &b0, &ub]),
        fx,
    )?;
    let (p1, p2, p3) = (prods.slice(0, m), prods.slice(m, m), prods.slice(2 * m, m));
    let ns_rep: Vec<R> = plan
        .site_sizes
        .iter()
        .flat_map(|&n| std::iter::repeat_n(enc1(n as f64 / ntf), l))
        .collect::<Result<_, _>>()?;
    let p2n = trunc::mul_public_fx(ctx, &p2, &ns_rep, fx)?;
    let two = R::from_u64(2);
    let rss = yy
        .sub(&p1.scale(two))
        .add(&p2n)
        .sub(&bb.scale(two))
        .add(&p3.scale(two))
        .add(&bgb);
    let ratio = trunc::mul_fx(ctx, &rss, &inv_tss, fx)?;
    let r2 = arith::add_const(ctx, &ratio.neg(), fx.encode_int::<R>(1));
    // 5. Σ_s R² per λ, pairwise comparisons, one-hot winner, its index.
    let mut sums = SharedVec::<R>::zeros(l);
    for s in 0..s_n {
        sums = sums.add(&r2.slice(s * l, l));
    }
    let pairs: Vec<(usize, usize)> = (0..l)
        .flat_map(|i| (i + 1..l).map(move |j| (i, j)))
        .collect();
    let chosen = if l == 1 {
        0
    } else {
        let diffs: Vec<SharedVec<R>> = pairs
            .iter()
            .map(|&(i, j)| sums.slice(i, 1).sub(&sums.slice(j, 1)))
            .collect();
        // lt[(i, j)] = [m_i < m_j] for i < j.
        let lt = compare::ltz(
            ctx,
            &SharedVec::concat(&diffs.iter().collect::<Vec<_>>()),
            f + 16,
        )?;
        let lt_of = |i: usize, j: usize| -> Result<SharedVec<R>, FitError> {
            pairs
                .iter()
                .position(|&q| q == (i, j))
                .map(|x| lt.slice(x, 1))
                .ok_or_else(|| unreachable("pair"))
        };
        // Factor lists: k wins iff [m_j < m_k] for j < k and [m_k ≥ m_j] for j > k.
        let mut factors: Vec<Vec<SharedVec<R>>> = Vec::with_capacity(l);
        for k in 0..l {
            let mut fk = Vec::with_capacity(l - 1);
            for j in 0..l {
                if j < k {
                    fk.push(lt_of(j, k)?);
                } else if j > k {
                    fk.push(arith::add_const(ctx, &lt_of(k, j)?.neg(), R::ONE));
                }
            }
            factors.push(fk);
        }
        let mut win: Vec<SharedVec<R>> = factors
            .iter()
            .map(|fk| fk.first().cloned().ok_or_else(|| unreachable("factor")))
            .collect::<Result<_, _>>()?;
        for step in 1..l - 1 {
            let rhs: Vec<SharedVec<R>> = factors
                .iter()
                .map(|fk| fk.get(step).cloned().ok_or_else(|| unreachable("factor")))
                .collect::<Result<_, _>>()?;
            let prod = arith::mul(
                ctx,
                &SharedVec::concat(&win.iter().collect::<Vec<_>>()),
                &SharedVec::concat(&rhs.iter().collect::<Vec<_>>()),
            )?;
            win = (0..l).map(|k| prod.slice(k, 1)).collect();
        }
        let index = win
            .iter()
            .enumerate()
            .fold(SharedVec::<R>::zeros(1), |acc, (k, w)| {
                acc.add(&w.scale(R::from_u64(k as u64)))
            });
        let opened = arith::open(ctx, &index)?;
        let k = opened.first().map_or(u64::MAX, |v| v.low_u64());
        usize::try_from(k)
            .ok()
            .filter(|&k| k < l)
            .ok_or_else(|| unreachable("chosen index"))?
    };
    let fold_r2 = if plan.reveal_fold_r2 {
        let v = fx.decode_slice(&arith::open(ctx, &r2)?);
        Some(v.chunks_exact(l).map(<[f64]>::to_vec).collect())
    } else {
        None
    };
    Ok(LosoResult {
        chosen,
        lambda: plan
            .lambdas
            .get(chosen)
            .copied()
            .ok_or_else(|| unreachable("λ"))?,
        fold_r2,
    })
}

#[cfg(test)]
mod tests {
    use mpc_core::ring::Z128;
    use protocols::testing::run_with_dealer;

    use super::*;
    use crate::plain::cv as plain;
    use crate::plain::prs::Standardization;
    use crate::plain::qc::{GenotypeCounts, genotype_counts};

    /// Synthetic sites (dosages with ~3% missing calls, a linear trait), against the f64
    /// reference: same chosen λ, fold R² within 1e-6; the fold R² stay closed unless asked.
    #[test]
    fn secure_matches_plain_reference() {
        let (p, sizes) = (8usize, [40usize, 30, 35]);
        let mut st = 11u64;
        let mut next = move || {
            st = st
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (st >> 33) as f64 / (1u64 << 31) as f64
        };
        let effects: Vec<f64> = (0..p).map(|j| (j as f64 - 3.5) * 0.2).collect();
        let sites: Vec<(Vec<i8>, Vec<f64>)> = sizes
            .iter()
            .map(|&n| {
                let x: Vec<Vec<i8>> = (0..p)
                    .map(|_| {
                        (0..n)
                            .map(|_| {
                                if next() < 0.03 {
                                    -1
                                } else {
                                    (next() * 3.0).floor().min(2.0) as i8
                                }
                            })
                            .collect()
                    })
                    .collect();
                let y = (0..n)
                    .map(|i| {
                        effects
                            .iter()
                            .zip(&x)
                            .map(|(b, col)| b * f64::from(col[i].max(0)))
                            .sum::<f64>()
                            + 2.0 * next()
                    })
                    .collect();
                (x.concat(), y)
            })
            .collect();
        let mut pooled: Vec<GenotypeCounts> = Vec::new();
        for ((d, _), &n) in sites.iter().zip(&sizes) {
            let c = genotype_counts(d, n);
            pooled = if pooled.is_empty() {
                c
            } else {
                pooled
                    .iter()
                    .zip(c)
                    .map(|(a, b)| a.pooled_with(b))
                    .collect()
            };
        }
        let std = Standardization::from_counts(&pooled);
        let agg: Vec<SiteAggregates> = sites
            .iter()
            .zip(&sizes)
            .map(|((d, y), &n)| SiteAggregates::compute(d, n, y, &std).unwrap())
            .collect();
        let lambdas = [0.5, 5.0, 50.0, 500.0];
        let want = plain::ridge_loso(&agg, &lambdas, 2 * p).unwrap();
        for reveal in [true, false] {
            let plan = LosoPlan {
                n_variants: p,
                site_sizes: sizes.iter().map(|&n| n as u64).collect(),
                lambdas: lambdas.to_vec(),
                iters: 2 * p,
                rhs_shift: crate::fit::DEFAULT_RHS_SHIFT,
                reveal_fold_r2: reveal,
                fx: FixedPoint::default_for::<Z128>(),
            };
            let run = run_with_dealer(3, 3, |ctx| {
                let me = ctx.me().index();
                Ok(ridge_loso::<Z128, _>(ctx, &plan, &agg[me]).unwrap())
            });
            for r in run.parties.iter().map(|p| &p.value) {
                assert_eq!(r.chosen, want.chosen, "{:?} vs {:?}", r, want);
                assert_eq!(r.lambda, lambdas[want.chosen]);
                match (&r.fold_r2, reveal) {
                    (Some(f), true) => {
                        for (a, b) in f.iter().flatten().zip(want.fold_r2.iter().flatten()) {
                            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
                        }
                    }
                    (None, false) => {}
                    _ => panic!("fold R² opened against the plan"),
                }
            }
        }
    }
}
