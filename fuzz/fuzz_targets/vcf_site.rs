//! Arbitrary bytes as a VCF file (plain, or gzip when they start with the gzip magic): the
//! first pass (`VcfSite::open`), harmonisation of a score built from the variants it found, the
//! second pass (`for_each_kept`: GT/DS dosages) and the hard-call loader. Dosages must be in
//! 0..=2000 thousandths or missing.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use parties::data::harmonize::{HarmonizeOptions, harmonize};
use parties::data::pgs::parse_scoring_file;
use parties::data::vcf::{MISSING_MILLI, VcfError, VcfSite};

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("igs-mpc-fuzz-{}.vcf", std::process::id()));
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(data))
        .unwrap();
    let Ok(site) = VcfSite::open(&path).map_err(|e| e.to_string()) else {
        return;
    };
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
    let _ = site.for_each_kept::<VcfError>(&h, |_, dosages| {
        assert_eq!(dosages.len(), n);
        assert!(dosages.iter().all(|&d| d <= 2000 || d == MISSING_MILLI));
        Ok(())
    });
    let _ = site.load_genotypes(&h).map_err(|e| e.to_string());
});
