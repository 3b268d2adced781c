//! Party identities inside one session.

use core::fmt;

/// A party's index in a session: computing parties are 0..n, the dealer (if any) is n.
///
/// The `PartyId` of a frame's sender is always what the transport authenticated (the peer's
/// mTLS certificate, or the in-memory harness's wiring), never a field inside the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartyId(pub u16);

impl PartyId {
    /// The index as `usize`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P{}", self.0)
    }
}
