//! G1: secure pooled linear GWAS on a dataset directory (issue 6), in memory and over loopback
//! QUIC, against plink2 `--glm` on the pooled plaintext fileset in the same run.
//!
//! Data: `--data DIR` (default: the bundled `data/small`), one site per `NAME.bed/.bim/.fam`
//! with `NAME.pheno.tsv` (as `shared/datagen` writes them; the `large` config is the target
//! size). Phenotype `qt`, covariates `age`, `male` (= `sex` is 1), `bmi`, `smoker`, as in the
//! data's README. `--n S` keeps at most S complete samples per site (0 = all), so two runs with
//! different S show that the bytes do not depend on the number of individuals.
//!
//! Timed:
//! - `local_stats_s_each`: each site streams its `.bed` into the per-variant sufficient
//!   statistics ([`parties::cohort`]); sites run in parallel in a real deployment, so the
//!   secure wall time counts the slowest site (`local_stats_s`).
//! - `wall_s` = `local_stats_s` + the in-memory secure GWAS (sites + dealer as threads);
//!   `quic_wall_s` = `local_stats_s` + the same over loopback QUIC with mutual TLS
//!   ([`parties::session::simulate`]), connection set-up included.
//! - `baseline_s`: plink2 `--glm` (2 threads) on the pooled fileset of the same samples,
//!   written outside the clock, when `plink2` is on `PATH`; otherwise the plaintext pooled
//!   solve ([`circuits::plain::linear::solve`]) and `baseline` says so.
//!
//! Checks: the secure BETA and SE against the plaintext pooled solve (|ΔBETA|/SE and
//! relative SE error ≤ 1e-6, the tolerance), and against plink2's own output when it
//! ran (relative error ≤ 1e-5 on BETA and SE: plink2 prints 6 significant digits).
//! Target (issue 6): `quic_wall_s` ≤ 3 × plink2's wall time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use circuits::gwas::{self, LinearPlan};
use circuits::plain::linear::{self, LinearRow, SufficientStats};
use mpc_core::fixed::FixedPoint;
use mpc_core::ring::Z128;
use parties::cohort::{
    CanonicalVariant, Covariate, LinearCohort, canonical_alleles, discover_sites,
};
use parties::net::NetOptions;
use parties::session::{self, Outcome, SessionRng};
use protocols::ProtocolError;

use super::{Params, Workload};
use crate::error::BenchError;
use crate::harness::run_timed;
use crate::report::{Report, round6};

/// Registry entry.
pub const G1: Workload = Workload {
    name: "G1",
    summary: "secure pooled linear GWAS on --data DIR (default data/small) vs plink2 --glm; \
              size = samples kept per site (0 = all)",
    default_size: 0,
    smoke_size: 0,
    run,
};

/// Phenotype of the GWAS.
pub const PHENOTYPE: &str = "qt";
/// Covariates (`NAME=COLUMN==VALUE` derives an indicator).
pub const COVARIATES: [&str; 4] = ["age", "male=sex==1", "bmi", "smoker"];
/// Target: secure wall time over QUIC ≤ 3 × plink2's.
pub const TARGET_RATIO: f64 = 3.0;
/// The tolerance on BETA (in units of SE) and on SE (relative).
pub const TOLERANCE: f64 = 1e-6;

fn bench_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::BadParams(e.to_string())
}

/// The bundled small data (`data/small` in the repository).
pub fn default_data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/small")
}

