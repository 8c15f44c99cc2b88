//! Linear programs as plain data, and the one door to the LP solvers.
//!
//! This module owns the solver layer: it is the only place in the crate that knows `good_lp` (and
//! the `clarabel` crate behind it). Model code builds a [`LinearProgram`] out of named variables
//! and rows, with [`LinExpr`] arithmetic so that each constraint reads like the math, then calls
//! [`solve`]. Everything a caller needs afterwards is plain data too: [`LpSolution`], the checks
//! [`violations`], [`clean_weights`] and [`polish`], and [`write_lp`] for handing the same model
//! to an independent solver (HiGHS, CBC, GLPK) in CPLEX LP format.
//!
//! Two pure-Rust backends sit behind [`Solver`]:
//!
//! * **clarabel**, an interior-point method: gives dual values, but returns tiny non-zero values
//!   (1e-10 and the like) where the exact optimum has zeros. Its cost is set by the rows that
//!   couple many variables, so wide programs (many more variables than rows, like routing
//!   weights) are solved by row and column generation on small restricted programs.
//! * **microlp**, a simplex method with branch and bound: exact vertices and integer variables, no
//!   dual values, fast on small programs, slow on large ones.
//!
//! The default, [`Solver::Auto`], uses microlp on small or integer programs; on large ones it runs
//! clarabel and then microlp on the support of clarabel's point ([`polish`]), which gives an exact
//! vertex (true zeros, every row met to rounding) with clarabel's duals. On the synthetic 200 x 500
//! routing LP that takes about half of scipy's HiGHS time (`benches/compare_lp.sh`).
//!
//! Why one file of about 1,200 lines: it is the whole of good_lp's footprint (the invariant that a
//! heavy dependency stays in one place), and its parts (the program, both backends, polishing,
//! the LP writer) share private types that splitting would have to make public.
//!
//! What this module deliberately does not do: know what the variables mean (routing weights,
//! classes, endpoints belong to the model code), explain infeasibility (it reports
//! [`LpStatus::Infeasible`]; saying *why* is the model's job), or read LP files.

use std::fmt::Write as _;
use std::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use good_lp::solvers::clarabel::ClarabelProblem;
use good_lp::{
    Expression, ProblemVariables, ResolutionError, Solution, SolutionWithDual, SolverModel, Variable, constraint,
    variable,
};

use crate::error::{Error, Place, Problems, Result};

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

/// Whether the objective is to be made as small or as large as possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sense {
    Minimize,
    Maximize,
}

/// The comparison in a row: `expr <= rhs`, `expr >= rhs` or `expr == rhs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Le,
    Ge,
    Eq,
}

/// One decision variable: bounds `lo <= x <= hi` (either may be infinite), its objective
/// coefficient, and whether it must take an integer value.
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    pub name: String,
    pub lo: f64,
    pub hi: f64,
    pub obj: f64,
    pub integer: bool,
}

/// One constraint `sum(coef * x[var]) cmp rhs`. Rows built with [`LinearProgram::add_row`] have
/// their coefficients sorted by variable index, one entry per variable, no zeros.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    pub coefs: Vec<(usize, f64)>,
    pub cmp: Cmp,
    pub rhs: f64,
}

impl Row {
    /// The row's left-hand side at `x` (a missing `x` entry counts as NaN).
    pub fn activity(&self, x: &[f64]) -> f64 {
        self.coefs.iter().map(|&(j, c)| c * x.get(j).copied().unwrap_or(f64::NAN)).sum()
    }
}

/// A linear (or mixed-integer) program: `sense  sum(obj_j x_j)  subject to rows and bounds`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearProgram {
    pub name: String,
    pub sense: Sense,
    pub vars: Vec<Var>,
    pub rows: Vec<Row>,
}

impl LinearProgram {
    pub fn new(name: impl Into<String>, sense: Sense) -> Self {
        LinearProgram { name: name.into(), sense, vars: Vec::new(), rows: Vec::new() }
    }

    /// Add a continuous variable `lo <= x <= hi` (`hi` may be `f64::INFINITY`, `lo` may be
    /// `f64::NEG_INFINITY`) with objective coefficient `obj`; returns its index.
    pub fn add_var(&mut self, name: impl Into<String>, lo: f64, hi: f64, obj: f64) -> usize {
        self.vars.push(Var { name: name.into(), lo, hi, obj, integer: false });
        self.vars.len() - 1
    }

    /// Add an integer variable; otherwise like [`LinearProgram::add_var`].
    pub fn add_int_var(&mut self, name: impl Into<String>, lo: f64, hi: f64, obj: f64) -> usize {
        self.vars.push(Var { name: name.into(), lo, hi, obj, integer: true });
        self.vars.len() - 1
    }

    /// Add the row `expr cmp rhs`; returns its index. Terms on the same variable are summed and
    /// terms whose coefficient sums to zero are dropped.
    pub fn add_row(&mut self, name: impl Into<String>, expr: LinExpr, cmp: Cmp, rhs: f64) -> usize {
        self.rows.push(Row { name: name.into(), coefs: expr.merged().terms, cmp, rhs });
        self.rows.len() - 1
    }

    /// The objective `sum(obj_j x_j)` at `x`.
    pub fn objective_at(&self, x: &[f64]) -> f64 {
        self.vars.iter().zip(x).map(|(v, &xj)| v.obj * xj).sum()
    }

    /// Number of constraint-matrix non-zeros.
    pub fn nnz(&self) -> usize {
        self.rows.iter().map(|r| r.coefs.len()).sum()
    }

    fn has_integers(&self) -> bool {
        self.vars.iter().any(|v| v.integer)
    }
}

// ---------------------------------------------------------------------------------------------
// Linear expressions
// ---------------------------------------------------------------------------------------------

/// A sparse linear expression over variable indices, so that model code reads like the math:
///
/// ```
/// use switchyard::optimize::lp::{Cmp, LinExpr, LinearProgram, Sense};
///
/// let mut lp = LinearProgram::new("two options", Sense::Minimize);
/// let cheap = lp.add_var("w[cheap]", 0.0, 1.0, 1.0);
/// let good = lp.add_var("w[good]", 0.0, 1.0, 3.0);
/// let served = LinExpr::sum([(cheap, 1.0), (good, 1.0)]);
/// let quality = LinExpr::sum([(cheap, 0.6), (good, 0.9)]);
/// lp.add_row("share", served.clone(), Cmp::Eq, 1.0);
/// lp.add_row("quality", quality - 0.8 * served, Cmp::Ge, 0.0);
/// assert_eq!(lp.rows[1].coefs.len(), 2);
/// ```
///
/// Duplicate indices are allowed while building; [`LinearProgram::add_row`] merges them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinExpr {
    pub terms: Vec<(usize, f64)>,
}

impl LinExpr {
    pub fn new() -> Self {
        LinExpr::default()
    }

    /// `1.0 * x[index]`.
    pub fn var(index: usize) -> Self {
        LinExpr { terms: vec![(index, 1.0)] }
    }

