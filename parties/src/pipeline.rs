//! The IGS pipeline job (issue 10): `igs-mpc demo`, `igs-mpc simulate JOB` and
//! `igs-mpc pipeline [JOB] --out DIR [--data-dir DIR]` run a job file like
//! `examples/igs-small.toml` with every party in this process over loopback QUIC with mutual
//! TLS, and write `results.json`, SVG plots, `report.html` and `transcripts/` into `DIR`.
//!
//! The run goes through a signed plan ([`crate::audit_io::steps_plan`]): per PGS Catalog file
//! in `<data_dir>/pgs/`, its steps (`<set>.score`, `<set>.igs_model`, `<set>.evaluate`) with
//! every parameter, and every opened output (`<set>.igs-linear`, …, `<set>.evaluation.<ds>`)
//! with its recipients. Every site approves the plan, every party checks every approval, and
//! one audited session runs every set: secret-weight scoring, pooled standardisation, the
//! linear, logistic and Cox (Breslow) IGS models, and the pooled and per-site evaluation
//! (DeLong AUC of PRS and IGS, calibration slope/intercept, Hosmer–Lemeshow by decile). Each
//! opening passes the reveal gate; the trail verifies offline (`igs-mpc audit verify`).
//!
//! Who learns what (semi-honest, helper non-colluding): the coordinator is the model owner;
//! it deals additive shares of the PGS weights (uniform masks from the OS CSPRNG) so a site
//! sees one uniformly random share only. The shared scores and the IGS linear predictor never
//! leave the shares; the plan's outputs are opened to their recipients.
//!
//! The `gwas` step runs the linear GWAS of the quantitative outcome ([`gwas`]) first, as its
//! own plan step `gwas` with output `gwas.linear.<outcome>`.
//!
//! Not yet (recorded in `results.json` → `steps` as not run): `qc`, `fit` and the logistic GWAS,
//! scoring with fitted weights, and running the parties as separate daemons (`igs-mpc run`).

pub mod gwas;
pub mod plots;
pub mod report;
pub mod site;
pub mod spec;

use std::path::{Path, PathBuf};
use std::time::Instant;

use circuits::cox::{SiteSurvival, cox_breslow};
use circuits::evaluate::{HlTable, auc_delong, calibration, hosmer_lemeshow};
use circuits::score::{self, ScoreOptions, ScorePlan, SiteCovariates, SiteDosages};
use mpc_core::fixed::FixedPoint;
use mpc_core::party::PartyId;
use mpc_core::ring::{Ring, Z128};
use mpc_core::share::SharedVec;
use mpc_core::wire::SessionId;
use protocols::arith;
use protocols::error::ProtocolError;
use serde_json::{Value, json};

use crate::audit_io::RevealGate;
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

/// One scoring set of a run: its public plan and, per site, that site's additive share of
/// the weights dealt by the coordinator (the model owner).
struct ScoringSet {
    key: String,
    plan: ScorePlan,
    shares: Vec<SharedVec<Z128>>,
}

/// The plan's name of an opened output of a scoring set.
fn output_name(key: &str, what: &str) -> String {
    format!("{key}.{what}")
}

/// Opens through the reveal gate: `before_open`, the circuit (which opens), `after_open`
/// with the opened values.
fn open_as<T: core::fmt::Debug>(
    gate: &dyn RevealGate,
    name: &str,
    f: impl FnOnce() -> protocols::Result<T>,
) -> protocols::Result<T> {
    gate.before_open(name)?;
    let v = f()?;
    gate.after_open(name, format!("{v:?}").as_bytes())?;
    Ok(v)
}

