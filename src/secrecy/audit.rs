//! The interval audit: what a recipient can compute of each suppressed
//! count from everything it receives (SPEC §5).
//!
//! Each suppressed count is minimised and maximised by linear programming
//! (the pure-Rust `minilp` solver) under every published cell, every
//! relation (equalities for positionings, `max(parts) ≤ total ≤
//! sum(parts)` for persons), every part within its whole, non-negativity
//! and the floors a row's existence implies. A count whose interval is
//! narrower than the protection level is exposed.
//!
//! Programmes are solved per component of suppressed cells (cells linked
//! by a constraint). Every solution is a table the recipient cannot tell
//! from the true one, so it proves wide every count it moves far enough:
//! most counts are proven by another count's programme, not their own.

use minilp::{ComparisonOp, OptimizationDirection, Problem};
use rayon::prelude::*;

use crate::error::{Error, Result};

use super::system::{Bound, System};

/// What the recipient can compute of one suppressed count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub cell: usize,
    /// The lowest and highest values found in tables the recipient cannot
    /// tell from the true one. When `exact`, they are the programme's
    /// optimum: the recipient's interval itself.
    pub min: f64,
    pub max: f64,
    pub exact: bool,
}

impl Interval {
    pub fn width(&self) -> f64 {
        self.max - self.min
    }
}

/// The audit of a suppression pattern.
#[derive(Debug, Clone, Default)]
pub struct Audit {
    /// One per suppressed count audited, in cell order.
    pub intervals: Vec<Interval>,
    /// Linear programmes solved.
    pub programmes: usize,
}

impl Audit {
    /// The counts narrower than `protection`.
    pub fn exposed(&self, protection: f64) -> impl Iterator<Item = &Interval> {
        self.intervals
            .iter()
            .filter(move |i| i.width() < protection - 1e-6)
    }
}

/// A linear constraint over cells: `Σ c·x (op) rhs`, before published cells
/// are moved to the right-hand side.
struct Constraint {
    terms: Vec<(usize, f64)>,
    op: ComparisonOp,
}

/// Every constraint of the system, as the recipient reads it.
fn constraints(system: &System) -> Vec<Constraint> {
    let mut out = Vec::new();
    for rel in &system.relations {
        let mut terms = vec![(rel.total, 1.0)];
        terms.extend(rel.parts.iter().map(|&p| (p, -1.0)));
        match rel.bound {
            Bound::Equal => out.push(Constraint {
                terms,
                op: ComparisonOp::Eq,
            }),
            Bound::Persons => {
                out.push(Constraint {
                    terms,
                    op: ComparisonOp::Le,
                });
                for &p in &rel.parts {
                    out.push(Constraint {
                        terms: vec![(p, 1.0), (rel.total, -1.0)],
                        op: ComparisonOp::Le,
                    });
                }
            }
        }
    }
    for &(part, whole) in &system.wholes {
        out.push(Constraint {
            terms: vec![(part, 1.0), (whole, -1.0)],
            op: ComparisonOp::Le,
        });
    }
    out
}

