//! Genomic analyses (QC, GWAS, PRS fitting, scoring, IGS models, evaluation) written over
//! protocols, with plaintext references.
//!
//! Pure logic: no files, sockets or clock. Site data come in as typed values (dosage slices,
//! covariate matrices) that `parties` reads; results go back as typed rows that `parties`
//! writes.
//!
//! ```text
//!  site s (plaintext)                    MPC (shares, all parties)                 plaintext
//!  dosages, covariates ──local sums──► input() ──Σ over sites──► solve/compare ──► open ──► rows
//! ```
//!
//! Modules: [`plain`] (references), [`qc`] (pooled QC), [`gwas`] (pooled linear GWAS),
//! [`fit`] (PRS weight fitting: pooled standardisation, ridge), [`score`] (secret-weight
//! scoring, PRS standardisation, linear and logistic IGS), [`cox`] (Cox proportional hazards
//! IGS, Breslow ties, by secure sort and Newton), [`evaluate`] (pooled AUC with
//! DeLong SE by secure shuffle and sort, calibration, Hosmer–Lemeshow, per-site R² and
//! Nagelkerke R²), [`cv`] (leave-one-site-out cross-validation of the ridge penalty),
//! [`disclosure`] (in-MPC disclosure checks: minimum cell count, dominance; one opened bit
//! each).

mod checks;
pub mod cox;
pub mod cv;
pub mod disclosure;
pub mod evaluate;
pub mod fit;
pub mod gwas;
pub mod plain;
pub mod qc;
pub mod score;
