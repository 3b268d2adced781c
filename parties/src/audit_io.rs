//! The audit trail on the party side (issue 9): plans in `audit`'s canonical form, approvals
//! signed with the party's identity key, a [`audit::TranscriptWriter`] on every party's
//! channel, the reveal gate jobs call before and after every opening of an output, the
//! co-signed run record, and the files under `OUT/transcripts/`.
//!
//! `parties` reads and writes the files and the clock; `audit` decides and verifies.
//!
//! ```text
//!  plan ─► approvals (every site, Ed25519) ─► every party verifies all of them ─► connect
//!  QuicChannel ── SEND/RECV (hash of the wire bytes) ──► TranscriptWriter ◄── gate: CHECK,
//!                                                          │                 REFUSE | REVEAL
//!  end/abort ─► signed tree head ─► RunRecord (signed by every party) ─► OUT/transcripts/
//! ```
//!
//! Reveals: before any share of an output leaves the party, [`RevealGate::before_open`] logs
//! the static disclosure check and asks the transcript whether every recipient may receive it;
//! a refusal logs REFUSE and ends the job (the session aborts, the refusing party names
//! itself). After the opening, and before the value is handed to anyone, [`RevealGate::after_open`]
//! logs one REVEAL per recipient with a salted commitment to the value (its clear value too
//! when the plan marks the output public). The commitment needs the value, hence after.
//!
//! Files (`OUT/transcripts/`, each written atomically through [`crate::fsio`]):
//!
//! | file | content |
//! |---|---|
//! | `plan.bin` | the canonical plan (`audit::CanonicalPlan::bytes`) |
//! | `approval-P<i>-<name>.bin` | site i's signed approval |
//! | `transcript-P<i>-<name>.bin` | party i's transcript with its signed tree head |
//! | `run-record.bin` | the run record, signed by every party |
//! | `certs/<name>.crt` | every party's certificate (PEM; daemons: as the handshakes presented them) |
//! | `salts-P<i>-<name>.tsv` | daemons only, party i's own directory: the salts of its REVEALs of non-public outputs ([`salts_tsv`]) |

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use audit::approval::SiteDataset;
use audit::transcript::{SignedTreeHead, TranscriptError};
use audit::{
    Approval, AuditBundle, CanonicalPlan, DisclosurePolicy, IdentityKey, QueryLedger,
    RevealRequest, RevealSalt, RunRecord, RunRecordBody, SiteContext, SitePolicy, TranscriptWriter,
};
use mpc_core::party::PartyId;
use mpc_core::transcript::{FrameEvent, TranscriptSink};
use mpc_core::wire::SessionId;
use protocols::Ctx;
use protocols::error::ProtocolError;
use protocols::prep::Dealer;
use sha2::{Digest, Sha256};

pub use crate::audit_plan::*;
use crate::config::{Consortium, Role, to_hex};
use crate::net::identity::{cert_ed25519_key, cert_pem};
use crate::net::{NetOptions, NetSetupError, QuicChannel, os_random_32};
use crate::session::{Outcome, SessionError, SessionRng, loopback_named, run_with_transcript};

/// Directory under a run's output directory that holds the audit files.
pub const TRANSCRIPTS_DIR: &str = "transcripts";
/// The canonical plan file.
pub const PLAN_FILE: &str = "plan.bin";
/// The run record file.
pub const RUN_RECORD_FILE: &str = "run-record.bin";
/// The certificates directory.
pub const CERTS_DIR: &str = "certs";
/// Largest audit file read by the verifier (a transcript of 10^6 frames is about 200 MB).
pub const MAX_AUDIT_FILE: u64 = 1 << 31;

/// Unix time in milliseconds from this machine's clock.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A site approves `plan` under its policy: every check of `audit::approve`, then the
/// signature with its identity key. `ledger` is updated on success.
pub fn approve_plan(
    plan: &CanonicalPlan,
    policy: &SitePolicy,
    key: &IdentityKey,
    ledger: &mut QueryLedger,
) -> Result<Approval, String> {
    let cohorts = BTreeMap::new();
    let ctx = SiteContext {
        policy,
        now: now_ms() / 1000,
        cohorts: &cohorts,
    };
    audit::approve(plan, &ctx, key, ledger).map_err(|r| r.to_string())
}

/// Every site of `plan` approved it exactly once under its pinned key (what each party checks
/// before it sends any protocol message).
pub fn check_all_approvals(
    plan: &CanonicalPlan,
    approvals: &[Approval],
) -> Result<Vec<Approval>, String> {
    audit::verify::check_approvals(plan, approvals).map_err(|f| f.to_string())
}

/// One party's transcript, shared between its channel (frames) and its job (checks, reveals).
#[derive(Clone, Debug)]
pub struct SharedTranscript {
    writer: Arc<Mutex<TranscriptWriter>>,
    /// A REFUSE entry was logged (by this party's gate or for a peer's notice).
    refused: Arc<AtomicBool>,
    /// Salts of the REVEAL entries of non-public outputs.
    salts: Arc<Mutex<Vec<SaltRecord>>>,
}

impl std::fmt::Debug for SaltRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaltRecord")
            .field("seq", &self.seq)
            .field("output", &self.output)
            .finish_non_exhaustive()
    }
}

impl SharedTranscript {
    /// A new transcript of `me` for `plan`.
    pub fn new(plan: &CanonicalPlan, me: PartyId) -> Result<Self, String> {
        TranscriptWriter::new(plan, me)
            .map(|w| Self {
                writer: Arc::new(Mutex::new(w)),
                refused: Arc::new(AtomicBool::new(false)),
                salts: Arc::new(Mutex::new(Vec::new())),
            })
            .map_err(|e| e.to_string())
    }

    fn with<R>(&self, f: impl FnOnce(&mut TranscriptWriter) -> R) -> R {
        let mut w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        w.set_time(now_ms());
        f(&mut w)
    }

    /// Logs REFUSE.
    pub fn refuse(&self, refusal: &audit::Refusal) -> Result<(), TranscriptError> {
        self.refused.store(true, Ordering::SeqCst);
        self.with(|w| w.refuse(refusal))
    }

    fn keep_salt(&self, s: SaltRecord) {
        self.salts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(s);
    }

