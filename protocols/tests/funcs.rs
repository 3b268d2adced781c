//! Nonlinear functions against f64 references: each function swept over its documented
//! domain (2,001 points including both ends, plus points around every breakpoint and outside
//! the domain), for Z_2^64 (f = 16) and Z_2^128 (f = 40), N = 2 and 3, asserting the
//! documented error bound and the round counts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use mpc_core::fixed::{DefaultFrac, FixedPoint};
use mpc_core::party::PartyId;
use mpc_core::ring::{Ring, Z64, Z128};
use protocols::arith::{input, open};
use protocols::funcs::Func;
use protocols::testing::run_with_dealer;

const ALL: [Func; 6] = [
    Func::Sigmoid,
    Func::Exp,
    Func::Ln,
    Func::Reciprocal,
    Func::InvSqrt,
    Func::Sqrt,
];

fn octave(f: Func) -> bool {
    !matches!(f, Func::Sigmoid | Func::Exp)
}

/// Sweep points: 2,001 points over [lo, hi] including both ends (log-spaced for octave
/// functions), ±1e-3 around every breakpoint, and a few points outside.
fn sweep<R: Ring>(f: Func) -> (Vec<f64>, Vec<f64>) {
    let (lo, hi) = f.domain::<R>();
    let m = 2000;
    let mut inside: Vec<f64> = (0..=m)
        .map(|i| {
            let t = i as f64 / m as f64;
            if octave(f) {
                (lo.log2() + t * (hi.log2() - lo.log2())).exp2()
            } else {
                lo + t * (hi - lo)
            }
        })
        .collect();
    inside.pop(); // hi itself is outside [lo, hi)
    for &b in &f.spline::<R>().breaks {
        for d in [-1e-3, 0.0, 1e-3] {
            let x = b * (1.0 + d) + if octave(f) { 0.0 } else { d };
            if x >= lo && x < hi {
                inside.push(x);
            }
        }
    }
    let outside = if octave(f) {
        vec![hi, hi * 3.0, lo / 2.0, 0.0, -1.0]
    } else {
        vec![hi, hi + 5.0, lo - 0.5, lo - 7.0]
    };
    (inside, outside)
}

struct Measured {
    max_abs: f64,
    max_rel: f64,
    rounds: u64,
}

fn check<R: Ring + DefaultFrac>(n_parties: usize) -> Vec<(Func, Measured)> {
    let fx = FixedPoint::default_for::<R>();
    let mut out = Vec::new();
    for f in ALL {
        let (inside, outside) = sweep::<R>(f);
        let xs: Vec<f64> = inside.iter().chain(&outside).copied().collect();
        let enc: Vec<R> = fx.encode_slice(&xs).unwrap();
        let n = enc.len();
        let run = run_with_dealer(n_parties, 17, |ctx| {
            let me = ctx.me();
            let x = input(ctx, PartyId(0), (me == PartyId(0)).then_some(&enc[..]), n)?;
            let s0 = ctx.stats();
            let y = f.eval(ctx, &x, fx)?;
            let s1 = ctx.stats();
            Ok((open(ctx, &y)?, s1.rounds - s0.rounds))
        });
        let rounds = run.parties.iter().map(|p| p.value.1).max().unwrap();
        let got = &run.parties[0].value.0;
        assert!(run.parties.iter().all(|p| &p.value.0 == got));
        let (rel_b, abs_b) = f.error_bound::<R>();
        let (lo, hi) = f.domain::<R>();
        let (mut max_abs, mut max_rel) = (0f64, 0f64);
        for (i, (&x, &y)) in xs.iter().zip(got).enumerate() {
            let xe = fx.decode(enc[i]);
            let y = fx.decode(y);
            if i < inside.len() {
                let want = f.reference(xe);
                let err = (y - want).abs();
                max_abs = max_abs.max(err);
                if want.abs() >= 1.0 {
                    max_rel = max_rel.max(err / want.abs());
                }
                assert!(
                    err <= rel_b * want.abs() + abs_b,
                    "{f:?} in Z{}, N={n_parties}: x={x} got {y} want {want} err {err:e}",
                    R::BITS
                );
            } else {
                // Clamped: the value at the nearest end of the domain.
                let end = if xe >= hi { hi } else { lo };
                let want = match f {
                    Func::Sigmoid => f64::from(u8::from(xe >= hi)),
                    _ => f.reference(end),
                };
                let err = (y - want).abs();
                assert!(
                    err <= rel_b * want.abs() + abs_b + 2.0 * fx.ulp(),
                    "{f:?} clamp in Z{}: x={x} got {y} want {want}",
                    R::BITS
                );
            }
        }
        out.push((
            f,
            Measured {
                max_abs,
                max_rel,
                rounds,
            },
        ));
    }
    out
}

