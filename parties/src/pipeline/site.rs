//! Loading one IGS site: its PLINK fileset harmonised against a scoring file and restricted
//! to the variant list every site agreed on, its covariates (derived indicators included)
//! and outcomes. Errors name the file, the column and the site.

use std::path::{Path, PathBuf};

use mpc_core::wire::SessionId;

use crate::data::agree::{self, AgreedList, KeptList};
use crate::data::harmonize::{HarmonizeOptions, harmonize};
use crate::data::pgs::{ScoringFile, read_scoring_file};
use crate::data::pheno::read_pheno;
use crate::data::plink::Fileset;
use crate::data::score::load_genotypes;

use super::spec::{PipelineJob, parse_derived};

/// A site of the job: its name and PLINK prefix (`<prefix>.pheno.tsv` is its table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteFiles {
    /// The site's name.
    pub name: String,
    /// The PLINK 1 fileset prefix.
    pub prefix: PathBuf,
}

impl SiteFiles {
    /// The phenotype table.
    pub fn pheno(&self) -> PathBuf {
        self.prefix.with_extension("pheno.tsv")
    }
}

/// One loaded site.
#[derive(Clone, Debug)]
pub struct Site {
    /// Sample IIDs in fileset order.
    pub iids: Vec<String>,
    /// Kept variant ids (the agreed list, in agreed order).
    pub ids: Vec<String>,
    /// Harmonised weights of the scoring file (used only by the weight owner).
    pub weights: Vec<f64>,
    /// Dosages, sample-major.
    pub dosages: Vec<i8>,
    /// Covariates, sample-major, in the job's order.
    pub covariates: Vec<f64>,
    /// Quantitative outcome.
    pub outcome: Vec<f64>,
    /// Binary outcome.
    pub binary: Vec<f64>,
    /// Survival time.
    pub tte_time: Vec<f64>,
    /// Event indicator.
    pub tte_event: Vec<f64>,
}

/// Every site of `data_dir`: one per `<site>.pheno.tsv` with `<site>.bed/.bim/.fam`.
pub fn discover(data_dir: &Path) -> Result<Vec<SiteFiles>, String> {
    let job = crate::job::JobFile {
        data_dir: None,
        sites: crate::job::Sites::Auto,
        steps: Vec::new(),
    };
    let sites = job.resolve_sites(data_dir).map_err(|e| e.to_string())?;
    Ok(sites
        .into_iter()
        .filter_map(|s| {
            s.bfile.map(|prefix| SiteFiles {
                name: s.name,
                prefix,
            })
        })
        .collect())
}

/// The scoring files of `<data_dir>/pgs/` (`*.txt`, `*.txt.gz`), sorted, with their key: the
/// `#pgs_id` header, else the file stem.
pub fn scoring_files(data_dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let dir = data_dir.join("pgs");
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut out = Vec::new();
    for e in rd {
        let p = e.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        let Some(f) = p.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        let Some(stem) = f.strip_suffix(".txt").or_else(|| f.strip_suffix(".txt.gz")) else {
            continue;
        };
        let s = read_scoring_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let key = s.metadata_value("pgs_id").unwrap_or(stem).to_owned();
        out.push((key, p));
    }
    out.sort();
    Ok(out)
}

/// Per site: (name, variants kept after harmonisation, rows of the scoring file).
pub type Overlap = Vec<(String, usize, usize)>;

