//! Known answers for pooled QC and linear GWAS on `data/small` (plink2 / statsmodels outputs in
//! `data/small/expected/`, provenance and definitions in `data/small/README.md` §4b, §4f).
//!
//! Sites are discovered from the data directory (`*.bed` with a `*.pheno.tsv`); the canonical
//! allele coding of each variant is the (A1, A2) order most sites use (the README's canonical
//! coding), and sites holding the other order are recoded by allele letters. Each MPC party
//! loads its own site only.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use circuits::gwas::{self, LinearPlan};
use circuits::plain::linear::{self, LinearData, LinearRow, SufficientStats};
use circuits::plain::qc::{GenotypeCounts, QcThresholds, genotype_counts};
use circuits::qc::{self, QcOutput, QcPlan, Reveal};
use mpc_core::fixed::FixedPoint;
use mpc_core::ring::{Z64, Z128};
use parties::data::pheno::read_pheno;
use parties::data::plink::{Fileset, MISSING, discover_filesets};
use protocols::testing::run_with_dealer;

mod common;
use common::{col, data_dir, read_tsv};

/// The job: phenotype and covariates by name. `male` is derived from `sex` (1 = male).
const PHENOTYPE: &str = "qt";
const COVARIATES: &[&str] = &["age", "male", "bmi", "smoker"];

/// Site prefixes with both a fileset and a phenotype table.
fn site_prefixes() -> Vec<PathBuf> {
    let v: Vec<PathBuf> = discover_filesets(&data_dir())
        .unwrap()
        .into_iter()
        .filter(|p| p.with_extension("pheno.tsv").is_file())
        .collect();
    assert!(v.len() >= 2);
    v
}

/// (ID, ALT) per variant: the allele order used by most sites.
fn canonical_alleles(prefixes: &[PathBuf]) -> Vec<(String, String, String)> {
    let sets: Vec<Fileset> = prefixes.iter().map(|p| Fileset::open(p).unwrap()).collect();
    let first = sets[0].variants();
    (0..first.len())
        .map(|j| {
            let mut votes: HashMap<(String, String), usize> = HashMap::new();
            for s in &sets {
                let v = &s.variants()[j];
                assert_eq!(v.id, first[j].id, "variant order differs between sites");
                *votes.entry((v.a1.clone(), v.a2.clone())).or_default() += 1;
            }
            let ((a1, a2), _) = votes
                .into_iter()
                .max_by_key(|(k, n)| (*n, k.clone()))
                .unwrap();
            (first[j].id.clone(), a1, a2)
        })
        .collect()
}

/// One site's complete-case data in canonical (ALT) coding.
struct Site {
    n: usize,
    dosages: Vec<i8>,
    covariates: Vec<f64>,
    phenotype: Vec<f64>,
}

fn load_site(prefix: &Path, canon: &[(String, String, String)]) -> Site {
    let fs = Fileset::open(prefix).unwrap();
    let table = read_pheno(&prefix.with_extension("pheno.tsv")).unwrap();
    let iids: Vec<&str> = fs.samples().iter().map(|s| s.iid.as_str()).collect();
    let m = table.match_samples(&iids);
    let column = |name: &str| -> Vec<Option<f64>> {
        if name == "male" {
            let sex = m.align(&table.numeric("sex").unwrap());
            sex.into_iter()
                .map(|s| s.map(|s| f64::from(u8::from(s == 1.0))))
                .collect()
        } else {
            m.align(&table.numeric(name).unwrap())
        }
    };
    let y = column(PHENOTYPE);
    let covs: Vec<Vec<Option<f64>>> = COVARIATES.iter().map(|c| column(c)).collect();
    let keep: Vec<usize> = (0..iids.len())
        .filter(|&i| y[i].is_some() && covs.iter().all(|c| c[i].is_some()))
        .collect();
    let mut bed = fs.bed_reader().unwrap();
    let (mut buf, mut out) = (Vec::new(), vec![0i8; iids.len()]);
    let mut dosages = Vec::with_capacity(keep.len() * canon.len());
    for (j, (v, (id, a1, _))) in fs.variants().iter().zip(canon).enumerate() {
        assert_eq!(&v.id, id);
        let flip = &v.a1 != a1;
        bed.read_a1_dosages(j, &mut buf, &mut out).unwrap();
        dosages.extend(keep.iter().map(|&i| match out[i] {
            MISSING => MISSING,
            d if flip => 2 - d,
            d => d,
        }));
    }
    Site {
        n: keep.len(),
        dosages,
        covariates: keep
            .iter()
            .flat_map(|&i| covs.iter().map(move |c| c[i].unwrap()))
            .collect(),
        phenotype: keep.iter().map(|&i| y[i].unwrap()).collect(),
    }
}

impl Site {
    fn stats(&self) -> SufficientStats {
        SufficientStats::compute(&LinearData {
            n_samples: self.n,
            dosages: &self.dosages,
            covariates: &self.covariates,
            n_cov: COVARIATES.len(),
            phenotype: &self.phenotype,
        })
        .unwrap()
    }
}

