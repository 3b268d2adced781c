//! Hand-written SVG plots of a scoring set's results: calibration by decile (observed vs
//! expected cases per Hosmer–Lemeshow group) and a forest plot of per-site and pooled AUC.

use std::fmt::Write as _;

use serde_json::Value;

/// Escapes text for SVG/HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const W: f64 = 520.0;
const H: f64 = 400.0;
const M: f64 = 60.0;

fn sets(v: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    if let Some(p) = v.pointer("/evaluation/pooled") {
        out.push(("pooled".to_owned(), p));
    }
    if let Some(Value::Object(per)) = v.pointer("/evaluation/per_site") {
        for (k, x) in per {
            out.push((k.clone(), x));
        }
    }
    out
}

const COLORS: [&str; 6] = [
    "#000000", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
];

/// Calibration by decile: observed vs expected proportion of cases per group, one series per
/// dataset whose table was revealed. `None` if no table was revealed.
pub fn calibration_svg(key: &str, v: &Value) -> Option<String> {
    let mut series = Vec::new();
    for (name, e) in sets(v) {
        if let Some(Value::Array(t)) = e.pointer("/hosmer_lemeshow/table") {
            let pts: Vec<(f64, f64)> = t
                .iter()
                .filter_map(|g| {
                    let n = g.get("n")?.as_f64()?;
                    (n > 0.0).then_some((
                        g.get("expected")?.as_f64()? / n,
                        g.get("observed")?.as_f64()? / n,
                    ))
                })
                .collect();
            series.push((name, pts));
        }
    }
    if series.is_empty() {
        return None;
    }
    let max = series
        .iter()
        .flat_map(|(_, p)| p.iter().flat_map(|&(a, b)| [a, b]))
        .fold(0.05_f64, f64::max)
        .min(1.0);
    let x = |a: f64| M + a / max * (W - 2.0 * M);
    let y = |b: f64| H - M - b / max * (H - 2.0 * M);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        s,
        r#"<text x="{}" y="20" text-anchor="middle" font-size="14">{}: calibration by decile of the IGS (logistic)</text>"#,
        W / 2.0,
        esc(key)
    );
    let _ = write!(
        s,
        r##"<rect x="{M}" y="{M}" width="{}" height="{}" fill="none" stroke="#888"/><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#bbb" stroke-dasharray="4"/>"##,
        W - 2.0 * M,
        H - 2.0 * M,
        x(0.0),
        y(0.0),
        x(max),
        y(max)
    );
    for k in 0..=4 {
        let t = max * f64::from(k) / 4.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{t:.2}</text><text x="{}" y="{}" text-anchor="end">{t:.2}</text>"#,
            x(t),
            H - M + 16.0,
            M - 6.0,
            y(t) + 4.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">expected proportion of cases</text><text x="16" y="{}" transform="rotate(-90 16 {})" text-anchor="middle">observed proportion</text>"#,
        W / 2.0,
        H - 20.0,
        H / 2.0,
        H / 2.0
    );
    for (i, (name, pts)) in series.iter().enumerate() {
        let c = COLORS.get(i % COLORS.len()).copied().unwrap_or("#000");
        let path: Vec<String> = pts
            .iter()
            .map(|&(a, b)| format!("{:.1},{:.1}", x(a), y(b)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{c}"/>"#,
            path.join(" ")
        );
        for &(a, b) in pts {
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{c}"/>"#,
                x(a),
                y(b)
            );
        }
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" fill="{c}">{}</text>"#,
            M + 10.0,
            M + 16.0 + 14.0 * i as f64,
            esc(name)
        );
    }
    s.push_str("</svg>");
    Some(s)
}

