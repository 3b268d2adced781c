//! Computation plans in `audit`'s canonical form, built by `parties` (no transport needed:
//! the plan files, the approval command and the fuzz targets use it too).

use std::collections::BTreeMap;

use audit::plan::{
    Analysis, DuoTerm, Input, OutputKind, OutputSpec, PartySpec, Purpose, Role as AuditRole,
    SecuritySpec, Timeouts, Value,
};
use audit::{CanonicalPlan, DisclosurePolicy, RunId};

use mpc_core::party::PartyId;
use mpc_core::wire::SessionId;

use crate::config::Role;

/// Output: column sums and `N·Q − S·Sᵀ` (from which the means and the covariance follow).
pub const OUTPUT_MOMENTS: &str = "pooled-moments";
/// Output: the pooled number of complete rows.
pub const OUTPUT_N: &str = "pooled-n";
/// The only analysis step of a pooled-statistics plan.
pub const POOLED_STATS_STEP: &str = "pooled-stats";
/// A party of a plan as `parties` knows it (consortium entry plus signing key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanParty {
    /// Name.
    pub name: String,
    /// Site, helper or coordinator.
    pub role: Role,
    /// Jurisdiction of its machine and operator.
    pub jurisdiction: String,
    /// SHA-256 of its certificate.
    pub cert_sha256: [u8; 32],
    /// Its Ed25519 verifying key (the certificate's key).
    pub verifying_key: [u8; 32],
}

/// What a pooled-statistics plan says (`session::demo::pooled_stats`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PooledStatsSpec {
    /// Run id (also the session id).
    pub run_id: [u8; 16],
    /// Dataset name in every site's catalogue.
    pub dataset: String,
    /// Columns.
    pub columns: Vec<String>,
    /// Repetitions.
    pub repeat: u32,
    /// Parties: sites, then the helper (the dealer), then coordinators.
    pub parties: Vec<PlanParty>,
    /// Per site: the declared (public) cohort size and the dataset's DUO codes.
    pub inputs: Vec<(String, u64, Vec<DuoTerm>)>,
    /// Study type in words.
    pub purpose: String,
    /// Disease term, if any.
    pub disease: Option<String>,
    /// Minimum individuals per site behind each output.
    pub k: u32,
    /// Not run after this Unix time (seconds).
    pub not_after: i64,
    /// Progress timeout (ms).
    pub step_ms: u64,
}

/// The security model of every `parties` session, in plain words (printed in reports).
pub const MODEL_TEXT: &str = "Semi-honest parties: each follows the protocol but may try to \
     learn more from what it sees. Any coalition of sites learns nothing beyond the plan's \
     outputs and its own inputs. The helper deals correlated randomness only: it holds no \
     input, sees no opened value and must not collude with any site. Connections are QUIC \
     with mutual TLS 1.3 to certificates pinned in the consortium file.";

fn audit_role(r: Role) -> AuditRole {
    match r {
        Role::Site => AuditRole::Site,
        Role::Helper => AuditRole::Helper,
        Role::Coordinator => AuditRole::Coordinator,
    }
}

fn party_specs(parties: &[PlanParty]) -> Vec<PartySpec> {
    parties
        .iter()
        .map(|p| PartySpec {
            name: p.name.clone(),
            role: audit_role(p.role),
            operator: p.name.clone(),
            jurisdiction: p.jurisdiction.clone(),
            cert_sha256: p.cert_sha256,
            verifying_key: p.verifying_key,
            // Binaries are not attested yet: all zeros means "not attested".
            binary_sha256: [0; 32],
        })
        .collect()
}

fn security(parties: &[PlanParty], crypto: &[&str]) -> SecuritySpec {
    let mut crypto: Vec<String> = crypto.iter().map(|c| (*c).to_owned()).collect();
    crypto.extend(
        ["sig:ed25519", "hash:sha256", "tls:1.3-mtls"]
            .iter()
            .map(|c| (*c).to_owned()),
    );
    SecuritySpec {
        protocol: "additive-n-party-dealer".into(),
        model: "semi-honest-dealer".into(),
        model_text: MODEL_TEXT.into(),
        dealer: parties
            .iter()
            .find(|p| p.role == Role::Helper)
            .map(|p| p.name.clone()),
        crypto,
    }
}

