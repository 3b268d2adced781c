//! The offline verifier: plan, approvals, N transcripts and the run record, checked against
//! the keys pinned in the plan. PASS, or FAIL with (party, sequence number, rule) of the first
//! failure, in this order: plan; approvals (party order); each transcript in party order, entry
//! by entry, then its tree head; the pairwise SEND/RECV check; the run record.

use core::fmt;

use mpc_core::PartyId;

use crate::approval::Approval;
use crate::codec::CodecError;
use crate::hash::{self, Hash32};
use crate::plan::{CanonicalPlan, Role};
use crate::record::{self, PairTraffic, RunRecord};
use crate::transcript::{self, Body, Entry, Record, SignedTreeHead};

/// Everything an auditor is given (bytes as found on disk).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditBundle {
    /// The plan.
    pub plan: Vec<u8>,
    /// Every site's approval.
    pub approvals: Vec<Vec<u8>>,
    /// Transcript file of party i at index i (every session party).
    pub transcripts: Vec<Vec<u8>>,
    /// The co-signed run record.
    pub run_record: Vec<u8>,
}

/// The rule a failure breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// The plan does not decode (or is not canonical, or breaks a structural rule).
    PlanDecode,
    /// An approval does not decode.
    ApprovalDecode,
    /// An approval is for another plan or run.
    ApprovalPlanMismatch,
    /// An approval's signature does not verify under the site's pinned key.
    ApprovalSignature,
    /// A site's approval is missing, or given twice, or by a non-site.
    ApprovalSet,
    /// Not one transcript per session party.
    TranscriptCount,
    /// A record does not decode.
    EntryDecode,
    /// An entry of another run.
    EntryRunId,
    /// An entry of another party.
    EntryParty,
    /// Sequence numbers not 0, 1, 2, … (deleted, duplicated, reordered entries).
    EntrySeq,
    /// `prev` is not the hash of the previous entry (or H(plan) for the first).
    EntryPrev,
    /// Plan steps out of order or out of range.
    StepOrder,
    /// A peer that is not a session party, or the party itself.
    EntryPeer,
    /// A handshake with pins other than the plan's (certificate or binary digest).
    HandshakePin,
    /// A reveal of an output not in the plan, to a non-recipient, at the wrong step, below k,
    /// or with a value for a non-public output.
    RevealNotInPlan,
    /// A reveal without a passing CHECK for the output earlier in the same step.
    RevealUnchecked,
    /// An entry or tree head after END or ABORT, or a tree head before it.
    AfterClose,
    /// The transcript does not end with END or ABORT and a tree head.
    NotClosed,
    /// Tree head for another run, party, plan or size.
    HeadMismatch,
    /// Recomputed Merkle root differs from the tree head.
    HeadRoot,
    /// Tree-head signature does not verify under the party's pinned key.
    HeadSignature,
    /// i's SENDs to j differ from j's RECVs from i.
    PairMismatch,
    /// The run record does not decode.
    RunRecordDecode,
    /// The run record's content differs from what the verifier recomputed.
    RunRecordMismatch,
    /// A party's run-record signature is missing or does not verify.
    RunRecordSignature,
}

impl Rule {
    /// Stable id.
    pub fn id(self) -> &'static str {
        match self {
            Self::PlanDecode => "PLAN-DECODE",
            Self::ApprovalDecode => "APPROVAL-DECODE",
            Self::ApprovalPlanMismatch => "APPROVAL-PLAN-MISMATCH",
            Self::ApprovalSignature => "APPROVAL-SIGNATURE",
            Self::ApprovalSet => "APPROVAL-SET",
            Self::TranscriptCount => "TRANSCRIPT-COUNT",
            Self::EntryDecode => "ENTRY-DECODE",
            Self::EntryRunId => "ENTRY-RUN-ID",
            Self::EntryParty => "ENTRY-PARTY",
            Self::EntrySeq => "ENTRY-SEQ",
            Self::EntryPrev => "ENTRY-PREV",
            Self::StepOrder => "STEP-ORDER",
            Self::EntryPeer => "ENTRY-PEER",
            Self::HandshakePin => "HANDSHAKE-PIN",
            Self::RevealNotInPlan => "REVEAL-NOT-IN-PLAN",
            Self::RevealUnchecked => "REVEAL-UNCHECKED",
            Self::AfterClose => "AFTER-CLOSE",
            Self::NotClosed => "NOT-CLOSED",
            Self::HeadMismatch => "STH-MISMATCH",
            Self::HeadRoot => "STH-ROOT",
            Self::HeadSignature => "STH-SIGNATURE",
            Self::PairMismatch => "PAIR-MISMATCH",
            Self::RunRecordDecode => "RUN-RECORD-DECODE",
            Self::RunRecordMismatch => "RUN-RECORD-MISMATCH",
            Self::RunRecordSignature => "RUN-RECORD-SIGNATURE",
        }
    }
}

