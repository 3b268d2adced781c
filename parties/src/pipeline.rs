//! The IGS pipeline job (issue 10): `igs-mpc pipeline [JOB] --out DIR [--data-dir DIR]` runs
//! a job file like `examples/igs-small.toml` with every party in this process over loopback
//! QUIC with mutual TLS (the session code of separate processes), and writes `results.json`,
//! SVG plots and `report.html` into `DIR` atomically.
//!
//! What runs today, per PGS Catalog file in `<data_dir>/pgs/`, in one secure session:
//! secret-weight scoring (the first site holds the weights as the model owner), pooled
//! standardisation, the linear, logistic and Cox (Breslow) IGS models, and the pooled and
//! per-site evaluation (DeLong AUC of PRS and IGS, calibration slope/intercept,
//! Hosmer–Lemeshow by decile). The shared scores and the IGS linear predictor stay secret
//! between those steps; only the model and evaluation statistics are opened, to every
//! computing party. Each party thread reads only its own site's loaded data.
//!
//! Not yet (recorded in `results.json` → `steps` as not run): `qc`, `gwas` and `fit` steps,
//! the signed plan and site daemons, transcripts, and scoring with fitted weights.

pub mod plots;
pub mod report;
pub mod site;
pub mod spec;

use std::path::{Path, PathBuf};
use std::time::Instant;

use circuits::cox::{SiteSurvival, cox_breslow};
use circuits::evaluate::{HlTable, auc_delong, calibration, hosmer_lemeshow};
use circuits::score::{self, ScorePlan, SiteCovariates, SiteDosages};
use mpc_core::fixed::FixedPoint;
use mpc_core::party::PartyId;
use mpc_core::ring::{Ring, Z128};
use mpc_core::share::SharedVec;
use mpc_core::wire::SessionId;
use protocols::arith;
use protocols::error::ProtocolError;
use serde_json::{Value, json};

use crate::data::pgs::read_scoring_file;
use crate::net::NetOptions;
use crate::session::{Outcome, SessionRng};

use self::site::Site;
use self::spec::{PipelineJob, StepKind};

/// |score| < 2^20 at f = 40: the sort's public key bound.
const SCORE_BITS: u32 = 60;
/// Times below 2^20 years.
const TIME_BITS: u32 = 60;
/// Newton steps of the calibration models.
const CALIBRATION_ITERATIONS: usize = 10;
/// Model term names before the covariates.
const TERMS: [&str; 2] = ["const", "prs_z"];
/// 97.5% normal quantile.
const Z975: f64 = 1.959_963_984_540_054;

/// What the pipeline's security model is, as `results.json` states it.
pub const SECURITY_MODEL: &str = "semi-honest; additive secret sharing over Z_2^128 among the \
    sites with a helper as trusted dealer of correlated randomness (it never sees inputs or \
    outputs); mutually authenticated TLS 1.3 (QUIC) between every pair of parties; opened \
    values: the model and evaluation statistics of results.json, to every site and the \
    coordinator";

fn err(e: impl core::fmt::Display) -> ProtocolError {
    ProtocolError::ApiMisuse(e.to_string())
}

/// One dataset's evaluation (pooled or one site), as opened.
#[derive(Clone, Debug)]
struct Eval {
    name: String,
    prs: circuits::evaluate::Auc,
    igs: circuits::evaluate::Auc,
    cal: circuits::evaluate::Calibration,
    hl: circuits::evaluate::HosmerLemeshow,
}

/// One party's opened outputs of one scoring set.
#[derive(Clone, Debug)]
struct PartyOut {
    linear: Option<score::LinearIgs>,
    logistic: Option<score::LogisticIgs>,
    cox: Option<circuits::cox::CoxIgs>,
    eval: Vec<Eval>,
}

/// Parameters of one run, from the job.
struct Params {
    models: Vec<String>,
    newton: usize,
    cox_iterations: usize,
    hl_groups: usize,
    evaluate: bool,
    cox_index: Vec<usize>,
}

fn params(job: &PipelineJob) -> Params {
    let igs = job.step(StepKind::IgsModel);
    let ev = job.step(StepKind::Evaluate);
    Params {
        models: igs
            .and_then(|s| s.models.clone())
            .unwrap_or_else(|| vec!["linear".into(), "logistic".into(), "cox".into()]),
        newton: igs.and_then(|s| s.newton_iterations).unwrap_or(10),
        cox_iterations: igs.and_then(|s| s.cox_iterations).unwrap_or(6),
        hl_groups: ev.and_then(|s| s.hosmer_lemeshow_groups).unwrap_or(10),
        evaluate: ev.is_some(),
        cox_index: job
            .covariates
            .cox
            .iter()
            .filter_map(|c| job.covariates.columns.iter().position(|k| k == c))
            .collect(),
    }
}

