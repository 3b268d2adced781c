//! u128 GLWE over Z_2^128[x]/(x^N + 1) with exact products, Cheetah-style packing of a share
//! vector and of a plaintext matrix, masking, rerandomisation and noise flooding.
//!
//! Products use tfhe-ntt's 32-bit prime NTTs (`prime32::Plan`) over just enough of the ten
//! primes of `native128::Plan32` for the product at hand, with a centred Garner CRT back to
//! Z_2^128: exact as long as every integer coefficient of an accumulated product stays below
//! half the primes' product; inputs are taken centred (|a| ≤ 2^127), so the owner needs
//! 2^127·(Σ|x| of a row block + k·N) (five primes for W1's dosage blocks), the key owner
//! 2^127·k·N (five). tfhe's f64 FFT is not used: it is not exact for these products.
//!
//! Plaintext space: Z_2^64 with Δ = 2^64 (the sharing ring); decryption rounds the phase to the
//! nearest multiple of Δ, so it is exact when the total noise is below 2^63 in magnitude.

use mpc_core::prg::{Prg, Seed};
use rayon::prelude::*;
use tfhe::core_crypto::prelude::{
    DefaultRandomGenerator, GlweDimension, PolynomialSize, SecretRandomGenerator,
    allocate_and_generate_new_binary_glwe_secret_key,
};
use zeroize::Zeroize;

use super::params::{DELTA_LOG2, FLOOD_LOG2, HeParams, Layout, REPLY_DROP_BITS};
use super::wire::{Query, Reply};
use crate::error::{ProtocolError, Result};

/// tfhe-ntt's 32-bit NTT primes (`native128::Plan32` uses all ten; each is < 2^30, ≡ 1 mod
/// 2^16, so negacyclic NTTs of any N ≤ 2^15 exist and tfhe-ntt's fast < 2^30 code applies).
const PRIME_LIST: [u32; MAX_PRIMES] = [
    0x3F5A_0001,
    0x3F5D_0001,
    0x3F76_0001,
    0x3F82_0001,
    0x3FAC_0001,
    0x3FAF_0001,
    0x3FB1_0001,
    0x3FBB_0001,
    0x3FDE_0001,
    0x3FFC_0001,
];

/// Most primes an [`Ntt`] uses (product ≈ 2^299.6).
pub(crate) const MAX_PRIMES: usize = 10;

/// Fewest primes whose product P satisfies P > 2·2^`log2_bound` + 1: products whose integer
/// coefficients stay within ±2^`log2_bound` (inputs taken centred, |a| ≤ 2^127) are then
/// recovered exactly by the centred CRT. Returns None if ten primes are not enough.
pub(crate) fn primes_for(log2_bound: f64) -> Option<usize> {
    let mut bits = 0.0;
    for (i, &p) in PRIME_LIST.iter().enumerate() {
        bits += f64::from(p).log2();
        // One bit for the sign, a small margin for the f64 estimate.
        if bits > log2_bound + 1.01 {
            return Some(i + 1);
        }
    }
    None
}

/// x mod p for x < 2^64 and p < 2^30 (Barrett with m = ⌊(2^64 − 1)/p⌋: the quotient estimate
/// is low by at most one).
#[derive(Clone, Copy)]
struct Modulus {
    p: u64,
    m: u64,
}

impl Modulus {
    fn new(p: u32) -> Self {
        let p = u64::from(p);
        Self { p, m: u64::MAX / p }
    }

    #[inline(always)]
    fn reduce(self, x: u64) -> u64 {
        let q = ((u128::from(x) * u128::from(self.m)) >> 64) as u64;
        let r = x - q * self.p;
        if r >= self.p { r - self.p } else { r }
    }

    #[inline(always)]
    fn mul(self, a: u64, b: u64) -> u64 {
        self.reduce(a * b)
    }
}

/// A polynomial in the NTT domain: one residue vector of N values per prime.
#[derive(Clone)]
pub(crate) struct NttPoly(Vec<u32>);