    /// The salts of the REVEAL entries of non-public outputs so far.
    pub fn salts(&self) -> Vec<SaltRecord> {
        self.salts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// True once a REFUSE was logged (any gate refusal included).
    pub fn has_refused(&self) -> bool {
        self.refused.load(Ordering::SeqCst)
    }

    fn mark_refused(&self, e: &TranscriptError) {
        if matches!(e, TranscriptError::Refused(_)) {
            self.refused.store(true, Ordering::SeqCst);
        }
    }

    /// Logs a HANDSHAKE per peer (the pinned certificate the transport checked) and attaches
    /// the transcript to the channel.
    pub fn attach(&self, chan: &mut QuicChannel, consortium: &Consortium) {
        use mpc_core::channel::Channel;
        let me = chan.me();
        self.with(|w| {
            for (j, p) in consortium.parties().iter().enumerate() {
                let peer = PartyId(j as u16);
                if peer != me {
                    let _ = w.handshake(peer, p.cert_sha256.0, [0; 32]);
                }
            }
        });
        chan.set_transcript(Box::new(self.clone()));
    }

    /// Logs END (the session succeeded) or ABORT (naming the culprit) and signs the tree head.
    pub fn close<T>(
        &self,
        result: &Result<T, SessionError>,
        key: &IdentityKey,
    ) -> Result<SignedTreeHead, TranscriptError> {
        self.with(|w| match result {
            Ok(_) => w.end(key),
            Err(e) => w.abort(e.culprit, &e.to_string(), key),
        })
    }

    /// The transcript file (entries, then the tree head once closed).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.with(|w| w.to_bytes())
    }
}

impl TranscriptSink for SharedTranscript {
    fn record(&mut self, event: FrameEvent) {
        self.with(|w| w.record(event));
    }
}

/// What a job calls around every opening of an output named in the plan.
pub trait RevealGate: Sync {
    /// Before any share of `output` leaves this party: `Err` (and REFUSE in the transcript)
    /// if the plan does not allow it; the job must then stop.
    fn before_open(&self, output: &str) -> protocols::Result<()>;
    /// After the opening, before the value is handed to anyone: one REVEAL per recipient.
    fn after_open(&self, output: &str, value: &[u8]) -> protocols::Result<()>;
    /// The thresholds of the in-MPC disclosure checks the plan requires before `output` is
    /// opened (`None`: no plan, no in-MPC checks).
    fn rules(&self, output: &str) -> Option<DisclosureRules>;
    /// Logs the opened bit of an in-MPC check (`rule`, e.g. `circuits::disclosure::RULE_CELLS`)
    /// for every output it guards. On failure: REFUSE with the rule, and `Err` carrying a
    /// [`RefusalNotice`] (the job must stop; none of the outputs is opened, and the session's
    /// abort notice tells every other party).
    fn disclosure_check(&self, outputs: &[&str], rule: &str, passed: bool)
    -> protocols::Result<()>;
    /// Moves this party's transcript to the plan's analysis step named `step` (forward
    /// only): outputs are revealed only at the step the plan declares for them. An unknown
    /// step, or one before the current step, is an error and the job must stop. Without a
    /// plan ([`NoAudit`]) it does nothing.
    fn enter_step(&self, step: &str) -> protocols::Result<()> {
        let _ = step;
        Ok(())
    }
}

/// Thresholds of the in-MPC disclosure checks of one output, from the approved plan: every
/// site approved them as at least as strict as its own policy (the strictest site wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisclosureRules {
    /// Minimum individuals per cell (0 allowed, as an empty cell).
    pub k: u64,
    /// Largest single contribution to a sum, in per mille of the pooled total.
    pub dominance_permille: u32,
}

impl DisclosureRules {
    /// The stricter of two.
    pub fn strictest(self, o: Self) -> Self {
        Self {
            k: self.k.max(o.k),
            dominance_permille: self.dominance_permille.min(o.dominance_permille),
        }
    }
}

/// No audit trail (tests of the transport, benches, processes without a plan).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoAudit;

impl RevealGate for NoAudit {
    fn before_open(&self, _output: &str) -> protocols::Result<()> {
        Ok(())
    }
    fn after_open(&self, _output: &str, _value: &[u8]) -> protocols::Result<()> {
        Ok(())
    }
    fn rules(&self, _output: &str) -> Option<DisclosureRules> {
        None
    }
    fn disclosure_check(
        &self,
        outputs: &[&str],
        rule: &str,
        passed: bool,
    ) -> protocols::Result<()> {
        if passed {
            return Ok(());
        }
        Err(ProtocolError::ApiMisuse(format!(
            "disclosure check {rule} failed: {} withheld",
            outputs.join(", ")
        )))
    }
}

/// The reveal gate of one party: the plan and its transcript.
#[derive(Clone, Debug)]
pub struct PartyAuditor {
    plan: CanonicalPlan,
    me: PartyId,
    transcript: SharedTranscript,
}

impl PartyAuditor {
    /// The gate of party `me`.
    pub fn new(plan: &CanonicalPlan, me: PartyId, transcript: &SharedTranscript) -> Self {
        Self {
            plan: plan.clone(),
            me,
            transcript: transcript.clone(),
        }
    }

    /// Individuals per contributing site, from the plan's public cohort sizes.
    fn n_per_site(&self) -> Vec<(PartyId, u64)> {
        let mut by_site: BTreeMap<PartyId, u64> = BTreeMap::new();
        for i in &self.plan.plan().inputs {
            if let Some(id) = self.plan.party_id(&i.site) {
                *by_site.entry(id).or_default() += i.n;
            }
        }
        by_site.into_iter().collect()
    }

    /// One request per recipient (for an output outside the plan: this party itself).
    fn requests(&self, output: &str) -> Vec<RevealRequest> {
        let n_per_site = self.n_per_site();
        let recipients: Vec<PartyId> = match self.plan.output(output) {
            Some(o) => o
                .recipients
                .iter()
                .filter_map(|r| self.plan.party_id(r))
                .collect(),
            None => vec![self.me],
        };
        recipients
            .into_iter()
            .map(|recipient| RevealRequest {
                output: output.into(),
                recipient,
                n_per_site: n_per_site.clone(),
            })
            .collect()
    }
}

fn refused(notice: Option<RefusalNotice>, output: &str, e: &TranscriptError) -> ProtocolError {
    let token = notice.map(|n| n.token() + " ").unwrap_or_default();
    ProtocolError::ApiMisuse(format!("{token}reveal of `{output}` refused: {e}"))
}

impl PartyAuditor {
    /// The notice this party sends when it refuses under `rule`.
    fn notice(&self, e: &TranscriptError) -> Option<RefusalNotice> {
        match e {
            TranscriptError::Refused(r) => Some(RefusalNotice {
                session: SessionId(self.plan.run_id().0),
                party: self.me,
                rule: r.rule,
            }),
            _ => None,
        }
    }

    fn refused(&self, output: &str, e: &TranscriptError) -> ProtocolError {
        self.transcript.mark_refused(e);
        refused(self.notice(e), output, e)
    }
}

