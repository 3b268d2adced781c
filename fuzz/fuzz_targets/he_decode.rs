//! Arbitrary bytes into the HE message decoders (`protocols::he::wire`), against a layout and
//! a parameter set chosen by the first bytes (small polynomials, so that valid lengths are
//! reachable). Never panics; whatever decodes re-encodes to exactly the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocols::he::params::{DEFAULT_PARAMS, HeParams, Layout};
use protocols::he::wire;

fuzz_target!(|data: &[u8]| {
    let [a, b, c, d, rest @ ..] = data else {
        return;
    };
    let params = HeParams {
        poly_size: 1 << (a % 4),
        glwe_dimension: usize::from(b % 3) + 1,
        ..DEFAULT_PARAMS
    };
    let rows = usize::from(c % 9) + 1;
    let cols = usize::from(d % 9) + 1;
    let Ok(layout) = Layout::choose(&params, rows, cols) else {
        return;
    };
    if let Ok(q) = wire::decode_query(rest, &params, &layout) {
        assert_eq!(wire::encode_query(&params, &layout, &q), rest);
    }
    if let Ok(r) = wire::decode_reply(rest, &params, &layout) {
        assert_eq!(wire::encode_reply(&params, &layout, &r), rest);
    }
});
