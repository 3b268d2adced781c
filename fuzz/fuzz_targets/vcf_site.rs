//! Arbitrary bytes as a variant file, read from memory (`VcfSite::from_bytes`: VCF, BCF, either
//! gzip/bgzip-compressed, detected from the bytes): the first pass, harmonisation of a score
//! built from the variants it found, the second pass (GT/DS dosages) and the hard-call loader
//! (`igs_mpc_fuzz::exercise_variant_site`). Dosages must be in 0..=2000 thousandths or missing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parties::data::vcf::VcfSite;

fuzz_target!(|data: &[u8]| {
    match VcfSite::from_bytes("fuzz.vcf", data) {
        Ok(site) => igs_mpc_fuzz::exercise_variant_site(&site),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
