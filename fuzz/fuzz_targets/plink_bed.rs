//! A small fileset on arbitrary bytes: the first two bytes pick the `.fam`/`.bim` sizes (1–16
//! samples, 1–8 variants; the `.fam` and `.bim` text is generated and parsed), the rest is the
//! `.bed`. Whatever `BedReader::new` accepts is read in blocks of every size and decoded to A1
//! and A2 dosages; the two must add up to 2 (or both be missing), a scored matrix must give
//! finite sums, and scoring the packed bytes directly (`ScoreAccumulator::add_packed`, the
//! `score_fileset` path) must equal scoring the decoded matrix bit for bit.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use parties::data::genotypes::Genotypes;
use parties::data::plink::{
    BedReader, MISSING, decode_a1_dosages, decode_a2_dosages, parse_bim, parse_fam,
};
use parties::data::score::{Imputation, SampleScore, ScoreAccumulator, score_genotypes};

fuzz_target!(|data: &[u8]| {
    let [s, v, bed @ ..] = data else {
        return;
    };
    let n_samples = usize::from(s % 16) + 1;
    let n_variants = usize::from(v % 8) + 1;
    let fam: String = (0..n_samples)
        .map(|i| format!("F{i} I{i} 0 0 {} -9\n", 1 + i % 2))
        .collect();
    let bim: String = (0..n_variants)
        .map(|j| format!("1\trs{j}\t0\t{}\tA\tG\n", 100 + j))
        .collect();
    let Ok(samples) = parse_fam(fam.as_bytes(), "fuzz.fam") else {
        panic!("generated .fam rejected");
    };
    let Ok(variants) = parse_bim(bim.as_bytes(), "fuzz.bim") else {
        panic!("generated .bim rejected");
    };
    let Ok(mut reader) = BedReader::new(Cursor::new(bed), samples.len(), variants.len(), "x.bed")
    else {
        return;
    };
    assert_eq!(bed.len(), 3 + n_variants * n_samples.div_ceil(4));
    let mut buf = Vec::new();
    for block in 1..=n_variants {
        let mut all = Vec::with_capacity(n_samples * n_variants);
        let mut all_a2 = Vec::with_capacity(n_samples * n_variants);
        let mut packed_all = Vec::new();
        let mut first = 0;
        while first < n_variants {
            let count = block.min(n_variants - first);
            reader.read_block(first, count, &mut buf).unwrap();
            for packed in buf.chunks_exact(reader.bytes_per_variant()) {
                let mut a1 = vec![0i8; n_samples];
                let mut a2 = vec![0i8; n_samples];
                decode_a1_dosages(packed, &mut a1).unwrap();
                decode_a2_dosages(packed, &mut a2).unwrap();
                for (&x, &y) in a1.iter().zip(&a2) {
                    assert!((x == MISSING && y == MISSING) || (x >= 0 && y >= 0 && x + y == 2));
                }
                all.extend_from_slice(&a1);
                all_a2.extend_from_slice(&a2);
                packed_all.push(packed.to_vec());
            }
            first += count;
        }
        assert!(reader.read_block(first, 1, &mut buf).is_err());
        let g = Genotypes::new(n_samples, n_variants, all).unwrap();
        let g_a2 = Genotypes::new(n_samples, n_variants, all_a2).unwrap();
        let weights: Vec<f64> = (0..n_variants).map(|j| j as f64 - 2.5).collect();
        for imputation in [Imputation::Mean, Imputation::None] {
            let decoded = score_genotypes(&g, &weights, imputation).unwrap();
            for s in &decoded {
                assert!(s.score_sum.is_finite());
                assert!(s.allele_ct <= 2 * n_variants as u64);
            }
            for (effect_is_a1, matrix) in [(true, &g), (false, &g_a2)] {
                let mut acc = ScoreAccumulator::new(n_samples, imputation);
                for (p, &w) in packed_all.iter().zip(&weights) {
                    acc.add_packed(p, effect_is_a1, w).unwrap();
                }
                let direct = acc.finish();
                let expected = score_genotypes(matrix, &weights, imputation).unwrap();
                // Bit patterns: an all-missing sample's average is NaN (0 / 0) on both paths.
                let bits = |v: &[SampleScore]| {
                    v.iter()
                        .map(|s| {
                            let floats = [s.named_allele_dosage_sum, s.score_sum, s.score_avg];
                            (s.allele_ct, s.denom, floats.map(f64::to_bits))
                        })
                        .collect::<Vec<_>>()
                };
                assert_eq!(
                    bits(&direct),
                    bits(&expected),
                    "packed and decoded scoring differ"
                );
            }
        }
    }
});
