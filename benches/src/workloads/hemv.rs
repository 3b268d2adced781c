//! HEMV / HEMV-DEALER / HEW5: a site-private dosage matrix (0..2, at party 0) times a shared
//! vector (fixed-point f = 16 weights in [−1, 1) input by party 1) in Z_2^64, over the HE path
//! (`protocols::he::he_matvec`) or the dealer path (`arith::private_matvec`). Stand-ins for the
//! issue's W1 (`--path he|dealer`, s×s) and W5 (Enc(w), rows = s/10, cols = s) until W1 lands;
//! the full sizes are s = 10,000.
//!
//! Baseline: one single-thread plaintext u64 mat-vec of the same shape
//! (`kernel::matmul_single_thread`), best of [`BASELINE_REPS`]. Check: the reconstructed
//! result equals the plaintext ring product exactly (tolerance 0).

use mpc_core::fixed::FixedPoint;
use mpc_core::party::PartyId;
use mpc_core::prg::Prg;
use mpc_core::ring::Z64;
use mpc_core::share::SharedVec;
use protocols::he::{MatvecPath, private_matvec_via};
use protocols::testing::reconstruct;
use protocols::{arith, kernel};

use super::{BASELINE_REPS, Params, Workload, best_of};
use crate::data;
use crate::error::BenchError;
use crate::harness::{Timed, best_of_runs, run_timed};
use crate::report::Report;

/// HE path, s×s.
pub const HEMV: Workload = Workload {
    name: "HEMV",
    summary: "private s×s dosage matrix × shared s-vector over HE (W1 --path he stand-in)",
    default_size: 10_000,
    smoke_size: 40,
    run: |p| run(p, "HEMV", MatvecPath::He, p.size, p.size),
};

/// Dealer path, s×s.
pub const HEMV_DEALER: Workload = Workload {
    name: "HEMV-DEALER",
    summary: "private s×s dosage matrix × shared s-vector over Beaver triples (W1 --path dealer)",
    default_size: 10_000,
    smoke_size: 40,
    run: |p| run(p, "HEMV-DEALER", MatvecPath::Dealer, p.size, p.size),
};

/// HE path, (s/10)×s (W5 shape).
pub const HEW5: Workload = Workload {
    name: "HEW5",
    summary: "private (s/10)×s dosage matrix × shared s-vector over HE (W5 shape)",
    default_size: 10_000,
    smoke_size: 40,
    run: |p| run(p, "HEW5", MatvecPath::He, (p.size / 10).max(1), p.size),
};

fn secure(
    x: &[Z64],
    w: &[Z64],
    path: MatvecPath,
    rows: usize,
    cols: usize,
    parties: usize,
    seed: u64,
) -> Result<Timed<SharedVec<Z64>>, BenchError> {
    let (p0, p1) = (PartyId(0), PartyId(1));
    run_timed(parties, seed, |ctx| {
        let me = ctx.me();
        let wv = arith::input(ctx, p1, (me == p1).then_some(w), cols)?;
        private_matvec_via(ctx, path, p0, (me == p0).then_some(x), rows, cols, &wv)
    })
}

fn run(
    p: &Params,
    name: &'static str,
    path: MatvecPath,
    rows: usize,
    cols: usize,
) -> Result<Report, BenchError> {
    let fx = FixedPoint::default_for::<Z64>();
    let mut prg = Prg::insecure_from_u64(p.seed);
    let x: Vec<Z64> = (0..rows * cols).map(|_| Z64(prg.next_u64() % 3)).collect();
    let w = fx.encode_slice(&data::uniform_reals(
        p.seed.wrapping_add(1),
        cols,
        -1.0,
        1.0,
    ))?;
    let (baseline_s, ring) = best_of(BASELINE_REPS, || {
        kernel::matmul_single_thread(&x, &w, rows, cols, 1)
    });
    let ring = ring.ok_or(BenchError::Unreachable("baseline ran"))?;
    let (t, walls) = best_of_runs(p.reps, || {
        secure(&x, &w, path, rows, cols, p.parties, p.seed)
    })?;
    // Outside the timed run: reconstruct to compare (benchmark check only).
    let shares: Vec<Vec<Z64>> = t
        .parties
        .iter()
        .map(|r| r.value.expose_share().to_vec())
        .collect();
    let exact = reconstruct(&shares) == ring;
    Ok(Report::from_timed(
        name,
        p.size,
        &t,
        baseline_s,
        "kernel::matmul_single_thread, u64 mat-vec, same shape",
    )
    .runs(walls)
    .with("rows", rows)
    .with("cols", cols)
    .with("path", format!("{path:?}"))
    .check("equals_ring_product", exact))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_runs_are_exact() {
        for w in [HEMV, HEMV_DEALER, HEW5] {
            let r = (w.run)(&Params {
                parties: 3,
                size: 50,
                seed: 3,
                reps: 1,
                data_dir: None,
            })
            .unwrap();
            assert!(r.ok(), "{}", w.name);
        }
    }
}