impl Zeroize for NttPoly {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

/// Exact negacyclic products mod 2^128 of size N over the first `primes` of [`PRIME_LIST`]
/// (centred CRT, Garner), as many as the caller's bound on the product's coefficients needs
/// ([`primes_for`]): five for the key owner (2^127·k·N) and for W1's dosage blocks, against
/// the ten of `native128::Plan32`.
pub(crate) struct Ntt {
    plans: Vec<tfhe_ntt::prime32::Plan>,
    mods: Vec<Modulus>,
    /// 2^(32·j) mod p_i, j = 1..3.
    limb: Vec<[u64; 3]>,
    /// garner[i][j] = p_j^(−1) mod p_i (j < i).
    garner: Vec<Vec<u64>>,
    /// Π_{j<i} p_j mod 2^128.
    radix: Vec<u128>,
    /// Π p_j mod 2^128.
    product: u128,
    n: usize,
}

impl Ntt {
    /// An NTT of size `n` over `primes` primes (1..=10).
    pub(crate) fn new(n: usize, primes: usize) -> Result<Self> {
        let list =
            PRIME_LIST
                .get(..primes)
                .filter(|l| !l.is_empty())
                .ok_or(ProtocolError::ApiMisuse(format!(
                    "{primes} NTT primes (1..={MAX_PRIMES})"
                )))?;
        let plans = list
            .iter()
            .map(|&p| tfhe_ntt::prime32::Plan::try_new(n, p))
            .collect::<Option<Vec<_>>>()
            .ok_or(ProtocolError::ApiMisuse(format!(
                "no 32-bit NTT plan for N = {n}"
            )))?;
        let mods: Vec<Modulus> = list.iter().map(|&p| Modulus::new(p)).collect();
        let limb = mods
            .iter()
            .map(|m| {
                let l1 = m.reduce(1u64 << 32);
                let l2 = m.mul(l1, l1);
                [l1, l2, m.mul(l2, l1)]
            })
            .collect();
        let garner = mods
            .iter()
            .map(|mi| {
                list.iter()
                    .take_while(|&&pj| u64::from(pj) != mi.p)
                    .map(|&pj| pow_mod(*mi, mi.reduce(u64::from(pj)), mi.p - 2))
                    .collect()
            })
            .collect();
        let mut radix = Vec::with_capacity(primes);
        let mut acc = 1u128;
        for &p in list {
            radix.push(acc);
            acc = acc.wrapping_mul(u128::from(p));
        }
        Ok(Self {
            plans,
            mods,
            limb,
            garner,
            radix,
            product: acc,
            n,
        })
    }

    /// An NTT for products whose coefficients stay within ±2^`log2_bound`.
    pub(crate) fn for_bound(n: usize, log2_bound: f64) -> Result<Self> {
        let primes = primes_for(log2_bound).ok_or(ProtocolError::ApiMisuse(format!(
            "products up to 2^{log2_bound:.1} exceed the NTT primes"
        )))?;
        Self::new(n, primes)
    }

    pub(crate) fn zero(&self) -> NttPoly {
        NttPoly(vec![0; self.plans.len() * self.n])
    }

    /// Forward transform of a polynomial with arbitrary Z_2^128 coefficients, taken centred
    /// (|a| ≤ 2^127).
    pub(crate) fn fwd(&self, poly: &[u128]) -> Result<NttPoly> {
        let mut out = self.zero();
        let n = self.n;
        for (j, &a) in poly.iter().enumerate().take(n) {
            let neg = (a >> 127) == 1;
            let mag = if neg { a.wrapping_neg() } else { a };
            let l = [
                mag as u32 as u64,
                (mag >> 32) as u32 as u64,
                (mag >> 64) as u32 as u64,
                (mag >> 96) as u32 as u64,
            ];
            for (i, (m, c)) in self.mods.iter().zip(&self.limb).enumerate() {
                let [l0, l1, l2, l3] = l;
                // Each product < 2^62, the sum < 2^64.
                let r = m.reduce(l0 + l1 * c[0] + l2 * c[1] + l3 * c[2]);
                let r = if neg && r != 0 { m.p - r } else { r };
                if let Some(slot) = out.0.get_mut(i * n + j) {
                    *slot = r as u32;
                }
            }
        }
        for (chunk, (plan, m)) in out
            .0
            .chunks_exact_mut(n)
            .zip(self.plans.iter().zip(&self.mods))
        {
            plan.fwd(chunk);
            reduce_all(chunk, m.p as u32);
        }
        Ok(out)
    }

