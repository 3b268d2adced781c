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
    let mut stream = Vec::new();
    for (i, (name, msg)) in msgs.into_iter().enumerate() {
        let bytes = Frame::new(sid, i as u64, msg).encode();
        let back = Frame::decode(&bytes, 1 << 16).map_err(|e| format!("{name}: {e}"))?;
        assert_eq!(back.encode(), bytes);
        std::fs::write(frame_dir.join(name), &bytes)?;
        stream.extend_from_slice(&bytes);

        let input = encode_input(&ops, &bytes);
        let parsed = Input::arbitrary_take_rest(Unstructured::new(&input))?;
        assert_eq!(parsed.ops.len(), ops.len(), "{name}: op layout");
        assert_eq!(parsed.frame, bytes.as_slice(), "{name}: frame layout");
        std::fs::write(ops_dir.join(name), &input)?;
    }
    audit_seeds(&root)?;
    parties_seeds(&root, &stream)?;
    bcf_seeds(&root)?;
    agree_seeds(&root, sid)?;
    println!("seeds written under {}", root.display());
    Ok(())
}

/// Seeds for the audit decoders: a full example run of one party (plan, approval, transcript
/// with every entry kind, run record, ledger).
fn audit_seeds(root: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    use audit::approval::SiteDataset;
    use audit::plan::example_plan;
    use audit::record::{RunRecord, RunRecordBody};
    use audit::{
        CanonicalPlan, IdentityKey, QueryLedger, RevealRequest, RevealSalt, SiteContext,
        SitePolicy, TranscriptWriter,
    };
    use mpc_core::PartyId;
    use mpc_core::transcript::{Direction, FrameEvent, TranscriptSink};

    let keys: Vec<IdentityKey> = (1..=4u8)
        .map(|i| IdentityKey::from_secret_bytes(&[i; 32]))
        .collect();
    let pins =
        [0usize, 1, 2, 3].map(|i| keys.get(i).map(|k| k.verifying_key()).unwrap_or_default());
    let plan = CanonicalPlan::new(example_plan(&pins))?;
    let site = &plan.plan().parties[0];
    let policy = SitePolicy {
        site: site.name.clone(),
        disclosure: Default::default(),
        datasets: plan
            .plan()
            .inputs
            .iter()
            .filter(|i| i.site == site.name)
            .map(|i| SiteDataset {
                name: i.dataset.clone(),
                duo: i.duo.clone(),
            })
            .collect(),
    };
    let cohorts = Default::default();
    let ctx = SiteContext {
        policy: &policy,
        now: 1_800_000_000,
        cohorts: &cohorts,
    };
    let mut ledger = QueryLedger::new(&site.name);
    let approval = audit::approve(&plan, &ctx, &keys[0], &mut ledger)?;
    let mut w = TranscriptWriter::new(&plan, PartyId(0))?;
    w.set_time(1_800_000_000_000);
    let q = &plan.plan().parties[1];
    w.handshake(PartyId(1), q.cert_sha256, q.binary_sha256)?;
    for (d, seq) in [(Direction::Send, 0), (Direction::Recv, 0)] {
        w.record(FrameEvent {
            direction: d,
            peer: PartyId(1),
            seq,
            len: 56,
            msg_hash: [3; 32],
        });
    }
    w.set_step(1)?;
    w.check("auc", "DISC-K", true)?;
    let req = RevealRequest {
        output: "auc".into(),
        recipient: PartyId(0),
        n_per_site: vec![(PartyId(0), 120)],
    };
    w.reveal(&req, b"0.71", &RevealSalt::from_bytes([5; 32]))?;
    let off = RevealRequest {
        output: "nope".into(),
        ..req
    };
    let _ = w.reveal(&off, b"x", &RevealSalt::from_bytes([6; 32]));
    w.end(&keys[0])?;
    let body = RunRecordBody {
        version: 1,
        run_id: plan.run_id(),
        plan_hash: plan.hash(),
        approvals: vec![approval.clone()],
        heads: w.tree_head().into_iter().cloned().collect(),
        pairs: vec![],
    };
    let signatures = vec![body.sign(PartyId(0), &keys[0])];
    let record = RunRecord { body, signatures };
    for (target, bytes) in [
        ("audit_plan", plan.bytes().to_vec()),
        ("audit_approval", approval.encode()),
        ("audit_transcript", w.to_bytes()),
        ("audit_run_record", record.encode()),
        ("audit_ledger", ledger.encode()),
    ] {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("example"), bytes)?;
    }
    Ok(())
}

