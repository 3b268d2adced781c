//! `igs-mpc simulate JOB`: the shipped example job on the bundled data equals the known answers
//! of data/small/expected (sites discovered from the files, never named here); the data
//! directory can be overridden; a refused job leaves no result file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

mod common;

use std::path::{Path, PathBuf};

use common::{col, data_dir, read_tsv};
use parties::job::simulate::{AUTO_APPROVED, SimulateArgs, run};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/pooled-stats.toml")
}

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("igs-sim-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn expected() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(data_dir().join("expected/expected.json")).unwrap(),
    )
    .unwrap()
}

/// Sites of a data directory, as the test sees them: every `<site>.pheno.tsv` with a fileset.
fn sites_of(dir: &Path) -> Vec<String> {
    let mut s: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().into_string().unwrap();
            let site = n.strip_suffix(".pheno.tsv")?.to_owned();
            dir.join(format!("{site}.bed")).is_file().then_some(site)
        })
        .collect();
    s.sort();
    s
}

/// Plaintext pooled n, means and sample covariance of `cols` over the sites' phenotype files
/// (the test's own reference, independent of the code under test).
fn plain(dir: &Path, sites: &[String], cols: &[&str]) -> (u64, Vec<f64>, Vec<f64>) {
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for s in sites {
        let (h, r) = read_tsv(&dir.join(format!("{s}.pheno.tsv")));
        let idx: Vec<usize> = cols.iter().map(|c| col(&h, c)).collect();
        for row in r {
            rows.push(idx.iter().map(|&i| row[i].parse().unwrap()).collect());
        }
    }
    let n = rows.len() as f64;
    let d = cols.len();
    let mean: Vec<f64> = (0..d)
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let cov = (0..d * d)
        .map(|jk| {
            let (j, k) = (jk / d, jk % d);
            rows.iter()
                .map(|r| (r[j] - mean[j]) * (r[k] - mean[k]))
                .sum::<f64>()
                / (n - 1.0)
        })
        .collect();
    (rows.len() as u64, mean, cov)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn args(out: &Path, data: Option<PathBuf>) -> SimulateArgs {
    SimulateArgs {
        job: example(),
        out: out.to_path_buf(),
        data_dir: data,
        timeout_ms: 10_000,
    }
}

/// Relative tolerance of the secure results against the plaintext (fixed point, 40
/// fractional bits; one truncation in the covariance).
const REL_TOL: f64 = 1e-9;

fn check_doc(doc: &serde_json::Value, n: u64, mean: &[f64], cov: &[f64], cols: &[&str]) -> f64 {
    assert_eq!(doc["n"], n);
    let mut worst = 0f64;
    for (j, c) in cols.iter().enumerate() {
        let got = doc["mean"][c].as_f64().unwrap();
        let rel = (got - mean[j]).abs() / mean[j].abs().max(1.0);
        assert!(rel <= REL_TOL, "mean {c}: {got} vs {} ({rel:.1e})", mean[j]);
        worst = worst.max(rel);
        for (k, _) in cols.iter().enumerate() {
            let got = doc["cov"][j][k].as_f64().unwrap();
            let want = cov[j * cols.len() + k];
            let rel = (got - want).abs() / want.abs().max(1.0);
            assert!(rel <= REL_TOL, "cov {j},{k}: {got} vs {want} ({rel:.1e})");
            worst = worst.max(rel);
        }
    }
    worst
}

#[test]
fn example_job_equals_the_expected_numbers() {
    let out = tmp("example");
    let t0 = std::time::Instant::now();
    let r = run(&args(&out, None)).unwrap();
    eprintln!("simulate: {:.2} s ({:?} wall)", r.seconds, t0.elapsed());
    let sites = sites_of(&data_dir());
    assert_eq!(r.sites, sites);
    assert_eq!(r.steps.len(), 1);
    let doc = &r.steps[0].document;
    let cols = ["age", "bmi", "qt"];
    assert_eq!(doc["columns"], serde_json::json!(cols));
    // Known answers: expected.json (pooled n and qt mean).
    let e = expected();
    let pooled = &e["counts"]["pooled"];
    assert_eq!(doc["n"], pooled["n"]);
    let qt = doc["mean"]["qt"].as_f64().unwrap();
    let want_qt = pooled["qt_mean"].as_f64().unwrap();
    eprintln!(
        "qt mean {qt} vs expected {want_qt}: |diff| {:.1e}",
        (qt - want_qt).abs()
    );
    assert!((qt - want_qt).abs() <= 1e-9, "qt mean {qt} vs {want_qt}");
    // Means and covariance of every column against the test's plaintext reference.
    let (n, mean, cov) = plain(&data_dir(), &sites, &cols);
    let worst = check_doc(doc, n, &mean, &cov, &cols);
    eprintln!("worst relative difference vs plaintext: {worst:.1e}");
    // Every site holds the same result file; every party recorded an auto-approval.
    let coord = std::fs::read(&r.steps[0].result).unwrap();
    assert_eq!(r.steps[0].site_results.len(), sites.len());
    for (site, p) in &r.steps[0].site_results {
        assert!(sites.contains(site));
        assert_eq!(std::fs::read(p).unwrap(), coord, "{site}'s copy");
    }
    for party in sites.iter().map(String::as_str).chain(["helper"]) {
        let a = std::fs::read_to_string(out.join("parties").join(party).join("approvals.toml"))
            .unwrap();
        assert!(a.contains(&r.steps[0].plan_sha256), "{party}");
        assert!(a.contains(AUTO_APPROVED), "{party}");
    }
    // A rerun into the same directory reuses the identities and succeeds.
    let again = run(&args(&out, None)).unwrap();
    assert_eq!(again.steps[0].document["mean"], doc["mean"]);
    assert!(files_under(&out).iter().all(|p| {
        let n = p.file_name().unwrap().to_string_lossy();
        !n.starts_with('.') && !n.contains(".tmp")
    }));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn data_dir_override_with_other_site_names() {
    // Two of the bundled sites under new names: the job file does not change.
    let src = data_dir();
    let sites = sites_of(&src);
    let data = tmp("data");
    std::fs::create_dir_all(&data).unwrap();
    let picked = &sites[..2];
    for (i, s) in picked.iter().enumerate() {
        let new = format!("renamed-{i}");
        for ext in ["bed", "bim", "fam", "pheno.tsv"] {
            std::fs::copy(
                src.join(format!("{s}.{ext}")),
                data.join(format!("{new}.{ext}")),
            )
            .unwrap();
        }
    }
    let out = tmp("override");
    let r = run(&args(&out, Some(data.clone()))).unwrap();
    assert_eq!(r.sites, ["renamed-0", "renamed-1"]);
    let e = expected();
    let n: u64 = picked
        .iter()
        .map(|s| e["counts"][s]["n"].as_u64().unwrap())
        .sum();
    let qt: f64 = picked
        .iter()
        .map(|s| {
            e["counts"][s]["n"].as_f64().unwrap() * e["counts"][s]["qt_mean"].as_f64().unwrap()
        })
        .sum::<f64>()
        / n as f64;
    let doc = &r.steps[0].document;
    assert_eq!(doc["n"], n);
    let got = doc["mean"]["qt"].as_f64().unwrap();
    assert!((got - qt).abs() <= 1e-9, "qt mean {got} vs {qt}");
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn a_refused_job_leaves_no_result_file() {
    let dir = tmp("refused");
    std::fs::create_dir_all(&dir).unwrap();
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        format!(
            "version = 1\ndata_dir = {:?}\nsites = \"auto\"\n[[step]]\nkind = \"pooled-stats\"\ncolumns = [\"no-such-column\"]\n",
            data_dir().to_string_lossy()
        ),
    )
    .unwrap();
    let out = dir.join("out");
    let e = run(&SimulateArgs {
        job,
        out: out.clone(),
        data_dir: None,
        timeout_ms: 5_000,
    })
    .unwrap_err();
    assert!(e.contains("refused"), "{e}");
    for s in sites_of(&data_dir()) {
        assert!(e.contains(&s), "{e} must name {s}");
    }
    let results: Vec<_> = files_under(&out)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            let dir = p.parent().unwrap();
            name.ends_with(".json")
                || name.contains("tmp")
                || dir.ends_with("results")
                || dir.ends_with("out")
                    && dir.parent().unwrap().parent().unwrap().ends_with("parties")
        })
        .collect();
    assert!(results.is_empty(), "{results:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
