//! Plaintext references for [`crate::score`]: pooled scoring with mean imputation (plink2
//! `--score` default mode, `_SUM`), population standardisation, and the linear IGS model
//! (OLS with the covariates-only R²).

/// One site's effect-allele dosages, variant-major (`n_variants · n_samples`); a negative or
/// > 2 value is a missing call.
#[derive(Clone, Copy, Debug)]
pub struct SiteDosages<'a> {
    /// Samples at the site.
    pub n_samples: usize,
    /// Dosages, variant j at `j·n_samples..(j+1)·n_samples`.
    pub dosages: &'a [i8],
}

fn called(d: i8) -> bool {
    (0..=2).contains(&d)
}

/// Pooled scores (sites concatenated in order): Σ_j w_j x_ij with a missing x_ij replaced by
/// 2f_j, f_j the pooled effect-allele frequency over non-missing calls.
pub fn score_pooled(sites: &[SiteDosages<'_>], weights: &[f64]) -> Vec<f64> {
    let m = weights.len();
    let mut count = vec![0u64; m];
    let mut calls = vec![0u64; m];
    for s in sites {
        for (j, col) in s.dosages.chunks_exact(s.n_samples.max(1)).enumerate() {
            for &d in col.iter().filter(|&&d| called(d)) {
                if let (Some(c), Some(n)) = (count.get_mut(j), calls.get_mut(j)) {
                    *c += d as u64;
                    *n += 1;
                }
            }
        }
    }
    let two_f: Vec<f64> = count
        .iter()
        .zip(&calls)
        .map(|(&c, &n)| if n == 0 { 0.0 } else { c as f64 / n as f64 })
        .collect();
    let mut out = Vec::new();
    for s in sites {
        let mut sc = vec![0.0; s.n_samples];
        for ((col, &w), &tf) in s
            .dosages
            .chunks_exact(s.n_samples.max(1))
            .zip(weights)
            .zip(&two_f)
        {
            for (x, &d) in sc.iter_mut().zip(col) {
                *x += w * if called(d) { f64::from(d) } else { tf };
            }
        }
        out.extend(sc);
    }
    out
}

/// (mean, population SD, z-scores).
pub fn standardize(s: &[f64]) -> (f64, f64, Vec<f64>) {
    let n = s.len().max(1) as f64;
    let mean = s.iter().sum::<f64>() / n;
    let var = s.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    let sd = var.sqrt();
    (mean, sd, s.iter().map(|x| (x - mean) / sd).collect())
}

/// OLS outputs of the linear IGS model.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearFit {
    /// Coefficients: intercept, prs_z, covariates.
    pub coef: Vec<f64>,
    /// Standard errors.
    pub se: Vec<f64>,
    /// R².
    pub r2: f64,
    /// R² without prs_z.
    pub r2_covariates_only: f64,
    /// RSS / (n − p).
    pub sigma2: f64,
}

/// OLS(y ~ 1 + z + covariates) (covariates sample-major, `n_cov` per sample).
pub fn linear_igs(z: &[f64], covariates: &[f64], n_cov: usize, y: &[f64]) -> Option<LinearFit> {
    let n = y.len();
    let rows = |with_z: bool| -> Vec<Vec<f64>> {
        (0..n)
            .map(|i| {
                let mut r = vec![1.0];
                if with_z {
                    r.push(z.get(i).copied().unwrap_or(0.0));
                }
                r.extend(
                    covariates
                        .get(i * n_cov..(i + 1) * n_cov)
                        .unwrap_or_default(),
                );
                r
            })
            .collect()
    };
    let ybar = y.iter().sum::<f64>() / n as f64;
    let tss: f64 = y.iter().map(|v| (v - ybar) * (v - ybar)).sum();
    let full = ols(&rows(true), y)?;
    let cov = ols(&rows(false), y)?;
    let p = full.0.len();
    let sigma2 = full.2 / (n - p) as f64;
    Some(LinearFit {
        se: full.1.iter().map(|v| (sigma2 * v).sqrt()).collect(),
        coef: full.0,
        r2: 1.0 - full.2 / tss,
        r2_covariates_only: 1.0 - cov.2 / tss,
        sigma2,
    })
}

