//! Binary-trait GWAS score test (issue 6): the plaintext reference `circuits::plain::score_test`
//! on the pooled sites of `data/small` (each site loaded through `parties::cohort`) against the
//! numpy/statsmodels output `data/small/derived/score_test_disease.tsv` written by
//! `tools/score_test_reference.py` (definition in that script and in the module docs).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::HashMap;

use circuits::plain::score_test::ScoreNull;
use parties::cohort::{Covariate, LinearCohort, canonical_alleles, discover_sites};

mod common;
use common::data_dir;

const PHENOTYPE: &str = "disease";
const COVARIATES: &[&str] = &["age", "male=sex==1", "bmi", "smoker"];

#[test]
fn plain_score_test_matches_statsmodels_reference() {
    let dir = data_dir();
    let sites = discover_sites(&dir).unwrap();
    let canon = canonical_alleles(&sites).unwrap();
    let covs: Vec<Covariate> = COVARIATES
        .iter()
        .map(|c| Covariate::parse(c).unwrap())
        .collect();
    let cohorts: Vec<LinearCohort> = sites
        .iter()
        .map(|p| LinearCohort::load(p, PHENOTYPE, &covs, None).unwrap())
        .collect();
    let mut x = Vec::new();
    let mut y = Vec::new();
    for c in &cohorts {
        x.extend_from_slice(&c.covariates);
        y.extend_from_slice(&c.phenotype);
    }
    let null = ScoreNull::fit(&x, covs.len(), &y).expect("null model");
    let mut readers: Vec<_> = cohorts
        .iter()
        .map(|c| c.fileset().bed_reader().unwrap())
        .collect();

    // Reference: ID -> (N, U, V, T).
    let text = std::fs::read_to_string(dir.join("derived/score_test_disease.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (i_id, i_n, i_u, i_v, i_t) = (at("ID"), at("N"), at("U"), at("V"), at("T"));
    let reference: HashMap<String, Vec<String>> = lines
        .map(|l| {
            let f: Vec<String> = l.split('\t').map(str::to_owned).collect();
            (f[i_id].clone(), f)
        })
        .collect();
    assert_eq!(reference.len(), canon.len());

    let (mut buf, mut all, mut g) = (Vec::new(), Vec::new(), Vec::new());
    let mut worst = 0.0f64;
    for (j, cv) in canon.iter().enumerate() {
        g.clear();
        for (c, bed) in cohorts.iter().zip(readers.iter_mut()) {
            c.read_canonical(bed, j, cv, &mut buf, &mut all, &mut g)
                .unwrap();
        }
        let row = null.test(&g).unwrap();
        let r = &reference[&cv.id];
        assert_eq!(r[i_n].parse::<usize>().unwrap(), y.len(), "{}", cv.id);
        let num = |s: &str| s.parse::<f64>().unwrap();
        // Tolerance: both sides are f64 with Newton to 1e-12; references printed to 12
        // significant digits. U, V, T within 1e-7 relative (absolute floor 1e-9 · scale).
        let (u, v) = (num(&r[i_u]), num(&r[i_v]));
        let scale = v.abs().sqrt().max(1.0);
        assert!(
            (row.u - u).abs() <= 1e-7 * u.abs().max(scale),
            "{} U {} vs {u}",
            cv.id,
            row.u
        );
        assert!(
            (row.v - v).abs() <= 1e-7 * v.abs().max(1e-9),
            "{} V {} vs {v}",
            cv.id,
            row.v
        );
        match (row.t, r[i_t].as_str()) {
            (None, "NA") => {}
            (Some(t), s) if s != "NA" => {
                let e = num(s);
                let rel = (t - e).abs() / e.abs().max(1.0);
                worst = worst.max(rel);
                assert!(rel <= 1e-7, "{} T {t} vs {e}", cv.id);
            }
            (t, s) => panic!("{}: T {t:?} vs {s}", cv.id),
        }
    }
    eprintln!(
        "score test: {} variants, worst |ΔT|/max(1,T) = {worst:.2e}",
        canon.len()
    );
}
