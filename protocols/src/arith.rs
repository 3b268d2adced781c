//! Arithmetic on additive shares: input, open, reveal, public-constant addition, Beaver
//! products (element-wise, squares, dot products, matrix products).
//!
//! Costs (N computing parties, one round each unless stated; "element" = one ring element):
//! | operation | rounds | elements sent per party |
//! |---|---|---|
//! | [`input`] | 0 | 0 (pairwise seeds) |
//! | [`open`] of n | 1 | (N−1)·n |
//! | [`mul`] of n | 1 | 2(N−1)·n |
//! | [`square`] of n | 1 | (N−1)·n |
//! | [`dot`] of n × len | 1 | 2(N−1)·n·len |
//! | [`matmul`] m×k · k×n | 1 | (N−1)(mk + kn) |
//!
//! Beaver's method (Beaver, CRYPTO'91): with a triple (a, b, c = ab), open d = x − a and
//! e = y − b; then xy = c + d·b + e·a + d·e, where only party 0 adds the public d·e.

use mpc_core::party::PartyId;
use mpc_core::prg::Prg;
use mpc_core::ring::Ring;
use mpc_core::share::{SharedMat, SharedVec};

use crate::comm;
use crate::ctx::Ctx;
use crate::error::{ProtocolError, Result, ensure};
use crate::kernel;
use crate::prep::Prep;

/// Shares `n` values held by `owner` (`values` is `Some` at the owner only). Costs no
/// communication: every other party j expands its share from the seed it shares with the
/// owner, and the owner's share is the value minus those.
pub fn input<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    owner: PartyId,
    values: Option<&[R]>,
    n: usize,
) -> Result<SharedVec<R>> {
    ensure(owner.index() < ctx.n(), || {
        format!("input owner {owner} out of range")
    })?;
    let t = ctx.input_counter;
    ctx.input_counter += 1;
    let stream = |seed: &mpc_core::prg::Seed| {
        let mut prg = Prg::new(seed.derive_indexed(b"igs-input/v1", t));
        let mut v = vec![R::ZERO; n];
        R::fill_random(&mut prg, &mut v);
        v
    };
    if ctx.me() == owner {
        let x =
            values.ok_or_else(|| ProtocolError::ApiMisuse("owner must supply values".into()))?;
        ensure(x.len() == n, || {
            format!("input of {} values, declared {n}", x.len())
        })?;
        let mut share = x.to_vec();
        let others: Vec<PartyId> = ctx.others().collect();
        for j in others {
            let r = stream(ctx.pair_seed(j)?);
            for (s, v) in share.iter_mut().zip(r) {
                *s -= v;
            }
        }
        Ok(SharedVec::from_share(share))
    } else {
        Ok(SharedVec::from_share(stream(ctx.pair_seed(owner)?)))
    }
}

/// Opens a shared vector to every computing party.
pub fn open<R: Ring, P: Prep>(ctx: &mut Ctx<'_, P>, x: &SharedVec<R>) -> Result<Vec<R>> {
    let others: Vec<PartyId> = ctx.others().collect();
    for &p in &others {
        comm::send_ring(ctx.chan(), p, x.expose_share())?;
    }
    let mut sum = x.expose_share().to_vec();
    for &p in &others {
        let s = comm::recv_ring::<R>(ctx.chan(), p, x.len())?;
        for (a, b) in sum.iter_mut().zip(s) {
            *a += b;
        }
    }
    Ok(sum)
}

/// Opens a shared vector to the parties in `to` only; returns `Some` at those parties.
pub fn reveal_to<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    to: &[PartyId],
) -> Result<Option<Vec<R>>> {
    ensure(to.iter().all(|p| p.index() < ctx.n()), || {
        "recipient out of range".into()
    })?;
    let me = ctx.me();
    for &p in to.iter().filter(|&&p| p != me) {
        comm::send_ring(ctx.chan(), p, x.expose_share())?;
    }
    if !to.contains(&me) {
        return Ok(None);
    }
    let mut sum = x.expose_share().to_vec();
    let others: Vec<PartyId> = ctx.others().collect();
    for p in others {
        let s = comm::recv_ring::<R>(ctx.chan(), p, x.len())?;
        for (a, b) in sum.iter_mut().zip(s) {
            *a += b;
        }
    }
    Ok(Some(sum))
}

