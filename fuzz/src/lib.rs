//! Types shared by the fuzz targets and the seed generator (`examples/make_seeds.rs`).

use arbitrary::Arbitrary;
use serde::{Deserialize, Serialize};

/// A small control message with the shapes protocol steps use.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Small {
    /// A step number.
    pub step: u32,
    /// A flag.
    pub ok: bool,
    /// An optional fixed-size array.
    pub seed: Option<[u8; 4]>,
    /// An enum.
    pub tag: Tag,
    /// A length-prefixed vector.
    pub sizes: Vec<u16>,
    /// A string.
    pub note: String,
}

/// Enum variants of each shape.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub enum Tag {
    /// Unit.
    A,
    /// Newtype.
    B(u64),
    /// Struct.
    C {
        /// A signed (zigzag) field.
        x: i32,
    },
}

/// Number of operation codes `wire_msg_ops` knows (`code % OPS`).
pub const OPS: u8 = 8;

/// One operation of `wire_msg_ops`.
#[derive(Arbitrary, Debug)]
pub struct Op {
    /// Which operation (`code % OPS`): 0 `into_ring::<Z64>`, 1 `into_ring::<Z128>`,
    /// 2 `into_bits`, 3 `into_control::<Small>`, 4 `abort_reason`, 5 decode under limit n,
    /// 6 re-encode, 7 `into_bytes(n)`.
    pub code: u8,
    /// `u16::MAX` means "the count in the header" (when ≤ 4096); otherwise n % 4097.
    pub n: u16,
}

/// The whole `wire_msg_ops` input.
///
/// Layout (arbitrary 1.x): for each op a byte with the low bit set followed by the op
/// (`code: u8`, `n: u16` LE), then a byte with the low bit clear, then the frame bytes (the rest).
#[derive(Arbitrary, Debug)]
pub struct Input<'a> {
    /// Operations applied in order to the decoded frame.
    pub ops: Vec<Op>,
    /// The frame bytes.
    pub frame: &'a [u8],
}

/// Encodes an input in the layout `Input` is parsed from.
pub fn encode_input(ops: &[(u8, u16)], frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(code, n) in ops {
        out.push(1);
        out.push(code);
        out.extend_from_slice(&n.to_le_bytes());
    }
    out.push(0);
    out.extend_from_slice(frame);
    out
}

/// The VCF header text every `bcf_record` input is prefixed with (unless the input is a whole
/// BCF file): two contigs, `GT` and `DS`, three samples.
pub const BCF_FUZZ_HEADER: &str = "##fileformat=VCFv4.3\n\
    ##FILTER=<ID=PASS,Description=\"All filters passed\">\n\
    ##contig=<ID=1>\n\
    ##contig=<ID=2>\n\
    ##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n\
    ##FORMAT=<ID=DS,Number=A,Type=Float,Description=\"ALT dosage\">\n\
    #CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\ts3\n";

/// An uncompressed BCF 2.2 header: magic, version, length and the NUL-terminated
/// [`BCF_FUZZ_HEADER`].
pub fn bcf_fuzz_header() -> Vec<u8> {
    let mut out = b"BCF\x02\x02".to_vec();
    let len = u32::try_from(BCF_FUZZ_HEADER.len() + 1).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(BCF_FUZZ_HEADER.as_bytes());
    out.push(0);
    out
}

/// What `vcf_site` and `bcf_record` check on a site that opened: harmonise a score built from
/// its first variants, run the second pass (dosages in 0..=2000 thousandths or missing, one per
/// sample) and the hard-call loader; errors must format.
pub fn exercise_variant_site(site: &parties::data::vcf::VcfSite) {
    use parties::data::harmonize::{HarmonizeOptions, harmonize};
    use parties::data::pgs::parse_scoring_file;
    use parties::data::vcf::{MISSING_MILLI, VcfError};

    assert!(!site.samples().is_empty());
    let mut score = String::from("ID\tA1\tWEIGHT\n");
    for (k, v) in site.variants().iter().take(32).enumerate() {
        let allele = if k % 2 == 0 { &v.a1 } else { &v.a2 };
        score.push_str(&format!("{}\t{allele}\t{}\n", v.id, k as f64 - 3.5));
    }
    let Ok(scoring) = parse_scoring_file(score.as_bytes(), "s") else {
        return;
    };
    let options = HarmonizeOptions {
        drop_strand_ambiguous: false,
        min_overlap: 0.0,
    };
    let Ok(h) = harmonize(&scoring, site.variants(), &options) else {
        return;
    };
    let n = site.samples().len();
    let _ = site
        .for_each_kept::<VcfError>(&h, |_, dosages| {
            assert_eq!(dosages.len(), n);
            assert!(dosages.iter().all(|&d| d <= 2000 || d == MISSING_MILLI));
            Ok(())
        })
        .map_err(|e| e.to_string());
    let _ = site.load_genotypes(&h).map_err(|e| e.to_string());
}
