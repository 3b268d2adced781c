//! Arbitrary bytes into `parse_bim`: it returns records or a typed error, never panics, and an
//! error message never echoes the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parties::data::plink::parse_bim;

fuzz_target!(|data: &[u8]| {
    match parse_bim(data, "fuzz.bim") {
        Ok(variants) => {
            assert!(!variants.is_empty(), "an empty .bim must be an error");
            for v in &variants {
                assert!(!v.id.is_empty() && !v.a1.is_empty() && !v.a2.is_empty());
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
