//! A simulated 3-site run (three sites and a dealer, frames hashed exactly as a channel does),
//! verified offline, then tampered with in every way of T12–T15: the verifier must FAIL naming
//! party, sequence number and rule.
// Test helpers outside #[test] functions: clippy.toml's in-test allowances do not reach them.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};

use audit::approval::{self, SiteDataset};
use audit::plan::{DuoTerm, OutputKind, Plan, Role, example_plan};
use audit::record::RunRecord;
use audit::transcript::{self, Body, Entry, SignedTreeHead};
use audit::verify::Rule;
use audit::{
    Approval, AuditBundle, CanonicalPlan, DisclosurePolicy, IdentityKey, QueryLedger, RefusalRule,
    RevealRequest, RevealSalt, RunRecordBody, SiteContext, SitePolicy, TranscriptWriter, verify,
};
use mpc_core::PartyId;
use mpc_core::transcript::{Direction, FrameEvent, TranscriptSink, message_hash};
use mpc_core::wire::{Frame, Msg, SessionId};

const NOW: i64 = 1_800_000_000;

fn keys() -> Vec<IdentityKey> {
    (0..4u8)
        .map(|i| IdentityKey::from_secret_bytes(&[i + 1; 32]))
        .collect()
}

fn pins(keys: &[IdentityKey]) -> [[u8; 32]; 4] {
    [0, 1, 2, 3].map(|i| keys[i].verifying_key())
}

fn policy(plan: &Plan, site: &str) -> SitePolicy {
    SitePolicy {
        site: site.into(),
        disclosure: DisclosurePolicy::default(),
        datasets: plan
            .inputs
            .iter()
            .filter(|i| i.site == site)
            .map(|i| SiteDataset {
                name: i.dataset.clone(),
                duo: i.duo.clone(),
            })
            .collect(),
    }
}

fn approve_all(plan: &CanonicalPlan, keys: &[IdentityKey]) -> Vec<Approval> {
    let cohorts = BTreeMap::new();
    (0..3)
        .map(|i| {
            let site = &plan.plan().parties[i].name;
            let pol = policy(plan.plan(), site);
            let ctx = SiteContext {
                policy: &pol,
                now: NOW + i as i64,
                cohorts: &cohorts,
            };
            let mut ledger = QueryLedger::new(site);
            audit::approve(plan, &ctx, &keys[i], &mut ledger).unwrap()
        })
        .collect()
}

struct Net {
    session: SessionId,
    seqs: BTreeMap<(u16, u16), u64>,
    /// Corrupt the receiver's view of the n-th frame from 0 to 1 (equivocation).
    equivocate_at: Option<usize>,
    sent_0_1: usize,
}

impl Net {
    fn send(&mut self, w: &mut [TranscriptWriter], from: u16, to: u16, payload: Vec<u8>) {
        let seq = self.seqs.entry((from, to)).or_insert(0);
        let frame = Frame::new(self.session, *seq, Msg::bytes(payload)).encode();
        let h = message_hash(self.session, PartyId(from), PartyId(to), *seq, &frame);
        let mut hr = h;
        if (from, to) == (0, 1) {
            if self.equivocate_at == Some(self.sent_0_1) {
                hr[0] ^= 1;
            }
            self.sent_0_1 += 1;
        }
        w[from as usize].record(FrameEvent {
            direction: Direction::Send,
            peer: PartyId(to),
            seq: *seq,
            len: frame.len(),
            msg_hash: h,
        });
        w[to as usize].record(FrameEvent {
            direction: Direction::Recv,
            peer: PartyId(from),
            seq: *seq,
            len: frame.len(),
            msg_hash: hr,
        });
        *seq += 1;
    }
}

