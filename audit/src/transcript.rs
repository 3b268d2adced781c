//! Per-party append-only transcripts: hash-chained entries, an RFC 9162 Merkle tree over them
//! and a signed tree head.
//!
//! A [`TranscriptWriter`] implements [`TranscriptSink`] (channels report every frame) and has
//! explicit calls for the other entry kinds. Entries never hold shares, keys, seeds, salts,
//! inputs or frame bytes: only hashes, lengths, names and public numbers (and an output's
//! value if, and only if, the plan marks the output public).
//!
//! File format (what [`TranscriptWriter::to_bytes`] writes and [`parse`] reads): a sequence of
//! records `tag (1 byte) ‖ len (u32 LE) ‖ body`, tag 1 = [`Entry`], tag 2 = the final
//! [`SignedTreeHead`]. Bodies are canonical postcard (see [`crate::codec`]).

use core::fmt;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use mpc_core::PartyId;
use mpc_core::transcript::{Direction, FrameEvent, TranscriptSink};

use crate::approval::{Refusal, RefusalRule};
use crate::codec::{self, CodecError, FORMAT_VERSION};
use crate::hash::{self, Hash32, domain};
use crate::keys::{IdentityKey, SigBytes, verify_signature};
use crate::plan::{CanonicalPlan, RunId};

/// Largest entry accepted by [`Entry::decode`] (a public output's value included).
pub const ENTRY_LIMIT: usize = 1 << 20;
/// Largest tree head accepted by [`SignedTreeHead::decode`].
pub const STH_LIMIT: usize = 256;
/// Record tag of an entry.
pub const TAG_ENTRY: u8 = 1;
/// Record tag of the signed tree head.
pub const TAG_STH: u8 = 2;

/// One transcript entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// [`FORMAT_VERSION`].
    pub version: u16,
    /// Run id.
    pub run_id: RunId,
    /// The writing party.
    pub party: u16,
    /// 0, 1, 2, … without gaps.
    pub seq: u64,
    /// `SHA-256("igs-entry/v1" ‖ previous entry)`, or H(plan) for the first entry.
    pub prev: Hash32,
    /// Unix time in milliseconds, as the party's clock said.
    pub time_ms: i64,
    /// Index of the plan's analysis step.
    pub step: u32,
    /// What happened.
    pub body: Body,
}

/// Entry kinds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// An authenticated connection to `peer`, with the pins it presented.
    Handshake {
        /// Peer.
        peer: u16,
        /// SHA-256 of the peer's certificate.
        cert_sha256: Hash32,
        /// SHA-256 of the peer's engine binary (as attested by the peer).
        binary_sha256: Hash32,
    },
    /// A frame sent.
    Send(FrameRecord),
    /// A frame received.
    Recv(FrameRecord),
    /// A check (disclosure check result revealed by MPC, consistency check).
    Check {
        /// What was checked (an output name for disclosure checks).
        subject: String,
        /// Rule id.
        rule: String,
        /// Result.
        passed: bool,
    },
    /// A revealed output.
    Reveal(RevealRecord),
    /// A refused request.
    Refuse {
        /// Rule id.
        rule: String,
        /// Explanation (no data).
        detail: String,
    },
    /// The party aborts.
    Abort {
        /// The party blamed, if any.
        culprit: Option<u16>,
        /// Reason (no data).
        reason: String,
    },
    /// The party finished.
    End,
}

/// A frame as logged by sender and receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameRecord {
    /// The other party.
    pub peer: u16,
    /// Per-direction frame sequence number.
    pub frame_seq: u64,
    /// Frame length in bytes.
    pub len: u64,
    /// `mpc_core::transcript::message_hash` of the frame.
    pub msg_hash: Hash32,
}

/// A revealed output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevealRecord {
    /// Output name (in the plan).
    pub output: String,
    /// Recipient.
    pub recipient: u16,
    /// Individuals per contributing site: (site, n).
    pub n_per_site: Vec<(u16, u64)>,
    /// Rule ids of the disclosure checks it passed.
    pub checks: Vec<String>,
    /// `SHA-256("igs-reveal/v1" ‖ run id ‖ len(output) u64 LE ‖ output ‖ salt ‖ value)`.
    pub commitment: Hash32,
    /// The value, only for outputs the plan marks public.
    pub value: Option<Vec<u8>>,
}

