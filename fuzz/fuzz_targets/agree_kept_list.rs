//! Arbitrary bytes as a peer's kept-variant list frame (`parties::data::agree::KeptList::decode`:
//! frame header and size limit, session, message version, canonical rows and alleles). A list
//! that decodes must survive an encode/decode round trip and merge with itself into the same
//! rows; errors must format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpc_core::wire::SessionId;
use parties::data::agree::{KeptList, merge};

/// The session id the seeds are written with (`examples/make_seeds.rs`).
const SESSION: SessionId = SessionId(*b"igs-mpc-fuzzseed");

fuzz_target!(|data: &[u8]| {
    match KeptList::decode(data, SESSION) {
        Ok(list) => {
            let again = KeptList::decode(&list.encode(SESSION).unwrap(), SESSION).unwrap();
            assert_eq!(again, list);
            let m = merge(&[("a", &list), ("b", &again)], 0.0).unwrap();
            assert_eq!(m.agreed.variants.len(), list.variants.len());
            assert!(m.sites.iter().all(|s| s.dropped.is_empty()));
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
