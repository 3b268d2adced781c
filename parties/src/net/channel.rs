//! [`QuicChannel`]: the synchronous [`Channel`] over one QUIC stream per peer.
//!
//! Each peer has a reader task on the node's tokio runtime. It reads the 40-byte header
//! first, checks the payload limit (before allocating), the session id and the next
//! per-direction sequence number ([`FrameReader`], socket-free and fuzzed), then reads the
//! payload and queues the frame. The queue is bounded per peer by a byte budget
//! ([`queue_budget`]): a reader whose peer is ahead of the protocol waits before reading the
//! payload, so QUIC flow control stops the peer (backpressure, bounded memory). The protocol
//! thread blocks on that queue with the progress timeout. A failure from *any* peer (abort,
//! lost connection, bad frame) ends the wait at once, so the first culprit is reported. Sends
//! block the protocol thread on the runtime (`Runtime::block_on`) with the same timeout.
//!
//! Timeouts: the QUIC idle timeout equals the progress timeout T (keep-alives every T/4), so a
//! dead, frozen or partitioned peer is reported by *every* party within T on its own
//! connection. A peer whose connection stays alive but which sends nothing expected is blamed
//! after 2T: the extra period lets a party it may be waiting on be reported first.
//!
//! Never call a `QuicChannel` from inside a tokio runtime thread.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use mpc_core::channel::{Channel, NetError, Stats, StatsRecorder};
use mpc_core::party::PartyId;
use mpc_core::transcript::{Direction, FrameEvent, TranscriptSink, message_hash_parts};
use mpc_core::wire::{Frame, HEADER_LEN, Msg, SessionId, WireError, encode_header};
use quinn::{Connection, ConnectionError, ReadError, RecvStream, SendStream, VarInt};
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;

use super::frames::{FrameReader, Received};

/// QUIC application close code: the session ended normally.
pub const CLOSE_DONE: u32 = 0;
/// QUIC application close code: this party aborted the session.
pub const CLOSE_ABORT: u32 = 1;
/// QUIC application close / stop code: the peer sent a bad frame.
pub const CLOSE_BAD_FRAME: u32 = 2;
/// Bytes (headers included) of received frames a peer may have queued before the reader stops
/// reading its stream: twice the payload limit, at least [`MIN_QUEUE_BUDGET`]. With the QUIC
/// stream window this bounds the memory one peer can make us hold.
pub fn queue_budget(limit: usize) -> usize {
    (2 * (limit + HEADER_LEN)).max(MIN_QUEUE_BUDGET)
}
/// Smallest per-peer receive-queue budget.
pub const MIN_QUEUE_BUDGET: usize = 64 << 20;

/// What a reader task reports.
enum Event {
    Frame { peer: usize, msg: Msg, len: u64 },
    Finished { peer: usize },
    Failed { peer: usize, error: NetError },
}

pub(crate) struct PeerLink {
    pub(crate) conn: Connection,
    pub(crate) send: SendStream,
    pub(crate) recv: RecvStream,
}

struct Peer {
    conn: Connection,
    send: SendStream,
    pending: VecDeque<(Msg, u64)>,
    /// Queue budget shared with the reader task; returned as frames are consumed.
    budget: Arc<Semaphore>,
    /// Set once the reader stopped: `Closed` after a clean end, else the error.
    ended: Option<NetError>,
}

/// A party's connections to every other party of one session.
pub struct QuicChannel {
    me: PartyId,
    n_compute: usize,
    session: SessionId,
    rt: Arc<Runtime>,
    peers: Vec<Option<Peer>>,
    events: Receiver<Event>,
    send_seq: Vec<u64>,
    /// Frames consumed from each peer (the next expected sequence number).
    recv_seq: Vec<u64>,
    timeout: Duration,
    stats: StatsRecorder,
    /// Where every sent and consumed frame is reported (`audit`'s transcript), if attached.
    sink: Option<Box<dyn TranscriptSink>>,
}

