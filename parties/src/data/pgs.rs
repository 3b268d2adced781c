//! Scoring files: PGS Catalog format 2.0 (plain or gzip) and plink2-style score files.
//!
//! Columns are found by header **name**, never by position.
//! - PGS Catalog: lines `#key=value` before the table are kept as [`ScoringFile::metadata`];
//!   lines starting with `##` (section titles, including `###`) are ignored. The table is
//!   tab-separated with at least `effect_allele`, `effect_weight` and an identifier (`rsID`, or
//!   `chr_name` + `chr_position`); `other_allele` is optional. When the harmonised columns are
//!   present and non-empty they take precedence: `hm_rsID` over `rsID`, `hm_chr`/`hm_pos` over
//!   `chr_name`/`chr_position`, and `hm_inferOtherAllele` (a single allele) fills a missing
//!   `other_allele`. Rows flagged `is_dominant`, `is_recessive`, `is_haplotype`, `is_diplotype` or
//!   `is_interaction` are kept but marked [`ScoreRow::non_additive`] (harmonisation drops them).
//! - plink2-style (a header with `ID` or `SNP`, no `rsID`/`chr_name`): variant `ID`, effect allele
//!   in `effect_allele`, `A1` or `ALLELE`, weight in `effect_weight`, `WEIGHT`, `BETA` or `SCORE`
//!   (first present, in that order). Tab- or whitespace-separated; a leading `#` on the header is
//!   allowed.
//!
//! Gzip input (including multi-member/bgzip) is recognised by its magic bytes, not the name.

use core::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use super::Location;
use super::text::LineReader;

/// Errors reading a scoring file. Messages never echo field values.
#[derive(Debug)]
#[non_exhaustive]
pub enum PgsError {
    /// The file could not be opened or read (including a corrupt gzip stream).
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        error: io::Error,
    },
    /// A line is longer than [`crate::data::MAX_LINE_BYTES`] or not UTF-8.
    BadLine {
        /// Where.
        at: Location,
    },
    /// No table header was found.
    NoHeader {
        /// The file.
        path: String,
    },
    /// A required column is absent from the header.
    MissingColumn {
        /// The header line.
        at: Location,
        /// The column (or alternatives) required.
        column: &'static str,
    },
    /// A column name appears twice in the header.
    DuplicateColumn {
        /// The header line and the column of the second occurrence.
        at: Location,
    },
    /// A row has a different number of fields than the header.
    FieldCount {
        /// Where.
        at: Location,
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// A required value is empty.
    MissingValue {
        /// Where.
        at: Location,
        /// The column.
        column: &'static str,
    },
    /// A value does not parse.
    BadField {
        /// Where.
        at: Location,
        /// What was expected.
        expected: &'static str,
    },
    /// The table has no rows.
    Empty {
        /// The file.
        path: String,
    },
}

impl fmt::Display for PgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, error } => write!(f, "{path}: {error}"),
            Self::BadLine { at } => write!(f, "{at}: line too long or not UTF-8"),
            Self::NoHeader { path } => write!(f, "{path}: no column header line"),
            Self::MissingColumn { at, column } => {
                write!(f, "{at}: header lacks the required column {column}")
            }
            Self::DuplicateColumn { at } => write!(f, "{at}: duplicate column name"),
            Self::FieldCount {
                at,
                expected,
                found,
            } => write!(f, "{at}: expected {expected} fields, found {found}"),
            Self::MissingValue { at, column } => write!(f, "{at}: empty {column}"),
            Self::BadField { at, expected } => write!(f, "{at}: expected {expected}"),
            Self::Empty { path } => write!(f, "{path}: no score rows"),
        }
    }
}

impl std::error::Error for PgsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Which kind of scoring file was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScoreFormat {
    /// PGS Catalog scoring file (format 2.0 columns).
    PgsCatalog,
    /// plink2 `--score`-style file (ID, allele, weight).
    Plink2,
}

/// One score row, with the identifiers the harmonizer uses.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreRow {
    /// 1-based line number in the file.
    pub line: u64,
    /// Variant identifier (`hm_rsID`, `rsID` or `ID`), if any.
    pub id: Option<String>,
    /// Chromosome (`hm_chr` or `chr_name`), if any.
    pub chrom: Option<String>,
    /// Position (`hm_pos` or `chr_position`), if any.
    pub pos: Option<u64>,
    /// The effect allele as written.
    pub effect_allele: String,
    /// The other allele (`other_allele`, else a single `hm_inferOtherAllele`), if any.
    pub other_allele: Option<String>,
    /// The weight per copy of the effect allele.
    pub weight: f64,
    /// The weight exactly as written.
    pub weight_text: String,
    /// The row is flagged dominant, recessive, haplotype, diplotype or interaction.
    pub non_additive: bool,
}

