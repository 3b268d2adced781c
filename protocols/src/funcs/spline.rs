//! Piecewise-polynomial ("spline") evaluation on fixed-point shares, and the Chebyshev fits
//! that produce the pieces.
//!
//! A [`Spline`] has breakpoints t_1 < … < t_S and S + 1 segments; on segment j
//! (t_j ≤ x < t_{j+1}, with t_0 = −∞ and t_{S+1} = +∞)
//!
//! ```text
//!   f(x) ≈ σ_j · p_j(u) + τ_j,   u = α_j · (x − m_j) ∈ [−1, 1],   p_j(u) = Σ_i c_{j,i} u^i
//! ```
//!
//! [`eval`] runs, for n inputs:
//! 1. ONE batched [`ltz`] over n·S differences x − t_s (ℓ = k − 1): s_j = \[x < t_j\].
//! 2. Selection, local: for public per-segment constants v_j,
//!    Σ_j \[x ∈ seg j\]·v_j = v_S + Σ_s s_s·(v_{s−1} − v_s) (a linear combination of the shared
//!    bits with public coefficients).
//! 3. u = α·(x − m): local shift when every α_j is the same power of two, otherwise one
//!    product with the selected α and one truncation.
//! 4. Powers u², …, u^d in ⌈log2 d⌉ levels (one batched product + one truncation each).
//! 5. p(u): with coefficients common to all segments, a local combination and one
//!    truncation; with per-segment coefficients, one batched product of the selected
//!    coefficients with the powers, and one truncation.
//! 6. With per-segment σ and common coefficients: one product with the selected σ and one
//!    truncation. τ is selected and added locally.
//!
//! **Magnitudes.** Every truncation requires |v| < 2^(k−2) in the ring (`crate::trunc`).
//! The evaluator picks the fractional bits of each intermediate from the spline's data so
//! that every product stays below 2^(k−4) on the segment that contains x: u and its powers
//! carry f_u = ⌊(k−4)/2⌋ bits and |u| ≤ 1, so u^a·u^b < 2^(k−4); coefficients carry
//! F_c = k − 4 − f_u − ⌈log2 C⌉ bits with C = max_j Σ_i |c_{j,i}|, so Σ_i c_i u^i < 2^(k−4);
//! the selected α carries k − 4 − f bits and |α·(x − m)| ≤ 1; σ and p share
//! k − 4 − ⌈log2 (max σ · C)⌉ bits. On segments that do not contain x, the selected
//! coefficients (or α, or σ) are exactly zero, so whatever garbage the ring holds there is
//! multiplied by an exact zero (Beaver products are exact in the ring) and vanishes.

use mpc_core::fixed::FixedPoint;
use mpc_core::ring::Ring;
use mpc_core::share::SharedVec;

use crate::arith;
use crate::compare::ltz;
use crate::ctx::Ctx;
use crate::error::{ProtocolError, Result, ensure};
use crate::prep::Prep;
use crate::trunc::trunc;

/// One segment: f(x) ≈ σ · Σ_i c_i (α(x − m))^i + τ.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// m, the centre of the segment.
    pub mid: f64,
    /// α, the inverse half-width (maps the segment onto \[−1, 1\]).
    pub alpha: f64,
    /// c_0..c_d, monomial coefficients in u.
    pub coeffs: Vec<f64>,
    /// σ, the output scale.
    pub sigma: f64,
    /// τ, the output offset.
    pub tau: f64,
}

/// A piecewise polynomial: S ascending breakpoints and S + 1 segments.
#[derive(Clone, Debug, PartialEq)]
pub struct Spline {
    /// t_1 < … < t_S.
    pub breaks: Vec<f64>,
    /// Segments 0..=S; segment j covers [t_j, t_{j+1}).
    pub segs: Vec<Segment>,
}