impl Entry {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes canonical entry bytes (at most [`ENTRY_LIMIT`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let e: Self = codec::decode(bytes, ENTRY_LIMIT)?;
        codec::check_version(e.version)?;
        Ok(e)
    }

    /// Kind name, as in SECURITY-DESIGN.md.
    pub fn kind(&self) -> &'static str {
        match self.body {
            Body::Handshake { .. } => "HANDSHAKE",
            Body::Send(_) => "SEND",
            Body::Recv(_) => "RECV",
            Body::Check { .. } => "CHECK",
            Body::Reveal(_) => "REVEAL",
            Body::Refuse { .. } => "REFUSE",
            Body::Abort { .. } => "ABORT",
            Body::End => "END",
        }
    }
}

/// `SHA-256("igs-entry/v1" ‖ entry bytes)`: the next entry's `prev`.
pub fn entry_hash(entry_bytes: &[u8]) -> Hash32 {
    hash::tagged(domain::ENTRY, &[entry_bytes])
}

/// A party's signed tree head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTreeHead {
    /// [`FORMAT_VERSION`].
    pub version: u16,
    /// Run id.
    pub run_id: RunId,
    /// The signing party.
    pub party: u16,
    /// Number of entries.
    pub size: u64,
    /// RFC 9162 root over the entries.
    pub root: Hash32,
    /// H(plan).
    pub plan_hash: Hash32,
    /// `Sig("igs-sth/v1" ‖ run id ‖ size u64 LE ‖ root ‖ H(plan))`.
    pub signature: SigBytes,
}

/// The message a tree head signs.
pub fn sth_message(run_id: &RunId, size: u64, root: &Hash32, plan_hash: &Hash32) -> Vec<u8> {
    let mut m = domain::STH.to_vec();
    m.extend_from_slice(&run_id.0);
    m.extend_from_slice(&size.to_le_bytes());
    m.extend_from_slice(root);
    m.extend_from_slice(plan_hash);
    m
}

impl SignedTreeHead {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes canonical tree-head bytes (at most [`STH_LIMIT`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let s: Self = codec::decode(bytes, STH_LIMIT)?;
        codec::check_version(s.version)?;
        Ok(s)
    }

    /// True if the signature verifies under `key`.
    pub fn verify(&self, key: &[u8; 32]) -> bool {
        verify_signature(
            key,
            &sth_message(&self.run_id, self.size, &self.root, &self.plan_hash),
            &self.signature,
        )
    }
}

/// The secret salt of a reveal commitment. Zeroized on drop; no `Debug`. Kept by the
/// recipient (and the revealing parties) to open the commitment to an auditor later.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RevealSalt([u8; 32]);

impl RevealSalt {
    /// From bytes.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }

    /// A fresh salt.
    pub fn random<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        Self(b)
    }
}

/// The commitment a REVEAL entry carries.
pub fn reveal_commitment(run_id: &RunId, output: &str, salt: &RevealSalt, value: &[u8]) -> Hash32 {
    hash::tagged(
        domain::REVEAL,
        &[
            &run_id.0,
            &(output.len() as u64).to_le_bytes(),
            output.as_bytes(),
            &salt.0,
            value,
        ],
    )
}

/// Errors of the writer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TranscriptError {
    /// The party is not a session party of the plan.
    NotAParty,
    /// Something after END or ABORT.
    Closed,
    /// A step outside the plan or going backwards.
    BadStep(u32),
    /// A peer that is not a session party, or the party itself.
    BadPeer(u16),
    /// The request was refused; a REFUSE entry was logged.
    Refused(Refusal),
    /// The signing key is not the one pinned for the party.
    WrongKey,
}

