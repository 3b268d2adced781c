//! PLINK 1 binary filesets (`.bed` + `.bim` + `.fam`), read by our own small reader.
//!
//! - [`parse_bim`] and [`parse_fam`] read the text files (whitespace-separated, 6 fields).
//! - [`BedReader`] checks the magic (`6c 1b 01`, SNP-major only) and the size
//!   `3 + n_variants · ceil(n_samples / 4)`, then reads whole variants or blocks of consecutive
//!   variants at a time. 2-bit codes, low bits first: 0 = two A1 copies, 1 = missing,
//!   2 = heterozygous, 3 = two A2 copies; [`decode_a1_dosages`] turns them into A1 dosages.
//! - [`Fileset::open`] reads the `.bim` and `.fam` of a prefix and validates the `.bed` against
//!   them; [`discover_filesets`] lists the prefixes of the `*.bed` files in a directory.
//!
//! Memory: a [`Fileset`] holds the `.bim` and `.fam` records (a few hundred bytes per variant
//! and per sample); genotypes are never loaded whole by this module — the caller chooses how many
//! variants to read at once ([`BedReader::read_block`] needs `count · ceil(n_samples / 4)` bytes).

use core::fmt;
use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use super::Location;

mod bed;
mod bim;
mod fam;

pub use bed::{BED_MAGIC, BedReader, MISSING, decode_a1_dosages, decode_a2_dosages};
pub use bim::{Variant, parse_bim};
pub use fam::{Sample, Sex, parse_fam};

/// Errors reading a PLINK 1 fileset. Messages never contain genotype values.
#[derive(Debug)]
#[non_exhaustive]
pub enum PlinkError {
    /// A file could not be opened or read.
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        error: io::Error,
    },
    /// A text line is longer than [`crate::data::MAX_LINE_BYTES`] or not UTF-8.
    BadLine {
        /// Where.
        at: Location,
    },
    /// A `.bim`/`.fam` line does not have exactly 6 fields.
    FieldCount {
        /// Where (line only).
        at: Location,
        /// Fields expected.
        expected: usize,
        /// Fields found.
        found: usize,
    },
    /// A field does not parse (the value itself is not echoed).
    BadField {
        /// Where (line and column).
        at: Location,
        /// What the field should be.
        expected: &'static str,
    },
    /// Two `.fam` lines have the same IID (the IID is not echoed; both lines are named).
    DuplicateSample {
        /// The later line.
        at: Location,
        /// The line of the first occurrence.
        first_line: u64,
    },
    /// The `.bim` or `.fam` has no records.
    Empty {
        /// The file.
        path: String,
    },
    /// The `.bed` does not start with the PLINK 1 SNP-major magic `6c 1b 01`.
    BadMagic {
        /// The file.
        path: String,
    },
    /// The `.bed` is in the obsolete sample-major mode (third byte `00`).
    SampleMajor {
        /// The file.
        path: String,
    },
    /// The `.bed` holds whole variants, but not as many as the `.bim` lists.
    CountMismatch {
        /// The `.bed` file.
        path: String,
        /// Variants in the `.bim`.
        bim_variants: usize,
        /// Variants the `.bed` size implies with the `.fam` sample count.
        bed_variants: u64,
    },
    /// The `.bed` is shorter than `3 + n_variants · ceil(n_samples / 4)`.
    Truncated {
        /// The file.
        path: String,
        /// Expected size in bytes.
        expected: u64,
        /// Actual size in bytes.
        actual: u64,
    },
    /// The `.bed` size matches neither the `.bim`/`.fam` counts nor a whole number of variants.
    SizeMismatch {
        /// The file.
        path: String,
        /// Expected size in bytes.
        expected: u64,
        /// Actual size in bytes.
        actual: u64,
    },
    /// A variant index or block outside the fileset, or an output buffer of the wrong size.
    OutOfRange {
        /// What was asked.
        what: &'static str,
    },
}

