//! u128 GLWE over Z_2^128[x]/(x^N + 1) with exact products, Cheetah-style packing of a share
//! vector and of a plaintext matrix, masking, rerandomisation and noise flooding.
//!
//! Products use `tfhe_ntt::native128::Plan32` (ten 32-bit NTT primes, CRT back to Z_2^128):
//! exact as long as every integer coefficient of an accumulated product stays below half the
//! primes' product (≈ 2^309); here it is at most C·N·2^128·max|x| + k·N·2^128 < 2^230 for any
//! matrix this module accepts. tfhe's f64 FFT is not used: it is not exact for these products.
//!
//! Plaintext space: Z_2^64 with Δ = 2^64 (the sharing ring); decryption rounds the phase to the
//! nearest multiple of Δ, so it is exact when the total noise is below 2^63 in magnitude.

use mpc_core::prg::{Prg, Seed};
use rayon::prelude::*;
use tfhe::core_crypto::prelude::{
    DefaultRandomGenerator, GlweDimension, PolynomialSize, SecretRandomGenerator,
    allocate_and_generate_new_binary_glwe_secret_key,
};
use tfhe_ntt::native128::Plan32;
use zeroize::Zeroize;

use super::params::{DELTA_LOG2, FLOOD_LOG2, HeParams, Layout};
use super::wire::{Query, Reply};
use crate::error::{ProtocolError, Result};

/// Number of NTT primes in `Plan32`.
const PRIMES: usize = 10;

/// A polynomial in the NTT domain: `PRIMES` residue vectors of N values each.
#[derive(Clone)]
pub(crate) struct NttPoly(Vec<u32>);

impl Zeroize for NttPoly {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

/// Exact negacyclic products mod 2^128 of size N.
pub(crate) struct Ntt {
    plan: Plan32,
    n: usize,
}

fn ten<T>(v: Vec<T>) -> Result<[T; PRIMES]> {
    v.try_into()
        .map_err(|_| ProtocolError::Unreachable("ten NTT primes"))
}

impl Ntt {
    pub(crate) fn new(n: usize) -> Result<Self> {
        let plan = Plan32::try_new(n).ok_or(ProtocolError::ApiMisuse(format!(
            "no 128-bit NTT plan for N = {n}"
        )))?;
        Ok(Self { plan, n })
    }

    fn plans(&self) -> [&tfhe_ntt::prime32::Plan; PRIMES] {
        let p = &self.plan;
        [
            p.ntt_0(),
            p.ntt_1(),
            p.ntt_2(),
            p.ntt_3(),
            p.ntt_4(),
            p.ntt_5(),
            p.ntt_6(),
            p.ntt_7(),
            p.ntt_8(),
            p.ntt_9(),
        ]
    }

    pub(crate) fn zero(&self) -> NttPoly {
        NttPoly(vec![0; PRIMES * self.n])
    }

    /// Forward transform of a polynomial with arbitrary Z_2^128 coefficients.
    pub(crate) fn fwd(&self, poly: &[u128]) -> Result<NttPoly> {
        let mut out = self.zero();
        let [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9] =
            ten(out.0.chunks_exact_mut(self.n).collect())?;
        self.plan.fwd(poly, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9);
        Ok(out)
    }

    /// Forward transform of a polynomial with small signed coefficients (taken as integers,
    /// so the product is the integer product reduced mod 2^128).
    pub(crate) fn fwd_small(&self, poly: &[i64]) -> NttPoly {
        let mut out = self.zero();
        // |x| < 2^29 < every prime: one conditional add instead of a division.
        let small = poly.iter().all(|&x| x.unsigned_abs() < (1 << 29));
        for (chunk, plan) in out.0.chunks_exact_mut(self.n).zip(self.plans()) {
            let p = i64::from(plan.modulus());
            if small {
                for (o, &x) in chunk.iter_mut().zip(poly) {
                    *o = (x + ((x >> 63) & p)) as u32;
                }
            } else {
                for (o, &x) in chunk.iter_mut().zip(poly) {
                    *o = x.rem_euclid(p) as u32;
                }
            }
            plan.fwd(chunk);
        }
        out
    }

    /// acc += a ⊙ b (unnormalised).
    pub(crate) fn mul_acc(&self, acc: &mut NttPoly, a: &NttPoly, b: &NttPoly) {
        for (((acc, a), b), plan) in acc
            .0
            .chunks_exact_mut(self.n)
            .zip(a.0.chunks_exact(self.n))
            .zip(b.0.chunks_exact(self.n))
            .zip(self.plans())
        {
            plan.mul_accumulate(acc, a, b);
        }
    }