/// Runs the simulated job; returns the bundle (with run record unless `equivocate_at`).
fn simulate(
    plan: &CanonicalPlan,
    keys: &[IdentityKey],
    equivocate_at: Option<usize>,
) -> AuditBundle {
    let approvals = approve_all(plan, keys);
    let mut w: Vec<TranscriptWriter> = (0..4)
        .map(|i| TranscriptWriter::new(plan, PartyId(i)).unwrap())
        .collect();
    let mut t = NOW * 1000 + 5_000;
    let mut tick = |w: &mut [TranscriptWriter], dt: i64| {
        t += dt;
        for x in w.iter_mut() {
            x.set_time(t);
        }
    };
    tick(&mut w, 0);
    for i in 0..4u16 {
        for j in 0..4u16 {
            if i != j {
                let q = &plan.plan().parties[j as usize];
                w[i as usize]
                    .handshake(PartyId(j), q.cert_sha256, q.binary_sha256)
                    .unwrap();
            }
        }
    }
    let mut net = Net {
        session: SessionId(plan.run_id().0),
        seqs: BTreeMap::new(),
        equivocate_at,
        sent_0_1: 0,
    };
    // Step 0: dealer request/correction, then one round among the sites.
    tick(&mut w, 40);
    net.send(&mut w, 2, 3, vec![1; 24]);
    net.send(&mut w, 3, 2, vec![2; 64]);
    for round in 0..2u8 {
        tick(&mut w, 15);
        for i in 0..3u16 {
            for j in 0..3u16 {
                if i != j {
                    net.send(&mut w, i, j, vec![round ^ i as u8; 40 + 8 * j as usize]);
                }
            }
        }
    }
    // Step 1: one more round, the disclosure checks, the reveals.
    tick(&mut w, 200);
    for x in w.iter_mut() {
        x.set_step(1).unwrap();
    }
    for i in 0..3u16 {
        for j in 0..3u16 {
            if i != j {
                net.send(&mut w, i, j, vec![7; 16]);
            }
        }
    }
    tick(&mut w, 10);
    let n_per_site = vec![(PartyId(0), 120), (PartyId(1), 80), (PartyId(2), 60)];
    for x in w.iter_mut().take(3) {
        x.check("auc", "DISC-K", true).unwrap();
        x.check("or-per-decile", "DISC-K", true).unwrap();
        for r in 0..3u16 {
            x.reveal(
                &RevealRequest {
                    output: "auc".into(),
                    recipient: PartyId(r),
                    n_per_site: n_per_site.clone(),
                },
                b"0.712",
                &RevealSalt::from_bytes([9; 32]),
            )
            .unwrap();
        }
        x.reveal(
            &RevealRequest {
                output: "or-per-decile".into(),
                recipient: PartyId(0),
                n_per_site: n_per_site.clone(),
            },
            &[1, 2, 3, 4],
            &RevealSalt::from_bytes([10; 32]),
        )
        .unwrap();
        // An off-plan request (T14): refused and logged.
        let r = x.reveal(
            &RevealRequest {
                output: "scores-per-person".into(),
                recipient: PartyId(1),
                n_per_site: n_per_site.clone(),
            },
            &[0; 8],
            &RevealSalt::from_bytes([11; 32]),
        );
        assert!(matches!(r, Err(transcript::TranscriptError::Refused(_))));
    }
    tick(&mut w, 5);
    let heads: Vec<SignedTreeHead> = w
        .iter_mut()
        .zip(keys)
        .map(|(x, k)| x.end(k).unwrap())
        .collect();
    assert_eq!(heads.len(), 4);
    let transcripts: Vec<Vec<u8>> = w.iter().map(|x| x.to_bytes()).collect();
    let run_record = match RunRecordBody::build(plan, &approvals, &transcripts) {
        Ok(body) => {
            let signatures = keys
                .iter()
                .enumerate()
                .map(|(i, k)| body.sign(PartyId(i as u16), k))
                .collect();
            RunRecord { body, signatures }.encode()
        }
        Err(_) => Vec::new(),
    };
    AuditBundle {
        plan: plan.bytes().to_vec(),
        approvals: approvals.iter().map(Approval::encode).collect(),
        transcripts,
        run_record,
    }
}

