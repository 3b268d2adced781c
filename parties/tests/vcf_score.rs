//! Known answer for VCF and BCF input: every bundled site is written out as a VCF by the small
//! writer below (GT only; then GT plus DS equal to the hard calls, bgzip-style gzip; each with an
//! extra multi-allelic record) and scoring it must equal scoring the `.bed` **exactly** (same
//! `f64` bits), in both imputation modes; `igs-mpc score --vcf` must write the same `.sscore`
//! bytes as `--bfile`. BCF: the same VCF re-encoded by noodles' BCF writer (bgzipped), and, when
//! plink2 is on PATH, plink2's own `--export bcf` of each site; both must score exactly like the
//! `.bed`, and the BCF scores must equal `expected/score_<site>.full.tsv` within the tolerance of
//! `small_data.rs` (|Δ| ≤ 1e-9·|x| + 1e-11; integer columns equal).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use flate2::Compression;
use flate2::write::GzEncoder;
use parties::data::harmonize::{HarmonizeOptions, harmonize};
use parties::data::pgs::read_scoring_file;
use parties::data::plink::{Fileset, MISSING, discover_filesets};
use parties::data::score::SampleScore;
use parties::data::score::{DEFAULT_BLOCK_BYTES, Imputation, score_fileset, score_vcf};
use parties::data::vcf::{VariantFormat, VcfSite};