/// The computing part of one party (sites only; the helper serves preprocessing).
fn party(
    ctx: &mut protocols::Ctx<'_, protocols::prep::Dealer>,
    plan: &ScorePlan,
    site: &Site,
    n_cov: usize,
    p: &Params,
    names: &[String],
) -> protocols::Result<PartyOut> {
    let me = ctx.me();
    let fx = plan.fx;
    let weights = (me == plan.weight_owner).then_some(site.weights.as_slice());
    let dos = SiteDosages {
        n_samples: site.iids.len(),
        dosages: &site.dosages,
    };
    let s = score::score::<Z128, _>(ctx, plan, weights, &dos).map_err(err)?;
    let st = score::standardize(ctx, &s, fx).map_err(err)?;
    let has = |m: &str| p.models.iter().any(|x| x == m);
    let linear = if has("linear") {
        let cov = SiteCovariates {
            n_samples: site.iids.len(),
            covariates: &site.covariates,
            outcome: &site.outcome,
        };
        Some(score::linear_igs(ctx, plan, n_cov, &st.z, &cov).map_err(err)?)
    } else {
        None
    };
    let bin = SiteCovariates {
        n_samples: site.iids.len(),
        covariates: &site.covariates,
        outcome: &site.binary,
    };
    let (logistic, lp) = if has("logistic") || p.evaluate {
        let (fit, lp) =
            score::logistic_igs_with_lp(ctx, plan, n_cov, &st.z, &bin, p.newton).map_err(err)?;
        (has("logistic").then_some(fit), Some(lp))
    } else {
        (None, None)
    };
    let cox = if has("cox") {
        let k = n_cov;
        let cov: Vec<f64> = (0..site.iids.len())
            .flat_map(|i| p.cox_index.iter().map(move |&j| i * k + j))
            .filter_map(|x| site.covariates.get(x).copied())
            .collect();
        let mine = SiteSurvival {
            n_samples: site.iids.len(),
            covariates: &cov,
            time: &site.tte_time,
            event: &site.tte_event,
        };
        Some(
            cox_breslow(
                ctx,
                plan,
                p.cox_index.len(),
                &st.z,
                &mine,
                p.cox_iterations,
                TIME_BITS,
            )
            .map_err(err)?,
        )
    } else {
        None
    };
    let mut eval = Vec::new();
    if let (true, Some(lp)) = (p.evaluate, lp) {
        let mine: Vec<Z128> = site
            .binary
            .iter()
            .map(|&v| Z128::from_u64(u64::from(v == 1.0)))
            .collect();
        let mut parts = Vec::new();
        for (i, &m) in plan.site_sizes.iter().enumerate() {
            let owner = PartyId(i as u16);
            parts.push(arith::input(
                ctx,
                owner,
                (owner == me).then_some(&mine[..]),
                m,
            )?);
        }
        let y = SharedVec::concat(&parts.iter().collect::<Vec<_>>());
        let mut one = |name: String,
                       ctx: &mut protocols::Ctx<'_, protocols::prep::Dealer>,
                       s: &SharedVec<Z128>,
                       lp: &SharedVec<Z128>,
                       y: &SharedVec<Z128>|
         -> protocols::Result<()> {
            let prs = auc_delong(ctx, s, y, SCORE_BITS).map_err(err)?;
            let igs = auc_delong(ctx, lp, y, SCORE_BITS).map_err(err)?;
            let cal = calibration(ctx, lp, y, fx, CALIBRATION_ITERATIONS).map_err(err)?;
            let hl = hosmer_lemeshow(ctx, lp, y, fx, p.hl_groups, SCORE_BITS).map_err(err)?;
            eval.push(Eval {
                name,
                prs,
                igs,
                cal,
                hl,
            });
            Ok(())
        };
        one("pooled".into(), ctx, &s, &lp, &y)?;
        let mut off = 0;
        for (name, &m) in names.iter().zip(&plan.site_sizes) {
            one(
                name.clone(),
                ctx,
                &s.slice(off, m),
                &lp.slice(off, m),
                &y.slice(off, m),
            )?;
            off += m;
        }
    }
    Ok(PartyOut {
        linear,
        logistic,
        cox,
        eval,
    })
}

