//! Arbitrary bytes into `Approval::decode`: whatever decodes must re-encode to the input.
#![no_main]

use audit::Approval;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = Approval::decode(data) {
        assert_eq!(
            a.encode(),
            data,
            "approval decode/encode round trip differs"
        );
    }
});
