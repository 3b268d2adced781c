//! The [`Channel`] trait: the only way protocol code reaches other parties (STYLE §1).
//!
//! `mpc_core::testing` implements it in memory; `parties` implements it over QUIC with mutual
//! TLS. A channel wraps each [`Msg`] in a [`crate::wire::Frame`] with the session id and a
//! per-direction sequence number, enforces the payload limit, and counts bytes and rounds.
//! The sender of a received message is the peer the transport authenticated, never a field
//! inside the frame.

use core::fmt;

use crate::party::PartyId;
use crate::wire::{Msg, WireError};

/// Errors a channel reports. Every peer fault names the culprit.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetError {
    /// The peer's bytes did not decode.
    Wire {
        /// The peer at fault.
        party: PartyId,
        /// What was wrong.
        error: WireError,
    },
    /// The peer closed the connection or disappeared.
    Closed {
        /// The peer.
        party: PartyId,
    },
    /// No progress from the peer within the timeout.
    Timeout {
        /// The peer.
        party: PartyId,
    },
    /// The peer announced an abort.
    Aborted {
        /// The peer that aborted.
        party: PartyId,
        /// Its stated reason.
        reason: String,
    },
    /// A party id outside this session.
    UnknownParty(PartyId),
}

impl NetError {
    /// The party at fault, if any.
    pub fn culprit(&self) -> Option<PartyId> {
        match self {
            Self::Wire { party, .. }
            | Self::Closed { party }
            | Self::Timeout { party }
            | Self::Aborted { party, .. } => Some(*party),
            Self::UnknownParty(_) => None,
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Wire { party, error } => write!(f, "{party} sent a bad frame: {error}"),
            Self::Closed { party } => write!(f, "{party} closed the connection"),
            Self::Timeout { party } => write!(f, "{party} made no progress within the timeout"),
            Self::Aborted { party, reason } => write!(f, "{party} aborted: {reason}"),
            Self::UnknownParty(p) => write!(f, "{p} is not in this session"),
        }
    }
}

impl std::error::Error for NetError {}

/// Traffic counters of one party.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes sent to each peer (index = peer id), headers included.
    pub bytes_sent: Vec<u64>,
    /// Bytes received from each peer.
    pub bytes_received: Vec<u64>,
    /// Frames sent.
    pub frames_sent: u64,
    /// Communication rounds: maximal runs of sends, counted over traffic with computing
    /// parties only (the dealer's request/response traffic is counted in `prep_rounds`).
    pub rounds: u64,
    /// Rounds of traffic with the dealer.
    pub prep_rounds: u64,
}

impl Stats {
    /// Bytes sent to computing parties `0..n_compute`.
    pub fn online_bytes_sent(&self, n_compute: usize) -> u64 {
        self.bytes_sent.iter().take(n_compute).sum()
    }

    /// Bytes sent to everyone.
    pub fn total_bytes_sent(&self) -> u64 {
        self.bytes_sent.iter().sum()
    }
}

/// Keeps a party's [`Stats`]: every [`Channel`] implementation counts through this, so byte and
/// round accounting is the same in memory and over the network.
///
/// A round is a maximal run of sends: the first send after a receive (or the first send at
/// all) starts a new round. Traffic between two computing parties counts in `rounds`; traffic
/// with the dealer counts in `prep_rounds`.
#[derive(Clone, Debug)]
pub struct StatsRecorder {
    me: usize,
    n_compute: usize,
    stats: Stats,
    sending_online: bool,
    sending_prep: bool,
}

impl StatsRecorder {
    /// Counters for party `me` of a session with `n_compute` computing parties and
    /// `n_total` parties in all (helpers included).
    pub fn new(me: PartyId, n_compute: usize, n_total: usize) -> Self {
        Self {
            me: me.index(),
            n_compute,
            stats: Stats {
                bytes_sent: vec![0; n_total],
                bytes_received: vec![0; n_total],
                ..Stats::default()
            },
            sending_online: false,
            sending_prep: false,
        }
    }

    fn online(&self, peer: usize) -> bool {
        peer < self.n_compute && self.me < self.n_compute
    }

    /// Records a frame of `len` bytes (header included) sent to `peer`.
    pub fn sent(&mut self, peer: usize, len: u64) {
        if let Some(b) = self.stats.bytes_sent.get_mut(peer) {
            *b += len;
        }
        self.stats.frames_sent += 1;
        if self.online(peer) {
            if !self.sending_online {
                self.stats.rounds += 1;
                self.sending_online = true;
            }
        } else if !self.sending_prep {
            self.stats.prep_rounds += 1;
            self.sending_prep = true;
        }
    }

    /// Records a frame of `len` bytes received from `peer`.
    pub fn received(&mut self, peer: usize, len: u64) {
        if let Some(b) = self.stats.bytes_received.get_mut(peer) {
            *b += len;
        }
        if self.online(peer) {
            self.sending_online = false;
        } else {
            self.sending_prep = false;
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

/// A party's connections to the other parties of one session.
pub trait Channel {
    /// This party.
    fn me(&self) -> PartyId;
    /// Number of computing parties (the dealer, if any, is `PartyId(n)`).
    fn n_compute(&self) -> usize;
    /// Sends one message to `to`.
    fn send(&mut self, to: PartyId, msg: Msg) -> Result<(), NetError>;
    /// Receives the next message from `from`, in order.
    fn recv(&mut self, from: PartyId) -> Result<Msg, NetError>;
    /// Traffic counters so far.
    fn stats(&self) -> Stats;
}
