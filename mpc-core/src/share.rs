//! Additive secret shares of vectors and matrices over a [`Ring`], and XOR shares of bits.
//!
//! A party's share is meaningless alone: the secret is the sum (mod 2^k) of the shares of all
//! computing parties, or the XOR for [`SharedBits`]. Share types zeroize on drop and implement
//! neither `Debug` nor `Display`; the raw values are reached only through the `expose_*`
//! methods, whose names make every use visible in review (STYLE §4).
//!
//! Local linear operations (add, subtract, negate, multiply by a public value) need no
//! communication and live here; adding a public constant needs the party index (only one party
//! adds it) and lives in `protocols`.

use zeroize::Zeroize;

use crate::ring::Ring;

/// One party's additive share of a vector.
pub struct SharedVec<R: Ring> {
    data: Vec<R>,
}

impl<R: Ring> Drop for SharedVec<R> {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}

impl<R: Ring> Clone for SharedVec<R> {
    fn clone(&self) -> Self {
        Self {
            data: self.data.clone(),
        }
    }
}

impl<R: Ring> SharedVec<R> {
    /// Wraps this party's share values.
    pub fn from_share(data: Vec<R>) -> Self {
        Self { data }
    }

    /// A share of the zero vector (every party holds zeros).
    pub fn zeros(n: usize) -> Self {
        Self {
            data: vec![R::ZERO; n],
        }
    }

    /// Additive shares of a secret held by one dealer (e.g. a model owner outside the
    /// session): `n` shares of which the last `n − 1` are uniform (draw them from a CSPRNG),
    /// summing to `secret`. Any `n − 1` of them are independent of the secret.
    pub fn deal<G: rand_core::Rng + ?Sized>(secret: &[R], n: usize, rng: &mut G) -> Vec<Self> {
        let mut first = secret.to_vec();
        let mut out = Vec::with_capacity(n);
        for _ in 1..n {
            let mut r = vec![R::ZERO; secret.len()];
            R::fill_random(rng, &mut r);
            for (f, x) in first.iter_mut().zip(&r) {
                *f -= *x;
            }
            out.push(Self { data: r });
        }
        out.insert(0, Self { data: first });
        out
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// This party's share values (not the secret: the secret is the sum over parties).
    pub fn expose_share(&self) -> &[R] {
        &self.data
    }

    /// Mutable access to this party's share values, for local linear operations.
    pub fn expose_share_mut(&mut self) -> &mut [R] {
        &mut self.data
    }

    /// Entry-wise sum of two shared vectors of equal length.
    pub fn add(&self, o: &Self) -> Self {
        debug_assert_eq!(self.len(), o.len());
        Self {
            data: self
                .data
                .iter()
                .zip(&o.data)
                .map(|(&a, &b)| a + b)
                .collect(),
        }
    }

    /// Entry-wise difference.
    pub fn sub(&self, o: &Self) -> Self {
        debug_assert_eq!(self.len(), o.len());
        Self {
            data: self
                .data
                .iter()
                .zip(&o.data)
                .map(|(&a, &b)| a - b)
                .collect(),
        }
    }

    /// Negation.
    pub fn neg(&self) -> Self {
        Self {
            data: self.data.iter().map(|&a| -a).collect(),
        }
    }

    /// Multiplication by a public scalar (no truncation).
    pub fn scale(&self, c: R) -> Self {
        Self {
            data: self.data.iter().map(|&a| a * c).collect(),
        }
    }

    /// Entry-wise multiplication by a public vector (no truncation).
    pub fn mul_public(&self, c: &[R]) -> Self {
        debug_assert_eq!(self.len(), c.len());
        Self {
            data: self.data.iter().zip(c).map(|(&a, &b)| a * b).collect(),
        }
    }

    /// Concatenation of shared vectors (for batching several operations in one round).
    pub fn concat(parts: &[&Self]) -> Self {
        let mut data = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
        for p in parts {
            data.extend_from_slice(&p.data);
        }
        Self { data }
    }

    /// Splits into consecutive pieces of the given lengths (which must add up to `len`).
    pub fn split(&self, lens: &[usize]) -> Vec<Self> {
        let mut out = Vec::with_capacity(lens.len());
        let mut rest = self.data.as_slice();
        for &l in lens {
            let (head, tail) = rest.split_at(l.min(rest.len()));
            out.push(Self {
                data: head.to_vec(),
            });
            rest = tail;
        }
        out
    }

    /// Entries `start..start + len` (clamped to the vector).
    pub fn slice(&self, start: usize, len: usize) -> Self {
        let s = start.min(self.len());
        let e = (start + len).min(self.len());
        Self {
            data: self.data.get(s..e).unwrap_or_default().to_vec(),
        }
    }

    /// The vector with each entry repeated `times` times in a row.
    pub fn repeat_each(&self, times: usize) -> Self {
        let mut data = Vec::with_capacity(self.len() * times);
        for &x in &self.data {
            data.extend(std::iter::repeat_n(x, times));
        }
        Self { data }
    }

    /// Sums consecutive groups of `group` entries (`len` must be a multiple of `group`).
    pub fn sum_groups(&self, group: usize) -> Self {
        if group == 0 {
            return Self { data: Vec::new() };
        }
        Self {
            data: self
                .data
                .chunks(group)
                .map(|c| c.iter().fold(R::ZERO, |acc, &x| acc + x))
                .collect(),
        }
    }
}

/// One party's additive share of a row-major matrix.
pub struct SharedMat<R: Ring> {
    rows: usize,
    cols: usize,
    data: Vec<R>,
}

impl<R: Ring> Drop for SharedMat<R> {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}

impl<R: Ring> Clone for SharedMat<R> {
    fn clone(&self) -> Self {
        Self {
            rows: self.rows,
            cols: self.cols,
            data: self.data.clone(),
        }
    }
}

impl<R: Ring> SharedMat<R> {
    /// Wraps this party's share of a `rows × cols` row-major matrix. `None` if the length does
    /// not match the shape.
    pub fn from_share(rows: usize, cols: usize, data: Vec<R>) -> Option<Self> {
        (rows.checked_mul(cols)? == data.len()).then_some(Self { rows, cols, data })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// This party's share values, row-major.
    pub fn expose_share(&self) -> &[R] {
        &self.data
    }

    /// The matrix as a flat shared vector (row-major).
    pub fn into_vec(mut self) -> SharedVec<R> {
        SharedVec::from_share(std::mem::take(&mut self.data))
    }

    /// Reshapes a shared vector; `None` if the length does not match.
    pub fn from_vec(rows: usize, cols: usize, v: SharedVec<R>) -> Option<Self> {
        let mut v = v;
        let data = std::mem::take(&mut v.data);
        Self::from_share(rows, cols, data)
    }
}

/// One party's XOR share of a vector of bits, packed 64 to a word (bit i of the vector is bit
/// i % 64 of word i / 64). Bits past `len` in the last word are zero in every share.
pub struct SharedBits {
    len: usize,
    words: Vec<u64>,
}

impl Drop for SharedBits {
    fn drop(&mut self) {
        self.words.zeroize();
    }
}

impl Clone for SharedBits {
    fn clone(&self) -> Self {
        Self {
            len: self.len,
            words: self.words.clone(),
        }
    }
}

/// Number of 64-bit words that hold `n` bits.
pub fn words_for_bits(n: usize) -> usize {
    n.div_ceil(64)
}

/// Mask of the valid bits in the last word of an `n`-bit vector.
pub fn last_word_mask(n: usize) -> u64 {
    match n % 64 {
        0 => u64::MAX,
        r => (1u64 << r) - 1,
    }
}

impl SharedBits {
    /// Wraps this party's share; extra high bits of the last word are cleared. `None` if the
    /// number of words does not match `len`.
    pub fn from_share(len: usize, mut words: Vec<u64>) -> Option<Self> {
        if words.len() != words_for_bits(len) {
            return None;
        }
        if let Some(last) = words.last_mut() {
            *last &= last_word_mask(len);
        }
        Some(Self { len, words })
    }

