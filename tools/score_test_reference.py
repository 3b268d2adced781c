#!/usr/bin/env python3
"""Reference for the binary-trait GWAS score test (issue 6).

Pooled small data (us, fi, uk in that order), canonical ALT from
expected/freq.tsv (fi's A1/A2-swapped variants are recoded by letter).

Definition (the MPC implementation must do exactly the same):
- Null model: Logit(disease ~ 1 + age + male + bmi + smoker) on all pooled
  samples (statsmodels Newton, tol 1e-12); mu = fitted probabilities,
  w = mu (1 - mu).
- Missing calls: mean imputation with the pooled mean ALT dosage of the variant
  (over all non-missing calls of all sites). The null model is fitted once.
- U_j = sum_i g_ij (y_i - mu_i)
  V_j = sum_i g_ij^2 w_i - b' (X'WX)^-1 b,  b = sum_i g_ij w_i x_i
  T_j = U_j^2 / V_j ~ chi2(1);  P = chi2.sf(T, 1). NA when V_j <= 1e-12 * sum g^2 w
  (monomorphic after imputation).
Writes: ID N U V T P (12 significant digits).

Usage: score_test_reference.py DATA_DIR OUT_TSV
"""
import sys

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

SITES = ["us", "fi", "uk"]
CODE = {0: 2.0, 1: np.nan, 2: 1.0, 3: 0.0}  # copies of A1


def read_bed(prefix, n, m):
    raw = np.fromfile(prefix + ".bed", dtype=np.uint8)
    assert raw[0] == 0x6C and raw[1] == 0x1B and raw[2] == 1, prefix
    bpv = (n + 3) // 4
    body = raw[3:].reshape(m, bpv)
    codes = np.stack([(body >> (2 * k)) & 3 for k in range(4)], axis=2).reshape(m, bpv * 4)[:, :n]
    lut = np.array([CODE[c] for c in range(4)])
    return lut[codes]  # m x n, copies of A1


def main():
    data, out = sys.argv[1], sys.argv[2]
    freq = pd.read_csv(f"{data}/expected/freq.tsv", sep="\t")
    alt = dict(zip(freq["ID"], freq["ALT"]))
    order = list(freq["ID"])
    gs, phen = [], []
    for s in SITES:
        bim = pd.read_csv(f"{data}/{s}.bim", sep="\t", header=None)
        fam = pd.read_csv(f"{data}/{s}.fam", sep=r"\s+", header=None)
        ph = pd.read_csv(f"{data}/{s}.pheno.tsv", sep="\t")
        assert list(ph["IID"]) == list(fam[1])
        g = read_bed(f"{data}/{s}", len(fam), len(bim))
        is_alt = np.array([a1 == alt[rs] for rs, a1 in zip(bim[1], bim[4])])
        g = np.where(is_alt[:, None], g, 2.0 - g)
        idx = {rs: k for k, rs in enumerate(bim[1])}
        gs.append(g[[idx[rs] for rs in order], :])
        phen.append(ph)
    g = np.concatenate(gs, axis=1)  # m x n
    ph = pd.concat(phen, ignore_index=True)
    y = ph["disease"].to_numpy(dtype=float)
    x = np.column_stack([np.ones(len(ph)), ph["age"], (ph["sex"] == 1).astype(float), ph["bmi"], ph["smoker"]])
    fit = sm.Logit(y, x).fit(method="newton", tol=1e-12, maxiter=100, disp=0)
    mu = fit.predict(x)
    w = mu * (1 - mu)
    xtwx_inv = np.linalg.inv(x.T @ (x * w[:, None]))
    rows = []
    for j, rs in enumerate(order):
        gj = g[j]
        mean = np.nanmean(gj)
        gj = np.where(np.isnan(gj), mean, gj)
        u = gj @ (y - mu)
        b = x.T @ (gj * w)
        g2w = gj @ (gj * w)
        v = g2w - b @ xtwx_inv @ b
        if not v > 1e-12 * max(g2w, 1e-300):
            rows.append((rs, len(y), u, v, "NA", "NA"))
            continue
        t = u * u / v
        rows.append((rs, len(y), u, v, t, stats.chi2.sf(t, 1)))
    with open(out, "w") as f:
        f.write("ID\tN\tU\tV\tT\tP\n")
        for r in rows:
            f.write("\t".join(x if isinstance(x, str) else (str(x) if isinstance(x, int) else f"{x:.12g}") for x in r) + "\n")


if __name__ == "__main__":
    main()
