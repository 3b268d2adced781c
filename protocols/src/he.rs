//! Homomorphic path for a site-private matrix × shared vector (issue 8): lattice HE (u128
//! GLWE, tfhe-rs `core_crypto` keys, exact `tfhe-ntt` products) instead of Beaver triples, so
//! traffic is O((rows + cols)/N) ciphertexts instead of O(rows·cols) ring elements.
//!
//! [`he_matvec`] has the signature and result of [`arith::private_matvec`]: additive shares of
//! X·v in Z_2^64. With N computing parties and the matrix at `owner`:
//! 1. every other party j draws a per-session GLWE key, sends a public key (k encryptions of
//!    zero) and its share v_j packed m_b entries per ciphertext (one message, masks expanded
//!    from seeds: only bodies travel);
//! 2. the owner parses each query against the session's parameter set and layout, multiplies
//!    by plaintext polynomials of row blocks of X (Cheetah's coefficient encoding: coefficient
//!    t·m_b + m_b − 1 of the product is row t's inner product), accumulating in the NTT
//!    domain, adds Σ u_i·pk_i (binary u: rerandomises the masks, which would otherwise reveal
//!    X), Δ·ρ with ρ uniform in Z_2^64, and flooding noise uniform in [−2^62, 2^62); it returns
//!    the k mask polynomials and only the useful body coefficients;
//! 3. j decrypts its share X·v_j + ρ_j; the owner holds X·v_owner − Σ_j ρ_j.
//!
//! One round trip; per key owner C·N + k·N body coefficients in and row_blocks·k·N + rows
//! coefficients back (16 bytes each in, 10 back: the reply is modulus-switched to 2^80, see
//! [`params::REPLY_DROP_BITS`]), see [`params::Layout`]. Cost model: [`matvec_cost`].
//!
//! Privacy against the key owner (semi-honest): ρ masks the result; the returned masks are
//! MLWE-pseudorandom; the decryption noise is (X-dependent part, |·| ≤ Σ|x|·2^b) + flooding
//! uniform on 2^63 values, so one coefficient is within statistical distance Σ|x|·2^b / 2^63
//! of a distribution independent of X ([`params::HeParams::flood_privacy_bits`]): with the
//! default set (b = 4), a 32-row block of 10,000 dosages (Σ|x| ≤ 640,000) gives ≥ 39.7 bits
//! per coefficient. The q = 2^128, t = 2^64 budget leaves 63 bits for flooding, so the bits
//! shrink as log2 of the block's absolute sum grows; the owner refuses a matrix whose noise
//! would not decrypt correctly (`ApiMisuse`). Against the owner, the queries are
//! GLWE ciphertexts under a key it never sees.
//!
//! Only the Z_2^64 ring is supported (Z_2^128 would need a larger ciphertext modulus);
//! [`MatvecPath::Auto`] uses the dealer path for it.

#[cfg(feature = "he")]
pub mod glwe;
pub mod params;
pub mod wire;

use mpc_core::party::PartyId;
use mpc_core::ring::Ring;
use mpc_core::share::SharedVec;

use crate::arith;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::prep::Prep;
use params::{DEFAULT_PARAMS, HeParams};

/// Which implementation computes a site-private matrix × shared vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MatvecPath {
    /// Beaver products with dealer triples ([`arith::private_matvec`]).
    Dealer,
    /// GLWE ([`he_matvec`]); fails for a ring other than Z_2^64 or a matrix too large for
    /// the noise budget.
    He,
    /// HE for Z_2^64 when the matrix has at least [`AUTO_MIN_ENTRIES`] entries and
    /// [`matvec_cost`] says HE sends fewer bytes per party, the dealer path otherwise.
    #[default]
    Auto,
}

/// Smallest matrix (entries) [`MatvecPath::Auto`] sends over HE: below this a Beaver product
/// moves less than one ciphertext's worth of bytes. (Kept as a floor; `Auto` now decides with
/// [`matvec_cost`].)
pub const AUTO_MIN_ENTRIES: usize = 1 << 16;

/// Traffic and rounds of one site-private mat-vec ([`matvec_cost`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    /// Largest number of bytes one computing party sends (payload; frame headers excluded).
    pub bytes_per_party: u64,
    /// Bytes all computing parties send together.
    pub total_bytes: u64,
    /// Sequential communication rounds of the product itself.
    pub rounds: u32,
}

