# Sourced by the benchmark scripts that run on the reference workload: sets B (../shared/bench),
# D (bench-data/ref-N with trace.csv and trace.parquet), PY (the peers' Python) and SY (a release
# build of this checkout), making whatever is missing. Needs N set.
SHARED="${SWITCHYARD_SHARED:-$(cd .. && pwd)/shared}"
B="$SHARED/bench"
D="bench-data/ref-$N"
PY=.bench-venv/bin/python
[ -x "$PY" ] || { python3 -m venv .bench-venv && .bench-venv/bin/pip install -q -r "$B/requirements.txt"; }
[ -f "$D/trace.csv" ] || "$PY" "$B/gen_workload.py" --requests "$N" --seed 42 --out "$D" >/dev/null
cargo build --release --quiet
SY=target/release/switchyard
[ -f "$D/trace.parquet" ] || $SY --quiet trace convert "$D/trace.csv" -o "$D/trace.parquet" 2>/dev/null
