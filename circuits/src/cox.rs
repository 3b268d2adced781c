//! Cox proportional hazards with Breslow ties, fitted by Newton–Raphson in MPC on a shared
//! PRS (prs_z, pooled order) and site-private covariates, event times and event indicators;
//! only β and diag(I⁻¹) (⇔ the SEs) are opened. Definitions: [`crate::plain::cox`]
//! (statsmodels `PHReg`, ties = "breslow", no intercept, no delayed entry, no strata).
//!
//! # Protocol ([`cox_breslow`], Z_2^128, fixed point f = 40)
//!
//! 1. **Input.** Each site inputs its own rows: time t (fixed point), event δ (integer 0/1)
//!    and its covariates (fixed point); with the shared prs_z they form the pooled rows
//!    x = (z, covariates). Inputs cost no communication.
//! 2. **Sort.** Secure shuffle + stable sort of the rows (t, δ, x) by t ascending
//!    ([`protocols::sort::sort_rows`]): its opened outcomes are simulatable from n alone
//!    (distinct composite keys over a uniformly shuffled order), so the order, the tie
//!    pattern and the event pattern stay hidden.
//! 3. **Centring.** Every column of x is centred by its pooled mean, computed and subtracted
//!    on shares (nothing opened). The Cox fit is invariant to centring (β and I are the same
//!    for x and x − x̄); centring keeps η = xᵀβ near 0, far inside the exp domain, and S1/S0
//!    small (no cancellation in S2/S0 − (S1/S0)²).
//! 4. **Tie groups, obliviously.** e_k = \[t_k = t_{k+1}\] by ONE vectorised
//!    [`compare::eqz`] on adjacent differences (shared, never opened). With ascending t the
//!    risk set of a row is every position from its tie group's FIRST position on, so the
//!    risk-set sums are suffix sums read at the first position. Breslow gives every event of
//!    a group the group's full sums; hence with w_k = \[k first in its group\]·(events in the
//!    group) the score and information are Σ_k w_k·(…)_k over all positions. w is computed
//!    once: the group's event count by a segmented suffix sum of δ by pointer doubling
//!    (F_k ← F_k + G_k·F_{k+d}, G_k ← G_k·G_{k+d}, G_k = e_k initially; ⌈log2 n⌉ rounds of
//!    2 products per row), then one product with first_k = 1 − e_{k−1}. All integers: exact.
//! 5. **Newton step** (public count from β = 0; all vectorised over the n positions):
//!    η = Σ_a x_a β_a, r = e^η ([`funcs::exp`]), r·x_a and r·x_a x_b (a ≤ b; x_a x_b computed
//!    once), local suffix sums S0, S1, S2, 1/S0 ([`crate::gwas::reciprocal_refined`]),
//!    m1 = S1/S0, m2 = S2/S0, V = m2 − m1 m1ᵀ, then U = Σδx − Σ_k w_k m1_k and
//!    I = Σ_k w_k V_k (w integer: products without truncation). The system
//!    \[I/n  U/n; Uᵀ/n  0\] goes to the Gauss–Jordan of [`crate::score`] (p pivots):
//!    β += I⁻¹U, and diag((I/n)⁻¹) is kept.
//! 6. **Open** β and diag((I/n)⁻¹) of the last step; SE = √(diag/n). HR per SD = e^{β_z} and its
//!    95% CI e^{β_z ± 1.959964·SE_z} are computed in plaintext from the opened numbers (z is
//!    standardised, so β_z is per SD).
//!
//! **What each party learns:** n (public plan), β and the SEs. Nothing else: the sort's
//! opened bits are simulatable from n, every other opening (Beaver products, truncations,
//! comparisons inside exp/reciprocal/eqz, the Gauss–Jordan reciprocals) is a uniformly
//! masked value. Not opened: times, events, tie groups, the number of events, risk-set
//! sizes, η, any per-row value. The SE comes from the information at the second-to-last
//! iterate (the last step's system); with enough steps (the caller's public count) the
//! Newton step is below the fixed-point resolution and that is the information at β̂.
//!
//! **Precision.** exp and the reciprocal have relative errors ≤ 1e−9 (Z_2^128,
//! [`funcs`] docs), one refinement brings the reciprocal to ≈ ulp; truncations add ≈ 2^−40
//! per product; tie groups and w are exact integers. Exact ties stay exact: equal times
//! encode to equal ring values, and distinct times (2 decimals on data/small) differ by far
//! more than the ulp 2^−40.
//!
//! **Ranges.** |t|·2^f < 2^`time_bits` (checked locally at each site); |η| < 32 for the exp
//! domain (centred data and a converging Newton keep |η| ≪ 32: the reference's largest
//! |η| over all iterates on data/small is 3.0 even uncentred); S0 ∈ \[2^−20, 2^40) for the
//! reciprocal (S0 ≥ e^{η} of the last row, ≤ n·e^{max η}).
//!
//! **Degenerate data are refused before fitting** ([`CoxGuard`], [`cox_breslow_guarded`]):
//! right after the input, the events of every site and of the pool are summed on shares and
//! compared in MPC with the plan's minima (default: ≥ [`DEFAULT_MIN_EVENTS_PER_SITE`] events
//! at every site, so an all-censored site fails, and ≥ [`DEFAULT_MIN_EVENTS_PER_REGRESSOR`]
//! events per regressor overall); only the single pass bit is opened, never a count. A
//! failing job returns [`ScoreError::Refused`] naming the rule, before the sort. What still
//! is not detected: a diverging fit (separation) with enough events. Cost of the check on
//! data/small: 9 rounds, 934 bytes per party (`parties/tests/cox_small.rs`).
//!
//! **Cost** (N computing parties, n rows, p regressors, t = p(p+1)/2): one sort of p + 2
//! columns, one eqz of n − 1 differences, ⌈log2 n⌉ + 1 product rounds for w, then per Newton
//! step one exp and one refined reciprocal on n values, ≈ (p + t)·4n fixed-point products
//! and p Gauss–Jordan pivots (each a refined reciprocal): ≈ 170 rounds per step at p = 4.
//!
//! **Measured** on data/small (3 sites as 3 parties + dealer in memory, n = 2,400, 540
//! events, p = 4, 6 Newton steps from 0, `parties/tests/cox_small.rs`): coefficients, SEs,
//! HR per SD and its CI within 1.1e−10 relative of statsmodels (the plaintext reference:
//! 1.2e−13); 1,238 online rounds and 221 MB sent per party, 5.9 s wall (the sort, tie
//! groups, w and setup ≈ 218 rounds / 8.6 MB; each Newton step ≈ 170 rounds / 35.5 MB,
//! dominated by the comparisons inside exp and the reciprocals).

