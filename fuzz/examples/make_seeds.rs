//! Writes the seed corpora under `fuzz/corpus-seed/<target>/` with the real encoder:
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --example make_seeds
//!
//! Re-run after a wire-format change and commit the result.

use std::path::PathBuf;

use arbitrary::{Arbitrary, Unstructured};
use igs_mpc_fuzz::{Input, OPS, Small, Tag, encode_input};
use mpc_core::wire::{Frame, Msg, SessionId};
use mpc_core::{Z64, Z128};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sid = SessionId(*b"igs-mpc-fuzzseed");
    let small = Small {
        step: 300,
        ok: true,
        seed: Some([1, 2, 3, 4]),
        tag: Tag::C { x: -5 },
        sizes: vec![1, 200, 65535],
        note: "hi".into(),
    };
    let msgs: Vec<(&str, Msg)> = vec![
        (
            "ring_z64",
            Msg::ring(&[Z64(1), Z64(u64::MAX), Z64(0x0123_4567_89ab_cdef)]),
        ),
        ("ring_z64_empty", Msg::ring::<Z64>(&[])),
        ("ring_z128", Msg::ring(&[Z128(2), Z128(u128::MAX)])),
        ("bits_9", Msg::bits(&[0b1_0000_0101], 9)),
        ("bits_64", Msg::bits(&[u64::MAX], 64)),
        ("bits_130", Msg::bits(&[u64::MAX, 0, 0b11], 130)),
        ("control_small", Msg::control(&small)?),
        (
            "control_small_b",
            Msg::control(&Small {
                step: 0,
                ok: false,
                seed: None,
                tag: Tag::B(u64::MAX),
                sizes: vec![],
                note: String::new(),
            })?,
        ),
        ("abort", Msg::abort("peer aborted")),
    ];
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus-seed");
    let frame_dir = root.join("wire_frame");
    let ops_dir = root.join("wire_msg_ops");
    std::fs::create_dir_all(&frame_dir)?;
    std::fs::create_dir_all(&ops_dir)?;
    // Every op once with n = "the header count", then a few fixed n.
    let mut ops: Vec<(u8, u16)> = (0..OPS).map(|c| (c, u16::MAX)).collect();
    ops.extend([(0, 3), (2, 9), (5, 16), (7, 8)]);
    for (i, (name, msg)) in msgs.into_iter().enumerate() {
        let bytes = Frame::new(sid, i as u64, msg).encode();
        let back = Frame::decode(&bytes, 1 << 16).map_err(|e| format!("{name}: {e}"))?;
        assert_eq!(back.encode(), bytes);
        std::fs::write(frame_dir.join(name), &bytes)?;

        let input = encode_input(&ops, &bytes);
        let parsed = Input::arbitrary_take_rest(Unstructured::new(&input))?;
        assert_eq!(parsed.ops.len(), ops.len(), "{name}: op layout");
        assert_eq!(parsed.frame, bytes.as_slice(), "{name}: frame layout");
        std::fs::write(ops_dir.join(name), &input)?;
    }
    println!("seeds written under {}", root.display());
    Ok(())
}
