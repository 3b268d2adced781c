//! The audit crate's byte formats, on the one wire codec.
//!
//! Every audit message is a postcard value carried exactly like a `mpc_core::wire` control
//! payload ([`Msg::control`] to encode, [`Frame::from_parts`] + [`Msg::into_control`] to
//! decode), so there is one serialiser in the workspace. On top of the wire rules (no trailing
//! bytes, unknown fields fail) every decode here:
//!
//! - checks an explicit byte limit before decoding;
//! - re-encodes the value and requires the bytes to be identical to the input. postcard
//!   accepts over-long varints, so one value can have several encodings; only the encoding we
//!   produce ourselves is canonical, and only canonical bytes are ever hashed or signed.

use core::fmt;

use serde::{Serialize, de::DeserializeOwned};

use mpc_core::wire::{Frame, FrameKind, Header, Msg, SessionId, WIRE_VERSION};

/// Version of every audit message format; the first field of each top-level message.
pub const FORMAT_VERSION: u16 = 1;

/// Errors of decoding audit bytes. Never echoes the input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodecError {
    /// More bytes than the limit for this message type.
    TooLarge {
        /// Bytes presented.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a value of the expected type (postcard error text, no input bytes).
    Malformed(String),
    /// Decodes, but is not the canonical encoding of the value it decodes to.
    NonCanonical,
    /// A format version this build does not read.
    BadVersion(u16),
    /// Decodes canonically but breaks a structural rule of the type.
    Invalid(String),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, limit } => write!(f, "{len} bytes exceed the limit of {limit}"),
            Self::Malformed(e) => write!(f, "malformed: {e}"),
            Self::NonCanonical => write!(f, "not the canonical encoding"),
            Self::BadVersion(v) => write!(f, "format version {v} (this is {FORMAT_VERSION})"),
            Self::Invalid(e) => write!(f, "invalid: {e}"),
        }
    }
}

impl std::error::Error for CodecError {}

/// The canonical bytes of `value`.
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    match Msg::control(value) {
        Ok(m) => m.payload().to_vec(),
        // postcard serialisation into a Vec fails only for types it cannot represent (unsized
        // sequences); every audit type is representable.
        Err(_) => Vec::new(),
    }
}

/// Decodes `bytes` as a `T` of at most `limit` bytes and requires them to be canonical.
pub(crate) fn decode<T: Serialize + DeserializeOwned>(
    bytes: &[u8],
    limit: usize,
) -> Result<T, CodecError> {
    if bytes.len() > limit {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    let header = Header {
        version: WIRE_VERSION,
        session: SessionId::default(),
        seq: 0,
        kind: FrameKind::Control,
        count: 0,
        payload_len: u32::try_from(bytes.len()).map_err(|_| CodecError::TooLarge {
            len: bytes.len(),
            limit: u32::MAX as usize,
        })?,
    };
    let frame = Frame::from_parts(header, bytes.to_vec())
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    let value: T = frame
        .msg
        .into_control()
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if encode(&value) != bytes {
        return Err(CodecError::NonCanonical);
    }
    Ok(value)
}

/// Checks a decoded format version.
pub(crate) fn check_version(v: u16) -> Result<(), CodecError> {
    if v == FORMAT_VERSION {
        Ok(())
    } else {
        Err(CodecError::BadVersion(v))
    }
}

/// Lower-case hex of a byte string (reports, errors about hashes).
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct T {
        a: u32,
        b: String,
    }

    #[test]
    fn rejects_overlong_varint_limit_and_trailing() {
        let t = T {
            a: 1,
            b: "x".into(),
        };
        let bytes = encode(&t);
        assert_eq!(hex(&bytes), "010178");
        assert_eq!(decode::<T>(&bytes, 16).unwrap(), t);
        // 1 as an over-long varint (0x81 0x00) decodes to the same value: refused.
        assert_eq!(
            decode::<T>(&[0x81, 0x00, 0x01, 0x78], 16),
            Err(CodecError::NonCanonical)
        );
        assert!(matches!(
            decode::<T>(&bytes, 2),
            Err(CodecError::TooLarge { .. })
        ));
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(
            decode::<T>(&long, 16),
            Err(CodecError::Malformed(_))
        ));
    }
}
