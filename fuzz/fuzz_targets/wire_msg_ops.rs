//! A frame decoded from the tail of the input, then a sequence of typed decodes of its message
//! (`into_ring::<Z64>`, `into_ring::<Z128>`, `into_bits`, `into_control`, `into_bytes`, ...) with arbitrary
//! element counts n ≤ 4096, each checked against what the header says.
//!
//! Input layout: see `igs_mpc_fuzz::Input`.
#![no_main]

use igs_mpc_fuzz::{Input, OPS, Small};
use libfuzzer_sys::fuzz_target;
use mpc_core::wire::{Frame, FrameKind, Msg, WireError};
use mpc_core::{RingId, Z64, Z128};

const LIMIT: usize = 1 << 16;
const MAX_N: u16 = 4096;

fn ring_ok(frame: &Frame, id: RingId, n: usize) -> bool {
    frame.msg.kind() == FrameKind::Ring(id) && frame.header.count == n as u64
}

fuzz_target!(|input: Input<'_>| {
    let Ok(frame) = Frame::decode(input.frame, LIMIT) else {
        return;
    };
    let count = frame.header.count;
    for op in &input.ops {
        let n = if op.n == u16::MAX && count <= u64::from(MAX_N) {
            count as usize
        } else {
            usize::from(op.n % (MAX_N + 1))
        };
        let msg = frame.msg.clone();
        match op.code % OPS {
            0 => match msg.into_ring::<Z64>(n) {
                Ok(v) => {
                    assert!(ring_ok(&frame, RingId::Z64, n));
                    assert_eq!(v.len(), n);
                    assert_eq!(Msg::ring(&v), frame.msg);
                }
                Err(e) => {
                    assert!(!ring_ok(&frame, RingId::Z64, n), "{e}");
                    assert!(matches!(e, WireError::Unexpected { .. }));
                }
            },
            1 => match msg.into_ring::<Z128>(n) {
                Ok(v) => {
                    assert!(ring_ok(&frame, RingId::Z128, n));
                    assert_eq!(v.len(), n);
                    assert_eq!(Msg::ring(&v), frame.msg);
                }
                Err(e) => {
                    assert!(!ring_ok(&frame, RingId::Z128, n), "{e}");
                    assert!(matches!(e, WireError::Unexpected { .. }));
                }
            },
            2 => {
                let expect = frame.msg.kind() == FrameKind::Bits && count == n as u64;
                match msg.into_bits(n) {
                    Ok(w) => {
                        assert!(expect);
                        assert_eq!(w.len(), n.div_ceil(64));
                        if n % 64 != 0 {
                            let last = w.last().copied().unwrap_or(0);
                            assert_eq!(last >> (n % 64), 0, "bits past n are set");
                        }
                        assert_eq!(Msg::bits(&w, n), frame.msg);
                    }
                    Err(e) => {
                        assert!(!expect, "{e}");
                        assert!(matches!(e, WireError::Unexpected { .. }));
                    }
                }
            }
            3 => match msg.into_control::<Small>() {
                Ok(v) => {
                    assert_eq!(frame.msg.kind(), FrameKind::Control);
                    // postcard accepts over-long varints, so the bytes need not be canonical;
                    // the value must survive a re-encode.
                    let again = Msg::control(&v).and_then(|m| m.into_control::<Small>());
                    assert_eq!(again.as_ref(), Ok(&v));
                }
                Err(e) => {
                    if frame.msg.kind() != FrameKind::Control {
                        assert!(matches!(e, WireError::Unexpected { .. }));
                    }
                }
            },
            4 => {
                let r = frame.msg.abort_reason();
                assert_eq!(r.is_some(), frame.msg.kind() == FrameKind::Abort);
            }
            5 => {
                // The same bytes under payload limit n.
                let len = frame.header.payload_len as usize;
                match Frame::decode(input.frame, n) {
                    Ok(f) => {
                        assert!(len <= n);
                        assert_eq!(f, frame);
                    }
                    Err(e) => {
                        assert!(len > n, "{e}");
                        assert!(matches!(e, WireError::TooLarge { .. }));
                    }
                }
            }
            6 => assert_eq!(frame.encode(), input.frame),
            _ => {
                let expect = frame.msg.kind() == FrameKind::Bits
                    && count.is_multiple_of(8)
                    && frame.msg.len() <= n;
                match msg.into_bytes(n) {
                    Ok(b) => {
                        assert!(expect);
                        assert_eq!(b.as_slice(), frame.msg.payload());
                        assert_eq!(Msg::bytes(b), frame.msg);
                    }
                    Err(e) => {
                        assert!(!expect, "{e}");
                        assert!(matches!(e, WireError::Unexpected { .. }));
                    }
                }
            }
        }
    }
});
