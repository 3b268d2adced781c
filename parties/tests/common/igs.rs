//! The scoring / IGS job on `data/small` shared by `score_igs.rs` and `evaluate_small.rs`:
//! site discovery, loading one site (harmonised dosages, covariates, outcomes) and the
//! expected-answers file.

use std::path::{Path, PathBuf};

use mpc_core::wire::SessionId;
use parties::data::agree::{self, AgreedList, KeptList};
use parties::data::harmonize::{HarmonizeOptions, harmonize};
use parties::data::pgs::read_scoring_file;
use parties::data::pheno::read_pheno;
use parties::data::plink::{Fileset, discover_filesets};
use parties::data::score::load_genotypes;

use super::data_dir;

/// The job: outcome and covariates by name. `male` is derived from `sex` (1 = male).
pub(crate) const OUTCOME: &str = "qt";
pub(crate) const BINARY_OUTCOME: &str = "disease";
/// Newton iterations of the logistic IGS (public, from β = 0).
pub(crate) const NEWTON_ITERATIONS: usize = 10;
pub(crate) const COVARIATES: &[&str] = &["age", "male", "bmi", "smoker"];
/// Survival outcome of the Cox IGS (data/small/README.md §c).
pub(crate) const TTE_TIME: &str = "tte_age";
pub(crate) const TTE_EVENT: &str = "tte_event";
pub(crate) const SCORE_FILE: &str = "pgs/PGS_SMALL.txt";

pub(crate) fn site_prefixes() -> Vec<PathBuf> {
    let v: Vec<PathBuf> = discover_filesets(&data_dir())
        .unwrap()
        .into_iter()
        .filter(|p| p.with_extension("pheno.tsv").is_file())
        .collect();
    assert!(v.len() >= 2);
    v
}

/// The agreed variant list of the sites in the data directory: every site's kept list
/// (encoded and decoded as a peer receives it), merged (`parties::data::agree`).
pub(crate) fn agreed_list() -> AgreedList {
    let sid = SessionId(*b"score-igs-agreed");
    let scoring = read_scoring_file(&data_dir().join(SCORE_FILE)).unwrap();
    let lists: Vec<(String, KeptList)> = site_prefixes()
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

/// One site, harmonised against its own `.bim`, then restricted to the list agreed by every
/// site of the data directory ([`agreed_list`]).
pub(crate) struct Site {
    pub(crate) iids: Vec<String>,
    pub(crate) ids: Vec<String>,
    pub(crate) weights: Vec<f64>,
    pub(crate) dosages: Vec<i8>,
    pub(crate) covariates: Vec<f64>,
    pub(crate) outcome: Vec<f64>,
    pub(crate) binary: Vec<f64>,
    /// Survival time (`tte_age`) and event indicator (`tte_event`) for the Cox model.
    pub(crate) tte_time: Vec<f64>,
    pub(crate) tte_event: Vec<f64>,
}

pub(crate) fn load_site(prefix: &Path) -> Site {
    let fs = Fileset::open(prefix).unwrap();
    let scoring = read_scoring_file(&data_dir().join(SCORE_FILE)).unwrap();
    let h = harmonize(&scoring, fs.variants(), &HarmonizeOptions::default()).unwrap();
    let h = agree::restrict(&h, &scoring, fs.variants(), &agreed_list()).unwrap();
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
        tte_time: column(TTE_TIME),
        tte_event: column(TTE_EVENT),
        iids,
    }
}

pub(crate) fn expected_json() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(data_dir().join("expected/expected.json")).unwrap(),
    )
    .unwrap()
}
