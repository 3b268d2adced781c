//! Secure shuffle and sort of shared rows.
//!
//! # Shuffle ([`shuffle_rows`])
//!
//! The rows of a shared n × w matrix are permuted by π = π_{N−1} ∘ … ∘ π_0, where π_j is a
//! uniformly random permutation known only to computing party j. One pass per party, with a
//! dealer "permute-and-reshare" correlation ([`crate::prep::PrepRequest::Shuffle`], in the
//! style of the correlated-permutation shuffles of Chase, Ghosh and Poburinnaya, *Secret-shared
//! shuffle* (ASIACRYPT 2020), and MP-SPDZ's secure shuffle with a dealer): every party i holds
//! a share a_i of a uniform mask A, party j holds π_j, and all hold fresh shares b_i of
//! π_j(A). Then
//!
//! 1. every party i ≠ j sends x_i − a_i to party j (uniform: a_i is unknown to j);
//! 2. party j computes z = π_j(Σ_i (x_i − a_i)) = π_j(x) − π_j(A) and keeps z + b_j;
//!    every other party keeps b_i. The shares add up to π_j(x).
//!
//! One round and n·w ring elements sent by each non-owner per pass; N passes. A coalition of
//! up to N − 1 parties misses at least one π_j, so the row order it sees is uniform.
//!
//! # Sort ([`sort_rows`])
//!
//! Shuffle, then quicksort with opened comparison outcomes (Hamada, Kikuchi, Ikarashi,
//! Chida, Takahashi, *Practically efficient multi-party sorting protocols from comparison
//! sort algorithms*, ICISC 2012). Every level of the recursion is ONE batch: each active
//! segment's first row is its pivot, every other row of the segment is compared with it in a
//! single vectorised [`crate::compare`] less-than whose outcome bits are opened, and the
//! segment is partitioned stably by those public bits (a local move of shares). The expected
//! depth is O(log n) (≈ 2–3 log2 n levels), so rounds are O(log n) comparison batches and
//! the expected number of comparisons is ≈ 2 n ln n. Payload columns follow the key: the
//! composite public permutation of the sort is applied to every column at the end.
//!
//! **Ties and leakage.** Before the shuffle the key of input row i becomes key·n + i (an
//! extra column shuffled along), so all keys are distinct and ties keep their input order:
//! the sort is stable. The opened bits are a deterministic function of the rank permutation
//! of those distinct keys over the shuffled order, which is uniformly random whatever the
//! inputs, tied or not, and the pivot (the first row of a segment, whose relative order a
//! stable partition preserves) is a uniformly random row of its segment: the transcript of
//! opened bits and the number of levels are simulatable from n alone. Without the
//! tie-break an opened "not less" between two tied keys, and the degenerate recursion on a
//! long run of ties, would reveal the tie pattern. (Breaking ties by the *shuffled* position
//! would be no good either: a run of ties would arrive already in order and the recursion
//! would degenerate to depth ≈ the run length.)
//!
//! **Range.** Keys must satisfy |key| < 2^`key_bits`; the comparisons then use
//! ℓ = `key_bits` + ⌈log2(n + 1)⌉ + 2 < k bits (checked).

use mpc_core::party::PartyId;
use mpc_core::ring::Ring;
use mpc_core::share::SharedVec;

use crate::arith;
use crate::comm;
use crate::compare;
use crate::ctx::Ctx;
use crate::error::{ProtocolError, Result, ensure};
use crate::prep::{Prep, apply_rows};

/// Obliviously permutes the rows of a shared row-major n × `width` matrix by a uniformly
/// random permutation no coalition of fewer than N computing parties knows. N rounds (one
/// per party), n·`width` elements sent by each non-owner per round.
pub fn shuffle_rows<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    width: usize,
) -> Result<SharedVec<R>> {
    ensure(width > 0 && x.len().is_multiple_of(width), || {
        format!("shuffle of {} elements in rows of {width}", x.len())
    })?;
    let n = x.len() / width;
    let mut cur = x.clone();
    for j in 0..ctx.n() {
        let owner = PartyId(j as u16);
        let corr = {
            let (prep, chan) = ctx.prep();
            prep.shuffle::<R>(chan, n, width, owner)?
        };
        let masked = cur.sub(&corr.a);
        if ctx.me() == owner {
            let mut sum = masked.expose_share().to_vec();
            let others: Vec<PartyId> = ctx.others().collect();
            for p in others {
                let s = comm::recv_ring::<R>(ctx.chan(), p, n * width)?;
                for (a, b) in sum.iter_mut().zip(s) {
                    *a += b;
                }
            }
            let perm = corr
                .perm
                .as_ref()
                .ok_or(ProtocolError::Unreachable("owner holds the permutation"))?;
            let z = perm
                .apply_rows(&sum, width)
                .ok_or(ProtocolError::Unreachable("shuffle shape"))?;
            cur = SharedVec::from_share(z).add(&corr.b);
        } else {
            comm::send_ring(ctx.chan(), owner, masked.expose_share())?;
            cur = corr.b;
        }
    }
    Ok(cur)
}

/// [`shuffle_rows`] on a list of equally long columns (row i = element i of every column).
pub fn shuffle_columns<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    cols: &[SharedVec<R>],
) -> Result<Vec<SharedVec<R>>> {
    let w = cols.len();
    let n = cols.first().map_or(0, SharedVec::len);
    ensure(w > 0 && cols.iter().all(|c| c.len() == n), || {
        "shuffle of columns of different lengths".into()
    })?;
    let rows = interleave(cols, n);
    let out = shuffle_rows(ctx, &SharedVec::from_share(rows), w)?;
    Ok(deinterleave(out.expose_share(), w, n))
}

