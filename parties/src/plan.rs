//! Computation plans: what a coordinator asks the party daemons to compute, and the hash each
//! site approves and signs.
//!
//! ```toml
//! version = 1
//! run_id = "…"                  # 32 hex digits, fresh per plan: the session id of its one run
//! job = "pooled-stats"          # the only job today: pooled mean and covariance
//! dataset = "pheno"             # a name in every site's catalogue (paths stay at the site)
//! columns = ["age", "bmi", "qt"]
//! repeat = 1                    # optional: repeat the computation (load tests)
//! purpose = "…"                 # the declared purpose, in words
//! k = 5                         # minimum individuals per site behind each output
//! not_after = 1900000000        # no party runs it after this Unix time
//!
//! [[party]]                     # sites, then the helper (session order), then coordinators
//! name = "uk"
//! role = "site"
//! cert_sha256 = "…"             # the consortium's pin
//! ed25519 = "…"                 # the consortium's signing key of the party
//! jurisdiction = "EEA"
//!
//! [[input]]                     # one per site: the public cohort size and its consent codes
//! site = "uk"
//! n = 800
//! duo = ["GRU"]
//! ```
//!
//! The plan hash is `audit`'s: `SHA-256("igs-plan/v1" ‖ canonical audit plan)` of
//! [`Plan::audit_plan`], the one hash shown, approved, signed, logged and verified. Formatting,
//! key order and hex case of the file do not change it. Parsing yields a [`Plan`] whose
//! invariants hold.

use core::fmt;
use std::path::Path;

use mpc_core::wire::{Frame, FrameKind, Header, Msg, SessionId, WIRE_VERSION};
use serde::{Deserialize, Serialize};

use crate::audit_plan::{PlanParty as AuditParty, PooledStatsSpec, parse_duo, pooled_stats_plan};
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
/// Largest cohort size a plan may declare (TOML integers are i64; sums must not overflow).
pub const MAX_COHORT: u64 = 1_000_000_000_000;
/// The nominal step timeout written into audit plans (ms).
pub const NOMINAL_STEP_MS: u64 = 10_000;

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

/// A party as the plan names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanParty {
    /// Party name.
    pub name: String,
    /// Site, helper or coordinator.
    pub role: Role,
    /// The pinned certificate.
    pub cert_sha256: Fingerprint,
    /// The pinned Ed25519 signing key.
    pub ed25519: [u8; 32],
    /// Jurisdiction.
    pub jurisdiction: String,
}

/// One site's input as the plan declares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanInput {
    /// The site.
    pub site: String,
    /// Public cohort size (complete rows of the plan's columns).
    pub n: u64,
    /// DUO codes of the dataset (`GRU`, `HMB`, `NPOA`, `DS:<term>`, `TIME:<unix>`, `DUO:…`).
    pub duo: Vec<String>,
}

/// A parsed plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    run_id: [u8; 16],
    job: Job,
    dataset: String,
    columns: Vec<String>,
    repeat: u32,
    purpose: String,
    k: u32,
    not_after: i64,
    parties: Vec<PlanParty>,
    inputs: Vec<PlanInput>,
}

/// The file form (hex fingerprints).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePlan {
    version: u32,
    run_id: String,
    job: Job,
    dataset: String,
    columns: Vec<String>,
    #[serde(default = "one")]
    repeat: u32,
    purpose: String,
    k: u32,
    not_after: i64,
    party: Vec<FileParty>,
    input: Vec<PlanInput>,
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
    ed25519: String,
    jurisdiction: String,
}

/// The canonical transport form: what travels on the control link.
#[derive(Serialize, Deserialize)]
struct CanonicalPlan {
    version: u32,
    run_id: [u8; 16],
    job: Job,
    dataset: String,
    columns: Vec<String>,
    repeat: u32,
    purpose: String,
    k: u32,
    not_after: i64,
    parties: Vec<WireParty>,
    inputs: Vec<PlanInput>,
}

/// A party on the wire: name, role, certificate pin, signing key, jurisdiction.
type WireParty = (String, Role, [u8; 32], [u8; 32], String);

/// True for a column or dataset name: 1..=64 of `[A-Za-z0-9_.-]`.
fn valid_label(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// True for free text in a plan: 1..=`max` bytes, no control characters.
fn valid_text(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len()) && !s.chars().any(char::is_control)
}

