//! Deterministic benchmark inputs: fixed seeds, so every run sees the same data.

use mpc_core::prg::Prg;

/// `n` reals uniform in [lo, hi), from the stream of `seed`.
pub fn uniform_reals(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    let mut p = Prg::insecure_from_u64(seed);
    // 53 random bits give a uniform double in [0, 1).
    let scale = (-53f64).exp2();
    (0..n)
        .map(|_| lo + (hi - lo) * ((p.next_u64() >> 11) as f64 * scale))
        .collect()
}

/// Plaintext f64 matrix product (row-major m×k by k×n), the real-valued reference.
pub fn matmul_f64(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0f64; m * n];
    if n == 0 {
        return c;
    }
    for (arow, crow) in a.chunks(k.max(1)).zip(c.chunks_mut(n)) {
        for (&aik, brow) in arow.iter().zip(b.chunks(n)) {
            for (cj, &bj) in crow.iter_mut().zip(brow) {
                *cj += aik * bj;
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reals_are_in_range_and_reproducible() {
        let a = uniform_reals(3, 1000, -1.0, 1.0);
        assert!(a.iter().all(|&x| (-1.0..1.0).contains(&x)));
        assert_eq!(a, uniform_reals(3, 1000, -1.0, 1.0));
        let mean = a.iter().sum::<f64>() / 1000.0;
        assert!(mean.abs() < 0.1);
    }

    #[test]
    fn f64_matmul_small() {
        let c = matmul_f64(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0], 2, 2, 2);
        assert_eq!(c, vec![19.0, 22.0, 43.0, 50.0]);
    }
}
