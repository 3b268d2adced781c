//! Harmonisation of a scoring file against a site's variants.
//!
//! Rules, applied to each score row in this order (data/small/README.md §3, plus the cases that
//! fixture does not exercise):
//! 0. a row flagged non-additive (dominant, recessive, haplotype, interaction) → drop
//!    [`DropReason::NonAdditive`];
//! 1. find the site variant: by identifier (`rsID`/`ID`) when the row has one, with `chr`/`pos`
//!    checked equal when the row gives them ([`DropReason::PositionMismatch`]); by `chr:pos` and
//!    alleles when it has no identifier. None → [`DropReason::AbsentInTarget`]; several with the
//!    identifier → [`DropReason::DuplicateInTarget`];
//! 2. {effect, other} is {A,T} or {C,G} (the site's pair when the row has no other allele) →
//!    [`DropReason::StrandAmbiguous`], unless [`HarmonizeOptions::drop_strand_ambiguous`] is off;
//! 3. {effect, other} = {A1, A2} → keep, [`KeepAction::Match`] (without an other allele: the
//!    effect allele equals A1 or A2);
//! 4. complemented {effect, other} = {A1, A2} → keep with the effect allele complemented,
//!    [`KeepAction::StrandFlip`] (only when the row has an other allele);
//! 5. otherwise [`DropReason::AlleleMismatch`].
//!
//! A second row reaching an already kept site variant is dropped ([`DropReason::DuplicateInScore`]).
//! Allele letters compare case-insensitively. The *named effect allele letter* decides the
//! dosage: [`ScoreVariant::effect_is_a1`] says whether the weight counts `.bed` A1 copies (x) or
//! A2 copies (2 − x), so a site whose `.bim` lists A1/A2 the other way round needs nothing special.
//!
//! The overlap is `kept / rows`; [`harmonize`] refuses (returning the full report inside the
//! error) when it is below [`HarmonizeOptions::min_overlap`] (default 0.75, as pgsc_calc).

use core::fmt;
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use super::pgs::{ScoreRow, ScoringFile};
use super::plink::Variant;

/// Default minimum overlap (fraction of score rows kept), as pgsc_calc.
pub const DEFAULT_MIN_OVERLAP: f64 = 0.75;

/// Errors from harmonisation.
#[derive(Debug)]
#[non_exhaustive]
pub enum HarmonizeError {
    /// Fewer rows than the minimum overlap were kept; the report is attached.
    InsufficientOverlap {
        /// The complete harmonisation, for the report.
        harmonization: Box<Harmonization>,
        /// The minimum that was required.
        min_overlap: f64,
    },
    /// `min_overlap` is not a number in [0, 1].
    BadMinOverlap,
}

impl fmt::Display for HarmonizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InsufficientOverlap {
                harmonization,
                min_overlap,
            } => write!(
                f,
                "only {} of {} score rows ({:.4}) match the site's variants; \
                 the minimum overlap is {min_overlap}",
                harmonization.kept.len(),
                harmonization.rows_in,
                harmonization.overlap()
            ),
            Self::BadMinOverlap => write!(f, "minimum overlap must be a number in [0, 1]"),
        }
    }
}

impl std::error::Error for HarmonizeError {}

/// Harmonisation settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HarmonizeOptions {
    /// Drop A/T and C/G variants (default `true`).
    pub drop_strand_ambiguous: bool,
    /// Refuse below this fraction of rows kept (default [`DEFAULT_MIN_OVERLAP`]).
    pub min_overlap: f64,
}

impl Default for HarmonizeOptions {
    fn default() -> Self {
        Self {
            drop_strand_ambiguous: true,
            min_overlap: DEFAULT_MIN_OVERLAP,
        }
    }
}

/// How a kept row was matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeepAction {
    /// The alleles equal the site's.
    Match,
    /// The complemented alleles equal the site's.
    StrandFlip,
}

impl KeepAction {
    /// The report label (`match`, `strand_flip`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Match => "match",
            Self::StrandFlip => "strand_flip",
        }
    }
}

