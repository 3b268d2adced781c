//! Site approval of a plan: DUO consent, jurisdiction, static disclosure checks and the query
//! budget, then `Approval = Sig_site("igs-plan/v1" ‖ H(plan))`.
//!
//! # The jurisdiction rule (R3)
//!
//! Threat model: every party whose jurisdiction differs from a dataset's may be compelled (or
//! choose) to pool everything it holds with every other such party; the owning site and the
//! parties in its jurisdiction do not help them. Sharing is N-party additive over the
//! computing parties `C` (sites and non-dealer helpers), with correlated randomness from a
//! dealer `D` (semi-honest-dealer model). For a dataset of site `o` in jurisdiction `J`, let
//! `X` be the parties outside `J` and `O = C \ {o}`. The site refuses the plan when
//!
//! 1. `O ⊆ X` (and `O` non-empty): every share except the owner's own is held abroad. The
//!    owner's share is then the only thing in `J` protecting the data; we treat that as
//!    reconstructable (conservative: a compelled or compromised owner completes it, and every
//!    opened value of the run is already in their hands), or
//! 2. `D ∈ X` and `O ∩ X ≠ ∅`: the dealer knows every Beaver triple and mask it dealt, and
//!    any computing party sees every opened `x − a`, so together they recover `x`.
//!
//! Both conditions grow with the coalition, so checking the largest coalition `X` is enough.
//! Coordinators hold no shares and never count. Not covered: collusion that includes parties
//! inside `J`, and active attacks (the model is semi-honest).
//!
//! # Disclosure checks done here
//!
//! Only what is static in the plan: every output's `k` against the site's minimum (never
//! below [`K_FLOOR`]), the site's cohort sizes against its minimum site size, each aggregate's
//! parameter count against `param_percent`% of the site's `n` (a public input: the plan's
//! `n`), per-individual outputs only to their own site, no output to a helper (R9), and a step's declared dominance bound
//! ([`PARAM_DOMINANCE`]) against the site's. Checks
//! that need secret values (cell counts, dominance, subset sizes) run inside MPC later.
//!
//! # Query budget
//!
//! [`QueryLedger`] records, per approved run, which cohort of which dataset it used and what
//! it revealed. A plan whose cohort differs from an earlier one of the same dataset by at
//! least one and fewer than `subset_min` individuals is refused (differencing attack): exactly
//! when both cohorts are known as member sets (hashes of sample ids, kept only in the site's
//! ledger), conservatively by size when one is known only by its descriptor (refused when the
//! descriptors differ and the sizes differ by less than `subset_min`).

use std::collections::{BTreeMap, BTreeSet};

use core::fmt;

use serde::{Deserialize, Serialize};

use mpc_core::PartyId;

use crate::codec::{self, CodecError, FORMAT_VERSION};
use crate::hash::{Hash32, domain};
use crate::keys::{IdentityKey, SigBytes, verify_signature};
use crate::plan::{CanonicalPlan, DuoTerm, OutputKind, Role, RunId};

/// Largest approval accepted by [`Approval::decode`].
pub const APPROVAL_LIMIT: usize = 256;
/// Largest ledger accepted by [`QueryLedger::decode`].
pub const LEDGER_LIMIT: usize = 64 << 20;
/// Analysis parameter: the step's in-MPC dominance bound in per mille (`Value::Uint`); a
/// site refuses a plan whose bound exceeds its own `dominance_permille`.
pub const PARAM_DOMINANCE: &str = "dominance_permille";
/// Step parameter (`Uint`) of a step that fits many separate models, such as a GWAS (one
/// regression per variant): the parameter count of each model. The `param_percent` rule
/// (DataSHIELD's nfilter.glm, which applies per model) is then checked against it instead
/// of the output's total count of revealed numbers, which the plan still states.
pub const PARAM_MODEL_PARAMETERS: &str = "model_parameters";
/// No site may set its per-site minimum below this.
pub const K_FLOOR: u32 = 3;

