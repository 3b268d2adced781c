//! `igs-mpc score`: plink2-exact local scoring of one site.
//!
//! Reads `--bfile PREFIX` or `--vcf FILE` (alias `--bcf`: VCF or BCF, plain or bgzipped,
//! detected from the bytes; `DS` dosages when present, else `GT`; multi-allelic records are
//! skipped and counted in the summary) and the scoring file `--score FILE` (PGS Catalog, plain or
//! gzip, or plink2-style), harmonises (report in `OUT.harmonization.tsv`, written even when the overlap
//! is too low), scores block by block and writes `OUT.sscore` and `OUT.sscore.vars` (the kept
//! variant IDs, like plink2's `list-variants`). Every output goes through a temporary file that is
//! renamed on success.

use core::fmt;
use std::io::Write;
use std::path::PathBuf;

use crate::data::harmonize::{self, Harmonization, HarmonizeError, HarmonizeOptions};
use crate::data::pgs::{self, PgsError, ScoringFile};
use crate::data::plink::{self, Fileset, PlinkError};
use crate::data::score::{self, DEFAULT_BLOCK_BYTES, Imputation, ScoreError};
use crate::data::vcf::{VcfError, VcfSite};

/// Arguments of `igs-mpc score`.
#[derive(Clone, Debug, clap::Args)]
pub struct ScoreArgs {
    /// PLINK 1 fileset prefix (PREFIX.bed, PREFIX.bim, PREFIX.fam).
    #[arg(
        long,
        value_name = "PREFIX",
        required_unless_present = "vcf",
        conflicts_with = "vcf"
    )]
    pub bfile: Option<PathBuf>,
    /// VCF or BCF file (plain or bgzip; the format is detected from the bytes): dosages from
    /// DS when present, else from GT.
    #[arg(long, visible_alias = "bcf", value_name = "FILE")]
    pub vcf: Option<PathBuf>,
    /// Scoring file: PGS Catalog format (plain or .gz) or plink2-style (ID, allele, weight).
    #[arg(long, value_name = "FILE")]
    pub score: PathBuf,
    /// Output prefix: writes OUT.sscore, OUT.sscore.vars and OUT.harmonization.tsv.
    #[arg(long, value_name = "OUT")]
    pub out: PathBuf,
    /// Missing calls contribute 0 and DENOM = ALLELE_CT (plink2 `no-mean-imputation`).
    #[arg(long)]
    pub no_mean_imputation: bool,
    /// Keep strand-ambiguous (A/T, C/G) variants instead of dropping them.
    #[arg(long)]
    pub keep_strand_ambiguous: bool,
    /// Refuse to score when fewer than this fraction of score rows match the site.
    #[arg(long, default_value_t = harmonize::DEFAULT_MIN_OVERLAP, value_name = "FRACTION")]
    pub min_overlap: f64,
}

/// Errors of `igs-mpc score`.
#[derive(Debug)]
#[non_exhaustive]
pub enum ScoreCommandError {
    /// The fileset could not be read.
    Plink(PlinkError),
    /// The VCF could not be read.
    Vcf(VcfError),
    /// Neither `--bfile` nor `--vcf` was given.
    NoInput,
    /// The scoring file could not be read.
    Pgs(PgsError),
    /// Harmonisation refused (the report was still written).
    Harmonize(HarmonizeError),
    /// Scoring or writing failed.
    Score(ScoreError),
}

impl fmt::Display for ScoreCommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plink(e) => e.fmt(f),
            Self::Vcf(e) => e.fmt(f),
            Self::NoInput => write!(f, "give --bfile PREFIX or --vcf/--bcf FILE"),
            Self::Pgs(e) => e.fmt(f),
            Self::Harmonize(e) => e.fmt(f),
            Self::Score(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ScoreCommandError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Plink(e) => Some(e),
            Self::Vcf(e) => Some(e),
            Self::NoInput => None,
            Self::Pgs(e) => Some(e),
            Self::Harmonize(e) => Some(e),
            Self::Score(e) => Some(e),
        }
    }
}

