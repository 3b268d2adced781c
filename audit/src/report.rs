//! Human-readable reports for legal reviewers: Markdown, and a self-contained HTML page
//! (inline CSS, no scripts, no external assets).
//!
//! The report is built from what the verifier decoded; a bundle that fails verification gets
//! a report that says so first, with the failure, and only the plan summary if the plan
//! itself decodes.

use std::collections::BTreeMap;

use mpc_core::PartyId;

use crate::codec::hex;
use crate::plan::{CanonicalPlan, OutputKind, Role, Value};
use crate::transcript::Body;
use crate::verify::{AuditBundle, Failure, Verified, verify};

/// A rendered report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// PASS or FAIL.
    pub pass: bool,
    /// Markdown.
    pub markdown: String,
    /// Self-contained HTML.
    pub html: String,
}

enum Block {
    H(u8, String),
    P(String),
    Verdict(bool, String),
    Table(Vec<String>, Vec<Vec<String>>),
    List(Vec<String>),
}

/// Verifies `bundle` and renders the report.
pub fn report(bundle: &AuditBundle) -> Report {
    let blocks = match verify(bundle) {
        Ok(v) => verified_blocks(&v),
        Err(f) => failed_blocks(bundle, &f),
    };
    let pass = matches!(blocks.get(1), Some(Block::Verdict(true, _)));
    Report {
        pass,
        markdown: markdown(&blocks),
        html: html(&blocks),
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC` (proleptic Gregorian, no clock read).
pub fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn utc_ms(ms: i64) -> String {
    let s = utc(ms.div_euclid(1000));
    format!(
        "{}.{:03} UTC",
        s.trim_end_matches(" UTC"),
        ms.rem_euclid(1000)
    )
}

fn name(plan: &CanonicalPlan, id: u16) -> String {
    plan.party(PartyId(id))
        .map(|p| p.name.clone())
        .unwrap_or_else(|| format!("P{id}"))
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Fixed { mantissa, frac } => format!("{mantissa}·2^-{frac}"),
        Value::Text(t) => t.clone(),
        Value::Bytes(b) => hex(b),
        Value::Ints(v) => format!("{v:?}"),
        Value::Texts(v) => v.join(", "),
    }
}

fn bytes_text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) if s.chars().all(|c| !c.is_control()) => s.to_string(),
        _ => format!("0x{}", hex(b)),
    }
}

fn plan_blocks(plan: &CanonicalPlan, out: &mut Vec<Block>) {
    let p = plan.plan();
    out.push(Block::H(2, "Security model".into()));
    out.push(Block::P(format!(
        "Protocol: {}. Security model: {}. {}",
        p.security.protocol, p.security.model, p.security.model_text
    )));
    out.push(Block::P(format!(
        "Crypto parameter sets: {}. Engine: {}.",
        p.security.crypto.join(", "),
        p.engine_version
    )));
    out.push(Block::H(2, "Parties and jurisdictions".into()));
    let dealer = p.security.dealer.as_deref();
    out.push(Block::Table(
        [
            "Party",
            "Role",
            "Operator",
            "Jurisdiction",
            "Signing key (first 8 bytes)",
        ]
        .map(String::from)
        .to_vec(),
        p.parties
            .iter()
            .map(|q| {
                let role = match (q.role, Some(q.name.as_str()) == dealer) {
                    (Role::Site, _) => "site (holds data, computes)",
                    (Role::Helper, true) => "helper: dealer (no data, no output)",
                    (Role::Helper, false) => "helper: computing party (no data, no output)",
                    (Role::Coordinator, _) => "coordinator (no shares)",
                };
                vec![
                    q.name.clone(),
                    role.into(),
                    q.operator.clone(),
                    q.jurisdiction.clone(),
                    hex(q.verifying_key.get(..8).unwrap_or_default()),
                ]
            })
            .collect(),
    ));
    out.push(Block::H(2, "Plan".into()));
    out.push(Block::List(vec![
        format!("Run id: {}", hex(&p.run_id.0)),
        format!("Plan hash (SHA-256, igs-plan/v1): {}", hex(&plan.hash())),
        format!(
            "Purpose: {} (disease: {}; ancestry research: {})",
            p.purpose.study_type,
            p.purpose.disease.as_deref().unwrap_or("none"),
            if p.purpose.ancestry_research {
                "yes"
            } else {
                "no"
            }
        ),
        format!("Not after: {}", utc(p.not_after)),
        format!(
            "Timeouts: handshake {} ms, step {} ms, run {} ms",
            p.timeouts.handshake_ms, p.timeouts.step_ms, p.timeouts.run_ms
        ),
    ]));
    out.push(Block::H(3, "Input datasets".into()));
    out.push(Block::Table(
        ["Site", "Dataset", "Consent (DUO)", "Cohort", "n"]
            .map(String::from)
            .to_vec(),
        p.inputs
            .iter()
            .map(|i| {
                vec![
                    i.site.clone(),
                    i.dataset.clone(),
                    i.duo
                        .iter()
                        .map(|d| d.label())
                        .collect::<Vec<_>>()
                        .join("; "),
                    i.cohort.clone(),
                    i.n.to_string(),
                ]
            })
            .collect(),
    ));
    out.push(Block::H(3, "Analyses".into()));
    out.push(Block::Table(
        ["Step", "Name", "Circuit", "Parameters"]
            .map(String::from)
            .to_vec(),
        p.analyses
            .iter()
            .enumerate()
            .map(|(i, a)| {
                vec![
                    i.to_string(),
                    a.name.clone(),
                    a.circuit.clone(),
                    a.params
                        .iter()
                        .map(|(k, v)| format!("{k} = {}", value_text(v)))
                        .collect::<Vec<_>>()
                        .join("; "),
                ]
            })
            .collect(),
    ));
    out.push(Block::H(3, "Outputs allowed by the plan".into()));
    out.push(Block::Table(
        [
            "Output",
            "Step",
            "Formula",
            "Recipients",
            "k per site",
            "Precision",
            "Kind",
            "Public",
        ]
        .map(String::from)
        .to_vec(),
        p.outputs
            .iter()
            .map(|o| {
                vec![
                    o.name.clone(),
                    o.step.to_string(),
                    o.formula.clone(),
                    o.recipients.join(", "),
                    o.k.to_string(),
                    format!("{} decimals", o.precision),
                    match &o.kind {
                        OutputKind::Aggregate { parameters } => {
                            format!("aggregate, {parameters} values")
                        }
                        OutputKind::PerIndividual { site } => {
                            format!("per individual, {site} only")
                        }
                    } + if o.ancestry_stratified {
                        ", ancestry-stratified"
                    } else {
                        ""
                    },
                    if o.public {
                        "yes"
                    } else {
                        "no (commitment only)"
                    }
                    .into(),
                ]
            })
            .collect(),
    ));
}

/// (revealing parties, n per site, checks, commitment prefix, value).
type RevealRow = (Vec<String>, String, String, String, String);

fn verified_blocks(v: &Verified) -> Vec<Block> {
    let plan = &v.plan;
    let p = plan.plan();
    let mut out = vec![
        Block::H(1, format!("Audit report: run {}", hex(&p.run_id.0))),
        Block::Verdict(
            true,
            format!(
                "all {} approvals, {} transcripts, their signed tree heads, the pairwise \
                 send/receive check and the run record signed by all {} parties verify against \
                 the keys pinned in the plan.",
                v.approvals.len(),
                v.entries.len(),
                p.parties.len()
            ),
        ),
    ];
    plan_blocks(plan, &mut out);
    out.push(Block::H(2, "Approvals".into()));
    out.push(Block::Table(
        ["Site", "Approved at", "Signature"]
            .map(String::from)
            .to_vec(),
        v.approvals
            .iter()
            .map(|a| {
                vec![
                    name(plan, a.site),
                    utc(a.approved_at),
                    "valid (Ed25519, pinned key)".into(),
                ]
            })
            .collect(),
    ));
    // Timeline: per step, first and last entry time over all parties, frames and bytes.
    out.push(Block::H(2, "Timeline of phases".into()));
    let mut steps: BTreeMap<u32, (i64, i64, u64, u64)> = BTreeMap::new();
    for es in &v.entries {
        for e in es {
            let s = steps.entry(e.step).or_insert((i64::MAX, i64::MIN, 0, 0));
            s.0 = s.0.min(e.time_ms);
            s.1 = s.1.max(e.time_ms);
            if let Body::Send(f) = &e.body {
                s.2 += 1;
                s.3 += f.len;
            }
        }
    }
    out.push(Block::Table(
        [
            "Step",
            "Analysis",
            "From",
            "To",
            "Frames sent",
            "Bytes sent",
        ]
        .map(String::from)
        .to_vec(),
        steps
            .iter()
            .map(|(s, (a, b, f, n))| {
                vec![
                    s.to_string(),
                    p.analyses
                        .get(*s as usize)
                        .map(|x| x.name.clone())
                        .unwrap_or_default(),
                    utc_ms(*a),
                    utc_ms(*b),
                    f.to_string(),
                    n.to_string(),
                ]
            })
            .collect(),
    ));
    let mut ends = Vec::new();
    for (i, es) in v.entries.iter().enumerate() {
        if let Some(e) = es.last() {
            let what = match &e.body {
                Body::Abort { culprit, reason } => format!(
                    "ABORTED at {} ({reason}{})",
                    utc_ms(e.time_ms),
                    culprit
                        .map(|c| format!("; blames {}", name(plan, c)))
                        .unwrap_or_default()
                ),
                _ => format!("finished at {}", utc_ms(e.time_ms)),
            };
            ends.push(format!(
                "{}: {} entries, {what}; tree head signed",
                name(plan, i as u16),
                es.len()
            ));
        }
    }
    out.push(Block::List(ends));
    out.push(Block::H(2, "Bytes exchanged per pair".into()));
    out.push(Block::P(
        "From the senders' transcripts; every frame was also logged, with the same hash, by \
         its receiver."
            .into(),
    ));
    out.push(Block::Table(
        [
            "From",
            "To",
            "Jurisdictions",
            "Frames",
            "Bytes",
            "Both logs agree",
        ]
        .map(String::from)
        .to_vec(),
        v.record
            .body
            .pairs
            .iter()
            .filter(|t| t.frames > 0)
            .map(|t| {
                let j = |id: u16| {
                    plan.party(PartyId(id))
                        .map(|q| q.jurisdiction.clone())
                        .unwrap_or_default()
                };
                vec![
                    name(plan, t.from),
                    name(plan, t.to),
                    format!("{} → {}", j(t.from), j(t.to)),
                    t.frames.to_string(),
                    t.bytes.to_string(),
                    if t.matched { "yes" } else { "NO" }.into(),
                ]
            })
            .collect(),
    ));
    out.push(Block::H(2, "Revealed outputs".into()));
    // (output, recipient) → (revealing parties, n per site, checks, commitment, value)
    let mut reveals: BTreeMap<(String, u16), RevealRow> = BTreeMap::new();
    let mut refusals = Vec::new();
    for (i, es) in v.entries.iter().enumerate() {
        for e in es {
            match &e.body {
                Body::Reveal(r) => {
                    let row = reveals
                        .entry((r.output.clone(), r.recipient))
                        .or_insert_with(|| {
                            (
                                Vec::new(),
                                r.n_per_site
                                    .iter()
                                    .map(|(s, n)| format!("{}: {n}", name(plan, *s)))
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                r.checks.join(", "),
                                hex(r.commitment.get(..8).unwrap_or_default()),
                                r.value
                                    .as_deref()
                                    .map(bytes_text)
                                    .unwrap_or_else(|| "not public (salted commitment)".into()),
                            )
                        });
                    row.0.push(name(plan, i as u16));
                }
                Body::Refuse { rule, detail } => refusals.push(format!(
                    "{} refused at {} [{rule}]: {detail}",
                    name(plan, i as u16),
                    utc_ms(e.time_ms)
                )),
                _ => {}
            }
        }
    }
    out.push(Block::Table(
        [
            "Output",
            "Recipient",
            "Released by",
            "Individuals per site",
            "Checks passed",
            "Commitment",
            "Value",
        ]
        .map(String::from)
        .to_vec(),
        reveals
            .into_iter()
            .map(|((o, r), (by, n, c, h, val))| vec![o, name(plan, r), by.join(", "), n, c, h, val])
            .collect(),
    ));
    out.push(Block::H(2, "Refusals".into()));
    if refusals.is_empty() {
        out.push(Block::P("None.".into()));
    } else {
        out.push(Block::List(refusals));
    }
    limits(&mut out);
    out
}

fn limits(out: &mut Vec<Block>) {
    out.push(Block::H(
        2,
        "What this report proves, and what it does not".into(),
    ));
    out.push(Block::List(vec![
        "Proves: every site approved exactly this plan; each party's log is complete from its \
         first entry to its end (no entry removed, added, changed or reordered since it was \
         signed); every frame a party says it sent was logged by its receiver with the same \
         hash; nothing was revealed that the plan does not list, and only after a passing \
         disclosure check; all parties signed the same record, so no party can show another \
         auditor a different log."
            .into(),
        "Does not prove: that a party's software logged honestly while running (a party that \
         deviates and lies consistently in its own log is caught only where its peers' logs \
         disagree); that the inputs were the datasets named; that times are accurate (each \
         party's own clock); the values behind non-public outputs (only salted commitments are \
         kept; the recipients can open them)."
            .into(),
    ]));
}

fn failed_blocks(bundle: &AuditBundle, f: &Failure) -> Vec<Block> {
    let mut out = vec![
        Block::H(1, "Audit report: verification FAILED".into()),
        Block::Verdict(false, f.to_string()),
        Block::P(format!(
            "First failure: party {}, sequence number {}, rule {}. Nothing below has been \
             verified.",
            f.party.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
            f.seq.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
            f.rule.id()
        )),
    ];
    if let Ok(plan) = CanonicalPlan::decode(&bundle.plan) {
        plan_blocks(&plan, &mut out);
    }
    limits(&mut out);
    out
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn markdown(blocks: &[Block]) -> String {
    let mut s = String::new();
    for b in blocks {
        match b {
            Block::H(l, t) => s += &format!("{} {t}\n\n", "#".repeat(usize::from(*l))),
            Block::P(t) => s += &format!("{t}\n\n"),
            Block::Verdict(ok, t) => {
                s += &format!("**{}** — {t}\n\n", if *ok { "PASS" } else { "FAIL" })
            }
            Block::List(items) => {
                for i in items {
                    s += &format!("- {i}\n");
                }
                s += "\n";
            }
            Block::Table(h, rows) => {
                s += &format!(
                    "| {} |\n",
                    h.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
                );
                s += &format!("|{}\n", "---|".repeat(h.len()));
                for r in rows {
                    s += &format!(
                        "| {} |\n",
                        r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
                    );
                }
                s += "\n";
            }
        }
    }
    s
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o += "&lt;",
            '>' => o += "&gt;",
            '&' => o += "&amp;",
            '"' => o += "&quot;",
            '\'' => o += "&#39;",
            c => o.push(c),
        }
    }
    o
}

const CSS: &str = "body{font-family:Georgia,'Times New Roman',serif;max-width:1100px;margin:2em auto;\
padding:0 1.5em;color:#1a1a1a;line-height:1.45}h1{font-size:1.7em;border-bottom:3px solid #1a1a1a;\
padding-bottom:.3em}h2{font-size:1.3em;margin-top:1.8em;border-bottom:1px solid #aaa}\
h3{font-size:1.1em}table{border-collapse:collapse;width:100%;margin:.6em 0 1.2em;font-size:.9em}\
th,td{border:1px solid #bbb;padding:.35em .5em;text-align:left;vertical-align:top;\
overflow-wrap:anywhere}th{background:#eef0f3;white-space:nowrap}tr:nth-child(even) td{background:#fafafa}\
.verdict{padding:.8em 1em;font-size:1.05em;border-radius:4px}.pass{background:#e3f4e3;\
border:2px solid #2e7d32}.fail{background:#fde8e8;border:2px solid #c62828}\
@media print{body{margin:0;max-width:none}}";

fn html(blocks: &[Block]) -> String {
    let title = blocks
        .iter()
        .find_map(|b| match b {
            Block::H(1, t) => Some(t.as_str()),
            _ => None,
        })
        .unwrap_or("Audit report");
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>{}</title><style>{CSS}</style></head><body>\n",
        esc(title)
    );
    for b in blocks {
        match b {
            Block::H(l, t) => s += &format!("<h{l}>{}</h{l}>\n", esc(t)),
            Block::P(t) => s += &format!("<p>{}</p>\n", esc(t)),
            Block::Verdict(ok, t) => {
                s += &format!(
                    "<p class=\"verdict {}\"><strong>{}</strong> — {}</p>\n",
                    if *ok { "pass" } else { "fail" },
                    if *ok { "PASS" } else { "FAIL" },
                    esc(t)
                )
            }
            Block::List(items) => {
                s += "<ul>";
                for i in items {
                    s += &format!("<li>{}</li>", esc(i));
                }
                s += "</ul>\n";
            }
            Block::Table(h, rows) => {
                s += "<table><thead><tr>";
                for c in h {
                    s += &format!("<th>{}</th>", esc(c));
                }
                s += "</tr></thead><tbody>";
                for r in rows {
                    s += "<tr>";
                    for c in r {
                        s += &format!("<td>{}</td>", esc(c));
                    }
                    s += "</tr>";
                }
                s += "</tbody></table>\n";
            }
        }
    }
    s += "</body></html>\n";
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(esc("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}
