//! Plaintext site data: readers, harmonisation and local scoring.
//!
//! Every text parser is a function of a [`std::io::BufRead`] plus a display name for the source
//! (used only in error messages), so the same code serves files, in-memory buffers and fuzzers.
//! Errors carry a [`Location`] (file, 1-based line, 1-based column = field number) and describe
//! what was expected; they never contain the offending value, because site files may hold
//! genotype or phenotype data. Lines are limited to [`MAX_LINE_BYTES`] so a hostile file cannot
//! make a parser allocate without bound.
//!
//! Module map: [`plink`] (PLINK 1 `.bed/.bim/.fam`), [`vcf`] (VCF or BCF, plain or bgzipped, through
//! noodles, hard calls or `DS` dosages), [`pgs`] (scoring files), [`pheno`]
//! (phenotype/covariate tables), [`harmonize`] (score ↔ site variants), [`agree`] (one agreed
//! variant list across sites), [`genotypes`] (the
//! harmonised dosage matrix the secure circuits consume) and [`score`] (plink2 `--score`).

use core::fmt;

pub mod agree;
pub mod genotypes;
pub mod harmonize;
pub mod pgs;
pub mod pheno;
pub mod plink;
pub mod score;
pub mod vcf;

mod text;

/// Longest accepted text line, in bytes, including the line terminator.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Where in a text source something went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// Display name of the source (usually its path).
    pub source: String,
    /// 1-based line number.
    pub line: u64,
    /// 1-based column (field number), when the problem is in one field.
    pub column: Option<usize>,
}

impl Location {
    pub(crate) fn new(source: &str, line: u64, column: Option<usize>) -> Self {
        Self {
            source: source.to_owned(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(c) => write!(f, "{}:{}: column {c}", self.source, self.line),
            None => write!(f, "{}:{}", self.source, self.line),
        }
    }
}