/// Chebyshev interpolation of `f` on \[−1, 1\] at the d + 1 Chebyshev nodes, returned as
/// monomial coefficients c_0..c_d.
pub fn chebyshev_fit(f: impl Fn(f64) -> f64, d: usize) -> Vec<f64> {
    let m = d + 1;
    let nodes: Vec<f64> = (0..m)
        .map(|k| (std::f64::consts::PI * (k as f64 + 0.5) / m as f64).cos())
        .collect();
    let fv: Vec<f64> = nodes.iter().map(|&x| f(x)).collect();
    // Chebyshev series coefficients a_j.
    let a: Vec<f64> = (0..m)
        .map(|j| {
            let s: f64 = fv
                .iter()
                .enumerate()
                .map(|(k, &v)| {
                    v * (std::f64::consts::PI * j as f64 * (k as f64 + 0.5) / m as f64).cos()
                })
                .sum();
            s * if j == 0 { 1.0 } else { 2.0 } / m as f64
        })
        .collect();
    // T_j in the monomial basis: T_0 = 1, T_1 = u, T_j = 2u·T_{j−1} − T_{j−2}.
    let mut out = vec![0.0; m];
    let mut t_prev: Vec<f64> = vec![1.0];
    let mut t_cur: Vec<f64> = vec![0.0, 1.0];
    for (j, &aj) in a.iter().enumerate() {
        let t = match j {
            0 => t_prev.clone(),
            1 => t_cur.clone(),
            _ => {
                let mut t = vec![0.0; j + 1];
                for (i, &c) in t_cur.iter().enumerate() {
                    if let Some(s) = t.get_mut(i + 1) {
                        *s += 2.0 * c;
                    }
                }
                for (i, &c) in t_prev.iter().enumerate() {
                    if let Some(s) = t.get_mut(i) {
                        *s -= c;
                    }
                }
                t_prev = std::mem::replace(&mut t_cur, t.clone());
                t
            }
        };
        for (o, c) in out.iter_mut().zip(t) {
            *o += aj * c;
        }
    }
    out
}

/// Evaluates a polynomial (monomial coefficients) in f64 (Horner).
pub fn eval_plain(coeffs: &[f64], u: f64) -> f64 {
    coeffs.iter().rev().fold(0.0, |y, &c| y * u + c)
}

impl Spline {
    /// Evaluates the spline in f64 (the plaintext model of [`eval`], without rounding).
    pub fn eval_plain(&self, x: f64) -> f64 {
        let j = self.breaks.iter().take_while(|&&t| x >= t).count();
        self.segs.get(j).map_or(f64::NAN, |s| {
            s.sigma * eval_plain(&s.coeffs, s.alpha * (x - s.mid)) + s.tau
        })
    }

    /// Segments of equal `width` covering [lo, hi), each with its own Chebyshev fit of degree
    /// `d` of `f`; constant `below` for x < lo and `above` for x ≥ hi.
    pub fn uniform(
        f: impl Fn(f64) -> f64,
        lo: f64,
        hi: f64,
        width: f64,
        d: usize,
        below: f64,
        above: f64,
    ) -> Self {
        let count = ((hi - lo) / width).round() as usize;
        let half = width / 2.0;
        let alpha = 1.0 / half;
        let constant = |c: f64| {
            let mut coeffs = vec![0.0; d + 1];
            if let Some(c0) = coeffs.first_mut() {
                *c0 = c;
            }
            Segment {
                mid: 0.0,
                alpha,
                coeffs,
                sigma: 1.0,
                tau: 0.0,
            }
        };
        let mut segs = vec![constant(below)];
        let mut breaks = Vec::with_capacity(count + 1);
        for s in 0..count {
            let start = lo + width * s as f64;
            let mid = start + half;
            breaks.push(start);
            segs.push(Segment {
                mid,
                alpha,
                coeffs: chebyshev_fit(|u| f(mid + half * u), d),
                sigma: 1.0,
                tau: 0.0,
            });
        }
        breaks.push(hi);
        segs.push(constant(above));
        Self { breaks, segs }
    }

