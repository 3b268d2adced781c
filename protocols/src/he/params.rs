//! Named GLWE parameter sets, the noise budget and the packing layout (no tfhe code: available
//! without the `he` feature, e.g. to the fuzz crate).

use crate::error::{ProtocolError, Result};

/// log2 of Δ, the plaintext scaling: plaintexts live in the top 64 bits of Z_2^128.
pub const DELTA_LOG2: u32 = 64;

/// log2 of the flooding bound: the owner adds noise uniform in [−2^62, 2^62) to every returned
/// coefficient. With every other noise term below 2^62 (checked), the total stays below 2^63.
pub const FLOOD_LOG2: u32 = 62;

/// Modulus switching of the reply: the owner drops this many low bits of every returned
/// coefficient (rounding to nearest), so a reply coefficient travels as
/// [`REPLY_COEFF_BYTES`] = 10 bytes instead of 16. Added decryption error with a binary key:
/// ≤ (k·N + 1)·2^47 (2^59.6 for k·N = 6144), inside the 2^62 budget that [`HeParams::fits`]
/// checks; decryption stays exact.
pub const REPLY_DROP_BITS: u32 = 48;

/// Bytes of one modulus-switched reply coefficient ((128 − [`REPLY_DROP_BITS`]) / 8).
pub const REPLY_COEFF_BYTES: usize = (128 - REPLY_DROP_BITS as usize) / 8;

/// A named GLWE parameter set (modulus 2^128, binary secret key, TUniform noise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeParams {
    /// Name used in reports.
    pub name: &'static str,
    /// Wire identifier, checked on every ciphertext message.
    pub id: u8,
    /// GLWE dimension k (mask polynomials per ciphertext).
    pub glwe_dimension: usize,
    /// Polynomial size N.
    pub poly_size: usize,
    /// Encryption noise: TUniform(`noise_log2`), uniform on [−2^b, 2^b] with half weight at
    /// the two ends (tfhe's `TUniform::new(b)`).
    pub noise_log2: u32,
}

/// The default set: k = 3, N = 2048 (LWE dimension 6144), TUniform(4), q = 2^128.
///
/// Security per tfhe-rs's own lattice-estimator fit
/// (`tfhe::core_crypto::commons::noise_formulas::secure_noise::
/// minimal_lwe_bound_for_132_bits_security_tuniform`): 132-bit security needs a TUniform
/// bound of ⌈−0.025167785·n + log2 q + 4.100671⌉ bits, i.e. ≤ −22 for n = 6144 (any bound
/// does) and 2 bits at n ≈ 5200; TUniform(4) with q = 2^128 reaches 132 bits from n ≈ 5090, so
/// n = 6144 keeps a 20 % dimension margin (asserted in the tests). Small noise is what makes
/// flooding affordable: the noise that depends on the site's matrix is Σ|x|·2^4 instead of
/// Σ|x|·2^30 with tfhe's published k = 2 set ([`K2_N2048_TU30`]).
pub const K3_N2048_TU4: HeParams = HeParams {
    name: "k3-N2048-tu4-q128",
    id: 1,
    glwe_dimension: 3,
    poly_size: 2048,
    noise_log2: 4,
};

/// tfhe-rs's published noise-squashing GLWE set: k = 2, N = 2048, TUniform(30), q = 2^128
/// (≥ 128 bits per tfhe's docs). Correct here, but its large encryption noise leaves only
/// 63 − 30 − log2(Σ|x|) bits of flooding privacy per coefficient (≈ 10–20 for genotype
/// blocks): kept for comparison, not the default.
pub const K2_N2048_TU30: HeParams = HeParams {
    name: "k2-N2048-tu30-q128",
    id: 2,
    glwe_dimension: 2,
    poly_size: 2048,
    noise_log2: 30,
};

/// The parameter set the protocol uses.
pub const DEFAULT_PARAMS: HeParams = K3_N2048_TU4;

impl HeParams {
    /// The set with wire identifier `id`.
    pub fn from_id(id: u8) -> Option<Self> {
        [K3_N2048_TU4, K2_N2048_TU30]
            .into_iter()
            .find(|p| p.id == id)
    }

    /// Equivalent LWE dimension k·N.
    pub fn lwe_dimension(&self) -> usize {
        self.glwe_dimension * self.poly_size
    }

    /// Bound on the decryption noise that does not depend on the matrix: the key owner's
    /// public-key noise times the owner's binary u (k·N·2^b), the owner's e1 times the binary
    /// key (k·N·2^b) and e2 (2^b).
    pub fn fixed_noise_bound(&self) -> u128 {
        let b = 1u128 << self.noise_log2;
        2 * self.lwe_dimension() as u128 * b + b
    }

