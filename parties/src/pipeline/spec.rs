//! The pipeline job file (`examples/igs-small.toml`): outcomes, covariates (with derived
//! indicators such as `male = "sex == 1"`) and the `[[step]]` list (qc, gwas, fit, score,
//! igs_model, evaluate) with their parameters and recipients. Parsing never touches the file
//! system; errors name the field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::job::{JobError, Recipient};
use crate::plan::MAX_PLAN_BYTES;

/// The embedded example job (`examples/igs-small.toml`), used by `igs-mpc pipeline` without a
/// job file and by the demo.
pub const IGS_SMALL_TOML: &str = include_str!("../../../examples/igs-small.toml");

/// Step kinds, in pipeline order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Pooled QC (call rates, allele frequencies, HWE).
    Qc,
    /// Pooled GWAS (linear and logistic).
    Gwas,
    /// Secret PRS weights (ridge / elastic net).
    Fit,
    /// Secret-weight scoring.
    Score,
    /// Linear, logistic and Cox IGS models.
    IgsModel,
    /// Pooled and per-site evaluation.
    Evaluate,
}

impl StepKind {
    /// The name used in job files and results.
    pub fn name(self) -> &'static str {
        match self {
            Self::Qc => "qc",
            Self::Gwas => "gwas",
            Self::Fit => "fit",
            Self::Score => "score",
            Self::IgsModel => "igs_model",
            Self::Evaluate => "evaluate",
        }
    }
}

/// The outcome columns.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Outcomes {
    /// Quantitative outcome (linear IGS, linear GWAS).
    pub quantitative: String,
    /// Binary 0/1 outcome (logistic IGS, evaluation, logistic GWAS).
    pub binary: String,
    /// Survival time (Cox).
    pub time: String,
    /// Event indicator 0/1 (Cox).
    pub event: String,
}

/// Covariates: phenotype columns or derived indicators.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Covariates {
    /// The IGS covariates, in model order (after `const` and `prs_z`).
    pub columns: Vec<String>,
    /// Derived indicators: `name = "COLUMN == VALUE"` (1 when equal, else 0).
    #[serde(default)]
    pub derived: BTreeMap<String, String>,
    /// The Cox model's covariates (a subset of `columns`).
    pub cox: Vec<String>,
}

/// One step with its parameters (those that do not apply to its kind are refused).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What it computes.
    pub kind: StepKind,
    /// Who receives its opened outputs (default: coordinator and sites).
    #[serde(default = "default_recipients")]
    pub recipients: Vec<Recipient>,
    /// gwas: the outcomes it tests.
    #[serde(default)]
    pub outcomes: Option<Vec<String>>,
    /// fit: `ridge` or `elastic_net`.
    #[serde(default)]
    pub method: Option<String>,
    /// fit: the λ grid.
    #[serde(default)]
    pub lambda: Option<Vec<f64>>,
    /// fit: elastic-net mixing α.
    #[serde(default)]
    pub alpha: Option<Vec<f64>>,
    /// fit: whether the weights are opened (default false: they stay secret-shared).
    #[serde(default)]
    pub reveal_weights: Option<bool>,
    /// score: `pgs_catalog` and/or `fitted`.
    #[serde(default)]
    pub sets: Option<Vec<String>>,
    /// igs_model: `linear`, `logistic`, `cox`.
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// igs_model: Newton steps of the logistic model (public, from 0).
    #[serde(default)]
    pub newton_iterations: Option<usize>,
    /// igs_model: Newton steps of the Cox model.
    #[serde(default)]
    pub cox_iterations: Option<usize>,
    /// evaluate: Hosmer–Lemeshow groups.
    #[serde(default)]
    pub hosmer_lemeshow_groups: Option<usize>,
}

fn default_recipients() -> Vec<Recipient> {
    vec![Recipient::Coordinator, Recipient::Sites]
}

/// A parsed pipeline job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PipelineJob {
    /// The data directory (resolved against the job file's directory).
    pub data_dir: Option<PathBuf>,
    /// The outcomes.
    pub outcomes: Outcomes,
    /// The covariates.
    pub covariates: Covariates,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The job file's text (for the report and the job hash).
    #[serde(skip)]
    pub text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    version: u32,
    #[serde(default)]
    data_dir: Option<PathBuf>,
    sites: String,
    outcomes: Outcomes,
    covariates: Covariates,
    step: Vec<Step>,
}