fn terms(job: &PipelineJob, cox: bool) -> Vec<String> {
    let cov = if cox {
        &job.covariates.cox
    } else {
        &job.covariates.columns
    };
    let mut t: Vec<String> = if cox {
        vec!["prs_z".to_owned()]
    } else {
        TERMS.iter().map(|s| (*s).to_owned()).collect()
    };
    t.extend(cov.iter().cloned());
    t
}

fn by_term(names: &[String], v: &[f64]) -> Value {
    Value::Object(
        names
            .iter()
            .zip(v)
            .map(|(n, x)| (n.clone(), json!(x)))
            .collect(),
    )
}

fn out_json(job: &PipelineJob, o: &PartyOut) -> Value {
    let t = terms(job, false);
    let mut m = serde_json::Map::new();
    if let Some(l) = &o.linear {
        m.insert(
            "igs_linear".into(),
            json!({"n": l.n, "coef": by_term(&t, &l.coef), "se": by_term(&t, &l.se), "r2": l.r2,
                   "r2_covariates_only": l.r2_covariates_only, "r2_incremental": l.r2_incremental,
                   "sigma2": l.sigma2}),
        );
    }
    if let Some(l) = &o.logistic {
        let b = l.coef.get(1).copied().unwrap_or(f64::NAN);
        let se = l.se.get(1).copied().unwrap_or(f64::NAN);
        m.insert(
            "igs_logistic".into(),
            json!({"n": l.n, "coef": by_term(&t, &l.coef), "se": by_term(&t, &l.se),
                   "or_per_sd": b.exp(), "or_per_sd_ci": [(b - Z975 * se).exp(), (b + Z975 * se).exp()],
                   "llf": l.llf, "llnull": l.llnull,
                   "nagelkerke_r2": l.nagelkerke_r2,
                   "nagelkerke_r2_covariates_only": l.nagelkerke_r2_covariates_only,
                   "nagelkerke_r2_incremental": l.nagelkerke_r2 - l.nagelkerke_r2_covariates_only}),
        );
    }
    if let Some(c) = &o.cox {
        let t = terms(job, true);
        m.insert(
            "igs_cox".into(),
            json!({"n": c.n, "ties": "breslow", "coef": by_term(&t, &c.coef), "se": by_term(&t, &c.se),
                   "hr_per_sd": c.hr_per_sd, "hr_per_sd_ci": c.hr_ci95}),
        );
    }
    if !o.eval.is_empty() {
        let one = |e: &Eval| {
            let hl = match &e.hl.table {
                HlTable::Revealed(g) => json!(
                    g.iter()
                        .map(|g| json!({"n": g.n, "observed": g.observed, "expected": g.expected}))
                        .collect::<Vec<_>>()
                ),
                HlTable::Withheld { rule } => json!({"withheld": rule}),
            };
            json!({
                "auc_prs": e.prs.auc, "auc_prs_se": e.prs.se_delong,
                "auc_igs": e.igs.auc, "auc_igs_se": e.igs.se_delong,
                "n_cases": e.prs.n_cases, "n_controls": e.prs.n_controls,
                "calibration_slope": e.cal.slope,
                "calibration_intercept": e.cal.slope_intercept,
                "calibration_in_the_large": e.cal.intercept_in_the_large,
                "hosmer_lemeshow": {"statistic": e.hl.statistic, "df": e.hl.df,
                                    "p_value": e.hl.p_value, "table": hl},
            })
        };
        let mut per = serde_json::Map::new();
        let mut pooled = Value::Null;
        for e in &o.eval {
            if e.name == "pooled" {
                pooled = one(e);
            } else {
                per.insert(e.name.clone(), one(e));
            }
        }
        m.insert(
            "evaluation".into(),
            json!({"pooled": pooled, "per_site": per}),
        );
    }
    Value::Object(m)
}

/// Arguments of `igs-mpc pipeline`.
#[derive(Clone, Debug, clap::Args)]
pub struct PipelineArgs {
    /// The job file (default: the bundled `examples/igs-small.toml` on the bundled data).
    pub job: Option<PathBuf>,
    /// Output directory (results.json, plots, report.html); required unless --validate.
    #[arg(long, value_name = "DIR", required_unless_present = "validate")]
    pub out: Option<PathBuf>,
    /// Data directory (overrides the job file's `data_dir`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Progress timeout of every party, in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    pub timeout_ms: u64,
    /// Print results.json on stdout instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Only check the job and every site's data (no protocol traffic, nothing written).
    #[arg(long)]
    pub validate: bool,
}

