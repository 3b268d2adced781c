//! S1: pooled secret-weight scoring of every site on a dataset directory (issue 8's bench
//! point), over the default product path (`MatvecPath::Auto`, GLWE at these sizes), against
//! plink2 `--score` on the pooled plaintext fileset in the same run.
//!
//! Data: `--data DIR` (default: the bundled `data/small`), one site per `NAME.bed/.bim/.fam`
//! with `NAME.pheno.tsv`, as G1 reads them (same samples: complete cases of G1's phenotype and
//! covariates; canonical allele coding across sites). `size` = the number of variants scored
//! (the first `size` canonical variants; 0 = all, i.e. genome-wide: 60,000 on `large`).
//!
//! Weights: a secret weight vector held by party 0 (the model owner, also a site), uniform in
//! [−0.1, 0.1) from the seed and rounded to 9 decimals, so plink2 reads exactly the values the
//! owner inputs. Every site scores its samples with `circuits::score::score_with` (mean
//! imputation from the pooled allele frequencies, computed securely); nothing is opened
//! inside the clock.
//!
//! Timed: `load_s` (each site reads its `.bed` into dosages; sites run in parallel in a real
//! deployment, so the slowest counts) and `wall_s` = `load_s` + the in-memory secure scoring
//! (sites + dealer as threads). `baseline_s`: plink2 `--score` (2 threads) on the pooled
//! fileset, written outside the clock; without plink2 on `PATH`, the plaintext pooled
//! reference and `baseline` says so.
//!
//! Checks: secure scores against the plaintext f64 reference (`circuits::plain::score`),
//! |Δ| ≤ 1e-6 (fixed point f = 40: ≈ m·2^−40 per score), and against plink2's `SCORE1_SUM`
//! with |Δ| ≤ 1e-5·max(1, |s|) (plink2 prints 6 significant digits).

use std::process::Command;
use std::time::Instant;

use circuits::plain::score as plain;
use circuits::score::{self, ScoreOptions, ScorePlan, SiteDosages};
use mpc_core::fixed::FixedPoint;
use mpc_core::party::PartyId;
use mpc_core::ring::Z128;
use parties::cohort::{
    CanonicalVariant, Covariate, LinearCohort, canonical_alleles, discover_sites,
};
use protocols::ProtocolError;
use protocols::testing::reconstruct;

use super::g1::{COVARIATES, PHENOTYPE, default_data_dir, write_pooled};
use super::{Params, Workload};
use crate::error::BenchError;
use crate::harness::run_timed;
use crate::report::{Report, round6};

/// Registry entry.
pub const S1: Workload = Workload {
    name: "S1",
    summary: "pooled secret-weight scoring of every site on --data DIR (HE path by default) vs \
              plink2 --score; size = variants scored (0 = all)",
    default_size: 0,
    smoke_size: 0,
    run,
};

/// Largest HE product call: 2^28 entries (≈ 4 GiB at the site while it runs; fewer chunks,
/// fewer repeated queries).
pub const CHUNK_ENTRIES: usize = 1 << 28;
/// Secure vs plaintext reference.
pub const TOLERANCE: f64 = 1e-6;
/// Secure vs plink2 (relative, 6 printed digits).
pub const PLINK_TOLERANCE: f64 = 1e-5;

fn bench_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::BadParams(e.to_string())
}

