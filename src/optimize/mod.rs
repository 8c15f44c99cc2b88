//! Routing-weight optimization. [`lp`] is the solver layer: linear programs as plain data and the
//! only door to the `good_lp` solvers.

pub mod lp;