    /// Back to Z_2^128 coefficients (normalises by 1/N).
    pub(crate) fn inv(&self, mut acc: NttPoly) -> Result<Vec<u128>> {
        for (chunk, plan) in acc.0.chunks_exact_mut(self.n).zip(self.plans()) {
            plan.normalize(chunk);
        }
        let mut out = vec![0u128; self.n];
        let [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9] =
            ten(acc.0.chunks_exact_mut(self.n).collect())?;
        self.plan
            .inv(&mut out, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9);
        Ok(out)
    }
}

/// A per-session binary GLWE secret key. Zeroized on drop; no `Debug`, no serialisation: it
/// never leaves its owner.
pub struct SecretKey {
    /// k·N binary coefficients.
    s: Vec<u128>,
    /// The k key polynomials in the NTT domain.
    s_ntt: Vec<NttPoly>,
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.s.zeroize();
        for p in &mut self.s_ntt {
            p.zeroize();
        }
    }
}

impl SecretKey {
    /// A fresh key from tfhe's binary key generator, seeded from this party's private PRG.
    pub(crate) fn generate(params: &HeParams, ntt: &Ntt, prg: &mut Prg) -> Result<Self> {
        let mut seed = [0u8; 16];
        prg.fill(&mut seed);
        let mut generator = SecretRandomGenerator::<DefaultRandomGenerator>::new(
            tfhe::core_crypto::commons::math::random::Seed(u128::from_le_bytes(seed)),
        );
        seed.zeroize();
        let key = allocate_and_generate_new_binary_glwe_secret_key::<u128, _>(
            GlweDimension(params.glwe_dimension),
            PolynomialSize(params.poly_size),
            &mut generator,
        );
        let s = key.into_container();
        let s_ntt = s
            .chunks_exact(params.poly_size)
            .map(|p| ntt.fwd(p))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { s, s_ntt })
    }

    /// Σ_i a_i·s_i for k mask polynomials given in the NTT domain.
    fn mask_times_key(&self, ntt: &Ntt, a: &[NttPoly]) -> Result<Vec<u128>> {
        let mut acc = ntt.zero();
        for (ai, si) in a.iter().zip(&self.s_ntt) {
            ntt.mul_acc(&mut acc, ai, si);
        }
        ntt.inv(acc)
    }

    /// Number of key coefficients (k·N); used by tests.
    pub fn len(&self) -> usize {
        self.s.len()
    }

    /// Always false (a key has k·N ≥ 1 coefficients).
    pub fn is_empty(&self) -> bool {
        self.s.is_empty()
    }
}

/// A sample of TUniform(b): uniform on [−2^b, 2^b] with the two ends at half weight.
fn tuniform(prg: &mut Prg, b: u32) -> i64 {
    let x = prg.next_u64() & ((1u64 << (b + 2)) - 1);
    ((x >> 1) + (x & 1)) as i64 - (1i64 << b)
}

/// A uniform Z_2^128 polynomial expanded from a public seed.
fn expand_uniform(seed: &Seed, label: &[u8], index: u64, n: usize) -> Vec<u128> {
    let mut prg = Prg::new(seed.derive_indexed(label, index));
    let mut bytes = vec![0u8; 16 * n];
    prg.fill(&mut bytes);
    bytes
        .chunks_exact(16)
        .map(|c| {
            let mut b = [0u8; 16];
            b.copy_from_slice(c);
            u128::from_le_bytes(b)
        })
        .collect()
}

const PK_LABEL: &[u8] = b"igs-he/pk-mask/v1";
const CT_LABEL: &[u8] = b"igs-he/ct-mask/v1";

/// The mask polynomials of ciphertext/public-key row `index`, in the NTT domain.
fn masks_ntt(
    ntt: &Ntt,
    params: &HeParams,
    seed: &Seed,
    label: &[u8],
    index: usize,
) -> Result<Vec<NttPoly>> {
    (0..params.glwe_dimension)
        .map(|i| {
            let a = expand_uniform(
                seed,
                label,
                (index * params.glwe_dimension + i) as u64,
                params.poly_size,
            );
            ntt.fwd(&a)
        })
        .collect()
}

