//! Plaintext per-variant genotype counts, allele frequency, missingness and Hardy–Weinberg P,
//! and the QC filters (plink2 `--maf`, `--geno`, `--hwe` semantics).

use super::stats::hwe_exact_p;

/// Marker for a missing call in a dosage vector (as in `parties::data::genotypes`).
pub const MISSING: i8 = -1;

/// Genotype counts of one variant (ALT dosage 0, 1, 2, missing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenotypeCounts {
    /// Calls with 0 ALT copies.
    pub hom_ref: u64,
    /// Calls with 1 ALT copy.
    pub het: u64,
    /// Calls with 2 ALT copies.
    pub hom_alt: u64,
    /// Missing calls.
    pub missing: u64,
}

impl GenotypeCounts {
    /// Counts the calls of one variant (dosages 0, 1, 2 or [`MISSING`]; anything else counts
    /// as missing).
    pub fn from_dosages(dosages: &[i8]) -> Self {
        let mut c = Self::default();
        for &d in dosages {
            match d {
                0 => c.hom_ref += 1,
                1 => c.het += 1,
                2 => c.hom_alt += 1,
                _ => c.missing += 1,
            }
        }
        c
    }

    /// Element-wise sum (pooling).
    pub fn pooled_with(self, o: Self) -> Self {
        Self {
            hom_ref: self.hom_ref + o.hom_ref,
            het: self.het + o.het,
            hom_alt: self.hom_alt + o.hom_alt,
            missing: self.missing + o.missing,
        }
    }

    /// ALT copies over non-missing calls.
    pub fn alt_count(&self) -> u64 {
        self.het + 2 * self.hom_alt
    }

    /// Alleles observed: 2 × non-missing calls.
    pub fn allele_obs(&self) -> u64 {
        2 * (self.hom_ref + self.het + self.hom_alt)
    }

    /// ALT frequency `alt_count / allele_obs` (NaN without observations).
    pub fn alt_freq(&self) -> f64 {
        self.alt_count() as f64 / self.allele_obs() as f64
    }

    /// Missing-call rate over all samples (NaN without samples).
    pub fn missing_rate(&self) -> f64 {
        let n = self.hom_ref + self.het + self.hom_alt + self.missing;
        self.missing as f64 / n as f64
    }

    /// Hardy–Weinberg exact P ([`hwe_exact_p`]).
    pub fn hwe_p(&self) -> f64 {
        hwe_exact_p(self.het, self.hom_ref, self.hom_alt)
    }
}

/// Per-variant counts of a variant-major dosage matrix.
pub fn genotype_counts(dosages: &[i8], n_samples: usize) -> Vec<GenotypeCounts> {
    dosages
        .chunks_exact(n_samples.max(1))
        .map(GenotypeCounts::from_dosages)
        .collect()
}

/// QC thresholds (plink2 semantics: keep MAF ≥ `maf_min`, missing rate ≤ `missing_max`,
/// HWE exact P ≥ `hwe_min_p`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QcThresholds {
    /// Minimum minor allele frequency (`--maf`).
    pub maf_min: f64,
    /// Maximum missing-call rate (`--geno`).
    pub missing_max: f64,
    /// Minimum HWE exact P (`--hwe`), if the filter is on.
    pub hwe_min_p: Option<f64>,
}

impl QcThresholds {
    /// Whether a variant with these pooled counts passes.
    pub fn passes(&self, c: &GenotypeCounts) -> bool {
        let f = c.alt_freq();
        let maf = f.min(1.0 - f);
        maf >= self.maf_min
            && c.missing_rate() <= self.missing_max
            && self.hwe_min_p.is_none_or(|t| c.hwe_p() >= t)
    }
}