/// Audits the suppressed counts in `check` (each must be hidden).
///
/// # Errors
/// `Internal` when a programme has no solution: the true table always is
/// one, so the system is inconsistent (a bug).
pub fn audit(system: &System, hidden: &[bool], check: &[usize], protection: f64) -> Result<Audit> {
    let all = constraints(system);
    // Components of hidden cells linked by a constraint.
    let n = system.cells.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut touching: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (k, c) in all.iter().enumerate() {
        let h: Vec<usize> = c.terms.iter().map(|t| t.0).filter(|&i| hidden[i]).collect();
        for w in h.windows(2) {
            let (a, b) = (root(&mut parent, w[0]), root(&mut parent, w[1]));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
        for &i in &h {
            touching[i].push(k);
        }
    }
    let mut members: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in (0..n).filter(|&i| hidden[i]) {
        members.entry(root(&mut parent, i)).or_default().push(i);
    }
    let mut wanted: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for &c in check {
        wanted.entry(root(&mut parent, c)).or_default().push(c);
    }
    let results: Vec<Result<(Vec<Interval>, usize)>> = wanted
        .par_iter()
        .map(|(r, cells)| {
            let comp = &members[r];
            let mut ks: Vec<usize> = comp
                .iter()
                .flat_map(|&i| touching[i].iter().copied())
                .collect();
            ks.sort_unstable();
            ks.dedup();
            let cons: Vec<&Constraint> = ks.iter().map(|&k| &all[k]).collect();
            component(system, comp, &cons, cells, hidden, protection)
        })
        .collect();
    let mut audit = Audit::default();
    for r in results {
        let (intervals, programmes) = r?;
        audit.intervals.extend(intervals);
        audit.programmes += programmes;
    }
    audit.intervals.sort_by_key(|i| i.cell);
    Ok(audit)
}

/// One component: its hidden cells, the constraints touching them, and
/// the cells to audit.
fn component(
    system: &System,
    comp: &[usize],
    cons: &[&Constraint],
    check: &[usize],
    hidden: &[bool],
    protection: f64,
) -> Result<(Vec<Interval>, usize)> {
    let at: std::collections::HashMap<usize, usize> =
        comp.iter().enumerate().map(|(l, &g)| (g, l)).collect();
    let value = |g: usize| system.cells[g].value as f64;
    // Range seen so far for each cell of the component: the true table first.
    let mut lo: Vec<f64> = comp.iter().map(|&g| value(g)).collect();
    let mut hi = lo.clone();
    let mut programmes = 0;
    let solve = |target: usize, direction: OptimizationDirection| -> Result<Option<Vec<f64>>> {
        let mut lp = Problem::new(direction);
        let vars: Vec<minilp::Variable> = comp
            .iter()
            .enumerate()
            .map(|(l, &g)| {
                let obj = if l == target { 1.0 } else { 0.0 };
                lp.add_var(obj, (system.cells[g].floor as f64, f64::INFINITY))
            })
            .collect();
        for c in cons {
            let mut rhs = 0.0;
            let mut expr = minilp::LinearExpr::empty();
            for &(g, coef) in &c.terms {
                if hidden[g] {
                    expr.add(vars[at[&g]], coef);
                } else {
                    rhs -= coef * value(g);
                }
            }
            lp.add_constraint(expr, c.op, rhs);
        }
        match lp.solve() {
            Ok(s) => Ok(Some(vars.iter().map(|v| *s.var_value(*v)).collect())),
            Err(minilp::Error::Unbounded) => Ok(None),
            Err(minilp::Error::Infeasible) => Err(Error::Internal(format!(
                "the secrecy audit found no table around {} ({} cells): the relations contradict the data",
                system.cells[comp[target]].key.describe(),
                comp.len()
            ))),
        }
    };
    let mut out = Vec::new();
    for &g in check {
        let l = at[&g];
        let mut exact = [false, false];
        for (side, direction) in [
            OptimizationDirection::Minimize,
            OptimizationDirection::Maximize,
        ]
        .into_iter()
        .enumerate()
        {
            if hi[l] - lo[l] >= protection {
                break;
            }
            programmes += 1;
            match solve(l, direction)? {
                Some(point) => {
                    for (i, v) in point.into_iter().enumerate() {
                        lo[i] = lo[i].min(v);
                        hi[i] = hi[i].max(v);
                    }
                    exact[side] = true;
                }
                None => hi[l] = f64::INFINITY,
            }
        }
        out.push(Interval {
            cell: g,
            min: lo[l],
            max: hi[l],
            exact: exact[0] && exact[1],
        });
    }
    Ok((out, programmes))
}

#[cfg(test)]
mod tests {
    use super::super::system::{Cell, Key, Relation};
    use super::*;

    pub(crate) fn cell(value: i64) -> Cell {
        Cell {
            variable: 0,
            key: Key {
                periode: String::new(),
                type_periode: String::new(),
                niveau_geo: String::new(),
                code_geo: None,
                dimension: String::new(),
                modalite: String::new(),
                motif: String::new(),
            },
            value,
            floor: 0,
            known: false,
        }
    }

    #[test]
    fn a_lone_hidden_cell_is_pinned_and_two_are_not() {
        let system = System {
            cells: [40, 4, 20, 16].map(cell).to_vec(),
            relations: vec![Relation {
                total: 0,
                parts: vec![1, 2, 3],
                bound: Bound::Equal,
                kind: "t".into(),
            }],
            ..System::default()
        };
        let a = audit(&system, &[false, true, false, false], &[1], 1.0).unwrap();
        assert_eq!(a.exposed(1.0).count(), 1);
        assert_eq!((a.intervals[0].min, a.intervals[0].max), (4.0, 4.0));
        let b = audit(&system, &[false, true, false, true], &[1, 3], 1.0).unwrap();
        assert_eq!(b.exposed(1.0).count(), 0);
    }

    #[test]
    fn floors_pin_two_ones_whose_sum_is_two() {
        let mut cells = [10, 1, 1, 8].map(cell).to_vec();
        cells[1].floor = 1;
        cells[2].floor = 1;
        let system = System {
            cells,
            relations: vec![Relation {
                total: 0,
                parts: vec![1, 2, 3],
                bound: Bound::Equal,
                kind: "t".into(),
            }],
            ..System::default()
        };
        let a = audit(&system, &[false, true, true, false], &[1, 2], 1.0).unwrap();
        assert_eq!(a.exposed(1.0).count(), 2);
    }
}