/// A parsed scoring file.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoringFile {
    /// The detected format.
    pub format: ScoreFormat,
    /// `#key=value` header lines, in order.
    pub metadata: Vec<(String, String)>,
    /// The rows, in file order.
    pub rows: Vec<ScoreRow>,
}

impl ScoringFile {
    /// The value of a `#key=value` header line.
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Opens and parses a scoring file (plain or gzip).
pub fn read_scoring_file(path: &Path) -> Result<ScoringFile, PgsError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|error| PgsError::Io {
        path: name.clone(),
        error,
    })?;
    parse_scoring_file(BufReader::new(file), &name)
}

/// Parses a scoring file from a reader; gzip is detected from the first two bytes.
pub fn parse_scoring_file<R: BufRead>(
    mut reader: R,
    source: &str,
) -> Result<ScoringFile, PgsError> {
    let head = reader.fill_buf().map_err(|error| PgsError::Io {
        path: source.to_owned(),
        error,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        parse_plain(BufReader::new(MultiGzDecoder::new(reader)), source)
    } else {
        parse_plain(reader, source)
    }
}

/// Column positions resolved from the header.
struct Columns {
    n: usize,
    format: ScoreFormat,
    id: Option<usize>,
    hm_id: Option<usize>,
    chrom: Option<usize>,
    hm_chrom: Option<usize>,
    pos: Option<usize>,
    hm_pos: Option<usize>,
    effect: usize,
    other: Option<usize>,
    hm_other: Option<usize>,
    weight: usize,
    flags: Vec<usize>,
}

const FLAG_COLUMNS: [&str; 5] = [
    "is_dominant",
    "is_recessive",
    "is_haplotype",
    "is_diplotype",
    "is_interaction",
];

impl Columns {
    fn from_header(names: &[&str], at: &Location) -> Result<Self, PgsError> {
        for (k, name) in names.iter().enumerate() {
            if names.iter().take(k).any(|n| n == name) {
                let mut at = at.clone();
                at.column = Some(k + 1);
                return Err(PgsError::DuplicateColumn { at });
            }
        }
        let find = |name: &str| names.iter().position(|n| *n == name);
        let first = |alternatives: &[&str]| alternatives.iter().find_map(|a| find(a));
        let missing = |column| PgsError::MissingColumn {
            at: at.clone(),
            column,
        };
        let pgs = ["rsID", "chr_name", "hm_rsID", "hm_chr"]
            .iter()
            .any(|c| find(c).is_some());
        if pgs {
            let c = Self {
                n: names.len(),
                format: ScoreFormat::PgsCatalog,
                id: find("rsID"),
                hm_id: find("hm_rsID"),
                chrom: find("chr_name"),
                hm_chrom: find("hm_chr"),
                pos: find("chr_position"),
                hm_pos: find("hm_pos"),
                effect: find("effect_allele").ok_or_else(|| missing("effect_allele"))?,
                other: find("other_allele"),
                hm_other: find("hm_inferOtherAllele"),
                weight: find("effect_weight").ok_or_else(|| missing("effect_weight"))?,
                flags: FLAG_COLUMNS.iter().filter_map(|c| find(c)).collect(),
            };
            let has_id = c.id.is_some() || c.hm_id.is_some();
            let has_pos = (c.chrom.is_some() && c.pos.is_some())
                || (c.hm_chrom.is_some() && c.hm_pos.is_some());
            if !has_id && !has_pos {
                return Err(missing("rsID (or chr_name and chr_position)"));
            }
            return Ok(c);
        }
        let id = first(&["ID", "SNP"]).ok_or_else(|| missing("rsID, chr_name or ID"))?;
        Ok(Self {
            n: names.len(),
            format: ScoreFormat::Plink2,
            id: Some(id),
            hm_id: None,
            chrom: None,
            hm_chrom: None,
            pos: None,
            hm_pos: None,
            effect: first(&["effect_allele", "A1", "ALLELE"])
                .ok_or_else(|| missing("effect_allele"))?,
            other: None,
            hm_other: None,
            weight: first(&["effect_weight", "WEIGHT", "BETA", "SCORE"])
                .ok_or_else(|| missing("effect_weight"))?,
            flags: Vec::new(),
        })
    }
}

fn parse_plain<R: BufRead>(reader: R, source: &str) -> Result<ScoringFile, PgsError> {
    let mut lines = LineReader::new(reader);
    let mut metadata = Vec::new();
    let mut table: Option<(Columns, bool)> = None;
    let mut rows = Vec::new();
    loop {
        let (line_no, line) = match lines.next_line() {
            Ok(Some(numbered)) => numbered,
            Ok(None) => break,
            Err(super::text::LineError::Io(error)) => {
                return Err(PgsError::Io {
                    path: source.to_owned(),
                    error,
                });
            }
            Err(_) => {
                return Err(PgsError::BadLine {
                    at: Location::new(source, lines.line_no(), None),
                });
            }
        };
        let at = |column| Location::new(source, line_no, column);
        if line.trim().is_empty() {
            continue;
        }
        let Some((columns, tabs)) = &table else {
            if line.starts_with("##") {
                continue;
            }
            if let Some(rest) = line.strip_prefix('#') {
                if let Some((k, v)) = rest.split_once('=') {
                    metadata.push((k.trim().to_owned(), v.trim().to_owned()));
                    continue;
                }
                if !rest.contains('\t') {
                    continue;
                }
            }
            let header = line.strip_prefix('#').unwrap_or(line);
            let tabs = header.contains('\t');
            let names: Vec<&str> = split(header, tabs).collect();
            table = Some((Columns::from_header(&names, &at(None))?, tabs));
            continue;
        };
        let fields: Vec<&str> = split(line, *tabs).collect();
        if fields.len() != columns.n {
            return Err(PgsError::FieldCount {
                at: at(None),
                expected: columns.n,
                found: fields.len(),
            });
        }
        rows.push(parse_row(&fields, columns, line_no, source)?);
    }
    if table.is_none() {
        return Err(PgsError::NoHeader {
            path: source.to_owned(),
        });
    }
    let format = table.map_or(ScoreFormat::PgsCatalog, |(c, _)| c.format);
    if rows.is_empty() {
        return Err(PgsError::Empty {
            path: source.to_owned(),
        });
    }
    Ok(ScoringFile {
        format,
        metadata,
        rows,
    })
}

fn split(line: &str, tabs: bool) -> Box<dyn Iterator<Item = &str> + '_> {
    if tabs {
        Box::new(line.split('\t').map(str::trim))
    } else {
        Box::new(line.split_ascii_whitespace())
    }
}

