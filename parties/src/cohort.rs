//! A site's cohort for the pooled analyses: its samples with a complete phenotype and
//! covariates, and its genotypes in the consortium's canonical allele coding, streamed from
//! the `.bed` into the per-variant sufficient statistics of [`circuits::plain::linear`].
//!
//! **Canonical coding.** Sites hold the same variant panel in the same order (checked by ID),
//! but a site may list a variant's alleles the other way round (A1/A2 swapped). The canonical
//! counted allele (ALT) of a variant is the A1 most sites use (ties: the alphabetically larger
//! pair, deterministic); a site holding the other order has its dosages recoded as 2 − d.
//! Variant IDs and alleles are not personal data and may be exchanged.
//!
//! **Covariates** are phenotype-table columns by name, or derived indicators
//! (`male=sex==1`: 1 where `sex` is 1, else 0; missing where `sex` is missing).
//!
//! Memory: the covariates of the kept samples plus one block of [`BLOCK_VARIANTS`] variants'
//! dosages (one byte per sample), plus the statistics (k + 3)(k + 4)/2 f64 per variant.

use core::fmt;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use circuits::plain::linear::{LinearError, StatsBuilder, SufficientStats};

use crate::data::pheno::{PhenoError, read_pheno};
use crate::data::plink::{BedReader, Fileset, MISSING, PlinkError, discover_filesets};

/// Variants decoded per block while streaming statistics.
pub const BLOCK_VARIANTS: usize = 1024;

/// Errors of cohort loading; each names the file or variant at fault.
#[derive(Debug)]
#[non_exhaustive]
pub enum CohortError {
    /// A PLINK fileset could not be read.
    Plink(PlinkError),
    /// A phenotype table could not be read or lacks a column.
    Pheno(PhenoError),
    /// Sites do not hold the same variant panel in the same order.
    Panel {
        /// The site's prefix.
        site: String,
        /// What differs (position and IDs; IDs are not personal data).
        detail: String,
    },
    /// A covariate specification does not parse.
    Spec(String),
    /// No site was found in a data directory.
    NoSites(String),
    /// No sample of a site has a complete phenotype and covariates.
    NoSamples(String),
    /// The statistics could not be formed.
    Stats(LinearError),
}

impl fmt::Display for CohortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plink(e) => write!(f, "{e}"),
            Self::Pheno(e) => write!(f, "{e}"),
            Self::Panel { site, detail } => {
                write!(
                    f,
                    "{site}: variant panel differs from the first site: {detail}"
                )
            }
            Self::Spec(s) => write!(
                f,
                "covariate `{s}`: expected a column name or NAME=COLUMN==VALUE"
            ),
            Self::NoSites(d) => write!(
                f,
                "{d}: no site found (need NAME.bed/.bim/.fam with NAME.pheno.tsv)"
            ),
            Self::NoSamples(s) => write!(f, "{s}: no sample has the phenotype and every covariate"),
            Self::Stats(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CohortError {}

impl From<PlinkError> for CohortError {
    fn from(e: PlinkError) -> Self {
        Self::Plink(e)
    }
}

impl From<PhenoError> for CohortError {
    fn from(e: PhenoError) -> Self {
        Self::Pheno(e)
    }
}

impl From<LinearError> for CohortError {
    fn from(e: LinearError) -> Self {
        Self::Stats(e)
    }
}

/// The site prefixes of a data directory: every `NAME.bed` (with `.bim`, `.fam`) that has a
/// `NAME.pheno.tsv`, sorted by name.
pub fn discover_sites(dir: &Path) -> Result<Vec<PathBuf>, CohortError> {
    let v: Vec<PathBuf> = discover_filesets(dir)?
        .into_iter()
        .filter(|p| p.with_extension("pheno.tsv").is_file())
        .collect();
    if v.is_empty() {
        return Err(CohortError::NoSites(dir.display().to_string()));
    }
    Ok(v)
}

/// A variant in canonical coding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalVariant {
    /// Chromosome code.
    pub chrom: String,
    /// Identifier.
    pub id: String,
    /// Base-pair position.
    pub pos: u64,
    /// The counted allele (plink2's A1 / ALT).
    pub alt: String,
    /// The other allele.
    pub other: String,
}