    /// `coef * x[index]`.
    pub fn term(index: usize, coef: f64) -> Self {
        LinExpr { terms: vec![(index, coef)] }
    }

    /// The sum of `(index, coef)` terms.
    pub fn sum(terms: impl IntoIterator<Item = (usize, f64)>) -> Self {
        LinExpr { terms: terms.into_iter().collect() }
    }

    /// Add `coef * x[index]` in place.
    pub fn add_term(&mut self, index: usize, coef: f64) {
        self.terms.push((index, coef));
    }

    /// The value at `x` (a missing `x` entry counts as NaN).
    pub fn eval(&self, x: &[f64]) -> f64 {
        self.terms.iter().map(|&(j, c)| c * x.get(j).copied().unwrap_or(f64::NAN)).sum()
    }

    /// The same expression with terms sorted by index, one per index, exact zeros dropped.
    pub fn merged(mut self) -> Self {
        self.terms.sort_by_key(|&(j, _)| j);
        let mut out: Vec<(usize, f64)> = Vec::with_capacity(self.terms.len());
        for (j, c) in self.terms {
            match out.last_mut() {
                Some((last, acc)) if *last == j => *acc += c,
                _ => out.push((j, c)),
            }
        }
        out.retain(|&(_, c)| c != 0.0);
        LinExpr { terms: out }
    }
}

impl Add for LinExpr {
    type Output = LinExpr;
    fn add(mut self, rhs: LinExpr) -> LinExpr {
        self += rhs;
        self
    }
}

impl Sub for LinExpr {
    type Output = LinExpr;
    fn sub(mut self, rhs: LinExpr) -> LinExpr {
        self -= rhs;
        self
    }
}

impl AddAssign for LinExpr {
    fn add_assign(&mut self, rhs: LinExpr) {
        self.terms.extend(rhs.terms);
    }
}

impl SubAssign for LinExpr {
    fn sub_assign(&mut self, rhs: LinExpr) {
        self.terms.extend(rhs.terms.into_iter().map(|(j, c)| (j, -c)));
    }
}

impl Neg for LinExpr {
    type Output = LinExpr;
    fn neg(self) -> LinExpr {
        self * -1.0
    }
}

impl Mul<f64> for LinExpr {
    type Output = LinExpr;
    fn mul(mut self, factor: f64) -> LinExpr {
        for (_, c) in &mut self.terms {
            *c *= factor;
        }
        self
    }
}

impl Mul<LinExpr> for f64 {
    type Output = LinExpr;
    fn mul(self, expr: LinExpr) -> LinExpr {
        expr * self
    }
}

impl FromIterator<(usize, f64)> for LinExpr {
    fn from_iter<I: IntoIterator<Item = (usize, f64)>>(iter: I) -> Self {
        LinExpr::sum(iter)
    }
}

impl Extend<(usize, f64)> for LinExpr {
    fn extend<I: IntoIterator<Item = (usize, f64)>>(&mut self, iter: I) {
        self.terms.extend(iter);
    }
}

impl std::iter::Sum for LinExpr {
    fn sum<I: Iterator<Item = LinExpr>>(iter: I) -> Self {
        let mut out = LinExpr::new();
        for e in iter {
            out += e;
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Solving
// ---------------------------------------------------------------------------------------------

/// Which backend [`solve`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Solver {
    /// Interior point (clarabel): continuous variables only; gives dual values; the point carries
    /// interior-point dust (tiny non-zeros, see [`clean_weights`] and [`polish`]). Wide programs
    /// (many more variables than rows) are solved by row and column generation on clarabel.
    Clarabel,
    /// Simplex and branch and bound (microlp): exact vertices, integer variables, no duals.
    Microlp,
    /// microlp when the program has integer variables or at most [`AUTO_MICROLP_MAX_NNZ`]
    /// constraint non-zeros; otherwise clarabel, then [`polish`] (microlp on the support of
    /// clarabel's point), so the answer is an exact vertex with clarabel's duals.
    #[default]
    Auto,
}

/// Up to this many constraint non-zeros (and with no integer variables) [`Solver::Auto`] picks
/// microlp. Measured on the synthetic routing LPs in release (`SWITCHYARD_LP_SIZES` in
/// `benches/lp.rs`): microlp took 3 ms at 4k non-zeros, 23 ms at 16k and 89 ms at 40k against
/// 9, 35 and 92 ms for clarabel plus polish; at 80k microlp took 270 ms against 182 ms.
pub const AUTO_MICROLP_MAX_NNZ: usize = 50_000;

/// How a solve ended. Infeasible and unbounded programs are outcomes, not errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LpStatus {
    Optimal,
    Infeasible,
    Unbounded,
}

/// The result of [`solve`].
#[derive(Debug, Clone, PartialEq)]
pub struct LpSolution {
    pub status: LpStatus,
    /// One value per variable when `status` is `Optimal`; empty otherwise.
    pub x: Vec<f64>,
    /// `sum(obj_j x_j)` at `x` when optimal; `NaN` when infeasible; `-inf` (minimize) or `+inf`
    /// (maximize) when unbounded.
    pub objective: f64,
    /// One dual value (shadow price) per row, `d objective / d rhs`: how much the optimal
    /// objective changes, in the program's own sense, per unit increase of the row's right-hand
    /// side. So when minimizing, a binding `>=` row has a dual >= 0 and a binding `<=` row a dual
    /// <= 0 (signs flip when maximizing); a slack row has dual 0. `Some` whenever clarabel did the
    /// solving (also under [`Solver::Auto`]'s polish); microlp exposes no duals, so they are
    /// `None` there, never made up.
    pub duals: Option<Vec<f64>>,
    /// What produced the solution: `"microlp"`, `"clarabel"`, `"clarabel+sifting"` (row and
    /// column generation), either of those with `+microlp` when polished, or `"trivial"` for a
    /// program without variables.
    pub solver: &'static str,
    /// Wall-clock seconds for the whole call, including translation to the backend.
    pub seconds: f64,
}

/// Solve `lp` with the chosen backend.
///
/// Never panics. Infeasible and unbounded programs come back as an [`LpStatus`]. Errors:
/// [`Error::Invalid`] when the program itself is malformed (NaN coefficient, variable index out
/// of range; `lo > hi` is *not* an error but infeasible), [`Error::Solve`] when the backend gives
/// up (iteration limit, numerical trouble) or cannot take the program (integer variables with
/// [`Solver::Clarabel`]).
pub fn solve(lp: &LinearProgram, solver: Solver) -> Result<LpSolution> {
    let start = Instant::now();
    validate(lp)?;
    let plan = match solver {
        Solver::Clarabel if lp.has_integers() => {
            return Err(solve_error(
                lp,
                "clarabel",
                "clarabel is an interior-point method and cannot handle integer variables; use Solver::Microlp \
                 or Solver::Auto",
            ));
        }
        Solver::Clarabel => Plan::Interior,
        Solver::Microlp => Plan::Simplex,
        Solver::Auto if lp.has_integers() || lp.nnz() <= AUTO_MICROLP_MAX_NNZ => Plan::Simplex,
        Solver::Auto => Plan::InteriorPolished,
    };
    let (outcome, name) = if lp.vars.is_empty() {
        (solve_without_variables(lp), "trivial")
    } else if lp.vars.iter().any(|v| v.lo > v.hi) {
        (Outcome::Infeasible, plan.name())
    } else {
        // good_lp and the backends are not ours: a panic in them must not take the process down.
        let run = |plan: Plan| {
            catch_unwind(AssertUnwindSafe(|| match plan {
                Plan::Simplex => run_microlp(lp).map(|o| (o, "microlp")),
                Plan::Interior => run_interior(lp),
                Plan::InteriorPolished => run_interior(lp).and_then(|(o, name)| polish_outcome(lp, o, name)),
            }))
            .unwrap_or_else(|panic| Err(panic_message(panic.as_ref())))
        };
        match run(plan) {
            Ok(done) => done,
            // microlp can stop on numerical trouble ("singular matrix") on a program the interior
            // point solves; with `Auto` and no integers, that is the fallback.
            Err(_) if solver == Solver::Auto && plan == Plan::Simplex && !lp.has_integers() => {
                run(Plan::InteriorPolished)
                    .map_err(|message| solve_error(lp, Plan::InteriorPolished.name(), &message))?
            }
            Err(message) => return Err(solve_error(lp, plan.name(), &message)),
        }
    };
    let (status, x, objective, duals) = match outcome {
        Outcome::Optimal { x, duals } => {
            let objective = lp.objective_at(&x);
            (LpStatus::Optimal, x, objective, duals)
        }
        Outcome::Infeasible => (LpStatus::Infeasible, Vec::new(), f64::NAN, None),
        Outcome::Unbounded => {
            let objective = match lp.sense {
                Sense::Minimize => f64::NEG_INFINITY,
                Sense::Maximize => f64::INFINITY,
            };
            (LpStatus::Unbounded, Vec::new(), objective, None)
        }
    };
    Ok(LpSolution { status, x, objective, duals, solver: name, seconds: start.elapsed().as_secs_f64() })
}

/// Re-solve `lp` exactly (microlp) on the support of `x`: every variable with `|x_j| < threshold`
/// that may be 0 is fixed at 0, the rest are free within their bounds. `Some(vertex)` when that
/// restricted program has an optimum, `None` when it is infeasible or unbounded (the support
/// missed something: keep `x`).
///
/// This is the exact cure for interior-point dust: the vertex has true zeros and meets every row
/// to rounding. It is optimal for `lp` whenever `x` was (the support of an optimal interior point
/// contains an optimal vertex's); the caller can compare objectives and run [`violations`].
/// [`Solver::Auto`] does this itself, with `threshold` = 1e-6 x the largest `|x_j|`.
pub fn polish(lp: &LinearProgram, x: &[f64], threshold: f64) -> Result<Option<Vec<f64>>> {
    validate(lp)?;
    catch_unwind(AssertUnwindSafe(|| polish_support(lp, x, threshold)))
        .unwrap_or_else(|panic| Err(panic_message(panic.as_ref())))
        .map_err(|message| solve_error(lp, "microlp", &message))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// microlp on the whole program.
    Simplex,
    /// clarabel, by row and column generation when the program is wide.
    Interior,
    /// `Interior`, then microlp on the support of its point.
    InteriorPolished,
}

impl Plan {
    fn name(self) -> &'static str {
        match self {
            Plan::Simplex => "microlp",
            Plan::Interior | Plan::InteriorPolished => "clarabel",
        }
    }
}