impl RevealGate for PartyAuditor {
    fn enter_step(&self, step: &str) -> protocols::Result<()> {
        let index = self
            .plan
            .plan()
            .analyses
            .iter()
            .position(|a| a.name == step)
            .ok_or_else(|| ProtocolError::ApiMisuse(format!("step `{step}` is not in the plan")))?;
        let index = u32::try_from(index)
            .map_err(|_| ProtocolError::ApiMisuse(format!("step `{step}`: index")))?;
        self.transcript
            .with(|w| w.set_step(index))
            .map_err(|e| ProtocolError::ApiMisuse(format!("step `{step}`: {e}")))
    }

    fn before_open(&self, output: &str) -> protocols::Result<()> {
        let reqs = self.requests(output);
        self.transcript.with(|w| {
            if let Some(o) = self.plan.output(output) {
                // The static check: every contributing site's public cohort size is at least
                // the output's k (the in-MPC checks of secret values are logged by
                // `disclosure_check` before this).
                let k = u64::from(o.k);
                let passed = self.n_per_site().iter().all(|(_, n)| *n >= k);
                w.check(output, "DISC-K", passed)
                    .map_err(|e| self.refused(output, &e))?;
            }
            for r in &reqs {
                w.authorize(r).map_err(|e| self.refused(output, &e))?;
            }
            Ok(())
        })
    }

    fn rules(&self, output: &str) -> Option<DisclosureRules> {
        let o = self.plan.output(output)?;
        let step = self.plan.plan().analyses.get(o.step as usize);
        let dominance = step
            .and_then(|a| a.params.get(audit::approval::PARAM_DOMINANCE))
            .and_then(|v| match v {
                audit::plan::Value::Uint(x) => u32::try_from(*x).ok(),
                _ => None,
            })
            .unwrap_or(DisclosurePolicy::default().dominance_permille);
        Some(DisclosureRules {
            k: u64::from(o.k),
            dominance_permille: dominance,
        })
    }

    fn disclosure_check(
        &self,
        outputs: &[&str],
        rule: &str,
        passed: bool,
    ) -> protocols::Result<()> {
        let first = outputs.first().copied().unwrap_or_default();
        self.transcript.with(|w| {
            for o in outputs {
                w.check(o, rule, passed).map_err(|e| refused(None, o, &e))?;
            }
            Ok::<(), ProtocolError>(())
        })?;
        if passed {
            return Ok(());
        }
        let refusal = audit::Refusal {
            rule: audit::RefusalRule::from_id(rule).unwrap_or(audit::RefusalRule::RevealUnchecked),
            detail: format!(
                "in-MPC disclosure check {rule} failed (only its pass bit was opened): {} \
                 withheld",
                outputs.join(", ")
            ),
        };
        let e = match self.transcript.refuse(&refusal) {
            Ok(()) => TranscriptError::Refused(refusal),
            Err(e) => e,
        };
        Err(self.refused(first, &e))
    }

    fn after_open(&self, output: &str, value: &[u8]) -> protocols::Result<()> {
        let reqs = self.requests(output);
        let mut salts = Vec::new();
        for _ in &reqs {
            let s = zeroize::Zeroizing::new(
                os_random_32().map_err(|e| ProtocolError::ApiMisuse(e.to_string()))?,
            );
            salts.push(s);
        }
        let public = self.plan.output(output).is_some_and(|o| o.public);
        self.transcript.with(|w| {
            for (r, salt) in reqs.iter().zip(&salts) {
                let seq = w.len() as u64;
                w.reveal(r, value, &RevealSalt::from_bytes(**salt))
                    .map_err(|e| self.refused(output, &e))?;
                if !public {
                    self.transcript.keep_salt(SaltRecord {
                        seq,
                        output: output.into(),
                        recipient: r.recipient,
                        salt: salt.clone(),
                    });
                }
            }
            Ok(())
        })
    }
}

/// The salt of one REVEAL entry of a non-public output, kept by the party that logged it so
/// the value's recipient can later open the commitment to an auditor (with the value it
/// received): `commitment = SHA-256("igs-reveal/v1" ‖ run id ‖ len(output) u64 LE ‖ output ‖
/// salt ‖ value)`. Never in a transcript or a shared bundle; zeroized on drop.
#[derive(Clone)]
pub struct SaltRecord {
    /// Sequence number of the REVEAL entry.
    pub seq: u64,
    /// The output.
    pub output: String,
    /// The recipient.
    pub recipient: PartyId,
    /// The salt.
    pub salt: zeroize::Zeroizing<[u8; 32]>,
}

/// The salts file of a party (`salts-P<i>-<name>.tsv`, next to its transcript in its own
/// trail directory only): a header line, then `seq, output, recipient, salt (hex)` per REVEAL
/// of a non-public output.
pub fn salts_tsv(salts: &[SaltRecord]) -> zeroize::Zeroizing<String> {
    let mut out = zeroize::Zeroizing::new(String::from("seq\toutput\trecipient\tsalt_hex\n"));
    for s in salts {
        out.push_str(&format!(
            "{}\t{}\tP{}\t{}\n",
            s.seq,
            s.output,
            s.recipient.0,
            to_hex(&s.salt[..])
        ));
    }
    out
}

/// File name of a party's salts file.
pub fn salts_file_name(plan: &CanonicalPlan, me: PartyId) -> String {
    let name = plan
        .party(me)
        .map_or_else(|| format!("party{}", me.0), |p| p.name.clone());
    format!("salts-P{}-{name}.tsv", me.0)
}

/// Everything a run leaves for the auditor.
#[derive(Clone, Debug)]
pub struct AuditRun {
    /// The plan.
    pub plan: CanonicalPlan,
    /// Every site's approval.
    pub approvals: Vec<Approval>,
    /// Every session party's transcript file, in party order.
    pub transcripts: Vec<Vec<u8>>,
    /// The co-signed run record (absent if it could not be built).
    pub record: Option<RunRecord>,
    /// Certificates (DER) by party name.
    pub certs: Vec<(String, Vec<u8>)>,
}

/// Builds the run record body from the plan, approvals and every transcript (verifying them
/// as the auditor will); each party signs the body it built. `keys` are the signers' keys in
/// party order (every party of the plan).
pub fn co_sign(
    plan: &CanonicalPlan,
    approvals: &[Approval],
    transcripts: &[Vec<u8>],
    keys: &[&IdentityKey],
) -> Result<RunRecord, String> {
    let body = RunRecordBody::build(plan, approvals, transcripts).map_err(|f| f.to_string())?;
    let signatures = keys
        .iter()
        .enumerate()
        .map(|(i, k)| body.sign(PartyId(i as u16), k))
        .collect();
    Ok(RunRecord { body, signatures })
}

fn party_file(prefix: &str, i: usize, name: &str) -> String {
    format!("{prefix}-P{i}-{name}.bin")
}