    /// Segments of equal `width` covering [lo, hi) that share one polynomial g(u) (degree
    /// `d`) and differ by the output scale: f(x) = σ(m)·g((x − m)/half). Constant `below`
    /// and `above` outside (σ = 0 there).
    #[allow(
        clippy::too_many_arguments,
        reason = "a plain description of the pieces"
    )]
    pub fn uniform_scaled(
        g: impl Fn(f64) -> f64,
        sigma: impl Fn(f64) -> f64,
        lo: f64,
        hi: f64,
        width: f64,
        d: usize,
        below: f64,
        above: f64,
    ) -> Self {
        let count = ((hi - lo) / width).round() as usize;
        let half = width / 2.0;
        let alpha = 1.0 / half;
        let coeffs = chebyshev_fit(g, d);
        let outside = |tau: f64| Segment {
            mid: 0.0,
            alpha,
            coeffs: coeffs.clone(),
            sigma: 0.0,
            tau,
        };
        let mut segs = vec![outside(below)];
        let mut breaks = Vec::with_capacity(count + 1);
        for s in 0..count {
            let start = lo + width * s as f64;
            let mid = start + half;
            breaks.push(start);
            segs.push(Segment {
                mid,
                alpha,
                coeffs: coeffs.clone(),
                sigma: sigma(mid),
                tau: 0.0,
            });
        }
        breaks.push(hi);
        segs.push(outside(above));
        Self { breaks, segs }
    }

    /// Octave segments [2^i, 2^(i+1)) for i in `i_lo..i_hi`, sharing one polynomial g(u) of
    /// degree `d` in u = (x − 1.5·2^i)/(0.5·2^i), with f(x) = σ(i)·g(u) + τ(i). Constant
    /// `below` for x < 2^i_lo (including x ≤ 0) and `above` for x ≥ 2^i_hi.
    #[allow(
        clippy::too_many_arguments,
        reason = "a plain description of the pieces"
    )]
    pub fn octaves(
        g: impl Fn(f64) -> f64,
        sigma: impl Fn(i32) -> f64,
        tau: impl Fn(i32) -> f64,
        i_lo: i32,
        i_hi: i32,
        d: usize,
        below: f64,
        above: f64,
    ) -> Self {
        let coeffs = chebyshev_fit(g, d);
        // Outside, α = 0 makes u = 0 exactly and the value σ·c_0 + τ. Keep σ public when it
        // is the same on every octave (then τ absorbs σ·c_0); otherwise σ = 0 there.
        let s0 = sigma(i_lo);
        let common = (i_lo..i_hi).all(|i| sigma(i) == s0);
        let c0 = coeffs.first().copied().unwrap_or(0.0);
        let outside = |value: f64| {
            let s = if common { s0 } else { 0.0 };
            Segment {
                mid: 0.0,
                alpha: 0.0,
                coeffs: coeffs.clone(),
                sigma: s,
                tau: value - s * c0,
            }
        };
        let mut segs = vec![outside(below)];
        let mut breaks = Vec::new();
        for i in i_lo..i_hi {
            let p = f64::from(i).exp2();
            breaks.push(p);
            segs.push(Segment {
                mid: 1.5 * p,
                alpha: 2.0 / p,
                coeffs: coeffs.clone(),
                sigma: sigma(i),
                tau: tau(i),
            });
        }
        breaks.push(f64::from(i_hi).exp2());
        segs.push(outside(above));
        Self { breaks, segs }
    }

    /// Number of breakpoints S (one comparison per input each).
    pub fn comparisons(&self) -> usize {
        self.breaks.len()
    }
}

/// Fewest fractional bits of the polynomial value when a shared scale σ follows (its relative
/// precision is then 2^−16 of the smallest |p(u)|).
const MIN_SCALED_BITS: u32 = 16;

/// round(v·2^bits) as a ring element; an error if it is not below 2^(k−2) in magnitude.
fn enc_at<R: Ring>(v: f64, bits: u32) -> Result<R> {
    let s = (v * f64::from(bits).exp2()).round();
    ensure(
        s.is_finite() && s.abs() < f64::from(R::BITS - 2).exp2(),
        || format!("spline constant does not fit with {bits} fractional bits"),
    )?;
    Ok(R::from_i128_wrapping(s as i128))
}