/// (β, diag((XᵀX)⁻¹), RSS) by Gauss–Jordan with partial pivoting.
fn ols(x: &[Vec<f64>], y: &[f64]) -> Option<(Vec<f64>, Vec<f64>, f64)> {
    let p = x.first()?.len();
    let w = 2 * p + 1;
    let mut a = vec![vec![0.0; w]; p];
    for (r, yi) in x.iter().zip(y) {
        for (k, row) in a.iter_mut().enumerate() {
            let rk = r.get(k).copied()?;
            for (l, &rl) in r.iter().enumerate() {
                *row.get_mut(l)? += rk * rl;
            }
            *row.get_mut(p)? += rk * yi;
        }
    }
    for (k, row) in a.iter_mut().enumerate() {
        *row.get_mut(p + 1 + k)? = 1.0;
    }
    for i in 0..p {
        let piv = (i..p).max_by(|&r, &s| {
            let abs = |k: usize| a.get(k).and_then(|row| row.get(i)).map_or(0.0, |v| v.abs());
            abs(r).total_cmp(&abs(s))
        })?;
        a.swap(i, piv);
        let d = *a.get(i)?.get(i)?;
        if d == 0.0 {
            return None;
        }
        let pivot: Vec<f64> = a.get(i)?.iter().map(|v| v / d).collect();
        for (l, row) in a.iter_mut().enumerate() {
            if l != i {
                let f = *row.get(i)?;
                for (v, pv) in row.iter_mut().zip(&pivot) {
                    *v -= f * pv;
                }
            }
        }
        *a.get_mut(i)? = pivot;
    }
    let beta: Vec<f64> = a.iter().map(|r| r.get(p).copied()).collect::<Option<_>>()?;
    let diag: Vec<f64> = a
        .iter()
        .enumerate()
        .map(|(k, r)| r.get(p + 1 + k).copied())
        .collect::<Option<_>>()?;
    let rss = x
        .iter()
        .zip(y)
        .map(|(r, yi)| {
            let fit: f64 = r.iter().zip(&beta).map(|(a, b)| a * b).sum();
            (yi - fit) * (yi - fit)
        })
        .sum();
    Some((beta, diag, rss))
}

/// Logistic regression of a 0/1 outcome on (1, z, covariates) by Newton's method from β = 0
/// for `iterations` steps: (β, SE from the information at the last iterate).
pub fn logistic_igs(
    z: &[f64],
    covariates: &[f64],
    n_cov: usize,
    y: &[f64],
    iterations: usize,
) -> Option<(Vec<f64>, Vec<f64>)> {
    let n = y.len();
    let x: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let mut r = vec![1.0, z.get(i).copied().unwrap_or(0.0)];
            r.extend(
                covariates
                    .get(i * n_cov..(i + 1) * n_cov)
                    .unwrap_or_default(),
            );
            r
        })
        .collect();
    let d = n_cov + 2;
    let mut beta = vec![0.0; d];
    let mut diag = vec![0.0; d];
    for _ in 0..iterations {
        // Weighted rows √w·x and working response so that one OLS step is a Newton step:
        // solve (XᵀWX) δ = Xᵀ(y − p) via rows scaled by √w and response (y − p)/√w.
        let mut xs = Vec::with_capacity(n);
        let mut rs = Vec::with_capacity(n);
        for (r, &yi) in x.iter().zip(y) {
            let eta: f64 = r.iter().zip(&beta).map(|(a, b)| a * b).sum();
            let p = 1.0 / (1.0 + (-eta).exp());
            let w = (p * (1.0 - p)).max(1e-300);
            let s = w.sqrt();
            xs.push(r.iter().map(|v| v * s).collect::<Vec<f64>>());
            rs.push((yi - p) / s);
        }
        let (delta, dg, _) = ols(&xs, &rs)?;
        for (b, dl) in beta.iter_mut().zip(&delta) {
            *b += dl;
        }
        diag = dg;
    }
    let se = diag.iter().map(|v| v.max(0.0).sqrt()).collect();
    Some((beta, se))
}
