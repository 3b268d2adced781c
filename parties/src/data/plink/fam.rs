//! `.fam` parsing: FID, IID, father, mother, sex, phenotype.

use std::collections::HashMap;
use std::io::BufRead;

use super::PlinkError;
use crate::data::Location;
use crate::data::text::LineReader;

/// Sex as coded in a `.fam`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sex {
    /// Code `1`.
    Male,
    /// Code `2`.
    Female,
    /// Any other code (`0`, `-9`, `NA`, …).
    Unknown,
}

/// One `.fam` record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Family ID.
    pub fid: String,
    /// Individual ID (unique within the file).
    pub iid: String,
    /// Father's IID or `0`.
    pub father: String,
    /// Mother's IID or `0`.
    pub mother: String,
    /// Sex.
    pub sex: Sex,
    /// The phenotype field as written (usually `-9`, unused here).
    pub phenotype: String,
}

/// Parses a `.fam` (whitespace-separated, exactly 6 fields per line). Duplicate IIDs are an
/// error naming both lines. `source` names the input in errors.
pub fn parse_fam<R: BufRead>(reader: R, source: &str) -> Result<Vec<Sample>, PlinkError> {
    let mut lines = LineReader::new(reader);
    let mut samples = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    loop {
        let (line_no, line) = match lines.next_line() {
            Ok(Some(numbered)) => numbered,
            Ok(None) => break,
            Err(_) => {
                return Err(PlinkError::BadLine {
                    at: Location::new(source, lines.line_no(), None),
                });
            }
        };
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let &[fid, iid, father, mother, sex, phenotype] = fields.as_slice() else {
            return Err(PlinkError::FieldCount {
                at: Location::new(source, line_no, None),
                expected: 6,
                found: fields.len(),
            });
        };
        if let Some(&first_line) = seen.get(iid) {
            return Err(PlinkError::DuplicateSample {
                at: Location::new(source, line_no, Some(2)),
                first_line,
            });
        }
        seen.insert(iid.to_owned(), line_no);
        let sex = match sex {
            "1" => Sex::Male,
            "2" => Sex::Female,
            _ => Sex::Unknown,
        };
        samples.push(Sample {
            fid: fid.to_owned(),
            iid: iid.to_owned(),
            father: father.to_owned(),
            mother: mother.to_owned(),
            sex,
            phenotype: phenotype.to_owned(),
        });
    }
    if samples.is_empty() {
        return Err(PlinkError::Empty {
            path: source.to_owned(),
        });
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_duplicates() {
        let s = parse_fam(&b"a a 0 0 1 -9\nb b 0 0 2 -9\n"[..], "x.fam").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].sex, Sex::Male);
        let e = parse_fam(
            &b"f1 secret_id 0 0 1 -9\nf2 secret_id 0 0 2 -9\n"[..],
            "x.fam",
        )
        .unwrap_err();
        assert!(matches!(
            e,
            PlinkError::DuplicateSample { first_line: 1, .. }
        ));
        let msg = e.to_string();
        assert!(msg.contains("x.fam:2"), "{msg}");
        assert!(!msg.contains("secret_id"), "{msg}");
    }
}
