//! Per-site and pooled R² (linear IGS) and Nagelkerke R² (logistic IGS) of the pooled models,
//! computed in MPC on `data/small` (3 sites as 3 parties + dealer, each loading only its own
//! site); only the statistics (and per-dataset pass bits) are opened.
//!
//! Known answers: `data/derived/per_site_r2.json`, written by `tools/per_site_r2_reference.py`
//! (statsmodels fits on the pooled data, evaluated per site; definitions in its docstring),
//! and, for the pool, `expected.json` → `models.linear_igs` / `models.logistic_igs`.
//! Tolerance: 1e-6 relative on every R² (the secure fits and scores are within ≈ 1e-9 of
//! statsmodels; exp/ln add ≤ 1e-9 relative), 1e-6 absolute on the incremental values.
//! The withheld branch: the same run with one site's outcome made constant (R²) and its
//! labels all 0 (Nagelkerke) must withhold exactly that site.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

use circuits::evaluate::{
    DatasetR2, NAGELKERKE_RULE, PerDataset, R2_RULE, nagelkerke_by_dataset, r2_by_dataset,
};
use circuits::score::{self, ScorePlan, SiteCovariates, SiteDosages};
use mpc_core::fixed::FixedPoint;
use mpc_core::party::PartyId;
use mpc_core::ring::{Ring, Z128};
use mpc_core::share::SharedVec;
use protocols::arith;
use protocols::testing::run_with_dealer;

mod common;
use common::igs::{COVARIATES, NEWTON_ITERATIONS, expected_json, load_site, site_prefixes};