/// A derived indicator: `(column, value)` of `"column == value"`.
pub fn parse_derived(expr: &str) -> Option<(String, f64)> {
    let (col, val) = expr.split_once("==")?;
    let col = col.trim();
    let val: f64 = val.trim().parse().ok()?;
    (valid_column(col) && val.is_finite()).then(|| (col.to_owned(), val))
}

fn valid_column(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn field(name: &'static str, why: impl Into<String>) -> JobError {
    JobError::Field(name, why.into())
}

impl PipelineJob {
    /// True if `text` is a pipeline job (has an `[outcomes]` table) rather than a
    /// pooled-statistics job of [`crate::job`].
    pub fn is_pipeline(text: &str) -> bool {
        toml::from_str::<toml::Table>(text).is_ok_and(|t| t.contains_key("outcomes"))
    }

    /// Parses a job's text; `base` (the file's directory) resolves `data_dir`.
    pub fn from_toml(text: &str, base: &Path) -> Result<Self, JobError> {
        if text.len() > MAX_PLAN_BYTES {
            return Err(JobError::Io(format!(
                "the job file is larger than {MAX_PLAN_BYTES} bytes"
            )));
        }
        let raw: Raw = toml::from_str(text).map_err(|e| JobError::Syntax(e.to_string()))?;
        if raw.version != crate::job::JOB_VERSION {
            return Err(field("version", "must be 1"));
        }
        if raw.sites != "auto" {
            return Err(field(
                "sites",
                "only \"auto\" in a pipeline job (one site per <site>.bed/.bim/.fam + \
                 <site>.pheno.tsv in data_dir)",
            ));
        }
        let o = &raw.outcomes;
        for (n, c) in [
            ("outcomes.quantitative", &o.quantitative),
            ("outcomes.binary", &o.binary),
            ("outcomes.time", &o.time),
            ("outcomes.event", &o.event),
        ] {
            if !valid_column(c) {
                return Err(field(n, "a column name of [A-Za-z0-9_.-]"));
            }
        }
        let c = &raw.covariates;
        if c.columns.is_empty() || c.columns.len() > 32 {
            return Err(field("covariates.columns", "1 to 32 names"));
        }
        for (i, name) in c.columns.iter().enumerate() {
            if !valid_column(name) || c.columns.iter().skip(i + 1).any(|d| d == name) {
                return Err(field(
                    "covariates.columns",
                    format!("`{name}`: distinct names of [A-Za-z0-9_.-]"),
                ));
            }
        }
        for (name, expr) in &c.derived {
            if !c.columns.contains(name) {
                return Err(field(
                    "covariates.derived",
                    format!("`{name}` is not in covariates.columns"),
                ));
            }
            if parse_derived(expr).is_none() {
                return Err(field(
                    "covariates.derived",
                    format!("`{name}`: expected \"COLUMN == NUMBER\""),
                ));
            }
        }
        if c.cox.is_empty() || !c.cox.iter().all(|x| c.columns.contains(x)) {
            return Err(field(
                "covariates.cox",
                "a non-empty subset of covariates.columns",
            ));
        }
        if raw.step.is_empty() || raw.step.len() > crate::job::MAX_STEPS {
            return Err(field("step", "1 to 64 steps"));
        }
        let mut last = None;
        for s in &raw.step {
            if last.is_some_and(|l| l >= s.kind) {
                return Err(field(
                    "step.kind",
                    "each kind at most once, in the order qc, gwas, fit, score, igs_model, \
                     evaluate",
                ));
            }
            last = Some(s.kind);
            check_step(s)?;
        }
        Ok(Self {
            data_dir: raw.data_dir.map(|d| base.join(d)),
            outcomes: raw.outcomes,
            covariates: raw.covariates,
            steps: raw.step,
            text: text.to_owned(),
        })
    }

    /// Reads and parses a job file.
    pub fn load(path: &Path) -> Result<Self, JobError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| JobError::Io(format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, base).map_err(|e| JobError::Io(format!("{}: {e}", path.display())))
    }

    /// The step of `kind`, if the job has it.
    pub fn step(&self, kind: StepKind) -> Option<&Step> {
        self.steps.iter().find(|s| s.kind == kind)
    }
}