/// What `igs-mpc plan` asks for besides the consortium.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanOptions {
    /// Run id (fresh per plan).
    pub run_id: [u8; 16],
    /// Dataset name.
    pub dataset: String,
    /// Columns.
    pub columns: Vec<String>,
    /// Repetitions.
    pub repeat: u32,
    /// Cohort size per site (every site of the consortium).
    pub n: Vec<(String, u64)>,
    /// DUO codes of the dataset at every site.
    pub duo: Vec<String>,
    /// Purpose in words.
    pub purpose: String,
    /// Minimum individuals per site behind each output.
    pub k: u32,
    /// Not run after this Unix time.
    pub not_after: i64,
    /// Coordinators that take part (receive the result, sign the run record).
    pub coordinators: Vec<String>,
}

impl Plan {
    /// A pooled-statistics plan for every session party of `consortium` and the named
    /// coordinators; signing keys and jurisdictions come from the consortium file.
    pub fn pooled_stats(consortium: &Consortium, o: &PlanOptions) -> Result<Self, PlanError> {
        let key = |name: &str| {
            consortium.signing_key(name).ok_or_else(|| {
                PlanError::Parties(format!("no ed25519 key for {name} in the consortium"))
            })
        };
        let mut parties = Vec::new();
        for p in consortium.parties() {
            parties.push((
                p.name.clone(),
                p.role,
                p.cert_sha256.0,
                key(&p.name)?,
                consortium.jurisdiction(&p.name).to_owned(),
            ));
        }
        for c in &o.coordinators {
            let e = consortium
                .coordinators()
                .iter()
                .find(|x| &x.name == c)
                .ok_or_else(|| PlanError::Parties(format!("{c} is not a coordinator")))?;
            parties.push((
                e.name.clone(),
                Role::Coordinator,
                e.cert_sha256.0,
                key(&e.name)?,
                consortium.jurisdiction(&e.name).to_owned(),
            ));
        }
        let mut inputs = Vec::new();
        for p in consortium.parties().iter().filter(|p| p.role == Role::Site) {
            let n =
                o.n.iter()
                    .find(|(s, _)| *s == p.name)
                    .map(|(_, n)| *n)
                    .ok_or_else(|| PlanError::Parties(format!("no cohort size for {}", p.name)))?;
            inputs.push(PlanInput {
                site: p.name.clone(),
                n,
                duo: o.duo.clone(),
            });
        }
        Self::checked(CanonicalPlan {
            version: PLAN_VERSION,
            run_id: o.run_id,
            job: Job::PooledStats,
            dataset: o.dataset.clone(),
            columns: o.columns.clone(),
            repeat: o.repeat,
            purpose: o.purpose.clone(),
            k: o.k,
            not_after: o.not_after,
            parties,
            inputs,
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
        if !valid_text(&c.purpose, 200) {
            return Err(PlanError::Field("purpose"));
        }
        if !(1..=1_000_000).contains(&c.k) {
            return Err(PlanError::Field("k"));
        }
        if c.not_after <= 0 {
            return Err(PlanError::Field("not_after"));
        }
        let parties: Vec<PlanParty> = c
            .parties
            .into_iter()
            .map(|(name, role, pin, ed25519, jurisdiction)| PlanParty {
                name,
                role,
                cert_sha256: Fingerprint(pin),
                ed25519,
                jurisdiction,
            })
            .collect();
        // Session order: at least two sites, then exactly one helper, then coordinators; names,
        // pins and keys unique and valid.
        let n = parties
            .iter()
            .position(|p| p.role == Role::Coordinator)
            .unwrap_or(parties.len());
        let shape_ok = n >= 3
            && parties.iter().all(|p| valid_name(&p.name))
            && parties.iter().all(|p| valid_text(&p.jurisdiction, 64))
            && parties.iter().enumerate().all(|(i, p)| match p.role {
                Role::Site => i + 1 < n,
                Role::Helper => i + 1 == n,
                Role::Coordinator => i >= n,
            })
            && parties.iter().enumerate().all(|(i, p)| {
                parties.iter().skip(i + 1).all(|q| {
                    q.name != p.name && q.cert_sha256 != p.cert_sha256 && q.ed25519 != p.ed25519
                })
            });
        if !shape_ok {
            return Err(PlanError::Field("party"));
        }
        let sites: Vec<&str> = parties
            .iter()
            .filter(|p| p.role == Role::Site)
            .map(|p| p.name.as_str())
            .collect();
        let inputs_ok = c.inputs.len() == sites.len()
            && c.inputs.iter().zip(&sites).all(|(i, s)| {
                i.site == *s
                    && (1..=MAX_COHORT).contains(&i.n)
                    && !i.duo.is_empty()
                    && i.duo.len() <= 16
                    && i.duo.iter().all(|d| parse_duo(d).is_some())
            });
        if !inputs_ok {
            return Err(PlanError::Field("input"));
        }
        Ok(Self {
            run_id: c.run_id,
            job: c.job,
            dataset: c.dataset,
            columns: c.columns,
            repeat: c.repeat,
            purpose: c.purpose,
            k: c.k,
            not_after: c.not_after,
            parties,
            inputs: c.inputs,
        })
    }

    fn canonical(&self) -> CanonicalPlan {
        CanonicalPlan {
            version: PLAN_VERSION,
            run_id: self.run_id,
            job: self.job,
            dataset: self.dataset.clone(),
            columns: self.columns.clone(),
            repeat: self.repeat,
            purpose: self.purpose.clone(),
            k: self.k,
            not_after: self.not_after,
            parties: self
                .parties
                .iter()
                .map(|p| {
                    (
                        p.name.clone(),
                        p.role,
                        p.cert_sha256.0,
                        p.ed25519,
                        p.jurisdiction.clone(),
                    )
                })
                .collect(),
            inputs: self.inputs.clone(),
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
                let pin =
                    Fingerprint::from_hex(&p.cert_sha256).ok_or(PlanError::Field("cert_sha256"))?;
                let key = Fingerprint::from_hex(&p.ed25519).ok_or(PlanError::Field("ed25519"))?;
                Ok((p.name, p.role, pin.0, key.0, p.jurisdiction))
            })
            .collect::<Result<Vec<_>, PlanError>>()?;
        let run_id = run_id_from_hex(&f.run_id).ok_or(PlanError::Field("run_id"))?;
        Self::checked(CanonicalPlan {
            version: f.version,
            run_id,
            job: f.job,
            dataset: f.dataset,
            columns: f.columns,
            repeat: f.repeat,
            purpose: f.purpose,
            k: f.k,
            not_after: f.not_after,
            parties,
            inputs: f.input,
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
            run_id: to_hex(&self.run_id),
            job: self.job,
            dataset: self.dataset.clone(),
            columns: self.columns.clone(),
            repeat: self.repeat,
            purpose: self.purpose.clone(),
            k: self.k,
            not_after: self.not_after,
            party: self
                .parties
                .iter()
                .map(|p| FileParty {
                    name: p.name.clone(),
                    role: p.role,
                    cert_sha256: p.cert_sha256.to_string(),
                    ed25519: to_hex(&p.ed25519),
                    jurisdiction: p.jurisdiction.clone(),
                })
                .collect(),
            input: self.inputs.clone(),
        };
        toml::to_string(&f).map_err(|e| PlanError::Syntax(e.to_string()))
    }

    /// The canonical transport encoding (postcard): sent on the control link.
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

    /// The plan in `audit`'s canonical form (what sites approve and transcripts chain from).
    pub fn audit_plan(&self) -> Result<audit::CanonicalPlan, PlanError> {
        let parties: Vec<AuditParty> = self
            .parties
            .iter()
            .map(|p| AuditParty {
                name: p.name.clone(),
                role: p.role,
                jurisdiction: p.jurisdiction.clone(),
                cert_sha256: p.cert_sha256.0,
                verifying_key: p.ed25519,
            })
            .collect();
        let inputs = self
            .inputs
            .iter()
            .map(|i| {
                let duo = i.duo.iter().filter_map(|d| parse_duo(d)).collect();
                (i.site.clone(), i.n, duo)
            })
            .collect();
        pooled_stats_plan(&PooledStatsSpec {
            run_id: self.run_id,
            dataset: self.dataset.clone(),
            columns: self.columns.clone(),
            repeat: self.repeat,
            parties,
            inputs,
            purpose: self.purpose.clone(),
            disease: None,
            k: self.k,
            not_after: self.not_after,
            step_ms: NOMINAL_STEP_MS,
        })
        .map_err(PlanError::Syntax)
    }

    /// The plan hash: `audit`'s hash of [`Plan::audit_plan`].
    pub fn plan_hash(&self) -> Result<PlanHash, PlanError> {
        self.audit_plan().map(|p| PlanHash(p.hash()))
    }

    /// Checks that the plan's session parties are the consortium's, in order, with the same
    /// roles, pins, signing keys and jurisdictions, and that its coordinators are the
    /// consortium's.
    pub fn check_parties(&self, consortium: &Consortium) -> Result<(), PlanError> {
        let c = consortium.parties();
        let session: Vec<&PlanParty> = self
            .parties
            .iter()
            .filter(|p| p.role != Role::Coordinator)
            .collect();
        if c.len() != session.len() {
            return Err(PlanError::Parties(format!(
                "{} session parties in the plan, {} in the consortium",
                session.len(),
                c.len()
            )));
        }
        let same = |p: &PlanParty| {
            consortium.signing_key(&p.name) == Some(p.ed25519)
                && consortium.jurisdiction(&p.name) == p.jurisdiction
        };
        for (p, e) in session.iter().zip(c) {
            if p.name != e.name || p.role != e.role || p.cert_sha256 != e.cert_sha256 || !same(p) {
                return Err(PlanError::Parties(format!("party {}", e.name)));
            }
        }
        for p in self.parties.iter().filter(|p| p.role == Role::Coordinator) {
            let known = consortium
                .coordinators()
                .iter()
                .any(|e| e.name == p.name && e.cert_sha256 == p.cert_sha256);
            if !known || !same(p) {
                return Err(PlanError::Parties(format!("coordinator {}", p.name)));
            }
        }
        Ok(())
    }

    /// The run id (the session id of the plan's run).
    pub fn run_id(&self) -> [u8; 16] {
        self.run_id
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

    /// Every party (session parties, then coordinators).
    pub fn parties(&self) -> &[PlanParty] {
        &self.parties
    }

    /// The declared inputs.
    pub fn inputs(&self) -> &[PlanInput] {
        &self.inputs
    }

    /// A human-readable summary for logs and operators (no data).
    pub fn describe(&self) -> String {
        let parties: Vec<String> = self
            .parties
            .iter()
            .map(|p| format!("{} ({:?}, {})", p.name, p.role, p.jurisdiction).to_lowercase())
            .collect();
        let inputs: Vec<String> = self
            .inputs
            .iter()
            .map(|i| format!("{} n={} [{}]", i.site, i.n, i.duo.join(" ")))
            .collect();
        format!(
            "run {}: job {} over dataset `{}` columns [{}] (repeat {}) for \"{}\"; parties: {}; \
             inputs: {}; reveals the pooled n and the pooled moments (means, covariance) to \
             the sites and coordinators, k = {}",
            to_hex(&self.run_id),
            self.job,
            self.dataset,
            self.columns.join(", "),
            self.repeat,
            self.purpose,
            parties.join(", "),
            inputs.join(", "),
            self.k
        )
    }
}

/// Parses a run id (32 hex digits).
pub fn run_id_from_hex(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let fp = Fingerprint::from_hex(&format!("{s:0>64}"))?;
    fp.0.get(16..)?.try_into().ok()
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
            "version = 1\nrun_id = \"000102030405060708090a0b0c0d0e0f\"\njob = \"pooled-stats\"\n\
             dataset = \"pheno\"\ncolumns = [\"age\", \"qt\"]\npurpose = \"test\"\nk = 5\n\
             not_after = 1900000000\n",
        );
        for (i, (n, r)) in [("a", "site"), ("b", "site"), ("h", "helper")]
            .iter()
            .enumerate()
        {
            t.push_str(&format!(
                "[[party]]\nname = \"{n}\"\nrole = \"{r}\"\ncert_sha256 = \"{:064x}\"\n\
                 ed25519 = \"{:064x}\"\njurisdiction = \"EEA\"\n",
                0xabcdef00_u64 + i as u64,
                0x1234_u64 + i as u64
            ));
        }
        for n in ["a", "b"] {
            t.push_str(&format!(
                "[[input]]\nsite = \"{n}\"\nn = 100\nduo = [\"GRU\"]\n"
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
        assert_eq!(p.audit_plan().unwrap().hash(), h.0);
    }

    #[test]
    fn rejects_bad_plans() {
        assert!(Plan::from_toml(&text().replace("version = 1", "version = 2")).is_err());
        assert!(Plan::from_toml(&text().replace("\"qt\"", "\"age\"")).is_err());
        assert!(Plan::from_toml(&text().replace("dataset", "extra = 1\ndataset")).is_err());
        assert!(Plan::from_toml(&text().replace("\"helper\"", "\"site\"")).is_err());
        assert!(Plan::from_toml(&text().replace("\"GRU\"", "\"XYZ\"")).is_err());
        assert!(Plan::from_toml(&text().replace("n = 100", "n = 0")).is_err());
        let mut bytes = Plan::from_toml(&text())
            .unwrap()
            .to_canonical_bytes()
            .unwrap();
        bytes.push(0);
        assert!(Plan::from_canonical_bytes(&bytes).is_err());
    }
}
