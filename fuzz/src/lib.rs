//! Types shared by the fuzz targets and the seed generator (`examples/make_seeds.rs`).

use arbitrary::Arbitrary;
use serde::{Deserialize, Serialize};

/// A small control message with the shapes protocol steps use.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Small {
    /// A step number.
    pub step: u32,
    /// A flag.
    pub ok: bool,
    /// An optional fixed-size array.
    pub seed: Option<[u8; 4]>,
    /// An enum.
    pub tag: Tag,
    /// A length-prefixed vector.
    pub sizes: Vec<u16>,
    /// A string.
    pub note: String,
}

/// Enum variants of each shape.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub enum Tag {
    /// Unit.
    A,
    /// Newtype.
    B(u64),
    /// Struct.
    C {
        /// A signed (zigzag) field.
        x: i32,
    },
}

/// Number of operation codes `wire_msg_ops` knows (`code % OPS`).
pub const OPS: u8 = 8;

/// One operation of `wire_msg_ops`.
#[derive(Arbitrary, Debug)]
pub struct Op {
    /// Which operation (`code % OPS`): 0 `into_ring::<Z64>`, 1 `into_ring::<Z128>`,
    /// 2 `into_bits`, 3 `into_control::<Small>`, 4 `abort_reason`, 5 decode under limit n,
    /// 6 re-encode, 7 `into_bytes(n)`.
    pub code: u8,
    /// `u16::MAX` means "the count in the header" (when ≤ 4096); otherwise n % 4097.
    pub n: u16,
}

/// The whole `wire_msg_ops` input.
///
/// Layout (arbitrary 1.x): for each op a byte with the low bit set followed by the op
/// (`code: u8`, `n: u16` LE), then a byte with the low bit clear, then the frame bytes (the rest).
#[derive(Arbitrary, Debug)]
pub struct Input<'a> {
    /// Operations applied in order to the decoded frame.
    pub ops: Vec<Op>,
    /// The frame bytes.
    pub frame: &'a [u8],
}

/// Encodes an input in the layout `Input` is parsed from.
pub fn encode_input(ops: &[(u8, u16)], frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(code, n) in ops {
        out.push(1);
        out.push(code);
        out.extend_from_slice(&n.to_le_bytes());
    }
    out.push(0);
    out.extend_from_slice(frame);
    out
}
