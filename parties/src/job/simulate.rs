//! `igs-mpc simulate JOB --out DIR [--data-dir DIR]`: every party of a job in this process,
//! over loopback QUIC with mutual TLS, through the same code as separate daemons.
//!
//! For each site of the job, the helper and a coordinator it writes what an operator would:
//! an identity (`DIR/keys`, key mode 0600; reused on a rerun), a consortium file with
//! ephemeral 127.0.0.1 ports, a site config per party (`DIR/parties/<name>/site.toml`, the
//! catalogue naming the site's files), and per step a plan (`DIR/plans/<step>.plan.toml`).
//! Every party's approvals file records each plan as AUTO-APPROVED by the simulation (no
//! operator reviewed it). Then it starts one [`Daemon`] per party (the `JobState` machine of
//! `igs-mpc party`, loaded from those files) and runs each step with the coordinator of
//! `igs-mpc run-plan`: results are written atomically by the coordinator
//! (`DIR/results/`) and by every site (`DIR/parties/<site>/out/`). A failed step leaves no
//! result file.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::site::SiteConfig;
use crate::config::{Consortium, CoordinatorEntry, PartyEntry, Role};
use crate::daemon::{Daemon, JobState, RunPlanArgs, run_plan};
use crate::fsio::write_atomic;
use crate::job::{JobFile, JobSite, Step};
use crate::net::Identity;
use crate::plan::Job;

/// The catalogue name of each site's dataset in a simulation.
pub const DATASET: &str = "data";
/// The helper's name.
pub const HELPER: &str = "helper";
/// The coordinator's name.
pub const COORDINATOR: &str = "coordinator";
/// The jurisdiction every simulated party declares (one machine, one jurisdiction).
pub const JURISDICTION: &str = "local";
/// The consent code of every simulated site's dataset: general research use (DUO:0000042).
pub const SIMULATION_DUO: &str = "GRU";
/// What the approvals file says of a simulated approval.
pub const AUTO_APPROVED: &str =
    "AUTO-APPROVED by `igs-mpc simulate` (a simulation: no operator reviewed this plan)";

/// Arguments of `igs-mpc simulate`.
#[derive(Clone, Debug, clap::Args)]
pub struct SimulateArgs {
    /// The job file (TOML; see `examples/pooled-stats.toml`).
    pub job: PathBuf,
    /// Output directory: keys, configs, plans, approvals and results of the simulated parties.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Data directory (overrides the job file's `data_dir`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Progress timeout of every party, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
}

/// One finished step.
#[derive(Clone, Debug)]
pub struct StepReport {
    /// The step's name.
    pub name: String,
    /// Its plan hash (hex).
    pub plan_sha256: String,
    /// The coordinator's result file.
    pub result: PathBuf,
    /// Each site's copy.
    pub site_results: Vec<(String, PathBuf)>,
    /// The result document.
    pub document: serde_json::Value,
}

/// A finished simulation.
#[derive(Clone, Debug)]
pub struct Report {
    /// The data directory used.
    pub data_dir: PathBuf,
    /// Site names, in session order.
    pub sites: Vec<String>,
    /// The steps.
    pub steps: Vec<StepReport>,
    /// Wall time (setup, every step, shutdown).
    pub seconds: f64,
}

impl core::fmt::Display for Report {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        writeln!(f, "igs-mpc simulate: data {}", self.data_dir.display())?;
        writeln!(
            f,
            "parties: sites {}; helper `{HELPER}`; coordinator `{COORDINATOR}` (one process, \
             loopback QUIC + mutual TLS 1.3)\nplans: {AUTO_APPROVED}",
            self.sites.join(", ")
        )?;
        for s in &self.steps {
            let d = &s.document;
            writeln!(
                f,
                "step {} ({}, plan {}): n = {}",
                s.name,
                d.get("job").and_then(|j| j.as_str()).unwrap_or("?"),
                s.plan_sha256,
                d.get("n").unwrap_or(&serde_json::Value::Null)
            )?;
            if let Some(mean) = d.get("mean").and_then(|m| m.as_object()) {
                for (c, m) in mean {
                    writeln!(f, "  mean {c} = {m}")?;
                }
            }
            writeln!(f, "  result {}", s.result.display())?;
        }
        write!(f, "time: {:.2} s", self.seconds)
    }
}

