//! Plaintext reference for [`crate::cox`]: Cox proportional hazards with Breslow ties by
//! Newton–Raphson (statsmodels `PHReg(..., ties="breslow")`, no delayed entry, no strata).
//!
//! With η_i = x_iᵀβ, r_i = e^{η_i} and, for each distinct event time t with d_t events,
//! the risk set R(t) = {j : t_j ≥ t} and S0(t) = Σ_{R(t)} r_j, S1(t) = Σ_{R(t)} r_j x_j,
//! S2(t) = Σ_{R(t)} r_j x_j x_jᵀ:
//!
//! - log-likelihood ℓ(β) = Σ_{events i} η_i − Σ_t d_t ln S0(t);
//! - score U(β) = Σ_{events i} x_i − Σ_t d_t S1(t)/S0(t);
//! - information I(β) = Σ_t d_t (S2(t)/S0(t) − S1(t) S1(t)ᵀ/S0(t)²);
//! - Newton: β ← β + I⁻¹U from β = 0; SE = √diag(I(β̂)⁻¹) at the final β.
//!
//! All tied rows (events or not) are in each other's risk sets, every event of a tie group
//! gets the group's full S0/S1/S2: Breslow's approximation.

/// The fitted model.
#[derive(Clone, Debug, PartialEq)]
pub struct CoxFit {
    /// Coefficients (order of the columns of x).
    pub coef: Vec<f64>,
    /// Standard errors from the inverse information at the final β.
    pub se: Vec<f64>,
    /// Log partial likelihood at the final β.
    pub llf: f64,
    /// Largest |η_i| met over all iterates (for the exp domain of the secure version).
    pub max_abs_eta: f64,
    /// Events.
    pub events: usize,
}

/// Score, information and log-likelihood at β.
fn derivatives(
    x: &[f64],
    p: usize,
    order: &[usize],
    time: &[f64],
    event: &[f64],
    beta: &[f64],
) -> Option<(Vec<f64>, Vec<f64>, f64, f64)> {
    let mut u = vec![0.0; p];
    let mut info = vec![0.0; p * p];
    let mut ll = 0.0;
    let mut max_eta = 0.0f64;
    let (mut s0, mut s1, mut s2) = (0.0, vec![0.0; p], vec![0.0; p * p]);
    let row = |i: usize| x.get(i * p..(i + 1) * p);
    let mut k = 0;
    while k < order.len() {
        // One tie group (descending time): add all its rows to the risk set first.
        let t = time.get(*order.get(k)?).copied()?;
        let mut end = k;
        let mut d = 0.0;
        while let Some(&i) = order.get(end) {
            if time.get(i).copied()? != t {
                break;
            }
            let xi = row(i)?;
            let eta: f64 = xi.iter().zip(beta).map(|(a, b)| a * b).sum();
            max_eta = max_eta.max(eta.abs());
            let r = eta.exp();
            s0 += r;
            for a in 0..p {
                *s1.get_mut(a)? += r * xi.get(a)?;
                for b in 0..p {
                    *s2.get_mut(a * p + b)? += r * xi.get(a)? * xi.get(b)?;
                }
            }
            if event.get(i).copied()? != 0.0 {
                d += 1.0;
                ll += eta;
                for (ua, xa) in u.iter_mut().zip(xi) {
                    *ua += xa;
                }
            }
            end += 1;
        }
        if d > 0.0 {
            ll -= d * s0.ln();
            for a in 0..p {
                let m_a = s1.get(a)? / s0;
                *u.get_mut(a)? -= d * m_a;
                for b in 0..p {
                    let m_b = s1.get(b)? / s0;
                    *info.get_mut(a * p + b)? += d * (s2.get(a * p + b)? / s0 - m_a * m_b);
                }
            }
        }
        k = end;
    }
    Some((u, info, ll, max_eta))
}

/// Inverse of a symmetric positive definite p × p matrix by Gauss–Jordan (`None` if singular);
/// also used by [`super::score_test`].
pub(crate) fn invert(m: &[f64], p: usize) -> Option<Vec<f64>> {
    let w = 2 * p;
    let mut a = vec![0.0; p * w];
    for r in 0..p {
        for c in 0..p {
            *a.get_mut(r * w + c)? = m.get(r * p + c).copied()?;
        }
        *a.get_mut(r * w + p + r)? = 1.0;
    }
    for i in 0..p {
        let piv = a.get(i * w + i).copied()?;
        if piv.abs() < 1e-300 || !piv.is_finite() {
            return None;
        }
        for c in 0..w {
            *a.get_mut(i * w + c)? /= piv;
        }
        let pivot_row: Vec<f64> = a.get(i * w..(i + 1) * w)?.to_vec();
        for r in (0..p).filter(|&r| r != i) {
            let f = a.get(r * w + i).copied()?;
            for (c, pv) in pivot_row.iter().enumerate() {
                *a.get_mut(r * w + c)? -= f * pv;
            }
        }
    }
    (0..p)
        .flat_map(|r| (0..p).map(move |c| (r, c)))
        .map(|(r, c)| a.get(r * w + p + c).copied())
        .collect()
}

/// Cox PH with Breslow ties: `iterations` Newton steps from β = 0 on x (n × p, row-major),
/// `time` and `event` (0/1). `None` on a shape mismatch or a singular information.
pub fn cox_breslow(
    x: &[f64],
    p: usize,
    time: &[f64],
    event: &[f64],
    iterations: usize,
) -> Option<CoxFit> {
    let n = time.len();
    if event.len() != n || x.len() != n * p || p == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let (ta, tb) = (time.get(a).copied(), time.get(b).copied());
        tb.partial_cmp(&ta).unwrap_or(core::cmp::Ordering::Equal)
    });
    let mut beta = vec![0.0; p];
    let mut max_abs_eta = 0.0f64;
    for _ in 0..iterations {
        let (u, info, _, m) = derivatives(x, p, &order, time, event, &beta)?;
        max_abs_eta = max_abs_eta.max(m);
        let inv = invert(&info, p)?;
        for (a, b) in beta.iter_mut().enumerate() {
            let step: f64 = (0..p)
                .map(|c| {
                    inv.get(a * p + c).copied().unwrap_or(0.0) * u.get(c).copied().unwrap_or(0.0)
                })
                .sum();
            *b += step;
        }
    }
    let (_, info, llf, m) = derivatives(x, p, &order, time, event, &beta)?;
    max_abs_eta = max_abs_eta.max(m);
    let inv = invert(&info, p)?;
    let se = (0..p)
        .map(|a| inv.get(a * p + a).copied().map(|v| v.max(0.0).sqrt()))
        .collect::<Option<Vec<f64>>>()?;
    Some(CoxFit {
        coef: beta,
        se,
        llf,
        max_abs_eta,
        events: event.iter().filter(|&&e| e != 0.0).count(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two rows, one event each at distinct times, one binary covariate: the partial
    /// likelihood is e^β/(e^β + 1) · 1, maximised at β → ∞; with a tie instead (both at the
    /// same time, both events) Breslow gives (e^β · 1)/(e^β + 1)², maximised at β = 0.
    #[test]
    fn breslow_tie_symmetric() {
        let fit = cox_breslow(&[1.0, 0.0], 1, &[2.0, 2.0], &[1.0, 1.0], 5).unwrap();
        assert!(fit.coef[0].abs() < 1e-12);
        // I(0) = 2 · (1/2 − 1/4) = 1/2.
        assert!((fit.se[0] - 2f64.sqrt()).abs() < 1e-12);
        assert!((fit.llf - (-2.0 * 2f64.ln())).abs() < 1e-12);
    }
}
