//! Party daemons and the coordinator as separate OS processes on 127.0.0.1 (the built
//! `igs-mpc` binary) over the bundled data: a plan not approved at one site is refused naming
//! it; a site daemon SIGKILLed mid-run makes the coordinator and every other daemon abort the
//! session naming it and the phase, with no result file anywhere; a rerun after restarting it
//! succeeds with a new session id (SECURITY-DESIGN T1, T14, T16). Also runs
//! `examples/localhost-3site/run.sh`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::data_dir;

const BIN: &str = env!("CARGO_BIN_EXE_igs-mpc");
const TIMEOUT_MS: u64 = 2000;

struct Kids(Vec<(String, Child)>);

impl Drop for Kids {
    fn drop(&mut self) {
        for (_, c) in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Site names discovered from `<site>.pheno.tsv`.
fn sites() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(data_dir())
        .unwrap()
        .filter_map(|e| {
            e.unwrap()
                .file_name()
                .to_str()?
                .strip_suffix(".pheno.tsv")
                .map(String::from)
        })
        .collect();
    v.sort();
    assert!(v.len() >= 2);
    v
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ok_stdout(o: Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap().trim().to_owned()
}

struct Setup {
    dir: PathBuf,
    parties: Vec<String>,
}

impl Setup {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("igs-daemon-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("keys")).unwrap();
        let mut parties = sites();
        parties.push("helper".into());
        let mut consortium = String::new();
        for name in parties.iter().map(String::as_str).chain(["coord"]) {
            let fp = ok_stdout(run(&[
                "keygen",
                "--name",
                name,
                "--out",
                dir.join("keys").to_str().unwrap(),
            ]));
            let vk = std::fs::read_to_string(dir.join(format!("keys/{name}.ed25519"))).unwrap();
            let vk = vk.trim();
            if name == "coord" {
                consortium.push_str(&format!(
                    "[[party]]\nname = \"coord\"\nrole = \"coordinator\"\ncert_sha256 = \"{fp}\"\n\
                     ed25519 = \"{vk}\"\n\n"
                ));
                continue;
            }
            let port = UdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let role = if name == "helper" { "helper" } else { "site" };
            consortium.push_str(&format!(
                "[[party]]\nname = \"{name}\"\nrole = \"{role}\"\naddress = \"127.0.0.1:{port}\"\ncert_sha256 = \"{fp}\"\n\
                 ed25519 = \"{vk}\"\n\n"
            ));
            let dataset = if role == "site" {
                format!(
                    "[datasets.pheno]\npheno = \"{}\"\nduo = [\"GRU\"]\n",
                    data_dir().join(format!("{name}.pheno.tsv")).display()
                )
            } else {
                String::new()
            };
            std::fs::write(
                dir.join(format!("{name}.toml")),
                format!(
                    "name = \"{name}\"\nkey = \"keys/{name}.key\"\ncert = \"keys/{name}.crt\"\n\
                     consortium = \"consortium.toml\"\noutput_dir = \"out/{name}\"\n\
                     timeout_ms = {TIMEOUT_MS}\napprovals_file = \"approvals-{name}.toml\"\n\
                     {dataset}[disclosure]\n"
                ),
            )
            .unwrap();
        }
        std::fs::write(dir.join("consortium.toml"), consortium).unwrap();
        Self { dir, parties }
    }

    fn path(&self, p: &str) -> String {
        self.dir.join(p).to_str().unwrap().to_owned()
    }

    fn plan(&self, file: &str, repeat: u32) -> String {
        // Each site's public cohort size: its complete rows of the columns.
        let n: Vec<String> = sites()
            .iter()
            .map(|s| {
                let path = data_dir().join(format!("{s}.pheno.tsv"));
                let t = parties::cli::demo::site_table(&path, &["age", "bmi", "qt"]).unwrap();
                format!("{s}={}", t.rows)
            })
            .collect();
        ok_stdout(run(&[
            "plan",
            "--consortium",
            &self.path("consortium.toml"),
            "--dataset",
            "pheno",
            "--columns",
            "age,bmi,qt",
            "--n",
            &n.join(","),
            "--duo",
            "GRU",
            "--repeat",
            &repeat.to_string(),
            "--out",
            &self.path(file),
        ]))
    }

    fn approve(&self, file: &str, party: &str) {
        ok_stdout(run(&[
            "approve",
            &self.path(file),
            "--config",
            &self.path(&format!("{party}.toml")),
        ]));
    }

    fn start(&self, party: &str) -> Child {
        let log = std::fs::File::create(self.dir.join(format!("{party}.log"))).unwrap();
        Command::new(BIN)
            .args(["party", "--config", &self.path(&format!("{party}.toml"))])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    fn log(&self, party: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{party}.log"))).unwrap_or_default()
    }

    fn run_plan(&self, file: &str) -> Child {
        Command::new(BIN)
            .arg("run-plan")
            .arg(self.path(file))
            .args(["--consortium", &self.path("consortium.toml")])
            .args(["--name", "coord"])
            .args(["--key", &self.path("keys/coord.key")])
            .args(["--cert", &self.path("keys/coord.crt")])
            .args(["--out", &self.path("out/coord")])
            .args(["--timeout-ms", &TIMEOUT_MS.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Every file under out/ (results and leftovers), except the audit trails in
    /// out/*/transcripts/.
    fn outputs(&self) -> Vec<PathBuf> {
        let mut v = Vec::new();
        let Ok(rd) = std::fs::read_dir(self.dir.join("out")) else {
            return v;
        };
        for d in rd {
            for f in std::fs::read_dir(d.unwrap().path()).unwrap() {
                let p = f.unwrap().path();
                if p.file_name().is_some_and(|n| n != "transcripts") {
                    v.push(p);
                }
            }
        }
        v
    }

    /// The coordinator's audit directory of the only run it completed.
    fn trail(&self) -> PathBuf {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.join("out/coord/transcripts"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("run-record.bin").exists())
            .collect();
        assert_eq!(v.len(), 1, "{v:?}");
        v.pop().unwrap()
    }
}

fn wait(mut c: Child, limit: Duration) -> Output {
    let t0 = Instant::now();
    while c.try_wait().unwrap().is_none() {
        assert!(t0.elapsed() < limit, "still running after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    c.wait_with_output().unwrap()
}

#[test]
fn unapproved_plan_is_refused_naming_the_site() {
    let s = Setup::new("refuse");
    s.plan("plan.toml", 1);
    let refuser = s.parties[1].clone();
    for p in &s.parties {
        if *p != refuser {
            s.approve("plan.toml", p);
        }
    }
    let _kids = Kids(s.parties.iter().map(|p| (p.clone(), s.start(p))).collect());
    let o = wait(s.run_plan("plan.toml"), Duration::from_secs(30));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains(&format!("{refuser} refused")) && err.contains("not approved"),
        "{err}"
    );
    assert!(s.outputs().is_empty(), "{:?}", s.outputs());
    assert!(s.log(&refuser).contains("REFUSED"));
    // Approving afterwards (while the daemon runs) lets the same plan run; its audit trail
    // (every site's signed approval, every transcript, the co-signed run record) verifies.
    s.approve("plan.toml", &refuser);
    let o = wait(s.run_plan("plan.toml"), Duration::from_secs(30));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = parties::audit_io::verify_dir(&s.trail()).unwrap();
    assert!(summary.aborted.is_empty(), "{summary}");
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[test]
fn sigkill_of_a_site_daemon_aborts_everywhere_then_a_rerun_succeeds() {
    let s = Setup::new("kill");
    s.plan("long.toml", 200_000);
    s.plan("short.toml", 1);
    for p in &s.parties {
        s.approve("long.toml", p);
        s.approve("short.toml", p);
    }
    let mut kids = Kids(s.parties.iter().map(|p| (p.clone(), s.start(p))).collect());
    let coord = s.run_plan("long.toml");
    // Wait until every daemon runs the session, then let it compute a little.
    let t0 = Instant::now();
    while !s.parties.iter().all(|p| s.log(p).contains("job running")) {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "session never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    let victim = s.parties[1].clone();
    let killed = Instant::now();
    kids.0[1].1.kill().unwrap(); // SIGKILL
    kids.0[1].1.wait().unwrap();
    let o = wait(coord, Duration::from_secs(30));
    let latency = killed.elapsed();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "the coordinator must fail");
    assert!(
        err.contains(&victim),
        "coordinator must name {victim}: {err}"
    );
    assert!(
        err.contains("phase compute"),
        "coordinator must name the phase: {err}"
    );
    // Within 2T (a silent but connected peer) plus slack.
    assert!(
        latency < Duration::from_millis(2 * TIMEOUT_MS + 3000),
        "abort took {latency:?}"
    );
    for p in &s.parties {
        if *p == victim {
            continue;
        }
        let log = s.log(p);
        assert!(log.contains("ABORTED"), "{p}: {log}");
        assert!(log.contains(&victim), "{p} must name {victim}: {log}");
    }
    assert!(s.outputs().is_empty(), "partial output: {:?}", s.outputs());
    eprintln!("abort latency after SIGKILL: {latency:?}");

    // Restart the victim; a rerun succeeds with a new session id.
    kids.0[1].1 = s.start(&victim);
    let o = wait(s.run_plan("short.toml"), Duration::from_secs(30));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let result = PathBuf::from(String::from_utf8(o.stdout).unwrap().trim());
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&result).unwrap()).unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data_dir().join("expected/expected.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(doc["n"], expected["counts"]["pooled"]["n"]);
    let qt = doc["mean"]["qt"].as_f64().unwrap();
    assert!((qt - expected["counts"]["pooled"]["qt_mean"].as_f64().unwrap()).abs() < 1e-9);
    // One result per site plus the coordinator's, nothing else (no temp files).
    let outs = s.outputs();
    assert_eq!(outs.len(), s.parties.len() - 1 + 1, "{outs:?}");
    assert!(
        outs.iter()
            .all(|p| p.extension().is_some_and(|e| e == "json"))
    );
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[test]
fn localhost_3site_run_sh_passes() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/localhost-3site/run.sh");
    let t0 = Instant::now();
    let o = Command::new("bash")
        .arg(&script)
        .env("IGS_MPC", BIN)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(t0.elapsed() < Duration::from_secs(60));
}
