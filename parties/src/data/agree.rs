//! One agreed variant list across sites (issue 5: "Across sites the analysis uses one agreed
//! variant list").
//!
//! Variant identifiers and alleles are not personal data and may be exchanged in plaintext;
//! allele frequencies and counts may not (unless the plan reveals them). So each site states
//! only *which* score rows it kept and how it reads them:
//!
//! ```text
//!  site s: harmonize(score, .bim) ─► KeptList::from_harmonization ─► encode(session) ─► peers
//!  every site: decode(peer bytes, session) ─┐
//!              own KeptList ────────────────┼─► merge (deterministic) ─► AgreedList + report
//!  site s: restrict(own harmonisation, AgreedList) ─► score / genotypes in the agreed order
//! ```
//!
//! - A [`KeptVariant`] is a score row index plus chromosome, position and the effect/other
//!   alleles **on the score's strand** (a site that matched after complementing says so in
//!   `strand_flip`, which is informational), never a count or a frequency.
//! - [`KeptList`] carries the [`score_digest`] of the scoring file (every site must harmonise the
//!   same rows) and travels as a `mpc_core::wire` control frame: frame header (wire version,
//!   session id), a message version ([`AGREE_VERSION`]), a size limit
//!   ([`MAX_KEPT_LIST_BYTES`]), and decoding yields only canonical lists (rows strictly
//!   increasing and inside the file, alleles non-empty A/C/G/T/N strings of bounded length).
//! - [`merge`] is the intersection: a row is agreed when every site kept it with the same
//!   chromosome (after removing a `chr` prefix, case-insensitive), position and score-strand
//!   alleles. It does not depend on the order of the sites. The [`Agreement`] report names, per
//!   site, each row it kept that was not agreed and why ([`NotAgreed`]: which sites lack it, or
//!   which sites read it differently). The agreed list is in score-row order; [`merge`] refuses
//!   when `agreed / score rows` is below the minimum overlap (the report is attached).
//! - [`restrict`] turns a site's own [`Harmonization`] into one whose kept variants are exactly
//!   the agreed list, in the agreed order, so every site's dosage columns line up; rows it kept
//!   but the others did not become [`DropReason::NotAtAllSites`] in its harmonisation report.
//!
//! The sender of a list is whoever the transport authenticated: [`merge`] takes the site names
//! from the caller, never from the message.

use core::fmt;
use std::collections::{BTreeMap, HashMap};