/// The computing part of one party for one scoring set (sites only; the helper serves
/// preprocessing). Every opening goes through `gate` under the plan's output names.
fn party(
    ctx: &mut protocols::Ctx<'_, protocols::prep::Dealer>,
    gate: &dyn RevealGate,
    set: &ScoringSet,
    site: &Site,
    n_cov: usize,
    p: &Params,
    names: &[String],
) -> protocols::Result<PartyOut> {
    let me = ctx.me();
    let plan = &set.plan;
    let fx = plan.fx;
    let w = set
        .shares
        .get(me.index())
        .ok_or(ProtocolError::Unreachable("no weight share for this site"))?;
    let dos = SiteDosages {
        n_samples: site.iids.len(),
        dosages: &site.dosages,
    };
    gate.enter_step(&step_name(&set.key, StepKind::Score))?;
    let s = score::score_shared::<Z128, _>(ctx, plan, &ScoreOptions::default(), w, &dos)
        .map_err(err)?;
    let st = score::standardize(ctx, &s, fx).map_err(err)?;
    gate.enter_step(&step_name(&set.key, StepKind::IgsModel))?;
    let has = |m: &str| p.models.iter().any(|x| x == m);
    let linear = if has("linear") {
        let cov = SiteCovariates {
            n_samples: site.iids.len(),
            covariates: &site.covariates,
            outcome: &site.outcome,
        };
        Some(open_as(gate, &output_name(&set.key, OUT_LINEAR), || {
            score::linear_igs(ctx, plan, n_cov, &st.z, &cov).map_err(err)
        })?)
    } else {
        None
    };
    let bin = SiteCovariates {
        n_samples: site.iids.len(),
        covariates: &site.covariates,
        outcome: &site.binary,
    };
    let (logistic, lp) = if has("logistic") || p.evaluate {
        let name = output_name(&set.key, OUT_LOGISTIC);
        gate.before_open(&name)?;
        let (fit, lp) =
            score::logistic_igs_with_lp(ctx, plan, n_cov, &st.z, &bin, p.newton).map_err(err)?;
        gate.after_open(&name, format!("{fit:?}").as_bytes())?;
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
        Some(open_as(gate, &output_name(&set.key, OUT_COX), || {
            cox_breslow(
                ctx,
                plan,
                p.cox_index.len(),
                &st.z,
                &mine,
                p.cox_iterations,
                TIME_BITS,
            )
            .map_err(err)
        })?)
    } else {
        None
    };
    let mut eval = Vec::new();
    if let (true, Some(lp)) = (p.evaluate, lp) {
        gate.enter_step(&step_name(&set.key, StepKind::Evaluate))?;
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
            let out = output_name(&set.key, &format!("{OUT_EVALUATION}.{name}"));
            gate.before_open(&out)?;
            let prs = auc_delong(ctx, s, y, SCORE_BITS).map_err(err)?;
            let igs = auc_delong(ctx, lp, y, SCORE_BITS).map_err(err)?;
            let cal = calibration(ctx, lp, y, fx, CALIBRATION_ITERATIONS).map_err(err)?;
            let hl = hosmer_lemeshow(ctx, lp, y, fx, p.hl_groups, SCORE_BITS).map_err(err)?;
            let e = Eval {
                name,
                prs,
                igs,
                cal,
                hl,
            };
            gate.after_open(&out, format!("{e:?}").as_bytes())?;
            eval.push(e);
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

/// Output kinds of a scoring set (the plan names them `<set>.<kind>`).
const OUT_LINEAR: &str = "igs-linear";
/// The logistic IGS.
const OUT_LOGISTIC: &str = "igs-logistic";
/// The Cox IGS.
const OUT_COX: &str = "igs-cox";
/// Evaluation of one dataset (`<set>.evaluation.<pooled|site>`).
const OUT_EVALUATION: &str = "evaluation";
/// The dataset name every site's plan input uses.
const DATASET: &str = "igs";
/// Minimum individuals per site behind each output (the disclosure default).
const K_MIN: u32 = 5;

/// Names of the parties of the plan that receive a step's outputs.
fn recipient_names(step: Option<&spec::Step>, sites: &[String], coordinator: &str) -> Vec<String> {
    let rs = step.map_or_else(
        || {
            vec![
                crate::job::Recipient::Coordinator,
                crate::job::Recipient::Sites,
            ]
        },
        |s| s.recipients.clone(),
    );
    let mut out = Vec::new();
    for r in rs {
        match r {
            crate::job::Recipient::Coordinator => out.push(coordinator.to_owned()),
            crate::job::Recipient::Sites => out.extend(sites.iter().cloned()),
        }
    }
    // The coordinator writes results.json: it always receives what the run opens.
    if !out.iter().any(|n| n == coordinator) {
        out.push(coordinator.to_owned());
    }
    out.sort();
    out.dedup();
    out
}

/// The outputs the run opens (name, scoring set, step kind, formula, parameters), in
/// opening order.
fn planned_outputs(
    job: &PipelineJob,
    p: &Params,
    sets: &[String],
    sites: &[String],
) -> Vec<(String, String, StepKind, String, u64)> {
    let c = job.covariates.columns.len() as u64;
    let cox = p.cox_index.len() as u64;
    let has = |m: &str| p.models.iter().any(|x| x == m);
    let mut out = Vec::new();
    for key in sets {
        if has("linear") {
            out.push((
                output_name(key, OUT_LINEAR),
                key.clone(),
                StepKind::IgsModel,
                format!(
                    "OLS of {} on const, prs_z, {}: coef, se, R², R² of the covariates only, \
                     σ², n",
                    job.outcomes.quantitative,
                    job.covariates.columns.join(", ")
                ),
                2 * (2 + c) + 4,
            ));
        }
        if has("logistic") || p.evaluate {
            out.push((
                output_name(key, OUT_LOGISTIC),
                key.clone(),
                StepKind::IgsModel,
                format!(
                    "Logit of {} on const, prs_z, {} (Newton, {} steps): coef, se, \
                     log-likelihoods, Nagelkerke R², n",
                    job.outcomes.binary,
                    job.covariates.columns.join(", "),
                    p.newton
                ),
                2 * (2 + c) + 5,
            ));
        }
        if has("cox") {
            out.push((
                output_name(key, OUT_COX),
                key.clone(),
                StepKind::IgsModel,
                format!(
                    "Cox (Breslow ties) of ({}, {}) on prs_z, {}: coef, se, HR per SD with CI, n",
                    job.outcomes.time,
                    job.outcomes.event,
                    job.covariates.cox.join(", ")
                ),
                2 * (1 + cox) + 3,
            ));
        }
        if p.evaluate {
            for ds in std::iter::once("pooled").chain(sites.iter().map(String::as_str)) {
                out.push((
                    output_name(key, &format!("{OUT_EVALUATION}.{ds}")),
                    key.clone(),
                    StepKind::Evaluate,
                    format!(
                        "on {ds}: AUC of the PRS and of the IGS with DeLong SE, calibration \
                         slope and intercepts, Hosmer–Lemeshow over {} groups (per-group table \
                         only if every cell has ≥ 5 individuals)",
                        p.hl_groups
                    ),
                    10 + 3 * p.hl_groups as u64,
                ));
            }
        }
    }
    out
}

fn text(s: &str) -> audit::plan::Value {
    audit::plan::Value::Text(s.to_owned())
}

fn uint(x: usize) -> audit::plan::Value {
    audit::plan::Value::Uint(x as u64)
}

fn texts(v: &[String]) -> audit::plan::Value {
    audit::plan::Value::Texts(v.to_vec())
}

/// The plan's name of a step of one scoring set.
fn step_name(key: &str, kind: StepKind) -> String {
    if key.is_empty() {
        kind.name().to_owned()
    } else {
        format!("{key}.{}", kind.name())
    }
}

/// The analyses of the plan for one scoring set (key, scoring file SHA-256, variants): one
/// per step the run executes, with every parameter, named `<set>.<step>`.
fn planned_analyses(
    job: &PipelineJob,
    p: &Params,
    set: &(String, String, usize),
    job_sha256: &str,
) -> Vec<(StepKind, audit::plan::Analysis)> {
    use std::collections::BTreeMap;
    let (key, file_sha256, n_variants) = set;
    let mut out = Vec::new();
    let mut score = BTreeMap::new();
    score.insert("job_sha256".into(), text(job_sha256));
    score.insert("scoring_file_sha256".into(), text(file_sha256));
    score.insert("n_variants".into(), uint(*n_variants));
    score.insert("weight_owner".into(), text(COORDINATOR));
    score.insert("product_path".into(), text("auto (GLWE when cheaper)"));
    score.insert(
        "imputation".into(),
        text("missing dosage = 2 × pooled effect-allele frequency"),
    );
    score.insert(
        "standardisation".into(),
        text("prs_z = (PRS − pooled mean) / pooled population SD (never opened)"),
    );
    out.push((
        StepKind::Score,
        audit::plan::Analysis {
            name: step_name(key, StepKind::Score),
            circuit: "score-shared-weights".into(),
            params: score,
        },
    ));
    let mut igs = BTreeMap::new();
    igs.insert("models".into(), texts(&p.models));
    igs.insert("newton_iterations".into(), uint(p.newton));
    igs.insert("cox_iterations".into(), uint(p.cox_iterations));
    igs.insert(
        "outcome_quantitative".into(),
        text(&job.outcomes.quantitative),
    );
    igs.insert("outcome_binary".into(), text(&job.outcomes.binary));
    igs.insert("outcome_time".into(), text(&job.outcomes.time));
    igs.insert("outcome_event".into(), text(&job.outcomes.event));
    igs.insert("covariates".into(), texts(&job.covariates.columns));
    igs.insert("cox_covariates".into(), texts(&job.covariates.cox));
    out.push((
        StepKind::IgsModel,
        audit::plan::Analysis {
            name: step_name(key, StepKind::IgsModel),
            circuit: "igs-linear-logistic-cox".into(),
            params: igs,
        },
    ));
    if p.evaluate {
        let mut ev = BTreeMap::new();
        ev.insert("hosmer_lemeshow_groups".into(), uint(p.hl_groups));
        ev.insert(
            "calibration_iterations".into(),
            uint(CALIBRATION_ITERATIONS),
        );
        ev.insert("datasets".into(), text("pooled and every site"));
        out.push((
            StepKind::Evaluate,
            audit::plan::Analysis {
                name: step_name(key, StepKind::Evaluate),
                circuit: "auc-delong-calibration-hl".into(),
                params: ev,
            },
        ));
    }
    out
}

/// The coordinator's name in the plan (the model owner and the receiver of results.json).
pub const COORDINATOR: &str = "coordinator";

/// Runs the job over loopback QUIC under a signed plan and writes the results directory:
/// the coordinator (this process) reads each PGS Catalog file, agrees the variant list with
/// the sites, deals additive shares of the weights to the sites (it is the model owner; a
/// site sees only a uniformly random share), builds the plan (every step with its
/// parameters, every output with its recipients), every site approves it, and one audited
/// session runs every scoring set; each opening passes the reveal gate and every party's
/// transcript goes to `OUT/transcripts/`.
pub fn run(
    job: &PipelineJob,
    data_dir: &Path,
    out: &Path,
    opts: &NetOptions,
    quiet: bool,
) -> Result<PipelineRun, String> {
    use sha2::Digest as _;
    let started = Instant::now();
    let sites = site::discover(data_dir)?;
    let names: Vec<String> = sites.iter().map(|s| s.name.clone()).collect();
    let p = params(job);
    let mut overlap_json = serde_json::Map::new();
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
    let job_sha256 = crate::config::to_hex(&sha2::Sha256::digest(job.text.as_bytes()));
    // The coordinator's randomness for the weight shares.
    let seed = crate::net::os_random_32().map_err(|e| e.to_string())?;
    let mut rng = mpc_core::prg::Prg::new(mpc_core::prg::Seed::from_bytes(seed));
    let fx = FixedPoint::default_for::<Z128>();
    let opts_score = ScoreOptions::default();
    let mut loaded_sets: Vec<(String, PathBuf, Vec<Site>)> = Vec::new();
    let mut sets: Vec<ScoringSet> = Vec::new();
    let mut plan_sets: Vec<(String, String, usize)> = Vec::new();
    for (key, path) in &files {
        progress(quiet, &format!("{key}: loading {} sites", sites.len()));
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
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
        let n_variants = agreed.variants.len();
        if loaded.iter().any(|s| s.ids.len() != n_variants) {
            return Err(format!("{key}: the sites' harmonised variant lists differ"));
        }
        // The coordinator's weights, in agreed order, checked against the public bound.
        let weights: Vec<f64> = agreed
            .variants
            .iter()
            .map(|v| {
                scoring
                    .rows
                    .get(v.row as usize)
                    .map(|r| r.weight)
                    .ok_or_else(|| format!("{}: agreed row {} missing", path.display(), v.row))
            })
            .collect::<Result<_, _>>()?;
        if let Some(j) = weights
            .iter()
            .position(|w| !w.is_finite() || w.abs() > opts_score.max_abs_weight)
        {
            return Err(format!(
                "{}: weight of agreed variant {} is beyond the public bound {}",
                path.display(),
                j + 1,
                opts_score.max_abs_weight
            ));
        }
        let enc: Vec<Z128> = fx.encode_slice(&weights).map_err(|e| e.to_string())?;
        let shares = SharedVec::deal(&enc, sites.len(), &mut rng);
        let plan = ScorePlan {
            n_variants,
            site_sizes: loaded.iter().map(|s| s.iids.len()).collect(),
            weight_owner: PartyId(0),
            fx,
        };
        plan_sets.push((
            key.clone(),
            crate::config::to_hex(&sha2::Sha256::digest(&bytes)),
            n_variants,
        ));
        sets.push(ScoringSet {
            key: key.clone(),
            plan,
            shares,
        });
        loaded_sets.push((key.clone(), path.clone(), loaded));
    }
    // The linear GWAS of the quantitative outcome, if the job's gwas step names it: the
    // variant list from the sites' .bim files (public metadata), each site's sufficient
    // statistics computed locally.
    let linear_gwas = job.step(StepKind::Gwas).is_some_and(|s| {
        s.outcomes
            .as_ref()
            .is_none_or(|o| o.contains(&job.outcomes.quantitative))
    });
    let (gwas_variants, gwas_stats) = if linear_gwas {
        progress(quiet, "gwas: loading every site's genotypes");
        let v = gwas::variants(&sites)?;
        let stats: Vec<(circuits::plain::linear::SufficientStats, usize)> = sites
            .iter()
            .map(|s| gwas::site_stats(s, &v, job))
            .collect::<Result<_, _>>()?;
        (v, stats)
    } else {
        (Vec::new(), Vec::new())
    };
    let gwas_plan = circuits::gwas::LinearPlan {
        n_variants: gwas_variants.len(),
        n_cov: job.covariates.columns.len(),
        n_total: gwas_stats.iter().map(|(_, n)| *n as u64).sum(),
        fx,
    };
    let gwas_output = format!("gwas.linear.{}", job.outcomes.quantitative);
    let keys: Vec<String> = sets.iter().map(|s| s.key.clone()).collect();
    let mut outputs = Vec::new();
    let mut analyses: Vec<(StepKind, audit::plan::Analysis)> = Vec::new();
    if linear_gwas {
        outputs.push((
            gwas_output.clone(),
            String::new(),
            StepKind::Gwas,
            format!(
                "per variant: OLS of {} on the ALT dosage, const, {} (pooled, complete calls): \
                 OBS_CT, BETA, SE, P (plink2 --glm columns)",
                job.outcomes.quantitative,
                job.covariates.columns.join(", ")
            ),
            4 * gwas_variants.len() as u64,
        ));
        let mut params = std::collections::BTreeMap::new();
        params.insert("job_sha256".into(), text(&job_sha256));
        params.insert("outcome".into(), text(&job.outcomes.quantitative));
        params.insert("covariates".into(), texts(&job.covariates.columns));
        params.insert("n_variants".into(), uint(gwas_variants.len()));
        // One regression per variant: the parameter rule applies per model (const, the
        // dosage and the covariates).
        params.insert(
            audit::approval::PARAM_MODEL_PARAMETERS.into(),
            uint(job.covariates.columns.len() + 2),
        );
        params.insert(
            "variants".into(),
            text("every variant in every site's .bim (same chromosome, position and alleles)"),
        );
        analyses.push((
            StepKind::Gwas,
            audit::plan::Analysis {
                name: step_name("", StepKind::Gwas),
                circuit: "gwas-linear-frisch-waugh".into(),
                params,
            },
        ));
    }
    outputs.extend(planned_outputs(job, &p, &keys, &names));
    analyses.extend(
        plan_sets
            .iter()
            .flat_map(|set| planned_analyses(job, &p, set, &job_sha256)),
    );
    let site_sizes: Vec<u64> = loaded_sets.first().map_or_else(
        || gwas_stats.iter().map(|(_, n)| *n as u64).collect(),
        |(_, _, l)| l.iter().map(|s| s.iids.len() as u64).collect(),
    );
    let run_id = crate::audit_io::random_run_id().map_err(|e| e.to_string())?;
    let coordinator = crate::net::Identity::generate(COORDINATOR).map_err(|e| e.to_string())?;
    let step_ms = opts.timeout.as_millis() as u64;
    let plan_for = |parties: &[crate::audit_io::PlanParty]| {
        let parties = parties.to_vec();
        let step_index = |key: &str, k: StepKind| {
            let step = step_name(key, k);
            analyses
                .iter()
                .position(|(_, a)| a.name == step)
                .map_or(0, |i| i as u32)
        };
        crate::audit_io::steps_plan(&crate::audit_io::StepsPlanSpec {
            run_id,
            dataset: DATASET.into(),
            cohort: "every genotyped sample with complete outcomes and covariates".into(),
            inputs: names
                .iter()
                .zip(&site_sizes)
                .map(|(n, m)| (n.clone(), *m, vec![audit::plan::DuoTerm::Gru]))
                .collect(),
            parties,
            analyses: analyses.iter().map(|(_, a)| a.clone()).collect(),
            outputs: outputs
                .iter()
                .map(
                    |(name, key, kind, formula, parameters)| crate::audit_io::StepOutput {
                        name: name.clone(),
                        step: step_index(key, *kind),
                        formula: formula.clone(),
                        recipients: recipient_names(job.step(*kind), &names, COORDINATOR),
                        parameters: *parameters,
                    },
                )
                .collect(),
            purpose: "integrative genetic score: secret-weight scoring, IGS models and \
                      pooled and per-site evaluation (igs-mpc pipeline)"
                .into(),
            disease: None,
            k: K_MIN,
            not_after: crate::audit_io::now_ms() / 1000 + 24 * 3600,
            step_ms,
        })
    };
    let reveals: Vec<&str> = outputs.iter().map(|o| o.0.as_str()).collect();
    let n_cov = job.covariates.columns.len();
    progress(
        quiet,
        &format!(
            "secure session: {} scoring set(s), IGS {:?}, evaluation {}, {} sites",
            sets.len(),
            p.models,
            p.evaluate,
            names.len()
        ),
    );
    let t0 = Instant::now();
    let sim = if sets.is_empty() && !linear_gwas {
        None
    } else {
        Some(crate::audit_io::simulate_audited_with(
            &names,
            opts,
            SessionRng::Os,
            Some((COORDINATOR, &coordinator)),
            plan_for,
            &reveals,
            |ctx, gate| {
                let me = ctx.me().index();
                let rows = if linear_gwas {
                    let (mine, _) = gwas_stats
                        .get(me)
                        .ok_or(ProtocolError::Unreachable("site index"))?;
                    gate.enter_step(&step_name("", StepKind::Gwas))?;
                    gate.before_open(&gwas_output)?;
                    let rows =
                        circuits::gwas::linear::<Z128, _>(ctx, &gwas_plan, mine).map_err(err)?;
                    // The transcript commits to a digest of the table (a biobank-scale table
                    // is far above a transcript entry's size limit).
                    let digest = crate::config::to_hex(&sha2::Sha256::digest(
                        format!("{rows:?}").as_bytes(),
                    ));
                    gate.after_open(&gwas_output, format!("sha256:{digest}").as_bytes())?;
                    Some(rows)
                } else {
                    None
                };
                let mut outs = Vec::new();
                for (set, (_, _, loaded)) in sets.iter().zip(&loaded_sets) {
                    let site = loaded
                        .get(me)
                        .ok_or(ProtocolError::Unreachable("site index"))?;
                    outs.push(party(ctx, gate, set, site, n_cov, &p, &names)?);
                }
                Ok((rows, outs))
            },
        )?)
    };
    drop(sets);
    let secs = t0.elapsed().as_secs_f64();
    let mut scores = serde_json::Map::new();
    let mut timings = serde_json::Map::new();
    let mut audit_json = Value::Null;
    let mut gwas_json = json!({});
    let mut plan_hash = Value::Null;
    if let Some(sim) = sim {
        let trail = out.join(crate::audit_io::TRANSCRIPTS_DIR);
        crate::audit_io::write_bundle(&trail, &sim.audit)?;
        let verdict = crate::audit_io::verify_dir(&trail);
        plan_hash = json!(crate::config::to_hex(&sim.audit.plan.hash()));
        audit_json = json!({
            "transcripts": crate::audit_io::TRANSCRIPTS_DIR,
            "verify": match &verdict {
                Ok(s) => s.to_string(),
                Err(f) => f.to_string(),
            },
            "verified": verdict.is_ok(),
            "approvals": names.iter().map(|n| json!({"site": n, "approval": "AUTO-APPROVED \
                by the simulation (no operator reviewed this plan)"})).collect::<Vec<_>>(),
            "outputs": outputs.iter().map(|(name, _, kind, _, _)| json!({"name": name,
                "recipients": recipient_names(job.step(*kind), &names, COORDINATOR)}))
                .collect::<Vec<_>>(),
        });
        let mut first: Option<Vec<Value>> = None;
        let mut gwas_rows: Option<Vec<circuits::plain::linear::LinearRow>> = None;
        let mut bytes = 0u64;
        let mut rounds = 0u64;
        for r in sim.results {
            match r.map_err(|e| e.to_string())? {
                Outcome::Party { value, stats } => {
                    bytes += stats.total_bytes_sent();
                    rounds = rounds.max(stats.rounds);
                    let (rows, value) = value;
                    if gwas_rows.is_none() {
                        gwas_rows = rows;
                    }
                    let v: Vec<Value> = value.iter().map(|o| out_json(job, o)).collect();
                    match &first {
                        Some(f) if *f != v => {
                            return Err("the sites disagree on the result".into());
                        }
                        Some(_) => {}
                        None => first = Some(v),
                    }
                }
                Outcome::Dealer { stats, .. } => bytes += stats.total_bytes_sent(),
            }
        }
        let first = first.ok_or("no site result")?;
        if let Some(rows) = &gwas_rows {
            let dir = out.join("gwas");
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let plots_dir = out.join("plots");
            std::fs::create_dir_all(&plots_dir)
                .map_err(|e| format!("{}: {e}", plots_dir.display()))?;
            let qt = &job.outcomes.quantitative;
            let table = format!("gwas/{qt}.glm.linear");
            gwas::write_table(&out.join(&table), &gwas_variants, rows)?;
            let title = format!("linear GWAS of {qt} (pooled, secure)");
            let manhattan = format!("plots/gwas.{qt}.manhattan.svg");
            let qq = format!("plots/gwas.{qt}.qq.svg");
            for (rel, svg) in [
                (
                    &manhattan,
                    gwas::manhattan_svg(&title, &gwas_variants, rows),
                ),
                (&qq, gwas::qq_svg(&title, rows)),
            ] {
                let path = out.join(rel);
                crate::fsio::write_atomic(&path, svg.as_bytes())
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            gwas_json = json!({
                "linear": table,
                "logistic": Value::Null,
                "not_run": {"logistic": "the secure binary-trait GWAS is not wired into the \
                    pipeline yet"},
                "outcome": qt,
                "n_variants": gwas_variants.len(),
                "lambda_gc": gwas::lambda_gc(rows),
                "genome_wide_hits": rows.iter().filter(|r| r.p < 5e-8).count(),
                "plots": {"manhattan": manhattan, "qq": qq},
            });
        }
        for (mut v, (key, path, loaded)) in first.into_iter().zip(&loaded_sets) {
            if let Value::Object(m) = &mut v {
                m.insert("source".into(), json!("pgs_catalog"));
                m.insert("file".into(), json!(path.display().to_string()));
                m.insert(
                    "n_variants".into(),
                    json!(loaded.first().map_or(0, |s| s.ids.len())),
                );
                m.insert("weight_owner".into(), json!(COORDINATOR));
            }
            scores.insert(key.clone(), v);
        }
        timings.insert(
            "secure_session".into(),
            json!({"seconds": secs, "bytes_sent": bytes, "rounds": rounds}),
        );
        progress(
            quiet,
            &format!("secure session done in {secs:.1} s, {bytes} bytes sent"),
        );
    }
    let not_yet = |k: StepKind| -> Option<String> {
        match k {
            StepKind::Gwas if linear_gwas => Some(format!(
                "done: linear GWAS of {}; the logistic GWAS is not wired yet",
                job.outcomes.quantitative
            )),
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
    let results = json!({
        "plan_hash": plan_hash,
        "job_sha256": job_sha256,
        "security_model": SECURITY_MODEL,
        "data_dir": data_dir.display().to_string(),
        "sites": names,
        "variant_overlap": overlap_json,
        "steps": steps,
        "gwas": gwas_json,
        "fit": {},
        "scores": scores,
        "audit": audit_json,
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
    if let Some(Value::Object(g)) = results.pointer("/gwas/plots") {
        for rel in g.values().filter_map(Value::as_str) {
            let p = out.join(rel);
            let svg = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
            plot_files.push((rel.to_owned(), svg));
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

/// Arguments of `igs-mpc demo`.
#[derive(Clone, Debug, clap::Args)]
pub struct DemoArgs {
    /// Output directory: results.json, plots, report.html and transcripts/ (default: a new
    /// directory under the system temporary directory, named in the summary).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Data directory (default: the bundled data/small).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Progress timeout of every party, in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    pub timeout_ms: u64,
    /// Print results.json on stdout instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// `igs-mpc demo`: the bundled `examples/igs-small.toml` on the bundled data (or
/// `--data-dir`), every party in this process over loopback QUIC under a signed plan; prints
/// a summary, the check of the main numbers against the data set's `expected/expected.json`
/// when it has one, and the audit verdict.
pub fn demo(args: &DemoArgs, quiet: bool) -> Result<String, String> {
    let (job, dir) = load_job(None, args.data_dir.as_deref())?;
    let opts = NetOptions {
        timeout: std::time::Duration::from_millis(args.timeout_ms),
        ..NetOptions::default()
    };
    let out = match &args.out {
        Some(o) => o.clone(),
        None => {
            let id = crate::audit_io::random_run_id().map_err(|e| e.to_string())?;
            std::env::temp_dir().join(format!("igs-mpc-demo-{}", crate::config::to_hex(&id)))
        }
    };
    let started = Instant::now();
    let r = run(&job, &dir, &out, &opts, quiet || args.json)?;
    if args.json {
        return serde_json::to_string_pretty(&r.results).map_err(|e| e.to_string());
    }
    let mut o = format!(
        "igs-mpc demo: the IGS pipeline on {} ({} sites: {}), every party in this process \
         over loopback QUIC with mutual TLS, in {:.1} s\n",
        dir.display(),
        r.results
            .get("sites")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        r.results
            .get("sites")
            .and_then(Value::as_array)
            .map(|v| v
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default(),
        started.elapsed().as_secs_f64()
    );
    o.push_str(&summary(&r.results));
    let expected = dir.join("expected/expected.json");
    if let Ok(text) = std::fs::read_to_string(&expected) {
        let e: Value =
            serde_json::from_str(&text).map_err(|err| format!("{}: {err}", expected.display()))?;
        o.push_str(&format!("\nknown answers ({}):\n", expected.display()));
        o.push_str(&known_answers(&r.results, &e));
    }
    o.push_str(&format!(
        "\nplan {}\naudit trail: {}\n{}\nresults: {}\nreport:  {}\n\
         check it yourself: igs-mpc audit verify {}\n",
        r.results
            .get("plan_hash")
            .and_then(Value::as_str)
            .unwrap_or("none"),
        out.join(crate::audit_io::TRANSCRIPTS_DIR).display(),
        r.results
            .pointer("/audit/verify")
            .and_then(Value::as_str)
            .unwrap_or("no audit trail"),
        r.results_path.display(),
        r.report_path.display(),
        out.join(crate::audit_io::TRANSCRIPTS_DIR).display(),
    ));
    Ok(o)
}

/// One line per scoring set with the main numbers.
fn summary(results: &Value) -> String {
    let mut o = String::new();
    if let Some(Value::Object(s)) = results.get("scores") {
        for (k, v) in s {
            let g = |p: &str| v.pointer(p).and_then(Value::as_f64).unwrap_or(f64::NAN);
            o.push_str(&format!(
                "{k} ({}): OR/SD {:.4}, HR/SD {:.4}, R² {:.4}, pooled AUC PRS {:.4} / IGS \
                 {:.4}\n",
                v.get("source").and_then(Value::as_str).unwrap_or("?"),
                g("/igs_logistic/or_per_sd"),
                g("/igs_cox/hr_per_sd"),
                g("/igs_linear/r2"),
                g("/evaluation/pooled/auc_prs"),
                g("/evaluation/pooled/auc_igs"),
            ));
        }
    }
    o
}

/// The main numbers of every PGS Catalog set against the plaintext reference
/// (`expected.json`, data/small/README.md §4): models ≤ 1e-4 relative, AUCs ≤ 1e-6.
fn known_answers(results: &Value, e: &Value) -> String {
    let mut o = String::new();
    let Some(Value::Object(s)) = results.get("scores") else {
        return o;
    };
    for (k, v) in s
        .iter()
        .filter(|(_, v)| v.get("source").and_then(Value::as_str) == Some("pgs_catalog"))
    {
        for (what, got, want, tol, relative) in [
            (
                "OR per SD",
                "/igs_logistic/or_per_sd",
                "/models/logistic_igs/or_per_sd",
                1e-4,
                true,
            ),
            (
                "HR per SD",
                "/igs_cox/hr_per_sd",
                "/models/cox_breslow/hr_per_sd",
                1e-4,
                true,
            ),
            (
                "R² (linear IGS)",
                "/igs_linear/r2",
                "/models/linear_igs/r2",
                1e-4,
                true,
            ),
            (
                "pooled AUC of the PRS",
                "/evaluation/pooled/auc_prs",
                "/evaluation/per_dataset/pooled/auc_prs/auc",
                1e-6,
                false,
            ),
            (
                "pooled AUC of the IGS",
                "/evaluation/pooled/auc_igs",
                "/evaluation/per_dataset/pooled/auc_igs/auc",
                1e-6,
                false,
            ),
        ] {
            let (Some(g), Some(w)) = (
                v.pointer(got).and_then(Value::as_f64),
                e.pointer(want).and_then(Value::as_f64),
            ) else {
                continue;
            };
            let d = if relative {
                (g / w - 1.0).abs()
            } else {
                (g - w).abs()
            };
            o.push_str(&format!(
                "  {k} {what}: {g:.6} vs {w:.6} ({} {d:.1e} ≤ {tol:.0e}) {}\n",
                if relative { "rel" } else { "abs" },
                if d <= tol { "ok" } else { "MISMATCH" }
            ));
        }
    }
    o
}
