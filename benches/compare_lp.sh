#!/usr/bin/env bash
# Time switchyard's LP solve beside scipy's HiGHS on the very same synthetic routing LPs (the
# K x E generator of shared/bench/peer_lp.py, SEMANTICS.md section 6), in one run, and print
# Markdown rows for BENCHMARKS.md.
#
#   benches/compare_lp.sh               # 50x200 and 200x500, 3 solves per side per instance
#   REPEATS=5 benches/compare_lp.sh
#
# switchyard (release, `cargo bench --bench lp` in compare mode) writes each instance as a CPLEX
# LP file with `write_lp` and times `lp::solve` with the default solver, then once more with
# microlp for comparison; benches/lp_scipy.py reads the same file with highspy and times
# `scipy.optimize.linprog(method="highs")` on it, as peer_lp.py does. Times are medians.
# Python: $SWITCHYARD_PY, else .bench-venv/bin/python (created with scipy and highspy if missing).
# Shared machines are noisy: read the ratios, not the absolute times.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS="${REPEATS:-3}"
PY="${SWITCHYARD_PY:-.bench-venv/bin/python}"
[ -x "$PY" ] || { python3 -m venv .bench-venv && .bench-venv/bin/pip install -q scipy highspy; PY=.bench-venv/bin/python; }
"$PY" -c "import scipy, highspy" 2>/dev/null || "$PY" -m pip install -q scipy highspy

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cargo bench --bench lp --no-run --quiet 2>/dev/null
SWITCHYARD_LP_COMPARE="$T" SWITCHYARD_LP_REPEATS="$REPEATS" cargo bench --bench lp --quiet > "$T/default.jsonl"
for lp in "$T"/*.lp; do "$PY" benches/lp_scipy.py "$lp" --repeats "$REPEATS" | grep '^{' >> "$T/scipy.jsonl"; done
SWITCHYARD_LP_COMPARE="$T" SWITCHYARD_LP_REPEATS="$REPEATS" SWITCHYARD_LP_SOLVER=microlp \
  cargo bench --bench lp --quiet > "$T/microlp.jsonl"

"$PY" - "$T" <<'PYEOF'
import json, os, sys
t = sys.argv[1]
load = lambda name: [json.loads(l) for l in open(os.path.join(t, name)) if l.startswith("{")]
scipy = {os.path.basename(d["file"]): d for d in load("scipy.jsonl")}
micro = {d["instance"]: d for d in load("microlp.jsonl")}
print(f"load average at the end: {os.getloadavg()[0]:.2f}")
print()
print("| instance | switchyard s | scipy HiGHS s | ratio | objective rel diff | switchyard solver | microlp s |")
print("|---|---|---|---|---|---|---|")
for d in load("default.jsonl"):
    s = scipy[os.path.basename(d["file"])]
    rel = abs(d["objective"] - s["linprog_objective"]) / abs(s["linprog_objective"])
    print(f"| {d['instance']} ({d['vars']} vars, {d['nnz']} nnz) | {d['seconds_median']:.3f} | "
          f"{s['linprog_s_median']:.3f} | {d['seconds_median'] / s['linprog_s_median']:.2f} | {rel:.1e} | "
          f"{d['solver']} | {micro[d['instance']]['seconds_median']:.3f} |")
print()
print("| instance | default: dust, violations | raw clarabel: s, dust, violations | cleaned (threshold, renormalise): "
      "violations, worst, objective rel diff | polished: violations, objective rel diff |")
print("|---|---|---|---|---|")
for d in load("default.jsonl"):
    ref = scipy[os.path.basename(d["file"])]["linprog_objective"]
    rel = lambda v: abs(v - ref) / abs(ref)
    print(f"| {d['instance']} | {d['dust']}, {d['violations']} | {d['raw_seconds']:.3f}, {d['raw_dust']}, "
          f"{d['raw_violations']} | {d['cleaned_violations']}, {d['cleaned_max_violation']:.1e}, "
          f"{rel(d['cleaned_objective']):.1e} | {d['polished_violations']}, {rel(d['polished_objective']):.1e} |")
print()
print(f"dust: weights in (0, {d['threshold']:g}); violations: rows or bounds off by more than {d['tol']:g} (absolute); "
      f"ratio = switchyard / scipy (below 1: switchyard faster).")
PYEOF