/// Writes the audit files of a run into `dir` (created if needed), each atomically.
pub fn write_bundle(dir: &Path, run: &AuditRun) -> Result<(), String> {
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let certs = dir.join(CERTS_DIR);
    std::fs::create_dir_all(&certs).map_err(|e| io(&certs, e))?;
    let put = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        crate::fsio::write_atomic(&p, bytes).map_err(|e| io(&p, e))
    };
    put(PLAN_FILE, run.plan.bytes())?;
    let name = |i: usize| {
        run.plan
            .party(PartyId(i as u16))
            .map_or_else(|| format!("party{i}"), |p| p.name.clone())
    };
    for a in &run.approvals {
        let i = usize::from(a.site);
        put(&party_file("approval", i, &name(i)), &a.encode())?;
    }
    for (i, t) in run.transcripts.iter().enumerate() {
        put(&party_file("transcript", i, &name(i)), t)?;
    }
    if let Some(r) = &run.record {
        put(RUN_RECORD_FILE, &r.encode())?;
    }
    for (n, der) in &run.certs {
        let p = certs.join(format!("{n}.crt"));
        crate::fsio::write_atomic(&p, cert_pem(der).as_bytes()).map_err(|e| io(&p, e))?;
    }
    Ok(())
}

/// The first failure of a directory, with the file it is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirFailure {
    /// The file (or the directory, for a missing file).
    pub file: PathBuf,
    /// `name (Pi)` of the party, if the failure is a party's.
    pub party: Option<String>,
    /// Sequence number in the party's transcript, where it applies.
    pub seq: Option<u64>,
    /// Rule id (`audit::Rule::id`, or `CERT-PIN`, `FILE` for the files themselves).
    pub rule: String,
    /// Explanation (no data).
    pub detail: String,
}

impl std::fmt::Display for DirFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FAIL [{}] file {}", self.rule, self.file.display())?;
        if let Some(p) = &self.party {
            write!(f, " party {p}")?;
        }
        if let Some(s) = self.seq {
            write!(f, " seq {s}")?;
        }
        write!(f, ": {}", self.detail)
    }
}

impl std::error::Error for DirFailure {}

/// The files of an audit directory.
#[derive(Clone, Debug, Default)]
pub struct BundleFiles {
    /// Approval files, in the order given to the verifier.
    pub approvals: Vec<PathBuf>,
    /// Transcript files by party index (None: missing).
    pub transcripts: Vec<Option<PathBuf>>,
}

fn file_failure(file: PathBuf, detail: String) -> DirFailure {
    DirFailure {
        file,
        party: None,
        seq: None,
        rule: "FILE".into(),
        detail,
    }
}

fn read_limited(p: &Path) -> Result<Vec<u8>, DirFailure> {
    let meta = std::fs::metadata(p).map_err(|e| file_failure(p.into(), e.to_string()))?;
    if meta.len() > MAX_AUDIT_FILE {
        return Err(file_failure(
            p.into(),
            "larger than the audit file limit".into(),
        ));
    }
    std::fs::read(p).map_err(|e| file_failure(p.into(), e.to_string()))
}

/// `P<i>-` of a file name after `prefix-`, as i.
fn party_index(name: &str, prefix: &str) -> Option<usize> {
    let rest = name.strip_prefix(prefix)?.strip_prefix("-P")?;
    let (i, tail) = rest.split_once('-')?;
    if !tail.ends_with(".bin") || i.len() > 5 || !i.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    i.parse().ok()
}

/// Reads an audit directory into the verifier's bundle (bytes as found).
pub fn read_bundle(dir: &Path) -> Result<(AuditBundle, BundleFiles), DirFailure> {
    let rd = std::fs::read_dir(dir).map_err(|e| file_failure(dir.into(), e.to_string()))?;
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .collect();
    names.sort();
    let mut files = BundleFiles::default();
    let mut bundle = AuditBundle {
        plan: read_limited(&dir.join(PLAN_FILE))?,
        ..AuditBundle::default()
    };
    for n in &names {
        if party_index(n, "approval").is_some() {
            let p = dir.join(n);
            bundle.approvals.push(read_limited(&p)?);
            files.approvals.push(p);
        } else if let Some(i) = party_index(n, "transcript") {
            if i >= usize::from(u16::MAX) {
                continue;
            }
            if files.transcripts.len() <= i {
                files.transcripts.resize(i + 1, None);
                bundle.transcripts.resize(i + 1, Vec::new());
            }
            let p = dir.join(n);
            if files.transcripts.get(i).is_some_and(Option::is_some) {
                return Err(file_failure(p, format!("a second transcript of P{i}")));
            }
            if let Some(slot) = bundle.transcripts.get_mut(i) {
                *slot = read_limited(&p)?;
            }
            if let Some(slot) = files.transcripts.get_mut(i) {
                *slot = Some(p);
            }
        }
    }
    let rr = dir.join(RUN_RECORD_FILE);
    bundle.run_record = if rr.exists() {
        read_limited(&rr)?
    } else {
        Vec::new()
    };
    Ok((bundle, files))
}

/// What `igs-mpc audit verify` prints on success.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirSummary {
    /// Plan hash (hex).
    pub plan_hash: String,
    /// Run id (hex).
    pub run_id: String,
    /// Entries per party.
    pub entries: Vec<(String, usize)>,
    /// REFUSE entries (party, rule).
    pub refusals: Vec<(String, String)>,
    /// Parties whose transcript ends with ABORT.
    pub aborted: Vec<String>,
    /// REVEAL entries in all.
    pub reveals: usize,
}

impl std::fmt::Display for DirSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "PASS: plan {} run {}", self.plan_hash, self.run_id)?;
        let entries: Vec<String> = self
            .entries
            .iter()
            .map(|(p, n)| format!("{p}: {n}"))
            .collect();
        writeln!(f, "  entries per party: {}", entries.join(", "))?;
        writeln!(f, "  reveals logged: {}", self.reveals)?;
        if self.aborted.is_empty() {
            writeln!(f, "  every party ended normally")?;
        } else {
            writeln!(f, "  aborted: {}", self.aborted.join(", "))?;
        }
        for (p, r) in &self.refusals {
            writeln!(f, "  refused at {p}: {r}")?;
        }
        write!(
            f,
            "  approvals, transcripts, tree heads, pairwise frame hashes, the co-signed run \
             record and the certificates in certs/ (where present) verify under the pins of \
             the plan"
        )
    }
}