fn run(p: &Params) -> Result<Report, BenchError> {
    let dir = p.data_dir.clone().unwrap_or_else(default_data_dir);
    let max = (p.size > 0).then_some(p.size);
    let prefixes = discover_sites(&dir).map_err(bench_err)?;
    let canon = canonical_alleles(&prefixes).map_err(bench_err)?;
    let covs = COVARIATES
        .iter()
        .map(|c| Covariate::parse(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bench_err)?;
    let cohorts = prefixes
        .iter()
        .map(|pre| LinearCohort::load(pre, PHENOTYPE, &covs, max))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bench_err)?;
    let mut local_s = Vec::new();
    let mut stats = Vec::new();
    for c in &cohorts {
        let t = Instant::now();
        stats.push(c.linear_stats(&canon).map_err(bench_err)?);
        local_s.push(t.elapsed().as_secs_f64());
    }
    let local_max = local_s.iter().copied().fold(0.0, f64::max);
    let n_total: u64 = cohorts.iter().map(|c| c.n() as u64).sum();
    let plan = LinearPlan {
        n_variants: canon.len(),
        n_cov: covs.len(),
        n_total,
        fx: FixedPoint::default_for::<Z128>(),
    };
    let n_sites = cohorts.len();

    // Plaintext reference (and fallback baseline).
    let t = Instant::now();
    let mut pooled: Option<SufficientStats> = None;
    for s in &stats {
        match &mut pooled {
            None => pooled = Some(s.clone()),
            Some(acc) => acc.add(s).map_err(bench_err)?,
        }
    }
    let pooled = pooled.ok_or(BenchError::Unreachable("no site"))?;
    let plain = linear::solve(&pooled);
    let plain_s = t.elapsed().as_secs_f64();

    let job = |ctx: &mut protocols::Ctx<'_, protocols::prep::Dealer>| {
        let mine = stats
            .get(ctx.me().index())
            .ok_or(ProtocolError::Unreachable("site statistics"))?;
        gwas::linear::<Z128, _>(ctx, &plan, mine).map_err(|e| match e {
            gwas::GwasError::Protocol(p) => p,
            other => ProtocolError::ApiMisuse(other.to_string()),
        })
    };
    // In memory.
    let timed = run_timed(n_sites, p.seed, job)?;
    // Over loopback QUIC (connection set-up inside the clock).
    let t = Instant::now();
    let outcomes = session::simulate(
        n_sites,
        // A party's local step on 10^4–10^5 variants can take long on a loaded machine: the
        // progress timeout is the benchmark's, not a deployment's.
        &NetOptions {
            timeout: std::time::Duration::from_secs(900),
            ..NetOptions::default()
        },
        SessionRng::InsecureSeed(p.seed),
        job,
    )
    .map_err(|e| BenchError::Net(e.to_string()))?;
    let quic_s = t.elapsed().as_secs_f64();
    let mut quic_bytes = Vec::new();
    let mut quic_rows: Option<Vec<LinearRow>> = None;
    for o in outcomes {
        match o.map_err(|e| BenchError::Net(e.to_string()))? {
            Outcome::Party { value, stats } => {
                quic_bytes.push(stats.online_bytes_sent(n_sites));
                quic_rows.get_or_insert(value);
            }
            Outcome::Dealer { .. } => {}
        }
    }

    // Correctness: every party's rows against the plaintext solve.
    let mut worst = 0.0f64;
    for r in timed
        .parties
        .iter()
        .map(|r| &r.value)
        .chain(quic_rows.as_ref())
    {
        worst = worst.max(max_err(r, &plain));
    }

    // plink2 on the pooled fileset of the same samples.
    let plink = run_plink2(&cohorts, &canon, &covs).map_err(bench_err)?;
    let (baseline_s, baseline) = match &plink {
        Some((s, _)) => (*s, "plink2 --glm (2 threads), pooled fileset, same samples"),
        None => (plain_s, "plaintext pooled solve (plink2 not on PATH)"),
    };
    let wall = local_max + timed.wall_s();
    let quic_wall = local_max + quic_s;
    let mut r = Report::from_timed("G1", p.size, &timed, baseline_s, baseline)
        .with("data_dir", dir.display().to_string())
        .with("sites", n_sites)
        .with("samples", n_total)
        .with("variants", canon.len())
        .with("local_stats_s", round6(local_max))
        .with(
            "local_stats_s_each",
            local_s.iter().map(|s| round6(*s)).collect::<Vec<_>>(),
        )
        .with("mpc_mem_s", round6(timed.wall_s()))
        .with("quic_wall_s", round6(quic_wall))
        .with("quic_bytes_each", quic_bytes.clone())
        .with("plain_solve_s", round6(plain_s))
        .check(
            "quic_bytes_equal_memory",
            quic_bytes == timed.online_bytes(),
        );
    r.wall_s = wall;
    r.wall_s_runs = vec![wall];
    r.max_abs_error = worst;
    r.tolerance = TOLERANCE;
    if let Some((s, rows)) = &plink {
        let e = max_err_plink(&plain, rows, &canon);
        r = r
            .with("plink2_s", round6(*s))
            .with("max_rel_err_vs_plink2", e)
            .check("matches_plink2", e <= 1e-5)
            .target("quic_ratio_vs_plink2", TARGET_RATIO, quic_wall / s);
    }
    Ok(r)
}

