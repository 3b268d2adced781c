//! N parties as threads over in-memory channels, counting bytes and rounds (STYLE §10).
//!
//! Frames are encoded to bytes on send and decoded (with the payload limit, session and
//! sequence checks) on receive, so tests exercise the real wire codec. Used by every protocol
//! test and by the benches; never by a binary.
#![allow(
    clippy::panic,
    reason = "test harness: a failed thread spawn is a test failure"
)]

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

use crate::channel::{Channel, NetError, Stats, StatsRecorder};
use crate::party::PartyId;
use crate::wire::{DEFAULT_PAYLOAD_LIMIT, Frame, Msg, SessionId, WireError};

/// Default time a test party waits for a peer before reporting [`NetError::Timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// An in-memory channel endpoint.
pub struct MemChannel {
    me: PartyId,
    n_compute: usize,
    session: SessionId,
    tx: Vec<Option<Sender<Vec<u8>>>>,
    rx: Vec<Option<Receiver<Vec<u8>>>>,
    send_seq: Vec<u64>,
    recv_seq: Vec<u64>,
    limit: usize,
    timeout: Duration,
    stats: StatsRecorder,
}

impl MemChannel {
    fn peer_index(&self, p: PartyId) -> Result<usize, NetError> {
        let i = p.index();
        if i < self.tx.len() && p != self.me {
            Ok(i)
        } else {
            Err(NetError::UnknownParty(p))
        }
    }

    /// Test hook: sends raw bytes to `to`, bypassing the encoder (for malformed-frame tests).
    pub fn dangerous_send_raw(&mut self, to: PartyId, bytes: Vec<u8>) -> Result<(), NetError> {
        let i = self.peer_index(to)?;
        let tx = self
            .tx
            .get(i)
            .and_then(Option::as_ref)
            .ok_or(NetError::UnknownParty(to))?;
        tx.send(bytes).map_err(|_| NetError::Closed { party: to })
    }

    /// The error for a peer whose connection is gone: if it left an abort notice, that.
    fn closed_or_aborted(&mut self, i: usize, peer: PartyId) -> NetError {
        if let Some(rx) = self.rx.get(i).and_then(Option::as_ref) {
            while let Ok(bytes) = rx.try_recv() {
                if let Some(reason) = Frame::decode(&bytes, self.limit)
                    .ok()
                    .and_then(|f| f.msg.abort_reason())
                {
                    return NetError::Aborted {
                        party: peer,
                        reason,
                    };
                }
            }
        }
        NetError::Closed { party: peer }
    }

    /// Sets the payload limit for received frames.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// Sets how long a receive waits for the peer (default [`DEFAULT_TIMEOUT`]).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The session id.
    pub fn session(&self) -> SessionId {
        self.session
    }

    /// The next sequence number this endpoint will use towards `to` (test hook for replays).
    pub fn next_send_seq(&self, to: PartyId) -> u64 {
        self.send_seq.get(to.index()).copied().unwrap_or(0)
    }
}

impl Channel for MemChannel {
    fn me(&self) -> PartyId {
        self.me
    }

    fn n_compute(&self) -> usize {
        self.n_compute
    }

    fn send(&mut self, to: PartyId, msg: Msg) -> Result<(), NetError> {
        let i = self.peer_index(to)?;
        let seq = self.send_seq.get(i).copied().unwrap_or(0);
        let bytes = Frame::new(self.session, seq, msg).encode();
        let len = bytes.len() as u64;
        let tx = self
            .tx
            .get(i)
            .and_then(Option::as_ref)
            .ok_or(NetError::UnknownParty(to))?;
        if tx.send(bytes).is_err() {
            return Err(self.closed_or_aborted(i, to));
        }
        if let Some(s) = self.send_seq.get_mut(i) {
            *s += 1;
        }
        self.stats.sent(i, len);
        Ok(())
    }

    fn recv(&mut self, from: PartyId) -> Result<Msg, NetError> {
        let i = self.peer_index(from)?;
        let rx = self
            .rx
            .get(i)
            .and_then(Option::as_ref)
            .ok_or(NetError::UnknownParty(from))?;
        let bytes = match rx.recv_timeout(self.timeout) {
            Ok(b) => b,
            Err(RecvTimeoutError::Timeout) => return Err(NetError::Timeout { party: from }),
            Err(RecvTimeoutError::Disconnected) => return Err(NetError::Closed { party: from }),
        };
        let wire = |error| NetError::Wire { party: from, error };
        let frame = Frame::decode(&bytes, self.limit).map_err(wire)?;
        if frame.header.session != self.session {
            return Err(wire(WireError::WrongSession));
        }
        let expected = self.recv_seq.get(i).copied().unwrap_or(0);
        if frame.header.seq != expected {
            return Err(wire(WireError::BadSequence {
                expected,
                got: frame.header.seq,
            }));
        }
        if let Some(s) = self.recv_seq.get_mut(i) {
            *s += 1;
        }
        if let Some(reason) = frame.msg.abort_reason() {
            return Err(NetError::Aborted {
                party: from,
                reason,
            });
        }
        self.stats.received(i, bytes.len() as u64);
        Ok(frame.msg)
    }

    fn stats(&self) -> Stats {
        self.stats.stats().clone()
    }
}

