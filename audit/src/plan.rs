//! The computation plan: what will be computed, by whom, on which data, revealing what to whom.
//!
//! A [`Plan`] is plain data; a [`CanonicalPlan`] is a plan that passed the structural rules,
//! with its canonical bytes and `plan_hash = SHA-256("igs-plan/v1" ‖ bytes)`. Every other API
//! of this crate takes a `CanonicalPlan`, so an unchecked plan can never be approved, logged
//! against or verified (parse, don't validate).
//!
//! Canonical form: postcard of [`Plan`] (fields in declaration order); set-like lists (DUO
//! codes, recipients, crypto parameter-set ids, inputs) sorted and without duplicates; maps
//! are `BTreeMap`s. [`CanonicalPlan::new`] normalises; [`CanonicalPlan::decode`] refuses any
//! byte string that is not exactly the canonical encoding of a valid plan.
//!
//! Party numbering: `parties[i]` is `PartyId(i)` in every session of the run. Computing
//! parties (sites and non-dealer helpers) come first, then the dealer (if any), then
//! coordinators, which take part in approvals and the run record but hold no shares.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use mpc_core::PartyId;

use crate::codec::{self, CodecError};
use crate::hash::{self, Hash32, domain};

/// Largest plan accepted by [`CanonicalPlan::decode`].
pub const PLAN_LIMIT: usize = 1 << 20;

/// A 128-bit random run identifier (also the session id of the run's sessions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RunId(pub [u8; 16]);

/// What a party does in the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Holds data, computes, approves.
    Site,
    /// Holds no data and receives no output; computes or deals correlated randomness.
    Helper,
    /// Proposes and orchestrates the run; holds no shares.
    Coordinator,
}

/// One party of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartySpec {
    /// Unique name (as in the consortium file).
    pub name: String,
    /// Role.
    pub role: Role,
    /// Organisation operating the party's machine.
    pub operator: String,
    /// Legal jurisdiction the party's machine and operator are under (e.g. "SE", "EU").
    pub jurisdiction: String,
    /// SHA-256 of the party's TLS certificate (DER).
    pub cert_sha256: Hash32,
    /// The party's Ed25519 verifying key (approvals, tree heads, run record).
    pub verifying_key: [u8; 32],
    /// SHA-256 of the engine binary the party runs.
    pub binary_sha256: Hash32,
}

/// A GA4GH Data Use Ontology term attached to a dataset.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DuoTerm {
    /// DUO:0000042 general research use.
    Gru,
    /// DUO:0000006 health or medical or biomedical research.
    Hmb,
    /// DUO:0000007 disease-specific research, with the disease term (e.g. "MONDO:0005148").
    Ds {
        /// The disease ontology term.
        disease: String,
    },
    /// DUO:0000044 population origins or ancestry research prohibited.
    Npoa,
    /// DUO:0000025 time limit on use: no use after this Unix time (seconds).
    TimeLimit {
        /// Unix time in seconds.
        not_after: i64,
    },
    /// Any other DUO code (sites refuse codes they cannot evaluate).
    Other {
        /// The CURIE, e.g. "DUO:0000018".
        code: String,
    },
}

impl DuoTerm {
    /// The DUO identifier.
    pub fn code(&self) -> &str {
        match self {
            Self::Gru => "DUO:0000042",
            Self::Hmb => "DUO:0000006",
            Self::Ds { .. } => "DUO:0000007",
            Self::Npoa => "DUO:0000044",
            Self::TimeLimit { .. } => "DUO:0000025",
            Self::Other { code } => code,
        }
    }

    /// Short label with its modifier, for reports.
    pub fn label(&self) -> String {
        match self {
            Self::Gru => "GRU (DUO:0000042)".into(),
            Self::Hmb => "HMB (DUO:0000006)".into(),
            Self::Ds { disease } => format!("DS {disease} (DUO:0000007)"),
            Self::Npoa => "NPOA (DUO:0000044)".into(),
            Self::TimeLimit { not_after } => format!("time limit ≤ {not_after} (DUO:0000025)"),
            Self::Other { code } => code.clone(),
        }
    }
}

