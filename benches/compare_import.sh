#!/usr/bin/env bash
# Import throughput per format beside a Python polars one-liner reading the same file, in one run.
# Prints a markdown table (rows per second, and our rate over polars').
#   benches/compare_import.sh [COPIES]     (needs ../shared/data/traces and .bench-venv, see compare_peers.sh)
#
# The public samples are small (400 to 19,366 rows), so each is enlarged to COPIES copies of its
# data rows (default 100; BurstGPT 50x more) in bench-data/import/, two ways:
#   FILE           each copy shifted in time past the one before (Azure: one day later; BurstGPT
#                  and Mooncake: by the sample's span), so the file is in time order like a longer
#                  recording of the same traffic: what a real trace looks like;
#   FILE-unsorted  the copies as they are, so the timestamps restart with every copy and
#                  switchyard also sorts (stable) the rows: work the polars reader does not do.
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
import datetime, json, sys
data, copies = sys.argv[1], int(sys.argv[2])
def enlarge(src, dst, n, shift, header=True):
    lines = [l + "\n" for l in open(src).read().splitlines() if l.strip()]
    head, body = (lines[:1], lines[1:]) if header else ([], lines)
    with open(dst.replace(".", "-unsorted.", 1), "w") as f:
        f.writelines(head)
        for _ in range(n):
            f.writelines(body)
    with open(dst, "w") as f:
        f.writelines(head)
        for k in range(n):
            f.writelines(shift(body, k))
def azure(body, k):  # one day later per copy (the sample spans an hour of one day)
    assert len({l[:10] for l in body}) == 1, "the Azure sample spans more than one date"
    date = (datetime.date.fromisoformat(body[0][:10]) + datetime.timedelta(days=k)).isoformat()
    return [date + l[10:] for l in body]
def burstgpt(body, k):  # Timestamp (whole seconds) shifted by the sample's span
    stamps = [int(l.split(",", 1)[0]) for l in body]
    span = max(stamps) + 1
    return [f"{t + k * span},{l.split(',', 1)[1]}" for t, l in zip(stamps, body)]
def mooncake(body, k):  # timestamp (ms) shifted by the sample's span
    rows = [json.loads(l) for l in body]
    span = max(r["timestamp"] for r in rows) + 1000
    out = []
    for l, r in zip(body, rows):
        head, rest = l.split(",", 1)
        out.append(f'{{"timestamp": {r["timestamp"] + k * span},{rest}')
    return out
enlarge(f"{data}/azure_llm_2023/AzureLLMInferenceTrace_conv.csv", "bench-data/import/azure.csv", copies, azure)
enlarge(f"{data}/burstgpt_slices/burstgpt_slice.csv", "bench-data/import/burstgpt.csv", copies * 50, burstgpt)
enlarge(f"{data}/mooncake_fast25/synthetic_trace.jsonl", "bench-data/import/mooncake.jsonl", copies, mooncake, header=False)
PY
# The files were just written: flush them, so that writeback does not land in whichever timed run
# comes first (it was always ours), and give each side one untimed warm-up read below.
sync
echo "| format | file | rows | switchyard rows/s (process) | switchyard rows/s (read) | polars rows/s | ratio (process) | ratio (read) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for spec in "azure azure.csv read_csv" "azure azure-unsorted.csv read_csv" "burstgpt burstgpt.csv read_csv" \
  "burstgpt burstgpt-unsorted.csv read_csv" "mooncake mooncake.jsonl read_ndjson" "mooncake mooncake-unsorted.jsonl read_ndjson"; do
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
