//! Known-answer tests on the bundled simulated data (`data/small`, see its README):
//! harmonisation report vs `pgs/PGS_SMALL.{harmonized,dropped}.tsv` and `expected.json`,
//! the `.bed` reader vs `expected/freq.tsv`, and scores vs `expected/score_*.full.tsv`.
//!
//! Score tolerance: |ours − expected| ≤ 1e-9 · |expected| + 1e-11 (the expected files carry 12
//! significant digits); integer columns must be equal.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use parties::data::genotypes::Genotypes;
use parties::data::harmonize::{
    DropReason, Harmonization, HarmonizeOptions, KeepAction, Outcome, harmonize,
};
use parties::data::pgs::{ScoringFile, read_scoring_file};
use parties::data::pheno::read_pheno;
use parties::data::plink::{Fileset, MISSING, discover_filesets};
use parties::data::score::{
    DEFAULT_BLOCK_BYTES, Imputation, SampleScore, load_genotypes, score_fileset, score_genotypes,
};

mod common;
use common::{col, data_dir, read_tsv};

const REL_TOL: f64 = 1e-9;
const ABS_TOL: f64 = 1e-11;

fn sites() -> Vec<(String, Fileset)> {
    let prefixes = discover_filesets(&data_dir()).unwrap();
    assert!(!prefixes.is_empty());
    prefixes
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, Fileset::open(&p).unwrap())
        })
        .collect()
}

fn scoring_file() -> ScoringFile {
    read_scoring_file(&data_dir().join("pgs/PGS_SMALL.txt")).unwrap()
}

fn harmonize_site(fileset: &Fileset, scoring: &ScoringFile) -> Harmonization {
    harmonize(scoring, fileset.variants(), &HarmonizeOptions::default()).unwrap()
}

#[test]
fn bed_reader_counts_equal_freq_tsv() {
    let (header, rows) = read_tsv(&data_dir().join("expected/freq.tsv"));
    for (site, fileset) in sites() {
        let alt_count = col(&header, &format!("{site}_alt_count"));
        let obs = col(&header, &format!("{site}_allele_obs"));
        let missing = col(&header, &format!("{site}_missing_calls"));
        let (id_col, alt_col) = (col(&header, "ID"), col(&header, "ALT"));
        let mut bed = fileset.bed_reader().unwrap();
        let n = fileset.samples().len();
        let (mut buf, mut out) = (Vec::new(), vec![0i8; n]);
        assert_eq!(rows.len(), fileset.variants().len());
        for (j, (row, v)) in rows.iter().zip(fileset.variants()).enumerate() {
            assert_eq!(row[id_col], v.id);
            bed.read_a1_dosages(j, &mut buf, &mut out).unwrap();
            let miss = out.iter().filter(|&&d| d == MISSING).count() as u64;
            let a1: u64 = out
                .iter()
                .filter(|&&d| d != MISSING)
                .map(|&d| d as u64)
                .sum();
            let allele_obs = 2 * (n as u64 - miss);
            let alt = if v.a1 == row[alt_col] {
                a1
            } else {
                allele_obs - a1
            };
            assert_eq!(row[missing].parse::<u64>().unwrap(), miss, "{site} {j}");
            assert_eq!(row[obs].parse::<u64>().unwrap(), allele_obs, "{site} {j}");
            assert_eq!(row[alt_count].parse::<u64>().unwrap(), alt, "{site} {j}");
        }
    }
}

