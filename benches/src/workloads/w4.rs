//! W4: pooled ROC AUC with DeLong SE by secure shuffle and sort
//! ([`circuits::evaluate::auc_delong`], Z_2^128, f = 40).
//!
//! Inputs: n scores uniform in [−3, 3) rounded to a 1e−5 grid (so ties occur, and many at
//! n ≥ 10^5) and labels drawn with P(case) = σ(score − 2) (≈ 15% cases, AUC ≈ 0.75). The
//! rows are split between the parties as sites (party i holds rows i·n/N…), each inputting
//! its own scores and labels. Only n1, AUC and SE are opened.
//!
//! Sizes: `--n` sets n; the default is 10^4 (MP-SPDZ's reference point), the issue also asks
//! for `--n 100000` and `--n 1000000`. Baseline: the plaintext AUC (sort + midranks, f64)
//! of the same data, best of [`BASELINE_REPS`], same process. Reference: AUC and DeLong SE
//! from the definition (per-case and per-control counts by binary search over the sorted
//! other class), an independent formula; checks |ΔAUC| ≤ 1e−12 and SE within 1e−9 relative
//! (the protocol is exact integer arithmetic after the sort).
//!
//! Targets (issue 7): n = 10^4 at least 10× faster than MP-SPDZ `dealer-ring-party.x` (36 s,
//! 908 MB sent by one party, 14,483 rounds), i.e. ≤ 3.6 s; n = 10^6 under 600 s.

use circuits::evaluate::{EvalError, auc_delong};
use mpc_core::fixed::FixedPoint;
use mpc_core::party::PartyId;
use mpc_core::prg::Prg;
use mpc_core::ring::{Ring, Z128};
use mpc_core::share::SharedVec;
use protocols::{ProtocolError, arith};

use super::{BASELINE_REPS, Params, Workload, best_of};
use crate::error::BenchError;
use crate::harness::{best_of_runs, run_timed};
use crate::report::{Report, round6};

/// The registry entry.
pub const W4: Workload = Workload {
    name: "W4",
    summary: "pooled ROC AUC + DeLong SE of n shared scores/labels by secure shuffle and sort, Z_2^128",
    default_size: 10_000,
    smoke_size: 2_000,
    run,
};

/// |score| < 16 = 2^4 real units at f = 40: the sort's public key bound.
pub const SCORE_BITS: u32 = 44;

/// Inputs: scores (reals on a 1e−5 grid) and 0/1 labels.
pub struct Inputs {
    /// Scores.
    pub scores: Vec<f64>,
    /// Labels.
    pub labels: Vec<u8>,
}

impl Inputs {
    /// Deterministic inputs of size `n` from `seed`.
    pub fn new(n: usize, seed: u64) -> Self {
        let raw = crate::data::uniform_reals(seed, n, -3.0, 3.0);
        let scores: Vec<f64> = raw.iter().map(|v| (v * 1e5).round() / 1e5).collect();
        let mut p = Prg::insecure_from_u64(seed.wrapping_add(7));
        let scale = (-53f64).exp2();
        let labels = scores
            .iter()
            .map(|&s| {
                let u = (p.next_u64() >> 11) as f64 * scale;
                u8::from(u < 1.0 / (1.0 + (2.0 - s).exp()))
            })
            .collect();
        Self { scores, labels }
    }
}

/// AUC by midranks (the plaintext baseline).
pub fn plain_auc(s: &[f64], y: &[u8]) -> f64 {
    let mut rows: Vec<(f64, u8)> = s.iter().copied().zip(y.iter().copied()).collect();
    rows.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let (mut r1, mut n1, mut pos) = (0.0, 0.0, 0usize);
    for group in rows.chunk_by(|a, b| a.0 == b.0) {
        let mid = pos as f64 + (group.len() as f64 + 1.0) / 2.0;
        let cases = group.iter().filter(|r| r.1 == 1).count() as f64;
        r1 += mid * cases;
        n1 += cases;
        pos += group.len();
    }
    let n0 = s.len() as f64 - n1;
    (r1 - n1 * (n1 + 1.0) / 2.0) / (n1 * n0)
}

/// AUC and DeLong SE from the definition: per case, controls below + ½ tied (binary search
/// over the sorted controls); per control, cases above + ½ tied.
pub fn reference(s: &[f64], y: &[u8]) -> (f64, f64) {
    let mut cases: Vec<f64> = s
        .iter()
        .zip(y)
        .filter(|p| *p.1 == 1)
        .map(|p| *p.0)
        .collect();
    let mut ctrls: Vec<f64> = s
        .iter()
        .zip(y)
        .filter(|p| *p.1 == 0)
        .map(|p| *p.0)
        .collect();
    cases.sort_unstable_by(f64::total_cmp);
    ctrls.sort_unstable_by(f64::total_cmp);
    let (n1, n0) = (cases.len() as f64, ctrls.len() as f64);
    let below = |v: &[f64], x: f64| v.partition_point(|&t| t < x) as f64;
    let upto = |v: &[f64], x: f64| v.partition_point(|&t| t <= x) as f64;
    let v10: Vec<f64> = cases
        .iter()
        .map(|&x| (below(&ctrls, x) + upto(&ctrls, x)) / 2.0 / n0)
        .collect();
    let v01: Vec<f64> = ctrls
        .iter()
        .map(|&x| (2.0 * n1 - below(&cases, x) - upto(&cases, x)) / 2.0 / n1)
        .collect();
    let auc = v10.iter().sum::<f64>() / n1;
    let var = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - 1.0)
    };
    (auc, (var(&v10) / n1 + var(&v01) / n0).sqrt())
}

