//! The harmonised dosage matrix: what the secure circuits consume from a site.
//!
//! A [`Genotypes`] holds, for `n_variants` score variants and `n_samples` samples, the number of
//! copies of each variant's *named effect allele* (0, 1, 2) or [`MISSING`]. It is variant-major
//! (all samples of variant 0, then variant 1, …), like a SNP-major `.bed`, so blocks of variants
//! are contiguous slices. Dosages are stored as `i8`: `n_samples · n_variants` bytes.

use core::fmt;

pub use super::plink::MISSING;

/// Errors building or combining dosage matrices.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GenotypesError {
    /// The dosage vector length is not `n_samples · n_variants`.
    Shape {
        /// Expected length.
        expected: usize,
        /// Actual length.
        actual: usize,
    },
    /// A dosage is not 0, 1, 2 or [`MISSING`] (the value is not echoed).
    BadDosage {
        /// Variant index of the first bad value.
        variant: usize,
    },
    /// Matrices to concatenate have different variant counts.
    VariantCountMismatch {
        /// Variant count of the first matrix.
        expected: usize,
        /// Variant count of the offending matrix.
        found: usize,
        /// Index of the offending matrix.
        part: usize,
    },
}

impl fmt::Display for GenotypesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shape { expected, actual } => {
                write!(f, "dosage matrix has {actual} entries, expected {expected}")
            }
            Self::BadDosage { variant } => {
                write!(f, "variant {variant}: dosage outside 0..=2 and not missing")
            }
            Self::VariantCountMismatch {
                expected,
                found,
                part,
            } => write!(
                f,
                "matrix {part} has {found} variants, the first has {expected}"
            ),
        }
    }
}

impl std::error::Error for GenotypesError {}

/// Effect-allele dosages, variant-major, `i8` with [`MISSING`] for a missing call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Genotypes {
    n_samples: usize,
    n_variants: usize,
    dosages: Vec<i8>,
}

/// Per-variant counts of the named allele over non-missing calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlleleCounts {
    /// Copies of the named allele over non-missing calls.
    pub named_allele_count: u64,
    /// Alleles observed: 2 × non-missing calls.
    pub allele_obs: u64,
    /// Missing calls.
    pub missing_calls: u64,
}

impl AlleleCounts {
    /// Named-allele frequency `named_allele_count / allele_obs` (`None` without observations).
    pub fn frequency(&self) -> Option<f64> {
        (self.allele_obs > 0).then(|| self.named_allele_count as f64 / self.allele_obs as f64)
    }
}

/// A contiguous run of variants of a [`Genotypes`].
#[derive(Clone, Copy, Debug)]
pub struct GenotypeBlock<'a> {
    /// Index of the block's first variant in the whole matrix.
    pub first_variant: usize,
    /// Samples per variant.
    pub n_samples: usize,
    /// Variant-major dosages of the block (`n_variants() · n_samples` entries).
    pub dosages: &'a [i8],
}

impl<'a> GenotypeBlock<'a> {
    /// Number of variants in the block.
    pub fn n_variants(&self) -> usize {
        self.dosages.len().checked_div(self.n_samples).unwrap_or(0)
    }

    /// The dosages of each variant of the block, in order.
    pub fn variants(&self) -> impl Iterator<Item = &'a [i8]> + use<'a> {
        self.dosages.chunks_exact(self.n_samples.max(1))
    }
}

impl Genotypes {
    /// Builds a matrix from variant-major dosages, checking shape and values.
    pub fn new(
        n_samples: usize,
        n_variants: usize,
        dosages: Vec<i8>,
    ) -> Result<Self, GenotypesError> {
        let expected = n_samples.saturating_mul(n_variants);
        if dosages.len() != expected {
            return Err(GenotypesError::Shape {
                expected,
                actual: dosages.len(),
            });
        }
        if let Some(bad) = dosages.iter().position(|&d| !(MISSING..=2).contains(&d)) {
            return Err(GenotypesError::BadDosage {
                variant: bad.checked_div(n_samples).unwrap_or(0),
            });
        }
        Ok(Self {
            n_samples,
            n_variants,
            dosages,
        })
    }

    /// Number of samples.
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// Number of variants.
    pub fn n_variants(&self) -> usize {
        self.n_variants
    }

