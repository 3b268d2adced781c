//! Nonlinear functions on fixed-point shares: [`sigmoid`], [`exp`], [`ln`], [`reciprocal`],
//! [`inv_sqrt`], [`sqrt`].
//!
//! Each is a piecewise polynomial ([`spline::Spline`]) evaluated by [`spline::eval`]: one
//! batched comparison of x against all breakpoints, a local selection of per-segment
//! constants, an affine map onto \[−1, 1\], powers of u in ⌈log2 d⌉ levels, and a polynomial
//! whose coefficients are fitted at run time (Chebyshev interpolation, f64) from the
//! reference function. No Newton step is used: it would turn the clamped values outside the
//! domain into garbage, and a higher degree costs fewer rounds than a Newton step.
//!
//! | function | pieces | Z_2^64, f = 16: domain | Z_2^128, f = 40: domain |
//! |---|---|---|---|
//! | [`sigmoid`] | width 2, per-segment fits | [−12, 12), 0/1 outside, d = 6 | [−20, 20), 0/1 outside, d = 10 |
//! | [`exp`] | width 2, e^m · g(u) | [−16, 12), d = 7 | [−32, 32), d = 11 |
//! | [`ln`] | octaves, i·ln 2 + g(u) | [2^−6, 2^20), d = 7 | [2^−20, 2^40), d = 12 |
//! | [`reciprocal`] | octaves, 2^−i · g(u) | [2^−6, 2^20), d = 8 | [2^−20, 2^40), d = 12 |
//! | [`inv_sqrt`] | octaves, 2^(−i/2) · g(u) | [2^−6, 2^20), d = 7 | [2^−20, 2^40), d = 12 |
//! | [`sqrt`] | octaves, 2^(i/2) · g(u) | [2^−6, 2^20), d = 6 | [2^−20, 2^40), d = 10 |
//!
//! Outside its domain every function returns a clamp: sigmoid 0 or 1; exp e^lo or e^hi; the
//! octave functions their value at the nearest end (x ≤ 0 counts as below the domain).
//!
//! **Maximum error** (asserted by `tests/funcs.rs`, sweeping each domain with 2,000+ points
//! including both ends, N = 2 and 3): |ŷ − f(x)| ≤ rel·|f(x)| + abs, with x the encoded input.
//!
//! | function | Z_2^64 bound: rel, abs | measured max | Z_2^128 bound: rel, abs | measured max |
//! |---|---|---|---|---|
//! | sigmoid | 0, 4e−5 | abs 1.5e−5 | 0, 1e−8 | abs 1.0e−9 |
//! | exp | 3e−5, 3e−5 | rel 1.2e−5 (for f ≥ 1) | 1e−9, 1e−11 | rel 2.5e−10 |
//! | ln | 0, 4e−5 | abs 2.1e−5 | 0, 1e−10 | abs 2.5e−11 |
//! | reciprocal | 2e−6, 4e−5 | abs 2.6e−5, rel 1.1e−5 (for f ≥ 1) | 1e−9, 1e−11 | rel 2.2e−10 |
//! | inv_sqrt | 2e−6, 4e−5 | abs 1.5e−5, rel 1.5e−5 (for f ≥ 1) | 1e−9, 1e−11 | rel 4.1e−11 |
//! | sqrt | 2e−6, 4e−5 | rel 1.4e−5 (for f ≥ 1) | 1e−9, 1e−11 | rel 9.9e−11 |
//!
//! In Z_2^64 the error is dominated by the output's own resolution (1 ulp = 1.5e−5): the
//! approximation errors are ≤ 1.5e−6 (sigmoid, including the clamp at ±12: 6.1e−6), and
//! every intermediate carries 24–30 fractional bits.
//!
//! **Rounds** (online, any N): the comparison (7 in Z_2^64, 8 in Z_2^128), then 2 per
//! power level, 1–2 for the polynomial, 2 for a shared α and 2 for a shared σ: sigmoid 15,
//! exp 16, ln 16, reciprocal / inv_sqrt / sqrt 18 in Z_2^64; sigmoid 18, exp and ln 19,
//! the others 21 in Z_2^128. Bytes at n = 10^5, N = 2, Z_2^64 (measured): sigmoid 465 per
//! element per party (13 comparisons ≈ 19 B each, the rest powers and products), reciprocal
//! 732 (27 comparisons); the dealer sends 535 and 961.
//!
//! **Magnitudes.** All products stay below 2^(k−4) in the ring, inside the truncation bound
//! 2^(k−2) (see [`spline`]); the exp domain is chosen so that e^hi times the polynomial's
//! coefficient sum still leaves the scale σ and the polynomial enough fractional bits.

pub mod spline;

use mpc_core::fixed::FixedPoint;
use mpc_core::ring::Ring;
use mpc_core::share::SharedVec;

use self::spline::{Spline, eval};
use crate::ctx::Ctx;
use crate::error::Result;
use crate::prep::Prep;

/// The functions of this module, with their pieces, domains and error bounds per ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Func {
    /// 1 / (1 + e^−x).
    Sigmoid,
    /// e^x.
    Exp,
    /// ln x.
    Ln,
    /// 1 / x.
    Reciprocal,
    /// 1 / √x.
    InvSqrt,
    /// √x.
    Sqrt,
}

/// Parameters that depend on the ring: (small ring?).
fn small<R: Ring>() -> bool {
    R::BITS <= 64
}