/// The list of variants every site keeps (each site's kept list encoded and decoded as a peer
/// receives it, then merged), and one line per site saying how many it kept.
pub fn agreed_list(
    sites: &[SiteFiles],
    scoring: &ScoringFile,
    session: SessionId,
) -> Result<(AgreedList, Overlap), String> {
    let mut lists = Vec::new();
    let mut overlap = Vec::new();
    for s in sites {
        let fs = Fileset::open(&s.prefix).map_err(|e| format!("site {}: {e}", s.name))?;
        let h = harmonize(scoring, fs.variants(), &HarmonizeOptions::default())
            .map_err(|e| format!("site {}: {e}", s.name))?;
        let own = KeptList::from_harmonization(&h, scoring, fs.variants())
            .map_err(|e| format!("site {}: {e}", s.name))?;
        overlap.push((s.name.clone(), h.kept.len(), scoring.rows.len()));
        let bytes = own
            .encode(session)
            .map_err(|e| format!("site {}: {e}", s.name))?;
        let back =
            KeptList::decode(&bytes, session).map_err(|e| format!("site {}: {e}", s.name))?;
        lists.push((s.name.clone(), back));
    }
    let refs: Vec<(&str, &KeptList)> = lists.iter().map(|(n, l)| (n.as_str(), l)).collect();
    let merged = agree::merge(&refs, HarmonizeOptions::default().min_overlap)
        .map_err(|e| format!("variant agreement: {e}"))?;
    Ok((merged.agreed, overlap))
}

/// A numeric column, aligned to the fileset's samples; every sample must have a value.
pub(crate) fn column(
    table: &crate::data::pheno::PhenoTable,
    m: &crate::data::pheno::SampleMatch,
    job: &PipelineJob,
    name: &str,
    file: &Path,
    site: &str,
) -> Result<Vec<f64>, String> {
    let (src, eq) = match job
        .covariates
        .derived
        .get(name)
        .and_then(|e| parse_derived(e))
    {
        Some((c, v)) => (c, Some(v)),
        None => (name.to_owned(), None),
    };
    let v = table
        .numeric(&src)
        .map_err(|e| format!("site {site}: {}: column `{src}`: {e}", file.display()))?;
    m.align(&v)
        .into_iter()
        .enumerate()
        .map(|(i, x)| match (x, eq) {
            (Some(x), Some(e)) => Ok(f64::from(u8::from(x == e))),
            (Some(x), None) => Ok(x),
            (None, _) => Err(format!(
                "site {site}: {}: column `{src}`: no value for sample {} (the pipeline needs \
                 complete data)",
                file.display(),
                i + 1
            )),
        })
        .collect()
}

/// Loads one site against `scoring`, restricted to `agreed`.
pub fn load_site(
    files: &SiteFiles,
    scoring: &ScoringFile,
    agreed: &AgreedList,
    job: &PipelineJob,
) -> Result<Site, String> {
    let site = files.name.as_str();
    let fs = Fileset::open(&files.prefix).map_err(|e| format!("site {site}: {e}"))?;
    let h = harmonize(scoring, fs.variants(), &HarmonizeOptions::default())
        .map_err(|e| format!("site {site}: {e}"))?;
    let h = agree::restrict(&h, scoring, fs.variants(), agreed)
        .map_err(|e| format!("site {site}: {e}"))?;
    let (g, _) = load_genotypes(&fs, &h).map_err(|e| format!("site {site}: {e}"))?;
    let iids: Vec<String> = fs.samples().iter().map(|s| s.iid.clone()).collect();
    let file = files.pheno();
    let table = read_pheno(&file).map_err(|e| format!("site {site}: {e}"))?;
    let m = table.match_samples(&iids);
    let col = |name: &str| column(&table, &m, job, name, &file, site);
    let covs = job
        .covariates
        .columns
        .iter()
        .map(|c| col(c))
        .collect::<Result<Vec<_>, _>>()?;
    let o = &job.outcomes;
    Ok(Site {
        ids: h.kept.iter().map(|k| k.id.clone()).collect(),
        weights: h.weights(),
        dosages: g.as_slice().to_vec(),
        covariates: (0..iids.len())
            .flat_map(|i| covs.iter().filter_map(move |c| c.get(i).copied()))
            .collect(),
        outcome: col(&o.quantitative)?,
        binary: col(&o.binary)?,
        tte_time: col(&o.time)?,
        tte_event: col(&o.event)?,
        iids,
    })
}
