//! A party daemon's own configuration (`igs-mpc party --config site.toml`) and its approvals.
//!
//! ```toml
//! name = "uk"                         # this party's name in the consortium file
//! key = "keys/uk.key"                 # identity (relative paths: from this file's directory)
//! cert = "keys/uk.crt"
//! consortium = "consortium.toml"
//! listen = "0.0.0.0:7001"             # optional; default: this party's consortium address
//! output_dir = "out/uk"
//! timeout_ms = 10000                  # optional progress timeout (default 10 s)
//! approved_plans = ["9f86…"]          # plan hashes approved in this file
//! approvals_file = "approvals.toml"   # optional; `igs-mpc approve` appends here
//! ledger_file = "ledger.bin"          # optional; the query budget (default ledger-NAME.bin)
//!
//! [datasets.pheno]                    # the catalogue: only names are ever shared
//! pheno = "/data/uk.pheno.tsv"
//! duo = ["GRU"]                       # the dataset's consent codes (plans must match them)
//!
//! [disclosure]                        # optional overrides of SECURITY-DESIGN.md's defaults:
//! k_min = 5                           # k_min, min_site_size, param_percent, subset_min,
//!                                     # dominance_permille, max_runs_per_dataset
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, valid_name};
use crate::plan::PlanHash;

/// One dataset of the catalogue: local paths, never sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// Phenotype/covariate table (`data::pheno`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pheno: Option<PathBuf>,
    /// PLINK 1 fileset prefix (for genotype jobs, later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfile: Option<PathBuf>,
    /// Its DUO consent codes (`GRU`, `HMB`, `NPOA`, `DS:<term>`, `TIME:<unix>`, `DUO:…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duo: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    name: String,
    key: PathBuf,
    cert: PathBuf,
    consortium: PathBuf,
    #[serde(default)]
    listen: Option<String>,
    output_dir: PathBuf,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    approved_plans: Vec<String>,
    #[serde(default)]
    approvals_file: Option<PathBuf>,
    #[serde(default)]
    ledger_file: Option<PathBuf>,
    #[serde(default)]
    datasets: std::collections::BTreeMap<String, Dataset>,
    #[serde(default)]
    disclosure: toml::Table,
}

/// A parsed site configuration; relative paths are resolved against the file's directory.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteConfig {
    /// This party's name.
    pub name: String,
    /// Private key file.
    pub key: PathBuf,
    /// Certificate file.
    pub cert: PathBuf,
    /// Consortium file.
    pub consortium: PathBuf,
    /// Listen address override.
    pub listen: Option<SocketAddr>,
    /// Where results are written.
    pub output_dir: PathBuf,
    /// Progress timeout.
    pub timeout: Duration,
    /// Plan hashes approved in the config itself.
    pub approved_plans: Vec<PlanHash>,
    /// The approvals file `igs-mpc approve` writes.
    pub approvals_file: PathBuf,
    /// The query ledger (what earlier approved runs revealed about which cohort).
    pub ledger_file: PathBuf,
    /// Dataset catalogue, by name.
    pub datasets: std::collections::BTreeMap<String, Dataset>,
    /// The disclosure policy section, kept verbatim until the audit issue gives it a type.
    pub disclosure: toml::Table,
}

/// Longest accepted progress timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

impl SiteConfig {
    /// Parses a site config's text; `base` resolves relative paths.
    pub fn from_toml(text: &str, base: &Path) -> Result<Self, ConfigError> {
        let raw: RawSite = toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        if !valid_name(&raw.name) {
            return Err(ConfigError::BadName(0));
        }
        let abs = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let listen = match raw.listen {
            None => None,
            Some(a) => Some(
                a.parse()
                    .map_err(|_| ConfigError::BadAddress(raw.name.clone()))?,
            ),
        };
        let timeout = Duration::from_millis(raw.timeout_ms.unwrap_or(10_000));
        if timeout < Duration::from_millis(100) || timeout > MAX_TIMEOUT {
            return Err(ConfigError::Syntax(
                "timeout_ms must be between 100 and 3600000".into(),
            ));
        }
        let approved_plans = raw
            .approved_plans
            .iter()
            .map(|h| PlanHash::from_hex(h))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ConfigError::Syntax("approved_plans: 64 hex digits each".into()))?;
        for (name, d) in &raw.datasets {
            if name.is_empty() || name.len() > 64 || d.pheno.is_none() && d.bfile.is_none() {
                return Err(ConfigError::Syntax(
                    "every dataset needs a name and at least one path".into(),
                ));
            }
        }
        let datasets = raw
            .datasets
            .into_iter()
            .map(|(n, d)| {
                (
                    n,
                    Dataset {
                        pheno: d.pheno.map(abs),
                        bfile: d.bfile.map(abs),
                        duo: d.duo,
                    },
                )
            })
            .collect();
        let ledger_file = raw
            .ledger_file
            .unwrap_or_else(|| format!("ledger-{}.bin", raw.name).into());
        Ok(Self {
            ledger_file: abs(ledger_file),
            name: raw.name,
            key: abs(raw.key),
            cert: abs(raw.cert),
            consortium: abs(raw.consortium),
            listen,
            output_dir: abs(raw.output_dir),
            timeout,
            approved_plans,
            approvals_file: abs(raw
                .approvals_file
                .unwrap_or_else(|| "approvals.toml".into())),
            datasets,
            disclosure: raw.disclosure,
        })
    }

    /// Reads and parses a site config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Io(format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, base)
    }

    /// True if `hash` is approved here or in the approvals file (read now, so approving while
    /// the daemon runs takes effect at the next job).
    pub fn is_approved(&self, hash: &PlanHash) -> Result<bool, ConfigError> {
        if self.approved_plans.contains(hash) {
            return Ok(true);
        }
        Ok(read_approvals(&self.approvals_file)?
            .iter()
            .any(|a| PlanHash::from_hex(&a.plan_sha256).as_ref() == Some(hash)))
    }
}

