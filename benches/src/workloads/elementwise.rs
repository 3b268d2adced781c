//! Element-wise workloads on 10^6 fixed-point values (Z_2^64, f = 16): MUL (products with
//! truncation), CMP (comparison with zero), SIGMOID and RECIP.
//!
//! Each is one [`ElemOp`]: an input range, a real-valued reference, a plaintext single-thread
//! baseline in the ring, and the secure function. Inputs come from party 0 (x) and party 1 (y,
//! binary ops only). The reference is evaluated on the *encoded* inputs, so input rounding is
//! not counted as protocol error. Reported on top of the common fields: `ops_per_s`,
//! `bytes_per_op` (per computing party, online), `dealer_bytes_per_op`, and the MP-SPDZ
//! `dealer-ring-party.x` figures from issue 3 where there is one.
//!
//! CMP is `protocols::compare::ltz_safe` (ℓ = k − 2 = 62: any value of the fixed-point safe
//! range, the general-purpose comparison); SIGMOID and RECIP are `protocols::funcs`.

use mpc_core::fixed::FixedPoint;
use mpc_core::party::PartyId;
use mpc_core::ring::{Ring, Z64};
use mpc_core::share::SharedVec;
use protocols::prep::Dealer;
use protocols::testing::reconstruct;
use protocols::{Ctx, arith, trunc};

use super::{BASELINE_REPS, Params, Workload, best_of};
use crate::data;
use crate::error::BenchError;
use crate::harness::{Timed, best_of_runs, run_timed};
use crate::report::{Report, round6};

/// Default number of elements.
pub const DEFAULT_N: usize = 1_000_000;
/// Elements in the smoke pass.
pub const SMOKE_N: usize = 1000;

/// A secure unary function of shared fixed-point values.
pub type UnaryFn =
    fn(&mut Ctx<'_, Dealer>, &SharedVec<Z64>, FixedPoint) -> protocols::Result<SharedVec<Z64>>;
/// A secure binary function of shared fixed-point values.
pub type BinaryFn = fn(
    &mut Ctx<'_, Dealer>,
    &SharedVec<Z64>,
    &SharedVec<Z64>,
    FixedPoint,
) -> protocols::Result<SharedVec<Z64>>;

/// How an operation is computed securely.
#[derive(Clone, Copy)]
pub enum Secure {
    /// f(x).
    Unary(UnaryFn),
    /// f(x, y).
    Binary(BinaryFn),
    /// Not in `protocols` yet: running the workload fails with [`BenchError::Unavailable`].
    Missing {
        /// The function it needs.
        needs: &'static str,
    },
}

/// MP-SPDZ `dealer-ring-party.x` on this machine (issue 3), for comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MpSpdz {
    /// Wall time, offline phase included.
    pub wall_s: f64,
    /// Bytes sent by party 0.
    pub bytes_party0: f64,
    /// Rounds.
    pub rounds: u64,
}

/// One element-wise operation.
#[derive(Clone, Copy)]
pub struct ElemOp {
    /// Workload name.
    pub name: &'static str,
    /// Inputs are uniform reals in [lo, hi).
    pub range: (f64, f64),
    /// The secure computation.
    pub secure: Secure,
    /// Real-valued reference f(x, y) (y is ignored by unary operations).
    pub reference: fn(f64, f64) -> f64,
    /// Plaintext single-thread baseline on the encoded values.
    pub plain: fn(&[Z64], &[Z64], FixedPoint) -> Vec<Z64>,
    /// How the output decodes to a real (fixed point, or a 0/1 ring integer).
    pub output: Output,
    /// Largest accepted |secure − reference|, as a stated bound of the protocol.
    pub tolerance: f64,
    /// The targets with 2 computing parties: (metric, max). Metrics are report fields.
    pub targets: &'static [(&'static str, f64)],
    /// MP-SPDZ reference figures, if any.
    pub mpspdz: Option<MpSpdz>,
}

/// How an output share vector decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Fixed point with the workload's f.
    Fixed,
    /// Ring integers 0 or 1.
    Bit,
}

impl ElemOp {
    fn is_binary(&self) -> bool {
        match self.secure {
            Secure::Binary(_) => true,
            Secure::Unary(_) => false,
            Secure::Missing { .. } => false,
        }
    }
}

fn fx() -> FixedPoint {
    FixedPoint::default_for::<Z64>()
}

// ---------------------------------------------------------------------------------------------
// MUL: trunc::mul_fx = Beaver product + truncation.

