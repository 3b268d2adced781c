//! Arbitrary bytes into `CanonicalPlan::decode`: whatever decodes must be exactly its own
//! canonical encoding (one plan, one byte string, one hash).
#![no_main]

use audit::CanonicalPlan;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(plan) = CanonicalPlan::decode(data) {
        assert_eq!(plan.bytes(), data, "plan decode/encode round trip differs");
    }
});