fn timeouts(step_ms: u64) -> Timeouts {
    Timeouts {
        handshake_ms: step_ms,
        step_ms,
        run_ms: step_ms.saturating_mul(360),
    }
}

/// The audit plan of a pooled-statistics job.
pub fn pooled_stats_plan(spec: &PooledStatsSpec) -> Result<CanonicalPlan, String> {
    let d = spec.columns.len() as u64;
    let recipients: Vec<String> = spec
        .parties
        .iter()
        .filter(|p| p.role != Role::Helper)
        .map(|p| p.name.clone())
        .collect();
    let mut params = BTreeMap::new();
    params.insert("dataset".into(), Value::Text(spec.dataset.clone()));
    params.insert("columns".into(), Value::Texts(spec.columns.clone()));
    params.insert("repeat".into(), Value::Uint(u64::from(spec.repeat)));
    // The in-MPC dominance bound (SECURITY-DESIGN default): every site approves it as at
    // least as strict as its own, or refuses the plan.
    params.insert(
        audit::approval::PARAM_DOMINANCE.into(),
        Value::Uint(u64::from(DisclosurePolicy::default().dominance_permille)),
    );
    params.insert(
        "ring".into(),
        Value::Text("Z2^128, 40 fractional bits".into()),
    );
    let output = |name: &str, formula: &str, parameters: u64| OutputSpec {
        name: name.into(),
        step: 0,
        formula: formula.into(),
        recipients: recipients.clone(),
        k: spec.k,
        precision: 12,
        public: true,
        ancestry_stratified: false,
        kind: OutputKind::Aggregate { parameters },
    };
    let plan = audit::Plan {
        version: audit::codec::FORMAT_VERSION,
        run_id: RunId(spec.run_id),
        engine_version: concat!("igs-mpc ", env!("CARGO_PKG_VERSION")).into(),
        security: security(&spec.parties, &["ring:z128/f40"]),
        parties: party_specs(&spec.parties),
        inputs: spec
            .inputs
            .iter()
            .map(|(site, n, duo)| Input {
                site: site.clone(),
                dataset: spec.dataset.clone(),
                duo: duo.clone(),
                cohort: format!("complete rows of {}", spec.columns.join(", ")),
                n: *n,
            })
            .collect(),
        purpose: Purpose {
            disease: spec.disease.clone(),
            study_type: spec.purpose.clone(),
            ancestry_research: false,
        },
        analyses: vec![Analysis {
            name: POOLED_STATS_STEP.into(),
            circuit: "pooled-stats".into(),
            params,
        }],
        outputs: vec![
            output(OUTPUT_N, "N = Σ_sites n_site (complete rows)", 1),
            output(
                OUTPUT_MOMENTS,
                "S = Σ x (column sums) and N·Q − S·Sᵀ with Q = Σ x xᵀ; \
                 mean = S / N, covariance = (N·Q − S·Sᵀ) / (N (N − 1))",
                d + d * d,
            ),
        ],
        timeouts: timeouts(spec.step_ms),
        not_after: spec.not_after,
    };
    CanonicalPlan::new(plan).map_err(|e| format!("plan: {e}"))
}

/// One output of a multi-step plan (an aggregate over the contributing sites' cohorts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepOutput {
    /// Unique name (what the reveal gate is asked for).
    pub name: String,
    /// Index of the analysis step that opens it.
    pub step: u32,
    /// What it is, in words or notation.
    pub formula: String,
    /// Who receives it (party names).
    pub recipients: Vec<String>,
    /// How many numbers it opens.
    pub parameters: u64,
}

