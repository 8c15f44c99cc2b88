#!/usr/bin/env bash
# Import throughput per format beside a Python polars one-liner reading the same file, in one run.
# Prints a markdown table (rows per second, and our rate over polars').
#   benches/compare_import.sh [COPIES]     (needs ../shared/data/traces and .bench-venv, see compare_peers.sh)
#
# The public samples are small (400 to 19,366 rows), so each is enlarged by concatenating COPIES
# copies of its data rows (default 100; BurstGPT 50x more) into bench-data/import/. Repeated rows
# make the trace unsorted, so switchyard also sorts it (stable): work the polars reader does not do.
# switchyard's time is the whole process, `trace stats --format F` (import, validation, sort,
# interning, statistics); polars' is `pl.read_csv` / `pl.read_ndjson` inside Python, interpreter and
# import excluded, median of 3 (ours: median of 3 processes), each side after one untimed warm-up read.
set -euo pipefail
cd "$(dirname "$0")/.."
COPIES="${1:-100}"
PY="${SWITCHYARD_PY:-.bench-venv/bin/python}"
DATA="${SWITCHYARD_SHARED_DATA:-../shared/data}/traces"
cargo build --release --quiet --bin switchyard
mkdir -p bench-data/import
"$PY" - "$DATA" "$COPIES" <<'PY'
import sys
data, copies = sys.argv[1], int(sys.argv[2])
def enlarge(src, dst, n, header=True):
    lines = [l + "\n" for l in open(src).read().splitlines() if l.strip()]
    head, body = (lines[:1], lines[1:]) if header else ([], lines)
    with open(dst, "w") as f:
        f.writelines(head)
        for _ in range(n):
            f.writelines(body)
enlarge(f"{data}/azure_llm_2023/AzureLLMInferenceTrace_conv.csv", "bench-data/import/azure.csv", copies)
enlarge(f"{data}/burstgpt_slices/burstgpt_slice.csv", "bench-data/import/burstgpt.csv", copies * 50)
enlarge(f"{data}/mooncake_fast25/synthetic_trace.jsonl", "bench-data/import/mooncake.jsonl", copies, header=False)
PY
# The files were just written: flush them, so that writeback does not land in whichever timed run
# comes first (it was always ours), and give each side one untimed warm-up read below.
sync
echo "| format | file | rows | switchyard rows/s | polars rows/s | ratio |"
echo "|---|---|---:|---:|---:|---:|"
for spec in "azure azure.csv read_csv" "burstgpt burstgpt.csv read_csv" "mooncake mooncake.jsonl read_ndjson"; do
  set -- $spec
  f="bench-data/import/$2"
  ours=()
  ./target/release/switchyard trace stats --format "$1" "$f" > /dev/null 2>&1
  for _ in 1 2 3; do
    s=$(date +%s.%N)
    ./target/release/switchyard trace stats --format "$1" "$f" > /dev/null
    e=$(date +%s.%N)
    ours+=("$(echo "$e - $s" | bc -l)")
  done
  "$PY" - "$f" "$3" "${ours[@]}" <<'PY'
import sys, time, statistics, polars as pl
f, how, ours = sys.argv[1], sys.argv[2], sorted(float(x) for x in sys.argv[3:])
getattr(pl, how)(f)  # warm-up, untimed (as ours)
times = []
for _ in range(3):
    t = time.perf_counter()
    df = getattr(pl, how)(f)
    times.append(time.perf_counter() - t)
rows, theirs, mine = df.height, statistics.median(times), statistics.median(ours)
print(f"| {f.split('/')[-1].split('.')[0]} | {f} | {rows:,} | {rows/mine:,.0f} | {rows/theirs:,.0f} | {theirs/mine:.2f} |")
PY
done
