//! `igs-mpc pipeline` (the bundled `examples/igs-small.toml`) on `data/small`: every number of
//! `results.json` against `expected/expected.json` (data/small/README.md §4), sites and the
//! PGS file discovered, never named here.
//!
//! Tolerances (Z_2^128, f = 40, as the analyses' own tests): linear, logistic and Cox IGS
//! coefficients, SEs, R², Nagelkerke R², OR/HR per SD and their CIs ≤ 1e-4 relative; AUCs
//! ≤ 1e-6 absolute, DeLong SEs ≤ 1e-4 relative; per-site calibration slope/intercept and HL
//! statistic ≤ 1e-4 relative (pooled: slope within 1e-4 of 1, |intercept| ≤ 1e-6, since the
//! LP is the pooled fit's own).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

mod common;

use std::path::Path;

use parties::net::NetOptions;
use parties::pipeline::{self, spec::PipelineJob};
use serde_json::Value;

fn rel(a: f64, b: f64) -> f64 {
    (a / b - 1.0).abs()
}

fn f(v: &Value, p: &str) -> f64 {
    v.pointer(p)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {p}"))
}

fn check(what: &str, got: f64, want: f64, tol: f64) {
    let r = rel(got, want);
    eprintln!("{what}: {got:.9} vs {want:.9} (rel {r:.1e})");
    assert!(r <= tol, "{what}: {got} vs {want}");
}

fn opts() -> NetOptions {
    NetOptions {
        timeout: std::time::Duration::from_secs(120),
        ..NetOptions::default()
    }
}

#[test]
fn pipeline_matches_expected() {
    check_dataset(&common::data_dir());
}

/// A second datagen dataset (`data/tiny`: seed 7, two sites `north`/`south`, 900 samples;
/// config in `data/tiny/datagen-config.toml`) against its own plaintext reference
/// (`expected/expected.json`, written by the generator), with the same job file unchanged.
#[test]
fn pipeline_on_another_dataset_matches_its_reference() {
    check_dataset(&common::data_dir().join("../tiny"));
}