impl fmt::Display for TranscriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAParty => write!(f, "not a session party of the plan"),
            Self::Closed => write!(f, "transcript already ended"),
            Self::BadStep(s) => write!(f, "step {s} is outside the plan or goes backwards"),
            Self::BadPeer(p) => write!(f, "P{p} is not a peer"),
            Self::Refused(r) => write!(f, "{r}"),
            Self::WrongKey => write!(f, "signing key is not the one pinned in the plan"),
        }
    }
}

impl std::error::Error for TranscriptError {}

/// What a party is asked to reveal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevealRequest {
    /// Output name.
    pub output: String,
    /// Recipient.
    pub recipient: PartyId,
    /// Individuals per contributing site.
    pub n_per_site: Vec<(PartyId, u64)>,
}

/// One party's transcript under construction.
pub struct TranscriptWriter {
    plan: CanonicalPlan,
    party: PartyId,
    entries: Vec<Vec<u8>>,
    leaves: Vec<Hash32>,
    prev: Hash32,
    step: u32,
    time_ms: i64,
    /// Disclosure checks of this step: (subject, passed, rule).
    checks: Vec<(String, bool, String)>,
    sth: Option<SignedTreeHead>,
    late_events: u64,
}

impl fmt::Debug for TranscriptWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TranscriptWriter")
            .field("party", &self.party)
            .field("entries", &self.entries.len())
            .field("closed", &self.sth.is_some())
            .finish()
    }
}

impl TranscriptWriter {
    /// A new transcript of `party` for `plan`; the first entry links to H(plan).
    pub fn new(plan: &CanonicalPlan, party: PartyId) -> Result<Self, TranscriptError> {
        if party.index() >= plan.session_parties() {
            return Err(TranscriptError::NotAParty);
        }
        Ok(Self {
            plan: plan.clone(),
            party,
            entries: Vec::new(),
            leaves: Vec::new(),
            prev: plan.hash(),
            step: 0,
            time_ms: 0,
            checks: Vec::new(),
            sth: None,
            late_events: 0,
        })
    }

    /// Sets the time stamped on the following entries (Unix ms, from the caller's clock).
    pub fn set_time(&mut self, time_ms: i64) {
        self.time_ms = time_ms;
    }

    /// Moves to plan step `step` (never backwards).
    pub fn set_step(&mut self, step: u32) -> Result<(), TranscriptError> {
        if step < self.step || step as usize >= self.plan.plan().analyses.len() {
            return Err(TranscriptError::BadStep(step));
        }
        if step != self.step {
            self.checks.clear();
        }
        self.step = step;
        Ok(())
    }

    /// Number of entries so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if nothing was logged yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Frame events that arrived after END or ABORT (dropped; non-zero means a bug in the
    /// caller's shutdown order).
    pub fn late_events(&self) -> u64 {
        self.late_events
    }

    fn peer(&self, peer: PartyId) -> Result<u16, TranscriptError> {
        if peer == self.party || peer.index() >= self.plan.session_parties() {
            return Err(TranscriptError::BadPeer(peer.0));
        }
        Ok(peer.0)
    }

    fn append(&mut self, body: Body) -> Result<(), TranscriptError> {
        if self.sth.is_some() {
            return Err(TranscriptError::Closed);
        }
        let e = Entry {
            version: FORMAT_VERSION,
            run_id: self.plan.run_id(),
            party: self.party.0,
            seq: self.entries.len() as u64,
            prev: self.prev,
            time_ms: self.time_ms,
            step: self.step,
            body,
        };
        let bytes = e.encode();
        self.prev = entry_hash(&bytes);
        self.leaves.push(hash::leaf_hash(&bytes));
        self.entries.push(bytes);
        Ok(())
    }

    /// Logs an authenticated connection and the pins the peer presented.
    pub fn handshake(
        &mut self,
        peer: PartyId,
        cert_sha256: Hash32,
        binary_sha256: Hash32,
    ) -> Result<(), TranscriptError> {
        let peer = self.peer(peer)?;
        self.append(Body::Handshake {
            peer,
            cert_sha256,
            binary_sha256,
        })
    }

