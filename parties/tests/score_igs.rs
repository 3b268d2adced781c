//! Secret-weight scoring, pooled PRS standardisation and the linear IGS model on `data/small`
//! (3 sites as 3 parties + dealer, each loading only its own site), against
//! `expected/score_pooled.full.tsv` and `expected/expected.json` (data/small/README.md §4a, §4c).
//!
//! Tolerances (Z_2^128, f = 40): scores ≤ 1e-6 absolute, mean and SD ≤ 1e-6 relative, linear
//! IGS coefficients, SE, R² and logistic IGS coefficients, SE, OR per SD and its 95% CI
//! ≤ 1e-4 relative.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use circuits::plain::score as plain;
use circuits::score::{self, ScorePlan, SiteCovariates, SiteDosages};
use mpc_core::fixed::FixedPoint;
use mpc_core::party::PartyId;
use mpc_core::ring::Z128;
use mpc_core::share::SharedVec;
use mpc_core::wire::SessionId;
use parties::data::agree::{self, AgreedList, KeptList};
use parties::data::harmonize::{HarmonizeOptions, harmonize};
use parties::data::pgs::read_scoring_file;
use parties::data::pheno::read_pheno;
use parties::data::plink::{Fileset, discover_filesets};
use parties::data::score::load_genotypes;
use protocols::arith;
use protocols::testing::run_with_dealer;

mod common;
use common::data_dir;

/// The job: outcome and covariates by name. `male` is derived from `sex` (1 = male).
const OUTCOME: &str = "qt";
const BINARY_OUTCOME: &str = "disease";
/// Newton iterations of the logistic IGS (public, from β = 0).
const NEWTON_ITERATIONS: usize = 10;
const COVARIATES: &[&str] = &["age", "male", "bmi", "smoker"];
const SCORE_FILE: &str = "pgs/PGS_SMALL.txt";

fn site_prefixes() -> Vec<PathBuf> {
    let v: Vec<PathBuf> = discover_filesets(&data_dir())
        .unwrap()
        .into_iter()
        .filter(|p| p.with_extension("pheno.tsv").is_file())
        .collect();
    assert!(v.len() >= 2);
    v
}

/// The agreed variant list: every site's kept list (encoded and decoded as a peer receives it),
/// merged (`parties::data::agree`).
fn agreed_list(prefixes: &[PathBuf]) -> AgreedList {
    let sid = SessionId(*b"score-igs-agreed");
    let scoring = read_scoring_file(&data_dir().join(SCORE_FILE)).unwrap();
    let lists: Vec<(String, KeptList)> = prefixes
        .iter()
        .map(|p| {
            let fs = Fileset::open(p).unwrap();
            let h = harmonize(&scoring, fs.variants(), &HarmonizeOptions::default()).unwrap();
            let own = KeptList::from_harmonization(&h, &scoring, fs.variants()).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (
                name,
                KeptList::decode(&own.encode(sid).unwrap(), sid).unwrap(),
            )
        })
        .collect();
    let refs: Vec<(&str, &KeptList)> = lists.iter().map(|(n, l)| (n.as_str(), l)).collect();
    agree::merge(&refs, HarmonizeOptions::default().min_overlap)
        .unwrap()
        .agreed
}

/// One site, harmonised against its own `.bim`, then restricted to the agreed list.
struct Site {
    iids: Vec<String>,
    ids: Vec<String>,
    weights: Vec<f64>,
    dosages: Vec<i8>,
    covariates: Vec<f64>,
    outcome: Vec<f64>,
    binary: Vec<f64>,
}

fn load_site(prefix: &Path, agreed: &AgreedList) -> Site {
    let fs = Fileset::open(prefix).unwrap();
    let scoring = read_scoring_file(&data_dir().join(SCORE_FILE)).unwrap();
    let h = harmonize(&scoring, fs.variants(), &HarmonizeOptions::default()).unwrap();
    let h = agree::restrict(&h, &scoring, fs.variants(), agreed).unwrap();
    let (g, _) = load_genotypes(&fs, &h).unwrap();
    let iids: Vec<String> = fs.samples().iter().map(|s| s.iid.clone()).collect();
    let table = read_pheno(&prefix.with_extension("pheno.tsv")).unwrap();
    let m = table.match_samples(&iids);
    let column = |name: &str| -> Vec<f64> {
        let v = if name == "male" {
            m.align(&table.numeric("sex").unwrap())
                .into_iter()
                .map(|s| s.map(|s| f64::from(u8::from(s == 1.0))))
                .collect()
        } else {
            m.align(&table.numeric(name).unwrap())
        };
        v.into_iter().map(|x| x.expect("complete data")).collect()
    };
    let covs: Vec<Vec<f64>> = COVARIATES.iter().map(|c| column(c)).collect();
    Site {
        ids: h.kept.iter().map(|k| k.id.clone()).collect(),
        weights: h.weights(),
        dosages: g.as_slice().to_vec(),
        covariates: (0..iids.len())
            .flat_map(|i| covs.iter().map(move |c| c[i]))
            .collect(),
        outcome: column(OUTCOME),
        binary: column(BINARY_OUTCOME),
        iids,
    }
}

