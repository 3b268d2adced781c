//! Fixed-point truncation with dealer help: one round, one opened element per value.
//!
//! Input: shares of x with |x| < 2^(k−2) (the fixed-point safe range). With a tuple
//! (r, r_low >> f, msb(r)) where r is uniform in Z_2^k and r_low = r mod 2^(k−1):
//!
//! 1. x' = x + 2^(k−2) ∈ [0, 2^(k−1)); open c = x' + r (uniform: reveals nothing).
//! 2. Write c = c_hi·2^(k−1) + c_low. Since x' < 2^(k−1), the carry of x' + r_low into bit
//!    k−1 is u = c_hi ⊕ msb(r) = c_hi + (1 − 2c_hi)·msb(r), linear in the shared msb(r), and
//!    x' = c_low − r_low + 2^(k−1)·u exactly.
//! 3. ⌊x'/2^f⌋ = (c_low >> f) − (r_low >> f) + 2^(k−1−f)·u − b, with b ∈ {0,1} the borrow of
//!    the low f bits; we drop b. Subtract 2^(k−2−f).
//!
//! **Error.** The result is ⌊x/2^f⌋ + b where b = 1 with probability (x mod 2^f)/2^f over r:
//! stochastic rounding, |error| < 1 ulp, unbiased. **Failure probability: 0** for every
//! |x| < 2^(k−2); outside that range the result is wrong (callers keep values in range, which
//! `FixedPoint::encode` enforces for inputs). Compare SecureML's local truncation (2 parties
//! only), which fails with probability ≈ |x|/2^(k−1) per element.
//! Reference: the wrap-bit trick of Escudero, Ghosh, Keller, Rachuri, Scholl, "Improved
//! primitives for MPC over mixed arithmetic-binary circuits" (CRYPTO 2020), §4 (TruncPr with
//! the MSB of the mask known in shared form).

use mpc_core::fixed::FixedPoint;
use mpc_core::ring::Ring;
use mpc_core::share::SharedVec;

use crate::arith::{self, open};
use crate::ctx::Ctx;
use crate::error::{Result, ensure};
use crate::prep::Prep;

/// ⌊x / 2^f⌋ (+ stochastic rounding), for |x| < 2^(k−2). One round.
pub fn trunc<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    f: u32,
) -> Result<SharedVec<R>> {
    ensure(f > 0 && f < R::BITS - 2, || {
        format!("truncation by {f} bits")
    })?;
    let n = x.len();
    let t = {
        let (prep, chan) = ctx.prep();
        prep.trunc::<R>(chan, n, f)?
    };
    let shifted = arith::add_const(ctx, x, R::pow2(R::BITS - 2));
    let c = open(ctx, &shifted.add(&t.r))?;
    let first = ctx.is_first();
    let k = R::BITS;
    let top = R::pow2(k - 1 - f);
    let offset = R::pow2(k - 2 - f);
    let out = c
        .iter()
        .zip(
            t.r_low_shr
                .expose_share()
                .iter()
                .zip(t.r_msb.expose_share()),
        )
        .map(|(&ci, (&rls, &rmsb))| {
            let c_hi = ci.msb();
            let sign = if c_hi { -R::ONE } else { R::ONE };
            let mut s = top * sign * rmsb - rls;
            if first {
                let c_low = ci.low_bits(k - 1);
                s += c_low.shr(f) - offset;
                if c_hi {
                    s += top;
                }
            }
            s
        })
        .collect();
    Ok(SharedVec::from_share(out))
}

/// Fixed-point product: [`arith::mul`] then [`trunc`]. Two rounds.
pub fn mul_fx<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    y: &SharedVec<R>,
    fx: FixedPoint,
) -> Result<SharedVec<R>> {
    let z = arith::mul(ctx, x, y)?;
    trunc(ctx, &z, fx.frac_bits())
}

/// Fixed-point product by a public real vector (encoded with `fx`), then truncation. One round.
pub fn mul_public_fx<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    c: &[R],
    fx: FixedPoint,
) -> Result<SharedVec<R>> {
    trunc(ctx, &x.mul_public(c), fx.frac_bits())
}