/// A site's disclosure settings (defaults from SECURITY-DESIGN.md; the strictest site wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosurePolicy {
    /// Individuals per site behind any revealed aggregate or cell (default 5, never below 3).
    pub k_min: u32,
    /// Minimum site cohort size to take part (default 10).
    pub min_site_size: u64,
    /// Model parameters per site ≤ `param_percent`% of n (default 33).
    pub param_percent: u64,
    /// Subset and complement size, and the differencing margin (default 3).
    pub subset_min: u64,
    /// No individual above this per-mille share of a sum (default 900), checked in MPC.
    pub dominance_permille: u32,
    /// Maximum approved runs per dataset, if any.
    pub max_runs_per_dataset: Option<u32>,
}

impl Default for DisclosurePolicy {
    fn default() -> Self {
        Self {
            k_min: 5,
            min_site_size: 10,
            param_percent: 33,
            subset_min: 3,
            dominance_permille: 900,
            max_runs_per_dataset: None,
        }
    }
}

impl DisclosurePolicy {
    /// The strictest combination of several sites' policies (for the in-MPC checks).
    pub fn strictest(all: &[DisclosurePolicy]) -> DisclosurePolicy {
        let mut s = DisclosurePolicy::default();
        if let Some(first) = all.first() {
            s = *first;
        }
        for p in all {
            s.k_min = s.k_min.max(p.k_min);
            s.min_site_size = s.min_site_size.max(p.min_site_size);
            s.param_percent = s.param_percent.min(p.param_percent);
            s.subset_min = s.subset_min.max(p.subset_min);
            s.dominance_permille = s.dominance_permille.min(p.dominance_permille);
            s.max_runs_per_dataset = match (s.max_runs_per_dataset, p.max_runs_per_dataset) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        s
    }

    /// `k_min`, raised to [`K_FLOOR`].
    pub fn effective_k(&self) -> u32 {
        self.k_min.max(K_FLOOR)
    }
}

/// One dataset in a site's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteDataset {
    /// Name.
    pub name: String,
    /// Its DUO codes (authoritative: the plan's copy must match).
    pub duo: Vec<DuoTerm>,
}

/// A site's approval policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SitePolicy {
    /// The site's party name.
    pub site: String,
    /// Disclosure settings.
    pub disclosure: DisclosurePolicy,
    /// Datasets and their consent codes.
    pub datasets: Vec<SiteDataset>,
}

/// What the site knows locally when it decides.
#[derive(Clone, Copy, Debug)]
pub struct SiteContext<'a> {
    /// The policy.
    pub policy: &'a SitePolicy,
    /// Current Unix time in seconds (read by the caller; audit never reads the clock).
    pub now: i64,
    /// Member sets (sample-id hashes) of this plan's cohorts, by dataset name, where known.
    pub cohorts: &'a BTreeMap<String, BTreeSet<Hash32>>,
}