/// Why a row was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// No site variant with this identifier (or position).
    AbsentInTarget,
    /// The identifier matches but chromosome or position differ.
    PositionMismatch,
    /// The site has several variants with this identifier.
    DuplicateInTarget,
    /// An earlier row already uses the same site variant.
    DuplicateInScore,
    /// A/T or C/G pair.
    StrandAmbiguous,
    /// The alleles match neither directly nor after complementing.
    AlleleMismatch,
    /// Dominant, recessive, haplotype or interaction effects are not supported.
    NonAdditive,
    /// Kept here but not at every site, so not in the agreed list ([`crate::data::agree`]).
    NotAtAllSites,
}

impl DropReason {
    /// The report label (`absent_in_target`, `strand_ambiguous`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AbsentInTarget => "absent_in_target",
            Self::PositionMismatch => "position_mismatch",
            Self::DuplicateInTarget => "duplicate_in_target",
            Self::DuplicateInScore => "duplicate_in_score",
            Self::StrandAmbiguous => "strand_ambiguous",
            Self::AlleleMismatch => "allele_mismatch",
            Self::NonAdditive => "non_additive",
            Self::NotAtAllSites => "not_at_all_sites",
        }
    }
}

/// What happened to one score row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Kept; index into [`Harmonization::kept`].
    Kept {
        /// Index into [`Harmonization::kept`].
        kept: usize,
    },
    /// Dropped.
    Dropped(DropReason),
}

/// A kept score variant, in site terms.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreVariant {
    /// Index of the site variant (`.bim` line − 1).
    pub variant_index: usize,
    /// Index of the score row.
    pub row: usize,
    /// The site's variant identifier.
    pub id: String,
    /// The effect allele, as the site writes it (after any strand flip).
    pub effect_allele: String,
    /// The site's other allele.
    pub other_allele: String,
    /// Whether the effect allele is the site's A1 (else A2: dosage = 2 − A1 dosage).
    pub effect_is_a1: bool,
    /// Weight per copy of the effect allele.
    pub weight: f64,
    /// How it was matched.
    pub action: KeepAction,
}

/// The result of harmonising a scoring file against one site.
#[derive(Clone, Debug, PartialEq)]
pub struct Harmonization {
    /// Number of score rows.
    pub rows_in: usize,
    /// Kept variants, in site (`.bim`) order.
    pub kept: Vec<ScoreVariant>,
    /// Outcome of every score row, in file order.
    pub outcomes: Vec<Outcome>,
}

impl Harmonization {
    /// Fraction of score rows kept (0 for an empty file).
    pub fn overlap(&self) -> f64 {
        if self.rows_in == 0 {
            0.0
        } else {
            self.kept.len() as f64 / self.rows_in as f64
        }
    }

    /// Kept rows per action.
    pub fn kept_by(&self, action: KeepAction) -> usize {
        self.kept.iter().filter(|k| k.action == action).count()
    }

    /// Dropped rows per reason.
    pub fn dropped_by(&self, reason: DropReason) -> usize {
        self.outcomes
            .iter()
            .filter(|o| **o == Outcome::Dropped(reason))
            .count()
    }

    /// The weights of the kept variants, in [`Harmonization::kept`] order.
    pub fn weights(&self) -> Vec<f64> {
        self.kept.iter().map(|k| k.weight).collect()
    }