    /// Logs a frame (what [`TranscriptSink::record`] does, with an error for misuse).
    pub fn frame(&mut self, ev: &FrameEvent) -> Result<(), TranscriptError> {
        let rec = FrameRecord {
            peer: self.peer(ev.peer)?,
            frame_seq: ev.seq,
            len: ev.len as u64,
            msg_hash: ev.msg_hash,
        };
        self.append(match ev.direction {
            Direction::Send => Body::Send(rec),
            Direction::Recv => Body::Recv(rec),
        })
    }

    /// Logs a check and its result (e.g. an in-MPC disclosure check's revealed bit).
    pub fn check(
        &mut self,
        subject: &str,
        rule: &str,
        passed: bool,
    ) -> Result<(), TranscriptError> {
        self.append(Body::Check {
            subject: subject.into(),
            rule: rule.into(),
            passed,
        })?;
        self.checks.push((subject.into(), passed, rule.into()));
        Ok(())
    }

    /// Logs a refusal.
    pub fn refuse(&mut self, refusal: &Refusal) -> Result<(), TranscriptError> {
        self.append(Body::Refuse {
            rule: refusal.rule.id().into(),
            detail: refusal.detail.clone(),
        })
    }

    /// Checks a reveal against the plan and this step's checks. If allowed, logs REVEAL and
    /// returns the commitment; otherwise logs REFUSE and returns
    /// [`TranscriptError::Refused`]: the caller must then not contribute to the reveal.
    pub fn reveal(
        &mut self,
        req: &RevealRequest,
        value: &[u8],
        salt: &RevealSalt,
    ) -> Result<Hash32, TranscriptError> {
        match self.reveal_decision(req) {
            Ok((checks, public)) => {
                let commitment = reveal_commitment(&self.plan.run_id(), &req.output, salt, value);
                self.append(Body::Reveal(RevealRecord {
                    output: req.output.clone(),
                    recipient: req.recipient.0,
                    n_per_site: req.n_per_site.iter().map(|(p, n)| (p.0, *n)).collect(),
                    checks,
                    commitment,
                    value: public.then(|| value.to_vec()),
                }))?;
                Ok(commitment)
            }
            Err(r) => {
                self.refuse(&r)?;
                Err(TranscriptError::Refused(r))
            }
        }
    }

    /// Checks a reveal before any share of the value leaves the party: `Ok` if
    /// [`Self::reveal`] would log REVEAL now; otherwise logs REFUSE and returns
    /// [`TranscriptError::Refused`] (the caller must then not contribute to the opening).
    pub fn authorize(&mut self, req: &RevealRequest) -> Result<(), TranscriptError> {
        match self.reveal_decision(req) {
            Ok(_) => Ok(()),
            Err(r) => {
                self.refuse(&r)?;
                Err(TranscriptError::Refused(r))
            }
        }
    }

    fn reveal_decision(&self, req: &RevealRequest) -> Result<(Vec<String>, bool), Refusal> {
        let no = |rule, detail: String| Err(Refusal { rule, detail });
        let Some(o) = self.plan.output(&req.output) else {
            return no(
                RefusalRule::RevealNotInPlan,
                format!("output {} is not in the plan", req.output),
            );
        };
        let recipient = self.plan.party(req.recipient).map(|p| p.name.as_str());
        if !recipient.is_some_and(|r| o.recipients.iter().any(|x| x == r)) {
            return no(
                RefusalRule::RevealRecipient,
                format!("{} is not a recipient of {}", req.recipient, o.name),
            );
        }
        if o.step != self.step {
            return no(
                RefusalRule::RevealStep,
                format!(
                    "{} is revealed at step {}, not {}",
                    o.name, o.step, self.step
                ),
            );
        }
        if let Some((p, n)) = req.n_per_site.iter().find(|(_, n)| *n < u64::from(o.k)) {
            return no(
                RefusalRule::RevealBelowK,
                format!("{} has n = {n} < k = {} at {p}", o.name, o.k),
            );
        }
        let mine: Vec<&(String, bool, String)> = self
            .checks
            .iter()
            .filter(|(s, _, _)| *s == o.name)
            .collect();
        if mine.is_empty() || mine.iter().any(|(_, passed, _)| !passed) {
            return no(
                RefusalRule::RevealUnchecked,
                format!("{} has no passing disclosure check in this step", o.name),
            );
        }
        Ok((mine.iter().map(|(_, _, r)| r.clone()).collect(), o.public))
    }