enum Outcome {
    Optimal { x: Vec<f64>, duals: Option<Vec<f64>> },
    Infeasible,
    Unbounded,
}

type Attempt<T> = std::result::Result<T, String>;

fn solve_error(lp: &LinearProgram, solver: &'static str, message: &str) -> Error {
    Error::Solve { lp: lp.name.clone(), solver, message: message.to_string() }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    format!("the solver panicked: {text}")
}

/// Every number finite where it must be, every index in range; all problems at once.
fn validate(lp: &LinearProgram) -> Result<()> {
    let mut problems = Problems::default();
    let place = |what: String| Place::default().field(format!("LP `{}`, {what}", lp.name));
    for (j, v) in lp.vars.iter().enumerate() {
        let at = || place(format!("variable {j} `{}`", v.name));
        if !v.obj.is_finite() {
            problems.push(at(), format!("objective coefficient is {}", v.obj), "give every variable a finite cost");
        }
        if v.lo.is_nan() || v.hi.is_nan() || v.lo == f64::INFINITY || v.hi == f64::NEG_INFINITY {
            problems.push(
                at(),
                format!("bounds [{}, {}] are not usable", v.lo, v.hi),
                "use a finite bound or -inf for `lo` and +inf for `hi`",
            );
        }
    }
    for (i, row) in lp.rows.iter().enumerate() {
        let at = || place(format!("row {i} `{}`", row.name));
        if !row.rhs.is_finite() {
            problems.push(at(), format!("right-hand side is {}", row.rhs), "give every row a finite right-hand side");
        }
        for &(j, c) in &row.coefs {
            if j >= lp.vars.len() {
                problems.push(
                    at(),
                    format!("refers to variable {j}, but the LP has {} variables", lp.vars.len()),
                    "build rows from indices returned by `add_var`",
                );
            } else if !c.is_finite() {
                problems.push(
                    at(),
                    format!("coefficient of variable {j} `{}` is {c}", lp.vars[j].name),
                    "give every coefficient a finite value",
                );
            }
        }
    }
    problems.finish()
}

/// With no variables every row is a constant comparison `0 cmp rhs`.
fn solve_without_variables(lp: &LinearProgram) -> Outcome {
    let feasible = lp.rows.iter().all(|r| row_violation(r.cmp, 0.0, r.rhs) <= 0.0);
    if feasible { Outcome::Optimal { x: Vec::new(), duals: None } } else { Outcome::Infeasible }
}

/// `+1` when minimizing, `-1` when maximizing: `sense_sign * objective` is to be minimized.
fn sense_sign(lp: &LinearProgram) -> f64 {
    match lp.sense {
        Sense::Minimize => 1.0,
        Sense::Maximize => -1.0,
    }
}

