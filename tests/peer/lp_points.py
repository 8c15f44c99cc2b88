#!/usr/bin/env python3
"""The reference LP solved by peer_lp.py's own functions (scipy HiGHS) at chosen multipliers of
T_ref, with the tail probabilities averaged over every row of each class (no subsampling), so that
switchyard's exact-over-the-trace tails and the peer's are the same numbers.

    python lp_points.py SHARED_BENCH_DIR REF_DIR MULT [MULT ...]   -> JSON on stdout
"""
import json
import os
import sys

import numpy as np

bench, ref, mults = sys.argv[1], sys.argv[2], [float(x) for x in sys.argv[3:]]
sys.path.insert(0, bench)
import peer_lp  # noqa: E402
from common import load_model  # noqa: E402

m = load_model(ref)
lp = m["policy"]["lp"]
classes = m["classes"]
V, mean_in, mean_out, lam_peak, samp = peer_lp.class_stats(
    os.path.join(ref, "trace.csv"), classes, m["regions"], 10**12, 12345)
qt = np.array([lp["classes"][c]["quality_target"] for c in classes])
tref = np.array([lp["classes"][c]["T_ref_s"] for c in classes])
var, vc, ve, cost_ce, obj = peer_lp.build_lp(m, V, mean_in, mean_out, lam_peak)
P = peer_lp.tail_prob_table(m, samp, tref[:, None] * np.array(mults)[None, :])
out = []
for k, mult in enumerate(mults):
    r = peer_lp.solve(m, var, vc, ve, obj, lam_peak, P[vc, ve, k], qt, lp["tail_prob"])
    out.append({"mult": mult, "status": int(r.status), "cost_usd": float(r.fun) if r.status == 0 else None})
json.dump(out, sys.stdout)
