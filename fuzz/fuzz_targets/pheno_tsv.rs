//! Arbitrary bytes into `parse_pheno`, then every accessor on every column (numeric,
//! categorical with and without a reference level) and sample matching.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parties::data::pheno::parse_pheno;

fuzz_target!(|data: &[u8]| {
    let table = match parse_pheno(data, "fuzz.tsv") {
        Ok(t) => t,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let n = table.n_rows();
    for column in table.columns().to_vec() {
        if let Ok(v) = table.numeric(&column) {
            assert_eq!(v.len(), n);
            assert!(v.iter().flatten().all(|x| x.is_finite()));
        }
        for reference in [None, Some("0"), Some("EUR")] {
            let _ = table.categorical(&column, reference);
        }
    }
    let mut iids: Vec<String> = table.iids().map(str::to_owned).collect();
    iids.reverse();
    iids.push("not-there".into());
    let m = table.match_samples(&iids);
    let _ = m.align(&vec![Some(1u8); n]);
});
