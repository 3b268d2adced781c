//! VCF and BCF input (plain or bgzip/gzip) through `noodles-vcf`/`noodles-bcf`, scored like a
//! PLINK fileset.
//!
//! The format is detected from the bytes, not the file name: gzip/bgzip by its magic bytes, then
//! BCF by its `BCF` magic (BCF 2.x, usually bgzipped as bcftools and plink2 write it), else VCF
//! text. Both formats go through the same code, via noodles' format-neutral
//! [`vcf::variant::Record`] trait, so they have the same semantics. A source is a file
//! ([`VcfSite::open`]) or bytes already in memory ([`VcfSite::from_bytes`]; used by the fuzz
//! targets).
//!
//! A site is read twice, so memory does not grow with the genotype count:
//! 1. [`VcfSite::open`] reads the header (samples) and, per record, only CHROM, POS, ID, REF and
//!    ALT. Every biallelic record becomes a [`Variant`] with A1 = ALT and A2 = REF (plink2's
//!    import convention), so [`crate::data::harmonize`] works unchanged. Multi-allelic records and
//!    records without an ALT allele are skipped and counted in [`Skipped`] (with the first few
//!    record numbers), never silently.
//! 2. [`VcfSite::for_each_kept`] streams the harmonised records again and hands out one
//!    effect-allele dosage vector per kept variant.
//!
//! Dosages: from `DS` (the ALT dosage, a float in `[0, 2]`) when the record has it and the
//! sample's value is present, else from `GT` (ALT allele count; a haploid call counts twice, as
//! plink2 does outside sex chromosomes; any missing allele makes the call missing). Values are
//! fixed point in thousandths ([`MILLI`]), `u16` with [`MISSING_MILLI`] for missing: a `DS`
//! value is rounded to the nearest 1/1000 (VCFs usually print 3 decimals), and a hard call is
//! exactly `0`, `1000` or `2000`, so scoring a GT-only VCF adds exactly the same `f64` terms as
//! the PLINK path (see [`crate::data::score::ScoreAccumulator::add_milli_variant`]).
//! [`VcfSite::load_genotypes`] gives the hard-call [`Genotypes`] the secure circuits consume and
//! refuses fractional dosages.
//!
//! Bounds on hostile input: a BCF record's two length fields are checked against
//! [`MAX_BCF_RECORD_BYTES`] before noodles allocates for the record.
//!
//! Errors name the file, the record number (1-based, header excluded) and the sample index; they
//! never echo values.

use core::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flate2::bufread::MultiGzDecoder;
use noodles_bcf as bcf;
use noodles_vcf as vcf;
use vcf::variant::record::samples::series::Value;
use vcf::variant::record::samples::series::value::Array;
use vcf::variant::record::{AlternateBases as _, Ids as _, ReferenceBases as _, Samples as _};

use super::genotypes::{Genotypes, GenotypesError, MISSING};
use super::harmonize::Harmonization;
use super::plink::{Sample, Sex, Variant};

/// Fixed-point scale of dosages: one allele copy = 1000.
pub const MILLI: u16 = 1000;

/// The fixed-point value standing for a missing dosage.
pub const MISSING_MILLI: u16 = u16::MAX;

/// How many skipped record numbers [`Skipped`] keeps per reason.
const SKIPPED_EXAMPLES: usize = 10;

/// Longest accepted BCF record (shared plus per-sample bytes), checked before anything is
/// allocated for it: 256 MiB is over 600 bytes per sample for 400,000 samples.
pub const MAX_BCF_RECORD_BYTES: u64 = 256 << 20;

/// Errors reading a VCF. Messages never contain genotype values.
#[derive(Debug)]
#[non_exhaustive]
pub enum VcfError {
    /// The file could not be opened or read, or the header is malformed.
    Io {
        /// The file.
        path: String,
        /// The underlying error (noodles' header and record errors included).
        error: io::Error,
    },
    /// The header names no samples.
    NoSamples {
        /// The file.
        path: String,
    },
    /// Two samples have the same name.
    DuplicateSample {
        /// The file.
        path: String,
        /// 0-based index of the second occurrence.
        sample: usize,
    },
    /// A record field (position, alleles) does not parse.
    BadRecord {
        /// The file.
        path: String,
        /// 1-based record number.
        record: u64,
        /// What was expected.
        expected: &'static str,
    },
    /// A sample's `GT` or `DS` does not parse or is out of range.
    BadDosage {
        /// The file.
        path: String,
        /// 1-based record number.
        record: u64,
        /// 0-based sample index.
        sample: usize,
        /// What was expected.
        expected: &'static str,
    },
    /// A kept record has neither `GT` nor `DS`.
    NoGenotypes {
        /// The file.
        path: String,
        /// 1-based record number.
        record: u64,
    },
    /// The file changed between the two passes (fewer records than the first pass saw).
    Changed {
        /// The file.
        path: String,
    },
    /// A harmonised variant index is outside the site.
    VariantIndex,
    /// Fractional dosages cannot become a hard-call [`Genotypes`].
    Fractional {
        /// 1-based record number.
        record: u64,
    },
    /// Building the dosage matrix failed.
    Genotypes(GenotypesError),
}

