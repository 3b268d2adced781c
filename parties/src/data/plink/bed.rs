//! `.bed` reading: magic and size checks, block reads, 2-bit decoding.

use std::io::{Read, Seek, SeekFrom};

use super::PlinkError;

/// The first three bytes of a SNP-major PLINK 1 `.bed`.
pub const BED_MAGIC: [u8; 3] = [0x6c, 0x1b, 0x01];

/// The dosage value standing for a missing call.
pub const MISSING: i8 = -1;

/// A1 dosage of each 2-bit code: 0 = two A1, 1 = missing, 2 = het, 3 = two A2.
const A1_DOSAGE: [i8; 4] = [2, MISSING, 1, 0];

/// A2 dosage of each 2-bit code.
const A2_DOSAGE: [i8; 4] = [0, MISSING, 1, 2];

/// For each byte, the A1 dosages of its four 2-bit codes, low bits first.
const BYTE_TABLE: [[i8; 4]; 256] = byte_table(A1_DOSAGE);

/// For each byte, the A2 dosages of its four 2-bit codes, low bits first.
const BYTE_TABLE_A2: [[i8; 4]; 256] = byte_table(A2_DOSAGE);

// Evaluated at compile time: an out-of-bounds index would fail the build, not panic.
#[allow(clippy::indexing_slicing)]
const fn byte_table(dosage: [i8; 4]) -> [[i8; 4]; 256] {
    let mut table = [[0i8; 4]; 256];
    let mut b = 0;
    while b < 256 {
        let mut k = 0;
        while k < 4 {
            table[b][k] = dosage[(b >> (2 * k)) & 3];
            k += 1;
        }
        b += 1;
    }
    table
}

/// Reads genotypes from a SNP-major `.bed`, whole variants at a time.
///
/// Memory: the reader itself holds nothing but the counts; [`BedReader::read_block`] fills a
/// caller-owned buffer of `count · ceil(n_samples / 4)` bytes.
#[derive(Debug)]
pub struct BedReader<R> {
    reader: R,
    source: String,
    n_samples: usize,
    n_variants: usize,
    bytes_per_variant: usize,
}

impl<R: Read + Seek> BedReader<R> {
    /// Checks the magic bytes and that the size is `3 + n_variants · ceil(n_samples / 4)`.
    pub fn new(
        mut reader: R,
        n_samples: usize,
        n_variants: usize,
        source: &str,
    ) -> Result<Self, PlinkError> {
        let io = |error| PlinkError::Io {
            path: source.to_owned(),
            error,
        };
        let actual = reader.seek(SeekFrom::End(0)).map_err(io)?;
        reader.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut magic = [0u8; 3];
        if actual < 3 {
            return Err(PlinkError::BadMagic {
                path: source.to_owned(),
            });
        }
        reader.read_exact(&mut magic).map_err(io)?;
        if magic == [0x6c, 0x1b, 0x00] {
            return Err(PlinkError::SampleMajor {
                path: source.to_owned(),
            });
        }
        if magic != BED_MAGIC {
            return Err(PlinkError::BadMagic {
                path: source.to_owned(),
            });
        }
        let bytes_per_variant = n_samples.div_ceil(4);
        let bpv = u64::try_from(bytes_per_variant).unwrap_or(u64::MAX);
        let expected = u64::try_from(n_variants)
            .ok()
            .and_then(|m| m.checked_mul(bpv))
            .and_then(|b| b.checked_add(3))
            .ok_or(PlinkError::OutOfRange {
                what: "fileset size overflows u64",
            })?;
        if actual != expected {
            let body = actual - 3;
            if bpv > 0 && body % bpv == 0 {
                return Err(PlinkError::CountMismatch {
                    path: source.to_owned(),
                    bim_variants: n_variants,
                    bed_variants: body / bpv,
                });
            }
            if actual < expected {
                return Err(PlinkError::Truncated {
                    path: source.to_owned(),
                    expected,
                    actual,
                });
            }
            return Err(PlinkError::SizeMismatch {
                path: source.to_owned(),
                expected,
                actual,
            });
        }
        Ok(Self {
            reader,
            source: source.to_owned(),
            n_samples,
            n_variants,
            bytes_per_variant,
        })
    }

    /// Number of samples (`.fam` records).
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// Number of variants (`.bim` records).
    pub fn n_variants(&self) -> usize {
        self.n_variants
    }

    /// Bytes per variant, `ceil(n_samples / 4)`.
    pub fn bytes_per_variant(&self) -> usize {
        self.bytes_per_variant
    }

    /// Reads the packed bytes of variants `first .. first + count` into `buf` (resized to
    /// `count · bytes_per_variant`).
    pub fn read_block(
        &mut self,
        first: usize,
        count: usize,
        buf: &mut Vec<u8>,
    ) -> Result<(), PlinkError> {
        let end = first.checked_add(count).ok_or(PlinkError::OutOfRange {
            what: "variant block",
        })?;
        if end > self.n_variants {
            return Err(PlinkError::OutOfRange {
                what: "variant block",
            });
        }
        let len = count
            .checked_mul(self.bytes_per_variant)
            .ok_or(PlinkError::OutOfRange {
                what: "variant block",
            })?;
        let offset = (first as u64)
            .checked_mul(self.bytes_per_variant as u64)
            .and_then(|o| o.checked_add(3))
            .ok_or(PlinkError::OutOfRange {
                what: "variant block",
            })?;
        buf.resize(len, 0);
        let io = |error| PlinkError::Io {
            path: self.source.clone(),
            error,
        };
        self.reader.seek(SeekFrom::Start(offset)).map_err(io)?;
        self.reader.read_exact(buf).map_err(io)
    }

