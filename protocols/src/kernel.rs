//! Plaintext ring kernels used by the protocols' local steps (and by the dealer).
//!
//! The matrix product is row-parallel with rayon: each output row is computed by one task in
//! a fixed order, so the result does not depend on scheduling.

use mpc_core::ring::Ring;
use rayon::prelude::*;

/// Rows per rayon task.
const ROW_BLOCK: usize = 8;
/// Inner-dimension block, to keep a slab of `b` in cache.
const K_BLOCK: usize = 256;

/// C = A·B for row-major A (m×k) and B (k×n), in the ring, using all rayon threads.
pub fn matmul<R: Ring>(a: &[R], b: &[R], m: usize, k: usize, n: usize) -> Vec<R> {
    let mut c = vec![R::ZERO; m * n];
    if n == 0 || k == 0 {
        return c;
    }
    c.par_chunks_mut(ROW_BLOCK * n)
        .enumerate()
        .for_each(|(blk, cblock)| {
            let row0 = blk * ROW_BLOCK;
            matmul_rows(a, b, k, n, row0, cblock);
        });
    c
}

/// The same product on the calling thread only (plaintext baselines in benches).
pub fn matmul_single_thread<R: Ring>(a: &[R], b: &[R], m: usize, k: usize, n: usize) -> Vec<R> {
    let mut c = vec![R::ZERO; m * n];
    if n == 0 || k == 0 {
        return c;
    }
    for (blk, cblock) in c.chunks_mut(ROW_BLOCK * n).enumerate() {
        matmul_rows(a, b, k, n, blk * ROW_BLOCK, cblock);
    }
    c
}

fn matmul_rows<R: Ring>(a: &[R], b: &[R], k: usize, n: usize, row0: usize, cblock: &mut [R]) {
    for k0 in (0..k).step_by(K_BLOCK) {
        let k1 = (k0 + K_BLOCK).min(k);
        for (r, crow) in cblock.chunks_mut(n).enumerate() {
            let arow = a
                .get((row0 + r) * k..(row0 + r + 1) * k)
                .unwrap_or_default();
            for (kk, &aik) in arow.iter().enumerate().take(k1).skip(k0) {
                let brow = b.get(kk * n..(kk + 1) * n).unwrap_or_default();
                for (cj, &bj) in crow.iter_mut().zip(brow) {
                    *cj += aik * bj;
                }
            }
        }
    }
}

/// y = A·x for row-major A (m×k), parallel over rows.
pub fn matvec<R: Ring>(a: &[R], x: &[R], m: usize, k: usize) -> Vec<R> {
    (0..m)
        .into_par_iter()
        .map(|i| {
            a.get(i * k..(i + 1) * k)
                .unwrap_or_default()
                .iter()
                .zip(x)
                .fold(R::ZERO, |s, (&p, &q)| s + p * q)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpc_core::ring::Z64;

    #[test]
    fn matmul_matches_naive() {
        let (m, k, n) = (13, 300, 7);
        let a: Vec<Z64> = (0..m * k)
            .map(|i| Z64((i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .collect();
        let b: Vec<Z64> = (0..k * n)
            .map(|i| Z64((i as u64 + 3).wrapping_mul(0xff51_afd7)))
            .collect();
        let c = matmul(&a, &b, m, k, n);
        let c1 = matmul_single_thread(&a, &b, m, k, n);
        for i in 0..m {
            for j in 0..n {
                let mut s = Z64(0);
                for t in 0..k {
                    s += a[i * k + t] * b[t * n + j];
                }
                assert_eq!(c[i * n + j], s);
                assert_eq!(c1[i * n + j], s);
            }
        }
        let x: Vec<Z64> = b.iter().take(k).copied().collect();
        let y = matvec(&a, &x, m, k);
        let y2 = matmul(&a, &x, m, k, 1);
        assert_eq!(y, y2);
    }
}
