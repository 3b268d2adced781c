//! Arbitrary bytes as the stream a peer sends, through the receive handler of `QuicChannel`
//! (`parties::net::frames::FrameReader`: header checks before allocation, session, sequence,
//! payload checks). Whatever it accepts re-encodes to exactly the consumed bytes, in order, and
//! after the first error it accepts nothing more.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpc_core::wire::{Frame, SessionId};
use parties::net::frames::{FrameReader, Received};

const LIMIT: usize = 1 << 16;
const SID: SessionId = SessionId(*b"igs-mpc-fuzzseed");

fuzz_target!(|data: &[u8]| {
    let mut reader = FrameReader::new(SID, LIMIT);
    let (got, err) = reader.feed_all(data);
    assert_eq!(reader.expected(), got.len() as u64);
    // Accepted frames re-encode to a prefix of the input.
    let mut prefix = Vec::new();
    for (seq, r) in got.iter().enumerate() {
        let msg = match r {
            Received::Msg(m) => m.clone(),
            Received::Abort(reason) => {
                assert!(reason.chars().count() <= parties::net::frames::MAX_REASON);
                assert!(!reason.chars().any(char::is_control));
                // Sanitised text may differ from the sent bytes: stop comparing here.
                break;
            }
        };
        prefix.extend(Frame::new(SID, seq as u64, msg).encode());
    }
    assert!(data.starts_with(&prefix));
    if err.is_some() {
        let next = Frame::new(SID, reader.expected(), mpc_core::wire::Msg::bytes(vec![1])).encode();
        assert!(
            reader.feed_all(&next).1.is_some(),
            "a failed reader accepted a frame"
        );
    }
});
