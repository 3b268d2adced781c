//! plink2-exact local scoring (`plink2 --score … cols=+scoresums,+denom`).
//!
//! With m kept variants, weight w_j per copy of the named effect allele and x_ij its copies:
//! - f_j = (Σ x_ij over non-missing calls) / (2 · non-missing calls), within the data scored;
//! - [`Imputation::Mean`] (plink2's default): a missing x_ij counts as 2 f_j; when variant j has
//!   no observed call at all, f_j = 0.5, so every call counts as one copy ([`NO_CALLS_IMPUTED`],
//!   what plink2 v2.00a3.5 does: checked on a 60-sample fileset in `tests/cli_score.rs`);
//!   `SCORE1_SUM` = Σ_j w_j x_ij, `DENOM` = 2m, `SCORE1_AVG` = SUM / DENOM;
//! - [`Imputation::None`] (`no-mean-imputation`): missing calls add 0 and `DENOM` = `ALLELE_CT`;
//! - `ALLELE_CT` = 2 · non-missing calls of the sample; `NAMED_ALLELE_DOSAGE_SUM` = Σ x_ij over
//!   non-missing calls only.
//!
//! [`HarmonizedReader`] streams a fileset's kept variants as [`Genotypes`] blocks of effect-allele
//! dosages; [`ScoreAccumulator`] consumes blocks. Memory bound of [`score_fileset`]: one block
//! (at most `max_block_bytes`, default [`DEFAULT_BLOCK_BYTES`] = 8 MiB, of packed
//! genotypes, at least one variant) + 32 bytes per sample of accumulators + the `.bim`/`.fam`
//! records, the parsed scoring file and the harmonisation (of the order of 100–200 bytes each
//! per variant, sample and score row). For 100,000 samples × 1,000,000 variants that is about
//! 8 MiB + 3.2 MiB + ~0.5 GiB, well under 4 GiB. Measured against plink2 `--score` in
//! `benches/README.md` (15,000 samples × 60,000 scored variants: 0.5–0.9× plink2's time at
//! 71 vs 259 MiB peak RSS).

use core::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use super::genotypes::{AlleleCounts, GenotypeBlock, Genotypes, GenotypesError};
use super::harmonize::{Harmonization, ScoreVariant};
use super::plink::{BedReader, Fileset, PlinkError, Sample, decode_a1_dosages, decode_a2_dosages};
use super::vcf::{MISSING_MILLI, VcfError, VcfSite};

/// Effect-allele copies imputed for a missing call of a variant with no observed call at all
/// (mean imputation): plink2 takes the frequency as 0.5 then (its `.afreq` says `nan`).
pub const NO_CALLS_IMPUTED: f64 = 1.0;

/// Default bound on the genotype bytes held at once by the streaming scorer.
pub const DEFAULT_BLOCK_BYTES: usize = 8 << 20;

/// Errors while scoring.
#[derive(Debug)]
#[non_exhaustive]
pub enum ScoreError {
    /// Reading the fileset failed.
    Plink(PlinkError),
    /// A dosage block was malformed.
    Genotypes(GenotypesError),
    /// Reading a VCF failed.
    Vcf(VcfError),
    /// The number of weights differs from the number of variants.
    WeightCount {
        /// Variants in the block.
        expected: usize,
        /// Weights given.
        found: usize,
    },
    /// A block has a different number of samples than the accumulator.
    SampleCount {
        /// Samples of the accumulator.
        expected: usize,
        /// Samples in the block.
        found: usize,
    },
    /// A harmonised variant index is outside the fileset.
    VariantIndex,
    /// More than 2^31 variants in one accumulator (the packed counters would overflow).
    TooManyVariants,
    /// Writing an output file failed.
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        error: io::Error,
    },
}

impl fmt::Display for ScoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plink(e) => e.fmt(f),
            Self::Genotypes(e) => e.fmt(f),
            Self::Vcf(e) => e.fmt(f),
            Self::WeightCount { expected, found } => {
                write!(f, "{found} weights for {expected} variants")
            }
            Self::SampleCount { expected, found } => {
                write!(f, "a block has {found} samples, expected {expected}")
            }
            Self::VariantIndex => write!(f, "harmonised variant index outside the fileset"),
            Self::TooManyVariants => write!(f, "more than 2^31 variants in one score"),
            Self::Io { path, error } => write!(f, "{path}: {error}"),
        }
    }
}