mod common;
use common::{col, data_dir, read_tsv};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("igs-mpc-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the fileset as VCF: REF = A2, ALT = A1 (so the ALT count is the `.bed` A1 dosage).
fn write_vcf(fileset: &Fileset, with_ds: bool, w: &mut dyn Write) {
    writeln!(w, "##fileformat=VCFv4.3").unwrap();
    writeln!(
        w,
        "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">"
    )
    .unwrap();
    writeln!(
        w,
        "##FORMAT=<ID=DS,Number=A,Type=Float,Description=\"ALT dosage\">"
    )
    .unwrap();
    // Contigs (needed for BCF), in first-seen order.
    let mut contigs: Vec<&str> = Vec::new();
    for v in fileset.variants() {
        if !contigs.contains(&v.chrom.as_str()) {
            contigs.push(&v.chrom);
        }
    }
    for c in contigs {
        writeln!(w, "##contig=<ID={c}>").unwrap();
    }
    write!(w, "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT").unwrap();
    for s in fileset.samples() {
        write!(w, "\t{}", s.iid).unwrap();
    }
    writeln!(w).unwrap();
    let n = fileset.samples().len();
    let mut bed = fileset.bed_reader().unwrap();
    let (mut buf, mut dosages) = (Vec::new(), vec![0i8; n]);
    for (j, v) in fileset.variants().iter().enumerate() {
        if j == 1 {
            // A multi-allelic record, to be skipped and counted.
            write!(w, "{}\t{}\tmulti\tA\tC,G\t.\t.\t.\tGT", v.chrom, v.pos).unwrap();
            for _ in 0..n {
                write!(w, "\t1/2").unwrap();
            }
            writeln!(w).unwrap();
        }
        bed.read_a1_dosages(j, &mut buf, &mut dosages).unwrap();
        let format = if with_ds { "GT:DS" } else { "GT" };
        write!(
            w,
            "{}\t{}\t{}\t{}\t{}\t.\t.\t.\t{format}",
            v.chrom, v.pos, v.id, v.a2, v.a1
        )
        .unwrap();
        for &d in &dosages {
            let gt = match d {
                0 => "0/0",
                1 => "0/1",
                2 => "1/1",
                MISSING => "./.",
                _ => unreachable!(),
            };
            match (with_ds, d) {
                (false, _) => write!(w, "\t{gt}").unwrap(),
                (true, MISSING) => write!(w, "\t{gt}:.").unwrap(),
                (true, d) => write!(w, "\t{gt}:{d}").unwrap(),
            }
        }
        writeln!(w).unwrap();
    }
}

#[test]
fn vcf_scores_equal_plink_scores_exactly() {
    let dir = temp_dir("vcf");
    let score_path = data_dir().join("pgs/PGS_SMALL.txt");
    let scoring = read_scoring_file(&score_path).unwrap();
    let options = HarmonizeOptions::default();
    let prefixes = discover_filesets(&data_dir()).unwrap();
    assert!(!prefixes.is_empty());
    for prefix in prefixes {
        let fileset = Fileset::open(&prefix).unwrap();
        let site = prefix.file_name().unwrap().to_string_lossy().into_owned();
        let gt = dir.join(format!("{site}.gt.vcf"));
        write_vcf(&fileset, false, &mut std::fs::File::create(&gt).unwrap());
        let ds = dir.join(format!("{site}.ds.vcf.gz"));
        let mut z = GzEncoder::new(std::fs::File::create(&ds).unwrap(), Compression::fast());
        write_vcf(&fileset, true, &mut z);
        z.finish().unwrap();

        let h_plink = harmonize(&scoring, fileset.variants(), &options).unwrap();
        for path in [&gt, &ds] {
            let vcf = VcfSite::open(path).unwrap();
            assert_eq!(vcf.skipped().multi_allelic, 1, "{site}");
            assert_eq!(vcf.samples().len(), fileset.samples().len());
            let h_vcf = harmonize(&scoring, vcf.variants(), &options).unwrap();
            let ids = |h: &parties::data::harmonize::Harmonization| {
                h.kept
                    .iter()
                    .map(|k| (k.id.clone(), k.effect_allele.clone(), k.weight))
                    .collect::<Vec<_>>()
            };
            assert_eq!(ids(&h_vcf), ids(&h_plink), "{site}");
            for imputation in [Imputation::Mean, Imputation::None] {
                let ours = score_vcf(&vcf, &h_vcf, imputation).unwrap();
                let plink =
                    score_fileset(&fileset, &h_plink, imputation, DEFAULT_BLOCK_BYTES).unwrap();
                assert_eq!(ours, plink, "{site} {imputation:?} {}", path.display());
            }
            // The hard-call matrix the circuits consume is the same too.
            let g_vcf = vcf.load_genotypes(&h_vcf).unwrap();
            let (g_plink, _) = parties::data::score::load_genotypes(&fileset, &h_plink).unwrap();
            assert_eq!(g_vcf, g_plink, "{site}");
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn score_command_vcf_writes_the_same_sscore_as_bfile() {
    let dir = temp_dir("vcf-cli");
    let prefix = discover_filesets(&data_dir()).unwrap().remove(0);
    let fileset = Fileset::open(&prefix).unwrap();
    let vcf = dir.join("site.vcf");
    write_vcf(&fileset, true, &mut std::fs::File::create(&vcf).unwrap());
    let score = data_dir().join("pgs/PGS_SMALL.txt");
    let run = |flag: &str, input: &Path, out: &Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_igs-mpc"))
            .args(["score", flag])
            .arg(input)
            .arg("--score")
            .arg(&score)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stderr).unwrap()
    };
    let summary = run("--vcf", &vcf, &dir.join("v"));
    assert!(summary.contains("skipped 1 multi-allelic"), "{summary}");
    run("--bfile", &prefix, &dir.join("b"));
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    // FID is 0 for VCF samples (as plink2 imports them); every other column is identical.
    let strip = |t: String| {
        t.lines()
            .map(|l| l.split_once('\t').unwrap().1.to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(read("v.sscore")), strip(read("b.sscore")));
    assert_eq!(read("v.sscore.vars"), read("b.sscore.vars"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// VCF text → bgzipped BCF through noodles (the record encoder is independent of our reader).
fn vcf_to_bcf(text: &[u8], out: &Path) {
    use noodles_vcf::variant::io::Write as _;
    let mut reader = noodles_vcf::io::Reader::new(text);
    let header = reader.read_header().unwrap();
    let mut w = noodles_bcf::io::Writer::new(std::fs::File::create(out).unwrap());
    w.write_variant_header(&header).unwrap();
    for record in reader.records() {
        w.write_variant_record(&header, &record.unwrap()).unwrap();
    }
    w.try_finish().unwrap();
}

/// Mean-imputation scores vs `expected/score_<site>.full.tsv` (same sample order).
fn assert_matches_expected(site: &str, scores: &[SampleScore]) {
    let (h, rows) = read_tsv(&data_dir().join(format!("expected/score_{site}.full.tsv")));
    assert_eq!(rows.len(), scores.len(), "{site}");
    for (r, s) in rows.iter().zip(scores) {
        let int = |name: &str| r[col(&h, name)].parse::<u64>().unwrap();
        assert_eq!(s.allele_ct, int("ALLELE_CT"), "{site}");
        assert_eq!(s.denom, int("DENOM"), "{site}");
        for (name, ours) in [("SCORE1_SUM", s.score_sum), ("SCORE1_AVG", s.score_avg)] {
            let theirs: f64 = r[col(&h, name)].parse().unwrap();
            assert!(
                (ours - theirs).abs() <= 1e-9 * theirs.abs() + 1e-11,
                "{site} {name}: {ours} vs {theirs}"
            );
        }
    }
}

fn plink2_on_path() -> bool {
    Command::new("plink2")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn bcf_scores_equal_plink_scores_and_expected() {
    let dir = temp_dir("bcf");
    let scoring = read_scoring_file(&data_dir().join("pgs/PGS_SMALL.txt")).unwrap();
    let options = HarmonizeOptions::default();
    let plink2 = plink2_on_path();
    if !plink2 {
        eprintln!("plink2 not on PATH: checking noodles-written BCF only");
    }
    for prefix in discover_filesets(&data_dir()).unwrap() {
        let fileset = Fileset::open(&prefix).unwrap();
        let site = prefix.file_name().unwrap().to_string_lossy().into_owned();
        let h_plink = harmonize(&scoring, fileset.variants(), &options).unwrap();
        let mut text = Vec::new();
        write_vcf(&fileset, true, &mut text);
        let ours = dir.join(format!("{site}.noodles.bcf"));
        vcf_to_bcf(&text, &ours);
        let mut bcfs = vec![(ours, 1)];
        if plink2 {
            let out = dir.join(format!("{site}.plink2"));
            let o = Command::new("plink2")
                .arg("--bfile")
                .arg(&prefix)
                .args(["--export", "bcf", "--threads", "1", "--out"])
                .arg(&out)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
            bcfs.push((out.with_extension("plink2.bcf"), 0));
        }
        for (path, multi) in bcfs {
            let bcf = VcfSite::open(&path).unwrap();
            assert_eq!(bcf.format(), VariantFormat::Bcf);
            assert_eq!(bcf.skipped().multi_allelic, multi, "{}", path.display());
            assert_eq!(bcf.samples().len(), fileset.samples().len());
            let h = harmonize(&scoring, bcf.variants(), &options).unwrap();
            let key = |h: &parties::data::harmonize::Harmonization| {
                h.kept
                    .iter()
                    .map(|k| (k.id.clone(), k.effect_allele.clone(), k.weight))
                    .collect::<Vec<_>>()
            };
            assert_eq!(key(&h), key(&h_plink), "{}", path.display());
            for imputation in [Imputation::Mean, Imputation::None] {
                let scores = score_vcf(&bcf, &h, imputation).unwrap();
                let plink =
                    score_fileset(&fileset, &h_plink, imputation, DEFAULT_BLOCK_BYTES).unwrap();
                assert_eq!(scores, plink, "{site} {imputation:?} {}", path.display());
                if imputation == Imputation::Mean {
                    assert_matches_expected(&site, &scores);
                }
            }
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn score_command_bcf_writes_the_same_sscore_as_bfile() {
    let dir = temp_dir("bcf-cli");
    let prefix = discover_filesets(&data_dir()).unwrap().remove(0);
    let fileset = Fileset::open(&prefix).unwrap();
    let mut text = Vec::new();
    write_vcf(&fileset, false, &mut text);
    let bcf = dir.join("site.bcf");
    vcf_to_bcf(&text, &bcf);
    let score = data_dir().join("pgs/PGS_SMALL.txt");
    for (flag, input, out) in [("--bcf", &bcf, "v"), ("--bfile", &prefix, "b")] {
        let o = Command::new(env!("CARGO_BIN_EXE_igs-mpc"))
            .args(["score", flag])
            .arg(input)
            .arg("--score")
            .arg(&score)
            .arg("--out")
            .arg(dir.join(out))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let strip = |t: String| {
        t.lines()
            .map(|l| l.split_once('\t').unwrap().1.to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(read("v.sscore")), strip(read("b.sscore")));
    assert_eq!(read("v.sscore.vars"), read("b.sscore.vars"));
    std::fs::remove_dir_all(dir).unwrap();
}
