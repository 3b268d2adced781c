//! The one wire codec (STYLE §8).
//!
//! Every frame is a fixed 40-byte header followed by a payload:
//!
//! ```text
//! offset size field
//!      0    2 version      u16 LE, = WIRE_VERSION
//!      2   16 session id   random per session
//!     18    8 seq          u64 LE, per direction, set by the channel
//!     26    1 kind         1 ring elements, 2 bits, 3 control (postcard), 4 abort
//!     27    1 ring         RingId byte for kind 1, else 0
//!     28    8 count        elements (kind 1) or bits (kind 2), else 0
//!     36    4 payload len  u32 LE
//!     40    …  payload
//! ```
//!
//! Share vectors travel as raw little-endian blocks (8 or 16 bytes per element); bit vectors as
//! packed bytes (bit i is bit i % 8 of byte i / 8, unused high bits zero); control messages as
//! postcard with no trailing bytes allowed (postcard is not self-describing, so an unknown or
//! extra field is a decode error). Every decode takes an explicit payload limit and checks it
//! against the header before touching the payload.

use core::fmt;

use serde::{Serialize, de::DeserializeOwned};

use crate::ring::{Ring, RingId};

/// Version of this frame format.
pub const WIRE_VERSION: u16 = 1;
/// Header size in bytes.
pub const HEADER_LEN: usize = 40;
/// Default payload limit (256 MiB): larger vectors are sent in several frames.
pub const DEFAULT_PAYLOAD_LIMIT: usize = 256 << 20;

/// A 128-bit random session identifier, in every frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SessionId(pub [u8; 16]);

/// What a frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// `count` ring elements of ring `RingId`.
    Ring(RingId),
    /// `count` packed bits.
    Bits,
    /// A postcard-encoded control message.
    Control,
    /// The sender aborts; the payload is a UTF-8 reason (no secrets).
    Abort,
}

impl FrameKind {
    fn bytes(self) -> (u8, u8) {
        match self {
            Self::Ring(r) => (1, r as u8),
            Self::Bits => (2, 0),
            Self::Control => (3, 0),
            Self::Abort => (4, 0),
        }
    }
}

/// A frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version.
    pub version: u16,
    /// Session the frame belongs to.
    pub session: SessionId,
    /// Per-direction sequence number.
    pub seq: u64,
    /// Payload kind.
    pub kind: FrameKind,
    /// Element or bit count.
    pub count: u64,
    /// Payload length in bytes.
    pub payload_len: u32,
}

/// The payload of a frame as protocol code sees it: the channel adds the header.
#[derive(Clone, PartialEq, Eq)]
pub struct Msg {
    kind: FrameKind,
    count: u64,
    payload: Vec<u8>,
}

impl fmt::Debug for Msg {
    // Payloads are masked shares or ciphertexts, but still never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Msg")
            .field("kind", &self.kind)
            .field("count", &self.count)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

/// A whole frame: header and payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The header.
    pub header: Header,
    /// The payload.
    pub msg: Msg,
}

