//! Arbitrary bytes as BCF records behind a fixed valid header (`igs_mpc_fuzz::bcf_fuzz_header`:
//! two contigs, GT and DS, three samples), so the fuzzer spends its time in the record decoder
//! (length fields, site fields, typed sample arrays); an input that itself starts with `BCF` or
//! the gzip magic is taken as a whole file. Then the same checks as `vcf_site`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parties::data::vcf::VcfSite;

fuzz_target!(|data: &[u8]| {
    let bytes = if data.starts_with(b"BCF") || data.starts_with(&[0x1f, 0x8b]) {
        data.to_vec()
    } else {
        [igs_mpc_fuzz::bcf_fuzz_header().as_slice(), data].concat()
    };
    match VcfSite::from_bytes("fuzz.bcf", bytes) {
        Ok(site) => igs_mpc_fuzz::exercise_variant_site(&site),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
