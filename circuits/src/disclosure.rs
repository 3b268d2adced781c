//! Disclosure checks on secret values (issue 9; SECURITY-DESIGN "Disclosure defaults"): run
//! inside MPC before an output is opened; each check opens exactly one bit, pass or fail.
//!
//! ```text
//!  shared counts c ──► [0 < c < k] per cell ──Σ──► [Σ = 0] ──open──► pass bit  (check_cells)
//!  shared largest L_ij, totals T_j ──► [1000·L_ij > ‰·T_j] ──Σ──► [Σ = 0] ──open──► pass bit
//!                                                                       (check_dominance)
//! ```
//!
//! Every comparison of a check is batched into one `ltz` (and one `eqz`) call; only the AND of
//! all of them is opened, so a failing check does not say which cell, site or column failed.
//!
//! - **Cells** ([`check_cells`]): every count is 0 or at least k (an empty cell is allowed, as
//!   in DataSHIELD's `nfilter.tab`). Counts are plain integers in the ring (not fixed point).
//! - **Dominance** ([`check_dominance`]): for each of m sums, no contributor's largest single
//!   contribution exceeds ‰/1000 of the pooled total. "The maximum over contributors exceeds
//!   the bound" is the same as "some contributor exceeds it", so the check compares every
//!   contributor's largest value with the bound (one batched comparison) instead of computing
//!   the maximum with a tree of secure maxima (log₂ sites times more rounds). Largest values
//!   and totals are in one encoding (fixed point or integer): the comparison is scale-free.
//!
//! Pure protocol code: no I/O. Callers log the opened bit (the party's transcript) and refuse
//! the output when it is 0.

use mpc_core::ring::Ring;
use mpc_core::share::SharedVec;
use protocols::prep::Prep;
use protocols::{Ctx, ProtocolError, Result, arith, compare};

/// Rule id of the minimum-cell check (transcripts, reports, refusals).
pub const RULE_CELLS: &str = "DISC-CELLS";
/// Rule id of the dominance check.
pub const RULE_DOMINANCE: &str = "DISC-DOMINANCE";

/// Bits needed for a count of `n` items (≥ 1).
fn count_bits(n: usize) -> u32 {
    (usize::BITS - n.leading_zeros()).max(1)
}

/// \[Σ fails = 0\], opened: `fails` are shared 0/1 values (at most `fails.len()` ones).
fn open_all_zero<R: Ring, P: Prep>(ctx: &mut Ctx<'_, P>, fails: &SharedVec<R>) -> Result<bool> {
    let total = fails.sum_groups(fails.len());
    let pass = compare::eqz(ctx, &total, count_bits(fails.len()) + 1)?;
    let opened = arith::open(ctx, &pass)?;
    match opened.as_slice() {
        [b] => Ok(*b == R::ONE),
        _ => Err(ProtocolError::Unreachable("one opened bit")),
    }
}

/// Minimum cell count: true iff every shared count is 0 or at least `k`. `counts` are
/// integers with 0 ≤ count < 2^`bound_bits` (a negative count fails). Opens one bit; no
/// communication when `counts` is empty (true).
pub fn check_cells<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    counts: &SharedVec<R>,
    k: u64,
    bound_bits: u32,
) -> Result<bool> {
    if counts.is_empty() {
        return Ok(true);
    }
    let bits = bound_bits.saturating_add(1);
    if bits >= R::BITS || u128::from(k) >= 1u128 << bound_bits.min(127) {
        return Err(ProtocolError::ApiMisuse(format!(
            "cell check: k = {k} or 2^{bound_bits} does not fit the ring"
        )));
    }
    // [c < k] − [c = 0] = [0 < c < k] for c ≥ 0 (a zero cell is below k too); for c < 0 the
    // first term is 1 and the second 0.
    let below = compare::ltz(ctx, &arith::add_const(ctx, counts, -R::from_u64(k)), bits)?;
    let zero = compare::eqz(ctx, counts, bits)?;
    open_all_zero(ctx, &below.sub(&zero))
}

/// Dominance: true iff for every sum j and contributor i, `1000 · largest[i·m + j] ≤
/// permille · totals[j]` (m = `totals.len()`). `largest` holds each contributor's largest
/// single contribution to each sum (contributor-major), `totals` the pooled totals, both
/// non-negative in one encoding with `1000 · value < 2^bound_bits`. Opens one bit.
pub fn check_dominance<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    largest: &SharedVec<R>,
    totals: &SharedVec<R>,
    permille: u32,
    bound_bits: u32,
) -> Result<bool> {
    let m = totals.len();
    if m == 0 || largest.is_empty() {
        return Ok(true);
    }
    if !largest.len().is_multiple_of(m) || bound_bits.saturating_add(1) >= R::BITS {
        return Err(ProtocolError::ApiMisuse(format!(
            "dominance check: {} largest values for {m} sums, bound 2^{bound_bits}",
            largest.len()
        )));
    }
    let contributors = largest.len() / m;
    let reps: Vec<&SharedVec<R>> = std::iter::repeat_n(totals, contributors).collect();
    let bound = SharedVec::concat(&reps).scale(R::from_u64(u64::from(permille)));
    // Fails where permille·T − 1000·L < 0.
    let diff = bound.sub(&largest.scale(R::from_u64(1000)));
    let fails = compare::ltz(ctx, &diff, bound_bits + 1)?;
    open_all_zero(ctx, &fails)
}