/// One input dataset.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Input {
    /// Name of the site party holding it.
    pub site: String,
    /// Dataset name in the site's configuration.
    pub dataset: String,
    /// Its DUO codes as declared in the plan (sites compare them with their own config).
    pub duo: Vec<DuoTerm>,
    /// Public cohort descriptor (selection criteria), e.g. "all" or "age >= 40".
    pub cohort: String,
    /// Number of individuals in the cohort (public; the static disclosure checks use it).
    pub n: u64,
}

/// The declared purpose of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purpose {
    /// Disease ontology term, if the study is about one disease.
    pub disease: Option<String>,
    /// Study type in words, e.g. "polygenic risk score validation".
    pub study_type: String,
    /// Whether the study itself is population-origins or ancestry research (DUO:0000011).
    pub ancestry_research: bool,
}

/// A typed analysis parameter (non-recursive: hostile input cannot nest).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    /// Boolean.
    Bool(bool),
    /// Signed integer.
    Int(i64),
    /// Unsigned integer.
    Uint(u64),
    /// Fixed-point number: `mantissa · 2^-frac`.
    Fixed {
        /// Mantissa.
        mantissa: i64,
        /// Fractional bits.
        frac: u8,
    },
    /// Text.
    Text(String),
    /// Bytes (e.g. a model digest).
    Bytes(Vec<u8>),
    /// List of integers.
    Ints(Vec<i64>),
    /// List of strings.
    Texts(Vec<String>),
}

/// One analysis step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analysis {
    /// Step name, unique.
    pub name: String,
    /// Circuit (e.g. "prs-auc").
    pub circuit: String,
    /// All parameters.
    pub params: BTreeMap<String, Value>,
}

/// What an output is computed over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputKind {
    /// An aggregate over all contributing sites' cohorts, revealing `parameters` numbers
    /// (model coefficients, cells, statistics).
    Aggregate {
        /// Number of values revealed.
        parameters: u64,
    },
    /// Per-individual results, allowed only to the site holding the individuals.
    PerIndividual {
        /// The site.
        site: String,
    },
}

/// One output of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputSpec {
    /// Unique name.
    pub name: String,
    /// Index of the analysis step that reveals it.
    pub step: u32,
    /// Formula in words or notation.
    pub formula: String,
    /// Party names that receive it (sorted).
    pub recipients: Vec<String>,
    /// Minimum individuals per contributing site behind the value.
    pub k: u32,
    /// Precision: fractional decimal digits revealed.
    pub precision: u32,
    /// Whether the value may appear in transcripts and reports in clear.
    pub public: bool,
    /// Whether the output is stratified by ancestry or population origin.
    pub ancestry_stratified: bool,
    /// Aggregate or per-individual.
    pub kind: OutputKind,
}

/// Timeouts in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    /// Connection and handshake.
    pub handshake_ms: u64,
    /// Any one protocol step.
    pub step_ms: u64,
    /// The whole run.
    pub run_ms: u64,
}

/// Protocol, security model and crypto parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecuritySpec {
    /// Protocol name, e.g. "additive-n-party-dealer".
    pub protocol: String,
    /// Security model name, e.g. "semi-honest-dealer".
    pub model: String,
    /// The model in plain words (printed in every report).
    pub model_text: String,
    /// Name of the helper acting as dealer, if any.
    pub dealer: Option<String>,
    /// Crypto parameter-set ids (sorted), e.g. "ring:z64/f16", "sig:ed25519".
    pub crypto: Vec<String>,
}