    fn close(&mut self, body: Body, key: &IdentityKey) -> Result<SignedTreeHead, TranscriptError> {
        if self.plan.party(self.party).map(|p| p.verifying_key) != Some(key.verifying_key()) {
            return Err(TranscriptError::WrongKey);
        }
        self.append(body)?;
        let size = self.entries.len() as u64;
        let root = hash::merkle_root(&self.leaves);
        let run_id = self.plan.run_id();
        let sth = SignedTreeHead {
            version: FORMAT_VERSION,
            run_id,
            party: self.party.0,
            size,
            root,
            plan_hash: self.plan.hash(),
            signature: key.sign(&sth_message(&run_id, size, &root, &self.plan.hash())),
        };
        self.sth = Some(sth.clone());
        Ok(sth)
    }

    /// Logs END and signs the tree head.
    pub fn end(&mut self, key: &IdentityKey) -> Result<SignedTreeHead, TranscriptError> {
        self.close(Body::End, key)
    }

    /// Logs ABORT (naming the culprit, if known) and signs the tree head.
    pub fn abort(
        &mut self,
        culprit: Option<PartyId>,
        reason: &str,
        key: &IdentityKey,
    ) -> Result<SignedTreeHead, TranscriptError> {
        self.close(
            Body::Abort {
                culprit: culprit.map(|c| c.0),
                reason: reason.into(),
            },
            key,
        )
    }

    /// The tree head, once END or ABORT was logged.
    pub fn tree_head(&self) -> Option<&SignedTreeHead> {
        self.sth.as_ref()
    }

    /// The transcript file: every entry record, then the tree head record if closed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.entries {
            push_record(&mut out, TAG_ENTRY, e);
        }
        if let Some(s) = &self.sth {
            push_record(&mut out, TAG_STH, &s.encode());
        }
        out
    }
}

impl TranscriptSink for TranscriptWriter {
    fn record(&mut self, event: FrameEvent) {
        if self.frame(&event).is_err() {
            self.late_events += 1;
        }
    }
}

fn push_record(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
}

/// One record of a transcript file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// An entry with its exact bytes.
    Entry(Entry, Vec<u8>),
    /// The signed tree head.
    Head(SignedTreeHead),
}

/// Why a record of a transcript file does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    /// Index of the record (= the entry sequence number it should have had).
    pub index: u64,
    /// Reason.
    pub error: CodecError,
}

/// Splits a transcript file into records, stopping at the first one that does not parse.
pub fn parse(bytes: &[u8]) -> Result<Vec<Record>, RecordError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut index = 0u64;
    while !rest.is_empty() {
        let err = |error| RecordError { index, error };
        let (&tag, r) = rest
            .split_first()
            .ok_or_else(|| err(CodecError::Malformed("empty record".into())))?;
        let len_b: [u8; 4] = r
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| err(CodecError::Malformed("truncated record header".into())))?;
        let len = u32::from_le_bytes(len_b) as usize;
        if len > ENTRY_LIMIT {
            return Err(err(CodecError::TooLarge {
                len,
                limit: ENTRY_LIMIT,
            }));
        }
        let body = r
            .get(4..4 + len)
            .ok_or_else(|| err(CodecError::Malformed("truncated record".into())))?;
        rest = r.get(4 + len..).unwrap_or_default();
        match tag {
            TAG_ENTRY => out.push(Record::Entry(
                Entry::decode(body).map_err(err)?,
                body.to_vec(),
            )),
            TAG_STH => out.push(Record::Head(SignedTreeHead::decode(body).map_err(err)?)),
            t => return Err(err(CodecError::Malformed(format!("record tag {t}")))),
        }
        index += 1;
    }
    Ok(out)
}
