#!/usr/bin/env bash
# `switchyard compare` against one `switchyard simulate` with the same replicates, on the reference
# trace, in one run: compare runs two policies on one read and one binding each, so it should take
# about twice one simulate (the issue's bound: 2.2x). Prints a Markdown row for BENCHMARKS.md.
#
#   benches/compare_vs_simulate.sh [N]     # N requests of the reference workload, default 10000000
#   RUNS=5 benches/compare_vs_simulate.sh   # rounds (default 3), alternating which runs first
#
# The candidate is the reference policy with the code class's first and last weights swapped (a
# routing change; both sides bind and run everything). Sets up what it needs like compare_peers.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10000000}" RUNS="${RUNS:-3}"
# shellcheck source=benches/reference.sh
. benches/reference.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
sed -e 's/deepseek-v4-flash@us-east-1: 0.35/deepseek-v4-flash@us-east-1: 0.15/' \
    -e '0,/kimi-k2.5@us-east-1: 0.15/s//kimi-k2.5@us-east-1: 0.35/' policies/reference/policy.yaml > "$T/candidate.yaml"
cmp -s policies/reference/policy.yaml "$T/candidate.yaml" && { echo "the candidate did not change" >&2; exit 1; }
C=policies/reference/catalog.yaml P=policies/reference/policy.yaml
sim=(simulate --quiet --trace "$D/trace.parquet" --catalog $C --policy $P --replicates 5 --json "$T/s.json")
cmpr=(compare --quiet --trace "$D/trace.parquet" --catalog $C --baseline $P --candidate "$T/candidate.yaml" --replicates 5 --json "$T/c.json")
wall() { /usr/bin/time -f "%e %M" -o "$T/t" "$SY" "$@" >/dev/null 2>"$T/err"; local rc=$?; [ $rc -le 3 ] || { cat "$T/err" >&2; exit 1; }; tail -1 "$T/t"; }
for r in $(seq 1 "$RUNS"); do
  if [ $((r % 2)) -eq 1 ]; then
    echo "simulate $(wall "${sim[@]}")" >> "$T/times"; echo "compare $(wall "${cmpr[@]}")" >> "$T/times"
  else
    echo "compare $(wall "${cmpr[@]}")" >> "$T/times"; echo "simulate $(wall "${sim[@]}")" >> "$T/times"
  fi
done
python3 - "$T/times" "$RUNS" "$N" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    who, s, kb = line.split()
    t.setdefault(who, []).append((float(s), int(kb)))
s = [x for x, _ in t["simulate"]]; c = [x for x, _ in t["compare"]]
ratios = [b / a for a, b in zip(s, c)]
print("| workload | simulate s | compare s | compare / simulate | peak RSS MB (simulate / compare) | rounds |")
print("|---|---|---|---|---|---|")
print(f"| {int(sys.argv[3]):,} requests, 5 replicates | {statistics.median(s):.2f} | {statistics.median(c):.2f} | "
      f"{min(ratios):.2f}-{max(ratios):.2f}x, median {statistics.median(ratios):.2f}x | "
      f"{max(k for _, k in t['simulate']) / 1024:.0f} / {max(k for _, k in t['compare']) / 1024:.0f} | {sys.argv[2]} |")
PY
