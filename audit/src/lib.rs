//! # audit
//!
//! Signed plans, hash-chained transcripts, site approval policy and their offline
//! verification (issue 9, SECURITY-DESIGN.md R1–R9).
//!
//! What it does: canonical computation plans and their hash ([`plan`]); site approval with
//! DUO consent, jurisdiction, static disclosure and query-budget checks ([`approval`]);
//! per-party append-only transcripts behind [`mpc_core::transcript::TranscriptSink`], chained
//! by hashes, in an RFC 9162 Merkle tree with an Ed25519-signed head ([`transcript`]); the
//! co-signed run record ([`record`]); the offline verifier ([`verify`]); reports for legal
//! reviewers in Markdown and HTML ([`report`]).
//!
//! What it never does: open sockets or files, read the clock (every time is a parameter), or
//! store shares, keys, seeds, salts, inputs or frame bytes in a transcript. Signing keys and
//! salts zeroize on drop and have no `Debug`.
//!
//! Depends on `mpc-core` only among our crates (for `PartyId`, `wire` and the
//! `TranscriptSink` seam); `parties` calls it.
//!
//! ```text
//!  plan ──H──► approve (each site) ──► Approval ─┐
//!    │                                           │
//!    └─► TranscriptWriter ◄── FrameEvent (Channel) ── SEND/RECV hashes
//!            │  HANDSHAKE CHECK REVEAL REFUSE ABORT END
//!            ▼
//!        entries ─► Merkle root ─► signed tree head ─┬─► RunRecord (signed by all)
//!                                                    │
//!  verify(plan, approvals, transcripts, run record) ─┴─► PASS / FAIL(party, seq, rule) ─► report
//! ```

pub mod approval;
pub mod codec;
pub mod hash;
pub mod keys;
pub mod plan;
pub mod record;
pub mod report;
pub mod transcript;
pub mod verify;

pub use approval::{
    Approval, DisclosurePolicy, QueryLedger, Refusal, RefusalRule, SiteContext, SitePolicy, approve,
};
pub use keys::IdentityKey;
pub use plan::{CanonicalPlan, Plan, RunId};
pub use record::{RunRecord, RunRecordBody};
pub use transcript::{RevealRequest, RevealSalt, SignedTreeHead, TranscriptWriter};
pub use verify::{AuditBundle, Failure, Rule, Verified, verify};