fn sigmoid_plain(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Func {
    /// The plaintext function.
    pub fn reference(self, x: f64) -> f64 {
        match self {
            Self::Sigmoid => sigmoid_plain(x),
            Self::Exp => x.exp(),
            Self::Ln => x.ln(),
            Self::Reciprocal => 1.0 / x,
            Self::InvSqrt => 1.0 / x.sqrt(),
            Self::Sqrt => x.sqrt(),
        }
    }

    /// The domain [lo, hi) on which [`Func::error_bound`] holds in ring `R` (default
    /// fixed-point format).
    pub fn domain<R: Ring>(self) -> (f64, f64) {
        let s = small::<R>();
        match self {
            Self::Sigmoid => {
                if s {
                    (-12.0, 12.0)
                } else {
                    (-20.0, 20.0)
                }
            }
            Self::Exp => {
                if s {
                    (-16.0, 12.0)
                } else {
                    (-32.0, 32.0)
                }
            }
            Self::Ln | Self::Reciprocal | Self::InvSqrt | Self::Sqrt => {
                let (a, b) = self.octave_range::<R>();
                (f64::from(a).exp2(), f64::from(b).exp2())
            }
        }
    }

    fn octave_range<R: Ring>(self) -> (i32, i32) {
        if small::<R>() { (-6, 20) } else { (-20, 40) }
    }

    /// (rel, abs): |ŷ − f(x)| ≤ rel·|f(x)| + abs on the domain, in ring `R` with its default
    /// fixed-point format. For sigmoid the bound holds for every safe-range x.
    pub fn error_bound<R: Ring>(self) -> (f64, f64) {
        let s = small::<R>();
        match (self, s) {
            (Self::Sigmoid, true) => (0.0, 4e-5),
            (Self::Sigmoid, false) => (0.0, 1e-8),
            (Self::Exp, true) => (3e-5, 3e-5),
            (Self::Exp, false) => (1e-9, 1e-11),
            (Self::Ln, true) => (0.0, 4e-5),
            (Self::Ln, false) => (0.0, 1e-10),
            (Self::Reciprocal | Self::InvSqrt | Self::Sqrt, true) => (2e-6, 4e-5),
            (Self::Reciprocal | Self::InvSqrt | Self::Sqrt, false) => (1e-9, 1e-11),
        }
    }

    /// The pieces used in ring `R`.
    pub fn spline<R: Ring>(self) -> Spline {
        let s = small::<R>();
        let (i_lo, i_hi) = self.octave_range::<R>();
        let (lo, hi) = self.domain::<R>();
        let oct = |g: fn(f64) -> f64, sigma: fn(i32) -> f64, tau: fn(i32) -> f64, d| {
            let below = sigma(i_lo) * g(-1.0) + tau(i_lo);
            let above = sigma(i_hi) * g(-1.0) + tau(i_hi);
            Spline::octaves(g, sigma, tau, i_lo, i_hi, d, below, above)
        };
        match self {
            Self::Sigmoid => {
                Spline::uniform(sigmoid_plain, lo, hi, 2.0, if s { 6 } else { 10 }, 0.0, 1.0)
            }
            Self::Exp => Spline::uniform_scaled(
                f64::exp,
                f64::exp,
                lo,
                hi,
                2.0,
                if s { 7 } else { 11 },
                lo.exp(),
                hi.exp(),
            ),
            Self::Ln => oct(
                |u| (1.5 + 0.5 * u).ln(),
                |_| 1.0,
                |i| f64::from(i) * std::f64::consts::LN_2,
                if s { 7 } else { 12 },
            ),
            Self::Reciprocal => oct(
                |u| 1.0 / (1.5 + 0.5 * u),
                |i| f64::from(-i).exp2(),
                |_| 0.0,
                if s { 8 } else { 12 },
            ),
            Self::InvSqrt => oct(
                |u| 1.0 / (1.5 + 0.5 * u).sqrt(),
                |i| (-f64::from(i) / 2.0).exp2(),
                |_| 0.0,
                if s { 7 } else { 12 },
            ),
            Self::Sqrt => oct(
                |u| (1.5 + 0.5 * u).sqrt(),
                |i| (f64::from(i) / 2.0).exp2(),
                |_| 0.0,
                if s { 6 } else { 10 },
            ),
        }
    }

    /// Evaluates the function on fixed-point shares.
    pub fn eval<R: Ring, P: Prep>(
        self,
        ctx: &mut Ctx<'_, P>,
        x: &SharedVec<R>,
        fx: FixedPoint,
    ) -> Result<SharedVec<R>> {
        eval(ctx, x, fx, &self.spline::<R>())
    }
}

/// Logistic sigmoid 1/(1 + e^−x), clamped to 0/1 outside the domain (module docs).
pub fn sigmoid<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    fx: FixedPoint,
) -> Result<SharedVec<R>> {
    Func::Sigmoid.eval(ctx, x, fx)
}

/// e^x on the domain of [`Func::domain`], clamped outside.
pub fn exp<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    fx: FixedPoint,
) -> Result<SharedVec<R>> {
    Func::Exp.eval(ctx, x, fx)
}

/// ln x on the octave domain, clamped outside.
pub fn ln<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    fx: FixedPoint,
) -> Result<SharedVec<R>> {
    Func::Ln.eval(ctx, x, fx)
}

/// 1/x on the octave domain, clamped outside.
pub fn reciprocal<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    fx: FixedPoint,
) -> Result<SharedVec<R>> {
    Func::Reciprocal.eval(ctx, x, fx)
}

/// 1/√x on the octave domain, clamped outside.
pub fn inv_sqrt<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    fx: FixedPoint,
) -> Result<SharedVec<R>> {
    Func::InvSqrt.eval(ctx, x, fx)
}

/// √x on the octave domain, clamped outside.
pub fn sqrt<R: Ring, P: Prep>(
    ctx: &mut Ctx<'_, P>,
    x: &SharedVec<R>,
    fx: FixedPoint,
) -> Result<SharedVec<R>> {
    Func::Sqrt.eval(ctx, x, fx)
}
