//! Arbitrary bytes into `parse_scoring_file` (PGS Catalog or plink2-style, plain or gzip), then
//! harmonisation against a small `.bim` built from the parsed rows (so the match, strand-flip
//! and drop paths are all reachable) and the harmonisation report.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parties::data::harmonize::{HarmonizeOptions, harmonize};
use parties::data::pgs::parse_scoring_file;
use parties::data::plink::Variant;

fn complement(a: &str) -> String {
    a.chars()
        .map(|c| match c {
            'A' => 'T',
            'T' => 'A',
            'C' => 'G',
            'G' => 'C',
            o => o,
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(score) = parse_scoring_file(data, "fuzz.txt").map_err(|e| e.to_string()) else {
        return;
    };
    let mut target = vec![Variant {
        chrom: "1".into(),
        id: "rs1".into(),
        cm: 0.0,
        pos: 1,
        a1: "A".into(),
        a2: "G".into(),
    }];
    for (k, row) in score.rows.iter().take(64).enumerate() {
        let other = row.other_allele.clone().unwrap_or_else(|| "N".into());
        let (a1, a2) = match k % 3 {
            0 => (row.effect_allele.clone(), other),
            1 => (other, row.effect_allele.clone()),
            _ => (complement(&row.effect_allele), complement(&other)),
        };
        target.push(Variant {
            chrom: row.chrom.clone().unwrap_or_else(|| "1".into()),
            id: row.id.clone().unwrap_or_else(|| format!("v{k}")),
            cm: 0.0,
            pos: row.pos.unwrap_or(k as u64),
            a1,
            a2,
        });
    }
    for drop_strand_ambiguous in [true, false] {
        let options = HarmonizeOptions {
            drop_strand_ambiguous,
            min_overlap: 0.0,
        };
        match harmonize(&score, &target, &options) {
            Ok(h) => {
                assert_eq!(h.outcomes.len(), score.rows.len());
                assert!(h.kept.len() <= score.rows.len());
                assert!(h.kept.iter().all(|k| k.variant_index < target.len()));
                assert!(
                    h.kept
                        .windows(2)
                        .all(|w| w[0].variant_index <= w[1].variant_index)
                );
                let mut report = Vec::new();
                h.write_report(&score, &mut report).unwrap();
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