/// `igs-mpc audit verify DIR`: reads the files, runs `audit::verify`, then checks every
/// certificate in `certs/` against the plan's pins (fingerprint and signing key).
pub fn verify_dir(dir: &Path) -> Result<DirSummary, DirFailure> {
    use audit::transcript::Body;
    let (bundle, files) = read_bundle(dir)?;
    let v = audit::verify(&bundle).map_err(|f| {
        let plan = CanonicalPlan::decode(&bundle.plan).ok();
        let party = f.party.map(|p| {
            plan.as_ref()
                .and_then(|pl| pl.party(p).map(|q| format!("{} ({p})", q.name)))
                .unwrap_or_else(|| p.to_string())
        });
        let id = f.rule.id();
        let file = if id.starts_with("PLAN") {
            dir.join(PLAN_FILE)
        } else if id.starts_with("APPROVAL") {
            f.party
                .and_then(|p| {
                    files
                        .approvals
                        .iter()
                        .find(|a| {
                            a.file_name()
                                .and_then(|n| n.to_str())
                                .and_then(|n| party_index(n, "approval"))
                                == Some(p.index())
                        })
                        .cloned()
                })
                .unwrap_or_else(|| dir.to_path_buf())
        } else if id == audit::Rule::TranscriptCount.id() {
            dir.to_path_buf()
        } else if id.starts_with("RUN-RECORD") || f.party.is_none() {
            dir.join(RUN_RECORD_FILE)
        } else {
            f.party
                .and_then(|p| files.transcripts.get(p.index()).cloned().flatten())
                .unwrap_or_else(|| dir.to_path_buf())
        };
        DirFailure {
            file,
            party,
            seq: f.seq,
            rule: id.into(),
            detail: f.detail,
        }
    })?;
    for (i, p) in v.plan.plan().parties.iter().enumerate() {
        let path = dir.join(CERTS_DIR).join(format!("{}.crt", p.name));
        if !path.exists() {
            continue;
        }
        let fail = |detail: &str| DirFailure {
            file: path.clone(),
            party: Some(format!("{} (P{i})", p.name)),
            seq: None,
            rule: "CERT-PIN".into(),
            detail: detail.into(),
        };
        let der = crate::net::identity::load_cert_der(&path).map_err(|_| fail("not PEM"))?;
        let fp: [u8; 32] = Sha256::digest(&der).into();
        if fp != p.cert_sha256 {
            return Err(fail(
                "the certificate's SHA-256 is not the one pinned in the plan",
            ));
        }
        if cert_ed25519_key(&der) != Some(p.verifying_key) {
            return Err(fail(
                "the certificate's key is not the signing key pinned in the plan",
            ));
        }
    }
    let name = |i: usize| {
        v.plan
            .party(PartyId(i as u16))
            .map_or_else(|| format!("P{i}"), |p| format!("{} (P{i})", p.name))
    };
    let mut s = DirSummary {
        plan_hash: to_hex(&v.plan.hash()),
        run_id: to_hex(&v.plan.run_id().0),
        entries: Vec::new(),
        refusals: Vec::new(),
        aborted: Vec::new(),
        reveals: 0,
    };
    for (i, es) in v.entries.iter().enumerate() {
        s.entries.push((name(i), es.len()));
        for e in es {
            match &e.body {
                Body::Refuse { rule, .. } => s.refusals.push((name(i), rule.clone())),
                Body::Abort { .. } => s.aborted.push(name(i)),
                Body::Reveal(_) => s.reveals += 1,
                _ => {}
            }
        }
    }
    Ok(s)
}

/// `igs-mpc audit report DIR`: writes `report.md` and `report.html` into `out` (default
/// `DIR`). Returns (pass, the two paths).
pub fn report_dir(dir: &Path, out: Option<&Path>) -> Result<(bool, PathBuf, PathBuf), String> {
    let (bundle, _) = read_bundle(dir).map_err(|e| e.to_string())?;
    let r = audit::report::report(&bundle);
    let out = out.unwrap_or(dir);
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let md = out.join("report.md");
    let html = out.join("report.html");
    crate::fsio::write_atomic(&md, r.markdown.as_bytes())
        .map_err(|e| format!("{}: {e}", md.display()))?;
    crate::fsio::write_atomic(&html, r.html.as_bytes())
        .map_err(|e| format!("{}: {e}", html.display()))?;
    Ok((r.pass, md, html))
}

/// A site's policy in an in-process simulation: the plan's own DUO codes for its datasets
/// (the simulated sites have no configuration of their own) and the default disclosure rules.
pub fn simulated_policy(plan: &CanonicalPlan, site: &str) -> SitePolicy {
    SitePolicy {
        site: site.into(),
        disclosure: DisclosurePolicy::default(),
        datasets: plan
            .plan()
            .inputs
            .iter()
            .filter(|i| i.site == site)
            .map(|i| SiteDataset {
                name: i.dataset.clone(),
                duo: i.duo.clone(),
            })
            .collect(),
    }
}

/// The result of [`simulate_audited`].
pub struct AuditedSimulation<T> {
    /// Each party's session result, in session order.
    pub results: Vec<Result<Outcome<T>, SessionError>>,
    /// The audit files.
    pub audit: AuditRun,
}