fn base() -> (CanonicalPlan, Vec<IdentityKey>, AuditBundle) {
    let keys = keys();
    let plan = CanonicalPlan::new(example_plan(&pins(&keys))).unwrap();
    let bundle = simulate(&plan, &keys, None);
    (plan, keys, bundle)
}

/// Raw records (tag, body) of a transcript file.
fn records(file: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut r = file;
    while !r.is_empty() {
        let len = u32::from_le_bytes(r[1..5].try_into().unwrap()) as usize;
        out.push((r[0], r[5..5 + len].to_vec()));
        r = &r[5 + len..];
    }
    out
}

fn join(recs: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (t, b) in recs {
        out.push(*t);
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(b);
    }
    out
}

fn expect_fail(b: &AuditBundle, party: u16, seq: Option<u64>, rule: Rule) {
    let f = verify(b).expect_err("tampering not detected");
    assert_eq!(
        (f.party, f.seq, f.rule),
        (Some(PartyId(party)), seq, rule),
        "{f}"
    );
}

#[test]
fn honest_run_passes() {
    let (plan, _, b) = base();
    let v = verify(&b).unwrap();
    assert_eq!(v.entries.len(), 4);
    // Every site logged 3 refused off-plan requests in total (one each) and 4 reveals.
    for es in &v.entries[..3] {
        assert_eq!(es.iter().filter(|e| e.kind() == "REVEAL").count(), 4);
        assert_eq!(es.iter().filter(|e| e.kind() == "REFUSE").count(), 1);
        assert!(matches!(es.last().unwrap().body, Body::End));
    }
    // The dealer only talked to the last site.
    let pairs = &v.record.body.pairs;
    assert!(pairs.iter().all(|p| p.matched));
    assert_eq!(
        pairs
            .iter()
            .filter(|p| p.frames > 0 && (p.from == 3 || p.to == 3))
            .count(),
        2
    );
    // Non-public values stay out of the transcript; the public one is there.
    for e in &v.entries[0] {
        if let Body::Reveal(r) = &e.body {
            assert_eq!(r.value.is_some(), plan.output(&r.output).unwrap().public);
        }
    }
}

#[test]
fn every_single_byte_flip_fails_naming_party_and_seq() {
    let (_, _, b) = base();
    for party in [0usize, 3] {
        let file = b.transcripts[party].clone();
        for pos in 0..file.len() {
            for mask in [0x01u8, 0x80] {
                let mut t = b.clone();
                t.transcripts[party][pos] ^= mask;
                let f = verify(&t).expect_err("flip not detected");
                assert_eq!(f.party, Some(PartyId(party as u16)), "pos {pos}: {f}");
                assert!(f.seq.is_some(), "pos {pos}: {f}");
            }
        }
    }
}

#[test]
fn delete_duplicate_reorder_truncate() {
    let (_, _, b) = base();
    let recs = records(&b.transcripts[1]);
    let n = recs.len() - 1; // entries (last record is the head)
    let with = |r: Vec<(u8, Vec<u8>)>| {
        let mut t = b.clone();
        t.transcripts[1] = join(&r);
        t
    };
    // Delete entry 5.
    let mut r = recs.clone();
    r.remove(5);
    expect_fail(&with(r), 1, Some(5), Rule::EntrySeq);
    // Duplicate entry 5.
    let mut r = recs.clone();
    r.insert(6, recs[5].clone());
    expect_fail(&with(r), 1, Some(6), Rule::EntrySeq);
    // Swap entries 7 and 8.
    let mut r = recs.clone();
    r.swap(7, 8);
    expect_fail(&with(r), 1, Some(7), Rule::EntrySeq);
    // Truncate: drop the head; drop the END and the head; keep a prefix only.
    expect_fail(
        &with(recs[..n].to_vec()),
        1,
        Some(n as u64),
        Rule::NotClosed,
    );
    expect_fail(
        &with(recs[..n - 1].to_vec()),
        1,
        Some(n as u64 - 1),
        Rule::NotClosed,
    );
    // Truncate and move the head (signed for n entries) after entry n−2.
    let mut r = recs[..n - 2].to_vec();
    r.push(recs[n - 1].clone()); // END
    r.push(recs[n].clone());
    expect_fail(&with(r), 1, Some(n as u64 - 2), Rule::EntrySeq);
    // Append after the head.
    let mut r = recs.clone();
    r.push(recs[3].clone());
    expect_fail(&with(r), 1, Some(n as u64), Rule::AfterClose);
    // Delete the last frame of a pair on both sides consistently? Each side's chain breaks.
}

