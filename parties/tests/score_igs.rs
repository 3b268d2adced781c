//! Secret-weight scoring, pooled PRS standardisation and the linear IGS model on `data/small`
//! (3 sites as 3 parties + dealer, each loading only its own site), against
//! `expected/score_pooled.full.tsv` and `expected/expected.json` (data/small/README.md §4a, §4c).
//!
//! Scoring takes the default product path (`MatvecPath::Auto`: GLWE on this data, lifted from
//! Z_2^64 to Z_2^128) and, once, the dealer path; both are checked against plink2.
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

use circuits::plain::score as plain;
use circuits::score::{self, MatvecPath, ScoreOptions, ScorePlan, SiteCovariates, SiteDosages};
use mpc_core::fixed::FixedPoint;
use mpc_core::party::PartyId;
use mpc_core::ring::Z128;
use mpc_core::share::SharedVec;
use protocols::arith;
use protocols::testing::run_with_dealer;

mod common;
use common::data_dir;
use common::igs::{COVARIATES, NEWTON_ITERATIONS, Site, expected_json, load_site, site_prefixes};

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

struct Out {
    scores: Vec<f64>,
    /// The same scores over the dealer path.
    dealer_scores: Vec<f64>,
    public_scores: Vec<f64>,
    mean: f64,
    sd: f64,
    igs: score::LinearIgs,
    /// The linear IGS on the public-weight path's scores.
    igs_public: score::LinearIgs,
    logit: score::LogisticIgs,
}

#[test]
fn secret_weight_score_standardisation_and_linear_igs() {
    let prefixes = site_prefixes();
    // Public plan: site sizes and the harmonised variant list (checked equal at every site).
    let meta: Vec<(Vec<String>, Vec<String>)> = prefixes
        .iter()
        .map(|p| {
            let s = load_site(p);
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
        let site = load_site(&prefixes[me.index()]);
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
        // Downstream of the public-weight path: the same standardisation and linear IGS.
        let st_pub = score::standardize(ctx, &sp, fx).unwrap();
        let igs_public = score::linear_igs(ctx, &plan, COVARIATES.len(), &st_pub.z, &cov).unwrap();
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
        // The dealer path (Beaver products instead of GLWE): same known answers.
        let before_dealer = ctx.stats();
        let dealer = ScoreOptions {
            path: MatvecPath::Dealer,
            ..ScoreOptions::default()
        };
        let sd = score::score_with::<Z128, _>(ctx, &plan, &dealer, weights, &dos).unwrap();
        let after_dealer = ctx.stats();
        eprintln!(
            "{me}: secret-weight score, default path (HE) {} rounds / {} bytes; dealer path {} / {}",
            after_score.rounds,
            after_score.online_bytes_sent(n_parties),
            after_dealer.rounds - before_dealer.rounds,
            after_dealer.online_bytes_sent(n_parties) - before_dealer.online_bytes_sent(n_parties),
        );
        // Test only: open the shared scores and moments to compare with the known answers.
        let opened = fx.decode_slice(
            &arith::open(ctx, &SharedVec::concat(&[&s, &st.mean, &st.var, &sp, &sd])).unwrap(),
        );
        let n = s.len();
        Ok(Out {
            scores: opened[..n].to_vec(),
            mean: opened[n],
            sd: opened[n + 1].sqrt(),
            public_scores: opened[n + 2..2 * n + 2].to_vec(),
            dealer_scores: opened[2 * n + 2..].to_vec(),
            igs,
            igs_public,
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
        assert_eq!(o.dealer_scores.len(), iids.len());
        let dealer_abs = o
            .dealer_scores
            .iter()
            .zip(&iids)
            .map(|(s, id)| (s - exp[id.as_str()]).abs())
            .fold(0.0, f64::max);
        eprintln!(
            "party {}: dealer-path score error {dealer_abs:.3e}",
            p.party
        );
        assert!(dealer_abs <= 1e-6, "dealer-path score error {dealer_abs}");
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
        // Both scoring paths give the same numbers downstream: the linear IGS on the
        // public-weight scores equals the secret-weight one (both within 1e-6 absolute of
        // plink2's scores, so the coefficients agree far inside the models' 1e-4).
        let mut path_rel: f64 = 0.0;
        for k in 0..names.len() {
            path_rel = path_rel
                .max(((o.igs_public.coef[k] - o.igs.coef[k]) / o.igs.coef[k]).abs())
                .max(((o.igs_public.se[k] - o.igs.se[k]) / o.igs.se[k]).abs());
        }
        path_rel = path_rel.max(((o.igs_public.r2 - o.igs.r2) / o.igs.r2).abs());
        eprintln!(
            "party {}: public vs secret weights downstream (linear IGS) rel {path_rel:.3e}",
            p.party
        );
        assert!(path_rel <= 1e-6, "paths disagree downstream: {path_rel}");
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
    let sites: Vec<Site> = site_prefixes().iter().map(|p| load_site(p)).collect();
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