fn mul_secure(
    ctx: &mut Ctx<'_, Dealer>,
    x: &SharedVec<Z64>,
    y: &SharedVec<Z64>,
    fx: FixedPoint,
) -> protocols::Result<SharedVec<Z64>> {
    trunc::mul_fx(ctx, x, y, fx)
}

fn mul_plain(x: &[Z64], y: &[Z64], fx: FixedPoint) -> Vec<Z64> {
    let f = fx.frac_bits();
    x.iter()
        .zip(y)
        .map(|(&a, &b)| Z64::from_i128_wrapping((a * b).to_i128() >> f))
        .collect()
}

/// The MUL operation.
pub const MUL_OP: ElemOp = ElemOp {
    name: "MUL",
    range: (-100.0, 100.0),
    secure: Secure::Binary(mul_secure),
    reference: |a, b| a * b,
    plain: mul_plain,
    output: Output::Fixed,
    // Stochastic-rounding truncation of the exact product: |error| < 1 ulp (trunc.rs docs).
    tolerance: 1.0 / 65536.0,
    targets: &[
        ("rounds", 1.0),
        ("bytes_per_op", 16.0),
        ("wall_s", 0.92 / 3.0),
    ],
    mpspdz: Some(MpSpdz {
        wall_s: 0.92,
        bytes_party0: 24e6,
        rounds: 2304,
    }),
};

// ---------------------------------------------------------------------------------------------
// CMP, SIGMOID, RECIP.
//
// Adapters from the protocols' signatures to `UnaryFn`.

fn cmp_secure(
    ctx: &mut Ctx<'_, Dealer>,
    x: &SharedVec<Z64>,
    _fx: FixedPoint,
) -> protocols::Result<SharedVec<Z64>> {
    protocols::compare::ltz_safe(ctx, x)
}

fn sigmoid_secure(
    ctx: &mut Ctx<'_, Dealer>,
    x: &SharedVec<Z64>,
    fx: FixedPoint,
) -> protocols::Result<SharedVec<Z64>> {
    protocols::funcs::sigmoid(ctx, x, fx)
}

fn recip_secure(
    ctx: &mut Ctx<'_, Dealer>,
    x: &SharedVec<Z64>,
    fx: FixedPoint,
) -> protocols::Result<SharedVec<Z64>> {
    protocols::funcs::reciprocal(ctx, x, fx)
}

fn cmp_plain(x: &[Z64], _y: &[Z64], _fx: FixedPoint) -> Vec<Z64> {
    x.iter()
        .map(|&a| Z64::from_u64(u64::from(a.msb())))
        .collect()
}

fn sigmoid_plain(x: &[Z64], _y: &[Z64], fx: FixedPoint) -> Vec<Z64> {
    x.iter()
        .map(|&a| {
            let s = 1.0 / (1.0 + (-fx.decode(a)).exp());
            fx.encode(s).unwrap_or(Z64::ZERO)
        })
        .collect()
}

fn recip_plain(x: &[Z64], _y: &[Z64], fx: FixedPoint) -> Vec<Z64> {
    x.iter()
        .map(|&a| fx.encode(1.0 / fx.decode(a)).unwrap_or(Z64::ZERO))
        .collect()
}

/// The CMP operation: x < 0 as 0/1.
pub const CMP_OP: ElemOp = ElemOp {
    name: "CMP",
    range: (-1000.0, 1000.0),
    secure: Secure::Unary(cmp_secure),
    reference: |a, _| if a < 0.0 { 1.0 } else { 0.0 },
    plain: cmp_plain,
    output: Output::Bit,
    tolerance: 0.0,
    targets: &[
        ("rounds", 10.0),
        ("bytes_per_op", 24.0),
        ("wall_s", 2.6 / 3.0),
    ],
    mpspdz: Some(MpSpdz {
        wall_s: 2.6,
        bytes_party0: 30e6,
        rounds: 15_322,
    }),
};

/// The SIGMOID operation.
pub const SIGMOID_OP: ElemOp = ElemOp {
    name: "SIGMOID",
    range: (-10.0, 10.0),
    secure: Secure::Unary(sigmoid_secure),
    reference: |a, _| 1.0 / (1.0 + (-a).exp()),
    plain: sigmoid_plain,
    output: Output::Fixed,
    // funcs::Func::Sigmoid.error_bound::<Z64>(): 4e-5 absolute on its domain [-12, 12).
    tolerance: 4e-5,
    targets: &[("rounds", 30.0), ("wall_s", 274.0 / 3.0)],
    mpspdz: Some(MpSpdz {
        wall_s: 274.0,
        bytes_party0: 7.5e9,
        rounds: 0, // not given in the issue
    }),
};