/// The program with `keep`'s variables only (the others fixed at 0, so they drop out of the
/// rows), renumbered, and the original index of each kept variable.
fn restrict_columns(
    lp: &LinearProgram,
    keep: &[bool],
    rows: impl Iterator<Item = usize>,
) -> (LinearProgram, Vec<usize>) {
    let cols: Vec<usize> = (0..lp.vars.len()).filter(|&j| keep[j]).collect();
    let mut local = vec![usize::MAX; lp.vars.len()];
    for (l, &j) in cols.iter().enumerate() {
        local[j] = l;
    }
    let mut sub = LinearProgram::new(lp.name.clone(), lp.sense);
    sub.vars = cols.iter().map(|&j| lp.vars[j].clone()).collect();
    sub.rows = rows
        .map(|i| {
            let r = &lp.rows[i];
            let coefs = r.coefs.iter().filter(|(j, _)| keep[*j]).map(|&(j, a)| (local[j], a)).collect();
            Row { name: r.name.clone(), coefs, cmp: r.cmp, rhs: r.rhs }
        })
        .collect();
    (sub, cols)
}

fn expand(n: usize, cols: &[usize], x: &[f64]) -> Vec<f64> {
    let mut full = vec![0.0; n];
    for (&j, &v) in cols.iter().zip(x) {
        full[j] = v;
    }
    full
}

// --- good_lp -------------------------------------------------------------------------------------

/// The good_lp variables and objective for `lp`, the objective divided by `objective_scale` and
/// the upper bounds taken from `upper`.
fn good_lp_problem(
    lp: &LinearProgram,
    objective_scale: f64,
    upper: &[f64],
) -> (good_lp::variable::UnsolvedProblem, Vec<Variable>) {
    let mut problem_vars = ProblemVariables::new();
    let mut objective = Expression::with_capacity(lp.vars.len());
    let vars: Vec<Variable> = lp
        .vars
        .iter()
        .zip(upper)
        .map(|(v, &hi)| {
            let mut definition = variable().min(v.lo).max(hi);
            if v.integer {
                definition = definition.integer();
            }
            let var = problem_vars.add(definition);
            if v.obj != 0.0 {
                objective.add_mul(v.obj / objective_scale, var);
            }
            var
        })
        .collect();
    let unsolved = match lp.sense {
        Sense::Minimize => problem_vars.minimise(objective),
        Sense::Maximize => problem_vars.maximise(objective),
    };
    (unsolved, vars)
}

fn good_lp_constraint(row: &Row, vars: &[Variable]) -> good_lp::Constraint {
    let mut expr = Expression::with_capacity(row.coefs.len());
    for &(j, c) in &row.coefs {
        expr.add_mul(c, vars[j]);
    }
    match row.cmp {
        Cmp::Le => constraint::leq(expr, row.rhs),
        Cmp::Ge => constraint::geq(expr, row.rhs),
        Cmp::Eq => constraint::eq(expr, row.rhs),
    }
}

fn run_microlp(lp: &LinearProgram) -> Attempt<Outcome> {
    let upper: Vec<f64> = lp.vars.iter().map(|v| v.hi).collect();
    let (unsolved, vars) = good_lp_problem(lp, 1.0, &upper);
    let mut model = unsolved.using(good_lp::microlp);
    for row in &lp.rows {
        model.add_constraint(good_lp_constraint(row, &vars));
    }
    match model.solve() {
        Ok(solution) => match solution.status() {
            good_lp::SolutionStatus::Optimal => {
                Ok(Outcome::Optimal { x: vars.iter().map(|&v| solution.value(v)).collect(), duals: None })
            }
            other => Err(format!("stopped before proving optimality ({other:?})")),
        },
        Err(ResolutionError::Infeasible) => Ok(Outcome::Infeasible),
        Err(ResolutionError::Unbounded) => Ok(Outcome::Unbounded),
        Err(e) => Err(e.to_string()),
    }
}

/// clarabel settings, measured on the synthetic routing LPs (`benches/lp.rs`, 200 x 500, in
/// release): iterative refinement off took the whole solve from 8.0 s to 4.9 s with the same
/// iterations and objective; faer's supernodal LDL (clarabel's `faer-sparse` feature) was no
/// faster than the built-in qdldl, so it stays out of the build. Equilibration, presolve and
/// tolerances at clarabel's defaults, except good_lp's tighter `tol_feas`.
fn configure_clarabel(model: &mut ClarabelProblem) {
    model
        .settings()
        .verbose(false)
        .tol_feas(1e-9)
        .iterative_refinement_enable(false)
        .direct_solve_method("qdldl".into());
}

/// clarabel on the whole program. Two reformulations, both measured (200 x 500: 62 iterations and
/// 11 s before, 36 and 5 s after): the objective is divided by its largest coefficient (the
/// routing costs span seven orders of magnitude), and an upper bound implied by a row (`w <= 1`
/// next to `sum(w) = 1`, `w >= 0`) is left out, because clarabel turns every bound into a
/// constraint row.
fn run_clarabel(lp: &LinearProgram) -> Attempt<Outcome> {
    let largest = lp.vars.iter().map(|v| v.obj.abs()).fold(0.0, f64::max);
    run_clarabel_scaled(lp, if largest > 0.0 { largest } else { 1.0 })
}

fn run_clarabel_scaled(lp: &LinearProgram, objective_scale: f64) -> Attempt<Outcome> {
    use clarabel::solver::SolverStatus;

    let implied = implied_upper_bounds(lp);
    let upper: Vec<f64> =
        lp.vars.iter().zip(&implied).map(|(v, &u)| if u <= v.hi { f64::INFINITY } else { v.hi }).collect();
    let (unsolved, vars) = good_lp_problem(lp, objective_scale, &upper);
    let mut model = unsolved.using(good_lp::clarabel);
    configure_clarabel(&mut model);
    // good_lp merges consecutive rows of the same kind into one clarabel cone: adding every
    // equality first keeps the cone count at three (bounds, equalities, inequalities) instead of
    // one cone per alternation.
    let mut refs = vec![None; lp.rows.len()];
    for pass_equalities in [true, false] {
        for (i, row) in lp.rows.iter().enumerate() {
            if (row.cmp == Cmp::Eq) == pass_equalities {
                refs[i] = Some(model.add_constraint(good_lp_constraint(row, &vars)));
            }
        }
    }
    let mut solution = match model.solve() {
        Ok(solution) => solution,
        Err(ResolutionError::Infeasible) => return Ok(Outcome::Infeasible),
        Err(ResolutionError::Unbounded) => return Ok(Outcome::Unbounded),
        Err(e) => return Err(e.to_string()),
    };
    // good_lp hands back a "solution" for a dual-infeasible program; its x is a certificate of
    // unboundedness (a ray), not a point.
    if matches!(solution.inner().status, SolverStatus::DualInfeasible | SolverStatus::AlmostDualInfeasible) {
        return Ok(Outcome::Unbounded);
    }
    let x: Vec<f64> = vars.iter().map(|&v| solution.value(v)).collect();
    let dual_values = solution.compute_dual();
    let duals = refs
        .into_iter()
        .map(|r| r.map_or(f64::NAN, |r| objective_scale * good_lp::solvers::DualValues::dual(&dual_values, r)))
        .collect();
    Ok(Outcome::Optimal { x, duals: Some(duals) })
}