/// Why a site refuses (approval) or a party refuses (a reveal).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RefusalRule {
    /// The approving party is not a site of the plan, or its key is not the pinned one.
    NotASite,
    /// The plan's not-after time has passed.
    PlanExpired,
    /// The plan lists a dataset the site does not have.
    UnknownDataset,
    /// The plan's DUO codes differ from the site's configuration.
    DuoPlanMismatch,
    /// No primary permission (GRU, HMB or DS) on the dataset.
    DuoNoPermission,
    /// DS for another disease (or no disease declared).
    DuoDiseaseSpecific,
    /// HMB with a non-health ancestry purpose.
    DuoHealthMedical,
    /// NPOA with ancestry research or an ancestry-stratified output.
    DuoNoAncestry,
    /// DUO time limit passed or shorter than the plan.
    DuoTimeLimit,
    /// A DUO code the site cannot evaluate.
    DuoUnknownCode,
    /// All computing parties other than the owner are outside its jurisdiction.
    JurisdictionAllShares,
    /// The dealer and a computing party other than the owner are outside its jurisdiction.
    JurisdictionDealer,
    /// A helper would receive an output (R9).
    HelperOutput,
    /// An output's k is below the site's minimum.
    DisclosureK,
    /// A cohort is smaller than the minimum site size.
    DisclosureSiteSize,
    /// Too many parameters for a site's n.
    DisclosureParameters,
    /// Per-individual results to anyone but their own site.
    DisclosurePerIndividual,
    /// The plan's cohort size differs from the site's member set.
    CohortSize,
    /// The cohort differs from an earlier one by fewer than `subset_min` individuals.
    BudgetDifferencing,
    /// The dataset's run budget is used up.
    BudgetExhausted,
    /// A reveal of an output that is not in the plan.
    RevealNotInPlan,
    /// A reveal to a party not listed as recipient.
    RevealRecipient,
    /// A reveal at another step than the plan's.
    RevealStep,
    /// A reveal without a passing disclosure check before it.
    RevealUnchecked,
    /// A reveal with fewer than k individuals at a site.
    RevealBelowK,
    /// An in-MPC minimum-cell check failed (some secret count is between 1 and k − 1), or
    /// the plan's cell threshold is below the site's.
    DisclosureCells,
    /// An in-MPC dominance check failed (one contribution above the plan's share of a sum),
    /// or the plan's dominance bound is laxer than the site's.
    DisclosureDominance,
}

impl RefusalRule {
    /// Stable rule id, printed in transcripts and reports.
    pub fn id(self) -> &'static str {
        match self {
            Self::NotASite => "APPROVE-NOT-A-SITE",
            Self::PlanExpired => "PLAN-EXPIRED",
            Self::UnknownDataset => "DUO-UNKNOWN-DATASET",
            Self::DuoPlanMismatch => "DUO-PLAN-MISMATCH",
            Self::DuoNoPermission => "DUO-NO-PERMISSION",
            Self::DuoDiseaseSpecific => "DUO-DS",
            Self::DuoHealthMedical => "DUO-HMB",
            Self::DuoNoAncestry => "DUO-NPOA",
            Self::DuoTimeLimit => "DUO-TIME-LIMIT",
            Self::DuoUnknownCode => "DUO-UNKNOWN-CODE",
            Self::JurisdictionAllShares => "JUR-ALL-SHARES-ABROAD",
            Self::JurisdictionDealer => "JUR-DEALER-COALITION",
            Self::HelperOutput => "R9-HELPER-OUTPUT",
            Self::DisclosureK => "DISC-K",
            Self::DisclosureSiteSize => "DISC-SITE-SIZE",
            Self::DisclosureParameters => "DISC-PARAMETERS",
            Self::DisclosurePerIndividual => "DISC-PER-INDIVIDUAL",
            Self::CohortSize => "COHORT-SIZE",
            Self::BudgetDifferencing => "BUDGET-DIFFERENCING",
            Self::BudgetExhausted => "BUDGET-EXHAUSTED",
            Self::RevealNotInPlan => "REVEAL-NOT-IN-PLAN",
            Self::RevealRecipient => "REVEAL-RECIPIENT",
            Self::RevealStep => "REVEAL-STEP",
            Self::RevealUnchecked => "REVEAL-UNCHECKED",
            Self::RevealBelowK => "REVEAL-BELOW-K",
            Self::DisclosureCells => "DISC-CELLS",
            Self::DisclosureDominance => "DISC-DOMINANCE",
        }
    }

    /// Every rule, in declaration order.
    pub const ALL: [RefusalRule; 27] = [
        Self::NotASite,
        Self::PlanExpired,
        Self::UnknownDataset,
        Self::DuoPlanMismatch,
        Self::DuoNoPermission,
        Self::DuoDiseaseSpecific,
        Self::DuoHealthMedical,
        Self::DuoNoAncestry,
        Self::DuoTimeLimit,
        Self::DuoUnknownCode,
        Self::JurisdictionAllShares,
        Self::JurisdictionDealer,
        Self::HelperOutput,
        Self::DisclosureK,
        Self::DisclosureSiteSize,
        Self::DisclosureParameters,
        Self::DisclosurePerIndividual,
        Self::CohortSize,
        Self::BudgetDifferencing,
        Self::BudgetExhausted,
        Self::RevealNotInPlan,
        Self::RevealRecipient,
        Self::RevealStep,
        Self::RevealUnchecked,
        Self::RevealBelowK,
        Self::DisclosureCells,
        Self::DisclosureDominance,
    ];

    /// The rule with stable id `id` (as [`Self::id`] prints it).
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == id)
    }
}

