//! Packed-bit plumbing for the comparison circuits: bit columns of public ring vectors,
//! bit-level concatenation and extraction (so that one tree level of all n elements travels
//! as ONE tightly packed message), XOR openings, batched ANDs with binary triples, and the
//! daBit conversion of an XOR-shared bit into an arithmetic share.
//!
//! Layout: a *column* is n bits, bit e of the column belongs to element e (the layout of
//! [`SharedBits`]). Several columns are concatenated at the bit level: column j occupies bits
//! `j·n..(j+1)·n`, so padding never travels on the wire.

use mpc_core::party::PartyId;
use mpc_core::ring::Ring;
use mpc_core::share::{SharedBits, SharedVec, last_word_mask, words_for_bits};

use crate::comm;
use crate::ctx::Ctx;
use crate::error::{ProtocolError, Result};
use crate::prep::{BinTriples, BinTriplesShared, DaBits, Prep};

/// Bit `i` of every element of the public vector `c`, packed (a public column).
pub(crate) fn column<R: Ring>(c: &[R], i: u32) -> Vec<u64> {
    let mut w = vec![0u64; words_for_bits(c.len())];
    for (chunk, word) in c.chunks(64).zip(w.iter_mut()) {
        let mut acc = 0u64;
        for (j, x) in chunk.iter().enumerate() {
            acc |= x.bit(i) << j;
        }
        *word = acc;
    }
    w
}

/// The complement of a public column of `n` bits (tail bits stay zero).
pub(crate) fn not_public(p: &[u64], n: usize) -> Vec<u64> {
    let mut w: Vec<u64> = p.iter().map(|x| !x).collect();
    if let Some(last) = w.last_mut() {
        *last &= last_word_mask(n);
    }
    w
}

/// Bitwise AND of two public columns.
pub(crate) fn and_pp(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| x & y).collect()
}

/// A shared column AND a public column (local).
pub(crate) fn and_sp(a: &SharedBits, p: &[u64]) -> SharedBits {
    a.and_public(p)
}

/// A shared column XOR a public column: only party 0 (`first`) XORs the public bits.
pub(crate) fn xor_sp(first: bool, a: &SharedBits, p: &[u64]) -> Result<SharedBits> {
    if !first {
        return Ok(a.clone());
    }
    let w = a.expose_words().iter().zip(p).map(|(x, y)| x ^ y).collect();
    shared(a.len(), w)
}

/// Wraps share words, mapping a length mismatch to an internal error.
pub(crate) fn shared(n: usize, w: Vec<u64>) -> Result<SharedBits> {
    SharedBits::from_share(n, w).ok_or(ProtocolError::Unreachable("bit column length"))
}

/// Concatenates bit vectors at the bit level (no padding between them).
pub(crate) fn concat_words(parts: &[(&[u64], usize)]) -> Vec<u64> {
    let total: usize = parts.iter().map(|&(_, l)| l).sum();
    let mut out = vec![0u64; words_for_bits(total)];
    let mut off = 0usize;
    for &(words, len) in parts {
        for (w, &v) in words.iter().take(words_for_bits(len)).enumerate() {
            let pos = off + 64 * w;
            let (base, shift) = (pos / 64, (pos % 64) as u32);
            if let Some(o) = out.get_mut(base) {
                *o |= v << shift;
            }
            if shift > 0
                && let Some(o) = out.get_mut(base + 1)
            {
                *o |= v >> (64 - shift);
            }
        }
        off += len;
    }
    out
}

/// Bits `start..start + len` of a packed vector, as a packed vector of `len` bits.
pub(crate) fn extract_words(words: &[u64], start: usize, len: usize) -> Vec<u64> {
    let mut out = vec![0u64; words_for_bits(len)];
    for (w, o) in out.iter_mut().enumerate() {
        let pos = start + 64 * w;
        let (base, shift) = (pos / 64, (pos % 64) as u32);
        let lo = words.get(base).copied().unwrap_or(0) >> shift;
        let hi = if shift > 0 {
            words.get(base + 1).copied().unwrap_or(0) << (64 - shift)
        } else {
            0
        };
        *o = lo | hi;
    }
    if let Some(last) = out.last_mut() {
        *last &= last_word_mask(len);
    }
    out
}