/// ⌈log2 v⌉ for v > 1, else 0.
fn ceil_log2(v: f64) -> u32 {
    if v > 1.0 { v.log2().ceil() as u32 } else { 0 }
}

/// The shared indicator bits s_j = \[x < t_j\] and the selection of public per-segment values.
struct Selector<R: Ring> {
    lt: Vec<SharedVec<R>>,
    n: usize,
}

impl<R: Ring> Selector<R> {
    /// Σ_j \[x ∈ seg j\]·v_j = v_S + Σ_s s_s·(v_{s−1} − v_s), local.
    fn select<P: Prep>(&self, ctx: &Ctx<'_, P>, vals: &[R]) -> Result<SharedVec<R>> {
        let last = *vals
            .last()
            .ok_or(ProtocolError::Unreachable("no segments"))?;
        let mut acc = vec![R::ZERO; self.n];
        for (s, w) in self.lt.iter().zip(vals.windows(2)) {
            let (Some(&a), Some(&b)) = (w.first(), w.get(1)) else {
                return Err(ProtocolError::Unreachable("window"));
            };
            let d = a - b;
            for (o, &x) in acc.iter_mut().zip(s.expose_share()) {
                *o += x * d;
            }
        }
        Ok(arith::add_const(ctx, &SharedVec::from_share(acc), last))
    }
}