fn expected_glm() -> Vec<(String, u64, f64, f64, f64)> {
    let (h, rows) = read_tsv(&data_dir().join("expected/glm_pooled.full.tsv"));
    let (id, n, b, se, p) = (
        col(&h, "ID"),
        col(&h, "OBS_CT"),
        col(&h, "LIN_BETA"),
        col(&h, "LIN_SE"),
        col(&h, "LIN_P"),
    );
    rows.iter()
        .map(|r| {
            (
                r[id].clone(),
                r[n].parse().unwrap(),
                r[b].parse().unwrap(),
                r[se].parse().unwrap(),
                r[p].parse().unwrap(),
            )
        })
        .collect()
}

#[derive(Default, Debug)]
struct MaxErr {
    beta_rel: f64,
    beta_over_se: f64,
    se_rel: f64,
    log10p: f64,
}

fn compare(rows: &[LinearRow], canon: &[(String, String, String)]) -> MaxErr {
    let exp = expected_glm();
    assert_eq!(exp.len(), rows.len());
    let mut e = MaxErr::default();
    for ((r, (id, n, b, se, p)), (cid, _, _)) in rows.iter().zip(&exp).zip(canon) {
        assert_eq!(id, cid);
        assert_eq!(r.obs_ct, *n, "{id}");
        e.beta_rel = e.beta_rel.max(((r.beta - b) / b).abs());
        e.beta_over_se = e.beta_over_se.max(((r.beta - b) / se).abs());
        e.se_rel = e.se_rel.max(((r.se - se) / se).abs());
        if *p > 1e-300 {
            let d = (r.ln_p / std::f64::consts::LN_10 - p.log10()).abs();
            e.log10p = e.log10p.max(d);
        }
    }
    e
}

/// The library's cohort loader (`parties::cohort`, streaming the `.bed` into the statistics)
/// gives the same known answers as the test's own loader above.
#[test]
fn cohort_loader_matches_statsmodels() {
    use parties::cohort::{
        Covariate, LinearCohort, canonical_alleles as lib_canon, discover_sites,
    };
    let prefixes = discover_sites(&data_dir()).unwrap();
    assert_eq!(prefixes, site_prefixes());
    let canon = lib_canon(&prefixes).unwrap();
    let ours: Vec<(String, String, String)> = canon
        .iter()
        .map(|c| (c.id.clone(), c.alt.clone(), c.other.clone()))
        .collect();
    assert_eq!(ours, canonical_alleles(&prefixes));
    let covs: Vec<Covariate> = ["age", "male=sex==1", "bmi", "smoker"]
        .iter()
        .map(|c| Covariate::parse(c).unwrap())
        .collect();
    let mut pooled: Option<SufficientStats> = None;
    for p in &prefixes {
        let s = LinearCohort::load(p, PHENOTYPE, &covs, None)
            .unwrap()
            .linear_stats(&canon)
            .unwrap();
        match &mut pooled {
            None => pooled = Some(s),
            Some(acc) => acc.add(&s).unwrap(),
        }
    }
    let e = compare(&linear::solve(&pooled.unwrap()), &ours);
    eprintln!("cohort loader vs statsmodels: {e:?}");
    assert!(
        e.beta_rel < 1e-9 && e.se_rel < 1e-9 && e.log10p < 1e-9,
        "{e:?}"
    );
}

#[test]
fn plain_linear_matches_statsmodels() {
    let prefixes = site_prefixes();
    let canon = canonical_alleles(&prefixes);
    let mut pooled: Option<SufficientStats> = None;
    for p in &prefixes {
        let s = load_site(p, &canon).stats();
        match &mut pooled {
            None => pooled = Some(s),
            Some(acc) => acc.add(&s).unwrap(),
        }
    }
    let rows = linear::solve(&pooled.unwrap());
    let e = compare(&rows, &canon);
    eprintln!("plain vs statsmodels: {e:?}");
    assert!(
        e.beta_rel < 1e-9 && e.se_rel < 1e-9 && e.log10p < 1e-9,
        "{e:?}"
    );
}

#[test]
fn plain_freq_matches_freq_tsv() {
    let prefixes = site_prefixes();
    let canon = canonical_alleles(&prefixes);
    let sites: Vec<Site> = prefixes.iter().map(|p| load_site(p, &canon)).collect();
    let pooled = pooled_counts(&sites);
    check_freq(&pooled, &canon);
}

fn pooled_counts(sites: &[Site]) -> Vec<GenotypeCounts> {
    let mut pooled: Vec<GenotypeCounts> = Vec::new();
    for s in sites {
        let c = genotype_counts(&s.dosages, s.n);
        if pooled.is_empty() {
            pooled = c;
        } else {
            pooled = pooled
                .iter()
                .zip(c)
                .map(|(a, b)| a.pooled_with(b))
                .collect();
        }
    }
    pooled
}