/// A typed refusal: the rule and a short explanation (names and numbers, never data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The rule.
    pub rule: RefusalRule,
    /// Explanation.
    pub detail: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused [{}]: {}", self.rule.id(), self.detail)
    }
}

impl std::error::Error for Refusal {}

fn refuse<T>(rule: RefusalRule, detail: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        rule,
        detail: detail.into(),
    })
}

/// A site's signed approval of one plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// [`FORMAT_VERSION`].
    pub version: u16,
    /// Run id of the plan.
    pub run_id: RunId,
    /// The approving site's `PartyId`.
    pub site: u16,
    /// H(plan).
    pub plan_hash: Hash32,
    /// Unix time (seconds) of the approval, as the site's clock said. Not under the approval
    /// signature (which is exactly `Sig("igs-plan/v1" ‖ H(plan))`), but under every party's
    /// run-record signature.
    pub approved_at: i64,
    /// `Sig_site("igs-plan/v1" ‖ H(plan))`.
    pub signature: SigBytes,
}

/// The message an approval signs.
pub fn approval_message(plan_hash: &Hash32) -> Vec<u8> {
    let mut m = domain::PLAN.to_vec();
    m.extend_from_slice(plan_hash);
    m
}

impl Approval {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes canonical approval bytes (at most [`APPROVAL_LIMIT`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let a: Self = codec::decode(bytes, APPROVAL_LIMIT)?;
        codec::check_version(a.version)?;
        Ok(a)
    }

    /// True if this approves `plan`, by a site of the plan, under its pinned key.
    pub fn verify(&self, plan: &CanonicalPlan) -> bool {
        let Some(p) = plan.party(PartyId(self.site)) else {
            return false;
        };
        p.role == Role::Site
            && self.run_id == plan.run_id()
            && self.plan_hash == plan.hash()
            && verify_signature(
                &p.verifying_key,
                &approval_message(&plan.hash()),
                &self.signature,
            )
    }
}

/// A site's record of what each approved run revealed about which cohort.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryLedger {
    /// [`FORMAT_VERSION`].
    pub version: u16,
    /// The site.
    pub site: String,
    /// One entry per dataset per approved run, in approval order.
    pub entries: Vec<LedgerEntry>,
}

/// One dataset's use in one approved run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Run id.
    pub run_id: RunId,
    /// H(plan).
    pub plan_hash: Hash32,
    /// Approval time (Unix seconds).
    pub approved_at: i64,
    /// Dataset.
    pub dataset: String,
    /// Cohort descriptor from the plan.
    pub cohort: String,
    /// Cohort size.
    pub n: u64,
    /// Member set (sorted sample-id hashes), if the site resolved it.
    pub members: Option<Vec<Hash32>>,
    /// Outputs the run reveals (names).
    pub outputs: Vec<String>,
}

impl QueryLedger {
    /// An empty ledger.
    pub fn new(site: &str) -> Self {
        Self {
            version: FORMAT_VERSION,
            site: site.into(),
            entries: Vec::new(),
        }
    }