impl std::error::Error for ScoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Plink(e) => Some(e),
            Self::Genotypes(e) => Some(e),
            Self::Vcf(e) => Some(e),
            Self::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<PlinkError> for ScoreError {
    fn from(e: PlinkError) -> Self {
        Self::Plink(e)
    }
}

impl From<VcfError> for ScoreError {
    fn from(e: VcfError) -> Self {
        Self::Vcf(e)
    }
}

impl From<GenotypesError> for ScoreError {
    fn from(e: GenotypesError) -> Self {
        Self::Genotypes(e)
    }
}

/// Treatment of missing calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Imputation {
    /// plink2's default: a missing call counts as twice the named-allele frequency.
    Mean,
    /// plink2's `no-mean-imputation`: a missing call counts as 0; `DENOM` = `ALLELE_CT`.
    None,
}

/// One sample's row of a `.sscore`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleScore {
    /// 2 × non-missing calls over the score variants.
    pub allele_ct: u64,
    /// `2m` with mean imputation, else `allele_ct`.
    pub denom: u64,
    /// Named-allele copies (dosages) over non-missing calls: a whole number for hard calls.
    pub named_allele_dosage_sum: f64,
    /// Σ w x.
    pub score_sum: f64,
    /// `score_sum / denom`.
    pub score_avg: f64,
}

/// Named-allele copies per code (see [`code`]), in thousandths (the VCF dosage scale).
const NAMED_MILLI: [u64; 4] = [0, 0, 1000, 2000];

/// Thousandths per allele copy, as `f64` (see [`crate::data::vcf::MILLI`]).
const MILLI_F64: f64 = 1000.0;

/// Table index of a dosage: missing (−1) → 0, dosage d → d + 1 (always < 4).
#[inline]
fn code(d: i8) -> usize {
    usize::from((d as u8).wrapping_add(1) & 3)
}

/// Accumulates per-sample sums over blocks of variants.
#[derive(Clone, Debug)]
pub struct ScoreAccumulator {
    imputation: Imputation,
    n_variants: u64,
    sum: Vec<f64>,
    calls: Vec<u64>,
    /// Named-allele dosage sums in thousandths (exact for hard calls and 1/1000 dosages).
    named: Vec<u64>,
    /// [`ScoreAccumulator::add_packed`]'s counts, two in one word: non-missing calls in the low
    /// 32 bits, named-allele copies in the high 32 bits (one add per genotype).
    packed_counts: Vec<u64>,
}

/// One non-missing call in [`ScoreAccumulator::packed_counts`].
const CALL: u64 = 1;
/// One named-allele copy in [`ScoreAccumulator::packed_counts`].
const COPY: u64 = 1 << 32;

/// Effect-allele copies of each `.bed` 2-bit code (0 = two A1, 1 = missing, 2 = het, 3 = two
/// A2) when the effect allele is A1 (missing: 0, handled apart).
const A1_COPIES: [u8; 4] = [2, 0, 1, 0];

/// For each packed byte, how many of its four codes are 0, 1, 2 and 3.
const CODE_HISTOGRAM: [[u8; 4]; 256] = code_histogram();

// Evaluated at compile time: an out-of-bounds index fails the build, not a run.
#[allow(clippy::indexing_slicing)]
const fn code_histogram() -> [[u8; 4]; 256] {
    let mut table = [[0u8; 4]; 256];
    let mut b = 0;
    while b < 256 {
        let mut k = 0;
        while k < 4 {
            table[b][(b >> (2 * k)) & 3] += 1;
            k += 1;
        }
        b += 1;
    }
    table
}

impl ScoreAccumulator {
    /// An empty accumulator for `n_samples` samples.
    pub fn new(n_samples: usize, imputation: Imputation) -> Self {
        Self {
            imputation,
            n_variants: 0,
            sum: vec![0.0; n_samples],
            calls: vec![0; n_samples],
            named: vec![0; n_samples],
            packed_counts: vec![0; n_samples],
        }
    }