#[test]
fn harmonization_matches_expected_lists() {
    let scoring = scoring_file();
    let (hh, hrows) = read_tsv(&data_dir().join("pgs/PGS_SMALL.harmonized.tsv"));
    let (dh, drows) = read_tsv(&data_dir().join("pgs/PGS_SMALL.dropped.tsv"));
    let expected_dropped: BTreeMap<String, String> = drows
        .iter()
        .map(|r| (r[col(&dh, "rsID")].clone(), r[col(&dh, "reason")].clone()))
        .collect();
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data_dir().join("expected/expected.json")).unwrap(),
    )
    .unwrap();
    let counts = &json["harmonization"];
    for (site, fileset) in sites() {
        let h = harmonize_site(&fileset, &scoring);
        // Kept rows: same IDs, effect letters, weights, actions, and ALT/REF orientation.
        assert_eq!(h.kept.len(), hrows.len(), "{site}");
        for (k, r) in h.kept.iter().zip(&hrows) {
            assert_eq!(k.id, r[col(&hh, "ID")], "{site}");
            assert_eq!(
                k.effect_allele,
                r[col(&hh, "effect_allele")],
                "{site} {}",
                k.id
            );
            assert_eq!(
                k.weight,
                r[col(&hh, "effect_weight")].parse::<f64>().unwrap()
            );
            assert_eq!(k.action.as_str(), r[col(&hh, "harmonization")]);
            let effect_is_alt = r[col(&hh, "effect_is_alt")] == "1";
            assert_eq!(k.effect_allele == r[col(&hh, "alt")], effect_is_alt);
            let v = &fileset.variants()[k.variant_index];
            assert_eq!(k.effect_is_a1, k.effect_allele == v.a1);
        }
        // Dropped rows and reasons.
        let dropped: BTreeMap<String, String> = scoring
            .rows
            .iter()
            .zip(&h.outcomes)
            .filter_map(|(row, o)| match o {
                Outcome::Dropped(reason) => {
                    Some((row.id.clone().unwrap(), reason.as_str().to_owned()))
                }
                Outcome::Kept { .. } => None,
            })
            .collect();
        assert_eq!(dropped, expected_dropped, "{site}");
        // Counts of expected.json.
        let n = |v: &serde_json::Value| v.as_u64().unwrap() as usize;
        assert_eq!(h.rows_in, n(&counts["rows_in"]));
        assert_eq!(h.kept.len(), n(&counts["kept"]));
        assert_eq!(h.kept_by(KeepAction::Match), n(&counts["kept_by"]["match"]));
        assert_eq!(
            h.kept_by(KeepAction::StrandFlip),
            n(&counts["kept_by"]["strand_flip"])
        );
        let mut total_dropped = 0;
        for (reason, count) in counts["dropped_by"].as_object().unwrap() {
            let ours = h
                .outcomes
                .iter()
                .filter(|o| matches!(o, Outcome::Dropped(r) if r.as_str() == reason))
                .count();
            assert_eq!(ours, n(count), "{site} {reason}");
            total_dropped += ours;
        }
        assert_eq!(total_dropped, n(&counts["dropped"]));
        assert_eq!(h.dropped_by(DropReason::AbsentInTarget), 6);
        let effect_is_ref = h
            .kept
            .iter()
            .zip(&hrows)
            .filter(|(k, r)| k.effect_allele != r[col(&hh, "alt")])
            .count();
        assert_eq!(effect_is_ref, n(&counts["kept_effect_is_ref"]));
        assert!((h.overlap() - 561.0 / 573.0).abs() < 1e-15);
        // plink2's own list of used variants (site order).
        let vars = data_dir().join(format!("expected/plink2_score_{site}.sscore.vars"));
        if vars.exists() {
            let listed: Vec<String> = std::fs::read_to_string(vars)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect();
            let ours: Vec<String> = h.kept.iter().map(|k| k.id.clone()).collect();
            assert_eq!(ours, listed, "{site}");
        }
    }
}

/// Max relative error (in units of the stated tolerance check) between scores and a
/// `score_*.full.tsv`; panics on any value outside the tolerance.
fn compare_scores(
    label: &str,
    iids: &[String],
    mean: &[SampleScore],
    nomi: &[SampleScore],
    expected: &Path,
) -> f64 {
    let (h, rows) = read_tsv(expected);
    assert_eq!(rows.len(), iids.len(), "{label}");
    let mut max_rel: f64 = 0.0;
    let mut check = |what: &str, ours: f64, text: &str| {
        let theirs: f64 = text.parse().unwrap();
        let err = (ours - theirs).abs();
        assert!(
            err <= REL_TOL * theirs.abs() + ABS_TOL,
            "{label} {what}: {ours} vs {theirs}"
        );
        max_rel = max_rel.max(err / theirs.abs().max(1e-300));
    };
    for ((iid, (m, nm)), r) in iids.iter().zip(mean.iter().zip(nomi)).zip(&rows) {
        assert_eq!(iid, &r[col(&h, "IID")]);
        let int = |name: &str| r[col(&h, name)].parse::<u64>().unwrap();
        assert_eq!(m.allele_ct, int("ALLELE_CT"), "{label} {iid}");
        assert_eq!(m.denom, int("DENOM"), "{label} {iid}");
        assert_eq!(
            m.named_allele_dosage_sum,
            int("NAMED_ALLELE_DOSAGE_SUM") as f64,
            "{label} {iid}"
        );
        assert_eq!(nm.allele_ct, m.allele_ct);
        assert_eq!(nm.denom, nm.allele_ct);
        assert_eq!(nm.named_allele_dosage_sum, m.named_allele_dosage_sum);
        check("SCORE1_SUM", m.score_sum, &r[col(&h, "SCORE1_SUM")]);
        check("SCORE1_AVG", m.score_avg, &r[col(&h, "SCORE1_AVG")]);
        check(
            "NOMI_SCORE1_SUM",
            nm.score_sum,
            &r[col(&h, "NOMI_SCORE1_SUM")],
        );
        check(
            "NOMI_SCORE1_AVG",
            nm.score_avg,
            &r[col(&h, "NOMI_SCORE1_AVG")],
        );
    }
    max_rel
}

fn iids(fileset: &Fileset) -> Vec<String> {
    fileset.samples().iter().map(|s| s.iid.clone()).collect()
}

