//! The logic of the `igs-mpc` subcommands (the binary only parses arguments and calls these).

#[cfg(feature = "net")]
pub mod demo;
pub mod score;

#[cfg(feature = "net")]
use std::path::{Path, PathBuf};

#[cfg(feature = "net")]
use crate::config::Consortium;
#[cfg(feature = "net")]
use crate::plan::Plan;

/// `igs-mpc approve PLAN --config site.toml`: shows the plan and records the site's approval
/// of its hash in the approvals file. At a site: the plan's cohort size must be the site's
/// number of complete rows of the plan's columns, then `audit::approve`'s checks (DUO consent
/// against the site's catalogue, jurisdiction, disclosure defaults and the site's
/// `[disclosure]` settings, the query ledger), then the approval is signed with the site's
/// identity key and the ledger updated. At the helper: its local consent to serve the plan.
/// Returns the text to print.
#[cfg(feature = "net")]
pub fn approve(plan: &Path, config: &Path) -> Result<String, String> {
    use audit::approval::SiteDataset;
    use audit::{QueryLedger, SitePolicy};

    use crate::audit_io::{approve_plan, disclosure_policy, now_ms, parse_duo};
    use crate::config::site::{Approval, SiteConfig, read_approvals, record_approval};
    use crate::config::{Role, to_hex};
    use crate::plan::PlanHash;

    let cfg = SiteConfig::load(config).map_err(|e| e.to_string())?;
    let plan = Plan::load(plan).map_err(|e| e.to_string())?;
    let consortium = Consortium::load(&cfg.consortium).map_err(|e| e.to_string())?;
    plan.check_parties(&consortium).map_err(|e| e.to_string())?;
    let audit_plan = plan.audit_plan().map_err(|e| e.to_string())?;
    let hash = PlanHash(audit_plan.hash());
    let summary = plan.describe();
    let approvals = read_approvals(&cfg.approvals_file).map_err(|e| e.to_string())?;
    if approvals.iter().any(|a| a.plan_sha256 == hash.to_string()) {
        return Ok(format!(
            "{summary}\nalready approved at {}: plan {hash} ({})",
            cfg.name,
            cfg.approvals_file.display()
        ));
    }
    let me = consortium.id_of(&cfg.name).map_err(|e| e.to_string())?;
    let role = consortium.entry(me).map(|e| e.role);
    let signature = if role == Some(Role::Site) {
        let input = plan
            .inputs()
            .iter()
            .find(|i| i.site == cfg.name)
            .ok_or("the plan declares no input of this site")?;
        let path = cfg
            .datasets
            .get(plan.dataset())
            .and_then(|d| d.pheno.as_ref())
            .ok_or_else(|| format!("`{}` has no phenotype table here", plan.dataset()))?;
        let cols: Vec<&str> = plan.columns().iter().map(String::as_str).collect();
        let rows = crate::cli::demo::site_table(path, &cols)?.rows as u64;
        if rows != input.n {
            return Err(format!(
                "refused [COHORT-SIZE]: the plan declares n = {} at {}, the site has {rows} \
                 complete rows of {}",
                input.n,
                cfg.name,
                cols.join(", ")
            ));
        }
        let mut datasets = Vec::new();
        for (name, d) in &cfg.datasets {
            let duo = d
                .duo
                .iter()
                .map(|c| parse_duo(c).ok_or_else(|| format!("dataset {name}: DUO code {c}")))
                .collect::<Result<Vec<_>, _>>()?;
            datasets.push(SiteDataset {
                name: name.clone(),
                duo,
            });
        }
        let policy = SitePolicy {
            site: cfg.name.clone(),
            disclosure: disclosure_policy(&cfg.disclosure)?,
            datasets,
        };
        let identity = crate::net::Identity::load(&cfg.name, &cfg.key, &cfg.cert)
            .map_err(|e| e.to_string())?;
        let key = identity.audit_key().map_err(|e| e.to_string())?;
        let mut ledger = match std::fs::read(&cfg.ledger_file) {
            Ok(b) => QueryLedger::decode(&b)
                .map_err(|e| format!("{}: {e}", cfg.ledger_file.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => QueryLedger::new(&cfg.name),
            Err(e) => return Err(format!("{}: {e}", cfg.ledger_file.display())),
        };
        let approval = approve_plan(&audit_plan, &policy, &key, &mut ledger)?;
        crate::fsio::write_atomic(&cfg.ledger_file, &ledger.encode())
            .map_err(|e| format!("{}: {e}", cfg.ledger_file.display()))?;
        Some(to_hex(&approval.encode()))
    } else {
        None
    };
    let signed = signature.is_some();
    record_approval(
        &cfg.approvals_file,
        Approval {
            plan_sha256: hash.to_string(),
            approved_at: u64::try_from(now_ms() / 1000).unwrap_or(0),
            summary: summary.clone(),
            signature,
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(format!(
        "{summary}\napproved at {}{}: plan {hash} ({})",
        cfg.name,
        if signed { " (signed)" } else { "" },
        cfg.approvals_file.display()
    ))
}

/// Arguments of `igs-mpc plan`.
#[cfg(feature = "net")]
#[derive(Clone, Debug, clap::Args)]
pub struct PlanArgs {
    /// Consortium file (its parties, signing keys and jurisdictions).
    #[arg(long)]
    pub consortium: PathBuf,
    /// Dataset name (in every site's catalogue).
    #[arg(long)]
    pub dataset: String,
    /// Columns, comma-separated.
    #[arg(long)]
    pub columns: String,
    /// Public cohort size of every site: complete rows of the columns, `SITE=N,…`.
    #[arg(long, value_name = "SITE=N,...")]
    pub n: String,
    /// The dataset's DUO consent codes at every site, comma-separated (GRU, HMB, NPOA,
    /// DS:<term>, TIME:<unix>, DUO:…); each site checks them against its catalogue.
    #[arg(long)]
    pub duo: String,
    /// The declared purpose.
    #[arg(long, default_value = "pooled summary statistics")]
    pub purpose: String,
    /// Minimum individuals per site behind each output.
    #[arg(long, default_value_t = 5)]
    pub k: u32,
    /// Days until the plan expires.
    #[arg(long, default_value_t = 30)]
    pub valid_days: u32,
    /// Coordinators that drive the run and receive the result, comma-separated (default:
    /// every coordinator of the consortium).
    #[arg(long)]
    pub coordinators: Option<String>,
    /// Repeat the computation (load tests).
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Output plan file.
    #[arg(long)]
    pub out: PathBuf,
}

/// `igs-mpc plan`: writes a pooled-statistics plan (fresh run id) for every party of the
/// consortium; returns its hash.
#[cfg(feature = "net")]
pub fn write_plan(a: &PlanArgs) -> Result<String, String> {
    let consortium = Consortium::load(&a.consortium).map_err(|e| e.to_string())?;
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    };
    let n = list(&a.n)
        .iter()
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("--n: `{kv}` is not SITE=N"))?;
            let v: u64 = v
                .parse()
                .map_err(|_| format!("--n: `{kv}` is not SITE=N"))?;
            Ok((k.to_owned(), v))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let coordinators = match &a.coordinators {
        Some(c) => list(c),
        None => consortium
            .coordinators()
            .iter()
            .map(|c| c.name.clone())
            .collect(),
    };
    let run_id = crate::audit_io::random_run_id().map_err(|e| e.to_string())?;
    let not_after = crate::audit_io::now_ms() / 1000 + i64::from(a.valid_days) * 86_400;
    let plan = Plan::pooled_stats(
        &consortium,
        &crate::plan::PlanOptions {
            run_id,
            dataset: a.dataset.clone(),
            columns: list(&a.columns),
            repeat: a.repeat,
            n,
            duo: list(&a.duo),
            purpose: a.purpose.clone(),
            k: a.k,
            not_after,
            coordinators,
        },
    )
    .map_err(|e| e.to_string())?;
    let text = plan.to_toml().map_err(|e| e.to_string())?;
    crate::fsio::write_atomic(&a.out, text.as_bytes())
        .map_err(|e| format!("{}: {e}", a.out.display()))?;
    plan.plan_hash()
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}