/// x + c for a public vector c (party 0 adds it).
pub fn add_public<R: Ring, P: Prep>(ctx: &Ctx<'_, P>, x: &SharedVec<R>, c: &[R]) -> SharedVec<R> {
    if ctx.is_first() {
        SharedVec::from_share(
            x.expose_share()
                .iter()
                .zip(c)
                .map(|(&a, &b)| a + b)
                .collect(),
        )
    } else {
        x.clone()
    }
}

/// x + c for a public scalar c.
pub fn add_const<R: Ring, P: Prep>(ctx: &Ctx<'_, P>, x: &SharedVec<R>, c: R) -> SharedVec<R> {
    if ctx.is_first() {
        SharedVec::from_share(x.expose_share().iter().map(|&a| a + c).collect())
    } else {
        x.clone()
    }
}

/// A sharing of the public vector c (party 0 holds it, the others zeros).
pub fn public<R: Ring, P: Prep>(ctx: &Ctx<'_, P>, c: &[R]) -> SharedVec<R> {
    if ctx.is_first() {
        SharedVec::from_share(c.to_vec())
    } else {
        SharedVec::zeros(c.len())
    }
}

/// Element-wise product x∘y (no truncation): one round, 2n elements to each peer.
pub fn mul<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    y: &SharedVec<R>,
) -> Result<SharedVec<R>> {
    let n = x.len();
    ensure(y.len() == n, || {
        format!("mul of lengths {n} and {}", y.len())
    })?;
    let t = {
        let (prep, chan) = ctx.prep();
        prep.beaver::<R>(chan, n)?
    };
    let masked = SharedVec::concat(&[&x.sub(&t.a), &y.sub(&t.b)]);
    let de = open(ctx, &masked)?;
    let (d, e) = de.split_at(n);
    let first = ctx.is_first();
    let (a, b, c) = (t.a.expose_share(), t.b.expose_share(), t.c.expose_share());
    let z = (0..n)
        .map(|i| {
            let (di, ei) = (
                d.get(i).copied().unwrap_or_default(),
                e.get(i).copied().unwrap_or_default(),
            );
            let (ai, bi, ci) = (
                a.get(i).copied().unwrap_or_default(),
                b.get(i).copied().unwrap_or_default(),
                c.get(i).copied().unwrap_or_default(),
            );
            let z = ci + di * bi + ei * ai;
            if first { z + di * ei } else { z }
        })
        .collect();
    Ok(SharedVec::from_share(z))
}

/// Element-wise square x∘x (no truncation): one round, n elements to each peer.
pub fn square<R: Ring, P: Prep>(ctx: &mut Ctx<'_, P>, x: &SharedVec<R>) -> Result<SharedVec<R>> {
    let n = x.len();
    let sq = {
        let (prep, chan) = ctx.prep();
        prep.square::<R>(chan, n)?
    };
    let d = open(ctx, &x.sub(&sq.a))?;
    let first = ctx.is_first();
    let two = R::from_u64(2);
    let z = d
        .iter()
        .zip(sq.a.expose_share().iter().zip(sq.a2.expose_share()))
        .map(|(&di, (&ai, &a2i))| {
            let z = a2i + two * di * ai;
            if first { z + di * di } else { z }
        })
        .collect();
    Ok(SharedVec::from_share(z))
}

/// `n` dot products of length `len`: x and y hold n·len entries, row i is
/// `i·len..(i+1)·len`. One round; no truncation.
pub fn dot<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    y: &SharedVec<R>,
    len: usize,
) -> Result<SharedVec<R>> {
    ensure(
        x.len() == y.len() && len > 0 && x.len().is_multiple_of(len),
        || {
            format!(
                "dot of lengths {} and {} in rows of {len}",
                x.len(),
                y.len()
            )
        },
    )?;
    let n = x.len() / len;
    let t = {
        let (prep, chan) = ctx.prep();
        prep.dot::<R>(chan, n, len)?
    };
    let total = x.len();
    let masked = SharedVec::concat(&[&x.sub(&t.a), &y.sub(&t.b)]);
    let de = open(ctx, &masked)?;
    let (d, e) = de.split_at(total);
    let first = ctx.is_first();
    let (a, b) = (t.a.expose_share(), t.b.expose_share());
    let z =
        t.c.expose_share()
            .iter()
            .enumerate()
            .map(|(i, &ci)| {
                let r = i * len..(i + 1) * len;
                let (di, ei) = (
                    d.get(r.clone()).unwrap_or_default(),
                    e.get(r.clone()).unwrap_or_default(),
                );
                let (ai, bi) = (
                    a.get(r.clone()).unwrap_or_default(),
                    b.get(r).unwrap_or_default(),
                );
                let mut s = ci;
                for j in 0..len {
                    let (dj, ej) = (
                        di.get(j).copied().unwrap_or_default(),
                        ei.get(j).copied().unwrap_or_default(),
                    );
                    s += dj * bi.get(j).copied().unwrap_or_default()
                        + ej * ai.get(j).copied().unwrap_or_default();
                    if first {
                        s += dj * ej;
                    }
                }
                s
            })
            .collect();
    Ok(SharedVec::from_share(z))
}

