//! The run record, co-signed by every party: H(plan), the approvals, every party's signed tree
//! head and the pairwise SEND/RECV cross-check. Once every party has signed it, no party can
//! show an auditor a transcript other than the one whose head is in the record.

use serde::{Deserialize, Serialize};

use mpc_core::PartyId;

use crate::approval::Approval;
use crate::codec::{self, CodecError, FORMAT_VERSION};
use crate::hash::{self, Hash32, domain};
use crate::keys::{IdentityKey, SigBytes, verify_signature};
use crate::plan::{CanonicalPlan, RunId};
use crate::transcript::{Body, Entry, SignedTreeHead};
use crate::verify::{self, Failure};

/// Largest run record accepted by [`RunRecord::decode`].
pub const RUN_RECORD_LIMIT: usize = 1 << 20;

/// Traffic from one party to another and whether both logs agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairTraffic {
    /// Sender.
    pub from: u16,
    /// Receiver.
    pub to: u16,
    /// Frames the sender logged.
    pub frames: u64,
    /// Bytes the sender logged.
    pub bytes: u64,
    /// Every SEND matches the receiver's RECV (step, frame seq, length, hash); after an
    /// abort the receiver's RECVs may be a prefix (frames in flight are lost).
    pub matched: bool,
}

/// What every party signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecordBody {
    /// [`FORMAT_VERSION`].
    pub version: u16,
    /// Run id.
    pub run_id: RunId,
    /// H(plan).
    pub plan_hash: Hash32,
    /// Every site's approval, in party order.
    pub approvals: Vec<Approval>,
    /// Every session party's tree head, in party order.
    pub heads: Vec<SignedTreeHead>,
    /// Pairwise cross-check, ordered by (from, to).
    pub pairs: Vec<PairTraffic>,
}

/// One party's signature on the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartySignature {
    /// The party.
    pub party: u16,
    /// `Sig("igs-run/v1" ‖ SHA-256(body bytes))`.
    pub signature: SigBytes,
}

/// The co-signed run record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The signed content.
    pub body: RunRecordBody,
    /// One signature per party of the plan, in party order.
    pub signatures: Vec<PartySignature>,
}

/// The message a run-record signature signs.
pub fn run_record_message(body: &RunRecordBody) -> Vec<u8> {
    let digest: Hash32 = hash::tagged(b"", &[&codec::encode(body)]);
    let mut m = domain::RUN.to_vec();
    m.extend_from_slice(&digest);
    m
}

impl RunRecordBody {
    /// Verifies the plan, approvals and every transcript (as the offline verifier does) and
    /// builds the body every party then signs. `transcripts[i]` is party i's transcript file.
    pub fn build(
        plan: &CanonicalPlan,
        approvals: &[Approval],
        transcripts: &[Vec<u8>],
    ) -> Result<Self, Failure> {
        verify::check_approvals(plan, approvals)?;
        let (entries, heads) = verify::check_transcripts(plan, transcripts)?;
        let pairs = verify::check_pairs(plan, &entries)?;
        Ok(Self {
            version: FORMAT_VERSION,
            run_id: plan.run_id(),
            plan_hash: plan.hash(),
            approvals: approvals.to_vec(),
            heads,
            pairs,
        })
    }

    /// This party's signature.
    pub fn sign(&self, party: PartyId, key: &IdentityKey) -> PartySignature {
        PartySignature {
            party: party.0,
            signature: key.sign(&run_record_message(self)),
        }
    }
}

impl RunRecord {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes canonical run-record bytes (at most [`RUN_RECORD_LIMIT`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let r: Self = codec::decode(bytes, RUN_RECORD_LIMIT)?;
        codec::check_version(r.body.version)?;
        for a in &r.body.approvals {
            codec::check_version(a.version)?;
        }
        for h in &r.body.heads {
            codec::check_version(h.version)?;
        }
        Ok(r)
    }

    /// True if `party`'s signature is present and verifies under `key`.
    pub fn signed_by(&self, party: PartyId, key: &[u8; 32]) -> bool {
        let msg = run_record_message(&self.body);
        self.signatures
            .iter()
            .any(|s| s.party == party.0 && verify_signature(key, &msg, &s.signature))
    }
}

/// (frame seq, len, msg_hash) of i's SENDs to j, or of j's RECVs from i, with the
/// entry's sequence number.
///
/// The plan step at which each side logged the frame is not part of the match: parties
/// move between steps on their own, so a frame sent at the end of one step may be received
/// after the receiver has moved on (and the helper, which serves preprocessing, never moves).
pub(crate) fn frames(entries: &[Entry], peer: u16, send: bool) -> Vec<(u64, (u64, u64, Hash32))> {
    entries
        .iter()
        .filter_map(|e| match (&e.body, send) {
            (Body::Send(f), true) | (Body::Recv(f), false) if f.peer == peer => {
                Some((e.seq, (f.frame_seq, f.len, f.msg_hash)))
            }
            _ => None,
        })
        .collect()
}
