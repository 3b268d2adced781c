//! Plaintext per-variant linear regression, qt ~ 1 + covariates + dosage (OLS, t test), as
//! plink2 `--glm` on a quantitative trait: samples with a missing call of the variant are
//! dropped for that variant.
//!
//! The computation goes through per-variant **sufficient statistics**: the Gram matrix of
//! w = (1, c_1, …, c_k, g, y) over the samples with a non-missing call, plus their count. Sums
//! of Gram matrices over sites are the pooled Gram matrices, so the same statistics serve the
//! secure circuit ([`crate::gwas`]), which adds them in shared form.
//!
//! From the Gram matrix, Gaussian elimination of the k + 1 covariate pivots (intercept first:
//! that step is the centring) leaves the 2×2 Schur complement
//! S = [[g'Mg, g'My], [y'Mg, y'My]] with M the residual-maker of the covariates
//! (Frisch–Waugh–Lovell). Then BETA = S_gy / S_gg, RSS = S_yy − BETA·S_gy,
//! SE = √(RSS / (df·S_gg)) with df = n − k − 2, T = BETA / SE, P two-sided from Student t.

use core::fmt;

use super::stats::t_two_sided_ln_p;
use crate::plain::qc::MISSING;

/// Errors of the linear-regression inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinearError {
    /// A slice does not have the length the shapes imply.
    Shape {
        /// Which input.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        actual: usize,
    },
    /// A covariate or phenotype value is not finite (the caller drops incomplete samples).
    NotFinite {
        /// Which input.
        what: &'static str,
    },
    /// Statistics with different shapes were combined.
    Mismatch,
}

impl fmt::Display for LinearError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shape {
                what,
                expected,
                actual,
            } => write!(f, "{what} has {actual} entries, expected {expected}"),
            Self::NotFinite { what } => write!(f, "{what} holds a value that is not finite"),
            Self::Mismatch => write!(f, "sufficient statistics of different shapes"),
        }
    }
}

impl std::error::Error for LinearError {}

/// One site's (or the pooled) inputs: complete cases only (no missing covariate/phenotype).
#[derive(Clone, Copy, Debug)]
pub struct LinearData<'a> {
    /// Samples.
    pub n_samples: usize,
    /// Variant-major ALT dosages (0, 1, 2, or [`MISSING`]), n_variants × n_samples.
    pub dosages: &'a [i8],
    /// Sample-major covariates without the intercept, n_samples × n_cov.
    pub covariates: &'a [f64],
    /// Covariates per sample (k).
    pub n_cov: usize,
    /// Phenotype per sample.
    pub phenotype: &'a [f64],
}

/// Index of entry (l, m), l ≤ m, of a packed upper-triangular `dim`×`dim` matrix.
pub fn tri(dim: usize, l: usize, m: usize) -> usize {
    let (l, m) = if l <= m { (l, m) } else { (m, l) };
    l * dim - l * l.saturating_sub(1) / 2 + (m - l)
}

/// Per-variant sufficient statistics: the packed Gram matrix of (1, covariates, g, y) over
/// the samples with a non-missing call, and their count.
#[derive(Clone, Debug, PartialEq)]
pub struct SufficientStats {
    /// Covariates (k, intercept excluded).
    pub n_cov: usize,
    /// Variants.
    pub n_variants: usize,
    /// Non-missing calls per variant.
    pub obs: Vec<u64>,
    /// Variant-major packed Gram matrices, `n_variants × entries()`.
    pub gram: Vec<f64>,
}

impl SufficientStats {
    /// Side of the Gram matrix: k + 3.
    pub fn dim(&self) -> usize {
        self.n_cov + 3
    }

    /// Packed entries per variant: dim (dim + 1) / 2.
    pub fn entries(&self) -> usize {
        entries(self.dim())
    }