/// One recorded approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The approved plan hash (hex).
    pub plan_sha256: String,
    /// Seconds since the Unix epoch when it was recorded.
    pub approved_at: u64,
    /// A one-line summary of the plan, for the operator.
    pub summary: String,
    /// A site's signed approval (`audit::Approval` bytes, hex); none at the helper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalsFile {
    #[serde(default)]
    approval: Vec<Approval>,
}

impl SiteConfig {
    /// This site's signed approval of `hash` (`audit::Approval` bytes), if recorded.
    pub fn signed_approval(&self, hash: &PlanHash) -> Result<Option<Vec<u8>>, ConfigError> {
        Ok(read_approvals(&self.approvals_file)?
            .iter()
            .filter(|a| PlanHash::from_hex(&a.plan_sha256).as_ref() == Some(hash))
            .find_map(|a| a.signature.as_deref().and_then(super::from_hex_bytes)))
    }
}

/// Parses an approvals file's text.
pub fn parse_approvals(text: &str) -> Result<Vec<Approval>, ConfigError> {
    toml::from_str::<ApprovalsFile>(text)
        .map(|f| f.approval)
        .map_err(|e| ConfigError::Syntax(e.to_string()))
}

/// Reads an approvals file (missing file: none).
pub fn read_approvals(path: &Path) -> Result<Vec<Approval>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_approvals(&text)
            .map_err(|e| ConfigError::Syntax(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(ConfigError::Io(format!("{}: {e}", path.display()))),
    }
}

/// Appends an approval (unless present) and rewrites the file atomically.
pub fn record_approval(path: &Path, approval: Approval) -> Result<bool, ConfigError> {
    let mut all = read_approvals(path)?;
    if all.iter().any(|a| a.plan_sha256 == approval.plan_sha256) {
        return Ok(false);
    }
    all.push(approval);
    let text = toml::to_string(&ApprovalsFile { approval: all })
        .map_err(|e| ConfigError::Syntax(e.to_string()))?;
    crate::fsio::write_atomic(path, text.as_bytes())
        .map_err(|e| ConfigError::Io(format!("{}: {e}", path.display())))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_resolves_paths() {
        let text = r#"
name = "uk"
key = "k/uk.key"
cert = "/abs/uk.crt"
consortium = "c.toml"
output_dir = "out"
timeout_ms = 3000
approved_plans = ["00000000000000000000000000000000000000000000000000000000000000ff"]
[datasets.pheno]
pheno = "uk.pheno.tsv"
[disclosure]
k = 5
"#;
        let c = SiteConfig::from_toml(text, Path::new("/base")).unwrap();
        assert_eq!(c.key, Path::new("/base/k/uk.key"));
        assert_eq!(c.cert, Path::new("/abs/uk.crt"));
        assert_eq!(c.timeout, Duration::from_secs(3));
        assert_eq!(c.approvals_file, Path::new("/base/approvals.toml"));
        assert_eq!(
            c.disclosure.get("k").and_then(toml::Value::as_integer),
            Some(5)
        );
        assert!(c.datasets.contains_key("pheno"));
        assert!(SiteConfig::from_toml(&text.replace("name", "nom"), Path::new("/")).is_err());
        assert!(SiteConfig::from_toml(&text.replace("ff\"", "f\""), Path::new("/")).is_err());
    }
}
