//! Arithmetic protocols against plaintext references, N = 2, 3, 5, with the dealer and with
//! the ideal source, random inputs from fixed seeds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use mpc_core::fixed::FixedPoint;
use mpc_core::party::PartyId;
use mpc_core::prg::Prg;
use mpc_core::ring::{Ring, Z64, Z128};
use mpc_core::share::{SharedMat, SharedVec};
use protocols::arith::{self, input, open};
use protocols::kernel;
use protocols::testing::{run_ideal, run_with_dealer};
use protocols::trunc::{mul_fx, trunc};

fn rand_vec<R: Ring>(seed: u64, n: usize) -> Vec<R> {
    let mut p = Prg::insecure_from_u64(seed);
    let mut v = vec![R::ZERO; n];
    R::fill_random(&mut p, &mut v);
    v
}

/// Uniform fixed-point reals in (-bound, bound).
fn rand_reals(seed: u64, n: usize, bound: f64) -> Vec<f64> {
    let mut p = Prg::insecure_from_u64(seed);
    (0..n)
        .map(|_| ((p.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * bound)
        .collect()
}

fn check_products<R: Ring + std::fmt::Debug>(n_parties: usize) {
    let n = 257;
    let x: Vec<R> = rand_vec(1, n);
    let y: Vec<R> = rand_vec(2, n);
    let (m, k, c) = (5, 7, 3);
    let a: Vec<R> = rand_vec(3, m * k);
    let b: Vec<R> = rand_vec(4, k * c);
    let run = run_with_dealer(n_parties, 11, |ctx| {
        // x from party 0, y from the last party, matrices from party 1.
        let last = PartyId((ctx.n() - 1) as u16);
        let me = ctx.me();
        let xs = input(ctx, PartyId(0), (me == PartyId(0)).then_some(&x[..]), n)?;
        let ys = input(ctx, last, (me == last).then_some(&y[..]), n)?;
        let am = input(ctx, PartyId(1), (me == PartyId(1)).then_some(&a[..]), m * k)?;
        let bm = input(ctx, PartyId(1), (me == PartyId(1)).then_some(&b[..]), k * c)?;
        let prod = arith::mul(ctx, &xs, &ys)?;
        let sq = arith::square(ctx, &xs)?;
        let d = arith::dot(ctx, &xs.slice(0, 256), &ys.slice(0, 256), 16)?;
        let am = SharedMat::from_vec(m, k, am).unwrap();
        let bm = SharedMat::from_vec(k, c, bm).unwrap();
        let mm = arith::matmul(ctx, &am, &bm)?.into_vec();
        let lin = arith::add_const(ctx, &xs.sub(&ys).scale(R::from_u64(3)), R::from_u64(5));
        let all = SharedVec::concat(&[&prod, &sq, &d, &mm, &lin]);
        open(ctx, &all)
    });
    let mut expect: Vec<R> = x.iter().zip(&y).map(|(&p, &q)| p * q).collect();
    expect.extend(x.iter().map(|&p| p * p));
    expect.extend((0..16).map(|i| (0..16).fold(R::ZERO, |s, j| s + x[i * 16 + j] * y[i * 16 + j])));
    expect.extend(kernel::matmul(&a, &b, m, k, c));
    expect.extend(
        x.iter()
            .zip(&y)
            .map(|(&p, &q)| (p - q) * R::from_u64(3) + R::from_u64(5)),
    );
    for p in &run.parties {
        assert_eq!(p.value, expect, "{} disagrees", p.party);
    }
    // One round each for mul, square, dot, matmul and the final opening, plus the setup round
    // at parties that both send and receive pairwise seeds (party 0 only sends, and its sends
    // merge with its first round; the last party only receives).
    for p in &run.parties {
        let i = p.party.index();
        let setup = u64::from(i > 0 && i + 1 < n_parties);
        assert_eq!(p.stats.rounds, 5 + setup, "{}", p.party);
    }
}

#[test]
fn products_z64_n2_n3_n5() {
    for n in [2, 3, 5] {
        check_products::<Z64>(n);
    }
}

#[test]
fn products_z128_n2_n3_n5() {
    for n in [2, 3, 5] {
        check_products::<Z128>(n);
    }
}

#[test]
fn ideal_source_gives_the_same_products() {
    let x: Vec<Z64> = rand_vec(5, 100);
    let run = run_ideal(3, 9, |ctx| {
        let me = ctx.me();
        let xs = input(ctx, PartyId(2), (me == PartyId(2)).then_some(&x[..]), 100)?;
        let z = arith::mul(ctx, &xs, &xs)?;
        open(ctx, &z)
    });
    let expect: Vec<Z64> = x.iter().map(|&v| v * v).collect();
    assert!(run.parties.iter().all(|p| p.value == expect));
}

#[test]
fn reveal_to_subset() {
    let x: Vec<Z64> = rand_vec(6, 10);
    let run = run_with_dealer(3, 1, |ctx| {
        let me = ctx.me();
        let xs = input(ctx, PartyId(0), (me == PartyId(0)).then_some(&x[..]), 10)?;
        arith::reveal_to(ctx, &xs, &[PartyId(1), PartyId(2)])
    });
    assert_eq!(run.parties[0].value, None);
    assert_eq!(run.parties[1].value.as_deref(), Some(&x[..]));
    assert_eq!(run.parties[2].value.as_deref(), Some(&x[..]));
}

/// Truncation: error ≤ 1 ulp over the whole safe range, for both rings, N = 2, 3, 5; and the
/// rounding is unbiased (mean error ≈ 0).
fn check_trunc<R: Ring>(n_parties: usize, fx: FixedPoint) {
    let n = 4000;
    // Values spanning the whole safe range |x| < 2^(k-2) in the ring, before truncation.
    let mut p = Prg::insecure_from_u64(77);
    let raw: Vec<R> = (0..n)
        .map(|i| {
            let mag_bits = (i as u32 * 7) % (R::BITS - 3) + 1;
            let v = R::random(&mut p).low_bits(mag_bits);
            if i % 2 == 0 { v } else { -v }
        })
        .chain([
            R::pow2(R::BITS - 2) - R::ONE,
            -(R::pow2(R::BITS - 2) - R::ONE),
            R::ZERO,
        ])
        .collect();
    let n = raw.len();
    let f = fx.frac_bits();
    let run = run_with_dealer(n_parties, 3, |ctx| {
        let me = ctx.me();
        let xs = input(ctx, PartyId(0), (me == PartyId(0)).then_some(&raw[..]), n)?;
        let t = trunc(ctx, &xs, f)?;
        open(ctx, &t)
    });
    let mut sum_err = 0f64;
    for (i, (&x, &t)) in raw.iter().zip(&run.parties[0].value).enumerate() {
        let exact = x.to_i128() >> f; // floor
        let got = t.to_i128();
        let err = got - exact;
        assert!(err == 0 || err == 1, "element {i}: error {err} ulp");
        sum_err += (got as f64) - (x.to_i128() as f64) / (f as f64).exp2();
    }
    let mean = sum_err / n as f64;
    assert!(
        mean.abs() < 0.05,
        "mean rounding error {mean} ulp is biased"
    );
}

#[test]
fn truncation_error_at_most_one_ulp() {
    for n in [2, 3, 5] {
        check_trunc::<Z64>(n, FixedPoint::default_for::<Z64>());
        check_trunc::<Z128>(n, FixedPoint::default_for::<Z128>());
    }
}

#[test]
fn fixed_point_products_match_reals() {
    let fx = FixedPoint::default_for::<Z64>();
    let a = rand_reals(10, 1000, 1000.0);
    let b = rand_reals(11, 1000, 1000.0);
    let ae: Vec<Z64> = fx.encode_slice(&a).unwrap();
    let be: Vec<Z64> = fx.encode_slice(&b).unwrap();
    let run = run_with_dealer(2, 5, |ctx| {
        let me = ctx.me();
        let x = input(ctx, PartyId(0), (me == PartyId(0)).then_some(&ae[..]), 1000)?;
        let y = input(ctx, PartyId(1), (me == PartyId(1)).then_some(&be[..]), 1000)?;
        let z = mul_fx(ctx, &x, &y, fx)?;
        open(ctx, &z)
    });
    // Error: input rounding (|a|+|b|)·ulp/2 + truncation 1 ulp.
    for ((&p, &q), &z) in a.iter().zip(&b).zip(&run.parties[0].value) {
        let err = (fx.decode(z) - p * q).abs();
        let bound = (p.abs() + q.abs() + 1.0) * fx.ulp() / 2.0 + fx.ulp() * 1.01;
        assert!(err <= bound, "{p} * {q}: error {err} > {bound}");
    }
    // mul (1 round) + trunc (1 round) + final open.
    assert_eq!(run.parties[1].stats.rounds, 3);
}

#[test]
fn large_vectors_are_chunked_and_counted() {
    // 20 M elements of Z64 exceed one 128 MiB frame.
    let n = 20_000_000usize;
    let run = run_with_dealer(2, 1, |ctx| {
        let me = ctx.me();
        let xs = if me == PartyId(0) {
            input(ctx, PartyId(0), Some(&vec![Z64(3); n][..]), n)?
        } else {
            input::<Z64, _>(ctx, PartyId(0), None, n)?
        };
        let v = open(ctx, &xs)?;
        Ok(v.iter().all(|&x| x == Z64(3)))
    });
    assert!(run.parties.iter().all(|p| p.value));
    let sent = run.parties[0].stats.online_bytes_sent(2);
    assert!(sent >= 8 * n as u64 && sent < 8 * n as u64 + 1000);
}

/// A private matrix used from both sides several times equals the plaintext ring products,
/// and a use beyond the plan is refused.
fn check_private_matrix<R: Ring + std::fmt::Debug>(n_parties: usize) {
    let (m, k) = (9, 6);
    let x: Vec<R> = rand_vec(40, m * k);
    let vs: Vec<Vec<R>> = (0..3).map(|i| rand_vec(41 + i, k)).collect();
    let us: Vec<Vec<R>> = (0..2).map(|i| rand_vec(51 + i, m)).collect();
    let owner = PartyId((n_parties - 1) as u16);
    let run = run_with_dealer(n_parties, 7, |ctx| {
        let me = ctx.me();
        let mut pm =
            arith::PrivateMatrix::new(ctx, owner, (me == owner).then_some(&x[..]), m, k, 3, 2)?;
        let mut out = Vec::new();
        for (i, v) in vs.iter().enumerate() {
            let sv = input(ctx, PartyId(0), (me == PartyId(0)).then_some(&v[..]), k)?;
            let z = pm.mul_right(ctx, &sv)?;
            out.push(open(ctx, &z)?);
            if i < us.len() {
                let su = input(ctx, PartyId(0), (me == PartyId(0)).then_some(&us[i][..]), m)?;
                let z = pm.mul_left(ctx, &su)?;
                out.push(open(ctx, &z)?);
            }
        }
        let extra = input(ctx, PartyId(0), (me == PartyId(0)).then_some(&vs[0][..]), k)?;
        let refused = pm.mul_right(ctx, &extra).is_err();
        Ok((out, refused))
    });
    let xt: Vec<R> = (0..k * m).map(|i| x[(i % m) * k + i / m]).collect();
    let mut want = Vec::new();
    for (i, v) in vs.iter().enumerate() {
        want.push(kernel::matmul(&x, v, m, k, 1));
        if i < us.len() {
            want.push(kernel::matmul(&xt, &us[i], k, m, 1));
        }
    }
    for p in &run.parties {
        assert_eq!(p.value.0, want, "{}", p.party);
        assert!(p.value.1, "a use beyond the plan must be refused");
    }
}

#[test]
fn private_matrix_both_sides() {
    for n in [2, 3, 5] {
        check_private_matrix::<Z64>(n);
        check_private_matrix::<Z128>(n);
    }
}