/// A finished pipeline run.
#[derive(Clone, Debug)]
pub struct PipelineRun {
    /// The results document (as written to `results.json`).
    pub results: Value,
    /// `results.json`.
    pub results_path: PathBuf,
    /// `report.html`.
    pub report_path: PathBuf,
}

/// Loads the job named by `args` (or the bundled one) and its data directory.
pub fn load_job(
    job: Option<&Path>,
    data_dir: Option<&Path>,
) -> Result<(PipelineJob, PathBuf), String> {
    let j = match job {
        Some(p) => PipelineJob::load(p).map_err(|e| e.to_string())?,
        None => PipelineJob::from_toml(spec::IGS_SMALL_TOML, Path::new("."))
            .map_err(|e| format!("bundled job: {e}"))?,
    };
    let dir = match (data_dir, job, &j.data_dir) {
        (Some(d), _, _) => d.to_path_buf(),
        (None, None, _) => crate::cli::demo::bundled_data_dir(),
        (None, Some(_), Some(d)) => d.clone(),
        (None, Some(p), None) => {
            return Err(format!("{}: no data_dir (use --data-dir)", p.display()));
        }
    };
    Ok((j, dir))
}

fn progress(quiet: bool, msg: &str) {
    if !quiet {
        eprintln!("[pipeline] {msg}");
    }
}

/// Runs the job over loopback QUIC and writes the results directory.
pub fn run(
    job: &PipelineJob,
    data_dir: &Path,
    out: &Path,
    opts: &NetOptions,
    quiet: bool,
) -> Result<PipelineRun, String> {
    let started = Instant::now();
    let sites = site::discover(data_dir)?;
    let names: Vec<String> = sites.iter().map(|s| s.name.clone()).collect();
    let p = params(job);
    let mut scores = serde_json::Map::new();
    let mut overlap_json = serde_json::Map::new();
    let mut timings = serde_json::Map::new();
    let run_scoring = job.step(StepKind::Score).is_some_and(|s| {
        s.sets
            .as_ref()
            .is_none_or(|v| v.iter().any(|x| x == "pgs_catalog"))
    });
    let files = if run_scoring {
        site::scoring_files(data_dir)?
    } else {
        Vec::new()
    };
    for (key, path) in &files {
        let t0 = Instant::now();
        progress(quiet, &format!("{key}: loading {} sites", sites.len()));
        let scoring = read_scoring_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let sid = SessionId(*b"pipeline-agreed!");
        let (agreed, overlap) = site::agreed_list(&sites, &scoring, sid)?;
        overlap_json.insert(
            key.clone(),
            Value::Object(
                overlap
                    .iter()
                    .map(|(n, k, t)| (n.clone(), json!({"kept": k, "score_rows": t})))
                    .collect(),
            ),
        );
        let loaded: Vec<Site> = sites
            .iter()
            .map(|s| site::load_site(s, &scoring, &agreed, job))
            .collect::<Result<_, _>>()?;
        let n_variants = loaded.first().map_or(0, |s| s.ids.len());
        if loaded.iter().any(|s| s.ids.len() != n_variants) {
            return Err(format!("{key}: the sites' harmonised variant lists differ"));
        }
        let plan = ScorePlan {
            n_variants,
            site_sizes: loaded.iter().map(|s| s.iids.len()).collect(),
            weight_owner: PartyId(0),
            fx: FixedPoint::default_for::<Z128>(),
        };
        progress(
            quiet,
            &format!(
                "{key}: secure session (score, IGS {:?}, evaluation {}) on {} samples, {} variants",
                p.models,
                p.evaluate,
                plan.n_total(),
                n_variants
            ),
        );
        let n_cov = job.covariates.columns.len();
        let results = simulate_named(&names, opts, |ctx| {
            let site = loaded
                .get(ctx.me().index())
                .ok_or(ProtocolError::Unreachable("site index"))?;
            party(ctx, &plan, site, n_cov, &p, &names)
        })?;
        let mut first: Option<Value> = None;
        let mut bytes = 0u64;
        for r in results {
            match r.map_err(|e| format!("{key}: {e}"))? {
                Outcome::Party { value, stats } => {
                    bytes += stats.total_bytes_sent();
                    let v = out_json(job, &value);
                    match &first {
                        Some(f) if *f != v => {
                            return Err(format!("{key}: the sites disagree on the result"));
                        }
                        Some(_) => {}
                        None => first = Some(v),
                    }
                }
                Outcome::Dealer { stats, .. } => bytes += stats.total_bytes_sent(),
            }
        }
        let mut v = first.ok_or("no site result")?;
        if let Value::Object(m) = &mut v {
            m.insert("source".into(), json!("pgs_catalog"));
            m.insert("file".into(), json!(path.display().to_string()));
            m.insert("n_variants".into(), json!(n_variants));
            m.insert("weight_owner".into(), json!(names.first()));
        }
        let secs = t0.elapsed().as_secs_f64();
        timings.insert(key.clone(), json!({"seconds": secs, "bytes_sent": bytes}));
        progress(
            quiet,
            &format!("{key}: done in {secs:.1} s, {bytes} bytes sent"),
        );
        scores.insert(key.clone(), v);
    }
    let not_yet = |k: StepKind| -> Option<String> {
        match k {
            StepKind::Qc | StepKind::Gwas | StepKind::Fit => Some(
                "not run: this build's pipeline does not wire this step yet (the circuits \
                 exist; see README)"
                    .into(),
            ),
            StepKind::Score if files.is_empty() => Some("no PGS Catalog file in pgs/".into()),
            _ => None,
        }
    };
    let steps: Vec<Value> = job
        .steps
        .iter()
        .map(|s| {
            json!({
                "kind": s.kind.name(),
                "recipients": s.recipients,
                "status": not_yet(s.kind).unwrap_or_else(|| "done".into()),
            })
        })
        .collect();
    use sha2::Digest as _;
    let job_hash = crate::config::to_hex(&sha2::Sha256::digest(job.text.as_bytes()));
    let results = json!({
        "plan_hash": Value::Null,
        "job_sha256": job_hash,
        "security_model": SECURITY_MODEL,
        "data_dir": data_dir.display().to_string(),
        "sites": names,
        "variant_overlap": overlap_json,
        "steps": steps,
        "gwas": {},
        "fit": {},
        "scores": scores,
        "timings": timings,
        "seconds": started.elapsed().as_secs_f64(),
    });
    write_outputs(job, out, &results)
}

