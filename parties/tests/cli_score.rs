//! `igs-mpc score` end to end on the bundled data, and malformed filesets through the binary.
//!
//! Tolerance as in `small_data.rs`: |ours − expected| ≤ 1e-9 · |expected| + 1e-11.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use parties::data::plink::{Fileset, PlinkError, discover_filesets};

mod common;
use common::data_dir;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("igs-mpc-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn igs_mpc(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_igs-mpc"))
        .args(args)
        .output()
        .unwrap()
}

fn table(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split('\t')
        .map(str::to_owned)
        .collect();
    (
        header,
        lines
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect(),
    )
}

fn assert_sscore_matches(ours: &Path, expected: &Path, nomi: bool) {
    let (oh, orows) = table(ours);
    assert_eq!(
        oh,
        [
            "#FID",
            "IID",
            "ALLELE_CT",
            "DENOM",
            "NAMED_ALLELE_DOSAGE_SUM",
            "SCORE1_AVG",
            "SCORE1_SUM"
        ]
    );
    let (eh, erows) = table(expected);
    let col = |name: &str| eh.iter().position(|h| h == name).unwrap();
    assert_eq!(orows.len(), erows.len());
    for (o, e) in orows.iter().zip(&erows) {
        assert_eq!(o[0], e[col("IID")]);
        assert_eq!(o[1], e[col("IID")]);
        assert_eq!(o[2], e[col("ALLELE_CT")]);
        if nomi {
            assert_eq!(o[3], e[col("ALLELE_CT")]);
        } else {
            assert_eq!(o[3], e[col("DENOM")]);
        }
        assert_eq!(o[4], e[col("NAMED_ALLELE_DOSAGE_SUM")]);
        let prefix = if nomi { "NOMI_" } else { "" };
        for (k, name) in [(5, "SCORE1_AVG"), (6, "SCORE1_SUM")] {
            let ours: f64 = o[k].parse().unwrap();
            let theirs: f64 = e[col(&format!("{prefix}{name}"))].parse().unwrap();
            assert!(
                (ours - theirs).abs() <= 1e-9 * theirs.abs() + 1e-11,
                "{name}: {ours} vs {theirs}"
            );
        }
    }
}

#[test]
fn score_command_matches_expected_for_every_site() {
    let out_dir = temp_dir("cli");
    for prefix in discover_filesets(&data_dir()).unwrap() {
        let site = prefix.file_name().unwrap().to_string_lossy().into_owned();
        let expected = data_dir().join(format!("expected/score_{site}.full.tsv"));
        // Both score files: the PGS Catalog original and the plink2-style harmonised one.
        for (label, score) in [
            ("pgs", "pgs/PGS_SMALL.txt"),
            ("h", "pgs/PGS_SMALL.harmonized.tsv"),
        ] {
            for nomi in [false, true] {
                let out = out_dir.join(format!("{site}_{label}_{nomi}"));
                let score = data_dir().join(score);
                let mut args = vec![
                    "score".as_ref(),
                    "--bfile".as_ref(),
                    prefix.as_os_str(),
                    "--score".as_ref(),
                    score.as_os_str(),
                    "--out".as_ref(),
                    out.as_os_str(),
                ];
                if nomi {
                    args.push("--no-mean-imputation".as_ref());
                }
                let o = igs_mpc(&args);
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                let mut sscore = out.into_os_string();
                sscore.push(".sscore");
                assert_sscore_matches(Path::new(&sscore), &expected, nomi);
            }
        }
    }
    let report = std::fs::read_to_string(out_dir.join("us_pgs_false.harmonization.tsv")).unwrap();
    assert_eq!(report.lines().count(), 574);
    assert_eq!(report.matches("\tdropped\t").count(), 12);
    let vars = std::fs::read_to_string(out_dir.join("us_pgs_false.sscore.vars")).unwrap();
    assert_eq!(vars.lines().count(), 561);
    std::fs::remove_dir_all(out_dir).unwrap();
}