/// A computation plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// [`FORMAT_VERSION`].
    pub version: u16,
    /// Run id.
    pub run_id: RunId,
    /// Engine version string.
    pub engine_version: String,
    /// Protocol and security model.
    pub security: SecuritySpec,
    /// Parties, in `PartyId` order.
    pub parties: Vec<PartySpec>,
    /// Input datasets.
    pub inputs: Vec<Input>,
    /// Declared purpose.
    pub purpose: Purpose,
    /// Analysis steps in execution order.
    pub analyses: Vec<Analysis>,
    /// Every output.
    pub outputs: Vec<OutputSpec>,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// No party runs the plan after this Unix time (seconds).
    pub not_after: i64,
}

/// A plan that passed the structural rules, with its canonical bytes and hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalPlan {
    plan: Plan,
    bytes: Vec<u8>,
    hash: Hash32,
}

impl CanonicalPlan {
    /// Normalises (sorts set-like lists), checks the structural rules, encodes and hashes.
    pub fn new(mut plan: Plan) -> Result<Self, CodecError> {
        normalize(&mut plan);
        check_structure(&plan)?;
        let bytes = codec::encode(&plan);
        if bytes.len() > PLAN_LIMIT {
            return Err(CodecError::TooLarge {
                len: bytes.len(),
                limit: PLAN_LIMIT,
            });
        }
        let hash = hash::tagged(domain::PLAN, &[&bytes]);
        Ok(Self { plan, bytes, hash })
    }

    /// Decodes canonical plan bytes (at most [`PLAN_LIMIT`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let plan: Plan = codec::decode(bytes, PLAN_LIMIT)?;
        codec::check_version(plan.version)?;
        let mut n = plan.clone();
        normalize(&mut n);
        if n != plan {
            return Err(CodecError::NonCanonical);
        }
        Self::new(plan)
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Canonical bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `SHA-256("igs-plan/v1" ‖ bytes)`.
    pub fn hash(&self) -> Hash32 {
        self.hash
    }

    /// The run id.
    pub fn run_id(&self) -> RunId {
        self.plan.run_id
    }

    /// The party with this id.
    pub fn party(&self, id: PartyId) -> Option<&PartySpec> {
        self.plan.parties.get(id.index())
    }

    /// The id of the party with this name.
    pub fn party_id(&self, name: &str) -> Option<PartyId> {
        self.plan
            .parties
            .iter()
            .position(|p| p.name == name)
            .and_then(|i| u16::try_from(i).ok())
            .map(PartyId)
    }

    /// Number of parties that take part in sessions (all but coordinators); they are
    /// `PartyId(0..n)` and each writes a transcript.
    pub fn session_parties(&self) -> usize {
        self.plan
            .parties
            .iter()
            .filter(|p| p.role != Role::Coordinator)
            .count()
    }

    /// The dealer's id, if the plan has one.
    pub fn dealer(&self) -> Option<PartyId> {
        self.plan
            .security
            .dealer
            .as_deref()
            .and_then(|d| self.party_id(d))
    }

    /// Ids of the computing parties (sites and non-dealer helpers).
    pub fn computing_parties(&self) -> Vec<PartyId> {
        let dealer = self.dealer();
        (0..self.session_parties())
            .filter_map(|i| u16::try_from(i).ok().map(PartyId))
            .filter(|&p| Some(p) != dealer)
            .collect()
    }

    /// The output with this name.
    pub fn output(&self, name: &str) -> Option<&OutputSpec> {
        self.plan.outputs.iter().find(|o| o.name == name)
    }
}

