//! Secret-weight scoring, pooled PRS standardisation and the linear IGS model.
//!
//! **Scoring** ([`score`]). The model owner inputs the harmonised weight vector w (weights per
//! copy of the effect allele, in the plan's variant order). Every site inputs its per-variant
//! effect-allele counts c_j and non-missing call counts n_j (integers); the pooled sums are
//! local. Then, as plink2 `--score` (default mode, `_SUM`, data/small/README.md §4a):
//!
//! 1. 2f_j = c_j · (2^16/n_j) / 2^16: 2^16/n_j by [`funcs::reciprocal`] plus one Newton step
//!    ([`crate::gwas::reciprocal_refined`]); the integer c_j times the fixed-point 2^16/n_j
//!    is one Beaver product, then one truncation by 16 bits (the scaling keeps c_j from
//!    multiplying the reciprocal's ulp; Z_2^64 uses 1/n_j directly).
//! 2. u_j = w_j · 2f_j ([`trunc::mul_fx`]): the contribution of an imputed call.
//! 3. Site s holds G_s (its effect-allele dosages, 0 for a missing call) and M_s (its
//!    missing-call indicators), both n_s × m and plaintext. Its scores are
//!    [G_s | M_s] · [w; u], one site-private matrix × shared vector product. Integer
//!    matrix × fixed-point vector needs no truncation.
//!
//! **Product path** ([`ScoreOptions::path`], a public plan parameter; [`MatvecPath::Auto`] by
//! default). `Dealer`: [`private_matvec`] (Beaver, the masked matrix crosses the network:
//! 16 bytes per entry per peer in Z_2^128). `He`: the shares of [w; u] are reduced mod 2^64
//! ([`convert::reduce`]), the site computes [G_s | M_s]·[w; u] mod 2^64 over GLWE
//! ([`he::he_matvec`], O((rows + cols)/N) ciphertexts) in row chunks of at most
//! [`ScoreOptions::max_chunk_entries`] entries, and the Z_2^64 result shares are lifted to
//! Z_2^128 in one round ([`convert::lift_signed`]). The lift is exact when |score|·2^f <
//! 2^62, which the plan guarantees by a public bound B on |w_j| that the weight owner checks
//! before input: m·(2·B·2^f·(1 + 2^−20) + 8) < 2^62 ([`he_exact`]; f = 40, B = 4: m <
//! 524,287). `Auto` takes the HE path when it is exact, built in (feature `he`), and moves
//! fewer bytes by [`product_cost`]; every party decides from public values only.

//! The result is a shared score per individual, in pooled order (sites in party order);
//! nothing is opened. With public weights ([`score_public_weights`]) each site computes
//! G_s·w itself and only M_s·u is a site-private product: the same numbers for half the
//! traffic.
//!
//! **Standardisation** ([`standardize`]). Σ s_i is local, Σ s_i² one square; with the public
//! N: mean = Σ s/N, var = Σ s²/N − mean² (population variance), 1/SD by [`funcs::inv_sqrt`]
//! plus one Newton step y ← y(3 − v·y²)/2; z = (s − mean)/SD. Nothing is opened.
//!
//! **Linear IGS** ([`linear_igs`]). Columns [1, z, covariates…] and outcome y. Each site
//! computes in plaintext the Gram matrix of (1, covariates, y) over its samples (an aggregate)
//! and inputs it; the cross products Σ z_i·v_i with v = (1, covariates, y) are one
//! [`private_matvec`] per site (V_sᵀ · z_s), Σ z_i² one square. Every entry is scaled by the
//! public 1/N. Gauss–Jordan elimination of the 6 pivots (secure reciprocal + Newton each) on
//! [A | b | I] with the extra row [bᵀ | yᵀy] yields β, diag(A⁻¹) and RSS/N; the
//! covariates-only model is solved the same way from the site aggregates alone.
//!
//! **Logistic IGS** ([`logistic_igs`]). Newton/IRLS for a public number of iterations from
//! β = 0: η needs the site-private product C_s·β_c; p = σ(η) by [`funcs::sigmoid`];
//! H = XᵀWX/N and g = Xᵀ(y − p)/N from site-private products (per-sample outer products of
//! (1, covariates) times w, (1, covariates) times w·z and y − p) and shared sums over z;
//! δ = H⁻¹g by the same Gauss–Jordan; only β and diag(H⁻¹) (the SEs) are opened at the end.
//! OR per SD = exp(β_z) and its Wald CI follow in plaintext. The log-likelihood at the final β
//! is Σ y·η − Σ ln(1 + e^η) ([`funcs::exp`], [`funcs::ln`]); the covariates-only model runs
//! the same code with z ≡ 0 and H_zz + 1; the null log-likelihood is N·(ȳ ln ȳ +
//! (1 − ȳ) ln(1 − ȳ)); Nagelkerke R² follows in plaintext.
//!
//! **What each party learns.** Scoring and standardisation: nothing (every opened value is a
//! uniformly masked Beaver/truncation/comparison opening); the dealer learns only shapes. Linear
//! IGS: the coefficients, diag((XᵀX)⁻¹)·N (equivalent to the SEs given σ²), RSS/N, TSS/N and
//! the covariates-only RSS/N — exactly what the revealed coefficients, SEs, R², incremental R²
//! and σ² imply, given the public N. Logistic IGS: the coefficients, diag(H⁻¹)
//! (equivalent to the SEs) and the three log-likelihoods (full, covariates-only, null; the
//! null one reveals the pooled case fraction), from which the Nagelkerke R² follow. Sites learn the plan's shapes (site sizes, variant count); the
//! weight owner learns nothing beyond its own weights and the outputs. Individual scores, z, fitted values, residuals, allele
//! frequencies and the Gram matrix stay shared.
//!
//! **Numerics** (Z_2^128, f = 40, ulp ≈ 9.1e−13): dosages and indicators are exact integers
//! and both product paths are exact; w and u carry ≤ ½ ulp encoding plus ≈ 2 ulp from 2f_j
//! (relative ≈ 1e−18 after Newton on 2^16/n_j, × c_j/2^16 ≤ 2N/2^16, one truncation), so a
//! score's absolute error is of order m·ulp (m = score
//! variants). Conditions: every n_j ≥ 1 and < 2^56 (reciprocal domain of n_j/2^16), the population
//! variance of the scores and every pivot of the (1/N-scaled) Gram matrix in [2^−20, 2^40),
//! mean squared covariates < 2^40. Z_2^64 is not supported here: its f = 16 default would
//! give score errors up to m·2^−17 ≈ 4e−3 here.
//!
//! **Measured** on `data/small` (3 sites, 2,400 samples, 561 harmonised variants, 4
//! covariates, 3 parties + dealer, `parties/tests/score_igs.rs`): scores within 5.4e−11 (2.1e−9 before the 2^16/n_j scaling)
//! absolute of plink2's `SCORE1_SUM` (12-digit file); mean and SD within 2.1e−10 relative;
//! linear IGS coefficients, SEs, R², incremental R² and σ² within 1.8e−10 relative of
//! statsmodels. Online rounds / bytes sent per party: [`score`] over the HE path (default)
//! 33–34 / 8.1–9.3 MB, over the dealer path 34 / 89.8 MB (error 5.6e−11),
//! [`standardize`] 35 / 0.32 MB, [`linear_igs`] 328 / 0.79 MB (11 pivots, each a secure
//! reciprocal); [`score_public_weights`] 32 / 6.6–8.1 MB (HE; 46.7 MB dealer) with the same
//! scores (5.6e−11);
//! [`logistic_igs`] (full and covariates-only models, 10 Newton iterations each, plus the
//! log-likelihoods) 4,421 / 231 MB (each site's design matrices masked once as an
//! [`arith::PrivateMatrix`]; 274 MB when every Newton step re-masked them): coefficients, SEs, OR per SD and its CI within 3.7e−10,
//! llf and llnull within 3e−11, Nagelkerke R² (full, covariates-only, incremental) within
//! 3e−10 relative of statsmodels. On the `large` config (benches `S1`: 3 sites, 45,000
//! samples, 60,000 variants genome-wide, HE path): 970 MB per party, 53 rounds, 717 s on a
//! loaded 2-core machine, scores within 1.5e−10 of the plaintext reference (the dealer path
//! would move ≈ 57.6 GB per party per site). On the dealer path ≈ 86 MB of the scoring traffic is the
//! opening of the n_s × 2m matrix-product masks in [`private_matvec`] (16 bytes per genotype
//! per peer, twice: dosage and missing indicator), which the HE path replaces.

use core::fmt;
use core::ops::Range;

