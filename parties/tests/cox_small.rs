//! Cox proportional hazards IGS (Breslow ties) on `data/small`, against `expected/expected.json`
//! → `models.cox_breslow` (statsmodels PHReg(time = tte_age, status = tte_event,
//! exog = [prs_z, male, bmi, smoker]), data/small/README.md §c).
//!
//! - `plain_reference_matches_statsmodels`: the f64 reference [`circuits::plain::cox`] on the
//!   pooled rows (prs_z from `expected/igs_pooled_predictions.tsv`, matched by IID):
//!   coefficients, SE, llf, HR per SD and its CI within 1e-8 relative.
//! - `secure_cox_matches_statsmodels`: 3 sites as 3 parties + dealer, each loading only its
//!   own site; prs_z from the secret-weight scoring path and the pooled standardisation
//!   (shared, never opened); Z_2^128, f = 40. Coefficients, SE, HR per SD and its CI within
//!   1e-4 relative (the bound); the achieved error is printed and asserted below
//!   [`ACHIEVED`].
//! - `degenerate_cox_data_are_refused_in_mpc`: the event-count guard ([`CoxGuard`]) runs in
//!   MPC before the fit and opens only its pass bit: an all-censored site (the last one, its
//!   events censored in memory) and too few events overall (each site keeping only its first
//!   `min_events_per_site` events) are refused with the rule named; minima equal to the true
//!   counts pass and one more event refuses (the boundary).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::HashMap;
use std::time::Instant;

use circuits::cox::{CoxGuard, SiteSurvival, Z_975, cox_breslow, cox_breslow_guarded};
use circuits::plain::cox as plain;
use circuits::score::{self, ScoreError, ScorePlan, SiteDosages};
use mpc_core::fixed::FixedPoint;
use mpc_core::party::PartyId;
use mpc_core::ring::Z128;
use mpc_core::share::SharedVec;
use protocols::arith;
use protocols::testing::run_with_dealer;

mod common;
use common::igs::{COVARIATES, Site, expected_json, load_site, site_prefixes};
use common::{col, data_dir, read_tsv};

/// The Cox model's covariates (after prs_z), README §c.
const COX_COVARIATES: &[&str] = &["male", "bmi", "smoker"];
/// Newton steps from β = 0 (public).
const COX_ITERATIONS: usize = 6;
/// |t|·2^40 < 2^60: times below 2^20 years.
const TIME_BITS: u32 = 60;
/// Relative error bound asserted for the secure fit (well inside the 1e-4).
const ACHIEVED: f64 = 1e-9;

/// This site's Cox covariates, sample-major, picked by name from the loaded covariates.
fn cox_covariates(site: &Site) -> Vec<f64> {
    let idx: Vec<usize> = COX_COVARIATES
        .iter()
        .map(|c| COVARIATES.iter().position(|k| k == c).unwrap())
        .collect();
    let k = COVARIATES.len();
    (0..site.iids.len())
        .flat_map(|i| idx.iter().map(move |&j| (i, j)))
        .map(|(i, j)| site.covariates[i * k + j])
        .collect()
}

fn rel(a: f64, b: f64) -> f64 {
    (a / b - 1.0).abs()
}

struct Expected {
    coef: Vec<f64>,
    se: Vec<f64>,
    llf: f64,
    hr: f64,
    ci: [f64; 2],
    n: usize,
}

fn expected() -> Expected {
    let json = expected_json();
    let e = &json["models"]["cox_breslow"];
    let names = std::iter::once("prs_z").chain(COX_COVARIATES.iter().copied());
    let (coef, se) = names
        .map(|k| {
            let c = &e["coefficients"][k];
            (c["coef"].as_f64().unwrap(), c["se"].as_f64().unwrap())
        })
        .unzip();
    Expected {
        coef,
        se,
        llf: e["llf"].as_f64().unwrap(),
        hr: e["hr_per_sd"].as_f64().unwrap(),
        ci: [
            e["hr_ci95"][0].as_f64().unwrap(),
            e["hr_ci95"][1].as_f64().unwrap(),
        ],
        n: e["n"].as_u64().unwrap() as usize,
    }
}

