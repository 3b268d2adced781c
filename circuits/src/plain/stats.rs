//! Distribution functions for the references and for turning revealed statistics into P values:
//! log-gamma, the regularized incomplete beta function, the two-sided Student-t P value, and
//! the Hardy–Weinberg exact test of Wigginton, Cutler and Abecasis (AJHG 2005), which plink2
//! `--hardy` uses.
//!
//! Accuracy: ln Γ uses the Stirling series (to the z^−9 term) after shifting the argument to
//! ≥ 15 (absolute error ≲ 1e-14); the incomplete beta uses the continued fraction of Numerical Recipes §6.4 (modified
//! Lentz, relative tolerance 1e-15) with its prefactor in log space, so P values are returned
//! down to the f64 range and their logarithms ([`t_two_sided_ln_p`]) below it (P ≲ 1e-308 goes
//! through subnormal x and loses relative accuracy).

use core::f64::consts::PI;

/// Smallest magnitude kept in the continued fraction (Lentz's "tiny").
const FPMIN: f64 = 1e-300;
/// Relative convergence tolerance of the continued fraction.
const CF_EPS: f64 = 1e-15;
/// Maximum continued-fraction iterations (≈ √max(a, b) are needed; 10,000 covers a, b ≤ 1e7).
const CF_MAX_ITER: usize = 10_000;

/// ln Γ(x) for x > 0 (NaN otherwise).
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    // Shift to z ≥ 10: Γ(x) = Γ(x + s) / (x (x+1) … (x+s−1)).
    let mut z = x;
    let mut shift = 0.0;
    while z < 15.0 {
        shift += z.ln();
        z += 1.0;
    }
    let z2 = z * z;
    let series = 1.0 / (12.0 * z) - 1.0 / (360.0 * z * z2) + 1.0 / (1260.0 * z * z2 * z2)
        - 1.0 / (1680.0 * z * z2 * z2 * z2)
        + 1.0 / (1188.0 * z * z2 * z2 * z2 * z2);
    (z - 0.5) * z.ln() - z + 0.5 * (2.0 * PI).ln() + series - shift
}

/// ln B(a, b).
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Continued fraction for I_x(a, b) (Numerical Recipes `betacf`), with y = 1 − x unused here
/// (kept by the caller for the prefactor).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let tiny = |v: f64| if v.abs() < FPMIN { FPMIN } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / tiny(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=CF_MAX_ITER {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / tiny(1.0 + aa * d);
        c = tiny(1.0 + aa / c);
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / tiny(1.0 + aa * d);
        c = tiny(1.0 + aa / c);
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < CF_EPS {
            break;
        }
    }
    h
}

/// ln I_x(a, b), the log of the regularized incomplete beta function, given both x and
/// y = 1 − x (so callers can pass a y computed without cancellation).
pub fn ln_beta_inc(a: f64, b: f64, x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() || x < 0.0 || y < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if y == 0.0 {
        return 0.0;
    }
    let ln_front = a * x.ln() + b * y.ln() - ln_beta(a, b);
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front + (beta_cf(a, b, x) / a).ln()
    } else {
        // I_x(a, b) = 1 − I_y(b, a).
        (-(ln_front.exp() * beta_cf(b, a, y) / b)).ln_1p()
    }
}

/// Natural log of the two-sided P value of a Student-t statistic with `df` degrees of freedom:
/// P = I_{df/(df+t²)}(df/2, 1/2).
pub fn t_two_sided_ln_p(t: f64, df: f64) -> f64 {
    if !t.is_finite() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    // x = df/(df + t²), y = t²/(df + t²), written with r = df/t² for |t| > 1 so that t² never
    // overflows.
    let (x, y) = if t.abs() > 1.0 {
        let r = (df / t.abs()) / t.abs();
        (r / (1.0 + r), 1.0 / (1.0 + r))
    } else {
        let t2 = t * t;
        (df / (df + t2), t2 / (df + t2))
    };
    ln_beta_inc(df / 2.0, 0.5, x, y)
}

/// Two-sided P value of a Student-t statistic (underflows to 0 below ≈ 1e-308; use
/// [`t_two_sided_ln_p`] there).
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    t_two_sided_ln_p(t, df).exp()
}