use mpc_core::party::PartyId;
use mpc_core::ring::{Ring, Z128};
use mpc_core::share::SharedVec;
use protocols::prep::Prep;
use protocols::sort::{SortStats, sort_rows};
use protocols::{Ctx, ProtocolError, arith, compare, funcs, trunc};

use crate::checks::groups_at_least;
use crate::gwas::reciprocal_refined;
use crate::score::{ScoreError, ScorePlan, solve_normal};

/// z_{0.975}: the two-sided 95% normal quantile.
pub const Z_975: f64 = 1.959_963_984_540_054;

/// One site's plaintext survival data.
#[derive(Clone, Copy, Debug)]
pub struct SiteSurvival<'a> {
    /// Samples at this site (same order as its dosages / shared scores).
    pub n_samples: usize,
    /// Covariates, sample-major (`n_samples · n_cov`).
    pub covariates: &'a [f64],
    /// Event or censoring time per sample (no delayed entry).
    pub time: &'a [f64],
    /// 1 = event, 0 = censored.
    pub event: &'a [f64],
}

/// The revealed Cox model.
#[derive(Clone, Debug, PartialEq)]
pub struct CoxIgs {
    /// Samples.
    pub n: usize,
    /// Coefficients: prs_z, then the covariates in plan order (no intercept).
    pub coef: Vec<f64>,
    /// Standard errors, same order.
    pub se: Vec<f64>,
    /// Hazard ratio per SD of the PRS, e^{β_z}.
    pub hr_per_sd: f64,
    /// Its 95% CI (Wald, on the log scale).
    pub hr_ci95: [f64; 2],
    /// Public statistics of the sort (simulatable from n).
    pub sort: SortStats,
}

fn unreachable(what: &'static str) -> ScoreError {
    ScoreError::Protocol(ProtocolError::Unreachable(what))
}

fn party(i: usize) -> Result<PartyId, ScoreError> {
    u16::try_from(i)
        .map(PartyId)
        .map_err(|_| unreachable("party index"))
}

