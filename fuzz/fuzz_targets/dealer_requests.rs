//! The dealer's request loop (`protocols::prep::serve_dealer`) fed arbitrary request frames
//! from the last computing party (peer input): every request, including the permute-and-
//! reshare `Shuffle` (arbitrary owner, rows, width, ring), is served or refused with an error
//! naming the party, never a panic. Requests whose declared size exceeds 2^12 elements are
//! left out (the dealer accepts up to 2^31 and the fuzzer would only measure allocation);
//! undecodable payloads are kept. Input: chunks of [len: u8][payload: len bytes].
#![no_main]

use std::collections::VecDeque;

use libfuzzer_sys::fuzz_target;
use mpc_core::channel::{Channel, NetError, Stats};
use mpc_core::party::PartyId;
use mpc_core::prg::Prg;
use mpc_core::wire::{Frame, FrameKind, Header, Msg, SessionId, WIRE_VERSION};
use protocols::prep::{PrepRequest, serve_dealer};

const MAX_ELEMENTS: u64 = 1 << 12;

fn control(bytes: &[u8]) -> Option<Msg> {
    let header = Header {
        version: WIRE_VERSION,
        session: SessionId::default(),
        seq: 0,
        kind: FrameKind::Control,
        count: 0,
        payload_len: u32::try_from(bytes.len()).ok()?,
    };
    Frame::from_parts(header, bytes.to_vec())
        .ok()
        .map(|f| f.msg)
}

/// The dealer's side of a 2-party session: requests come from P1, sends are dropped.
struct Chan {
    requests: VecDeque<Msg>,
}

impl Channel for Chan {
    fn me(&self) -> PartyId {
        PartyId(2)
    }
    fn n_compute(&self) -> usize {
        2
    }
    fn send(&mut self, _to: PartyId, _msg: Msg) -> Result<(), NetError> {
        Ok(())
    }
    fn recv(&mut self, _from: PartyId) -> Result<Msg, NetError> {
        match self.requests.pop_front() {
            Some(m) => Ok(m),
            None => {
                Msg::control(&PrepRequest::End).map_err(|_| NetError::Closed { party: PartyId(1) })
            }
        }
    }
    fn stats(&self) -> Stats {
        Stats::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let mut requests = VecDeque::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (chunk, next) = tail.split_at(len);
        rest = next;
        let Some(msg) = control(chunk) else { continue };
        if let Ok(req) = msg.clone().into_control::<PrepRequest>() {
            if req.size().is_none_or(|s| s > MAX_ELEMENTS) {
                continue;
            }
        }
        requests.push_back(msg);
    }
    let mut chan = Chan { requests };
    let _ = serve_dealer(&mut chan, &mut Prg::insecure_from_u64(0));
});