/// Plaintext reference of [`check_cells`].
pub fn plain_cells(counts: &[i64], k: u64) -> bool {
    counts
        .iter()
        .all(|&c| c == 0 || u64::try_from(c).is_ok_and(|c| c >= k))
}

/// Plaintext reference of [`check_dominance`] (exact: integers).
pub fn plain_dominance(largest: &[u64], totals: &[u64], permille: u32) -> bool {
    let m = totals.len().max(1);
    largest.iter().enumerate().all(|(i, &l)| {
        let t = totals.get(i % m).copied().unwrap_or(0);
        1000 * u128::from(l) <= u128::from(permille) * u128::from(t)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]

    use super::*;
    use mpc_core::party::PartyId;
    use mpc_core::ring::Z128;
    use protocols::arith::input;
    use protocols::testing::run_with_dealer;

    /// Party 0 inputs `v` (integers); every party returns the shared vector's check result.
    fn cells(v: &[i64], k: u64) -> bool {
        let enc: Vec<Z128> = v
            .iter()
            .map(|&c| Z128::from_i128_wrapping(i128::from(c)))
            .collect();
        let run = run_with_dealer(3, 7, |ctx| {
            let mine = (ctx.me() == PartyId(0)).then_some(&enc[..]);
            let x = input(ctx, PartyId(0), mine, enc.len())?;
            check_cells(ctx, &x, k, 40)
        });
        let r: Vec<bool> = run.parties.iter().map(|p| p.value).collect();
        assert!(
            r.iter().all(|&b| b == r[0]),
            "every party opens the same bit"
        );
        r[0]
    }

    #[test]
    fn cells_boundaries_k_minus_1_k_k_plus_1() {
        let k = 5;
        for (v, want) in [
            (vec![12, 4, 30], false), // k − 1
            (vec![12, 5, 30], true),  // k
            (vec![12, 6, 30], true),  // k + 1
            (vec![0, 7], true),       // an empty cell is allowed
            (vec![1, 7], false),
            (vec![-3, 7], false),
            (vec![], true),
        ] {
            assert_eq!(plain_cells(&v, k), want, "{v:?}");
            assert_eq!(cells(&v, k), want, "{v:?}");
        }
    }

    /// Each of 3 parties inputs its largest values (one per sum) and its totals; party i's
    /// vectors are `largest[i]`, `totals[i]`.
    fn dominance(largest: &[Vec<u64>], totals: &[Vec<u64>], permille: u32) -> bool {
        let m = totals[0].len();
        let run = run_with_dealer(3, 11, |ctx| {
            let me = ctx.me().index();
            let mut all_l = Vec::new();
            let mut sum = SharedVec::<Z128>::zeros(m);
            for i in 0..3 {
                let owner = PartyId(i as u16);
                let l: Vec<Z128> = largest[i].iter().map(|&x| Z128::from_u64(x)).collect();
                let t: Vec<Z128> = totals[i].iter().map(|&x| Z128::from_u64(x)).collect();
                let both = [l, t].concat();
                let x = input(ctx, owner, (me == i).then_some(&both[..]), 2 * m)?;
                all_l.push(x.slice(0, m));
                sum = sum.add(&x.slice(m, m));
            }
            let refs: Vec<&SharedVec<Z128>> = all_l.iter().collect();
            check_dominance(ctx, &SharedVec::concat(&refs), &sum, permille, 60)
        });
        let r: Vec<bool> = run.parties.iter().map(|p| p.value).collect();
        assert!(
            r.iter().all(|&b| b == r[0]),
            "every party opens the same bit"
        );
        r[0]
    }

    #[test]
    fn dominance_boundary() {
        // Pooled total 1000 in the second sum; one contribution of 899, 900, 901 (‰ = 900).
        let totals = |big: u64| vec![vec![50, big + 10], vec![50, 40], vec![50, 950 - big]];
        for (big, want) in [(899, true), (900, true), (901, false)] {
            let t = totals(big);
            let largest = vec![vec![5, big], vec![5, 20], vec![5, 30.min(950 - big)]];
            let pooled: Vec<u64> = (0..2).map(|j| t.iter().map(|s| s[j]).sum()).collect();
            assert_eq!(pooled[1], 1000);
            let flat: Vec<u64> = largest.concat();
            assert_eq!(plain_dominance(&flat, &pooled, 900), want, "{big}");
            assert_eq!(dominance(&largest, &t, 900), want, "{big}");
        }
        // All zero: nothing dominates.
        let z = vec![vec![0, 0]; 3];
        assert!(dominance(&z, &z, 900));
    }
}
