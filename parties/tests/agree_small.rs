//! The agreed variant list across sites (`parties::data::agree`) on the bundled data:
//! - every site of `data/small` agrees: the agreed rows are exactly `pgs/PGS_SMALL.harmonized.tsv`
//!   (README §3), in its order, nothing is dropped for disagreement, and restricting a site's
//!   harmonisation to the agreed list changes nothing;
//! - one site lacks some score variants (a copy of its fileset without every 40th kept variant,
//!   derived here): the agreed list drops exactly those rows, the report names that site for
//!   each of them at every other site, and every site's score on the agreed list equals plink2
//!   `--score` on the same fileset and variants (plink2 prints 6 significant digits:
//!   |Δ| ≤ 5e-6·|x| + 1e-9; skipped without plink2 on PATH) and, exactly, our own score of a
//!   copy of the site with those variants physically removed.
//!
//! Every list goes through the wire encoding (encode, then decode with the session id) as a
//! peer's would.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use mpc_core::wire::SessionId;
use parties::data::agree::{self, AgreeError, KeptList, NotAgreed};
use parties::data::harmonize::{DropReason, Harmonization, HarmonizeOptions, Outcome, harmonize};
use parties::data::pgs::{ScoringFile, read_scoring_file};
use parties::data::plink::{Fileset, discover_filesets};
use parties::data::score::{DEFAULT_BLOCK_BYTES, Imputation, score_fileset};

mod common;
use common::{col, data_dir, read_tsv};

const SESSION: SessionId = SessionId(*b"agree-small-test");

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("igs-mpc-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn scoring() -> ScoringFile {
    read_scoring_file(&data_dir().join("pgs/PGS_SMALL.txt")).unwrap()
}

struct Site {
    name: String,
    fileset: Fileset,
    harmonization: Harmonization,
    /// The list as the other sites receive it (encoded, then decoded).
    list: KeptList,
}

fn site(name: &str, prefix: &Path, score: &ScoringFile) -> Site {
    let fileset = Fileset::open(prefix).unwrap();
    let harmonization = harmonize(score, fileset.variants(), &HarmonizeOptions::default()).unwrap();
    let own = KeptList::from_harmonization(&harmonization, score, fileset.variants()).unwrap();
    let list = KeptList::decode(&own.encode(SESSION).unwrap(), SESSION).unwrap();
    assert_eq!(list, own);
    Site {
        name: name.to_owned(),
        fileset,
        harmonization,
        list,
    }
}

fn small_sites(score: &ScoringFile) -> Vec<Site> {
    let prefixes = discover_filesets(&data_dir()).unwrap();
    assert!(prefixes.len() >= 2);
    prefixes
        .iter()
        .map(|p| site(&p.file_name().unwrap().to_string_lossy(), p, score))
        .collect()
}

fn merge(sites: &[Site], min_overlap: f64) -> Result<agree::Agreement, AgreeError> {
    let lists: Vec<(&str, &KeptList)> = sites.iter().map(|s| (s.name.as_str(), &s.list)).collect();
    agree::merge(&lists, min_overlap)
}

#[test]
fn all_small_sites_agree_on_the_harmonized_list() {
    let score = scoring();
    let sites = small_sites(&score);
    let m = merge(&sites, 0.75).unwrap();
    let (h, rows) = read_tsv(&data_dir().join("pgs/PGS_SMALL.harmonized.tsv"));
    let expected: Vec<&str> = rows.iter().map(|r| r[col(&h, "ID")].as_str()).collect();
    let agreed: Vec<&str> = m
        .agreed
        .variants
        .iter()
        .map(|v| score.rows[v.row as usize].id.as_deref().unwrap())
        .collect();
    assert_eq!(agreed, expected);
    assert_eq!(m.agreed.rows_in as usize, score.rows.len());
    for s in &m.sites {
        assert!(s.dropped.is_empty(), "{}: {:?}", s.site, s.dropped);
        assert_eq!(s.kept, expected.len());
    }
    for s in &sites {
        let r = agree::restrict(&s.harmonization, &score, s.fileset.variants(), &m.agreed).unwrap();
        assert_eq!(r, s.harmonization, "{}", s.name);
    }
    // A different scoring file (one weight changed) is refused by name.
    let mut other = score.clone();
    other.rows[0].weight_text.push('0');
    let odd =
        KeptList::from_harmonization(&sites[0].harmonization, &other, sites[0].fileset.variants())
            .unwrap();
    let e = agree::merge(&[("a", &sites[1].list), ("odd", &odd)], 0.0).unwrap_err();
    assert!(
        matches!(&e, AgreeError::ScoreMismatch { site } if site == "odd"),
        "{e}"
    );
}

/// Writes a copy of the fileset without the variants at `drop` (`.bim` indices).
fn copy_without(fileset: &Fileset, drop: &HashSet<usize>, out: &Path) {
    let src = fileset.prefix();
    std::fs::copy(src.with_extension("fam"), out.with_extension("fam")).unwrap();
    let mut bim = std::fs::File::create(out.with_extension("bim")).unwrap();
    let mut bed = std::fs::File::create(out.with_extension("bed")).unwrap();
    bed.write_all(&[0x6c, 0x1b, 0x01]).unwrap();
    let mut reader = fileset.bed_reader().unwrap();
    let mut raw = Vec::new();
    for (j, v) in fileset.variants().iter().enumerate() {
        if drop.contains(&j) {
            continue;
        }
        writeln!(
            bim,
            "{}\t{}\t{}\t{}\t{}\t{}",
            v.chrom, v.id, v.cm, v.pos, v.a1, v.a2
        )
        .unwrap();
        reader.read_block(j, 1, &mut raw).unwrap();
        bed.write_all(&raw).unwrap();
    }
}