impl fmt::Display for VcfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, error } => write!(f, "{path}: {error}"),
            Self::NoSamples { path } => write!(f, "{path}: the header names no samples"),
            Self::DuplicateSample { path, sample } => {
                write!(f, "{path}: sample {sample} repeats an earlier sample name")
            }
            Self::BadRecord {
                path,
                record,
                expected,
            } => write!(f, "{path}: record {record}: expected {expected}"),
            Self::BadDosage {
                path,
                record,
                sample,
                expected,
            } => write!(
                f,
                "{path}: record {record}, sample {sample}: expected {expected}"
            ),
            Self::NoGenotypes { path, record } => {
                write!(f, "{path}: record {record}: neither GT nor DS")
            }
            Self::Changed { path } => write!(f, "{path}: the file changed while reading"),
            Self::VariantIndex => write!(f, "harmonised variant index outside the VCF site"),
            Self::Fractional { record } => write!(
                f,
                "record {record}: fractional dosages cannot be used as hard calls"
            ),
            Self::Genotypes(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for VcfError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { error, .. } => Some(error),
            Self::Genotypes(e) => Some(e),
            _ => None,
        }
    }
}

/// Records skipped by [`VcfSite::open`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Records with more than one ALT allele.
    pub multi_allelic: usize,
    /// Records with no ALT allele (`.`).
    pub no_alt: usize,
    /// The first few record numbers (1-based) of multi-allelic records.
    pub multi_allelic_records: Vec<u64>,
}

/// The container format, detected from the (decompressed) first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VariantFormat {
    /// VCF text.
    Vcf,
    /// BCF 2 (binary VCF).
    Bcf,
}

/// Where the bytes of a site come from.
#[derive(Clone, Debug)]
enum Source {
    /// A file, re-opened for each pass.
    File(PathBuf),
    /// An in-memory copy (tests, fuzzers, data already read).
    Memory(Arc<[u8]>),
}

/// A VCF or BCF whose header and variant columns have been read.
#[derive(Clone, Debug)]
pub struct VcfSite {
    source: Source,
    /// Display name of the source, for error messages.
    name: String,
    format: VariantFormat,
    samples: Vec<Sample>,
    variants: Vec<Variant>,
    /// 1-based record number of each entry of `variants`.
    records: Vec<u64>,
    skipped: Skipped,
}

impl VcfSite {
    /// First pass over a file (VCF or BCF, plain or gzip/bgzip; see the module docs).
    pub fn open(path: &Path) -> Result<Self, VcfError> {
        Self::first_pass(Source::File(path.to_path_buf()), path.display().to_string())
    }

    /// First pass over an in-memory file: the same formats and checks as [`VcfSite::open`];
    /// `name` is used only in error messages.
    pub fn from_bytes(name: &str, bytes: impl Into<Arc<[u8]>>) -> Result<Self, VcfError> {
        Self::first_pass(Source::Memory(bytes.into()), name.to_owned())
    }

    fn first_pass(source: Source, name: String) -> Result<Self, VcfError> {
        let mut reader = RecordReader::open(&source, &name)?;
        let header = reader.header();
        let mut samples = Vec::with_capacity(header.sample_names().len());
        let mut seen = std::collections::HashSet::new();
        for (k, iid) in header.sample_names().iter().enumerate() {
            if !seen.insert(iid.as_str()) {
                return Err(VcfError::DuplicateSample {
                    path: name,
                    sample: k,
                });
            }
            samples.push(Sample {
                fid: "0".to_owned(),
                iid: iid.clone(),
                father: "0".to_owned(),
                mother: "0".to_owned(),
                sex: Sex::Unknown,
                phenotype: "-9".to_owned(),
            });
        }
        if samples.is_empty() {
            return Err(VcfError::NoSamples { path: name });
        }
        let mut variants = Vec::new();
        let mut records = Vec::new();
        let mut skipped = Skipped::default();
        let mut n: u64 = 0;
        while reader.advance(&name)? {
            n += 1;
            let site = match reader.site(&name, n)? {
                SiteColumns::NoAlt => {
                    skipped.no_alt += 1;
                    continue;
                }
                SiteColumns::MultiAllelic => {
                    skipped.multi_allelic += 1;
                    if skipped.multi_allelic_records.len() < SKIPPED_EXAMPLES {
                        skipped.multi_allelic_records.push(n);
                    }
                    continue;
                }
                SiteColumns::Biallelic(site) => site,
            };
            let Biallelic {
                chrom,
                pos,
                id,
                reference,
                alt,
            } = site;
            let id = id.unwrap_or_else(|| format!("{chrom}:{pos}:{reference}:{alt}"));
            variants.push(Variant {
                chrom,
                id,
                cm: 0.0,
                pos,
                a1: alt,
                a2: reference,
            });
            records.push(n);
        }
        Ok(Self {
            format: reader.format(),
            source,
            name,
            samples,
            variants,
            records,
            skipped,
        })
    }