    /// Forward transform of a polynomial with small signed coefficients (taken as integers,
    /// so the product is the integer product reduced mod 2^128).
    pub(crate) fn fwd_small(&self, poly: &[i64]) -> NttPoly {
        let mut out = self.zero();
        let small = poly.iter().all(|&x| x.unsigned_abs() < (1 << 29));
        for (chunk, (plan, m)) in out
            .0
            .chunks_exact_mut(self.n)
            .zip(self.plans.iter().zip(&self.mods))
        {
            let p = m.p as i64;
            if small {
                // |x| < 2^29 < p: one conditional add.
                for (o, &x) in chunk.iter_mut().zip(poly) {
                    *o = (x + ((x >> 63) & p)) as u32;
                }
            } else {
                for (o, &x) in chunk.iter_mut().zip(poly) {
                    *o = x.rem_euclid(p) as u32;
                }
            }
            plan.fwd(chunk);
            reduce_all(chunk, m.p as u32);
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
            .zip(&self.plans)
        {
            plan.mul_accumulate(acc, a, b);
        }
    }

    /// Back to residues of the coefficients (normalises by 1/N); read them with [`Self::crt`].
    pub(crate) fn inv_residues(&self, mut acc: NttPoly) -> NttPoly {
        for (chunk, plan) in acc.0.chunks_exact_mut(self.n).zip(&self.plans) {
            plan.normalize(chunk);
            plan.inv(chunk);
        }
        acc
    }

    /// Coefficient `j` mod 2^128 of a polynomial given by its residues (centred CRT: the
    /// integer in (−P/2, P/2) with these residues, reduced mod 2^128).
    pub(crate) fn crt(&self, res: &NttPoly, j: usize) -> u128 {
        let n = self.n;
        let mut v = [0u64; MAX_PRIMES];
        for (i, (m, g)) in self.mods.iter().zip(&self.garner).enumerate() {
            // tfhe-ntt's transforms may leave residues in [0, 2p) or [0, 4p): reduce first.
            let mut t = m.reduce(u64::from(res.0.get(i * n + j).copied().unwrap_or(0)));
            for (vj, gij) in v.iter().zip(g) {
                // (t − v_j)·p_j^(−1) mod p_i; v_j < p_j < 2^30 so v_j mod p_i needs one step.
                let vj = m.reduce(*vj);
                t = m.mul(t + m.p - vj, *gij);
            }
            if let Some(slot) = v.get_mut(i) {
                *slot = t;
            }
        }
        let mut out = 0u128;
        for (vi, ri) in v.iter().zip(&self.radix) {
            out = out.wrapping_add(u128::from(*vi).wrapping_mul(*ri));
        }
        // Mixed-radix digits of (P − 1)/2 are (p_i − 1)/2: compare from the top digit.
        let mut negative = false;
        for (vi, m) in v.iter().zip(&self.mods).rev() {
            let h = (m.p - 1) / 2;
            if *vi != h {
                negative = *vi > h;
                break;
            }
        }
        if negative {
            out.wrapping_sub(self.product)
        } else {
            out
        }
    }

    /// Back to Z_2^128 coefficients.
    pub(crate) fn inv(&self, acc: NttPoly) -> Vec<u128> {
        let r = self.inv_residues(acc);
        (0..self.n).map(|j| self.crt(&r, j)).collect()
    }
}

/// Brings values of a lazily reduced transform (in [0, 4p)) into [0, p).
fn reduce_all(chunk: &mut [u32], p: u32) {
    for v in chunk {
        let mut x = *v;
        if x >= 2 * p {
            x -= 2 * p;
        }
        if x >= p {
            x -= p;
        }
        *v = x;
    }
}

fn pow_mod(m: Modulus, mut b: u64, mut e: u64) -> u64 {
    let mut r = 1u64;
    while e > 0 {
        if e & 1 == 1 {
            r = m.mul(r, b);
        }
        b = m.mul(b, b);
        e >>= 1;
    }
    r
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
        let r = self.mask_times_key_residues(ntt, a);
        Ok((0..ntt.n).map(|j| ntt.crt(&r, j)).collect())
    }