/// Hardy–Weinberg exact test P value (Wigginton, Cutler, Abecasis 2005, the `SNPHWE`
/// algorithm): the probability, under HWE given the allele counts, of a heterozygote count at
/// most as likely as the observed one. Not the mid-p variant. Returns 1 for no genotypes.
pub fn hwe_exact_p(het: u64, hom1: u64, hom2: u64) -> f64 {
    let hom_rare = hom1.min(hom2);
    let hom_common = hom1.max(hom2);
    let genotypes = het + hom_rare + hom_common;
    if genotypes == 0 {
        return 1.0;
    }
    let rare = 2 * hom_rare + het;
    let Ok(len) = usize::try_from(rare + 1) else {
        return f64::NAN;
    };
    let mut probs = vec![0.0f64; len];
    // The mode of the heterozygote distribution, with the parity of `rare`.
    let mut mid = rare * (2 * genotypes - rare) / (2 * genotypes);
    if mid % 2 != rare % 2 {
        mid += 1;
    }
    let set = |probs: &mut Vec<f64>, i: u64, v: f64| {
        if let Some(p) = usize::try_from(i).ok().and_then(|i| probs.get_mut(i)) {
            *p = v;
        }
    };
    let get = |probs: &Vec<f64>, i: u64| {
        usize::try_from(i)
            .ok()
            .and_then(|i| probs.get(i))
            .copied()
            .unwrap_or(0.0)
    };
    set(&mut probs, mid, 1.0);
    let mut sum = 1.0;
    // Downwards from the mode.
    let (mut hets, mut hr, mut hc) = (mid, (rare - mid) / 2, genotypes - mid - (rare - mid) / 2);
    while hets > 1 {
        let p = get(&probs, hets) * (hets as f64) * ((hets - 1) as f64)
            / (4.0 * ((hr + 1) as f64) * ((hc + 1) as f64));
        set(&mut probs, hets - 2, p);
        sum += p;
        hr += 1;
        hc += 1;
        hets -= 2;
    }
    // Upwards from the mode.
    let (mut hets, mut hr, mut hc) = (mid, (rare - mid) / 2, genotypes - mid - (rare - mid) / 2);
    while hets + 2 <= rare {
        let p = get(&probs, hets) * 4.0 * (hr as f64) * (hc as f64)
            / (((hets + 2) as f64) * ((hets + 1) as f64));
        set(&mut probs, hets + 2, p);
        sum += p;
        hr = hr.saturating_sub(1);
        hc = hc.saturating_sub(1);
        hets += 2;
    }
    let observed = get(&probs, het);
    let tail: f64 = probs.iter().filter(|&&p| p <= observed).sum();
    (tail / sum).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ln_factorial(n: u64) -> f64 {
        ln_gamma(n as f64 + 1.0)
    }

    #[test]
    fn ln_gamma_known_values() {
        assert!((ln_gamma(1.0)).abs() < 1e-13);
        assert!((ln_gamma(0.5) - PI.sqrt().ln()).abs() < 1e-13);
        assert!((ln_gamma(11.0) - 3_628_800f64.ln()).abs() < 1e-12);
        // ln Γ(1200.5) from lnΓ(x+1) = lnΓ(x) + ln x consistency.
        let a = ln_gamma(1200.5) - ln_gamma(1199.5) - 1199.5f64.ln();
        assert!(a.abs() < 1e-11);
    }

    #[test]
    fn t_p_known_values() {
        // df = 1 is Cauchy: P(|T| > t) = 1 − 2 atan(t)/π.
        for &t in &[0.1, 1.0, 3.0, 50.0] {
            let expect = 1.0 - 2.0 * f64::atan(t) / PI;
            assert!((t_two_sided_p(t, 1.0) / expect - 1.0).abs() < 1e-12, "{t}");
        }
        // df = 2: P = 1 − t / √(2 + t²).
        for &t in &[0.01f64, 0.5, 2.0, 30.0] {
            let expect = 1.0 - t / (2.0 + t * t).sqrt();
            assert!((t_two_sided_p(t, 2.0) / expect - 1.0).abs() < 1e-10, "{t}");
        }
        // Large df approaches the normal: P(|Z| > 1.959963984540054) = 0.05.
        assert!((t_two_sided_p(1.959963984540054, 1e7) - 0.05).abs() < 1e-7);
        assert!((t_two_sided_p(0.0, 10.0) - 1.0).abs() < 1e-15);
        // Extreme tail stays finite in log space; df = 2 closed form for ln P.
        let t: f64 = 1e150;
        let lp = t_two_sided_ln_p(t, 2.0);
        // P = 1 − t/√(2+t²) ≈ 1/t² for large t.
        assert!(
            (lp - (-2.0 * t.ln())).abs() < 1e-9,
            "{lp} {}",
            -2.0 * t.ln()
        );
    }

    #[test]
    fn hwe_matches_enumeration() {
        // Independent check: P(het = h | n, n_rare) = 2^h n! n_rare! n_common! /
        // (hr! h! hc! (2n)!), summed over h with probability ≤ the observed one.
        for &(het, h1, h2) in &[
            (57u64, 14u64, 929u64),
            (500, 250, 250),
            (1, 0, 999),
            (0, 3, 100),
            (20, 20, 20),
            (100, 0, 2),
        ] {
            let n = het + h1 + h2;
            let rare = 2 * h1.min(h2) + het;
            let common = 2 * n - rare;
            let lp = |h: u64| {
                let hr = (rare - h) / 2;
                let hc = n - h - hr;
                (h as f64) * 2f64.ln() + ln_factorial(n) + ln_factorial(rare) + ln_factorial(common)
                    - ln_factorial(hr)
                    - ln_factorial(h)
                    - ln_factorial(hc)
                    - ln_factorial(2 * n)
            };
            let obs = lp(het);
            let p: f64 = (0..=rare)
                .filter(|h| h % 2 == rare % 2 && (rare - h) / 2 + h <= n)
                .map(lp)
                .filter(|&l| l <= obs + 1e-9)
                .map(f64::exp)
                .sum();
            let got = hwe_exact_p(het, h1, h2);
            assert!(
                (got - p.min(1.0)).abs() <= 1e-9 * p.max(1e-300),
                "{het} {h1} {h2}: {got} {p}"
            );
        }
    }
}