/// The first failure: which party, which sequence number (entries; for a tree head the number
/// of entries), which rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The party whose transcript, approval or signature fails (None for the plan itself).
    pub party: Option<PartyId>,
    /// Sequence number in that party's transcript, where it applies.
    pub seq: Option<u64>,
    /// The rule.
    pub rule: Rule,
    /// Explanation (no data).
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FAIL [{}]", self.rule.id())?;
        if let Some(p) = self.party {
            write!(f, " party {p}")?;
        }
        if let Some(s) = self.seq {
            write!(f, " seq {s}")?;
        }
        write!(f, ": {}", self.detail)
    }
}

impl std::error::Error for Failure {}

fn fail<T>(
    party: Option<PartyId>,
    seq: Option<u64>,
    rule: Rule,
    detail: impl Into<String>,
) -> Result<T, Failure> {
    Err(Failure {
        party,
        seq,
        rule,
        detail: detail.into(),
    })
}

/// A bundle that passed, decoded (for reports).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The plan.
    pub plan: CanonicalPlan,
    /// Approvals, in party order.
    pub approvals: Vec<Approval>,
    /// Entries of each party.
    pub entries: Vec<Vec<Entry>>,
    /// Tree heads, in party order.
    pub heads: Vec<SignedTreeHead>,
    /// The run record.
    pub record: RunRecord,
}

/// Verifies a bundle. `Ok` is PASS.
pub fn verify(bundle: &AuditBundle) -> Result<Verified, Failure> {
    let plan = CanonicalPlan::decode(&bundle.plan)
        .or_else(|e| fail(None, None, Rule::PlanDecode, e.to_string()))?;
    let mut approvals = Vec::new();
    for (i, b) in bundle.approvals.iter().enumerate() {
        approvals.push(Approval::decode(b).or_else(|e: CodecError| {
            fail(
                None,
                None,
                Rule::ApprovalDecode,
                format!("approval #{i}: {e}"),
            )
        })?);
    }
    let approvals = check_approvals(&plan, &approvals)?;
    let (entries, heads) = check_transcripts(&plan, &bundle.transcripts)?;
    let pairs = check_pairs(&plan, &entries)?;
    let record = RunRecord::decode(&bundle.run_record)
        .or_else(|e| fail(None, None, Rule::RunRecordDecode, e.to_string()))?;
    let b = &record.body;
    let mismatch = |what: &str| {
        fail(
            None,
            None,
            Rule::RunRecordMismatch,
            format!("run record: {what} differ"),
        )
    };
    if b.run_id != plan.run_id() || b.plan_hash != plan.hash() {
        return mismatch("run id or plan hash");
    }
    if b.approvals != approvals {
        return mismatch("approvals");
    }
    if b.heads != heads {
        return mismatch("tree heads");
    }
    if b.pairs != pairs {
        return mismatch("pairwise results");
    }
    for (i, p) in plan.plan().parties.iter().enumerate() {
        let id = PartyId(i as u16);
        if !record.signed_by(id, &p.verifying_key) {
            return fail(
                Some(id),
                None,
                Rule::RunRecordSignature,
                format!(
                    "{} has not signed the run record under its pinned key",
                    p.name
                ),
            );
        }
    }
    if record.signatures.len() != plan.plan().parties.len() {
        return mismatch("signature count");
    }
    Ok(Verified {
        plan,
        approvals,
        entries,
        heads,
        record,
    })
}