#[test]
fn score_command_refuses_low_overlap_and_reports() {
    let out_dir = temp_dir("overlap");
    let prefix = data_dir().join("us");
    let score = data_dir().join("pgs/PGS_SMALL.txt");
    let out = out_dir.join("o");
    let o = igs_mpc(&[
        "score".as_ref(),
        "--bfile".as_ref(),
        prefix.as_os_str(),
        "--score".as_ref(),
        score.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--min-overlap".as_ref(),
        "0.99".as_ref(),
    ]);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("561 of 573"), "{stderr}");
    assert!(out_dir.join("o.harmonization.tsv").exists());
    assert!(!out_dir.join("o.sscore").exists());
    std::fs::remove_dir_all(out_dir).unwrap();
}

/// Copies `us` into a temp dir with a modification of one file.
fn broken_copy(name: &str, edit: impl FnOnce(&Path)) -> PathBuf {
    let dir = temp_dir(name);
    for ext in ["bed", "bim", "fam"] {
        std::fs::copy(
            data_dir().join(format!("us.{ext}")),
            dir.join(format!("us.{ext}")),
        )
        .unwrap();
    }
    edit(&dir);
    dir
}

#[test]
fn malformed_filesets_give_typed_errors() {
    type Edit = fn(&Path);
    let cases: [(&str, Edit); 5] = [
        ("truncated", |d| {
            let bed = std::fs::read(d.join("us.bed")).unwrap();
            std::fs::write(d.join("us.bed"), &bed[..bed.len() - 100]).unwrap();
        }),
        ("magic", |d| {
            let mut bed = std::fs::read(d.join("us.bed")).unwrap();
            bed[1] = 0x1c;
            std::fs::write(d.join("us.bed"), bed).unwrap();
        }),
        ("bim_count", |d| {
            let bim = std::fs::read_to_string(d.join("us.bim")).unwrap();
            let fewer: Vec<&str> = bim.lines().skip(1).collect();
            std::fs::write(d.join("us.bim"), fewer.join("\n")).unwrap();
        }),
        ("fam_count", |d| {
            let fam = std::fs::read_to_string(d.join("us.fam")).unwrap();
            let fewer: Vec<&str> = fam.lines().skip(4).collect();
            std::fs::write(d.join("us.fam"), fewer.join("\n")).unwrap();
        }),
        ("dup_iid", |d| {
            let fam = std::fs::read_to_string(d.join("us.fam")).unwrap();
            let mut lines: Vec<&str> = fam.lines().collect();
            lines[7] = lines[3];
            std::fs::write(d.join("us.fam"), lines.join("\n")).unwrap();
        }),
    ];
    for (name, edit) in cases {
        let dir = broken_copy(name, edit);
        let err = Fileset::open(&dir.join("us")).unwrap_err();
        let ok = match name {
            "truncated" => matches!(err, PlinkError::Truncated { .. }),
            "magic" => matches!(err, PlinkError::BadMagic { .. }),
            "bim_count" => matches!(
                err,
                PlinkError::CountMismatch {
                    bim_variants: 2999,
                    bed_variants: 3000,
                    ..
                }
            ),
            "fam_count" => matches!(err, PlinkError::SizeMismatch { .. }),
            "dup_iid" => matches!(err, PlinkError::DuplicateSample { first_line: 4, .. }),
            _ => false,
        };
        assert!(ok, "{name}: {err:?}");
        // Through the binary: a clear message, exit code 1, no panic.
        let out = dir.join("o");
        let score = data_dir().join("pgs/PGS_SMALL.txt");
        let prefix = dir.join("us");
        let o = igs_mpc(&[
            "score".as_ref(),
            "--bfile".as_ref(),
            prefix.as_os_str(),
            "--score".as_ref(),
            score.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{name}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.starts_with("igs-mpc: error: "), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        eprintln!("{name}: {}", stderr.trim());
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// Writes a 60-sample PLINK fileset (plink2 refuses to impute from fewer than 50 samples):
/// rs1 with a cycling pattern of calls (A1A1, het, A2A2, missing), rs2 with no call at all,
/// rs3 with one A1A1 call and rs4 with one A2A2 call (the rest missing).
fn write_sparse_fileset(prefix: &Path) {
    const N: usize = 60;
    let codes: [Vec<u8>; 4] = [
        (0..N).map(|i| [0u8, 2, 3, 1][i % 4]).collect(),
        vec![1; N],
        (0..N).map(|i| if i == 0 { 0 } else { 1 }).collect(),
        (0..N).map(|i| if i == 0 { 3 } else { 1 }).collect(),
    ];
    let mut bed = vec![0x6c, 0x1b, 0x01];
    for v in &codes {
        for chunk in v.chunks(4) {
            bed.push(
                chunk
                    .iter()
                    .enumerate()
                    .fold(0u8, |b, (k, &c)| b | (c << (2 * k))),
            );
        }
    }
    std::fs::write(prefix.with_extension("bed"), bed).unwrap();
    std::fs::write(
        prefix.with_extension("bim"),
        "1\trs1\t0\t100\tA\tG\n1\trs2\t0\t200\tC\tT\n1\trs3\t0\t300\tC\tT\n1\trs4\t0\t400\tC\tT\n",
    )
    .unwrap();
    let fam: String = (0..N)
        .map(|i| format!("s{i}\ts{i}\t0\t0\t1\t-9\n"))
        .collect();
    std::fs::write(prefix.with_extension("fam"), fam).unwrap();
}

/// A variant with no observed call: plink2 v2.00a3.5 takes its frequency as 0.5 (its `.afreq`
/// prints `nan`) and imputes one copy per missing call. Known answer (plink2 `--score` on this
/// fileset with rs2 alone, weight 2): SCORE1_SUM = 2, ALLELE_CT = 0, DENOM = 2 for every sample.
/// With plink2 on PATH, the whole four-variant `.sscore` is also compared with plink2's
/// (integer columns equal; sums to plink2's 6 printed digits: |Δ| ≤ 5e-6·|x| + 1e-9).
#[test]
fn variant_without_calls_imputes_like_plink2() {
    let dir = temp_dir("no-calls");
    let prefix = dir.join("sparse");
    write_sparse_fileset(&prefix);
    let only_rs2 = dir.join("rs2.tsv");
    std::fs::write(&only_rs2, "ID\tA1\tWEIGHT\nrs2\tC\t2\n").unwrap();
    let run = |score: &Path, out: &str| {
        let o = igs_mpc(&[
            "score".as_ref(),
            "--bfile".as_ref(),
            prefix.as_os_str(),
            "--score".as_ref(),
            score.as_os_str(),
            "--out".as_ref(),
            dir.join(out).as_os_str(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        table(&dir.join(format!("{out}.sscore")))
    };
    let (h, rows) = run(&only_rs2, "rs2");
    let c = |name: &str| h.iter().position(|x| x == name).unwrap();
    assert_eq!(rows.len(), 60);
    for r in &rows {
        assert_eq!(r[c("SCORE1_SUM")], "2");
        assert_eq!(r[c("ALLELE_CT")], "0");
        assert_eq!(r[c("DENOM")], "2");
    }
    let all = dir.join("all.tsv");
    std::fs::write(
        &all,
        "ID\tA1\tWEIGHT\nrs1\tA\t0.5\nrs2\tC\t2\nrs3\tC\t1\nrs4\tC\t-1\n",
    )
    .unwrap();
    let (h, ours) = run(&all, "ours");
    let plink2 = Command::new("plink2")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if plink2 {
        let o = Command::new("plink2")
            .arg("--bfile")
            .arg(&prefix)
            .arg("--score")
            .arg(&all)
            .args([
                "1",
                "2",
                "3",
                "header",
                "cols=+scoresums,+denom",
                "--threads",
                "1",
            ])
            .arg("--out")
            .arg(dir.join("plink2"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
        let (ph, theirs) = table(&dir.join("plink2.sscore"));
        let p = |name: &str| ph.iter().position(|x| x == name).unwrap();
        let c = |name: &str| h.iter().position(|x| x == name).unwrap();
        assert_eq!(ours.len(), theirs.len());
        for (o, t) in ours.iter().zip(&theirs) {
            for name in ["IID", "ALLELE_CT", "DENOM", "NAMED_ALLELE_DOSAGE_SUM"] {
                assert_eq!(o[c(name)], t[p(name)], "{name}");
            }
            for name in ["SCORE1_SUM", "SCORE1_AVG"] {
                let (a, b): (f64, f64) = (o[c(name)].parse().unwrap(), t[p(name)].parse().unwrap());
                assert!((a - b).abs() <= 5e-6 * b.abs() + 1e-9, "{name}: {a} vs {b}");
            }
        }
    } else {
        eprintln!("plink2 not on PATH: only the rs2 known answer was checked");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
