//! `.bim` parsing: chromosome, variant ID, centimorgans, base-pair position, A1, A2.

use std::io::BufRead;

use super::PlinkError;
use crate::data::Location;
use crate::data::text::LineReader;

/// One `.bim` record.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// Chromosome code as written.
    pub chrom: String,
    /// Variant identifier (usually an rsID).
    pub id: String,
    /// Genetic position in centimorgans.
    pub cm: f64,
    /// Base-pair position.
    pub pos: u64,
    /// Allele 1 (the allele counted by `.bed` code 0 = two copies).
    pub a1: String,
    /// Allele 2.
    pub a2: String,
}

/// Parses a `.bim` (whitespace-separated, exactly 6 fields per line, blank lines rejected).
/// `source` names the input in errors.
pub fn parse_bim<R: BufRead>(reader: R, source: &str) -> Result<Vec<Variant>, PlinkError> {
    let mut lines = LineReader::new(reader);
    let mut variants = Vec::new();
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
        let at = |column| Location::new(source, line_no, column);
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let &[chrom, id, cm, pos, a1, a2] = fields.as_slice() else {
            return Err(PlinkError::FieldCount {
                at: at(None),
                expected: 6,
                found: fields.len(),
            });
        };
        let cm = cm
            .parse::<f64>()
            .ok()
            .filter(|c| c.is_finite())
            .ok_or(PlinkError::BadField {
                at: at(Some(3)),
                expected: "a finite number (centimorgans)",
            })?;
        let pos = pos.parse::<u64>().map_err(|_| PlinkError::BadField {
            at: at(Some(4)),
            expected: "a non-negative integer (base-pair position)",
        })?;
        variants.push(Variant {
            chrom: chrom.to_owned(),
            id: id.to_owned(),
            cm,
            pos,
            a1: a1.to_owned(),
            a2: a2.to_owned(),
        });
    }
    if variants.is_empty() {
        return Err(PlinkError::Empty {
            path: source.to_owned(),
        });
    }
    Ok(variants)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tabs_and_spaces() {
        let v = parse_bim(&b"1\trs1\t0\t180\tT\tC\n2 rs2 0.5 9 A  G\n"[..], "x.bim").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].pos, 9);
        assert_eq!(v[1].a2, "G");
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse_bim(
            &b"1\trs1\t0\t180\tT\tC\n1\trs2\t0\tx12\tA\tG\n"[..],
            "x.bim",
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("x.bim:2: column 4"), "{msg}");
        assert!(!msg.contains("x12"), "{msg}");
        let e = parse_bim(&b"1\trs1\t0\t180\tT\n"[..], "x.bim").unwrap_err();
        assert!(matches!(e, PlinkError::FieldCount { found: 5, .. }));
        assert!(matches!(
            parse_bim(&b""[..], "x.bim"),
            Err(PlinkError::Empty { .. })
        ));
    }
}
