//! Phenotype and covariate tables (in progress).