    /// VCF or BCF.
    pub fn format(&self) -> VariantFormat {
        self.format
    }

    /// The samples, in header order (FID `0`, sex unknown).
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// The biallelic variants (A1 = ALT, A2 = REF), in file order.
    pub fn variants(&self) -> &[Variant] {
        &self.variants
    }

    /// What the first pass skipped.
    pub fn skipped(&self) -> &Skipped {
        &self.skipped
    }

    /// Second pass: calls `f(k, dosages)` for every kept variant `k` (in [`Harmonization::kept`]
    /// order) with its effect-allele dosages in thousandths ([`MISSING_MILLI`] for missing).
    pub fn for_each_kept<E: From<VcfError>>(
        &self,
        harmonization: &Harmonization,
        mut f: impl FnMut(usize, &[u16]) -> Result<(), E>,
    ) -> Result<(), E> {
        let name = &self.name;
        let mut wanted = Vec::with_capacity(harmonization.kept.len());
        for k in &harmonization.kept {
            let record = self
                .records
                .get(k.variant_index)
                .ok_or(VcfError::VariantIndex)?;
            wanted.push((*record, k.effect_is_a1));
        }
        let mut reader = RecordReader::open(&self.source, name)?;
        let mut dosages = vec![0u16; self.samples.len()];
        let mut n: u64 = 0;
        for (k, &(target, effect_is_alt)) in wanted.iter().enumerate() {
            while n < target {
                if !reader.advance(name)? {
                    return Err(VcfError::Changed { path: name.clone() }.into());
                }
                n += 1;
            }
            if n != target {
                return Err(VcfError::VariantIndex.into());
            }
            reader.alt_dosages(name, n, &mut dosages)?;
            if !effect_is_alt {
                for d in &mut dosages {
                    if *d != MISSING_MILLI {
                        *d = 2 * MILLI - *d;
                    }
                }
            }
            f(k, &dosages)?;
        }
        Ok(())
    }

    /// All kept variants as a hard-call effect-allele matrix; [`VcfError::Fractional`] if a
    /// `DS` value is not a whole number of copies.
    pub fn load_genotypes(&self, harmonization: &Harmonization) -> Result<Genotypes, VcfError> {
        let n = self.samples.len();
        let mut all = Vec::with_capacity(n * harmonization.kept.len());
        self.for_each_kept(harmonization, |k, dosages| {
            for &d in dosages {
                all.push(match d {
                    MISSING_MILLI => MISSING,
                    0 => 0,
                    MILLI => 1,
                    2000 => 2,
                    _ => {
                        let record = harmonization
                            .kept
                            .get(k)
                            .and_then(|v| self.records.get(v.variant_index))
                            .copied()
                            .unwrap_or(0);
                        return Err(VcfError::Fractional { record });
                    }
                });
            }
            Ok(())
        })?;
        Genotypes::new(n, harmonization.kept.len(), all).map_err(VcfError::Genotypes)
    }
}

/// The site columns of one record, as the first pass needs them.
enum SiteColumns {
    /// No ALT allele.
    NoAlt,
    /// More than one ALT allele.
    MultiAllelic,
    /// One ALT allele.
    Biallelic(Biallelic),
}

/// CHROM, POS, the first ID (if any), REF and the ALT of a biallelic record.
struct Biallelic {
    chrom: String,
    pos: u64,
    id: Option<String>,
    reference: String,
    alt: String,
}

/// A record stream of either format, with its header. VCF records are decoded by noodles-vcf;
/// BCF records are framed, bounded and decoded here ([`bcf_site`], [`bcf_alt_dosages`]) with
/// checked reads, because noodles-bcf 0.94's record accessors panic on some malformed records
/// (found by the `bcf_record` fuzz target); noodles-bcf reads the BCF header.
struct RecordReader {
    header: vcf::Header,
    kind: ReaderKind,
}

enum ReaderKind {
    Vcf {
        reader: vcf::io::Reader<Box<dyn BufRead>>,
        record: vcf::Record,
    },
    Bcf {
        inner: Box<dyn BufRead>,
        /// The current record's bytes: the two lengths, shared and per-sample data (reused).
        buf: Vec<u8>,
    },
}

