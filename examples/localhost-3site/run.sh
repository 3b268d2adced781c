#!/usr/bin/env bash
# Three sites on localhost, non-interactively: build, keygen (3 sites + helper + coordinator),
# consortium file with the printed fingerprints and free loopback ports, site configs pointing
# at the bundled data (sites discovered from data/small/<site>.pheno.tsv), a plan approved at
# every party, daemons in the background, one joint computation, a check of the revealed
# pooled n and qt mean against data/small/expected/expected.json, clean shutdown.
# Exits 0 only if the result is right.
#
# Environment: IGS_MPC=/path/to/igs-mpc skips the build; DATA=/dir overrides data/small;
# KEEP=1 keeps the work directory; TIMEOUT_MS sets the daemons' progress timeout.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
data="${DATA:-$repo/data/small}"
timeout_ms="${TIMEOUT_MS:-10000}"
start=$SECONDS

if [[ -z "${IGS_MPC:-}" ]]; then
    echo "==> build"
    (cd "$repo" && cargo build --release -p parties --bin igs-mpc)
    IGS_MPC="$repo/target/release/igs-mpc"
fi
bin="$IGS_MPC"

work="$(mktemp -d "${TMPDIR:-/tmp}/igs-3site.XXXXXX")"
pids=()
cleanup() {
    local rc=$?
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [[ $rc -ne 0 ]]; then
        for f in "$work"/logs/*.log; do
            [[ -f "$f" ]] && { echo "--- $f"; tail -n 20 "$f"; }
        done
    fi
    if [[ -z "${KEEP:-}" ]]; then rm -rf "$work"; else echo "work directory kept: $work"; fi
    exit $rc
}
trap cleanup EXIT
mkdir -p "$work/keys" "$work/logs"

# Sites: every <site>.pheno.tsv in the data directory, sorted.
sites=()
for f in "$data"/*.pheno.tsv; do
    [[ -f "$f" ]] && sites+=("$(basename "$f" .pheno.tsv)")
done
[[ ${#sites[@]} -ge 2 ]] || { echo "need at least two <site>.pheno.tsv in $data" >&2; exit 1; }
helper=helper
coord=coord
echo "==> sites: ${sites[*]}; helper: $helper; coordinator: $coord; work: $work"

free_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
fill() { # template, then NAME=value pairs
    local t
    t="$(cat "$1")"
    shift
    local kv
    for kv in "$@"; do t="${t//@${kv%%=*}@/${kv#*=}}"; done
    printf '%s\n' "$t"
}

echo "==> keygen"
: >"$work/consortium.toml"
for name in "${sites[@]}" "$helper" "$coord"; do
    fp="$("$bin" keygen --name "$name" --out "$work/keys" 2>/dev/null)"
    vk="$(cat "$work/keys/$name.ed25519")"
    echo "    $name  $fp  ed25519 $vk"
    if [[ "$name" == "$coord" ]]; then
        fill "$here/coordinator.toml.in" NAME="$name" FP="$fp" VK="$vk" >>"$work/consortium.toml"
    else
        role=site
        [[ "$name" == "$helper" ]] && role=helper
        fill "$here/party.toml.in" NAME="$name" ROLE="$role" PORT="$(free_port)" FP="$fp" \
            VK="$vk" >>"$work/consortium.toml"
    fi
done

echo "==> site configs"
for s in "${sites[@]}"; do
    fill "$here/site.toml.in" NAME="$s" PHENO="$data/$s.pheno.tsv" TIMEOUT_MS="$timeout_ms" \
        >"$work/$s.toml"
done
fill "$here/helper.toml.in" NAME="$helper" TIMEOUT_MS="$timeout_ms" >"$work/$helper.toml"

echo "==> plan"
# Each site's public cohort size: its complete rows of the columns (NA or empty is missing).
n_arg="$(python3 - "$data" age,bmi,qt "${sites[@]}" <<'PY'
import csv, sys
data, cols, sites = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
out = []
for s in sites:
    with open(f"{data}/{s}.pheno.tsv") as f:
        rows = csv.DictReader(f, delimiter="\t")
        n = sum(all(r[c] not in ("", "NA") for c in cols) for r in rows)
    out.append(f"{s}={n}")
print(",".join(out))
PY
)"
hash="$("$bin" plan --consortium "$work/consortium.toml" --dataset pheno \
    --columns age,bmi,qt --n "$n_arg" --duo GRU --out "$work/plan.toml")"
echo "    plan $hash ($n_arg)"

echo "==> approve at every party (sites sign the plan hash with their identity key)"
for name in "${sites[@]}" "$helper"; do
    "$bin" approve "$work/plan.toml" --config "$work/$name.toml" | tail -n 1
done

echo "==> start the daemons"
for name in "${sites[@]}" "$helper"; do
    "$bin" party --config "$work/$name.toml" >"$work/logs/$name.log" 2>&1 &
    pids+=($!)
done

echo "==> run the plan"
result="$("$bin" run-plan "$work/plan.toml" --consortium "$work/consortium.toml" \
    --name "$coord" --key "$work/keys/$coord.key" --cert "$work/keys/$coord.crt" \
    --out "$work/out/$coord" --timeout-ms "$timeout_ms")"
echo "    result: $result"
cat "$result"; echo

echo "==> check against $data/expected/expected.json"
python3 - "$result" "$data/expected/expected.json" "$work/out" "${sites[@]}" <<'PY'
import json, os, sys
res = json.load(open(sys.argv[1]))
exp = json.load(open(sys.argv[2]))["counts"]["pooled"]
out, sites = sys.argv[3], sys.argv[4:]
ok = res["n"] == exp["n"] and abs(res["mean"]["qt"] - exp["qt_mean"]) < 1e-9
print(f"    n = {res['n']} (expected {exp['n']}), qt mean = {res['mean']['qt']:.12f} "
      f"(expected {exp['qt_mean']:.12f})")
name = os.path.basename(sys.argv[1])
for s in sites:
    copy = json.load(open(os.path.join(out, s, name)))
    ok = ok and copy == res
print("    each site's copy equals the coordinator's" if ok else "    MISMATCH")
sys.exit(0 if ok else 1)
PY

echo "==> audit trail"
trail="$(ls -d "$work/out/$coord/transcripts/"*/)"
"$bin" audit verify "$trail"
"$bin" audit report "$trail" >/dev/null
echo "    report: $trail/report.html"

echo "==> shut down"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
pids=()
echo "==> OK in $((SECONDS - start)) s"