fn report(ring: &str, n: usize, m: &[(Func, Measured)]) {
    for (f, r) in m {
        eprintln!(
            "{ring} N={n} {f:?}: max abs err {:.3e}, max rel err (|f| ≥ 1) {:.3e}, {} rounds",
            r.max_abs, r.max_rel, r.rounds
        );
    }
}

#[test]
fn functions_z64_meet_their_bounds_and_round_targets() {
    for n in [2, 3, 5] {
        let m = check::<Z64>(n);
        report("Z64", n, &m);
        for (f, r) in &m {
            let want = match f {
                Func::Sigmoid => 15,
                Func::Exp | Func::Ln => 16,
                _ => 18,
            };
            assert_eq!(r.rounds, want, "{f:?}");
            assert!(r.rounds <= 30);
        }
    }
}

#[test]
fn functions_z128_meet_their_bounds() {
    for n in [2, 3] {
        let m = check::<Z128>(n);
        report("Z128", n, &m);
        for (_, r) in &m {
            assert!(r.rounds <= 30);
        }
    }
}

/// Online cost at n = 10^5 with 2 parties in Z_2^64 (bytes to computing parties only; the
/// dealer's correction bytes reported separately).
#[test]
fn sigmoid_and_reciprocal_costs_at_1e5() {
    let fx = FixedPoint::default_for::<Z64>();
    let n = 100_000;
    for (f, max_bytes) in [(Func::Sigmoid, 600.0), (Func::Reciprocal, 900.0)] {
        let (lo, hi) = f.domain::<Z64>();
        let xs: Vec<f64> = (0..n)
            .map(|i| lo + (hi - lo) * (i as f64 + 0.5) / n as f64)
            .collect();
        let enc: Vec<Z64> = fx.encode_slice(&xs).unwrap();
        let run = run_with_dealer(2, 23, |ctx| {
            let me = ctx.me();
            let x = input(ctx, PartyId(0), (me == PartyId(0)).then_some(&enc[..]), n)?;
            let s0 = ctx.stats();
            let y = f.eval(ctx, &x, fx)?;
            let s1 = ctx.stats();
            let y = open(ctx, &y)?;
            let worst = xs
                .iter()
                .zip(&y)
                .map(|(&x, &v)| {
                    (fx.decode(v) - f.reference(x)).abs() / f.reference(x).abs().max(1.0)
                })
                .fold(0.0, f64::max);
            Ok((
                s1.rounds - s0.rounds,
                s1.online_bytes_sent(2) - s0.online_bytes_sent(2),
                worst,
            ))
        });
        let rounds = run.parties.iter().map(|p| p.value.0).max().unwrap();
        let bytes = run.parties.iter().map(|p| p.value.1).max().unwrap() as f64 / n as f64;
        let dealer = run.dealer.as_ref().unwrap().0.correction_bytes as f64 / n as f64;
        eprintln!(
            "{f:?} n={n}, 2 parties: {rounds} rounds, {bytes:.1} B/elem online per party, \
             dealer {dealer:.1} B/elem, worst scaled error {:.2e}",
            run.parties[0].value.2
        );
        assert!(rounds <= 30);
        assert!(bytes <= max_bytes, "{f:?}: {bytes} B/elem");
        assert!(run.parties[0].value.2 < 1e-4);
    }
}
