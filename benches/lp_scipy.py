#!/usr/bin/env python3
"""Solve an LP file (written by switchyard's `write_lp`) with scipy's HiGHS, as peer_lp.py does.

    python benches/lp_scipy.py FILE.lp [--repeats 3]

highspy reads the CPLEX LP file (so the instance is exactly switchyard's); its matrices are turned
into scipy.optimize.linprog's form (A_ub x <= b_ub, A_eq x = b_eq, bounds) outside the timer, and
only `linprog(..., method="highs")` is timed, like `synthetic()` in peer_lp.py. For reference it
also times highspy solving the model it read. Prints one JSON line.
"""
import argparse
import json
import time

import highspy
import numpy as np
import scipy
import scipy.sparse as sp
from scipy.optimize import linprog


def read(path):
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    status = h.readModel(path)
    if status != highspy.HighsStatus.kOk:
        raise SystemExit(f"highspy could not read {path}: {status}")
    lp = h.getLp()
    n, m = lp.num_col_, lp.num_row_
    a = lp.a_matrix_
    A = sp.csc_matrix((np.array(a.value_), np.array(a.index_), np.array(a.start_)), shape=(m, n)).tocsr()
    sense = 1.0 if lp.sense_ == highspy.ObjSense.kMinimize else -1.0
    return h, {
        "c": sense * np.array(lp.col_cost_), "sense": sense, "offset": lp.offset_,
        "col_lo": np.array(lp.col_lower_), "col_hi": np.array(lp.col_upper_),
        "row_lo": np.array(lp.row_lower_), "row_hi": np.array(lp.row_upper_), "A": A, "n": n, "m": m,
        "nnz": A.nnz,
    }


def linprog_args(d):
    inf = highspy.kHighsInf
    lo, hi, A = d["row_lo"], d["row_hi"], d["A"]
    eq = lo == hi
    le = (~eq) & (hi < inf)
    ge = (~eq) & (lo > -inf)
    A_ub = sp.vstack([A[le], -A[ge]]).tocsr()
    b_ub = np.concatenate([hi[le], -lo[ge]])
    bounds = np.column_stack([np.where(d["col_lo"] <= -inf, -np.inf, d["col_lo"]),
                              np.where(d["col_hi"] >= inf, np.inf, d["col_hi"])])
    return dict(c=d["c"], A_ub=A_ub, b_ub=b_ub, A_eq=A[eq].tocsr(), b_eq=lo[eq], bounds=bounds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    h, d = read(a.file)
    args = linprog_args(d)
    times, objective, status = [], None, None
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        r = linprog(method="highs", **args)
        times.append(time.perf_counter() - t0)
        status, objective = int(r.status), d["sense"] * float(r.fun) + d["offset"] if r.status == 0 else None
    highs_times = []
    for _ in range(a.repeats):
        h.clearSolver()
        t0 = time.perf_counter()
        h.run()
        highs_times.append(time.perf_counter() - t0)
    json.dump({
        "file": a.file, "vars": d["n"], "rows": d["m"], "nnz": d["nnz"], "scipy": scipy.__version__,
        "highspy": h.version(), "linprog_status": status, "linprog_objective": objective,
        "linprog_s": times, "linprog_s_median": float(np.median(times)),
        "highspy_status": str(h.getModelStatus()), "highspy_objective": h.getInfo().objective_function_value,
        "highspy_s": highs_times, "highspy_s_median": float(np.median(highs_times)),
    }, __import__("sys").stdout)
    print()


if __name__ == "__main__":
    main()