use mpc_core::fixed::{FixedError, FixedPoint};
use mpc_core::party::PartyId;
use mpc_core::ring::{Ring, Z64};
use mpc_core::share::SharedVec;
use protocols::arith::private_matvec;
pub use protocols::he::MatvecPath;
use protocols::he::params::{DEFAULT_PARAMS, Layout};
use protocols::prep::Prep;
use protocols::{Ctx, ProtocolError, arith, convert, funcs, he, trunc};

use crate::gwas::reciprocal_refined;

/// Errors of secure scoring and IGS models.
#[derive(Debug)]
#[non_exhaustive]
pub enum ScoreError {
    /// A protocol step failed (names the culprit for peer faults).
    Protocol(ProtocolError),
    /// This party's data do not have the plan's shape.
    Shape,
    /// A value does not encode in the fixed-point format (out of range or not finite).
    Encoding(FixedError),
    /// A rule of the plan checked in MPC failed (only its pass bit was opened); names the
    /// rule.
    Refused(String),
    /// The weight owner's weight `index` exceeds the plan's public bound
    /// ([`ScoreOptions::max_abs_weight`]); raised at the owner only.
    WeightBound {
        /// Position of the first weight beyond the bound.
        index: usize,
        /// The bound.
        bound: f64,
    },
    /// The HE path was requested but m·|w|·2^f may exceed the Z_2^64 → Z_2^128 lift's range.
    HeRange {
        /// Score variants.
        variants: usize,
        /// The weight bound.
        bound: f64,
    },
}

impl fmt::Display for ScoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(e) => write!(f, "{e}"),
            Self::Shape => write!(f, "local data do not match the plan's shape"),
            Self::Encoding(e) => write!(f, "value does not encode: {e}"),
            Self::Refused(rule) => write!(f, "refused by the plan's rule {rule}"),
            Self::WeightBound { index, bound } => {
                write!(f, "weight {index} exceeds the plan's bound |w| ≤ {bound}")
            }
            Self::HeRange { variants, bound } => write!(
                f,
                "HE scoring of {variants} variants with |w| ≤ {bound} may exceed the lift's range \
                 (2^62 in fixed point): lower the weight bound or use the dealer path"
            ),
        }
    }
}

impl std::error::Error for ScoreError {}

impl From<ProtocolError> for ScoreError {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}

impl From<FixedError> for ScoreError {
    fn from(e: FixedError) -> Self {
        Self::Encoding(e)
    }
}

/// The public part of a scoring job (from the signed plan).
#[derive(Clone, Debug)]
pub struct ScorePlan {
    /// Harmonised score variants (same order at every site).
    pub n_variants: usize,
    /// Samples per site, in party order (site s is party s).
    pub site_sizes: Vec<usize>,
    /// The party that inputs the weights (the model owner).
    pub weight_owner: PartyId,
    /// Fixed-point format.
    pub fx: FixedPoint,
}

impl ScorePlan {
    /// Total samples over all sites.
    pub fn n_total(&self) -> usize {
        self.site_sizes.iter().sum()
    }
}

/// One site's harmonised effect-allele dosages: variant-major (`n_variants · n_samples`),
/// 0, 1, 2 or any negative value for a missing call.
#[derive(Clone, Copy, Debug)]
pub struct SiteDosages<'a> {
    /// Samples at this site.
    pub n_samples: usize,
    /// Dosages, variant j at `j·n_samples..(j+1)·n_samples`.
    pub dosages: &'a [i8],
}

fn party(i: usize) -> Result<PartyId, ScoreError> {
    u16::try_from(i)
        .map(PartyId)
        .map_err(|_| ScoreError::Protocol(ProtocolError::Unreachable("party index")))
}

/// Default public bound on |w_j| ([`ScoreOptions::max_abs_weight`]): per-allele weights
/// (log odds ratios, trait units per allele) of published scores are far below it.
pub const DEFAULT_MAX_ABS_WEIGHT: f64 = 4.0;

/// Default bound on the entries of one site-private product call
/// ([`ScoreOptions::max_chunk_entries`]): the HE path takes a site's rows in chunks of at most
/// this many matrix entries, so a site's memory stays ≈ 16 bytes × this (1 GiB).
pub const DEFAULT_MAX_CHUNK_ENTRIES: usize = 1 << 26;

/// Public scoring parameters (every party must pass the same; plan/job parameters).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreOptions {
    /// How the site-private products are computed: dealer triples, GLWE, or the cheaper of the
    /// two by [`product_cost`] (`Auto`, the default).
    pub path: MatvecPath,
    /// Public bound on every |w_j|. The weight owner refuses weights beyond it
    /// ([`ScoreError::WeightBound`]); the HE path in Z_2^128 is exact when
    /// m·(2·B·2^f·(1 + 2^−20) + 8) < 2^62 (see [`he_exact`]).
    pub max_abs_weight: f64,
    /// Largest number of matrix entries in one HE product call (memory bound at the site).
    pub max_chunk_entries: usize,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        Self {
            path: MatvecPath::Auto,
            max_abs_weight: DEFAULT_MAX_ABS_WEIGHT,
            max_chunk_entries: DEFAULT_MAX_CHUNK_ENTRIES,
        }
    }
}

/// The product path named in a plan or job file: `dealer`, `he` or `auto` (case-insensitive).
pub fn parse_matvec_path(name: &str) -> Option<MatvecPath> {
    match name.to_ascii_lowercase().as_str() {
        "dealer" => Some(MatvecPath::Dealer),
        "he" => Some(MatvecPath::He),
        "auto" => Some(MatvecPath::Auto),
        _ => None,
    }
}

/// Shared scores of every individual, pooled order (sites in party order). `weights` is
/// `Some` at the weight owner only; every computing party is a site and passes its dosages.
/// [`score_with`] with the default [`ScoreOptions`] (HE path when it is cheaper).
pub fn score<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &ScorePlan,
    weights: Option<&[f64]>,
    mine: &SiteDosages<'_>,
) -> Result<SharedVec<R>, ScoreError> {
    score_with(ctx, plan, &ScoreOptions::default(), weights, mine)
}

/// [`score`] with explicit options (product path, weight bound).
pub fn score_with<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &ScorePlan,
    opts: &ScoreOptions,
    weights: Option<&[f64]>,
    mine: &SiteDosages<'_>,
) -> Result<SharedVec<R>, ScoreError> {
    let m = plan.n_variants;
    let me = ctx.me();
    let fx = plan.fx;
    check_shape(ctx, plan, mine)?;
    if weights.is_some_and(|w| w.len() != m) {
        return Err(ScoreError::Shape);
    }
    // Weights from the model owner, who checks the plan's public bound on them.
    let w_enc: Option<Vec<R>> = if me == plan.weight_owner {
        let w = weights.ok_or(ScoreError::Shape)?;
        if let Some(j) = w
            .iter()
            .position(|x| !x.is_finite() || x.abs() > opts.max_abs_weight)
        {
            return Err(ScoreError::WeightBound {
                index: j,
                bound: opts.max_abs_weight,
            });
        }
        Some(fx.encode_slice(w)?)
    } else {
        None
    };
    let w = arith::input(ctx, plan.weight_owner, w_enc.as_deref(), m)?;
    score_shared(ctx, plan, opts, &w, mine)
}

/// Shared scores from weights that are already secret-shared (`w`: m entries at fixed point
/// `plan.fx`): fitted weights, or a model owner outside the session that dealt additive
/// shares of its weights to the sites. Whoever dealt `w` is responsible for the public bound
/// `opts.max_abs_weight` on every |w_j| (the HE path's exactness depends on it; see
/// [`he_exact`]). [`ScorePlan::weight_owner`] is not used.
pub fn score_shared<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &ScorePlan,
    opts: &ScoreOptions,
    w: &SharedVec<R>,
    mine: &SiteDosages<'_>,
) -> Result<SharedVec<R>, ScoreError> {
    let m = plan.n_variants;
    let me = ctx.me();
    let fx = plan.fx;
    check_shape(ctx, plan, mine)?;
    if w.len() != m {
        return Err(ScoreError::Shape);
    }
    let counts = local_counts::<R>(mine, m);
    // Step 1: 2f.
    let two_f = pooled_two_f(ctx, plan, &counts)?;
    // Step 2: u = w ⊙ 2f.
    let u = trunc::mul_fx(ctx, w, &two_f, fx)?;
    let wu = SharedVec::concat(&[w, &u]);
    // Step 3: per site, [G_s | M_s] · [w; u].
    let mut parts = Vec::with_capacity(ctx.n());
    for (i, &n_s) in plan.site_sizes.iter().enumerate() {
        let owner = party(i)?;
        let site = (owner == me).then_some(mine);
        parts.push(site_product(
            ctx,
            plan,
            opts,
            opts.max_abs_weight,
            owner,
            site,
            SiteMatrix::DosagesAndMissing,
            n_s,
            &wu,
        )?);
    }
    let refs: Vec<&SharedVec<R>> = parts.iter().collect();
    Ok(SharedVec::concat(&refs))
}

