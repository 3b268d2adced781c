//! The plan and control-message decoders of `parties`: the first byte picks one of
//! canonical plan bytes (must re-encode to the input), plan TOML (must round-trip through
//! `to_toml` with the same hash), and the coordinator ↔ daemon control messages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpc_core::wire::{Frame, FrameKind, Header, SessionId, WIRE_VERSION};
use parties::daemon::{ToCoordinator, ToParty};
use parties::plan::Plan;

fn control(bytes: &[u8]) -> Option<mpc_core::wire::Msg> {
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

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(p) = Plan::from_canonical_bytes(rest) {
                assert_eq!(
                    p.to_canonical_bytes().unwrap(),
                    rest,
                    "non-canonical plan accepted"
                );
                let _ = p.plan_hash().unwrap();
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest)
                && let Ok(p) = Plan::from_toml(text)
            {
                let again = Plan::from_toml(&p.to_toml().unwrap()).unwrap();
                assert_eq!(again.plan_hash().unwrap(), p.plan_hash().unwrap());
            }
        }
        2 => {
            if let Some(m) = control(rest) {
                let _ = m.into_control::<ToParty>();
            }
        }
        _ => {
            if let Some(m) = control(rest) {
                let _ = m.into_control::<ToCoordinator>();
            }
        }
    }
});