/// max over variants of |ΔBETA|/SE and relative |ΔSE| (variants with a finite reference).
fn max_err(got: &[LinearRow], want: &[LinearRow]) -> f64 {
    if got.len() != want.len() {
        return f64::INFINITY;
    }
    got.iter()
        .zip(want)
        .filter(|(_, w)| w.se.is_finite() && w.se > 0.0)
        .map(|(g, w)| {
            ((g.beta - w.beta) / w.se)
                .abs()
                .max(((g.se - w.se) / w.se).abs())
        })
        .fold(0.0, f64::max)
}

/// (ID, BETA, SE) of a plink2 `.glm.linear`.
type PlinkRow = (String, f64, f64);

fn max_err_plink(plain: &[LinearRow], rows: &[PlinkRow], canon: &[CanonicalVariant]) -> f64 {
    if rows.len() != plain.len() {
        return f64::INFINITY;
    }
    let mut worst = 0.0f64;
    for ((r, (id, beta, se)), c) in plain.iter().zip(rows).zip(canon) {
        if id != &c.id {
            return f64::INFINITY;
        }
        // plink2 prints 6 significant digits: compare relative errors.
        if se.is_finite() && *se > 0.0 && *beta != 0.0 {
            worst = worst.max(((r.beta - beta) / beta).abs().max(((r.se - se) / se).abs()));
        }
    }
    worst
}

