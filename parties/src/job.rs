//! Job files: what to compute over which sites' data, as one TOML file. `igs-mpc simulate JOB`
//! runs a job with every party in one process ([`simulate`]); the job layer of the full
//! workflow (issue 10) extends this format (more step kinds, score and model steps, reports).
//!
//! ```toml
//! version = 1
//! data_dir = "../data/small"     # relative to this file; `--data-dir` overrides it
//! sites = "auto"                 # one site per <site>.bed/.bim/.fam + <site>.pheno.tsv
//! # sites = [ { name = "uk", pheno = "uk.pheno.tsv", bfile = "uk" }, … ]   (paths: data_dir)
//!
//! [[step]]
//! name = "phenotypes"            # optional label (default: step-<i>)
//! kind = "pooled-stats"          # the only kind today: pooled n, means and covariance
//! columns = ["age", "bmi", "qt"]
//! outputs = ["n", "mean", "cov"]             # optional; what the step reveals
//! recipients = ["coordinator", "sites"]      # optional; who receives it
//! ```
//!
//! Parsing never touches the file system; `sites = "auto"` is resolved against the data
//! directory by [`JobFile::resolve_sites`]. Errors name the file and the field, never echo
//! data.

#[cfg(feature = "net")]
pub mod simulate;

use core::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::valid_name;
use crate::plan::{Job, MAX_COLUMNS, MAX_PLAN_BYTES};

/// The job file format version.
pub const JOB_VERSION: u32 = 1;
/// Most steps a job may have.
pub const MAX_STEPS: usize = 64;
/// Most sites a job may name.
pub const MAX_SITES: usize = 64;

/// Errors of reading a job file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobError {
    /// The file or data directory could not be read, or the file is too large.
    Io(String),
    /// The TOML did not parse or has unknown fields.
    Syntax(String),
    /// A field is out of range or malformed (names it and says why).
    Field(&'static str, String),
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "job: {e}"),
            Self::Syntax(e) => write!(f, "job: {e}"),
            Self::Field(n, why) => write!(f, "job: field `{n}`: {why}"),
        }
    }
}

impl std::error::Error for JobError {}

/// What a step reveals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Output {
    /// The pooled number of complete rows.
    N,
    /// Column means.
    Mean,
    /// The covariance matrix.
    Cov,
}

/// Who receives a step's outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recipient {
    /// The coordinator that ran the job.
    Coordinator,
    /// Every site.
    Sites,
}

/// Outputs and recipients of the pooled-statistics step as the engine delivers them today:
/// the plan format has no outputs or recipients yet (the audit issue adds them), so a job may
/// not ask for less.
pub const POOLED_STATS_OUTPUTS: [Output; 3] = [Output::N, Output::Mean, Output::Cov];
/// See [`POOLED_STATS_OUTPUTS`].
pub const POOLED_STATS_RECIPIENTS: [Recipient; 2] = [Recipient::Coordinator, Recipient::Sites];

/// One step of a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// A label for reports.
    pub name: String,
    /// What it computes.
    pub kind: Job,
    /// Phenotype columns it uses.
    pub columns: Vec<String>,
    /// What it reveals.
    pub outputs: Vec<Output>,
    /// Who receives it.
    pub recipients: Vec<Recipient>,
}

/// A site of a job and its local data (paths resolved against the data directory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobSite {
    /// The site's party name.
    pub name: String,
    /// Phenotype/covariate table.
    pub pheno: Option<PathBuf>,
    /// PLINK 1 fileset prefix.
    pub bfile: Option<PathBuf>,
}

/// Which sites take part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sites {
    /// Every `<site>.bed/.bim/.fam` + `<site>.pheno.tsv` in the data directory.
    Auto,
    /// An explicit list (paths relative to the data directory unless absolute).
    List(Vec<JobSite>),
}

/// A parsed job file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobFile {
    /// The data directory (resolved against the job file's directory), if the file names one.
    pub data_dir: Option<PathBuf>,
    /// The sites.
    pub sites: Sites,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    version: u32,
    #[serde(default)]
    data_dir: Option<PathBuf>,
    sites: RawSites,
    step: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSites {
    Keyword(String),
    List(Vec<RawSite>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    name: String,
    #[serde(default)]
    pheno: Option<PathBuf>,
    #[serde(default)]
    bfile: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(default)]
    name: Option<String>,
    kind: Job,
    columns: Vec<String>,
    #[serde(default)]
    outputs: Option<Vec<Output>>,
    #[serde(default)]
    recipients: Option<Vec<Recipient>>,
}