/// Evaluates `spline` on fixed-point shares x (format `fx`). The output has `fx`'s
/// fractional bits. Errors (API misuse) if the spline's constants cannot be laid out within
/// the ring (module docs).
pub fn eval<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    fx: FixedPoint,
    spline: &Spline,
) -> Result<SharedVec<R>> {
    let n = x.len();
    let k = R::BITS;
    let f = fx.frac_bits();
    let segs = &spline.segs;
    let s_count = spline.breaks.len();
    ensure(segs.len() == s_count + 1, || {
        "a spline needs one segment more than breakpoints".into()
    })?;
    ensure(
        spline.breaks.windows(2).all(|w| w.first() < w.get(1)),
        || "spline breakpoints must ascend".into(),
    )?;
    let first_seg = segs
        .first()
        .ok_or(ProtocolError::ApiMisuse("empty spline".into()))?;
    let d = first_seg.coeffs.len().saturating_sub(1);
    ensure(
        segs.iter().all(|s| s.coeffs.len() == d + 1) && !first_seg.coeffs.is_empty(),
        || "spline segments need coefficient vectors of one length".into(),
    )?;
    if n == 0 {
        return Ok(SharedVec::zeros(0));
    }

    // Normalise: fold σ into the coefficients whenever σ is public or the coefficients
    // differ per segment anyway; σ stays shared only with common coefficients.
    let all_eq = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(p, q)| p == q);
    let sigma_public = segs.iter().all(|s| s.sigma == first_seg.sigma);
    let coeffs_common = segs.iter().all(|s| all_eq(&s.coeffs, &first_seg.coeffs));
    let shared_sigma = !sigma_public && coeffs_common;
    let coeffs: Vec<Vec<f64>> = segs
        .iter()
        .map(|s| {
            if shared_sigma {
                s.coeffs.clone()
            } else {
                s.coeffs.iter().map(|c| c * s.sigma).collect()
            }
        })
        .collect();
    let coeffs_public = coeffs.iter().all(|c| {
        coeffs
            .first()
            .is_some_and(|c0| all_eq(c, c0) && c.len() == c0.len())
    });

    // Step 1: one batched comparison of x against every breakpoint.
    let diffs: Vec<SharedVec<R>> = spline
        .breaks
        .iter()
        .map(|&t| Ok(arith::add_const(ctx, x, -enc_at::<R>(t, f)?)))
        .collect::<Result<_>>()?;
    let refs: Vec<&SharedVec<R>> = diffs.iter().collect();
    let lt_all = ltz(ctx, &SharedVec::concat(&refs), k - 1)?;
    let sel = Selector {
        lt: lt_all.split(&vec![n; s_count]),
        n,
    };
    let select_at = |ctx: &Ctx<'_, P>, vals: &[f64], bits: u32| -> Result<SharedVec<R>> {
        let enc: Vec<R> = vals
            .iter()
            .map(|&v| enc_at::<R>(v, bits))
            .collect::<Result<_>>()?;
        sel.select(ctx, &enc)
    };

    // Step 3: u = α(x − m) with f_u fractional bits.
    let f_u = (k - 4) / 2;
    let mids: Vec<f64> = segs.iter().map(|s| s.mid).collect();
    let v = x.sub(&select_at(ctx, &mids, f)?);
    let alpha0 = first_seg.alpha;
    let pow2_alpha = (alpha0 > 0.0 && alpha0.log2().fract() == 0.0)
        .then(|| alpha0.log2() as i64 + i64::from(f_u) - i64::from(f))
        .filter(|&sh| {
            segs.iter().all(|s| s.alpha == alpha0) && (0..i64::from(k - 4)).contains(&sh)
        });
    let u = if let Some(sh) = pow2_alpha {
        v.scale(R::pow2(sh as u32))
    } else {
        let f_a = k - 4 - f;
        let alphas: Vec<f64> = segs.iter().map(|s| s.alpha).collect();
        let a = select_at(ctx, &alphas, f_a)?;
        let av = arith::mul(ctx, &a, &v)?;
        trunc(ctx, &av, f_a + f - f_u)?
    };

    // Step 4: powers u^1..u^d (f_u bits).
    let pows = powers(ctx, u, d, f_u)?;

    // Step 5: Σ_i c_i u^i with F_c-bit coefficients, at F_c + f_u bits.
    let c_max = coeffs
        .iter()
        .map(|c| c.iter().map(|v| v.abs()).sum::<f64>())
        .fold(0.0, f64::max);
    let f_c = (k - 4)
        .checked_sub(f_u + ceil_log2(c_max))
        .filter(|&b| b > f)
        .ok_or_else(|| ProtocolError::ApiMisuse("spline coefficients too large".into()))?;
    let acc = if coeffs_public {
        let c = coeffs
            .first()
            .ok_or(ProtocolError::Unreachable("coefficients"))?;
        let mut acc = SharedVec::zeros(n);
        for (p, &ci) in pows.iter().zip(c.iter().skip(1)) {
            acc = acc.add(&p.scale(enc_at::<R>(ci, f_c)?));
        }
        let c0 = c.first().copied().unwrap_or(0.0);
        arith::add_const(ctx, &acc, enc_at::<R>(c0, f_c + f_u)?)
    } else {
        let mut cs = Vec::with_capacity(d);
        for i in 1..=d {
            let ci: Vec<f64> = coeffs
                .iter()
                .map(|c| c.get(i).copied().unwrap_or(0.0))
                .collect();
            cs.push(select_at(ctx, &ci, f_c)?);
        }
        let c0: Vec<f64> = coeffs
            .iter()
            .map(|c| c.first().copied().unwrap_or(0.0))
            .collect();
        let c0 = select_at(ctx, &c0, f_c + f_u)?;
        if d == 0 {
            c0
        } else {
            let lhs: Vec<&SharedVec<R>> = cs.iter().collect();
            let rhs: Vec<&SharedVec<R>> = pows.iter().collect();
            let prod = arith::mul(ctx, &SharedVec::concat(&lhs), &SharedVec::concat(&rhs))?;
            let mut acc = c0;
            for part in prod.split(&vec![n; d]) {
                acc = acc.add(&part);
            }
            acc
        }
    };

    // Step 6: output scale and offset.
    let taus: Vec<f64> = segs.iter().map(|s| s.tau).collect();
    let tau = select_at(ctx, &taus, f)?;
    let y = if shared_sigma {
        let s_max = segs.iter().map(|s| s.sigma.abs()).fold(0.0, f64::max);
        let budget = (k - 4)
            .checked_sub(ceil_log2(s_max * c_max.max(1.0)))
            .ok_or_else(|| ProtocolError::ApiMisuse("spline scale too large".into()))?;
        let f_y = (f + 8).min(budget.saturating_sub(f + 4));
        ensure(f_y >= MIN_SCALED_BITS && f_y < f_c + f_u, || {
            "spline scale leaves too few bits".into()
        })?;
        let f_s = budget - f_y;
        let yv = trunc(ctx, &acc, f_c + f_u - f_y)?;
        let sigmas: Vec<f64> = segs.iter().map(|s| s.sigma).collect();
        let s = select_at(ctx, &sigmas, f_s)?;
        let sy = arith::mul(ctx, &s, &yv)?;
        trunc(ctx, &sy, f_s + f_y - f)?
    } else {
        trunc(ctx, &acc, f_c + f_u - f)?
    };
    Ok(y.add(&tau))
}