/// What a multi-step plan says: the IGS pipeline (`parties::pipeline`).
#[derive(Clone, Debug, PartialEq)]
pub struct StepsPlanSpec {
    /// Run id (also the session id).
    pub run_id: [u8; 16],
    /// Dataset name at every site.
    pub dataset: String,
    /// Public cohort descriptor.
    pub cohort: String,
    /// Parties: sites, then the helper (the dealer), then coordinators.
    pub parties: Vec<PlanParty>,
    /// Per site: the declared (public) cohort size and the dataset's DUO codes.
    pub inputs: Vec<(String, u64, Vec<DuoTerm>)>,
    /// The steps in execution order: name, circuit, parameters.
    pub analyses: Vec<Analysis>,
    /// Every output.
    pub outputs: Vec<StepOutput>,
    /// Study type in words.
    pub purpose: String,
    /// Disease term, if any.
    pub disease: Option<String>,
    /// Minimum individuals per site behind each output.
    pub k: u32,
    /// Not run after this Unix time (seconds).
    pub not_after: i64,
    /// Progress timeout (ms).
    pub step_ms: u64,
}

/// The audit plan of a multi-step job: every step with all its parameters, every output
/// with its recipients. Each step also carries the in-MPC dominance bound (the
/// SECURITY-DESIGN default), which every site approves as at least as strict as its own.
pub fn steps_plan(spec: &StepsPlanSpec) -> Result<CanonicalPlan, String> {
    let mut analyses = spec.analyses.clone();
    for a in &mut analyses {
        a.params
            .entry(audit::approval::PARAM_DOMINANCE.into())
            .or_insert(Value::Uint(u64::from(
                DisclosurePolicy::default().dominance_permille,
            )));
    }
    let plan = audit::Plan {
        version: audit::codec::FORMAT_VERSION,
        run_id: RunId(spec.run_id),
        engine_version: concat!("igs-mpc ", env!("CARGO_PKG_VERSION")).into(),
        security: security(&spec.parties, &["ring:z128/f40", "he:glwe-u128-ntt"]),
        parties: party_specs(&spec.parties),
        inputs: spec
            .inputs
            .iter()
            .map(|(site, n, duo)| Input {
                site: site.clone(),
                dataset: spec.dataset.clone(),
                duo: duo.clone(),
                cohort: spec.cohort.clone(),
                n: *n,
            })
            .collect(),
        purpose: Purpose {
            disease: spec.disease.clone(),
            study_type: spec.purpose.clone(),
            ancestry_research: false,
        },
        analyses,
        outputs: spec
            .outputs
            .iter()
            .map(|o| OutputSpec {
                name: o.name.clone(),
                step: o.step,
                formula: o.formula.clone(),
                recipients: o.recipients.clone(),
                k: spec.k,
                precision: 12,
                public: true,
                ancestry_stratified: false,
                kind: OutputKind::Aggregate {
                    parameters: o.parameters,
                },
            })
            .collect(),
        timeouts: timeouts(spec.step_ms),
        not_after: spec.not_after,
    };
    CanonicalPlan::new(plan).map_err(|e| format!("plan: {e}"))
}

/// Parses a DUO term as written in configs and on the command line: `GRU`, `HMB`, `NPOA`,
/// `DS:<disease term>`, `TIME:<unix seconds>`, or a `DUO:…` CURIE.
pub fn parse_duo(s: &str) -> Option<DuoTerm> {
    let s = s.trim();
    Some(match s {
        "GRU" | "DUO:0000042" => DuoTerm::Gru,
        "HMB" | "DUO:0000006" => DuoTerm::Hmb,
        "NPOA" | "DUO:0000044" => DuoTerm::Npoa,
        _ => {
            if let Some(d) = s.strip_prefix("DS:") {
                if d.is_empty() || d.len() > 64 {
                    return None;
                }
                DuoTerm::Ds { disease: d.into() }
            } else if let Some(t) = s.strip_prefix("TIME:") {
                DuoTerm::TimeLimit {
                    not_after: t.parse().ok()?,
                }
            } else if s.starts_with("DUO:") && s.len() == 11 {
                DuoTerm::Other { code: s.into() }
            } else {
                return None;
            }
        }
    })
}

