//! The logic of the `igs-mpc` subcommands (the binary only parses arguments and calls these).

#[cfg(feature = "net")]
pub mod demo;
pub mod score;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::Consortium;
use crate::config::site::{Approval, SiteConfig, record_approval};
use crate::plan::Plan;

/// `igs-mpc approve PLAN --config site.toml`: shows the plan and records its hash in the site's
/// approvals file. Returns the text to print.
pub fn approve(plan: &Path, config: &Path) -> Result<String, String> {
    let cfg = SiteConfig::load(config).map_err(|e| e.to_string())?;
    let plan = Plan::load(plan).map_err(|e| e.to_string())?;
    let consortium = Consortium::load(&cfg.consortium).map_err(|e| e.to_string())?;
    plan.check_parties(&consortium).map_err(|e| e.to_string())?;
    let hash = plan.plan_hash().map_err(|e| e.to_string())?;
    let summary = plan.describe();
    let approved_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let new = record_approval(
        &cfg.approvals_file,
        Approval {
            plan_sha256: hash.to_string(),
            approved_at,
            summary: summary.clone(),
        },
    )
    .map_err(|e| e.to_string())?;
    let what = if new { "approved" } else { "already approved" };
    Ok(format!(
        "{summary}\n{what} at {}: plan {hash} ({})",
        cfg.name,
        cfg.approvals_file.display()
    ))
}

/// `igs-mpc plan`: writes a pooled-statistics plan for every party of the consortium; returns
/// its hash.
pub fn write_plan(
    consortium: &Path,
    dataset: &str,
    columns: &str,
    repeat: u32,
    out: &Path,
) -> Result<String, String> {
    let consortium = Consortium::load(consortium).map_err(|e| e.to_string())?;
    let columns = columns
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect();
    let plan =
        Plan::pooled_stats(&consortium, dataset, columns, repeat).map_err(|e| e.to_string())?;
    let text = plan.to_toml().map_err(|e| e.to_string())?;
    crate::fsio::write_atomic(out, text.as_bytes())
        .map_err(|e| format!("{}: {e}", out.display()))?;
    plan.plan_hash()
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}
