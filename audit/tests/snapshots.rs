//! Byte snapshots of every audit message type: a change here is a format change and needs a
//! FORMAT_VERSION bump. Long messages are pinned by length and SHA-256.
// Test helpers outside #[test] functions: clippy.toml's in-test allowances do not reach them.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

use audit::approval::LedgerEntry;
use audit::codec::hex;
use audit::plan::{RunId, example_plan};
use audit::record::{PairTraffic, RunRecord, RunRecordBody};
use audit::transcript::{Body, Entry, FrameRecord};
use audit::{CanonicalPlan, IdentityKey, QueryLedger, TranscriptWriter};
use mpc_core::PartyId;
use sha2::{Digest, Sha256};

fn digest(b: &[u8]) -> String {
    format!("{} {}", b.len(), hex(&Sha256::digest(b)))
}

fn plan() -> (CanonicalPlan, Vec<IdentityKey>) {
    let keys: Vec<IdentityKey> = (0..4u8)
        .map(|i| IdentityKey::from_secret_bytes(&[i + 1; 32]))
        .collect();
    let pins = [0, 1, 2, 3].map(|i| keys[i].verifying_key());
    (CanonicalPlan::new(example_plan(&pins)).unwrap(), keys)
}

#[test]
fn snapshots() {
    let (plan, keys) = plan();
    let got_plan = digest(plan.bytes());
    let entry = Entry {
        version: 1,
        run_id: RunId([7; 16]),
        party: 1,
        seq: 300,
        prev: [0xaa; 32],
        time_ms: 1_800_000_000_123,
        step: 1,
        body: Body::Send(FrameRecord {
            peer: 2,
            frame_seq: 5,
            len: 56,
            msg_hash: [0xbb; 32],
        }),
    };
    // version 01, run id, party 01, seq 300 = ac02, prev, time (zigzag varint), step 01,
    // Send = variant 01, peer 02, frame seq 05, len 38, msg_hash.
    let got_entry = hex(&entry.encode());
    let mut w = TranscriptWriter::new(&plan, PartyId(0)).unwrap();
    let sth = w.end(&keys[0]).unwrap();
    let got_sth = hex(&sth.encode());
    let cohorts = Default::default();
    let pol = audit::SitePolicy {
        site: "site-se".into(),
        disclosure: Default::default(),
        datasets: vec![audit::approval::SiteDataset {
            name: "site-se-biobank".into(),
            duo: vec![audit::plan::DuoTerm::Gru],
        }],
    };
    let mut ledger = QueryLedger::new("site-se");
    let ctx = audit::SiteContext {
        policy: &pol,
        now: 1_800_000_000,
        cohorts: &cohorts,
    };
    let approval = audit::approve(&plan, &ctx, &keys[0], &mut ledger).unwrap();
    let got_approval = hex(&approval.encode());
    let body = RunRecordBody {
        version: 1,
        run_id: plan.run_id(),
        plan_hash: plan.hash(),
        approvals: vec![approval],
        heads: vec![sth],
        pairs: vec![PairTraffic {
            from: 0,
            to: 1,
            frames: 3,
            bytes: 200,
            matched: true,
        }],
    };
    let signatures = vec![body.sign(PartyId(0), &keys[0])];
    let got_record = digest(&RunRecord { body, signatures }.encode());
    ledger.entries.push(LedgerEntry {
        members: Some(vec![[1; 32]]),
        ..ledger.entries[0].clone()
    });
    let got_ledger = digest(&ledger.encode());
    assert_eq!(
        got_plan,
        "1170 04f0fd4d77367bb338df1dfd8f928dd7bb96b6afc63fccb211aa3d9c71ccf432"
    );
    assert_eq!(
        got_entry,
        "010707070707070707070707070707070701ac02aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaf6c1e285e3680101020538bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    );
    assert_eq!(
        got_sth,
        "0107070707070707070707070707070707000139b8fe261e753268725723140d8f83bce60b062885aac4253ccc231d6a40ba16e486ff62cee57f7ac8c7b6ac055d4460f6d7bb3a1d419be6e64faaa060c046c456f1e78c04b728bfafd127bd2347d2caea63495a521e3414cd856bcab9fef11dc3c457c9a76aabb67b8864a38d2264bd8af6779c51a3f4d88097bb3cd2842705"
    );
    assert_eq!(
        got_approval,
        "010707070707070707070707070707070700e486ff62cee57f7ac8c7b6ac055d4460f6d7bb3a1d419be6e64faaa060c046c480c8ceb40d416c0e8f3fdf52b5d621950432d3d8a94a7ac1e7aff59e46089320d07065a36676ecc6f12ed5874a7d3ddde27afcd3c41d5bb89f95d05717289d3c475db22c04"
    );
    assert_eq!(
        got_record,
        "390 5fde96dd71d73cf7515e757108e3be678644b37117f5247b39c84cc42e4301d1"
    );
    assert_eq!(
        got_ledger,
        "231 4e5a45c4a8152f4e0e6b048d18d250bbd14ab3af6b25011bd45c0961bdd70c43"
    );
}