/// Upper bounds implied by rows `sum(a_j x_j) <= b` or `= b` with every `a_j > 0` and every
/// `x_j >= 0` in the row: `x_j <= b / a_j`. Infinity where no row implies one.
fn implied_upper_bounds(lp: &LinearProgram) -> Vec<f64> {
    let mut implied = vec![f64::INFINITY; lp.vars.len()];
    for row in &lp.rows {
        if row.cmp == Cmp::Ge || row.rhs < 0.0 {
            continue;
        }
        if row.coefs.iter().all(|&(j, a)| a > 0.0 && lp.vars[j].lo >= 0.0) {
            for &(j, a) in &row.coefs {
                implied[j] = implied[j].min(row.rhs / a);
            }
        }
    }
    implied
}

// --- wide programs: row and column generation ----------------------------------------------------

/// A program is wide, and solved by sifting, with at least this many variables...
const SIFTING_MIN_VARS: usize = 5_000;
/// ...and at least this many variables per row.
const SIFTING_MIN_VARS_PER_ROW: usize = 8;
/// Initial columns: per starting row, this many cheapest per unit of coefficient and this many
/// largest coefficients.
const SIFTING_SEED_PER_ROW: usize = 5;
/// At most this many columns (times the row count) join per round, the most attractive first.
/// Measured on 200 x 500: 0.5 took 0.8-1.0 s, 2 took 1.2-1.4 s, 0.1 took 1.3 s (more rounds).
const SIFTING_COLUMNS_PER_ROW_PER_ROUND: f64 = 0.5;
/// Cost of the artificial variables that keep every restricted program feasible, times the
/// largest objective coefficient.
const SIFTING_ARTIFICIAL_COST: f64 = 1e3;
/// A column joins when its reduced cost is below -this x the largest objective coefficient.
const SIFTING_REDUCED_COST_TOL: f64 = 1e-9;
/// A row joins when the point violates it by more than this x (1 + |rhs|).
const SIFTING_ROW_TOL: f64 = 1e-9;
const SIFTING_MAX_ROUNDS: usize = 60;

/// clarabel on the whole program, or by sifting when it is wide; the name says which.
fn run_interior(lp: &LinearProgram) -> Attempt<(Outcome, &'static str)> {
    let n = lp.vars.len();
    if n >= SIFTING_MIN_VARS && n >= SIFTING_MIN_VARS_PER_ROW * lp.rows.len() {
        // Sifting gives up, rather than guess, on anything unusual (infeasible or unbounded
        // programs, artificials left at the end, no convergence): the whole program decides then.
        if let Ok(outcome) = run_sifting(lp) {
            return Ok((outcome, "clarabel+sifting"));
        }
    }
    run_clarabel(lp).map(|o| (o, "clarabel"))
}

/// Row and column generation ("sifting") for wide programs, where clarabel's cost is set by the
/// rows coupling many columns (200 x 500: a dense 600 x 500 block in every factorization).
///
/// Solve a restricted program, with a working set of columns (the others fixed at 0) and of rows
/// (the others dropped), then add the rows its point violates and the columns its duals price as
/// attractive, and repeat until there are neither: the point then meets every row and the duals
/// (0 on rows never added) price every column, so both are optimal for the whole program. One
/// artificial variable per working row, at a high cost, keeps each restricted program feasible;
/// they must be back at 0 at the end.
///
/// Rows start as the equalities and the inequalities violated with every optional column at 0;
/// columns start as the cheapest per unit and the largest coefficients of each starting row.
fn run_sifting(lp: &LinearProgram) -> Attempt<Outcome> {
    let (n, m) = (lp.vars.len(), lp.rows.len());
    let sigma = sense_sign(lp);
    let largest = lp.vars.iter().map(|v| v.obj.abs()).fold(0.0, f64::max);
    let cost_scale = if largest > 0.0 { largest } else { 1.0 };
    let max_new_columns = ((SIFTING_COLUMNS_PER_ROW_PER_ROUND * m as f64) as usize).max(1);

    // Only a continuous column with lower bound 0 can wait outside, at that bound (pricing looks
    // in the increasing direction only).
    let optional: Vec<bool> = lp.vars.iter().map(|v| v.lo == 0.0 && !v.integer).collect();
    let mut col_in: Vec<bool> = optional.iter().map(|&o| !o).collect();
    let at_zero: Vec<f64> = lp.vars.iter().map(|v| 0.0_f64.clamp(v.lo, v.hi)).collect();
    let mut row_in: Vec<bool> =
        lp.rows.iter().map(|r| r.cmp == Cmp::Eq || row_violation(r.cmp, r.activity(&at_zero), r.rhs) > 0.0).collect();
    for row in lp.rows.iter().zip(&row_in).filter(|(_, inside)| **inside).map(|(r, _)| r) {
        let terms = row.coefs.iter().filter(|(_, a)| *a != 0.0);
        let per_unit = terms.clone().map(|&(j, a)| (sigma * lp.vars[j].obj / a.abs(), j));
        let by_size = terms.map(|&(j, a)| (-a.abs(), j));
        for ranked in [per_unit.collect::<Vec<_>>(), by_size.collect()] {
            for j in smallest(ranked, SIFTING_SEED_PER_ROW) {
                col_in[j] = true;
            }
        }
    }

    for _ in 0..SIFTING_MAX_ROUNDS {
        let rows: Vec<usize> = (0..m).filter(|&i| row_in[i]).collect();
        let (mut sub, cols) = restrict_columns(lp, &col_in, rows.iter().copied());
        let n_real = sub.vars.len();
        for row in &mut sub.rows {
            // Points from the all-zero corner towards the row.
            let direction = match row.cmp {
                Cmp::Ge => 1.0,
                Cmp::Le => -1.0,
                Cmp::Eq if row.rhs >= 0.0 => 1.0,
                Cmp::Eq => -1.0,
            };
            sub.vars.push(Var {
                name: format!("artificial[{}]", row.name),
                lo: 0.0,
                hi: f64::INFINITY,
                obj: sigma * SIFTING_ARTIFICIAL_COST * cost_scale,
                integer: false,
            });
            row.coefs.push((sub.vars.len() - 1, direction));
        }
        let (x_sub, y_sub) = match run_clarabel_scaled(&sub, cost_scale)? {
            Outcome::Optimal { x, duals: Some(y) } => (x, y),
            _ => return Err("a restricted program had no optimum".to_string()),
        };
        let x = expand(n, &cols, &x_sub[..n_real]);
        let mut y = vec![0.0; m];
        for (&i, &yi) in rows.iter().zip(&y_sub) {
            y[i] = yi;
        }

        let mut new_rows = 0;
        for (i, r) in lp.rows.iter().enumerate() {
            if !row_in[i] && row_violation(r.cmp, r.activity(&x), r.rhs) > SIFTING_ROW_TOL * (1.0 + r.rhs.abs()) {
                row_in[i] = true;
                new_rows += 1;
            }
        }
        let mut priced = vec![0.0; n];
        for (row, &yi) in lp.rows.iter().zip(&y).filter(|(_, yi)| **yi != 0.0) {
            for &(j, a) in &row.coefs {
                priced[j] += a * yi;
            }
        }
        let attractive: Vec<(f64, usize)> = (0..n)
            .filter(|&j| !col_in[j])
            .map(|j| (sigma * (lp.vars[j].obj - priced[j]), j))
            .filter(|&(reduced_cost, _)| reduced_cost < -SIFTING_REDUCED_COST_TOL * cost_scale)
            .collect();
        if attractive.is_empty() && new_rows == 0 {
            let artificial: f64 = x_sub[n_real..].iter().map(|a| a.abs()).sum();
            return if artificial <= 1e-7 {
                Ok(Outcome::Optimal { x, duals: Some(y) })
            } else {
                Err(format!("artificial variables still at {artificial:e}: infeasible, or too cheap"))
            };
        }
        for j in smallest(attractive, max_new_columns) {
            col_in[j] = true;
        }
    }
    Err(format!("no convergence in {SIFTING_MAX_ROUNDS} rounds"))
}