use mpc_core::wire::{Frame, Msg, SessionId, WireError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::harmonize::{self, DropReason, Harmonization, KeepAction, Outcome};
use super::pgs::ScoringFile;
use super::plink::Variant;

/// Version of the [`KeptList`] message (inside the payload; the frame has its own).
pub const AGREE_VERSION: u16 = 1;

/// Largest accepted encoded [`KeptList`] frame payload: 64 MiB is over a million variants with
/// long indel alleles.
pub const MAX_KEPT_LIST_BYTES: usize = 64 << 20;

/// Longest accepted allele or chromosome name in a [`KeptList`], in bytes.
pub const MAX_ALLELE_BYTES: usize = 1000;

/// Domain separator of [`score_digest`].
const SCORE_DIGEST_DOMAIN: &[u8] = b"igs-score-rows/v1";

/// Errors building, decoding, merging or applying kept lists.
#[derive(Debug)]
#[non_exhaustive]
pub enum AgreeError {
    /// The frame or its postcard payload did not decode (or exceeded the size limit).
    Wire(WireError),
    /// The frame belongs to another session.
    WrongSession,
    /// The message version is not [`AGREE_VERSION`].
    Version {
        /// The version found.
        found: u16,
    },
    /// A decoded list is not canonical (what was expected is named).
    NotCanonical {
        /// What was expected.
        expected: &'static str,
    },
    /// No lists to merge.
    NoSites,
    /// A site harmonised a different scoring file (digest or row count differ from the first).
    ScoreMismatch {
        /// The site, as named by the caller.
        site: String,
    },
    /// Fewer agreed rows than the minimum overlap; the report is attached.
    InsufficientOverlap {
        /// The complete agreement, for the report.
        agreement: Box<Agreement>,
        /// The minimum that was required.
        min_overlap: f64,
    },
    /// `min_overlap` is not a number in [0, 1].
    BadMinOverlap,
    /// The agreed list names a row this site did not keep, or reads it differently (the list
    /// was not merged from this site's own [`KeptList`]).
    NotKeptHere {
        /// The 0-based score row.
        row: u32,
    },
    /// The harmonisation refers to a site variant or score row that does not exist.
    Index,
    /// More score rows than a `u32` holds.
    TooManyRows,
}

impl fmt::Display for AgreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Wire(e) => write!(f, "kept-variant list: {e}"),
            Self::WrongSession => write!(f, "kept-variant list from another session"),
            Self::Version { found } => write!(
                f,
                "kept-variant list version {found}, expected {AGREE_VERSION}"
            ),
            Self::NotCanonical { expected } => {
                write!(f, "kept-variant list not canonical: expected {expected}")
            }
            Self::NoSites => write!(f, "no kept-variant lists to merge"),
            Self::ScoreMismatch { site } => write!(
                f,
                "site {site} harmonised a different scoring file (digest or row count differ)"
            ),
            Self::InsufficientOverlap {
                agreement,
                min_overlap,
            } => write!(
                f,
                "only {} of {} score rows ({:.4}) are kept at every site; the minimum overlap \
                 is {min_overlap}",
                agreement.agreed.variants.len(),
                agreement.agreed.rows_in,
                agreement.overlap()
            ),
            Self::BadMinOverlap => write!(f, "minimum overlap must be a number in [0, 1]"),
            Self::NotKeptHere { row } => write!(
                f,
                "score row {} is in the agreed list but not kept (or read differently) here",
                u64::from(*row) + 1
            ),
            Self::Index => write!(f, "harmonised index outside the site or the scoring file"),
            Self::TooManyRows => write!(f, "more than 2^32 score rows"),
        }
    }
}

impl std::error::Error for AgreeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Wire(e) => Some(e),
            _ => None,
        }
    }
}

/// One score row a site kept, in the score's terms (no counts, no frequencies).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptVariant {
    /// 0-based index of the score row (file order).
    pub row: u32,
    /// Chromosome as the site names it (compared after [`harmonize::normalize_chrom`]).
    pub chrom: String,
    /// Position.
    pub pos: u64,
    /// Effect allele on the score's strand, upper case.
    pub effect_allele: String,
    /// Other allele on the score's strand, upper case.
    pub other_allele: String,
    /// The site matched after complementing both alleles (its data are on the other strand).
    pub strand_flip: bool,
}

impl KeptVariant {
    /// What must be equal at every site for the row to be agreed.
    fn key(&self) -> (String, u64, &str, &str) {
        (
            harmonize::normalize_chrom(&self.chrom),
            self.pos,
            &self.effect_allele,
            &self.other_allele,
        )
    }
}

/// The message a site sends: the score rows it kept, in row order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptList {
    /// [`AGREE_VERSION`].
    pub version: u16,
    /// [`score_digest`] of the scoring file the site harmonised.
    pub score_digest: [u8; 32],
    /// Rows in that scoring file.
    pub rows_in: u32,
    /// The kept rows, strictly increasing `row`.
    pub variants: Vec<KeptVariant>,
}

/// SHA-256 of the scoring file's rows (identifier, chromosome, position, alleles, weight as
/// written), so sites can check they harmonised the same score without comparing files (a
/// plain and a gzipped copy of one file have the same digest).
pub fn score_digest(score: &ScoringFile) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(SCORE_DIGEST_DOMAIN);
    let field = |h: &mut Sha256, s: Option<&str>| match s {
        Some(s) => {
            h.update([1u8]);
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
        None => h.update([0u8]),
    };
    h.update((score.rows.len() as u64).to_le_bytes());
    for row in &score.rows {
        field(&mut h, row.id.as_deref());
        field(&mut h, row.chrom.as_deref());
        h.update(row.pos.map_or([0xff; 8], u64::to_le_bytes));
        field(&mut h, Some(&row.effect_allele));
        field(&mut h, row.other_allele.as_deref());
        field(&mut h, Some(&row.weight_text));
        h.update([u8::from(row.non_additive)]);
    }
    h.finalize().into()
}

