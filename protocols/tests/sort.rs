//! Secure shuffle and sort against plaintext references, N = 2 and 3 with the dealer (and the
//! ideal source): rows stay intact, the sorted keys equal the plaintext sort, payload columns
//! follow their key, ties (many equal keys) sort correctly and stably, and the cost is O(log n) batches.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use mpc_core::party::PartyId;
use mpc_core::prg::Prg;
use mpc_core::ring::{Ring, Z64, Z128};
use mpc_core::share::SharedVec;
use protocols::arith::{input, open};
use protocols::sort::{shuffle_columns, sort_rows};
use protocols::testing::{run_ideal, run_with_dealer};

/// n keys with |key| < 2^bits (signed), drawn from `distinct` values so that ties occur.
fn keys<R: Ring>(seed: u64, n: usize, bits: u32, distinct: u64) -> Vec<R> {
    let mut p = Prg::insecure_from_u64(seed);
    let distinct = distinct.min(4 * n as u64).max(1);
    let pool: Vec<R> = (0..distinct)
        .map(|_| {
            let x = R::random(&mut p).low_bits(bits - 1);
            if p.next_u64() & 1 == 0 { x } else { -x }
        })
        .collect();
    (0..n)
        .map(|_| pool[(p.next_u64() % distinct) as usize])
        .collect()
}

fn signed<R: Ring>(v: R) -> i128 {
    v.to_i128()
}

/// Sorts with N parties; party 0 inputs the keys, the last party a payload (row id) and a
/// second payload (row id squared), so the columns come from different owners.
fn check_sort<R: Ring + std::fmt::Debug>(
    n_parties: usize,
    n: usize,
    bits: u32,
    distinct: u64,
    seed: u64,
) {
    let k: Vec<R> = keys(seed, n, bits, distinct);
    let ids: Vec<R> = (0..n as u64).map(R::from_u64).collect();
    let sq: Vec<R> = (0..n as u64).map(|i| R::from_u64(i * i + 7)).collect();
    let run = run_with_dealer(n_parties, seed, |ctx| {
        let me = ctx.me();
        let last = PartyId((n_parties - 1) as u16);
        let kc = input(ctx, PartyId(0), (me == PartyId(0)).then_some(&k[..]), n)?;
        let ic = input(ctx, last, (me == last).then_some(&ids[..]), n)?;
        let qc = input(ctx, last, (me == last).then_some(&sq[..]), n)?;
        let (out, stats) = sort_rows(ctx, &[ic, kc, qc], 1, bits)?;
        let opened = open(ctx, &SharedVec::concat(&[&out[0], &out[1], &out[2]]))?;
        Ok((opened, stats))
    });
    let mut want: Vec<i128> = k.iter().map(|&v| signed(v)).collect();
    want.sort_unstable();
    let first = &run.parties[0].value;
    for p in &run.parties {
        assert_eq!(p.value.0, first.0, "parties agree");
        assert_eq!(p.value.1, first.1, "public sort statistics agree");
    }
    let (opened, stats) = first;
    let (oid, rest) = opened.split_at(n);
    let (okey, osq) = rest.split_at(n);
    let got: Vec<i128> = okey.iter().map(|&v| signed(v)).collect();
    assert_eq!(got, want, "sorted keys");
    // Payload follows: every output row is an input row, each exactly once.
    let mut seen = vec![false; n];
    for i in 0..n {
        let id = oid[i].low_u64() as usize;
        assert!(id < n && !seen[id], "row id {id} twice or out of range");
        seen[id] = true;
        assert_eq!(okey[i], k[id], "key travels with its row");
        assert_eq!(osq[i], sq[id], "second payload travels with its row");
        if i > 0 && okey[i] == okey[i - 1] {
            let prev = oid[i - 1].low_u64();
            assert!(prev < id as u64, "stable: tied rows keep their input order");
        }
    }
    // O(log n) comparison batches (expected ≈ 2–3 log2 n; 6 log2 n is far in the tail).
    let lg = (n as f64).log2().ceil() as usize;
    assert!(stats.levels <= 6 * lg.max(1), "levels {}", stats.levels);
    let rounds = run.parties[0].stats.rounds;
    eprintln!(
        "N={n_parties} n={n} ring={} distinct={distinct}: {} levels, {} comparisons, {rounds} rounds",
        R::BITS,
        stats.levels,
        stats.comparisons
    );
}

