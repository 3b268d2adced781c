//! Fixed-point encoding of reals into a [`Ring`].
//!
//! A real x is encoded as round(x · 2^f) in two's complement, f = `frac_bits`. Encoding a value
//! outside the *safe range* is an error, never a silent wrap. The safe range leaves two bits of
//! headroom below the ring's sign bit, because the truncation protocol (`protocols::trunc`) is
//! exact (error ≤ 1 ulp, failure probability 0) for every |x| < 2^(k-2) in the ring:
//! `|x| · 2^f < 2^(k-2)`.
//!
//! Defaults and why:
//! - Z_2^64: f = 16. One ulp is 1.5e-5; a product of two encoded values before truncation must
//!   stay below 2^62, i.e. |a·b| < 2^30 ≈ 1.1e9 in real terms, which covers standardised
//!   genotypes, scores and model coefficients with wide margin.
//! - Z_2^128: f = 40. One ulp is 9.1e-13 (needed for GWAS and regression answers matched to
//!   1e-6 relative); products stay exact up to |a·b| < 2^46 ≈ 7e13.

use core::fmt;

use crate::ring::{Ring, Z64, Z128};

/// A fixed-point format: the number of fractional bits in ring `R`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedPoint {
    frac_bits: u32,
}

/// Errors of fixed-point encoding.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FixedError {
    /// The value is NaN or infinite.
    NotFinite {
        /// Index of the value in the input slice.
        index: usize,
    },
    /// |value| · 2^f is not below the safe bound 2^(k-2).
    OutOfRange {
        /// Index of the value in the input slice.
        index: usize,
        /// The largest magnitude that encodes.
        max_abs: f64,
    },
    /// The requested number of fractional bits does not leave room for products.
    BadFracBits {
        /// Requested fractional bits.
        frac_bits: u32,
        /// The ring's bit length.
        ring_bits: u32,
    },
}

impl fmt::Display for FixedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Values are not echoed: they may be genotype-derived.
            Self::NotFinite { index } => write!(f, "value #{index} is not finite"),
            Self::OutOfRange { index, max_abs } => {
                write!(
                    f,
                    "value #{index} is outside the fixed-point range ±{max_abs:e}"
                )
            }
            Self::BadFracBits {
                frac_bits,
                ring_bits,
            } => write!(
                f,
                "{frac_bits} fractional bits leave no room for products in a {ring_bits}-bit ring"
            ),
        }
    }
}

impl std::error::Error for FixedError {}

/// Rings with a stated default fixed-point precision.
pub trait DefaultFrac: Ring {
    /// Default fractional bits for this ring (see the module docs for the reasoning).
    const DEFAULT_FRAC_BITS: u32;
}

impl DefaultFrac for Z64 {
    const DEFAULT_FRAC_BITS: u32 = 16;
}

impl DefaultFrac for Z128 {
    const DEFAULT_FRAC_BITS: u32 = 40;
}

impl FixedPoint {
    /// A format with `frac_bits` fractional bits for ring `R`. Requires 2f + 2 < k so that the
    /// product of two encoded ones fits below the truncation bound.
    pub fn new<R: Ring>(frac_bits: u32) -> Result<Self, FixedError> {
        if frac_bits == 0 || 2 * frac_bits + 2 >= R::BITS {
            return Err(FixedError::BadFracBits {
                frac_bits,
                ring_bits: R::BITS,
            });
        }
        Ok(Self { frac_bits })
    }

    /// The ring's default format.
    pub fn default_for<R: DefaultFrac>() -> Self {
        Self {
            frac_bits: R::DEFAULT_FRAC_BITS,
        }
    }

    /// f.
    pub fn frac_bits(self) -> u32 {
        self.frac_bits
    }

    /// One unit in the last place, 2^-f.
    pub fn ulp(self) -> f64 {
        (-(self.frac_bits as f64)).exp2()
    }

    /// The largest |x| that encodes in ring `R`: 2^(k-2-f), exclusive.
    pub fn max_abs<R: Ring>(self) -> f64 {
        ((R::BITS - 2 - self.frac_bits) as f64).exp2()
    }