/// An example plan: three sites in the EEA (site-se, site-fi, site-dk) and a dealer helper,
/// a PRS validation with two outputs. `keys` are the parties' verifying keys in party order.
/// For documentation, tests and demos.
pub fn example_plan(keys: &[[u8; 32]; 4]) -> Plan {
    let party = |name: &str, role, jur: &str, i: usize| PartySpec {
        name: name.into(),
        role,
        operator: format!("{name} operator"),
        jurisdiction: jur.into(),
        cert_sha256: [i as u8; 32],
        verifying_key: keys.get(i).copied().unwrap_or_default(),
        binary_sha256: [0xb1; 32],
    };
    let input = |site: &str, n, duo| Input {
        site: site.into(),
        dataset: format!("{site}-biobank"),
        duo,
        cohort: "all".into(),
        n,
    };
    let mut params = BTreeMap::new();
    params.insert("frac_bits".into(), Value::Uint(16));
    params.insert("score".into(), Value::Text("PGS000018".into()));
    Plan {
        version: codec::FORMAT_VERSION,
        run_id: RunId([7; 16]),
        engine_version: "igs-mpc 0.1.0".into(),
        security: SecuritySpec {
            protocol: "additive-n-party-dealer".into(),
            model: "semi-honest-dealer".into(),
            model_text: "Semi-honest parties; any 2 of the 3 sites may collude; the dealer \
                         holds no input, sees no opened value and must not collude with any \
                         site."
                .into(),
            dealer: Some("helper".into()),
            crypto: vec![
                "ring:z64/f16".into(),
                "sig:ed25519".into(),
                "hash:sha256".into(),
            ],
        },
        parties: vec![
            party("site-se", Role::Site, "EEA", 0),
            party("site-fi", Role::Site, "EEA", 1),
            party("site-dk", Role::Site, "EEA", 2),
            party("helper", Role::Helper, "EEA", 3),
        ],
        inputs: vec![
            input("site-se", 120, vec![DuoTerm::Gru]),
            input(
                "site-fi",
                80,
                vec![DuoTerm::Ds {
                    disease: "MONDO:0005148".into(),
                }],
            ),
            input("site-dk", 60, vec![DuoTerm::Hmb, DuoTerm::Npoa]),
        ],
        purpose: Purpose {
            disease: Some("MONDO:0005148".into()),
            study_type: "polygenic risk score validation".into(),
            ancestry_research: false,
        },
        analyses: vec![
            Analysis {
                name: "score".into(),
                circuit: "prs".into(),
                params: params.clone(),
            },
            Analysis {
                name: "evaluate".into(),
                circuit: "prs-auc".into(),
                params,
            },
        ],
        outputs: vec![
            OutputSpec {
                name: "auc".into(),
                step: 1,
                formula: "AUC of the score against case status, pooled".into(),
                recipients: vec!["site-se".into(), "site-fi".into(), "site-dk".into()],
                k: 5,
                precision: 3,
                public: true,
                ancestry_stratified: false,
                kind: OutputKind::Aggregate { parameters: 1 },
            },
            OutputSpec {
                name: "or-per-decile".into(),
                step: 1,
                formula: "odds ratio per score decile, pooled".into(),
                recipients: vec!["site-se".into()],
                k: 5,
                precision: 2,
                public: false,
                ancestry_stratified: false,
                kind: OutputKind::Aggregate { parameters: 10 },
            },
        ],
        timeouts: Timeouts {
            handshake_ms: 10_000,
            step_ms: 60_000,
            run_ms: 3_600_000,
        },
        not_after: 1_900_000_000,
    }
}

fn normalize(p: &mut Plan) {
    p.security.crypto.sort();
    p.security.crypto.dedup();
    for i in &mut p.inputs {
        i.duo.sort();
        i.duo.dedup();
    }
    p.inputs.sort();
    p.inputs.dedup();
    for o in &mut p.outputs {
        o.recipients.sort();
        o.recipients.dedup();
    }
}

fn invalid(msg: impl Into<String>) -> CodecError {
    CodecError::Invalid(msg.into())
}