fn io<E: core::fmt::Display>(what: &Path) -> impl Fn(E) -> String + '_ {
    move |e| format!("{}: {e}", what.display())
}

/// An existing identity in `dir`, or a new one (`igs-mpc keygen`).
fn identity(dir: &Path, name: &str) -> Result<(Identity, PathBuf, PathBuf), String> {
    let (key, cert) = Identity::paths(dir, name);
    if !key.exists() {
        crate::net::identity::keygen(name, dir).map_err(|e| format!("keygen {name}: {e}"))?;
    }
    let id = Identity::load(name, &key, &cert).map_err(io(&key))?;
    Ok((id, key, cert))
}

/// The text of a party's site config.
fn site_toml(
    name: &str,
    key: &Path,
    cert: &Path,
    consortium: &Path,
    dir: &Path,
    timeout: Duration,
    site: Option<&JobSite>,
) -> Result<String, String> {
    let path = |p: &Path| toml::Value::String(p.to_string_lossy().into_owned());
    let mut t = toml::Table::new();
    t.insert("name".into(), name.into());
    t.insert("key".into(), path(key));
    t.insert("cert".into(), path(cert));
    t.insert("consortium".into(), path(consortium));
    t.insert("output_dir".into(), path(&dir.join("out")));
    t.insert("approvals_file".into(), path(&dir.join("approvals.toml")));
    t.insert(
        "timeout_ms".into(),
        toml::Value::Integer(i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX)),
    );
    if let Some(s) = site {
        let mut ds = toml::Table::new();
        if let Some(p) = &s.pheno {
            ds.insert("pheno".into(), path(p));
        }
        if let Some(p) = &s.bfile {
            ds.insert("bfile".into(), path(p));
        }
        ds.insert(
            "duo".into(),
            toml::Value::Array(vec![SIMULATION_DUO.into()]),
        );
        let mut cat = toml::Table::new();
        cat.insert(DATASET.into(), ds.into());
        t.insert("datasets".into(), cat.into());
    }
    toml::to_string(&t).map_err(|e| e.to_string())
}