/// Body = Σ a_i·s_i + Δ·msg + e.
fn encrypt_body(
    params: &HeParams,
    ntt: &Ntt,
    key: &SecretKey,
    a: &[NttPoly],
    msg: &[u64],
    prg: &mut Prg,
) -> Result<Vec<u128>> {
    let mut body = key.mask_times_key(ntt, a)?;
    for (j, b) in body.iter_mut().enumerate() {
        let m = msg.get(j).copied().unwrap_or(0);
        let e = tuniform(prg, params.noise_log2);
        *b = b
            .wrapping_add(u128::from(m) << DELTA_LOG2)
            .wrapping_add(e as i128 as u128);
    }
    Ok(body)
}

/// Encrypts the key owner's share `v` (length `layout.cols`), packed m_b entries per
/// ciphertext (entry j of block c at coefficient j), plus a fresh public key.
pub(crate) fn encrypt_query(
    params: &HeParams,
    ntt: &Ntt,
    key: &SecretKey,
    layout: &Layout,
    v: &[u64],
    prg: &mut Prg,
) -> Result<Query> {
    let pk_seed = prg.next_seed();
    let ct_seed = prg.next_seed();
    let mut pk_bodies = Vec::with_capacity(params.lwe_dimension());
    for j in 0..params.glwe_dimension {
        let a = masks_ntt(ntt, params, &pk_seed, PK_LABEL, j)?;
        pk_bodies.extend(encrypt_body(params, ntt, key, &a, &[], prg)?);
    }
    let noise_seeds: Vec<Seed> = (0..layout.col_blocks).map(|_| prg.next_seed()).collect();
    let blocks: Vec<Vec<u128>> = noise_seeds
        .par_iter()
        .enumerate()
        .map(|(c, s)| {
            let mut nprg = Prg::new(s.clone());
            let a = masks_ntt(ntt, params, &ct_seed, CT_LABEL, c)?;
            let start = c * layout.cols_per_block;
            let end = (start + layout.cols_per_block).min(v.len());
            let msg = v.get(start..end).unwrap_or(&[]);
            encrypt_body(params, ntt, key, &a, msg, &mut nprg)
        })
        .collect::<Result<_>>()?;
    Ok(Query {
        pk_seed: *pk_seed.expose_bytes_for_sending(),
        ct_seed: *ct_seed.expose_bytes_for_sending(),
        pk_bodies,
        ct_bodies: blocks.concat(),
    })
}

/// The owner's view of one key owner's query, transformed once.
pub(crate) struct PreparedQuery {
    /// Per input ciphertext: k masks then the body, NTT domain.
    cts: Vec<Vec<NttPoly>>,
    /// Per public-key row: k masks then the body, NTT domain.
    pk: Vec<Vec<NttPoly>>,
}

