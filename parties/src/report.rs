//! Writers for analysis results in the formats of existing tools.

use std::io::{self, Write};

use circuits::plain::linear::LinearRow;

/// Formats like C's `%g` with 6 significant digits (plink2's number format); NA if not finite.
pub fn fmt_g6(x: f64) -> String {
    if !x.is_finite() {
        return "NA".to_owned();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    let sci = format!("{x:.5e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-5..6).contains(&exp) {
        let mant = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.unsigned_abs())
    } else {
        let decimals = usize::try_from(5 - exp).unwrap_or(0);
        trim_zeros(&format!("{x:.decimals$}")).to_owned()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Writes a plink2-compatible `.glm.linear` table (`#ID A1 OBS_CT BETA SE P`, tab-separated),
/// one line per `(id, a1, row)`.
pub fn write_glm_linear<'a, W, I>(mut w: W, rows: I) -> io::Result<()>
where
    W: Write,
    I: IntoIterator<Item = (&'a str, &'a str, &'a LinearRow)>,
{
    writeln!(w, "#ID\tA1\tOBS_CT\tBETA\tSE\tP")?;
    for (id, a1, r) in rows {
        writeln!(
            w,
            "{id}\t{a1}\t{}\t{}\t{}\t{}",
            r.obs_ct,
            fmt_g6(r.beta),
            fmt_g6(r.se),
            fmt_g6(r.p)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g6_matches_printf() {
        assert_eq!(fmt_g6(-0.0389661589428), "-0.0389662");
        assert_eq!(fmt_g6(0.649886120644), "0.649886");
        assert_eq!(fmt_g6(1.0), "1");
        assert_eq!(fmt_g6(1.234567e-7), "1.23457e-07");
        assert_eq!(fmt_g6(2370.0), "2370");
        assert_eq!(fmt_g6(f64::NAN), "NA");
    }
}
