//! Computation plans: what a coordinator asks the party daemons to compute, and the hash each
//! site operator approves.
//!
//! ```toml
//! version = 1
//! job = "pooled-stats"          # the only job today: pooled mean and covariance
//! dataset = "pheno"             # a name in every site's catalogue (paths stay at the site)
//! columns = ["age", "bmi", "qt"]
//! repeat = 1                    # optional: repeat the computation (load tests)
//!
//! [[party]]                     # every session party, in session order (sites, then helper)
//! name = "uk"
//! role = "site"
//! cert_sha256 = "…"
//! ```
//!
//! The plan hash is `SHA-256("igs-plan/v1" ‖ postcard(canonical plan))`, where the canonical plan
//! has fingerprints as 32 bytes: formatting, key order and hex case of the file do not change it.
//! Parsing yields a [`Plan`] whose invariants hold. Signed plans (outputs, recipients, k,
//! approvals signed with the identity keys) arrive with the audit issue; this is their seed.

use core::fmt;
use std::path::Path;

use mpc_core::wire::{Frame, FrameKind, Header, Msg, SessionId, WIRE_VERSION};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{Consortium, Fingerprint, Role, to_hex, valid_name};

/// Domain-separation label of plan hashes.
pub const PLAN_DOMAIN: &[u8] = b"igs-plan/v1";
/// The plan format version.
pub const PLAN_VERSION: u32 = 1;
/// Largest accepted plan file or message.
pub const MAX_PLAN_BYTES: usize = 1 << 16;
/// Most columns a pooled-statistics plan may name.
pub const MAX_COLUMNS: usize = 64;
/// Most repetitions a plan may ask for.
pub const MAX_REPEAT: u32 = 1_000_000;

/// Errors of reading a plan. Messages never echo the input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanError {
    /// The file could not be read, or is too large.
    Io(String),
    /// The TOML or postcard did not parse, or had unknown fields.
    Syntax(String),
    /// A field is out of range or malformed (names the field).
    Field(&'static str),
    /// The plan's parties differ from the consortium file's.
    Parties(String),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "cannot read the plan: {e}"),
            Self::Syntax(e) => write!(f, "plan: {e}"),
            Self::Field(n) => write!(f, "plan: field `{n}` is invalid"),
            Self::Parties(e) => write!(f, "plan parties differ from the consortium: {e}"),
        }
    }
}

impl std::error::Error for PlanError {}

/// Jobs a plan can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Job {
    /// Pooled mean and covariance of numeric phenotype columns (`session::demo::pooled_stats`).
    PooledStats,
}

impl fmt::Display for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PooledStats => "pooled-stats",
        })
    }
}

/// A session party as the plan names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanParty {
    /// Party name.
    pub name: String,
    /// Site or helper.
    pub role: Role,
    /// The pinned certificate.
    pub cert_sha256: Fingerprint,
}

/// A parsed, canonical plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    job: Job,
    dataset: String,
    columns: Vec<String>,
    repeat: u32,
    parties: Vec<PlanParty>,
}

/// The file form (hex fingerprints).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePlan {
    version: u32,
    job: Job,
    dataset: String,
    columns: Vec<String>,
    #[serde(default = "one")]
    repeat: u32,
    party: Vec<FileParty>,
}

