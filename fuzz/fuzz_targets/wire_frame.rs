//! Arbitrary bytes into `Frame::decode`; whatever decodes must re-encode to exactly the input
//! (one frame, one encoding: no malleable header or payload bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpc_core::wire::Frame;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = Frame::decode(data, 1 << 16) {
        assert_eq!(frame.encode(), data, "decode/encode round trip differs");
    }
});