fn run(p: &Params) -> Result<Report, BenchError> {
    let dir = p.data_dir.clone().unwrap_or_else(default_data_dir);
    let prefixes = discover_sites(&dir).map_err(bench_err)?;
    let mut canon = canonical_alleles(&prefixes).map_err(bench_err)?;
    if p.size > 0 {
        canon.truncate(p.size);
    }
    let m = canon.len();
    let covs = COVARIATES
        .iter()
        .map(|c| Covariate::parse(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bench_err)?;
    let cohorts = prefixes
        .iter()
        .map(|pre| LinearCohort::load(pre, PHENOTYPE, &covs, None))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bench_err)?;
    // Each site's dosages, variant-major, canonical coding.
    let mut load_s = Vec::new();
    let mut dosages: Vec<Vec<i8>> = Vec::new();
    for c in &cohorts {
        let t = Instant::now();
        dosages.push(read_dosages(c, &canon).map_err(bench_err)?);
        load_s.push(t.elapsed().as_secs_f64());
    }
    let load_max = load_s.iter().copied().fold(0.0, f64::max);
    let sizes: Vec<usize> = cohorts.iter().map(LinearCohort::n).collect();
    let n_sites = cohorts.len();
    let weights: Vec<f64> = crate::data::uniform_reals(p.seed.wrapping_add(7), m, -0.1, 0.1)
        .into_iter()
        .map(|w| (w * 1e9).round() / 1e9)
        .collect();

    // Plaintext reference (and fallback baseline).
    let t = Instant::now();
    let sites: Vec<plain::SiteDosages<'_>> = dosages
        .iter()
        .zip(&sizes)
        .map(|(d, &n)| plain::SiteDosages {
            n_samples: n,
            dosages: d,
        })
        .collect();
    let reference = plain::score_pooled(&sites, &weights);
    let plain_s = t.elapsed().as_secs_f64();

    let fx = FixedPoint::default_for::<Z128>();
    let plan = ScorePlan {
        n_variants: m,
        site_sizes: sizes.clone(),
        weight_owner: PartyId(0),
        fx,
    };
    let opts = ScoreOptions {
        max_chunk_entries: CHUNK_ENTRIES,
        ..ScoreOptions::default()
    };
    let timed = run_timed(n_sites, p.seed, |ctx| {
        let me = ctx.me();
        let mine = SiteDosages {
            n_samples: sizes.get(me.index()).copied().unwrap_or(0),
            dosages: dosages
                .get(me.index())
                .ok_or(ProtocolError::Unreachable("site dosages"))?,
        };
        let w = (me == plan.weight_owner).then_some(weights.as_slice());
        score::score_with::<Z128, _>(ctx, &plan, &opts, w, &mine).map_err(|e| match e {
            score::ScoreError::Protocol(p) => p,
            other => ProtocolError::ApiMisuse(other.to_string()),
        })
    })?;
    // Outside the clock: reconstruct (benchmark check only).
    let shares: Vec<Vec<Z128>> = timed
        .parties
        .iter()
        .map(|r| r.value.expose_share().to_vec())
        .collect();
    let secure = fx.decode_slice(&reconstruct(&shares));
    let worst = if secure.len() == reference.len() {
        secure
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    } else {
        f64::INFINITY
    };
    // The path the cost model picked for the largest site, and what the dealer path would move.
    let biggest = sizes.iter().copied().max().unwrap_or(0);
    let chunk_rows = (CHUNK_ENTRIES / (2 * m).max(1)).max(1);
    let cost = score::product_cost(biggest, 2 * m, n_sites, 16, chunk_rows);

    let plink = run_plink2(&cohorts, &canon, &covs, &weights).map_err(bench_err)?;
    let (baseline_s, baseline) = match &plink {
        Some((s, _)) => (
            *s,
            "plink2 --score (2 threads), pooled fileset, same samples",
        ),
        None => (plain_s, "plaintext pooled score (plink2 not on PATH)"),
    };
    let wall = load_max + timed.wall_s();
    let mut r = Report::from_timed("S1", p.size, &timed, baseline_s, baseline)
        .with("data_dir", dir.display().to_string())
        .with("sites", n_sites)
        .with("samples", sizes.iter().sum::<usize>())
        .with("variants", m)
        .with("path", format!("{:?}", opts.path))
        .with(
            "he_chosen_by_cost_model",
            cost.he_bytes.is_some_and(|h| h < cost.dealer_bytes),
        )
        .with(
            "largest_site_dealer_bytes_est",
            cost.dealer_bytes.to_string(),
        )
        .with(
            "largest_site_he_bytes_est",
            cost.he_bytes.map_or("-".into(), |b| b.to_string()),
        )
        .with("load_s", round6(load_max))
        .with(
            "load_s_each",
            load_s.iter().map(|s| round6(*s)).collect::<Vec<_>>(),
        )
        .with("mpc_mem_s", round6(timed.wall_s()))
        .with("plain_score_s", round6(plain_s));
    r.wall_s = wall;
    r.wall_s_runs = vec![wall];
    r.max_abs_error = worst;
    r.tolerance = TOLERANCE;
    if let Some((s, rows)) = &plink {
        let iids: Vec<&str> = cohorts
            .iter()
            .flat_map(|c| {
                let samples = c.fileset().samples();
                c.kept()
                    .iter()
                    .filter_map(move |&i| samples.get(i).map(|s| s.iid.as_str()))
            })
            .collect();
        let e = max_rel_err_plink(&secure, rows, &iids);
        r = r
            .with("plink2_s", round6(*s))
            .with("max_rel_err_vs_plink2", e)
            .check("matches_plink2", e <= PLINK_TOLERANCE);
    }
    Ok(r)
}

