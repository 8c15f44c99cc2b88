#!/usr/bin/env bash
# The reference workload's 50-point cost-vs-p99 frontier, candidate statistics included:
# switchyard frontier beside peer_lp.py (scipy HiGHS, exact tails), in one run. Prints a markdown row.
#   benches/compare_frontier.sh [REF_DIR]      (default bench-data/ref-1m; needs .bench-venv, see compare_peers.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
REF="${1:-bench-data/ref-1m}"
PY="${SWITCHYARD_PY:-.bench-venv/bin/python}"
SHARED="${SWITCHYARD_SHARED:-../shared}"
cargo build --release --quiet
out=$(mktemp -d)
"$PY" "$SHARED/bench/peer_lp.py" "$REF" --no-synthetic --tail-method exact > "$out/peer.json"
/usr/bin/time -f "%e" -o "$out/time" ./target/release/switchyard frontier --quiet --trace "$REF/trace.csv" \
  --catalog policies/reference/catalog.yaml --constraints policies/reference/constraints.yaml \
  --from 0.25 --to 2 --points 50 --out "$out/fr" > /dev/null
"$PY" - "$out" <<'PY'
import json, sys, csv
d = sys.argv[1]
p = json.load(open(f"{d}/peer.json"))
peer = p["timing"]["read_and_stats_s"] + p["sweep"]["total_s"]
ours = float(open(f"{d}/time").read().split()[-1])
rows = list(csv.DictReader(open(f"{d}/fr/frontier.csv")))
worst = 0.0
for r, f in zip(rows, p["sweep"]["frontier"]):
    if r["cost_usd"] and f["cost_usd"]:
        worst = max(worst, abs(float(r["cost_usd"]) - f["cost_usd"]) / f["cost_usd"])
feas = sum(1 for r in rows if r["feasible"] == "true")
print("| frontier | switchyard s (process, incl. read, stats, 50+21 LPs, charts) | peer_lp.py s (read+stats+tail table+50 LPs) | speed-up | feasible (ours/peer) | largest cost diff vs peer (its 20k-row sampled tails) |")
print("|---|---|---|---|---|---|")
print(f"| ref 50-point | {ours:.2f} | {peer:.2f} | {peer/ours:.1f}x | {feas}/{p['sweep']['feasible']} | {worst:.1e} |")
PY