/// True for a column or step name: 1..=64 of `[A-Za-z0-9_.-]`.
fn valid_label(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn sorted_unique<T: Ord + Copy>(v: &[T]) -> Option<Vec<T>> {
    let mut s = v.to_vec();
    s.sort();
    let n = s.len();
    s.dedup();
    (s.len() == n).then_some(s)
}

impl JobFile {
    /// Parses a job file's text; `base` (the file's directory) resolves `data_dir`.
    pub fn from_toml(text: &str, base: &Path) -> Result<Self, JobError> {
        if text.len() > MAX_PLAN_BYTES {
            return Err(JobError::Io(format!(
                "the job file is larger than {MAX_PLAN_BYTES} bytes"
            )));
        }
        let raw: RawJob = toml::from_str(text).map_err(|e| JobError::Syntax(e.to_string()))?;
        if raw.version != JOB_VERSION {
            return Err(JobError::Field("version", format!("must be {JOB_VERSION}")));
        }
        let sites = match raw.sites {
            RawSites::Keyword(k) if k == "auto" => Sites::Auto,
            RawSites::Keyword(_) => {
                return Err(JobError::Field(
                    "sites",
                    "\"auto\" or a list of {name, pheno, bfile}".into(),
                ));
            }
            RawSites::List(list) => {
                if !(2..=MAX_SITES).contains(&list.len()) {
                    return Err(JobError::Field("sites", format!("2 to {MAX_SITES} sites")));
                }
                let mut out: Vec<JobSite> = Vec::new();
                for s in list {
                    if !valid_name(&s.name) {
                        return Err(JobError::Field("sites.name", "[a-z0-9-], 1..=63".into()));
                    }
                    if out.iter().any(|o| o.name == s.name) {
                        return Err(JobError::Field("sites.name", "duplicate site".into()));
                    }
                    if s.pheno.is_none() && s.bfile.is_none() {
                        return Err(JobError::Field(
                            "sites",
                            format!("site `{}` names no dataset", s.name),
                        ));
                    }
                    out.push(JobSite {
                        name: s.name,
                        pheno: s.pheno,
                        bfile: s.bfile,
                    });
                }
                Sites::List(out)
            }
        };
        if !(1..=MAX_STEPS).contains(&raw.step.len()) {
            return Err(JobError::Field("step", format!("1 to {MAX_STEPS} steps")));
        }
        let mut steps = Vec::new();
        for (i, s) in raw.step.into_iter().enumerate() {
            let name = s.name.unwrap_or_else(|| format!("step-{i}"));
            if !valid_label(&name) || steps.iter().any(|o: &Step| o.name == name) {
                return Err(JobError::Field(
                    "step.name",
                    "unique, [A-Za-z0-9_.-]".into(),
                ));
            }
            if s.columns.is_empty()
                || s.columns.len() > MAX_COLUMNS
                || !s.columns.iter().all(|c| valid_label(c))
                || s.columns
                    .iter()
                    .enumerate()
                    .any(|(i, c)| s.columns.iter().skip(i + 1).any(|d| d == c))
            {
                return Err(JobError::Field(
                    "step.columns",
                    format!("1 to {MAX_COLUMNS} distinct names of [A-Za-z0-9_.-]"),
                ));
            }
            let outputs = match s.outputs {
                None => POOLED_STATS_OUTPUTS.to_vec(),
                Some(o) => sorted_unique(&o)
                    .ok_or_else(|| JobError::Field("step.outputs", "duplicate output".into()))?,
            };
            let recipients = match s.recipients {
                None => POOLED_STATS_RECIPIENTS.to_vec(),
                Some(r) => sorted_unique(&r).ok_or_else(|| {
                    JobError::Field("step.recipients", "duplicate recipient".into())
                })?,
            };
            match s.kind {
                Job::PooledStats => {
                    if outputs != POOLED_STATS_OUTPUTS {
                        return Err(JobError::Field(
                            "step.outputs",
                            "pooled-stats reveals n, mean and cov (plans cannot restrict \
                             outputs yet)"
                                .into(),
                        ));
                    }
                    if recipients != POOLED_STATS_RECIPIENTS {
                        return Err(JobError::Field(
                            "step.recipients",
                            "pooled-stats goes to the coordinator and the sites (plans cannot \
                             name recipients yet)"
                                .into(),
                        ));
                    }
                }
            }
            steps.push(Step {
                name,
                kind: s.kind,
                columns: s.columns,
                outputs,
                recipients,
            });
        }
        Ok(Self {
            data_dir: raw.data_dir.map(|d| base.join(d)),
            sites,
            steps,
        })
    }

    /// Reads and parses a job file.
    pub fn load(path: &Path) -> Result<Self, JobError> {
        let meta = std::fs::metadata(path)
            .map_err(|e| JobError::Io(format!("{}: {e}", path.display())))?;
        if meta.len() > MAX_PLAN_BYTES as u64 {
            return Err(JobError::Io(format!(
                "{}: larger than {MAX_PLAN_BYTES} bytes",
                path.display()
            )));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| JobError::Io(format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, base).map_err(|e| JobError::Io(format!("{}: {e}", path.display())))
    }

    /// The sites with their dataset paths: the explicit list (paths joined to `data_dir`), or
    /// for `"auto"` every `<site>.pheno.tsv` in `data_dir` whose `<site>.bed`, `.bim` and
    /// `.fam` exist too, sorted by name.
    pub fn resolve_sites(&self, data_dir: &Path) -> Result<Vec<JobSite>, JobError> {
        match &self.sites {
            Sites::List(list) => Ok(list
                .iter()
                .map(|s| JobSite {
                    name: s.name.clone(),
                    pheno: s.pheno.as_ref().map(|p| data_dir.join(p)),
                    bfile: s.bfile.as_ref().map(|p| data_dir.join(p)),
                })
                .collect()),
            Sites::Auto => {
                let io = |e: std::io::Error| JobError::Io(format!("{}: {e}", data_dir.display()));
                let mut sites = Vec::new();
                for entry in std::fs::read_dir(data_dir).map_err(io)? {
                    let path = entry.map_err(io)?.path();
                    let Some(name) = path
                        .file_name()
                        .and_then(|f| f.to_str())
                        .and_then(|f| f.strip_suffix(".pheno.tsv"))
                    else {
                        continue;
                    };
                    let prefix = data_dir.join(name);
                    let has = |ext: &str| prefix.with_extension(ext).is_file();
                    if valid_name(name) && has("bed") && has("bim") && has("fam") {
                        sites.push(JobSite {
                            name: name.to_owned(),
                            pheno: Some(path.clone()),
                            bfile: Some(prefix),
                        });
                    }
                }
                sites.sort_by(|a, b| a.name.cmp(&b.name));
                if !(2..=MAX_SITES).contains(&sites.len()) {
                    return Err(JobError::Field(
                        "sites",
                        format!(
                            "\"auto\" found {} site(s) in {} (need 2 to {MAX_SITES} with \
                             <site>.bed/.bim/.fam and <site>.pheno.tsv)",
                            sites.len(),
                            data_dir.display()
                        ),
                    ));
                }
                Ok(sites)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
version = 1
data_dir = "d"
sites = "auto"
[[step]]
kind = "pooled-stats"
columns = ["age", "qt"]
"#;

    #[test]
    fn parses_and_defaults() {
        let j = JobFile::from_toml(OK, Path::new("/base")).unwrap();
        assert_eq!(j.data_dir, Some(PathBuf::from("/base/d")));
        assert_eq!(j.sites, Sites::Auto);
        assert_eq!(j.steps.len(), 1);
        assert_eq!(j.steps[0].name, "step-0");
        assert_eq!(j.steps[0].outputs, POOLED_STATS_OUTPUTS);
        assert_eq!(j.steps[0].recipients, POOLED_STATS_RECIPIENTS);
    }

    #[test]
    fn explicit_sites() {
        let t = r#"
version = 1
sites = [{ name = "a", pheno = "x.tsv" }, { name = "b", bfile = "/abs/b" }]
[[step]]
kind = "pooled-stats"
columns = ["qt"]
recipients = ["sites", "coordinator"]
"#;
        let j = JobFile::from_toml(t, Path::new("/base")).unwrap();
        let s = j.resolve_sites(Path::new("/data")).unwrap();
        assert_eq!(s[0].pheno, Some(PathBuf::from("/data/x.tsv")));
        assert_eq!(s[1].bfile, Some(PathBuf::from("/abs/b")));
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (OK.replace("version = 1", "version = 2"), "version"),
            (OK.replace("\"auto\"", "\"all\""), "sites"),
            (
                OK.replace("[\"age\", \"qt\"]", "[\"age\", \"age\"]"),
                "step.columns",
            ),
            (OK.replace("[\"age\", \"qt\"]", "[]"), "step.columns"),
            (format!("{OK}outputs = [\"mean\"]\n"), "step.outputs"),
            (format!("{OK}recipients = [\"sites\"]\n"), "step.recipients"),
        ];
        for (text, field) in cases {
            match JobFile::from_toml(&text, Path::new(".")) {
                Err(JobError::Field(f, _)) => assert_eq!(f, field, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!(
            JobFile::from_toml(&format!("{OK}bogus = 1\n"), Path::new(".")),
            Err(JobError::Syntax(_))
        ));
        let one_site = "version = 1\nsites = [{ name = \"a\", pheno = \"x\" }]\n[[step]]\nkind = \"pooled-stats\"\ncolumns = [\"q\"]\n";
        assert!(matches!(
            JobFile::from_toml(one_site, Path::new(".")),
            Err(JobError::Field("sites", _))
        ));
    }
}
