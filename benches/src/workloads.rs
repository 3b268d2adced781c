//! The registry of named workloads.
//!
//! Adding a workload is one function and one line: write `fn run(&Params) -> Result<Report,
//! BenchError>` in a module under `workloads/` (inputs from [`crate::data`], the protocol inside
//! [`crate::harness::run_timed`], a plaintext baseline and reference in the same run), and list
//! it in [`WORKLOADS`]. Planned: `W5` (issue 8).

pub mod elementwise;
pub mod fit;
pub mod g1;
pub mod hemv;
pub mod net;
pub mod s1;
pub mod t12;
pub mod w1;
pub mod w2;
pub mod w3;
pub mod w4;

use crate::error::BenchError;
use crate::report::Report;

/// Parameters of one workload run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    /// Computing parties (the dealer is one more thread).
    pub parties: usize,
    /// The workload's size parameter.
    pub size: usize,
    /// Seed for inputs and every party's PRG (benchmarks only).
    pub seed: u64,
    /// Secure runs; the report gives the fastest as `wall_s` and all in `wall_s_runs`.
    pub reps: usize,
    /// A dataset directory, for the workloads that read site data (G1).
    pub data_dir: Option<std::path::PathBuf>,
}

/// A named workload.
pub struct Workload {
    /// Name on the command line (matched case-insensitively).
    pub name: &'static str,
    /// One line: what it computes and what `size` means.
    pub summary: &'static str,
    /// Size of a full run.
    pub default_size: usize,
    /// A tiny size for the CI smoke pass.
    pub smoke_size: usize,
    /// Runs it.
    pub run: fn(&Params) -> Result<Report, BenchError>,
}

/// Every workload, in the order `--smoke` runs them.
pub const WORKLOADS: &[Workload] = &[
    w1::W1,
    w1::W1_DEALER,
    w2::W2,
    w3::W3,
    elementwise::MUL,
    elementwise::CMP,
    elementwise::SIGMOID,
    elementwise::RECIP,
    net::NET,
    g1::G1,
    w4::W4,
    hemv::HEMV,
    hemv::HEMV_DEALER,
    hemv::HEW5,
    fit::FIT,
    t12::T12,
    s1::S1,
];

/// The workload called `name` (case-insensitive).
pub fn find(name: &str) -> Option<&'static Workload> {
    WORKLOADS.iter().find(|w| w.name.eq_ignore_ascii_case(name))
}

/// The smallest of `reps` timings of `f` (seconds) and the last result: the plaintext
/// baselines take the best of a few runs, which makes `ratio` conservative.
pub fn best_of<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, Option<T>) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..reps.max(1) {
        let t = std::time::Instant::now();
        let v = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(std::hint::black_box(v));
    }
    (best, out)
}

/// Number of repetitions of plaintext baselines.
pub const BASELINE_REPS: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for w in WORKLOADS {
            assert_eq!(find(&w.name.to_lowercase()).unwrap().name, w.name);
            // Size 0 means "all of the data" for the workloads that read a dataset (G1).
            assert!(w.default_size == 0 || (w.smoke_size > 0 && w.smoke_size <= w.default_size));
        }
        assert!(find("nope").is_none());
        let mut names: Vec<_> = WORKLOADS.iter().map(|w| w.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), WORKLOADS.len());
    }
}
