//! Phenotype and covariate tables: tab-separated, one header line, keyed by `IID`.
//!
//! The header names the columns (a leading `#`, as in `#FID`, is ignored) and must contain
//! `IID`; IIDs must be unique. Values stay text until asked for: [`PhenoTable::numeric`] parses a
//! column (`NA` and empty are missing; anything else must be a finite number, or the error names
//! file, line and column — never the value); [`PhenoTable::categorical`] one-hot encodes a column
//! against a stated reference level. [`PhenoTable::match_samples`] aligns the table with the
//! genotype sample order and reports the IDs on either side without a partner.

use core::fmt;
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use super::Location;
use super::text::{LineError, LineReader};

/// Errors reading or using a phenotype table. Messages never echo values or IDs.
#[derive(Debug)]
#[non_exhaustive]
pub enum PhenoError {
    /// The file could not be opened or read.
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
    /// The input has no header line.
    NoHeader {
        /// The file.
        path: String,
    },
    /// A required column is absent.
    MissingColumn {
        /// The header line.
        at: Location,
        /// The column asked for (a name chosen by the caller, not data).
        column: String,
    },
    /// A column name appears twice.
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
    /// An IID is empty or `NA`.
    MissingId {
        /// Where.
        at: Location,
    },
    /// Two rows have the same IID.
    DuplicateId {
        /// The later row.
        at: Location,
        /// The line of the first occurrence.
        first_line: u64,
    },
    /// A value is neither missing nor a finite number.
    NotNumeric {
        /// Where.
        at: Location,
    },
    /// The requested reference level does not occur in the column.
    UnknownReference {
        /// The column.
        column: String,
    },
}

impl fmt::Display for PhenoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, error } => write!(f, "{path}: {error}"),
            Self::BadLine { at } => write!(f, "{at}: line too long or not UTF-8"),
            Self::NoHeader { path } => write!(f, "{path}: no header line"),
            Self::MissingColumn { at, column } => write!(f, "{at}: no column {column}"),
            Self::DuplicateColumn { at } => write!(f, "{at}: duplicate column name"),
            Self::FieldCount {
                at,
                expected,
                found,
            } => write!(f, "{at}: expected {expected} fields, found {found}"),
            Self::MissingId { at } => write!(f, "{at}: empty IID"),
            Self::DuplicateId { at, first_line } => {
                write!(f, "{at}: duplicate IID (first seen on line {first_line})")
            }
            Self::NotNumeric { at } => {
                write!(f, "{at}: expected a number, NA or an empty field")
            }
            Self::UnknownReference { column } => {
                write!(f, "column {column}: the reference level does not occur")
            }
        }
    }
}

impl std::error::Error for PhenoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A parsed table: header plus rows of text fields, keyed by IID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhenoTable {
    source: String,
    columns: Vec<String>,
    iid_column: usize,
    lines: Vec<u64>,
    rows: Vec<Vec<String>>,
}

/// A categorical column, one-hot encoded against a reference level.
#[derive(Clone, Debug, PartialEq)]
pub struct OneHot {
    /// The reference level (all indicators 0).
    pub reference: String,
    /// The other levels, sorted; one indicator column each.
    pub levels: Vec<String>,
    /// `indicators[k][row]` = 1 if the row has `levels[k]`, 0 if another level, `None` if
    /// missing.
    pub indicators: Vec<Vec<Option<f64>>>,
}

/// How table rows line up with the genotype samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleMatch {
    /// For each genotype sample (in genotype order), its table row.
    pub rows: Vec<Option<usize>>,
    /// Genotype samples without a table row (indices into the genotype sample list).
    pub missing_in_table: Vec<usize>,
    /// Table rows without a genotype sample.
    pub missing_in_genotypes: Vec<usize>,
}

impl SampleMatch {
    /// Reorders one value per table row into genotype order (`None` where unmatched).
    pub fn align<T: Clone>(&self, values: &[Option<T>]) -> Vec<Option<T>> {
        self.rows
            .iter()
            .map(|r| r.and_then(|r| values.get(r).cloned().flatten()))
            .collect()
    }
}

/// Opens and parses a table.
pub fn read_pheno(path: &Path) -> Result<PhenoTable, PhenoError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|error| PhenoError::Io {
        path: name.clone(),
        error,
    })?;
    parse_pheno(BufReader::new(file), &name)
}