impl QuicChannel {
    /// Wraps established links (`links[i]` is the link to party i, `None` for me) and starts
    /// a reader task per peer.
    pub(crate) fn new(
        me: PartyId,
        n_compute: usize,
        session: SessionId,
        rt: Arc<Runtime>,
        links: Vec<Option<PeerLink>>,
        timeout: Duration,
        limit: usize,
    ) -> Self {
        let total = links.len();
        let (tx, events) = channel();
        let peers = links
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                l.map(|l| {
                    let tx = tx.clone();
                    let peer = PartyId(i as u16);
                    let budget = Arc::new(Semaphore::new(queue_budget(limit)));
                    rt.spawn(read_loop(peer, l.recv, session, limit, budget.clone(), tx));
                    Peer {
                        conn: l.conn,
                        send: l.send,
                        pending: VecDeque::new(),
                        budget,
                        ended: None,
                    }
                })
            })
            .collect();
        Self {
            me,
            n_compute,
            session,
            rt,
            peers,
            events,
            send_seq: vec![0; total],
            recv_seq: vec![0; total],
            timeout,
            stats: StatsRecorder::new(me, n_compute, total),
            sink: None,
        }
    }

    /// Attaches a transcript sink: from now on every frame sent, and every frame the protocol
    /// consumes, is reported with `mpc_core::transcript::message_hash` of its exact wire bytes
    /// (header and payload), so sender and receiver log the same hash. Attach it before the
    /// first protocol message (the session code does, right after connecting).
    pub fn set_transcript(&mut self, sink: Box<dyn TranscriptSink>) {
        self.sink = Some(sink);
    }

    /// Detaches the transcript sink (before the transcript is closed).
    pub fn take_transcript(&mut self) -> Option<Box<dyn TranscriptSink>> {
        self.sink.take()
    }

    /// Reports one frame to the sink, if any.
    fn log_frame(&mut self, direction: Direction, peer: PartyId, seq: u64, frame: &Frame) {
        let Some(sink) = self.sink.as_mut() else {
            return;
        };
        let head = encode_header(&frame.header);
        let (sender, receiver) = match direction {
            Direction::Send => (self.me, peer),
            Direction::Recv => (peer, self.me),
        };
        let msg_hash = message_hash_parts(
            self.session,
            sender,
            receiver,
            seq,
            &[&head, frame.msg.payload()],
        );
        sink.record(FrameEvent {
            direction,
            peer,
            seq,
            len: HEADER_LEN + frame.msg.len(),
            msg_hash,
        });
    }

    /// A frame consumed from peer `i`: counts it and reports it to the sink. The header is
    /// re-encoded from the message and the next sequence number, which the reader checked:
    /// header decoding is one-to-one, so these are exactly the bytes received.
    fn consumed(&mut self, i: usize, msg: Msg, len: u64) -> Msg {
        self.count_recv(i, len);
        let seq = self.recv_seq.get(i).copied().unwrap_or(0);
        if let Some(s) = self.recv_seq.get_mut(i) {
            *s += 1;
        }
        if self.sink.is_none() {
            return msg;
        }
        let frame = Frame::new(self.session, seq, msg);
        self.log_frame(Direction::Recv, PartyId(i as u16), seq, &frame);
        frame.msg
    }

    /// The session id.
    pub fn session(&self) -> SessionId {
        self.session
    }

    fn peer_mut(&mut self, p: PartyId) -> Result<&mut Peer, NetError> {
        if p == self.me {
            return Err(NetError::UnknownParty(p));
        }
        self.peers
            .get_mut(p.index())
            .and_then(Option::as_mut)
            .ok_or(NetError::UnknownParty(p))
    }

    /// Writes raw bytes to `to`'s stream (bypassing the encoder: replay and malformed-frame
    /// tests only).
    pub fn dangerous_send_raw(&mut self, to: PartyId, bytes: &[u8]) -> Result<(), NetError> {
        let timeout = self.timeout;
        let rt = self.rt.clone();
        let peer = self.peer_mut(to)?;
        write_all(&rt, &mut peer.send, &[bytes], timeout, to)
    }

    /// The next sequence number towards `to` (replay tests).
    pub fn next_send_seq(&self, to: PartyId) -> u64 {
        self.send_seq.get(to.index()).copied().unwrap_or(0)
    }

    /// Files one reader event. Returns the error to report if it is a failure.
    fn file(&mut self, ev: Event) -> Option<(usize, NetError)> {
        match ev {
            Event::Frame { peer, msg, len } => {
                if let Some(p) = self.peers.get_mut(peer).and_then(Option::as_mut) {
                    p.pending.push_back((msg, len));
                }
                None
            }
            Event::Finished { peer } => {
                if let Some(p) = self.peers.get_mut(peer).and_then(Option::as_mut) {
                    p.ended = Some(NetError::Closed {
                        party: PartyId(peer as u16),
                    });
                }
                None
            }
            Event::Failed { peer, error } => {
                if let Some(p) = self.peers.get_mut(peer).and_then(Option::as_mut) {
                    p.ended = Some(error.clone());
                }
                Some((peer, error))
            }
        }
    }

    /// The error for `to` after a failed write: the peer's own report if it has one.
    fn write_failure(&mut self, to: PartyId, e: NetError) -> NetError {
        while let Ok(ev) = self.events.try_recv() {
            let _ = self.file(ev);
        }
        match self.peers.get(to.index()).and_then(Option::as_ref) {
            Some(Peer {
                ended: Some(err @ NetError::Aborted { .. }),
                ..
            }) => err.clone(),
            _ => e,
        }
    }

    /// Ends the session cleanly: finishes every stream, waits (at most the timeout) until each
    /// peer acknowledged our data and finished its own, then closes the connections.
    pub fn close(self) {
        let wait = self.timeout;
        self.shutdown(CLOSE_DONE, b"done", wait);
    }

    /// After an abort: gives the abort notices a short time to be delivered, then closes
    /// every connection with the abort code.
    pub fn close_aborted(self) {
        let grace = self.timeout.min(Duration::from_secs(2));
        self.shutdown(CLOSE_ABORT, b"aborted", grace);
    }

    fn shutdown(mut self, code: u32, reason: &'static [u8], wait: Duration) {
        let deadline = Instant::now() + wait;
        let rt = self.rt.clone();
        let mut stops = Vec::new();
        for p in self.peers.iter_mut().flatten() {
            let _ = p.send.finish();
            // A peer that failed or whose connection is gone will never acknowledge.
            let gone = matches!(&p.ended, Some(e) if !matches!(e, NetError::Closed { .. }))
                || p.conn.close_reason().is_some();
            if !gone {
                stops.push(p.send.stopped());
            }
        }
        rt.block_on(async {
            for s in stops {
                let _ = tokio::time::timeout_at(deadline.into(), s).await;
            }
        });
        if code == CLOSE_DONE {
            // Wait until every peer finished sending (its job is over too).
            loop {
                if self.peers.iter().flatten().all(|p| p.ended.is_some()) {
                    break;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                match self.events.recv_timeout(left) {
                    Ok(ev) => {
                        let _ = self.file(ev);
                    }
                    Err(_) => break,
                }
            }
        }
        for p in self.peers.iter().flatten() {
            // Wakes a reader waiting for queue budget: it ends instead of outliving the session.
            p.budget.close();
            p.conn.close(VarInt::from_u32(code), reason);
        }
    }

    fn count_recv(&mut self, i: usize, len: u64) {
        self.stats.received(i, len);
    }
}

