//! NET: bulk transfer between two parties over loopback through `parties::net::QuicChannel`
//! (QUIC + mutual TLS 1.3, framed by `mpc_core::wire`), against raw quinn streams on the same
//! loopback measured in the same run (`parties::net::bench::net_throughput`).
//!
//! `wall_s` is the time through QuicChannel, `baseline_s` the time through raw quinn, so
//! `ratio` = raw throughput / our throughput. Target (issue 4): ours ≥ 50% of raw quinn,
//! i.e. ratio ≤ 2. Both ends share this machine's cores.

use super::{Params, Workload};
use crate::error::BenchError;
use crate::report::{Report, Target, round6};

/// Registry entry.
pub const NET: Workload = Workload {
    name: "NET",
    summary: "s bytes through QuicChannel over loopback vs raw quinn, default 1 GiB",
    default_size: 1 << 30,
    smoke_size: 8 << 20,
    run,
};

fn run(p: &Params) -> Result<Report, BenchError> {
    if p.size == 0 {
        return Err(BenchError::BadParams(
            "NET needs a size in bytes > 0".into(),
        ));
    }
    let bytes = p.size as u64;
    let mut best: Option<(f64, f64)> = None;
    for _ in 0..p.reps.max(1) {
        let (ours, raw) = parties::net::bench::net_throughput(bytes)
            .map_err(|e| BenchError::Net(e.to_string()))?;
        best = Some(match best {
            Some((o, r)) => (o.max(ours), r.max(raw)),
            None => (ours, raw),
        });
    }
    let (ours, raw) = best.ok_or(BenchError::Unreachable("no run"))?;
    let wall_s = bytes as f64 / 1e6 / ours.max(1e-9);
    let baseline_s = bytes as f64 / 1e6 / raw.max(1e-9);
    let report = Report {
        workload: "NET",
        parties: 2,
        size: p.size,
        wall_s,
        wall_s_runs: vec![wall_s],
        baseline_s,
        baseline: "raw quinn stream, same loopback, same run",
        bytes_per_party: bytes,
        bytes_each: vec![bytes, 0],
        dealer_bytes: 0,
        request_bytes: 0,
        dealer_requests: 0,
        rounds: 1,
        rounds_each: vec![1, 0],
        setup_rounds: 0,
        prep_rounds: 0,
        max_abs_error: 0.0,
        tolerance: 0.0,
        extra: Vec::new(),
        targets: vec![Target {
            metric: "ratio",
            max: 2.0,
            value: wall_s / baseline_s,
        }],
        checks: Vec::new(),
    };
    Ok(report
        .with("ours_mb_s", round6(ours))
        .with("raw_quinn_mb_s", round6(raw))
        .with("ours_over_raw", round6(ours / raw.max(1e-9))))
}