impl RecordReader {
    /// Opens the source (gzip/bgzip detected by its magic bytes, then BCF by `BCF`) and reads the
    /// header.
    fn open(source: &Source, name: &str) -> Result<Self, VcfError> {
        let io_err = |error| VcfError::Io {
            path: name.to_owned(),
            error,
        };
        let raw: Box<dyn BufRead> = match source {
            Source::File(path) => Box::new(BufReader::with_capacity(
                1 << 16,
                File::open(path).map_err(io_err)?,
            )),
            Source::Memory(bytes) => Box::new(io::Cursor::new(Arc::clone(bytes))),
        };
        let (gzip, raw) = starts_with(raw, &[0x1f, 0x8b]).map_err(io_err)?;
        let inner: Box<dyn BufRead> = if gzip {
            Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(raw)))
        } else {
            raw
        };
        let (is_bcf, inner) = starts_with(inner, b"BCF").map_err(io_err)?;
        if is_bcf {
            let mut reader = bcf::io::Reader::from(inner);
            let header = reader.read_header().map_err(io_err)?;
            Ok(Self {
                header,
                kind: ReaderKind::Bcf {
                    inner: reader.into_inner(),
                    buf: Vec::new(),
                },
            })
        } else {
            let mut reader = vcf::io::Reader::new(inner);
            let header = reader.read_header().map_err(io_err)?;
            Ok(Self {
                header,
                kind: ReaderKind::Vcf {
                    reader,
                    record: vcf::Record::default(),
                },
            })
        }
    }

    fn format(&self) -> VariantFormat {
        match self.kind {
            ReaderKind::Vcf { .. } => VariantFormat::Vcf,
            ReaderKind::Bcf { .. } => VariantFormat::Bcf,
        }
    }

    fn header(&self) -> &vcf::Header {
        &self.header
    }

    /// Reads the next record; `false` at the end.
    fn advance(&mut self, name: &str) -> Result<bool, VcfError> {
        match &mut self.kind {
            ReaderKind::Vcf { reader, record } => reader.read_record(record).map(|n| n > 0),
            ReaderKind::Bcf { inner, buf } => read_bcf_record(inner, buf),
        }
        .map_err(|error| VcfError::Io {
            path: name.to_owned(),
            error,
        })
    }

    /// CHROM, POS, ID, REF and ALT of the current record.
    fn site(&self, name: &str, n: u64) -> Result<SiteColumns, VcfError> {
        let bad = |expected| VcfError::BadRecord {
            path: name.to_owned(),
            record: n,
            expected,
        };
        let record = match &self.kind {
            ReaderKind::Vcf { record, .. } => record,
            ReaderKind::Bcf { buf, .. } => return bcf_site(&self.header, buf).map_err(bad),
        };
        let alts = record.alternate_bases();
        match alts.len() {
            0 => return Ok(SiteColumns::NoAlt),
            1 => {}
            _ => return Ok(SiteColumns::MultiAllelic),
        }
        let alt = alts
            .iter()
            .next()
            .and_then(Result::ok)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| bad("an ALT allele"))?
            .to_owned();
        let pos = record
            .variant_start()
            .and_then(Result::ok)
            .map(usize::from)
            .and_then(|p| u64::try_from(p).ok())
            .ok_or_else(|| bad("a position"))?;
        let reference = record.reference_bases().to_owned();
        if reference.is_empty() {
            return Err(bad("a REF allele"));
        }
        let chrom = vcf::variant::Record::reference_sequence_name(record, &self.header)
            .map_err(|_| bad("a chromosome named in the header"))?
            .to_owned();
        let id = record.ids().iter().next().map(str::to_owned);
        Ok(SiteColumns::Biallelic(Biallelic {
            chrom,
            pos,
            id,
            reference,
            alt,
        }))
    }

    /// ALT dosages of the current record (see [`alt_dosages`] and [`bcf_alt_dosages`]).
    fn alt_dosages(&self, name: &str, n: u64, out: &mut [u16]) -> Result<(), VcfError> {
        match &self.kind {
            ReaderKind::Vcf { record, .. } => alt_dosages(&self.header, record, name, n, out),
            ReaderKind::Bcf { buf, .. } => bcf_alt_dosages(&self.header, buf, name, n, out),
        }
    }
}

/// Whether the stream starts with `magic`; the returned stream still yields every byte.
fn starts_with(mut reader: Box<dyn BufRead>, magic: &[u8]) -> io::Result<(bool, Box<dyn BufRead>)> {
    let mut prefix = Vec::with_capacity(magic.len());
    while prefix.len() < magic.len() {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let take = buf.len().min(magic.len() - prefix.len());
        prefix.extend_from_slice(buf.get(..take).unwrap_or_default());
        reader.consume(take);
    }
    let found = prefix == magic;
    Ok((found, Box::new(io::Cursor::new(prefix).chain(reader))))
}

/// Reads one BCF record's bytes into `buf`, refusing a record longer than
/// [`MAX_BCF_RECORD_BYTES`] (the buffer grows only with the bytes actually read); `false` at the
/// end of the stream.
fn read_bcf_record(inner: &mut Box<dyn BufRead>, buf: &mut Vec<u8>) -> io::Result<bool> {
    let mut lengths = [0u8; 8];
    let mut filled = 0;
    while filled < lengths.len() {
        let k = inner.read(lengths.get_mut(filled..).unwrap_or_default())?;
        if k == 0 {
            break;
        }
        filled += k;
    }
    match filled {
        0 => return Ok(false),
        8 => {}
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "truncated BCF record length",
            ));
        }
    }
    let [s0, s1, s2, s3, i0, i1, i2, i3] = lengths;
    let total = u64::from(u32::from_le_bytes([s0, s1, s2, s3]))
        + u64::from(u32::from_le_bytes([i0, i1, i2, i3]));
    if total > MAX_BCF_RECORD_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "BCF record longer than the limit",
        ));
    }
    buf.clear();
    buf.extend_from_slice(&lengths);
    let got = inner.by_ref().take(total).read_to_end(buf)?;
    if (got as u64) < total {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "truncated BCF record",
        ));
    }
    Ok(true)
}