/// Every site approved this plan exactly once under its pinned key; returns the approvals in
/// party order.
pub fn check_approvals(
    plan: &CanonicalPlan,
    approvals: &[Approval],
) -> Result<Vec<Approval>, Failure> {
    let mut out = Vec::new();
    for a in approvals {
        let id = PartyId(a.site);
        let Some(p) = plan.party(id) else {
            return fail(
                None,
                None,
                Rule::ApprovalSet,
                "approval by a party not in the plan",
            );
        };
        if p.role != Role::Site {
            return fail(
                Some(id),
                None,
                Rule::ApprovalSet,
                format!("{} is not a site", p.name),
            );
        }
        if a.run_id != plan.run_id() || a.plan_hash != plan.hash() {
            return fail(
                Some(id),
                None,
                Rule::ApprovalPlanMismatch,
                format!("{} approved another plan", p.name),
            );
        }
        if !a.verify(plan) {
            return fail(
                Some(id),
                None,
                Rule::ApprovalSignature,
                format!(
                    "{}'s approval signature does not verify under its pinned key",
                    p.name
                ),
            );
        }
    }
    for (i, p) in plan.plan().parties.iter().enumerate() {
        if p.role != Role::Site {
            continue;
        }
        let mine: Vec<&Approval> = approvals
            .iter()
            .filter(|a| usize::from(a.site) == i)
            .collect();
        match mine.as_slice() {
            [a] => out.push((*a).clone()),
            _ => {
                return fail(
                    Some(PartyId(i as u16)),
                    None,
                    Rule::ApprovalSet,
                    format!("{} approvals by {}", mine.len(), p.name),
                );
            }
        }
    }
    if out.len() != approvals.len() {
        return fail(None, None, Rule::ApprovalSet, "approvals by non-sites");
    }
    Ok(out)
}

/// Checks every transcript; returns entries and tree heads in party order.
pub fn check_transcripts(
    plan: &CanonicalPlan,
    transcripts: &[Vec<u8>],
) -> Result<(Vec<Vec<Entry>>, Vec<SignedTreeHead>), Failure> {
    let n = plan.session_parties();
    if transcripts.len() != n {
        return fail(
            None,
            None,
            Rule::TranscriptCount,
            format!("{} transcripts for {n} session parties", transcripts.len()),
        );
    }
    let mut all = Vec::new();
    let mut heads = Vec::new();
    for (i, t) in transcripts.iter().enumerate() {
        let (e, h) = check_one(plan, PartyId(i as u16), t)?;
        all.push(e);
        heads.push(h);
    }
    Ok((all, heads))
}