/// The indices of the `k` smallest keys.
fn smallest(mut ranked: Vec<(f64, usize)>, k: usize) -> Vec<usize> {
    if k == 0 {
        return Vec::new();
    }
    if ranked.len() > k {
        ranked.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
        ranked.truncate(k);
    }
    ranked.into_iter().map(|(_, j)| j).collect()
}

// --- polishing ---------------------------------------------------------------------------------

/// Weights below this fraction of the largest |x| count as interior-point dust when polishing.
const POLISH_THRESHOLD: f64 = 1e-6;

/// Replace an interior point by microlp's exact vertex on its support when that vertex meets
/// every row and is no worse; otherwise keep the interior point. Duals stay clarabel's.
fn polish_outcome(lp: &LinearProgram, outcome: Outcome, name: &'static str) -> Attempt<(Outcome, &'static str)> {
    let Outcome::Optimal { x, duals } = outcome else {
        return Ok((outcome, name));
    };
    let largest = x.iter().fold(0.0_f64, |acc, v| acc.max(v.abs()));
    let Some(vertex) = polish_support(lp, &x, POLISH_THRESHOLD * largest)? else {
        return Ok((Outcome::Optimal { x, duals }, name));
    };
    let (before, after) = (lp.objective_at(&x), lp.objective_at(&vertex));
    let no_worse = sense_sign(lp) * (after - before) <= 1e-7 * (1.0 + before.abs());
    let scale = lp.rows.iter().map(|r| r.rhs.abs()).fold(1.0, f64::max);
    if no_worse && violations(lp, &vertex, 1e-9 * scale).is_empty() {
        let name = if name == "clarabel+sifting" { "clarabel+sifting+microlp" } else { "clarabel+microlp" };
        Ok((Outcome::Optimal { x: vertex, duals }, name))
    } else {
        Ok((Outcome::Optimal { x, duals }, name))
    }
}

fn polish_support(lp: &LinearProgram, x: &[f64], threshold: f64) -> Attempt<Option<Vec<f64>>> {
    let keep: Vec<bool> = lp
        .vars
        .iter()
        .enumerate()
        .map(|(j, v)| x.get(j).is_none_or(|xj| xj.abs() >= threshold) || v.lo > 0.0 || v.hi < 0.0 || v.integer)
        .collect();
    let (mut sub, cols) = restrict_columns(lp, &keep, 0..lp.rows.len());
    // A row left without columns holds at 0, or the support cannot satisfy it.
    if sub.rows.iter().any(|r| r.coefs.is_empty() && row_violation(r.cmp, 0.0, r.rhs) > 0.0) {
        return Ok(None);
    }
    sub.rows.retain(|r| !r.coefs.is_empty());
    Ok(match run_microlp(&sub)? {
        Outcome::Optimal { x: vertex, .. } => Some(expand(lp.vars.len(), &cols, &vertex)),
        Outcome::Infeasible | Outcome::Unbounded => None,
    })
}

// ---------------------------------------------------------------------------------------------
// Checking and cleaning points
// ---------------------------------------------------------------------------------------------

/// Interior-point cleanup for groups of weights that must sum to 1 (give each group as a list of
/// variable indices): within each group, zero every value below `threshold` (tiny negatives
/// included), then divide the survivors by their sum. Values outside every group are copied
/// unchanged. A group in which nothing reaches `threshold` is left as it was.
///
/// Moving mass from the zeroed entries to the survivors pushes rows that were tight (a quality
/// floor, a tail-probability floor) past their bounds: the caller must re-check the result with
/// [`violations`]. On the synthetic 200 x 500 routing LP, cleaning clarabel's point at 1e-6 left
/// 92 rows violated by up to 1.5e-5 (absolute), and a lower threshold cannot help because the
/// rows are tight at the optimum. [`polish`] is the fix that keeps every row: it re-solves
/// exactly on the support, and [`Solver::Auto`] does it by itself.
pub fn clean_weights(x: &[f64], groups: &[Vec<usize>], threshold: f64) -> Vec<f64> {
    let mut out = x.to_vec();
    for group in groups {
        let kept: f64 = group.iter().filter_map(|&j| x.get(j)).filter(|&&v| v >= threshold).sum();
        if kept <= 0.0 || !kept.is_finite() {
            continue;
        }
        for &j in group {
            if let Some(v) = out.get_mut(j) {
                *v = if *v >= threshold { *v / kept } else { 0.0 };
            }
        }
    }
    out
}

/// Check `x` against every row and every variable's bounds (and integrality); return what is
/// violated by more than `tol` (absolute), with the amount, in index order.
///
/// Indices `0..rows.len()` are rows; index `rows.len() + j` is variable `j` (its bound, or for an
/// integer variable its distance to the nearest integer, whichever is larger). A missing or
/// non-finite entry of `x` makes every row that uses it, and its variable, violated by infinity.
pub fn violations(lp: &LinearProgram, x: &[f64], tol: f64) -> Vec<(usize, f64)> {
    let mut out = Vec::new();
    for (i, row) in lp.rows.iter().enumerate() {
        let activity = row.activity(x);
        let amount = if activity.is_finite() { row_violation(row.cmp, activity, row.rhs) } else { f64::INFINITY };
        if amount > tol {
            out.push((i, amount));
        }
    }
    for (j, v) in lp.vars.iter().enumerate() {
        let value = x.get(j).copied().unwrap_or(f64::NAN);
        let amount = if !value.is_finite() {
            f64::INFINITY
        } else {
            let bound = (v.lo - value).max(value - v.hi).max(0.0);
            let integrality = if v.integer { (value - value.round()).abs() } else { 0.0 };
            bound.max(integrality)
        };
        if amount > tol {
            out.push((lp.rows.len() + j, amount));
        }
    }
    out
}