/// Public-weight path (e.g. weights straight from the PGS Catalog): the same numbers as
/// [`score`], but each site computes G_s·w locally in the ring (exactly the value the secure
/// product would give) and inputs it; only the mean-imputation term M_s·(w ⊙ 2f) is a
/// site-private product, since the pooled frequencies stay shared. `weights` is the same
/// public vector at every party; [`ScorePlan::weight_owner`] is not used. About half the
/// traffic of [`score`] on the dealer path.
pub fn score_public_weights<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &ScorePlan,
    weights: &[f64],
    mine: &SiteDosages<'_>,
) -> Result<SharedVec<R>, ScoreError> {
    score_public_weights_with(ctx, plan, &ScoreOptions::default(), weights, mine)
}

/// [`score_public_weights`] with explicit options ([`ScoreOptions::max_abs_weight`] is not
/// used: the weights are public, so their largest magnitude is).
pub fn score_public_weights_with<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &ScorePlan,
    opts: &ScoreOptions,
    weights: &[f64],
    mine: &SiteDosages<'_>,
) -> Result<SharedVec<R>, ScoreError> {
    let m = plan.n_variants;
    let me = ctx.me();
    let fx = plan.fx;
    check_shape(ctx, plan, mine)?;
    if weights.len() != m {
        return Err(ScoreError::Shape);
    }
    let w: Vec<R> = fx.encode_slice(weights)?;
    let max_w = weights.iter().fold(0.0f64, |a, x| a.max(x.abs()));
    let counts = local_counts::<R>(mine, m);
    let two_f = pooled_two_f(ctx, plan, &counts)?;
    let u = trunc::mul_public_fx(ctx, &two_f, &w, fx)?;
    // Local: G_s · w in the ring (no truncation: integer × fixed point).
    let n = mine.n_samples;
    let mut gw = vec![R::ZERO; n];
    for (col, &wj) in mine.dosages.chunks_exact(n.max(1)).zip(&w) {
        for (acc, &d) in gw.iter_mut().zip(col) {
            if (0..=2).contains(&d) {
                *acc += R::from_u64(d as u64) * wj;
            }
        }
    }
    let mut parts = Vec::with_capacity(ctx.n());
    for (i, &n_s) in plan.site_sizes.iter().enumerate() {
        let owner = party(i)?;
        let own = owner == me;
        let observed = arith::input(ctx, owner, own.then_some(gw.as_slice()), n_s)?;
        let site = own.then_some(mine);
        let imputed = site_product(
            ctx,
            plan,
            opts,
            max_w,
            owner,
            site,
            SiteMatrix::Missing,
            n_s,
            &u,
        )?;
        parts.push(observed.add(&imputed));
    }
    let refs: Vec<&SharedVec<R>> = parts.iter().collect();
    Ok(SharedVec::concat(&refs))
}

fn check_shape<P: Prep>(
    ctx: &Ctx<'_, P>,
    plan: &ScorePlan,
    mine: &SiteDosages<'_>,
) -> Result<(), ScoreError> {
    if plan.site_sizes.len() != ctx.n()
        || plan.site_sizes.get(ctx.me().index()) != Some(&mine.n_samples)
        || mine.dosages.len() != plan.n_variants * mine.n_samples
    {
        return Err(ScoreError::Shape);
    }
    Ok(())
}

/// A site's per-variant counts [c; n_calls] (2m): effect-allele counts and non-missing calls.
fn local_counts<R: Ring>(mine: &SiteDosages<'_>, m: usize) -> Vec<R> {
    let n = mine.n_samples;
    let mut counts = vec![R::ZERO; 2 * m];
    for (j, col) in mine.dosages.chunks_exact(n.max(1)).enumerate().take(m) {
        let (mut c, mut calls) = (0u64, 0u64);
        for &d in col {
            if (0..=2).contains(&d) {
                c += d as u64;
                calls += 1;
            }
        }
        if let Some(x) = counts.get_mut(j) {
            *x = R::from_u64(c);
        }
        if let Some(x) = counts.get_mut(m + j) {
            *x = R::from_u64(calls);
        }
    }
    counts
}

/// Which plaintext matrix of a site enters a product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SiteMatrix {
    /// [G | M]: dosages (0 for a missing call) and missing-call indicators, n × 2m.
    DosagesAndMissing,
    /// M only, n × m.
    Missing,
}

impl SiteMatrix {
    fn cols(self, m: usize) -> usize {
        match self {
            Self::DosagesAndMissing => 2 * m,
            Self::Missing => m,
        }
    }

    /// Rows `rows` of the matrix, sample-major, in the ring `T`.
    fn rows<T: Ring>(self, mine: &SiteDosages<'_>, m: usize, rows: Range<usize>) -> Vec<T> {
        let n = mine.n_samples;
        let cols = self.cols(m);
        let r = rows.len();
        let mut out = vec![T::ZERO; r * cols];
        for (j, col) in mine.dosages.chunks_exact(n.max(1)).enumerate().take(m) {
            let Some(part) = col.get(rows.clone()) else {
                continue;
            };
            for (i, &d) in part.iter().enumerate() {
                let (pos, v) = match (self, (0..=2).contains(&d)) {
                    (Self::DosagesAndMissing, true) => (i * cols + j, d as u64),
                    (Self::DosagesAndMissing, false) => (i * cols + m + j, 1),
                    (Self::Missing, false) => (i * cols + j, 1),
                    (Self::Missing, true) => continue,
                };
                if let Some(x) = out.get_mut(pos) {
                    *x = T::from_u64(v);
                }
            }
        }
        out
    }
}

/// Public traffic estimate of one site-private product (bytes sent by all computing parties
/// together, online and dealer), used by [`MatvecPath::Auto`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProductCost {
    /// Dealer path ([`protocols::arith::private_matvec`]): every party opens the masked
    /// matrix (rows·cols) and vector (cols) to every other party, `ring_bytes` each.
    pub dealer_bytes: u128,
    /// HE path: per row chunk, every non-owner's query and the owner's reply
    /// ([`protocols::he::params::Layout`]); plus, in Z_2^128, the lift (8 bytes per row per
    /// ordered pair of parties, 32 per row from the dealer). `None` if no layout fits.
    pub he_bytes: Option<u128>,
}

/// [`ProductCost`] of a rows × cols site-private product among `parties` computing parties in
/// a ring of `ring_bytes`-byte elements, HE rows taken in chunks of `chunk_rows`.
pub fn product_cost(
    rows: usize,
    cols: usize,
    parties: usize,
    ring_bytes: usize,
    chunk_rows: usize,
) -> ProductCost {
    let (r, c, n) = (rows as u128, cols as u128, parties as u128);
    let pairs = n * n.saturating_sub(1);
    let dealer_bytes = pairs * (r * c + c) * ring_bytes as u128;
    let mut he = Some(0u128);
    let chunk = chunk_rows.max(1);
    let mut start = 0;
    while start < rows {
        let len = chunk.min(rows - start);
        he = match (he, Layout::choose(&DEFAULT_PARAMS, len, cols)) {
            (Some(t), Ok(l)) => Some(
                t + (n.saturating_sub(1)) * (l.query_bytes() as u128 + l.reply_bytes() as u128),
            ),
            _ => None,
        };
        start += len;
    }
    let lift = if ring_bytes > 8 {
        pairs * 8 * r + 32 * r
    } else {
        0
    };
    ProductCost {
        dealer_bytes,
        he_bytes: he.map(|b| b + lift),
    }
}

/// True if the HE product of a 0/1/2-valued n × `cols` matrix (at most `m` nonzero entries
/// per row that multiply weights of magnitude ≤ `max_abs_weight` or their mean-imputation
/// terms) with fixed-point weights is exact in `R`: in Z_2^64 always (the ring product is
/// the same), in Z_2^128 when |score|·2^f ≤ m·(2·B·2^f·(1 + 2^−20) + 8) < 2^62, the lift's
/// range ([`convert::LIFT_SIGNED_BOUND_LOG2`]; 2^−20 covers the error of the secure 2f_j ≤ 2,
/// 8 the encoding roundings). E.g. f = 40, B = 4: m ≤ 524,287 variants.
pub fn he_exact<R: Ring>(m: usize, max_abs_weight: f64, fx: FixedPoint) -> bool {
    if R::BITS == 64 {
        return true;
    }
    let per =
        2.0 * max_abs_weight * f64::from(fx.frac_bits()).exp2() * (1.0 + 2f64.powi(-20)) + 8.0;
    let bound = m as f64 * per;
    bound.is_finite() && bound < f64::from(convert::LIFT_SIGNED_BOUND_LOG2).exp2()
}

