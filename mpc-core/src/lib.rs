//! # mpc-core
//!
//! The arithmetic and plumbing every igs-mpc protocol runs on.
//!
//! What it does: rings Z_2^64 and Z_2^128 ([`ring`]), fixed-point encoding ([`fixed`]),
//! N-party additive shares that zeroize on drop ([`share`]), seeded forkable PRGs ([`prg`]),
//! the [`channel::Channel`] trait through which protocol code reaches other parties, the one
//! wire codec ([`wire`]), the [`transcript::TranscriptSink`] seam to the audit log, and an
//! in-memory N-party harness for tests and benches ([`testing`]).
//!
//! What it never does: open sockets, read files or the clock, spawn async runtimes, or print
//! secret values. Secret types have no `Debug`/`Display` (STYLE §4).
//!
//! ```text
//!   site data ──(parties)──► encode (fixed) ──► share ──► protocols ──► Channel ──► wire bytes
//!                                                              │
//!                                                              └──► TranscriptSink (hashes only)
//! ```

pub mod channel;
pub mod fixed;
pub mod party;
pub mod prg;
pub mod ring;
pub mod share;
pub mod testing;
pub mod transcript;
pub mod wire;

pub use channel::{Channel, NetError};
pub use fixed::{DefaultFrac, FixedError, FixedPoint};
pub use party::PartyId;
pub use prg::{Prg, Seed};
pub use ring::{Ring, RingId, Z64, Z128};
pub use share::{SharedBits, SharedMat, SharedVec};
pub use wire::{Frame, FrameKind, Header, SessionId};