/// ALT dosages (thousandths) of every sample of a biallelic record: `DS` when present, else `GT`.
fn alt_dosages(
    header: &vcf::Header,
    record: &dyn vcf::variant::Record,
    name: &str,
    n: u64,
    out: &mut [u16],
) -> Result<(), VcfError> {
    let bad_record = |expected| VcfError::BadRecord {
        path: name.to_owned(),
        record: n,
        expected,
    };
    let samples = record
        .samples()
        .map_err(|_| bad_record("readable sample columns"))?;
    let bad = |sample, expected| VcfError::BadDosage {
        path: name.to_owned(),
        record: n,
        sample,
        expected,
    };
    out.fill(MISSING_MILLI);
    let ds = samples
        .select(header, "DS")
        .transpose()
        .map_err(|_| bad_record("a readable DS column"))?;
    let gt = samples
        .select(header, "GT")
        .transpose()
        .map_err(|_| bad_record("a readable GT column"))?;
    if ds.is_none() && gt.is_none() {
        return Err(VcfError::NoGenotypes {
            path: name.to_owned(),
            record: n,
        });
    }
    let mut need_gt = vec![ds.is_none(); out.len()];
    if let Some(series) = &ds {
        let mut count = 0;
        for (i, value) in series.iter(header).enumerate() {
            count += 1;
            let (Some(o), Some(need)) = (out.get_mut(i), need_gt.get_mut(i)) else {
                return Err(bad(i, "no more samples than the header names"));
            };
            let value = value.map_err(|_| bad(i, "a DS value"))?;
            let x = match value {
                None => None,
                Some(Value::Float(x)) => Some(x),
                Some(Value::Integer(x)) => Some(x as f32),
                Some(Value::Array(Array::Float(values))) => {
                    values.iter().next().and_then(Result::ok).flatten()
                }
                Some(_) => return Err(bad(i, "a numeric DS value")),
            };
            match x {
                Some(x) if (0.0..=2.0).contains(&x) => {
                    *o = (f64::from(x) * f64::from(MILLI)).round() as u16;
                }
                Some(_) => return Err(bad(i, "DS within [0, 2]")),
                None => *need = true,
            }
        }
        if count < out.len() {
            need_gt.iter_mut().skip(count).for_each(|need| *need = true);
        }
    }
    let Some(series) = gt.filter(|_| need_gt.iter().any(|&need| need)) else {
        return Ok(());
    };
    for (i, value) in series.iter(header).enumerate() {
        let (Some(o), Some(&need)) = (out.get_mut(i), need_gt.get(i)) else {
            return Err(bad(i, "no more samples than the header names"));
        };
        if !need {
            continue;
        }
        let genotype = match value.map_err(|_| bad(i, "a GT value"))? {
            None => continue,
            Some(Value::Genotype(g)) => g,
            Some(_) => return Err(bad(i, "a GT value")),
        };
        let mut alleles = 0u16;
        let mut alts = 0u16;
        let mut missing = false;
        for allele in genotype.iter() {
            let (position, _phasing) = allele.map_err(|_| bad(i, "a GT value"))?;
            alleles += 1;
            match position {
                None => missing = true,
                Some(0) => {}
                Some(1) => alts += 1,
                Some(_) => return Err(bad(i, "allele 0 or 1 in a biallelic record")),
            }
        }
        *o = match (missing, alleles) {
            (true, _) | (_, 0) => MISSING_MILLI,
            (false, 1) => 2 * alts * MILLI,
            (false, 2) => alts * MILLI,
            _ => return Err(bad(i, "a haploid or diploid GT")),
        };
    }
    Ok(())
}

/// BCF typed-value type codes (BCF 2.2 §6.3.3).
const BCF_INT8: u8 = 1;
const BCF_INT16: u8 = 2;
const BCF_INT32: u8 = 3;
const BCF_FLOAT: u8 = 5;
const BCF_CHAR: u8 = 7;

/// A byte cursor over untrusted BCF bytes: every read is bounds-checked.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, k: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(k)?;
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|b| b.first().copied())
    }

    /// A typed integer scalar (descriptor with count 1, then int8/16/32).
    fn typed_int(&mut self) -> Option<i64> {
        let d = self.u8()?;
        if d >> 4 != 1 {
            return None;
        }
        let size = int_size(d & 0x0f)?;
        int_at(self.take(size)?, size)
    }
}

/// Bytes per value of an integer type code.
fn int_size(ty: u8) -> Option<usize> {
    match ty {
        BCF_INT8 => Some(1),
        BCF_INT16 => Some(2),
        BCF_INT32 => Some(4),
        _ => None,
    }
}

