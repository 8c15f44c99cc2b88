#!/usr/bin/env bash
# Measure switchyard beside the reference peers (../shared/bench) on the same trace, in one run,
# and print the ratios as Markdown rows for BENCHMARKS.md.
#
#   benches/compare_peers.sh [N]        # N requests, default 10000000 (the issue's reference size)
#
# Sets up what it needs: a Python venv with the peers' requirements (.bench-venv), the generated
# workload (bench-data/ref-N), its Parquet copy, the C limit program, a release build.
# Shared machines are noisy: read the ratios, not the absolute times, and run it on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10000000}"
SHARED="${SWITCHYARD_SHARED:-$(cd .. && pwd)/shared}"
B="$SHARED/bench"
D="bench-data/ref-$N"
PY=.bench-venv/bin/python
[ -x "$PY" ] || { python3 -m venv .bench-venv && .bench-venv/bin/pip install -q -r "$B/requirements.txt"; }
[ -f "$D/trace.csv" ] || "$PY" "$B/gen_workload.py" --requests "$N" --seed 42 --out "$D" >/dev/null
cargo build --release --quiet
SY=target/release/switchyard
[ -f "$D/trace.parquet" ] || $SY --quiet trace convert "$D/trace.csv" -o "$D/trace.parquet" 2>/dev/null
[ -x bench-data/limit_c ] || gcc -O3 -march=native -o bench-data/limit_c "$B/limit/limit_c.c" -lm
[ -f "$D/params.txt" ] || "$PY" "$B/limit/export_params.py" "$D" > "$D/params.txt"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
measure() { # name, command...: wall seconds and peak RSS (MB) of the whole process
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$T/$name.time" "$@" > "$T/$name.out" 2> "$T/$name.err"
}
measure numpy "$PY" "$B/peer_numpy.py" "$D"
measure limit bench-data/limit_c "$D/trace.csv" "$D/params.txt"
SIM=(simulate --quiet --timing --catalog policies/reference/catalog.yaml --policy policies/reference/policy.yaml)
measure sy_parquet $SY "${SIM[@]}" --trace "$D/trace.parquet" --json "$T/sy_parquet.json"
measure sy_csv $SY "${SIM[@]}" --trace "$D/trace.csv" --json "$T/sy_csv.json"
measure sy_parquet_1t env RAYON_NUM_THREADS=1 $SY "${SIM[@]}" --trace "$D/trace.parquet"

"$PY" - "$T" "$N" <<'PY'
import json, re, sys, pathlib
t, n = pathlib.Path(sys.argv[1]), int(sys.argv[2])
def wall_rss(name):
    w, k = (t / f"{name}.time").read_text().split()[-2:]
    return float(w), int(k) / 1024
def phases(name):
    out = {}
    for line in (t / f"{name}.err").read_text().splitlines():
        m = re.match(r"timing: (\w+)\s+([\d.]+) s", line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(2))
    return out
numpy = json.loads((t / "numpy.out").read_text())
limit = json.loads((t / "limit.out").read_text())
nw, nr = wall_rss("numpy")
lw, lr = wall_rss("limit")
pw, pr = wall_rss("sy_parquet")
cw, cr = wall_rss("sy_csv")
p = phases("sy_parquet"); p1 = phases("sy_parquet_1t")
core = p["replay"] + p["metrics"]
core1 = p1["replay"] + p1["metrics"]
rows = [
    ("replay core, 2 threads (replay + metrics, trace in memory)", f"{n/core/1e6:.1f} M req/s", f"peer_numpy sim {n/numpy['timing']['sim_s']/1e6:.2f} M req/s; C loop {n/limit['timing']['sim_s']/1e6:.1f} M req/s", f"{numpy['timing']['sim_s']/core:.1f}x numpy, {limit['timing']['sim_s']/core:.2f}x C"),
    ("replay core, 1 thread", f"{n/core1/1e6:.1f} M req/s", f"C loop (1 thread) {n/limit['timing']['sim_s']/1e6:.1f} M req/s", f"{limit['timing']['sim_s']/core1:.2f}x C"),
    ("end to end, Parquet in, JSON out (process wall)", f"{pw:.2f} s", f"peer_numpy reading CSV {nw:.2f} s", f"{nw/pw:.1f}x"),
    ("end to end, CSV in, JSON out (process wall)", f"{cw:.2f} s", f"peer_numpy reading CSV {nw:.2f} s", f"{nw/cw:.1f}x"),
    ("peak RSS, Parquet in", f"{pr:.0f} MB", f"peer_numpy {nr:.0f} MB", f"{pr/nr:.2f} of peer"),
    ("peak RSS, CSV in", f"{cr:.0f} MB", f"peer_numpy {nr:.0f} MB", f"{cr/nr:.2f} of peer"),
]
print(f"| measure (N = {n:,}) | switchyard | peer, same run | ratio |")
print("|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
print()
print("switchyard phases, Parquet run:", ", ".join(f"{k} {v:.3f} s" for k, v in p.items()))
print("switchyard phases, CSV run:    ", ", ".join(f"{k} {v:.3f} s" for k, v in phases("sy_csv").items()))
print(f"peer_numpy: read {numpy['timing']['read_s']:.3f} s, sim {numpy['timing']['sim_s']:.3f} s; C loop: read {limit['timing']['read_s']:.3f} s, sim {limit['timing']['sim_s']:.3f} s")
PY