/// Inclusive suffix sums of each length-`n` block of a shared vector (local).
fn suffix_blocks(x: &SharedVec<Z128>, n: usize) -> SharedVec<Z128> {
    let mut out = x.expose_share().to_vec();
    for block in out.chunks_mut(n.max(1)) {
        let mut acc = Z128::ZERO;
        for v in block.iter_mut().rev() {
            acc += *v;
            *v = acc;
        }
    }
    SharedVec::from_share(out)
}

/// Sums of each length-`n` block.
fn block_sums(x: &SharedVec<Z128>, n: usize) -> SharedVec<Z128> {
    x.sum_groups(n)
}

/// `k` copies of `x` end to end.
fn tile(x: &SharedVec<Z128>, k: usize) -> SharedVec<Z128> {
    SharedVec::concat(&vec![x; k])
}

/// Default minimum number of events at every site (a plan parameter; the consortium's
/// minimum cell size).
pub const DEFAULT_MIN_EVENTS_PER_SITE: u64 = 5;
/// Default minimum number of events per regressor over all sites (the usual "10 events per
/// variable" rule).
pub const DEFAULT_MIN_EVENTS_PER_REGRESSOR: u64 = 10;

/// The plan's event-count rules for a Cox fit, checked in MPC before fitting (only the pass
/// bit is opened).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoxGuard {
    /// Minimum events at every site.
    pub min_events_per_site: u64,
    /// Minimum events over all sites, per regressor (prs_z and each covariate).
    pub min_events_per_regressor: u64,
}

impl Default for CoxGuard {
    fn default() -> Self {
        Self {
            min_events_per_site: DEFAULT_MIN_EVENTS_PER_SITE,
            min_events_per_regressor: DEFAULT_MIN_EVENTS_PER_REGRESSOR,
        }
    }
}

impl CoxGuard {
    /// The rule as named in a refusal, for `p` regressors.
    pub fn rule(&self, p: usize) -> String {
        format!(
            "COX-MIN-EVENTS: every site must have at least {} events and all sites together at least {} ({} per regressor × {p} regressors)",
            self.min_events_per_site,
            self.min_events_per_regressor.saturating_mul(p as u64),
            self.min_events_per_regressor
        )
    }
}

/// [`cox_breslow_guarded`] with the default [`CoxGuard`].
pub fn cox_breslow<P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &ScorePlan,
    n_cov: usize,
    z: &SharedVec<Z128>,
    mine: &SiteSurvival<'_>,
    iterations: usize,
    time_bits: u32,
) -> Result<CoxIgs, ScoreError> {
    cox_breslow_guarded(
        ctx,
        plan,
        n_cov,
        z,
        mine,
        iterations,
        time_bits,
        &CoxGuard::default(),
    )
}

