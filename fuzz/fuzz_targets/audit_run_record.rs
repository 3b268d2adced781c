//! Arbitrary bytes into `RunRecord::decode`: whatever decodes must re-encode to the input.
#![no_main]

use audit::RunRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = RunRecord::decode(data) {
        assert_eq!(
            r.encode(),
            data,
            "run record decode/encode round trip differs"
        );
    }
});
