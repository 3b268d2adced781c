//! `igs-mpc`: the party binary. Thin: every command calls into the `parties` library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use parties::logging::LogFormat;
use parties::net::NetOptions;
use parties::session::SessionRng;

/// igs-mpc: secure multi-party genetic risk scoring.
#[derive(Parser)]
#[command(name = "igs-mpc", version, about)]
struct Cli {
    /// Log only warnings and errors (stderr).
    #[arg(long, global = true)]
    quiet: bool,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// The demo: the IGS pipeline (examples/igs-small.toml) on the bundled 3-site data under
    /// a signed plan, every party in this process over loopback QUIC with mutual TLS; writes
    /// results.json, plots, report.html and every party's transcript.
    Demo(parties::pipeline::DemoArgs),
    /// The first demo: pooled mean and covariance of phenotype columns of the bundled data on
    /// secret shares, with its audit trail.
    PooledDemo(parties::cli::demo::DemoArgs),
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
    /// Run every party of a job (sites, helper, coordinator) in this process over loopback
    /// QUIC, through the daemon and coordinator code; plans are auto-approved and recorded as
    /// such. Prints the results.
    Simulate(parties::job::simulate::SimulateArgs),
    /// The IGS pipeline (score → linear/logistic/Cox IGS → pooled and per-site evaluation)
    /// of a job file (default: the bundled examples/igs-small.toml on the bundled data), every
    /// party in this process over loopback QUIC; writes results.json, plots and report.html.
    Pipeline(parties::pipeline::PipelineArgs),
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
        /// INSECURE, TEST ONLY: derive this party's protocol randomness (PRG, dealer seed,
        /// pairwise seeds) from this fixed value (up to 16 hex digits) instead of the operating
        /// system, so separate processes reproduce an in-memory run bit for bit. Anyone who
        /// knows the value can reconstruct every share. The daemon (`party`) has no such
        /// option.
        #[arg(long, value_name = "HEX")]
        insecure_test_seed: Option<String>,
    },
}

/// Parses `--insecure-test-seed`: 1 to 16 hex digits.
fn test_seed(hex: Option<&str>) -> Result<SessionRng, String> {
    match hex {
        None => Ok(SessionRng::Os),
        Some(h) if (1..=16).contains(&h.len()) => u64::from_str_radix(h, 16)
            .map(SessionRng::InsecureSeed)
            .map_err(|_| "--insecure-test-seed: 1 to 16 hex digits".into()),
        Some(_) => Err("--insecure-test-seed: 1 to 16 hex digits".into()),
    }
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
    let cli = Cli::parse();
    if let Err(e) = parties::logging::init(cli.quiet, cli.log_format) {
        eprintln!("igs-mpc: {e}");
    }
    let r = match cli.cmd {
        Cmd::Demo(args) => {
            parties::pipeline::demo(&args, cli.quiet).map(|report| println!("{report}"))
        }
        Cmd::PooledDemo(args) => parties::cli::demo::run(&args).map(|report| println!("{report}")),
        Cmd::Score(args) => parties::cli::score::run(&args)
            .map(|s| eprintln!("{s}"))
            .map_err(|e| e.to_string()),
        Cmd::Keygen { name, out } => parties::net::identity::keygen(&name, &out)
            .map(|(fp, k, c)| {
                eprintln!(
                    "key: {} (mode 0600)\ncertificate: {}",
                    k.display(),
                    c.display()
                );
                println!("{fp}");
            })
            .map_err(|e| e.to_string()),
        Cmd::Simulate(args) => simulate(&args, cli.quiet),
        Cmd::Pipeline(args) => parties::pipeline::main(&args, cli.quiet).map(|_| ()),
        Cmd::Party { config } => parties::config::site::SiteConfig::load(&config)
            .map_err(|e| e.to_string())
            .and_then(parties::daemon::Daemon::start)
            .and_then(|d| d.serve_forever()),
        Cmd::Approve { plan, config } => {
            parties::cli::approve(&plan, &config).map(|s| println!("{s}"))
        }
        Cmd::Plan(args) => parties::cli::write_plan(&args).map(|h| println!("{h}")),
        Cmd::RunPlan {
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
        Cmd::Audit(cmd) => audit(cmd),
        Cmd::DemoParty {
            consortium,
            name,
            key,
            cert,
            session,
            rows,
            repeat,
            timeout_ms,
            insecure_test_seed,
        } => match (
            parties::session::parse_session_id(&session),
            test_seed(insecure_test_seed.as_deref()),
        ) {
            (None, _) => Err("--session must be 32 hex digits".into()),
            (_, Err(e)) => Err(e),
            (Some(sid), Ok(rng)) => {
                let opts = NetOptions {
                    timeout: Duration::from_millis(timeout_ms),
                    ..NetOptions::default()
                };
                parties::session::demo::run_party(parties::session::demo::PartyArgs {
                    consortium,
                    name: name.clone(),
                    key,
                    cert,
                    session: sid,
                    rows,
                    repeat,
                    opts,
                    rng,
                })
                .map(|o| println!("{}", parties::session::demo::outcome_json(&name, &o)))
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

/// `igs-mpc simulate JOB`: an IGS pipeline job (one with `[outcomes]`) runs through the
/// pipeline under a signed plan; a pooled-statistics job through the daemons.
fn simulate(args: &parties::job::simulate::SimulateArgs, quiet: bool) -> Result<(), String> {
    let text =
        std::fs::read_to_string(&args.job).map_err(|e| format!("{}: {e}", args.job.display()))?;
    if !parties::pipeline::spec::PipelineJob::is_pipeline(&text) {
        return parties::job::simulate::run(args).map(|r| println!("{r}"));
    }
    let p = parties::pipeline::PipelineArgs {
        job: Some(args.job.clone()),
        out: Some(args.out.clone()),
        data_dir: args.data_dir.clone(),
        timeout_ms: args.timeout_ms.max(60_000),
        json: false,
        validate: false,
    };
    parties::pipeline::main(&p, quiet).map(|_| ())
}