#[test]
fn splice_from_another_run() {
    let keys = keys();
    let (_, _, b) = base();
    let mut p2 = example_plan(&pins(&keys));
    p2.run_id.0[0] ^= 0xff;
    let other = simulate(&CanonicalPlan::new(p2).unwrap(), &keys, None);
    let mut r = records(&b.transcripts[2]);
    let o = records(&other.transcripts[2]);
    r[9] = o[9].clone();
    let mut t = b.clone();
    t.transcripts[2] = join(&r);
    expect_fail(&t, 2, Some(9), Rule::EntryRunId);
    // A whole transcript from the other run.
    let mut t = b.clone();
    t.transcripts[2] = other.transcripts[2].clone();
    expect_fail(&t, 2, Some(0), Rule::EntryRunId);
}

#[test]
fn resigned_with_unpinned_key() {
    use ed25519_dalek::{Signer, SigningKey};
    let (plan, keys, b) = base();
    let rogue = SigningKey::from_bytes(&[0x66; 32]);
    // A forged tree head over a modified transcript (last entry's time changed, chain intact
    // because it is last), signed by a key not in the plan.
    let mut r = records(&b.transcripts[0]);
    let n = r.len() - 1;
    let mut last = Entry::decode(&r[n - 1].1).unwrap();
    last.time_ms += 1;
    r[n - 1].1 = last.encode();
    let leaves: Vec<_> = r[..n]
        .iter()
        .map(|(_, e)| audit::hash::leaf_hash(e))
        .collect();
    let root = audit::hash::merkle_root(&leaves);
    let mut head = SignedTreeHead::decode(&r[n].1).unwrap();
    head.root = root;
    let sig = rogue.sign(&transcript::sth_message(
        &head.run_id,
        head.size,
        &root,
        &plan.hash(),
    ));
    let sb = sig.to_bytes();
    head.signature =
        audit::keys::SigBytes([sb[..32].try_into().unwrap(), sb[32..].try_into().unwrap()]);
    r[n].1 = head.encode();
    let mut t = b.clone();
    t.transcripts[0] = join(&r);
    expect_fail(&t, 0, Some(n as u64), Rule::HeadSignature);
    // An approval re-signed by a rogue key.
    let mut a = Approval::decode(&b.approvals[1]).unwrap();
    let sig = rogue
        .sign(&approval::approval_message(&plan.hash()))
        .to_bytes();
    a.signature =
        audit::keys::SigBytes([sig[..32].try_into().unwrap(), sig[32..].try_into().unwrap()]);
    let mut t = b.clone();
    t.approvals[1] = a.encode();
    expect_fail(&t, 1, None, Rule::ApprovalSignature);
    // A run-record signature replaced by a rogue one.
    let mut rec = RunRecord::decode(&b.run_record).unwrap();
    let rogue_id = IdentityKey::from_secret_bytes(&[0x66; 32]);
    rec.signatures[2] = rec.body.sign(PartyId(2), &rogue_id);
    let mut t = b.clone();
    t.run_record = rec.encode();
    expect_fail(&t, 2, None, Rule::RunRecordSignature);
    // Writers refuse to sign with an unpinned key.
    let mut w = TranscriptWriter::new(&plan, PartyId(0)).unwrap();
    assert!(w.end(&rogue_id).is_err());
    assert!(w.end(&keys[0]).is_ok());
}