fn check_one(
    plan: &CanonicalPlan,
    me: PartyId,
    bytes: &[u8],
) -> Result<(Vec<Entry>, SignedTreeHead), Failure> {
    let p = plan.plan();
    let records = transcript::parse(bytes).or_else(|e| {
        fail(
            Some(me),
            Some(e.index),
            Rule::EntryDecode,
            e.error.to_string(),
        )
    })?;
    let mut entries: Vec<Entry> = Vec::new();
    let mut leaves: Vec<Hash32> = Vec::new();
    let mut prev = plan.hash();
    let mut step = 0u32;
    let mut closed = false;
    let mut head = None;
    // Checks of the current step: (subject, passed).
    let mut checks: Vec<(String, bool)> = Vec::new();
    for r in records {
        let k = entries.len() as u64;
        let (e, eb) = match r {
            Record::Head(h) => {
                if !closed || head.is_some() {
                    return fail(
                        Some(me),
                        Some(k),
                        Rule::AfterClose,
                        "tree head not right after END/ABORT",
                    );
                }
                head = Some(h);
                continue;
            }
            Record::Entry(e, eb) => (e, eb),
        };
        let at = |rule, d: String| fail(Some(me), Some(k), rule, d);
        if closed {
            return at(Rule::AfterClose, "entry after END/ABORT".into());
        }
        if e.run_id != p.run_id {
            return at(Rule::EntryRunId, "entry of another run".into());
        }
        if e.party != me.0 {
            return at(Rule::EntryParty, format!("entry of P{}", e.party));
        }
        if e.seq != k {
            return at(
                Rule::EntrySeq,
                format!("sequence number {} where {k} was expected", e.seq),
            );
        }
        if e.prev != prev {
            return at(
                Rule::EntryPrev,
                "prev is not the hash of the previous entry".into(),
            );
        }
        if e.step < step || e.step as usize >= p.analyses.len() {
            return at(
                Rule::StepOrder,
                format!("step {} after step {step}", e.step),
            );
        }
        if e.step != step {
            checks.clear();
        }
        step = e.step;
        let peer_ok = |peer: u16| peer != me.0 && usize::from(peer) < plan.session_parties();
        match &e.body {
            Body::Handshake {
                peer,
                cert_sha256,
                binary_sha256,
            } => {
                if !peer_ok(*peer) {
                    return at(Rule::EntryPeer, format!("peer P{peer}"));
                }
                let q = plan.party(PartyId(*peer));
                if q.map(|q| (q.cert_sha256, q.binary_sha256))
                    != Some((*cert_sha256, *binary_sha256))
                {
                    return at(
                        Rule::HandshakePin,
                        format!("P{peer} presented a certificate or binary not pinned in the plan"),
                    );
                }
            }
            Body::Send(f) | Body::Recv(f) => {
                if !peer_ok(f.peer) {
                    return at(Rule::EntryPeer, format!("peer P{}", f.peer));
                }
            }
            Body::Check {
                subject, passed, ..
            } => checks.push((subject.clone(), *passed)),
            Body::Reveal(r) => {
                let Some(o) = plan.output(&r.output) else {
                    return at(
                        Rule::RevealNotInPlan,
                        format!("output {} is not in the plan", r.output),
                    );
                };
                let recipient_ok = plan
                    .party(PartyId(r.recipient))
                    .is_some_and(|q| o.recipients.contains(&q.name));
                if !recipient_ok
                    || o.step != e.step
                    || r.value.is_some() != o.public
                    || r.n_per_site.iter().any(|(_, n)| *n < u64::from(o.k))
                {
                    return at(
                        Rule::RevealNotInPlan,
                        format!(
                            "reveal of {} differs from the plan (recipient, step, k or publicity)",
                            o.name
                        ),
                    );
                }
                let mine: Vec<bool> = checks
                    .iter()
                    .filter(|(s, _)| *s == o.name)
                    .map(|(_, p)| *p)
                    .collect();
                if mine.is_empty() || mine.contains(&false) {
                    return at(
                        Rule::RevealUnchecked,
                        format!("reveal of {} without a passing check", o.name),
                    );
                }
            }
            Body::Refuse { .. } => {}
            Body::Abort { .. } | Body::End => closed = true,
        }
        prev = transcript::entry_hash(&eb);
        leaves.push(hash::leaf_hash(&eb));
        entries.push(e);
    }
    let k = entries.len() as u64;
    let at = |rule, d: &str| fail(Some(me), Some(k), rule, d.to_string());
    if !closed {
        return at(Rule::NotClosed, "no END or ABORT");
    }
    let Some(h) = head else {
        return at(Rule::NotClosed, "no signed tree head");
    };
    if h.run_id != p.run_id || h.party != me.0 || h.plan_hash != plan.hash() || h.size != k {
        return at(
            Rule::HeadMismatch,
            "tree head of another run, party, plan or size",
        );
    }
    if h.root != hash::merkle_root(&leaves) {
        return at(
            Rule::HeadRoot,
            "recomputed Merkle root differs from the tree head",
        );
    }
    let key = plan.party(me).map(|q| q.verifying_key).unwrap_or_default();
    if !h.verify(&key) {
        return at(
            Rule::HeadSignature,
            "tree-head signature does not verify under the pinned key",
        );
    }
    Ok((entries, h))
}

/// The pairwise SEND/RECV check; fails on the first mismatching pair.
pub fn check_pairs(
    plan: &CanonicalPlan,
    entries: &[Vec<Entry>],
) -> Result<Vec<PairTraffic>, Failure> {
    let n = entries.len();
    let aborted: Vec<bool> = entries
        .iter()
        .map(|es| {
            es.last()
                .is_some_and(|e| matches!(e.body, Body::Abort { .. }))
        })
        .collect();
    let _ = plan;
    let mut out = Vec::new();
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            let (Some(ei), Some(ej)) = (entries.get(i), entries.get(j)) else {
                continue;
            };
            let sends = record::frames(ei, j as u16, true);
            let recvs = record::frames(ej, i as u16, false);
            let any_abort = aborted.get(i).copied().unwrap_or(false)
                || aborted.get(j).copied().unwrap_or(false);
            for (idx, (rseq, r)) in recvs.iter().enumerate() {
                match sends.get(idx) {
                    Some((_, s)) if s == r => {}
                    _ => {
                        return fail(
                            Some(PartyId(j as u16)),
                            Some(*rseq),
                            Rule::PairMismatch,
                            format!("RECV from P{i} does not match P{i}'s SEND"),
                        );
                    }
                }
            }
            if recvs.len() < sends.len() && !any_abort {
                let seq = sends.get(recvs.len()).map(|(s, _)| *s);
                return fail(
                    Some(PartyId(i as u16)),
                    seq,
                    Rule::PairMismatch,
                    format!("SEND to P{j} never received"),
                );
            }
            out.push(PairTraffic {
                from: i as u16,
                to: j as u16,
                frames: sends.len() as u64,
                bytes: sends.iter().map(|(_, s)| s.1).sum(),
                matched: true,
            });
        }
    }
    Ok(out)
}