/// `igs-mpc pipeline --validate`: the static checks of the job plus a dry run of every
/// site's data, without any protocol traffic: files readable, every outcome and covariate
/// column present and complete, the variant overlap of each site after harmonisation (and
/// the agreement across sites). Returns one line per site and scoring file; errors name the
/// file, column or site.
pub fn validate(job: &PipelineJob, data_dir: &Path) -> Result<Vec<String>, String> {
    let sites = site::discover(data_dir)?;
    let files = site::scoring_files(data_dir)?;
    if files.is_empty() && job.step(StepKind::Score).is_some() {
        return Err(format!(
            "{}: no PGS Catalog scoring file (*.txt, *.txt.gz)",
            data_dir.join("pgs").display()
        ));
    }
    let mut lines = Vec::new();
    for (key, path) in &files {
        let scoring = read_scoring_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let (agreed, overlap) =
            site::agreed_list(&sites, &scoring, SessionId(*b"pipeline-agreed!"))?;
        for (s, (_, kept, rows)) in sites.iter().zip(&overlap) {
            let loaded = site::load_site(s, &scoring, &agreed, job)?;
            lines.push(format!(
                "{key}: site {}: {} samples, {kept}/{rows} score variants after harmonisation, \
                 {} agreed by every site",
                s.name,
                loaded.iids.len(),
                loaded.ids.len()
            ));
        }
    }
    Ok(lines)
}

