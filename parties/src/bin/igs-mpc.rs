//! `igs-mpc`: the party binary. Thin: every command calls into the `parties` library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use parties::net::NetOptions;

/// igs-mpc: secure multi-party genetic risk scoring.
#[derive(Parser)]
#[command(name = "igs-mpc", version, about)]
enum Cli {
    /// The demo: pooled statistics of the bundled 3-site data on secret shares, every party in
    /// this process over loopback QUIC with mutual TLS.
    Demo(parties::cli::demo::DemoArgs),
    /// Score a PLINK 1 fileset locally, exactly like `plink2 --score`.
    Score(parties::cli::score::ScoreArgs),
    /// Generate an identity (Ed25519 key, mode 0600, and self-signed certificate; NAME.ed25519
    /// holds the public key for the consortium file's `ed25519`) and print the certificate's
    /// SHA-256 fingerprint for the consortium file.
    Keygen {
        /// Party name ([a-z0-9-]).
        #[arg(long)]
        name: String,
        /// Output directory (NAME.key, NAME.crt).
        #[arg(long)]
        out: PathBuf,
    },
    /// Run every party of the pooled-statistics demo in this process over loopback QUIC.
    SimulateDemo {
        /// Number of sites.
        #[arg(long, default_value_t = 3)]
        parties: usize,
        /// Rows per site.
        #[arg(long, default_value_t = 200)]
        rows: usize,
    },
    /// Run a party daemon (a site or the helper): accepts plans from the consortium's
    /// coordinators, runs approved ones, writes results to its output directory.
    Party {
        /// Site config file (identity, consortium, datasets, output, approvals).
        #[arg(long)]
        config: PathBuf,
    },
    /// Approve a plan at this party: at a site, after the consent, jurisdiction, disclosure,
    /// cohort-size and query-budget checks, sign its hash with the site's identity key; record
    /// it in the approvals file.
    Approve {
        /// The plan file.
        plan: PathBuf,
        /// Site config file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Write a pooled-statistics plan (fresh run id) for every party of a consortium and
    /// print its hash (the one sites sign).
    Plan(parties::cli::PlanArgs),
    /// Coordinator: send a plan to every party daemon, run it if all accept, write the result.
    RunPlan {
        /// The plan file.
        plan: PathBuf,
        /// Consortium file.
        #[arg(long)]
        consortium: PathBuf,
        /// This coordinator's name in the consortium.
        #[arg(long)]
        name: String,
        /// Private key file.
        #[arg(long)]
        key: PathBuf,
        /// Certificate file.
        #[arg(long)]
        cert: PathBuf,
        /// Output directory for the result.
        #[arg(long)]
        out: PathBuf,
        /// Progress timeout in milliseconds.
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
    },
    /// Check or report a run's audit trail offline (OUT/transcripts/ of a run).
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Run one party of the pooled-statistics demo (each party in its own process).
    DemoParty {
        /// Consortium file.
        #[arg(long)]
        consortium: PathBuf,
        /// This party's name in the consortium.
        #[arg(long)]
        name: String,
        /// Private key file.
        #[arg(long)]
        key: PathBuf,
        /// Certificate file.
        #[arg(long)]
        cert: PathBuf,
        /// Session id, 32 hex digits (the same at every party).
        #[arg(long)]
        session: String,
        /// Rows of this site's synthetic table.
        #[arg(long, default_value_t = 200)]
        rows: usize,
        /// Repeat the computation (load tests).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        /// Progress timeout in milliseconds.
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
    },
}

/// `igs-mpc audit …`.
#[derive(clap::Subcommand)]
enum AuditCmd {
    /// Verify plan, approvals, transcripts, tree heads, certificates and the run record;
    /// exit 0 on PASS, else name the file, party, sequence number and rule of the first failure.
    Verify {
        /// The audit directory (OUT/transcripts).
        dir: PathBuf,
    },
    /// Write report.md and report.html for a legal reviewer (verifies first; a failing trail
    /// gets a report that says so, and a non-zero exit).
    Report {
        /// The audit directory (OUT/transcripts).
        dir: PathBuf,
        /// Where to write the two files (default: DIR).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn audit(cmd: AuditCmd) -> Result<(), String> {
    match cmd {
        AuditCmd::Verify { dir } => parties::audit_io::verify_dir(&dir)
            .map(|s| println!("{s}"))
            .map_err(|f| f.to_string()),
        AuditCmd::Report { dir, out } => {
            let (pass, md, html) = parties::audit_io::report_dir(&dir, out.as_deref())?;
            println!("{}\n{}", md.display(), html.display());
            if pass {
                Ok(())
            } else {
                Err(parties::audit_io::verify_dir(&dir)
                    .err()
                    .map_or_else(|| "verification failed".into(), |f| f.to_string()))
            }
        }
    }
}

fn main() -> ExitCode {
    let r = match Cli::parse() {
        Cli::Demo(args) => parties::cli::demo::run(&args).map(|report| println!("{report}")),
        Cli::Score(args) => parties::cli::score::run(&args)
            .map(|s| eprintln!("{s}"))
            .map_err(|e| e.to_string()),
        Cli::Keygen { name, out } => parties::net::identity::keygen(&name, &out)
            .map(|(fp, k, c)| {
                eprintln!(
                    "key: {} (mode 0600)\ncertificate: {}",
                    k.display(),
                    c.display()
                );
                println!("{fp}");
            })
            .map_err(|e| e.to_string()),
        Cli::SimulateDemo { parties, rows } => {
            parties::session::demo::simulate_demo(parties, rows, &NetOptions::default()).map(
                |(secure, plain)| {
                    println!("pooled n = {}", secure.n);
                    println!("mean (secure) = {:?}", secure.mean);
                    println!("mean (plain)  = {:?}", plain.mean);
                    println!("cov  (secure) = {:?}", secure.cov);
                    println!("cov  (plain)  = {:?}", plain.cov);
                },
            )
        }
        Cli::Party { config } => parties::config::site::SiteConfig::load(&config)
            .map_err(|e| e.to_string())
            .and_then(parties::daemon::Daemon::start)
            .and_then(|d| d.serve_forever()),
        Cli::Approve { plan, config } => {
            parties::cli::approve(&plan, &config).map(|s| println!("{s}"))
        }
        Cli::Plan(args) => parties::cli::write_plan(&args).map(|h| println!("{h}")),
        Cli::RunPlan {
            plan,
            consortium,
            name,
            key,
            cert,
            out,
            timeout_ms,
        } => parties::daemon::run_plan(&parties::daemon::RunPlanArgs {
            plan,
            consortium,
            name,
            key,
            cert,
            out,
            timeout: Duration::from_millis(timeout_ms),
        })
        .map(|p| println!("{}", p.display())),
        Cli::Audit(cmd) => audit(cmd),
        Cli::DemoParty {
            consortium,
            name,
            key,
            cert,
            session,
            rows,
            repeat,
            timeout_ms,
        } => match parties::session::parse_session_id(&session) {
            None => Err("--session must be 32 hex digits".into()),
            Some(sid) => {
                let opts = NetOptions {
                    timeout: Duration::from_millis(timeout_ms),
                    ..NetOptions::default()
                };
                parties::session::demo::run_party(parties::session::demo::PartyArgs {
                    consortium,
                    name,
                    key,
                    cert,
                    session: sid,
                    rows,
                    repeat,
                    opts,
                })
                .map(|r| match r {
                    Some(s) => println!("n = {} mean = {:?} cov = {:?}", s.n, s.mean, s.cov),
                    None => println!("dealer done"),
                })
            }
        },
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("igs-mpc: error: {e}");
            ExitCode::FAILURE
        }
    }
}