/// The product of one site's plaintext matrix (`site` is `Some` at the owner) with a shared
/// vector, by the path `opts` selects: every party decides from public values only.
#[allow(clippy::too_many_arguments, reason = "internal helper")]
fn site_product<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &ScorePlan,
    opts: &ScoreOptions,
    max_abs_weight: f64,
    owner: PartyId,
    site: Option<&SiteDosages<'_>>,
    which: SiteMatrix,
    rows: usize,
    v: &SharedVec<R>,
) -> Result<SharedVec<R>, ScoreError> {
    let m = plan.n_variants;
    let cols = which.cols(m);
    let chunk_rows = (opts.max_chunk_entries / cols.max(1)).max(1);
    let exact = he_exact::<R>(m, max_abs_weight, plan.fx);
    let he = match opts.path {
        MatvecPath::Dealer => false,
        MatvecPath::He => {
            if !exact {
                return Err(ScoreError::HeRange {
                    variants: m,
                    bound: max_abs_weight,
                });
            }
            true
        }
        MatvecPath::Auto => {
            let cost = product_cost(rows, cols, ctx.n(), R::BYTES, chunk_rows);
            cfg!(feature = "he") && exact && cost.he_bytes.is_some_and(|h| h < cost.dealer_bytes)
        }
    };
    if !he {
        let mat = site.map(|s| which.rows::<R>(s, m, 0..rows));
        return Ok(private_matvec(ctx, owner, mat.as_deref(), rows, cols, v)?);
    }
    // HE in Z_2^64 on the reduced shares, row chunk by row chunk, then one lift.
    let v64 = convert::reduce(v);
    let mut parts = Vec::with_capacity(rows.div_ceil(chunk_rows));
    let mut start = 0;
    while start < rows {
        let len = chunk_rows.min(rows - start);
        let mat = site.map(|s| which.rows::<Z64>(s, m, start..start + len));
        parts.push(he::he_matvec(ctx, owner, mat.as_deref(), len, cols, &v64)?);
        start += len;
    }
    let refs: Vec<&SharedVec<Z64>> = parts.iter().collect();
    Ok(convert::lift_signed_to::<R, P>(
        ctx,
        &SharedVec::concat(&refs),
    )?)
}

/// Pooled 2f_j = c_j · (1/n_j) from every site's counts (shared; nothing opened).
fn pooled_two_f<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &ScorePlan,
    counts: &[R],
) -> Result<SharedVec<R>, ScoreError> {
    let m = plan.n_variants;
    let fx = plan.fx;
    let me = ctx.me();
    let mut pooled = SharedVec::<R>::zeros(2 * m);
    for i in 0..ctx.n() {
        let owner = party(i)?;
        let v = (owner == me).then_some(counts);
        pooled = pooled.add(&arith::input(ctx, owner, v, 2 * m)?);
    }
    let (c, calls) = (pooled.slice(0, m), pooled.slice(m, m));
    // In Z_2^128, 2^k/n_j instead of 1/n_j (k = RECIPROCAL_SHIFT): its fixed-point ulp is
    // 2^k times smaller relative to the value, and c_j ≤ 2N multiplies that error. Then
    // 2f_j = c_j · (2^k/n_j) / 2^k, one truncation (±1 ulp).
    let k = if R::BITS >= 128 {
        RECIPROCAL_SHIFT.min(fx.frac_bits())
    } else {
        0
    };
    let calls_fx = calls.scale(R::pow2(fx.frac_bits() - k));
    let inv = reciprocal_refined(ctx, &calls_fx, fx)?;
    let two_f = arith::mul(ctx, &c, &inv)?;
    if k == 0 {
        return Ok(two_f);
    }
    Ok(trunc::trunc(ctx, &two_f, k)?)
}

/// log2 of the scaling of the secure 1/n_j in [`pooled_two_f`] (Z_2^128): the reciprocal's
/// argument n_j/2^16 stays inside its domain [2^−20, 2^40) for 1 ≤ n_j < 2^56, and the error
/// of 2f_j drops from ≈ c_j·2^−f (≈ 8e−8 at N = 45,000) to ≈ 2^−f.
const RECIPROCAL_SHIFT: u32 = 16;

/// Pooled standardisation of shared scores (all shared).
pub struct Standardized<R: Ring> {
    /// Pooled mean.
    pub mean: SharedVec<R>,
    /// Pooled population variance.
    pub var: SharedVec<R>,
    /// 1 / population SD.
    pub inv_sd: SharedVec<R>,
    /// (s − mean) / SD per individual.
    pub z: SharedVec<R>,
}

/// Pooled mean, population SD and z-scores of shared fixed-point scores.
pub fn standardize<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    s: &SharedVec<R>,
    fx: FixedPoint,
) -> Result<Standardized<R>, ScoreError> {
    let n = s.len();
    if n == 0 {
        return Err(ScoreError::Shape);
    }
    let inv_n = fx.encode::<R>(1.0 / n as f64)?;
    let sum = s.sum_groups(n);
    let sq2 = arith::square(ctx, s)?.sum_groups(n);
    let sq = trunc::trunc(ctx, &sq2, fx.frac_bits())?;
    let both = SharedVec::concat(&[&sum, &sq]);
    let moments = trunc::mul_public_fx(ctx, &both, &[inv_n, inv_n], fx)?;
    let (mean, ex2) = (moments.slice(0, 1), moments.slice(1, 1));
    let var = ex2.sub(&trunc::mul_fx(ctx, &mean, &mean, fx)?);
    let inv_sd = inv_sqrt_refined(ctx, &var, fx)?;
    let centred = s.sub(&mean.repeat_each(n));
    let z = trunc::mul_fx(ctx, &centred, &inv_sd.repeat_each(n), fx)?;
    Ok(Standardized {
        mean,
        var,
        inv_sd,
        z,
    })
}

/// 1/√x by [`funcs::inv_sqrt`] and one Newton step y ← y·(3 − x·y²)/2.
pub fn inv_sqrt_refined<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    fx: FixedPoint,
) -> Result<SharedVec<R>, ProtocolError> {
    let y = funcs::inv_sqrt(ctx, x, fx)?;
    let y2 = trunc::mul_fx(ctx, &y, &y, fx)?;
    let xy2 = trunc::mul_fx(ctx, x, &y2, fx)?;
    let e = arith::add_const(ctx, &xy2.neg(), fx.encode_int::<R>(3));
    let half = fx
        .encode::<R>(0.5)
        .map_err(|_| ProtocolError::Unreachable("0.5"))?;
    let ye = trunc::mul_fx(ctx, &y, &e, fx)?;
    trunc::mul_public_fx(ctx, &ye, &[half], fx)
}

/// One site's plaintext covariates and outcome for the IGS model.
#[derive(Clone, Copy, Debug)]
pub struct SiteCovariates<'a> {
    /// Samples at this site (same order as its dosages).
    pub n_samples: usize,
    /// Covariates, sample-major (`n_samples · n_cov`).
    pub covariates: &'a [f64],
    /// Outcome per sample.
    pub outcome: &'a [f64],
}

/// The revealed linear IGS model (OLS of y on 1, prs_z, covariates).
#[derive(Clone, Debug, PartialEq)]
pub struct LinearIgs {
    /// Samples.
    pub n: usize,
    /// Coefficients: intercept, prs_z, covariates in plan order.
    pub coef: Vec<f64>,
    /// Standard errors, same order.
    pub se: Vec<f64>,
    /// R² of the full model.
    pub r2: f64,
    /// R² of the covariates-only model.
    pub r2_covariates_only: f64,
    /// r2 − r2_covariates_only.
    pub r2_incremental: f64,
    /// RSS / (n − p).
    pub sigma2: f64,
}

/// Linear IGS: OLS(y ~ 1 + z + covariates) with z shared (pooled order, as from
/// [`standardize`]) and covariates/outcome plaintext at their site. Reveals the outputs of
/// [`LinearIgs`] to every computing party.
pub fn linear_igs<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &ScorePlan,
    n_cov: usize,
    z: &SharedVec<R>,
    mine: &SiteCovariates<'_>,
) -> Result<LinearIgs, ScoreError> {
    linear_igs_fits(ctx, plan, n_cov, z, mine).map(|(fit, _, _)| fit)
}

