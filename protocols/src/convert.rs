//! Ring conversion between Z_2^64 and Z_2^128 sharings.
//!
//! - [`reduce`] (local, free): shares of x in Z_2^128 (or Z_2^64) reduced mod 2^64 are a valid
//!   Z_2^64 sharing of x mod 2^64.
//! - [`lift_unsigned`] / [`lift_signed`] (one round, dealer-assisted): Z_2^64 shares of a
//!   value y known to be bounded become Z_2^128 shares of the same integer.
//!
//! **Lift protocol.** For 0 ≤ y < 2^63 the dealer hands out r uniform in Z_2^64 (shared in
//! Z_2^64), the same r as an integer in [0, 2^64) shared in Z_2^128, and msb(r) shared in
//! Z_2^128 ([`crate::prep::PrepRequest::Lift64`]). The parties open c = y + r mod 2^64; as
//! integers y + r = c + 2^64·w with w ∈ {0, 1}, and
//!
//! ```text
//!   w = msb(r) · (1 − msb(c))      (y < 2^63: no wrap when msb(r) = 0; when msb(r) = 1,
//!                                   y + r ≥ 2^63, so a wrap happened iff msb(c) = 0)
//!   y = c − r + 2^64 · msb(r) · (1 − msb(c))      in Z_2^128, linear in the shares
//! ```
//!
//! c is uniform in Z_2^64 whatever y is (r is), so the opening reveals nothing. A signed y with
//! −2^62 ≤ y < 2^62 ([`LIFT_SIGNED_BOUND_LOG2`]) is shifted by 2^62 first and back after. The
//! result is **wrong by ±2^64** (not insecure: c stays uniform) if the caller's bound does not
//! hold, so callers state and check their bound (e.g. `circuits::score` bounds |X·w|·2^f from
//! the plan's weight bound before choosing this path).
//!
//! Cost: one round, (N−1)·8 bytes per element per party; the dealer sends 32 bytes of
//! correction per element to the last party.

use mpc_core::ring::{Ring, Z64, Z128};
use mpc_core::share::SharedVec;

use crate::arith;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::prep::Prep;

/// [`lift_signed`] is exact for −2^62 ≤ y < 2^62.
pub const LIFT_SIGNED_BOUND_LOG2: u32 = 62;

/// Shares mod 2^64: a Z_2^64 sharing of x mod 2^64 (local, no communication).
pub fn reduce<R: Ring>(x: &SharedVec<R>) -> SharedVec<Z64> {
    SharedVec::from_share(x.expose_share().iter().map(|v| Z64(v.low_u64())).collect())
}

/// Z_2^128 shares of y from Z_2^64 shares of y, for 0 ≤ y < 2^63 (as an unsigned 64-bit
/// value). One round.
pub fn lift_unsigned<P: Prep>(ctx: &mut Ctx<'_, P>, y: &SharedVec<Z64>) -> Result<SharedVec<Z128>> {
    let n = y.len();
    let masks = {
        let (prep, chan) = ctx.prep();
        prep.lift64(chan, n)?
    };
    let c = arith::open(ctx, &y.add(&masks.r64))?;
    let first = ctx.is_first();
    let two64 = Z128::pow2(64);
    let z = c
        .iter()
        .zip(
            masks
                .r128
                .expose_share()
                .iter()
                .zip(masks.msb.expose_share()),
        )
        .map(|(&ci, (&ri, &mi))| {
            let wrap = if ci.msb() { Z128::ZERO } else { two64 * mi };
            let own = if first {
                Z128(u128::from(ci.0))
            } else {
                Z128::ZERO
            };
            own - ri + wrap
        })
        .collect();
    Ok(SharedVec::from_share(z))
}

/// Z_2^128 shares of y from Z_2^64 shares of y read as a signed value, for
/// −2^62 ≤ y < 2^62. One round.
pub fn lift_signed<P: Prep>(ctx: &mut Ctx<'_, P>, y: &SharedVec<Z64>) -> Result<SharedVec<Z128>> {
    let shifted = arith::add_const(ctx, y, Z64::pow2(LIFT_SIGNED_BOUND_LOG2));
    let z = lift_unsigned(ctx, &shifted)?;
    Ok(arith::add_const(
        ctx,
        &z,
        -Z128::pow2(LIFT_SIGNED_BOUND_LOG2),
    ))
}

