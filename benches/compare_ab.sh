#!/usr/bin/env bash
# A/B of two switchyard binaries on the same inputs, in one run: for a refactor that must not be
# slower. Each round runs every case with both binaries, alternating which goes first; prints the
# median wall time of each and the ratio B/A per case as Markdown rows for BENCHMARKS.md.
#
#   benches/compare_ab.sh A_BIN B_BIN [REQUESTS]     # default 1000000 synthetic requests
#   RUNS=7 benches/compare_ab.sh ...                  # rounds (default 5)
#   TRACE=bench-data/ref-10m/trace.parquet benches/compare_ab.sh A_BIN B_BIN   # a given trace instead
#
# A_BIN is typically a release build of the base commit (`git worktree add ../base BASE` and
# `cargo build --release` there), B_BIN this checkout's `target/release/switchyard`.
# The cases: replay with exact quantiles from Parquet (read as replayed) and from CSV, 3 replicates,
# sketch quantiles, and the discrete-event engine under policies/scenario-outage.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1 B=$2 N="${3:-1000000}" RUNS="${RUNS:-5}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if [ -n "${TRACE:-}" ]; then
  cp "$TRACE" "$T/day.parquet"
else
  "$B" --quiet trace synth --seed 42 -o "$T/day.parquet" >/dev/null 2>&1 || true
fi
# The default spec's day is 1M requests; for another size let the demo synthesize it.
if [ ! -f "$T/day.parquet" ] || { [ -z "${TRACE:-}" ] && [ "$N" != 1000000 ]; }; then
  "$B" demo --quiet --requests "$N" --points 2 --out "$T/demo" >/dev/null
  cp "$T/demo/trace.parquet" "$T/day.parquet"
fi
"$B" --quiet trace convert "$T/day.parquet" -o "$T/day.csv"
P=policies/field-report.yaml
cases=(
  "parquet|simulate --quiet --policy $P --trace $T/day.parquet"
  "csv|simulate --quiet --policy $P --trace $T/day.csv"
  "replicates3|simulate --quiet --policy $P --trace $T/day.parquet --replicates 3"
  "sketch|simulate --quiet --policy $P --trace $T/day.parquet --quantiles sketch"
  "des|simulate --quiet --policy $P --trace $T/day.parquet --engine des --scenario policies/scenario-outage.yaml"
)
wall() { /usr/bin/time -f "%e" -o "$T/t" "$@" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; exit 1; }; cat "$T/t"; }
for r in $(seq 1 "$RUNS"); do
  for c in "${cases[@]}"; do
    name=${c%%|*} args=${c#*|}
    # shellcheck disable=SC2086
    if [ $((r % 2)) -eq 1 ]; then
      echo "$name A $(wall "$A" $args)" >> "$T/times"; echo "$name B $(wall "$B" $args)" >> "$T/times"
    else
      echo "$name B $(wall "$B" $args)" >> "$T/times"; echo "$name A $(wall "$A" $args)" >> "$T/times"
    fi
  done
done
python3 - "$T/times" "$RUNS" <<'PY'
import statistics, sys
times = {}
for line in open(sys.argv[1]):
    name, who, t = line.split()
    times.setdefault(name, {}).setdefault(who, []).append(float(t))
print(f"| case | A median s | B median s | B/A of medians | B/A per round (min-max) | rounds |")
print("|---|---|---|---|---|---|")
for name, w in times.items():
    a, b = statistics.median(w["A"]), statistics.median(w["B"])
    per = [y / x for x, y in zip(w["A"], w["B"])]
    print(f"| {name} | {a:.3f} | {b:.3f} | {b / a:.3f} | {min(per):.3f}-{max(per):.3f} | {sys.argv[2]} |")
PY