/// Cox PH (Breslow ties) on x = (z, covariates) with z shared in pooled order (as from
/// [`crate::score::standardize`]) and each site's covariates, times and events private to
/// it: `iterations` Newton steps from β = 0. Reveals β and the SEs only (module docs).
/// `time_bits` bounds the fixed-point time encodings: |t|·2^f < 2^`time_bits`. Before
/// fitting, the event counts are checked in MPC against `guard` (only the pass bit is
/// opened); a failing job returns [`ScoreError::Refused`].
#[allow(
    clippy::too_many_arguments,
    reason = "the plan's public parameters, spelled out"
)]
pub fn cox_breslow_guarded<P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &ScorePlan,
    n_cov: usize,
    z: &SharedVec<Z128>,
    mine: &SiteSurvival<'_>,
    iterations: usize,
    time_bits: u32,
    guard: &CoxGuard,
) -> Result<CoxIgs, ScoreError> {
    let me = ctx.me();
    let fx = plan.fx;
    let n = plan.n_total();
    let n_s = mine.n_samples;
    let p = n_cov + 1;
    if z.len() != n
        || plan.site_sizes.get(me.index()) != Some(&n_s)
        || mine.covariates.len() != n_s * n_cov
        || mine.time.len() != n_s
        || mine.event.len() != n_s
        || n <= p + 1
        || time_bits + 1 >= Z128::BITS
    {
        return Err(ScoreError::Shape);
    }
    // Local checks of this site's own data: 0/1 events, times inside the key bound.
    let t_max = f64::from(time_bits).exp2() * fx.ulp();
    if mine.event.iter().any(|&e| e != 0.0 && e != 1.0)
        || mine.time.iter().any(|t| !t.is_finite() || t.abs() >= t_max)
    {
        return Err(ScoreError::Shape);
    }
    // 1. Input, column-major per site: t, δ, covariates.
    let mut local: Vec<Z128> = fx.encode_slice(mine.time)?;
    local.extend(
        mine.event
            .iter()
            .map(|&e| Z128::from_u64(u64::from(e == 1.0))),
    );
    for c in 0..n_cov {
        let col: Vec<f64> = (0..n_s)
            .map(|i| mine.covariates.get(i * n_cov + c).copied().unwrap_or(0.0))
            .collect();
        local.extend(fx.encode_slice::<Z128>(&col)?);
    }
    let w_in = 2 + n_cov;
    let mut site_cols: Vec<Vec<SharedVec<Z128>>> = Vec::with_capacity(plan.site_sizes.len());
    for (i, &size) in plan.site_sizes.iter().enumerate() {
        let owner = party(i)?;
        let v = arith::input(
            ctx,
            owner,
            (owner == me).then_some(local.as_slice()),
            w_in * size,
        )?;
        site_cols.push(v.split(&vec![size; w_in]));
    }
    let mut cols: Vec<SharedVec<Z128>> = Vec::with_capacity(w_in + 1);
    for c in 0..w_in {
        let parts: Vec<&SharedVec<Z128>> = site_cols
            .iter()
            .map(|s| s.get(c).ok_or_else(|| unreachable("input column")))
            .collect::<Result<_, _>>()?;
        cols.push(SharedVec::concat(&parts));
        if c == 1 {
            cols.push(z.clone());
        }
    }
    // Guard: events per site and overall against the plan's minima; one bit opened.
    {
        let delta = cols.get(1).ok_or_else(|| unreachable("δ"))?;
        let mut counts = Vec::with_capacity(plan.site_sizes.len() + 1);
        let mut off = 0;
        for &size in &plan.site_sizes {
            counts.push(delta.slice(off, size).sum_groups(size.max(1)));
            off += size;
        }
        counts.push(delta.sum_groups(n));
        let counts = SharedVec::concat(&counts.iter().collect::<Vec<_>>());
        let mut mins = vec![guard.min_events_per_site; plan.site_sizes.len()];
        mins.push(guard.min_events_per_regressor.saturating_mul(p as u64));
        let bits = usize::BITS - n.leading_zeros() + 1;
        let bits =
            bits.max(u64::BITS - mins.iter().max().copied().unwrap_or(0).leading_zeros() + 1);
        let pass = groups_at_least(ctx, &counts, &mins, &[counts.len()], bits)?;
        if pass != [true] {
            return Err(ScoreError::Refused(guard.rule(p)));
        }
    }
    // 2. Sort by t ascending: columns t, δ, z, covariates.
    let (sorted, sort) = sort_rows(ctx, &cols, 0, time_bits)?;
    let t = sorted.first().ok_or_else(|| unreachable("t"))?;
    let delta = sorted.get(1).ok_or_else(|| unreachable("δ"))?;
    let x_raw: Vec<&SharedVec<Z128>> = sorted.iter().skip(2).collect();
    let x_raw = SharedVec::concat(&x_raw); // p blocks of n
    // 3. Centre every column by its pooled mean (on shares).
    let inv_n = fx.encode::<Z128>(1.0 / n as f64)?;
    let means = trunc::mul_public_fx(ctx, &block_sums(&x_raw, n), &vec![inv_n; p], fx)?;
    let x = x_raw.sub(&means.repeat_each(n));
    // 4. Tie groups and w.
    let e = compare::eqz(
        ctx,
        &t.slice(1, n - 1).sub(&t.slice(0, n - 1)),
        time_bits + 1,
    )?;
    let mut g: Vec<Z128> = e.expose_share().to_vec();
    g.push(Z128::ZERO);
    let mut f: Vec<Z128> = delta.expose_share().to_vec();
    let mut d = 1usize;
    while d < n {
        let m = n - d;
        let xs: Vec<Z128> = g.get(..m).ok_or_else(|| unreachable("g"))?.to_vec();
        let fy = f.get(d..).ok_or_else(|| unreachable("f"))?;
        let gy = g.get(d..).ok_or_else(|| unreachable("g"))?;
        let last = 2 * d >= n;
        let (lhs, rhs) = if last {
            (xs, fy.to_vec())
        } else {
            ([xs.as_slice(), xs.as_slice()].concat(), [fy, gy].concat())
        };
        let prod = arith::mul(
            ctx,
            &SharedVec::from_share(lhs),
            &SharedVec::from_share(rhs),
        )?;
        let prod = prod.expose_share();
        for (fk, pk) in f.iter_mut().zip(prod.iter().take(m)) {
            *fk += *pk;
        }
        if !last {
            let new_g = prod.get(m..2 * m).ok_or_else(|| unreachable("g"))?;
            for (gk, pk) in g.iter_mut().zip(new_g) {
                *gk = *pk;
            }
            for gk in g.iter_mut().skip(m) {
                *gk = Z128::ZERO;
            }
        }
        d *= 2;
    }
    let first = arith::add_const(
        ctx,
        &SharedVec::concat(&[&SharedVec::zeros(1), &e]).neg(),
        Z128::ONE,
    );
    let w = arith::mul(ctx, &first, &SharedVec::from_share(f))?;
    // Once: x_a x_b (a ≤ b) and Σ δ x.
    let pairs: Vec<(usize, usize)> = (0..p).flat_map(|a| (a..p).map(move |b| (a, b))).collect();
    let tp = pairs.len();
    let xa: Vec<SharedVec<Z128>> = pairs.iter().map(|&(a, _)| x.slice(a * n, n)).collect();
    let xb: Vec<SharedVec<Z128>> = pairs.iter().map(|&(_, b)| x.slice(b * n, n)).collect();
    let xx = trunc::mul_fx(
        ctx,
        &SharedVec::concat(&xa.iter().collect::<Vec<_>>()),
        &SharedVec::concat(&xb.iter().collect::<Vec<_>>()),
        fx,
    )?;
    let sx = block_sums(&arith::mul(ctx, &tile(delta, p), &x)?, n);
    let x_all = SharedVec::concat(&[&x, &xx]); // p + tp blocks
    let pair_index = |a: usize, b: usize| {
        let (a, b) = (a.min(b), a.max(b));
        pairs.iter().position(|&q| q == (a, b))
    };
    // 5. Newton.
    let mut beta = SharedVec::<Z128>::zeros(p);
    let mut inv_diag = SharedVec::<Z128>::zeros(p);
    for _ in 0..iterations {
        let eta = block_sums_cols(&trunc::mul_fx(ctx, &x, &beta.repeat_each(n), fx)?, n, p);
        let r = funcs::exp(ctx, &eta, fx)?;
        let rx = trunc::mul_fx(ctx, &tile(&r, p + tp), &x_all, fx)?;
        let s0 = suffix_blocks(&r, n);
        let s12 = suffix_blocks(&rx, n);
        let inv = reciprocal_refined(ctx, &s0, fx)?;
        let m = trunc::mul_fx(ctx, &s12, &tile(&inv, p + tp), fx)?;
        let m1 = m.slice(0, p * n);
        let ma: Vec<SharedVec<Z128>> = pairs.iter().map(|&(a, _)| m1.slice(a * n, n)).collect();
        let mb: Vec<SharedVec<Z128>> = pairs.iter().map(|&(_, b)| m1.slice(b * n, n)).collect();
        let q = trunc::mul_fx(
            ctx,
            &SharedVec::concat(&ma.iter().collect::<Vec<_>>()),
            &SharedVec::concat(&mb.iter().collect::<Vec<_>>()),
            fx,
        )?;
        let v = m.slice(p * n, tp * n).sub(&q);
        let wm = arith::mul(ctx, &tile(&w, p + tp), &SharedVec::concat(&[&m1, &v]))?;
        let sums = block_sums(&wm, n); // Σ w m1 (p), I (tp)
        let u = sx.sub(&sums.slice(0, p));
        let all = SharedVec::concat(&[&u, &sums.slice(p, tp)]);
        let all = trunc::mul_public_fx(ctx, &all, &vec![inv_n; p + tp], fx)?;
        let (u, info) = (all.slice(0, p), all.slice(p, tp));
        // Augmented [I g; gᵀ 0] ((p + 1) × (p + 1)).
        let mut entries: Vec<SharedVec<Z128>> = Vec::with_capacity((p + 1) * (p + 1));
        for a in 0..=p {
            for b in 0..=p {
                entries.push(match (a == p, b == p) {
                    (true, true) => SharedVec::zeros(1),
                    (true, false) => u.slice(b, 1),
                    (false, true) => u.slice(a, 1),
                    (false, false) => {
                        info.slice(pair_index(a, b).ok_or_else(|| unreachable("pair"))?, 1)
                    }
                });
            }
        }
        let fit = solve_normal(
            ctx,
            &SharedVec::concat(&entries.iter().collect::<Vec<_>>()),
            p + 1,
            fx,
        )?;
        beta = beta.add(&fit.beta);
        inv_diag = fit.inv_diag;
    }
    // 6. Open β and diag((I/n)⁻¹).
    let out = fx.decode_slice(&arith::open(ctx, &SharedVec::concat(&[&beta, &inv_diag]))?);
    let coef = out.get(..p).ok_or_else(|| unreachable("β"))?.to_vec();
    let se: Vec<f64> = out
        .get(p..2 * p)
        .ok_or_else(|| unreachable("diag"))?
        .iter()
        .map(|&v| (v / n as f64).max(0.0).sqrt())
        .collect();
    let (bz, sz) = match (coef.first(), se.first()) {
        (Some(&b), Some(&s)) => (b, s),
        _ => return Err(unreachable("β_z")),
    };
    Ok(CoxIgs {
        n,
        hr_per_sd: bz.exp(),
        hr_ci95: [(bz - Z_975 * sz).exp(), (bz + Z_975 * sz).exp()],
        coef,
        se,
        sort,
    })
}