fn interleave<R: Ring>(cols: &[SharedVec<R>], n: usize) -> Vec<R> {
    let w = cols.len();
    let mut rows = vec![R::ZERO; n * w];
    for (c, col) in cols.iter().enumerate() {
        for (i, &v) in col.expose_share().iter().enumerate() {
            if let Some(slot) = rows.get_mut(i * w + c) {
                *slot = v;
            }
        }
    }
    rows
}

fn deinterleave<R: Ring>(rows: &[R], w: usize, n: usize) -> Vec<SharedVec<R>> {
    (0..w)
        .map(|c| {
            SharedVec::from_share(
                (0..n)
                    .map(|i| rows.get(i * w + c).copied().unwrap_or_default())
                    .collect(),
            )
        })
        .collect()
}

/// Public statistics of one sort (a function of n and the shuffle's randomness only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SortStats {
    /// Quicksort levels (comparison batches).
    pub levels: usize,
    /// Comparisons made.
    pub comparisons: usize,
}

/// Sorts shared rows ascending by column `key` (|key| < 2^`key_bits` as a signed ring
/// integer, e.g. a fixed-point value), every other column following as payload. Returns the
/// columns in sorted order; tied keys keep their input order (stable). See the module docs
/// for the leakage (none beyond n).
pub fn sort_rows<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    cols: &[SharedVec<R>],
    key: usize,
    key_bits: u32,
) -> Result<(Vec<SharedVec<R>>, SortStats)> {
    let n = cols.first().map_or(0, SharedVec::len);
    ensure(key < cols.len(), || {
        format!("key column {key} of {}", cols.len())
    })?;
    let index_bits = usize::BITS - n.leading_zeros();
    let l = key_bits + index_bits + 2;
    ensure(key_bits >= 1 && l < R::BITS, || {
        format!(
            "sort keys of {key_bits} bits and {n} rows need {l} comparison bits in a {}-bit ring",
            R::BITS
        )
    })?;
    if n < 2 {
        return Ok((cols.to_vec(), SortStats::default()));
    }
    // Distinct keys: key·n + input position, so ties keep their input order (a stable sort)
    // and every comparison has a strict answer. Shuffled along with the columns.
    let k = cols
        .get(key)
        .ok_or(ProtocolError::Unreachable("key column"))?;
    let idx: Vec<R> = (0..n as u64).map(R::from_u64).collect();
    let composite = arith::add_public(ctx, &k.scale(R::from_u64(n as u64)), &idx);
    let mut all = cols.to_vec();
    all.push(composite);
    let mut shuffled = shuffle_columns(ctx, &all)?;
    let k = shuffled
        .pop()
        .ok_or(ProtocolError::Unreachable("composite key"))?;
    let ks = k.expose_share();
    let mut order: Vec<usize> = (0..n).collect();
    let mut segs: Vec<(usize, usize)> = vec![(0, n)];
    let mut stats = SortStats::default();
    while !segs.is_empty() {
        // One batch: every non-pivot row of every active segment against its pivot.
        let total: usize = segs.iter().map(|&(_, len)| len - 1).sum();
        let mut diff = Vec::with_capacity(total);
        for &(start, len) in &segs {
            let piv = order
                .get(start)
                .and_then(|&r| ks.get(r))
                .copied()
                .ok_or(ProtocolError::Unreachable("pivot"))?;
            for pos in start + 1..start + len {
                let v = order
                    .get(pos)
                    .and_then(|&r| ks.get(r))
                    .copied()
                    .ok_or(ProtocolError::Unreachable("row"))?;
                diff.push(v - piv);
            }
        }
        // Public: [row < pivot] for every compared row (simulatable, module docs).
        let bits = compare::ltz_open(ctx, &SharedVec::from_share(diff), l)?;
        stats.levels += 1;
        stats.comparisons += total;
        let bit = |t: usize| bits.get(t / 64).map_or(0, |w| (w >> (t % 64)) & 1);
        let mut next = Vec::with_capacity(2 * segs.len());
        let mut t = 0;
        for &(start, len) in &segs {
            let seg = order
                .get(start..start + len)
                .ok_or(ProtocolError::Unreachable("segment"))?
                .to_vec();
            let (piv, rest) = seg
                .split_first()
                .ok_or(ProtocolError::Unreachable("empty segment"))?;
            let mut low = Vec::with_capacity(len);
            let mut high = Vec::with_capacity(len);
            for &r in rest {
                if bit(t) == 1 {
                    low.push(r);
                } else {
                    high.push(r);
                }
                t += 1;
            }
            let (nl, nh) = (low.len(), high.len());
            let dst = order
                .get_mut(start..start + len)
                .ok_or(ProtocolError::Unreachable("segment"))?;
            for (d, s) in dst
                .iter_mut()
                .zip(low.into_iter().chain([*piv]).chain(high))
            {
                *d = s;
            }
            if nl >= 2 {
                next.push((start, nl));
            }
            if nh >= 2 {
                next.push((start + nl + 1, nh));
            }
        }
        segs = next;
    }
    // Payload follows: apply the composite public permutation to every column.
    let perm: Vec<u32> = order.iter().map(|&r| r as u32).collect();
    let out = shuffled
        .iter()
        .map(|c| {
            apply_rows(&perm, c.expose_share(), 1)
                .map(SharedVec::from_share)
                .ok_or(ProtocolError::Unreachable("sort shape"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((out, stats))
}