/// Errors of decoding peer bytes. Messages never echo payload content.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes than the header or the announced payload.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// More bytes than the header announces.
    TrailingBytes,
    /// Unsupported version.
    BadVersion(u16),
    /// Unknown kind byte.
    BadKind(u8),
    /// Unknown ring byte, or a ring byte on a non-ring frame.
    BadRing(u8),
    /// The payload is larger than the receiver's limit.
    TooLarge {
        /// Announced length.
        len: u64,
        /// The limit.
        limit: usize,
    },
    /// The count does not match the payload length.
    CountMismatch,
    /// A frame of another kind, ring or count than the protocol step expects.
    Unexpected {
        /// What the step expected.
        expected: String,
        /// What arrived.
        got: String,
    },
    /// Nonzero padding bits in a bit vector.
    NonCanonicalBits,
    /// A control message that does not decode as the expected type.
    Control(String),
    /// A frame of another session.
    WrongSession,
    /// A frame whose sequence number is not the next one expected (replayed, reordered or
    /// dropped).
    BadSequence {
        /// The next expected number.
        expected: u64,
        /// What arrived.
        got: u64,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { needed, got } => {
                write!(f, "truncated frame: {got} of {needed} bytes")
            }
            Self::TrailingBytes => write!(f, "bytes after the announced payload"),
            Self::BadVersion(v) => {
                write!(f, "unsupported wire version {v} (this is {WIRE_VERSION})")
            }
            Self::BadKind(k) => write!(f, "unknown frame kind {k}"),
            Self::BadRing(r) => write!(f, "unknown or misplaced ring id {r}"),
            Self::TooLarge { len, limit } => {
                write!(f, "payload of {len} bytes exceeds the limit of {limit}")
            }
            Self::CountMismatch => write!(f, "element count does not match payload length"),
            Self::Unexpected { expected, got } => write!(f, "expected {expected}, got {got}"),
            Self::NonCanonicalBits => write!(f, "nonzero padding bits"),
            Self::Control(e) => write!(f, "malformed control message: {e}"),
            Self::WrongSession => write!(f, "frame of another session"),
            Self::BadSequence { expected, got } => {
                write!(
                    f,
                    "frame sequence {got}, expected {expected} (replay or reorder)"
                )
            }
        }
    }
}

impl std::error::Error for WireError {}

impl Msg {
    /// A vector of ring elements.
    pub fn ring<R: Ring>(xs: &[R]) -> Self {
        let mut payload = Vec::with_capacity(xs.len() * R::BYTES);
        R::write_le(xs, &mut payload);
        Self {
            kind: FrameKind::Ring(R::ID),
            count: xs.len() as u64,
            payload,
        }
    }

    /// `nbits` packed bits from 64-bit words (bits past `nbits` must be zero).
    pub fn bits(words: &[u64], nbits: usize) -> Self {
        let nbytes = nbits.div_ceil(8);
        let mut payload = Vec::with_capacity(nbytes);
        for w in words {
            payload.extend_from_slice(&w.to_le_bytes());
        }
        payload.truncate(nbytes);
        payload.resize(nbytes, 0);
        Self {
            kind: FrameKind::Bits,
            count: nbits as u64,
            payload,
        }
    }

    /// An opaque byte string (sent as a bit string of 8 · len bits).
    pub fn bytes(payload: Vec<u8>) -> Self {
        Self {
            kind: FrameKind::Bits,
            count: payload.len() as u64 * 8,
            payload,
        }
    }

    /// Decodes an opaque byte string of at most `max` bytes.
    pub fn into_bytes(self, max: usize) -> Result<Vec<u8>, WireError> {
        if self.kind != FrameKind::Bits || !self.count.is_multiple_of(8) || self.payload.len() > max
        {
            return Err(WireError::Unexpected {
                expected: format!("bytes ≤ {max}"),
                got: self.describe(),
            });
        }
        Ok(self.payload)
    }

    /// A postcard control message.
    pub fn control<T: Serialize>(value: &T) -> Result<Self, WireError> {
        let payload = postcard::to_stdvec(value).map_err(|e| WireError::Control(e.to_string()))?;
        Ok(Self {
            kind: FrameKind::Control,
            count: 0,
            payload,
        })
    }

    /// An abort notice with a reason (must not contain secrets).
    pub fn abort(reason: &str) -> Self {
        Self {
            kind: FrameKind::Abort,
            count: 0,
            payload: reason.as_bytes().to_vec(),
        }
    }

    /// The kind.
    pub fn kind(&self) -> FrameKind {
        self.kind
    }

