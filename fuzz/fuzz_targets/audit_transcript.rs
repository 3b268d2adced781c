//! Arbitrary bytes into the transcript file parser (entry and tree-head records): every parsed
//! entry must be the canonical encoding of itself, and a single record body must decode the
//! same way on its own.
#![no_main]

use audit::transcript::{self, Entry, Record, SignedTreeHead};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = transcript::parse(data) {
        for r in records {
            match r {
                Record::Entry(e, bytes) => assert_eq!(e.encode(), bytes),
                Record::Head(h) => assert_eq!(SignedTreeHead::decode(&h.encode()), Ok(h)),
            }
        }
    }
    if let Ok(e) = Entry::decode(data) {
        assert_eq!(e.encode(), data, "entry decode/encode round trip differs");
    }
});