pub(crate) fn prepare_query(
    params: &HeParams,
    ntt: &Ntt,
    layout: &Layout,
    q: &Query,
) -> Result<PreparedQuery> {
    let n = params.poly_size;
    let pk_seed = Seed::from_bytes(q.pk_seed);
    let ct_seed = Seed::from_bytes(q.ct_seed);
    let pk = (0..params.glwe_dimension)
        .map(|j| {
            let mut polys = masks_ntt(ntt, params, &pk_seed, PK_LABEL, j)?;
            let body = q
                .pk_bodies
                .get(j * n..(j + 1) * n)
                .ok_or(ProtocolError::Unreachable(
                    "pk body length checked on decode",
                ))?;
            polys.push(ntt.fwd(body)?);
            Ok(polys)
        })
        .collect::<Result<Vec<_>>>()?;
    let cts = (0..layout.col_blocks)
        .into_par_iter()
        .map(|c| {
            let mut polys = masks_ntt(ntt, params, &ct_seed, CT_LABEL, c)?;
            let body = q
                .ct_bodies
                .get(c * n..(c + 1) * n)
                .ok_or(ProtocolError::Unreachable(
                    "ct body length checked on decode",
                ))?;
            polys.push(ntt.fwd(body)?);
            Ok(polys)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(PreparedQuery { cts, pk })
}

/// Plaintext polynomial of row block `b`, column block `c`: entry (t, j) at coefficient
/// t·m_b + m_b − 1 − j, so that coefficient t·m_b + m_b − 1 of its product with the packed
/// vector block is row t's inner product (Cheetah's coefficient encoding). Returns the
/// polynomial, or None if the block is all zero.
fn plain_poly(layout: &Layout, x: &[i64], b: usize, c: usize) -> Option<Vec<i64>> {
    let mb = layout.cols_per_block;
    let mut p = vec![0i64; layout.poly_size];
    let mut any = false;
    let c0 = c * mb;
    let c1 = (c0 + mb).min(layout.cols);
    for t in 0..layout.rows_in_block(b) {
        let row = b * layout.rows_per_poly + t;
        let xr = x.get(row * layout.cols + c0..row * layout.cols + c1)?;
        for (j, &xv) in xr.iter().enumerate() {
            if xv != 0 {
                any = true;
                if let Some(slot) = p.get_mut(t * mb + mb - 1 - j) {
                    *slot = xv;
                }
            }
        }
    }
    any.then_some(p)
}

/// Absolute sum of the entries of row block `b`.
pub(crate) fn block_l1(layout: &Layout, x: &[i64], b: usize) -> u128 {
    let start = b * layout.rows_per_poly * layout.cols;
    let end = start + layout.rows_in_block(b) * layout.cols;
    x.get(start..end)
        .unwrap_or(&[])
        .iter()
        .map(|v| u128::from(v.unsigned_abs()))
        .sum()
}

/// One row block's result for one key owner: the reply ciphertext part and the masks ρ
/// (the owner keeps −ρ).
struct BlockOut {
    masks: Vec<u128>,
    bodies: Vec<u128>,
    rho: Vec<u64>,
}

/// The owner's step: for every key owner, Σ_c ct_c·P_{b,c} per row block, plus a fresh
/// encryption of zero under the key owner's public key (rerandomises the masks), plus Δ·ρ
/// with ρ uniform in Z_2^64, plus flooding noise uniform in [−2^62, 2^62) on every returned
/// coefficient. `x` holds the matrix as signed integers; every row block must satisfy
/// [`HeParams::fits`] (checked by the caller). Returns per key owner the reply and ρ.
pub(crate) fn evaluate(
    params: &HeParams,
    ntt: &Ntt,
    layout: &Layout,
    x: &[i64],
    queries: &[PreparedQuery],
    prg: &mut Prg,
) -> Result<Vec<(Reply, Vec<u64>)>> {
    let k = params.glwe_dimension;
    let n = params.poly_size;
    let seeds: Vec<Vec<Seed>> = (0..layout.row_blocks)
        .map(|_| queries.iter().map(|_| prg.next_seed()).collect())
        .collect();
    let per_block: Vec<Vec<BlockOut>> = seeds
        .par_iter()
        .enumerate()
        .map(|(b, seeds_b)| {
            let mut accs: Vec<Vec<NttPoly>> = queries
                .iter()
                .map(|_| (0..=k).map(|_| ntt.zero()).collect())
                .collect();
            for c in 0..layout.col_blocks {
                let Some(p) = plain_poly(layout, x, b, c) else {
                    continue;
                };
                let p = ntt.fwd_small(&p);
                for (acc, q) in accs.iter_mut().zip(queries) {
                    let ct = q
                        .cts
                        .get(c)
                        .ok_or(ProtocolError::Unreachable("column block"))?;
                    for (a, cti) in acc.iter_mut().zip(ct) {
                        ntt.mul_acc(a, cti, &p);
                    }
                }
            }
            accs.into_iter()
                .zip(queries)
                .zip(seeds_b)
                .map(|((mut acc, q), seed)| {
                    let mut rng = Prg::new(seed.clone());
                    // Encryption of zero under the public key: Σ_j u_j·pk_j with binary u_j.
                    for pk_row in &q.pk {
                        // 64 bits of u per PRG word.
                        let mut u = vec![0i64; n];
                        for chunk in u.chunks_mut(64) {
                            let bits = rng.next_u64();
                            for (i, x) in chunk.iter_mut().enumerate() {
                                *x = ((bits >> i) & 1) as i64;
                            }
                        }
                        let u = ntt.fwd_small(&u);
                        for (a, pki) in acc.iter_mut().zip(pk_row) {
                            ntt.mul_acc(a, pki, &u);
                        }
                    }
                    let mut polys = acc
                        .into_iter()
                        .map(|a| ntt.inv(a))
                        .collect::<Result<Vec<_>>>()?;
                    let body = polys.pop().ok_or(ProtocolError::Unreachable("k+1 polys"))?;
                    let mut masks = polys.concat();
                    for a in &mut masks {
                        *a = a.wrapping_add(tuniform(&mut rng, params.noise_log2) as i128 as u128);
                    }
                    let rows = layout.rows_in_block(b);
                    let mut rho = Vec::with_capacity(rows);
                    let mut bodies = Vec::with_capacity(rows);
                    for t in 0..rows {
                        let r = rng.next_u64();
                        let e2 = tuniform(&mut rng, params.noise_log2) as i128;
                        let flood = (rng.next_u64() >> 1) as i128 - (1i128 << FLOOD_LOG2);
                        let v = body
                            .get(layout.useful_index(t))
                            .ok_or(ProtocolError::Unreachable("useful index < N"))?;
                        bodies.push(
                            v.wrapping_add(u128::from(r) << DELTA_LOG2)
                                .wrapping_add((e2 + flood) as u128),
                        );
                        rho.push(r);
                    }
                    Ok(BlockOut { masks, bodies, rho })
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    let mut out: Vec<(Reply, Vec<u64>)> = queries
        .iter()
        .map(|_| {
            (
                Reply {
                    masks: Vec::with_capacity(layout.row_blocks * k * n),
                    bodies: Vec::with_capacity(layout.rows),
                },
                Vec::with_capacity(layout.rows),
            )
        })
        .collect();
    for block in per_block {
        for ((reply, rho), bo) in out.iter_mut().zip(block) {
            reply.masks.extend(bo.masks);
            reply.bodies.extend(bo.bodies);
            rho.extend(bo.rho);
        }
    }
    Ok(out)
}

/// The key owner's step: decrypts every useful coefficient, giving X·v + ρ in Z_2^64.
pub(crate) fn decrypt_reply(
    params: &HeParams,
    ntt: &Ntt,
    key: &SecretKey,
    layout: &Layout,
    reply: &Reply,
) -> Result<Vec<u64>> {
    let k = params.glwe_dimension;
    let n = params.poly_size;
    let blocks: Vec<Vec<u64>> = (0..layout.row_blocks)
        .into_par_iter()
        .map(|b| {
            let masks = reply
                .masks
                .get(b * k * n..(b + 1) * k * n)
                .ok_or(ProtocolError::Unreachable("mask length checked on decode"))?;
            let a = masks
                .chunks_exact(n)
                .map(|p| ntt.fwd(p))
                .collect::<Result<Vec<_>>>()?;
            let as_ = key.mask_times_key(ntt, &a)?;
            let start = b * layout.rows_per_poly;
            (0..layout.rows_in_block(b))
                .map(|t| {
                    let body = reply
                        .bodies
                        .get(start + t)
                        .ok_or(ProtocolError::Unreachable("body length checked"))?;
                    let m = as_
                        .get(layout.useful_index(t))
                        .ok_or(ProtocolError::Unreachable("useful index < N"))?;
                    let phase = body.wrapping_sub(*m);
                    Ok((phase.wrapping_add(1u128 << (DELTA_LOG2 - 1)) >> DELTA_LOG2) as u64)
                })
                .collect()
        })
        .collect::<Result<_>>()?;
    Ok(blocks.concat())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]
    use super::*;

    #[test]
    fn ntt_products_are_exact() {
        let n = 64;
        let ntt = Ntt::new(n).unwrap();
        let mut prg = Prg::insecure_from_u64(5);
        let a: Vec<u128> = (0..n)
            .map(|_| (u128::from(prg.next_u64()) << 64) | u128::from(prg.next_u64()))
            .collect();
        let x: Vec<i64> = (0..n)
            .map(|_| (prg.next_u64() % 200_001) as i64 - 100_000)
            .collect();
        let mut acc = ntt.zero();
        ntt.mul_acc(&mut acc, &ntt.fwd(&a).unwrap(), &ntt.fwd_small(&x));
        let got = ntt.inv(acc).unwrap();
        let mut want = vec![0u128; n];
        for i in 0..n {
            for j in 0..n {
                let p = a[i].wrapping_mul(x[j] as i128 as u128);
                if i + j < n {
                    want[i + j] = want[i + j].wrapping_add(p);
                } else {
                    want[i + j - n] = want[i + j - n].wrapping_sub(p);
                }
            }
        }
        assert_eq!(got, want);
    }

    #[test]
    fn tuniform_stays_in_range() {
        let mut prg = Prg::insecure_from_u64(1);
        let mut seen_ends = (false, false);
        for _ in 0..10_000 {
            let e = tuniform(&mut prg, 4);
            assert!((-16..=16).contains(&e));
            seen_ends.0 |= e == -16;
            seen_ends.1 |= e == 16;
        }
        assert!(seen_ends.0 && seen_ends.1);
    }
}