/// The RECIP operation, on positive inputs.
pub const RECIP_OP: ElemOp = ElemOp {
    name: "RECIP",
    range: (0.5, 100.0),
    secure: Secure::Unary(recip_secure),
    reference: |a, _| 1.0 / a,
    plain: recip_plain,
    output: Output::Fixed,
    // funcs::Func::Reciprocal.error_bound::<Z64>(): 2e-6 relative + 4e-5 absolute; 1/x ≤ 2 here.
    tolerance: 4.4e-5,
    targets: &[("rounds", 30.0)],
    mpspdz: None,
};

/// Registry entry for MUL.
pub const MUL: Workload = Workload {
    name: "MUL",
    summary: "s fixed-point products with truncation (trunc::mul_fx), default 10^6",
    default_size: DEFAULT_N,
    smoke_size: SMOKE_N,
    run: |p| run_op(&MUL_OP, p),
};

/// Registry entry for CMP.
pub const CMP: Workload = Workload {
    name: "CMP",
    summary: "s comparisons x < 0, default 10^6",
    default_size: DEFAULT_N,
    smoke_size: SMOKE_N,
    run: |p| run_op(&CMP_OP, p),
};

/// Registry entry for SIGMOID.
pub const SIGMOID: Workload = Workload {
    name: "SIGMOID",
    summary: "s sigmoids, default 10^6",
    default_size: DEFAULT_N,
    smoke_size: SMOKE_N,
    run: |p| run_op(&SIGMOID_OP, p),
};

/// Registry entry for RECIP.
pub const RECIP: Workload = Workload {
    name: "RECIP",
    summary: "s reciprocals of x in [0.5, 100), default 10^6",
    default_size: DEFAULT_N,
    smoke_size: SMOKE_N,
    run: |p| run_op(&RECIP_OP, p),
};

/// Encoded inputs of an element-wise workload.
pub struct Inputs {
    /// x (party 0).
    pub x: Vec<Z64>,
    /// y (party 1; empty for unary operations).
    pub y: Vec<Z64>,
}

impl Inputs {
    /// `n` uniform reals in the operation's range (x from `seed`, y from `seed + 1`).
    pub fn new(op: &ElemOp, n: usize, seed: u64) -> Result<Self, BenchError> {
        let (lo, hi) = op.range;
        let x = fx().encode_slice(&data::uniform_reals(seed, n, lo, hi))?;
        let y = if op.is_binary() {
            fx().encode_slice(&data::uniform_reals(seed.wrapping_add(1), n, lo, hi))?
        } else {
            Vec::new()
        };
        Ok(Self { x, y })
    }
}

/// The timed secure part: inputs from parties 0 and 1, then the operation. Returns each
/// party's output share.
pub fn secure(
    op: &ElemOp,
    inp: &Inputs,
    parties: usize,
    seed: u64,
) -> Result<Timed<SharedVec<Z64>>, BenchError> {
    let n = inp.x.len();
    let (p0, p1) = (PartyId(0), PartyId(1));
    match op.secure {
        Secure::Missing { needs } => Err(BenchError::Unavailable {
            workload: op.name,
            missing: needs,
        }),
        Secure::Unary(f) => run_timed(parties, seed, |ctx| {
            let me = ctx.me();
            let x = arith::input(ctx, p0, (me == p0).then_some(&inp.x[..]), n)?;
            f(ctx, &x, fx())
        }),
        Secure::Binary(f) => run_timed(parties, seed, |ctx| {
            let me = ctx.me();
            let x = arith::input(ctx, p0, (me == p0).then_some(&inp.x[..]), n)?;
            let y = arith::input(ctx, p1, (me == p1).then_some(&inp.y[..]), n)?;
            f(ctx, &x, &y, fx())
        }),
    }
}