/// Seeds of the `parties` targets: a frame stream, plans, control messages, configs.
fn parties_seeds(root: &std::path::Path, stream: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    use parties::daemon::{ToCoordinator, ToParty};
    let write = |target: &str, name: &str, bytes: &[u8]| -> std::io::Result<()> {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)
    };
    write("frame_reader", "stream", stream)?;
    write(
        "frame_reader",
        "first_frame",
        stream.get(..60).unwrap_or(stream),
    )?;
    let consortium = format!(
        "[[party]]\nname = \"uk\"\nrole = \"site\"\naddress = \"127.0.0.1:7001\"\ncert_sha256 = \"{:064x}\"\ned25519 = \"{:064x}\"\njurisdiction = \"EEA\"\n\n\
         [[party]]\nname = \"fi\"\nrole = \"site\"\naddress = \"127.0.0.1:7002\"\ncert_sha256 = \"{:064x}\"\ned25519 = \"{:064x}\"\n\n\
         [[party]]\nname = \"helper\"\nrole = \"helper\"\naddress = \"[::1]:7003\"\ncert_sha256 = \"{:064x}\"\ned25519 = \"{:064x}\"\n\n\
         [[party]]\nname = \"coord\"\nrole = \"coordinator\"\ncert_sha256 = \"{:064x}\"\ned25519 = \"{:064x}\"\n",
        1, 11, 2, 12, 3, 13, 4, 14
    );
    let c = parties::config::Consortium::from_toml(&consortium)?;
    let plan = parties::plan::Plan::pooled_stats(
        &c,
        &parties::plan::PlanOptions {
            run_id: [5; 16],
            dataset: "pheno".into(),
            columns: vec!["age".into(), "qt".into()],
            repeat: 1,
            n: vec![("uk".into(), 800), ("fi".into(), 600)],
            duo: vec!["GRU".into(), "DS:MONDO:0005148".into()],
            purpose: "seed".into(),
            k: 5,
            not_after: 1_900_000_000,
            coordinators: vec!["coord".into()],
        },
    )?;
    let tag = |t: u8, b: &[u8]| [&[t][..], b].concat();
    write(
        "plan_decode",
        "canonical",
        &tag(0, &plan.to_canonical_bytes()?),
    )?;
    write("plan_decode", "toml", &tag(1, plan.to_toml()?.as_bytes()))?;
    let propose = Msg::control(&ToParty::Propose {
        plan: plan.to_canonical_bytes()?,
    })?;
    write("plan_decode", "propose", &tag(2, propose.payload()))?;
    write(
        "plan_decode",
        "go",
        &tag(
            2,
            Msg::control(&ToParty::Go {
                approvals: vec![vec![1; 119]],
            })?
            .payload(),
        ),
    )?;
    let refused = Msg::control(&ToCoordinator::Refused {
        reason: "not approved".into(),
    })?;
    write("plan_decode", "refused", &tag(3, refused.payload()))?;
    let done = Msg::control(&ToCoordinator::Done {
        result: Some(parties::daemon::JobResult {
            n: 10,
            mean: vec![1.0, 2.5],
            cov: vec![1.0, 0.5, 0.5, 2.0],
        }),
        transcript: vec![1, 2, 3],
    })?;
    write("plan_decode", "done", &tag(3, done.payload()))?;
    write(
        "config_decode",
        "consortium",
        &tag(0, consortium.as_bytes()),
    )?;
    let site = "name = \"uk\"\nkey = \"k.key\"\ncert = \"k.crt\"\nconsortium = \"c.toml\"\n\
                output_dir = \"out\"\ntimeout_ms = 3000\napproved_plans = []\n\
                [datasets.pheno]\npheno = \"uk.pheno.tsv\"\n[disclosure]\nk = 5\n";
    write("config_decode", "site", &tag(1, site.as_bytes()))?;
    let approvals = format!(
        "[[approval]]\nplan_sha256 = \"{}\"\napproved_at = 1\nsummary = \"x\"\n",
        plan.plan_hash()?
    );
    write("config_decode", "approvals", &tag(2, approvals.as_bytes()))?;
    Ok(())
}

