//! The solver layer: LPs as plain data (variables, rows, bounds), solved through good_lp with the
//! pure-Rust solvers (clarabel, interior point; microlp, simplex with integers), and written in
//! CPLEX LP format so any other solver can check an optimum. The only file that knows good_lp.
use good_lp::{ProblemVariables, Solution, SolverModel, variable};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sense {
    Minimize,
    Maximize,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Le,
    Ge,
    Eq,
}
#[derive(Debug, Clone)]
pub struct Var {
    pub name: String,
    pub lo: f64,
    pub hi: f64,
    pub obj: f64,
    pub integer: bool,
}
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub coefs: Vec<(usize, f64)>,
    pub cmp: Cmp,
    pub rhs: f64,
}
#[derive(Debug, Clone)]
pub struct LinearProgram {
    pub name: String,
    pub sense: Sense,
    pub vars: Vec<Var>,
    pub rows: Vec<Row>,
}
#[derive(Debug, Clone, Default)]
pub struct LinExpr {
    pub terms: Vec<(usize, f64)>,
}
impl LinExpr {
    pub fn add(&mut self, v: usize, c: f64) {
        self.terms.push((v, c));
    }
}
impl LinearProgram {
    pub fn new(name: impl Into<String>, sense: Sense) -> Self {
        LinearProgram { name: name.into(), sense, vars: vec![], rows: vec![] }
    }
    pub fn add_var(&mut self, name: impl Into<String>, lo: f64, hi: f64, obj: f64) -> usize {
        self.vars.push(Var { name: name.into(), lo, hi, obj, integer: false });
        self.vars.len() - 1
    }
    pub fn add_int_var(&mut self, name: impl Into<String>, lo: f64, hi: f64, obj: f64) -> usize {
        self.vars.push(Var { name: name.into(), lo, hi, obj, integer: true });
        self.vars.len() - 1
    }
    pub fn add_row(&mut self, name: impl Into<String>, expr: LinExpr, cmp: Cmp, rhs: f64) -> usize {
        self.rows.push(Row { name: name.into(), coefs: expr.terms, cmp, rhs });
        self.rows.len() - 1
    }
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Solver {
    Clarabel,
    Microlp,
    Auto,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LpStatus {
    Optimal,
    Infeasible,
    Unbounded,
}
#[derive(Debug, Clone)]
pub struct LpSolution {
    pub status: LpStatus,
    pub x: Vec<f64>,
    pub objective: f64,
    pub duals: Option<Vec<f64>>,
    pub solver: &'static str,
    pub seconds: f64,
}
pub fn solve(lp: &LinearProgram, solver: Solver) -> Result<LpSolution> {
    let t0 = std::time::Instant::now();
    let mut pv = ProblemVariables::new();
    let vars: Vec<_> = lp
        .vars
        .iter()
        .map(|v| {
            let mut d = variable().min(v.lo);
            if v.hi.is_finite() {
                d = d.max(v.hi);
            }
            if v.integer {
                d = d.integer();
            }
            pv.add(d)
        })
        .collect();
    let obj: good_lp::Expression = lp.vars.iter().zip(&vars).map(|(v, x)| v.obj * *x).sum();
    let use_micro = solver == Solver::Microlp || lp.vars.iter().any(|v| v.integer);
    let mk = |e: good_lp::Expression| e;
    macro_rules! build {
        ($m:expr) => {{
            let mut m = $m;
            for r in &lp.rows {
                let e: good_lp::Expression = mk(r.coefs.iter().map(|&(i, c)| c * vars[i]).sum());
                m = match r.cmp {
                    Cmp::Le => m.with(e.leq(r.rhs)),
                    Cmp::Ge => m.with(e.geq(r.rhs)),
                    Cmp::Eq => m.with(e.eq(r.rhs)),
                };
            }
            match m.solve() {
                Ok(s) => {
                    let x: Vec<f64> = vars.iter().map(|v| s.value(*v)).collect();
                    let objective = lp.vars.iter().zip(&x).map(|(v, x)| v.obj * x).sum();
                    LpSolution { status: LpStatus::Optimal, x, objective, duals: None, solver: "", seconds: 0.0 }
                }
                Err(good_lp::ResolutionError::Infeasible) => LpSolution {
                    status: LpStatus::Infeasible,
                    x: vec![],
                    objective: f64::NAN,
                    duals: None,
                    solver: "",
                    seconds: 0.0,
                },
                Err(good_lp::ResolutionError::Unbounded) => LpSolution {
                    status: LpStatus::Unbounded,
                    x: vec![],
                    objective: f64::NAN,
                    duals: None,
                    solver: "",
                    seconds: 0.0,
                },
                Err(e) => {
                    return Err(Error::Format {
                        path: lp.name.clone().into(),
                        message: format!("LP solver failed: {e}"),
                    });
                }
            }
        }};
    }
    let mut sol = match (lp.sense, use_micro) {
        (Sense::Minimize, true) => build!(pv.minimise(obj).using(good_lp::microlp)),
        (Sense::Maximize, true) => build!(pv.maximise(obj).using(good_lp::microlp)),
        (Sense::Minimize, false) => build!(pv.minimise(obj).using(good_lp::clarabel)),
        (Sense::Maximize, false) => build!(pv.maximise(obj).using(good_lp::clarabel)),
    };
    sol.solver = if use_micro { "microlp" } else { "clarabel" };
    sol.seconds = t0.elapsed().as_secs_f64();
    Ok(sol)
}
pub fn clean_weights(x: &[f64], groups: &[Vec<usize>], threshold: f64) -> Vec<f64> {
    let mut out = x.to_vec();
    for g in groups {
        for &i in g {
            if out[i] < threshold {
                out[i] = 0.0;
            }
        }
        let s: f64 = g.iter().map(|&i| out[i]).sum();
        if s > 0.0 {
            for &i in g {
                out[i] /= s;
            }
        }
    }
    out
}
pub fn violations(lp: &LinearProgram, x: &[f64], tol: f64) -> Vec<(usize, f64)> {
    lp.rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let lhs: f64 = r.coefs.iter().map(|&(v, c)| c * x[v]).sum();
            let v = match r.cmp {
                Cmp::Le => lhs - r.rhs,
                Cmp::Ge => r.rhs - lhs,
                Cmp::Eq => (lhs - r.rhs).abs(),
            };
            (v > tol).then_some((i, v))
        })
        .collect()
}
/// Write `lp` in CPLEX LP format (HiGHS, CBC, GLPK and CPLEX read it). Names are made LP-legal
/// (letters, digits and `_.[]` kept, everything else `_`) and numbered so they stay unique.
pub fn write_lp(lp: &LinearProgram, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let legal = |name: &str, i: usize, prefix: &str| -> String {
        let clean: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() || "_.[]".contains(c) { c } else { '_' }).collect();
        format!("{prefix}{i}_{clean}")
    };
    let vars: Vec<String> = lp.vars.iter().enumerate().map(|(i, v)| legal(&v.name, i, "x")).collect();
    let term = |c: f64, v: &str| format!("{} {} {v}", if c < 0.0 { "-" } else { "+" }, c.abs());
    writeln!(out, "\\ {}", lp.name)?;
    writeln!(out, "{}", if lp.sense == Sense::Minimize { "Minimize" } else { "Maximize" })?;
    let obj: Vec<String> =
        lp.vars.iter().zip(&vars).filter(|(v, _)| v.obj != 0.0).map(|(v, n)| term(v.obj, n)).collect();
    writeln!(
        out,
        " obj: {}",
        if obj.is_empty() { format!("0 {}", vars.first().map_or("x", |v| v)) } else { obj.join(" ") }
    )?;
    writeln!(out, "Subject To")?;
    for (i, r) in lp.rows.iter().enumerate() {
        let lhs: Vec<String> = r.coefs.iter().map(|&(v, c)| term(c, &vars[v])).collect();
        let op = match r.cmp {
            Cmp::Le => "<=",
            Cmp::Ge => ">=",
            Cmp::Eq => "=",
        };
        let lhs = if lhs.is_empty() { format!("0 {}", vars.first().map_or("x", |v| v)) } else { lhs.join(" ") };
        writeln!(out, " {}: {lhs} {op} {}", legal(&r.name, i, "c"), r.rhs)?;
    }
    writeln!(out, "Bounds")?;
    for (v, n) in lp.vars.iter().zip(&vars) {
        if v.hi.is_finite() {
            writeln!(out, " {} <= {n} <= {}", v.lo, v.hi)?;
        } else {
            writeln!(out, " {n} >= {}", v.lo)?;
        }
    }
    let ints: Vec<&str> = lp.vars.iter().zip(&vars).filter(|(v, _)| v.integer).map(|(_, n)| n.as_str()).collect();
    if !ints.is_empty() {
        writeln!(out, "General\n {}", ints.join(" "))?;
    }
    writeln!(out, "End")
}
