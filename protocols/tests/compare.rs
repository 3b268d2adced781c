//! Comparison protocols against plaintext references, N = 2, 3, 5 with the dealer: random
//! values over the whole bound, edge values, several widths ℓ, and the cost targets
//! (rounds and online bytes per element, dealer bytes reported separately).
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
use protocols::compare::{abs, eq, eqz, ge, gt, le, lt, lt_public, ltz, max, min, relu, select};
use protocols::testing::run_with_dealer;

/// Random values with |v| < 2^l (magnitudes spread over all bit lengths), plus edge values:
/// 0, ±1, ±(2^l − 1) and ±2^j, ±2^j ± 1 around every power of two below 2^l.
fn values<R: Ring>(seed: u64, n_random: usize, l: u32) -> Vec<R> {
    let mut p = Prg::insecure_from_u64(seed);
    let mut v: Vec<R> = (0..n_random)
        .map(|i| {
            let mag_bits = (i as u32 * 13) % l + 1;
            let x = R::random(&mut p).low_bits(mag_bits.min(l));
            if p.next_u64() & 1 == 0 { x } else { -x }
        })
        .collect();
    let top = R::pow2(l) - R::ONE;
    v.extend([R::ZERO, R::ONE, -R::ONE, top, -top]);
    for j in 0..l {
        let t = R::pow2(j);
        for d in [t, t + R::ONE, t - R::ONE] {
            if d.to_i128().unsigned_abs() < (1u128 << l) {
                v.push(d);
                v.push(-d);
            }
        }
    }
    v
}

fn bit<R: Ring>(b: bool) -> R {
    if b { R::ONE } else { R::ZERO }
}

fn share_in<R: Ring, P: protocols::prep::Prep>(
    ctx: &mut protocols::Ctx<'_, P>,
    owner: u16,
    v: &[R],
) -> protocols::Result<SharedVec<R>> {
    let me = ctx.me();
    let owner = PartyId(owner);
    input(ctx, owner, (me == owner).then_some(v), v.len())
}

/// ltz and eqz at width ℓ against the plaintext.
fn check_ltz_eqz<R: Ring + std::fmt::Debug>(n_parties: usize, l: u32, seed: u64) {
    let x: Vec<R> = values(seed, 600, l);
    let n = x.len();
    let run = run_with_dealer(n_parties, seed, |ctx| {
        let xs = share_in(ctx, 0, &x)?;
        let a = ltz(ctx, &xs, l)?;
        let b = eqz(ctx, &xs, l)?;
        open(ctx, &SharedVec::concat(&[&a, &b]))
    });
    for p in &run.parties {
        for (i, xi) in x.iter().enumerate() {
            let s = xi.to_i128();
            assert_eq!(
                p.value[i],
                bit::<R>(s < 0),
                "ltz ℓ={l} of {s} at {}",
                p.party
            );
            assert_eq!(p.value[n + i], bit::<R>(s == 0), "eqz ℓ={l} of {s}");
        }
    }
}

#[test]
fn ltz_eqz_z64_all_party_counts_and_widths() {
    for n_parties in [2, 3, 5] {
        check_ltz_eqz::<Z64>(n_parties, 62, 1);
    }
    for l in [1, 2, 3, 4, 5, 7, 16, 17, 31, 63] {
        check_ltz_eqz::<Z64>(2, l, 100 + u64::from(l));
    }
    check_ltz_eqz::<Z64>(3, 63, 7);
}

#[test]
fn ltz_eqz_z128() {
    for n_parties in [2, 3, 5] {
        check_ltz_eqz::<Z128>(n_parties, 126, 2);
    }
    check_ltz_eqz::<Z128>(2, 127, 3);
    check_ltz_eqz::<Z128>(2, 40, 4);
}