/// A little-endian signed integer of `size` bytes from the start of `b`.
fn int_at(b: &[u8], size: usize) -> Option<i64> {
    match (size, b) {
        (1, [a, ..]) => Some(i64::from(*a as i8)),
        (2, [a, c, ..]) => Some(i64::from(i16::from_le_bytes([*a, *c]))),
        (4, [a, c, d, e, ..]) => Some(i64::from(i32::from_le_bytes([*a, *c, *d, *e]))),
        _ => None,
    }
}

/// A typed string (BCF 2.2 §6.3.3: character type, or an empty missing value).
fn typed_string<'a>(cursor: &mut Bytes<'a>) -> Option<&'a [u8]> {
    let d = cursor.u8()?;
    let len = match d >> 4 {
        15 => usize::try_from(cursor.typed_int()?).ok()?,
        l => usize::from(l),
    };
    match d & 0x0f {
        BCF_CHAR => cursor.take(len),
        0 if len == 0 => Some(&[]),
        _ => None,
    }
}

/// The site columns of a BCF record from its raw bytes; the error says what was expected.
fn bcf_site(header: &vcf::Header, raw: &[u8]) -> Result<SiteColumns, &'static str> {
    let shared = raw.get(8..).ok_or("a complete BCF record")?;
    let mut cursor = Bytes(shared);
    let fixed = cursor.take(24).ok_or("a complete BCF record")?;
    let (chrom, pos, n_allele) = match fixed {
        [
            c0,
            c1,
            c2,
            c3,
            p0,
            p1,
            p2,
            p3,
            _,
            _,
            _,
            _,
            _,
            _,
            _,
            _,
            _,
            _,
            a0,
            a1,
            ..,
        ] => (
            i32::from_le_bytes([*c0, *c1, *c2, *c3]),
            i32::from_le_bytes([*p0, *p1, *p2, *p3]),
            u16::from_le_bytes([*a0, *a1]),
        ),
        _ => return Err("a complete BCF record"),
    };
    let id = typed_string(&mut cursor).ok_or("an ID field")?;
    let reference = typed_string(&mut cursor).ok_or("a REF allele")?;
    match n_allele {
        0 => return Err("a REF allele"),
        1 => return Ok(SiteColumns::NoAlt),
        2 => {}
        _ => return Ok(SiteColumns::MultiAllelic),
    }
    let alt = typed_string(&mut cursor)
        .filter(|a| !a.is_empty())
        .and_then(|a| str::from_utf8(a).ok())
        .ok_or("an ALT allele")?;
    let pos = u64::try_from(i64::from(pos) + 1)
        .ok()
        .filter(|&p| p > 0)
        .ok_or("a position")?;
    let reference = str::from_utf8(reference)
        .ok()
        .filter(|r| !r.is_empty())
        .ok_or("a REF allele")?;
    let chrom = usize::try_from(chrom)
        .ok()
        .and_then(|c| header.string_maps().contigs().get_index(c))
        .ok_or("a chromosome named in the header")?;
    let id = str::from_utf8(id).map_err(|_| "a UTF-8 ID")?;
    let id = id.split(';').next().filter(|i| !i.is_empty() && *i != ".");
    Ok(SiteColumns::Biallelic(Biallelic {
        chrom: chrom.to_owned(),
        pos,
        id: id.map(str::to_owned),
        reference: reference.to_owned(),
        alt: alt.to_owned(),
    }))
}