    /// Bound on the decryption error added by the reply's modulus switching: k·N rounded
    /// mask coefficients times a binary key plus the rounded body, each ≤ 2^(d − 1).
    pub fn switch_noise_bound(&self) -> u128 {
        (self.lwe_dimension() as u128 + 1) << (REPLY_DROP_BITS - 1)
    }

    /// Bound on the matrix-dependent noise of a row block whose entries have absolute sum
    /// `l1`: every output coefficient is Σ (plaintext coefficient × key-owner noise) over at
    /// most all entries of the block.
    pub fn matrix_noise_bound(&self, l1: u128) -> u128 {
        l1.saturating_mul(1u128 << self.noise_log2)
    }

    /// True if decryption is exact for a row block of absolute sum `l1` (total noise < 2^63
    /// with flooding in [−2^62, 2^62) and the modulus switching's rounding).
    pub fn fits(&self, l1: u128) -> bool {
        self.matrix_noise_bound(l1)
            .saturating_add(self.fixed_noise_bound())
            .saturating_add(self.switch_noise_bound())
            < (1u128 << FLOOD_LOG2)
    }

    /// Statistical privacy of one returned coefficient against the key owner (who knows its
    /// own encryption noise): −log2 of the statistical distance between the flooded noise with
    /// and without the matrix-dependent term, ≥ (FLOOD_LOG2 + 1) − log2(bound).
    pub fn flood_privacy_bits(&self, l1: u128) -> f64 {
        let b = self.matrix_noise_bound(l1).max(1) as f64;
        f64::from(FLOOD_LOG2 + 1) - b.log2()
    }
}

/// How a rows×cols matrix and a cols-vector are packed into polynomials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Rows of the matrix (length of the result).
    pub rows: usize,
    /// Columns of the matrix (length of the vector).
    pub cols: usize,
    /// N.
    pub poly_size: usize,
    /// k.
    pub glwe_dimension: usize,
    /// Rows per plaintext polynomial (r).
    pub rows_per_poly: usize,
    /// Vector entries per ciphertext (m_b), r·m_b ≤ N.
    pub cols_per_block: usize,
    /// Number of input ciphertexts, ⌈cols / m_b⌉.
    pub col_blocks: usize,
    /// Number of returned ciphertexts, ⌈rows / r⌉.
    pub row_blocks: usize,
}

impl Layout {
    /// The packing that minimises traffic (bytes: C·N 16-byte bodies in, and per row block
    /// k·N mask coefficients plus r bodies back at 10 bytes) over r = 1, 2, 4, …, N.
    pub fn choose(params: &HeParams, rows: usize, cols: usize) -> Result<Self> {
        let n = params.poly_size;
        let k = params.glwe_dimension;
        if rows == 0 || cols == 0 {
            return Err(ProtocolError::ApiMisuse(format!(
                "HE mat-vec of an empty {rows}×{cols} matrix"
            )));
        }
        let mut best: Option<(u128, Layout)> = None;
        let mut r = 1;
        while r <= n {
            let mb = (n / r).min(cols);
            let c = cols.div_ceil(mb);
            let b = rows.div_ceil(r);
            let cost = 16 * (c as u128) * (n as u128)
                + REPLY_COEFF_BYTES as u128 * (b as u128) * ((k * n + r) as u128);
            let l = Layout {
                rows,
                cols,
                poly_size: n,
                glwe_dimension: k,
                rows_per_poly: r,
                cols_per_block: mb,
                col_blocks: c,
                row_blocks: b,
            };
            if best.as_ref().is_none_or(|(bc, _)| cost < *bc) {
                best = Some((cost, l));
            }
            r *= 2;
        }
        best.map(|(_, l)| l)
            .ok_or(ProtocolError::Unreachable("layout candidates"))
    }

    /// Rows in row block `b` (the last one may be short).
    pub fn rows_in_block(&self, b: usize) -> usize {
        let start = b * self.rows_per_poly;
        self.rows.saturating_sub(start).min(self.rows_per_poly)
    }

    /// Coefficient of a product polynomial holding row `t` of a block.
    pub fn useful_index(&self, t: usize) -> usize {
        t * self.cols_per_block + self.cols_per_block - 1
    }

    /// Bytes of the key owner's message (see `super::wire`).
    pub fn query_bytes(&self) -> usize {
        super::wire::HEADER_BYTES
            + 64
            + 16 * self.poly_size * (self.glwe_dimension + self.col_blocks)
    }

    /// Bytes of the owner's reply (modulus-switched coefficients).
    pub fn reply_bytes(&self) -> usize {
        super::wire::HEADER_BYTES
            + REPLY_COEFF_BYTES
                * (self.row_blocks * self.glwe_dimension * self.poly_size + self.rows)
    }
}