/// Writes results.json, the plots and report.html; each file atomically.
fn write_outputs(job: &PipelineJob, out: &Path, results: &Value) -> Result<PipelineRun, String> {
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let plots_dir = out.join("plots");
    std::fs::create_dir_all(&plots_dir).map_err(|e| io(&plots_dir, e))?;
    let mut plot_files = Vec::new();
    if let Some(Value::Object(scores)) = results.get("scores") {
        for (key, v) in scores {
            for (suffix, svg) in [
                ("calibration", plots::calibration_svg(key, v)),
                ("forest", plots::forest_svg(key, v)),
                ("effects", plots::effects_svg(key, v)),
            ] {
                if let Some(svg) = svg {
                    let name = format!("{key}.{suffix}.svg");
                    let p = plots_dir.join(&name);
                    crate::fsio::write_atomic(&p, svg.as_bytes()).map_err(|e| io(&p, e))?;
                    plot_files.push((format!("plots/{name}"), svg));
                }
            }
        }
    }
    let results_path = out.join("results.json");
    let text = serde_json::to_string_pretty(results).map_err(|e| e.to_string())?;
    crate::fsio::write_atomic(&results_path, text.as_bytes()).map_err(|e| io(&results_path, e))?;
    let report_path = out.join("report.html");
    let html = report::html(job, results, &plot_files);
    crate::fsio::write_atomic(&report_path, html.as_bytes()).map_err(|e| io(&report_path, e))?;
    Ok(PipelineRun {
        results: results.clone(),
        results_path,
        report_path,
    })
}

/// [`crate::session::simulate`] with the job's site names.
fn simulate_named<T, F>(
    names: &[String],
    opts: &NetOptions,
    job: F,
) -> Result<Vec<Result<Outcome<T>, crate::session::SessionError>>, String>
where
    T: Send,
    F: Fn(&mut protocols::Ctx<'_, protocols::prep::Dealer>) -> protocols::Result<T> + Sync,
{
    let (consortium, nodes) =
        crate::session::loopback_named(names, opts).map_err(|e| e.to_string())?;
    let session = crate::audit_io::random_run_id().map_err(|e| e.to_string())?;
    let session = SessionId(session);
    let results = std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .iter()
            .map(|node| {
                let (consortium, job) = (&consortium, &job);
                std::thread::Builder::new()
                    .name(format!("party-{}", node.me().0))
                    .stack_size(64 << 20)
                    .spawn_scoped(s, move || {
                        crate::session::run(node, consortium, session, SessionRng::Os, job)
                    })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let failed = |message: &str| crate::session::SessionError {
                    phase: crate::session::Phase::Compute,
                    culprit: None,
                    culprit_name: None,
                    message: message.into(),
                };
                match h {
                    Ok(h) => h
                        .join()
                        .unwrap_or_else(|_| Err(failed("party thread panicked"))),
                    Err(_) => Err(failed("cannot start a party thread")),
                }
            })
            .collect()
    });
    for node in nodes {
        node.shutdown();
    }
    Ok(results)
}

/// `igs-mpc pipeline`.
pub fn main(args: &PipelineArgs, quiet: bool) -> Result<PipelineRun, String> {
    let (job, dir) = load_job(args.job.as_deref(), args.data_dir.as_deref())?;
    let opts = NetOptions {
        timeout: std::time::Duration::from_millis(args.timeout_ms),
        ..NetOptions::default()
    };
    if args.validate {
        for l in validate(&job, &dir)? {
            println!("{l}");
        }
        println!("ok: the job is valid on {}", dir.display());
        return Ok(PipelineRun {
            results: Value::Null,
            results_path: PathBuf::new(),
            report_path: PathBuf::new(),
        });
    }
    let out = args.out.as_deref().ok_or("--out DIR is required")?;
    let r = run(&job, &dir, out, &opts, quiet || args.json)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r.results).map_err(|e| e.to_string())?
        );
    } else {
        println!("results: {}", r.results_path.display());
        println!("report:  {}", r.report_path.display());
        if let Some(Value::Object(s)) = r.results.get("scores") {
            for (k, v) in s {
                let g = |a: &str, b: &str| v.get(a).and_then(|x| x.get(b)).and_then(Value::as_f64);
                println!(
                    "{k}: OR/SD {:.4}, HR/SD {:.4}, R² {:.4}, pooled AUC PRS {:.4} / IGS {:.4}",
                    g("igs_logistic", "or_per_sd").unwrap_or(f64::NAN),
                    g("igs_cox", "hr_per_sd").unwrap_or(f64::NAN),
                    g("igs_linear", "r2").unwrap_or(f64::NAN),
                    v.pointer("/evaluation/pooled/auc_prs")
                        .and_then(Value::as_f64)
                        .unwrap_or(f64::NAN),
                    v.pointer("/evaluation/pooled/auc_igs")
                        .and_then(Value::as_f64)
                        .unwrap_or(f64::NAN),
                );
            }
        }
    }
    Ok(r)
}
