//! # parties
//!
//! The igs-mpc party: site data, transport, daemon and the user binary.
//!
//! What it does today: reads a site's plaintext data ([`data`]: PLINK 1 filesets, phenotype and
//! covariate tables, PGS Catalog and plink2-style scoring files), harmonises a score against
//! the site's variants, and computes plink2-exact local polygenic scores ([`cli`] holds the
//! logic of the `igs-mpc` subcommands; the binary only parses arguments).
//!
//! What it never does: echo genotype values or phenotype values in errors or logs, or panic on
//! malformed site files (every parser returns a typed error naming file, line and column).
//!
//! ```text
//!   .bed/.bim/.fam ─► data::plink ─┐
//!   scoring file ───► data::pgs ───┼─► data::harmonize ─► data::genotypes ─► data::score ─► .sscore
//!   pheno/covar TSV ► data::pheno ─┘     (per-variant report,   (effect-allele     (plink2
//!                                          overlap check)        dosages, blocks)   semantics)
//! ```

pub mod cli;
pub mod data;
pub mod report;
