//! The seam between protocols and the audit log.
//!
//! Channels report every frame they send or receive to a [`TranscriptSink`]: direction, peer,
//! frame sequence, length and a domain-separated SHA-256 of the wire bytes — never the bytes
//! themselves. The `audit` crate implements the hash-chained, signed log behind this trait.

use sha2::{Digest, Sha256};

use crate::party::PartyId;
use crate::wire::SessionId;

/// Direction of a logged frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Sent by this party.
    Send,
    /// Received by this party.
    Recv,
}

/// One logged frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameEvent {
    /// Send or receive.
    pub direction: Direction,
    /// The other party.
    pub peer: PartyId,
    /// Per-direction frame sequence number.
    pub seq: u64,
    /// Encoded frame length in bytes.
    pub len: usize,
    /// `SHA-256("igs-msg/v1" ‖ session ‖ sender ‖ receiver ‖ seq ‖ frame bytes)`.
    pub msg_hash: [u8; 32],
}

/// The hash both ends of a frame compute and log.
pub fn message_hash(
    session: SessionId,
    sender: PartyId,
    receiver: PartyId,
    seq: u64,
    frame: &[u8],
) -> [u8; 32] {
    message_hash_parts(session, sender, receiver, seq, &[frame])
}

/// [`message_hash`] of a frame given in pieces (header, payload), without joining them.
pub fn message_hash_parts(
    session: SessionId,
    sender: PartyId,
    receiver: PartyId,
    seq: u64,
    frame: &[&[u8]],
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"igs-msg/v1");
    h.update(session.0);
    h.update(sender.0.to_le_bytes());
    h.update(receiver.0.to_le_bytes());
    h.update(seq.to_le_bytes());
    for part in frame {
        h.update(part);
    }
    h.finalize().into()
}

/// Receives frame events. Implementations must not block for long: they run on the protocol
/// path.
pub trait TranscriptSink: Send {
    /// Records one frame.
    fn record(&mut self, event: FrameEvent);
}

/// A sink that keeps nothing (tests and benches).
#[derive(Default, Debug, Clone, Copy)]
pub struct NullSink;

impl TranscriptSink for NullSink {
    fn record(&mut self, _event: FrameEvent) {}
}

/// A sink that keeps every event in memory (tests).
#[derive(Default, Debug, Clone)]
pub struct MemorySink {
    /// The recorded events, in order.
    pub events: Vec<FrameEvent>,
}

impl TranscriptSink for MemorySink {
    fn record(&mut self, event: FrameEvent) {
        self.events.push(event);
    }
}