/// [`crate::session::simulate`] with the audit trail: fresh loopback identities, the plan
/// built by `plan_for` from the parties (the sites, then `helper`), every site's
/// approval (signed with its identity key after `audit::approve`'s checks), every party
/// checking every approval before connecting, a transcript on every channel, END or ABORT
/// with a signed tree head at every party, and the run record signed by all.
pub fn simulate_audited<T, F, P>(
    sites: &[String],
    opts: &NetOptions,
    rng: SessionRng,
    plan_for: P,
    reveals: &[&str],
    job: F,
) -> Result<AuditedSimulation<T>, String>
where
    T: Send,
    F: Fn(&mut Ctx<'_, Dealer>, &dyn RevealGate) -> protocols::Result<T> + Sync,
    P: FnOnce(&[PlanParty]) -> Result<CanonicalPlan, String>,
{
    simulate_audited_with(sites, opts, rng, None, plan_for, reveals, job)
}

/// [`simulate_audited`] with a coordinator party (`coordinator`'s identity, role
/// coordinator, named by its certificate) appended to the parties `plan_for` receives: it
/// takes no part in the session, receives outputs as the plan says, and co-signs the run
/// record like every other party.
pub fn simulate_audited_with<T, F, P>(
    sites: &[String],
    opts: &NetOptions,
    rng: SessionRng,
    coordinator: Option<(&str, &crate::net::Identity)>,
    plan_for: P,
    reveals: &[&str],
    job: F,
) -> Result<AuditedSimulation<T>, String>
where
    T: Send,
    F: Fn(&mut Ctx<'_, Dealer>, &dyn RevealGate) -> protocols::Result<T> + Sync,
    P: FnOnce(&[PlanParty]) -> Result<CanonicalPlan, String>,
{
    let (consortium, nodes) = loopback_named(sites, opts).map_err(|e| e.to_string())?;
    let mut parties = Vec::new();
    let mut keys = Vec::new();
    for (p, node) in consortium.parties().iter().zip(&nodes) {
        let id = node.identity();
        parties.push(PlanParty {
            name: p.name.clone(),
            role: p.role,
            jurisdiction: "EEA".into(),
            cert_sha256: p.cert_sha256.0,
            verifying_key: id
                .verifying_key()
                .ok_or("certificate without Ed25519 key")?,
        });
        keys.push(id.audit_key().map_err(|e| e.to_string())?);
    }
    let mut certs: Vec<(String, Vec<u8>)> = nodes
        .iter()
        .zip(&parties)
        .map(|(n, p)| (p.name.clone(), n.identity().cert().to_vec()))
        .collect();
    if let Some((name, id)) = coordinator {
        parties.push(PlanParty {
            name: name.to_owned(),
            role: Role::Coordinator,
            jurisdiction: "EEA".into(),
            cert_sha256: id.fingerprint().0,
            verifying_key: id
                .verifying_key()
                .ok_or("coordinator certificate without Ed25519 key")?,
        });
        keys.push(id.audit_key().map_err(|e| e.to_string())?);
        certs.push((name.to_owned(), id.cert().to_vec()));
    }
    let plan = plan_for(&parties)?;
    let mut approvals = Vec::new();
    for (i, p) in parties.iter().enumerate() {
        if p.role == Role::Site {
            let key = keys.get(i).ok_or("key")?;
            let mut ledger = QueryLedger::new(&p.name);
            let policy = simulated_policy(&plan, &p.name);
            approvals.push(
                approve_plan(&plan, &policy, key, &mut ledger)
                    .map_err(|e| format!("{} refuses the plan: {e}", p.name))?,
            );
        }
    }
    let session = SessionId(plan.run_id().0);
    let outcomes: Vec<PartyRun<T>> = std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .iter()
            .zip(&keys)
            .map(|(node, key)| {
                let (consortium, job, plan, approvals) = (&consortium, &job, &plan, &approvals);
                std::thread::Builder::new()
                    .name(format!("party-{}", node.me().0))
                    .stack_size(16 << 20)
                    .spawn_scoped(s, move || {
                        let ctx = PartyContext {
                            node,
                            consortium,
                            session,
                            rng,
                            plan,
                            approvals,
                            key,
                            salts_file: None,
                        };
                        audited_party(&ctx, reveals, job)
                    })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let failed = SessionError {
                    phase: crate::session::Phase::Compute,
                    culprit: None,
                    culprit_name: None,
                    message: "party thread panicked".into(),
                };
                match h {
                    Ok(h) => h.join().unwrap_or_else(|_| (Err(failed), Vec::new())),
                    Err(_) => (Err(failed), Vec::new()),
                }
            })
            .collect()
    });
    for node in nodes {
        node.shutdown();
    }
    let (results, transcripts): (Vec<_>, Vec<_>) = outcomes.into_iter().unzip();
    let key_refs: Vec<&IdentityKey> = keys.iter().collect();
    let record = co_sign(&plan, &approvals, &transcripts, &key_refs).ok();
    Ok(AuditedSimulation {
        results,
        audit: AuditRun {
            plan,
            approvals,
            transcripts,
            record,
            certs,
        },
    })
}

/// One party's session result and its transcript file.
pub type PartyRun<T> = (Result<Outcome<T>, SessionError>, Vec<u8>);

/// What one party of an audited session needs.
pub struct PartyContext<'a> {
    /// Its node.
    pub node: &'a crate::net::Node,
    /// The consortium.
    pub consortium: &'a Consortium,
    /// The session id (the plan's run id).
    pub session: SessionId,
    /// Protocol randomness.
    pub rng: SessionRng,
    /// The plan.
    pub plan: &'a CanonicalPlan,
    /// Every site's approval.
    pub approvals: &'a [Approval],
    /// Its identity key.
    pub key: &'a IdentityKey,
    /// Where to write the salts of its REVEAL entries of non-public outputs
    /// ([`salts_tsv`]; nothing is written when there are none).
    pub salts_file: Option<PathBuf>,
}

