#!/usr/bin/env python3
"""Leave-one-site-out cross-validation of the ridge penalty (reference for
circuits::cv / parties/tests/loso_cv.rs), with numpy and scikit-learn.

Reads a data directory made by shared/datagen (default: the bundled data/small): every site
`<site>.bed/.bim/.fam` + `<site>.pheno.tsv` (phenotype `qt`), canonical allele coding by majority
of the .bim A1 letters over the sites (a site coding the other allele is recoded 2 - x), and the
λ grid from the `ridge_<λ>` columns of `expected/ridge_enet_weights.tsv`.
Z: pooled standardisation as data/small/README.md §4d (missing call -> pooled mean of the
non-missing dosages, then (x - mean) / population SD of the imputed column, over all sites);
checked against the `mean`/`sd` columns of ridge_enet_weights.tsv.
Fold s: sklearn Ridge(alpha=λ, fit_intercept=True) on the rows of every other site; validation
R² = sklearn r2_score on site s (1 - RSS/TSS with the site's own mean). Chosen λ: the largest
mean fold R² (first of equal means).
Variant sets: all variants, and every k-th variant with k = ceil(p / MAX_VARIANTS) (the subset
the MPC test uses; MAX_VARIANTS = 500 unless given).

Usage: loso_ridge_reference.py [DATA_DIR] [OUT_JSON] [MAX_VARIANTS]
(default data/small, data/derived/loso_ridge.json, 500).
"""
import collections
import json
import math
import pathlib
import sys

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score

ROOT = pathlib.Path(__file__).resolve().parent.parent


def read_tsv(path):
    lines = path.read_text().splitlines()
    head = lines[0].lstrip("#").split("\t")
    return [dict(zip(head, line.split("\t"))) for line in lines[1:] if line]


def read_bed(prefix, n, p):
    raw = np.fromfile(f"{prefix}.bed", dtype=np.uint8)
    assert raw[:3].tolist() == [0x6C, 0x1B, 0x01], "not a SNP-major .bed"
    per = (n + 3) // 4
    body = raw[3:].reshape(p, per)
    codes = np.stack([(body >> (2 * k)) & 3 for k in range(4)], axis=2).reshape(p, per * 4)[:, :n]
    a1 = np.array([2.0, np.nan, 1.0, 0.0])[codes]  # copies of A1
    return a1.T  # n x p


def main():
    data = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "data/small"
    out = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "data/derived/loso_ridge.json"
    max_variants = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    sites = sorted(p.name[: -len(".pheno.tsv")] for p in data.glob("*.pheno.tsv"))
    bims = {s: [line.split("\t") for line in (data / f"{s}.bim").read_text().splitlines()] for s in sites}
    p = len(bims[sites[0]])
    canon = []
    for j in range(p):
        ids = {bims[s][j][1] for s in sites}
        assert len(ids) == 1, "sites list different variants"
        votes = collections.Counter(bims[s][j][4] for s in sites)
        canon.append(max(votes.items(), key=lambda kv: (kv[1], kv[0]))[0])
    xs, ys, site_of = [], [], []
    for s in sites:
        fam = [line.split()[1] for line in (data / f"{s}.fam").read_text().splitlines()]
        x = read_bed(data / s, len(fam), p)
        flip = np.array([bims[s][j][4] != canon[j] for j in range(p)])
        x[:, flip] = 2.0 - x[:, flip]
        qt = {r["IID"]: float(r["qt"]) for r in read_tsv(data / f"{s}.pheno.tsv")}
        xs.append(x)
        ys.append(np.array([qt[i] for i in fam]))
        site_of += [s] * len(fam)
    x = np.vstack(xs)
    y = np.concatenate(ys)
    site_of = np.array(site_of)
    mu = np.nanmean(x, axis=0)
    x = np.where(np.isnan(x), mu, x)
    sd = x.std(axis=0)
    z = (x - mu) / sd
    exp = read_tsv(data / "expected/ridge_enet_weights.tsv")
    assert np.allclose(mu, [float(r["mean"]) for r in exp], rtol=0, atol=1e-9)
    assert np.allclose(sd, [float(r["sd"]) for r in exp], rtol=1e-9, atol=0)
    lambdas = [float(k[len("ridge_"):]) for k in exp[0] if k.startswith("ridge_")]
    stride = math.ceil(p / max_variants)
    result = {"definitions": __doc__.split("Usage:")[0].strip(), "sites": sites, "lambdas": lambdas,
              "variant_sets": {}}
    for name, cols in [("all", np.arange(p)), (f"every_{stride}", np.arange(0, p, stride))]:
        zc = z[:, cols]
        fold = {}
        for s in sites:
            tr, va = site_of != s, site_of == s
            fold[s] = [r2_score(y[va], Ridge(alpha=lam, fit_intercept=True, solver="cholesky")
                                .fit(zc[tr], y[tr]).predict(zc[va])) for lam in lambdas]
        mean = [float(np.mean([fold[s][k] for s in sites])) for k in range(len(lambdas))]
        chosen = int(np.argmax(mean))
        result["variant_sets"][name] = {"n_variants": int(len(cols)), "stride": int(cols[1] - cols[0]) if len(cols) > 1 else 1,
                                        "fold_r2": fold, "mean_r2": mean, "chosen_index": chosen,
                                        "chosen_lambda": lambdas[chosen]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["variant_sets"], indent=1))


if __name__ == "__main__":
    main()