/// [`linear_igs`], also returning the shared fitted values of the full and of the
/// covariates-only model (pooled order, fixed point; never opened) for the per-site R²
/// ([`crate::evaluate::r2_by_dataset`]): ŷ = β₀ + β_z z + C_s β_c, the covariate part one
/// site-private product per site and model.
pub fn linear_igs_with_fitted<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &ScorePlan,
    n_cov: usize,
    z: &SharedVec<R>,
    mine: &SiteCovariates<'_>,
) -> Result<(LinearIgs, SharedVec<R>, SharedVec<R>), ScoreError> {
    let (fit, full, cov) = linear_igs_fits(ctx, plan, n_cov, z, mine)?;
    let me = ctx.me();
    let fx = plan.fx;
    let n = plan.n_total();
    let n_s = mine.n_samples;
    let k = n_cov + 1;
    // The site's [1, covariates] rows (n_s × k).
    let rows: Vec<f64> = (0..n_s)
        .flat_map(|i| {
            std::iter::once(1.0).chain(
                (0..n_cov).map(move |c| mine.covariates.get(i * n_cov + c).copied().unwrap_or(0.0)),
            )
        })
        .collect();
    let enc: Vec<R> = fx.encode_slice(&rows)?;
    // (β₀, β_c) of both models, end to end.
    let b_full = SharedVec::concat(&[&full.beta.slice(0, 1), &full.beta.slice(2, n_cov)]);
    let b_both = SharedVec::concat(&[&b_full, &cov.beta]);
    let mut parts = Vec::with_capacity(2 * ctx.n());
    for (i, &size) in plan.site_sizes.iter().enumerate() {
        let owner = party(i)?;
        let own = (owner == me).then_some(enc.as_slice());
        parts.push(private_matvec(ctx, owner, own, size, k, &b_full)?);
        parts.push(private_matvec(
            ctx,
            owner,
            own,
            size,
            k,
            &b_both.slice(k, k),
        )?);
    }
    let full_parts: Vec<&SharedVec<R>> = parts.iter().step_by(2).collect();
    let cov_parts: Vec<&SharedVec<R>> = parts.iter().skip(1).step_by(2).collect();
    let c = trunc::trunc(
        ctx,
        &SharedVec::concat(&[
            &SharedVec::concat(&full_parts),
            &SharedVec::concat(&cov_parts),
        ]),
        fx.frac_bits(),
    )?;
    let zb = trunc::mul_fx(ctx, z, &full.beta.slice(1, 1).repeat_each(n), fx)?;
    Ok((fit, c.slice(0, n).add(&zb), c.slice(n, n)))
}

/// [`linear_igs`] with the shared solutions of both models.
fn linear_igs_fits<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &ScorePlan,
    n_cov: usize,
    z: &SharedVec<R>,
    mine: &SiteCovariates<'_>,
) -> Result<(LinearIgs, NormalFit<R>, NormalFit<R>), ScoreError> {
    let me = ctx.me();
    let fx = plan.fx;
    let n = plan.n_total();
    let n_s = mine.n_samples;
    if z.len() != n
        || plan.site_sizes.get(me.index()) != Some(&n_s)
        || mine.covariates.len() != n_s * n_cov
        || mine.outcome.len() != n_s
        || n <= n_cov + 2
    {
        return Err(ScoreError::Shape);
    }
    // v = (1, covariates, y): q entries per sample.
    let q = n_cov + 2;
    let inv_n = 1.0 / n as f64;
    // Local aggregate Gram of v (q × q, scaled by 1/N) and Vᵀ (q × n_s).
    let mut gram = vec![0.0; q * q];
    let mut vt = vec![0.0; q * n_s];
    for i in 0..n_s {
        let cov = mine
            .covariates
            .get(i * n_cov..(i + 1) * n_cov)
            .ok_or(ScoreError::Shape)?;
        let y = mine.outcome.get(i).copied().ok_or(ScoreError::Shape)?;
        let v: Vec<f64> = std::iter::once(1.0)
            .chain(cov.iter().copied())
            .chain(std::iter::once(y))
            .collect();
        for (a, &va) in v.iter().enumerate() {
            if let Some(x) = vt.get_mut(a * n_s + i) {
                *x = va;
            }
            for (b, &vb) in v.iter().enumerate() {
                if let Some(x) = gram.get_mut(a * q + b) {
                    *x += va * vb * inv_n;
                }
            }
        }
    }
    let gram_enc: Vec<R> = fx.encode_slice(&gram)?;
    let vt_enc: Vec<R> = fx.encode_slice(&vt)?;
    let mut g = SharedVec::<R>::zeros(q * q);
    let mut cross = SharedVec::<R>::zeros(q);
    let mut offset = 0;
    for (i, &size) in plan.site_sizes.iter().enumerate() {
        let owner = party(i)?;
        let own = owner == me;
        g = g.add(&arith::input(
            ctx,
            owner,
            own.then_some(gram_enc.as_slice()),
            q * q,
        )?);
        let zs = z.slice(offset, size);
        offset += size;
        cross = cross.add(&private_matvec(
            ctx,
            owner,
            own.then_some(vt_enc.as_slice()),
            q,
            size,
            &zs,
        )?);
    }
    // Σ z·v and Σ z², truncated, then scaled by 1/N.
    let zz = arith::square(ctx, z)?.sum_groups(n);
    let zpart = trunc::trunc(ctx, &SharedVec::concat(&[&cross, &zz]), fx.frac_bits())?;
    let zpart = trunc::mul_public_fx(ctx, &zpart, &vec![fx.encode::<R>(inv_n)?; q + 1], fx)?;
    // Full Gram over u = (1, z, covariates, y): index map u-index → v-index (z is None).
    let d = q + 1;
    let v_of = |k: usize| -> Option<usize> {
        match k {
            0 => Some(0),
            1 => None,
            k => Some(k - 1),
        }
    };
    let mut full: Vec<SharedVec<R>> = Vec::with_capacity(d * d);
    for a in 0..d {
        for b in 0..d {
            let e = match (v_of(a), v_of(b)) {
                (Some(x), Some(y)) => g.slice(x * q + y, 1),
                (None, Some(y)) | (Some(y), None) => zpart.slice(y, 1),
                (None, None) => zpart.slice(q, 1),
            };
            full.push(e);
        }
    }
    let full_refs: Vec<&SharedVec<R>> = full.iter().collect();
    let full = SharedVec::concat(&full_refs);
    let fit_full = solve_normal(ctx, &full, d, fx)?;
    // Covariates-only: drop u-index 1.
    let keep: Vec<usize> = (0..d).filter(|&k| k != 1).collect();
    let cov_only: Vec<SharedVec<R>> = keep
        .iter()
        .flat_map(|&a| keep.iter().map(move |&b| (a, b)))
        .map(|(a, b)| full.slice(a * d + b, 1))
        .collect();
    let cov_refs: Vec<&SharedVec<R>> = cov_only.iter().collect();
    let fit_cov = solve_normal(ctx, &SharedVec::concat(&cov_refs), d - 1, fx)?;
    // TSS/N = yᵀy/N − ȳ².
    let ybar = full.slice(d - 1, 1);
    let tss = full
        .slice(d * d - 1, 1)
        .sub(&trunc::mul_fx(ctx, &ybar, &ybar, fx)?);
    // Reveal the plan's outputs.
    let out = fx.decode_slice(&arith::open(
        ctx,
        &SharedVec::concat(&[
            &fit_full.beta,
            &fit_full.inv_diag,
            &fit_full.rss,
            &fit_cov.rss,
            &tss,
        ]),
    )?);
    let p = d - 1;
    let coef = out.get(..p).ok_or(ScoreError::Shape)?.to_vec();
    let inv_diag = out.get(p..2 * p).ok_or(ScoreError::Shape)?;
    let (rss, rss_cov, tss) = match out.get(2 * p..2 * p + 3) {
        Some(&[a, b, c]) => (a, b, c),
        _ => return Err(ScoreError::Shape),
    };
    let sigma2 = rss * n as f64 / (n - p) as f64;
    let se = inv_diag
        .iter()
        .map(|&v| (sigma2 * v * inv_n).max(0.0).sqrt())
        .collect();
    let r2 = 1.0 - rss / tss;
    let r2_cov = 1.0 - rss_cov / tss;
    Ok((
        LinearIgs {
            n,
            coef,
            se,
            r2,
            r2_covariates_only: r2_cov,
            r2_incremental: r2 - r2_cov,
            sigma2,
        },
        fit_full,
        fit_cov,
    ))
}

