//! Plaintext references (f64) for every secure circuit, checked against plink2 / statsmodels
//! outputs on the fixture data (`parties/tests/gwas_small.rs`).
//!
//! - [`stats`]: ln Γ, incomplete beta, Student-t P, Hardy–Weinberg exact test.
//! - [`qc`]: genotype counts, allele frequency, missingness, HWE P, QC filters.
//! - [`linear`]: per-variant OLS with covariates via pooled sufficient statistics.
//! - [`prs`]: standardisation, ridge, elastic net and leave-one-site-out R² from pooled
//!   aggregates.
//! - [`score`]: pooled scoring with mean imputation, standardisation, linear IGS (OLS).
//! - [`cox`]: Cox proportional hazards, Breslow ties, by Newton–Raphson.
//! - [`cv`]: leave-one-site-out cross-validation of the ridge penalty (centred folds).
//! - [`score_test`]: binary-trait GWAS score test (null Logit on covariates, U²/V).

pub mod cox;
pub mod cv;
pub mod linear;
pub mod prs;
pub mod qc;
pub mod score;
pub mod score_test;
pub mod stats;
