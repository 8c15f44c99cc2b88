//! LP solver benchmarks on the synthetic routing LPs (`optimize::lp::synthetic`, the structure of
//! `shared/bench/peer_lp.py`): `cargo bench --bench lp` times the default solver on 50 x 200 and
//! 200 x 500.
//!
//! With `SWITCHYARD_LP_COMPARE=DIR` set it does not run divan: for each instance it writes
//! `DIR/<K>x<E>.lp` (so that `benches/lp_scipy.py` solves the very same instance with scipy's
//! HiGHS), times `lp::solve` `SWITCHYARD_LP_REPEATS` times (default 3) with the default solver
//! (or `SWITCHYARD_LP_SOLVER=clarabel|microlp`), checks the answer, solves once more with raw
//! clarabel to check `clean_weights` and `polish` on interior-point dust, and prints one JSON line.
//! `SWITCHYARD_LP_SIZES=5x20,50x200` picks other instances. `benches/compare_lp.sh` runs both
//! sides and prints the table.

use std::io::Write as _;

use switchyard::optimize::lp::{self, LinearProgram, LpStatus, Solver};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The instances of the performance target: (classes, options, seed).
const INSTANCES: [(usize, usize, u64); 2] = [(50, 200, 12345), (200, 500, 12345)];
/// Weights below this are interior-point dust (see `lp::clean_weights`).
const CLEAN_THRESHOLD: f64 = 1e-6;
/// Absolute tolerance for the cleaned point against every row and bound.
const CHECK_TOL: f64 = 1e-9;

fn main() {
    match std::env::var_os("SWITCHYARD_LP_COMPARE") {
        Some(dir) => compare(std::path::Path::new(&dir)),
        None => divan::main(),
    }
}

#[divan::bench(args = ["50x200", "200x500"], sample_count = 3, sample_size = 1)]
fn solve_default(bencher: divan::Bencher, size: &str) {
    let lp = instance(size);
    bencher.bench(|| lp::solve(&lp, Solver::default()).unwrap());
}

fn instance(size: &str) -> LinearProgram {
    let (k, e, seed) = INSTANCES.iter().copied().find(|(k, e, _)| format!("{k}x{e}") == size).unwrap();
    lp::synthetic(k, e, seed)
}

/// Classes are the groups of weights that sum to 1: variables `k * E .. (k + 1) * E`.
fn class_groups(k: usize, e: usize) -> Vec<Vec<usize>> {
    (0..k).map(|c| (c * e..(c + 1) * e).collect()).collect()
}

fn compare(dir: &std::path::Path) {
    let repeats: usize = std::env::var("SWITCHYARD_LP_REPEATS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let solver = match std::env::var("SWITCHYARD_LP_SOLVER").as_deref() {
        Ok("clarabel") => Solver::Clarabel,
        Ok("microlp") => Solver::Microlp,
        _ => Solver::Auto,
    };
    std::fs::create_dir_all(dir).unwrap();
    let instances: Vec<(usize, usize, u64)> = match std::env::var("SWITCHYARD_LP_SIZES") {
        Ok(sizes) => sizes
            .split(',')
            .map(|s| {
                let (k, e) = s.split_once('x').expect("sizes like 50x200,200x500");
                (k.trim().parse().unwrap(), e.trim().parse().unwrap(), 12345)
            })
            .collect(),
        Err(_) => INSTANCES.to_vec(),
    };
    for (k, e, seed) in instances {
        let lp = lp::synthetic(k, e, seed);
        let path = dir.join(format!("{k}x{e}.lp"));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        lp::write_lp(&lp, &mut file).unwrap();
        file.flush().unwrap();
        let runs: Vec<lp::LpSolution> = (0..repeats).map(|_| lp::solve(&lp, solver).unwrap()).collect();
        let s = &runs[0];
        assert_eq!(s.status, LpStatus::Optimal);
        let mut seconds: Vec<f64> = runs.iter().map(|r| r.seconds).collect();
        seconds.sort_by(f64::total_cmp);
        let dust = |x: &[f64]| x.iter().filter(|&&w| w != 0.0 && w.abs() < CLEAN_THRESHOLD).count();
        let worst = |v: &[(usize, f64)]| v.iter().map(|p| p.1).fold(0.0, f64::max);
        // The raw interior point (Solver::Clarabel) and what cleaning and polishing make of it.
        let raw = lp::solve(&lp, Solver::Clarabel).unwrap();
        let cleaned = lp::clean_weights(&raw.x, &class_groups(k, e), CLEAN_THRESHOLD);
        let cleaned_violations = lp::violations(&lp, &cleaned, CHECK_TOL);
        let polished = lp::polish(&lp, &raw.x, CLEAN_THRESHOLD).unwrap();
        let polished_violations = polished.as_ref().map(|p| lp::violations(&lp, p, CHECK_TOL).len());
        println!(
            "{{\"instance\":\"{k}x{e}\",\"file\":\"{}\",\"vars\":{},\"rows\":{},\"nnz\":{},\"solver\":\"{}\",\
             \"seconds\":{seconds:?},\"seconds_median\":{},\"objective\":{},\"dust\":{},\"violations\":{},\
             \"raw_solver\":\"{}\",\"raw_seconds\":{},\"raw_objective\":{},\"raw_dust\":{},\
             \"raw_violations\":{},\"cleaned_objective\":{},\"cleaned_violations\":{},\
             \"cleaned_max_violation\":{:e},\"polished_objective\":{},\"polished_violations\":{},\
             \"threshold\":{CLEAN_THRESHOLD:e},\"tol\":{CHECK_TOL:e}}}",
            path.display(),
            lp.vars.len(),
            lp.rows.len(),
            lp.nnz(),
            s.solver,
            seconds[seconds.len() / 2],
            s.objective,
            dust(&s.x),
            lp::violations(&lp, &s.x, CHECK_TOL).len(),
            raw.solver,
            raw.seconds,
            raw.objective,
            dust(&raw.x),
            lp::violations(&lp, &raw.x, CHECK_TOL).len(),
            lp.objective_at(&cleaned),
            cleaned_violations.len(),
            worst(&cleaned_violations),
            polished.as_ref().map_or(f64::NAN, |p| lp.objective_at(p)),
            polished_violations.map_or(-1, |v| v as i64),
        );
    }
}