impl KeptList {
    /// The list a site derives from its own harmonisation (`site_variants` are the variants
    /// the harmonisation indexes, e.g. `Fileset::variants`).
    pub fn from_harmonization(
        harmonization: &Harmonization,
        score: &ScoringFile,
        site_variants: &[Variant],
    ) -> Result<Self, AgreeError> {
        let rows_in = u32::try_from(score.rows.len()).map_err(|_| AgreeError::TooManyRows)?;
        let mut variants = Vec::with_capacity(harmonization.kept.len());
        for k in &harmonization.kept {
            let v = site_variants
                .get(k.variant_index)
                .ok_or(AgreeError::Index)?;
            let row = u32::try_from(k.row).map_err(|_| AgreeError::TooManyRows)?;
            if row >= rows_in {
                return Err(AgreeError::Index);
            }
            let flip = k.action == KeepAction::StrandFlip;
            let strand = |a: &str| {
                let a = a.to_ascii_uppercase();
                if flip {
                    harmonize::complement(&a).unwrap_or(a)
                } else {
                    a
                }
            };
            variants.push(KeptVariant {
                row,
                chrom: v.chrom.clone(),
                pos: v.pos,
                effect_allele: strand(&k.effect_allele),
                other_allele: strand(&k.other_allele),
                strand_flip: flip,
            });
        }
        variants.sort_by_key(|v| v.row);
        let list = Self {
            version: AGREE_VERSION,
            score_digest: score_digest(score),
            rows_in,
            variants,
        };
        list.check()?;
        Ok(list)
    }

    /// One `mpc_core::wire` control frame for `session`.
    pub fn encode(&self, session: SessionId) -> Result<Vec<u8>, AgreeError> {
        let msg = Msg::control(self).map_err(AgreeError::Wire)?;
        if msg.len() > MAX_KEPT_LIST_BYTES {
            return Err(AgreeError::NotCanonical {
                expected: "a list within the size limit",
            });
        }
        Ok(Frame::new(session, 0, msg).encode())
    }

    /// Decodes a peer's frame: size limit before anything else, then the session, the version
    /// and canonical form.
    pub fn decode(bytes: &[u8], session: SessionId) -> Result<Self, AgreeError> {
        let frame = Frame::decode(bytes, MAX_KEPT_LIST_BYTES).map_err(AgreeError::Wire)?;
        if frame.header.session != session {
            return Err(AgreeError::WrongSession);
        }
        let list: Self = frame.msg.into_control().map_err(AgreeError::Wire)?;
        if list.version != AGREE_VERSION {
            return Err(AgreeError::Version {
                found: list.version,
            });
        }
        list.check()?;
        Ok(list)
    }

    /// Canonical form: rows strictly increasing and inside the file; names and alleles
    /// non-empty, bounded, and alleles made of A, C, G, T, N in upper case.
    fn check(&self) -> Result<(), AgreeError> {
        let bad = |expected| Err(AgreeError::NotCanonical { expected });
        let mut previous: Option<u32> = None;
        for v in &self.variants {
            if previous.is_some_and(|p| v.row <= p) {
                return bad("strictly increasing score rows");
            }
            previous = Some(v.row);
            if v.row >= self.rows_in {
                return bad("rows inside the scoring file");
            }
            if v.chrom.is_empty()
                || v.chrom.len() > MAX_ALLELE_BYTES
                || !v.chrom.bytes().all(|b| b.is_ascii_graphic())
            {
                return bad("a printable chromosome name");
            }
            for allele in [&v.effect_allele, &v.other_allele] {
                if allele.is_empty()
                    || allele.len() > MAX_ALLELE_BYTES
                    || !allele
                        .bytes()
                        .all(|b| matches!(b, b'A' | b'C' | b'G' | b'T' | b'N'))
                {
                    return bad("alleles of upper-case A, C, G, T, N");
                }
            }
        }
        Ok(())
    }
}