    /// Statistics of one site's data.
    pub fn compute(data: &LinearData<'_>) -> Result<Self, LinearError> {
        let (n, k) = (data.n_samples, data.n_cov);
        check_len("covariates", n * k, data.covariates.len())?;
        check_len("phenotype", n, data.phenotype.len())?;
        if n == 0 || !data.dosages.len().is_multiple_of(n) {
            return Err(LinearError::Shape {
                what: "dosages",
                expected: n,
                actual: data.dosages.len(),
            });
        }
        if !data.covariates.iter().all(|v| v.is_finite()) {
            return Err(LinearError::NotFinite { what: "covariates" });
        }
        if !data.phenotype.iter().all(|v| v.is_finite()) {
            return Err(LinearError::NotFinite { what: "phenotype" });
        }
        let n_variants = data.dosages.len() / n;
        let dim = k + 3;
        let t = entries(dim);
        // w_i = (1, c_i, g, y_i); g is filled per variant.
        let rows: Vec<Vec<f64>> = data
            .covariates
            .chunks_exact(k.max(1))
            .take(n)
            .zip(data.phenotype)
            .map(|(c, &y)| {
                let mut w = Vec::with_capacity(dim);
                w.push(1.0);
                w.extend_from_slice(if k == 0 { &[] } else { c });
                w.push(0.0);
                w.push(y);
                w
            })
            .collect();
        let mut obs = Vec::with_capacity(n_variants);
        let mut gram = vec![0.0; n_variants * t];
        for (g, out) in data.dosages.chunks_exact(n).zip(gram.chunks_exact_mut(t)) {
            let mut count = 0u64;
            for (&d, w) in g.iter().zip(&rows) {
                if d == MISSING {
                    continue;
                }
                count += 1;
                let mut w = w.clone();
                if let Some(slot) = w.get_mut(k + 1) {
                    *slot = f64::from(d);
                }
                let mut idx = 0;
                for (l, &wl) in w.iter().enumerate() {
                    for &wm in w.iter().skip(l) {
                        if let Some(o) = out.get_mut(idx) {
                            *o += wl * wm;
                        }
                        idx += 1;
                    }
                }
            }
            obs.push(count);
        }
        Ok(Self {
            n_cov: k,
            n_variants,
            obs,
            gram,
        })
    }

    /// Adds another site's statistics (pooling).
    pub fn add(&mut self, o: &Self) -> Result<(), LinearError> {
        if o.n_cov != self.n_cov || o.n_variants != self.n_variants {
            return Err(LinearError::Mismatch);
        }
        for (a, b) in self.obs.iter_mut().zip(&o.obs) {
            *a += b;
        }
        for (a, b) in self.gram.iter_mut().zip(&o.gram) {
            *a += b;
        }
        Ok(())
    }
}

/// dim (dim + 1) / 2.
pub fn entries(dim: usize) -> usize {
    dim * (dim + 1) / 2
}

fn check_len(what: &'static str, expected: usize, actual: usize) -> Result<(), LinearError> {
    if expected == actual {
        Ok(())
    } else {
        Err(LinearError::Shape {
            what,
            expected,
            actual,
        })
    }
}

/// One variant's result (plink2 `.glm.linear` columns; NaN where plink2 prints NA).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearRow {
    /// Samples used (non-missing calls).
    pub obs_ct: u64,
    /// Effect of one ALT copy.
    pub beta: f64,
    /// Its standard error.
    pub se: f64,
    /// BETA / SE.
    pub t_stat: f64,
    /// Two-sided P (0 when it underflows f64; see `ln_p`).
    pub p: f64,
    /// Natural log of P (finite far below the f64 range of P).
    pub ln_p: f64,
}

impl LinearRow {
    /// The row from BETA and u = RSS / S_gg (what the secure circuit reveals), with
    /// df = obs_ct − n_cov − 2.
    pub fn from_beta_u(obs_ct: u64, n_cov: usize, beta: f64, u: f64) -> Self {
        let df = obs_ct as f64 - n_cov as f64 - 2.0;
        let se = if df > 0.0 && u >= 0.0 {
            (u / df).sqrt()
        } else {
            f64::NAN
        };
        let t_stat = beta / se;
        let ln_p = t_two_sided_ln_p(t_stat, df);
        Self {
            obs_ct,
            beta,
            se,
            t_stat,
            p: ln_p.exp(),
            ln_p,
        }
    }
}

/// Solves every variant of pooled statistics in f64 (the reference).
pub fn solve(stats: &SufficientStats) -> Vec<LinearRow> {
    let dim = stats.dim();
    let p = stats.n_cov + 1;
    let at = |m: &[f64], l: usize, c: usize| m.get(tri(dim, l, c)).copied().unwrap_or(f64::NAN);
    stats
        .gram
        .chunks_exact(stats.entries())
        .zip(&stats.obs)
        .map(|(g, &obs)| {
            let mut m = g.to_vec();
            for i in 0..p {
                let inv = 1.0 / at(&m, i, i);
                for l in i + 1..dim {
                    let li = at(&m, i, l) * inv;
                    for c in l..dim {
                        let v = at(&m, l, c) - li * at(&m, i, c);
                        if let Some(e) = m.get_mut(tri(dim, l, c)) {
                            *e = v;
                        }
                    }
                }
            }
            let (sgg, sgy, syy) = (at(&m, p, p), at(&m, p, p + 1), at(&m, p + 1, p + 1));
            let beta = sgy / sgg;
            let u = (syy - beta * sgy) / sgg;
            LinearRow::from_beta_u(obs, stats.n_cov, beta, u)
        })
        .collect()
}