/// The canonical coding of the panel shared by `prefixes` (module docs).
pub fn canonical_alleles(prefixes: &[PathBuf]) -> Result<Vec<CanonicalVariant>, CohortError> {
    let sets = prefixes
        .iter()
        .map(|p| Fileset::open(p))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(first) = sets.first() else {
        return Err(CohortError::NoSites("(no prefixes)".into()));
    };
    for s in &sets {
        if s.variants().len() != first.variants().len() {
            return Err(CohortError::Panel {
                site: s.prefix().display().to_string(),
                detail: format!(
                    "{} variants, first site {}",
                    s.variants().len(),
                    first.variants().len()
                ),
            });
        }
        for (j, (a, b)) in s.variants().iter().zip(first.variants()).enumerate() {
            let same_alleles = (a.a1 == b.a1 && a.a2 == b.a2) || (a.a1 == b.a2 && a.a2 == b.a1);
            if a.id != b.id || !same_alleles {
                return Err(CohortError::Panel {
                    site: s.prefix().display().to_string(),
                    detail: format!("variant {} is {} (first site: {})", j + 1, a.id, b.id),
                });
            }
        }
    }
    Ok(first
        .variants()
        .iter()
        .enumerate()
        .map(|(j, v)| {
            let mut votes: HashMap<(&str, &str), usize> = HashMap::new();
            for s in &sets {
                if let Some(w) = s.variants().get(j) {
                    *votes.entry((w.a1.as_str(), w.a2.as_str())).or_default() += 1;
                }
            }
            let (alt, other) = votes
                .into_iter()
                .max_by_key(|&(k, n)| (n, k))
                .map_or((v.a1.as_str(), v.a2.as_str()), |(k, _)| k);
            CanonicalVariant {
                chrom: v.chrom.clone(),
                id: v.id.clone(),
                pos: v.pos,
                alt: alt.to_owned(),
                other: other.to_owned(),
            }
        })
        .collect())
}

/// A covariate: a column, or an indicator derived from one.
#[derive(Clone, Debug, PartialEq)]
pub enum Covariate {
    /// A numeric column by name.
    Column(String),
    /// `name` = 1 where `column` equals `value`, else 0.
    Indicator {
        /// The covariate's name.
        name: String,
        /// The source column.
        column: String,
        /// The value coded 1.
        value: f64,
    },
}

impl Covariate {
    /// `COLUMN` or `NAME=COLUMN==VALUE` (e.g. `male=sex==1`).
    pub fn parse(spec: &str) -> Result<Self, CohortError> {
        let bad = || CohortError::Spec(spec.to_owned());
        match spec.split_once('=') {
            None if !spec.is_empty() => Ok(Self::Column(spec.to_owned())),
            None => Err(bad()),
            Some((name, rest)) => {
                let (column, value) = rest.split_once("==").ok_or_else(bad)?;
                let value: f64 = value.trim().parse().map_err(|_| bad())?;
                if name.is_empty() || column.is_empty() {
                    return Err(bad());
                }
                Ok(Self::Indicator {
                    name: name.to_owned(),
                    column: column.to_owned(),
                    value,
                })
            }
        }
    }

    /// The covariate's name (the term name in results).
    pub fn name(&self) -> &str {
        match self {
            Self::Column(c) => c,
            Self::Indicator { name, .. } => name,
        }
    }
}

/// One site's complete cases for a linear analysis.
pub struct LinearCohort {
    fileset: Fileset,
    /// Indices (in `.fam` order) of the samples kept.
    keep: Vec<usize>,
    /// Sample-major covariates of the kept samples.
    pub covariates: Vec<f64>,
    /// Covariates per sample.
    pub n_cov: usize,
    /// Phenotype of the kept samples.
    pub phenotype: Vec<f64>,
}