/// lt/le/gt/ge/eq, lt_public, select/min/max/abs/relu on safe-range values.
fn check_binary<R: Ring + std::fmt::Debug>(n_parties: usize) {
    let l = R::BITS - 2;
    let mut x: Vec<R> = values(21, 300, l);
    let mut y: Vec<R> = values(22, 300, l);
    // Equal pairs and extreme differences too.
    let m = x.len().min(y.len());
    x.truncate(m);
    y.truncate(m);
    for i in (0..m).step_by(7) {
        y[i] = x[i];
    }
    let big = R::pow2(l) - R::ONE;
    x.extend([big, -big, big, R::ZERO]);
    y.extend([-big, big, big, R::ZERO]);
    let n = x.len();
    let c: Vec<R> = y.iter().rev().copied().collect();
    let run = run_with_dealer(n_parties, 5, |ctx| {
        let xs = share_in(ctx, 0, &x)?;
        let ys = share_in(ctx, (ctx.n() - 1) as u16, &y)?;
        let outs = [
            lt(ctx, &xs, &ys)?,
            le(ctx, &xs, &ys)?,
            gt(ctx, &xs, &ys)?,
            ge(ctx, &xs, &ys)?,
            eq(ctx, &xs, &ys)?,
            lt_public(ctx, &xs, &c)?,
            min(ctx, &xs, &ys)?,
            max(ctx, &xs, &ys)?,
            abs(ctx, &xs)?,
            relu(ctx, &xs)?,
        ];
        let b = lt(ctx, &ys, &xs)?;
        let sel = select(ctx, &b, &xs, &ys)?;
        let refs: Vec<&SharedVec<R>> = outs.iter().chain([&sel]).collect();
        open(ctx, &SharedVec::concat(&refs))
    });
    for p in &run.parties {
        let v = &p.value;
        for i in 0..n {
            let (a, b, ci) = (x[i].to_i128(), y[i].to_i128(), c[i].to_i128());
            let at = |k: usize| v[k * n + i];
            assert_eq!(at(0), bit::<R>(a < b), "lt {a} {b}");
            assert_eq!(at(1), bit::<R>(a <= b), "le {a} {b}");
            assert_eq!(at(2), bit::<R>(a > b), "gt {a} {b}");
            assert_eq!(at(3), bit::<R>(a >= b), "ge {a} {b}");
            assert_eq!(at(4), bit::<R>(a == b), "eq {a} {b}");
            assert_eq!(at(5), bit::<R>(a < ci), "lt_public {a} {ci}");
            assert_eq!(at(6).to_i128(), a.min(b), "min {a} {b}");
            assert_eq!(at(7).to_i128(), a.max(b), "max {a} {b}");
            assert_eq!(at(8).to_i128(), a.abs(), "abs {a}");
            assert_eq!(at(9).to_i128(), a.max(0), "relu {a}");
            assert_eq!(at(10).to_i128(), a.max(b), "select(y<x, x, y) {a} {b}");
        }
    }
}

#[test]
fn binary_comparisons_select_min_max_abs_relu() {
    for n_parties in [2, 3, 5] {
        check_binary::<Z64>(n_parties);
    }
    check_binary::<Z128>(2);
    check_binary::<Z128>(3);
}

/// Online cost of one batched call over n = 10^5 elements with 2 parties.
struct Cost {
    rounds: u64,
    bytes_per_elem: f64,
    dealer_bytes_per_elem: f64,
}

fn measure<F>(n: usize, l: u32, f: F) -> Cost
where
    F: Fn(
            &mut protocols::Ctx<'_, protocols::prep::Dealer>,
            &SharedVec<Z64>,
            u32,
        ) -> protocols::Result<SharedVec<Z64>>
        + Sync,
{
    let x: Vec<Z64> = values(9, n, l);
    let x = &x[..n];
    let run = run_with_dealer(2, 8, |ctx| {
        let xs = share_in(ctx, 0, x)?;
        let s0 = ctx.stats();
        let z = f(ctx, &xs, l)?;
        let s1 = ctx.stats();
        let opened = open(ctx, &z)?;
        let ok = opened.iter().all(|&b| b == Z64(0) || b == Z64(1));
        Ok((
            ok,
            s1.rounds - s0.rounds,
            s1.online_bytes_sent(2) - s0.online_bytes_sent(2),
        ))
    });
    assert!(run.parties.iter().all(|p| p.value.0));
    let rounds = run.parties.iter().map(|p| p.value.1).max().unwrap();
    let bytes = run.parties.iter().map(|p| p.value.2).max().unwrap();
    let (dstats, _) = run.dealer.as_ref().unwrap();
    Cost {
        rounds,
        bytes_per_elem: bytes as f64 / n as f64,
        dealer_bytes_per_elem: dstats.correction_bytes as f64 / n as f64,
    }
}

#[test]
fn ltz_and_eqz_meet_the_cost_targets() {
    let n = 100_000;
    let c = measure(n, 62, ltz);
    eprintln!(
        "ltz ℓ=62, n={n}, 2 parties: {} rounds, {:.2} B/elem online per party, dealer {:.2} B/elem",
        c.rounds, c.bytes_per_elem, c.dealer_bytes_per_elem
    );
    assert!(c.rounds <= 10 && c.rounds == 7, "{} rounds", c.rounds);
    assert!(c.bytes_per_elem <= 24.0, "{} B/elem", c.bytes_per_elem);
    // 8 bytes for c + 85 tree bits + 1 daBit bit, plus frame headers.
    assert!(c.bytes_per_elem < 8.0 + 86.0 / 8.0 + 0.01);
    let e = measure(n, 62, eqz);
    eprintln!(
        "eqz ℓ=62, n={n}, 2 parties: {} rounds, {:.2} B/elem online per party, dealer {:.2} B/elem",
        e.rounds, e.bytes_per_elem, e.dealer_bytes_per_elem
    );
    assert_eq!(e.rounds, 7);
    assert!(e.bytes_per_elem < 8.0 + 61.0 / 8.0 + 0.01);
}
