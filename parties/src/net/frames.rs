//! [`FrameReader`]: the socket-free part of receiving frames from one peer.
//!
//! A stream transport reads a 40-byte header, asks [`FrameReader::header`] whether to read the
//! payload (payload limit, session and next sequence number are checked from the header alone,
//! before any allocation), reads exactly `payload_len` bytes and hands them to
//! [`FrameReader::payload`], which checks the payload against the header and advances the
//! sequence number. The first error ends the stream: a reader that failed refuses everything
//! after (a failed session never reads again). [`QuicChannel`](super::QuicChannel) and the
//! coordinator's control link use it; `fuzz/fuzz_targets/frame_reader.rs` fuzzes it.

use mpc_core::wire::{Frame, HEADER_LEN, Header, Msg, SessionId, WireError, decode_header};

/// Longest abort reason kept from a peer (the text is untrusted).
pub const MAX_REASON: usize = 300;

/// What one frame from a peer means.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// A data or control message for the protocol.
    Msg(Msg),
    /// The peer aborted the session; the reason is sanitised (no control characters, at most
    /// [`MAX_REASON`] characters).
    Abort(String),
}

/// Receive-side state of one direction of one peer link.
#[derive(Debug)]
pub struct FrameReader {
    session: SessionId,
    limit: usize,
    expected: u64,
    failed: bool,
}

impl FrameReader {
    /// A reader for `session` accepting payloads of at most `limit` bytes, expecting sequence
    /// number 0 first.
    pub fn new(session: SessionId, limit: usize) -> Self {
        Self {
            session,
            limit,
            expected: 0,
            failed: false,
        }
    }

    /// The next expected sequence number.
    pub fn expected(&self) -> u64 {
        self.expected
    }

    /// Checks a header: version, kind, payload limit (nothing allocated yet), session, sequence
    /// number. On success the caller reads exactly `payload_len` bytes.
    pub fn header(&mut self, head: &[u8; HEADER_LEN]) -> Result<Header, WireError> {
        let r = self.check_header(head);
        self.failed |= r.is_err();
        r
    }

    fn check_header(&self, head: &[u8; HEADER_LEN]) -> Result<Header, WireError> {
        if self.failed {
            return Err(WireError::WrongSession);
        }
        let header = decode_header(head, self.limit)?;
        if header.session != self.session {
            return Err(WireError::WrongSession);
        }
        if header.seq != self.expected {
            return Err(WireError::BadSequence {
                expected: self.expected,
                got: header.seq,
            });
        }
        Ok(header)
    }

    /// Checks the payload of a header accepted by [`Self::header`] and advances the sequence
    /// number.
    pub fn payload(&mut self, header: Header, payload: Vec<u8>) -> Result<Received, WireError> {
        if self.failed || header.seq != self.expected || header.session != self.session {
            self.failed = true;
            return Err(WireError::WrongSession);
        }
        let frame = match Frame::from_parts(header, payload) {
            Ok(f) => f,
            Err(e) => {
                self.failed = true;
                return Err(e);
            }
        };
        self.expected += 1;
        Ok(match frame.msg.abort_reason() {
            Some(reason) => Received::Abort(sanitize(&reason)),
            None => Received::Msg(frame.msg),
        })
    }

    /// Feeds a whole byte buffer holding consecutive frames (tests and fuzzing); returns the
    /// messages up to the first error and that error, if any. Incomplete trailing bytes are
    /// `Truncated`.
    pub fn feed_all(&mut self, mut bytes: &[u8]) -> (Vec<Received>, Option<WireError>) {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let Some((head, rest)) = bytes.split_first_chunk::<HEADER_LEN>() else {
                // The stream ended inside a header: an error, like a stream transport's.
                self.failed = true;
                return (
                    out,
                    Some(WireError::Truncated {
                        needed: HEADER_LEN,
                        got: bytes.len(),
                    }),
                );
            };
            let header = match self.header(head) {
                Ok(h) => h,
                Err(e) => return (out, Some(e)),
            };
            let len = header.payload_len as usize;
            let Some((payload, rest)) = rest.split_at_checked(len) else {
                self.failed = true;
                return (
                    out,
                    Some(WireError::Truncated {
                        needed: len,
                        got: rest.len(),
                    }),
                );
            };
            match self.payload(header, payload.to_vec()) {
                Ok(r) => out.push(r),
                Err(e) => return (out, Some(e)),
            }
            bytes = rest;
        }
        (out, None)
    }
}

/// Drops control characters and keeps at most [`MAX_REASON`] characters of peer text.
pub fn sanitize(reason: &str) -> String {
    reason
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_REASON)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: SessionId = SessionId([7; 16]);

    #[test]
    fn accepts_in_order_and_refuses_replay_other_session_and_oversize() {
        let f0 = Frame::new(S, 0, Msg::bytes(vec![1, 2, 3])).encode();
        let f1 = Frame::new(S, 1, Msg::abort("bye\n\u{7}")).encode();
        let mut r = FrameReader::new(S, 16);
        let (got, err) = r.feed_all(&[f0.clone(), f1].concat());
        assert_eq!(err, None);
        assert_eq!(got.len(), 2);
        assert_eq!(got.get(1), Some(&Received::Abort("bye".into())));
        // Replay of frame 0.
        let (_, err) = r.feed_all(&f0);
        assert!(matches!(err, Some(WireError::BadSequence { .. })));
        // A failed reader refuses everything after.
        let f2 = Frame::new(S, 2, Msg::bytes(vec![])).encode();
        assert!(r.feed_all(&f2).1.is_some());
        // Another session, and a payload over the limit (refused from the header).
        let other = Frame::new(SessionId([8; 16]), 0, Msg::bytes(vec![])).encode();
        assert_eq!(
            FrameReader::new(S, 16).feed_all(&other).1,
            Some(WireError::WrongSession)
        );
        let big = Frame::new(S, 0, Msg::bytes(vec![0; 17])).encode();
        assert!(matches!(
            FrameReader::new(S, 16).feed_all(&big).1,
            Some(WireError::TooLarge { .. })
        ));
    }
}
