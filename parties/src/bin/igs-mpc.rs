//! `igs-mpc`: the user binary. Argument parsing only; the logic lives in [`parties::cli`].

use std::process::ExitCode;

use clap::Parser;

/// igs-mpc: cross-border polygenic risk scoring.
#[derive(Debug, Parser)]
#[command(name = "igs-mpc", version, about)]
enum Cli {
    /// Score a PLINK 1 fileset locally, exactly like `plink2 --score`.
    Score(parties::cli::score::ScoreArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse() {
        Cli::Score(args) => parties::cli::score::run(&args).map(|s| s.to_string()),
    };
    match result {
        Ok(summary) => {
            eprintln!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("igs-mpc: error: {e}");
            ExitCode::FAILURE
        }
    }
}