fn expected_scores() -> HashMap<String, f64> {
    let text = std::fs::read_to_string(data_dir().join("expected/score_pooled.full.tsv")).unwrap();
    let mut lines = text.lines();
    let h: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let (i, s) = (
        h.iter().position(|&c| c == "IID").unwrap(),
        h.iter().position(|&c| c == "SCORE1_SUM").unwrap(),
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[i].to_owned(), f[s].parse().unwrap())
        })
        .collect()
}

fn expected_json() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(data_dir().join("expected/expected.json")).unwrap(),
    )
    .unwrap()
}

struct Out {
    scores: Vec<f64>,
    public_scores: Vec<f64>,
    mean: f64,
    sd: f64,
    igs: score::LinearIgs,
    logit: score::LogisticIgs,
}

#[test]
fn secret_weight_score_standardisation_and_linear_igs() {
    let prefixes = site_prefixes();
    // Public plan: site sizes and the agreed variant list (each site's restriction checked equal).
    let agreed = agreed_list(&prefixes);
    let meta: Vec<(Vec<String>, Vec<String>)> = prefixes
        .iter()
        .map(|p| {
            let s = load_site(p, &agreed);
            (s.iids, s.ids)
        })
        .collect();
    for (_, ids) in &meta {
        assert_eq!(ids, &meta[0].1, "harmonised variant lists differ");
    }
    let fx = FixedPoint::default_for::<Z128>();
    let plan = ScorePlan {
        n_variants: meta[0].1.len(),
        site_sizes: meta.iter().map(|(i, _)| i.len()).collect(),
        weight_owner: PartyId(0),
        fx,
    };
    let run = run_with_dealer(prefixes.len(), 17, |ctx| {
        let me = ctx.me();
        let site = load_site(&prefixes[me.index()], &agreed);
        let weights = (me == plan.weight_owner).then_some(site.weights.as_slice());
        let dos = SiteDosages {
            n_samples: site.iids.len(),
            dosages: &site.dosages,
        };
        let n_parties = ctx.n();
        let s = score::score::<Z128, _>(ctx, &plan, weights, &dos).unwrap();
        let after_score = ctx.stats();
        let st = score::standardize(ctx, &s, fx).unwrap();
        let after_std = ctx.stats();
        let cov = SiteCovariates {
            n_samples: site.iids.len(),
            covariates: &site.covariates,
            outcome: &site.outcome,
        };
        let igs = score::linear_igs(ctx, &plan, COVARIATES.len(), &st.z, &cov).unwrap();
        let after_igs = ctx.stats();
        let bin = SiteCovariates {
            n_samples: site.iids.len(),
            covariates: &site.covariates,
            outcome: &site.binary,
        };
        let logit =
            score::logistic_igs(ctx, &plan, COVARIATES.len(), &st.z, &bin, NEWTON_ITERATIONS)
                .unwrap();
        let after_logit = ctx.stats();
        eprintln!(
            "{me}: logistic IGS rounds {}, online bytes sent {}",
            after_logit.rounds - after_igs.rounds,
            after_logit.online_bytes_sent(n_parties) - after_igs.online_bytes_sent(n_parties)
        );
        // Public-weight path: same numbers.
        let sp = score::score_public_weights::<Z128, _>(ctx, &plan, &site.weights, &dos).unwrap();
        let after_public = ctx.stats();
        eprintln!(
            "{me}: rounds / online bytes sent: score {} / {}, standardise {} / {}, linear IGS {} / {}, public-weight score {} / {}",
            after_score.rounds,
            after_score.online_bytes_sent(n_parties),
            after_std.rounds - after_score.rounds,
            after_std.online_bytes_sent(n_parties) - after_score.online_bytes_sent(n_parties),
            after_igs.rounds - after_std.rounds,
            after_igs.online_bytes_sent(n_parties) - after_std.online_bytes_sent(n_parties),
            after_public.rounds - after_logit.rounds,
            after_public.online_bytes_sent(n_parties) - after_logit.online_bytes_sent(n_parties),
        );
        // Test only: open the shared scores and moments to compare with the known answers.
        let opened = fx.decode_slice(
            &arith::open(ctx, &SharedVec::concat(&[&s, &st.mean, &st.var, &sp])).unwrap(),
        );
        let n = s.len();
        Ok(Out {
            scores: opened[..n].to_vec(),
            mean: opened[n],
            sd: opened[n + 1].sqrt(),
            public_scores: opened[n + 2..].to_vec(),
            igs,
            logit,
        })
    });
    let exp = expected_scores();
    let iids: Vec<&String> = meta.iter().flat_map(|(i, _)| i).collect();
    let json = expected_json();
    let lin = &json["models"]["linear_igs"];
    let std_ = &json["prs_standardization"];
    for p in &run.parties {
        let o = &p.value;
        assert_eq!(o.scores.len(), iids.len());
        let max_abs = o
            .scores
            .iter()
            .zip(&iids)
            .map(|(s, id)| (s - exp[id.as_str()]).abs())
            .fold(0.0, f64::max);
        let public_abs = o
            .public_scores
            .iter()
            .zip(&iids)
            .map(|(s, id)| (s - exp[id.as_str()]).abs())
            .fold(0.0, f64::max);
        assert_eq!(o.public_scores.len(), iids.len());
        assert!(public_abs <= 1e-6, "public-weight score error {public_abs}");
        let mean_rel =
            ((o.mean - std_["mean"].as_f64().unwrap()) / std_["mean"].as_f64().unwrap()).abs();
        let sd_rel = ((o.sd - std_["sd_ddof0"].as_f64().unwrap())
            / std_["sd_ddof0"].as_f64().unwrap())
        .abs();
        let names = ["const", "prs_z", "age", "male", "bmi", "smoker"];
        let mut coef_rel: f64 = 0.0;
        let mut se_rel: f64 = 0.0;
        for (k, name) in names.iter().enumerate() {
            let c = lin["coefficients"][name]["coef"].as_f64().unwrap();
            let se = lin["coefficients"][name]["se"].as_f64().unwrap();
            coef_rel = coef_rel.max(((o.igs.coef[k] - c) / c).abs());
            se_rel = se_rel.max(((o.igs.se[k] - se) / se).abs());
        }
        let rel = |a: f64, key: &str| {
            let b = lin[key].as_f64().unwrap();
            ((a - b) / b).abs()
        };
        let (r2, r2c, r2i, s2) = (
            rel(o.igs.r2, "r2"),
            rel(o.igs.r2_covariates_only, "r2_covariates_only"),
            rel(o.igs.r2_incremental, "r2_incremental"),
            rel(o.igs.sigma2, "sigma2"),
        );
        eprintln!(
            "party {}: score max abs err {max_abs:.3e} (public weights {public_abs:.3e}); mean rel {mean_rel:.3e}, sd rel {sd_rel:.3e}; \
             IGS coef rel {coef_rel:.3e}, se rel {se_rel:.3e}, r2 {r2:.3e}, r2_cov {r2c:.3e}, \
             r2_inc {r2i:.3e}, sigma2 {s2:.3e}; rounds {} (+{} with the dealer), online bytes sent {}, total {}",
            p.party,
            p.stats.rounds,
            p.stats.prep_rounds,
            p.stats.online_bytes_sent(prefixes.len()),
            p.stats.total_bytes_sent()
        );
        let lg = &json["models"]["logistic_igs"];
        let (mut lcoef, mut lse): (f64, f64) = (0.0, 0.0);
        for (k, name) in names.iter().enumerate() {
            let c = lg["coefficients"][name]["coef"].as_f64().unwrap();
            let se = lg["coefficients"][name]["se"].as_f64().unwrap();
            lcoef = lcoef.max(((o.logit.coef[k] - c) / c).abs());
            lse = lse.max(((o.logit.se[k] - se) / se).abs());
        }
        let or = o.logit.coef[1].exp();
        let or_rel = (or / lg["or_per_sd"].as_f64().unwrap() - 1.0).abs();
        let z975 = 1.959963984540054;
        let ci = [
            (o.logit.coef[1] - z975 * o.logit.se[1]).exp(),
            (o.logit.coef[1] + z975 * o.logit.se[1]).exp(),
        ];
        let ci_rel = (0..2)
            .map(|k| (ci[k] / lg["or_ci95"][k].as_f64().unwrap() - 1.0).abs())
            .fold(0.0, f64::max);
        let lrel = |a: f64, key: &str| (a / lg[key].as_f64().unwrap() - 1.0).abs();
        let (llf, lln, nk, nkc, nki) = (
            lrel(o.logit.llf, "llf"),
            lrel(o.logit.llnull, "llnull"),
            lrel(o.logit.nagelkerke_r2, "nagelkerke_r2"),
            lrel(
                o.logit.nagelkerke_r2_covariates_only,
                "nagelkerke_r2_covariates_only",
            ),
            lrel(
                o.logit.nagelkerke_r2 - o.logit.nagelkerke_r2_covariates_only,
                "nagelkerke_r2_incremental",
            ),
        );
        eprintln!(
            "party {}: logistic IGS coef rel {lcoef:.3e}, se rel {lse:.3e}, OR/SD rel {or_rel:.3e}, CI rel {ci_rel:.3e}, \
             llf {llf:.3e}, llnull {lln:.3e}, Nagelkerke {nk:.3e}, covariates-only {nkc:.3e}, incremental {nki:.3e}",
            p.party
        );
        assert!(lcoef <= 1e-4 && lse <= 1e-4 && or_rel <= 1e-4 && ci_rel <= 1e-4);
        assert!(llf <= 1e-4 && lln <= 1e-4 && nk <= 1e-4 && nkc <= 1e-4 && nki <= 1e-4);
        assert!(max_abs <= 1e-6, "score error {max_abs}");
        assert!(mean_rel <= 1e-6 && sd_rel <= 1e-6);
        assert!(coef_rel <= 1e-4 && se_rel <= 1e-4);
        assert!(r2 <= 1e-4 && r2c <= 1e-4 && r2i <= 1e-4 && s2 <= 1e-4);
    }
}

