#!/usr/bin/env bash
# Measure switchyard beside the reference peers (../shared/bench) on the same trace, in one run,
# and print the ratios as Markdown rows for BENCHMARKS.md.
#
#   benches/compare_peers.sh [N]        # N requests, default 10000000 (the issue's reference size)
#   RUNS=5 benches/compare_peers.sh      # rounds (default 3): every program once a round, the order
#                                        # alternating between rounds; one row per round + medians
#
# Sets up what it needs: a Python venv with the peers' requirements (.bench-venv), the generated
# workload (bench-data/ref-N), its Parquet copy, the C limit program, a release build.
# Shared machines are noisy: read the ratios, not the absolute times, and run it on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10000000}"
# shellcheck source=benches/reference.sh
. benches/reference.sh
[ -x bench-data/limit_c ] || gcc -O3 -march=native -o bench-data/limit_c "$B/limit/limit_c.c" -lm
[ -f "$D/params.txt" ] || "$PY" "$B/limit/export_params.py" "$D" > "$D/params.txt"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
measure() { # dir, name, command...: wall seconds and peak RSS (MB) of the whole process
  local dir=$1 name=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$dir/$name.time" "$@" > "$dir/$name.out" 2> "$dir/$name.err"
}
SIM=(simulate --quiet --timing --catalog policies/reference/catalog.yaml --policy policies/reference/policy.yaml)
RUNS="${RUNS:-3}"
for r in $(seq 1 "$RUNS"); do
  R="$T/run$r"
  mkdir -p "$R"
  peers() {
    measure "$R" numpy "$PY" "$B/peer_numpy.py" "$D"
    measure "$R" limit bench-data/limit_c "$D/trace.csv" "$D/params.txt"
  }
  ours() {
    measure "$R" sy_parquet $SY "${SIM[@]}" --trace "$D/trace.parquet" --json "$R/sy_parquet.json"
    measure "$R" sy_csv $SY "${SIM[@]}" --trace "$D/trace.csv" --json "$R/sy_csv.json"
    measure "$R" sy_csv_1t env RAYON_NUM_THREADS=1 $SY "${SIM[@]}" --trace "$D/trace.csv"
  }
  # Alternate who goes first: a host that speeds up or slows down during a round favours neither.
  if [ $((r % 2)) -eq 1 ]; then peers; ours; else ours; peers; fi
done

"$PY" - "$T" "$N" "$RUNS" <<'PY'
import json, re, statistics, sys, pathlib
t, n, runs = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def wall_rss(d, name):
    w, k = (d / f"{name}.time").read_text().split()[-2:]
    return float(w), int(k) / 1024
def phases(d, name):
    out = {}
    for line in (d / f"{name}.err").read_text().splitlines():
        m = re.match(r"timing: (\w+)\s+([\d.]+) s", line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(2))
    return out
rows = []
for r in range(1, runs + 1):
    d = t / f"run{r}"
    numpy = json.loads((d / "numpy.out").read_text())
    limit = json.loads((d / "limit.out").read_text())
    nw, nr = wall_rss(d, "numpy")
    pw, pr = wall_rss(d, "sy_parquet")
    cw, cr = wall_rss(d, "sy_csv")
    # The core is the replay of a trace in memory: the CSV runs' replay and metrics phases (a
    # Parquet trace is replayed as it is read, so its replay phase includes decoding the file).
    p, c, c1 = phases(d, "sy_parquet"), phases(d, "sy_csv"), phases(d, "sy_csv_1t")
    core, core1 = c["replay"] + c["metrics"], c1["replay"] + c1["metrics"]
    c_sim, np_sim = limit["timing"]["sim_s"], numpy["timing"]["sim_s"]
    rows.append({
        "core": n / core / 1e6, "c": n / c_sim / 1e6, "vs_c": c_sim / core, "vs_np": np_sim / core,
        "vs_c_1t": c_sim / core1, "pq": nw / pw, "csv": nw / cw, "rss_pq": pr / nr, "rss_csv": cr / nr,
        "walls": (pw, cw, nw), "phases": p, "csv_phases": c,
    })
print(f"| round (N = {n:,}) | replay core, 2 threads | C loop | core vs C | core vs numpy sim | 1 thread vs C | end to end Parquet vs peer_numpy (CSV) | end to end CSV | peak RSS Parquet / CSV vs peer |")
print("|---|---|---|---|---|---|---|---|---|")
for i, x in enumerate(rows, 1):
    pw, cw, nw = x["walls"]
    print(f"| {i} | {x['core']:.1f} M req/s | {x['c']:.1f} M/s | {x['vs_c']:.2f}x | {x['vs_np']:.1f}x | {x['vs_c_1t']:.2f}x "
          f"| {x['pq']:.1f}x ({pw:.2f} s vs {nw:.2f} s) | {x['csv']:.1f}x ({cw:.2f} s) | {x['rss_pq']:.2f} / {x['rss_csv']:.2f} |")
med = lambda k: statistics.median(x[k] for x in rows)
print(f"| median | {med('core'):.1f} M req/s | {med('c'):.1f} M/s | {med('vs_c'):.2f}x | {med('vs_np'):.1f}x | {med('vs_c_1t'):.2f}x "
      f"| {med('pq'):.1f}x | {med('csv'):.1f}x | {med('rss_pq'):.2f} / {med('rss_csv'):.2f} |")
print()
print("targets (issue 2): core >= 40 M req/s (about 1.8x the 22 M/s C loop it was set beside); Parquet end to end >= 10x; CSV >= 5x; peak RSS <= 0.5")
for i, x in enumerate(rows, 1):
    print(f"round {i} switchyard phases, Parquet run (read as replayed):", ", ".join(f"{k} {v:.3f} s" for k, v in x["phases"].items()))
    print(f"round {i} switchyard phases, CSV run (the core):", ", ".join(f"{k} {v:.3f} s" for k, v in x["csv_phases"].items()))
PY
