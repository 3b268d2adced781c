//! `igs-mpc demo` end to end: the README's first command.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code"
)]

use std::process::Command;

#[test]
fn demo_runs_and_matches_the_known_answer() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/small");
    let out = Command::new(env!("CARGO_BIN_EXE_igs-mpc"))
        .args(["demo", "--data-dir", data])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // The known answer comes from the data set's expected.json (pooled n and qt mean).
    assert!(stdout.contains("known answer"), "{stdout}");
    assert!(stdout.contains("n = 2400 ok"), "{stdout}");
    assert!(stdout.contains("qt mean = 0.2472005917 ok"), "{stdout}");
}

#[test]
fn demo_names_a_missing_column() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/small");
    let out = Command::new(env!("CARGO_BIN_EXE_igs-mpc"))
        .args(["demo", "--data-dir", data, "--columns", "age,nosuch"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nosuch"), "{stderr}");
}
