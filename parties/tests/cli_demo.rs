//! `igs-mpc demo` end to end: the README's first command. The demo runs the IGS pipeline on
//! the bundled data under a signed plan; its main numbers are checked against the data set's
//! `expected/expected.json` (data/small/README.md §4: models ≤ 1e-4 relative, pooled AUCs
//! ≤ 1e-6 absolute), and its audit trail must verify.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code"
)]

use std::process::Command;

#[test]
fn demo_runs_and_matches_the_known_answers() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/small");
    let out_dir = std::env::temp_dir().join(format!("igs-cli-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out_dir);
    let out = Command::new(env!("CARGO_BIN_EXE_igs-mpc"))
        .args(["--quiet", "demo", "--data-dir", data, "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("known answers"), "{stdout}");
    // OR/SD, HR/SD, R², pooled AUC of the PRS and of the IGS.
    assert_eq!(stdout.matches(") ok").count(), 5, "{stdout}");
    assert!(!stdout.contains("MISMATCH"), "{stdout}");
    assert!(stdout.contains("PASS: plan"), "{stdout}");
    for f in ["results.json", "report.html", "transcripts/plan.bin"] {
        assert!(out_dir.join(f).is_file(), "{f}");
    }
    // The trail verifies through the CLI too.
    let v = Command::new(env!("CARGO_BIN_EXE_igs-mpc"))
        .args(["--quiet", "audit", "verify"])
        .arg(out_dir.join("transcripts"))
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    std::fs::remove_dir_all(&out_dir).unwrap();
}

#[test]
fn demo_names_a_missing_data_directory() {
    let out = Command::new(env!("CARGO_BIN_EXE_igs-mpc"))
        .args(["--quiet", "demo", "--data-dir", "/nonexistent-igs-data"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent-igs-data"), "{stderr}");
}

#[test]
fn pooled_demo_matches_the_known_answer() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/small");
    let out = Command::new(env!("CARGO_BIN_EXE_igs-mpc"))
        .args(["pooled-demo", "--data-dir", data])
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
fn pooled_demo_names_a_missing_column() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/small");
    let out = Command::new(env!("CARGO_BIN_EXE_igs-mpc"))
        .args(["pooled-demo", "--data-dir", data, "--columns", "age,nosuch"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nosuch"), "{stderr}");
}