    /// Canonical bytes (the site stores them).
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes canonical ledger bytes (at most [`LEDGER_LIMIT`]); member lists must be sorted
    /// and without duplicates.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let l: Self = codec::decode(bytes, LEDGER_LIMIT)?;
        codec::check_version(l.version)?;
        for e in &l.entries {
            if let Some(m) = &e.members
                && m.windows(2).any(|w| matches!(w, [a, b] if a >= b))
            {
                return Err(CodecError::NonCanonical);
            }
        }
        Ok(l)
    }
}

/// Runs every approval check for `policy.site` without signing or recording.
pub fn check_plan(
    plan: &CanonicalPlan,
    ctx: &SiteContext<'_>,
    ledger: &QueryLedger,
) -> Result<PartyId, Refusal> {
    let policy = ctx.policy;
    let p = plan.plan();
    let Some(me) = plan.party_id(&policy.site) else {
        return refuse(RefusalRule::NotASite, "the site is not a party of the plan");
    };
    if plan.party(me).map(|s| s.role) != Some(Role::Site) {
        return refuse(RefusalRule::NotASite, "the party is not a site in the plan");
    }
    if ctx.now > p.not_after {
        return refuse(
            RefusalRule::PlanExpired,
            "the plan's not-after time has passed",
        );
    }
    let mine: Vec<_> = p.inputs.iter().filter(|i| i.site == policy.site).collect();
    // (a) purpose and consent.
    for input in &mine {
        let Some(ds) = policy.datasets.iter().find(|d| d.name == input.dataset) else {
            return refuse(
                RefusalRule::UnknownDataset,
                format!("dataset {} is not configured", input.dataset),
            );
        };
        let mut cfg = ds.duo.clone();
        cfg.sort();
        cfg.dedup();
        if cfg != input.duo {
            return refuse(
                RefusalRule::DuoPlanMismatch,
                format!("DUO codes of {} differ from the site's", input.dataset),
            );
        }
        check_duo(plan, &input.dataset, &cfg, ctx.now)?;
    }
    // (b) jurisdiction.
    if !mine.is_empty() {
        check_jurisdiction(plan, me)?;
    }
    // (c) static disclosure checks.
    let d = &policy.disclosure;
    for input in &mine {
        if input.n < d.min_site_size {
            return refuse(
                RefusalRule::DisclosureSiteSize,
                format!(
                    "cohort of {} has {} < {} individuals",
                    input.dataset, input.n, d.min_site_size
                ),
            );
        }
        if let Some(m) = ctx.cohorts.get(&input.dataset)
            && m.len() as u64 != input.n
        {
            return refuse(
                RefusalRule::CohortSize,
                format!("plan says n = {} for {}", input.n, input.dataset),
            );
        }
    }
    // The in-MPC dominance bound a step declares must be at least as strict as the site's.
    for a in &p.analyses {
        if let Some(v) = a.params.get(PARAM_DOMINANCE) {
            let ok =
                matches!(v, crate::plan::Value::Uint(x) if *x <= u64::from(d.dominance_permille));
            if !ok {
                return refuse(
                    RefusalRule::DisclosureDominance,
                    format!(
                        "step {} allows a contribution above {}‰ of a sum",
                        a.name, d.dominance_permille
                    ),
                );
            }
        }
    }
    for o in &p.outputs {
        if o.k < d.effective_k() {
            return refuse(
                RefusalRule::DisclosureK,
                format!("output {} has k = {} < {}", o.name, o.k, d.effective_k()),
            );
        }
        for r in &o.recipients {
            if plan
                .party_id(r)
                .and_then(|id| plan.party(id))
                .is_some_and(|q| q.role == Role::Helper)
            {
                return refuse(
                    RefusalRule::HelperOutput,
                    format!("output {} goes to helper {r}", o.name),
                );
            }
        }
        match &o.kind {
            OutputKind::PerIndividual { site } => {
                if o.recipients.iter().any(|r| r != site) {
                    return refuse(
                        RefusalRule::DisclosurePerIndividual,
                        format!("per-individual output {} leaves site {site}", o.name),
                    );
                }
            }
            OutputKind::Aggregate { parameters } => {
                let per_model = p
                    .analyses
                    .get(o.step as usize)
                    .and_then(|a| a.params.get(PARAM_MODEL_PARAMETERS))
                    .and_then(|v| match v {
                        crate::plan::Value::Uint(m) => Some(*m),
                        _ => None,
                    });
                let parameters = per_model.map_or(*parameters, |m| m.min(*parameters));
                for input in &mine {
                    if parameters.saturating_mul(100) > d.param_percent.saturating_mul(input.n) {
                        return refuse(
                            RefusalRule::DisclosureParameters,
                            format!(
                                "output {} reveals {parameters} parameters, > {}% of n = {} ({})",
                                o.name, d.param_percent, input.n, input.dataset
                            ),
                        );
                    }
                }
            }
        }
    }
    // (d) query budget.
    for input in &mine {
        let earlier: Vec<&LedgerEntry> = ledger
            .entries
            .iter()
            .filter(|e| e.dataset == input.dataset && e.run_id != p.run_id)
            .collect();
        if let Some(max) = d.max_runs_per_dataset
            && earlier.len() >= max as usize
        {
            return refuse(
                RefusalRule::BudgetExhausted,
                format!("{} already used in {} runs", input.dataset, earlier.len()),
            );
        }
        let now_members = ctx.cohorts.get(&input.dataset);
        for e in earlier {
            let differs_by = match (now_members, &e.members) {
                (Some(a), Some(b)) => {
                    let b: BTreeSet<&Hash32> = b.iter().collect();
                    Some(
                        a.iter().filter(|x| !b.contains(x)).count() as u64
                            + b.iter().filter(|x| !a.contains(**x)).count() as u64,
                    )
                }
                _ if e.cohort == input.cohort && e.n == input.n => Some(0),
                _ => None,
            };
            let too_close = match differs_by {
                Some(k) => k > 0 && k < d.subset_min,
                None => e.n.abs_diff(input.n) < d.subset_min,
            };
            if too_close {
                return refuse(
                    RefusalRule::BudgetDifferencing,
                    format!(
                        "cohort of {} differs from run {} by fewer than {} individuals",
                        input.dataset,
                        codec::hex(&e.run_id.0),
                        d.subset_min
                    ),
                );
            }
        }
    }
    Ok(me)
}