/// The cost of `path` for an n×m matrix at one site times a shared m-vector among `parties`
/// computing parties (a pure function of public sizes: every party computes the same).
///
/// - `Dealer` ([`arith::private_matvec`]): every party opens its share of E = X − A (n·m) and
///   of F = v − B (m) to every other party, 8 bytes each: bytes per party
///   (parties − 1)·8·(n·m + m), one round.
/// - `He` ([`he_matvec`], [`DEFAULT_PARAMS`], [`params::Layout::choose`]): every key owner
///   sends one query (`Layout::query_bytes`: 16·N·(k + ⌈m/m_b⌉) + 70) and the owner returns
///   one modulus-switched reply to each (`Layout::reply_bytes`: 10·(⌈n/r⌉·k·N + n) + 6):
///   bytes per party max(query, (parties − 1)·reply), two rounds (query, reply).
/// - `Auto`: the cheaper of the two by bytes per party (ties to the dealer path).
///
/// Returns `None` for an empty matrix or fewer than two parties.
pub fn matvec_cost(path: MatvecPath, n: usize, m: usize, parties: usize) -> Option<Cost> {
    if n == 0 || m == 0 || parties < 2 {
        return None;
    }
    let peers = (parties - 1) as u64;
    match path {
        MatvecPath::Dealer => {
            let per = peers * 8 * ((n as u64) * (m as u64) + m as u64);
            Some(Cost {
                bytes_per_party: per,
                total_bytes: per * parties as u64,
                rounds: 1,
            })
        }
        MatvecPath::He => {
            let l = params::Layout::choose(&DEFAULT_PARAMS, n, m).ok()?;
            let (q, r) = (l.query_bytes() as u64, l.reply_bytes() as u64);
            Some(Cost {
                bytes_per_party: q.max(peers * r),
                total_bytes: peers * (q + r),
                rounds: 2,
            })
        }
        MatvecPath::Auto => {
            let d = matvec_cost(MatvecPath::Dealer, n, m, parties)?;
            match matvec_cost(MatvecPath::He, n, m, parties) {
                Some(h) if h.bytes_per_party < d.bytes_per_party => Some(h),
                _ => Some(d),
            }
        }
    }
}

/// [`arith::private_matvec`] or [`he_matvec`], as `path` says. Every party must take the
/// same path, so `Auto` decides from public facts only (ring and shape); if the owner's entries
/// then exceed the noise budget, the owner fails with `ApiMisuse` (the caller aborts the
/// session) rather than silently switching.
pub fn private_matvec_via<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    path: MatvecPath,
    owner: PartyId,
    matrix: Option<&[R]>,
    m: usize,
    k: usize,
    v: &SharedVec<R>,
) -> Result<SharedVec<R>> {
    let he = match path {
        MatvecPath::Dealer => false,
        MatvecPath::He => true,
        MatvecPath::Auto => {
            cfg!(feature = "he")
                && R::BITS == 64
                && m.saturating_mul(k) >= AUTO_MIN_ENTRIES
                && matvec_cost(MatvecPath::Auto, m, k, ctx.n()).is_some_and(|c| c.rounds == 2)
        }
    };
    if he {
        he_matvec(ctx, owner, matrix, m, k, v)
    } else {
        arith::private_matvec(ctx, owner, matrix, m, k, v)
    }
}

/// Product of a matrix held in plaintext by `owner` (m×k, row-major, entries read as signed
/// 64-bit integers) with a shared vector (k), over GLWE. Same arguments and result as
/// [`arith::private_matvec`]. Z_2^64 only.
pub fn he_matvec<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    owner: PartyId,
    matrix: Option<&[R]>,
    m: usize,
    k: usize,
    v: &SharedVec<R>,
) -> Result<SharedVec<R>> {
    he_matvec_with(ctx, &DEFAULT_PARAMS, owner, matrix, m, k, v)
}

/// [`he_matvec`] with an explicit parameter set (every party must pass the same one).
#[cfg(not(feature = "he"))]
pub fn he_matvec_with<R: Ring, P: Prep>(
    _ctx: &mut Ctx<'_, P>,
    _params: &HeParams,
    _owner: PartyId,
    _matrix: Option<&[R]>,
    _m: usize,
    _k: usize,
    _v: &SharedVec<R>,
) -> Result<SharedVec<R>> {
    Err(crate::error::ProtocolError::ApiMisuse(
        "protocols was built without the `he` feature".into(),
    ))
}