fn check_dataset(data: &Path) {
    let data = data.to_path_buf();
    let (job, dir) = pipeline::load_job(None, Some(&data)).unwrap();
    let out = std::env::temp_dir().join(format!("igs-pipeline-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run = pipeline::run(&job, &dir, &out, &opts(), true).unwrap();
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    // The file holds what the run returned (floats may differ in the last printed digit).
    assert_eq!(r["sites"], run.results["sites"]);
    assert_eq!(r["job_sha256"], run.results["job_sha256"]);
    // The run went through a signed plan: every party's transcript, the approvals and the
    // co-signed run record are in OUT/transcripts and verify offline under the plan whose
    // hash results.json names.
    let summary = parties::audit_io::verify_dir(&out.join("transcripts")).unwrap();
    assert_eq!(r["plan_hash"].as_str(), Some(summary.plan_hash.as_str()));
    assert_eq!(r["audit"]["verified"], true);
    let sites = r["sites"].as_array().unwrap().len();
    // Sites, the helper and the coordinator each have their transcript or signature.
    assert_eq!(summary.entries.len(), sites + 1);
    assert!(summary.refusals.is_empty() && summary.aborted.is_empty());
    // Every output the plan lists is revealed by every site to each of its recipients.
    let outputs = r["audit"]["outputs"].as_array().unwrap();
    let to: usize = outputs
        .iter()
        .map(|o| o["recipients"].as_array().unwrap().len())
        .sum();
    assert!(outputs.iter().all(|o| {
        o["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == "coordinator")
    }));
    assert_eq!(summary.reveals, sites * to, "REVEAL entries");
    let e: Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("expected/expected.json")).unwrap(),
    )
    .unwrap();
    let scores = r["scores"].as_object().unwrap();
    assert!(!scores.is_empty());
    for (key, s) in scores {
        assert_eq!(s["source"], "pgs_catalog");
        // The coordinator owns the PGS weights and deals them as shares.
        assert_eq!(s["weight_owner"], "coordinator");
        // Linear IGS.
        let lin = &e["models"]["linear_igs"];
        for (t, c) in lin["coefficients"].as_object().unwrap() {
            check(
                &format!("{key} linear {t} coef"),
                f(s, &format!("/igs_linear/coef/{t}")),
                f(c, "/coef"),
                1e-4,
            );
            check(
                &format!("{key} linear {t} se"),
                f(s, &format!("/igs_linear/se/{t}")),
                f(c, "/se"),
                1e-4,
            );
        }
        for k in ["r2", "r2_incremental"] {
            check(
                &format!("{key} linear {k}"),
                f(s, &format!("/igs_linear/{k}")),
                f(lin, &format!("/{k}")),
                1e-4,
            );
        }
        // Logistic IGS.
        let lg = &e["models"]["logistic_igs"];
        for (t, c) in lg["coefficients"].as_object().unwrap() {
            check(
                &format!("{key} logistic {t} coef"),
                f(s, &format!("/igs_logistic/coef/{t}")),
                f(c, "/coef"),
                1e-4,
            );
            check(
                &format!("{key} logistic {t} se"),
                f(s, &format!("/igs_logistic/se/{t}")),
                f(c, "/se"),
                1e-4,
            );
        }
        for k in ["or_per_sd", "nagelkerke_r2", "nagelkerke_r2_incremental"] {
            check(
                &format!("{key} {k}"),
                f(s, &format!("/igs_logistic/{k}")),
                f(lg, &format!("/{k}")),
                1e-4,
            );
        }
        for i in 0..2 {
            check(
                "OR CI",
                f(s, &format!("/igs_logistic/or_per_sd_ci/{i}")),
                f(lg, &format!("/or_ci95/{i}")),
                1e-4,
            );
        }
        // Cox IGS (Breslow).
        let cx = &e["models"]["cox_breslow"];
        for (t, c) in cx["coefficients"].as_object().unwrap() {
            check(
                &format!("{key} cox {t} coef"),
                f(s, &format!("/igs_cox/coef/{t}")),
                f(c, "/coef"),
                1e-4,
            );
            check(
                &format!("{key} cox {t} se"),
                f(s, &format!("/igs_cox/se/{t}")),
                f(c, "/se"),
                1e-4,
            );
        }
        check(
            "HR/SD",
            f(s, "/igs_cox/hr_per_sd"),
            f(cx, "/hr_per_sd"),
            1e-4,
        );
        for i in 0..2 {
            check(
                "HR CI",
                f(s, &format!("/igs_cox/hr_per_sd_ci/{i}")),
                f(cx, &format!("/hr_ci95/{i}")),
                1e-4,
            );
        }
        // Evaluation: every dataset of the expected file (pooled and each site).
        let per = e["evaluation"]["per_dataset"].as_object().unwrap();
        assert_eq!(per.len(), r["sites"].as_array().unwrap().len() + 1);
        for (name, x) in per {
            let got = if name == "pooled" {
                &s["evaluation"]["pooled"]
            } else {
                &s["evaluation"]["per_site"][name.as_str()]
            };
            for w in ["auc_prs", "auc_igs"] {
                let d = (f(got, &format!("/{w}")) - f(x, &format!("/{w}/auc"))).abs();
                eprintln!("{name} {w}: |Δ| {d:.1e}");
                assert!(d <= 1e-6, "{name} {w}");
                check(
                    &format!("{name} {w} se"),
                    f(got, &format!("/{w}_se")),
                    f(x, &format!("/{w}/se_delong")),
                    1e-4,
                );
            }
            if name == "pooled" {
                assert!((f(got, "/calibration_slope") - 1.0).abs() <= 1e-4);
                assert!(f(got, "/calibration_intercept").abs() <= 1e-6);
            } else {
                check(
                    &format!("{name} slope"),
                    f(got, "/calibration_slope"),
                    f(x, "/calibration/slope"),
                    1e-4,
                );
                check(
                    &format!("{name} intercept"),
                    f(got, "/calibration_intercept"),
                    f(x, "/calibration/slope_intercept"),
                    1e-4,
                );
            }
            check(
                &format!("{name} HL"),
                f(got, "/hosmer_lemeshow/statistic"),
                f(x, "/hosmer_lemeshow/statistic"),
                1e-4,
            );
        }
        assert!(out.join(format!("plots/{key}.forest.svg")).is_file());
    }
    // The linear GWAS table: plink2 --glm's columns; where the data set has plink2's own
    // table, every row to plink2's print precision (6 significant digits: ≤ 1e-5 relative).
    let table = out.join(r["gwas"]["linear"].as_str().unwrap());
    let ours = std::fs::read_to_string(&table).unwrap();
    assert!(ours.starts_with("#ID\tA1\tOBS_CT\tBETA\tSE\tP\n"));
    assert_eq!(
        ours.lines().count() - 1,
        r["gwas"]["n_variants"].as_u64().unwrap() as usize
    );
    for plot in ["manhattan", "qq"] {
        assert!(
            out.join(r["gwas"]["plots"][plot].as_str().unwrap())
                .is_file()
        );
    }
    let plink = data.join("expected/plink2_glm_pooled.qt.glm.linear");
    if plink.is_file() {
        let plink = std::fs::read_to_string(plink).unwrap();
        let theirs: std::collections::HashMap<&str, Vec<&str>> = plink
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f[0], f)
            })
            .collect();
        let mut compared = 0;
        for l in ours.lines().skip(1) {
            let a: Vec<&str> = l.split('\t').collect();
            let b = &theirs[a[0]];
            assert_eq!(a[1], b[1], "A1 of {}", a[0]);
            assert_eq!(a[2], b[2], "OBS_CT of {}", a[0]);
            for (x, y) in a[3..].iter().zip(&b[3..]) {
                let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
                assert!((x - y).abs() <= 1e-5 * y.abs(), "{l} vs {b:?}");
            }
            compared += 1;
        }
        assert_eq!(compared, theirs.len());
    }
    let html = std::fs::read_to_string(&run.report_path).unwrap();
    assert!(html.contains("<svg") && html.contains("Cox IGS"));
    std::fs::remove_dir_all(&out).unwrap();
}