    /// All dosages, variant-major.
    pub fn as_slice(&self) -> &[i8] {
        &self.dosages
    }

    /// The dosages of variant `j` over all samples.
    pub fn variant(&self, j: usize) -> Option<&[i8]> {
        let start = j.checked_mul(self.n_samples)?;
        self.dosages.get(start..start.checked_add(self.n_samples)?)
    }

    /// The dosage of `sample` at `variant` (`Some(MISSING)` for a missing call).
    pub fn dosage(&self, sample: usize, variant: usize) -> Option<i8> {
        if sample >= self.n_samples {
            return None;
        }
        self.variant(variant)?.get(sample).copied()
    }

    /// Iterates over blocks of at most `max_variants` variants (at least 1).
    pub fn blocks(&self, max_variants: usize) -> impl Iterator<Item = GenotypeBlock<'_>> {
        let n_samples = self.n_samples;
        let step = max_variants.max(1).saturating_mul(n_samples.max(1));
        self.dosages
            .chunks(step)
            .enumerate()
            .map(move |(k, dosages)| GenotypeBlock {
                first_variant: k.saturating_mul(max_variants.max(1)),
                n_samples,
                dosages,
            })
    }

    /// Named-allele counts of every variant.
    pub fn allele_counts(&self) -> Vec<AlleleCounts> {
        (0..self.n_variants)
            .filter_map(|j| self.variant(j))
            .map(allele_counts)
            .collect()
    }

    /// Stacks the samples of `parts` (in order) over the same variants, e.g. to pool sites.
    pub fn concat_samples(parts: &[&Genotypes]) -> Result<Genotypes, GenotypesError> {
        let n_variants = parts.first().map_or(0, |g| g.n_variants);
        for (part, g) in parts.iter().enumerate() {
            if g.n_variants != n_variants {
                return Err(GenotypesError::VariantCountMismatch {
                    expected: n_variants,
                    found: g.n_variants,
                    part,
                });
            }
        }
        let n_samples = parts.iter().map(|g| g.n_samples).sum();
        let mut dosages = Vec::with_capacity(n_samples * n_variants);
        for j in 0..n_variants {
            for g in parts {
                dosages.extend_from_slice(g.variant(j).unwrap_or_default());
            }
        }
        Ok(Genotypes {
            n_samples,
            n_variants,
            dosages,
        })
    }
}

/// Named-allele counts of one variant's dosages.
pub fn allele_counts(dosages: &[i8]) -> AlleleCounts {
    let mut c = AlleleCounts::default();
    for &d in dosages {
        if d == MISSING {
            c.missing_calls += 1;
        } else {
            c.allele_obs += 2;
            c.named_allele_count += u64::from(d.unsigned_abs());
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_values_blocks_and_concat() {
        assert!(Genotypes::new(2, 2, vec![0, 1, 2]).is_err());
        assert_eq!(
            Genotypes::new(2, 2, vec![0, 1, 2, 3]),
            Err(GenotypesError::BadDosage { variant: 1 })
        );
        let a = Genotypes::new(2, 3, vec![0, 1, 2, MISSING, 1, 1]).unwrap();
        let b = Genotypes::new(1, 3, vec![2, 2, 0]).unwrap();
        let blocks: Vec<_> = a.blocks(2).collect();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[1].first_variant, 2);
        assert_eq!(blocks[0].n_variants(), 2);
        assert_eq!(blocks[1].variants().next().unwrap(), &[1, 1]);
        let c = Genotypes::concat_samples(&[&a, &b]).unwrap();
        assert_eq!(c.as_slice(), &[0, 1, 2, 2, MISSING, 2, 1, 1, 0]);
        assert_eq!(c.dosage(2, 1), Some(2));
        assert_eq!(c.dosage(3, 1), None);
        let counts = c.allele_counts();
        assert_eq!(
            counts[1],
            AlleleCounts {
                named_allele_count: 4,
                allele_obs: 4,
                missing_calls: 1
            }
        );
        assert_eq!(counts[1].frequency(), Some(1.0));
        let d = Genotypes::new(1, 2, vec![0, 0]).unwrap();
        assert!(Genotypes::concat_samples(&[&a, &d]).is_err());
    }
}
