//! Minimal in-MPC count checks that open only pass bits (private helper of [`crate::cox`] and
//! [`crate::evaluate`]; to be unified with `circuits::disclosure::check_cells` once that
//! lands).

use mpc_core::ring::{Ring, Z128};
use mpc_core::share::SharedVec;
use protocols::prep::Prep;
use protocols::{Ctx, ProtocolError, arith, compare};

/// For each group of consecutive entries of `counts` (shared integers, |count| < 2^`bits`),
/// the bit \[every count of the group ≥ its minimum\]; only these bits are opened, one per
/// group. `mins` has one entry per count; `groups` are the group lengths (summing to
/// `counts.len()`).
pub(crate) fn groups_at_least<P: Prep>(
    ctx: &mut Ctx<'_, P>,
    counts: &SharedVec<Z128>,
    mins: &[u64],
    groups: &[usize],
    bits: u32,
) -> Result<Vec<bool>, ProtocolError> {
    let n = counts.len();
    if mins.len() != n
        || groups.contains(&0)
        || groups.iter().sum::<usize>() != n
        || bits + 2 >= Z128::BITS
    {
        return Err(ProtocolError::ApiMisuse(
            "count check: minima or groups do not match the counts".into(),
        ));
    }
    let neg_mins: Vec<Z128> = mins.iter().map(|&m| -Z128::from_u64(m)).collect();
    // [count − min < 0] per entry, shared.
    let below = compare::ltz(ctx, &arith::add_public(ctx, counts, &neg_mins), bits + 1)?;
    let mut off = 0;
    let mut fails = Vec::with_capacity(groups.len());
    for &g in groups {
        fails.push(below.slice(off, g).sum_groups(g.max(1)));
        off += g;
    }
    let fails = SharedVec::concat(&fails.iter().collect::<Vec<_>>());
    let width = usize::BITS - n.leading_zeros() + 1;
    let pass = compare::eqz(ctx, &fails, width)?;
    Ok(arith::open(ctx, &pass)?
        .iter()
        .map(|&b| b == Z128::ONE)
        .collect())
}
