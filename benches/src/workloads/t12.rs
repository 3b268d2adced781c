//! T12 (SECURITY-DESIGN): offline verification of a run's audit trail at scale.
//!
//! Four parties of `audit::plan::example_plan` (fixed test keys); P0 sends `size / 2` frames
//! to P1, which logs as many RECVs, so the transcripts hold `size` entries in all (plus the
//! END entries); every party signs its tree head, the run record is built and signed by all,
//! and `audit::verify` checks the whole bundle (signatures, chains, Merkle roots, the
//! pairwise SEND/RECV check, the run record). `wall_s` is the verification; the baseline is
//! writing the transcripts. Checks: the bundle verifies with every entry, and the same bundle
//! with one byte of P1's transcript flipped fails naming P1.

use std::collections::BTreeMap;
use std::time::Instant;

use audit::approval::SiteDataset;
use audit::plan::example_plan;
use audit::record::RunRecord;
use audit::{
    AuditBundle, CanonicalPlan, DisclosurePolicy, IdentityKey, QueryLedger, RunRecordBody,
    SiteContext, SitePolicy, TranscriptWriter,
};
use mpc_core::party::PartyId;
use mpc_core::transcript::{Direction, FrameEvent, TranscriptSink, message_hash_parts};
use mpc_core::wire::SessionId;

use super::{Params, Workload};
use crate::error::BenchError;
use crate::report::Report;

/// The registry entry.
pub const T12: Workload = Workload {
    name: "T12",
    summary: "offline audit verification of transcripts holding `size` entries (4 parties)",
    default_size: 1_000_000,
    smoke_size: 2_000,
    run,
};

fn fail(what: impl core::fmt::Display) -> BenchError {
    BenchError::BadParams(format!("T12: {what}"))
}

/// Runs T12 and checks it.
pub fn run(p: &Params) -> Result<Report, BenchError> {
    let entries = p.size.max(2) as u64;
    let keys: Vec<IdentityKey> = (0..4u8)
        .map(|i| IdentityKey::from_secret_bytes(&[i.wrapping_add(p.seed as u8) | 1; 32]))
        .collect();
    let key = |i: usize| keys.get(i).ok_or_else(|| fail("key"));
    let pins = [key(0)?, key(1)?, key(2)?, key(3)?].map(IdentityKey::verifying_key);
    let plan = CanonicalPlan::new(example_plan(&pins)).map_err(fail)?;
    let now = plan.plan().not_after - 1;
    let cohorts = BTreeMap::new();
    let mut approvals = Vec::new();
    for (i, party) in plan.plan().parties.iter().enumerate().take(3) {
        let site = party.name.clone();
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
            now,
            cohorts: &cohorts,
        };
        let mut ledger = QueryLedger::new(&site);
        approvals.push(audit::approve(&plan, &ctx, key(i)?, &mut ledger).map_err(fail)?);
    }
    let t0 = Instant::now();
    let mut w: Vec<TranscriptWriter> = (0..4)
        .map(|i| TranscriptWriter::new(&plan, PartyId(i)))
        .collect::<Result<_, _>>()
        .map_err(fail)?;
    let session = SessionId(plan.run_id().0);
    let payload = [0u8; 64];
    for seq in 0..entries / 2 {
        let head = seq.to_le_bytes();
        let h = message_hash_parts(session, PartyId(0), PartyId(1), seq, &[&head, &payload]);
        for (i, direction, peer) in [(0, Direction::Send, 1), (1, Direction::Recv, 0)] {
            if let Some(t) = w.get_mut(i) {
                t.record(FrameEvent {
                    direction,
                    peer: PartyId(peer),
                    seq,
                    len: 104,
                    msg_hash: h,
                });
            }
        }
    }
    for (i, x) in w.iter_mut().enumerate() {
        x.end(key(i)?).map_err(fail)?;
    }
    let transcripts: Vec<Vec<u8>> = w.iter().map(TranscriptWriter::to_bytes).collect();
    drop(w);
    let write_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let body = RunRecordBody::build(&plan, &approvals, &transcripts).map_err(fail)?;
    let build_s = t1.elapsed().as_secs_f64();
    let mut signatures = Vec::new();
    for i in 0..4u16 {
        signatures.push(body.sign(PartyId(i), key(usize::from(i))?));
    }
    let record = RunRecord { body, signatures };
    let mut bundle = AuditBundle {
        plan: plan.bytes().to_vec(),
        approvals: approvals.iter().map(audit::Approval::encode).collect(),
        transcripts,
        run_record: record.encode(),
    };
    let bytes: usize = bundle.transcripts.iter().map(Vec::len).sum();
    let t2 = Instant::now();
    let verified = audit::verify(&bundle);
    let verify_s = t2.elapsed().as_secs_f64();
    let n = verified
        .as_ref()
        .map_or(0, |v| v.entries.iter().map(Vec::len).sum::<usize>());
    // One flipped byte in the middle of P1's transcript.
    let tampered = bundle.transcripts.get_mut(1).is_some_and(|t| {
        let mid = t.len() / 2;
        t.get_mut(mid).map(|b| *b ^= 1).is_some()
    });
    let caught = tampered
        && audit::verify(&bundle)
            .err()
            .is_some_and(|f| f.party == Some(PartyId(1)));
    let mut r = Report {
        workload: "T12",
        parties: 4,
        size: p.size,
        wall_s: verify_s,
        wall_s_runs: vec![verify_s],
        baseline_s: write_s,
        baseline: "writing the same transcripts (TranscriptWriter, tree heads signed)",
        bytes_per_party: 0,
        bytes_each: Vec::new(),
        dealer_bytes: 0,
        request_bytes: 0,
        dealer_requests: 0,
        rounds: 0,
        rounds_each: Vec::new(),
        setup_rounds: 0,
        prep_rounds: 0,
        max_abs_error: 0.0,
        tolerance: 0.0,
        extra: Vec::new(),
        targets: Vec::new(),
        checks: Vec::new(),
    };
    r = r
        .with("entries", n as u64)
        .with("transcript_bytes", bytes as u64)
        .with("run_record_build_s", build_s)
        .with("verify_us_per_entry", verify_s * 1e6 / n.max(1) as f64)
        .check("bundle verifies", verified.is_ok() && n as u64 >= entries)
        .check("flipped byte caught naming P1", caught);
    Ok(r)
}