#[test]
fn site_scores_equal_expected() {
    let scoring = scoring_file();
    for (site, fileset) in sites() {
        let h = harmonize_site(&fileset, &scoring);
        // A small block size exercises block boundaries; the default reads everything at once.
        for block_bytes in [DEFAULT_BLOCK_BYTES, 5_000] {
            let mean = score_fileset(&fileset, &h, Imputation::Mean, block_bytes).unwrap();
            let nomi = score_fileset(&fileset, &h, Imputation::None, block_bytes).unwrap();
            let expected = data_dir().join(format!("expected/score_{site}.full.tsv"));
            let max_rel = compare_scores(&site, &iids(&fileset), &mean, &nomi, &expected);
            eprintln!("{site} (block {block_bytes} B): max relative error {max_rel:e}");
        }
        // The in-memory matrix gives the same numbers.
        let (g, counts) = load_genotypes(&fileset, &h).unwrap();
        assert_eq!(
            (g.n_samples(), g.n_variants()),
            (fileset.samples().len(), h.kept.len())
        );
        assert_eq!(counts.len(), h.kept.len());
        let a = score_genotypes(&g, &h.weights(), Imputation::Mean).unwrap();
        let b = score_fileset(&fileset, &h, Imputation::Mean, DEFAULT_BLOCK_BYTES).unwrap();
        assert_eq!(a, b);
    }
}

#[test]
fn pooled_scores_equal_expected() {
    // data/small/README.md: pooled = samples of us, then fi, then uk.
    let scoring = scoring_file();
    let sites: HashMap<String, Fileset> = sites().into_iter().collect();
    let mut parts = Vec::new();
    let mut all_iids = Vec::new();
    let mut reference: Option<Harmonization> = None;
    for name in ["us", "fi", "uk"] {
        let fileset = &sites[name];
        let h = harmonize_site(fileset, &scoring);
        if let Some(r) = &reference {
            // The same variants and effect letters at every site (fi's A1/A2 swap is absorbed).
            let key = |h: &Harmonization| -> Vec<(String, String, f64)> {
                h.kept
                    .iter()
                    .map(|k| (k.id.clone(), k.effect_allele.clone(), k.weight))
                    .collect()
            };
            assert_eq!(key(r), key(&h));
        }
        let (g, _) = load_genotypes(fileset, &h).unwrap();
        parts.push(g);
        all_iids.extend(iids(fileset));
        reference.get_or_insert(h);
    }
    let refs: Vec<&Genotypes> = parts.iter().collect();
    let pooled = Genotypes::concat_samples(&refs).unwrap();
    let w = reference.unwrap().weights();
    let mean = score_genotypes(&pooled, &w, Imputation::Mean).unwrap();
    let nomi = score_genotypes(&pooled, &w, Imputation::None).unwrap();
    let expected = data_dir().join("expected/score_pooled.full.tsv");
    let max_rel = compare_scores("pooled", &all_iids, &mean, &nomi, &expected);
    eprintln!("pooled: max relative error {max_rel:e}");
}

#[test]
fn phenotype_tables_match_fam_and_expected_counts() {
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data_dir().join("expected/expected.json")).unwrap(),
    )
    .unwrap();
    for (site, fileset) in sites() {
        let table = read_pheno(&data_dir().join(format!("{site}.pheno.tsv"))).unwrap();
        let m = table.match_samples(&iids(&fileset));
        assert!(m.missing_in_table.is_empty() && m.missing_in_genotypes.is_empty());
        let counts = &json["counts"][&site];
        let sum = |c: &str| -> f64 { m.align(&table.numeric(c).unwrap()).iter().flatten().sum() };
        let n = table.n_rows() as f64;
        assert_eq!(n, counts["n"].as_f64().unwrap());
        assert_eq!(sum("disease"), counts["cases"].as_f64().unwrap());
        assert_eq!(sum("tte_event"), counts["events"].as_f64().unwrap());
        let males = table
            .numeric("sex")
            .unwrap()
            .iter()
            .flatten()
            .filter(|&&s| s == 1.0)
            .count();
        assert_eq!(males as f64, counts["n_male"].as_f64().unwrap());
        assert!((sum("qt") / n - counts["qt_mean"].as_f64().unwrap()).abs() < 1e-12);
        let pop = table.categorical("pop", None).unwrap();
        let expected_pops = counts["pop_counts"].as_object().unwrap();
        let reference_count = n - pop
            .indicators
            .iter()
            .map(|i| i.iter().flatten().sum::<f64>())
            .sum::<f64>();
        assert_eq!(
            reference_count,
            expected_pops[&pop.reference].as_f64().unwrap()
        );
        for (level, ind) in pop.levels.iter().zip(&pop.indicators) {
            let c: f64 = ind.iter().flatten().sum();
            assert_eq!(c, expected_pops[level].as_f64().unwrap(), "{site} {level}");
        }
    }
}