#[test]
fn plain_reference_matches_statsmodels() {
    let (h, rows) = read_tsv(&data_dir().join("expected/igs_pooled_predictions.tsv"));
    let (ci, cz) = (col(&h, "IID"), col(&h, "prs_z"));
    let prs_z: HashMap<String, f64> = rows
        .iter()
        .map(|r| (r[ci].clone(), r[cz].parse().unwrap()))
        .collect();
    let p = COX_COVARIATES.len() + 1;
    let (mut x, mut time, mut event) = (Vec::new(), Vec::new(), Vec::new());
    for prefix in site_prefixes() {
        let site = load_site(&prefix);
        let cov = cox_covariates(&site);
        for (i, iid) in site.iids.iter().enumerate() {
            x.push(prs_z[iid]);
            x.extend_from_slice(&cov[i * (p - 1)..(i + 1) * (p - 1)]);
        }
        time.extend_from_slice(&site.tte_time);
        event.extend_from_slice(&site.tte_event);
    }
    let e = expected();
    assert_eq!(time.len(), e.n);
    for iters in [4, 6, COX_ITERATIONS, 12] {
        let fit = plain::cox_breslow(&x, p, &time, &event, iters).unwrap();
        let worst = fit
            .coef
            .iter()
            .zip(&e.coef)
            .chain(fit.se.iter().zip(&e.se))
            .map(|(a, b)| rel(*a, *b))
            .fold(0.0, f64::max);
        eprintln!(
            "plain Cox, {iters} Newton steps: worst relative error of β, SE {worst:.2e}, llf {:.12} (expected {:.12}), max |η| {:.3}, events {}",
            fit.llf, e.llf, fit.max_abs_eta, fit.events
        );
        if iters >= COX_ITERATIONS {
            assert!(worst <= 1e-8, "{iters} steps: {worst:e}");
            assert!(rel(fit.llf, e.llf) <= 1e-8);
            let (b, s) = (fit.coef[0], fit.se[0]);
            assert!(rel(b.exp(), e.hr) <= 1e-8);
            assert!(rel((b - Z_975 * s).exp(), e.ci[0]) <= 1e-8);
            assert!(rel((b + Z_975 * s).exp(), e.ci[1]) <= 1e-8);
        }
    }
}

#[test]
fn secure_cox_matches_statsmodels() {
    let prefixes = site_prefixes();
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
    let start = Instant::now();
    let run = run_with_dealer(prefixes.len(), 31, |ctx| {
        let me = ctx.me();
        let site = load_site(&prefixes[me.index()]);
        let n_parties = ctx.n();
        let weights = (me == plan.weight_owner).then_some(site.weights.as_slice());
        let dos = SiteDosages {
            n_samples: site.iids.len(),
            dosages: &site.dosages,
        };
        let s = score::score::<Z128, _>(ctx, &plan, weights, &dos).unwrap();
        let st = score::standardize(ctx, &s, fx).unwrap();
        let cov = cox_covariates(&site);
        let mine = SiteSurvival {
            n_samples: site.iids.len(),
            covariates: &cov,
            time: &site.tte_time,
            event: &site.tte_event,
        };
        let before = ctx.stats();
        let t0 = Instant::now();
        let fit = cox_breslow(
            ctx,
            &plan,
            COX_COVARIATES.len(),
            &st.z,
            &mine,
            COX_ITERATIONS,
            TIME_BITS,
        )
        .unwrap();
        let after = ctx.stats();
        eprintln!(
            "{me}: Cox (n = {}, {COX_ITERATIONS} Newton steps): rounds {}, online bytes sent {}, {:.2} s, sort levels {}",
            fit.n,
            after.rounds - before.rounds,
            after.online_bytes_sent(n_parties) - before.online_bytes_sent(n_parties),
            t0.elapsed().as_secs_f64(),
            fit.sort.levels
        );
        Ok(fit)
    });
    eprintln!(
        "whole run (scoring + Cox): {:.2} s",
        start.elapsed().as_secs_f64()
    );
    let e = expected();
    for p in &run.parties {
        let fit = &p.value;
        assert_eq!(fit.n, e.n);
        let mut worst = 0.0f64;
        for (what, got, want) in [("coef", &fit.coef, &e.coef), ("se", &fit.se, &e.se)] {
            for (k, (a, b)) in got.iter().zip(want).enumerate() {
                let r = rel(*a, *b);
                worst = worst.max(r);
                eprintln!("{} {what}[{k}] {a:.12} vs {b:.12} (rel {r:.1e})", p.party);
                assert!(r <= 1e-4, "{what}[{k}] {a} vs {b}");
            }
        }
        for (what, a, b) in [
            ("HR/SD", fit.hr_per_sd, e.hr),
            ("CI lo", fit.hr_ci95[0], e.ci[0]),
            ("CI hi", fit.hr_ci95[1], e.ci[1]),
        ] {
            let r = rel(a, b);
            worst = worst.max(r);
            eprintln!("{} {what} {a:.12} vs {b:.12} (rel {r:.1e})", p.party);
            assert!(r <= 1e-4, "{what} {a} vs {b}");
        }
        eprintln!("{}: worst relative error {worst:.2e}", p.party);
        assert!(
            worst <= ACHIEVED,
            "worst {worst:e} above the stated {ACHIEVED:e}"
        );
    }
}