fn check_step(s: &Step) -> Result<(), JobError> {
    let k = s.kind;
    let only = |present: bool, name: &'static str, kinds: &[StepKind]| {
        if present && !kinds.contains(&k) {
            Err(field(
                name,
                format!("does not apply to a `{}` step", k.name()),
            ))
        } else {
            Ok(())
        }
    };
    only(s.outcomes.is_some(), "step.outcomes", &[StepKind::Gwas])?;
    only(s.method.is_some(), "step.method", &[StepKind::Fit])?;
    only(s.lambda.is_some(), "step.lambda", &[StepKind::Fit])?;
    only(s.alpha.is_some(), "step.alpha", &[StepKind::Fit])?;
    only(
        s.reveal_weights.is_some(),
        "step.reveal_weights",
        &[StepKind::Fit],
    )?;
    only(s.sets.is_some(), "step.sets", &[StepKind::Score])?;
    only(s.models.is_some(), "step.models", &[StepKind::IgsModel])?;
    only(
        s.newton_iterations.is_some(),
        "step.newton_iterations",
        &[StepKind::IgsModel],
    )?;
    only(
        s.cox_iterations.is_some(),
        "step.cox_iterations",
        &[StepKind::IgsModel],
    )?;
    only(
        s.hosmer_lemeshow_groups.is_some(),
        "step.hosmer_lemeshow_groups",
        &[StepKind::Evaluate],
    )?;
    if let Some(m) = &s.method
        && m != "ridge"
        && m != "elastic_net"
    {
        return Err(field("step.method", "ridge or elastic_net"));
    }
    for (name, grid) in [("step.lambda", &s.lambda), ("step.alpha", &s.alpha)] {
        if let Some(g) = grid
            && (g.is_empty() || g.len() > 16 || !g.iter().all(|x| x.is_finite() && *x >= 0.0))
        {
            return Err(field(name, "1 to 16 finite values ≥ 0"));
        }
    }
    if let Some(sets) = &s.sets
        && !sets.iter().all(|x| x == "pgs_catalog" || x == "fitted")
    {
        return Err(field("step.sets", "pgs_catalog and/or fitted"));
    }
    if let Some(m) = &s.models
        && (m.is_empty()
            || !m
                .iter()
                .all(|x| matches!(x.as_str(), "linear" | "logistic" | "cox")))
    {
        return Err(field("step.models", "linear, logistic and/or cox"));
    }
    for (name, v) in [
        ("step.newton_iterations", s.newton_iterations),
        ("step.cox_iterations", s.cox_iterations),
    ] {
        if v.is_some_and(|v| !(1..=50).contains(&v)) {
            return Err(field(name, "1 to 50"));
        }
    }
    if s.hosmer_lemeshow_groups
        .is_some_and(|g| !(2..=20).contains(&g))
    {
        return Err(field("step.hosmer_lemeshow_groups", "2 to 20"));
    }
    if s.recipients.is_empty() {
        return Err(field("step.recipients", "at least one recipient"));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses() {
        let j = PipelineJob::from_toml(IGS_SMALL_TOML, Path::new("/x")).unwrap();
        assert!(PipelineJob::is_pipeline(IGS_SMALL_TOML));
        assert_eq!(j.steps.len(), 6);
        assert_eq!(
            parse_derived(&j.covariates.derived["male"]),
            Some(("sex".into(), 1.0))
        );
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (
                IGS_SMALL_TOML.replace("\"sex == 1\"", "\"sex = 1\""),
                "covariates.derived",
            ),
            (
                IGS_SMALL_TOML.replace("lambda = [0.1]", "lambda = []"),
                "step.lambda",
            ),
            (
                IGS_SMALL_TOML.replace("hosmer_lemeshow_groups = 10", "hosmer_lemeshow_groups = 1"),
                "step.hosmer_lemeshow_groups",
            ),
            (
                IGS_SMALL_TOML.replace("cox = [\"male\"", "cox = [\"nope\""),
                "covariates.cox",
            ),
        ];
        for (text, name) in cases {
            match PipelineJob::from_toml(&text, Path::new(".")) {
                Err(JobError::Field(f, _)) => assert_eq!(f, name),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
