//! T12 at scale: verify time of a bundle whose transcripts hold 10^6 entries in all (P0 sends
//! 500,000 frames to P1, which logs 500,000 RECVs), plus the building of the run record.
//! Ignored by default (about half a minute); run with
//! `cargo test --release -p audit --test scale -- --ignored --nocapture`.
// Test helpers outside #[test] functions: clippy.toml's in-test allowances do not reach them.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Instant;

use audit::approval::SiteDataset;
use audit::plan::example_plan;
use audit::record::RunRecord;
use audit::{
    AuditBundle, CanonicalPlan, DisclosurePolicy, IdentityKey, QueryLedger, RunRecordBody,
    SiteContext, SitePolicy, TranscriptWriter, verify,
};
use mpc_core::PartyId;
use mpc_core::transcript::{Direction, FrameEvent, TranscriptSink, message_hash_parts};
use mpc_core::wire::SessionId;

const ENTRIES: u64 = 1_000_000;

#[test]
#[ignore = "T12 measurement: about half a minute"]
fn verify_a_million_entries() {
    let keys: Vec<IdentityKey> = (0..4u8)
        .map(|i| IdentityKey::from_secret_bytes(&[i + 1; 32]))
        .collect();
    let pins = [0, 1, 2, 3].map(|i| keys[i].verifying_key());
    let plan = CanonicalPlan::new(example_plan(&pins)).unwrap();
    let cohorts = BTreeMap::new();
    let approvals: Vec<_> = (0..3)
        .map(|i| {
            let site = plan.plan().parties[i].name.clone();
            let policy = SitePolicy {
                site: site.clone(),
                disclosure: DisclosurePolicy::default(),
                datasets: plan
                    .plan()
                    .inputs
                    .iter()
                    .filter(|x| x.site == site)
                    .map(|x| SiteDataset {
                        name: x.dataset.clone(),
                        duo: x.duo.clone(),
                    })
                    .collect(),
            };
            let ctx = SiteContext {
                policy: &policy,
                now: 1_800_000_000,
                cohorts: &cohorts,
            };
            audit::approve(&plan, &ctx, &keys[i], &mut QueryLedger::new(&site)).unwrap()
        })
        .collect();
    let t0 = Instant::now();
    let mut w: Vec<TranscriptWriter> = (0..4)
        .map(|i| TranscriptWriter::new(&plan, PartyId(i)).unwrap())
        .collect();
    let session = SessionId(plan.run_id().0);
    let payload = [0u8; 64];
    for seq in 0..ENTRIES / 2 {
        let head = seq.to_le_bytes();
        let h = message_hash_parts(session, PartyId(0), PartyId(1), seq, &[&head, &payload]);
        for (i, direction, peer) in [(0, Direction::Send, 1), (1, Direction::Recv, 0)] {
            w[i].record(FrameEvent {
                direction,
                peer: PartyId(peer),
                seq,
                len: 104,
                msg_hash: h,
            });
        }
    }
    for (i, x) in w.iter_mut().enumerate() {
        x.end(&keys[i]).unwrap();
    }
    let transcripts: Vec<Vec<u8>> = w.iter().map(TranscriptWriter::to_bytes).collect();
    let write_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let body = RunRecordBody::build(&plan, &approvals, &transcripts).unwrap();
    let build_s = t1.elapsed().as_secs_f64();
    let record = RunRecord {
        signatures: (0..4)
            .map(|i| body.sign(PartyId(i), &keys[i as usize]))
            .collect(),
        body,
    };
    let bundle = AuditBundle {
        plan: plan.bytes().to_vec(),
        approvals: approvals.iter().map(audit::Approval::encode).collect(),
        transcripts,
        run_record: record.encode(),
    };
    let bytes: usize = bundle.transcripts.iter().map(Vec::len).sum();
    let t2 = Instant::now();
    let v = verify(&bundle).unwrap();
    let verify_s = t2.elapsed().as_secs_f64();
    let n: usize = v.entries.iter().map(Vec::len).sum();
    assert!(n as u64 >= ENTRIES);
    eprintln!(
        "T12: {n} entries, {:.1} MB of transcripts: writing {write_s:.2} s, run record \
         {build_s:.2} s, verify {verify_s:.2} s ({:.2} µs/entry)",
        bytes as f64 / 1e6,
        verify_s * 1e6 / n as f64
    );
}