/// Concatenation of shared columns (local).
pub(crate) fn concat(parts: &[&SharedBits]) -> Result<SharedBits> {
    let spec: Vec<(&[u64], usize)> = parts.iter().map(|p| (p.expose_words(), p.len())).collect();
    let total = parts.iter().map(|p| p.len()).sum();
    shared(total, concat_words(&spec))
}

/// Bits `start..start + len` of a shared vector (local).
pub(crate) fn extract(x: &SharedBits, start: usize, len: usize) -> Result<SharedBits> {
    shared(len, extract_words(x.expose_words(), start, len))
}

/// Opens an XOR-shared bit vector to every computing party: one message per peer.
pub(crate) fn open_bits<P: Prep>(ctx: &mut Ctx<'_, P>, x: &SharedBits) -> Result<Vec<u64>> {
    let others: Vec<PartyId> = ctx.others().collect();
    for &p in &others {
        comm::send_bits(ctx.chan(), p, x.expose_words(), x.len())?;
    }
    let mut sum = x.expose_words().to_vec();
    for &p in &others {
        let s = comm::recv_bits(ctx.chan(), p, x.len())?;
        if s.len() != sum.len() {
            return Err(ProtocolError::PeerMisbehaved {
                party: p,
                reason: "bit vector of the wrong length".into(),
            });
        }
        for (a, b) in sum.iter_mut().zip(s) {
            *a ^= b;
        }
    }
    if let Some(last) = sum.last_mut() {
        *last &= last_word_mask(x.len());
    }
    Ok(sum)
}

/// Preprocessed AND material for a whole circuit, consumed level by level.
pub(crate) struct AndMaterial {
    plain: BinTriples,
    shared: BinTriplesShared,
    plain_used: usize,
    shared_used: usize,
}

/// One plain AND request: a ∧ b.
pub(crate) type PlainAnd<'a> = (&'a SharedBits, &'a SharedBits);
/// One shared-operand AND request: (a ∧ b1, a ∧ b2).
pub(crate) type SharedAnd<'a> = (&'a SharedBits, &'a SharedBits, &'a SharedBits);
/// Outputs of one level: plain ANDs, then pairs (a ∧ b1, a ∧ b2).
pub(crate) type LevelOut = (Vec<SharedBits>, Vec<(SharedBits, SharedBits)>);

impl AndMaterial {
    /// Fetches `plain_bits` plain and `shared_bits` shared-operand triples (two requests).
    pub(crate) fn fetch<P: Prep>(
        ctx: &mut Ctx<'_, P>,
        plain_bits: usize,
        shared_bits: usize,
    ) -> Result<Self> {
        let (prep, chan) = ctx.prep();
        let plain = if plain_bits > 0 {
            prep.bin_triples(chan, plain_bits)?
        } else {
            BinTriples {
                a: SharedBits::zeros(0),
                b: SharedBits::zeros(0),
                c: SharedBits::zeros(0),
            }
        };
        let shared = if shared_bits > 0 {
            prep.bin_triples_shared(chan, shared_bits)?
        } else {
            BinTriplesShared {
                a: SharedBits::zeros(0),
                b1: SharedBits::zeros(0),
                b2: SharedBits::zeros(0),
                c1: SharedBits::zeros(0),
                c2: SharedBits::zeros(0),
            }
        };
        Ok(Self {
            plain,
            shared,
            plain_used: 0,
            shared_used: 0,
        })
    }