fn derived() -> serde_json::Value {
    let p =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/derived/per_site_r2.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

struct Out {
    linear: Vec<PerDataset<DatasetR2>>,
    logistic: Vec<PerDataset<DatasetR2>>,
    linear_crafted: Vec<PerDataset<DatasetR2>>,
    logistic_crafted: Vec<PerDataset<DatasetR2>>,
    pooled_linear: (f64, f64),
    pooled_logistic: (f64, f64),
}

#[test]
fn per_site_r2_and_nagelkerke_match_reference() {
    let prefixes = site_prefixes();
    let names: Vec<String> = prefixes
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    let meta: Vec<(usize, usize)> = prefixes
        .iter()
        .map(|p| {
            let s = load_site(p);
            (s.iids.len(), s.ids.len())
        })
        .collect();
    let fx = FixedPoint::default_for::<Z128>();
    let plan = ScorePlan {
        n_variants: meta[0].1,
        site_sizes: meta.iter().map(|m| m.0).collect(),
        weight_owner: PartyId(0),
        fx,
    };
    let n = plan.n_total();
    // Datasets: each site (public row ranges), then the pool.
    let mut ranges = Vec::new();
    let mut off = 0;
    for &m in &plan.site_sizes {
        ranges.push(off..off + m);
        off += m;
    }
    ranges.push(0..n);
    let crafted_site = plan.site_sizes.len() - 1;
    let run = run_with_dealer(prefixes.len(), 31, |ctx| {
        let me = ctx.me();
        let site = load_site(&prefixes[me.index()]);
        let weights = (me == plan.weight_owner).then_some(site.weights.as_slice());
        let dos = SiteDosages {
            n_samples: site.iids.len(),
            dosages: &site.dosages,
        };
        let s = score::score::<Z128, _>(ctx, &plan, weights, &dos).unwrap();
        let st = score::standardize(ctx, &s, fx).unwrap();
        let lin = SiteCovariates {
            n_samples: site.iids.len(),
            covariates: &site.covariates,
            outcome: &site.outcome,
        };
        let (lin_fit, fitted, fitted_cov) =
            score::linear_igs_with_fitted(ctx, &plan, COVARIATES.len(), &st.z, &lin).unwrap();
        let bin = SiteCovariates {
            outcome: &site.binary,
            ..lin
        };
        let (log_fit, lp, lp_cov) = score::logistic_igs_with_lps(
            ctx,
            &plan,
            COVARIATES.len(),
            &st.z,
            &bin,
            NEWTON_ITERATIONS,
        )
        .unwrap();
        // Each site inputs its own outcomes: qt in fixed point, disease as integers 0/1.
        let qt: Vec<Z128> = fx.encode_slice(&site.outcome).unwrap();
        let lab: Vec<Z128> = site
            .binary
            .iter()
            .map(|&v| Z128::from_u64(u64::from(v == 1.0)))
            .collect();
        let (mut qp, mut lp_parts) = (Vec::new(), Vec::new());
        for (i, &m) in plan.site_sizes.iter().enumerate() {
            let owner = PartyId(i as u16);
            let own = owner == me;
            qp.push(arith::input(ctx, owner, own.then_some(&qt[..]), m)?);
            lp_parts.push(arith::input(ctx, owner, own.then_some(&lab[..]), m)?);
        }
        let y = SharedVec::concat(&qp.iter().collect::<Vec<_>>());
        let labels = SharedVec::concat(&lp_parts.iter().collect::<Vec<_>>());
        let before = ctx.stats();
        let linear = r2_by_dataset(ctx, &fitted, &fitted_cov, &y, &ranges, fx).unwrap();
        let mid = ctx.stats();
        let logistic = nagelkerke_by_dataset(ctx, &lp, &lp_cov, &labels, &ranges, fx).unwrap();
        let after = ctx.stats();
        let np = ctx.n();
        eprintln!(
            "{me}: per-dataset R² rounds {} bytes {}; Nagelkerke rounds {} bytes {}",
            mid.rounds - before.rounds,
            mid.online_bytes_sent(np) - before.online_bytes_sent(np),
            after.rounds - mid.rounds,
            after.online_bytes_sent(np) - mid.online_bytes_sent(np)
        );
        // Crafted: the last site's outcome constant, its labels all 0.
        let r = ranges[crafted_site].clone();
        let blank = |v: &SharedVec<Z128>| {
            SharedVec::concat(&[
                &v.slice(0, r.start),
                &SharedVec::zeros(r.len()),
                &v.slice(r.end, n - r.end),
            ])
        };
        let linear_crafted =
            r2_by_dataset(ctx, &fitted, &fitted_cov, &blank(&y), &ranges, fx).unwrap();
        let logistic_crafted =
            nagelkerke_by_dataset(ctx, &lp, &lp_cov, &blank(&labels), &ranges, fx).unwrap();
        Ok(Out {
            linear,
            logistic,
            linear_crafted,
            logistic_crafted,
            pooled_linear: (lin_fit.r2, lin_fit.r2_covariates_only),
            pooled_logistic: (log_fit.nagelkerke_r2, log_fit.nagelkerke_r2_covariates_only),
        })
    });
    let want = derived();
    let exp = expected_json();
    let per = &want["per_dataset"];
    let dataset_names: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .chain(std::iter::once("pooled"))
        .collect();
    let check = |what: &str, name: &str, got: &DatasetR2, e: &serde_json::Value, prefix: &str| {
        let key = |s: &str| format!("{prefix}{s}");
        let (a, b, c) = (
            e[key("r2")].as_f64().unwrap(),
            e[key("r2_covariates_only")].as_f64().unwrap(),
            e[key("r2_incremental")].as_f64().unwrap(),
        );
        let (ra, rb) = (
            (got.r2 / a - 1.0).abs(),
            (got.r2_covariates_only / b - 1.0).abs(),
        );
        let dc = (got.r2_incremental - c).abs();
        eprintln!(
            "{name} {what}: {:.10} (rel {ra:.1e}), covariates only {:.10} (rel {rb:.1e}), incremental {:.10} (|Δ| {dc:.1e})",
            got.r2, got.r2_covariates_only, got.r2_incremental
        );
        assert!(ra <= 1e-6 && rb <= 1e-6 && dc <= 1e-6, "{name} {what}");
    };
    for p in &run.parties {
        let o = &p.value;
        assert_eq!(o.linear.len(), dataset_names.len());
        for (d, name) in dataset_names.iter().enumerate() {
            let e = &per[*name];
            check("R²", name, o.linear[d].revealed().unwrap(), e, "");
            check(
                "Nagelkerke R²",
                name,
                o.logistic[d].revealed().unwrap(),
                e,
                "nagelkerke_",
            );
            // Crafted: exactly the blanked site is withheld; the others are unchanged.
            if d == crafted_site {
                assert_eq!(o.linear_crafted[d], PerDataset::Withheld { rule: R2_RULE });
                assert_eq!(
                    o.logistic_crafted[d],
                    PerDataset::Withheld {
                        rule: NAGELKERKE_RULE
                    }
                );
            } else if d < crafted_site {
                // Same data: equal up to the truncations' rounding.
                for (a, b) in [
                    (&o.linear_crafted[d], &o.linear[d]),
                    (&o.logistic_crafted[d], &o.logistic[d]),
                ] {
                    let (a, b) = (a.revealed().unwrap(), b.revealed().unwrap());
                    assert!((a.r2 - b.r2).abs() <= 1e-9, "{name}");
                    assert!((a.r2_covariates_only - b.r2_covariates_only).abs() <= 1e-9);
                }
            } else {
                assert!(o.linear_crafted[d].revealed().is_some());
                assert!(o.logistic_crafted[d].revealed().is_some());
            }
        }
        // The pool against expected.json, and against the model's own pooled statistics.
        let pooled = dataset_names.len() - 1;
        let lin = &exp["models"]["linear_igs"];
        let log = &exp["models"]["logistic_igs"];
        let (l, g) = (
            o.linear[pooled].revealed().unwrap(),
            o.logistic[pooled].revealed().unwrap(),
        );
        for (got, want) in [
            (l.r2, lin["r2"].as_f64().unwrap()),
            (
                l.r2_covariates_only,
                lin["r2_covariates_only"].as_f64().unwrap(),
            ),
            (l.r2_incremental, lin["r2_incremental"].as_f64().unwrap()),
            (g.r2, log["nagelkerke_r2"].as_f64().unwrap()),
            (
                g.r2_covariates_only,
                log["nagelkerke_r2_covariates_only"].as_f64().unwrap(),
            ),
            (
                g.r2_incremental,
                log["nagelkerke_r2_incremental"].as_f64().unwrap(),
            ),
        ] {
            assert!((got / want - 1.0).abs() <= 1e-6, "pooled {got} vs {want}");
        }
        assert!((l.r2 - o.pooled_linear.0).abs() <= 1e-8);
        assert!((l.r2_covariates_only - o.pooled_linear.1).abs() <= 1e-8);
        assert!((g.r2 - o.pooled_logistic.0).abs() <= 1e-8);
        assert!((g.r2_covariates_only - o.pooled_logistic.1).abs() <= 1e-8);
    }
}
