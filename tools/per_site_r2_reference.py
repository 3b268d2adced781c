#!/usr/bin/env python3
"""Per-site R² and Nagelkerke R² of the pooled IGS models (reference for
parties/tests/per_site_r2.rs).

Reads a data directory made by shared/datagen (default: the bundled data/small): every
`<site>.pheno.tsv` and the pooled-run PRS `expected/score_pooled.full.tsv` (`SCORE1_SUM`, plink2
`--score` default mode, 12 digits). prs_z = (PRS - mean) / SD over all pooled samples (population
SD). Models fitted on all sites pooled with statsmodels (as data/small/README.md §4c):
  linear:   OLS(qt ~ 1 + prs_z + age + male + bmi + smoker), and without prs_z;
  logistic: Logit(disease ~ 1 + prs_z + age + male + bmi + smoker), and without prs_z.
Evaluated on each site's rows (and on the pool):
  R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ_site)²  (ȳ_site: the site's own mean);
  Nagelkerke R² = (1 - exp(2 (ll0 - ll) / n)) / (1 - exp(2 ll0 / n)), ll = the site's
  log-likelihood under the pooled model, ll0 = n (ȳ ln ȳ + (1 - ȳ) ln(1 - ȳ)) the site's own
  intercept-only log-likelihood.
Incremental = full - covariates only. The pooled values are checked against expected.json
(within 1e-8 relative: the covariates-only Logit converges to 1.6e-9 of its value there).

Usage: per_site_r2_reference.py [DATA_DIR] [OUT_JSON]
(default data/small and data/derived/per_site_r2.json, relative to the repository root).
"""
import json
import pathlib
import sys

import numpy as np
import statsmodels.api as sm

ROOT = pathlib.Path(__file__).resolve().parent.parent
COVARIATES = ["age", "male", "bmi", "smoker"]


def read_tsv(path):
    lines = path.read_text().splitlines()
    head = lines[0].lstrip("#").split("\t")
    return [dict(zip(head, line.split("\t"))) for line in lines[1:] if line]


def main():
    data = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "data/small"
    out = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "data/derived/per_site_r2.json"
    prs = {r["IID"]: float(r["SCORE1_SUM"]) for r in read_tsv(data / "expected/score_pooled.full.tsv")}
    sites = sorted(p.name[: -len(".pheno.tsv")] for p in data.glob("*.pheno.tsv"))
    rows, site_of = [], []
    for s in sites:
        for r in read_tsv(data / f"{s}.pheno.tsv"):
            r["male"] = 1.0 if r["sex"] == "1" else 0.0
            rows.append(r)
            site_of.append(s)
    site_of = np.array(site_of)
    score = np.array([prs[r["IID"]] for r in rows])
    z = (score - score.mean()) / score.std()
    cov = np.array([[float(r[c]) for c in COVARIATES] for r in rows])
    qt = np.array([float(r["qt"]) for r in rows])
    dis = np.array([float(r["disease"]) for r in rows])
    x_full = sm.add_constant(np.column_stack([z, cov]))
    x_cov = sm.add_constant(cov)
    ols = [sm.OLS(qt, x).fit() for x in (x_full, x_cov)]
    logit = [sm.Logit(dis, x).fit(method="newton", tol=1e-12, maxiter=100, disp=0) for x in (x_full, x_cov)]
    fitted = [m.fittedvalues for m in ols]
    lps = [x @ m.params for x, m in zip((x_full, x_cov), logit)]

    def r2(mask):
        y = qt[mask]
        tss = ((y - y.mean()) ** 2).sum()
        return [1.0 - ((y - f[mask]) ** 2).sum() / tss for f in fitted]

    def nagelkerke(mask):
        y, n = dis[mask], mask.sum()
        yb = y.mean()
        ll0 = n * (yb * np.log(yb) + (1 - yb) * np.log(1 - yb))
        res = []
        for lp in lps:
            eta = lp[mask]
            ll = (y * eta - np.logaddexp(0.0, eta)).sum()
            res.append((1 - np.exp(2 * (ll0 - ll) / n)) / (1 - np.exp(2 * ll0 / n)))
        return res

    result = {"definitions": __doc__.split("Usage:")[0].strip(), "per_dataset": {}}
    for name in sites + ["pooled"]:
        mask = np.ones(len(rows), bool) if name == "pooled" else site_of == name
        (a, b), (c, d) = r2(mask), nagelkerke(mask)
        result["per_dataset"][name] = {
            "n": int(mask.sum()),
            "r2": a, "r2_covariates_only": b, "r2_incremental": a - b,
            "nagelkerke_r2": c, "nagelkerke_r2_covariates_only": d, "nagelkerke_r2_incremental": c - d,
        }
    exp = json.loads((data / "expected/expected.json").read_text())["models"]
    pooled = result["per_dataset"]["pooled"]
    for key, want in [
        ("r2", exp["linear_igs"]["r2"]),
        ("r2_covariates_only", exp["linear_igs"]["r2_covariates_only"]),
        ("nagelkerke_r2", exp["logistic_igs"]["nagelkerke_r2"]),
        ("nagelkerke_r2_covariates_only", exp["logistic_igs"]["nagelkerke_r2_covariates_only"]),
    ]:
        assert abs(pooled[key] - want) < 1e-8 * abs(want), (key, pooled[key], want)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["per_dataset"], indent=1))


if __name__ == "__main__":
    main()
