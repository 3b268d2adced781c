//! The log of a whole simulated job (daemons, coordinator, sessions) and of a session with a
//! fixed test seed, captured through the binary's JSON subscriber at `debug`: well-formed,
//! informative (party names, phases, plan hash, byte counts), and free of secrets: no key
//! bytes (PEM lines or hex), no seed, no long hex string other than session ids, plan hashes
//! and certificate fingerprints, no sample id.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{col, data_dir, read_tsv};
use parties::audit_io::NoAudit;
use parties::config::Consortium;
use parties::job::simulate::{SimulateArgs, run};
use parties::logging::{LogFormat, subscriber};
use parties::net::NetOptions;
use parties::session::demo::{DEMO_COLUMNS, pooled_stats, synthetic_table};
use parties::session::{SessionRng, simulate};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn b64_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = A.iter().position(|a| *a == c).unwrap() as u32;
        bits = bits << 6 | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Maximal runs of ≥ 16 hex digits in `s`.
fn hex_runs(s: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut cur = String::new();
    for c in s.chars().chain([' ']) {
        if c.is_ascii_hexdigit() {
            cur.push(c.to_ascii_lowercase());
        } else {
            if cur.len() >= 16 {
                runs.push(cur.clone());
            }
            cur.clear();
        }
    }
    runs
}

#[test]
fn a_simulated_job_logs_no_secret() {
    let cap = Capture::default();
    let writer = cap.clone();
    tracing::subscriber::set_global_default(subscriber(
        tracing::Level::DEBUG,
        LogFormat::Json,
        move || writer.clone(),
    ))
    .unwrap();

    // 1. A whole job through daemons and coordinator (OS randomness).
    let out = std::env::temp_dir().join(format!("igs-log-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let report = run(&SimulateArgs {
        job: Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/pooled-stats.toml"),
        out: out.clone(),
        data_dir: None,
        timeout_ms: 10_000,
    })
    .unwrap();
    // 2. A session whose seed is known.
    let seed: u64 = 0x0123_4567_89ab_cdef;
    let opts = NetOptions {
        timeout: Duration::from_secs(10),
        ..NetOptions::default()
    };
    let r = simulate(3, &opts, SessionRng::InsecureSeed(seed), |ctx| {
        pooled_stats(
            ctx,
            &synthetic_table(ctx.me().index(), 50),
            DEMO_COLUMNS,
            1,
            &NoAudit,
        )
    })
    .unwrap();
    assert!(r.iter().all(Result::is_ok));

    let log = String::from_utf8(cap.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    eprintln!("{} log lines, {} bytes", lines.len(), log.len());
    // Informative: names, phases, the plan hash, byte counts.
    let messages: BTreeSet<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    for m in [
        "plan received",
        "phase compute",
        "session finished",
        "result written",
    ] {
        assert!(messages.iter().any(|x| x.starts_with(m)), "no `{m}` event");
    }
    let plan = &report.steps[0].plan_sha256;
    assert!(lines.iter().any(|l| l["plan"] == plan.as_str()));
    assert!(
        lines
            .iter()
            .any(|l| l["bytes_sent"].as_u64().is_some_and(|b| b > 0))
    );
    for s in &report.sites {
        assert!(lines.iter().any(|l| l["party"] == s.as_str()), "{s}");
    }

    // Public hex strings: session ids and plan hashes in their fields, certificate pins.
    let mut public: BTreeSet<String> = BTreeSet::new();
    for l in &lines {
        for f in ["session", "plan"] {
            if let Some(v) = l[f].as_str() {
                public.insert(v.to_owned());
            }
        }
    }
    let consortium = Consortium::load(&out.join("consortium.toml")).unwrap();
    for p in consortium.parties() {
        public.insert(p.cert_sha256.to_string());
    }
    for c in consortium.coordinators() {
        public.insert(c.cert_sha256.to_string());
    }
    for run in hex_runs(&log) {
        assert!(
            public.iter().any(|p| p.contains(&run)),
            "unexplained hex string in the log: {run}"
        );
    }
    // No seed.
    for s in [
        format!("{seed:x}"),
        format!("{seed:016x}"),
        seed.to_string(),
    ] {
        assert!(!log.contains(&s), "the seed is in the log");
    }
    // No key bytes: PEM body lines, the PKCS#8 bytes in hex, the raw Ed25519 key.
    let keys: Vec<PathBuf> = std::fs::read_dir(out.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "key"))
        .collect();
    assert!(keys.len() > report.sites.len());
    for k in keys {
        let pem = std::fs::read_to_string(&k).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        for l in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(
                !log.contains(l),
                "{}: a key line is in the log",
                k.display()
            );
        }
        let der = b64_decode(&body);
        assert!(der.len() >= 32);
        let secret = &der[der.len() - 32..];
        for needle in [hex(&der), hex(secret), format!("{:?}", &secret[..8])] {
            assert!(
                !log.contains(&needle),
                "{}: key bytes in the log",
                k.display()
            );
        }
    }
    // No sample ids.
    for s in &report.sites {
        let (h, rows) = read_tsv(&data_dir().join(format!("{s}.pheno.tsv")));
        let iid = col(&h, "IID");
        for r in rows.iter().take(50) {
            assert!(!log.contains(&r[iid]), "a sample id of {s} is in the log");
        }
    }
    let _ = std::fs::remove_dir_all(&out);
}