fn row_violation(cmp: Cmp, activity: f64, rhs: f64) -> f64 {
    match cmp {
        Cmp::Le => activity - rhs,
        Cmp::Ge => rhs - activity,
        Cmp::Eq => (activity - rhs).abs(),
    }
}

// ---------------------------------------------------------------------------------------------
// CPLEX LP format
// ---------------------------------------------------------------------------------------------

/// Longest line we write; CPLEX allows 510 characters, older HiGHS readers 560.
const LP_LINE_WIDTH: usize = 250;
/// Longest name we write; CPLEX and HiGHS allow 255.
const LP_NAME_LENGTH: usize = 200;

/// Write `lp` in CPLEX LP format (readable by HiGHS, CBC, GLPK, CPLEX, scipy via highspy):
/// objective, `Subject To`, `Bounds`, `General`, `End`.
///
/// Names are made LP-legal but stay readable: characters the format reserves become `_` (`[` and
/// `]` become `(` and `)`), names that start with a digit, a period or the letter `e` (an
/// exponent to some readers) or that are section keywords get a leading `_`, empty names become
/// `x<j>` / `r<i>`, and a name already taken gets `~2`, `~3`, ... appended. Every variable's
/// bounds are written explicitly, so the file does not rely on the format's default `[0, inf)`.
/// Numbers are written so that they read back to the same `f64`. Fails with `InvalidInput` on a
/// non-finite coefficient or right-hand side, or when a row has terms but the LP has no variables.
pub fn write_lp(lp: &LinearProgram, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let invalid = |msg: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, msg);
    let var_names = unique_names(lp.vars.iter().map(|v| v.name.as_str()), "x", &[]);
    let row_names = unique_names(lp.rows.iter().map(|r| r.name.as_str()), "r", &[]);
    let objective_name = unique_names(std::iter::once("obj"), "obj", &row_names).remove(0);

    let mut text = String::new();
    let comment: String = lp.name.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let _ = writeln!(text, "\\ {comment}");
    text.push_str(match lp.sense {
        Sense::Minimize => "Minimize\n",
        Sense::Maximize => "Maximize\n",
    });
    let objective: Vec<(usize, f64)> =
        lp.vars.iter().enumerate().filter(|(_, v)| v.obj != 0.0).map(|(j, v)| (j, v.obj)).collect();
    for &(j, c) in &objective {
        if !c.is_finite() {
            return Err(invalid(format!("objective coefficient of `{}` is {c}", lp.vars[j].name)));
        }
    }
    write_expression(&mut text, &format!(" {objective_name}:"), &objective, &var_names);
    text.push('\n');
    out.write_all(text.as_bytes())?;

    out.write_all(b"Subject To\n")?;
    for (i, row) in lp.rows.iter().enumerate() {
        text.clear();
        let terms = LinExpr::sum(row.coefs.iter().copied()).merged().terms;
        if let Some(&(j, c)) = terms.iter().find(|(j, c)| !c.is_finite() || *j >= lp.vars.len()) {
            return Err(invalid(format!("row `{}` has coefficient {c} on variable index {j}", row.name)));
        }
        if !row.rhs.is_finite() {
            return Err(invalid(format!("row `{}` has right-hand side {}", row.name, row.rhs)));
        }
        if terms.is_empty() && lp.vars.is_empty() {
            return Err(invalid(format!("row `{}` is empty and the LP has no variable to write it with", row.name)));
        }
        write_expression(&mut text, &format!(" {}:", row_names[i]), &terms, &var_names);
        let cmp = match row.cmp {
            Cmp::Le => "<=",
            Cmp::Ge => ">=",
            Cmp::Eq => "=",
        };
        let _ = writeln!(text, " {cmp} {}", number(row.rhs));
        out.write_all(text.as_bytes())?;
    }

    out.write_all(b"Bounds\n")?;
    for (v, name) in lp.vars.iter().zip(&var_names) {
        let line = match (v.lo, v.hi) {
            (lo, hi) if lo == hi => format!(" {name} = {}\n", number(lo)),
            (f64::NEG_INFINITY, f64::INFINITY) => format!(" {name} free\n"),
            (lo, f64::INFINITY) => format!(" {name} >= {}\n", number(lo)),
            (f64::NEG_INFINITY, hi) => format!(" -inf <= {name} <= {}\n", number(hi)),
            (lo, hi) => format!(" {} <= {name} <= {}\n", number(lo), number(hi)),
        };
        out.write_all(line.as_bytes())?;
    }

    if lp.has_integers() {
        out.write_all(b"General\n")?;
        for (v, name) in lp.vars.iter().zip(&var_names) {
            if v.integer {
                out.write_all(format!(" {name}\n").as_bytes())?;
            }
        }
    }
    out.write_all(b"End\n")
}

/// `label c1 x1 + c2 x2 ...` wrapped below [`LP_LINE_WIDTH`]; an empty expression is written as
/// `0 <first variable>` because some readers reject an empty objective or row.
fn write_expression(text: &mut String, label: &str, terms: &[(usize, f64)], names: &[String]) {
    text.push_str(label);
    let mut line_start = text.len() - label.len();
    if terms.is_empty() {
        if let Some(first) = names.first() {
            let _ = write!(text, " 0 {first}");
        }
        return;
    }
    for (k, &(j, c)) in terms.iter().enumerate() {
        let mut term = String::new();
        if k > 0 || c < 0.0 {
            term.push_str(if c < 0.0 { "- " } else { "+ " });
        }
        if c.abs() != 1.0 {
            term.push_str(&number(c.abs()));
            term.push(' ');
        }
        term.push_str(&names[j]);
        if text.len() - line_start + term.len() + 1 > LP_LINE_WIDTH {
            text.push('\n');
            line_start = text.len();
        }
        text.push(' ');
        text.push_str(&term);
    }
}

/// Shortest text that reads back to the same `f64`, with an exponent only for very large or
/// very small magnitudes (`0.25`, `1e-9`, `3.5e20`).
fn number(v: f64) -> String {
    let magnitude = v.abs();
    if v == 0.0 {
        "0".to_string()
    } else if (1e-4..1e15).contains(&magnitude) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

const LP_KEYWORDS: &[&str] = &[
    "minimize",
    "minimise",
    "minimum",
    "min",
    "maximize",
    "maximise",
    "maximum",
    "max",
    "subject",
    "such",
    "st",
    "s.t.",
    "st.",
    "bounds",
    "bound",
    "general",
    "generals",
    "gen",
    "integer",
    "integers",
    "binary",
    "binaries",
    "bin",
    "semi",
    "semis",
    "semi-continuous",
    "sos",
    "end",
    "free",
    "inf",
    "infinity",
];

/// LP-legal, readable, unique names (see [`write_lp`]); `taken` are names to avoid as well.
fn unique_names<'a>(names: impl Iterator<Item = &'a str>, fallback: &str, taken: &[String]) -> Vec<String> {
    let mut seen: std::collections::HashSet<String> = taken.iter().cloned().collect();
    let mut out = Vec::new();
    for (k, raw) in names.enumerate() {
        let mut name = sanitize(raw);
        if name.is_empty() {
            name = format!("{fallback}{k}");
        }
        if seen.contains(&name) {
            let base = name.clone();
            let mut n = 2;
            while seen.contains(&name) {
                name = format!("{base}~{n}");
                n += 1;
            }
        }
        seen.insert(name.clone());
        out.push(name);
    }
    out
}

