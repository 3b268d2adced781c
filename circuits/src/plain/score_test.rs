//! Binary-trait GWAS score test (issue 6), plaintext reference.
//!
//! Definition (also `tools/score_test_reference.py`, output `data/small/derived/`):
//! null model Logit(y ~ 1 + covariates) fitted once on all samples by Newton's method;
//! μ = fitted probabilities, w = μ(1 − μ). Per variant, missing calls are imputed with the
//! mean ALT dosage of the non-missing calls (pooled over all samples given);
//! U = Σ gᵢ(yᵢ − μᵢ), V = Σ gᵢ² wᵢ − b'(X'WX)⁻¹b with b = Σ gᵢ wᵢ xᵢ, T = U²/V ~ χ²₁.

use super::cox::invert;
use super::qc::MISSING;

/// The fitted null model.
#[derive(Clone, Debug)]
pub struct ScoreNull {
    /// Design rows (1, covariates...), sample-major, `dim` per sample.
    x: Vec<f64>,
    /// Columns of the design (covariates + 1).
    dim: usize,
    /// Outcome minus fitted probability.
    resid: Vec<f64>,
    /// μ(1 − μ).
    w: Vec<f64>,
    /// (X'WX)⁻¹, row-major.
    inv: Vec<f64>,
    /// Null-model coefficients (intercept first).
    pub beta: Vec<f64>,
}

/// One variant's score test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRow {
    /// Score U.
    pub u: f64,
    /// Variance V of U under the null.
    pub v: f64,
    /// U²/V, or `None` when V is numerically 0 (monomorphic).
    pub t: Option<f64>,
}

/// X'WX and X'(y − μ) at `beta`, with μ and w.
fn moments(
    x: &[f64],
    dim: usize,
    y: &[f64],
    beta: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut info = vec![0.0; dim * dim];
    let mut grad = vec![0.0; dim];
    let mut mu = Vec::with_capacity(y.len());
    let mut w = Vec::with_capacity(y.len());
    for (row, &yi) in x.chunks_exact(dim).zip(y) {
        let eta: f64 = row.iter().zip(beta).map(|(a, b)| a * b).sum();
        let p = 1.0 / (1.0 + (-eta).exp());
        let wi = p * (1.0 - p);
        for (g, &a) in grad.iter_mut().zip(row) {
            *g += a * (yi - p);
        }
        for (r, &a) in row.iter().enumerate() {
            for (c, &b) in row.iter().enumerate() {
                if let Some(v) = info.get_mut(r * dim + c) {
                    *v += wi * a * b;
                }
            }
        }
        mu.push(p);
        w.push(wi);
    }
    (info, grad, mu, w)
}

impl ScoreNull {
    /// Fits Logit(y ~ 1 + covariates) (`covariates` sample-major, `n_cov` per sample, y 0/1)
    /// by Newton's method from β = 0 until the largest step is below 1e-12 (at most 100
    /// steps). `None` on a shape mismatch or a singular information matrix.
    pub fn fit(covariates: &[f64], n_cov: usize, y: &[f64]) -> Option<Self> {
        if covariates.len() != y.len() * n_cov {
            return None;
        }
        let dim = n_cov + 1;
        let x: Vec<f64> = covariates
            .chunks(n_cov.max(1))
            .take(y.len())
            .flat_map(|c| std::iter::once(1.0).chain(c.iter().copied().take(n_cov)))
            .collect();
        let mut beta = vec![0.0; dim];
        for _ in 0..100 {
            let (info, grad, _, _) = moments(&x, dim, y, &beta);
            let inv = invert(&info, dim)?;
            let step: Vec<f64> = inv
                .chunks_exact(dim)
                .map(|r| r.iter().zip(&grad).map(|(a, b)| a * b).sum())
                .collect();
            let mut max = 0.0f64;
            for (b, s) in beta.iter_mut().zip(&step) {
                *b += s;
                max = max.max(s.abs());
            }
            if max < 1e-12 {
                break;
            }
        }
        let (info, _, mu, w) = moments(&x, dim, y, &beta);
        let inv = invert(&info, dim)?;
        let resid = y.iter().zip(&mu).map(|(a, b)| a - b).collect();
        Some(Self {
            x,
            dim,
            resid,
            w,
            inv,
            beta,
        })
    }

    /// Score test of one variant (`dosages` 0/1/2 or [`MISSING`], one per sample in the
    /// order given to [`ScoreNull::fit`]; missing calls mean-imputed). `None` on a length
    /// mismatch or when every call is missing.
    pub fn test(&self, dosages: &[i8]) -> Option<ScoreRow> {
        if dosages.len() != self.resid.len() {
            return None;
        }
        let (sum, cnt) = dosages
            .iter()
            .filter(|&&d| d != MISSING)
            .fold((0.0, 0u64), |(s, c), &d| (s + f64::from(d), c + 1));
        if cnt == 0 {
            return None;
        }
        #[allow(
            clippy::cast_precision_loss,
            reason = "sample counts are far below 2^53"
        )]
        let mean = sum / cnt as f64;
        let mut u = 0.0;
        let mut g2w = 0.0;
        let mut b = vec![0.0; self.dim];
        for (((&d, row), &r), &wi) in dosages
            .iter()
            .zip(self.x.chunks_exact(self.dim))
            .zip(&self.resid)
            .zip(&self.w)
        {
            let g = if d == MISSING { mean } else { f64::from(d) };
            u += g * r;
            g2w += g * g * wi;
            for (bk, &xk) in b.iter_mut().zip(row) {
                *bk += g * wi * xk;
            }
        }
        let quad: f64 = self
            .inv
            .chunks_exact(self.dim)
            .zip(&b)
            .map(|(row, bi)| bi * row.iter().zip(&b).map(|(a, c)| a * c).sum::<f64>())
            .sum();
        let v = g2w - quad;
        let t = (v > 1e-12 * g2w.max(1e-300)).then(|| u * u / v);
        Some(ScoreRow { u, v, t })
    }
}