fn one() -> u32 {
    1
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileParty {
    name: String,
    role: Role,
    cert_sha256: String,
}

/// The canonical form: what is hashed and what travels on the control link.
#[derive(Serialize, Deserialize)]
struct CanonicalPlan {
    version: u32,
    job: Job,
    dataset: String,
    columns: Vec<String>,
    repeat: u32,
    parties: Vec<(String, Role, [u8; 32])>,
}

/// True for a column or dataset name: 1..=64 of `[A-Za-z0-9_.-]`.
fn valid_label(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

impl Plan {
    /// A pooled-statistics plan over `dataset`'s `columns` for every party of `consortium`.
    pub fn pooled_stats(
        consortium: &Consortium,
        dataset: &str,
        columns: Vec<String>,
        repeat: u32,
    ) -> Result<Self, PlanError> {
        Self::checked(CanonicalPlan {
            version: PLAN_VERSION,
            job: Job::PooledStats,
            dataset: dataset.into(),
            columns,
            repeat,
            parties: consortium
                .parties()
                .iter()
                .map(|p| (p.name.clone(), p.role, p.cert_sha256.0))
                .collect(),
        })
    }

    fn checked(c: CanonicalPlan) -> Result<Self, PlanError> {
        if c.version != PLAN_VERSION {
            return Err(PlanError::Field("version"));
        }
        if !valid_label(&c.dataset) {
            return Err(PlanError::Field("dataset"));
        }
        if c.columns.is_empty()
            || c.columns.len() > MAX_COLUMNS
            || !c.columns.iter().all(|x| valid_label(x))
            || c.columns
                .iter()
                .enumerate()
                .any(|(i, x)| c.columns.iter().skip(i + 1).any(|y| y == x))
        {
            return Err(PlanError::Field("columns"));
        }
        if !(1..=MAX_REPEAT).contains(&c.repeat) {
            return Err(PlanError::Field("repeat"));
        }
        let parties: Vec<PlanParty> = c
            .parties
            .into_iter()
            .map(|(name, role, pin)| PlanParty {
                name,
                role,
                cert_sha256: Fingerprint(pin),
            })
            .collect();
        // Session order: at least two sites, then exactly one helper, names unique and valid.
        let n = parties.len();
        let shape_ok = n >= 3
            && parties.iter().all(|p| valid_name(&p.name))
            && parties.iter().enumerate().all(|(i, p)| {
                (p.role == Role::Helper) == (i + 1 == n) && p.role != Role::Coordinator
            })
            && parties.iter().enumerate().all(|(i, p)| {
                parties
                    .iter()
                    .skip(i + 1)
                    .all(|q| q.name != p.name && q.cert_sha256 != p.cert_sha256)
            });
        if !shape_ok {
            return Err(PlanError::Field("party"));
        }
        Ok(Self {
            job: c.job,
            dataset: c.dataset,
            columns: c.columns,
            repeat: c.repeat,
            parties,
        })
    }

    fn canonical(&self) -> CanonicalPlan {
        CanonicalPlan {
            version: PLAN_VERSION,
            job: self.job,
            dataset: self.dataset.clone(),
            columns: self.columns.clone(),
            repeat: self.repeat,
            parties: self
                .parties
                .iter()
                .map(|p| (p.name.clone(), p.role, p.cert_sha256.0))
                .collect(),
        }
    }

    /// Parses a plan file's text.
    pub fn from_toml(text: &str) -> Result<Self, PlanError> {
        if text.len() > MAX_PLAN_BYTES {
            return Err(PlanError::Io("larger than the plan size limit".into()));
        }
        let f: FilePlan = toml::from_str(text).map_err(|e| PlanError::Syntax(e.to_string()))?;
        let parties = f
            .party
            .into_iter()
            .map(|p| {
                Fingerprint::from_hex(&p.cert_sha256)
                    .map(|fp| (p.name, p.role, fp.0))
                    .ok_or(PlanError::Field("cert_sha256"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::checked(CanonicalPlan {
            version: f.version,
            job: f.job,
            dataset: f.dataset,
            columns: f.columns,
            repeat: f.repeat,
            parties,
        })
    }

    /// Reads and parses a plan file.
    pub fn load(path: &Path) -> Result<Self, PlanError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PlanError::Io(format!("{}: {e}", path.display())))?;
        Self::from_toml(&text)
    }

    /// The plan file text.
    pub fn to_toml(&self) -> Result<String, PlanError> {
        let f = FilePlan {
            version: PLAN_VERSION,
            job: self.job,
            dataset: self.dataset.clone(),
            columns: self.columns.clone(),
            repeat: self.repeat,
            party: self
                .parties
                .iter()
                .map(|p| FileParty {
                    name: p.name.clone(),
                    role: p.role,
                    cert_sha256: p.cert_sha256.to_string(),
                })
                .collect(),
        };
        toml::to_string(&f).map_err(|e| PlanError::Syntax(e.to_string()))
    }

    /// The canonical encoding (postcard): hashed, and sent on the control link.
    pub fn to_canonical_bytes(&self) -> Result<Vec<u8>, PlanError> {
        Msg::control(&self.canonical())
            .map(|m| m.payload().to_vec())
            .map_err(|e| PlanError::Syntax(e.to_string()))
    }

    /// Decodes the canonical encoding (no trailing bytes).
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Self, PlanError> {
        if bytes.len() > MAX_PLAN_BYTES {
            return Err(PlanError::Io("larger than the plan size limit".into()));
        }
        let header = Header {
            version: WIRE_VERSION,
            session: SessionId::default(),
            seq: 0,
            kind: FrameKind::Control,
            count: 0,
            payload_len: bytes.len() as u32,
        };
        let c = Frame::from_parts(header, bytes.to_vec())
            .and_then(|f| f.msg.into_control::<CanonicalPlan>())
            .map_err(|e| PlanError::Syntax(e.to_string()))?;
        Self::checked(c)
    }

    /// `SHA-256("igs-plan/v1" ‖ canonical bytes)`.
    pub fn plan_hash(&self) -> Result<PlanHash, PlanError> {
        let mut h = Sha256::new();
        h.update(PLAN_DOMAIN);
        h.update(self.to_canonical_bytes()?);
        Ok(PlanHash(h.finalize().into()))
    }

    /// Checks that the plan's parties are the consortium's session parties, in order, with the
    /// same roles and pins.
    pub fn check_parties(&self, consortium: &Consortium) -> Result<(), PlanError> {
        let c = consortium.parties();
        if c.len() != self.parties.len() {
            return Err(PlanError::Parties(format!(
                "{} parties in the plan, {} in the consortium",
                self.parties.len(),
                c.len()
            )));
        }
        for (p, e) in self.parties.iter().zip(c) {
            if p.name != e.name || p.role != e.role || p.cert_sha256 != e.cert_sha256 {
                return Err(PlanError::Parties(format!("party {}", e.name)));
            }
        }
        Ok(())
    }

    /// The job.
    pub fn job(&self) -> Job {
        self.job
    }

    /// The dataset name (looked up in each site's catalogue).
    pub fn dataset(&self) -> &str {
        &self.dataset
    }

    /// The columns.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Repetitions.
    pub fn repeat(&self) -> u32 {
        self.repeat
    }

    /// The session parties.
    pub fn parties(&self) -> &[PlanParty] {
        &self.parties
    }

    /// A human-readable summary for logs and operators (no data).
    pub fn describe(&self) -> String {
        let parties: Vec<String> = self
            .parties
            .iter()
            .map(|p| format!("{} ({:?})", p.name, p.role).to_lowercase())
            .collect();
        format!(
            "job {} over dataset `{}` columns [{}] (repeat {}); parties: {}; reveals the pooled \
             n, column means and covariance to the sites and the coordinator",
            self.job,
            self.dataset,
            self.columns.join(", "),
            self.repeat,
            parties.join(", ")
        )
    }
}

/// A plan hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlanHash(pub [u8; 32]);

impl PlanHash {
    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        Fingerprint::from_hex(s).map(|f| Self(f.0))
    }
}

impl fmt::Display for PlanHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_hex(&self.0))
    }
}

