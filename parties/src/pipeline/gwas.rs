//! The pipeline's `gwas` step, linear part: the pooled linear regression of the quantitative
//! outcome on each variant with the job's covariates (`circuits::gwas::linear`,
//! Frisch–Waugh on pooled sufficient statistics), written as plink2's `.glm.linear` table,
//! with a Manhattan and a QQ plot.
//!
//! The variant list is public metadata: every variant whose ID is in every site's `.bim`
//! with the same chromosome, position and allele pair. Its coded allele (A1) is the one most
//! sites list first (ties: the lexicographically larger pair, as the data README's canonical
//! coding). Each site loads its own genotypes in that coding and computes its sufficient
//! statistics locally; only the per-variant statistics are opened.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use circuits::plain::linear::{LinearData, LinearRow, SufficientStats};

use crate::data::plink::{Fileset, MISSING};

use super::site::{SiteFiles, column};
use super::spec::PipelineJob;

/// One variant of the pooled GWAS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GwasVariant {
    /// Variant ID.
    pub id: String,
    /// Chromosome.
    pub chrom: String,
    /// Position.
    pub pos: u64,
    /// The coded allele (BETA is per copy of it).
    pub a1: String,
    /// The other allele.
    pub a2: String,
}

/// The variants every site has (same chromosome, position and allele pair), in the first
/// site's order, with the coded allele most sites list first.
pub fn variants(sites: &[SiteFiles]) -> Result<Vec<GwasVariant>, String> {
    let sets: Vec<Fileset> = sites
        .iter()
        .map(|s| Fileset::open(&s.prefix).map_err(|e| format!("site {}: {e}", s.name)))
        .collect::<Result<_, _>>()?;
    let Some(first) = sets.first() else {
        return Ok(Vec::new());
    };
    let maps: Vec<HashMap<&str, &crate::data::plink::Variant>> = sets
        .iter()
        .map(|f| f.variants().iter().map(|v| (v.id.as_str(), v)).collect())
        .collect();
    let mut out = Vec::new();
    'variant: for v in first.variants() {
        let mut votes: HashMap<(&str, &str), usize> = HashMap::new();
        for m in &maps {
            let Some(w) = m.get(v.id.as_str()) else {
                continue 'variant;
            };
            let same_pair = (w.a1 == v.a1 && w.a2 == v.a2) || (w.a1 == v.a2 && w.a2 == v.a1);
            if w.chrom != v.chrom || w.pos != v.pos || !same_pair {
                continue 'variant;
            }
            *votes.entry((w.a1.as_str(), w.a2.as_str())).or_default() += 1;
        }
        if let Some(((a1, a2), _)) = votes.into_iter().max_by_key(|(k, n)| (*n, *k)) {
            out.push(GwasVariant {
                id: v.id.clone(),
                chrom: v.chrom.clone(),
                pos: v.pos,
                a1: a1.to_owned(),
                a2: a2.to_owned(),
            });
        }
    }
    Ok(out)
}

/// One site's sufficient statistics of the linear GWAS (computed locally, never sent in
/// clear), and its sample count.
pub fn site_stats(
    files: &SiteFiles,
    variants: &[GwasVariant],
    job: &PipelineJob,
) -> Result<(SufficientStats, usize), String> {
    let site = files.name.as_str();
    let fs = Fileset::open(&files.prefix).map_err(|e| format!("site {site}: {e}"))?;
    let iids: Vec<String> = fs.samples().iter().map(|s| s.iid.clone()).collect();
    let file = files.pheno();
    let table = crate::data::pheno::read_pheno(&file).map_err(|e| format!("site {site}: {e}"))?;
    let m = table.match_samples(&iids);
    let col = |name: &str| column(&table, &m, job, name, &file, site);
    let covs = job
        .covariates
        .columns
        .iter()
        .map(|c| col(c))
        .collect::<Result<Vec<_>, _>>()?;
    let y = col(&job.outcomes.quantitative)?;
    let n = iids.len();
    let index: HashMap<&str, usize> = fs
        .variants()
        .iter()
        .enumerate()
        .map(|(j, v)| (v.id.as_str(), j))
        .collect();
    let mut bed = fs.bed_reader().map_err(|e| format!("site {site}: {e}"))?;
    let (mut buf, mut calls) = (Vec::new(), vec![0i8; n]);
    let mut dosages = Vec::with_capacity(n * variants.len());
    for v in variants {
        let (&j, w) = index
            .get(v.id.as_str())
            .and_then(|j| fs.variants().get(*j).map(|w| (j, w)))
            .ok_or_else(|| format!("site {site}: variant {} not in its .bim", v.id))?;
        let flip = w.a1 != v.a1;
        bed.read_a1_dosages(j, &mut buf, &mut calls)
            .map_err(|e| format!("site {site}: {}: {e}", v.id))?;
        dosages.extend(calls.iter().map(|&d| match d {
            MISSING => MISSING,
            d if flip => 2 - d,
            d => d,
        }));
    }
    let covariates: Vec<f64> = (0..n)
        .flat_map(|i| covs.iter().filter_map(move |c| c.get(i).copied()))
        .collect();
    let stats = SufficientStats::compute(&LinearData {
        n_samples: n,
        dosages: &dosages,
        covariates: &covariates,
        n_cov: job.covariates.columns.len(),
        phenotype: &y,
    })
    .map_err(|e| format!("site {site}: {e}"))?;
    Ok((stats, n))
}