/// The revealed logistic IGS model (Logit of a 0/1 outcome on 1, prs_z, covariates).
#[derive(Clone, Debug, PartialEq)]
pub struct LogisticIgs {
    /// Samples.
    pub n: usize,
    /// Coefficients: intercept, prs_z, covariates in plan order.
    pub coef: Vec<f64>,
    /// Standard errors (from the observed information at the last iterate).
    pub se: Vec<f64>,
    /// Log-likelihood of the model.
    pub llf: f64,
    /// Log-likelihood of the intercept-only model.
    pub llnull: f64,
    /// Nagelkerke R².
    pub nagelkerke_r2: f64,
    /// Nagelkerke R² of the covariates-only model (the difference is the incremental R²).
    pub nagelkerke_r2_covariates_only: f64,
}

/// Logistic IGS by Newton's method (IRLS) for a public number of iterations, from β = 0:
/// η = β₀ + β₁z + Cβ_c (the covariate part is a site-private product per site),
/// p = σ(η) by [`funcs::sigmoid`], w = p(1 − p), then H = XᵀWX/N and g = Xᵀ(y − p)/N
/// (site-private products Oᵀw, Vᵀ(wz), Vᵀ(y − p) with O the per-sample outer products of
/// v = (1, covariates)), δ = H⁻¹g by the same Gauss–Jordan as [`linear_igs`], β += δ.
/// Reveals β and diag(H⁻¹) (equivalently the SEs) only; `mine.outcome` holds 0/1.
pub fn logistic_igs<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &ScorePlan,
    n_cov: usize,
    z: &SharedVec<R>,
    mine: &SiteCovariates<'_>,
    iterations: usize,
) -> Result<LogisticIgs, ScoreError> {
    logistic_igs_with_lp(ctx, plan, n_cov, z, mine, iterations).map(|(fit, _)| fit)
}

/// [`logistic_igs`], also returning the shared linear predictor LP = Xβ̂ of the full model
/// at the final β (pooled order; never opened) for the evaluation of the fitted IGS
/// ([`crate::evaluate`]).
pub fn logistic_igs_with_lp<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &ScorePlan,
    n_cov: usize,
    z: &SharedVec<R>,
    mine: &SiteCovariates<'_>,
    iterations: usize,
) -> Result<(LogisticIgs, SharedVec<R>), ScoreError> {
    logistic_igs_with_lps(ctx, plan, n_cov, z, mine, iterations).map(|(fit, lp, _)| (fit, lp))
}

/// [`logistic_igs_with_lp`], also returning the shared LP of the covariates-only model (for
/// the per-site incremental Nagelkerke R², [`crate::evaluate::nagelkerke_by_dataset`]).
/// Neither LP is opened.
pub fn logistic_igs_with_lps<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &ScorePlan,
    n_cov: usize,
    z: &SharedVec<R>,
    mine: &SiteCovariates<'_>,
    iterations: usize,
) -> Result<(LogisticIgs, SharedVec<R>, SharedVec<R>), ScoreError> {
    let me = ctx.me();
    let fx = plan.fx;
    let f = fx.frac_bits();
    let n = plan.n_total();
    let n_s = mine.n_samples;
    if z.len() != n
        || plan.site_sizes.get(me.index()) != Some(&n_s)
        || mine.covariates.len() != n_s * n_cov
        || mine.outcome.len() != n_s
        || n <= n_cov + 2
    {
        return Err(ScoreError::Shape);
    }
    let q = n_cov + 1;
    let d = q + 1;
    let pairs: Vec<(usize, usize)> = (0..q).flat_map(|a| (a..q).map(move |b| (a, b))).collect();
    let t = pairs.len();
    // Local: C (n_s × n_cov), Vᵀ (q × n_s), Oᵀ (t × n_s).
    let mut vt = vec![0.0; q * n_s];
    let mut ot = vec![0.0; t * n_s];
    for i in 0..n_s {
        let cov = mine
            .covariates
            .get(i * n_cov..(i + 1) * n_cov)
            .ok_or(ScoreError::Shape)?;
        let v: Vec<f64> = std::iter::once(1.0).chain(cov.iter().copied()).collect();
        for (a, &va) in v.iter().enumerate() {
            if let Some(x) = vt.get_mut(a * n_s + i) {
                *x = va;
            }
        }
        for (k, &(a, b)) in pairs.iter().enumerate() {
            if let (Some(x), Some(va), Some(vb)) = (ot.get_mut(k * n_s + i), v.get(a), v.get(b)) {
                *x = va * vb;
            }
        }
    }
    // Row-major V (n_s × q) and O (n_s × t): the site's private matrices, masked once each.
    let rows_of = |m: &[f64], cols: usize| -> Vec<f64> {
        (0..n_s * cols)
            .map(|x| m.get((x % cols) * n_s + x / cols).copied().unwrap_or(0.0))
            .collect()
    };
    let v_enc: Vec<R> = fx.encode_slice(&rows_of(&vt, q))?;
    let o_enc: Vec<R> = fx.encode_slice(&rows_of(&ot, t))?;
    let y_enc: Vec<R> = fx.encode_slice(mine.outcome)?;
    let mut y_parts = Vec::with_capacity(ctx.n());
    for (i, &size) in plan.site_sizes.iter().enumerate() {
        let owner = party(i)?;
        y_parts.push(arith::input(
            ctx,
            owner,
            (owner == me).then_some(y_enc.as_slice()),
            size,
        )?);
    }
    let y_refs: Vec<&SharedVec<R>> = y_parts.iter().collect();
    let y = SharedVec::concat(&y_refs);
    let inv_n = fx.encode::<R>(1.0 / n as f64)?;
    let zero_z = SharedVec::<R>::zeros(n);
    // Full model, then the covariates-only model: z ≡ 0 with H_zz + 1 keeps the system
    // regular and leaves β_z = 0, so one code path fits both.
    // Every site's V and O as private matrices: V·(0, β_cov) gives the covariate part of η
    // (2 fits × (iterations + 1) uses), V'·(w z), V'·r and O'·w the Newton sums (2 fits ×
    // iterations each). Each matrix crosses the network once; every use moves one vector.
    let mut pv = Vec::with_capacity(ctx.n());
    let mut po = Vec::with_capacity(ctx.n());
    for (i, &size) in plan.site_sizes.iter().enumerate() {
        let owner = party(i)?;
        let own = owner == me;
        pv.push(arith::PrivateMatrix::new(
            ctx,
            owner,
            own.then_some(v_enc.as_slice()),
            size,
            q,
            2 * (iterations + 1),
            4 * iterations,
        )?);
        po.push(arith::PrivateMatrix::new(
            ctx,
            owner,
            own.then_some(o_enc.as_slice()),
            size,
            t,
            0,
            2 * iterations,
        )?);
    }
    let mut fits = Vec::with_capacity(2);
    for full in [true, false] {
        let z: &SharedVec<R> = if full { z } else { &zero_z };
        let mut beta = SharedVec::<R>::zeros(d);
        let mut inv_diag = SharedVec::<R>::zeros(d);
        for _ in 0..iterations {
            // η.
            let b_cov = SharedVec::concat(&[&SharedVec::zeros(1), &beta.slice(2, n_cov)]);
            let mut cov_parts = Vec::with_capacity(ctx.n());
            for m in &mut pv {
                cov_parts.push(m.mul_right(ctx, &b_cov)?);
            }
            let c_refs: Vec<&SharedVec<R>> = cov_parts.iter().collect();
            let cov_eta = trunc::trunc(ctx, &SharedVec::concat(&c_refs), f)?;
            let z_eta = trunc::mul_fx(ctx, z, &beta.slice(1, 1).repeat_each(n), fx)?;
            let eta = cov_eta.add(&z_eta).add(&beta.slice(0, 1).repeat_each(n));
            // p, w, residual.
            let p = funcs::sigmoid(ctx, &eta, fx)?;
            let p2 = trunc::mul_fx(ctx, &p, &p, fx)?;
            let w = p.sub(&p2);
            let r = y.sub(&p);
            let wz = trunc::mul_fx(ctx, &w, z, fx)?;
            let zz = trunc::mul_fx(
                ctx,
                &SharedVec::concat(&[&wz, &r]),
                &SharedVec::concat(&[z, z]),
                fx,
            )?;
            let z_sums = zz.sum_groups(n); // [Σ w z², Σ z r]
            // Site-private products.
            let mut ow = SharedVec::<R>::zeros(t);
            let mut vwz = SharedVec::<R>::zeros(q);
            let mut vr = SharedVec::<R>::zeros(q);
            let mut offset = 0;
            for ((&size, mv), mo) in plan.site_sizes.iter().zip(&mut pv).zip(&mut po) {
                let (ws, wzs, rs) = (
                    w.slice(offset, size),
                    wz.slice(offset, size),
                    r.slice(offset, size),
                );
                offset += size;
                ow = ow.add(&mo.mul_left(ctx, &ws)?);
                vwz = vwz.add(&mv.mul_left(ctx, &wzs)?);
                vr = vr.add(&mv.mul_left(ctx, &rs)?);
            }
            let prods = trunc::trunc(ctx, &SharedVec::concat(&[&ow, &vwz, &vr]), f)?;
            let all = SharedVec::concat(&[&prods, &z_sums]);
            let all = trunc::mul_public_fx(ctx, &all, &vec![inv_n; all.len()], fx)?;
            let (ow, vwz, vr) = (all.slice(0, t), all.slice(t, q), all.slice(t + q, q));
            let (wzz, zr) = (all.slice(t + 2 * q, 1), all.slice(t + 2 * q + 1, 1));
            // Augmented [H g; gᵀ 0] over u = (1, z, covariates).
            let v_of = |k: usize| -> Option<usize> {
                match k {
                    0 => Some(0),
                    1 => None,
                    k => Some(k - 1),
                }
            };
            let pair_index = |a: usize, b: usize| {
                let (a, b) = (a.min(b), a.max(b));
                pairs.iter().position(|&x| x == (a, b))
            };
            let mut entries: Vec<SharedVec<R>> = Vec::with_capacity(d * d + 2 * d);
            for a in 0..=d {
                for b in 0..=d {
                    let e = match (a == d, b == d) {
                        (true, true) => SharedVec::zeros(1),
                        (true, false) | (false, true) => match v_of(a.min(b)) {
                            Some(k) => vr.slice(k, 1),
                            None => zr.clone(),
                        },
                        (false, false) => match (v_of(a), v_of(b)) {
                            (Some(x), Some(y)) => ow.slice(
                                pair_index(x, y).ok_or(ProtocolError::Unreachable("pair"))?,
                                1,
                            ),
                            (None, Some(k)) | (Some(k), None) => vwz.slice(k, 1),
                            (None, None) if full => wzz.clone(),
                            (None, None) => arith::add_const(ctx, &wzz, fx.encode_int::<R>(1)),
                        },
                    };
                    entries.push(e);
                }
            }
            let refs: Vec<&SharedVec<R>> = entries.iter().collect();
            let fit = solve_normal(ctx, &SharedVec::concat(&refs), d + 1, fx)?;
            beta = beta.add(&fit.beta);
            inv_diag = fit.inv_diag;
        }
        // Log-likelihood at the final β: Σ y·η − Σ ln(1 + e^η).
        // η.
        let b_cov = SharedVec::concat(&[&SharedVec::zeros(1), &beta.slice(2, n_cov)]);
        let mut cov_parts = Vec::with_capacity(ctx.n());
        for m in &mut pv {
            cov_parts.push(m.mul_right(ctx, &b_cov)?);
        }
        let c_refs: Vec<&SharedVec<R>> = cov_parts.iter().collect();
        let cov_eta = trunc::trunc(ctx, &SharedVec::concat(&c_refs), f)?;
        let z_eta = trunc::mul_fx(ctx, z, &beta.slice(1, 1).repeat_each(n), fx)?;
        let eta = cov_eta.add(&z_eta).add(&beta.slice(0, 1).repeat_each(n));
        let e = funcs::exp(ctx, &eta, fx)?;
        let e1 = arith::add_const(ctx, &e, fx.encode_int::<R>(1));
        let softplus = funcs::ln(ctx, &e1, fx)?;
        let ye = trunc::mul_fx(ctx, &y, &eta, fx)?;
        let ll = ye.sub(&softplus).sum_groups(n);
        fits.push((beta, inv_diag, ll, eta));
    }
    // Intercept-only log-likelihood: N·(ȳ ln ȳ + (1 − ȳ) ln(1 − ȳ)).
    let ybar = trunc::mul_public_fx(ctx, &y.sum_groups(n), &[inv_n], fx)?;
    let pair = SharedVec::concat(&[
        &ybar,
        &arith::add_const(ctx, &ybar.neg(), fx.encode_int::<R>(1)),
    ]);
    let ln_pair = funcs::ln(ctx, &pair, fx)?;
    let ll_null = trunc::mul_fx(ctx, &pair, &ln_pair, fx)?
        .sum_groups(2)
        .scale(R::from_u64(n as u64));
    let [(beta, inv_diag, ll_full, lp), (_, _, ll_cov, lp_cov)] = <[_; 2]>::try_from(fits)
        .map_err(|_| ScoreError::Protocol(ProtocolError::Unreachable("fits")))?;
    let out = fx.decode_slice(&arith::open(
        ctx,
        &SharedVec::concat(&[&beta, &inv_diag, &ll_full, &ll_cov, &ll_null]),
    )?);
    let coef = out.get(..d).ok_or(ScoreError::Shape)?.to_vec();
    let se = out
        .get(d..2 * d)
        .ok_or(ScoreError::Shape)?
        .iter()
        .map(|&v| (v / n as f64).max(0.0).sqrt())
        .collect();
    let (llf, ll_cov, llnull) = match out.get(2 * d..2 * d + 3) {
        Some(&[a, b, c]) => (a, b, c),
        _ => return Err(ScoreError::Shape),
    };
    let nagelkerke = |ll: f64| {
        (1.0 - (2.0 * (llnull - ll) / n as f64).exp()) / (1.0 - (2.0 * llnull / n as f64).exp())
    };
    Ok((
        LogisticIgs {
            n,
            coef,
            se,
            llf,
            llnull,
            nagelkerke_r2: nagelkerke(llf),
            nagelkerke_r2_covariates_only: nagelkerke(ll_cov),
        },
        lp,
        lp_cov,
    ))
}

