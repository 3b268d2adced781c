//! Parties as separate OS processes on 127.0.0.1 (the built `igs-mpc` binary): keygen, a
//! consortium file, a joint computation, and a party killed with SIGKILL mid-protocol
//! (SECURITY-DESIGN T1, one kill point).
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

const BIN: &str = env!("CARGO_BIN_EXE_igs-mpc");
const NAMES: [&str; 4] = ["site-a", "site-b", "site-c", "helper"];

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
    let dir = std::env::temp_dir().join(format!("igs-proc-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut toml = String::new();
    for name in NAMES {
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
    assert!(results[0].starts_with("n = 600 "), "{}", results[0]);
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0], results[2]);
    assert_eq!(results[3].trim(), "dealer done");
    let _ = std::fs::remove_dir_all(&dir);
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
