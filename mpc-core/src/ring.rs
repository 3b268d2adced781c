//! The rings Z_2^64 and Z_2^128 that shares live in.
//!
//! Protocol code is generic over [`Ring`]. Both rings are wrapping integers: addition,
//! subtraction and multiplication are taken mod 2^k. A ring element carries no secrecy by
//! itself; secrecy comes from the share wrappers in [`crate::share`].

use core::fmt;
use core::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use rand_core::Rng;
use zeroize::Zeroize;

/// Identifies a ring on the wire (one byte in every frame header that carries ring elements).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RingId {
    /// Z_2^64.
    Z64 = 1,
    /// Z_2^128.
    Z128 = 2,
}

impl RingId {
    /// Parses the wire byte.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::Z64),
            2 => Some(Self::Z128),
            _ => None,
        }
    }

    /// Bytes per element.
    pub fn bytes(self) -> usize {
        match self {
            Self::Z64 => 8,
            Self::Z128 => 16,
        }
    }
}

/// A ring Z_2^k with k = [`Ring::BITS`], as wrapping machine integers.
///
/// Element-wise operations are the ring operations. Conversions to and from signed integers use
/// two's complement: the "signed value" of `x` lies in [-2^(k-1), 2^(k-1)).
pub trait Ring:
    Copy
    + Default
    + Eq
    + Send
    + Sync
    + Zeroize
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
{
    /// k, the number of bits.
    const BITS: u32;
    /// Bytes per element on the wire (little endian).
    const BYTES: usize;
    /// The wire identifier.
    const ID: RingId;
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;

    /// The element congruent to `v`.
    fn from_u64(v: u64) -> Self;
    /// The element congruent to `v` (two's complement).
    fn from_i64(v: i64) -> Self;
    /// The element congruent to `v`, which must fit in the ring's signed range
    /// (callers check; the value is reduced mod 2^k otherwise).
    fn from_i128_wrapping(v: i128) -> Self;
    /// The signed value as `f64` (rounded to 53 bits of mantissa).
    fn to_signed_f64(self) -> f64;
    /// The signed value if it fits in an `i128` (always for both rings here).
    fn to_i128(self) -> i128;
    /// The low 64 bits.
    fn low_u64(self) -> u64;
    /// Logical right shift by `s` < k.
    fn shr(self, s: u32) -> Self;
    /// Left shift by `s` < k.
    fn shl(self, s: u32) -> Self;
    /// Bit `i` (0 = least significant) as 0 or 1.
    fn bit(self, i: u32) -> u64;
    /// The most significant bit.
    fn msb(self) -> bool {
        self.bit(Self::BITS - 1) == 1
    }
    /// The element reduced mod 2^`bits` (bits ≤ k).
    fn low_bits(self, bits: u32) -> Self;
    /// 2^`e` for e < k.
    fn pow2(e: u32) -> Self {
        Self::ONE.shl(e)
    }
    /// A uniformly random element.
    fn random<G: Rng + ?Sized>(rng: &mut G) -> Self;
    /// Fills `out` with uniformly random elements.
    fn fill_random<G: Rng + ?Sized>(rng: &mut G, out: &mut [Self]);
    /// Appends the little-endian encoding of `xs` to `out`.
    fn write_le(xs: &[Self], out: &mut Vec<u8>);
    /// Decodes `bytes.len() / BYTES` elements; `bytes.len()` must be a multiple of `BYTES`
    /// (checked by the caller, [`crate::wire`]).
    fn read_le(bytes: &[u8]) -> Vec<Self>;
}