/// Builds fully connected in-memory endpoints for `n_compute` computing parties plus
/// `n_helpers` helpers (the dealer is `PartyId(n_compute)`).
pub fn mem_channels(n_compute: usize, n_helpers: usize, session: SessionId) -> Vec<MemChannel> {
    let total = n_compute + n_helpers;
    let mut tx: Vec<Vec<Option<Sender<Vec<u8>>>>> = (0..total)
        .map(|_| (0..total).map(|_| None).collect())
        .collect();
    let mut rx: Vec<Vec<Option<Receiver<Vec<u8>>>>> = (0..total)
        .map(|_| (0..total).map(|_| None).collect())
        .collect();
    for (i, txi) in tx.iter_mut().enumerate() {
        for (j, slot) in txi.iter_mut().enumerate() {
            if i != j {
                let (s, r) = channel();
                *slot = Some(s);
                if let Some(cell) = rx.get_mut(j).and_then(|row| row.get_mut(i)) {
                    *cell = Some(r);
                }
            }
        }
    }
    tx.into_iter()
        .zip(rx)
        .enumerate()
        .map(|(i, (tx, rx))| MemChannel {
            me: PartyId(i as u16),
            n_compute,
            session,
            tx,
            rx,
            send_seq: vec![0; total],
            recv_seq: vec![0; total],
            limit: DEFAULT_PAYLOAD_LIMIT,
            timeout: DEFAULT_TIMEOUT,
            stats: StatsRecorder::new(PartyId(i as u16), n_compute, total),
        })
        .collect()
}

/// What one party of [`run`] returned, with its traffic counters.
pub struct PartyOutput<T> {
    /// The party.
    pub party: PartyId,
    /// The closure's result.
    pub value: T,
    /// Its traffic.
    pub stats: Stats,
}

/// Runs `f` once per party (computing parties and helpers) on its own thread, connected in
/// memory, and returns every party's output in party order. A panicking party makes this
/// panic (tests only).
pub fn run<T, F>(n_compute: usize, n_helpers: usize, f: F) -> Vec<PartyOutput<T>>
where
    T: Send,
    F: Fn(&mut MemChannel) -> T + Sync,
{
    run_with(mem_channels(n_compute, n_helpers, SessionId([7; 16])), f)
}

/// Like [`run`] with prepared endpoints (e.g. with a smaller payload limit).
pub fn run_with<T, F>(chans: Vec<MemChannel>, f: F) -> Vec<PartyOutput<T>>
where
    T: Send,
    F: Fn(&mut MemChannel) -> T + Sync,
{
    std::thread::scope(|s| {
        let handles: Vec<_> = chans
            .into_iter()
            .map(|mut ch| {
                let f = &f;
                std::thread::Builder::new()
                    .name(format!("party-{}", ch.me.0))
                    .stack_size(16 << 20)
                    .spawn_scoped(s, move || {
                        let value = f(&mut ch);
                        PartyOutput {
                            party: ch.me,
                            value,
                            stats: ch.stats.stats().clone(),
                        }
                    })
                    .map_err(|e| e.to_string())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => match h.join() {
                    Ok(v) => v,
                    Err(p) => std::panic::resume_unwind(p),
                },
                Err(e) => panic!("cannot spawn a party thread: {e}"),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::Z64;

    #[test]
    fn counts_bytes_and_rounds() {
        let out = run(3, 0, |ch| {
            for round in 0..2u64 {
                for p in 0..3u16 {
                    if p != ch.me().0 {
                        ch.send(PartyId(p), Msg::ring(&[Z64(round)])).unwrap();
                    }
                }
                for p in 0..3u16 {
                    if p != ch.me().0 {
                        let v = ch.recv(PartyId(p)).unwrap().into_ring::<Z64>(1).unwrap();
                        assert_eq!(v, vec![Z64(round)]);
                    }
                }
            }
        });
        for o in out {
            assert_eq!(o.stats.rounds, 2);
            assert_eq!(o.stats.total_bytes_sent(), 4 * (40 + 8));
        }
    }

    #[test]
    fn malformed_replayed_and_oversized_frames_name_the_sender() {
        let out = run(2, 0, |ch| {
            if ch.me() == PartyId(0) {
                ch.dangerous_send_raw(PartyId(1), vec![1, 2, 3]).unwrap();
                // A valid frame, then the same frame again (replay).
                let f = Frame::new(ch.session(), 0, Msg::ring(&[Z64(1)])).encode();
                ch.dangerous_send_raw(PartyId(1), f.clone()).unwrap();
                ch.dangerous_send_raw(PartyId(1), f).unwrap();
                // Another session.
                let g = Frame::new(SessionId([9; 16]), 1, Msg::ring(&[Z64(1)])).encode();
                ch.dangerous_send_raw(PartyId(1), g).unwrap();
                ch.send(PartyId(1), Msg::ring(&vec![Z64(0); 1000])).unwrap();
                vec![]
            } else {
                ch.set_limit(1024);
                let mut errs = vec![];
                errs.push(ch.recv(PartyId(0)).unwrap_err());
                assert!(ch.recv(PartyId(0)).is_ok());
                errs.push(ch.recv(PartyId(0)).unwrap_err());
                errs.push(ch.recv(PartyId(0)).unwrap_err());
                errs.push(ch.recv(PartyId(0)).unwrap_err());
                errs
            }
        });
        let errs = &out[1].value;
        assert!(errs.iter().all(|e| e.culprit() == Some(PartyId(0))));
        assert!(matches!(
            errs[0],
            NetError::Wire {
                error: WireError::Truncated { .. },
                ..
            }
        ));
        assert!(matches!(
            errs[1],
            NetError::Wire {
                error: WireError::BadSequence { .. },
                ..
            }
        ));
        assert!(matches!(
            errs[2],
            NetError::Wire {
                error: WireError::WrongSession,
                ..
            }
        ));
        assert!(matches!(
            errs[3],
            NetError::Wire {
                error: WireError::TooLarge { .. },
                ..
            }
        ));
        assert!(errs[3].to_string().starts_with("P0 "));
    }
}
