//! Known answers for PRS weight fitting on `data/small` (`data/small/README.md` §4d:
//! `expected/ridge_enet_weights.tsv`, `expected.json` → `ridge_enet`). Each MPC party loads
//! its own site only.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use circuits::fit::{self, RidgePlan};
use circuits::plain::prs::{self, SiteAggregates, Standardization};
use circuits::plain::qc::{GenotypeCounts, genotype_counts};
use mpc_core::fixed::FixedPoint;
use mpc_core::ring::Z128;
use parties::data::pheno::read_pheno;
use parties::data::plink::{Fileset, MISSING, discover_filesets};
use protocols::arith;
use protocols::testing::run_with_dealer;

mod common;
use common::{data_dir, read_tsv};

const PHENOTYPE: &str = "qt";
const LAMBDAS: [f64; 3] = [100.0, 1000.0, 10000.0];
/// CG steps of the secure fit.
const CG_STEPS: usize = fit::DEFAULT_CG_STEPS;
const ALPHAS: [f64; 2] = [0.05, 0.02];

fn site_prefixes() -> Vec<PathBuf> {
    let v: Vec<PathBuf> = discover_filesets(&data_dir())
        .unwrap()
        .into_iter()
        .filter(|p| p.with_extension("pheno.tsv").is_file())
        .collect();
    assert!(v.len() >= 2);
    v
}

/// (ID, A1) per variant in canonical coding: the allele order most sites use.
fn canonical_alleles(prefixes: &[PathBuf]) -> Vec<(String, String)> {
    let sets: Vec<Fileset> = prefixes.iter().map(|p| Fileset::open(p).unwrap()).collect();
    let first = sets[0].variants();
    (0..first.len())
        .map(|j| {
            let mut votes: HashMap<String, usize> = HashMap::new();
            for s in &sets {
                let v = &s.variants()[j];
                assert_eq!(v.id, first[j].id);
                *votes.entry(v.a1.clone()).or_default() += 1;
            }
            let (a1, _) = votes
                .into_iter()
                .max_by_key(|(k, n)| (*n, k.clone()))
                .unwrap();
            (first[j].id.clone(), a1)
        })
        .collect()
}

/// One site: ALT dosages (variant-major) and the phenotype of every sample.
struct Site {
    n: usize,
    dosages: Vec<i8>,
    y: Vec<f64>,
}

fn load_site(prefix: &Path, canon: &[(String, String)]) -> Site {
    let fs = Fileset::open(prefix).unwrap();
    let table = read_pheno(&prefix.with_extension("pheno.tsv")).unwrap();
    let iids: Vec<&str> = fs.samples().iter().map(|s| s.iid.as_str()).collect();
    let m = table.match_samples(&iids);
    let y: Vec<f64> = m
        .align(&table.numeric(PHENOTYPE).unwrap())
        .into_iter()
        .map(|v| v.unwrap())
        .collect();
    let mut bed = fs.bed_reader().unwrap();
    let (mut buf, mut out) = (Vec::new(), vec![0i8; iids.len()]);
    let mut dosages = Vec::with_capacity(iids.len() * canon.len());
    for (j, (v, (id, a1))) in fs.variants().iter().zip(canon).enumerate() {
        assert_eq!(&v.id, id);
        let flip = &v.a1 != a1;
        bed.read_a1_dosages(j, &mut buf, &mut out).unwrap();
        dosages.extend(out.iter().map(|&d| match d {
            MISSING => MISSING,
            d if flip => 2 - d,
            d => d,
        }));
    }
    Site {
        n: iids.len(),
        dosages,
        y,
    }
}

fn pooled_counts(sites: &[Site]) -> Vec<GenotypeCounts> {
    let mut pooled: Vec<GenotypeCounts> = Vec::new();
    for s in sites {
        let c = genotype_counts(&s.dosages, s.n);
        pooled = if pooled.is_empty() {
            c
        } else {
            pooled
                .iter()
                .zip(c)
                .map(|(a, b)| a.pooled_with(b))
                .collect()
        };
    }
    pooled
}

/// Expected table: ID, mean, sd, then one weight column per model.
struct Expected {
    ids: Vec<String>,
    mean: Vec<f64>,
    sd: Vec<f64>,
    weights: HashMap<String, Vec<f64>>,
}

