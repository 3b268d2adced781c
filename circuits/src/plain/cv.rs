//! Plaintext reference of the leave-one-site-out cross-validation of the ridge penalty
//! ([`crate::cv`]), from the sites' aggregates ([`SiteAggregates`]).
//!
//! **Definition** (what `tools/loso_ridge_reference.py` computes with scikit-learn). Z is the
//! pooled standardisation of every variant (data/small/README.md §4d; the folds do not
//! re-standardise). Fold s trains scikit-learn's `Ridge(alpha = λ, fit_intercept = True)` on
//! the rows of every other site and predicts site s; its validation R² is
//! 1 − Σ_{i∈s}(y_i − ŷ_i)² / Σ_{i∈s}(y_i − ȳ_s)² (scikit-learn's `r2_score`). The chosen λ
//! maximises the mean of the fold R² over the sites (the first of equal means).
//!
//! **From aggregates.** With n_t = N − n_s training rows, u_s = Z_s'1/N and
//! ȳ_t = (Σy − Σ_s y)/n_t, the centred training system (everything divided by N) is
//! (G − G_s − (N/n_t) u_s u_s' + (λ/N) I) β = b − b_s + ȳ_t u_s (the pooled column sums of Z are
//! 0, so the training column means are −(N/n_t) u_s), the intercept is
//! b0 = ȳ_t + (N/n_t) u_s'β, and
//! RSS_s/N = yy_s/N − 2 b0 Σ_s y/N + (n_s/N) b0² − 2 β'b_s + 2 b0 β'u_s + β'G_sβ.

use super::prs::{SiteAggregates, matvec, ridge_cg};

/// The leave-one-site-out result.
#[derive(Clone, Debug, PartialEq)]
pub struct Loso {
    /// Validation R², fold-major: `fold_r2[s][l]` for site s held out and λ_l.
    pub fold_r2: Vec<Vec<f64>>,
    /// Mean over the folds, per λ.
    pub mean_r2: Vec<f64>,
    /// Index of the chosen λ (largest mean; the first of equal means).
    pub chosen: usize,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Sum of every site's aggregates.
fn pooled(sites: &[SiteAggregates]) -> Option<SiteAggregates> {
    let mut it = sites.iter();
    let mut acc = it.next()?.clone();
    for s in it {
        acc.add(s);
    }
    Some(acc)
}

/// Leave-one-site-out validation R² of ridge for every λ, each fold solved by `iters`
/// conjugate-gradient steps from 0 (enough steps give the exact solution in f64).
pub fn ridge_loso(sites: &[SiteAggregates], lambdas: &[f64], iters: usize) -> Option<Loso> {
    let all = pooled(sites)?;
    let nt = all.n as f64;
    let p = all.n_variants();
    let mut fold_r2 = Vec::with_capacity(sites.len());
    for s in sites {
        let n_train = nt - s.n as f64;
        let k = nt / n_train;
        let ybar = (all.ysum - s.ysum) / n_train;
        let mut g: Vec<f64> = all.gram.iter().zip(&s.gram).map(|(a, b)| a - b).collect();
        for (j, row) in g.chunks_exact_mut(p.max(1)).enumerate() {
            let uj = s.zsum.get(j).copied().unwrap_or(0.0);
            for (x, uk) in row.iter_mut().zip(&s.zsum) {
                *x -= k * uj * uk;
            }
        }
        let b: Vec<f64> = all
            .zty
            .iter()
            .zip(&s.zty)
            .zip(&s.zsum)
            .map(|((a, bs), u)| a - bs + ybar * u)
            .collect();
        let row: Vec<f64> = lambdas
            .iter()
            .map(|&lam| {
                let (beta, _) = ridge_cg(&g, &b, lam / nt, iters);
                let b0 = ybar + k * dot(&s.zsum, &beta);
                let ns = s.n as f64;
                let rss = s.yy / nt - 2.0 * b0 * s.ysum / nt + ns / nt * b0 * b0
                    - 2.0 * dot(&beta, &s.zty)
                    + 2.0 * b0 * dot(&beta, &s.zsum)
                    + dot(&beta, &matvec(&s.gram, &beta));
                let tss = (s.yy - s.ysum * s.ysum / ns) / nt;
                1.0 - rss / tss
            })
            .collect();
        fold_r2.push(row);
    }
    let folds = sites.len() as f64;
    let mean_r2: Vec<f64> = (0..lambdas.len())
        .map(|l| fold_r2.iter().filter_map(|r| r.get(l)).sum::<f64>() / folds)
        .collect();
    let mut chosen = 0;
    for (l, &m) in mean_r2.iter().enumerate() {
        if mean_r2.get(chosen).is_some_and(|&best| m > best) {
            chosen = l;
        }
    }
    Some(Loso {
        fold_r2,
        mean_r2,
        chosen,
    })
}
