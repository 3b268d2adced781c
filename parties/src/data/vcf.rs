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
            let (header, record) = reader.current();
            let bad = |expected| VcfError::BadRecord {
                path: name.clone(),
                record: n,
                expected,
            };
            let alts = record.alternate_bases();
            match alts.len() {
                0 => {
                    skipped.no_alt += 1;
                    continue;
                }
                1 => {}
                _ => {
                    skipped.multi_allelic += 1;
                    if skipped.multi_allelic_records.len() < SKIPPED_EXAMPLES {
                        skipped.multi_allelic_records.push(n);
                    }
                    continue;
                }
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
            let reference = record
                .reference_bases()
                .iter()
                .collect::<Result<Vec<u8>, _>>()
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|r| !r.is_empty())
                .ok_or_else(|| bad("a REF allele"))?;
            let chrom = record
                .reference_sequence_name(header)
                .map_err(|_| bad("a chromosome named in the header"))?
                .to_owned();
            let id = record
                .ids()
                .iter()
                .next()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{chrom}:{pos}:{reference}:{alt}"));
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
            let (header, record) = reader.current();
            alt_dosages(header, record, name, n, &mut dosages)?;
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

/// A record stream of either format, with its header; hands out the current record through
/// noodles' format-neutral [`vcf::variant::Record`] trait.
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
        record: bcf::Record,
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
                    record: bcf::Record::default(),
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
            ReaderKind::Bcf { inner, record } => read_bcf_record(inner, record),
        }
        .map_err(|error| VcfError::Io {
            path: name.to_owned(),
            error,
        })
    }

    /// The header and the record read by the last [`RecordReader::advance`].
    fn current(&self) -> (&vcf::Header, &dyn vcf::variant::Record) {
        match &self.kind {
            ReaderKind::Vcf { record, .. } => (&self.header, record),
            ReaderKind::Bcf { record, .. } => (&self.header, record),
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

/// Reads one BCF record, refusing a record longer than [`MAX_BCF_RECORD_BYTES`] before
/// noodles allocates for it; `false` at the end of the stream.
fn read_bcf_record(inner: &mut Box<dyn BufRead>, record: &mut bcf::Record) -> io::Result<bool> {
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
    let mut framed = (&lengths[..]).chain(inner.by_ref().take(total));
    let n = bcf::io::Reader::from(&mut framed).read_record(record)?;
    Ok(n > 0)
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
        let e = VcfSite::from_bytes("huge.bcf", huge).unwrap_err();
        assert!(e.to_string().contains("limit"), "{e}");
    }

    /// Bytes after the BCF header: magic (3) + version (2) + length (4) + text.
    fn records_len(bcf: &[u8]) -> usize {
        let l_text = u32::from_le_bytes(bcf[5..9].try_into().unwrap()) as usize;
        bcf.len() - 9 - l_text
    }
}
