//! `workloads`: runs named benchmark workloads and prints one JSON line per workload.
//!
//! ```text
//! cargo run --release -p benches --bin workloads -- W2 MUL --parties 3
//! cargo run --release -p benches --bin workloads -- --smoke     # CI: every workload, tiny
//! ```
//!
//! Exit status: 0 if every result matched its plaintext reference; 1 if any did not; 2 for a
//! usage error, an unknown or not-yet-available workload that was asked for by name, or a
//! protocol failure. Targets missed do not change the exit status (they are in the JSON).

use std::process::ExitCode;

use benches::BenchError;
use benches::workloads::{self, Params, WORKLOADS};
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "workloads",
    about = "Runs igs-mpc benchmark workloads in memory (N parties + a dealer as threads) and \
             prints one JSON line each"
)]
struct Args {
    /// Workloads to run (case-insensitive); none means every available one. See --list.
    names: Vec<String>,
    /// Computing parties (the dealer is one more thread).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(2..=16))]
    parties: u16,
    /// Run at a tiny size, fast; exit non-zero if any result is wrong (CI).
    #[arg(long)]
    smoke: bool,
    /// Size override (elements for MUL/CMP/…, s for W2's s×s·s×s/10 product).
    #[arg(long = "n", value_name = "SIZE")]
    n: Option<usize>,
    /// Seed for inputs and the parties' PRGs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Secure runs per workload: `wall_s` is the fastest, `wall_s_runs` lists all.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    reps: u16,
    /// Dataset directory for the workloads that read site data (G1; default the bundled
    /// data/small).
    #[arg(long = "data", value_name = "DIR")]
    data: Option<std::path::PathBuf>,
    /// Path of W1's site-private mat-vec: `he` (default, runs `W1`) or `dealer` (runs
    /// `W1-DEALER`; ~15 GB RAM at the default size).
    #[arg(long, value_parser = ["he", "dealer"], default_value = "he")]
    path: String,
    /// List the workloads and exit.
    #[arg(long)]
    list: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list {
        for w in WORKLOADS {
            println!(
                "{:<8} default size {:>8}  {}",
                w.name, w.default_size, w.summary
            );
        }
        return ExitCode::SUCCESS;
    }
    let explicit = !args.names.is_empty();
    let mut selected = Vec::new();
    for name in &args.names {
        let name = if name.eq_ignore_ascii_case("W1") && args.path == "dealer" {
            "W1-DEALER"
        } else {
            name.as_str()
        };
        match workloads::find(name) {
            Some(w) => selected.push(w),
            None => {
                eprintln!("unknown workload {name:?}; known: {}", known());
                return ExitCode::from(2);
            }
        }
    }
    if !explicit {
        selected = WORKLOADS.iter().collect();
    }
    if args.n == Some(0) {
        eprintln!("--n must be positive");
        return ExitCode::from(2);
    }
    let mut wrong = false;
    let mut failed = false;
    for w in selected {
        let size = args.n.unwrap_or(if args.smoke {
            w.smoke_size
        } else {
            w.default_size
        });
        let p = Params {
            parties: usize::from(args.parties),
            size,
            seed: args.seed,
            reps: usize::from(args.reps),
            data_dir: args.data.clone(),
        };
        match (w.run)(&p) {
            Ok(mut r) => {
                r.extra.extend(benches::report::machine_fields());
                println!("{}", r.to_json());
                if !r.ok() {
                    eprintln!(
                        "{}: WRONG RESULT (max_abs_error {} > tolerance {}, checks {:?})",
                        w.name, r.max_abs_error, r.tolerance, r.checks
                    );
                    wrong = true;
                }
            }
            Err(e @ BenchError::Unavailable { .. }) if !explicit => {
                eprintln!("skipped: {e}");
            }
            Err(e) => {
                eprintln!("{}: FAILED: {e}", w.name);
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(2)
    } else if wrong {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn known() -> String {
    WORKLOADS
        .iter()
        .map(|w| w.name)
        .collect::<Vec<_>>()
        .join(", ")
}
