//! Secure pooled QC (aggregate-then-reveal).
//!
//! Each site counts, per variant and in plaintext, hom-REF, het, hom-ALT and missing calls
//! ([`crate::plain::qc::GenotypeCounts`]) and inputs them as ring integers
//! ([`arith::input`]: no communication); the pooled counts are the local sum of shares. What
//! is revealed is a plan option ([`Reveal`]):
//!
//! - [`Reveal::Frequencies`]: the pooled counts are opened; every party learns the pooled
//!   genotype counts per variant (hence ALT frequency, missingness, the HWE exact P of
//!   Wigginton et al. 2005, and the pass mask, computed in plaintext). Nothing per site.
//! - [`Reveal::PassMaskOnly`]: MAF ≥ t_maf and missing rate ≤ t_miss are decided inside MPC
//!   (one batched [`compare::ltz`], two products) and only the pass/fail bit per variant is
//!   opened. Every party learns the mask and nothing else. The HWE filter is not available in
//!   this mode (the exact test is not computed in MPC); a plan asking for it is refused.
//!
//! Thresholds are public and encoded with [`THRESHOLD_FRAC_BITS`] fractional bits: the tests
//! are alt·2^s ≥ ⌊t_maf·2^s⌉·obs, (obs − alt)·2^s ≥ ⌊t_maf·2^s⌉·obs and
//! missing·2^s ≤ ⌊t_miss·2^s⌉·n_total, exact integer comparisons of the rounded thresholds.

use core::fmt;

use mpc_core::party::PartyId;
use mpc_core::ring::Ring;
use mpc_core::share::SharedVec;
use protocols::prep::Prep;
use protocols::{Ctx, ProtocolError, arith, compare};

use crate::plain::qc::{GenotypeCounts, QcThresholds};

/// Fractional bits of the public thresholds in [`Reveal::PassMaskOnly`].
pub const THRESHOLD_FRAC_BITS: u32 = 20;

/// What the plan reveals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reveal {
    /// Pooled genotype counts (frequencies, missingness, HWE P) and the mask.
    Frequencies,
    /// Only the pass/fail mask.
    PassMaskOnly,
}

/// The public part of a QC job.
#[derive(Clone, Copy, Debug)]
pub struct QcPlan {
    /// Variants (same order at every site).
    pub n_variants: usize,
    /// Total samples over all sites (for the missing rate).
    pub n_total: u64,
    /// Thresholds.
    pub thresholds: QcThresholds,
    /// What is revealed.
    pub reveal: Reveal,
}

/// One revealed pooled variant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PooledQc {
    /// Pooled counts.
    pub counts: GenotypeCounts,
    /// Whether the variant passes the thresholds.
    pub pass: bool,
}

/// The revealed result.
#[derive(Clone, Debug, PartialEq)]
pub enum QcOutput {
    /// Under [`Reveal::Frequencies`].
    Frequencies(Vec<PooledQc>),
    /// Under [`Reveal::PassMaskOnly`].
    Mask(Vec<bool>),
}

/// Errors of the secure QC.
#[derive(Debug)]
#[non_exhaustive]
pub enum QcError {
    /// A protocol step failed.
    Protocol(ProtocolError),
    /// This party's counts do not have the plan's length.
    Shape,
    /// The plan asks for something this mode cannot do (HWE with the mask only, or a
    /// threshold outside [0, 1]).
    Plan(&'static str),
}

impl fmt::Display for QcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(e) => write!(f, "{e}"),
            Self::Shape => write!(f, "local counts do not match the plan"),
            Self::Plan(s) => write!(f, "plan not supported: {s}"),
        }
    }
}

impl std::error::Error for QcError {}

impl From<ProtocolError> for QcError {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}