/// −log10 P of a row (from ln P, finite far below the f64 range of P).
fn neg_log10_p(r: &LinearRow) -> f64 {
    -r.ln_p / std::f64::consts::LN_10
}

/// Manhattan plot (SVG): −log10 P by chromosome and position, the genome-wide line at 5e-8.
pub fn manhattan_svg(title: &str, variants: &[GwasVariant], rows: &[LinearRow]) -> String {
    let (w, h, left, bottom, top) = (900.0, 360.0, 50.0, 40.0, 30.0);
    // Chromosomes in order of appearance, each a band of width ∝ its variant count.
    let mut chroms: Vec<(&str, usize, u64, u64)> = Vec::new();
    for v in variants {
        match chroms.last_mut() {
            Some(c) if c.0 == v.chrom => {
                c.1 += 1;
                c.2 = c.2.min(v.pos);
                c.3 = c.3.max(v.pos);
            }
            _ => chroms.push((v.chrom.as_str(), 1, v.pos, v.pos)),
        }
    }
    let total = variants.len().max(1) as f64;
    let ymax = rows
        .iter()
        .map(neg_log10_p)
        .filter(|x| x.is_finite())
        .fold(-(5e-8f64).log10(), f64::max)
        * 1.05;
    let plot_w = w - left - 10.0;
    let plot_h = h - bottom - top;
    let y_of = |v: f64| top + plot_h * (1.0 - v / ymax);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         font-family=\"sans-serif\" font-size=\"11\"><text x=\"{}\" y=\"18\" \
         text-anchor=\"middle\" font-size=\"13\">{}</text>",
        w / 2.0,
        super::plots::esc(title)
    );
    let mut start = 0.0;
    let mut idx = 0usize;
    for (ci, (name, count, lo, hi)) in chroms.iter().enumerate() {
        let band = plot_w * *count as f64 / total;
        let colour = if ci % 2 == 0 { "#1f4e79" } else { "#7fa7d1" };
        let span = (hi - lo).max(1) as f64;
        for (v, r) in variants.iter().zip(rows).skip(idx).take(*count) {
            let x = left + start + band * (v.pos - lo) as f64 / span;
            let y = y_of(neg_log10_p(r).min(ymax));
            let _ = write!(
                s,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2\" fill=\"{colour}\"/>"
            );
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            left + start + band / 2.0,
            h - bottom + 15.0,
            super::plots::esc(name)
        );
        start += band;
        idx += count;
    }
    let gw = y_of(-(5e-8f64).log10());
    let _ = write!(
        s,
        "<line x1=\"{left}\" x2=\"{}\" y1=\"{gw:.1}\" y2=\"{gw:.1}\" stroke=\"#c00\" \
         stroke-dasharray=\"4 3\"/><text x=\"{}\" y=\"{:.1}\" fill=\"#c00\" \
         text-anchor=\"end\">5e-8</text>",
        w - 10.0,
        w - 12.0,
        gw - 3.0
    );
    axes(&mut s, left, top, plot_h, ymax, h - bottom, w - 10.0);
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">chromosome</text></svg>",
        w / 2.0,
        h - 6.0
    );
    s
}