impl fmt::Display for PlinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, error } => write!(f, "{path}: {error}"),
            Self::BadLine { at } => write!(f, "{at}: line too long or not UTF-8"),
            Self::FieldCount {
                at,
                expected,
                found,
            } => write!(f, "{at}: expected {expected} fields, found {found}"),
            Self::BadField { at, expected } => write!(f, "{at}: expected {expected}"),
            Self::DuplicateSample { at, first_line } => {
                write!(f, "{at}: duplicate IID (first seen on line {first_line})")
            }
            Self::Empty { path } => write!(f, "{path}: no records"),
            Self::BadMagic { path } => {
                write!(f, "{path}: not a PLINK 1 .bed file (wrong magic bytes)")
            }
            Self::SampleMajor { path } => {
                write!(f, "{path}: sample-major .bed files are not supported")
            }
            Self::CountMismatch {
                path,
                bim_variants,
                bed_variants,
            } => write!(
                f,
                "{path}: holds {bed_variants} variants for the .fam sample count, \
                 but the .bim lists {bim_variants} (.bim/.fam count mismatch)"
            ),
            Self::Truncated {
                path,
                expected,
                actual,
            } => write!(
                f,
                "{path}: truncated: {actual} bytes, the .bim/.fam imply {expected}"
            ),
            Self::SizeMismatch {
                path,
                expected,
                actual,
            } => write!(
                f,
                "{path}: {actual} bytes, the .bim/.fam imply {expected} \
                 (.bim/.fam count mismatch or a corrupt file)"
            ),
            Self::OutOfRange { what } => write!(f, "out of range: {what}"),
        }
    }
}

impl std::error::Error for PlinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A PLINK 1 fileset whose `.bim` and `.fam` are parsed and whose `.bed` was checked.
#[derive(Clone, Debug)]
pub struct Fileset {
    prefix: PathBuf,
    variants: Vec<Variant>,
    samples: Vec<Sample>,
}

impl Fileset {
    /// Reads `PREFIX.bim` and `PREFIX.fam` and checks `PREFIX.bed`'s magic and size.
    pub fn open(prefix: &Path) -> Result<Self, PlinkError> {
        let bim_path = with_suffix(prefix, "bim");
        let fam_path = with_suffix(prefix, "fam");
        let variants = parse_bim(open_buffered(&bim_path)?, &bim_path.display().to_string())?;
        let samples = parse_fam(open_buffered(&fam_path)?, &fam_path.display().to_string())?;
        let fileset = Self {
            prefix: prefix.to_path_buf(),
            variants,
            samples,
        };
        fileset.bed_reader()?;
        Ok(fileset)
    }

    /// The prefix the fileset was opened with.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// The `.bim` records, in file order.
    pub fn variants(&self) -> &[Variant] {
        &self.variants
    }

    /// The `.fam` records, in file order.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Opens the `.bed` (checking magic and size again: the file may have changed).
    pub fn bed_reader(&self) -> Result<BedReader<File>, PlinkError> {
        let path = with_suffix(&self.prefix, "bed");
        let name = path.display().to_string();
        let file = File::open(&path).map_err(|error| PlinkError::Io {
            path: name.clone(),
            error,
        })?;
        BedReader::new(file, self.samples.len(), self.variants.len(), &name)
    }
}

/// The prefixes (`dir/NAME` for every `dir/NAME.bed`), sorted by name.
pub fn discover_filesets(dir: &Path) -> Result<Vec<PathBuf>, PlinkError> {
    let io_err = |error| PlinkError::Io {
        path: dir.display().to_string(),
        error,
    };
    let mut prefixes = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let path = entry.map_err(io_err)?.path();
        if path.extension().is_some_and(|e| e == "bed") && path.is_file() {
            prefixes.push(path.with_extension(""));
        }
    }
    prefixes.sort();
    Ok(prefixes)
}

/// `prefix` + `.` + `ext` (the prefix may itself contain dots).
pub(crate) fn with_suffix(prefix: &Path, ext: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

fn open_buffered(path: &Path) -> Result<BufReader<File>, PlinkError> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|error| PlinkError::Io {
            path: path.display().to_string(),
            error,
        })
}