/// Runs a job with every party in this process (see the module docs).
pub fn run(a: &SimulateArgs) -> Result<Report, String> {
    let started = Instant::now();
    let job = JobFile::load(&a.job).map_err(|e| e.to_string())?;
    let data_dir = a
        .data_dir
        .clone()
        .or_else(|| job.data_dir.clone())
        .ok_or_else(|| format!("{}: no data_dir: give --data-dir", a.job.display()))?;
    let data_dir = data_dir.canonicalize().map_err(io(&data_dir))?;
    let sites = job.resolve_sites(&data_dir).map_err(|e| e.to_string())?;
    check_sites(&job.steps, &sites)?;
    let timeout = Duration::from_millis(a.timeout_ms);
    std::fs::create_dir_all(&a.out).map_err(io(&a.out))?;
    let out = a.out.canonicalize().map_err(io(&a.out))?;
    let keys = out.join("keys");

    // Identities, sockets on ephemeral loopback ports, the consortium file.
    let mut parties: Vec<(String, Role, Option<&JobSite>)> = sites
        .iter()
        .map(|s| (s.name.clone(), Role::Site, Some(s)))
        .collect();
    parties.push((HELPER.into(), Role::Helper, None));
    let mut entries = Vec::new();
    let mut sockets = Vec::new();
    let mut key_files = Vec::new();
    for (name, role, _) in &parties {
        let (id, key, cert) = identity(&keys, name)?;
        let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let address = socket.local_addr().map_err(|e| e.to_string())?;
        entries.push(PartyEntry {
            name: name.clone(),
            role: *role,
            address,
            cert_sha256: id.fingerprint(),
        });
        sockets.push(socket);
        key_files.push((key, cert));
    }
    let (coord_id, coord_key, coord_cert) = identity(&keys, COORDINATOR)?;
    let consortium = Consortium::with_coordinators(
        entries,
        vec![CoordinatorEntry {
            name: COORDINATOR.into(),
            cert_sha256: coord_id.fingerprint(),
        }],
    )
    .map_err(|e| e.to_string())?;
    // Signing keys (`NAME.ed25519`, written by keygen) and one jurisdiction for every party:
    // the plans pin them and the sites sign their approvals with them.
    let consortium_file = out.join("consortium.toml");
    let mut table: toml::Table = toml::from_str(&consortium.to_toml().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    if let Some(toml::Value::Array(ps)) = table.get_mut("party") {
        for p in ps.iter_mut() {
            let Some(t) = p.as_table_mut() else { continue };
            let name = t
                .get("name")
                .and_then(toml::Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let kp = keys.join(format!("{name}.ed25519"));
            let hex = std::fs::read_to_string(&kp).map_err(io(&kp))?;
            t.insert("ed25519".into(), hex.trim().into());
            t.insert("jurisdiction".into(), JURISDICTION.into());
        }
    }
    let text = toml::to_string(&table).map_err(|e| e.to_string())?;
    write_atomic(&consortium_file, text.as_bytes()).map_err(io(&consortium_file))?;
    Consortium::load(&consortium_file).map_err(io(&consortium_file))?;

    // Site configs, as an operator would write them, loaded back through SiteConfig.
    let mut configs = Vec::new();
    let mut config_paths = Vec::new();
    let mut cohort = Vec::new();
    for ((name, _, site), (key, cert)) in parties.iter().zip(&key_files) {
        let dir = out.join("parties").join(name);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = dir.join("site.toml");
        let text = site_toml(name, key, cert, &consortium_file, &dir, timeout, *site)?;
        write_atomic(&path, text.as_bytes()).map_err(io(&path))?;
        configs.push(SiteConfig::load(&path).map_err(io(&path))?);
        config_paths.push(path);
        if let Some(p) = site.and_then(|s| s.pheno.as_ref()) {
            let rows = crate::data::pheno::read_pheno(p)
                .map_err(|e| e.to_string())?
                .n_rows();
            cohort.push(format!("{name}={rows}"));
        }
    }

    // One plan per step, auto-approved at every party and recorded as such.
    let plans_dir = out.join("plans");
    std::fs::create_dir_all(&plans_dir).map_err(io(&plans_dir))?;
    let mut plans = Vec::new();
    for step in &job.steps {
        let path = plans_dir.join(format!("{}.plan.toml", step.name));
        let hash = match step.kind {
            Job::PooledStats => crate::cli::write_plan(&crate::cli::PlanArgs {
                consortium: consortium_file.clone(),
                dataset: DATASET.into(),
                columns: step.columns.join(","),
                n: cohort.join(","),
                duo: SIMULATION_DUO.into(),
                purpose: format!("{AUTO_APPROVED}: pooled summary statistics"),
                k: 5,
                valid_days: 1,
                coordinators: None,
                repeat: 1,
                out: path.clone(),
            }),
        }
        .map_err(|e| format!("step {}: {e}", step.name))?;
        // Every party approves through the operator's own command (the site checks, then
        // signs with its identity key); the purpose records that a simulation approved it.
        // Every party decides; a refusal anywhere stops the step before any traffic.
        let refusals: Vec<String> = parties
            .iter()
            .zip(&config_paths)
            .filter_map(|((name, _, _), cfg)| {
                crate::cli::approve(&path, cfg)
                    .err()
                    .map(|e| format!("{name}: {e}"))
            })
            .collect();
        if !refusals.is_empty() {
            return Err(format!(
                "step {}: refused at approval by {} part{}: {}",
                step.name,
                refusals.len(),
                if refusals.len() == 1 { "y" } else { "ies" },
                refusals.join("; ")
            ));
        }
        tracing::info!(step = %step.name, plan = %hash, "plan auto-approved at every party (simulation)");
        plans.push((path, hash.to_string()));
    }

    // The daemons (the `igs-mpc party` code), then each step through the coordinator.
    let daemons = configs
        .into_iter()
        .zip(sockets)
        .map(|(cfg, s)| Daemon::start_with_socket(cfg, s).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()?;
    let mut steps = Vec::new();
    for (step, (plan_path, hash)) in job.steps.iter().zip(plans) {
        let r = run_step(
            &daemons,
            &parties,
            &RunPlanArgs {
                plan: plan_path,
                consortium: consortium_file.clone(),
                name: COORDINATOR.into(),
                key: coord_key.clone(),
                cert: coord_cert.clone(),
                out: out.join("results"),
                timeout,
            },
        );
        match r {
            Ok((result, site_results)) => {
                let text = std::fs::read_to_string(&result).map_err(io(&result))?;
                let document = serde_json::from_str(&text).map_err(io(&result))?;
                steps.push(StepReport {
                    name: step.name.clone(),
                    plan_sha256: hash,
                    result,
                    site_results,
                    document,
                });
            }
            Err(e) => return Err(format!("step {}: {e}", step.name)),
        }
    }
    for d in daemons {
        if let Ok(d) = Arc::try_unwrap(d) {
            d.shutdown();
        }
    }
    Ok(Report {
        data_dir,
        sites: sites.into_iter().map(|s| s.name).collect(),
        steps,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Every step's data is present at every site; no site takes a reserved name.
fn check_sites(steps: &[Step], sites: &[JobSite]) -> Result<(), String> {
    for s in sites {
        if s.name == HELPER || s.name == COORDINATOR {
            return Err(format!(
                "site name `{}` is reserved for the simulation's own parties",
                s.name
            ));
        }
        for step in steps {
            match step.kind {
                Job::PooledStats if s.pheno.is_none() => {
                    return Err(format!(
                        "step {} needs a phenotype table at site {}",
                        step.name, s.name
                    ));
                }
                Job::PooledStats => {}
            }
        }
    }
    Ok(())
}

type SiteResults = Vec<(String, PathBuf)>;

/// One step: every daemon serves one job on its own thread while the coordinator drives it.
fn run_step(
    daemons: &[Arc<Daemon>],
    parties: &[(String, Role, Option<&JobSite>)],
    args: &RunPlanArgs,
) -> Result<(PathBuf, SiteResults), String> {
    let mut handles = Vec::new();
    for (d, (name, _, _)) in daemons.iter().zip(parties) {
        let d = Arc::clone(d);
        let h = std::thread::Builder::new()
            .name(format!("daemon-{name}"))
            .stack_size(16 << 20)
            .spawn(move || d.serve_one())
            .map_err(|e| format!("cannot start the daemon of {name}: {e}"))?;
        handles.push((name.clone(), h));
    }
    let result = match run_plan(args) {
        Ok(p) => p,
        Err(e) => {
            // Every daemon that received the plan ends within 2T (cancel, abort or lost link);
            // one that never got it would wait for a coordinator forever: leave it (the
            // process ends).
            let deadline = Instant::now() + 2 * args.timeout + Duration::from_secs(2);
            while Instant::now() < deadline && handles.iter().any(|(_, h)| !h.is_finished()) {
                std::thread::sleep(Duration::from_millis(20));
            }
            return Err(e);
        }
    };
    let mut site_results = Vec::new();
    for (name, h) in handles {
        match h.join() {
            Ok(Ok(JobState::Finished(f))) => {
                if let Some(p) = f.output {
                    site_results.push((name, p));
                }
            }
            Ok(Ok(JobState::Aborted(a))) => {
                return Err(format!("{name} aborted in state {}: {}", a.state, a.reason));
            }
            Ok(Ok(_)) => return Err(format!("{name} stopped before the end of the job")),
            Ok(Err(e)) => return Err(format!("{name}: {e}")),
            Err(_) => return Err(format!("the daemon thread of {name} panicked")),
        }
    }
    Ok((result, site_results))
}