/// A missing phenotype column fails before any traffic, naming the file, the column and the
/// site; no results.json is written.
#[test]
fn missing_column_names_file_column_and_site() {
    let data = common::data_dir();
    let text =
        pipeline::spec::IGS_SMALL_TOML.replace("binary = \"disease\"", "binary = \"no_such_col\"");
    let job = PipelineJob::from_toml(&text, Path::new(".")).unwrap();
    let out = std::env::temp_dir().join(format!("igs-pipeline-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let e = pipeline::run(&job, &data, &out, &opts(), true).unwrap_err();
    assert!(
        e.contains("no_such_col") && e.contains(".pheno.tsv") && e.contains("site "),
        "{e}"
    );
    assert!(!out.join("results.json").exists());
}

/// Validation (no traffic): the bundled job is valid on the bundled data; an unreadable file
/// and a missing column are refused naming the file, column and site.
#[test]
fn validate_checks_every_site() {
    let data = common::data_dir();
    let (job, dir) = pipeline::load_job(None, Some(&data)).unwrap();
    let lines = pipeline::validate(&job, &dir).unwrap();
    assert_eq!(
        lines.len(),
        std::fs::read_dir(&data)
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_str()
                .unwrap()
                .ends_with(".pheno.tsv"))
            .count()
            * std::fs::read_dir(data.join("pgs"))
                .unwrap()
                .filter(|e| e
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_str()
                    .unwrap()
                    .ends_with(".txt"))
                .count()
    );
    let text = pipeline::spec::IGS_SMALL_TOML.replace("time = \"tte_age\"", "time = \"nope\"");
    let bad = PipelineJob::from_toml(&text, Path::new(".")).unwrap();
    let e = pipeline::validate(&bad, &dir).unwrap_err();
    assert!(
        e.contains("`nope`") && e.contains(".pheno.tsv") && e.contains("site "),
        "{e}"
    );
    // An unreadable phenotype file: a copy of the data with one table replaced by a directory.
    let tmp = std::env::temp_dir().join(format!("igs-validate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.join("pgs")).unwrap();
    let mut victim = None;
    for e in std::fs::read_dir(&data).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        if p.is_file() {
            std::fs::copy(&p, tmp.join(&name)).unwrap();
            if name.ends_with(".pheno.tsv") && victim.is_none() {
                victim = Some(name);
            }
        }
    }
    for e in std::fs::read_dir(data.join("pgs")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, tmp.join("pgs").join(p.file_name().unwrap())).unwrap();
    }
    let victim = victim.unwrap();
    std::fs::write(tmp.join(&victim), b"").unwrap();
    let e = pipeline::validate(&job, &tmp).unwrap_err();
    assert!(e.contains(&victim), "{e}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
