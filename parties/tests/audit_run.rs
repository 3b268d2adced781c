//! The audit trail of a real run (issue 9, SECURITY-DESIGN T12–T15): the pooled-statistics job
//! over the bundled data, every site and the dealer over loopback QUIC, writes
//! `transcripts/` that `audit verify` accepts (library and binary); copies of that directory
//! with one byte flipped (every position of a transcript), entries deleted, duplicated,
//! reordered or truncated, another plan, or a signature by an unpinned key fail naming the
//! party, the sequence number and the rule. A job that asks to reveal an output outside the
//! plan is refused by every site, each transcript holds the REFUSE, and the session aborts;
//! those transcripts still verify (they are authentic; the refusal and the aborts are what
//! they show). An undeclared reveal refused at one site's gate reaches every party through
//! its abort notice. Crafted copies of the bundled data (a dominating value, a cell of 3) fail
//! the in-MPC disclosure checks: every party refuses with the rule, nothing is opened, and the
//! trail verifies and lists the refusal — in process and through the daemons of `simulate`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use audit::plan::DuoTerm;
use audit::transcript::{Record, SignedTreeHead, TAG_ENTRY, TAG_STH, parse, sth_message};
use audit::{AuditBundle, CanonicalPlan};
use parties::audit_io::{
    self, AuditedSimulation, PlanParty, PooledStatsSpec, RevealGate, pooled_stats_plan,
    read_bundle, simulate_audited, verify_dir, write_bundle,
};
use parties::cli::demo::{discover_sites, site_table};
use parties::net::NetOptions;
use parties::session::demo::{PooledStats, Table, pooled_stats};
use parties::session::{Outcome, SessionRng};
use protocols::error::ProtocolError;

mod common;
use common::data_dir;

const BIN: &str = env!("CARGO_BIN_EXE_igs-mpc");
const COLUMNS: [&str; 3] = ["age", "bmi", "qt"];

fn opts() -> NetOptions {
    NetOptions {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        ..NetOptions::default()
    }
}

fn tables() -> (Vec<String>, Vec<Table>) {
    let sites = discover_sites(&data_dir()).unwrap();
    let tables = sites
        .iter()
        .map(|(_, p)| site_table(p, &COLUMNS).unwrap())
        .collect();
    (sites.into_iter().map(|(n, _)| n).collect(), tables)
}

fn plan_for(
    tables: &[Table],
    run: u8,
) -> impl FnOnce(&[PlanParty]) -> Result<CanonicalPlan, String> + '_ {
    plan_with(tables, run, &COLUMNS)
}

fn plan_with<'a>(
    tables: &'a [Table],
    run: u8,
    columns: &'a [&'a str],
) -> impl FnOnce(&[PlanParty]) -> Result<CanonicalPlan, String> + 'a {
    move |parties| {
        pooled_stats_plan(&PooledStatsSpec {
            run_id: [run; 16],
            dataset: "pheno".into(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            repeat: 1,
            parties: parties.to_vec(),
            inputs: parties
                .iter()
                .zip(tables)
                .map(|(p, t)| (p.name.clone(), t.rows as u64, vec![DuoTerm::Gru]))
                .collect(),
            purpose: "audit test".into(),
            disease: None,
            k: 5,
            not_after: audit_io::now_ms() / 1000 + 3600,
            step_ms: 5000,
        })
    }
}

fn run_job<F>(run: u8, reveals: &[&str], job: F) -> AuditedSimulation<PooledStats>
where
    F: Fn(
            &mut protocols::Ctx<'_, protocols::prep::Dealer>,
            &dyn RevealGate,
        ) -> protocols::Result<PooledStats>
        + Sync,
{
    let (names, tables) = tables();
    simulate_audited(
        &names,
        &opts(),
        SessionRng::Os,
        plan_for(&tables, run),
        reveals,
        job,
    )
    .unwrap()
}