    /// Adds one variant straight from its packed `.bed` bytes (`ceil(n_samples / 4)` bytes,
    /// unused bits of the last byte ignored), with the effect allele A1 or A2. The per-sample
    /// terms are exactly those of [`ScoreAccumulator::add_block`] on the decoded dosages, added in
    /// the same order, so the sums are bit-for-bit equal; this path only skips the decoded matrix.
    pub fn add_packed(
        &mut self,
        packed: &[u8],
        effect_is_a1: bool,
        weight: f64,
    ) -> Result<(), ScoreError> {
        let n = self.sum.len();
        if self.n_variants >= 1 << 31 {
            return Err(ScoreError::TooManyVariants);
        }
        if packed.len() != n.div_ceil(4) {
            return Err(ScoreError::SampleCount {
                expected: n,
                found: packed.len().saturating_mul(4),
            });
        }
        let full = n / 4;
        let (body, tail) = packed.split_at(full.min(packed.len()));
        // Pass 1: code histogram (whole bytes by table, then the used codes of the last byte).
        let mut histogram = [0u64; 4];
        for &byte in body {
            let h = CODE_HISTOGRAM
                .get(usize::from(byte))
                .copied()
                .unwrap_or_default();
            for (t, c) in histogram.iter_mut().zip(h) {
                *t += u64::from(c);
            }
        }
        let rest = n - full * 4;
        if let Some(&byte) = tail.first() {
            for k in 0..rest {
                if let Some(t) = histogram.get_mut(usize::from((byte >> (2 * k)) & 3)) {
                    *t += 1;
                }
            }
        }
        let copies = |code: usize| {
            let a1 = A1_COPIES.get(code).copied().unwrap_or(0);
            u64::from(if effect_is_a1 { a1 } else { 2 - a1 })
        };
        let [hom_a1, _missing, het, hom_a2] = histogram;
        let obs = 2 * (hom_a1 + het + hom_a2);
        let named = copies(0) * hom_a1 + het + copies(3) * hom_a2;
        let imputed = match self.imputation {
            Imputation::Mean if obs > 0 => 2.0 * (named as f64 / obs as f64),
            Imputation::Mean => NO_CALLS_IMPUTED,
            Imputation::None => 0.0,
        };
        // Same values as add_block's `[w * imputed, 0.0, w, 2.0 * w]`, indexed by code.
        let term = |code: usize| match (code, copies(code)) {
            (1, _) => weight * imputed,
            (_, 0) => 0.0,
            (_, 1) => weight,
            _ => 2.0 * weight,
        };
        let terms = [term(0), term(1), term(2), term(3)];
        let counts = [
            CALL + copies(0) * COPY,
            0,
            CALL + COPY,
            CALL + copies(3) * COPY,
        ];
        let mut sums = self.sum.chunks_exact_mut(4);
        let mut cnts = self.packed_counts.chunks_exact_mut(4);
        for ((s4, c4), &byte) in (&mut sums).zip(&mut cnts).zip(body) {
            for (k, (s, c)) in s4.iter_mut().zip(c4.iter_mut()).enumerate() {
                let code = usize::from((byte >> (2 * k)) & 3);
                *s += terms.get(code).copied().unwrap_or(0.0);
                *c += counts.get(code).copied().unwrap_or(0);
            }
        }
        if let Some(&byte) = tail.first() {
            let s_rest = sums.into_remainder();
            let c_rest = cnts.into_remainder();
            for (k, (s, c)) in s_rest.iter_mut().zip(c_rest.iter_mut()).enumerate() {
                let code = usize::from((byte >> (2 * k)) & 3);
                *s += terms.get(code).copied().unwrap_or(0.0);
                *c += counts.get(code).copied().unwrap_or(0);
            }
        }
        self.n_variants += 1;
        Ok(())
    }

    /// Adds a block of effect-allele dosages with one weight per variant of the block. The
    /// imputation frequency of each variant is computed from the block (all samples).
    pub fn add_block(
        &mut self,
        block: GenotypeBlock<'_>,
        weights: &[f64],
    ) -> Result<(), ScoreError> {
        if block.n_samples != self.sum.len() {
            return Err(ScoreError::SampleCount {
                expected: self.sum.len(),
                found: block.n_samples,
            });
        }
        if weights.len() != block.n_variants() {
            return Err(ScoreError::WeightCount {
                expected: block.n_variants(),
                found: weights.len(),
            });
        }
        for (dosages, &w) in block.variants().zip(weights) {
            // Codes: index = dosage + 1 (0 = missing, 1..=3 = dosage 0..=2), so every table
            // lookup below is in bounds by construction (`& 3`) and branch-free.
            let mut histogram = [0u64; 4];
            for &d in dosages {
                if let Some(h) = histogram.get_mut(code(d)) {
                    *h += 1;
                }
            }
            let [_missing, n0, n1, n2] = histogram;
            let obs = 2 * (n0 + n1 + n2);
            let named = n1 + 2 * n2;
            let imputed = match self.imputation {
                Imputation::Mean if obs > 0 => 2.0 * (named as f64 / obs as f64),
                Imputation::Mean => NO_CALLS_IMPUTED,
                Imputation::None => 0.0,
            };
            let contribution = [w * imputed, 0.0, w, 2.0 * w];
            for (((&d, s), c), n) in dosages
                .iter()
                .zip(&mut self.sum)
                .zip(&mut self.calls)
                .zip(&mut self.named)
            {
                let k = code(d);
                *s += contribution.get(k).copied().unwrap_or(0.0);
                *c += u64::from(k != 0);
                *n += NAMED_MILLI.get(k).copied().unwrap_or(0);
            }
            self.n_variants += 1;
        }
        Ok(())
    }