/// [`lift_signed`] into the ring `R`: the identity for Z_2^64, the lift for Z_2^128.
pub fn lift_signed_to<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    y: &SharedVec<Z64>,
) -> Result<SharedVec<R>> {
    let wide: Vec<R> = if R::BITS == 64 {
        y.expose_share().iter().map(|v| R::from_u64(v.0)).collect()
    } else {
        lift_signed(ctx, y)?
            .expose_share()
            .iter()
            .map(|v| R::from_i128_wrapping(v.0 as i128))
            .collect()
    };
    Ok(SharedVec::from_share(wide))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]

    use super::*;
    use crate::testing::{reconstruct, run_with_dealer};
    use mpc_core::party::PartyId;

    /// Shares `vals` (input by party 0) in Z_2^64, lifts, reconstructs in Z_2^128.
    fn lifted(n: usize, vals: &[i64], signed: bool, seed: u64) -> Vec<i128> {
        let run = run_with_dealer(n, seed, |ctx| {
            let mine: Vec<Z64> = vals.iter().map(|&v| Z64(v as u64)).collect();
            let x = arith::input(
                ctx,
                PartyId(0),
                ctx.is_first().then_some(mine.as_slice()),
                vals.len(),
            )?;
            let z = if signed {
                lift_signed(ctx, &x)?
            } else {
                lift_unsigned(ctx, &x)?
            };
            Ok(z.expose_share().to_vec())
        });
        let shares: Vec<Vec<Z128>> = run.parties.into_iter().map(|p| p.value).collect();
        reconstruct(&shares).iter().map(|v| v.0 as i128).collect()
    }

    fn edge_values(signed: bool) -> Vec<i64> {
        let lim = 1i64 << LIFT_SIGNED_BOUND_LOG2;
        let mut v: Vec<i64> = if signed {
            vec![
                0,
                1,
                -1,
                2,
                -2,
                lim - 1,
                -lim,
                -lim + 1,
                lim - 2,
                12345,
                -12345,
            ]
        } else {
            vec![0, 1, 2, i64::MAX, i64::MAX - 1, lim, lim - 1, 1 << 40]
        };
        // Many copies: every value meets masks with msb(r) = 0 and 1, and c on both sides.
        let base = v.clone();
        for _ in 0..40 {
            v.extend_from_slice(&base);
        }
        v
    }

    #[test]
    fn lift_unsigned_edges_two_and_three_parties() {
        for n in [2, 3] {
            let vals = edge_values(false);
            let got = lifted(n, &vals, false, 11 + n as u64);
            for (g, v) in got.iter().zip(&vals) {
                assert_eq!(*g, i128::from(*v), "{n} parties");
            }
        }
    }

    #[test]
    fn lift_signed_edges_two_and_three_parties() {
        for n in [2, 3] {
            let vals = edge_values(true);
            let got = lifted(n, &vals, true, 21 + n as u64);
            for (g, v) in got.iter().zip(&vals) {
                assert_eq!(*g, i128::from(*v), "{n} parties");
            }
        }
    }

    #[test]
    fn lift_signed_random_in_range() {
        let mut prg = mpc_core::prg::Prg::insecure_from_u64(5);
        let vals: Vec<i64> = (0..5000)
            .map(|_| (prg.next_u64() as i64) >> (63 - LIFT_SIGNED_BOUND_LOG2))
            .collect();
        let got = lifted(3, &vals, true, 99);
        assert_eq!(got, vals.iter().map(|&v| i128::from(v)).collect::<Vec<_>>());
    }

    /// Out of range the result is off by 2^64 for some masks (the documented failure mode).
    #[test]
    fn out_of_range_is_detectably_wrong() {
        // Shifted, 2^63 + 2^61: wrong whenever msb(r) = 0 and r ≥ 2^63 − 2^61 (p = 1/8).
        let y = (1i64 << LIFT_SIGNED_BOUND_LOG2) + (1i64 << 61);
        let vals = vec![y; 200];
        let got = lifted(2, &vals, true, 3);
        assert!(got.iter().any(|&g| g != i128::from(y)));
    }

    #[test]
    fn reduce_is_a_z64_sharing() {
        let run = run_with_dealer(3, 7, |ctx| {
            let vals: Vec<Z128> = (0..10).map(|i| Z128::from_i64(-5 + i)).collect();
            let x = arith::input(
                ctx,
                PartyId(1),
                (ctx.me() == PartyId(1)).then_some(vals.as_slice()),
                10,
            )?;
            Ok(reduce(&x).expose_share().to_vec())
        });
        let shares: Vec<Vec<Z64>> = run.parties.into_iter().map(|p| p.value).collect();
        let got = reconstruct(&shares);
        for (i, g) in got.iter().enumerate() {
            assert_eq!(g.0 as i64, -5 + i as i64);
        }
    }
}