fn temp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("igs-audit-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to.join("certs")).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    for e in std::fs::read_dir(from.join("certs")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join("certs").join(e.file_name())).unwrap();
    }
}

fn transcript_file(dir: &Path, party: usize) -> PathBuf {
    let (_, files) = read_bundle(dir).unwrap();
    files.transcripts[party].clone().unwrap()
}

/// A transcript record: tag and body.
type Rec = (u8, Vec<u8>);

fn records(bytes: &[u8]) -> Vec<Rec> {
    parse(bytes)
        .unwrap()
        .into_iter()
        .map(|r| match r {
            Record::Entry(_, b) => (TAG_ENTRY, b),
            Record::Head(h) => (TAG_STH, h.encode()),
        })
        .collect()
}

fn serialize(recs: &[Rec]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, body) in recs {
        out.push(*tag);
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
    }
    out
}

/// Verifies `dir` and checks the failure names `file`, a party, the sequence number when
/// `seq` says so, and `rule`.
fn expect_fail(dir: &Path, file: &str, rule: &str, seq: bool) -> audit_io::DirFailure {
    let f = verify_dir(dir).expect_err("tampered directory must fail");
    assert_eq!(f.rule, rule, "{f}");
    assert!(
        f.file.file_name().unwrap().to_str().unwrap() == file,
        "{f} should name {file}"
    );
    assert!(f.party.is_some(), "{f} should name the party");
    if seq {
        assert!(f.seq.is_some(), "{f} should name the sequence number");
    }
    f
}