/// Forest plot: AUC (± 1.96 DeLong SE) of the PRS and the IGS per site and pooled.
pub fn forest_svg(key: &str, v: &Value) -> Option<String> {
    let rows: Vec<(String, &str, f64, f64)> = sets(v)
        .into_iter()
        .flat_map(|(name, e)| {
            [
                ("PRS", "auc_prs", "auc_prs_se"),
                ("IGS", "auc_igs", "auc_igs_se"),
            ]
            .into_iter()
            .filter_map(move |(what, a, se)| {
                Some((
                    name.clone(),
                    what,
                    e.get(a)?.as_f64()?,
                    e.get(se)?.as_f64()?,
                ))
            })
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let h = M + 20.0 * rows.len() as f64 + 50.0;
    let (lo, hi) = (0.4, 1.0);
    let x = |a: f64| 200.0 + (a.clamp(lo, hi) - lo) / (hi - lo) * (W - 240.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        s,
        r#"<text x="{}" y="20" text-anchor="middle" font-size="14">{}: AUC (95% CI, DeLong) per site and pooled</text>"#,
        W / 2.0,
        esc(key)
    );
    for k in 0..=6 {
        let t = lo + (hi - lo) * f64::from(k) / 6.0;
        let _ = write!(
            s,
            r##"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2}" stroke="#eee"/><text x="{0:.1}" y="{3}" text-anchor="middle">{t:.1}</text>"##,
            x(t),
            M - 10.0,
            h - 40.0,
            h - 24.0
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2}" stroke="#888" stroke-dasharray="4"/>"##,
        x(0.5),
        M - 10.0,
        h - 40.0
    );
    for (i, (name, what, auc, se)) in rows.iter().enumerate() {
        let yy = M + 20.0 * i as f64;
        let c = if *what == "PRS" { "#1f77b4" } else { "#d62728" };
        let _ = write!(
            s,
            r#"<text x="10" y="{}">{} {what}</text><line x1="{:.1}" y1="{yy}" x2="{:.1}" y2="{yy}" stroke="{c}"/><rect x="{:.1}" y="{}" width="7" height="7" fill="{c}"/><text x="{}" y="{}" text-anchor="end">{auc:.3}</text>"#,
            yy + 4.0,
            esc(name),
            x(auc - 1.96 * se),
            x(auc + 1.96 * se),
            x(*auc) - 3.5,
            yy - 3.5,
            195.0,
            yy + 4.0
        );
    }
    s.push_str("</svg>");
    Some(s)
}

/// Forest plot of the pooled IGS effect sizes per SD of the PRS: OR (logistic) and HR (Cox)
/// with their 95% CIs on a log axis. `None` if neither model ran.
pub fn effects_svg(key: &str, v: &Value) -> Option<String> {
    let rows: Vec<(&str, f64, f64, f64)> = [
        (
            "pooled OR per SD (logistic IGS)",
            "/igs_logistic/or_per_sd",
            "/igs_logistic/or_per_sd_ci",
        ),
        (
            "pooled HR per SD (Cox IGS)",
            "/igs_cox/hr_per_sd",
            "/igs_cox/hr_per_sd_ci",
        ),
    ]
    .into_iter()
    .filter_map(|(label, e, ci)| {
        let ci = v.pointer(ci)?;
        Some((
            label,
            v.pointer(e)?.as_f64()?,
            ci.get(0)?.as_f64()?,
            ci.get(1)?.as_f64()?,
        ))
    })
    .collect();
    if rows.is_empty() {
        return None;
    }
    let h = M + 24.0 * rows.len() as f64 + 50.0;
    let (lo, hi) = (0.5_f64.ln(), 4.0_f64.ln());
    let x = |a: f64| 250.0 + (a.max(1e-9).ln().clamp(lo, hi) - lo) / (hi - lo) * (W - 280.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        s,
        r#"<text x="{}" y="20" text-anchor="middle" font-size="14">{}: effect per SD of the PRS (95% CI)</text>"#,
        W / 2.0,
        esc(key)
    );
    for t in [0.5, 1.0, 2.0, 4.0] {
        let _ = write!(
            s,
            r##"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2}" stroke="{4}"/><text x="{0:.1}" y="{3}" text-anchor="middle">{t}</text>"##,
            x(t),
            M - 10.0,
            h - 40.0,
            h - 24.0,
            if t == 1.0 { "#888" } else { "#eee" }
        );
    }
    for (i, (label, e, l, u)) in rows.iter().enumerate() {
        let yy = M + 24.0 * i as f64;
        let _ = write!(
            s,
            r##"<text x="10" y="{}">{} {e:.3}</text><line x1="{:.1}" y1="{yy}" x2="{:.1}" y2="{yy}" stroke="#333"/><rect x="{:.1}" y="{}" width="8" height="8" fill="#333"/>"##,
            yy + 4.0,
            esc(label),
            x(*l),
            x(*u),
            x(*e) - 4.0,
            yy - 4.0
        );
    }
    s.push_str("</svg>");
    Some(s)
}