fn proto(e: EvalError) -> ProtocolError {
    match e {
        EvalError::Protocol(p) => p,
        other => ProtocolError::ApiMisuse(other.to_string()),
    }
}

/// Runs W4 and checks it.
pub fn run(p: &Params) -> Result<Report, BenchError> {
    let n = p.size;
    if n < 8 {
        return Err(BenchError::BadParams(format!("W4 needs n ≥ 8, got {n}")));
    }
    let inp = Inputs::new(n, p.seed);
    let fx = FixedPoint::default_for::<Z128>();
    let enc: Vec<Z128> = fx.encode_slice(&inp.scores)?;
    let lab: Vec<Z128> = inp
        .labels
        .iter()
        .map(|&v| Z128::from_u64(u64::from(v)))
        .collect();
    let (baseline_s, plain) = best_of(BASELINE_REPS, || plain_auc(&inp.scores, &inp.labels));
    let plain = plain.ok_or(BenchError::Unreachable("baseline ran"))?;
    let (auc_ref, se_ref) = reference(&inp.scores, &inp.labels);
    let parties = p.parties;
    let bounds: Vec<usize> = (0..=parties).map(|i| i * n / parties).collect();
    let (t, walls) = best_of_runs(p.reps, || {
        run_timed(parties, p.seed, |ctx| {
            let me = ctx.me();
            let mut s_parts = Vec::with_capacity(parties);
            let mut y_parts = Vec::with_capacity(parties);
            for (i, w) in bounds.windows(2).enumerate() {
                let (lo, hi) = match w {
                    [lo, hi] => (*lo, *hi),
                    _ => return Err(ProtocolError::Unreachable("site bounds")),
                };
                let owner = PartyId(i as u16);
                let own = owner == me;
                let s = enc.get(lo..hi).ok_or(ProtocolError::Unreachable("rows"))?;
                let y = lab.get(lo..hi).ok_or(ProtocolError::Unreachable("rows"))?;
                s_parts.push(arith::input(ctx, owner, own.then_some(s), hi - lo)?);
                y_parts.push(arith::input(ctx, owner, own.then_some(y), hi - lo)?);
            }
            let s = SharedVec::concat(&s_parts.iter().collect::<Vec<_>>());
            let y = SharedVec::concat(&y_parts.iter().collect::<Vec<_>>());
            auc_delong(ctx, &s, &y, SCORE_BITS).map_err(proto)
        })
    })?;
    let out = t
        .parties
        .first()
        .map(|r| r.value.clone())
        .ok_or(BenchError::Unreachable("a party"))?;
    let agree = t.parties.iter().all(|r| r.value == out);
    let d_auc = (out.auc - auc_ref).abs();
    let d_se = (out.se_delong / se_ref - 1.0).abs();
    let mut r = Report::from_timed(
        "W4",
        n,
        &t,
        baseline_s,
        "plaintext AUC (f64 sort + midranks), same data",
    )
    .runs(walls)
    .with("auc", round6(out.auc))
    .with("se_delong", out.se_delong)
    .with("n_cases", out.n_cases)
    .with("n_controls", out.n_controls)
    .with("plain_auc", round6(plain))
    .with("auc_abs_error", d_auc)
    .with("se_rel_error", d_se)
    .with("sort_levels", out.sort.levels)
    .with("sort_comparisons", out.sort.comparisons)
    .with("mpspdz_n", 10_000)
    .with("mpspdz_wall_s", 36.0)
    .with("mpspdz_bytes_party0", 908e6)
    .with("mpspdz_rounds", 14_483)
    .check("parties_agree", agree)
    .check(
        "auc_exact",
        d_auc <= 1e-12 && (plain - auc_ref).abs() <= 1e-12,
    )
    .check("se_delong_1e-9_rel", d_se <= 1e-9);
    r.max_abs_error = d_auc;
    r.tolerance = 1e-12;
    let wall = r.wall_s;
    if n == 10_000 {
        r = r.target("wall_s", 3.6, wall);
    }
    if n == 1_000_000 {
        r = r.target("wall_s", 600.0, wall);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_and_baseline_agree_and_small_w4_is_correct() {
        let inp = Inputs::new(3000, 3);
        let (a, _) = reference(&inp.scores, &inp.labels);
        assert!((plain_auc(&inp.scores, &inp.labels) - a).abs() < 1e-12);
        for parties in [2, 3] {
            let r = run(&Params {
                parties,
                size: 500,
                seed: 4,
                reps: 1,
                data_dir: None,
            })
            .unwrap();
            assert!(r.ok(), "{}", r.to_json());
        }
    }
}
