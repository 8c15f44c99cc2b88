#!/usr/bin/env bash
# The discrete-event engine beside peer_simpy.py on the reference trace with its concurrency limits
# (SEMANTICS.md section 5), in one run. Prints a Markdown row for BENCHMARKS.md.
#   benches/compare_des.sh [REF_DIR]       (default bench-data/ref-1m; .bench-venv as compare_peers.sh makes it)
# switchyard's "sim" is its --timing `simulate` + `metrics` phases (event loop, then every metric with
# exact quantiles), against the peer's own sim_s (building and running the SimPy model plus its
# metrics); "total" is process wall time against the peer's read_s + sim_s. switchyard runs three
# times after the peer's one run and the median (by sim time) is reported.
set -euo pipefail
cd "$(dirname "$0")/.."
REF="${1:-bench-data/ref-1m}"
PY="${SWITCHYARD_PY:-.bench-venv/bin/python}"
SHARED="${SWITCHYARD_SHARED:-../shared}"
cargo build --release --quiet --bin switchyard
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$PY" "$SHARED/bench/peer_simpy.py" "$REF" > "$out/peer.json"
# switchyard three times (it takes well under a second; a shared machine's noise is larger than that):
# the median run by sim time is reported.
for k in 1 2 3; do
  /usr/bin/time -f "%e %M" -o "$out/time$k" ./target/release/switchyard --timing simulate --quiet --engine des \
    --trace "$REF/trace.csv" --catalog policies/reference/catalog.yaml --policy policies/reference/policy.yaml \
    --scenario policies/reference/scenario.yaml --json "$out/des.json" > /dev/null 2> "$out/timing$k"
done
"$PY" - "$out" <<'PY'
import json, sys, re
d = sys.argv[1]
p = json.load(open(f"{d}/peer.json"))
ours = json.load(open(f"{d}/des.json"))
runs = []
for k in (1, 2, 3):
    phase = {m.group(1): float(m.group(2)) for m in re.finditer(r"timing: (\w+)\s+([\d.]+) s", open(f"{d}/timing{k}").read())}
    wall, rss_kb = open(f"{d}/time{k}").read().split()[-2:]
    runs.append((phase["simulate"] + phase["metrics"], phase, wall, rss_kb))
runs.sort(key=lambda r: r[0])
_, phase, wall, rss_kb = runs[1]
n = ours["n_requests"]
sim = phase["simulate"] + phase["metrics"]
peer_sim = p["timing"]["sim_s"]
peer_total = p["timing"]["read_s"] + p["timing"]["sim_s"]
print("| N | switchyard sim s (event loop + metrics) | requests/s | peer_simpy sim s | requests/s | ratio (sim) | switchyard process s | peer read+sim s | ratio (total) | events ours/peer | waited ours/peer |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
print(f"| {n:,} | {sim:.3f} | {n/sim/1e6:.2f} M | {peer_sim:.2f} | {n/peer_sim/1e3:.1f} k | {peer_sim/sim:.0f}x | {float(wall):.2f} | {peer_total:.2f} | {peer_total/float(wall):.1f}x | {ours['des']['events']:,}/{p['events']:,} | {ours['des']['queue']['requests_that_waited']:,}/{p['queue']['requests_that_waited']:,} |")
print(f"(median of 3 switchyard runs; their sim s: {[round(r[0], 3) for r in runs]}; peak RSS {int(rss_kb)/1024:.0f} MB; phases: {phase})")
PY