    /// Adds one variant of effect-allele dosages in thousandths ([`MISSING_MILLI`] = missing),
    /// e.g. from a VCF `DS` field. The terms are those of [`ScoreAccumulator::add_block`] with
    /// x = dosage / 1000: for hard calls (0, 1000, 2000) exactly the same `f64` values, so a
    /// GT-only VCF scores bit for bit like the equivalent `.bed`.
    pub fn add_milli_variant(&mut self, dosages: &[u16], weight: f64) -> Result<(), ScoreError> {
        if dosages.len() != self.sum.len() {
            return Err(ScoreError::SampleCount {
                expected: self.sum.len(),
                found: dosages.len(),
            });
        }
        let (mut calls, mut named) = (0u64, 0u64);
        for &d in dosages {
            if d != MISSING_MILLI {
                calls += 1;
                named += u64::from(d);
            }
        }
        let obs = 2 * calls;
        let imputed = match self.imputation {
            Imputation::Mean if obs > 0 => 2.0 * ((named as f64 / MILLI_F64) / obs as f64),
            Imputation::Mean => NO_CALLS_IMPUTED,
            Imputation::None => 0.0,
        };
        let missing_term = weight * imputed;
        for (((&d, s), c), n) in dosages
            .iter()
            .zip(&mut self.sum)
            .zip(&mut self.calls)
            .zip(&mut self.named)
        {
            if d == MISSING_MILLI {
                *s += missing_term;
            } else {
                *s += match d {
                    0 => 0.0,
                    1000 => weight,
                    2000 => 2.0 * weight,
                    _ => weight * (f64::from(d) / MILLI_F64),
                };
                *c += 1;
                *n += u64::from(d);
            }
        }
        self.n_variants += 1;
        Ok(())
    }

    /// The `.sscore` rows.
    pub fn finish(self) -> Vec<SampleScore> {
        let denom_mean = 2 * self.n_variants;
        self.sum
            .iter()
            .zip(&self.calls)
            .zip(&self.named)
            .zip(&self.packed_counts)
            .map(|(((&score_sum, &calls), &named), &packed)| {
                let calls = calls + (packed & (COPY - 1));
                let named = named + (packed >> 32) * 1000;
                let allele_ct = 2 * calls;
                let denom = match self.imputation {
                    Imputation::Mean => denom_mean,
                    Imputation::None => allele_ct,
                };
                SampleScore {
                    allele_ct,
                    denom,
                    named_allele_dosage_sum: named as f64 / MILLI_F64,
                    score_sum,
                    score_avg: score_sum / denom as f64,
                }
            })
            .collect()
    }
}

/// Scores an in-memory matrix (frequencies from all its samples).
pub fn score_genotypes(
    genotypes: &Genotypes,
    weights: &[f64],
    imputation: Imputation,
) -> Result<Vec<SampleScore>, ScoreError> {
    if weights.len() != genotypes.n_variants() {
        return Err(ScoreError::WeightCount {
            expected: genotypes.n_variants(),
            found: weights.len(),
        });
    }
    let mut acc = ScoreAccumulator::new(genotypes.n_samples(), imputation);
    let block = genotypes.n_variants().max(1);
    for b in genotypes.blocks(block) {
        let w = weights
            .get(b.first_variant..b.first_variant + b.n_variants())
            .ok_or(ScoreError::VariantIndex)?;
        acc.add_block(b, w)?;
    }
    Ok(acc.finish())
}

/// Streams the kept variants of a harmonisation from a fileset's `.bed` as blocks of
/// effect-allele dosages (A1 dosage, or 2 − A1 dosage when the effect allele is A2).
#[derive(Debug)]
pub struct HarmonizedReader<'a> {
    bed: BedReader<File>,
    kept: &'a [ScoreVariant],
    next: usize,
    block_variants: usize,
    raw: Vec<u8>,
}