/// The plaintext reference on all sites pooled equals the known answers (tight tolerances:
/// it is f64 throughout).
#[test]
fn plain_reference_matches_expected() {
    let prefixes = site_prefixes();
    let agreed = agreed_list(&prefixes);
    let sites: Vec<Site> = prefixes.iter().map(|p| load_site(p, &agreed)).collect();
    let weights = sites[0].weights.clone();
    let dos: Vec<plain::SiteDosages<'_>> = sites
        .iter()
        .map(|s| plain::SiteDosages {
            n_samples: s.iids.len(),
            dosages: &s.dosages,
        })
        .collect();
    let scores = plain::score_pooled(&dos, &weights);
    let exp = expected_scores();
    let iids: Vec<&String> = sites.iter().flat_map(|s| &s.iids).collect();
    for (s, id) in scores.iter().zip(&iids) {
        let e = exp[id.as_str()];
        assert!((s - e).abs() <= 1e-9 * e.abs().max(1.0), "{id}: {s} vs {e}");
    }
    let (mean, sd, z) = plain::standardize(&scores);
    let json = expected_json();
    let st = &json["prs_standardization"];
    assert!((mean / st["mean"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    assert!((sd / st["sd_ddof0"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    let cov: Vec<f64> = sites.iter().flat_map(|s| s.covariates.clone()).collect();
    let y: Vec<f64> = sites.iter().flat_map(|s| s.outcome.clone()).collect();
    let fit = plain::linear_igs(&z, &cov, COVARIATES.len(), &y).unwrap();
    let lin = &json["models"]["linear_igs"];
    for (k, name) in ["const", "prs_z", "age", "male", "bmi", "smoker"]
        .iter()
        .enumerate()
    {
        let c = lin["coefficients"][name]["coef"].as_f64().unwrap();
        let se = lin["coefficients"][name]["se"].as_f64().unwrap();
        assert!((fit.coef[k] / c - 1.0).abs() < 1e-8, "{name}");
        assert!((fit.se[k] / se - 1.0).abs() < 1e-8, "{name}");
    }
    assert!((fit.r2 / lin["r2"].as_f64().unwrap() - 1.0).abs() < 1e-8);
    let yb: Vec<f64> = sites.iter().flat_map(|s| s.binary.clone()).collect();
    let (coef, se) =
        plain::logistic_igs(&z, &cov, COVARIATES.len(), &yb, NEWTON_ITERATIONS).unwrap();
    let lg = &json["models"]["logistic_igs"];
    for (k, name) in ["const", "prs_z", "age", "male", "bmi", "smoker"]
        .iter()
        .enumerate()
    {
        let c = lg["coefficients"][name]["coef"].as_f64().unwrap();
        let s = lg["coefficients"][name]["se"].as_f64().unwrap();
        assert!((coef[k] / c - 1.0).abs() < 1e-8, "{name}");
        assert!((se[k] / s - 1.0).abs() < 1e-8, "{name}");
    }
    assert!(
        (fit.r2_covariates_only / lin["r2_covariates_only"].as_f64().unwrap() - 1.0).abs() < 1e-8
    );
}