    /// Encodes one value.
    pub fn encode<R: Ring>(self, x: f64) -> Result<R, FixedError> {
        self.encode_at::<R>(x, 0)
    }

    fn encode_at<R: Ring>(self, x: f64, index: usize) -> Result<R, FixedError> {
        if !x.is_finite() {
            return Err(FixedError::NotFinite { index });
        }
        let scaled = (x * (self.frac_bits as f64).exp2()).round();
        let bound = ((R::BITS - 2) as f64).exp2();
        if scaled.abs() >= bound {
            return Err(FixedError::OutOfRange {
                index,
                max_abs: self.max_abs::<R>(),
            });
        }
        // |scaled| < 2^126 fits an i128 exactly (it is an integer-valued f64).
        Ok(R::from_i128_wrapping(scaled as i128))
    }

    /// Encodes a slice; the error names the first offending index.
    pub fn encode_slice<R: Ring>(self, xs: &[f64]) -> Result<Vec<R>, FixedError> {
        xs.iter()
            .enumerate()
            .map(|(i, &x)| self.encode_at::<R>(x, i))
            .collect()
    }

    /// Decodes one value (its signed value divided by 2^f).
    pub fn decode<R: Ring>(self, x: R) -> f64 {
        x.to_signed_f64() * (-(self.frac_bits as f64)).exp2()
    }

    /// Decodes a slice.
    pub fn decode_slice<R: Ring>(self, xs: &[R]) -> Vec<f64> {
        xs.iter().map(|&x| self.decode(x)).collect()
    }

    /// A public integer constant as a fixed-point ring element (k ≥ 64, so `v · 2^f` may wrap
    /// only outside the safe range, which callers stay within).
    pub fn encode_int<R: Ring>(self, v: i64) -> R {
        R::from_i64(v).shl(self.frac_bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_out_of_range_and_non_finite() {
        let fx = FixedPoint::default_for::<Z64>();
        assert_eq!(fx.max_abs::<Z64>(), 2f64.powi(46));
        assert!(matches!(
            fx.encode::<Z64>(2f64.powi(46)),
            Err(FixedError::OutOfRange { .. })
        ));
        assert!(fx.encode::<Z64>(2f64.powi(45)).is_ok());
        assert!(matches!(
            fx.encode::<Z64>(f64::NAN),
            Err(FixedError::NotFinite { index: 0 })
        ));
        assert!(matches!(
            fx.encode_slice::<Z64>(&[1.0, f64::INFINITY]),
            Err(FixedError::NotFinite { index: 1 })
        ));
        assert!(FixedPoint::new::<Z64>(31).is_err());
        assert!(FixedPoint::new::<Z64>(30).is_ok());
        assert!(FixedPoint::new::<Z128>(40).is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        // Encoding then decoding is within half an ulp.
        #[test]
        fn round_trip_z64(x in -1e9f64..1e9) {
            let fx = FixedPoint::default_for::<Z64>();
            let y = fx.decode(fx.encode::<Z64>(x).unwrap());
            prop_assert!((x - y).abs() <= fx.ulp() / 2.0 + 1e-9 * x.abs().max(1.0) * f64::EPSILON);
        }
        #[test]
        fn round_trip_z128(x in -1e12f64..1e12) {
            let fx = FixedPoint::default_for::<Z128>();
            let y = fx.decode(fx.encode::<Z128>(x).unwrap());
            // f64 itself carries 53 bits; the bound is half an ulp or one f64 rounding.
            prop_assert!((x - y).abs() <= (fx.ulp() / 2.0).max(x.abs() * f64::EPSILON));
        }
        // Encoding is additive: enc(a) + enc(b) = enc(a + b) within one ulp.
        #[test]
        fn additive(a in -1e6f64..1e6, b in -1e6f64..1e6) {
            let fx = FixedPoint::default_for::<Z64>();
            let s: Z64 = fx.encode::<Z64>(a).unwrap() + fx.encode::<Z64>(b).unwrap();
            prop_assert!((fx.decode(s) - (a + b)).abs() <= fx.ulp());
        }
    }
}