    /// The same as residues (read single coefficients with [`Ntt::crt`]).
    fn mask_times_key_residues(&self, ntt: &Ntt, a: &[NttPoly]) -> NttPoly {
        let mut acc = ntt.zero();
        for (ai, si) in a.iter().zip(&self.s_ntt) {
            ntt.mul_acc(&mut acc, ai, si);
        }
        ntt.inv_residues(acc)
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

/// Modulus switching of a reply coefficient from 2^128 to 2^(128 − REPLY_DROP_BITS): rounds
/// to the nearest multiple of 2^REPLY_DROP_BITS and returns the quotient. A deterministic
/// function of the flooded ciphertext (post-processing: privacy unchanged); the rounding adds
/// at most 2^(REPLY_DROP_BITS − 1) per coefficient, i.e. ≤ (k·N + 1)·2^(REPLY_DROP_BITS − 1) to
/// the phase with a binary key ([`HeParams::switch_noise_bound`]).
fn switch(c: u128) -> u128 {
    c.wrapping_add(1u128 << (REPLY_DROP_BITS - 1)) >> REPLY_DROP_BITS
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
    evaluate_flooded(params, ntt, layout, x, queries, prg, true)
}

/// [`evaluate`], with the flooding noise switched off when `flood_on` is false: only the
/// statistical test of the flooding does that (to show it detects the matrix-dependent
/// noise); the protocol always floods.
fn evaluate_flooded(
    params: &HeParams,
    ntt: &Ntt,
    layout: &Layout,
    x: &[i64],
    queries: &[PreparedQuery],
    prg: &mut Prg,
    flood_on: bool,
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
                    // Encryption of zero under the public key: Σ_j u_j·pk_j with binary u_j
                    // (64 bits of u per PRG word).
                    for pk_row in &q.pk {
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
                    let body = acc.pop().ok_or(ProtocolError::Unreachable("k+1 polys"))?;
                    let mut masks = Vec::with_capacity(k * n);
                    for a in acc {
                        masks.extend(ntt.inv(a));
                    }
                    // e1, then modulus switching: keep the top 128 − REPLY_DROP_BITS bits.
                    for a in &mut masks {
                        *a = switch(
                            a.wrapping_add(tuniform(&mut rng, params.noise_log2) as i128 as u128),
                        );
                    }
                    let body = ntt.inv_residues(body);
                    let rows = layout.rows_in_block(b);
                    let mut rho = Vec::with_capacity(rows);
                    let mut bodies = Vec::with_capacity(rows);
                    for t in 0..rows {
                        let r = rng.next_u64();
                        let e2 = tuniform(&mut rng, params.noise_log2) as i128;
                        let flood = if flood_on {
                            (rng.next_u64() >> 1) as i128 - (1i128 << FLOOD_LOG2)
                        } else {
                            0
                        };
                        let v = ntt.crt(&body, layout.useful_index(t));
                        bodies.push(switch(
                            v.wrapping_add(u128::from(r) << DELTA_LOG2)
                                .wrapping_add((e2 + flood) as u128),
                        ));
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
                .map(|p| ntt.fwd(&p.iter().map(|c| c << REPLY_DROP_BITS).collect::<Vec<_>>()))
                .collect::<Result<Vec<_>>>()?;
            let as_ = key.mask_times_key_residues(ntt, &a);
            let start = b * layout.rows_per_poly;
            (0..layout.rows_in_block(b))
                .map(|t| {
                    let body = reply
                        .bodies
                        .get(start + t)
                        .ok_or(ProtocolError::Unreachable("body length checked"))?
                        << REPLY_DROP_BITS;
                    let m = ntt.crt(&as_, layout.useful_index(t));
                    let phase = body.wrapping_sub(m);
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

    fn naive(a: &[u128], x: &[i64]) -> Vec<u128> {
        let n = a.len();
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
        want
    }

    #[test]
    fn ntt_products_are_exact() {
        for n in [64, 2048] {
            products_are_exact(n);
        }
        // W1's dosage blocks need five primes; the key owner's k·N = 6144 too.
        assert_eq!(
            primes_for(127.0 + (32.0f64 * 10_000.0 * 2.0 + 6144.0).log2()),
            Some(5)
        );
        assert_eq!(primes_for(127.0 + 6144f64.log2()), Some(5));
    }

    fn products_are_exact(n: usize) {
        let mut prg = Prg::insecure_from_u64(5);
        for (max_x, extremes) in [(100_000u64, false), (1 << 40, false), (2, true)] {
            let mut a: Vec<u128> = (0..n)
                .map(|_| (u128::from(prg.next_u64()) << 64) | u128::from(prg.next_u64()))
                .collect();
            if extremes {
                // Centred extremes: −2^127, 2^127 − 1, ±1, 0.
                a[0] = 1 << 127;
                a[1] = (1 << 127) - 1;
                a[2] = 1;
                a[3] = u128::MAX;
                a[4] = 0;
            }
            let x: Vec<i64> = (0..n)
                .map(|_| (prg.next_u64() % (2 * max_x + 1)) as i64 - max_x as i64)
                .collect();
            let want = naive(&a, &x);
            let l1: u128 = x.iter().map(|v| u128::from(v.unsigned_abs())).sum();
            let need = primes_for(127.0 + (l1 as f64).log2()).unwrap();
            for primes in need..=MAX_PRIMES {
                let ntt = Ntt::new(n, primes).unwrap();
                let mut acc = ntt.zero();
                ntt.mul_acc(&mut acc, &ntt.fwd(&a).unwrap(), &ntt.fwd_small(&x));
                assert_eq!(ntt.inv(acc), want, "{primes} primes, |x| ≤ {max_x}");
                let xw: Vec<u128> = x.iter().map(|&v| v as i128 as u128).collect();
                let mut acc = ntt.zero();
                ntt.mul_acc(&mut acc, &ntt.fwd(&a).unwrap(), &ntt.fwd(&xw).unwrap());
                assert_eq!(ntt.inv(acc), want, "fwd×fwd {primes} primes, |x| ≤ {max_x}");
                // Three accumulated products.
                let mut acc = ntt.zero();
                for _ in 0..3 {
                    ntt.mul_acc(&mut acc, &ntt.fwd(&a).unwrap(), &ntt.fwd_small(&x));
                }
                let want3: Vec<u128> = want.iter().map(|w| w.wrapping_mul(3)).collect();
                if primes > need {
                    assert_eq!(ntt.inv(acc), want3, "3 products, {primes} primes");
                }
            }
            // Two primes fewer than needed is not exact (the bound is not slack by 60 bits).
            if need > 2 {
                let ntt = Ntt::new(n, need - 2).unwrap();
                let mut acc = ntt.zero();
                ntt.mul_acc(&mut acc, &ntt.fwd(&a).unwrap(), &ntt.fwd_small(&x));
                assert_ne!(ntt.inv(acc), want);
            }
        }
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

    /// Two-sample Kolmogorov–Smirnov statistic.
    fn ks(mut a: Vec<i128>, mut b: Vec<i128>) -> f64 {
        a.sort_unstable();
        b.sort_unstable();
        let (mut i, mut j, mut d) = (0usize, 0usize, 0f64);
        while i < a.len() && j < b.len() {
            let x = a[i].min(b[j]);
            while i < a.len() && a[i] <= x {
                i += 1;
            }
            while j < b.len() && b[j] <= x {
                j += 1;
            }
            d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
        }
        d
    }

    /// Issue 8's statistical test of the flooding: the key owner's view of a returned
    /// ciphertext (its decryption noise, which it can compute since it knows the result and
    /// its own encryption noise) must not depend on X beyond X·v. X0 = (M, −M) and
    /// X1 = (−M, M) with v = (1, 1) have the same product 0 but X-dependent noise
    /// ±M·(e_a − e_b) (e: the key owner's encryption noise at the two columns, chosen to
    /// differ). M = 2^52 (Σ|x| = 2^53, inside the noise budget; 6 bits of flooding privacy per
    /// `flood_privacy_bits`, the weakest case the owner accepts at this size, so the test is
    /// not made easy). Over 2,000 runs per matrix (fresh owner randomness, one fixed query),
    /// the KS statistic between the two noise samples must stay below the α = 0.001 critical
    /// value 1.95·√(2/2000) = 0.062 with flooding (expected distance ≤ 4·2^53 / 2^63 = 2^−8),
    /// and exceed it with flooding switched off.
    #[test]
    fn flooded_noise_does_not_depend_on_the_matrix() {
        use crate::he::params::DEFAULT_PARAMS;
        let params = DEFAULT_PARAMS;
        let layout = Layout::choose(&params, 1, 2).unwrap();
        let log2_kn = (params.lwe_dimension() as f64).log2();
        let kntt = Ntt::for_bound(params.poly_size, 127.0 + log2_kn).unwrap();
        let mut prg = Prg::insecure_from_u64(77);
        let key = SecretKey::generate(&params, &kntt, &mut prg).unwrap();
        let v = [1u64, 1];
        // A query whose encryption noise differs at the two columns (by at most 4 so that
        // the flooded shift stays small; ≥ 1 so that it is there).
        let (q, e) = loop {
            let q = encrypt_query(&params, &kntt, &key, &layout, &v, &mut prg).unwrap();
            let pq = prepare_query(&params, &kntt, &layout, &q).unwrap();
            let ph = key
                .mask_times_key(&kntt, &pq.cts[0][..params.glwe_dimension])
                .unwrap();
            let e: Vec<i128> = (0..2)
                .map(|j| (q.ct_bodies[j].wrapping_sub(ph[j]).wrapping_sub(1u128 << 64)) as i128)
                .collect();
            if e[0] != e[1] && (e[0] - e[1]).abs() <= 4 {
                break (q, e);
            }
        };
        assert!(e.iter().all(|x| x.abs() <= 16));
        let m = 1i64 << 52;
        let x0 = [m, -m];
        let x1 = [-m, m];
        assert!(params.fits(2 * m as u128));
        let l1 = 2 * m as u128 * layout.rows_per_poly as u128;
        let ontt = Ntt::for_bound(params.poly_size, 127.0 + ((l1 + 6144) as f64).log2()).unwrap();
        let pq = prepare_query(&params, &ontt, &layout, &q).unwrap();
        let runs = 2000;
        let sample = |x: &[i64], flood: bool, seed: u64| -> Vec<i128> {
            let mut rng = Prg::insecure_from_u64(seed);
            (0..runs)
                .map(|_| {
                    let out = evaluate_flooded(
                        &params,
                        &ontt,
                        &layout,
                        x,
                        std::slice::from_ref(&pq),
                        &mut rng,
                        flood,
                    )
                    .unwrap();
                    let (reply, rho) = &out[0];
                    let a: Vec<NttPoly> = reply
                        .masks
                        .chunks_exact(params.poly_size)
                        .map(|p| {
                            kntt.fwd(&p.iter().map(|c| c << REPLY_DROP_BITS).collect::<Vec<_>>())
                                .unwrap()
                        })
                        .collect();
                    let ph = key.mask_times_key(&kntt, &a).unwrap();
                    let phase = (reply.bodies[0] << REPLY_DROP_BITS)
                        .wrapping_sub(ph[layout.useful_index(0)]);
                    // X·v = 0: the phase is Δ·ρ + noise.
                    let noise = phase.wrapping_sub(u128::from(rho[0]) << 64) as i128;
                    assert!(noise.abs() < 1 << 63, "decryption must stay exact");
                    noise
                })
                .collect()
        };
        let critical = 1.95 * (2.0 / runs as f64).sqrt();
        let flooded = ks(sample(&x0, true, 1), sample(&x1, true, 2));
        let bare = ks(sample(&x0, false, 3), sample(&x1, false, 4));
        eprintln!("KS flooded {flooded:.4}, without flooding {bare:.4}, critical {critical:.4}");
        assert!(flooded < critical, "flooded KS {flooded} ≥ {critical}");
        assert!(bare > critical, "without flooding KS {bare} ≤ {critical}");
    }
}