impl<'a> HarmonizedReader<'a> {
    /// Opens the `.bed`; each block holds at most `max_block_bytes` of packed plus decoded
    /// genotypes (but at least one variant).
    pub fn new(
        fileset: &Fileset,
        harmonization: &'a Harmonization,
        max_block_bytes: usize,
    ) -> Result<Self, ScoreError> {
        let bed = fileset.bed_reader()?;
        if harmonization
            .kept
            .iter()
            .any(|k| k.variant_index >= bed.n_variants())
        {
            return Err(ScoreError::VariantIndex);
        }
        let per_variant = bed.bytes_per_variant() + bed.n_samples();
        let block_variants = (max_block_bytes / per_variant.max(1)).max(1);
        Ok(Self {
            bed,
            kept: &harmonization.kept,
            next: 0,
            block_variants,
            raw: Vec::new(),
        })
    }

    /// Index (in [`Harmonization::kept`]) of the first variant of the next block.
    pub fn position(&self) -> usize {
        self.next
    }

    /// The next block of kept variants, or `None` after the last.
    pub fn next_block(&mut self) -> Result<Option<Genotypes>, ScoreError> {
        let rest = self.kept.get(self.next..).unwrap_or_default();
        let Some(first) = rest.first() else {
            return Ok(None);
        };
        let start = first.variant_index;
        // Kept variants are in site order; take those whose span fits in one block.
        let count = rest
            .iter()
            .take(self.block_variants)
            .take_while(|k| {
                k.variant_index >= start && k.variant_index - start < self.block_variants
            })
            .count()
            .max(1);
        let block = rest.get(..count).unwrap_or_default();
        let last = block.last().map_or(start, |k| k.variant_index.max(start));
        self.bed
            .read_block(start, last - start + 1, &mut self.raw)?;
        let n = self.bed.n_samples();
        let bpv = self.bed.bytes_per_variant();
        let mut dosages = vec![0i8; count * n];
        for (k, out) in block.iter().zip(dosages.chunks_exact_mut(n.max(1))) {
            let offset = (k.variant_index - start) * bpv;
            let packed = self
                .raw
                .get(offset..offset + bpv)
                .ok_or(ScoreError::VariantIndex)?;
            if k.effect_is_a1 {
                decode_a1_dosages(packed, out)?;
            } else {
                decode_a2_dosages(packed, out)?;
            }
        }
        self.next += count;
        Ok(Some(Genotypes::new(n, count, dosages)?))
    }
}

/// Loads all kept variants of a fileset as one effect-allele dosage matrix (`n_samples · m`
/// bytes), with each variant's named-allele counts.
pub fn load_genotypes(
    fileset: &Fileset,
    harmonization: &Harmonization,
) -> Result<(Genotypes, Vec<AlleleCounts>), ScoreError> {
    let mut reader = HarmonizedReader::new(fileset, harmonization, DEFAULT_BLOCK_BYTES)?;
    let n = fileset.samples().len();
    let mut dosages = Vec::with_capacity(n * harmonization.kept.len());
    while let Some(block) = reader.next_block()? {
        dosages.extend_from_slice(block.as_slice());
    }
    let genotypes = Genotypes::new(n, harmonization.kept.len(), dosages)?;
    let counts = genotypes.allele_counts();
    Ok((genotypes, counts))
}

/// Scores a fileset block by block (memory bound in the module docs), straight from the packed
/// `.bed` bytes: no decoded dosage matrix is built (see [`ScoreAccumulator::add_packed`]).
pub fn score_fileset(
    fileset: &Fileset,
    harmonization: &Harmonization,
    imputation: Imputation,
    max_block_bytes: usize,
) -> Result<Vec<SampleScore>, ScoreError> {
    let mut bed = fileset.bed_reader()?;
    let kept = &harmonization.kept;
    if kept.iter().any(|k| k.variant_index >= bed.n_variants()) {
        return Err(ScoreError::VariantIndex);
    }
    let bpv = bed.bytes_per_variant();
    let block_variants = (max_block_bytes / bpv.max(1)).max(1);
    let mut acc = ScoreAccumulator::new(fileset.samples().len(), imputation);
    let mut raw = Vec::new();
    let mut next = 0;
    while let Some(first) = kept.get(next) {
        let start = first.variant_index;
        // Kept variants are in site order; read the span of those that fit in one block.
        let rest = kept.get(next..).unwrap_or_default();
        let count = rest
            .iter()
            .take(block_variants)
            .take_while(|k| k.variant_index >= start && k.variant_index - start < block_variants)
            .count()
            .max(1);
        let block = rest.get(..count).unwrap_or_default();
        let last = block.last().map_or(start, |k| k.variant_index.max(start));
        bed.read_block(start, last - start + 1, &mut raw)?;
        for k in block {
            let offset = (k.variant_index - start) * bpv;
            let packed = raw
                .get(offset..offset + bpv)
                .ok_or(ScoreError::VariantIndex)?;
            acc.add_packed(packed, k.effect_is_a1, k.weight)?;
        }
        next += count;
    }
    Ok(acc.finish())
}

