//! Arbitrary bytes into `QueryLedger::decode`: whatever decodes must re-encode to the input.
#![no_main]

use audit::QueryLedger;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(l) = QueryLedger::decode(data) {
        assert_eq!(l.encode(), data, "ledger decode/encode round trip differs");
    }
});