/// One agreed score row: identical at every site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgreedVariant {
    /// 0-based score row.
    pub row: u32,
    /// Chromosome, normalised (no `chr` prefix, upper case).
    pub chrom: String,
    /// Position.
    pub pos: u64,
    /// Effect allele on the score's strand.
    pub effect_allele: String,
    /// Other allele on the score's strand.
    pub other_allele: String,
}

/// The agreed list: what every site scores, in this order (score-row order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgreedList {
    /// The scoring file's [`score_digest`].
    pub score_digest: [u8; 32],
    /// Rows in the scoring file.
    pub rows_in: u32,
    /// The agreed rows, strictly increasing `row`.
    pub variants: Vec<AgreedVariant>,
}

/// Why a row one site kept is not agreed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotAgreed {
    /// These sites did not keep it.
    MissingAt(Vec<String>),
    /// Every site kept it, but these sites read chromosome, position or alleles differently.
    ReadDifferentlyAt(Vec<String>),
}

/// Rows one site kept that are not agreed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteDrops {
    /// The site, as named by the caller.
    pub site: String,
    /// Rows the site kept.
    pub kept: usize,
    /// `(row, why)` for each kept row that is not agreed, in row order.
    pub dropped: Vec<(u32, NotAgreed)>,
}

/// The result of [`merge`]: the agreed list and the per-site report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agreement {
    /// The agreed list.
    pub agreed: AgreedList,
    /// One entry per site, in the order given.
    pub sites: Vec<SiteDrops>,
}

impl Agreement {
    /// Agreed rows / score rows (0 for an empty file).
    pub fn overlap(&self) -> f64 {
        if self.agreed.rows_in == 0 {
            0.0
        } else {
            self.agreed.variants.len() as f64 / f64::from(self.agreed.rows_in)
        }
    }

    /// The report as TSV: `SITE KEPT AGREED` summary lines are not needed by tools, so one line
    /// per dropped row: `SITE ROW REASON OTHER_SITES` (row 1-based among the score rows; reason
    /// `missing_at` or `read_differently_at`; other sites comma-separated).
    pub fn write_report<W: std::io::Write>(&self, mut w: W) -> std::io::Result<()> {
        writeln!(w, "SITE\tROW\tREASON\tOTHER_SITES")?;
        for s in &self.sites {
            for (row, why) in &s.dropped {
                let (reason, others) = match why {
                    NotAgreed::MissingAt(o) => ("missing_at", o),
                    NotAgreed::ReadDifferentlyAt(o) => ("read_differently_at", o),
                };
                writeln!(
                    w,
                    "{}\t{}\t{reason}\t{}",
                    s.site,
                    u64::from(*row) + 1,
                    others.join(",")
                )?;
            }
        }
        Ok(())
    }
}