impl LinearCohort {
    /// Loads the samples of `prefix` with `phenotype` and every covariate present (in `.fam`
    /// order; at most `max_samples` of them when given, for benchmarks of smaller cohorts).
    pub fn load(
        prefix: &Path,
        phenotype: &str,
        covariates: &[Covariate],
        max_samples: Option<usize>,
    ) -> Result<Self, CohortError> {
        let fileset = Fileset::open(prefix)?;
        let table = read_pheno(&prefix.with_extension("pheno.tsv"))?;
        let iids: Vec<&str> = fileset.samples().iter().map(|s| s.iid.as_str()).collect();
        let m = table.match_samples(&iids);
        let column = |c: &Covariate| -> Result<Vec<Option<f64>>, CohortError> {
            Ok(match c {
                Covariate::Column(name) => m.align(&table.numeric(name)?),
                Covariate::Indicator { column, value, .. } => m
                    .align(&table.numeric(column)?)
                    .into_iter()
                    .map(|v| v.map(|v| f64::from(u8::from(v == *value))))
                    .collect(),
            })
        };
        let y = m.align(&table.numeric(phenotype)?);
        let covs = covariates
            .iter()
            .map(column)
            .collect::<Result<Vec<_>, _>>()?;
        let complete = |i: usize| {
            y.get(i).is_some_and(Option::is_some)
                && covs.iter().all(|c| c.get(i).is_some_and(Option::is_some))
        };
        let keep: Vec<usize> = (0..iids.len())
            .filter(|&i| complete(i))
            .take(max_samples.unwrap_or(usize::MAX))
            .collect();
        if keep.is_empty() {
            return Err(CohortError::NoSamples(prefix.display().to_string()));
        }
        let value = |v: &[Option<f64>], i: usize| v.get(i).copied().flatten().unwrap_or(0.0);
        Ok(Self {
            covariates: keep
                .iter()
                .flat_map(|&i| covs.iter().map(move |c| value(c, i)))
                .collect(),
            n_cov: covariates.len(),
            phenotype: keep.iter().map(|&i| value(&y, i)).collect(),
            keep,
            fileset,
        })
    }

    /// Samples kept.
    pub fn n(&self) -> usize {
        self.keep.len()
    }

    /// Indices (in `.fam` order) of the samples kept.
    pub fn kept(&self) -> &[usize] {
        &self.keep
    }

    /// The fileset.
    pub fn fileset(&self) -> &Fileset {
        &self.fileset
    }

    /// Appends variant `j`'s dosages of the kept samples, in `canon`'s coding (2 − d where
    /// this site lists the alleles the other way round), to `out`. `bed` is this fileset's
    /// reader; `buf` and `all` are scratch buffers reused across calls.
    pub fn read_canonical(
        &self,
        bed: &mut BedReader<std::fs::File>,
        j: usize,
        canon: &CanonicalVariant,
        buf: &mut Vec<u8>,
        all: &mut Vec<i8>,
        out: &mut Vec<i8>,
    ) -> Result<(), CohortError> {
        let flip = self
            .fileset
            .variants()
            .get(j)
            .is_some_and(|v| v.a1 != canon.alt);
        all.resize(self.fileset.samples().len(), 0);
        bed.read_a1_dosages(j, buf, all)?;
        out.extend(
            self.keep
                .iter()
                .map(|&i| match all.get(i).copied().unwrap_or(MISSING) {
                    MISSING => MISSING,
                    d if flip => 2 - d,
                    d => d,
                }),
        );
        Ok(())
    }

    /// Streams the `.bed` in canonical coding into the per-variant sufficient statistics.
    pub fn linear_stats(&self, canon: &[CanonicalVariant]) -> Result<SufficientStats, CohortError> {
        let variants = self.fileset.variants();
        if variants.len() != canon.len() {
            return Err(CohortError::Panel {
                site: self.fileset.prefix().display().to_string(),
                detail: format!("{} variants, canonical {}", variants.len(), canon.len()),
            });
        }
        let n = self.n();
        let mut builder = StatsBuilder::new(n, &self.covariates, self.n_cov, &self.phenotype)?;
        let mut bed = self.fileset.bed_reader()?;
        let (mut buf, mut all) = (Vec::new(), Vec::new());
        let mut block = Vec::with_capacity(BLOCK_VARIANTS * n);
        for (j, (v, c)) in variants.iter().zip(canon).enumerate() {
            if v.id != c.id {
                return Err(CohortError::Panel {
                    site: self.fileset.prefix().display().to_string(),
                    detail: format!("variant {} is {} (canonical: {})", j + 1, v.id, c.id),
                });
            }
            self.read_canonical(&mut bed, j, c, &mut buf, &mut all, &mut block)?;
            if block.len() >= BLOCK_VARIANTS * n {
                builder.push(&block)?;
                block.clear();
            }
        }
        builder.push(&block)?;
        Ok(builder.finish())
    }
}