fn expected() -> Expected {
    let (h, rows) = read_tsv(&data_dir().join("expected/ridge_enet_weights.tsv"));
    let c = |name: &str| h.iter().position(|x| x == name).unwrap();
    let num = |i: usize| -> Vec<f64> { rows.iter().map(|r| r[i].parse().unwrap()).collect() };
    let weights = h
        .iter()
        .enumerate()
        .skip(4)
        .map(|(i, name)| (name.clone(), num(i)))
        .collect();
    Expected {
        ids: rows.iter().map(|r| r[c("ID")].clone()).collect(),
        mean: num(c("mean")),
        sd: num(c("sd")),
        weights,
    }
}

fn expected_json() -> serde_json::Value {
    let text = std::fs::read_to_string(data_dir().join("expected/expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// max |Δw| / max |w|.
fn rel_err(got: &[f64], want: &[f64]) -> f64 {
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
        / scale
}

struct Fixture {
    canon: Vec<(String, String)>,
    prefixes: Vec<PathBuf>,
    std: Standardization,
    sites: Vec<SiteAggregates>,
    pooled: SiteAggregates,
}

fn fixture() -> Fixture {
    let prefixes = site_prefixes();
    let canon = canonical_alleles(&prefixes);
    let raw: Vec<Site> = prefixes.iter().map(|p| load_site(p, &canon)).collect();
    let std = Standardization::from_counts(&pooled_counts(&raw));
    let t = Instant::now();
    let sites: Vec<SiteAggregates> = raw
        .iter()
        .map(|s| SiteAggregates::compute(&s.dosages, s.n, &s.y, &std).unwrap())
        .collect();
    eprintln!("site aggregates: {:?}", t.elapsed());
    let mut pooled = sites[0].clone();
    for s in &sites[1..] {
        pooled.add(s);
    }
    Fixture {
        canon,
        prefixes,
        std,
        sites,
        pooled,
    }
}

#[test]
fn plain_ridge_and_enet_match_expected() {
    let f = fixture();
    let exp = expected();
    let json = expected_json();
    for (j, (id, _)) in f.canon.iter().enumerate() {
        assert_eq!(id, &exp.ids[j]);
        assert!((f.std.mean[j] - exp.mean[j]).abs() < 1e-11);
        assert!((f.std.sd[j] - exp.sd[j]).abs() < 1e-11);
    }
    let p = f.std.n_variants();
    for j in 0..p {
        assert!((f.pooled.gram[j * p + j] - 1.0).abs() < 1e-12);
        assert!(f.pooled.zsum[j].abs() < 1e-12);
    }
    let nt = f.pooled.n as f64;
    let gb = prs::matvec(&f.pooled.gram, &f.pooled.zty);
    eprintln!(
        "‖b‖² = {}, b'Gb = {}",
        f.pooled.zty.iter().map(|v| v * v).sum::<f64>(),
        gb.iter()
            .zip(&f.pooled.zty)
            .map(|(a, b)| a * b)
            .sum::<f64>()
    );
    for lam in LAMBDAS {
        let (beta, hist) = prs::ridge_cg(&f.pooled.gram, &f.pooled.zty, lam / nt, 200);
        let want = &exp.weights[&format!("ridge_{lam}")];
        let e = rel_err(&beta, want);
        let (b_secure_steps, _) = prs::ridge_cg(&f.pooled.gram, &f.pooled.zty, lam / nt, CG_STEPS);
        let e_steps = rel_err(&b_secure_steps, want);
        assert!(e_steps < 5e-5, "{e_steps}");
        let rss = prs::ridge_rss(&f.pooled, &beta);
        let j = &json["ridge_enet"]["ridge"][format!("{lam:.1}")];
        let obj = rss + lam * beta.iter().map(|b| b * b).sum::<f64>();
        eprintln!(
            "ridge λ={lam}: max|Δw|/max|w| = {e:.2e}, after {CG_STEPS} steps {e_steps:.2e}, relative residual after 60/100/160: {:.1e} {:.1e} {:.1e}, objective {obj} (json {})",
            hist[59], hist[99], hist[159], j["objective"]
        );
        assert!(e < 1e-6, "{e}");
        assert!((obj - j["objective"].as_f64().unwrap()).abs() < 1e-8 * obj);
    }
    for alpha in ALPHAS {
        let (beta, sweeps) = prs::enet_cd(&f.pooled.gram, &f.pooled.zty, alpha, 0.5, 5000, 1e-12);
        let want = &exp.weights[&format!("enet_{alpha}")];
        let e = rel_err(&beta, want);
        let obj = prs::enet_objective(&f.pooled, &beta, alpha, 0.5);
        let j = &json["ridge_enet"]["enet"][format!("{alpha}")];
        eprintln!(
            "enet α={alpha}: max|Δw|/max|w| = {e:.2e} after {sweeps} sweeps, objective {obj} (json {}), nonzero {}",
            j["objective"],
            beta.iter().filter(|b| **b != 0.0).count()
        );
        assert!(e < 1e-6);
        assert!((obj - j["objective"].as_f64().unwrap()).abs() < 1e-9);
    }
    let r2 = prs::ridge_loso_r2(&f.sites, &LAMBDAS, 100);
    eprintln!("LOSO R² (site × λ): {r2:?}");
}

/// The f64 prototype of the planned secure elastic net (FISTA, then an exact solve on the
/// support it found): for α = 0.05, 400 FISTA steps identify the support and signs of
/// scikit-learn's solution and one polish of 100 CG steps matches its weights (the expected
/// file, 1e-4 · max|w|) and passes the KKT check. (α = 0.02 needs more than 800 FISTA
/// steps; see `enet_fista_polish`.)
#[test]
fn plain_enet_fista_polish_alpha_005() {
    let f = fixture();
    let exp = expected();
    let p = f.std.n_variants();
    // An upper bound on λmax(G): 20 power steps, +10 %.
    let lip = prs::power_lmax(&f.pooled.gram, p, 20) * 1.1;
    let sched = prs::EnetSchedule {
        lip,
        fista: 400,
        polish: 100,
        rounds: 0,
        kkt_tol: 1e-6,
    };
    let (b, ok) = prs::enet_fista_polish(&f.pooled.gram, &f.pooled.zty, 0.05, 0.5, &sched);
    let want = &exp.weights["enet_0.05"];
    let e = rel_err(&b, want);
    eprintln!("FISTA 400 + polish 100, α = 0.05: max|Δw|/max|w| = {e:.2e}, KKT {ok}");
    assert!(ok);
    assert!(e < 1e-4, "{e}");
}

#[test]
fn secure_ridge_matches_expected() {
    let f = fixture();
    let exp = expected();
    let p = f.std.n_variants();
    let plan = RidgePlan {
        n_variants: p,
        n_total: f.pooled.n,
        lambdas: LAMBDAS.to_vec(),
        iters: CG_STEPS,
        rhs_shift: fit::DEFAULT_RHS_SHIFT,
        fx: FixedPoint::default_for::<Z128>(),
    };
    let t = Instant::now();
    let run = run_with_dealer(f.prefixes.len(), 21, |ctx| {
        let me = ctx.me().index();
        let site = load_site(&f.prefixes[me], &f.canon);
        let counts = genotype_counts(&site.dosages, site.n);
        let std = fit::standardization::<Z128, _>(ctx, p, &counts).unwrap();
        let agg = SiteAggregates::compute(&site.dosages, site.n, &site.y, &std).unwrap();
        let w = fit::ridge::<Z128, _>(ctx, &plan, &agg).unwrap();
        // Test only: open the weights to compare them with the expected file.
        let open = arith::open(ctx, &w)?;
        Ok((std, plan.fx.decode_slice(&open)))
    });
    let wall = t.elapsed();
    for pr in &run.parties {
        let (std, w) = &pr.value;
        assert_eq!(std, &f.std);
        for (i, lam) in LAMBDAS.iter().enumerate() {
            let want = &exp.weights[&format!("ridge_{lam}")];
            let e = rel_err(&w[i * p..(i + 1) * p], want);
            eprintln!(
                "secure ridge λ={lam} ({}): max|Δw|/max|w| = {e:.2e}",
                pr.party
            );
        }
        eprintln!(
            "{}: rounds {} (+{} with the dealer), online bytes sent {}, total {}",
            pr.party,
            pr.stats.rounds,
            pr.stats.prep_rounds,
            pr.stats.online_bytes_sent(f.prefixes.len()),
            pr.stats.total_bytes_sent()
        );
    }
    for pr in &run.parties {
        let (_, w) = &pr.value;
        for (i, lam) in LAMBDAS.iter().enumerate() {
            let e = rel_err(
                &w[i * p..(i + 1) * p],
                &exp.weights[&format!("ridge_{lam}")],
            );
            // The tolerance for the secure fit: max|Δw|/max|w| ≤ 1e-4 for every λ.
            assert!(e < 1e-4, "λ={lam}: {e}");
        }
    }
    eprintln!("secure ridge wall time (3 parties + dealer, in memory): {wall:?}");
}

/// Block size of the LD-block test.
const LD_BLOCK: usize = 500;

/// The LD-block (block-diagonal Gram) ridge: blocks of at most `LD_BLOCK` consecutive
/// variants within a chromosome. The secure fit must equal the same approximation solved
/// in f64 block by block (1e-4 · max|w|, the tolerance); its distance to the full
/// ridge (the expected file) is the approximation error, reported. With one block covering
/// all variants, `ridge_blocked` is `ridge` (`secure_ridge_matches_expected`).
#[test]
fn secure_ridge_ld_blocks() {
    let f = fixture();
    let exp = expected();
    let p = f.std.n_variants();
    let chrom: Vec<String> = Fileset::open(&f.prefixes[0])
        .unwrap()
        .variants()
        .iter()
        .map(|v| v.chrom.clone())
        .collect();
    let blocks = fit::ld_blocks(&chrom, LD_BLOCK);
    assert!(blocks.len() > 1);
    assert_eq!(fit::ld_blocks(&vec![0u8; p], p), vec![0..p]);
    let plan = RidgePlan {
        n_variants: p,
        n_total: f.pooled.n,
        lambdas: LAMBDAS.to_vec(),
        iters: CG_STEPS,
        rhs_shift: fit::DEFAULT_RHS_SHIFT,
        fx: FixedPoint::default_for::<Z128>(),
    };
    let nt = f.pooled.n as f64;
    // f64 reference of the same approximation: each block solved on its own.
    let reference: Vec<Vec<f64>> = LAMBDAS
        .iter()
        .map(|lam| {
            let mut w = vec![0.0; p];
            for b in &blocks {
                let g: Vec<f64> = b
                    .clone()
                    .flat_map(|i| f.pooled.gram[i * p + b.start..i * p + b.end].to_vec())
                    .collect();
                let (x, _) = prs::ridge_cg(&g, &f.pooled.zty[b.clone()], lam / nt, 400);
                w[b.clone()].copy_from_slice(&x);
            }
            w
        })
        .collect();
    let t = Instant::now();
    let run = run_with_dealer(f.prefixes.len(), 22, |ctx| {
        let me = ctx.me().index();
        let site = load_site(&f.prefixes[me], &f.canon);
        let counts = genotype_counts(&site.dosages, site.n);
        let std = fit::standardization::<Z128, _>(ctx, p, &counts).unwrap();
        let agg = SiteAggregates::compute(&site.dosages, site.n, &site.y, &std).unwrap();
        let w = fit::ridge_blocked::<Z128, _>(ctx, &plan, &agg, &blocks).unwrap();
        // Test only: open the weights.
        let open = arith::open(ctx, &w)?;
        Ok(plan.fx.decode_slice(&open))
    });
    let wall = t.elapsed();
    let pr = &run.parties[0];
    eprintln!(
        "LD blocks of ≤ {LD_BLOCK} ({} blocks): rounds {}, bytes sent per party {}, wall {wall:?}",
        blocks.len(),
        pr.stats.rounds,
        pr.stats.online_bytes_sent(f.prefixes.len())
    );
    for pr in &run.parties {
        for (i, lam) in LAMBDAS.iter().enumerate() {
            let got = &pr.value[i * p..(i + 1) * p];
            let e_ref = rel_err(got, &reference[i]);
            let e_full = rel_err(got, &exp.weights[&format!("ridge_{lam}")]);
            let e_plain_full = rel_err(&reference[i], &exp.weights[&format!("ridge_{lam}")]);
            eprintln!(
                "{} λ={lam}: secure vs f64 block solve {e_ref:.2e}; approximation error vs full ridge: secure {e_full:.2e}, f64 {e_plain_full:.2e}",
                pr.party
            );
            assert!(e_ref < 1e-4, "λ={lam}: {e_ref}");
        }
    }
}
