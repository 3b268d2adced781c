//! Byte encodings of the HE messages. Decoders parse peer bytes into typed values against the
//! session's parameter set and layout (exact lengths, version, parameter-set id); any u128 is a
//! valid coefficient mod 2^128, so nothing else needs checking. They never panic.
//!
//! Query (key owner → owner): `version u8 | params id u8 | count u32 LE (= C) |
//! pk seed [32] | ct seed [32] | k·N pk bodies | C·N ct bodies` (u128 little endian).
//! Reply (owner → key owner): `version u8 | params id u8 | count u32 LE (= row blocks) |
//! row_blocks·k·N masks | rows bodies`, each reply coefficient modulus-switched to
//! 2^80 and sent as 10 bytes little endian (`params::REPLY_COEFF_BYTES`).

use core::fmt;

use super::params::{HeParams, Layout, REPLY_COEFF_BYTES};

/// What a key owner sends: a GLWE public key (k encryptions of zero) and the encrypted
/// vector, both with seed-expanded masks (only bodies and the two seeds travel).
pub struct Query {
    /// Seed of the public key's mask polynomials.
    pub pk_seed: [u8; 32],
    /// Seed of the ciphertexts' mask polynomials.
    pub ct_seed: [u8; 32],
    /// k public-key bodies of N coefficients.
    pub pk_bodies: Vec<u128>,
    /// `col_blocks` ciphertext bodies of N coefficients.
    pub ct_bodies: Vec<u128>,
}

/// What the owner returns for one key owner: per row block, k mask polynomials and the
/// useful body coefficients only (one per row).
pub struct Reply {
    /// `row_blocks`·k·N mask coefficients, modulus-switched (< 2^80).
    pub masks: Vec<u128>,
    /// `rows` body coefficients, row block after row block, modulus-switched (< 2^80).
    pub bodies: Vec<u128>,
}

/// Format version.
pub const VERSION: u8 = 2;
/// Bytes before the payload.
pub const HEADER_BYTES: usize = 6;

/// Why a peer's HE message was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeWireError {
    /// Not the expected length for this session's layout.
    Length {
        /// Bytes expected.
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// Unknown format version.
    Version(u8),
    /// Another parameter set than the session's.
    Params {
        /// The session's set.
        expected: u8,
        /// The set named by the peer.
        got: u8,
    },
    /// The block count does not match the layout.
    Count {
        /// Expected.
        expected: usize,
        /// Announced.
        got: u32,
    },
}

impl fmt::Display for HeWireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length { expected, got } => {
                write!(f, "HE message of {got} bytes, expected {expected}")
            }
            Self::Version(v) => write!(f, "HE message version {v}, expected {VERSION}"),
            Self::Params { expected, got } => {
                write!(f, "HE parameter set {got}, session uses {expected}")
            }
            Self::Count { expected, got } => {
                write!(
                    f,
                    "HE message announces {got} ciphertexts, layout has {expected}"
                )
            }
        }
    }
}

impl std::error::Error for HeWireError {}

fn header(params: &HeParams, count: usize, out: &mut Vec<u8>) {
    out.push(VERSION);
    out.push(params.id);
    out.extend_from_slice(&(count as u32).to_le_bytes());
}

fn put(xs: &[u128], out: &mut Vec<u8>) {
    for x in xs {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

fn take(bytes: &[u8]) -> Vec<u128> {
    bytes
        .chunks_exact(16)
        .map(|c| {
            let mut b = [0u8; 16];
            b.copy_from_slice(c);
            u128::from_le_bytes(b)
        })
        .collect()
}

fn put_switched(xs: &[u128], out: &mut Vec<u8>) {
    for x in xs {
        out.extend_from_slice(x.to_le_bytes().get(..REPLY_COEFF_BYTES).unwrap_or(&[]));
    }
}

fn take_switched(bytes: &[u8]) -> Vec<u128> {
    bytes
        .chunks_exact(REPLY_COEFF_BYTES)
        .map(|c| {
            let mut b = [0u8; 16];
            for (d, s) in b.iter_mut().zip(c) {
                *d = *s;
            }
            u128::from_le_bytes(b)
        })
        .collect()
}

/// Checks length and header; returns the payload.
fn check<'a>(
    bytes: &'a [u8],
    params: &HeParams,
    expected_len: usize,
    count: usize,
) -> Result<&'a [u8], HeWireError> {
    if bytes.len() != expected_len {
        return Err(HeWireError::Length {
            expected: expected_len,
            got: bytes.len(),
        });
    }
    let (head, payload) = bytes
        .split_at_checked(HEADER_BYTES)
        .ok_or(HeWireError::Length {
            expected: expected_len,
            got: bytes.len(),
        })?;
    let [v, id, c0, c1, c2, c3] = head else {
        return Err(HeWireError::Length {
            expected: expected_len,
            got: bytes.len(),
        });
    };
    if *v != VERSION {
        return Err(HeWireError::Version(*v));
    }
    if *id != params.id {
        return Err(HeWireError::Params {
            expected: params.id,
            got: *id,
        });
    }
    let c = u32::from_le_bytes([*c0, *c1, *c2, *c3]);
    if usize::try_from(c).ok() != Some(count) {
        return Err(HeWireError::Count {
            expected: count,
            got: c,
        });
    }
    Ok(payload)
}

/// Encodes a query.
pub fn encode_query(params: &HeParams, layout: &Layout, q: &Query) -> Vec<u8> {
    let mut out = Vec::with_capacity(layout.query_bytes());
    header(params, layout.col_blocks, &mut out);
    out.extend_from_slice(&q.pk_seed);
    out.extend_from_slice(&q.ct_seed);
    put(&q.pk_bodies, &mut out);
    put(&q.ct_bodies, &mut out);
    out
}

/// Parses a query for this session's parameters and layout.
pub fn decode_query(
    bytes: &[u8],
    params: &HeParams,
    layout: &Layout,
) -> Result<Query, HeWireError> {
    let payload = check(bytes, params, layout.query_bytes(), layout.col_blocks)?;
    let bad = || HeWireError::Length {
        expected: layout.query_bytes(),
        got: bytes.len(),
    };
    let (pk_seed, rest) = payload.split_first_chunk::<32>().ok_or_else(bad)?;
    let (ct_seed, rest) = rest.split_first_chunk::<32>().ok_or_else(bad)?;
    let (pk, ct) = rest
        .split_at_checked(16 * params.lwe_dimension())
        .ok_or_else(bad)?;
    Ok(Query {
        pk_seed: *pk_seed,
        ct_seed: *ct_seed,
        pk_bodies: take(pk),
        ct_bodies: take(ct),
    })
}

/// Encodes a reply.
pub fn encode_reply(params: &HeParams, layout: &Layout, r: &Reply) -> Vec<u8> {
    let mut out = Vec::with_capacity(layout.reply_bytes());
    header(params, layout.row_blocks, &mut out);
    put_switched(&r.masks, &mut out);
    put_switched(&r.bodies, &mut out);
    out
}

/// Parses a reply for this session's parameters and layout.
pub fn decode_reply(
    bytes: &[u8],
    params: &HeParams,
    layout: &Layout,
) -> Result<Reply, HeWireError> {
    let payload = check(bytes, params, layout.reply_bytes(), layout.row_blocks)?;
    let (m, b) = payload
        .split_at_checked(REPLY_COEFF_BYTES * layout.row_blocks * params.lwe_dimension())
        .ok_or(HeWireError::Length {
            expected: layout.reply_bytes(),
            got: bytes.len(),
        })?;
    Ok(Reply {
        masks: take_switched(m),
        bodies: take_switched(b),
    })
}