fn write_all(
    rt: &Runtime,
    send: &mut SendStream,
    parts: &[&[u8]],
    timeout: Duration,
    to: PartyId,
) -> Result<(), NetError> {
    // The timer must be created inside the runtime context, hence the outer async block.
    let r = rt.block_on(async {
        tokio::time::timeout(timeout, async {
            for part in parts {
                send.write_all(part).await?;
            }
            Ok::<(), quinn::WriteError>(())
        })
        .await
    });
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(NetError::Closed { party: to }),
        Err(_) => Err(NetError::Timeout { party: to }),
    }
}

impl Channel for QuicChannel {
    fn me(&self) -> PartyId {
        self.me
    }

    fn n_compute(&self) -> usize {
        self.n_compute
    }

    fn send(&mut self, to: PartyId, msg: Msg) -> Result<(), NetError> {
        let i = to.index();
        let seq = self.send_seq.get(i).copied().unwrap_or(0);
        let frame = Frame::new(self.session, seq, msg);
        let head = encode_header(&frame.header);
        let len = (HEADER_LEN + frame.msg.len()) as u64;
        let (timeout, rt) = (self.timeout, self.rt.clone());
        let peer = self.peer_mut(to)?;
        if let Some(e @ NetError::Aborted { .. }) = &peer.ended {
            return Err(e.clone());
        }
        if let Err(e) = write_all(
            &rt,
            &mut peer.send,
            &[&head, frame.msg.payload()],
            timeout,
            to,
        ) {
            return Err(self.write_failure(to, e));
        }
        if let Some(s) = self.send_seq.get_mut(i) {
            *s += 1;
        }
        self.stats.sent(i, len);
        self.log_frame(Direction::Send, to, seq, &frame);
        Ok(())
    }

    fn recv(&mut self, from: PartyId) -> Result<Msg, NetError> {
        let i = from.index();
        let peer = self.peer_mut(from)?;
        if let Some((msg, len)) = peer.pending.pop_front() {
            peer.budget.add_permits(len as usize);
            return Ok(self.consumed(i, msg, len));
        }
        if let Some(e) = &peer.ended {
            return Err(e.clone());
        }
        let mut deadline = Instant::now() + self.timeout;
        let mut grace_used = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ev = match self.events.recv_timeout(left) {
                Ok(ev) => ev,
                Err(RecvTimeoutError::Timeout) => {
                    // `from` is silent. If its connection is still alive it may itself be
                    // waiting on a party that just died: give the QUIC idle timeout (= our
                    // timeout) one more period to report that party before blaming `from`.
                    let alive = self
                        .peers
                        .get(i)
                        .and_then(Option::as_ref)
                        .is_some_and(|p| p.conn.close_reason().is_none());
                    if alive && !grace_used {
                        grace_used = true;
                        deadline = Instant::now() + self.timeout;
                        continue;
                    }
                    return Err(NetError::Timeout { party: from });
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(NetError::Closed { party: from });
                }
            };
            if let Some((_, error)) = self.file(ev) {
                // A failure anywhere ends the session: report the first culprit now.
                return Err(error);
            }
            let peer = self.peer_mut(from)?;
            if let Some((msg, len)) = peer.pending.pop_front() {
                peer.budget.add_permits(len as usize);
                return Ok(self.consumed(i, msg, len));
            }
            if let Some(e) = &peer.ended {
                return Err(e.clone());
            }
        }
    }

    fn stats(&self) -> Stats {
        self.stats.stats().clone()
    }
}