#[test]
fn plan_differing_from_the_approved_one() {
    let (plan, _, b) = base();
    let mut p = plan.plan().clone();
    p.outputs[1].recipients.push("site-fi".into());
    let mut t = b.clone();
    t.plan = CanonicalPlan::new(p).unwrap().bytes().to_vec();
    expect_fail(&t, 0, None, Rule::ApprovalPlanMismatch);
    // A non-canonical re-encoding of the same plan is refused outright.
    let mut t = b.clone();
    t.plan.insert(0, 0x81); // version 1 as the over-long varint 0x81 0x00
    t.plan[1] = 0x00;
    let f = verify(&t).unwrap_err();
    assert_eq!(f.rule, Rule::PlanDecode, "{f}");
}

#[test]
fn equivocation_fails_the_pairwise_check() {
    let keys = keys();
    let plan = CanonicalPlan::new(example_plan(&pins(&keys))).unwrap();
    let b = simulate(&plan, &keys, Some(1));
    assert!(
        b.run_record.is_empty(),
        "parties must not co-sign a mismatching run"
    );
    let f = verify(&b).unwrap_err();
    assert_eq!(
        (f.party, f.rule),
        (Some(PartyId(1)), Rule::PairMismatch),
        "{f}"
    );
    assert!(f.seq.is_some());
}

#[test]
fn run_record_must_match() {
    let (_, keys, b) = base();
    let mut rec = RunRecord::decode(&b.run_record).unwrap();
    rec.body.pairs[0].bytes += 1;
    rec.signatures = (0..4)
        .map(|i| rec.body.sign(PartyId(i as u16), &keys[i]))
        .collect();
    let mut t = b.clone();
    t.run_record = rec.encode();
    assert_eq!(verify(&t).unwrap_err().rule, Rule::RunRecordMismatch);
}

// ---- approval refusals (T19, T15, R3, R9) ----------------------------------------------------

fn refusal(plan: Plan, site: usize, ledger: &mut QueryLedger, now: i64) -> Option<RefusalRule> {
    let keys = keys();
    let cp = CanonicalPlan::new(plan).unwrap();
    let name = cp.plan().parties[site].name.clone();
    let pol = policy(cp.plan(), &name);
    let cohorts = BTreeMap::new();
    let ctx = SiteContext {
        policy: &pol,
        now,
        cohorts: &cohorts,
    };
    audit::approve(&cp, &ctx, &keys[site], ledger)
        .err()
        .map(|r| r.rule)
}

fn plan0() -> Plan {
    example_plan(&pins(&keys()))
}

#[test]
fn duo_refusals() {
    let l = &mut QueryLedger::new("x");
    // DS for another disease: site-fi (DS MONDO:0005148) refuses a breast-cancer study.
    let mut p = plan0();
    p.purpose.disease = Some("MONDO:0007254".into());
    assert_eq!(
        refusal(p.clone(), 1, l, NOW),
        Some(RefusalRule::DuoDiseaseSpecific)
    );
    assert_eq!(refusal(p, 0, l, NOW), None, "GRU allows it");
    // NPOA with an ancestry-stratified output: site-dk refuses, site-se (GRU) does not.
    let mut p = plan0();
    p.outputs[0].ancestry_stratified = true;
    assert_eq!(
        refusal(p.clone(), 2, l, NOW),
        Some(RefusalRule::DuoNoAncestry)
    );
    assert_eq!(refusal(p, 0, l, NOW), None);
    // Expired DUO time limit.
    let mut p = plan0();
    p.inputs[0]
        .duo
        .push(DuoTerm::TimeLimit { not_after: NOW - 1 });
    assert_eq!(refusal(p, 0, l, NOW), Some(RefusalRule::DuoTimeLimit));
    // The plan misstates a site's consent codes.
    let mut p = plan0();
    let fi = p.inputs.iter_mut().find(|i| i.site == "site-fi").unwrap();
    fi.duo = vec![DuoTerm::Gru];
    let keys = keys();
    let cp = CanonicalPlan::new(p).unwrap();
    let pol = policy(&plan0(), "site-fi");
    let cohorts = BTreeMap::new();
    let ctx = SiteContext {
        policy: &pol,
        now: NOW,
        cohorts: &cohorts,
    };
    assert_eq!(
        audit::approve(&cp, &ctx, &keys[1], l).unwrap_err().rule,
        RefusalRule::DuoPlanMismatch
    );
    // An expired plan.
    assert_eq!(
        refusal(plan0(), 0, l, 2_000_000_000),
        Some(RefusalRule::PlanExpired)
    );
}