    /// Writes the per-row report as TSV: `LINE ID CHR POS EFFECT_ALLELE OTHER_ALLELE
    /// EFFECT_WEIGHT STATUS DETAIL SITE_EFFECT_ALLELE EFFECT_IS_A1` (status `kept`/`dropped`,
    /// detail = action or reason; site columns empty for dropped rows).
    pub fn write_report<W: Write>(&self, score: &ScoringFile, mut w: W) -> io::Result<()> {
        writeln!(
            w,
            "LINE\tID\tCHR\tPOS\tEFFECT_ALLELE\tOTHER_ALLELE\tEFFECT_WEIGHT\tSTATUS\tDETAIL\t\
             SITE_EFFECT_ALLELE\tEFFECT_IS_A1"
        )?;
        for (row, outcome) in score.rows.iter().zip(&self.outcomes) {
            write!(
                w,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t",
                row.line,
                row.id.as_deref().unwrap_or("."),
                row.chrom.as_deref().unwrap_or("."),
                row.pos.map_or_else(|| ".".to_owned(), |p| p.to_string()),
                row.effect_allele,
                row.other_allele.as_deref().unwrap_or("."),
                row.weight_text,
            )?;
            match outcome {
                Outcome::Kept { kept } => match self.kept.get(*kept) {
                    Some(k) => writeln!(
                        w,
                        "kept\t{}\t{}\t{}",
                        k.action.as_str(),
                        k.effect_allele,
                        u8::from(k.effect_is_a1)
                    )?,
                    None => writeln!(w, "kept\t\t\t")?,
                },
                Outcome::Dropped(reason) => writeln!(w, "dropped\t{}\t\t", reason.as_str())?,
            }
        }
        Ok(())
    }
}

/// Harmonises `score` against the site variants `target` (see the module docs for the rules).
pub fn harmonize(
    score: &ScoringFile,
    target: &[Variant],
    options: &HarmonizeOptions,
) -> Result<Harmonization, HarmonizeError> {
    if !(0.0..=1.0).contains(&options.min_overlap) {
        return Err(HarmonizeError::BadMinOverlap);
    }
    let mut by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_pos: HashMap<(String, u64), Vec<usize>> = HashMap::new();
    for (k, v) in target.iter().enumerate() {
        by_id.entry(v.id.as_str()).or_default().push(k);
        by_pos
            .entry((normalize_chrom(&v.chrom), v.pos))
            .or_default()
            .push(k);
    }
    let mut kept: Vec<ScoreVariant> = Vec::new();
    let mut outcomes = Vec::with_capacity(score.rows.len());
    let mut used = HashSet::new();
    for (row_index, row) in score.rows.iter().enumerate() {
        let result = harmonize_row(row, target, &by_id, &by_pos, options).and_then(|k| {
            if used.insert(k.variant_index) {
                Ok(k)
            } else {
                Err(DropReason::DuplicateInScore)
            }
        });
        match result {
            Ok(mut k) => {
                k.row = row_index;
                outcomes.push(Outcome::Kept { kept: kept.len() });
                kept.push(k);
            }
            Err(reason) => outcomes.push(Outcome::Dropped(reason)),
        }
    }
    // Site order; outcomes point at the new positions.
    let mut order: Vec<usize> = (0..kept.len()).collect();
    order.sort_by_key(|&k| kept.get(k).map_or(0, |v| v.variant_index));
    let mut new_position = vec![0; kept.len()];
    for (new, &old) in order.iter().enumerate() {
        if let Some(slot) = new_position.get_mut(old) {
            *slot = new;
        }
    }
    for o in &mut outcomes {
        if let Outcome::Kept { kept: k } = o {
            *k = new_position.get(*k).copied().unwrap_or(*k);
        }
    }
    kept.sort_by_key(|v| v.variant_index);
    let harmonization = Harmonization {
        rows_in: score.rows.len(),
        kept,
        outcomes,
    };
    if harmonization.overlap() < options.min_overlap {
        return Err(HarmonizeError::InsufficientOverlap {
            harmonization: Box::new(harmonization),
            min_overlap: options.min_overlap,
        });
    }
    Ok(harmonization)
}