/// ALT dosages of a BCF record from its raw bytes (`l_shared`, `l_indiv`, shared, per-sample),
/// with the semantics of [`alt_dosages`]: `DS` when the sample's value is present, else `GT`.
/// The per-sample typed arrays are decoded here with checked reads (see [`RecordReader`]).
fn bcf_alt_dosages(
    header: &vcf::Header,
    raw: &[u8],
    name: &str,
    n: u64,
    out: &mut [u16],
) -> Result<(), VcfError> {
    let bad_record = |expected| VcfError::BadRecord {
        path: name.to_owned(),
        record: n,
        expected,
    };
    let bad = |sample, expected| VcfError::BadDosage {
        path: name.to_owned(),
        record: n,
        sample,
        expected,
    };
    let malformed = || bad_record("well-formed BCF sample columns");
    let mut cursor = Bytes(raw);
    let l_shared = cursor
        .take(4)
        .and_then(|b| int_at(b, 4))
        .map(|l| (l as u32) as usize)
        .ok_or_else(malformed)?;
    cursor.take(4).ok_or_else(malformed)?;
    let shared = cursor.take(l_shared).ok_or_else(malformed)?;
    let (n_sample, n_fmt) = match shared.get(20..24) {
        Some(&[a, b, c, f]) => (u32::from_le_bytes([a, b, c, 0]) as usize, f),
        _ => return Err(malformed()),
    };
    if n_sample > out.len() {
        return Err(bad(out.len(), "no more samples than the header names"));
    }
    // (type, values per sample, bytes) of GT and DS.
    let mut gt = None;
    let mut ds = None;
    for _ in 0..n_fmt {
        let key = cursor
            .typed_int()
            .and_then(|k| usize::try_from(k).ok())
            .ok_or_else(malformed)?;
        let d = cursor.u8().ok_or_else(malformed)?;
        let ty = d & 0x0f;
        let len = match d >> 4 {
            15 => cursor
                .typed_int()
                .and_then(|l| usize::try_from(l).ok())
                .ok_or_else(malformed)?,
            l => usize::from(l),
        };
        let size = match ty {
            BCF_FLOAT => 4,
            BCF_CHAR => 1,
            0 => 0,
            t => int_size(t).ok_or_else(malformed)?,
        };
        let bytes = size
            .checked_mul(len)
            .and_then(|x| x.checked_mul(n_sample))
            .and_then(|total| cursor.take(total))
            .ok_or_else(malformed)?;
        match header.string_maps().strings().get_index(key) {
            Some("GT") => gt = Some((ty, len, bytes)),
            Some("DS") => ds = Some((ty, len, bytes)),
            Some(_) => {}
            None => return Err(bad_record("FORMAT keys defined in the header")),
        }
    }
    if gt.is_none() && ds.is_none() {
        return Err(VcfError::NoGenotypes {
            path: name.to_owned(),
            record: n,
        });
    }
    out.fill(MISSING_MILLI);
    let mut need_gt = vec![true; out.len()];
    if let Some((ty, len, bytes)) = ds {
        if ty != BCF_FLOAT || len == 0 {
            return Err(bad_record("a Float DS column"));
        }
        for (i, ((o, need), v)) in out
            .iter_mut()
            .zip(&mut need_gt)
            .zip(bytes.chunks_exact(4 * len))
            .enumerate()
        {
            let bits = match v {
                [a, b, c, d, ..] => u32::from_le_bytes([*a, *b, *c, *d]),
                _ => return Err(malformed()),
            };
            // 0x7F800001 = missing, 0x7F800002 = end of vector: fall back to GT.
            if bits == 0x7F80_0001 || bits == 0x7F80_0002 {
                continue;
            }
            let x = f32::from_bits(bits);
            if !(0.0..=2.0).contains(&x) {
                return Err(bad(i, "DS within [0, 2]"));
            }
            *o = (f64::from(x) * f64::from(MILLI)).round() as u16;
            *need = false;
        }
    }
    let Some((ty, len, bytes)) = gt.filter(|_| need_gt.iter().any(|&need| need)) else {
        return Ok(());
    };
    let size = int_size(ty).ok_or_else(|| bad_record("an integer GT column"))?;
    let (missing_value, end_of_vector) = match size {
        1 => (i64::from(i8::MIN), i64::from(i8::MIN) + 1),
        2 => (i64::from(i16::MIN), i64::from(i16::MIN) + 1),
        _ => (i64::from(i32::MIN), i64::from(i32::MIN) + 1),
    };
    if len == 0 {
        return Ok(());
    }
    for (i, ((o, &need), v)) in out
        .iter_mut()
        .zip(&need_gt)
        .zip(bytes.chunks_exact(size * len))
        .enumerate()
    {
        if !need {
            continue;
        }
        let mut alleles = 0u16;
        let mut alts = 0u16;
        let mut missing = false;
        for value in v.chunks_exact(size) {
            let value = int_at(value, size).ok_or_else(malformed)?;
            if value == end_of_vector {
                break;
            }
            alleles += 1;
            if value == missing_value || value >> 1 == 0 {
                missing = true;
                continue;
            }
            match (value >> 1) - 1 {
                0 => {}
                1 => alts += 1,
                _ => return Err(bad(i, "allele 0 or 1 in a biallelic record")),
            }
        }
        *o = match (missing, alleles) {
            (true, _) | (_, 0) => MISSING_MILLI,
            (false, 1) => 2 * alts * MILLI,
            (false, 2) => alts * MILLI,
            _ => return Err(bad(i, "a haploid or diploid GT")),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::harmonize::{HarmonizeOptions, harmonize};
    use crate::data::pgs::parse_scoring_file;

    const VCF: &str = "##fileformat=VCFv4.3\n\
        ##contig=<ID=1>\n\
        ##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n\
        ##FORMAT=<ID=DS,Number=A,Type=Float,Description=\"ALT dosage\">\n\
        #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\ts3\n\
        1\t10\trs1\tA\tG\t.\t.\t.\tGT\t0/0\t0|1\t1/1\n\
        1\t20\trs2\tC\tT,G\t.\t.\t.\tGT\t0/0\t0/1\t1/2\n\
        1\t30\trs3\tC\tT\t.\t.\t.\tGT:DS\t./.:.\t0/1:0.25\t1/1:2\n\
        1\t40\trs4\tG\t.\t.\t.\t.\tGT\t0/0\t0/0\t0/0\n\
        1\t50\t.\tT\tC\t.\t.\t.\tGT\t1\t.\t0/.\n";

    /// The VCF text re-encoded as BCF by noodles' writer (bgzipped or raw). noodles cannot
    /// encode a wholly missing `GT` value (`.`), so it becomes `./.` (missing either way).
    fn to_bcf(text: &str, bgzip: bool) -> Vec<u8> {
        let text = text.replace("GT\t1\t.\t0/.", "GT\t1\t./.\t0/.");
        let text = text.as_str();
        fn copy(text: &str, w: &mut dyn vcf::variant::io::Write) {
            let mut reader = vcf::io::Reader::new(text.as_bytes());
            let header = reader.read_header().unwrap();
            w.write_variant_header(&header).unwrap();
            for record in reader.records() {
                w.write_variant_record(&header, &record.unwrap()).unwrap();
            }
        }
        let mut out = Vec::new();
        if bgzip {
            let mut w = bcf::io::Writer::new(&mut out);
            copy(text, &mut w);
            w.try_finish().unwrap();
        } else {
            let mut w = bcf::io::Writer::from(&mut out);
            copy(text, &mut w);
        }
        out
    }

    #[test]
    fn variants_skips_and_dosages() {
        let dir = std::env::temp_dir().join(format!("vcf-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.vcf");
        std::fs::write(&path, VCF).unwrap();
        let sites = [
            (VcfSite::open(&path).unwrap(), VariantFormat::Vcf),
            (
                VcfSite::from_bytes("mem", VCF.as_bytes()).unwrap(),
                VariantFormat::Vcf,
            ),
            (
                VcfSite::from_bytes("bgzf", to_bcf(VCF, true)).unwrap(),
                VariantFormat::Bcf,
            ),
            (
                VcfSite::from_bytes("raw", to_bcf(VCF, false)).unwrap(),
                VariantFormat::Bcf,
            ),
        ];
        for (s, format) in &sites {
            check_site(s);
            assert_eq!(s.format(), *format);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn check_site(s: &VcfSite) {
        assert_eq!(s.samples().len(), 3);
        let ids: Vec<_> = s.variants().iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, ["rs1", "rs3", "1:50:T:C"]);
        assert_eq!(s.skipped().multi_allelic, 1);
        assert_eq!(s.skipped().multi_allelic_records, [2]);
        assert_eq!(s.skipped().no_alt, 1);
        assert_eq!(
            (s.variants()[0].a1.as_str(), s.variants()[0].a2.as_str()),
            ("G", "A")
        );
        let score = "rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n\
            rs1\t1\t10\tA\tG\t1\n\
            rs3\t1\t30\tT\tC\t2\n";
        let score = parse_scoring_file(score.as_bytes(), "s").unwrap();
        let options = HarmonizeOptions {
            min_overlap: 0.0,
            ..HarmonizeOptions::default()
        };
        let h = harmonize(&score, s.variants(), &options).unwrap();
        let mut seen = Vec::new();
        s.for_each_kept::<VcfError>(&h, |k, d| {
            seen.push((k, d.to_vec()));
            Ok(())
        })
        .unwrap();
        // rs1: effect = REF A, so 2 - ALT; rs3: DS, missing DS falls back to a missing GT.
        assert_eq!(seen[0], (0, vec![2000, 1000, 0]));
        assert_eq!(seen[1], (1, vec![MISSING_MILLI, 250, 2000]));
        assert!(matches!(
            s.load_genotypes(&h),
            Err(VcfError::Fractional { record: 3 })
        ));
        // The unnamed record: haploid ALT counts 2, a half-missing call is missing.
        let score = "ID\tA1\tWEIGHT\n1:50:T:C\tC\t1\n";
        let score = parse_scoring_file(score.as_bytes(), "s").unwrap();
        let h = harmonize(&score, s.variants(), &options).unwrap();
        let g = s.load_genotypes(&h).unwrap();
        assert_eq!(g.as_slice(), &[2, MISSING, MISSING]);
    }

    #[test]
    fn bcf_errors_name_the_source_and_record() {
        let bcf = to_bcf(VCF, false);
        // Truncated inside the third record.
        let header_and_two = {
            let site = VcfSite::from_bytes("full", bcf.clone()).unwrap();
            assert_eq!(site.variants().len(), 3);
            bcf.len() - 20
        };
        let e = VcfSite::from_bytes("cut.bcf", &bcf[..header_and_two]).unwrap_err();
        assert!(e.to_string().starts_with("cut.bcf: "), "{e}");
        // A record claiming more than the limit is refused before allocation.
        let mut huge = bcf.clone();
        let first_record = bcf.len() - records_len(&bcf);
        huge[first_record..first_record + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = VcfSite::from_bytes("huge.bcf", huge.clone()).unwrap_err();
        assert!(e.to_string().contains("limit"), "{e}");
        // One under the limit but truncated: an error, without allocating the claimed size.
        huge[first_record..first_record + 4].copy_from_slice(&(100u32 << 20).to_le_bytes());
        let e = VcfSite::from_bytes("cut.bcf", huge).unwrap_err();
        assert!(e.to_string().contains("truncated BCF record"), "{e}");
    }

    /// Bytes after the BCF header: magic (3) + version (2) + length (4) + text.
    fn records_len(bcf: &[u8]) -> usize {
        let l_text = u32::from_le_bytes(bcf[5..9].try_into().unwrap()) as usize;
        bcf.len() - 9 - l_text
    }
}