    /// The payload bytes (masked shares, ciphertexts or control data).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.payload.len()
    }

    /// True if the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }

    fn describe(&self) -> String {
        format!("{:?} ×{}", self.kind, self.count)
    }

    /// Decodes exactly `n` elements of ring `R`.
    pub fn into_ring<R: Ring>(self, n: usize) -> Result<Vec<R>, WireError> {
        if self.kind != FrameKind::Ring(R::ID) || self.count != n as u64 {
            return Err(WireError::Unexpected {
                expected: format!("{:?} ×{n}", FrameKind::Ring(R::ID)),
                got: self.describe(),
            });
        }
        Ok(R::read_le(&self.payload))
    }

    /// Decodes exactly `nbits` bits into 64-bit words.
    pub fn into_bits(self, nbits: usize) -> Result<Vec<u64>, WireError> {
        if self.kind != FrameKind::Bits || self.count != nbits as u64 {
            return Err(WireError::Unexpected {
                expected: format!("Bits ×{nbits}"),
                got: self.describe(),
            });
        }
        let mut words = vec![0u64; nbits.div_ceil(64)];
        for (w, chunk) in words.iter_mut().zip(self.payload.chunks(8)) {
            let mut b = [0u8; 8];
            for (d, s) in b.iter_mut().zip(chunk) {
                *d = *s;
            }
            *w = u64::from_le_bytes(b);
        }
        Ok(words)
    }

    /// Decodes a control message of type `T`; trailing bytes are an error.
    pub fn into_control<T: DeserializeOwned>(self) -> Result<T, WireError> {
        if self.kind != FrameKind::Control {
            return Err(WireError::Unexpected {
                expected: "Control".into(),
                got: self.describe(),
            });
        }
        let (v, rest) = postcard::take_from_bytes::<T>(&self.payload)
            .map_err(|e| WireError::Control(e.to_string()))?;
        if !rest.is_empty() {
            return Err(WireError::TrailingBytes);
        }
        Ok(v)
    }

    /// The reason of an abort frame.
    pub fn abort_reason(&self) -> Option<String> {
        (self.kind == FrameKind::Abort).then(|| String::from_utf8_lossy(&self.payload).into_owned())
    }
}

impl Frame {
    /// Wraps a message with a header.
    pub fn new(session: SessionId, seq: u64, msg: Msg) -> Self {
        let header = Header {
            version: WIRE_VERSION,
            session,
            seq,
            kind: msg.kind,
            count: msg.count,
            payload_len: msg.payload.len() as u32,
        };
        Self { header, msg }
    }

    /// Encodes header and payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.msg.payload.len());
        out.extend_from_slice(&encode_header(&self.header));
        out.extend_from_slice(&self.msg.payload);
        out
    }

    /// Decodes one whole frame from `bytes` with payload limit `limit`.
    pub fn decode(bytes: &[u8], limit: usize) -> Result<Frame, WireError> {
        let head: &[u8; HEADER_LEN] = bytes
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(WireError::Truncated {
                needed: HEADER_LEN,
                got: bytes.len(),
            })?;
        let header = decode_header(head, limit)?;
        let body = bytes.get(HEADER_LEN..).unwrap_or_default();
        let want = header.payload_len as usize;
        if body.len() < want {
            return Err(WireError::Truncated {
                needed: HEADER_LEN + want,
                got: bytes.len(),
            });
        }
        if body.len() > want {
            return Err(WireError::TrailingBytes);
        }
        Self::from_parts(header, body.to_vec())
    }

    /// Builds a frame from an already decoded header and its payload (for stream transports
    /// that read the header first, check the limit, then read the payload).
    pub fn from_parts(header: Header, payload: Vec<u8>) -> Result<Frame, WireError> {
        if payload.len() != header.payload_len as usize {
            return Err(WireError::Truncated {
                needed: header.payload_len as usize,
                got: payload.len(),
            });
        }
        match header.kind {
            FrameKind::Ring(r) => {
                if header.count.checked_mul(r.bytes() as u64) != Some(payload.len() as u64) {
                    return Err(WireError::CountMismatch);
                }
            }
            FrameKind::Bits => {
                if header.count.div_ceil(8) != payload.len() as u64 {
                    return Err(WireError::CountMismatch);
                }
                let rem = (header.count % 8) as u32;
                if rem != 0 && payload.last().is_some_and(|last| last >> rem != 0) {
                    return Err(WireError::NonCanonicalBits);
                }
            }
            FrameKind::Control | FrameKind::Abort => {
                if header.count != 0 {
                    return Err(WireError::CountMismatch);
                }
            }
        }
        let msg = Msg {
            kind: header.kind,
            count: header.count,
            payload,
        };
        Ok(Frame { header, msg })
    }
}