/// u, u², …, u^d (fractional bits `f_u`), in ⌈log2 d⌉ levels of one product and one
/// truncation each: level L computes u^p for 2^(L−1) < p ≤ 2^L as u^(2^(L−1))·u^(p−2^(L−1)).
fn powers<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    u: SharedVec<R>,
    d: usize,
    f_u: u32,
) -> Result<Vec<SharedVec<R>>> {
    let n = u.len();
    let mut pows = vec![u];
    while pows.len() < d {
        let have = pows.len();
        let top = have.min(d - have);
        let base = pows
            .last()
            .ok_or(ProtocolError::Unreachable("powers"))?
            .clone();
        let prod = if have == 1 {
            arith::square(ctx, &base)?
        } else {
            let lhs = base.repeat_block(top);
            let rhs: Vec<&SharedVec<R>> = pows.iter().take(top).collect();
            arith::mul(ctx, &lhs, &SharedVec::concat(&rhs))?
        };
        let t = trunc(ctx, &prod, f_u)?;
        pows.extend(t.split(&vec![n; top]));
    }
    Ok(pows)
}

/// `times` copies of a vector, one after the other.
trait RepeatBlock {
    fn repeat_block(&self, times: usize) -> Self;
}

impl<R: Ring> RepeatBlock for SharedVec<R> {
    fn repeat_block(&self, times: usize) -> Self {
        let parts: Vec<&SharedVec<R>> = std::iter::repeat_n(self, times).collect();
        SharedVec::concat(&parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chebyshev_fit_reproduces_polynomials_and_approximates() {
        let c = chebyshev_fit(|u| 1.0 - 2.0 * u + 0.5 * u * u * u, 3);
        for (a, b) in c.iter().zip([1.0, -2.0, 0.0, 0.5]) {
            assert!((a - b).abs() < 1e-12, "{c:?}");
        }
        let c = chebyshev_fit(|u| 1.0 / (1.5 + 0.5 * u), 8);
        let worst = (0..=2000)
            .map(|i| {
                let u = -1.0 + i as f64 / 1000.0;
                (eval_plain(&c, u) - 1.0 / (1.5 + 0.5 * u)).abs()
            })
            .fold(0.0, f64::max);
        assert!(worst < 3e-7, "{worst}");
    }

    #[test]
    fn plain_model_of_splines() {
        let s = Spline::octaves(
            |u| 1.0 / (1.5 + 0.5 * u),
            |i| f64::from(-i).exp2(),
            |_| 0.0,
            -3,
            5,
            8,
            8.0,
            0.0,
        );
        for x in [0.125, 0.3, 1.0, 7.9, 31.0] {
            assert!((s.eval_plain(x) * x - 1.0).abs() < 1e-6, "{x}");
        }
        assert_eq!(s.eval_plain(-1.0), 8.0);
        assert_eq!(s.eval_plain(32.0), 0.0);
        let t = Spline::uniform(f64::sin, -4.0, 4.0, 2.0, 8, -1.0, 1.0);
        assert!((t.eval_plain(0.3) - 0.3f64.sin()).abs() < 1e-6);
        assert_eq!(t.eval_plain(-5.0), -1.0);
        assert_eq!(t.comparisons(), 5);
    }
}
