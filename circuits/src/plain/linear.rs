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
    /// A dosage other than 0, 1, 2 or missing.
    Dosage(i8),
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
            Self::Dosage(d) => write!(f, "dosage {d} is not 0, 1, 2 or missing"),
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

    /// Statistics of one site's data (all variants at once; [`StatsBuilder`] streams).
    pub fn compute(data: &LinearData<'_>) -> Result<Self, LinearError> {
        let n = data.n_samples;
        if n == 0 || !data.dosages.len().is_multiple_of(n) {
            return Err(LinearError::Shape {
                what: "dosages",
                expected: n,
                actual: data.dosages.len(),
            });
        }
        let mut b = StatsBuilder::new(n, data.covariates, data.n_cov, data.phenotype)?;
        b.push(data.dosages)?;
        Ok(b.finish())
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

/// Streaming [`SufficientStats`]: the covariate part is summed once, then each pushed variant
/// costs one pass over its calls.
///
/// With w' = (1, c, y) per sample, the Gram matrix over all complete samples T = Σ w'w'ᵀ is
/// computed once. For a variant, a pass over its calls sums w' separately over the samples
/// with dosage 1, with dosage 2 and with a missing call (also their outer products, for the
/// missing ones only). Then, over the non-missing samples: the (w', w') block is T minus the
/// missing samples' outer products, Σ g·w' = S₁ + 2·S₂, Σ g² = n₁ + 4·n₂. Samples with
/// dosage 0 cost one comparison. The result equals the direct sum up to f64 rounding order.
pub struct StatsBuilder {
    n: usize,
    k: usize,
    /// Sample-major w' = (1, c_1..c_k, y), `n × (k + 2)`.
    rows: Vec<f64>,
    /// Packed Gram of w' over every sample.
    total: Vec<f64>,
    out: SufficientStats,
}

impl StatsBuilder {
    /// A builder for `n_samples` complete cases (sample-major covariates, `n_cov` per sample).
    pub fn new(
        n_samples: usize,
        covariates: &[f64],
        n_cov: usize,
        phenotype: &[f64],
    ) -> Result<Self, LinearError> {
        let (n, k) = (n_samples, n_cov);
        check_len("covariates", n * k, covariates.len())?;
        check_len("phenotype", n, phenotype.len())?;
        if n == 0 {
            return Err(LinearError::Shape {
                what: "samples",
                expected: 1,
                actual: 0,
            });
        }
        if !covariates.iter().all(|v| v.is_finite()) {
            return Err(LinearError::NotFinite { what: "covariates" });
        }
        if !phenotype.iter().all(|v| v.is_finite()) {
            return Err(LinearError::NotFinite { what: "phenotype" });
        }
        let wd = k + 2;
        let mut rows = Vec::with_capacity(n * wd);
        for (i, &y) in phenotype.iter().enumerate() {
            rows.push(1.0);
            rows.extend_from_slice(covariates.get(i * k..(i + 1) * k).unwrap_or(&[]));
            rows.push(y);
        }
        let mut total = vec![0.0; entries(wd)];
        for w in rows.chunks_exact(wd) {
            add_outer(&mut total, w);
        }
        Ok(Self {
            n,
            k,
            rows,
            total,
            out: SufficientStats {
                n_cov: k,
                n_variants: 0,
                obs: Vec::new(),
                gram: Vec::new(),
            },
        })
    }

    /// Adds variants: variant-major ALT dosages (0, 1, 2 or [`MISSING`]), a multiple of
    /// `n_samples` long.
    pub fn push(&mut self, dosages: &[i8]) -> Result<(), LinearError> {
        if !dosages.len().is_multiple_of(self.n) {
            return Err(LinearError::Shape {
                what: "dosages",
                expected: self.n,
                actual: dosages.len(),
            });
        }
        let (k, wd) = (self.k, self.k + 2);
        let dim = k + 3;
        let t = entries(dim);
        let mut miss_outer = vec![0.0; entries(wd)];
        let mut sums = vec![0.0; 3 * wd];
        for g in dosages.chunks_exact(self.n) {
            miss_outer.fill(0.0);
            sums.fill(0.0);
            let mut n_miss = 0u64;
            for (&d, w) in g.iter().zip(self.rows.chunks_exact(wd)) {
                let slot = match d {
                    0 => continue,
                    1 => 0,
                    2 => 1,
                    MISSING => {
                        n_miss += 1;
                        add_outer(&mut miss_outer, w);
                        2
                    }
                    _ => return Err(LinearError::Dosage(d)),
                };
                if let Some(acc) = sums.get_mut(slot * wd..(slot + 1) * wd) {
                    for (a, &x) in acc.iter_mut().zip(w) {
                        *a += x;
                    }
                }
            }
            let s = |slot: usize, l: usize| sums.get(slot * wd + l).copied().unwrap_or(0.0);
            // Index of w' entry l in w = (1, c, g, y).
            let full = |l: usize| if l <= k { l } else { k + 2 };
            let mut gram = vec![0.0; t];
            for l in 0..wd {
                for m in l..wd {
                    let v = self.total.get(tri(wd, l, m)).copied().unwrap_or(0.0)
                        - miss_outer.get(tri(wd, l, m)).copied().unwrap_or(0.0);
                    if let Some(e) = gram.get_mut(tri(dim, full(l), full(m))) {
                        *e = v;
                    }
                }
                if let Some(e) = gram.get_mut(tri(dim, full(l), k + 1)) {
                    *e = s(0, l) + 2.0 * s(1, l);
                }
            }
            if let Some(e) = gram.get_mut(tri(dim, k + 1, k + 1)) {
                *e = s(0, 0) + 4.0 * s(1, 0);
            }
            self.out.obs.push(self.n as u64 - n_miss);
            self.out.gram.extend_from_slice(&gram);
            self.out.n_variants += 1;
        }
        Ok(())
    }

    /// The statistics of every variant pushed, in order.
    pub fn finish(self) -> SufficientStats {
        self.out
    }
}

/// acc += w wᵀ (packed upper triangle).
fn add_outer(acc: &mut [f64], w: &[f64]) {
    let mut idx = 0;
    for (l, &wl) in w.iter().enumerate() {
        for &wm in w.iter().skip(l) {
            if let Some(o) = acc.get_mut(idx) {
                *o += wl * wm;
            }
            idx += 1;
        }
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

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    /// The definition: Σ over non-missing samples of w wᵀ with w = (1, c, g, y).
    fn direct(n: usize, k: usize, dos: &[i8], cov: &[f64], y: &[f64]) -> (Vec<u64>, Vec<f64>) {
        let dim = k + 3;
        let mut obs = Vec::new();
        let mut gram = Vec::new();
        for g in dos.chunks_exact(n) {
            let mut out = vec![0.0; entries(dim)];
            let mut count = 0;
            for i in 0..n {
                if g[i] == MISSING {
                    continue;
                }
                count += 1;
                let mut w = vec![1.0];
                w.extend_from_slice(&cov[i * k..(i + 1) * k]);
                w.push(f64::from(g[i]));
                w.push(y[i]);
                add_outer(&mut out, &w);
            }
            obs.push(count);
            gram.extend(out);
        }
        (obs, gram)
    }

    #[test]
    fn builder_equals_the_direct_sums() {
        let (n, k, m) = (57, 3, 11);
        let mut state = 0x1234_5678_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let dos: Vec<i8> = (0..n * m)
            .map(|_| match next() % 10 {
                0 => MISSING,
                r => (r % 3) as i8,
            })
            .collect();
        let cov: Vec<f64> = (0..n * k).map(|_| (next() % 1000) as f64 / 7.0).collect();
        let y: Vec<f64> = (0..n)
            .map(|_| (next() % 1000) as f64 / 13.0 - 30.0)
            .collect();
        let got = SufficientStats::compute(&LinearData {
            n_samples: n,
            dosages: &dos,
            covariates: &cov,
            n_cov: k,
            phenotype: &y,
        })
        .unwrap();
        let (obs, gram) = direct(n, k, &dos, &cov, &y);
        assert_eq!(got.obs, obs);
        assert_eq!(got.gram.len(), gram.len());
        for (a, b) in got.gram.iter().zip(&gram) {
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
        }
        // Streaming in two pushes gives the same.
        let mut b = StatsBuilder::new(n, &cov, k, &y).unwrap();
        b.push(&dos[..5 * n]).unwrap();
        b.push(&dos[5 * n..]).unwrap();
        assert_eq!(b.finish(), got);
        // A dosage that is not 0, 1, 2 or missing is refused.
        let mut bad = dos.clone();
        bad[3] = 5;
        assert!(
            SufficientStats::compute(&LinearData {
                n_samples: n,
                dosages: &bad,
                covariates: &cov,
                n_cov: k,
                phenotype: &y,
            })
            .is_err()
        );
    }
}