/// plink2 `--score` SCORE1_SUM of a fileset on the given kept variants (site letters).
fn plink2_sums(prefix: &Path, h: &Harmonization, dir: &Path, tag: &str) -> Vec<f64> {
    let score = dir.join(format!("{tag}.score.tsv"));
    let mut f = std::fs::File::create(&score).unwrap();
    writeln!(f, "ID\tA1\tWEIGHT").unwrap();
    for k in &h.kept {
        writeln!(f, "{}\t{}\t{}", k.id, k.effect_allele, k.weight).unwrap();
    }
    drop(f);
    let out = dir.join(tag);
    let o = Command::new("plink2")
        .arg("--bfile")
        .arg(prefix)
        .arg("--score")
        .arg(&score)
        .args(["1", "2", "3", "header", "cols=+scoresums", "--threads", "1"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let (h, rows) = read_tsv(&out.with_extension("sscore"));
    rows.iter()
        .map(|r| r[col(&h, "SCORE1_SUM")].parse().unwrap())
        .collect()
}

#[test]
fn a_site_lacking_variants_shrinks_the_agreed_list_for_everyone() {
    let dir = temp_dir("agree");
    let score = scoring();
    let mut sites = small_sites(&score);
    let last = sites.len() - 1;
    // The last site loses every 40th of its kept variants.
    let lacking: HashSet<usize> = sites[last]
        .harmonization
        .kept
        .iter()
        .step_by(40)
        .map(|k| k.variant_index)
        .collect();
    let lost_rows: HashSet<u32> = sites[last]
        .harmonization
        .kept
        .iter()
        .filter(|k| lacking.contains(&k.variant_index))
        .map(|k| k.row as u32)
        .collect();
    assert!(lost_rows.len() >= 10);
    let reduced = dir.join(format!("{}_reduced", sites[last].name));
    copy_without(&sites[last].fileset, &lacking, &reduced);
    let name = sites[last].name.clone();
    sites[last] = site(&name, &reduced, &score);

    let m = merge(&sites, 0.75).unwrap();
    let agreed_rows: HashSet<u32> = m.agreed.variants.iter().map(|v| v.row).collect();
    let full: HashSet<u32> = sites[0].list.variants.iter().map(|v| v.row).collect();
    assert_eq!(
        agreed_rows,
        full.difference(&lost_rows).copied().collect::<HashSet<_>>()
    );
    for (k, s) in m.sites.iter().enumerate() {
        if k == last {
            assert!(s.dropped.is_empty());
            continue;
        }
        let rows: HashSet<u32> = s.dropped.iter().map(|(r, _)| *r).collect();
        assert_eq!(rows, lost_rows, "{}", s.site);
        for (_, why) in &s.dropped {
            assert_eq!(why, &NotAgreed::MissingAt(vec![name.clone()]));
        }
    }
    // Refused when the minimum overlap is above what is left; the report comes with it.
    let left = m.overlap();
    match merge(&sites, (left + 0.001).min(1.0)) {
        Err(AgreeError::InsufficientOverlap { agreement, .. }) => assert_eq!(*agreement, m),
        other => panic!("expected a refusal, got {other:?}"),
    }

    let plink2 = Command::new("plink2")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    for (k, s) in sites.iter().enumerate() {
        let r = agree::restrict(&s.harmonization, &score, s.fileset.variants(), &m.agreed).unwrap();
        assert_eq!(r.kept.len(), m.agreed.variants.len());
        let dropped_here = r
            .outcomes
            .iter()
            .filter(|o| **o == Outcome::Dropped(DropReason::NotAtAllSites))
            .count();
        assert_eq!(dropped_here, if k == last { 0 } else { lost_rows.len() });
        let ours = score_fileset(&s.fileset, &r, Imputation::Mean, DEFAULT_BLOCK_BYTES).unwrap();
        // The same site with the variants physically removed, harmonised on its own.
        let reference = if k == last {
            s.fileset.prefix().to_path_buf()
        } else {
            let drop: HashSet<usize> = s
                .harmonization
                .kept
                .iter()
                .filter(|v| lost_rows.contains(&(v.row as u32)))
                .map(|v| v.variant_index)
                .collect();
            let out = dir.join(format!("{}_same", s.name));
            copy_without(&s.fileset, &drop, &out);
            out
        };
        let ref_set = Fileset::open(&reference).unwrap();
        let ref_h = harmonize(&score, ref_set.variants(), &HarmonizeOptions::default()).unwrap();
        let theirs =
            score_fileset(&ref_set, &ref_h, Imputation::Mean, DEFAULT_BLOCK_BYTES).unwrap();
        assert_eq!(ours, theirs, "{}", s.name);
        if plink2 {
            let sums = plink2_sums(s.fileset.prefix(), &r, &dir, &s.name);
            assert_eq!(sums.len(), ours.len());
            for (o, p) in ours.iter().zip(&sums) {
                assert!(
                    (o.score_sum - p).abs() <= 5e-6 * p.abs() + 1e-9,
                    "{}: {} vs plink2 {p}",
                    s.name,
                    o.score_sum
                );
            }
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}