/// Shared solution of a normal-equation system.
pub(crate) struct NormalFit<R: Ring> {
    pub(crate) beta: SharedVec<R>,
    pub(crate) inv_diag: SharedVec<R>,
    pub(crate) rss: SharedVec<R>,
}

/// Gauss–Jordan on the shared augmented Gram (d × d, row-major, outcome last; p = d − 1
/// regressors): rows [A_r | b_r | e_r] and [bᵀ | yᵀy | 0]. After p pivots the rows hold
/// [I | β | A⁻¹] and [0 | RSS | −βᵀ]. Per pivot: a refined reciprocal, then two vectorised
/// fixed-point products.
pub(crate) fn solve_normal<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    gram: &SharedVec<R>,
    d: usize,
    fx: FixedPoint,
) -> Result<NormalFit<R>, ScoreError> {
    let p = d - 1;
    let w = d + p; // columns: p of A, 1 of b, p of the identity
    let one = fx.encode_int::<R>(1);
    let mut rows: Vec<SharedVec<R>> = Vec::with_capacity(d);
    for r in 0..d {
        let g = gram.slice(r * d, d);
        let mut id = vec![R::ZERO; p];
        if let Some(x) = id.get_mut(r) {
            *x = one;
        }
        let id = arith::public(ctx, &id);
        rows.push(SharedVec::concat(&[&g, &id]));
    }
    for i in 0..p {
        let pivot_row = rows
            .get(i)
            .cloned()
            .ok_or(ProtocolError::Unreachable("row"))?;
        let inv = reciprocal_refined(ctx, &pivot_row.slice(i, 1), fx)?;
        let normed = trunc::mul_fx(ctx, &pivot_row, &inv.repeat_each(w), fx)?;
        let others: Vec<usize> = (0..d).filter(|&l| l != i).collect();
        let factors: Vec<SharedVec<R>> = others
            .iter()
            .map(|&l| {
                rows.get(l)
                    .map(|r| r.slice(i, 1).repeat_each(w))
                    .ok_or(ProtocolError::Unreachable("row"))
            })
            .collect::<Result<_, _>>()?;
        let f_refs: Vec<&SharedVec<R>> = factors.iter().collect();
        let n_refs: Vec<&SharedVec<R>> = std::iter::repeat_n(&normed, others.len()).collect();
        let upd = trunc::mul_fx(
            ctx,
            &SharedVec::concat(&f_refs),
            &SharedVec::concat(&n_refs),
            fx,
        )?
        .split(&vec![w; others.len()]);
        for (&l, u) in others.iter().zip(upd) {
            if let Some(r) = rows.get_mut(l) {
                *r = r.sub(&u);
            }
        }
        if let Some(r) = rows.get_mut(i) {
            *r = normed;
        }
    }
    let beta: Vec<SharedVec<R>> = rows.iter().take(p).map(|r| r.slice(p, 1)).collect();
    let inv_diag: Vec<SharedVec<R>> = rows
        .iter()
        .take(p)
        .enumerate()
        .map(|(r, row)| row.slice(d + r, 1))
        .collect();
    let rss = rows
        .get(p)
        .map(|r| r.slice(p, 1))
        .ok_or(ProtocolError::Unreachable("row"))?;
    let b: Vec<&SharedVec<R>> = beta.iter().collect();
    let v: Vec<&SharedVec<R>> = inv_diag.iter().collect();
    Ok(NormalFit {
        beta: SharedVec::concat(&b),
        inv_diag: SharedVec::concat(&v),
        rss,
    })
}