fn check_freq(pooled: &[GenotypeCounts], canon: &[(String, String, String)]) {
    let (h, rows) = read_tsv(&data_dir().join("expected/freq.tsv"));
    let (id, alt, ac, obs, miss, fr) = (
        col(&h, "ID"),
        col(&h, "ALT"),
        col(&h, "pooled_alt_count"),
        col(&h, "pooled_allele_obs"),
        col(&h, "pooled_missing_calls"),
        col(&h, "pooled_alt_freq"),
    );
    assert_eq!(rows.len(), pooled.len());
    for ((r, c), (cid, ca1, _)) in rows.iter().zip(pooled).zip(canon) {
        assert_eq!(&r[id], cid);
        assert_eq!(&r[alt], ca1);
        assert_eq!(c.alt_count(), r[ac].parse::<u64>().unwrap());
        assert_eq!(c.allele_obs(), r[obs].parse::<u64>().unwrap());
        assert_eq!(c.missing, r[miss].parse::<u64>().unwrap());
        let f: f64 = r[fr].parse().unwrap();
        assert!((c.alt_freq() - f).abs() <= 1e-11 * f.max(1e-3));
    }
}

#[test]
fn secure_qc_matches_freq_tsv_and_plain_mask() {
    let prefixes = site_prefixes();
    let canon = canonical_alleles(&prefixes);
    let sites: Vec<Site> = prefixes.iter().map(|p| load_site(p, &canon)).collect();
    let n_total: u64 = sites.iter().map(|s| s.n as u64).sum();
    let pooled = pooled_counts(&sites);
    let thresholds = QcThresholds {
        maf_min: 0.05,
        missing_max: 0.012,
        hwe_min_p: None,
    };
    let expect_mask: Vec<bool> = pooled.iter().map(|c| thresholds.passes(c)).collect();
    assert!(expect_mask.iter().any(|&b| b) && expect_mask.iter().any(|&b| !b));
    for reveal in [Reveal::Frequencies, Reveal::PassMaskOnly] {
        let plan = QcPlan {
            n_variants: canon.len(),
            n_total,
            thresholds,
            reveal,
        };
        let run = run_with_dealer(prefixes.len(), 7, |ctx| {
            let me = ctx.me().index();
            let site = load_site(&prefixes[me], &canon);
            let counts = genotype_counts(&site.dosages, site.n);
            Ok(qc::pooled_qc::<Z64, _>(ctx, &plan, &counts).unwrap())
        });
        for p in &run.parties {
            match &p.value {
                QcOutput::Frequencies(rows) => {
                    let c: Vec<GenotypeCounts> = rows.iter().map(|r| r.counts).collect();
                    check_freq(&c, &canon);
                    let m: Vec<bool> = rows.iter().map(|r| r.pass).collect();
                    assert_eq!(m, expect_mask);
                }
                QcOutput::Mask(m) => assert_eq!(m, &expect_mask),
            }
        }
    }
}

#[test]
fn secure_linear_gwas_matches_statsmodels() {
    let prefixes = site_prefixes();
    let canon = canonical_alleles(&prefixes);
    let n_total: u64 = prefixes
        .iter()
        .map(|p| Fileset::open(p).unwrap().samples().len() as u64)
        .sum();
    let plan = LinearPlan {
        n_variants: canon.len(),
        n_cov: COVARIATES.len(),
        n_total,
        fx: FixedPoint::default_for::<Z128>(),
    };
    let run = run_with_dealer(prefixes.len(), 11, |ctx| {
        let me = ctx.me().index();
        let stats = load_site(&prefixes[me], &canon).stats();
        Ok(gwas::linear::<Z128, _>(ctx, &plan, &stats).unwrap())
    });
    for p in &run.parties {
        let e = compare(&p.value, &canon);
        eprintln!(
            "secure vs statsmodels ({}): {e:?}; rounds {} (+{} with the dealer), online bytes sent {}, total {}",
            p.party,
            p.stats.rounds,
            p.stats.prep_rounds,
            p.stats.online_bytes_sent(prefixes.len()),
            p.stats.total_bytes_sent()
        );
        assert!(
            e.beta_rel < 1e-6 && e.se_rel < 1e-6 && e.log10p < 1e-4,
            "{e:?}"
        );
    }
    // The writer produces plink2's table to its print precision.
    let rows = &run.parties[0].value;
    let mut out = Vec::new();
    parties::report::write_glm_linear(
        &mut out,
        canon
            .iter()
            .zip(rows)
            .map(|((id, a1, _), r)| (id.as_str(), a1.as_str(), r)),
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    let plink =
        std::fs::read_to_string(data_dir().join("expected/plink2_glm_pooled.qt.glm.linear"))
            .unwrap();
    let mut differ = 0;
    for (a, b) in text.lines().zip(plink.lines()) {
        let (fa, fb): (Vec<&str>, Vec<&str>) = (a.split('\t').collect(), b.split('\t').collect());
        assert_eq!(fa[..3], fb[..3]);
        for (x, y) in fa[3..].iter().zip(&fb[3..]) {
            if x != y {
                differ += 1;
                let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
                assert!((x - y).abs() <= 1e-5 * y.abs(), "{a} vs {b}");
            }
        }
    }
    eprintln!(
        "writer: {differ} numbers of {} differ from plink2 in the 6th digit",
        3 * (plink.lines().count() - 1)
    );
    assert_eq!(text.lines().count(), plink.lines().count());
}