/// Merges the sites' lists (names from the authenticated transport, in any order) into the
/// agreed list; refuses below `min_overlap` (fraction of score rows agreed).
pub fn merge(sites: &[(&str, &KeptList)], min_overlap: f64) -> Result<Agreement, AgreeError> {
    if !(0.0..=1.0).contains(&min_overlap) {
        return Err(AgreeError::BadMinOverlap);
    }
    let Some((_, first)) = sites.first() else {
        return Err(AgreeError::NoSites);
    };
    for (name, list) in sites {
        if list.score_digest != first.score_digest || list.rows_in != first.rows_in {
            return Err(AgreeError::ScoreMismatch {
                site: (*name).to_owned(),
            });
        }
        list.check()?;
    }
    // row -> each site's entry (None when the site did not keep it).
    let mut by_row: BTreeMap<u32, Vec<Option<&KeptVariant>>> = BTreeMap::new();
    for (s, (_, list)) in sites.iter().enumerate() {
        for v in &list.variants {
            let slot = by_row
                .entry(v.row)
                .or_insert_with(|| vec![None; sites.len()]);
            if let Some(e) = slot.get_mut(s) {
                *e = Some(v);
            }
        }
    }
    let mut agreed = Vec::new();
    let mut drops: Vec<Vec<(u32, NotAgreed)>> = vec![Vec::new(); sites.len()];
    let name = |s: usize| sites.get(s).map_or("", |(n, _)| n).to_owned();
    for (&row, entries) in &by_row {
        let missing: Vec<String> = (0..sites.len())
            .filter(|&s| entries.get(s).is_none_or(Option::is_none))
            .map(name)
            .collect();
        let keys: Vec<Option<_>> = entries.iter().map(|e| e.map(KeptVariant::key)).collect();
        let all_equal = keys.windows(2).all(|w| match w {
            [a, b] => a == b,
            _ => true,
        });
        if missing.is_empty() && all_equal {
            if let Some(Some(v)) = entries.first() {
                agreed.push(AgreedVariant {
                    row,
                    chrom: harmonize::normalize_chrom(&v.chrom),
                    pos: v.pos,
                    effect_allele: v.effect_allele.clone(),
                    other_allele: v.other_allele.clone(),
                });
            }
            continue;
        }
        for (s, key) in keys.iter().enumerate() {
            let Some(key) = key else { continue };
            let why = if missing.is_empty() {
                NotAgreed::ReadDifferentlyAt(
                    keys.iter()
                        .enumerate()
                        .filter(|(t, k)| *t != s && k.as_ref() != Some(key))
                        .map(|(t, _)| name(t))
                        .collect(),
                )
            } else {
                NotAgreed::MissingAt(missing.clone())
            };
            if let Some(d) = drops.get_mut(s) {
                d.push((row, why));
            }
        }
    }
    let agreement = Agreement {
        agreed: AgreedList {
            score_digest: first.score_digest,
            rows_in: first.rows_in,
            variants: agreed,
        },
        sites: sites
            .iter()
            .zip(drops)
            .map(|((n, list), dropped)| SiteDrops {
                site: (*n).to_owned(),
                kept: list.variants.len(),
                dropped,
            })
            .collect(),
    };
    if agreement.overlap() < min_overlap {
        return Err(AgreeError::InsufficientOverlap {
            agreement: Box::new(agreement),
            min_overlap,
        });
    }
    Ok(agreement)
}