fn check_duo(
    plan: &CanonicalPlan,
    dataset: &str,
    duo: &[DuoTerm],
    now: i64,
) -> Result<(), Refusal> {
    let p = plan.plan();
    let mut permitted = false;
    let mut any_permission = false;
    let mut why = RefusalRule::DuoNoPermission;
    for t in duo {
        match t {
            DuoTerm::Gru => {
                any_permission = true;
                permitted = true;
            }
            DuoTerm::Hmb => {
                any_permission = true;
                if p.purpose.ancestry_research && p.purpose.disease.is_none() {
                    why = RefusalRule::DuoHealthMedical;
                } else {
                    permitted = true;
                }
            }
            DuoTerm::Ds { disease } => {
                any_permission = true;
                if p.purpose.disease.as_deref() == Some(disease.as_str()) {
                    permitted = true;
                } else {
                    why = RefusalRule::DuoDiseaseSpecific;
                }
            }
            DuoTerm::Npoa => {
                if p.purpose.ancestry_research {
                    return refuse(
                        RefusalRule::DuoNoAncestry,
                        format!("{dataset} is NPOA and the study is ancestry research"),
                    );
                }
                if let Some(o) = p.outputs.iter().find(|o| o.ancestry_stratified) {
                    return refuse(
                        RefusalRule::DuoNoAncestry,
                        format!(
                            "{dataset} is NPOA and output {} is ancestry-stratified",
                            o.name
                        ),
                    );
                }
            }
            DuoTerm::TimeLimit { not_after } => {
                if now > *not_after || p.not_after > *not_after {
                    return refuse(
                        RefusalRule::DuoTimeLimit,
                        format!("{dataset}'s consent expires at {not_after}"),
                    );
                }
            }
            DuoTerm::Other { code } => {
                return refuse(
                    RefusalRule::DuoUnknownCode,
                    format!("{dataset} carries {code}, which this site cannot evaluate"),
                );
            }
        }
    }
    if !any_permission {
        return refuse(
            RefusalRule::DuoNoPermission,
            format!("{dataset} has no GRU, HMB or DS permission"),
        );
    }
    if !permitted {
        let disease = p.purpose.disease.as_deref().unwrap_or("none");
        return refuse(
            why,
            format!("{dataset}'s consent does not cover the purpose (disease {disease})"),
        );
    }
    Ok(())
}