    /// Evaluates one level of ANDs in ONE round: every plain AND costs 2 opened bits per
    /// element, every shared-operand pair 3 (the common left operand is opened once).
    ///
    /// With a triple (u, v, w = u∧v) and opened e = a⊕u, d = b⊕v:
    /// a∧b = w ⊕ (e∧v) ⊕ (d∧u) ⊕ (e∧d), the last term added by party 0 only.
    pub(crate) fn and_level<P: Prep>(
        &mut self,
        ctx: &mut Ctx<'_, P>,
        plain: &[PlainAnd<'_>],
        shared_ops: &[SharedAnd<'_>],
    ) -> Result<LevelOut> {
        let first = ctx.is_first();
        // Lay the operands out as long vectors: A|B for plain, A|B1|B2 for shared.
        let pa: Vec<&SharedBits> = plain.iter().map(|p| p.0).collect();
        let pb: Vec<&SharedBits> = plain.iter().map(|p| p.1).collect();
        let sa: Vec<&SharedBits> = shared_ops.iter().map(|s| s.0).collect();
        let sb1: Vec<&SharedBits> = shared_ops.iter().map(|s| s.1).collect();
        let sb2: Vec<&SharedBits> = shared_ops.iter().map(|s| s.2).collect();
        let (pa, pb) = (concat(&pa)?, concat(&pb)?);
        let (sa, sb1, sb2) = (concat(&sa)?, concat(&sb1)?, concat(&sb2)?);
        let (lp, ls) = (pa.len(), sa.len());
        if self.plain_used + lp > self.plain.a.len() || self.shared_used + ls > self.shared.a.len()
        {
            return Err(ProtocolError::Unreachable("AND material exhausted"));
        }
        let tu = extract(&self.plain.a, self.plain_used, lp)?;
        let tv = extract(&self.plain.b, self.plain_used, lp)?;
        let tw = extract(&self.plain.c, self.plain_used, lp)?;
        let su = extract(&self.shared.a, self.shared_used, ls)?;
        let sv1 = extract(&self.shared.b1, self.shared_used, ls)?;
        let sv2 = extract(&self.shared.b2, self.shared_used, ls)?;
        let sw1 = extract(&self.shared.c1, self.shared_used, ls)?;
        let sw2 = extract(&self.shared.c2, self.shared_used, ls)?;
        self.plain_used += lp;
        self.shared_used += ls;
        let masked = concat(&[
            &pa.xor(&tu),
            &pb.xor(&tv),
            &sa.xor(&su),
            &sb1.xor(&sv1),
            &sb2.xor(&sv2),
        ])?;
        let opened = open_bits(ctx, &masked)?;
        let e = extract_words(&opened, 0, lp);
        let d = extract_words(&opened, lp, lp);
        let es = extract_words(&opened, 2 * lp, ls);
        let d1 = extract_words(&opened, 2 * lp + ls, ls);
        let d2 = extract_words(&opened, 2 * lp + 2 * ls, ls);
        let and_out = |w: &SharedBits, u: &SharedBits, v: &SharedBits, e: &[u64], d: &[u64]| {
            let z = w.xor(&and_sp(v, e)).xor(&and_sp(u, d));
            xor_sp(first, &z, &and_pp(e, d))
        };
        let zp = and_out(&tw, &tu, &tv, &e, &d)?;
        let z1 = and_out(&sw1, &su, &sv1, &es, &d1)?;
        let z2 = and_out(&sw2, &su, &sv2, &es, &d2)?;
        let mut outp = Vec::with_capacity(plain.len());
        let mut off = 0;
        for p in plain {
            outp.push(extract(&zp, off, p.0.len())?);
            off += p.0.len();
        }
        let mut outs = Vec::with_capacity(shared_ops.len());
        let mut off = 0;
        for s in shared_ops {
            let l = s.0.len();
            outs.push((extract(&z1, off, l)?, extract(&z2, off, l)?));
            off += l;
        }
        Ok((outp, outs))
    }
}

/// Converts XOR-shared bits β into arithmetic 0/1 shares with daBits (b as XOR and
/// arithmetic shares): open e = β ⊕ b (one bit per element, one round), then
/// \[β\] = e + (1 − 2e)·\[b\], party 0 adding the public e.
pub(crate) fn bits_to_arith<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    beta: &SharedBits,
    dab: &DaBits<R>,
) -> Result<SharedVec<R>> {
    let e = open_bits(ctx, &beta.xor(&dab.bin))?;
    let first = ctx.is_first();
    let two = R::from_u64(2);
    let out = dab
        .arith
        .expose_share()
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let ei = e.get(i / 64).map_or(0, |w| (w >> (i % 64)) & 1);
            let ei = R::from_u64(ei);
            let s = (R::ONE - two * ei) * b;
            if first { s + ei } else { s }
        })
        .collect();
    Ok(SharedVec::from_share(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_extract_round_trip() {
        let a: Vec<u64> = vec![0xdead_beef_1234_5678, 0x1f];
        let b: Vec<u64> = vec![0x0123_4567_89ab_cdef, 0xfff, 0];
        let (la, lb) = (69, 140);
        let b = {
            let mut b = b;
            b[2] &= last_word_mask(lb);
            b[1] = 0xfff;
            b
        };
        let c = concat_words(&[(&a, la), (&b, lb)]);
        assert_eq!(extract_words(&c, 0, la), a);
        assert_eq!(extract_words(&c, la, lb), b);
        assert_eq!(c.len(), words_for_bits(la + lb));
    }
}
