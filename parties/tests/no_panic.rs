//! Property tests: arbitrary bytes never panic the site-data parsers (they return `Ok` or a
//! typed error). Seeds near valid inputs (mutated valid files) reach deeper than pure noise.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

use std::io::Cursor;

use parties::data::harmonize::{HarmonizeOptions, harmonize};
use parties::data::pgs::parse_scoring_file;
use parties::data::pheno::parse_pheno;
use parties::data::plink::{BedReader, Variant, decode_a1_dosages, parse_bim, parse_fam};
use proptest::prelude::*;

const BIM: &[u8] = b"1\trs1\t0\t180\tT\tC\n1\trs2\t0\t488\tA\tC\n2\trs3\t0.1\t9\tA\tT\n";
const FAM: &[u8] = b"a a 0 0 1 -9\nb b 0 0 2 -9\nc c 0 0 0 -9\n";
const SCORE: &[u8] = b"###x\n#format_version=2.0\n\
    rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n\
    rs1\t1\t180\tT\tC\t0.5\nrs2\t1\t488\tG\tT\t-1\nrs3\t2\t9\tA\tT\t1e-3\n";
const PHENO: &[u8] = b"FID\tIID\tage\tpop\na\ta\t50\tEUR\nb\tb\tNA\tAFR\n";

/// A valid input with some bytes overwritten, truncated at some point.
fn mutated(base: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        any::<prop::sample::Index>(),
    )
        .prop_map(move |(edits, cut)| {
            let mut v = base.to_vec();
            for (i, b) in edits {
                let k = i.index(v.len());
                v[k] = b;
            }
            v.truncate(cut.index(v.len() + 1));
            v
        })
}

fn bytes_or_mutated(base: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        mutated(base)
    ]
}

fn target() -> Vec<Variant> {
    parse_bim(BIM, "t.bim").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn bim_never_panics(bytes in bytes_or_mutated(BIM)) {
        let _ = parse_bim(&bytes[..], "x.bim");
    }

    #[test]
    fn fam_never_panics(bytes in bytes_or_mutated(FAM)) {
        let _ = parse_fam(&bytes[..], "x.fam");
    }

    #[test]
    fn bed_never_panics(
        body in proptest::collection::vec(any::<u8>(), 0..64),
        magic in prop_oneof![Just(vec![0x6c, 0x1b, 0x01]), proptest::collection::vec(any::<u8>(), 0..4)],
        n_samples in 0usize..20,
        n_variants in 0usize..20,
        first in 0usize..25,
        count in 0usize..25,
    ) {
        let mut file = magic;
        file.extend_from_slice(&body);
        if let Ok(mut r) = BedReader::new(Cursor::new(file), n_samples, n_variants, "x.bed") {
            let mut buf = Vec::new();
            let mut out = vec![0i8; n_samples];
            if r.read_block(first, count, &mut buf).is_ok() {
                prop_assert_eq!(buf.len(), count * n_samples.div_ceil(4));
            }
            let _ = r.read_a1_dosages(first, &mut buf, &mut out);
        }
        let mut out = vec![0i8; n_samples];
        let _ = decode_a1_dosages(&body, &mut out);
    }

    #[test]
    fn score_file_never_panics(bytes in bytes_or_mutated(SCORE), gz in any::<bool>()) {
        let mut input = bytes;
        if gz {
            input.splice(0..0, [0x1f, 0x8b]);
        }
        if let Ok(score) = parse_scoring_file(&input[..], "x.txt") {
            let opts = HarmonizeOptions { min_overlap: 0.0, ..Default::default() };
            let _ = harmonize(&score, &target(), &opts);
        }
    }

    #[test]
    fn pheno_never_panics(bytes in bytes_or_mutated(PHENO)) {
        if let Ok(t) = parse_pheno(&bytes[..], "x.tsv") {
            for c in t.columns().to_vec() {
                let _ = t.numeric(&c);
                let _ = t.categorical(&c, None);
            }
            let m = t.match_samples(&["a", "b", "z"]);
            prop_assert_eq!(m.rows.len(), 3);
        }
    }
}