/// The y axis (−log10 P) with integer ticks and the x baseline.
fn axes(s: &mut String, left: f64, top: f64, plot_h: f64, ymax: f64, base: f64, right: f64) {
    let _ = write!(
        s,
        "<line x1=\"{left}\" x2=\"{left}\" y1=\"{top}\" y2=\"{base}\" stroke=\"#333\"/>\
         <line x1=\"{left}\" x2=\"{right}\" y1=\"{base}\" y2=\"{base}\" stroke=\"#333\"/>\
         <text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">−log10 P</text>",
        top + plot_h / 2.0
    );
    let step = (ymax / 6.0).ceil().max(1.0);
    let mut t = 0.0;
    while t <= ymax {
        let y = top + plot_h * (1.0 - t / ymax);
        let _ = write!(
            s,
            "<line x1=\"{}\" x2=\"{left}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#333\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{t}</text>",
            left - 4.0,
            left - 6.0,
            y + 4.0
        );
        t += step;
    }
}

/// Genomic inflation λ_GC: median of the χ²₁ statistics (T²) over 0.4549364, the χ²₁ median.
pub fn lambda_gc(rows: &[LinearRow]) -> f64 {
    let mut chi: Vec<f64> = rows
        .iter()
        .map(|r| r.t_stat * r.t_stat)
        .filter(|x| x.is_finite())
        .collect();
    if chi.is_empty() {
        return f64::NAN;
    }
    chi.sort_by(f64::total_cmp);
    let n = chi.len();
    let med = if n % 2 == 1 {
        chi.get(n / 2).copied().unwrap_or(f64::NAN)
    } else {
        (chi.get(n / 2 - 1).copied().unwrap_or(f64::NAN)
            + chi.get(n / 2).copied().unwrap_or(f64::NAN))
            / 2.0
    };
    med / 0.454_936_423_119_572_8
}

/// QQ plot (SVG): observed against expected −log10 P under the null, λ_GC in the title.
pub fn qq_svg(title: &str, rows: &[LinearRow]) -> String {
    let (w, h, left, bottom, top) = (420.0, 420.0, 50.0, 40.0, 30.0);
    let mut obs: Vec<f64> = rows
        .iter()
        .map(neg_log10_p)
        .filter(|x| x.is_finite())
        .collect();
    obs.sort_by(|a, b| b.total_cmp(a));
    let n = obs.len().max(1) as f64;
    let exp: Vec<f64> = (0..obs.len())
        .map(|i| -((i as f64 + 0.5) / n).log10())
        .collect();
    let max = obs
        .first()
        .copied()
        .unwrap_or(1.0)
        .max(exp.first().copied().unwrap_or(1.0))
        * 1.05;
    let plot = w - left - 10.0;
    let plot_h = h - bottom - top;
    let x_of = |v: f64| left + plot * v / max;
    let y_of = |v: f64| top + plot_h * (1.0 - v / max);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         font-family=\"sans-serif\" font-size=\"11\"><text x=\"{}\" y=\"18\" \
         text-anchor=\"middle\" font-size=\"13\">{} (λ_GC = {:.3})</text>\
         <line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#c00\"/>",
        w / 2.0,
        super::plots::esc(title),
        lambda_gc(rows),
        x_of(0.0),
        y_of(0.0),
        x_of(max),
        y_of(max)
    );
    for (o, e) in obs.iter().zip(&exp) {
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"#1f4e79\"/>",
            x_of(*e),
            y_of(*o)
        );
    }
    axes(&mut s, left, top, plot_h, max, h - bottom, w - 10.0);
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">expected −log10 P</text></svg>",
        left + plot / 2.0,
        h - 6.0
    );
    s
}

/// Writes the `.glm.linear` table (plink2's columns) atomically.
pub fn write_table(
    path: &Path,
    variants: &[GwasVariant],
    rows: &[LinearRow],
) -> Result<(), String> {
    let mut out = Vec::new();
    crate::report::write_glm_linear(
        &mut out,
        variants
            .iter()
            .zip(rows)
            .map(|(v, r)| (v.id.as_str(), v.a1.as_str(), r)),
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    crate::fsio::write_atomic(path, &out).map_err(|e| format!("{}: {e}", path.display()))
}