#[test]
fn dominance_bound_laxer_than_the_site_is_refused() {
    use audit::approval::PARAM_DOMINANCE;
    use audit::plan::Value;
    let l = &mut QueryLedger::new("x");
    let with = |v: Value| {
        let mut p = plan0();
        p.analyses[0].params.insert(PARAM_DOMINANCE.into(), v);
        p
    };
    let site = DisclosurePolicy::default().dominance_permille;
    // At the site's bound or stricter: approved; laxer, or not a number: refused.
    assert_eq!(refusal(with(Value::Uint(u64::from(site))), 0, l, NOW), None);
    assert_eq!(refusal(with(Value::Uint(500)), 0, l, NOW), None);
    for bad in [Value::Uint(u64::from(site) + 1), Value::Text("900".into())] {
        assert_eq!(
            refusal(with(bad), 0, l, NOW),
            Some(RefusalRule::DisclosureDominance)
        );
    }
    for r in RefusalRule::ALL {
        assert_eq!(RefusalRule::from_id(r.id()), Some(r));
    }
}

#[test]
fn jurisdiction_refusals() {
    let l = &mut QueryLedger::new("x");
    // Dealer and site-dk in the UK: for site-se's data the dealer plus a computing party
    // other than the owner are outside the EEA.
    let mut p = plan0();
    p.parties[2].jurisdiction = "UK".into();
    p.parties[3].jurisdiction = "UK".into();
    assert_eq!(
        refusal(p.clone(), 0, l, NOW),
        Some(RefusalRule::JurisdictionDealer)
    );
    // For site-dk's own data both other sites are outside the UK.
    assert_eq!(
        refusal(p, 2, l, NOW),
        Some(RefusalRule::JurisdictionAllShares)
    );
    // The dealer alone abroad is allowed (it must not collude, and alone learns nothing).
    let mut p = plan0();
    p.parties[3].jurisdiction = "CH".into();
    assert_eq!(refusal(p, 0, l, NOW), None);
    // A helper receiving an output (R9).
    let mut p = plan0();
    p.outputs[0].recipients.push("helper".into());
    assert_eq!(refusal(p, 0, l, NOW), Some(RefusalRule::HelperOutput));
    assert_eq!(plan0().parties[3].role, Role::Helper);
}