fn check_structure(p: &Plan) -> Result<(), CodecError> {
    codec::check_version(p.version)?;
    if p.parties.is_empty() || p.parties.len() > usize::from(u16::MAX) {
        return Err(invalid("party count out of range"));
    }
    let mut names = BTreeSet::new();
    for q in &p.parties {
        if !names.insert(q.name.as_str()) {
            return Err(invalid("duplicate party name"));
        }
    }
    let dealer = match &p.security.dealer {
        Some(d) => {
            let i = p
                .parties
                .iter()
                .position(|q| &q.name == d)
                .ok_or_else(|| invalid("dealer is not a party"))?;
            if p.parties.get(i).map(|q| q.role) != Some(Role::Helper) {
                return Err(invalid("dealer is not a helper"));
            }
            Some(i)
        }
        None => None,
    };
    // Order: computing parties, then the dealer, then coordinators.
    let rank = |i: usize, q: &PartySpec| match (q.role, Some(i) == dealer) {
        (Role::Coordinator, _) => 2,
        (_, true) => 1,
        _ => 0,
    };
    let ranks: Vec<u8> = p
        .parties
        .iter()
        .enumerate()
        .map(|(i, q)| rank(i, q))
        .collect();
    if ranks.windows(2).any(|w| matches!(w, [a, b] if a > b)) {
        return Err(invalid(
            "parties must be ordered computing parties, dealer, coordinators",
        ));
    }
    let role_of = |name: &str| p.parties.iter().find(|q| q.name == name).map(|q| q.role);
    if !p.parties.iter().any(|q| q.role == Role::Site) {
        return Err(invalid("no site"));
    }
    let mut datasets = BTreeSet::new();
    for i in &p.inputs {
        if role_of(&i.site) != Some(Role::Site) {
            return Err(invalid("input held by a party that is not a site"));
        }
        if !datasets.insert((i.site.as_str(), i.dataset.as_str())) {
            return Err(invalid("dataset listed twice"));
        }
    }
    let mut steps = BTreeSet::new();
    for a in &p.analyses {
        if !steps.insert(a.name.as_str()) {
            return Err(invalid("duplicate analysis name"));
        }
    }
    let mut outs = BTreeSet::new();
    for o in &p.outputs {
        if !outs.insert(o.name.as_str()) {
            return Err(invalid("duplicate output name"));
        }
        if o.step as usize >= p.analyses.len() {
            return Err(invalid("output revealed at a step that does not exist"));
        }
        if o.recipients.is_empty() || o.recipients.iter().any(|r| role_of(r).is_none()) {
            return Err(invalid("output recipient is not a party"));
        }
        if o.k == 0 {
            return Err(invalid("output with k = 0"));
        }
        if let OutputKind::PerIndividual { site } = &o.kind
            && role_of(site) != Some(Role::Site)
        {
            return Err(invalid(
                "per-individual output of a party that is not a site",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_round_trip_and_noncanonical_refused() {
        let cp = CanonicalPlan::new(example_plan(&[[1; 32]; 4])).unwrap();
        let d = CanonicalPlan::decode(cp.bytes()).unwrap();
        assert_eq!(d, cp);
        // Unsorted crypto ids are a different byte string for the same set: refused.
        let mut p = cp.plan().clone();
        p.security.crypto.reverse();
        let bytes = codec::encode(&p);
        assert_eq!(CanonicalPlan::decode(&bytes), Err(CodecError::NonCanonical));
        // Over the limit.
        assert!(matches!(
            CanonicalPlan::decode(&vec![0; PLAN_LIMIT + 1]),
            Err(CodecError::TooLarge { .. })
        ));
    }

    #[test]
    fn structure_rules() {
        let mut p = example_plan(&[[1; 32]; 4]);
        p.parties.swap(0, 3); // dealer first
        assert!(matches!(CanonicalPlan::new(p), Err(CodecError::Invalid(_))));
        let mut p = example_plan(&[[1; 32]; 4]);
        p.outputs[0].recipients.push("nobody".into());
        assert!(CanonicalPlan::new(p).is_err());
        let mut p = example_plan(&[[1; 32]; 4]);
        p.inputs[0].site = "helper".into();
        assert!(CanonicalPlan::new(p).is_err());
    }
}
