//! `igs-mpc demo`: a real joint computation on the bundled data, every party in this process
//! over loopback QUIC with mutual TLS (the same session code as separate daemons).
//!
//! Sites are discovered from `<site>.pheno.tsv` files in the data directory (default: the
//! bundled `data/small`). Each site aggregates its own rows locally and secret-shares the
//! aggregates; the parties compute the pooled mean and covariance of the chosen columns on
//! shares (`session::demo::pooled_stats`) and open only those. The plaintext answer over the
//! pooled rows is printed next to it, and, when the data directory has
//! `expected/expected.json`, the pooled count and `qt` mean are checked against it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use protocols::error::ProtocolError;

use audit::plan::DuoTerm;

use crate::audit_io::{
    PooledStatsSpec, TRANSCRIPTS_DIR, now_ms, pooled_stats_plan, random_run_id, simulate_audited,
    verify_dir, write_bundle,
};
use crate::config::to_hex;
use crate::data::pheno;
use crate::net::NetOptions;
use crate::session::demo::{PooledStats, Table, plain_pooled_stats, pooled_stats};
use crate::session::{Outcome, SessionRng};

/// Arguments of `igs-mpc demo`.
#[derive(Clone, Debug, clap::Args)]
pub struct DemoArgs {
    /// Data directory with one `<site>.pheno.tsv` per site (default: the bundled data/small).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Numeric phenotype columns to pool, comma-separated.
    #[arg(long, default_value = "age,bmi,qt", value_name = "COLS")]
    pub columns: String,
    /// Output directory: the audit trail goes to OUT/transcripts/ (default: a new directory
    /// under the system temporary directory, named in the report).
    #[arg(long, value_name = "OUT")]
    pub out: Option<PathBuf>,
}

/// The bundled data directory: `data/small` under the current directory if present, else the
/// one next to this crate's sources.
pub fn bundled_data_dir() -> PathBuf {
    let here = PathBuf::from("data/small");
    if here.is_dir() {
        here
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/small")
    }
}

/// Site names and phenotype files found in `dir`, sorted by name.
pub fn discover_sites(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut sites: Vec<(String, PathBuf)> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let name = p
                .file_name()?
                .to_str()?
                .strip_suffix(".pheno.tsv")?
                .to_owned();
            Some((name, p))
        })
        .collect();
    sites.sort();
    if sites.len() < 2 {
        return Err(format!(
            "{}: need at least two <site>.pheno.tsv files",
            dir.display()
        ));
    }
    Ok(sites)
}

/// A site's table of the complete rows of `columns` from a phenotype file.
pub fn site_table(path: &Path, columns: &[&str]) -> Result<Table, String> {
    let t = pheno::read_pheno(path).map_err(|e| e.to_string())?;
    let cols: Vec<Vec<Option<f64>>> = columns
        .iter()
        .map(|c| t.numeric(c).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let mut data = Vec::new();
    let mut rows = 0;
    for i in 0..t.n_rows() {
        let row: Option<Vec<f64>> = cols.iter().map(|c| c.get(i).copied().flatten()).collect();
        if let Some(r) = row {
            data.extend(r);
            rows += 1;
        }
    }
    Ok(Table {
        rows,
        cols: columns.len(),
        data,
    })
}

/// Runs the demo and returns the printed report.
pub fn run(args: &DemoArgs) -> Result<String, String> {
    let dir = args.data_dir.clone().unwrap_or_else(bundled_data_dir);
    let columns: Vec<&str> = args
        .columns
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    if columns.is_empty() {
        return Err("--columns names no column".into());
    }
    let sites = discover_sites(&dir)?;
    let tables: Vec<Table> = sites
        .iter()
        .map(|(_, p)| site_table(p, &columns))
        .collect::<Result<_, _>>()?;
    let d = columns.len();
    let opts = NetOptions::default();
    let run_id = random_run_id().map_err(|e| e.to_string())?;
    let names: Vec<String> = sites.iter().map(|(n, _)| n.clone()).collect();
    let spec = |parties: &[crate::audit_io::PlanParty]| {
        let inputs = parties
            .iter()
            .zip(&tables)
            .map(|(p, t)| (p.name.clone(), t.rows as u64, vec![DuoTerm::Gru]))
            .collect();
        pooled_stats_plan(&PooledStatsSpec {
            run_id,
            dataset: "pheno".into(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            repeat: 1,
            parties: parties.to_vec(),
            inputs,
            purpose: "pooled summary statistics (igs-mpc demo)".into(),
            disease: None,
            k: 5,
            not_after: now_ms() / 1000 + 24 * 3600,
            step_ms: opts.timeout.as_millis() as u64,
        })
    };
    let started = std::time::Instant::now();
    let reveals = [crate::audit_io::OUTPUT_N, crate::audit_io::OUTPUT_MOMENTS];
    let sim = simulate_audited(
        &names,
        &opts,
        SessionRng::Os,
        spec,
        &reveals,
        |ctx, gate| {
            let mine = tables
                .get(ctx.me().index())
                .ok_or(ProtocolError::Unreachable("site index"))?;
            pooled_stats(ctx, mine, d, 1, gate)
        },
    )?;
    let elapsed = started.elapsed();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("igs-mpc-demo-{}", to_hex(&run_id))));
    let trail = out.join(TRANSCRIPTS_DIR);
    write_bundle(&trail, &sim.audit)?;
    let verdict = match verify_dir(&trail) {
        Ok(s) => format!("{s}"),
        Err(f) => format!("{f}"),
    };
    let results = sim.results;
    let mut secure: Option<PooledStats> = None;
    let mut bytes = Vec::new();
    for r in results {
        match r.map_err(|e| e.to_string())? {
            Outcome::Party { value, stats } => {
                bytes.push(stats.total_bytes_sent());
                match &secure {
                    Some(v) if *v != value => return Err("sites disagree on the result".into()),
                    _ => secure = Some(value),
                }
            }
            Outcome::Dealer { .. } => {}
        }
    }
    let secure = secure.ok_or("no computing party")?;
    let plain = plain_pooled_stats(&tables);
    let mut o = report(
        &dir, &sites, &tables, &columns, &secure, &plain, elapsed, &bytes,
    )?;
    o.push_str(&format!(
        "\naudit trail: {} (plan, approvals, transcripts, run record)\n\
         igs-mpc audit verify {}\n{verdict}\n",
        trail.display(),
        trail.display()
    ));
    Ok(o)
}