/// Reads exactly `buf.len()` bytes; `Ok(false)` on a clean end of stream before the first
/// byte.
async fn read_full(recv: &mut RecvStream, buf: &mut [u8], peer: PartyId) -> Result<bool, NetError> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = buf.get_mut(filled..).unwrap_or_default();
        match recv.read(rest).await {
            Ok(Some(n)) => filled += n,
            Ok(None) if filled == 0 => return Ok(false),
            Ok(None) => {
                return Err(NetError::Wire {
                    party: peer,
                    error: WireError::Truncated {
                        needed: buf.len(),
                        got: filled,
                    },
                });
            }
            // The peer closed the connection normally between frames: a clean end.
            Err(e) if filled == 0 && clean_close(&e) => return Ok(false),
            Err(e) => return Err(read_error(peer, e)),
        }
    }
    Ok(true)
}

fn read_error(peer: PartyId, e: ReadError) -> NetError {
    match e {
        ReadError::ConnectionLost(c) => connection_error(peer, c),
        _ => NetError::Closed { party: peer },
    }
}

/// Maps how a connection ended to the channel's error; `None` means a clean end.
pub(crate) fn connection_error(peer: PartyId, e: ConnectionError) -> NetError {
    match e {
        ConnectionError::TimedOut => NetError::Timeout { party: peer },
        ConnectionError::ApplicationClosed(c) if c.error_code == VarInt::from_u32(CLOSE_ABORT) => {
            NetError::Aborted {
                party: peer,
                reason: "closed the connection after aborting".into(),
            }
        }
        _ => NetError::Closed { party: peer },
    }
}

fn clean_close(e: &ReadError) -> bool {
    matches!(e, ReadError::ConnectionLost(ConnectionError::ApplicationClosed(c))
        if c.error_code == VarInt::from_u32(CLOSE_DONE))
}

async fn read_loop(
    peer: PartyId,
    mut recv: RecvStream,
    session: SessionId,
    limit: usize,
    budget: Arc<Semaphore>,
    tx: Sender<Event>,
) {
    let i = peer.index();
    let mut reader = FrameReader::new(session, limit);
    let fail = |error: NetError| Event::Failed { peer: i, error };
    let wire = |error: WireError| NetError::Wire { party: peer, error };
    let event = loop {
        let mut head = [0u8; HEADER_LEN];
        match read_full(&mut recv, &mut head, peer).await {
            Ok(true) => {}
            Ok(false) => break Event::Finished { peer: i },
            Err(e) => break fail(e),
        }
        // Limit, version, kind, session and sequence come from the header alone: nothing
        // allocated yet.
        let header = match reader.header(&head) {
            Ok(h) => h,
            Err(e) => break fail(wire(e)),
        };
        // Backpressure: wait until the protocol consumed enough queued frames. While we wait
        // we do not read the stream, so QUIC flow control stops the peer.
        let len = (HEADER_LEN as u64) + u64::from(header.payload_len);
        let Ok(permits) = budget
            .clone()
            .acquire_many_owned(u32::try_from(len).unwrap_or(u32::MAX))
            .await
        else {
            return;
        };
        permits.forget();
        let mut payload = vec![0u8; header.payload_len as usize];
        match recv.read_exact(&mut payload).await {
            Ok(()) => {}
            Err(quinn::ReadExactError::FinishedEarly(got)) => {
                break fail(wire(WireError::Truncated {
                    needed: payload.len(),
                    got,
                }));
            }
            Err(quinn::ReadExactError::ReadError(e)) if clean_close(&e) => {
                break Event::Finished { peer: i };
            }
            Err(quinn::ReadExactError::ReadError(e)) => break fail(read_error(peer, e)),
        }
        let msg = match reader.payload(header, payload) {
            Ok(Received::Msg(m)) => m,
            Ok(Received::Abort(reason)) => {
                break fail(NetError::Aborted {
                    party: peer,
                    reason,
                });
            }
            Err(e) => break fail(wire(e)),
        };
        if tx.send(Event::Frame { peer: i, msg, len }).is_err() {
            return;
        }
    };
    if matches!(event, Event::Failed { .. }) {
        let _ = recv.stop(VarInt::from_u32(CLOSE_BAD_FRAME));
    }
    let _ = tx.send(event);
}