/// How a site's events are altered before the guarded fit.
#[derive(Clone, Copy)]
enum Craft {
    /// Unchanged.
    None,
    /// Every event of the last site censored.
    CensorLastSite,
    /// Every site keeps only its first `k` events.
    KeepFirst(usize),
}

/// One guarded Cox run (1 Newton step) on the sites' own data with events crafted as asked;
/// z is a site-input stand-in (the guard runs before the fit). Returns the fit or its error
/// message at every party.
fn guarded_run(craft: Craft, guard: CoxGuard) -> Vec<Result<(), String>> {
    let prefixes = site_prefixes();
    let sites: Vec<Site> = prefixes.iter().map(|p| load_site(p)).collect();
    let fx = FixedPoint::default_for::<Z128>();
    let plan = ScorePlan {
        n_variants: 0,
        site_sizes: sites.iter().map(|s| s.iids.len()).collect(),
        weight_owner: PartyId(0),
        fx,
    };
    let last = sites.len() - 1;
    let run = run_with_dealer(sites.len(), 37, |ctx| {
        let me = ctx.me().index();
        let site = &sites[me];
        let mut event = site.tte_event.clone();
        match craft {
            Craft::None => {}
            Craft::CensorLastSite if me == last => event.iter_mut().for_each(|e| *e = 0.0),
            Craft::CensorLastSite => {}
            Craft::KeepFirst(k) => {
                let mut seen = 0;
                for e in &mut event {
                    if *e == 1.0 {
                        seen += 1;
                        if seen > k {
                            *e = 0.0;
                        }
                    }
                }
            }
        }
        let age_col = COVARIATES.iter().position(|c| *c == "age").unwrap();
        let z_local: Vec<Z128> = (0..site.iids.len())
            .map(|i| fx.encode((site.covariates[i * COVARIATES.len() + age_col] - 55.0) / 10.0))
            .collect::<Result<_, _>>()
            .unwrap();
        let mut parts = Vec::new();
        for (i, &m) in plan.site_sizes.iter().enumerate() {
            let owner = PartyId(i as u16);
            parts.push(arith::input(
                ctx,
                owner,
                (i == me).then_some(&z_local[..]),
                m,
            )?);
        }
        let z = SharedVec::concat(&parts.iter().collect::<Vec<_>>());
        let cov = cox_covariates(site);
        let mine = SiteSurvival {
            n_samples: site.iids.len(),
            covariates: &cov,
            time: &site.tte_time,
            event: &event,
        };
        let before = ctx.stats();
        let r = cox_breslow_guarded(
            ctx,
            &plan,
            COX_COVARIATES.len(),
            &z,
            &mine,
            1,
            TIME_BITS,
            &guard,
        );
        if matches!(r, Err(ScoreError::Refused(_))) {
            let after = ctx.stats();
            eprintln!(
                "P{me}: refused after {} rounds, {} online bytes sent",
                after.rounds - before.rounds,
                after.online_bytes_sent(ctx.n()) - before.online_bytes_sent(ctx.n())
            );
        }
        Ok(r.map(|_| ()).map_err(|e| e.to_string()))
    });
    run.parties.into_iter().map(|p| p.value).collect()
}

#[test]
fn degenerate_cox_data_are_refused_in_mpc() {
    let default = CoxGuard::default();
    let p = COX_COVARIATES.len() + 1;
    let refused = |r: &[Result<(), String>], why: &str| {
        for x in r {
            let e = x.as_ref().expect_err(why);
            assert!(e.contains("COX-MIN-EVENTS"), "{why}: {e}");
        }
    };
    // An all-censored site.
    refused(
        &guarded_run(Craft::CensorLastSite, default),
        "all-censored site",
    );
    // Too few events overall, every site at its minimum.
    let k = usize::try_from(default.min_events_per_site).unwrap();
    let n_sites = site_prefixes().len() as u64;
    assert!(n_sites * default.min_events_per_site < default.min_events_per_regressor * p as u64);
    refused(
        &guarded_run(Craft::KeepFirst(k), default),
        "too few events overall",
    );
    // The boundary, from the plaintext counts (test-side knowledge only).
    let counts: Vec<u64> = site_prefixes()
        .iter()
        .map(|q| load_site(q).tte_event.iter().filter(|&&e| e == 1.0).count() as u64)
        .collect();
    let total: u64 = counts.iter().sum();
    let min_site = *counts.iter().min().unwrap();
    let at = CoxGuard {
        min_events_per_site: min_site,
        min_events_per_regressor: total / p as u64,
    };
    for r in guarded_run(Craft::None, at) {
        r.unwrap();
    }
    let above = CoxGuard {
        min_events_per_site: min_site + 1,
        ..at
    };
    refused(
        &guarded_run(Craft::None, above),
        "one event above a site's count",
    );
}