#[cfg(test)]
mod tests {
    use mpc_core::ring::Z128;
    use protocols::testing::run_with_dealer;

    use super::*;
    use crate::plain::score as plain;

    /// Deterministic synthetic sites: dosages with ~5% missing calls, 2 covariates, outcome.
    fn site(seed: u64, n: usize, m: usize) -> (Vec<i8>, Vec<f64>, Vec<f64>) {
        let mut s = seed;
        let mut next = move || {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 33) as f64 / (1u64 << 31) as f64
        };
        let dos = (0..n * m)
            .map(|_| {
                let u = next();
                if u < 0.05 {
                    -1
                } else {
                    (next() * 3.0).floor().min(2.0) as i8
                }
            })
            .collect();
        let cov: Vec<f64> = (0..n)
            .flat_map(|_| [40.0 + 30.0 * next(), f64::from(u8::from(next() < 0.5))])
            .collect();
        let y = (0..n).map(|_| next() * 4.0 - 2.0).collect();
        (dos, cov, y)
    }

    #[test]
    fn he_bound_and_cost_model() {
        let fx = FixedPoint::default_for::<Z128>();
        // m·(2·4·2^40·(1 + 2^−20) + 8) < 2^62 ⇔ m ≤ 524,287.
        assert!(he_exact::<Z128>(524_287, 4.0, fx));
        assert!(!he_exact::<Z128>(524_288, 4.0, fx));
        assert!(he_exact::<Z128>(2_000_000, 1.0, fx));
        assert!(!he_exact::<Z128>(10, f64::INFINITY, fx));
        assert!(he_exact::<mpc_core::ring::Z64>(usize::MAX, 1e9, fx));
        assert_eq!(parse_matvec_path("HE"), Some(MatvecPath::He));
        assert_eq!(parse_matvec_path("dealer"), Some(MatvecPath::Dealer));
        assert_eq!(parse_matvec_path("auto"), Some(MatvecPath::Auto));
        assert_eq!(parse_matvec_path("gpu"), None);
        // Dealer path: every ordered pair opens rows·cols + cols elements.
        let c = product_cost(800, 1122, 3, 16, usize::MAX);
        assert_eq!(c.dealer_bytes, 6 * (800 * 1122 + 1122) * 16);
        let he = c.he_bytes.unwrap();
        assert!(he < c.dealer_bytes / 5, "{he} vs {}", c.dealer_bytes);
        // A tiny product is cheaper with triples (one ciphertext is 32 KiB).
        let t = product_cost(30, 24, 3, 16, usize::MAX);
        assert!(t.he_bytes.unwrap() > t.dealer_bytes);
        // Chunking repeats the query: more bytes, never fewer.
        let chunked = product_cost(800, 1122, 3, 16, 100);
        assert!(chunked.he_bytes.unwrap() > he);
    }

    #[test]
    fn secure_matches_plain_reference() {
        let (m, sizes) = (12usize, [30usize, 25, 35]);
        let weights: Vec<f64> = (0..m).map(|j| (j as f64 - 5.5) * 0.037).collect();
        let data: Vec<_> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| site(i as u64 + 1, n, m))
            .collect();
        let fx = FixedPoint::default_for::<Z128>();
        let plan = ScorePlan {
            n_variants: m,
            site_sizes: sizes.to_vec(),
            weight_owner: PartyId(1),
            fx,
        };
        let run = run_with_dealer(3, 5, |ctx| {
            let me = ctx.me();
            let (dos, cov, y) = &data[me.index()];
            let w = (me == plan.weight_owner).then_some(weights.as_slice());
            let d = SiteDosages {
                n_samples: sizes[me.index()],
                dosages: dos,
            };
            let s = score::<Z128, _>(ctx, &plan, w, &d).unwrap();
            let sp = score_public_weights::<Z128, _>(ctx, &plan, &weights, &d).unwrap();
            // The HE path (forced: Auto takes the dealer path at this size), in row chunks of
            // 7: the same scores within a few ulp per variant (both products are exact; the
            // fresh truncations of u = w ⊙ 2f differ by ±1 ulp per entry).
            let he_opts = ScoreOptions {
                path: MatvecPath::He,
                max_chunk_entries: 7 * 2 * m,
                ..ScoreOptions::default()
            };
            let sh = score_with::<Z128, _>(ctx, &plan, &he_opts, w, &d).unwrap();
            let sph =
                score_public_weights_with::<Z128, _>(ctx, &plan, &he_opts, &weights, &d).unwrap();
            let both = fx.decode_slice(&arith::open(
                ctx,
                &SharedVec::concat(&[&s, &sp, &sh, &sph]),
            )?);
            let n_all = s.len();
            for i in 0..2 * n_all {
                let (a, b) = (both[i], both[2 * n_all + i]);
                assert!(
                    (a - b).abs() < 1e-10,
                    "HE vs dealer path, entry {i}: {a} vs {b}"
                );
            }
            let st = standardize(ctx, &s, fx).unwrap();
            let c = SiteCovariates {
                n_samples: sizes[me.index()],
                covariates: cov,
                outcome: y,
            };
            let igs = linear_igs(ctx, &plan, 2, &st.z, &c).unwrap();
            let yb: Vec<f64> = y.iter().map(|v| f64::from(u8::from(*v > 0.0))).collect();
            let cb = SiteCovariates { outcome: &yb, ..c };
            let logit = logistic_igs(ctx, &plan, 2, &st.z, &cb, 8).unwrap();
            let opened = fx.decode_slice(&arith::open(ctx, &s)?);
            let opened_public = fx.decode_slice(&arith::open(ctx, &sp)?);
            for (a, b) in opened.iter().zip(&opened_public) {
                assert!((a - b).abs() < 1e-10, "{a} vs {b}");
            }
            Ok((opened, igs, logit))
        });
        let sites: Vec<plain::SiteDosages<'_>> = data
            .iter()
            .zip(sizes)
            .map(|((d, _, _), n)| plain::SiteDosages {
                n_samples: n,
                dosages: d,
            })
            .collect();
        let expect = plain::score_pooled(&sites, &weights);
        let (_, _, z) = plain::standardize(&expect);
        let cov: Vec<f64> = data.iter().flat_map(|d| d.1.clone()).collect();
        let y: Vec<f64> = data.iter().flat_map(|d| d.2.clone()).collect();
        let fit = plain::linear_igs(&z, &cov, 2, &y).unwrap();
        let yb: Vec<f64> = y.iter().map(|v| f64::from(u8::from(*v > 0.0))).collect();
        let (lcoef, lse) = plain::logistic_igs(&z, &cov, 2, &yb, 8).unwrap();
        for p in &run.parties {
            let (s, igs, logit) = &p.value;
            for (a, b) in logit.coef.iter().zip(&lcoef) {
                assert!((a - b).abs() < 1e-7 * b.abs().max(1.0), "{a} vs {b}");
            }
            for (a, b) in logit.se.iter().zip(&lse) {
                assert!((a - b).abs() < 1e-7 * b, "{a} vs {b}");
            }
            for (a, b) in s.iter().zip(&expect) {
                assert!((a - b).abs() < 1e-9, "{a} vs {b}");
            }
            for (a, b) in igs.coef.iter().zip(&fit.coef) {
                assert!((a - b).abs() < 1e-7 * b.abs().max(1.0), "{a} vs {b}");
            }
            for (a, b) in igs.se.iter().zip(&fit.se) {
                assert!((a - b).abs() < 1e-7 * b, "{a} vs {b}");
            }
            assert!((igs.r2 - fit.r2).abs() < 1e-8);
            assert!((igs.r2_covariates_only - fit.r2_covariates_only).abs() < 1e-8);
            assert!((igs.sigma2 - fit.sigma2).abs() < 1e-8 * fit.sigma2);
        }
    }
}
