//! A party that sends a malformed, oversized or replayed frame is named; nobody panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use mpc_core::channel::{Channel, NetError};
use mpc_core::party::PartyId;
use mpc_core::prg::Prg;
use mpc_core::ring::Z64;
use mpc_core::testing::{MemChannel, run};
use mpc_core::wire::{Frame, Msg, WireError};
use protocols::arith::{input, open};
use protocols::ctx::Ctx;
use protocols::prep::InsecureIdealPrep;
use protocols::{ProtocolError, Result};

#[derive(Clone, Copy)]
enum Fault {
    Garbage,
    Oversized,
    OutOfOrder,
    WrongLength,
}

fn run_fault(fault: Fault) -> Vec<Option<ProtocolError>> {
    let outs = run(3, 0, |ch: &mut MemChannel| {
        let me = ch.me();
        let mut prg = Prg::insecure_from_u64(u64::from(me.0));
        if me == PartyId(1) {
            // The faulty party: after setup, sends a bad frame instead of its share.
            // Pairwise seed setup of party 1: send to 2, receive from 0.
            let common = mpc_core::prg::Seed::from_bytes([1; 32]);
            let ctx = Ctx::new(ch, InsecureIdealPrep::new(me, 3, common), &mut prg);
            drop(ctx);
            for to in [PartyId(0), PartyId(2)] {
                let seq = ch.next_send_seq(to);
                let bytes = match fault {
                    Fault::Garbage => vec![0xff; 7],
                    Fault::Oversized => {
                        let mut f = Frame::new(ch.session(), seq, Msg::ring(&[Z64(0)])).encode();
                        f[36..40].copy_from_slice(&u32::MAX.to_le_bytes());
                        f
                    }
                    Fault::OutOfOrder => {
                        Frame::new(ch.session(), seq + 1, Msg::ring(&[Z64(0); 4])).encode()
                    }
                    Fault::WrongLength => {
                        Frame::new(ch.session(), seq, Msg::ring(&[Z64(0); 3])).encode()
                    }
                };
                // A peer that already learned of the fault (another party's abort) may be gone.
                let _ = ch.dangerous_send_raw(to, bytes);
            }
            // Stay connected until both honest parties have given up (each sends an abort or
            // its share), so that they see the bad frame rather than a closed connection.
            for from in [PartyId(0), PartyId(2)] {
                while ch.recv(from).is_ok() {}
            }
            return None;
        }
        let common = mpc_core::prg::Seed::from_bytes([1; 32]);
        let mut ctx = Ctx::new(ch, InsecureIdealPrep::new(me, 3, common), &mut prg).unwrap();
        let r: Result<Vec<Z64>> = (|| {
            let x = input(
                &mut ctx,
                PartyId(0),
                (me == PartyId(0)).then_some(&[Z64(1); 4][..]),
                4,
            )?;
            open(&mut ctx, &x)
        })();
        match r {
            Ok(_) => None,
            Err(e) => {
                ctx.abort(&e.to_string());
                Some(e)
            }
        }
    });
    outs.into_iter().map(|o| o.value).collect()
}

#[test]
fn faulty_party_is_named() {
    for fault in [
        Fault::Garbage,
        Fault::Oversized,
        Fault::OutOfOrder,
        Fault::WrongLength,
    ] {
        let errs = run_fault(fault);
        for (i, e) in errs.iter().enumerate() {
            if i == 1 {
                continue;
            }
            let e = e.as_ref().expect("honest party must fail");
            // Either P1's frame reached this party, or another honest party aborted first and
            // said that P1 was at fault.
            match e {
                ProtocolError::Net(NetError::Aborted { reason, .. }) => {
                    assert!(reason.starts_with("P1 "), "party {i}: {e}")
                }
                _ => assert_eq!(e.culprit(), Some(PartyId(1)), "party {i}: {e}"),
            }
            assert!(e.to_string().contains("P1"), "{e}");
            match fault {
                _ if i == 2 => {}
                Fault::Oversized => assert!(matches!(
                    e,
                    ProtocolError::Net(NetError::Wire {
                        error: WireError::TooLarge { .. },
                        ..
                    })
                )),
                Fault::OutOfOrder => assert!(matches!(
                    e,
                    ProtocolError::Net(NetError::Wire {
                        error: WireError::BadSequence { .. },
                        ..
                    })
                )),
                _ => {}
            }
        }
    }
}