#[test]
fn simulated_job_verifies_and_every_tampering_fails() {
    let (_, tables) = tables();
    let outputs = [audit_io::OUTPUT_N, audit_io::OUTPUT_MOMENTS];
    let sim = run_job(1, &outputs, |ctx, gate| {
        let mine = tables
            .get(ctx.me().index())
            .ok_or(ProtocolError::Unreachable("site index"))?;
        pooled_stats(ctx, mine, COLUMNS.len(), 1, gate)
    });
    // The job's answer: pooled n and qt mean from data/small/expected/expected.json
    // (known answers from the generator, not from this code; |Δ| ≤ 1e-9 in fixed point).
    let exp: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data_dir().join("expected/expected.json")).unwrap(),
    )
    .unwrap();
    let pooled = &exp["counts"]["pooled"];
    let mut seen = 0;
    for r in &sim.results {
        if let Outcome::Party { value, .. } = r.as_ref().unwrap() {
            seen += 1;
            if Some(value.n) == pooled["n"].as_u64() {
                let qt = value.mean[2];
                assert!((qt - pooled["qt_mean"].as_f64().unwrap()).abs() <= 1e-9);
            }
        }
    }
    assert_eq!(seen, tables.len());
    assert!(sim.audit.record.is_some());

    let dir = temp("ok");
    write_bundle(&dir, &sim.audit).unwrap();
    let summary = verify_dir(&dir).unwrap();
    assert!(summary.aborted.is_empty() && summary.refusals.is_empty());
    // The in-MPC disclosure checks passed at every site, for both outputs, before any opening.
    for rule in ["DISC-CELLS", "DISC-DOMINANCE"] {
        assert_eq!(checks(&dir, rule), (2 * tables.len(), 0), "{rule}");
    }
    // Two outputs, each revealed by every site to every recipient (the sites).
    assert_eq!(summary.reveals, 2 * tables.len() * tables.len());
    // The binary agrees, and its report says PASS.
    let o = Command::new(BIN)
        .args(["audit", "verify"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("PASS"));
    let rep = temp("report");
    let o = Command::new(BIN)
        .args(["audit", "report"])
        .arg(&dir)
        .arg("--out")
        .arg(&rep)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(rep.join("report.html")).unwrap();
    assert!(html.contains("PASS") && html.contains(audit_io::OUTPUT_MOMENTS));
    assert!(
        std::fs::read_to_string(rep.join("report.md"))
            .unwrap()
            .contains("PASS")
    );

    // Every party checks every approval before it sends anything: one missing is refused.
    assert!(audit_io::check_all_approvals(&sim.audit.plan, &sim.audit.approvals[1..]).is_err());

    // 1. Every single byte of P1's transcript flipped (in memory, as the directory reads).
    let (bundle, _) = read_bundle(&dir).unwrap();
    let original = bundle.transcripts[1].clone();
    for pos in 0..original.len() {
        let mut b: AuditBundle = bundle.clone();
        b.transcripts[1][pos] ^= 0x01;
        let f = audit::verify(&b).expect_err("a flipped byte must fail");
        assert!(f.party.is_some(), "byte {pos}: {f}");
    }

    let t1 = transcript_file(&dir, 1);
    let t1_name = t1.file_name().unwrap().to_str().unwrap().to_owned();
    let recs = records(&original);
    let work = temp("tamper");

    // 2. One byte flipped in a file, through the binary: non-zero exit naming file, party,
    //    sequence number and rule.
    copy_dir(&dir, &work);
    let mut bytes = original.clone();
    bytes[original.len() / 2] ^= 0x80;
    std::fs::write(work.join(&t1_name), &bytes).unwrap();
    let f = expect_fail(&work, &t1_name, &verify_dir(&work).unwrap_err().rule, true);
    let o = Command::new(BIN)
        .args(["audit", "verify"])
        .arg(&work)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    for needle in [t1_name.as_str(), "party", "seq", &f.rule] {
        assert!(err.contains(needle), "{err} lacks {needle}");
    }

    // 3. Deleted, duplicated, reordered entries; truncated transcript.
    let k = 3;
    let cases: Vec<(&str, Vec<Rec>, &str)> = vec![
        ("delete", [&recs[..k], &recs[k + 1..]].concat(), "ENTRY-SEQ"),
        ("duplicate", [&recs[..=k], &recs[k..]].concat(), "ENTRY-SEQ"),
        (
            "reorder",
            {
                let mut r = recs.clone();
                r.swap(k, k + 1);
                r
            },
            "ENTRY-SEQ",
        ),
        ("truncate", recs[..recs.len() - 3].to_vec(), "NOT-CLOSED"),
    ];
    for (what, rs, rule) in cases {
        copy_dir(&dir, &work);
        std::fs::write(work.join(&t1_name), serialize(&rs)).unwrap();
        let f = expect_fail(&work, &t1_name, rule, true);
        eprintln!("{what}: {f}");
    }

    // 4. A plan that differs from the approved one (another cohort size at one site).
    copy_dir(&dir, &work);
    let mut p = sim.audit.plan.plan().clone();
    p.inputs[0].n += 1;
    let other = CanonicalPlan::new(p).unwrap();
    std::fs::write(work.join(audit_io::PLAN_FILE), other.bytes()).unwrap();
    let f = verify_dir(&work).unwrap_err();
    assert_eq!(f.rule, "APPROVAL-PLAN-MISMATCH", "{f}");
    assert!(f.party.is_some(), "{f}");

    // 5. P1's tree head re-signed by a key that is not pinned in the plan.
    copy_dir(&dir, &work);
    let rogue = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let mut rs = recs.clone();
    let (_, head) = rs.last_mut().unwrap();
    let mut sth = SignedTreeHead::decode(head).unwrap();
    let msg = sth_message(&sth.run_id, sth.size, &sth.root, &sth.plan_hash);
    use ed25519_dalek::Signer;
    let sig = rogue.sign(&msg).to_bytes();
    sth.signature.0[0].copy_from_slice(&sig[..32]);
    sth.signature.0[1].copy_from_slice(&sig[32..]);
    *head = sth.encode();
    std::fs::write(work.join(&t1_name), serialize(&rs)).unwrap();
    let f = expect_fail(&work, &t1_name, "STH-SIGNATURE", true);
    eprintln!("unpinned key: {f}");

    // 6. A certificate that is not the pinned one.
    copy_dir(&dir, &work);
    let certs = work.join("certs");
    let mut names: Vec<_> = std::fs::read_dir(&certs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    std::fs::copy(&names[0], &names[1]).unwrap();
    let f = verify_dir(&work).unwrap_err();
    assert_eq!(f.rule, "CERT-PIN", "{f}");

    for d in [dir, work, rep] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn reveal_outside_the_plan_is_refused_by_every_site() {
    let (_, tables) = tables();
    // The job would also reveal the per-site row counts, which the plan does not list: every
    // party refuses before connecting (no protocol message is sent).
    let outputs = [audit_io::OUTPUT_N, audit_io::OUTPUT_MOMENTS, "per-site-n"];
    let sim = run_job(2, &outputs, |ctx, gate| {
        gate.before_open("per-site-n")?;
        let mine = tables
            .get(ctx.me().index())
            .ok_or(ProtocolError::Unreachable("site index"))?;
        pooled_stats(ctx, mine, COLUMNS.len(), 1, gate)
    });
    for r in &sim.results {
        assert!(r.is_err(), "every party aborts");
    }
    let dir = temp("refused");
    write_bundle(&dir, &sim.audit).unwrap();
    // Decision: the transcripts of a refused run are authentic and verify (PASS); what they
    // show is the refusal at every site and the abort of every party.
    let s = verify_dir(&dir).unwrap();
    let refusing: Vec<&str> = s
        .refusals
        .iter()
        .filter(|(_, rule)| rule == "REVEAL-NOT-IN-PLAN")
        .map(|(p, _)| p.as_str())
        .collect();
    assert_eq!(refusing.len(), tables.len() + 1, "{s}");
    assert_eq!(s.aborted.len(), tables.len() + 1, "{s}");
    assert_eq!(s.reveals, 0);
    assert!(s.entries.iter().all(|(_, n)| *n == 2), "REFUSE, ABORT: {s}");

    // A job that asks for it without declaring it: the gate refuses at the opening itself
    // (the first site there logs REFUSE and aborts; the session aborts everywhere).
    let declared = [audit_io::OUTPUT_N, audit_io::OUTPUT_MOMENTS];
    let sim = run_job(3, &declared, |ctx, gate| {
        gate.before_open("per-site-n")?;
        let mine = tables
            .get(ctx.me().index())
            .ok_or(ProtocolError::Unreachable("site index"))?;
        pooled_stats(ctx, mine, COLUMNS.len(), 1, gate)
    });
    assert!(sim.results.iter().all(Result::is_err));
    write_bundle(&dir, &sim.audit).unwrap();
    let s = verify_dir(&dir).unwrap();
    // The refusing site's abort notice carries the rule: every party (sites and helper)
    // logs REFUSE with it.
    let refusing: Vec<&str> = s
        .refusals
        .iter()
        .filter(|(_, rule)| rule == "REVEAL-NOT-IN-PLAN")
        .map(|(p, _)| p.as_str())
        .collect();
    assert_eq!(refusing.len(), tables.len() + 1, "every party: {s}");
    assert_eq!(s.aborted.len(), tables.len() + 1, "{s}");
    assert_eq!(s.reveals, 0);
    let _ = std::fs::remove_dir_all(dir);
}

/// A copy of the bundled phenotype files in a temp dir, `edit` applied to the first site's
/// rows (in the discovered order; no site name is assumed).
fn crafted_dir(tag: &str, edit: impl Fn(&[String], &mut Vec<Vec<String>>)) -> PathBuf {
    let dir = temp(tag);
    std::fs::create_dir_all(&dir).unwrap();
    let sites = discover_sites(&data_dir()).unwrap();
    for (i, (_, path)) in sites.iter().enumerate() {
        let (header, mut rows) = common::read_tsv(path);
        if i == 0 {
            edit(&header, &mut rows);
        }
        let mut text = header.join("\t") + "\n";
        for r in rows {
            text += &(r.join("\t") + "\n");
        }
        std::fs::write(dir.join(path.file_name().unwrap()), text).unwrap();
        // The genotype fileset too, so `sites = "auto"` finds the site.
        let stem = path.file_name().unwrap().to_str().unwrap();
        let site = stem.strip_suffix(".pheno.tsv").unwrap();
        for ext in ["bed", "bim", "fam"] {
            let f = format!("{site}.{ext}");
            std::fs::copy(data_dir().join(&f), dir.join(&f)).unwrap();
        }
    }
    dir
}

/// Runs the pooled-statistics job over `dir`'s sites and returns the verified summary of its
/// trail (and the directory with the trail).
fn refused_run(dir: &Path, columns: &[&str], run: u8) -> (audit_io::DirSummary, PathBuf, usize) {
    let sites = discover_sites(dir).unwrap();
    let names: Vec<String> = sites.iter().map(|(n, _)| n.clone()).collect();
    let tables: Vec<Table> = sites
        .iter()
        .map(|(_, p)| site_table(p, columns).unwrap())
        .collect();
    let outputs = [audit_io::OUTPUT_N, audit_io::OUTPUT_MOMENTS];
    let sim = simulate_audited(
        &names,
        &opts(),
        SessionRng::Os,
        plan_with(&tables, run, columns),
        &outputs,
        |ctx, gate| {
            let mine = tables
                .get(ctx.me().index())
                .ok_or(ProtocolError::Unreachable("site index"))?;
            pooled_stats(ctx, mine, columns.len(), 1, gate)
        },
    )
    .unwrap();
    assert!(sim.results.iter().all(Result::is_err), "every party stops");
    assert!(
        sim.audit.record.is_some(),
        "the run record is still co-signed"
    );
    let trail = dir.join("trail");
    write_bundle(&trail, &sim.audit).unwrap();
    (verify_dir(&trail).unwrap(), trail, names.len() + 1)
}

/// (passed, failed) CHECK entries of `rule` in a verified trail.
fn checks(trail: &Path, rule: &str) -> (usize, usize) {
    use audit::transcript::Body;
    let (bundle, _) = read_bundle(trail).unwrap();
    let v = audit::verify(&bundle).unwrap();
    let mut n = (0, 0);
    for e in v.entries.iter().flatten() {
        if let Body::Check {
            rule: r, passed, ..
        } = &e.body
            && r == rule
        {
            if *passed {
                n.0 += 1;
            } else {
                n.1 += 1;
            }
        }
    }
    n
}

/// The opened bit was 0: no passing CHECK of `rule`; a failed CHECK for both outputs at the
/// site that refused first and at most at every site (a site whose peer closed the session
/// before the last share of the bit arrived learns the refusal from the abort notice).
fn assert_failed_checks(trail: &Path, rule: &str, parties: usize) {
    let (passed, failed) = checks(trail, rule);
    assert_eq!(passed, 0, "{rule}");
    assert!(
        failed >= 2 && failed <= 2 * (parties - 1) && failed % 2 == 0,
        "{rule}: {failed}"
    );
}

/// Every party of the trail refused under `rule`, nothing was revealed, and the binary's
/// `audit verify` accepts the trail and lists the refusals.
fn assert_refused_everywhere(s: &audit_io::DirSummary, trail: &Path, rule: &str, parties: usize) {
    let refusing: Vec<&str> = s
        .refusals
        .iter()
        .filter(|(_, r)| r == rule)
        .map(|(p, _)| p.as_str())
        .collect();
    assert_eq!(
        refusing.len(),
        parties,
        "every party refuses under {rule}: {s}"
    );
    assert_eq!(s.aborted.len(), parties, "{s}");
    assert_eq!(s.reveals, 0, "no output is opened: {s}");
    let o = Command::new(BIN)
        .args(["audit", "verify"])
        .arg(trail)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("PASS") && out.contains(rule), "{out}");
}

#[test]
fn dominated_column_is_refused_by_every_party() {
    // One individual's bmi at the first site dominates the pooled Σ |bmi| and Σ bmi².
    let dir = crafted_dir("dominance", |h, rows| {
        let c = common::col(h, "bmi");
        rows[0][c] = "10000000".into();
    });
    let (s, trail, parties) = refused_run(&dir, &COLUMNS, 4);
    assert_refused_everywhere(&s, &trail, "DISC-DOMINANCE", parties);
    assert_failed_checks(&trail, "DISC-DOMINANCE", parties);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn small_cell_is_refused_by_every_party() {
    // The first site keeps only 3 cases (a cell of 3 < k = 5) of a 0/1 column.
    let dir = crafted_dir("cells", |h, rows| {
        let c = common::col(h, "disease");
        let mut kept = 0;
        for r in rows.iter_mut() {
            if r[c] == "1" {
                if kept < 3 {
                    kept += 1;
                } else {
                    r[c] = "0".into();
                }
            }
        }
        assert_eq!(kept, 3);
    });
    let (s, trail, parties) = refused_run(&dir, &["age", "disease"], 5);
    assert_refused_everywhere(&s, &trail, "DISC-CELLS", parties);
    assert_failed_checks(&trail, "DISC-CELLS", parties);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn daemons_refuse_a_dominated_column_and_the_trail_verifies() {
    // The daemon path: `igs-mpc simulate` (every site's `Daemon`, the helper's and the
    // coordinator of `run-plan`) on crafted data where one bmi dominates.
    let dir = crafted_dir("daemon", |h, rows| {
        let c = common::col(h, "bmi");
        rows[0][c] = "10000000".into();
    });
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        "version = 1\nsites = \"auto\"\n[[step]]\nkind = \"pooled-stats\"\ncolumns = [\"age\", \"bmi\", \"qt\"]\n",
    )
    .unwrap();
    let out = dir.join("sim");
    let e = parties::job::simulate::run(&parties::job::simulate::SimulateArgs {
        job,
        out: out.clone(),
        data_dir: Some(dir.clone()),
        timeout_ms: 5_000,
    })
    .unwrap_err();
    assert!(e.contains("DISC-DOMINANCE"), "{e}");
    let sites = discover_sites(&dir).unwrap();
    // No result anywhere; the coordinator's co-signed trail and every party's copy verify and
    // list the refusal at every party (the sites and the helper).
    let runs: Vec<PathBuf> = std::fs::read_dir(out.join("results/transcripts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run_id = runs[0].file_name().unwrap().to_owned();
    let mut trails = vec![runs[0].clone()];
    for (site, _) in &sites {
        let party = out.join("parties").join(site).join("out");
        let results: Vec<_> = std::fs::read_dir(&party)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().ends_with(".json"))
            .collect();
        assert!(results.is_empty(), "{site} wrote {results:?}");
        trails.push(party.join("transcripts").join(&run_id));
    }
    for t in &trails {
        let s = verify_dir(t).unwrap();
        assert!(s.to_string().contains("DISC-DOMINANCE"), "{s}");
        assert_refused_everywhere(&s, t, "DISC-DOMINANCE", sites.len() + 1);
    }
    // Certificates as the handshakes presented them, checked offline against the plan's pins:
    // every party's and the coordinator's in the coordinator's trail, a site's own and the
    // coordinator's in the site's.
    let count = |t: &Path| std::fs::read_dir(t.join("certs")).unwrap().count();
    assert_eq!(count(&trails[0]), sites.len() + 2);
    for t in &trails[1..] {
        assert_eq!(count(t), 2, "{}", t.display());
    }
    let certs: Vec<PathBuf> = {
        let mut c: Vec<PathBuf> = std::fs::read_dir(trails[0].join("certs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        c.sort();
        c
    };
    std::fs::copy(&certs[0], &certs[1]).unwrap();
    assert_eq!(verify_dir(&trails[0]).unwrap_err().rule, "CERT-PIN");
    let _ = std::fs::remove_dir_all(dir);
}