#[allow(clippy::too_many_arguments, reason = "one report, many parts")]
fn report(
    dir: &Path,
    sites: &[(String, PathBuf)],
    tables: &[Table],
    columns: &[&str],
    secure: &PooledStats,
    plain: &PooledStats,
    elapsed: std::time::Duration,
    bytes: &[u64],
) -> Result<String, String> {
    let d = columns.len();
    let mut o = String::new();
    let w = |e: std::fmt::Error| e.to_string();
    writeln!(o, "igs-mpc demo: pooled statistics on secret shares").map_err(w)?;
    writeln!(o, "data: {}", dir.display()).map_err(w)?;
    for (i, ((name, _), t)) in sites.iter().zip(tables).enumerate() {
        writeln!(
            o,
            "  party P{i} = site {name}: {} complete rows (kept at the site)",
            t.rows
        )
        .map_err(w)?;
    }
    writeln!(
        o,
        "  party P{} = helper (dealer: no data, no outputs)",
        sites.len()
    )
    .map_err(w)?;
    writeln!(
        o,
        "transport: QUIC + mutual TLS 1.3 on 127.0.0.1; security model: semi-honest, \
         dishonest majority, non-colluding dealer"
    )
    .map_err(w)?;
    writeln!(
        o,
        "time: {:.2} s; bytes sent per site: {:?}",
        elapsed.as_secs_f64(),
        bytes
    )
    .map_err(w)?;
    writeln!(
        o,
        "\npooled n = {} (plaintext check: {})",
        secure.n, plain.n
    )
    .map_err(w)?;
    writeln!(
        o,
        "\n{:<8} {:>16} {:>16} {:>10}",
        "column", "mean (secure)", "mean (plain)", "|diff|"
    )
    .map_err(w)?;
    let mut max_diff = 0f64;
    for (j, c) in columns.iter().enumerate() {
        let (s, p) = (
            secure.mean.get(j).copied().unwrap_or(f64::NAN),
            plain.mean.get(j).copied().unwrap_or(f64::NAN),
        );
        max_diff = max_diff.max((s - p).abs());
        writeln!(o, "{c:<8} {s:>16.10} {p:>16.10} {:>10.2e}", (s - p).abs()).map_err(w)?;
    }
    writeln!(o, "\ncovariance (secure / plain):").map_err(w)?;
    for j in 0..d {
        let mut line = format!("{:<8}", columns.get(j).copied().unwrap_or(""));
        for k in 0..d {
            let s = secure.cov.get(j * d + k).copied().unwrap_or(f64::NAN);
            let p = plain.cov.get(j * d + k).copied().unwrap_or(f64::NAN);
            max_diff = max_diff.max((s - p).abs() / p.abs().max(1.0));
            line.push_str(&format!(" {s:>12.6}/{p:<12.6}"));
        }
        writeln!(o, "{line}").map_err(w)?;
    }
    writeln!(
        o,
        "\nmax difference secure vs plaintext: {max_diff:.2e} (fixed point, 40 fractional bits)"
    )
    .map_err(w)?;
    if max_diff > 1e-6 {
        return Err(format!(
            "{o}\nsecure result differs from the plaintext answer"
        ));
    }
    if let Some(check) = expected_check(dir, secure, columns)? {
        writeln!(o, "{check}").map_err(w)?;
    }
    Ok(o)
}

/// Compares with `expected/expected.json` → counts.pooled (n, and qt_mean when `qt` is pooled).
fn expected_check(dir: &Path, s: &PooledStats, columns: &[&str]) -> Result<Option<String>, String> {
    let p = dir.join("expected/expected.json");
    let Ok(text) = std::fs::read_to_string(&p) else {
        return Ok(None);
    };
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?;
    let pooled = v.pointer("/counts/pooled").cloned().unwrap_or_default();
    let mut msg = format!("known answer ({}):", p.display());
    if let Some(n) = pooled.get("n").and_then(serde_json::Value::as_u64) {
        if n != s.n {
            // Rows with a missing value in a pooled column were left out: no like-for-like check.
            return Ok(Some(format!(
                "{msg} n = {n} there, {} complete rows here: not compared",
                s.n
            )));
        }
        msg.push_str(&format!(" n = {n} ok"));
    }
    if let (Some(q), Some(j)) = (
        pooled.get("qt_mean").and_then(serde_json::Value::as_f64),
        columns.iter().position(|c| *c == "qt"),
    ) {
        let got = s.mean.get(j).copied().unwrap_or(f64::NAN);
        if (got - q).abs() > 1e-9 {
            return Err(format!(
                "pooled qt mean {got} differs from the expected {q}"
            ));
        }
        msg.push_str(&format!(
            ", qt mean = {q:.10} ok (|diff| {:.1e})",
            (got - q).abs()
        ));
    }
    Ok(Some(msg))
}