/// Parses a tab-separated table with a header (blank lines are skipped).
pub fn parse_pheno<R: BufRead>(reader: R, source: &str) -> Result<PhenoTable, PhenoError> {
    let mut lines = LineReader::new(reader);
    let mut header: Option<(Vec<String>, usize, u64)> = None;
    let mut rows = Vec::new();
    let mut row_lines = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    loop {
        let (line_no, line) = match lines.next_line() {
            Ok(Some(numbered)) => numbered,
            Ok(None) => break,
            Err(LineError::Io(error)) => {
                return Err(PhenoError::Io {
                    path: source.to_owned(),
                    error,
                });
            }
            Err(_) => {
                return Err(PhenoError::BadLine {
                    at: Location::new(source, lines.line_no(), None),
                });
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let at = |column| Location::new(source, line_no, column);
        let Some((columns, iid_column, _)) = &header else {
            let names: Vec<String> = line
                .trim_start_matches('#')
                .split('\t')
                .map(|s| s.trim().to_owned())
                .collect();
            for (k, name) in names.iter().enumerate() {
                if names.iter().take(k).any(|n| n == name) {
                    return Err(PhenoError::DuplicateColumn {
                        at: at(Some(k + 1)),
                    });
                }
            }
            let iid =
                names
                    .iter()
                    .position(|n| n == "IID")
                    .ok_or_else(|| PhenoError::MissingColumn {
                        at: at(None),
                        column: "IID".to_owned(),
                    })?;
            header = Some((names, iid, line_no));
            continue;
        };
        let fields: Vec<String> = line.split('\t').map(|s| s.trim().to_owned()).collect();
        if fields.len() != columns.len() {
            return Err(PhenoError::FieldCount {
                at: at(None),
                expected: columns.len(),
                found: fields.len(),
            });
        }
        let iid = fields.get(*iid_column).map_or("", String::as_str);
        if is_missing(iid) {
            return Err(PhenoError::MissingId {
                at: at(Some(iid_column + 1)),
            });
        }
        if let Some(&first_line) = seen.get(iid) {
            return Err(PhenoError::DuplicateId {
                at: at(Some(iid_column + 1)),
                first_line,
            });
        }
        seen.insert(iid.to_owned(), line_no);
        rows.push(fields);
        row_lines.push(line_no);
    }
    let (columns, iid_column, _) = header.ok_or_else(|| PhenoError::NoHeader {
        path: source.to_owned(),
    })?;
    Ok(PhenoTable {
        source: source.to_owned(),
        columns,
        iid_column,
        lines: row_lines,
        rows,
    })
}

fn is_missing(v: &str) -> bool {
    v.is_empty() || v == "NA"
}

impl PhenoTable {
    /// The column names, in file order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Number of data rows.
    pub fn n_rows(&self) -> usize {
        self.rows.len()
    }

    /// The IIDs, in row order.
    pub fn iids(&self) -> impl Iterator<Item = &str> {
        self.rows
            .iter()
            .map(|r| r.get(self.iid_column).map_or("", String::as_str))
    }

    fn column_index(&self, column: &str) -> Result<usize, PhenoError> {
        self.columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| PhenoError::MissingColumn {
                at: Location::new(&self.source, 1, None),
                column: column.to_owned(),
            })
    }

    fn raw(&self, k: usize) -> impl Iterator<Item = (u64, &str)> {
        self.rows
            .iter()
            .zip(&self.lines)
            .map(move |(r, &line)| (line, r.get(k).map_or("", String::as_str)))
    }

    /// A numeric column, one value per row; `NA` and empty are `None`.
    pub fn numeric(&self, column: &str) -> Result<Vec<Option<f64>>, PhenoError> {
        let k = self.column_index(column)?;
        self.raw(k)
            .map(|(line, v)| {
                if is_missing(v) {
                    return Ok(None);
                }
                v.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(Some)
                    .ok_or_else(|| PhenoError::NotNumeric {
                        at: Location::new(&self.source, line, Some(k + 1)),
                    })
            })
            .collect()
    }

    /// One-hot encodes a categorical column. The reference level is `reference` if given,
    /// else the first level in byte order; it is stated in [`OneHot::reference`].
    pub fn categorical(&self, column: &str, reference: Option<&str>) -> Result<OneHot, PhenoError> {
        let k = self.column_index(column)?;
        let levels: BTreeSet<&str> = self
            .raw(k)
            .map(|(_, v)| v)
            .filter(|v| !is_missing(v))
            .collect();
        let reference = match reference {
            Some(r) if levels.contains(r) => r.to_owned(),
            Some(_) => {
                return Err(PhenoError::UnknownReference {
                    column: column.to_owned(),
                });
            }
            None => levels.first().map(|s| (*s).to_owned()).ok_or_else(|| {
                PhenoError::UnknownReference {
                    column: column.to_owned(),
                }
            })?,
        };
        let levels: Vec<String> = levels
            .into_iter()
            .filter(|l| *l != reference)
            .map(str::to_owned)
            .collect();
        let indicators = levels
            .iter()
            .map(|level| {
                self.raw(k)
                    .map(|(_, v)| (!is_missing(v)).then(|| f64::from(u8::from(v == level))))
                    .collect()
            })
            .collect();
        Ok(OneHot {
            reference,
            levels,
            indicators,
        })
    }

    /// Matches table rows to genotype sample IIDs (in genotype order).
    pub fn match_samples<S: AsRef<str>>(&self, genotype_iids: &[S]) -> SampleMatch {
        let by_iid: HashMap<&str, usize> = self.iids().enumerate().map(|(r, i)| (i, r)).collect();
        let rows: Vec<Option<usize>> = genotype_iids
            .iter()
            .map(|i| by_iid.get(i.as_ref()).copied())
            .collect();
        let mut used = vec![false; self.rows.len()];
        for r in rows.iter().flatten() {
            if let Some(u) = used.get_mut(*r) {
                *u = true;
            }
        }
        SampleMatch {
            missing_in_table: rows
                .iter()
                .enumerate()
                .filter(|(_, r)| r.is_none())
                .map(|(k, _)| k)
                .collect(),
            missing_in_genotypes: used
                .iter()
                .enumerate()
                .filter(|(_, u)| !**u)
                .map(|(k, _)| k)
                .collect(),
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "#FID\tIID\tage\tpop\n\
        a\ta\t50.5\tEUR\n\
        b\tb\tNA\tAFR\n\
        c\tc\t\t\n\
        d\td\t1e1\tEUR\n";

    #[test]
    fn numeric_missing_and_errors() {
        let t = parse_pheno(TABLE.as_bytes(), "p.tsv").unwrap();
        assert_eq!(t.columns()[0], "FID");
        assert_eq!(
            t.numeric("age").unwrap(),
            vec![Some(50.5), None, None, Some(10.0)]
        );
        let e = t.numeric("pop").unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.tsv:2: column 4: expected a number, NA or an empty field"
        );
        assert!(matches!(
            t.numeric("bmi"),
            Err(PhenoError::MissingColumn { .. })
        ));
    }

    #[test]
    fn one_hot_with_reference() {
        let t = parse_pheno(TABLE.as_bytes(), "p.tsv").unwrap();
        let h = t.categorical("pop", None).unwrap();
        assert_eq!(h.reference, "AFR");
        assert_eq!(h.levels, ["EUR"]);
        assert_eq!(h.indicators[0], vec![Some(1.0), Some(0.0), None, Some(1.0)]);
        let h = t.categorical("pop", Some("EUR")).unwrap();
        assert_eq!(h.levels, ["AFR"]);
        assert!(t.categorical("pop", Some("ASIA")).is_err());
    }

    #[test]
    fn matching_and_structure_errors() {
        let t = parse_pheno(TABLE.as_bytes(), "p.tsv").unwrap();
        let m = t.match_samples(&["d", "x", "a"]);
        assert_eq!(m.rows, vec![Some(3), None, Some(0)]);
        assert_eq!(m.missing_in_table, vec![1]);
        assert_eq!(m.missing_in_genotypes, vec![1, 2]);
        let age = t.numeric("age").unwrap();
        assert_eq!(m.align(&age), vec![Some(10.0), None, Some(50.5)]);
        let dup = "IID\tx\nsecret\t1\nsecret\t2\n";
        let e = parse_pheno(dup.as_bytes(), "p").unwrap_err();
        assert!(matches!(e, PhenoError::DuplicateId { first_line: 2, .. }));
        assert!(!e.to_string().contains("secret"));
        assert!(matches!(
            parse_pheno(&b"FID\tx\n"[..], "p"),
            Err(PhenoError::MissingColumn { .. })
        ));
        assert!(matches!(
            parse_pheno(&b"IID\tx\na\n"[..], "p"),
            Err(PhenoError::FieldCount { .. })
        ));
        assert!(matches!(
            parse_pheno(&b""[..], "p"),
            Err(PhenoError::NoHeader { .. })
        ));
    }
}