/// Matrix product X·Y (no truncation) with a matrix triple: one round that opens each
/// operand once (D = X − A, E = Y − B), then Z = C + D·B + A·E (+ D·E at party 0), computed
/// as two local products per party.
pub fn matmul<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedMat<R>,
    y: &SharedMat<R>,
) -> Result<SharedMat<R>> {
    let (m, k, n) = (x.rows(), x.cols(), y.cols());
    ensure(y.rows() == k, || {
        format!("matmul of {m}×{k} and {}×{n}", y.rows())
    })?;
    let t = {
        let (prep, chan) = ctx.prep();
        prep.matrix::<R>(chan, m, k, n)?
    };
    let dx = SharedVec::from_share(
        x.expose_share()
            .iter()
            .zip(t.a.expose_share())
            .map(|(&p, &q)| p - q)
            .collect(),
    );
    let ey = SharedVec::from_share(
        y.expose_share()
            .iter()
            .zip(t.b.expose_share())
            .map(|(&p, &q)| p - q)
            .collect(),
    );
    let de = open(ctx, &SharedVec::concat(&[&dx, &ey]))?;
    let (d, e) = de.split_at(m * k);
    // Party 0: D·(B0 + E); others: D·Bi. Everyone: + Ai·E + Ci.
    let left: Vec<R> = if ctx.is_first() {
        t.b.expose_share()
            .iter()
            .zip(e)
            .map(|(&b, &ee)| b + ee)
            .collect()
    } else {
        t.b.expose_share().to_vec()
    };
    let mut z = kernel::matmul(d, &left, m, k, n);
    let ae = kernel::matmul(t.a.expose_share(), e, m, k, n);
    for ((zi, ai), ci) in z.iter_mut().zip(ae).zip(t.c.expose_share()) {
        *zi += ai + *ci;
    }
    SharedMat::from_share(m, n, z).ok_or(ProtocolError::Unreachable("matmul shape"))
}

/// Product of a matrix held in plaintext by `owner` (m×k) with a shared vector (k): one
/// [`PrivateMatrix`] used once. (The homomorphic path that replaces this for large matrices
/// sits behind this same function.)
pub fn private_matvec<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    owner: PartyId,
    matrix: Option<&[R]>,
    m: usize,
    k: usize,
    v: &SharedVec<R>,
) -> Result<SharedVec<R>> {
    ensure(v.len() == k, || {
        format!("matvec with a {m}×{k} matrix and {} entries", v.len())
    })?;
    PrivateMatrix::new(ctx, owner, matrix, m, k, 1, 0)?.mul_right(ctx, v)
}

/// A matrix X (m×k) held in plaintext by one party, masked once and then multiplied by
/// shared vectors from either side a planned number of times: X·v (`right_uses` times) and
/// X'·u (`left_uses` times).
///
/// **Protocol.** The owner inputs X (free); with a two-sided matrix triple (A m×k; B k×n,
/// C = A·B; B2 l×m, C2 = B2·A; n = `right_uses`, l = `left_uses`) the parties open
/// E = X − A once (m·k elements, uniform: A masks X). Use t of X·v opens F = v − B_t (k
/// elements) and computes E·B_t + A·F + C_t (+ E·F at party 0) locally; use t of u'·X opens
/// G = u − B2_t (m elements) and computes G·E (party 0) + G·A + B2_t·E + C2_t. So X crosses
/// the network once and each product moves only its vector: an iterative fit on a fixed
/// design (IRLS, gradient descent) costs O(m·k) once plus O(m + k) per step, instead of
/// O(m·k) per step. **Reveals** nothing: E, F, G are uniformly masked.
pub struct PrivateMatrix<R: Ring> {
    m: usize,
    k: usize,
    /// E = X − A, public.
    e: Vec<R>,
    t: crate::prep::MatTriple2<R>,
    right_uses: usize,
    left_uses: usize,
    next_right: usize,
    next_left: usize,
}