fn parse_row(fields: &[&str], c: &Columns, line: u64, source: &str) -> Result<ScoreRow, PgsError> {
    let at = |column: usize| Location::new(source, line, Some(column + 1));
    // A present, non-empty, non-"." value of an optional column.
    let value = |col: Option<usize>| {
        col.and_then(|k| fields.get(k))
            .copied()
            .filter(|v| !v.is_empty() && *v != "." && *v != "NA")
    };
    let id = value(c.hm_id).or(value(c.id)).map(str::to_owned);
    let (chrom, pos_col) = match (value(c.hm_chrom), value(c.hm_pos)) {
        (Some(ch), Some(_)) => (Some(ch), c.hm_pos),
        _ => (value(c.chrom), c.pos),
    };
    let pos = match value(pos_col) {
        Some(p) => Some(p.parse::<u64>().map_err(|_| PgsError::BadField {
            at: at(pos_col.unwrap_or_default()),
            expected: "a non-negative integer position",
        })?),
        None => None,
    };
    let effect_allele = value(Some(c.effect)).ok_or(PgsError::MissingValue {
        at: at(c.effect),
        column: "effect_allele",
    })?;
    let other_allele = value(c.other)
        .or_else(|| value(c.hm_other).filter(|o| !o.contains('/')))
        .map(str::to_owned);
    let weight_text = value(Some(c.weight)).ok_or(PgsError::MissingValue {
        at: at(c.weight),
        column: "effect_weight",
    })?;
    let weight = weight_text
        .parse::<f64>()
        .ok()
        .filter(|w| w.is_finite())
        .ok_or(PgsError::BadField {
            at: at(c.weight),
            expected: "a finite number (effect_weight)",
        })?;
    let non_additive = c.flags.iter().any(|&k| {
        fields
            .get(k)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    });
    if id.is_none() && (chrom.is_none() || pos.is_none()) {
        return Err(PgsError::MissingValue {
            at: at(c.id.or(c.chrom).unwrap_or_default()),
            column: "rsID (or chr_name and chr_position)",
        });
    }
    Ok(ScoreRow {
        line,
        id,
        chrom: chrom.map(str::to_owned),
        pos,
        effect_allele: effect_allele.to_owned(),
        other_allele,
        weight,
        weight_text: weight_text.to_owned(),
        non_additive,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    const PGS: &str = "###PGS CATALOG SCORING FILE\n#format_version=2.0\n##POLYGENIC\n\
        #pgs_id=PGS_X\nrsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n\
        rs1\t1\t100\tA\tG\t0.5\nrs2\t1\t200\tc\tT\t-1e-3\n";

    #[test]
    fn parses_pgs_catalog() {
        let f = parse_scoring_file(PGS.as_bytes(), "s.txt").unwrap();
        assert_eq!(f.format, ScoreFormat::PgsCatalog);
        assert_eq!(f.metadata_value("format_version"), Some("2.0"));
        assert_eq!(f.metadata_value("pgs_id"), Some("PGS_X"));
        assert_eq!(f.metadata.len(), 2);
        assert_eq!(f.rows.len(), 2);
        assert_eq!(f.rows[1].weight, -1e-3);
        assert_eq!(f.rows[1].pos, Some(200));
        assert_eq!(f.rows[1].line, 7);
        assert_eq!(f.rows[0].other_allele.as_deref(), Some("G"));
    }

    #[test]
    fn parses_gzip() {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(PGS.as_bytes()).unwrap();
        let gz = enc.finish().unwrap();
        let f = parse_scoring_file(&gz[..], "s.txt.gz").unwrap();
        assert_eq!(f, parse_scoring_file(PGS.as_bytes(), "s.txt").unwrap());
        assert!(matches!(
            parse_scoring_file(&gz[..gz.len() - 9], "s.txt.gz"),
            Err(PgsError::Io { .. })
        ));
    }

    #[test]
    fn columns_by_name_and_hm_precedence() {
        let text = "effect_weight\thm_pos\thm_chr\tchr_position\tchr_name\teffect_allele\
            \thm_inferOtherAllele\thm_rsID\trsID\tis_dominant\n\
            0.25\t150\t2\t100\t1\tT\tC\trs9\trs1\tFalse\n\
            0.5\t\t\t100\t1\tT\tC/G\t\trs1\tTrue\n";
        let f = parse_scoring_file(text.as_bytes(), "s").unwrap();
        let r = &f.rows[0];
        assert_eq!(r.id.as_deref(), Some("rs9"));
        assert_eq!((r.chrom.as_deref(), r.pos), (Some("2"), Some(150)));
        assert_eq!(r.other_allele.as_deref(), Some("C"));
        assert!(!r.non_additive);
        let r = &f.rows[1];
        assert_eq!(r.id.as_deref(), Some("rs1"));
        assert_eq!((r.chrom.as_deref(), r.pos), (Some("1"), Some(100)));
        assert_eq!(r.other_allele, None);
        assert!(r.non_additive);
    }

    #[test]
    fn plink2_style() {
        let f = parse_scoring_file(&b"ID A1 BETA extra\nrs1 A 0.1 x\n"[..], "s").unwrap();
        assert_eq!(f.format, ScoreFormat::Plink2);
        assert_eq!(f.rows[0].effect_allele, "A");
        assert_eq!(f.rows[0].other_allele, None);
    }

    #[test]
    fn clear_errors() {
        let e = parse_scoring_file(&b"rsID\tother_allele\teffect_weight\nrs1\tA\t1\n"[..], "s")
            .unwrap_err();
        assert!(
            matches!(
                e,
                PgsError::MissingColumn {
                    column: "effect_allele",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("effect_allele"));
        let e = parse_scoring_file(&b"ID\tweight\nrs1\t1\n"[..], "s").unwrap_err();
        assert!(matches!(
            e,
            PgsError::MissingColumn {
                column: "effect_allele",
                ..
            }
        ));
        let e = parse_scoring_file(
            &b"rsID\teffect_allele\teffect_weight\nrs1\tA\t0.1\nrs2\tA\tsecret\n"[..],
            "s",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "s:3: column 3: expected a finite number (effect_weight)"
        );
        let e = parse_scoring_file(&b"rsID\teffect_allele\teffect_weight\nrs1\tA\n"[..], "s")
            .unwrap_err();
        assert!(matches!(e, PgsError::FieldCount { found: 2, .. }));
        assert!(matches!(
            parse_scoring_file(&b"#a=b\n"[..], "s"),
            Err(PgsError::NoHeader { .. })
        ));
    }
}