/// Runs `op` at `p.size` elements and checks it.
pub fn run_op(op: &ElemOp, p: &Params) -> Result<Report, BenchError> {
    if let Secure::Missing { needs } = op.secure {
        // Fail before spending time on inputs and baselines.
        return Err(BenchError::Unavailable {
            workload: op.name,
            missing: needs,
        });
    }
    let n = p.size;
    let fx = fx();
    let inp = Inputs::new(op, n, p.seed)?;
    let (baseline_s, _) = best_of(BASELINE_REPS, || (op.plain)(&inp.x, &inp.y, fx));
    let (t, walls) = best_of_runs(p.reps, || secure(op, &inp, p.parties, p.seed))?;

    // Outside the timed run: reconstruct and compare (benchmark check only).
    let shares: Vec<Vec<Z64>> = t
        .parties
        .iter()
        .map(|r| r.value.expose_share().to_vec())
        .collect();
    let z = reconstruct(&shares);
    let decode = |v: Z64| match op.output {
        Output::Fixed => fx.decode(v),
        Output::Bit => v.to_signed_f64(),
    };
    let xd = fx.decode_slice(&inp.x);
    let yd = fx.decode_slice(&inp.y);
    let max_abs_error = z
        .iter()
        .enumerate()
        .map(|(i, &g)| {
            let a = xd.get(i).copied().unwrap_or(0.0);
            let b = yd.get(i).copied().unwrap_or(0.0);
            (decode(g) - (op.reference)(a, b)).abs()
        })
        .fold(if z.len() == n { 0.0 } else { f64::INFINITY }, f64::max);

    let nf = n.max(1) as f64;
    let mut r = Report::from_timed(op.name, n, &t, baseline_s, "plaintext ring, single thread")
        .runs(walls)
        .with("ops_per_s", round6(nf / t.wall_s()))
        .with("bytes_per_op", round6(t.bytes_per_party() as f64 / nf))
        .with("dealer_bytes_per_op", round6(t.dealer_bytes() as f64 / nf))
        .with("frac_bits", fx.frac_bits());
    if let Some(m) = op.mpspdz {
        r = r
            .with("mpspdz_wall_s", m.wall_s)
            .with("mpspdz_bytes_party0", m.bytes_party0)
            .with("speedup_vs_mpspdz", round6(m.wall_s / t.wall_s()));
        if m.rounds > 0 {
            r = r.with("mpspdz_rounds", m.rounds);
        }
    }
    r.max_abs_error = max_abs_error;
    r.tolerance = op.tolerance;
    // The issue states these targets for 2 computing parties + dealer.
    if p.parties == 2 {
        for &(metric, max) in op.targets {
            let value = match metric {
                "rounds" => r.rounds as f64,
                "bytes_per_op" => t.bytes_per_party() as f64 / nf,
                "wall_s" => r.wall_s,
                _ => f64::NAN,
            };
            r = r.target(metric, max, value);
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_is_correct_for_2_and_3_parties() {
        for parties in [2, 3] {
            let r = run_op(
                &MUL_OP,
                &Params {
                    parties,
                    size: 500,
                    seed: 9,
                    reps: 1,
                    data_dir: None,
                },
            )
            .unwrap();
            assert!(r.ok(), "{}", r.to_json());
            // Beaver opening (2 elements) + truncation opening (1 element) to each peer.
            assert!(r.bytes_per_party >= 500 * 24 * (parties as u64 - 1));
        }
    }

    #[test]
    fn comparison_and_functions_are_within_their_bounds() {
        for (w, rounds) in [(CMP, 10), (SIGMOID, 30), (RECIP, 30)] {
            for parties in [2, 3] {
                let r = (w.run)(&Params {
                    parties,
                    size: 300,
                    seed: 5,
                    reps: 1,
                    data_dir: None,
                })
                .unwrap();
                assert!(r.ok(), "{}: {}", w.name, r.to_json());
                assert!(r.rounds <= rounds, "{}: {} rounds", w.name, r.rounds);
            }
        }
    }

    #[test]
    fn plain_baselines_agree_with_references() {
        let fx = fx();
        for op in [MUL_OP, CMP_OP, SIGMOID_OP, RECIP_OP] {
            let inp = Inputs {
                x: fx
                    .encode_slice(&data::uniform_reals(1, 100, op.range.0, op.range.1))
                    .unwrap(),
                y: fx
                    .encode_slice(&data::uniform_reals(2, 100, op.range.0, op.range.1))
                    .unwrap(),
            };
            let out = (op.plain)(&inp.x, &inp.y, fx);
            for (i, &o) in out.iter().enumerate() {
                let got = match op.output {
                    Output::Fixed => fx.decode(o),
                    Output::Bit => o.to_signed_f64(),
                };
                let want = (op.reference)(fx.decode(inp.x[i]), fx.decode(inp.y[i]));
                assert!((got - want).abs() <= 2.0 * fx.ulp(), "{} at {i}", op.name);
            }
        }
    }
}