/// Variant-major dosages of the cohort's kept samples (negative = missing).
fn read_dosages(c: &LinearCohort, canon: &[CanonicalVariant]) -> Result<Vec<i8>, String> {
    let mut bed = c.fileset().bed_reader().map_err(|e| e.to_string())?;
    let (mut buf, mut all) = (Vec::new(), Vec::new());
    let mut out = Vec::with_capacity(c.n() * canon.len());
    for (j, v) in canon.iter().enumerate() {
        c.read_canonical(&mut bed, j, v, &mut buf, &mut all, &mut out)
            .map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// max over samples of |Δ| / max(1, |plink2|); infinite if the sample lists differ.
fn max_rel_err_plink(secure: &[f64], rows: &[(String, f64)], iids: &[&str]) -> f64 {
    if rows.len() != secure.len() || rows.len() != iids.len() {
        return f64::INFINITY;
    }
    let mut worst = 0.0f64;
    for ((s, (id, want)), iid) in secure.iter().zip(rows).zip(iids) {
        if id != iid {
            return f64::INFINITY;
        }
        worst = worst.max((s - want).abs() / want.abs().max(1.0));
    }
    worst
}

/// Writes the pooled fileset and the score file and runs plink2 `--score` (default mean
/// imputation, `SCORE1_SUM`); `None` when plink2 is not on `PATH`.
fn run_plink2(
    cohorts: &[LinearCohort],
    canon: &[CanonicalVariant],
    covs: &[Covariate],
    weights: &[f64],
) -> Result<Option<(f64, Vec<SscoreRow>)>, String> {
    use std::fmt::Write as _;
    if Command::new("plink2").arg("--version").output().is_err() {
        return Ok(None);
    }
    let dir = std::env::temp_dir().join(format!("igs-s1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = (|| {
        let prefix = dir.join("pooled");
        write_pooled(&prefix, cohorts, canon, covs)?;
        let mut text = String::from("ID\tA1\tWEIGHT\n");
        for (v, w) in canon.iter().zip(weights) {
            let _ = writeln!(text, "{}\t{}\t{w}", v.id, v.alt);
        }
        let score_file = dir.join("weights.tsv");
        std::fs::write(&score_file, text).map_err(|e| format!("{}: {e}", score_file.display()))?;
        let t = Instant::now();
        let o = Command::new("plink2")
            .args(["--bfile", &prefix.display().to_string()])
            .args(["--score", &score_file.display().to_string(), "1", "2", "3"])
            .args(["header", "cols=+scoresums", "--threads", "2"])
            .args(["--out", &dir.join("s1").display().to_string()])
            .output()
            .map_err(|e| format!("plink2: {e}"))?;
        let secs = t.elapsed().as_secs_f64();
        if !o.status.success() {
            return Err(format!(
                "plink2 --score failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        let path = dir.join("s1.sscore");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Some((secs, parse_sscore(&text)?)))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// (IID, SCORE1_SUM) of a plink2 `.sscore`.
type SscoreRow = (String, f64);

fn parse_sscore(text: &str) -> Result<Vec<SscoreRow>, String> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty .sscore")?.split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim_start_matches('#') == name)
            .ok_or(format!(".sscore has no {name} column"))
    };
    let (iid, sum) = (col("IID")?, col("SCORE1_SUM")?);
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let v = f
                .get(sum)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN);
            Ok((f.get(iid).unwrap_or(&"").to_string(), v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bundled small data, 300 variants: within tolerance of the plaintext reference and
    /// of plink2 (when installed).
    #[test]
    fn small_data_matches() {
        let r = run(&Params {
            parties: 3,
            size: 300,
            seed: 5,
            reps: 1,
            data_dir: None,
        })
        .unwrap();
        assert!(r.ok(), "{:?} {:?}", r.max_abs_error, r.checks);
    }

    #[test]
    fn default_data_dir_exists() {
        assert!(default_data_dir().join("README.md").exists());
    }
}