/// Scores the kept variants of a VCF site, one variant at a time (memory: one dosage vector
/// and the accumulators, plus the first pass's variant list).
pub fn score_vcf(
    site: &VcfSite,
    harmonization: &Harmonization,
    imputation: Imputation,
) -> Result<Vec<SampleScore>, ScoreError> {
    let mut acc = ScoreAccumulator::new(site.samples().len(), imputation);
    site.for_each_kept(harmonization, |k, dosages| {
        let w = harmonization
            .kept
            .get(k)
            .ok_or(ScoreError::VariantIndex)?
            .weight;
        acc.add_milli_variant(dosages, w)
    })?;
    Ok(acc.finish())
}

/// Writes a plink2 `.sscore` (`#FID IID ALLELE_CT DENOM NAMED_ALLELE_DOSAGE_SUM SCORE1_AVG
/// SCORE1_SUM`), floats in shortest round-trip form.
pub fn write_sscore<W: Write>(
    mut w: W,
    samples: &[Sample],
    scores: &[SampleScore],
) -> io::Result<()> {
    writeln!(
        w,
        "#FID\tIID\tALLELE_CT\tDENOM\tNAMED_ALLELE_DOSAGE_SUM\tSCORE1_AVG\tSCORE1_SUM"
    )?;
    for (s, r) in samples.iter().zip(scores) {
        writeln!(
            w,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            s.fid, s.iid, r.allele_ct, r.denom, r.named_allele_dosage_sum, r.score_avg, r.score_sum
        )?;
    }
    Ok(())
}

/// Writes `path` through a temporary file in the same directory, renamed on success.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut io::BufWriter<File>) -> io::Result<()>,
) -> Result<(), ScoreError> {
    let name = path.display().to_string();
    let io_err = |error| ScoreError::Io {
        path: name.clone(),
        error,
    };
    crate::fsio::write_atomic_with(path, write).map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::genotypes::MISSING;

    #[test]
    fn plink2_semantics_on_a_tiny_matrix() {
        // 3 samples, 2 variants; sample 2 misses variant 0.
        let g = Genotypes::new(3, 2, vec![2, 1, MISSING, 0, 1, 2]).unwrap();
        let w = [0.5, -1.0];
        let mean = score_genotypes(&g, &w, Imputation::Mean).unwrap();
        // f0 = 3/4 -> imputed 1.5
        assert_eq!(mean[2].score_sum, 0.5 * 1.5 - 2.0);
        assert_eq!(mean[2].allele_ct, 2);
        assert_eq!(mean[2].denom, 4);
        assert_eq!(mean[2].named_allele_dosage_sum, 2.0);
        assert_eq!(mean[0].score_sum, 1.0);
        assert_eq!(mean[0].score_avg, 0.25);
        let nomi = score_genotypes(&g, &w, Imputation::None).unwrap();
        assert_eq!(nomi[2].score_sum, -2.0);
        assert_eq!(nomi[2].denom, 2);
        assert_eq!(nomi[2].score_avg, -1.0);
        assert!(score_genotypes(&g, &w[..1], Imputation::Mean).is_err());
        let mut out = Vec::new();
        let samples: Vec<Sample> = (0..3)
            .map(|i| Sample {
                fid: format!("f{i}"),
                iid: format!("i{i}"),
                father: "0".into(),
                mother: "0".into(),
                sex: crate::data::plink::Sex::Unknown,
                phenotype: "-9".into(),
            })
            .collect();
        write_sscore(&mut out, &samples, &mean).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().nth(1), Some("f0\ti0\t4\t4\t2\t0.25\t1"));
    }
}