/// This site's harmonisation restricted to the agreed list, with the kept variants in the
/// agreed order; kept rows that are not agreed become [`DropReason::NotAtAllSites`]. Fails if
/// the agreed list names a row this site did not keep or reads differently.
pub fn restrict(
    harmonization: &Harmonization,
    score: &ScoringFile,
    site_variants: &[Variant],
    agreed: &AgreedList,
) -> Result<Harmonization, AgreeError> {
    let own = KeptList::from_harmonization(harmonization, score, site_variants)?;
    if own.score_digest != agreed.score_digest || own.rows_in != agreed.rows_in {
        return Err(AgreeError::ScoreMismatch {
            site: "this site".to_owned(),
        });
    }
    let own_by_row: HashMap<u32, &KeptVariant> = own.variants.iter().map(|v| (v.row, v)).collect();
    let kept_by_row: HashMap<usize, &harmonize::ScoreVariant> =
        harmonization.kept.iter().map(|k| (k.row, k)).collect();
    let mut kept = Vec::with_capacity(agreed.variants.len());
    let mut new_index: HashMap<usize, usize> = HashMap::with_capacity(agreed.variants.len());
    for a in &agreed.variants {
        let mine = own_by_row
            .get(&a.row)
            .filter(|v| {
                harmonize::normalize_chrom(&v.chrom) == a.chrom
                    && v.pos == a.pos
                    && v.effect_allele == a.effect_allele
                    && v.other_allele == a.other_allele
            })
            .ok_or(AgreeError::NotKeptHere { row: a.row })?;
        let row = mine.row as usize;
        let k = kept_by_row
            .get(&row)
            .ok_or(AgreeError::NotKeptHere { row: a.row })?;
        new_index.insert(row, kept.len());
        kept.push((*k).clone());
    }
    let outcomes = harmonization
        .outcomes
        .iter()
        .enumerate()
        .map(|(row, o)| match o {
            Outcome::Kept { .. } => match new_index.get(&row) {
                Some(&kept) => Outcome::Kept { kept },
                None => Outcome::Dropped(DropReason::NotAtAllSites),
            },
            dropped => *dropped,
        })
        .collect();
    Ok(Harmonization {
        rows_in: harmonization.rows_in,
        kept,
        outcomes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::harmonize::{HarmonizeOptions, harmonize};
    use crate::data::pgs::parse_scoring_file;

    fn v(chrom: &str, id: &str, pos: u64, a1: &str, a2: &str) -> Variant {
        Variant {
            chrom: chrom.into(),
            id: id.into(),
            cm: 0.0,
            pos,
            a1: a1.into(),
            a2: a2.into(),
        }
    }

    const SCORE: &str = "rsID\tchr_name\tchr_position\teffect_allele\tother_allele\teffect_weight\n\
        rs1\t1\t10\tA\tG\t0.5\n\
        rs2\t1\t20\tC\tT\t-1\n\
        rs3\t1\t30\tG\tA\t2\n\
        rs4\t1\t40\tA\tC\t1\n";

    fn list(site: &[Variant]) -> (Harmonization, KeptList) {
        let score = parse_scoring_file(SCORE.as_bytes(), "s").unwrap();
        let options = HarmonizeOptions {
            min_overlap: 0.0,
            ..HarmonizeOptions::default()
        };
        let h = harmonize(&score, site, &options).unwrap();
        let l = KeptList::from_harmonization(&h, &score, site).unwrap();
        (h, l)
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn merge_intersects_and_reports_per_site() {
        // a: all four, rs2 on the other strand and A1/A2 swapped; b: no rs3; c: rs4 elsewhere.
        let a = [
            v("1", "rs1", 10, "G", "A"),
            v("1", "rs2", 20, "A", "G"),
            v("1", "rs3", 30, "G", "A"),
            v("1", "rs4", 40, "A", "C"),
        ];
        let b = [
            v("chr1", "rs1", 10, "A", "G"),
            v("chr1", "rs2", 20, "T", "C"),
            v("chr1", "rs4", 40, "A", "C"),
        ];
        let c = [
            v("1", "rs1", 10, "A", "G"),
            v("1", "rs2", 20, "T", "C"),
            v("1", "rs3", 30, "A", "G"),
            v("2", "rs4", 40, "A", "C"),
        ];
        let (ha, la) = list(&a);
        let (_, lb) = list(&b);
        let (_, lc) = list(&c);
        assert!(la.variants[1].strand_flip);
        assert_eq!(
            (
                la.variants[1].effect_allele.as_str(),
                la.variants[1].other_allele.as_str()
            ),
            ("C", "T")
        );
        // rs4 is absent at c by position check (chr 2 vs score chr 1): not kept there.
        assert_eq!(lc.variants.len(), 3);
        let sites = [("a", &la), ("b", &lb), ("c", &lc)];
        let m = merge(&sites, 0.0).unwrap();
        let rows: Vec<u32> = m.agreed.variants.iter().map(|v| v.row).collect();
        assert_eq!(rows, [0, 1]);
        assert_eq!(m.agreed.variants[0].chrom, "1");
        assert_eq!(
            m.sites[0].dropped,
            [
                (2, NotAgreed::MissingAt(vec!["b".into()])),
                (3, NotAgreed::MissingAt(vec!["c".into()])),
            ]
        );
        assert_eq!(m.sites[1].dropped.len(), 1);
        assert_eq!(m.overlap(), 0.5);
        // Site order does not change the agreed list.
        let m2 = merge(&[("c", &lc), ("a", &la), ("b", &lb)], 0.0).unwrap();
        assert_eq!(m2.agreed, m.agreed);
        // Refusal below the minimum, with the report.
        let e = merge(&sites, 0.75).unwrap_err();
        assert!(e.to_string().contains("2 of 4"), "{e}");
        // Restricting a's harmonisation: agreed order, rs3/rs4 now `not_at_all_sites`.
        let score = parse_scoring_file(SCORE.as_bytes(), "s").unwrap();
        let r = restrict(&ha, &score, &a, &m.agreed).unwrap();
        let ids: Vec<&str> = r.kept.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(ids, ["rs1", "rs2"]);
        assert_eq!(r.outcomes[2], Outcome::Dropped(DropReason::NotAtAllSites));
        assert_eq!(r.outcomes[1], Outcome::Kept { kept: 1 });
        // b cannot apply a list that names rs3.
        let (hb, _) = list(&b);
        let ab = merge(&[("a", &la), ("a2", &la)], 0.0).unwrap();
        assert!(matches!(
            restrict(&hb, &score, &b, &ab.agreed),
            Err(AgreeError::NotKeptHere { row: 2 })
        ));
        let mut report = Vec::new();
        m.write_report(&mut report).unwrap();
        let report = String::from_utf8(report).unwrap();
        assert!(report.contains("a\t3\tmissing_at\tb\n"), "{report}");
    }

    #[test]
    fn read_differently_is_reported() {
        let a = [v("1", "rs1", 10, "A", "G")];
        let b = [v("1", "rs1", 10, "A", "G")];
        let (_, la) = list(&a);
        let (_, mut lb) = list(&b);
        lb.variants[0].pos = 11;
        let m = merge(&[("a", &la), ("b", &lb)], 0.0).unwrap();
        assert!(m.agreed.variants.is_empty());
        assert_eq!(
            m.sites[0].dropped,
            [(0, NotAgreed::ReadDifferentlyAt(vec!["b".into()]))]
        );
    }

    #[test]
    fn wire_round_trip_snapshot_and_checks() {
        let sid = SessionId([7; 16]);
        let list = KeptList {
            version: AGREE_VERSION,
            score_digest: [1; 32],
            rows_in: 3,
            variants: vec![KeptVariant {
                row: 2,
                chrom: "1".into(),
                pos: 300,
                effect_allele: "A".into(),
                other_allele: "GT".into(),
                strand_flip: true,
            }],
        };
        let bytes = list.encode(sid).unwrap();
        // Byte snapshot of the payload (after the 40-byte frame header): a change here is a
        // wire-format change.
        assert_eq!(
            hex(&bytes[40..]),
            "01\
             0101010101010101010101010101010101010101010101010101010101010101\
             03\
             01\
             02\
             0131\
             ac02\
             0141\
             024754\
             01"
        );
        assert_eq!(KeptList::decode(&bytes, sid).unwrap(), list);
        assert!(matches!(
            KeptList::decode(&bytes, SessionId([8; 16])),
            Err(AgreeError::WrongSession)
        ));
        let tamper = |f: &dyn Fn(&mut KeptList)| {
            let mut l = list.clone();
            f(&mut l);
            let frame = Frame::new(sid, 0, Msg::control(&l).unwrap()).encode();
            KeptList::decode(&frame, sid).unwrap_err()
        };
        assert!(matches!(
            tamper(&|l| l.version = 2),
            AgreeError::Version { found: 2 }
        ));
        assert!(matches!(
            tamper(&|l| l.variants[0].row = 3),
            AgreeError::NotCanonical { .. }
        ));
        assert!(matches!(
            tamper(&|l| l.variants[0].effect_allele = "a".into()),
            AgreeError::NotCanonical { .. }
        ));
        assert!(matches!(
            tamper(&|l| l.variants.push(l.variants[0].clone())),
            AgreeError::NotCanonical { .. }
        ));
        assert!(matches!(
            KeptList::decode(&bytes[..bytes.len() - 1], sid),
            Err(AgreeError::Wire(_))
        ));
    }

    #[test]
    fn digest_ignores_compression_but_not_content() {
        let a = parse_scoring_file(SCORE.as_bytes(), "s").unwrap();
        let b = parse_scoring_file(SCORE.replace("0.5", "0.50").as_bytes(), "s").unwrap();
        assert_ne!(score_digest(&a), score_digest(&b));
        assert_eq!(score_digest(&a), score_digest(&a.clone()));
    }
}