fn sanitize(raw: &str) -> String {
    let mut name: String = raw
        .chars()
        .map(|c| match c {
            '[' => '(',
            ']' => ')',
            c if c.is_ascii_alphanumeric() => c,
            '_' | '.' | '@' | '#' | '$' | '%' | '&' | '(' | ')' | ',' | ';' | '?' | '!' | '{' | '}' | '|' | '~'
            | '/' => c,
            _ => '_',
        })
        .collect();
    let first = name.chars().next();
    let needs_prefix = matches!(first, Some(c) if c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E')
        || LP_KEYWORDS.contains(&name.to_ascii_lowercase().as_str());
    if needs_prefix {
        name.insert(0, '_');
    }
    // Every character is ASCII by now, so byte truncation is safe.
    name.truncate(LP_NAME_LENGTH);
    name
}

// ---------------------------------------------------------------------------------------------
// Synthetic instances
// ---------------------------------------------------------------------------------------------

/// A random feasible routing LP with `k` classes x `e` options, every option allowed for every
/// class: the structure and distributions of `synthetic(K, E)` in the reference peer
/// `shared/bench/peer_lp.py` (SEMANTICS.md section 6), drawn from a `Xoshiro256PlusPlus` seeded
/// with `seed` (so the instance differs from numpy's for the same seed; use [`write_lp`] to give
/// another solver the same instance).
///
/// Variables `w[c<k>,e<e>]` in `[0, 1]`, class-major (index `k * e_count + e`); rows in order:
/// `share[c]` (= 1, per class), `quality[c]` (>= 0.85 x the class's best quality), `tail[c]`
/// (>= min(0.99, 0.98 x the class's best P)), `capacity[e]` (<= 3 x sum(lambda) / E).
pub fn synthetic(k: usize, e: usize, seed: u64) -> LinearProgram {
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::{RngExt, SeedableRng};
    use rand_distr::{Beta, Distribution, LogNormal};

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let volume: Vec<f64> = (0..k).map(|_| rng.random_range(1e3..1e5)).collect();
    let lognormal = LogNormal::new(-1.0_f64, 1.5).expect("valid lognormal parameters");
    let price: Vec<f64> = (0..e).map(|_| lognormal.sample(&mut rng)).collect();
    let cost: Vec<f64> = (0..k * e).map(|v| volume[v / e] * price[v % e] * rng.random_range(0.5..2.0)).collect();
    let quality: Vec<f64> = (0..k * e).map(|_| rng.random_range(0.4..1.0)).collect();
    let beta = Beta::new(20.0_f64, 0.5).expect("valid beta parameters");
    let tail_prob: Vec<f64> = (0..k * e).map(|_| beta.sample(&mut rng).clamp(0.0, 1.0)).collect();
    let lambda: Vec<f64> = (0..k).map(|_| rng.random_range(0.1..5.0)).collect();
    let capacity = 3.0 * lambda.iter().sum::<f64>() / e.max(1) as f64;

    let mut lp = LinearProgram::new(format!("synthetic {k}x{e} seed {seed}"), Sense::Minimize);
    for (v, &c) in cost.iter().enumerate() {
        lp.add_var(format!("w[c{},e{}]", v / e, v % e), 0.0, 1.0, c);
    }
    let class_vars = |c: usize| c * e..(c + 1) * e;
    for c in 0..k {
        lp.add_row(format!("share[c{c}]"), class_vars(c).map(|v| (v, 1.0)).collect(), Cmp::Eq, 1.0);
    }
    for c in 0..k {
        let best = class_vars(c).map(|v| quality[v]).fold(f64::NEG_INFINITY, f64::max);
        lp.add_row(format!("quality[c{c}]"), class_vars(c).map(|v| (v, quality[v])).collect(), Cmp::Ge, 0.85 * best);
    }
    for c in 0..k {
        let best = class_vars(c).map(|v| tail_prob[v]).fold(f64::NEG_INFINITY, f64::max);
        let target = (0.98 * best).min(0.99);
        lp.add_row(format!("tail[c{c}]"), class_vars(c).map(|v| (v, tail_prob[v])).collect(), Cmp::Ge, target);
    }
    for option in 0..e {
        let expr = (0..k).map(|c| (c * e + option, lambda[c])).collect();
        lp.add_row(format!("capacity[e{option}]"), expr, Cmp::Le, capacity);
    }
    lp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_back_exactly() {
        for v in [0.0, 1.0, -0.85, 0.1 + 0.2, 1e-4, 9.99e-5, 1e15, 1e-300, -3.5e20, 123456.789, f64::MIN_POSITIVE] {
            let text = number(v);
            assert_eq!(text.parse::<f64>().unwrap(), v, "{v} written as {text}");
        }
        assert_eq!((number(0.25).as_str(), number(1e-9).as_str(), number(3.5e20).as_str()), ("0.25", "1e-9", "3.5e20"));
    }

    #[test]
    fn implied_upper_bounds_need_positive_rows_over_nonnegative_variables() {
        let mut lp = LinearProgram::new("implied", Sense::Minimize);
        let a = lp.add_var("a", 0.0, 1.0, 1.0);
        let b = lp.add_var("b", 0.0, 1.0, 1.0);
        let free = lp.add_var("free", f64::NEG_INFINITY, f64::INFINITY, 0.0);
        lp.add_row("share", LinExpr::var(a) + 2.0 * LinExpr::var(b), Cmp::Eq, 1.0);
        lp.add_row("floor", LinExpr::var(a), Cmp::Ge, 0.5); // a >= row implies nothing above
        lp.add_row("mixed", LinExpr::var(b) - LinExpr::var(free), Cmp::Le, 0.1); // free may be negative
        assert_eq!(implied_upper_bounds(&lp), vec![1.0, 0.5, f64::INFINITY]);
    }

    #[test]
    fn sanitized_names_stay_readable_and_unique() {
        let names = unique_names(["w[a b]", "w(a_b)", "e1", "End", "", "x1"].into_iter(), "x", &[]);
        assert_eq!(names, vec!["w(a_b)", "w(a_b)~2", "_e1", "_End", "x4", "x1"]);
    }

    #[test]
    fn smallest_picks_the_k_lowest_keys() {
        let mut picked = smallest(vec![(3.0, 0), (1.0, 1), (2.0, 2), (0.5, 3)], 2);
        picked.sort();
        assert_eq!(picked, vec![1, 3]);
        assert_eq!(smallest(vec![(1.0, 7)], 5), vec![7]);
        assert!(smallest(vec![(1.0, 7)], 0).is_empty());
    }
}