/// One party of an audited session: checks every approval and the outputs the job declares
/// it will reveal (`reveals`: one not in the plan is refused, logged as REFUSE and the party
/// aborts before connecting, so no protocol message is sent), runs with its transcript
/// attached, closes the transcript. Returns the result and the transcript file.
pub fn audited_party<T, F>(c: &PartyContext<'_>, reveals: &[&str], job: &F) -> PartyRun<T>
where
    F: Fn(&mut Ctx<'_, Dealer>, &dyn RevealGate) -> protocols::Result<T> + Sync,
{
    let (node, consortium, session, rng, plan, approvals, key) = (
        c.node,
        c.consortium,
        c.session,
        c.rng,
        c.plan,
        c.approvals,
        c.key,
    );
    let me = node.me();
    let setup = |message: String| SessionError {
        phase: crate::session::Phase::Connect,
        culprit: Some(me),
        culprit_name: Some(consortium.describe(me)),
        message,
    };
    if let Err(e) = check_all_approvals(plan, approvals) {
        return (Err(setup(format!("approvals: {e}"))), Vec::new());
    }
    let transcript = match SharedTranscript::new(plan, me) {
        Ok(t) => t,
        Err(e) => return (Err(setup(e)), Vec::new()),
    };
    if let Some(off) = reveals.iter().find(|o| plan.output(o).is_none()) {
        let refusal = audit::Refusal {
            rule: audit::RefusalRule::RevealNotInPlan,
            detail: format!("the job would reveal `{off}`, which the plan does not list"),
        };
        let refused = transcript.refuse(&refusal);
        let r: Result<Outcome<T>, SessionError> = Err(setup(refusal.to_string()));
        if let Err(e) = refused.and_then(|()| transcript.close(&r, key).map(|_| ())) {
            return (
                Err(setup(format!("transcript: {e}"))),
                transcript.to_bytes(),
            );
        }
        return (r, transcript.to_bytes());
    }
    let gate = PartyAuditor::new(plan, me, &transcript);
    let r = run_with_transcript(node, consortium, session, rng, Some(&transcript), |ctx| {
        job(ctx, &gate)
    });
    // A peer refused (its abort notice carries the rule): log the same REFUSE here, so every
    // party's transcript holds the refusal, then ABORT.
    if let Err(e) = &r
        && !transcript.has_refused()
        && let Some(n) = RefusalNotice::find(&e.message)
        && n.session == session
        && n.party != me
        && n.party.index() < plan.session_parties()
    {
        let refusal = audit::Refusal {
            rule: n.rule,
            detail: format!(
                "refused at {}: told by its abort notice",
                consortium.describe(n.party)
            ),
        };
        if let Err(e) = transcript.refuse(&refusal) {
            tracing::warn!(party = %consortium.describe(me), "transcript: {e}");
        }
    }
    if let Err(e) = transcript.close(&r, key) {
        return (
            Err(setup(format!("transcript: {e}"))),
            transcript.to_bytes(),
        );
    }
    let salts = transcript.salts();
    if let Some(path) = &c.salts_file
        && !salts.is_empty()
    {
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| crate::fsio::write_atomic(path, salts_tsv(&salts).as_bytes()));
        if let Err(e) = written {
            tracing::error!(party = %consortium.describe(me), "salts file {}: {e}", path.display());
        }
    }
    (r, transcript.to_bytes())
}

/// A fresh random run id.
pub fn random_run_id() -> Result<[u8; 16], NetSetupError> {
    let b = os_random_32()?;
    let mut id = [0u8; 16];
    id.copy_from_slice(b.get(..16).unwrap_or(&[0; 16]));
    Ok(id)
}

/// The audit trail of daemon runs: approvals at the daemon, the checks before `Go`, and the
/// co-signing of the run record over the control links.
pub mod daemon_io {
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    use audit::keys::SigBytes;
    use audit::record::PartySignature;
    use audit::{Approval, AuditBundle, CanonicalPlan, IdentityKey, RunRecord, RunRecordBody};
    use mpc_core::party::PartyId;
    use sha2::Digest;

    use super::{AuditRun, TRANSCRIPTS_DIR, write_bundle};
    use crate::config::site::SiteConfig;
    use crate::config::{Role, to_hex};
    use crate::daemon::{Daemon, ToCoordinator, ToParty};
    use crate::net::NetOptions;
    use crate::net::control::ControlLink;
    use crate::plan::PlanHash;

    /// `OUT/transcripts/<run id>/`: where a run's audit files go.
    pub fn transcripts_dir(out: &Path, plan: &CanonicalPlan) -> PathBuf {
        out.join(TRANSCRIPTS_DIR).join(to_hex(&plan.run_id().0))
    }

    /// What a party answers `Propose` with: a site its signed approval of `hash` (which must
    /// verify under its pinned key), the helper nothing (its local consent is enough).
    pub fn own_approval(
        cfg: &SiteConfig,
        role: Role,
        plan: &CanonicalPlan,
        hash: &PlanHash,
    ) -> Result<Option<Vec<u8>>, String> {
        let name = &cfg.name;
        if role != Role::Site {
            return match cfg.is_approved(hash) {
                Ok(true) => Ok(None),
                Ok(false) => Err(format!("plan {hash} is not approved at {name}")),
                Err(_) => Err(format!("{name} cannot read its approvals")),
            };
        }
        let bytes = cfg
            .signed_approval(hash)
            .map_err(|_| format!("{name} cannot read its approvals"))?
            .ok_or_else(|| format!("plan {hash} is not approved (signed) at {name}"))?;
        let ok = Approval::decode(&bytes).is_ok_and(|a| a.verify(plan));
        if !ok {
            return Err(format!(
                "{name}'s recorded approval of plan {hash} does not verify under its key"
            ));
        }
        Ok(Some(bytes))
    }

    /// Decodes the approvals of `Go` and checks that every site approved the plan exactly once
    /// under its pinned key.
    pub fn check_go(plan: &CanonicalPlan, approvals: &[Vec<u8>]) -> Result<Vec<Approval>, String> {
        let decoded = approvals
            .iter()
            .map(|b| Approval::decode(b).map_err(|e| format!("approval: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        super::check_all_approvals(plan, &decoded)
    }

    /// Writes a party's own files right after its session (plan, approvals, its transcript):
    /// they exist even if the run record never comes.
    pub fn write_own(
        trail: &Path,
        plan: &CanonicalPlan,
        approvals: &[Approval],
        me: PartyId,
        transcript: &[u8],
    ) -> Result<(), String> {
        write_bundle(
            trail,
            &AuditRun {
                plan: plan.clone(),
                approvals: approvals.to_vec(),
                transcripts: Vec::new(),
                record: None,
                certs: Vec::new(),
            },
        )?;
        let name = plan
            .party(me)
            .map_or_else(|| format!("party{}", me.0), |p| p.name.clone());
        let p = trail.join(format!("transcript-P{}-{name}.bin", me.0));
        crate::fsio::write_atomic(&p, transcript).map_err(|e| format!("{}: {e}", p.display()))
    }

    fn sig_bytes(b: &[u8]) -> Option<SigBytes> {
        let r: [u8; 32] = b.get(..32)?.try_into().ok()?;
        let s: [u8; 32] = b.get(32..64)?.try_into().ok()?;
        (b.len() == 64).then_some(SigBytes([r, s]))
    }

    fn full_check(
        plan: &CanonicalPlan,
        approvals: &[Approval],
        transcripts: &[Vec<u8>],
        record: &RunRecord,
    ) -> Result<(), String> {
        let bundle = AuditBundle {
            plan: plan.bytes().to_vec(),
            approvals: approvals.iter().map(Approval::encode).collect(),
            transcripts: transcripts.to_vec(),
            run_record: record.encode(),
        };
        audit::verify(&bundle)
            .map(|_| ())
            .map_err(|f| f.to_string())
    }

    /// A party's side: receives every transcript, builds and checks the run record body
    /// itself, signs it, receives the co-signed record, verifies everything and writes the
    /// audit files.
    pub fn party_sign_round(
        link: &mut ControlLink,
        d: &Daemon,
        plan: &CanonicalPlan,
        approvals: &[Approval],
        own: &[u8],
        trail: &Path,
    ) -> Result<(), String> {
        let opts = d.options();
        let wait = 2 * opts.timeout + opts.connect_timeout + Duration::from_secs(5);
        let transcripts = match link.recv::<ToParty>(Some(Instant::now() + wait)) {
            Ok(ToParty::Sign { transcripts }) => transcripts,
            Ok(_) => return Err("expected the transcripts to sign".into()),
            Err(e) => return Err(e.to_string()),
        };
        if transcripts.get(d.me().index()).map(Vec::as_slice) != Some(own) {
            return Err("the coordinator sent another transcript of this party".into());
        }
        let body =
            RunRecordBody::build(plan, approvals, &transcripts).map_err(|f| f.to_string())?;
        let sig = body.sign(d.me(), d.key());
        link.send(
            &ToCoordinator::Signed {
                signature: sig.signature.to_bytes().to_vec(),
            },
            opts.timeout,
        )
        .map_err(|e| e.to_string())?;
        let record = match link.recv::<ToParty>(Some(Instant::now() + wait)) {
            Ok(ToParty::Record { record }) => record,
            Ok(_) => return Err("expected the run record".into()),
            Err(e) => return Err(e.to_string()),
        };
        let record = RunRecord::decode(&record).map_err(|e| e.to_string())?;
        if record.body != body {
            return Err("the run record differs from the one this party signed".into());
        }
        full_check(plan, approvals, &transcripts, &record)?;
        // Its own certificate and the coordinator's as the control link's handshake presented
        // it (the coordinator's trail has every party's).
        let name_of = |der: &[u8]| {
            let fp: [u8; 32] = sha2::Sha256::digest(der).into();
            plan.plan()
                .parties
                .iter()
                .find(|p| p.cert_sha256 == fp)
                .map(|p| p.name.clone())
        };
        let mut certs = Vec::new();
        for der in [Some(d.identity_cert().to_vec()), link.peer_cert_der()]
            .into_iter()
            .flatten()
        {
            if let Some(n) = name_of(&der) {
                certs.push((n, der));
            }
        }
        write_bundle(
            trail,
            &AuditRun {
                plan: plan.clone(),
                approvals: approvals.to_vec(),
                transcripts,
                record: Some(record),
                certs,
            },
        )
    }

    /// The coordinator's side: every session party (links in party order) signs the body the
    /// coordinator built, the coordinator signs it too, and everyone gets the record.
    #[allow(clippy::too_many_arguments, reason = "the whole round")]
    pub fn coordinator_sign_round(
        links: &mut [(String, ControlLink)],
        plan: &CanonicalPlan,
        approvals: &[Vec<u8>],
        transcripts: &[Vec<u8>],
        key: &IdentityKey,
        me: PartyId,
        trail: &Path,
        opts: &NetOptions,
        certs: &[(String, Vec<u8>)],
    ) -> Result<(), String> {
        let approvals = check_go(plan, approvals)?;
        let body =
            RunRecordBody::build(plan, &approvals, transcripts).map_err(|f| f.to_string())?;
        for (name, link) in links.iter_mut() {
            link.send(
                &ToParty::Sign {
                    transcripts: transcripts.to_vec(),
                },
                opts.timeout,
            )
            .map_err(|e| format!("{name}: {e}"))?;
        }
        let mut signatures = Vec::new();
        let deadline = Instant::now() + 2 * opts.timeout + Duration::from_secs(5);
        for (i, (name, link)) in links.iter_mut().enumerate() {
            let party = PartyId(i as u16);
            let sig = match link.recv::<ToCoordinator>(Some(deadline)) {
                Ok(ToCoordinator::Signed { signature }) => sig_bytes(&signature)
                    .ok_or_else(|| format!("{name}: a signature is 64 bytes"))?,
                Ok(_) => return Err(format!("{name}: expected its signature")),
                Err(e) => return Err(format!("{name}: {e}")),
            };
            let one = RunRecord {
                body: body.clone(),
                signatures: vec![PartySignature {
                    party: party.0,
                    signature: sig,
                }],
            };
            let pin = plan.party(party).map(|p| p.verifying_key);
            if !pin.is_some_and(|k| one.signed_by(party, &k)) {
                return Err(format!("{name} signed another run record"));
            }
            signatures.extend(one.signatures);
        }
        signatures.push(body.sign(me, key));
        signatures.sort_by_key(|s| s.party);
        let record = RunRecord { body, signatures };
        full_check(plan, &approvals, transcripts, &record)?;
        for (name, link) in links.iter_mut() {
            link.send(
                &ToParty::Record {
                    record: record.encode(),
                },
                opts.timeout,
            )
            .map_err(|e| format!("{name}: {e}"))?;
        }
        write_bundle(
            trail,
            &AuditRun {
                plan: plan.clone(),
                approvals,
                transcripts: transcripts.to_vec(),
                record: Some(record),
                certs: certs.to_vec(),
            },
        )
    }
}

#[cfg(test)]
mod salt_tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]
    use super::*;
    use audit::plan::DuoTerm;
    use audit::transcript::{Body, Record, parse, reveal_commitment};

    /// A non-public output: its REVEAL holds only the commitment, and the kept salt opens it
    /// (what the recipient shows an auditor with the value it received).
    #[test]
    fn salts_of_non_public_outputs_open_their_commitments() {
        let parties: Vec<PlanParty> = ["a", "b", "helper"]
            .iter()
            .enumerate()
            .map(|(i, n)| PlanParty {
                name: (*n).into(),
                role: if i < 2 { Role::Site } else { Role::Helper },
                jurisdiction: "EEA".into(),
                cert_sha256: [i as u8; 32],
                verifying_key: [i as u8 + 1; 32],
            })
            .collect();
        let plan = pooled_stats_plan(&PooledStatsSpec {
            run_id: [9; 16],
            dataset: "d".into(),
            columns: vec!["x".into()],
            repeat: 1,
            parties: parties.clone(),
            inputs: vec![
                ("a".into(), 20, vec![DuoTerm::Gru]),
                ("b".into(), 20, vec![DuoTerm::Gru]),
            ],
            purpose: "test".into(),
            disease: None,
            k: 5,
            not_after: i64::MAX,
            step_ms: 1000,
        })
        .unwrap();
        let mut p = plan.plan().clone();
        for o in &mut p.outputs {
            o.public = false;
        }
        let plan = CanonicalPlan::new(p).unwrap();
        let t = SharedTranscript::new(&plan, PartyId(0)).unwrap();
        let gate = PartyAuditor::new(&plan, PartyId(0), &t);
        gate.disclosure_check(&[OUTPUT_N], "DISC-CELLS", true)
            .unwrap();
        gate.before_open(OUTPUT_N).unwrap();
        gate.after_open(OUTPUT_N, b"40").unwrap();
        let salts = t.salts();
        assert_eq!(salts.len(), 2, "one per recipient (the two sites)");
        let entries: Vec<audit::transcript::Entry> = parse(&t.to_bytes())
            .unwrap()
            .into_iter()
            .filter_map(|r| match r {
                Record::Entry(e, _) => Some(e),
                Record::Head(_) => None,
            })
            .collect();
        for s in &salts {
            let e = &entries[s.seq as usize];
            let Body::Reveal(rec) = &e.body else {
                panic!("seq {} is not a REVEAL", s.seq)
            };
            assert_eq!(rec.value, None, "non-public: no clear value");
            assert_eq!(rec.recipient, s.recipient.0);
            let salt = RevealSalt::from_bytes(*s.salt);
            assert_eq!(
                reveal_commitment(&plan.run_id(), OUTPUT_N, &salt, b"40"),
                rec.commitment
            );
            assert_ne!(
                reveal_commitment(&plan.run_id(), OUTPUT_N, &salt, b"41"),
                rec.commitment
            );
        }
        let tsv = salts_tsv(&salts);
        assert_eq!(tsv.lines().count(), 3);
        assert!(tsv.contains(&to_hex(&salts[0].salt[..])));
        assert_eq!(salts_file_name(&plan, PartyId(1)), "salts-P1-b.tsv");
    }
}