/// Runs pooled QC; every party contributes its site's counts.
pub fn pooled_qc<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    plan: &QcPlan,
    mine: &[GenotypeCounts],
) -> Result<QcOutput, QcError> {
    let v = plan.n_variants;
    if mine.len() != v {
        return Err(QcError::Shape);
    }
    let th = plan.thresholds;
    if plan.reveal == Reveal::PassMaskOnly && th.hwe_min_p.is_some() {
        return Err(QcError::Plan("HWE filter with the mask only"));
    }
    if !(0.0..=1.0).contains(&th.maf_min) || !(0.0..=1.0).contains(&th.missing_max) {
        return Err(QcError::Plan("threshold outside [0, 1]"));
    }
    // Layout: [hom_ref | het | hom_alt | missing], each of length v.
    let local: Vec<R> = [
        |c: &GenotypeCounts| c.hom_ref,
        |c: &GenotypeCounts| c.het,
        |c: &GenotypeCounts| c.hom_alt,
        |c: &GenotypeCounts| c.missing,
    ]
    .iter()
    .flat_map(|f| mine.iter().map(|c| R::from_u64(f(c))))
    .collect();
    let me = ctx.me();
    let mut pooled = SharedVec::<R>::zeros(4 * v);
    for i in 0..ctx.n() {
        let owner = PartyId(u16::try_from(i).map_err(|_| ProtocolError::Unreachable("party"))?);
        let vals = (owner == me).then_some(local.as_slice());
        pooled = pooled.add(&arith::input(ctx, owner, vals, 4 * v)?);
    }
    let parts = pooled.split(&[v, v, v, v]);
    let [hom_ref, het, hom_alt, missing] = parts.as_slice() else {
        return Err(ProtocolError::Unreachable("split").into());
    };
    match plan.reveal {
        Reveal::Frequencies => {
            let open = arith::open(ctx, &pooled)?;
            let col = |k: usize, j: usize| open.get(k * v + j).map_or(0, |x| x.low_u64());
            let rows = (0..v)
                .map(|j| {
                    let counts = GenotypeCounts {
                        hom_ref: col(0, j),
                        het: col(1, j),
                        hom_alt: col(2, j),
                        missing: col(3, j),
                    };
                    PooledQc {
                        counts,
                        pass: th.passes(&counts),
                    }
                })
                .collect();
            Ok(QcOutput::Frequencies(rows))
        }
        Reveal::PassMaskOnly => {
            let s = THRESHOLD_FRAC_BITS;
            let to_int = |t: f64| (t * f64::from(s).exp2()).round() as u64;
            let t_maf = R::from_u64(to_int(th.maf_min));
            let alt = het.add(&hom_alt.scale(R::from_u64(2)));
            let obs = hom_ref.add(het).add(hom_alt).scale(R::from_u64(2));
            let thr = obs.scale(t_maf);
            let d_alt = alt.shl_all(s).sub(&thr);
            let d_ref = obs.sub(&alt).shl_all(s).sub(&thr);
            let limit = R::from_u64(to_int(th.missing_max)) * R::from_u64(plan.n_total);
            let d_miss = arith::add_const(ctx, &missing.shl_all(s).neg(), limit);
            // fail_x = [d_x < 0]; all three in one batch.
            let fails = compare::ltz(
                ctx,
                &SharedVec::concat(&[&d_alt, &d_ref, &d_miss]),
                R::BITS - 2,
            )?;
            let one_minus: Vec<SharedVec<R>> = fails
                .split(&[v, v, v])
                .iter()
                .map(|f| arith::add_const(ctx, &f.neg(), R::ONE))
                .collect();
            let [a, b, c] = one_minus.as_slice() else {
                return Err(ProtocolError::Unreachable("split").into());
            };
            let ab = arith::mul(ctx, a, b)?;
            let pass = arith::mul(ctx, &ab, c)?;
            let mask = arith::open(ctx, &pass)?
                .iter()
                .map(|x| *x == R::ONE)
                .collect();
            Ok(QcOutput::Mask(mask))
        }
    }
}

/// Multiplying shares by 2^s is local.
trait ShlAll {
    fn shl_all(&self, s: u32) -> Self;
}

impl<R: Ring> ShlAll for SharedVec<R> {
    fn shl_all(&self, s: u32) -> Self {
        self.scale(R::pow2(s))
    }
}