macro_rules! ring_impl {
    ($name:ident, $int:ty, $sint:ty, $bits:expr, $id:expr, $doc:expr) => {
        #[doc = $doc]
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Zeroize)]
        #[repr(transparent)]
        pub struct $name(pub $int);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // A bare ring element is public (an opened value or a constant); shares are
                // wrapped in types without `Debug`.
                write!(f, "{}({:#x})", stringify!($name), self.0)
            }
        }

        impl Add for $name {
            type Output = Self;
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                Self(self.0.wrapping_add(o.0))
            }
        }
        impl Sub for $name {
            type Output = Self;
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                Self(self.0.wrapping_sub(o.0))
            }
        }
        impl Mul for $name {
            type Output = Self;
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                Self(self.0.wrapping_mul(o.0))
            }
        }
        impl Neg for $name {
            type Output = Self;
            #[inline(always)]
            fn neg(self) -> Self {
                Self(self.0.wrapping_neg())
            }
        }
        impl AddAssign for $name {
            #[inline(always)]
            fn add_assign(&mut self, o: Self) {
                self.0 = self.0.wrapping_add(o.0);
            }
        }
        impl SubAssign for $name {
            #[inline(always)]
            fn sub_assign(&mut self, o: Self) {
                self.0 = self.0.wrapping_sub(o.0);
            }
        }
        impl MulAssign for $name {
            #[inline(always)]
            fn mul_assign(&mut self, o: Self) {
                self.0 = self.0.wrapping_mul(o.0);
            }
        }

        impl Ring for $name {
            const BITS: u32 = $bits;
            const BYTES: usize = $bits / 8;
            const ID: RingId = $id;
            const ZERO: Self = Self(0);
            const ONE: Self = Self(1);

            #[inline(always)]
            fn from_u64(v: u64) -> Self {
                Self(v as $int)
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                Self(v as $sint as $int)
            }
            #[inline(always)]
            fn from_i128_wrapping(v: i128) -> Self {
                Self(v as $int)
            }
            #[inline(always)]
            fn to_signed_f64(self) -> f64 {
                (self.0 as $sint) as f64
            }
            #[inline(always)]
            fn to_i128(self) -> i128 {
                (self.0 as $sint) as i128
            }
            #[inline(always)]
            fn low_u64(self) -> u64 {
                self.0 as u64
            }
            #[inline(always)]
            fn shr(self, s: u32) -> Self {
                Self(self.0.checked_shr(s).unwrap_or(0))
            }
            #[inline(always)]
            fn shl(self, s: u32) -> Self {
                Self(self.0.checked_shl(s).unwrap_or(0))
            }
            #[inline(always)]
            fn bit(self, i: u32) -> u64 {
                (self.0.checked_shr(i).unwrap_or(0) & 1) as u64
            }
            #[inline(always)]
            fn low_bits(self, bits: u32) -> Self {
                if bits >= $bits {
                    self
                } else {
                    Self(self.0 & ((1 as $int).wrapping_shl(bits).wrapping_sub(1)))
                }
            }
            fn random<G: Rng + ?Sized>(rng: &mut G) -> Self {
                let mut b = [0u8; $bits / 8];
                rng.fill_bytes(&mut b);
                Self(<$int>::from_le_bytes(b))
            }
            fn fill_random<G: Rng + ?Sized>(rng: &mut G, out: &mut [Self]) {
                const CHUNK: usize = 512;
                let mut buf = [0u8; CHUNK * ($bits / 8)];
                for block in out.chunks_mut(CHUNK) {
                    let used = block.len() * ($bits / 8);
                    let bytes = buf.get_mut(..used).unwrap_or_default();
                    rng.fill_bytes(bytes);
                    for (x, c) in block.iter_mut().zip(bytes.chunks_exact($bits / 8)) {
                        let mut a = [0u8; $bits / 8];
                        a.copy_from_slice(c);
                        *x = Self(<$int>::from_le_bytes(a));
                    }
                }
                buf.zeroize();
            }
            fn write_le(xs: &[Self], out: &mut Vec<u8>) {
                out.reserve(xs.len() * ($bits / 8));
                for x in xs {
                    out.extend_from_slice(&x.0.to_le_bytes());
                }
            }
            fn read_le(bytes: &[u8]) -> Vec<Self> {
                bytes
                    .chunks_exact($bits / 8)
                    .map(|c| {
                        let mut a = [0u8; $bits / 8];
                        a.copy_from_slice(c);
                        Self(<$int>::from_le_bytes(a))
                    })
                    .collect()
            }
        }
    };
}

ring_impl!(Z64, u64, i64, 64, RingId::Z64, "An element of Z_2^64.");
ring_impl!(
    Z128,
    u128,
    i128,
    128,
    RingId::Z128,
    "An element of Z_2^128."
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn laws<R: Ring + fmt::Debug>(a: R, b: R, c: R) {
        assert_eq!(a + b, b + a);
        assert_eq!(a * b, b * a);
        assert_eq!((a + b) + c, a + (b + c));
        assert_eq!((a * b) * c, a * (b * c));
        assert_eq!(a * (b + c), a * b + a * c);
        #[allow(clippy::eq_op, reason = "the law under test")]
        let zero = a - a;
        assert_eq!(zero, R::ZERO);
        assert_eq!(a + (-a), R::ZERO);
        assert_eq!(a * R::ONE, a);
        let mut v = Vec::new();
        R::write_le(&[a, b], &mut v);
        assert_eq!(R::read_le(&v), vec![a, b]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn z64_ring_laws(a: u64, b: u64, c: u64) {
            laws(Z64(a), Z64(b), Z64(c));
        }
        #[test]
        fn z128_ring_laws(a: u128, b: u128, c: u128) {
            laws(Z128(a), Z128(b), Z128(c));
        }
        #[test]
        fn signed_round_trip(v: i64) {
            prop_assert_eq!(Z64::from_i64(v).to_i128(), v as i128);
            prop_assert_eq!(Z128::from_i64(v).to_i128(), v as i128);
        }
        #[test]
        fn low_bits_and_shifts(a: u64, s in 0u32..64) {
            let x = Z64(a);
            prop_assert_eq!(x.low_bits(s).0, if s == 0 { 0 } else { a & (u64::MAX >> (64 - s)) });
            prop_assert_eq!(x.shr(s).0, a >> s);
            prop_assert_eq!(x.shl(s).0, a << s);
            prop_assert_eq!(x.bit(s), (a >> s) & 1);
        }
    }

    #[test]
    fn msb_and_pow2() {
        assert!(Z64(1 << 63).msb());
        assert!(!Z64((1 << 63) - 1).msb());
        assert_eq!(Z128::pow2(100).0, 1u128 << 100);
        assert!(Z128::from_i64(-1).msb());
    }
}