/// The disclosure policy from a site config's `[disclosure]` table (keys `k_min`,
/// `min_site_size`, `param_percent`, `subset_min`, `dominance_permille`,
/// `max_runs_per_dataset`; missing keys keep SECURITY-DESIGN.md's defaults).
pub fn disclosure_policy(t: &toml::Table) -> Result<DisclosurePolicy, String> {
    let mut p = DisclosurePolicy::default();
    for (k, v) in t {
        let n = v
            .as_integer()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| format!("[disclosure] {k}: a non-negative integer is expected"))?;
        let small = || u32::try_from(n).map_err(|_| format!("[disclosure] {k}: too large"));
        match k.as_str() {
            "k_min" => p.k_min = small()?,
            "min_site_size" => p.min_site_size = n,
            "param_percent" => p.param_percent = n,
            "subset_min" => p.subset_min = n,
            "dominance_permille" => p.dominance_permille = small()?,
            "max_runs_per_dataset" => p.max_runs_per_dataset = Some(small()?),
            _ => return Err(format!("[disclosure] {k}: unknown setting")),
        }
    }
    Ok(p)
}

/// A refusal told to every other party of the session (issue 9): the refusing party puts it
/// at the start of the reason of its abort notice, a wire frame (versioned header with the
/// session id, reason capped at `net::frames::MAX_REASON` characters); a party that receives
/// it logs REFUSE with the same rule, so every transcript holds the refusal.
///
/// Text form: `[igs-refuse/v1 session=<32 hex> party=<u16> rule=<rule id>]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefusalNotice {
    /// The session (the plan's run id).
    pub session: SessionId,
    /// The refusing party.
    pub party: PartyId,
    /// The rule.
    pub rule: audit::RefusalRule,
}

const NOTICE_PREFIX: &str = "[igs-refuse/v1 ";
/// Longest notice body accepted by [`RefusalNotice::find`].
const NOTICE_MAX: usize = 128;

impl RefusalNotice {
    /// The text form.
    pub fn token(&self) -> String {
        format!(
            "{NOTICE_PREFIX}session={} party={} rule={}]",
            crate::config::to_hex(&self.session.0),
            self.party.0,
            self.rule.id()
        )
    }

    /// The first notice in `text` (a peer's abort reason), if well formed.
    pub fn find(text: &str) -> Option<Self> {
        let start = text.find(NOTICE_PREFIX)?;
        let rest = text.get(start + NOTICE_PREFIX.len()..)?;
        let end = rest.get(..rest.len().min(NOTICE_MAX + 1))?.find(']')?;
        let mut fields = rest.get(..end)?.split(' ');
        let session = fields.next()?.strip_prefix("session=")?;
        let party = fields.next()?.strip_prefix("party=")?;
        let rule = fields.next()?.strip_prefix("rule=")?;
        if fields.next().is_some() || session.len() != 32 {
            return None;
        }
        let sid: [u8; 16] = crate::config::from_hex_bytes(session)?.try_into().ok()?;
        if party.is_empty() || party.len() > 5 || !party.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Self {
            session: SessionId(sid),
            party: PartyId(party.parse().ok()?),
            rule: audit::RefusalRule::from_id(rule)?,
        })
    }
}

#[cfg(test)]
mod notice_tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    #[test]
    fn refusal_notice_round_trip_and_rejects() {
        let n = RefusalNotice {
            session: SessionId([0xab; 16]),
            party: PartyId(2),
            rule: audit::RefusalRule::DisclosureDominance,
        };
        let t = n.token();
        // Found inside a longer (nested) abort reason.
        let text = format!("session failed: x (P0) aborted: API misuse: {t} reveal refused");
        assert_eq!(RefusalNotice::find(&text), Some(n));
        for bad in [
            t.replace("v1", "v2"),
            t.replace("rule=DISC-DOMINANCE", "rule=NO-SUCH-RULE"),
            t.replace("party=2", "party=99999999"),
            t.replace("party=2", "party=-1"),
            t.replace(&"ab".repeat(16), &"ab".repeat(15)),
            t.replace(']', " extra]"),
            t.trim_end_matches(']').to_owned(),
        ] {
            assert_eq!(RefusalNotice::find(&bad), None, "{bad}");
        }
    }
}