/// The jurisdiction rule of the module docs, for the datasets of site `owner`.
pub fn check_jurisdiction(plan: &CanonicalPlan, owner: PartyId) -> Result<(), Refusal> {
    let Some(o) = plan.party(owner) else {
        return refuse(RefusalRule::NotASite, "owner is not a party");
    };
    let home = o.jurisdiction.as_str();
    let outside = |id: PartyId| plan.party(id).is_some_and(|q| q.jurisdiction != home);
    let others: Vec<PartyId> = plan
        .computing_parties()
        .into_iter()
        .filter(|&c| c != owner)
        .collect();
    let name = |id: PartyId| plan.party(id).map(|q| q.name.clone()).unwrap_or_default();
    if !others.is_empty() && others.iter().all(|&c| outside(c)) {
        return refuse(
            RefusalRule::JurisdictionAllShares,
            format!(
                "every computing party other than {} is outside {home}",
                o.name
            ),
        );
    }
    if let Some(d) = plan.dealer()
        && outside(d)
        && let Some(&c) = others.iter().find(|&&c| outside(c))
    {
        return refuse(
            RefusalRule::JurisdictionDealer,
            format!(
                "dealer {} and computing party {} are both outside {home}",
                name(d),
                name(c)
            ),
        );
    }
    Ok(())
}

/// Applies every check of the module docs for `ctx.policy.site`; on success signs
/// `"igs-plan/v1" ‖ H(plan)` with `key`, records the run in `ledger` and returns the
/// approval. `key` must be the one pinned for the site in the plan.
pub fn approve(
    plan: &CanonicalPlan,
    ctx: &SiteContext<'_>,
    key: &IdentityKey,
    ledger: &mut QueryLedger,
) -> Result<Approval, Refusal> {
    let me = check_plan(plan, ctx, ledger)?;
    if plan.party(me).map(|p| p.verifying_key) != Some(key.verifying_key()) {
        return refuse(
            RefusalRule::NotASite,
            "the signing key is not the one pinned for this site",
        );
    }
    let p = plan.plan();
    for input in p.inputs.iter().filter(|i| i.site == ctx.policy.site) {
        ledger.entries.push(LedgerEntry {
            run_id: p.run_id,
            plan_hash: plan.hash(),
            approved_at: ctx.now,
            dataset: input.dataset.clone(),
            cohort: input.cohort.clone(),
            n: input.n,
            members: ctx
                .cohorts
                .get(&input.dataset)
                .map(|m| m.iter().copied().collect()),
            outputs: p.outputs.iter().map(|o| o.name.clone()).collect(),
        });
    }
    Ok(Approval {
        version: FORMAT_VERSION,
        run_id: p.run_id,
        site: me.0,
        plan_hash: plan.hash(),
        approved_at: ctx.now,
        signature: key.sign(&approval_message(&plan.hash())),
    })
}