impl fmt::Debug for PlanHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlanHash({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> String {
        let mut t = String::from(
            "version = 1\njob = \"pooled-stats\"\ndataset = \"pheno\"\ncolumns = [\"age\", \"qt\"]\n",
        );
        for (i, (n, r)) in [("a", "site"), ("b", "site"), ("h", "helper")]
            .iter()
            .enumerate()
        {
            t.push_str(&format!(
                "[[party]]\nname = \"{n}\"\nrole = \"{r}\"\ncert_sha256 = \"{:064x}\"\n",
                0xabcdef00_u64 + i as u64
            ));
        }
        t
    }

    #[test]
    fn hash_is_canonical_and_round_trips() {
        let p = Plan::from_toml(&text()).unwrap();
        let h = p.plan_hash().unwrap();
        let again = Plan::from_toml(&p.to_toml().unwrap()).unwrap();
        assert_eq!(again.plan_hash().unwrap(), h);
        // Hex case and spacing do not change the hash.
        let upper =
            Plan::from_toml(&text().replace("abcdef", "ABCDEF").replace(" = ", "=")).unwrap();
        assert_eq!(upper.plan_hash().unwrap(), h);
        let bytes = p.to_canonical_bytes().unwrap();
        assert_eq!(Plan::from_canonical_bytes(&bytes).unwrap(), p);
        let changed = Plan::from_toml(&text().replace("\"qt\"", "\"bmi\"")).unwrap();
        assert_ne!(changed.plan_hash().unwrap(), h);
    }

    #[test]
    fn rejects_bad_plans() {
        assert!(Plan::from_toml(&text().replace("version = 1", "version = 2")).is_err());
        assert!(Plan::from_toml(&text().replace("\"qt\"", "\"age\"")).is_err());
        assert!(Plan::from_toml(&text().replace("dataset", "extra = 1\ndataset")).is_err());
        assert!(Plan::from_toml(&text().replace("\"helper\"", "\"site\"")).is_err());
        let mut bytes = Plan::from_toml(&text())
            .unwrap()
            .to_canonical_bytes()
            .unwrap();
        bytes.push(0);
        assert!(Plan::from_canonical_bytes(&bytes).is_err());
    }
}