/// [`he_matvec`] with an explicit parameter set (every party must pass the same one).
#[cfg(feature = "he")]
pub fn he_matvec_with<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    params: &HeParams,
    owner: PartyId,
    matrix: Option<&[R]>,
    m: usize,
    k: usize,
    v: &SharedVec<R>,
) -> Result<SharedVec<R>> {
    use crate::error::{ProtocolError, ensure};
    use crate::{comm, kernel};
    use glwe::{Ntt, SecretKey};
    use params::Layout;
    use zeroize::Zeroize;

    ensure(R::BITS == 64, || {
        format!("the HE mat-vec supports Z_2^64 only, not Z_2^{}", R::BITS)
    })?;
    ensure(v.len() == k, || {
        format!("matvec with a {m}×{k} matrix and {} entries", v.len())
    })?;
    ensure(owner.index() < ctx.n(), || {
        format!("matvec owner {owner} out of range")
    })?;
    let layout = Layout::choose(params, m, k)?;
    // Key owner: products of centred Z_2^128 coefficients (≤ 2^127) with a binary key.
    let log2_kn = (params.lwe_dimension() as f64).log2();
    if ctx.me() != owner {
        let ntt = Ntt::for_bound(params.poly_size, 127.0 + log2_kn)?;
        let key = SecretKey::generate(params, &ntt, ctx.local_prg())?;
        let mut share: Vec<u64> = v.expose_share().iter().map(|x| x.low_u64()).collect();
        let query = glwe::encrypt_query(params, &ntt, &key, &layout, &share, ctx.local_prg())?;
        share.zeroize();
        comm::send_bytes(
            ctx.chan(),
            owner,
            &wire::encode_query(params, &layout, &query),
        )?;
        let bytes = comm::recv_bytes(ctx.chan(), owner, layout.reply_bytes() as u64)?;
        let reply = wire::decode_reply(&bytes, params, &layout).map_err(|e| {
            ProtocolError::PeerMisbehaved {
                party: owner,
                reason: e.to_string(),
            }
        })?;
        let y = glwe::decrypt_reply(params, &ntt, &key, &layout, &reply)?;
        return Ok(SharedVec::from_share(
            y.into_iter().map(R::from_u64).collect(),
        ));
    }
    let x =
        matrix.ok_or_else(|| ProtocolError::ApiMisuse("owner must supply the matrix".into()))?;
    ensure(x.len() == m * k, || {
        format!("matrix of {} entries, declared {m}×{k}", x.len())
    })?;
    let xi: Vec<i64> = x.iter().map(|e| e.low_u64() as i64).collect();
    let mut max_l1 = 0u128;
    for b in 0..layout.row_blocks {
        let l1 = glwe::block_l1(&layout, &xi, b);
        max_l1 = max_l1.max(l1);
        ensure(params.fits(l1), || {
            format!(
                "rows {}.. of the matrix are too large for the HE noise budget (Σ|x| = {l1})",
                b * layout.rows_per_poly
            )
        })?;
    }
    // Owner: every accumulated coefficient is Σ (centred ciphertext coefficient ≤ 2^127) ×
    // (matrix entry or binary u) over at most the block's Σ|x| + k·N terms; the NTT uses just
    // enough primes for that (five for dosage blocks of W1's shape).
    let ntt = Ntt::for_bound(
        params.poly_size,
        127.0 + ((max_l1 + params.lwe_dimension() as u128) as f64).log2(),
    )?;
    let peers: Vec<PartyId> = ctx.others().collect();
    let mut queries = Vec::with_capacity(peers.len());
    for &p in &peers {
        let bytes = comm::recv_bytes(ctx.chan(), p, layout.query_bytes() as u64)?;
        let q = wire::decode_query(&bytes, params, &layout).map_err(|e| {
            ProtocolError::PeerMisbehaved {
                party: p,
                reason: e.to_string(),
            }
        })?;
        queries.push(glwe::prepare_query(params, &ntt, &layout, &q)?);
    }
    let outs = glwe::evaluate(params, &ntt, &layout, &xi, &queries, ctx.local_prg())?;
    let own = kernel::matmul(x, v.expose_share(), m, k, 1);
    let mut y = own;
    for (&p, (reply, mut rho)) in peers.iter().zip(outs) {
        comm::send_bytes(ctx.chan(), p, &wire::encode_reply(params, &layout, &reply))?;
        for (yi, r) in y.iter_mut().zip(&rho) {
            *yi -= R::from_u64(*r);
        }
        rho.zeroize();
    }
    Ok(SharedVec::from_share(y))
}