    /// Reads one variant and decodes its A1 dosages into `out` (length `n_samples`).
    pub fn read_a1_dosages(
        &mut self,
        variant: usize,
        buf: &mut Vec<u8>,
        out: &mut [i8],
    ) -> Result<(), PlinkError> {
        self.read_block(variant, 1, buf)?;
        decode_a1_dosages(buf, out)
    }
}

/// The four dosages packed in one byte.
#[inline]
fn byte_dosages(table: &[[i8; 4]; 256], byte: u8) -> [i8; 4] {
    // A u8 is always < 256, so the fallback is never taken.
    table
        .get(usize::from(byte))
        .copied()
        .unwrap_or([MISSING; 4])
}

/// Decodes the packed bytes of one variant into A1 dosages (0, 1, 2 or [`MISSING`]);
/// `out.len()` is the sample count and `packed` must hold exactly `ceil(out.len() / 4)` bytes.
/// The unused bits of the last byte are ignored.
pub fn decode_a1_dosages(packed: &[u8], out: &mut [i8]) -> Result<(), PlinkError> {
    decode(&BYTE_TABLE, packed, out)
}

/// As [`decode_a1_dosages`], but counting A2 copies (2 − A1 dosage).
pub fn decode_a2_dosages(packed: &[u8], out: &mut [i8]) -> Result<(), PlinkError> {
    decode(&BYTE_TABLE_A2, packed, out)
}

fn decode(table: &[[i8; 4]; 256], packed: &[u8], out: &mut [i8]) -> Result<(), PlinkError> {
    if packed.len() != out.len().div_ceil(4) {
        return Err(PlinkError::OutOfRange {
            what: "packed variant length",
        });
    }
    let mut chunks = out.chunks_exact_mut(4);
    for (chunk, &byte) in (&mut chunks).zip(packed) {
        chunk.copy_from_slice(&byte_dosages(table, byte));
    }
    let rest = chunks.into_remainder();
    if let Some(&last) = packed.last() {
        for (o, d) in rest.iter_mut().zip(byte_dosages(table, last)) {
            *o = d;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn bed(body: &[u8]) -> Cursor<Vec<u8>> {
        let mut v = BED_MAGIC.to_vec();
        v.extend_from_slice(body);
        Cursor::new(v)
    }

    #[test]
    fn decodes_codes_low_bits_first() {
        // codes 0,1,2,3 -> 2, missing, 1, 0 ; then 5 samples: last byte partially used.
        let mut out = [0i8; 4];
        decode_a1_dosages(&[0b11_10_01_00], &mut out).unwrap();
        assert_eq!(out, [2, MISSING, 1, 0]);
        let mut out = [0i8; 5];
        decode_a1_dosages(&[0b11_11_11_11, 0b11_11_11_10], &mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 0, 1]);
        assert!(decode_a1_dosages(&[0], &mut out).is_err());
        decode_a2_dosages(&[0b11_11_11_11, 0b11_11_11_10], &mut out).unwrap();
        assert_eq!(out, [2, 2, 2, 2, 1]);
    }

    #[test]
    fn checks_magic_and_size() {
        let ok = BedReader::new(bed(&[0xff, 0x01, 0, 0]), 5, 2, "x.bed").unwrap();
        assert_eq!(ok.bytes_per_variant(), 2);
        let e = BedReader::new(Cursor::new(vec![0x6c, 0x1b, 0x02, 0, 0]), 4, 2, "x.bed");
        assert!(matches!(e, Err(PlinkError::BadMagic { .. })));
        let e = BedReader::new(Cursor::new(vec![0x6c]), 4, 2, "x.bed");
        assert!(matches!(e, Err(PlinkError::BadMagic { .. })));
        let e = BedReader::new(Cursor::new(vec![0x6c, 0x1b, 0x00, 1]), 4, 1, "x.bed");
        assert!(matches!(e, Err(PlinkError::SampleMajor { .. })));
        let e = BedReader::new(bed(&[0; 7]), 5, 4, "x.bed");
        assert!(
            matches!(
                e,
                Err(PlinkError::Truncated {
                    expected: 11,
                    actual: 10,
                    ..
                })
            ),
            "{e:?}"
        );
        let e = BedReader::new(bed(&[0; 6]), 5, 4, "x.bed");
        assert!(matches!(
            e,
            Err(PlinkError::CountMismatch {
                bim_variants: 4,
                bed_variants: 3,
                ..
            })
        ));
        let e = BedReader::new(bed(&[0; 9]), 5, 4, "x.bed");
        assert!(matches!(e, Err(PlinkError::SizeMismatch { .. })));
    }

    #[test]
    fn reads_blocks() {
        let mut r = BedReader::new(bed(&[0x00, 0xff, 0x1b]), 3, 3, "x.bed").unwrap();
        let mut buf = Vec::new();
        r.read_block(1, 2, &mut buf).unwrap();
        assert_eq!(buf, [0xff, 0x1b]);
        let mut out = [0i8; 3];
        r.read_a1_dosages(2, &mut buf, &mut out).unwrap();
        assert_eq!(out, [0, 1, MISSING]);
        assert!(r.read_block(2, 2, &mut buf).is_err());
    }
}