    /// A share of the all-zero vector.
    pub fn zeros(len: usize) -> Self {
        Self {
            len,
            words: vec![0; words_for_bits(len)],
        }
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The packed share words.
    pub fn expose_words(&self) -> &[u64] {
        &self.words
    }

    /// XOR of two shared bit vectors (local).
    pub fn xor(&self, o: &Self) -> Self {
        Self {
            len: self.len,
            words: self
                .words
                .iter()
                .zip(&o.words)
                .map(|(a, b)| a ^ b)
                .collect(),
        }
    }

    /// AND with a public bit vector (local).
    pub fn and_public(&self, p: &[u64]) -> Self {
        Self {
            len: self.len,
            words: self.words.iter().zip(p).map(|(a, b)| a & b).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::Z64;

    #[test]
    fn split_concat_round_trip() {
        let v = SharedVec::from_share((0..10u64).map(Z64).collect());
        let parts = v.split(&[3, 7]);
        let w = SharedVec::concat(&[&parts[0], &parts[1]]);
        assert_eq!(w.expose_share(), v.expose_share());
        assert_eq!(v.sum_groups(5).expose_share(), &[Z64(10), Z64(35)]);
        assert_eq!(v.slice(8, 5).len(), 2);
    }

    #[test]
    fn dealt_shares_sum_to_the_secret() {
        use rand_chacha::ChaCha20Rng;
        use rand_core::SeedableRng;
        let secret: Vec<Z64> = (0..17u64)
            .map(|x| Z64(x.wrapping_mul(0x9e37_79b9)))
            .collect();
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        for n in 1..=4 {
            let shares = SharedVec::deal(&secret, n, &mut rng);
            assert_eq!(shares.len(), n);
            let mut sum = vec![Z64(0); secret.len()];
            for s in &shares {
                for (a, b) in sum.iter_mut().zip(s.expose_share()) {
                    *a += *b;
                }
            }
            assert_eq!(sum, secret);
            if n > 1 {
                // The dealt masks are not the secret (nor zero).
                assert_ne!(shares[1].expose_share(), &secret[..]);
            }
        }
    }

    #[test]
    fn bits_mask_tail() {
        let b = SharedBits::from_share(65, vec![u64::MAX, u64::MAX]).unwrap();
        assert_eq!(b.expose_words()[1], 1);
        assert!(SharedBits::from_share(65, vec![0]).is_none());
        assert!(SharedMat::<Z64>::from_share(2, 3, vec![Z64(0); 5]).is_none());
    }
}