/// Encodes a header.
pub fn encode_header(h: &Header) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    let (kind, ring) = h.kind.bytes();
    out[0..2].copy_from_slice(&h.version.to_le_bytes());
    out[2..18].copy_from_slice(&h.session.0);
    out[18..26].copy_from_slice(&h.seq.to_le_bytes());
    out[26] = kind;
    out[27] = ring;
    out[28..36].copy_from_slice(&h.count.to_le_bytes());
    out[36..40].copy_from_slice(&h.payload_len.to_le_bytes());
    out
}

/// Decodes and checks a header; the payload limit is enforced here, before any allocation.
pub fn decode_header(b: &[u8; HEADER_LEN], limit: usize) -> Result<Header, WireError> {
    let version = u16::from_le_bytes([b[0], b[1]]);
    if version != WIRE_VERSION {
        return Err(WireError::BadVersion(version));
    }
    let mut session = [0u8; 16];
    session.copy_from_slice(&b[2..18]);
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&b[18..26]);
    let kind_b = b[26];
    let ring_b = b[27];
    let mut count = [0u8; 8];
    count.copy_from_slice(&b[28..36]);
    let mut len = [0u8; 4];
    len.copy_from_slice(&b[36..40]);
    let payload_len = u32::from_le_bytes(len);
    if payload_len as u64 > limit as u64 {
        return Err(WireError::TooLarge {
            len: payload_len as u64,
            limit,
        });
    }
    let kind = match (kind_b, ring_b) {
        (1, r) => FrameKind::Ring(RingId::from_byte(r).ok_or(WireError::BadRing(r))?),
        (2..=4, r) if r != 0 => return Err(WireError::BadRing(r)),
        (2, _) => FrameKind::Bits,
        (3, _) => FrameKind::Control,
        (4, _) => FrameKind::Abort,
        (k, _) => return Err(WireError::BadKind(k)),
    };
    Ok(Header {
        version,
        session: SessionId(session),
        seq: u64::from_le_bytes(seq),
        kind,
        count: u64::from_le_bytes(count),
        payload_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::{Z64, Z128};
    use proptest::prelude::*;

    fn sid() -> SessionId {
        SessionId([0xab; 16])
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    // Byte snapshots: a change here is a wire-format change and needs a version bump.
    #[test]
    fn snapshot_ring_frame() {
        let f = Frame::new(sid(), 7, Msg::ring(&[Z64(1), Z64(u64::MAX)]));
        assert_eq!(
            hex(&f.encode()),
            concat!(
                "0100",
                "abababababababababababababababab",
                "0700000000000000",
                "01",
                "01",
                "0200000000000000",
                "10000000",
                "0100000000000000",
                "ffffffffffffffff"
            )
        );
    }

    #[test]
    fn snapshot_z128_bits_control_abort() {
        let f = Frame::new(sid(), 0, Msg::ring(&[Z128(2)]));
        assert_eq!(hex(&f.encode()[26..40]), "0102010000000000000010000000");
        let f = Frame::new(sid(), 1, Msg::bits(&[0b1_0000_0101], 9));
        assert_eq!(
            hex(&f.encode()[26..]),
            "0200090000000000000002000000".to_owned() + "0501"
        );
        #[derive(serde::Serialize)]
        struct C {
            a: u32,
            b: bool,
        }
        let f = Frame::new(sid(), 2, Msg::control(&C { a: 300, b: true }).unwrap());
        assert_eq!(hex(&f.encode()[26..]), "0300000000000000000003000000ac0201");
        let f = Frame::new(sid(), 3, Msg::abort("x"));
        assert_eq!(hex(&f.encode()[26..]), "040000000000000000000100000078");
    }

    #[test]
    fn rejects_malformed() {
        let good = Frame::new(sid(), 0, Msg::ring(&[Z64(5)])).encode();
        assert!(Frame::decode(&good, 1 << 20).is_ok());
        // Truncated.
        assert!(matches!(
            Frame::decode(&good[..45], 1 << 20),
            Err(WireError::Truncated { .. })
        ));
        assert!(matches!(
            Frame::decode(&good[..10], 1 << 20),
            Err(WireError::Truncated { .. })
        ));
        // Trailing.
        let mut t = good.clone();
        t.push(0);
        assert_eq!(Frame::decode(&t, 1 << 20), Err(WireError::TrailingBytes));
        // Over the limit: refused from the header alone.
        assert!(matches!(
            Frame::decode(&good, 7),
            Err(WireError::TooLarge { len: 8, limit: 7 })
        ));
        let mut huge = good.clone();
        huge[36..40].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            Frame::decode(&huge, 1 << 20),
            Err(WireError::TooLarge { .. })
        ));
        // Version, kind, ring.
        let mut v = good.clone();
        v[0] = 9;
        assert_eq!(Frame::decode(&v, 1 << 20), Err(WireError::BadVersion(9)));
        let mut k = good.clone();
        k[26] = 9;
        assert_eq!(Frame::decode(&k, 1 << 20), Err(WireError::BadKind(9)));
        let mut r = good.clone();
        r[27] = 9;
        assert_eq!(Frame::decode(&r, 1 << 20), Err(WireError::BadRing(9)));
        // Count mismatch.
        let mut c = good.clone();
        c[28] = 2;
        assert_eq!(Frame::decode(&c, 1 << 20), Err(WireError::CountMismatch));
        // Padding bits.
        let mut b = Frame::new(sid(), 0, Msg::bits(&[1], 3)).encode();
        b[40] = 0xff;
        assert_eq!(Frame::decode(&b, 1 << 20), Err(WireError::NonCanonicalBits));
    }

    #[test]
    fn control_rejects_trailing_and_wrong_type() {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        struct A {
            x: u8,
        }
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        struct B {
            x: u8,
            y: u8,
        }
        let m = Msg::control(&B { x: 1, y: 2 }).unwrap();
        assert_eq!(m.clone().into_control::<A>(), Err(WireError::TrailingBytes));
        assert_eq!(m.into_control::<B>().unwrap(), B { x: 1, y: 2 });
        let r = Msg::ring(&[Z64(1)]);
        assert!(matches!(
            r.clone().into_control::<A>(),
            Err(WireError::Unexpected { .. })
        ));
        assert!(matches!(
            r.into_ring::<Z64>(2),
            Err(WireError::Unexpected { .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn round_trip(xs in proptest::collection::vec(any::<u64>(), 0..50), seq: u64) {
            let v: Vec<Z64> = xs.iter().map(|&x| Z64(x)).collect();
            let f = Frame::new(sid(), seq, Msg::ring(&v));
            let d = Frame::decode(&f.encode(), 1 << 20).unwrap();
            prop_assert_eq!(d.header.seq, seq);
            prop_assert_eq!(d.msg.into_ring::<Z64>(v.len()).unwrap(), v);
        }
        #[test]
        fn bits_round_trip(words in proptest::collection::vec(any::<u64>(), 1..5), cut in 0usize..64) {
            let nbits = (words.len() - 1) * 64 + cut.max(1);
            let mut w = words.clone();
            let last = w.len() - 1;
            w[last] &= crate::share::last_word_mask(nbits);
            let f = Frame::new(sid(), 0, Msg::bits(&w, nbits));
            let d = Frame::decode(&f.encode(), 1 << 20).unwrap();
            prop_assert_eq!(d.msg.into_bits(nbits).unwrap(), w);
        }
        // Arbitrary bytes never panic the decoder.
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = Frame::decode(&bytes, 64);
        }
    }
}