fn harmonize_row(
    row: &ScoreRow,
    target: &[Variant],
    by_id: &HashMap<&str, Vec<usize>>,
    by_pos: &HashMap<(String, u64), Vec<usize>>,
    options: &HarmonizeOptions,
) -> Result<ScoreVariant, DropReason> {
    if row.non_additive {
        return Err(DropReason::NonAdditive);
    }
    let effect = row.effect_allele.to_ascii_uppercase();
    let other = row.other_allele.as_deref().map(str::to_ascii_uppercase);
    let (index, variant) = match &row.id {
        Some(id) => {
            let candidates = by_id.get(id.as_str()).ok_or(DropReason::AbsentInTarget)?;
            let &[index] = candidates.as_slice() else {
                return Err(DropReason::DuplicateInTarget);
            };
            let variant = target.get(index).ok_or(DropReason::AbsentInTarget)?;
            if let Some(chrom) = &row.chrom
                && normalize_chrom(chrom) != normalize_chrom(&variant.chrom)
            {
                return Err(DropReason::PositionMismatch);
            }
            if row.pos.is_some_and(|p| p != variant.pos) {
                return Err(DropReason::PositionMismatch);
            }
            (index, variant)
        }
        None => {
            let key = (
                normalize_chrom(row.chrom.as_deref().unwrap_or_default()),
                row.pos.unwrap_or_default(),
            );
            let candidates = by_pos.get(&key).ok_or(DropReason::AbsentInTarget)?;
            let matching: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&k| {
                    target
                        .get(k)
                        .is_some_and(|v| match_alleles(&effect, other.as_deref(), v).is_some())
                })
                .collect();
            match *matching.as_slice() {
                [] => return Err(DropReason::AlleleMismatch),
                [index] => (index, target.get(index).ok_or(DropReason::AbsentInTarget)?),
                _ => return Err(DropReason::DuplicateInTarget),
            }
        }
    };
    let a1 = variant.a1.to_ascii_uppercase();
    let a2 = variant.a2.to_ascii_uppercase();
    let ambiguous = match &other {
        Some(o) => is_ambiguous(&effect, o),
        None => is_ambiguous(&a1, &a2),
    };
    if ambiguous && options.drop_strand_ambiguous {
        return Err(DropReason::StrandAmbiguous);
    }
    let (action, effect_is_a1) =
        match_alleles(&effect, other.as_deref(), variant).ok_or(DropReason::AlleleMismatch)?;
    let (effect_allele, other_allele) = if effect_is_a1 {
        (variant.a1.clone(), variant.a2.clone())
    } else {
        (variant.a2.clone(), variant.a1.clone())
    };
    Ok(ScoreVariant {
        variant_index: index,
        row: 0,
        id: variant.id.clone(),
        effect_allele,
        other_allele,
        effect_is_a1,
        weight: row.weight,
        action,
    })
}

/// Rules 3–4: how the (upper-case) row alleles map onto the site variant, if they do.
fn match_alleles(effect: &str, other: Option<&str>, v: &Variant) -> Option<(KeepAction, bool)> {
    let a1 = v.a1.to_ascii_uppercase();
    let a2 = v.a2.to_ascii_uppercase();
    let same = |e: &str, o: Option<&str>| -> Option<bool> {
        match o {
            Some(o) if e == a1 && o == a2 => Some(true),
            Some(o) if e == a2 && o == a1 => Some(false),
            Some(_) => None,
            None if e == a1 => Some(true),
            None if e == a2 => Some(false),
            None => None,
        }
    };
    if let Some(is_a1) = same(effect, other) {
        return Some((KeepAction::Match, is_a1));
    }
    let other = other?;
    let (ce, co) = (complement(effect)?, complement(other)?);
    same(&ce, Some(&co)).map(|is_a1| (KeepAction::StrandFlip, is_a1))
}

fn is_ambiguous(x: &str, y: &str) -> bool {
    matches!((x, y), ("A", "T") | ("T", "A") | ("C", "G") | ("G", "C"))
}

/// The reverse-strand letters (A↔T, C↔G) of an upper-case allele; `None` for other symbols.
pub(crate) fn complement(allele: &str) -> Option<String> {
    allele
        .chars()
        .map(|c| match c {
            'A' => Some('T'),
            'T' => Some('A'),
            'C' => Some('G'),
            'G' => Some('C'),
            _ => None,
        })
        .collect()
}

