//! Arbitrary bytes into `parse_fam`: records with unique IIDs or a typed error, never a panic.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use parties::data::plink::parse_fam;

fuzz_target!(|data: &[u8]| {
    match parse_fam(data, "fuzz.fam") {
        Ok(samples) => {
            assert!(!samples.is_empty(), "an empty .fam must be an error");
            let unique: HashSet<&str> = samples.iter().map(|s| s.iid.as_str()).collect();
            assert_eq!(unique.len(), samples.len(), "duplicate IIDs accepted");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
