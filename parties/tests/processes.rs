//! Parties as separate OS processes on 127.0.0.1 (the built `igs-mpc` binary): keygen, a
//! consortium file, a joint computation with 3 and with 5 sites (plus the helper) that equals
//! the in-memory run bit for bit (values and traffic), and a party killed with SIGKILL
//! mid-protocol (SECURITY-DESIGN T1).
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

use mpc_core::channel::Stats;
use parties::session::demo::{DEMO_COLUMNS, pooled_stats, synthetic_table};
use protocols::testing::run_with_dealer;

const BIN: &str = env!("CARGO_BIN_EXE_igs-mpc");
const NAMES: [&str; 4] = ["site-a", "site-b", "site-c", "helper"];

/// `n` site names (`site-a`, …) and the helper, in session order.
fn names(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("site-{}", char::from(b'a' + i as u8)))
        .chain(["helper".to_owned()])
        .collect()
}

/// Kills leftover children if a test fails.
struct Kids(Vec<Option<Child>>);

impl Drop for Kids {
    fn drop(&mut self) {
        for c in self.0.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn setup(tag: &str) -> PathBuf {
    setup_names(tag, &NAMES.map(String::from))
}

fn setup_names(tag: &str, names: &[String]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("igs-proc-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut toml = String::new();
    for name in names {
        let out = Command::new(BIN)
            .args(["keygen", "--name", name, "--out"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "keygen {name}");
        let fp = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert_eq!(fp.len(), 64);
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let role = if name == "helper" { "helper" } else { "site" };
        let name = name.as_str();
        toml.push_str(&format!(
            "[[party]]\nname = \"{name}\"\nrole = \"{role}\"\naddress = \"127.0.0.1:{port}\"\ncert_sha256 = \"{fp}\"\n\n"
        ));
    }
    std::fs::write(dir.join("consortium.toml"), toml).unwrap();
    dir
}

fn start(dir: &Path, name: &str, session: &str, extra: &[&str]) -> Child {
    Command::new(BIN)
        .arg("demo-party")
        .arg("--consortium")
        .arg(dir.join("consortium.toml"))
        .args(["--name", name, "--session", session])
        .arg("--key")
        .arg(dir.join(format!("{name}.key")))
        .arg("--cert")
        .arg(dir.join(format!("{name}.crt")))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_all(kids: &mut Kids, deadline: Duration) -> Vec<Option<(Output, Duration)>> {
    let t0 = Instant::now();
    let mut out: Vec<Option<(Output, Duration)>> = kids.0.iter().map(|_| None).collect();
    while t0.elapsed() < deadline
        && out
            .iter()
            .zip(&kids.0)
            .any(|(o, k)| o.is_none() && k.is_some())
    {
        for (slot, kid) in out.iter_mut().zip(kids.0.iter_mut()) {
            if slot.is_none()
                && let Some(c) = kid.as_mut()
                && c.try_wait().unwrap().is_some()
            {
                let c = kid.take().unwrap();
                *slot = Some((c.wait_with_output().unwrap(), t0.elapsed()));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    out
}

#[test]
fn three_sites_as_processes_agree() {
    let dir = setup("ok");
    let session = "00112233445566778899aabbccddeeff";
    let mut kids = Kids(
        NAMES
            .iter()
            .map(|n| Some(start(&dir, n, session, &["--timeout-ms", "5000"])))
            .collect(),
    );
    let outs = wait_all(&mut kids, Duration::from_secs(30));
    let mut results = Vec::new();
    for (name, o) in NAMES.iter().zip(outs) {
        let (o, _) = o.unwrap_or_else(|| panic!("{name} did not finish"));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{name}: {stderr}");
        results.push(String::from_utf8(o.stdout).unwrap());
    }
    let json: Vec<serde_json::Value> = results
        .iter()
        .map(|r| serde_json::from_str(r.trim()).unwrap())
        .collect();
    assert_eq!(json[0]["n"], 600);
    for j in &json[1..3] {
        assert_eq!(j["mean_bits"], json[0]["mean_bits"]);
        assert_eq!(j["cov_bits"], json[0]["cov_bits"]);
    }
    assert!(json[3]["dealer"]["requests"].as_u64().unwrap() > 0);
    let _ = std::fs::remove_dir_all(&dir);
}

fn bits(v: &serde_json::Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| u64::from_str_radix(h.as_str().unwrap(), 16).unwrap())
        .collect()
}

fn u64s(v: &serde_json::Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

fn assert_stats(who: &str, got: &serde_json::Value, want: &Stats) {
    assert_eq!(
        u64s(&got["bytes_sent"]),
        want.bytes_sent,
        "{who} bytes_sent"
    );
    assert_eq!(
        u64s(&got["bytes_received"]),
        want.bytes_received,
        "{who} bytes_received"
    );
    assert_eq!(got["frames_sent"], want.frames_sent, "{who} frames_sent");
    assert_eq!(got["rounds"], want.rounds, "{who} rounds");
    assert_eq!(got["prep_rounds"], want.prep_rounds, "{who} prep_rounds");
}

/// N sites + the helper as N + 1 processes with a fixed test seed: every revealed value (bit
/// pattern) and every traffic counter equals `protocols::testing::run_with_dealer(N, seed)`.
fn processes_match_memory(n: usize) {
    let names = names(n);
    let dir = setup_names(&format!("bits{n}"), &names);
    let seed: u64 = 0x5eed_1234_abcd;
    let rows = 150 + 10 * n;
    let seed_hex = format!("{seed:x}");
    let rows_s = rows.to_string();
    let session = format!("{:032x}", 0x1000 + n);
    let t0 = Instant::now();
    let mut kids = Kids(
        names
            .iter()
            .map(|name| {
                Some(start(
                    &dir,
                    name,
                    &session,
                    &[
                        "--timeout-ms",
                        "10000",
                        "--rows",
                        &rows_s,
                        "--insecure-test-seed",
                        &seed_hex,
                    ],
                ))
            })
            .collect(),
    );
    let outs = wait_all(&mut kids, Duration::from_secs(25));
    eprintln!("{n} sites + helper as processes: {:?}", t0.elapsed());
    let mem = run_with_dealer(n, seed, |ctx| {
        let t = synthetic_table(ctx.me().index(), rows);
        pooled_stats(ctx, &t, DEMO_COLUMNS, 1, &parties::audit_io::NoAudit)
    });
    for (i, (name, o)) in names.iter().zip(outs).enumerate() {
        let (o, _) = o.unwrap_or_else(|| panic!("{name} did not finish"));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{name}: {stderr}");
        assert!(stderr.contains("INSECURE"), "{name} did not warn: {stderr}");
        let j: serde_json::Value =
            serde_json::from_str(String::from_utf8(o.stdout).unwrap().trim()).unwrap();
        assert_eq!(j["party"], name.as_str());
        if i < n {
            let want = &mem.parties[i];
            assert_eq!(j["n"], want.value.n, "{name} n");
            let mean: Vec<u64> = want.value.mean.iter().map(|x| x.to_bits()).collect();
            let cov: Vec<u64> = want.value.cov.iter().map(|x| x.to_bits()).collect();
            assert_eq!(bits(&j["mean_bits"]), mean, "{name} mean bits");
            assert_eq!(bits(&j["cov_bits"]), cov, "{name} cov bits");
            assert_stats(name, &j["stats"], &want.stats);
        } else {
            let (served, stats) = mem.dealer.as_ref().unwrap();
            assert_eq!(j["dealer"]["requests"], served.requests, "dealer requests");
            assert_eq!(
                j["dealer"]["correction_bytes"], served.correction_bytes,
                "dealer correction bytes"
            );
            assert_stats(name, &j["stats"], stats);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn three_sites_as_processes_equal_the_in_memory_run_bit_for_bit() {
    processes_match_memory(3);
}

#[test]
fn five_sites_as_processes_equal_the_in_memory_run_bit_for_bit() {
    processes_match_memory(5);
}

#[test]
fn the_daemon_has_no_test_seed_option() {
    let out = Command::new(BIN)
        .args([
            "party",
            "--config",
            "/nonexistent/site.toml",
            "--insecure-test-seed",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--insecure-test-seed"), "{stderr}");
    assert!(stderr.contains("unexpected argument"), "{stderr}");
}

#[test]
fn sigkill_mid_protocol_makes_the_others_abort_naming_it() {
    let dir = setup("kill");
    let session = "ffeeddccbbaa99887766554433221100";
    let timeout_ms = 3000u64;
    let t = timeout_ms.to_string();
    let mut kids = Kids(
        NAMES
            .iter()
            .map(|n| {
                Some(start(
                    &dir,
                    n,
                    session,
                    &["--timeout-ms", &t, "--repeat", "1000000"],
                ))
            })
            .collect(),
    );
    // Let the parties connect and run for a while, then kill site-b.
    std::thread::sleep(Duration::from_millis(2500));
    for (i, k) in kids.0.iter_mut().enumerate() {
        assert!(
            k.as_mut().unwrap().try_wait().unwrap().is_none(),
            "{} ended before the kill",
            NAMES[i]
        );
    }
    let mut victim = kids.0[1].take().unwrap();
    victim.kill().unwrap(); // SIGKILL
    let _ = victim.wait();
    let outs = wait_all(&mut kids, Duration::from_millis(timeout_ms + 5000));
    for (i, o) in outs.iter().enumerate() {
        if i == 1 {
            continue;
        }
        let (o, after) = o
            .as_ref()
            .unwrap_or_else(|| panic!("{} still running", NAMES[i]));
        let stderr = String::from_utf8_lossy(&o.stderr);
        eprintln!("{} exited after {after:?}: {}", NAMES[i], stderr.trim());
        assert!(!o.status.success(), "{} exited 0", NAMES[i]);
        assert!(stderr.contains("site-b"), "{}: {stderr}", NAMES[i]);
        assert!(
            *after <= Duration::from_millis(timeout_ms + 1500),
            "{}",
            NAMES[i]
        );
        assert!(o.stdout.is_empty(), "{} printed a result", NAMES[i]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// When the victim is killed.
enum KillAt {
    /// When the victim logs a line containing this (its stderr, read as it comes), after the
    /// given extra delay.
    Log(&'static str, Duration),
    /// After this long.
    After(Duration),
}

/// N sites + helper as processes on a long job; SIGKILL `names[victim]` at `at`; every other
/// party exits non-zero within 2T + 1.5 s naming the victim and prints no result. Returns the
/// survivors' exit latencies after the kill and the phases they reported.
fn kill_scenario(tag: &str, n: usize, victim: usize, at: KillAt) -> Vec<(Duration, String)> {
    use std::io::BufRead;
    let names = names(n);
    let dir = setup_names(tag, &names);
    let session = format!("{:032x}", 0xdead_0000u64 + n as u64 * 16 + victim as u64);
    let timeout_ms = 3000u64;
    let t = timeout_ms.to_string();
    let mut kids = Kids(
        names
            .iter()
            .map(|name| {
                Some(start(
                    &dir,
                    name,
                    &session,
                    &["--timeout-ms", &t, "--repeat", "1000000"],
                ))
            })
            .collect(),
    );
    let mut v = kids.0[victim].take().unwrap();
    match at {
        KillAt::Log(marker, extra) => {
            let stderr = v.stderr.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if line.contains(marker) {
                        let _ = tx.send(());
                    }
                }
            });
            rx.recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("{} never logged `{marker}`", names[victim]));
            std::thread::sleep(extra);
        }
        KillAt::After(d) => std::thread::sleep(d),
    }
    v.kill().unwrap(); // SIGKILL
    let _ = v.wait();
    let victim_name = &names[victim];
    let outs = wait_all(&mut kids, Duration::from_millis(2 * timeout_ms + 5000));
    let mut seen = Vec::new();
    for (i, o) in outs.iter().enumerate() {
        if i == victim {
            continue;
        }
        let (o, after) = o
            .as_ref()
            .unwrap_or_else(|| panic!("{tag}: {} still running", names[i]));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{tag}: {} exited 0", names[i]);
        let err = stderr
            .lines()
            .find(|l| l.starts_with("igs-mpc: error:"))
            .unwrap_or_else(|| panic!("{tag}: {} printed no error: {stderr}", names[i]));
        assert!(
            err.contains(victim_name.as_str()),
            "{tag}: {} must name {victim_name}: {err}",
            names[i]
        );
        assert!(
            *after <= Duration::from_millis(2 * timeout_ms + 1500),
            "{tag}: {} took {after:?}",
            names[i]
        );
        assert!(o.stdout.is_empty(), "{tag}: {} printed a result", names[i]);
        let phase = err
            .split("phase ")
            .nth(1)
            .and_then(|p| p.split(':').next())
            .unwrap_or("?")
            .to_owned();
        seen.push((*after, phase));
    }
    let _ = std::fs::remove_dir_all(&dir);
    seen
}

/// SECURITY-DESIGN T1, more kill points: a site killed the moment it has connected (setup),
/// the helper killed mid-compute with 5 sites, and a site killed at a pseudo-random time of a
/// 5-site computation.
#[test]
fn sigkill_at_other_points_and_parties() {
    let mut report = Vec::new();
    let r = kill_scenario(
        "k-setup",
        3,
        0,
        KillAt::Log("connected; phase setup", Duration::ZERO),
    );
    report.push(("3 sites, site-a at setup", r));
    let r = kill_scenario("k-helper", 5, 5, KillAt::After(Duration::from_millis(1500)));
    report.push(("5 sites, helper mid-compute", r));
    // A pseudo-random time after the victim has connected (killing it before every peer has
    // connected is the connect timeout's case, 30 s, not this test's).
    let ms = u64::from(std::process::id()) % 1200;
    let r = kill_scenario(
        "k-rand",
        5,
        3,
        KillAt::Log("connected; phase setup", Duration::from_millis(ms)),
    );
    report.push(("5 sites, site-d at a pseudo-random time", r));
    for (what, r) in report {
        let lat: Vec<String> = r
            .iter()
            .map(|(d, p)| format!("{} ms ({p})", d.as_millis()))
            .collect();
        eprintln!("{what}: survivors exited after {}", lat.join(", "));
    }
}