/// Writes the pooled fileset of the kept samples and runs plink2 `--glm`; `None` when plink2
/// is not on `PATH`. Returns plink2's wall time and its rows.
fn run_plink2(
    cohorts: &[LinearCohort],
    canon: &[CanonicalVariant],
    covs: &[Covariate],
) -> Result<Option<(f64, Vec<PlinkRow>)>, String> {
    if Command::new("plink2").arg("--version").output().is_err() {
        return Ok(None);
    }
    let dir = std::env::temp_dir().join(format!("igs-g1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = (|| {
        let prefix = dir.join("pooled");
        write_pooled(&prefix, cohorts, canon, covs)?;
        let s = |x: &str| prefix.with_extension(x).display().to_string();
        let names: Vec<&str> = covs.iter().map(Covariate::name).collect();
        let t = Instant::now();
        let o = Command::new("plink2")
            .args(["--bfile", &prefix.display().to_string()])
            .args(["--pheno", &s("pheno"), "--pheno-name", PHENOTYPE])
            .args(["--covar", &s("covar"), "--covar-name", &names.join(",")])
            .args([
                "--glm",
                "omit-ref",
                "hide-covar",
                "no-firth",
                "cols=nobs,beta,se,p",
            ])
            .args(["--threads", "2", "--out", &s("glm")])
            .output()
            .map_err(|e| format!("plink2: {e}"))?;
        let secs = t.elapsed().as_secs_f64();
        if !o.status.success() {
            return Err(format!(
                "plink2 --glm failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        let path = dir.join(format!("pooled.glm.{PHENOTYPE}.glm.linear"));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Some((secs, parse_glm(&text)?)))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn parse_glm(text: &str) -> Result<Vec<PlinkRow>, String> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or("empty .glm.linear")?
        .split('\t')
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim_start_matches('#') == name)
            .ok_or(format!(".glm.linear has no {name} column"))
    };
    let (id, beta, se) = (col("ID")?, col("BETA")?, col("SE")?);
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let num = |i: usize| {
                f.get(i)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(f64::NAN)
            };
            Ok((f.get(id).unwrap_or(&"").to_string(), num(beta), num(se)))
        })
        .collect()
}

/// The pooled PLINK 1 fileset (canonical coding, A1 = ALT) of the kept samples, with plink2
/// phenotype and covariate files.
pub(crate) fn write_pooled(
    prefix: &Path,
    cohorts: &[LinearCohort],
    canon: &[CanonicalVariant],
    covs: &[Covariate],
) -> Result<(), String> {
    use std::fmt::Write as _;
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let mut fam = String::new();
    let mut pheno = format!("#FID\tIID\t{PHENOTYPE}\n");
    let mut covar = String::from("#FID\tIID");
    for c in covs {
        covar.push('\t');
        covar.push_str(c.name());
    }
    covar.push('\n');
    for c in cohorts {
        let samples = c.fileset().samples();
        for (row, &i) in c.kept().iter().enumerate() {
            let s = samples.get(i).ok_or("sample index")?;
            let _ = writeln!(fam, "{}\t{}\t0\t0\t0\t-9", s.fid, s.iid);
            let _ = writeln!(
                pheno,
                "{}\t{}\t{}",
                s.fid,
                s.iid,
                c.phenotype.get(row).copied().unwrap_or(f64::NAN)
            );
            let _ = write!(covar, "{}\t{}", s.fid, s.iid);
            for k in 0..c.n_cov {
                let v = c
                    .covariates
                    .get(row * c.n_cov + k)
                    .copied()
                    .unwrap_or(f64::NAN);
                let _ = write!(covar, "\t{v}");
            }
            covar.push('\n');
        }
    }
    let mut bim = String::new();
    for v in canon {
        let _ = writeln!(
            bim,
            "{}\t{}\t0\t{}\t{}\t{}",
            v.chrom, v.id, v.pos, v.alt, v.other
        );
    }
    for (ext, text) in [
        ("fam", &fam),
        ("bim", &bim),
        ("pheno", &pheno),
        ("covar", &covar),
    ] {
        let p = prefix.with_extension(ext);
        std::fs::write(&p, text).map_err(|e| io(&p, e))?;
    }
    // .bed: SNP-major; per variant the kept samples of every site in order, 2 bits each.
    let n: usize = cohorts.iter().map(|c| c.n()).sum();
    let mut bed = vec![0x6c, 0x1b, 0x01];
    let mut readers = cohorts
        .iter()
        .map(|c| c.fileset().bed_reader().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let (mut buf, mut all, mut col) = (Vec::new(), Vec::new(), Vec::with_capacity(n));
    for (j, v) in canon.iter().enumerate() {
        col.clear();
        for (c, r) in cohorts.iter().zip(&mut readers) {
            c.read_canonical(r, j, v, &mut buf, &mut all, &mut col)
                .map_err(|e| e.to_string())?;
        }
        for chunk in col.chunks(4) {
            let mut byte = 0u8;
            for (k, &d) in chunk.iter().enumerate() {
                // PLINK 1: 00 = two A1, 10 = one, 11 = none, 01 = missing.
                let code = match d {
                    2 => 0b00,
                    1 => 0b10,
                    0 => 0b11,
                    _ => 0b01,
                };
                byte |= code << (2 * k);
            }
            bed.push(byte);
        }
    }
    let p = prefix.with_extension("bed");
    std::fs::write(&p, bed).map_err(|e| io(&p, e))
}