/// Σ over `p` blocks of length `n`, element-wise (local).
fn block_sums_cols(x: &SharedVec<Z128>, n: usize, p: usize) -> SharedVec<Z128> {
    let mut acc = x.slice(0, n);
    for a in 1..p {
        acc = acc.add(&x.slice(a * n, n));
    }
    acc
}

#[cfg(test)]
mod tests {
    use mpc_core::fixed::FixedPoint;
    use protocols::testing::run_with_dealer;

    use super::*;
    use crate::plain::cox as plain;

    /// Synthetic sites with heavy ties (integer times 1..=6, tie groups spanning sites,
    /// groups without events, a last group of events), checked against the f64 reference.
    #[test]
    fn secure_matches_plain_with_ties() {
        let sizes = [23usize, 17, 20];
        let n: usize = sizes.iter().sum();
        let mut s = 7u64;
        let mut next = move || {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 33) as f64 / (1u64 << 31) as f64
        };
        let z: Vec<f64> = (0..n).map(|_| next() * 4.0 - 2.0).collect();
        let cov: Vec<f64> = (0..n)
            .flat_map(|_| [f64::from(u8::from(next() < 0.4)), 20.0 + 15.0 * next()])
            .collect();
        let time: Vec<f64> = (0..n).map(|_| (next() * 6.0).floor() + 1.0).collect();
        let event: Vec<f64> = (0..n)
            .map(|i| f64::from(u8::from(next() < 0.6 || time[i] == 6.0)))
            .collect();
        let x: Vec<f64> = (0..n)
            .flat_map(|i| [z[i], cov[2 * i], cov[2 * i + 1]])
            .collect();
        let want = plain::cox_breslow(&x, 3, &time, &event, 8).unwrap();
        let fx = FixedPoint::default_for::<Z128>();
        let plan = ScorePlan {
            n_variants: 0,
            site_sizes: sizes.to_vec(),
            weight_owner: PartyId(0),
            fx,
        };
        let run = run_with_dealer(3, 11, |ctx| {
            let me = ctx.me().index();
            let off: usize = sizes[..me].iter().sum();
            let m = sizes[me];
            // z shared by party 0 (pooled order).
            let zs = arith::input(
                ctx,
                PartyId(0),
                (me == 0)
                    .then(|| fx.encode_slice::<Z128>(&z).unwrap())
                    .as_deref(),
                n,
            )?;
            let mine = SiteSurvival {
                n_samples: m,
                covariates: &cov[2 * off..2 * (off + m)],
                time: &time[off..off + m],
                event: &event[off..off + m],
            };
            Ok(cox_breslow(ctx, &plan, 2, &zs, &mine, 8, 50).unwrap())
        });
        for p in &run.parties {
            let got = &p.value;
            for (a, b) in got.coef.iter().zip(&want.coef) {
                assert!((a - b).abs() <= 1e-7 * b.abs().max(1.0), "{a} vs {b}");
            }
            for (a, b) in got.se.iter().zip(&want.se) {
                assert!((a - b).abs() <= 1e-7 * b, "{a} vs {b}");
            }
            assert!((got.hr_per_sd - want.coef[0].exp()).abs() <= 1e-7);
        }
    }
}