/// What a successful run did.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreSummary {
    /// Samples scored.
    pub samples: usize,
    /// Score rows read.
    pub rows_in: usize,
    /// Variants used.
    pub kept: usize,
    /// `kept / rows_in`.
    pub overlap: f64,
    /// The `.sscore` written.
    pub sscore: PathBuf,
    /// VCF/BCF records skipped as multi-allelic (0 for a PLINK fileset).
    pub multi_allelic_skipped: usize,
}

impl fmt::Display for ScoreSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "scored {} samples on {} of {} score rows (overlap {:.4}); wrote {}",
            self.samples,
            self.kept,
            self.rows_in,
            self.overlap,
            self.sscore.display()
        )?;
        if self.multi_allelic_skipped > 0 {
            write!(
                f,
                "; skipped {} multi-allelic VCF/BCF records",
                self.multi_allelic_skipped
            )?;
        }
        Ok(())
    }
}

/// Runs `igs-mpc score`.
pub fn run(args: &ScoreArgs) -> Result<ScoreSummary, ScoreCommandError> {
    let site = match (&args.bfile, &args.vcf) {
        (Some(prefix), _) => Site::Plink(Fileset::open(prefix).map_err(ScoreCommandError::Plink)?),
        (None, Some(path)) => Site::Vcf(VcfSite::open(path).map_err(ScoreCommandError::Vcf)?),
        (None, None) => return Err(ScoreCommandError::NoInput),
    };
    let (variants, samples) = match &site {
        Site::Plink(f) => (f.variants(), f.samples()),
        Site::Vcf(v) => (v.variants(), v.samples()),
    };
    let scoring = pgs::read_scoring_file(&args.score).map_err(ScoreCommandError::Pgs)?;
    let options = HarmonizeOptions {
        drop_strand_ambiguous: !args.keep_strand_ambiguous,
        min_overlap: args.min_overlap,
    };
    let report_path = plink::with_suffix(&args.out, "harmonization.tsv");
    let harmonization = match harmonize::harmonize(&scoring, variants, &options) {
        Ok(h) => h,
        Err(e) => {
            if let HarmonizeError::InsufficientOverlap { harmonization, .. } = &e {
                write_report(&report_path, harmonization, &scoring)?;
            }
            return Err(ScoreCommandError::Harmonize(e));
        }
    };
    write_report(&report_path, &harmonization, &scoring)?;
    let imputation = if args.no_mean_imputation {
        Imputation::None
    } else {
        Imputation::Mean
    };
    let scores = match &site {
        Site::Plink(f) => score::score_fileset(f, &harmonization, imputation, DEFAULT_BLOCK_BYTES),
        Site::Vcf(v) => score::score_vcf(v, &harmonization, imputation),
    }
    .map_err(ScoreCommandError::Score)?;
    let vars_path = plink::with_suffix(&args.out, "sscore.vars");
    score::write_atomically(&vars_path, |w| {
        for k in &harmonization.kept {
            writeln!(w, "{}", k.id)?;
        }
        Ok(())
    })
    .map_err(ScoreCommandError::Score)?;
    let sscore = plink::with_suffix(&args.out, "sscore");
    score::write_atomically(&sscore, |w| score::write_sscore(w, samples, &scores))
        .map_err(ScoreCommandError::Score)?;
    Ok(ScoreSummary {
        samples: scores.len(),
        rows_in: harmonization.rows_in,
        kept: harmonization.kept.len(),
        overlap: harmonization.overlap(),
        sscore,
        multi_allelic_skipped: match &site {
            Site::Plink(_) => 0,
            Site::Vcf(v) => v.skipped().multi_allelic,
        },
    })
}

/// The genotype source of a run.
enum Site {
    Plink(Fileset),
    Vcf(VcfSite),
}

fn write_report(
    path: &std::path::Path,
    harmonization: &Harmonization,
    scoring: &ScoringFile,
) -> Result<(), ScoreCommandError> {
    score::write_atomically(path, |w| harmonization.write_report(scoring, w))
        .map_err(ScoreCommandError::Score)
}
