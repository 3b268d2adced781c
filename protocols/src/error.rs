//! Errors of protocol execution.

use core::fmt;

use mpc_core::channel::NetError;
use mpc_core::party::PartyId;
use mpc_core::wire::WireError;

/// A protocol failure. Peer faults name the culprit.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The channel failed or a peer sent a bad frame.
    Net(NetError),
    /// A peer's message decoded but is not what this step expects.
    PeerMisbehaved {
        /// The peer at fault.
        party: PartyId,
        /// What was wrong (never a secret value).
        reason: String,
    },
    /// The caller used the API wrongly (shapes differ, a party id out of range…).
    ApiMisuse(String),
    /// A state the code believes impossible.
    Unreachable(&'static str),
}

impl ProtocolError {
    /// The party at fault, if a peer is at fault.
    pub fn culprit(&self) -> Option<PartyId> {
        match self {
            Self::Net(e) => e.culprit(),
            Self::PeerMisbehaved { party, .. } => Some(*party),
            Self::ApiMisuse(_) | Self::Unreachable(_) => None,
        }
    }

    /// Wraps a decode error of `party`'s message.
    pub fn wire(party: PartyId, error: WireError) -> Self {
        Self::Net(NetError::Wire { party, error })
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Net(e) => write!(f, "{e}"),
            Self::PeerMisbehaved { party, reason } => write!(f, "{party} misbehaved: {reason}"),
            Self::ApiMisuse(s) => write!(f, "API misuse: {s}"),
            Self::Unreachable(s) => write!(f, "internal error (unreachable state): {s}"),
        }
    }
}

impl std::error::Error for ProtocolError {}

impl From<NetError> for ProtocolError {
    fn from(e: NetError) -> Self {
        Self::Net(e)
    }
}

/// Result alias.
pub type Result<T> = core::result::Result<T, ProtocolError>;

/// Checks a shape condition, returning [`ProtocolError::ApiMisuse`] with `what` if it fails.
pub(crate) fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<()> {
    if cond {
        Ok(())
    } else {
        Err(ProtocolError::ApiMisuse(what()))
    }
}