#[test]
fn disclosure_and_budget_refusals() {
    let l = &mut QueryLedger::new("x");
    let mut p = plan0();
    p.outputs[0].k = 4;
    assert_eq!(refusal(p, 0, l, NOW), Some(RefusalRule::DisclosureK));
    // 25 parameters > 0.33 × 60 at site-dk; fine at site-se (120).
    let mut p = plan0();
    p.outputs[1].kind = OutputKind::Aggregate { parameters: 25 };
    assert_eq!(
        refusal(p.clone(), 2, l, NOW),
        Some(RefusalRule::DisclosureParameters)
    );
    assert_eq!(refusal(p, 0, l, NOW), None);
    // A step of many separate models (a GWAS) states each model's parameter count: the
    // rule applies per model. 6 ≤ 0.33 × 60 passes; a declared 25 is still refused.
    let mut p = plan0();
    p.outputs[1].kind = OutputKind::Aggregate { parameters: 25 };
    let step = p.outputs[1].step as usize;
    p.analyses[step].params.insert(
        audit::approval::PARAM_MODEL_PARAMETERS.into(),
        audit::plan::Value::Uint(6),
    );
    assert_eq!(refusal(p.clone(), 2, l, NOW), None);
    p.analyses[step].params.insert(
        audit::approval::PARAM_MODEL_PARAMETERS.into(),
        audit::plan::Value::Uint(25),
    );
    assert_eq!(
        refusal(p, 2, l, NOW),
        Some(RefusalRule::DisclosureParameters)
    );
    let mut p = plan0();
    p.inputs[0].n = 9;
    assert_eq!(refusal(p, 0, l, NOW), Some(RefusalRule::DisclosureSiteSize));
    let mut p = plan0();
    p.outputs[1].kind = OutputKind::PerIndividual {
        site: "site-fi".into(),
    };
    assert_eq!(
        refusal(p, 1, l, NOW),
        Some(RefusalRule::DisclosurePerIndividual)
    );

    // Differencing: a second run whose cohort differs by 2 people from the first.
    let keys = keys();
    let members: BTreeSet<[u8; 32]> = (0..120u8).map(|i| [i; 32]).collect();
    let cp1 = CanonicalPlan::new(plan0()).unwrap();
    let pol = policy(cp1.plan(), "site-se");
    let mut ledger = QueryLedger::new("site-se");
    let mut cohorts = BTreeMap::new();
    cohorts.insert("site-se-biobank".to_string(), members.clone());
    let ctx = SiteContext {
        policy: &pol,
        now: NOW,
        cohorts: &cohorts,
    };
    audit::approve(&cp1, &ctx, &keys[0], &mut ledger).unwrap();
    let bytes = ledger.encode();
    assert_eq!(QueryLedger::decode(&bytes).unwrap(), ledger);
    let mut p2 = plan0();
    p2.run_id.0[0] = 1;
    let se = p2.inputs.iter_mut().find(|i| i.site == "site-se").unwrap();
    se.cohort = "all but two".into();
    se.n = 118;
    let cp2 = CanonicalPlan::new(p2.clone()).unwrap();
    let mut smaller = members.clone();
    smaller.remove(&[0; 32]);
    smaller.remove(&[1; 32]);
    let mut cohorts2 = BTreeMap::new();
    cohorts2.insert("site-se-biobank".to_string(), smaller);
    let ctx2 = SiteContext {
        policy: &pol,
        now: NOW,
        cohorts: &cohorts2,
    };
    assert_eq!(
        audit::approve(&cp2, &ctx2, &keys[0], &mut ledger)
            .unwrap_err()
            .rule,
        RefusalRule::BudgetDifferencing
    );
    // Without member sets the size rule refuses too.
    let empty = BTreeMap::new();
    let ctx3 = SiteContext {
        policy: &pol,
        now: NOW,
        cohorts: &empty,
    };
    assert_eq!(
        audit::approve(&cp2, &ctx3, &keys[0], &mut ledger)
            .unwrap_err()
            .rule,
        RefusalRule::BudgetDifferencing
    );
    // A cohort differing by 10 people is fine.
    let se = p2.inputs.iter_mut().find(|i| i.site == "site-se").unwrap();
    se.n = 110;
    let cp4 = CanonicalPlan::new(p2).unwrap();
    let fewer: BTreeSet<[u8; 32]> = (10..120u8).map(|i| [i; 32]).collect();
    let mut cohorts4 = BTreeMap::new();
    cohorts4.insert("site-se-biobank".to_string(), fewer);
    let ctx4 = SiteContext {
        policy: &pol,
        now: NOW,
        cohorts: &cohorts4,
    };
    audit::approve(&cp4, &ctx4, &keys[0], &mut ledger).unwrap();
    assert_eq!(ledger.entries.len(), 2);
}

