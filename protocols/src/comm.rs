//! Chunked sending of large vectors through a [`Channel`]: frames stay under the payload limit
//! whatever the vector length, and receivers know from the protocol how much to expect.

use mpc_core::channel::Channel;
use mpc_core::party::PartyId;
use mpc_core::ring::Ring;
use mpc_core::wire::{DEFAULT_PAYLOAD_LIMIT, Msg};

use crate::error::{ProtocolError, Result};

/// Bytes per frame used by this module (leaves headroom below the default payload limit).
pub const CHUNK_BYTES: usize = DEFAULT_PAYLOAD_LIMIT / 2;

/// Largest opaque byte string [`recv_bytes`] accepts (16 GiB).
pub const MAX_LONG_BYTES: u64 = 16 << 30;

/// Sends ring elements in as many frames as needed.
pub fn send_ring<R: Ring>(chan: &mut dyn Channel, to: PartyId, xs: &[R]) -> Result<()> {
    let per = CHUNK_BYTES / R::BYTES;
    if xs.is_empty() {
        return Ok(chan.send(to, Msg::ring::<R>(&[]))?);
    }
    for c in xs.chunks(per) {
        chan.send(to, Msg::ring(c))?;
    }
    Ok(())
}

/// Receives exactly `n` ring elements sent with [`send_ring`].
pub fn recv_ring<R: Ring>(chan: &mut dyn Channel, from: PartyId, n: usize) -> Result<Vec<R>> {
    let per = CHUNK_BYTES / R::BYTES;
    if n == 0 {
        return chan
            .recv(from)?
            .into_ring::<R>(0)
            .map_err(|e| ProtocolError::wire(from, e));
    }
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let want = per.min(n - out.len());
        let part = chan
            .recv(from)?
            .into_ring::<R>(want)
            .map_err(|e| ProtocolError::wire(from, e))?;
        out.extend_from_slice(&part);
    }
    Ok(out)
}

/// Sends `nbits` packed bits in as many frames as needed.
pub fn send_bits(chan: &mut dyn Channel, to: PartyId, words: &[u64], nbits: usize) -> Result<()> {
    let per_words = CHUNK_BYTES / 8;
    if nbits == 0 {
        return Ok(chan.send(to, Msg::bits(&[], 0))?);
    }
    let mut left = nbits;
    for c in words.chunks(per_words) {
        let b = left.min(c.len() * 64);
        chan.send(to, Msg::bits(c, b))?;
        left -= b;
    }
    Ok(())
}

/// Receives exactly `nbits` bits sent with [`send_bits`].
pub fn recv_bits(chan: &mut dyn Channel, from: PartyId, nbits: usize) -> Result<Vec<u64>> {
    let per_bits = CHUNK_BYTES / 8 * 64;
    if nbits == 0 {
        return chan
            .recv(from)?
            .into_bits(0)
            .map_err(|e| ProtocolError::wire(from, e));
    }
    let mut out = Vec::with_capacity(nbits.div_ceil(64));
    let mut got = 0;
    while got < nbits {
        let want = per_bits.min(nbits - got);
        let part = chan
            .recv(from)?
            .into_bits(want)
            .map_err(|e| ProtocolError::wire(from, e))?;
        out.extend_from_slice(&part);
        got += want;
    }
    Ok(out)
}

/// Sends an opaque byte string of any length: a length frame, then chunks.
pub fn send_bytes(chan: &mut dyn Channel, to: PartyId, bytes: &[u8]) -> Result<()> {
    let len = bytes.len() as u64;
    chan.send(
        to,
        Msg::control(&len).map_err(|e| ProtocolError::ApiMisuse(e.to_string()))?,
    )?;
    for c in bytes.chunks(CHUNK_BYTES) {
        chan.send(to, Msg::bytes(c.to_vec()))?;
    }
    Ok(())
}

/// Receives a byte string sent with [`send_bytes`], refusing more than `max` bytes.
pub fn recv_bytes(chan: &mut dyn Channel, from: PartyId, max: u64) -> Result<Vec<u8>> {
    let len: u64 = chan
        .recv(from)?
        .into_control()
        .map_err(|e| ProtocolError::wire(from, e))?;
    if len > max.min(MAX_LONG_BYTES) {
        return Err(ProtocolError::PeerMisbehaved {
            party: from,
            reason: format!("announced {len} bytes, limit {max}"),
        });
    }
    let len = usize::try_from(len).map_err(|_| ProtocolError::Unreachable("len fits usize"))?;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let want = CHUNK_BYTES.min(len - out.len());
        let part = chan
            .recv(from)?
            .into_bytes(want)
            .map_err(|e| ProtocolError::wire(from, e))?;
        if part.is_empty() {
            return Err(ProtocolError::PeerMisbehaved {
                party: from,
                reason: "empty chunk".into(),
            });
        }
        out.extend_from_slice(&part);
    }
    Ok(out)
}