/// Seeds of `bcf_record`: records encoded by noodles' BCF writer against
/// `igs_mpc_fuzz::BCF_FUZZ_HEADER` (the header bytes stripped: the target prepends them), and one
/// whole bgzipped BCF file.
fn bcf_seeds(root: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let records = "1\t10\trs1\tA\tG\t.\tPASS\t.\tGT\t0/0\t0|1\t1/1\n\
        1\t20\trs2\tC\tT,G\t.\t.\t.\tGT\t0/0\t0/1\t1/2\n\
        1\t30\trs3\tC\tT\t.\t.\t.\tGT:DS\t./.:.\t0/1:0.25\t1/1:2\n\
        2\t40\trs4\tG\t.\t.\t.\t.\tGT\t0/0\t0/0\t0/0\n\
        2\t50\t.\tT\tC\t.\t.\t.\tGT\t1\t./.\t0/.\n";
    let text = format!("{}{records}", igs_mpc_fuzz::BCF_FUZZ_HEADER);
    let encode = |w: &mut dyn noodles_vcf::variant::io::Write| -> std::io::Result<()> {
        let mut reader = noodles_vcf::io::Reader::new(text.as_bytes());
        let header = reader.read_header()?;
        w.write_variant_header(&header)?;
        for record in reader.records() {
            w.write_variant_record(&header, &record?)?;
        }
        Ok(())
    };
    let mut raw = Vec::new();
    encode(&mut noodles_bcf::io::Writer::from(&mut raw))?;
    // noodles re-serialises the header text; the dictionary order (PASS, GT, DS; contigs 1, 2)
    // is that of BCF_FUZZ_HEADER, so the records decode the same behind the fixed header.
    let l_text = raw
        .get(5..9)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
        .ok_or("short BCF")?;
    let body = raw.get(9 + l_text as usize..).ok_or("short BCF header")?;
    let mut bgzf = Vec::new();
    let mut w = noodles_bcf::io::Writer::new(&mut bgzf);
    encode(&mut w)?;
    w.try_finish()?;
    drop(w);
    // Both seeds must decode to the three biallelic records with an ALT allele.
    let framed = [igs_mpc_fuzz::bcf_fuzz_header().as_slice(), body].concat();
    for bytes in [framed, bgzf.clone()] {
        let site = parties::data::vcf::VcfSite::from_bytes("seed", bytes)?;
        assert_eq!(site.variants().len(), 3);
        assert_eq!(site.skipped().multi_allelic, 1);
    }
    let dir = root.join("bcf_record");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("records"), body)?;
    std::fs::write(dir.join("whole.bcf.gz"), &bgzf)?;
    std::fs::write(root.join("vcf_site").join("small.bcf.gz"), &bgzf)?;
    Ok(())
}

/// Seeds of `agree_kept_list`: a kept-variant list frame of two rows (one strand-flipped), and
/// an empty one.
fn agree_seeds(root: &std::path::Path, sid: SessionId) -> Result<(), Box<dyn std::error::Error>> {
    use parties::data::agree::{AGREE_VERSION, KeptList, KeptVariant};
    let list = KeptList {
        version: AGREE_VERSION,
        score_digest: [0x5a; 32],
        rows_in: 10,
        variants: vec![
            KeptVariant {
                row: 0,
                chrom: "1".into(),
                pos: 7495,
                effect_allele: "T".into(),
                other_allele: "C".into(),
                strand_flip: false,
            },
            KeptVariant {
                row: 7,
                chrom: "chr2".into(),
                pos: 1_000_000,
                effect_allele: "A".into(),
                other_allele: "GTT".into(),
                strand_flip: true,
            },
        ],
    };
    let empty = KeptList {
        variants: vec![],
        ..list.clone()
    };
    let dir = root.join("agree_kept_list");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("two_rows"), list.encode(sid)?)?;
    std::fs::write(dir.join("empty"), empty.encode(sid)?)?;
    Ok(())
}
