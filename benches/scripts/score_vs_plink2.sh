#!/usr/bin/env bash
# Times `igs-mpc score` against `plink2 --score` on every PLINK fileset of DATA_DIR.
#
#   benches/scripts/score_vs_plink2.sh DATA_DIR [RUNS]
#
# DATA_DIR is a generator output directory (shared/datagen/generate.py): the sites are the
# `*.bed` filesets in it. Two score files, both plink2-style (ID, effect_allele, effect_weight in
# columns 1-3, with a header), so both tools read exactly the same input:
# - `catalog`: `pgs/*.harmonized.tsv` when the generator wrote one, else the kept rows of
#   igs-mpc's harmonisation report for the one `pgs/*.txt` scoring file on the first site;
# - `dense`: every variant of the first site's `.bim`, effect allele A1, a deterministic weight
#   (a genome-wide score: this is where decoding speed shows).
# plink2 runs with `--threads 2`, igs-mpc is single-threaded. Each
# command runs RUNS times (default 3) under `/usr/bin/time -v`, the two tools interleaved; the
# table shows the fastest wall time and the largest peak RSS of the runs, and checks that SCORE1_SUM agrees (to plink2's
# 6 printed digits). Needs plink2 on PATH (Debian: `apt-get install plink2`) and GNU time.
set -euo pipefail

die() {
    echo "score_vs_plink2: $*" >&2
    exit 1
}

[[ $# -ge 1 ]] || die "usage: $0 DATA_DIR [RUNS]"
data="$(cd "$1" && pwd)"
runs="${2:-3}"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
command -v plink2 >/dev/null || die "plink2 not found (apt-get install plink2)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) not found"

shopt -s nullglob
beds=("$data"/*.bed)
[[ ${#beds[@]} -gt 0 ]] || die "no *.bed in $data"
first="${beds[0]%.bed}"

(cd "$repo" && CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" cargo build --release -q -p parties --bin igs-mpc)
igs="$repo/target/release/igs-mpc"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

harmonized=("$data"/pgs/*.harmonized.tsv)
if [[ ${#harmonized[@]} -eq 1 ]]; then
    cp "${harmonized[0]}" "$out/catalog.tsv"
else
    catalogs=()
    for f in "$data"/pgs/*.txt "$data"/pgs/*.txt.gz; do catalogs+=("$f"); done
    [[ ${#catalogs[@]} -eq 1 ]] || die "expected one pgs/*.txt scoring file, found ${#catalogs[@]}"
    "$igs" score --bfile "$first" --score "${catalogs[0]}" --out "$out/harm" 2>/dev/null
    awk -F'\t' 'NR == 1 { for (k = 1; k <= NF; k++) c[$k] = k; print "ID\teffect_allele\teffect_weight"; next }
        $c["STATUS"] == "kept" { print $c["ID"] "\t" $c["SITE_EFFECT_ALLELE"] "\t" $c["EFFECT_WEIGHT"] }' \
        "$out/harm.harmonization.tsv" >"$out/catalog.tsv"
fi
awk 'BEGIN { print "ID\teffect_allele\teffect_weight" }
    { printf "%s\t%s\t%.6g\n", $2, $5, ((NR * 7919) % 2001 - 1000) / 10000 }' "$first.bim" >"$out/dense.tsv"

# Runs a command once; prints "wall_seconds max_rss_kib".
once() {
    local log="$out/time.log"
    /usr/bin/time -v "$@" >/dev/null 2>"$log" || {
        tail -n 30 "$log" >&2
        die "command failed: $*"
    }
    awk -F': ' '/Elapsed \(wall clock\)/ {
            n = split($2, p, ":"); s = 0; for (k = 1; k <= n; k++) s = s * 60 + p[k]; wall = s }
        /Maximum resident set size/ { rss = $2 }
        END { print wall, rss }' "$log"
}

# min of wall times, max of RSS: "best_wall max_rss" from "best_wall max_rss" and a new pair.
fold() {
    awk -v bw="$1" -v br="$2" -v w="$3" -v r="$4" 'BEGIN {
        if (bw == "" || w < bw) bw = w; if (r > br) br = r; print bw, br }'
}

printf '%-8s %-10s %9s %9s %8s %12s %12s %8s  %s\n' score site samples variants kept \
    "igs-mpc s" "plink2 s" ratio "peak RSS MiB igs-mpc / plink2"
for set in catalog dense; do
score="$out/$set.tsv"
for bed in "${beds[@]}"; do
    prefix="${bed%.bed}"
    site="$(basename "$prefix")"
    # The score files are already harmonised: keep A/T and C/G rows as plink2 does. The two
    # tools alternate (ours, plink2, ours, ...) so load from other processes hits both alike.
    t_ours="" m_ours=0 t_plink="" m_plink=0
    for ((i = 0; i < runs; i++)); do
        read -r w r < <(once "$igs" score --bfile "$prefix" --score "$score" --keep-strand-ambiguous \
            --out "$out/ours_$site")
        read -r t_ours m_ours < <(fold "$t_ours" "$m_ours" "$w" "$r")
        read -r w r < <(once plink2 --bfile "$prefix" --score "$score" 1 2 3 header \
            cols=+scoresums,+denom --threads 2 --out "$out/plink2_$site")
        read -r t_plink m_plink < <(fold "$t_plink" "$m_plink" "$w" "$r")
    done
    # SCORE1_SUM agreement (column found by name in both files).
    awk -F'\t' '
        FNR == 1 { for (k = 1; k <= NF; k++) if ($k == "SCORE1_SUM") c = k; next }
        FILENAME == ARGV[1] { ours[FNR] = $c; next }
        { d = ours[FNR] - $c; if (d < 0) d = -d; t = 1e-5 * ($c < 0 ? -$c : $c) + 1e-6
          if (d > t) { bad++ } }
        END { if (bad) { print "SCORE1_SUM differs on " bad " samples" > "/dev/stderr"; exit 1 } }
    ' "$out/ours_$site.sscore" "$out/plink2_$site.sscore" || die "$site: scores differ"
    printf '%-8s %-10s %9d %9d %8d %12.3f %12.3f %8.2f  %d / %d\n' "$set" "$site" \
        "$(wc -l <"$prefix.fam")" "$(wc -l <"$prefix.bim")" "$(wc -l <"$out/ours_$site.sscore.vars")" \
        "$t_ours" "$t_plink" "$(awk -v a="$t_ours" -v b="$t_plink" 'BEGIN {print (b > 0 ? a / b : 0)}')" \
        $((m_ours / 1024)) $((m_plink / 1024))
done
done