/// The chromosome name compared across files: no `chr` prefix, upper case.
pub(crate) fn normalize_chrom(chrom: &str) -> String {
    let c = chrom.trim();
    let c = if c.len() > 3 && c.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("chr")) {
        c.get(3..).unwrap_or(c)
    } else {
        c
    };
    c.to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::pgs::parse_scoring_file;

    fn v(id: &str, pos: u64, a1: &str, a2: &str) -> Variant {
        Variant {
            chrom: "1".into(),
            id: id.into(),
            cm: 0.0,
            pos,
            a1: a1.into(),
            a2: a2.into(),
        }
    }

    fn target() -> Vec<Variant> {
        vec![
            v("rs1", 10, "A", "G"),
            v("rs2", 20, "C", "T"),
            v("rs3", 30, "A", "T"),
            v("rs4", 40, "G", "A"),
            v("rs5", 50, "C", "A"),
        ]
    }

    #[test]
    fn applies_rules_in_order() {
        let text = "rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n\
            rs5\tchr1\t50\tC\tA\t1\n\
            rs1\t1\t10\tG\tA\t0.5\n\
            rs2\t1\t20\tG\tA\t0.25\n\
            rs3\t1\t30\tA\tT\t1\n\
            rs4\t1\t40\tG\tT\t1\n\
            rs9\t1\t90\tG\tT\t1\n\
            rs1\t1\t11\tG\tA\t1\n\
            rs5\t1\t50\tA\tC\t1\n";
        let score = parse_scoring_file(text.as_bytes(), "s").unwrap();
        let opts = HarmonizeOptions {
            min_overlap: 0.0,
            ..Default::default()
        };
        let h = harmonize(&score, &target(), &opts).unwrap();
        assert_eq!(
            h.outcomes,
            vec![
                Outcome::Kept { kept: 2 },
                Outcome::Kept { kept: 0 },
                Outcome::Kept { kept: 1 },
                Outcome::Dropped(DropReason::StrandAmbiguous),
                Outcome::Dropped(DropReason::AlleleMismatch),
                Outcome::Dropped(DropReason::AbsentInTarget),
                Outcome::Dropped(DropReason::PositionMismatch),
                Outcome::Dropped(DropReason::DuplicateInScore),
            ]
        );
        let ids: Vec<_> = h.kept.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(ids, ["rs1", "rs2", "rs5"]);
        assert!(!h.kept[0].effect_is_a1);
        assert_eq!(h.kept[1].action, KeepAction::StrandFlip);
        assert_eq!(h.kept[1].effect_allele, "C");
        assert!(h.kept[1].effect_is_a1);
        assert_eq!(h.kept[2].row, 0);
        let keep_ambiguous = HarmonizeOptions {
            drop_strand_ambiguous: false,
            min_overlap: 0.0,
        };
        let h = harmonize(&score, &target(), &keep_ambiguous).unwrap();
        assert_eq!(h.kept.len(), 4);
        let e = harmonize(&score, &target(), &HarmonizeOptions::default()).unwrap_err();
        assert!(matches!(e, HarmonizeError::InsufficientOverlap { .. }));
        assert!(e.to_string().contains("3 of 8"), "{e}");
        let mut report = Vec::new();
        h.write_report(&score, &mut report).unwrap();
        assert_eq!(String::from_utf8(report).unwrap().lines().count(), 9);
    }

    #[test]
    fn without_identifier_or_other_allele() {
        let score = parse_scoring_file(
            &b"chr_name\tchr_position\teffect_allele\teffect_weight\n1\t40\tA\t1\n1\t20\tG\t1\n"[..],
            "s",
        )
        .unwrap();
        let opts = HarmonizeOptions {
            min_overlap: 0.0,
            ..Default::default()
        };
        let h = harmonize(&score, &target(), &opts).unwrap();
        assert_eq!(h.kept.len(), 1);
        assert!(!h.kept[0].effect_is_a1);
        assert_eq!(h.outcomes[1], Outcome::Dropped(DropReason::AlleleMismatch));
    }
}
