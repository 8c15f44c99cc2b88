#!/usr/bin/env bash
# Import throughput per format beside a Python polars one-liner reading the same file, in one run.
# Prints a markdown table (rows per second, and our rate over polars').
#   benches/compare_import.sh [COPIES]     (needs ../shared/data/traces and .bench-venv, see compare_peers.sh)
#
# The public samples are small (400 to 19,366 rows), so each is enlarged by concatenating COPIES
# copies of its data rows (default 100; BurstGPT 50x more) into bench-data/import/. Repeated rows
# make the trace unsorted, so switchyard also sorts it (stable): work the polars reader does not do.
# Two figures for switchyard, each the median of 3 processes of `trace stats --timing --format F`:
# the whole process (start, import, validation, sort, interning, statistics, exit), and its "read"
# phase alone (import, validation, sort and interning, in the process: what `pl.read_csv` does and
# more). polars' time is `pl.read_csv` / `pl.read_ndjson` inside Python, interpreter and import
# excluded, median of 3. Each side gets one untimed warm-up read. "ratio (read)" compares like with
# like (a read call inside a running process on both sides); "ratio (process)" also charges
# switchyard its process start and the statistics.
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
echo "| format | file | rows | switchyard rows/s (process) | switchyard rows/s (read) | polars rows/s | ratio (process) | ratio (read) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for spec in "azure azure.csv read_csv" "burstgpt burstgpt.csv read_csv" "mooncake mooncake.jsonl read_ndjson"; do
  set -- $spec
  f="bench-data/import/$2"
  ours=()
  reads=()
  ./target/release/switchyard trace stats --format "$1" "$f" > /dev/null 2>&1
  for _ in 1 2 3; do
    s=$(date +%s.%N)
    ./target/release/switchyard --timing trace stats --format "$1" "$f" > /dev/null 2> bench-data/import/timing
    e=$(date +%s.%N)
    ours+=("$(echo "$e - $s" | bc -l)")
    reads+=("$(awk '$2 == "read" { print $3 }' bench-data/import/timing)")
  done
  "$PY" - "$f" "$3" "${ours[*]}" "${reads[*]}" <<'PY'
import sys, time, statistics, polars as pl
f, how = sys.argv[1], sys.argv[2]
ours, reads = ([float(x) for x in a.split()] for a in sys.argv[3:5])
getattr(pl, how)(f)  # warm-up, untimed (as ours)
times = []
for _ in range(3):
    t = time.perf_counter()
    df = getattr(pl, how)(f)
    times.append(time.perf_counter() - t)
rows, theirs = df.height, statistics.median(times)
mine, read = statistics.median(ours), statistics.median(reads)
print(f"| {f.split('/')[-1].split('.')[0]} | {f} | {rows:,} | {rows/mine:,.0f} | {rows/read:,.0f} | {rows/theirs:,.0f} | {theirs/mine:.2f} | {theirs/read:.2f} |")
PY
done