impl<R: Ring> PrivateMatrix<R> {
    /// Masks `owner`'s m×k matrix (`Some` at the owner only) for the given numbers of uses.
    pub fn new<P: Prep>(
        ctx: &mut Ctx<'_, P>,
        owner: PartyId,
        matrix: Option<&[R]>,
        m: usize,
        k: usize,
        right_uses: usize,
        left_uses: usize,
    ) -> Result<Self> {
        let xs = input(ctx, owner, matrix, m * k)?;
        let t = {
            let (prep, chan) = ctx.prep();
            prep.matrix_two_sided::<R>(chan, m, k, right_uses, left_uses)?
        };
        let masked = SharedVec::from_share(
            xs.expose_share()
                .iter()
                .zip(t.a.expose_share())
                .map(|(&x, &a)| x - a)
                .collect(),
        );
        drop(xs);
        let e = open(ctx, &masked)?;
        Ok(Self {
            m,
            k,
            e,
            t,
            right_uses,
            left_uses,
            next_right: 0,
            next_left: 0,
        })
    }

    /// Shares of X·v (m entries) for a shared v (k entries).
    pub fn mul_right<P: Prep>(
        &mut self,
        ctx: &mut Ctx<'_, P>,
        v: &SharedVec<R>,
    ) -> Result<SharedVec<R>> {
        let (m, k, n) = (self.m, self.k, self.right_uses);
        ensure(v.len() == k && self.next_right < n, || {
            format!(
                "private matrix ({m}×{k}): right product {} of {n} with {} entries",
                self.next_right + 1,
                v.len()
            )
        })?;
        let col = self.next_right;
        self.next_right += 1;
        // Column `col` of B (k×n) and C (m×n).
        let column = |x: &[R], rows: usize| -> Vec<R> {
            (0..rows)
                .map(|i| x.get(i * n + col).copied().unwrap_or(R::ZERO))
                .collect()
        };
        let bt = column(self.t.b.expose_share(), k);
        let ct = column(self.t.c.expose_share(), m);
        let f_masked = SharedVec::from_share(
            v.expose_share()
                .iter()
                .zip(&bt)
                .map(|(&x, &b)| x - b)
                .collect(),
        );
        let f = open(ctx, &f_masked)?;
        let left: Vec<R> = if ctx.is_first() {
            bt.iter().zip(&f).map(|(&b, &x)| b + x).collect()
        } else {
            bt
        };
        let mut z = kernel::matvec(&self.e, &left, m, k);
        let af = kernel::matvec(self.t.a.expose_share(), &f, m, k);
        for ((zi, ai), ci) in z.iter_mut().zip(af).zip(ct) {
            *zi += ai + ci;
        }
        Ok(SharedVec::from_share(z))
    }

    /// Shares of X'·u (k entries) for a shared u (m entries).
    pub fn mul_left<P: Prep>(
        &mut self,
        ctx: &mut Ctx<'_, P>,
        u: &SharedVec<R>,
    ) -> Result<SharedVec<R>> {
        let (m, k, l) = (self.m, self.k, self.left_uses);
        ensure(u.len() == m && self.next_left < l, || {
            format!(
                "private matrix ({m}×{k}): left product {} of {l} with {} entries",
                self.next_left + 1,
                u.len()
            )
        })?;
        let row = self.next_left;
        self.next_left += 1;
        let b2t = self
            .t
            .b2
            .expose_share()
            .get(row * m..(row + 1) * m)
            .ok_or(ProtocolError::Unreachable("B2 row"))?
            .to_vec();
        let c2t = self
            .t
            .c2
            .expose_share()
            .get(row * k..(row + 1) * k)
            .ok_or(ProtocolError::Unreachable("C2 row"))?;
        let g_masked = SharedVec::from_share(
            u.expose_share()
                .iter()
                .zip(&b2t)
                .map(|(&x, &b)| x - b)
                .collect(),
        );
        let g = open(ctx, &g_masked)?;
        // (G + B2_t)·E at party 0, B2_t·E elsewhere; + G·A + C2_t.
        let left: Vec<R> = if ctx.is_first() {
            b2t.iter().zip(&g).map(|(&b, &x)| b + x).collect()
        } else {
            b2t
        };
        let mut z = kernel::matmul(&left, &self.e, 1, m, k);
        let ga = kernel::matmul(&g, self.t.a.expose_share(), 1, m, k);
        for ((zi, gi), ci) in z.iter_mut().zip(ga).zip(c2t) {
            *zi += gi + *ci;
        }
        Ok(SharedVec::from_share(z))
    }
}
