//! `report.html`: one page for the consortium: the job, what was computed and opened to whom,
//! the numbers and the plots (inline SVG).

use std::fmt::Write as _;

use serde_json::Value;

use super::plots::esc;
use super::spec::PipelineJob;

fn num(v: Option<&Value>) -> String {
    v.and_then(Value::as_f64)
        .map_or_else(|| "–".into(), |x| format!("{x:.4}"))
}

fn table_terms(s: &mut String, title: &str, m: &Value) {
    let _ = write!(
        s,
        "<h4>{}</h4><table><tr><th>term</th><th>coef</th><th>SE</th></tr>",
        esc(title)
    );
    if let Some(Value::Object(c)) = m.get("coef") {
        for (k, v) in c {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(k),
                num(Some(v)),
                num(m.get("se").and_then(|x| x.get(k)))
            );
        }
    }
    s.push_str("</table>");
}

/// The report page.
pub fn html(job: &PipelineJob, results: &Value, plots: &[(String, String)]) -> String {
    let mut s = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>igs-mpc report</title><style>\
         body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}\
         table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}\
         pre{background:#f6f6f6;padding:.5em;overflow:auto}</style></head><body>",
    );
    s.push_str("<h1>igs-mpc pipeline report</h1>");
    let g = |k: &str| results.get(k).map(|v| v.to_string()).unwrap_or_default();
    let _ = write!(
        s,
        "<p><b>Sites:</b> {}<br><b>Data directory:</b> {}<br><b>Job SHA-256:</b> {}<br><b>Signed plan (SHA-256):</b> {}<br><b>Audit trail:</b> {} ({})<br><b>Security model:</b> {}<br><b>Wall time:</b> {} s</p>",
        esc(&g("sites")),
        esc(&g("data_dir")),
        esc(&g("job_sha256")),
        esc(results
            .get("plan_hash")
            .and_then(Value::as_str)
            .unwrap_or("none")),
        esc(results
            .pointer("/audit/transcripts")
            .and_then(Value::as_str)
            .unwrap_or("none")),
        esc(results
            .pointer("/audit/verify")
            .and_then(Value::as_str)
            .and_then(|v| v.lines().next())
            .unwrap_or("not verified")),
        esc(results
            .get("security_model")
            .and_then(Value::as_str)
            .unwrap_or("")),
        num(results.get("seconds"))
    );
    if let Some(Value::Array(outs)) = results.pointer("/audit/outputs") {
        s.push_str(
            "<h2>What was revealed to whom (the signed plan's outputs)</h2><table>\
             <tr><th>output</th><th>recipients</th></tr>",
        );
        for o in outs {
            let _ = write!(
                s,
                "<tr><td style=\"text-align:left\">{}</td><td style=\"text-align:left\">{}</td></tr>",
                esc(o.get("name").and_then(Value::as_str).unwrap_or("")),
                esc(&o
                    .get("recipients")
                    .and_then(Value::as_array)
                    .map(|v| v
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default())
            );
        }
        s.push_str(
            "</table><p>Everything else (genotypes, phenotypes, the PGS weights, every \
             individual's score and linear predictor) stayed secret-shared or at its site. \
             Each reveal is logged, with its recipient, in every site's hash-chained \
             transcript; <code>igs-mpc audit verify transcripts/</code> checks them offline.</p>",
        );
    }
    s.push_str("<h2>Steps and who received their outputs</h2><table><tr><th>step</th><th>recipients</th><th>status</th></tr>");
    if let Some(Value::Array(st)) = results.get("steps") {
        for x in st {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
                esc(x.get("kind").and_then(Value::as_str).unwrap_or("")),
                esc(&x
                    .get("recipients")
                    .map(|v| v.to_string())
                    .unwrap_or_default()),
                esc(x.get("status").and_then(Value::as_str).unwrap_or(""))
            );
        }
    }
    s.push_str("</table><p>Opened values (model coefficients, SEs, fit statistics, AUCs, calibration and Hosmer–Lemeshow tables) are revealed to every site and to the coordinator. Individual scores, weights and the IGS linear predictor stay secret-shared; the helper receives nothing.</p>");
    if let Some(Value::Object(scores)) = results.get("scores") {
        for (key, v) in scores {
            let _ = write!(s, "<h2>Score set {}</h2>", esc(key));
            let _ = write!(
                s,
                "<p>source {}, {} variants (agreed by every site), weights held by {}</p>",
                esc(&v.get("source").map(|x| x.to_string()).unwrap_or_default()),
                esc(&v
                    .get("n_variants")
                    .map(|x| x.to_string())
                    .unwrap_or_default()),
                esc(&v
                    .get("weight_owner")
                    .map(|x| x.to_string())
                    .unwrap_or_default())
            );
            if let Some(m) = v.get("igs_linear") {
                table_terms(&mut s, "Linear IGS", m);
                let _ = write!(
                    s,
                    "<p>R² {} (incremental {})</p>",
                    num(m.get("r2")),
                    num(m.get("r2_incremental"))
                );
            }
            if let Some(m) = v.get("igs_logistic") {
                table_terms(&mut s, "Logistic IGS", m);
                let ci = m.get("or_per_sd_ci");
                let _ = write!(
                    s,
                    "<p>OR per SD {} (95% CI {}–{}); Nagelkerke R² {} (incremental {})</p>",
                    num(m.get("or_per_sd")),
                    num(ci.and_then(|c| c.get(0))),
                    num(ci.and_then(|c| c.get(1))),
                    num(m.get("nagelkerke_r2")),
                    num(m.get("nagelkerke_r2_incremental"))
                );
            }
            if let Some(m) = v.get("igs_cox") {
                table_terms(&mut s, "Cox IGS (Breslow ties)", m);
                let ci = m.get("hr_per_sd_ci");
                let _ = write!(
                    s,
                    "<p>HR per SD {} (95% CI {}–{})</p>",
                    num(m.get("hr_per_sd")),
                    num(ci.and_then(|c| c.get(0))),
                    num(ci.and_then(|c| c.get(1)))
                );
            }
            if let Some(e) = v.get("evaluation") {
                s.push_str("<h4>Evaluation</h4><table><tr><th>dataset</th><th>AUC PRS (SE)</th><th>AUC IGS (SE)</th><th>calibration slope</th><th>intercept</th><th>HL statistic (p)</th></tr>");
                let mut rows: Vec<(String, &Value)> = Vec::new();
                if let Some(p) = e.get("pooled") {
                    rows.push(("pooled".into(), p));
                }
                if let Some(Value::Object(per)) = e.get("per_site") {
                    rows.extend(per.iter().map(|(k, x)| (k.clone(), x)));
                }
                for (n, x) in rows {
                    let _ = write!(
                        s,
                        "<tr><td>{}</td><td>{} ({})</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{} ({})</td></tr>",
                        esc(&n),
                        num(x.get("auc_prs")),
                        num(x.get("auc_prs_se")),
                        num(x.get("auc_igs")),
                        num(x.get("auc_igs_se")),
                        num(x.get("calibration_slope")),
                        num(x.get("calibration_intercept")),
                        num(x.pointer("/hosmer_lemeshow/statistic")),
                        num(x.pointer("/hosmer_lemeshow/p_value"))
                    );
                }
                s.push_str("</table>");
            }
            for (path, svg) in plots {
                if path.starts_with(&format!("plots/{key}.")) {
                    let _ = write!(
                        s,
                        "<figure>{svg}<figcaption>{}</figcaption></figure>",
                        esc(path)
                    );
                }
            }
        }
    }
    let _ = write!(
        s,
        "<h2>Job file</h2><pre>{}</pre></body></html>",
        esc(&job.text)
    );
    s
}