#[test]
fn reveal_refusals_are_logged() {
    let keys = keys();
    let plan = CanonicalPlan::new(plan0()).unwrap();
    let mut w = TranscriptWriter::new(&plan, PartyId(0)).unwrap();
    let salt = RevealSalt::from_bytes([1; 32]);
    let req = |o: &str, r: u16, n: u64| RevealRequest {
        output: o.into(),
        recipient: PartyId(r),
        n_per_site: vec![(PartyId(0), n)],
    };
    let rule = |e: transcript::TranscriptError| match e {
        transcript::TranscriptError::Refused(r) => r.rule,
        other => panic!("{other}"),
    };
    // Wrong step (auc is revealed at step 1), then unchecked, below k, wrong recipient.
    assert_eq!(
        rule(w.reveal(&req("auc", 1, 50), b"x", &salt).unwrap_err()),
        RefusalRule::RevealStep
    );
    w.set_step(1).unwrap();
    assert_eq!(
        rule(w.reveal(&req("auc", 1, 50), b"x", &salt).unwrap_err()),
        RefusalRule::RevealUnchecked
    );
    w.check("auc", "DISC-K", true).unwrap();
    assert_eq!(
        rule(w.reveal(&req("auc", 1, 4), b"x", &salt).unwrap_err()),
        RefusalRule::RevealBelowK
    );
    assert_eq!(
        rule(
            w.reveal(&req("or-per-decile", 1, 50), b"x", &salt)
                .unwrap_err()
        ),
        RefusalRule::RevealRecipient
    );
    // A failing check blocks the reveal.
    w.check("auc", "DISC-DOMINANCE", false).unwrap();
    assert_eq!(
        rule(w.reveal(&req("auc", 1, 50), b"x", &salt).unwrap_err()),
        RefusalRule::RevealUnchecked
    );
    w.abort(Some(PartyId(1)), "disclosure check failed", &keys[0])
        .unwrap();
    let recs = transcript::parse(&w.to_bytes()).unwrap();
    let refuses = recs
        .iter()
        .filter(|r| matches!(r, transcript::Record::Entry(e, _) if e.kind() == "REFUSE"))
        .count();
    assert_eq!(refuses, 5);
    assert_eq!(
        w.set_step(1),
        Err(transcript::TranscriptError::Closed).or(Ok(()))
    );
}

#[test]
fn report_renders() {
    let (_, _, b) = base();
    let r = audit::report::report(&b);
    assert!(r.pass);
    for needle in [
        "Parties and jurisdictions",
        "site-fi",
        "EEA",
        "Approvals",
        "Timeline of phases",
        "Bytes exchanged per pair",
        "Revealed outputs",
        "0.712",
        "not public (salted commitment)",
        "REVEAL-NOT-IN-PLAN",
        "semi-honest-dealer",
    ] {
        assert!(r.markdown.contains(needle), "markdown lacks {needle}");
        assert!(r.html.contains(needle), "html lacks {needle}");
    }
    assert!(!r.html.contains("<script"));
    assert!(!r.html.contains("http://") && !r.html.contains("https://"));
    let dir = std::env::temp_dir().join(format!("igs-audit-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("report.html"), &r.html).unwrap();
    std::fs::write(dir.join("report.md"), &r.markdown).unwrap();
    if let Ok(out) = std::env::var("IGS_AUDIT_REPORT_OUT") {
        std::fs::write(&out, &r.html).unwrap();
    }
    // A failing bundle says so first.
    let mut t = b.clone();
    t.transcripts[1][30] ^= 1;
    let r = audit::report::report(&t);
    assert!(!r.pass);
    assert!(r.markdown.contains("FAIL"));
}
