//! Genomic analyses (QC, GWAS, PRS fitting, scoring, IGS models, evaluation) written over protocols, with plaintext references.