#[test]
fn sort_two_parties_z64_distinct_and_ties() {
    check_sort::<Z64>(2, 500, 30, 1 << 40, 1);
    check_sort::<Z64>(2, 500, 30, 7, 2);
    check_sort::<Z64>(2, 300, 20, 1, 3); // all keys equal
}

#[test]
fn sort_three_parties_z128_distinct_and_ties() {
    check_sort::<Z128>(3, 400, 60, 1 << 40, 4);
    check_sort::<Z128>(3, 400, 60, 13, 5);
}

#[test]
fn sort_tiny_inputs() {
    for n in [0usize, 1, 2, 3] {
        if n == 0 {
            let run = run_with_dealer(2, 9, |ctx| {
                let (out, s) = sort_rows::<Z64, _>(ctx, &[SharedVec::zeros(0)], 0, 10)?;
                Ok((out[0].len(), s.levels))
            });
            assert_eq!(run.parties[0].value, (0, 0));
        } else {
            check_sort::<Z64>(2, n, 10, 3, 10 + n as u64);
        }
    }
}

#[test]
fn sort_refuses_keys_too_wide_for_the_ring() {
    let run = run_with_dealer(2, 11, |ctx| {
        Ok(sort_rows::<Z64, _>(ctx, &[SharedVec::zeros(10)], 0, 60).is_err())
    });
    assert!(run.parties.iter().all(|p| p.value));
}

/// The shuffle keeps rows intact and, over seeds, moves a fixed row to every position
/// (a uniform permutation; a chi-square-free sanity bound: each of 4 positions ≥ 15% of 200).
#[test]
fn shuffle_keeps_rows_and_moves_them() {
    let n = 4usize;
    let a: Vec<Z64> = (0..n as u64).map(|i| Z64(100 + i)).collect();
    let b: Vec<Z64> = (0..n as u64).map(|i| Z64(1000 * i)).collect();
    let mut counts = [0usize; 4];
    for seed in 0..200u64 {
        let run = run_ideal(2, seed, |ctx| {
            let me = ctx.me();
            let ac = input(ctx, PartyId(0), (me == PartyId(0)).then_some(&a[..]), n)?;
            let bc = input(ctx, PartyId(1), (me == PartyId(1)).then_some(&b[..]), n)?;
            let out = shuffle_columns(ctx, &[ac, bc])?;
            open(ctx, &SharedVec::concat(&[&out[0], &out[1]]))
        });
        let o = &run.parties[0].value;
        for i in 0..n {
            let row = (o[i].0 - 100) as usize;
            assert_eq!(o[n + i].0, 1000 * row as u64, "row intact");
        }
        let pos0 = (0..n).find(|&i| o[i].0 == 100).unwrap();
        counts[pos0] += 1;
    }
    assert!(
        counts.iter().all(|&c| c >= 30),
        "positions of row 0: {counts:?}"
    );
}

#[test]
fn shuffle_three_parties_with_dealer() {
    let n = 1000usize;
    let a: Vec<Z128> = (0..n as u64).map(Z128::from_u64).collect();
    let run = run_with_dealer(3, 12, |ctx| {
        let me = ctx.me();
        let ac = input(ctx, PartyId(2), (me == PartyId(2)).then_some(&a[..]), n)?;
        let out = shuffle_columns(ctx, &[ac])?;
        open(ctx, &out[0])
    });
    let mut o: Vec<u64> = run.parties[0].value.iter().map(|v| v.low_u64()).collect();
    assert_ne!(o, (0..n as u64).collect::<Vec<_>>(), "moved");
    o.sort_unstable();
    assert_eq!(o, (0..n as u64).collect::<Vec<_>>(), "a permutation");
    // One round per party (plus the pairwise-seed setup round).
    eprintln!("shuffle N=3 n={n}: rounds {}", run.parties[0].stats.rounds);
}
