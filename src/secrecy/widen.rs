//! Complements for the counts the audit still finds too narrow.
//!
//! Gaussian elimination knows only the equalities. Floors, inequalities
//! between person counts and parts within wholes can still pin a count
//! (five positionings spread over five funders, each row at least 1). For
//! such a count, one linear programme over its neighbourhood finds the
//! cheapest table, as the cells' preference weighs them, in which the count
//! has moved by the protection level and no known cell has moved; the
//! published cells that table moves are then suppressed. That table stays
//! possible for the recipient, so the count is then at least that wide.

use minilp::{ComparisonOp, OptimizationDirection, Problem};

use super::audit::Constraint;
use super::system::System;

/// Rings of neighbours tried, in turn, around the narrow count.
const RINGS: [usize; 4] = [2, 4, 6, 8];

/// What a unit of the narrow count's move is worth in [`cheapest`]: far
/// above the cost of suppressing any cell (at most 2,000 a unit).
const REACH: f64 = 1e7;

/// What the search needs of the system: its constraints, which cells each
/// touches, and what suppressing a cell costs.
pub(super) struct Links {
    pub constraints: Vec<Constraint>,
    touching: Vec<Vec<usize>>,
    /// Which cells never move (known): no search goes through them.
    known: Vec<bool>,
    /// Cost of suppressing a published cell, per unit it moves: the more
    /// wanted the cell (its tier, then its rank), the dearer.
    weight: Vec<f64>,
}

impl Links {
    /// `tier[c]` and `rank[c]`: the cell's place in the order of preference.
    pub(super) fn new(system: &System, tier: &[u8], rank: &[usize]) -> Links {
        let n = system.cells.len();
        let constraints = super::audit::constraints(system);
        let mut touching: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (k, c) in constraints.iter().enumerate() {
            for &(a, _) in &c.terms {
                touching[a].push(k);
            }
        }
        let weight = (0..n)
            .map(|i| {
                let later = (n - rank[i].min(n)) as f64 / n.max(1) as f64;
                10f64.powi(3 - i32::from(tier[i].min(3))) * (1.0 + later)
            })
            .collect();
        Links {
            constraints,
            touching,
            known: system.cells.iter().map(|c| c.known).collect(),
            weight,
        }
    }

    /// The cells sharing a constraint with `cell` that can move: a known
    /// cell never moves, so it is no neighbour (and the search does not go
    /// through it). May repeat a cell.
    fn neighbours(&self, cell: usize) -> impl Iterator<Item = usize> + '_ {
        self.touching[cell]
            .iter()
            .flat_map(|&k| self.constraints[k].terms.iter().map(|t| t.0))
            .filter(move |&b| b != cell && !self.known[b])
    }

    /// The published cells, neither known nor zero, sharing a constraint
    /// with `cell`.
    pub(super) fn around(&self, system: &System, hidden: &[bool], cell: usize) -> Vec<usize> {
        let mut around: Vec<usize> = self
            .neighbours(cell)
            .filter(|&n| !hidden[n] && system.cells[n].publishable())
            .collect();
        around.sort_unstable();
        around.dedup();
        around
    }
}

/// The published cells to suppress so that `cell` can move by `protection`
/// in some direction; `None` when no neighbourhood allows it.
pub(super) fn widen(
    system: &System,
    links: &Links,
    hidden: &[bool],
    cell: usize,
    protection: f64,
) -> Option<Vec<usize>> {
    for rings in RINGS {
        let around = neighbourhood(links, cell, rings);
        let best = [1.0, -1.0]
            .into_iter()
            .filter_map(|sign| cheapest(system, links, hidden, &around, cell, sign * protection))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((_, moved)) = best {
            return Some(moved);
        }
    }
    None
}

/// The cells within `rings` steps of `cell`.
fn neighbourhood(links: &Links, cell: usize, rings: usize) -> Vec<usize> {
    let mut seen = std::collections::HashSet::from([cell]);
    let mut frontier = vec![cell];
    for _ in 0..rings {
        let mut next = Vec::new();
        for c in frontier {
            for n in links.neighbours(c) {
                if seen.insert(n) {
                    next.push(n);
                }
            }
        }
        frontier = next;
    }
    let mut all: Vec<usize> = seen.into_iter().collect();
    all.sort_unstable();
    all
}

/// The cheapest table moving `cell` by `step` within `around`: its cost and
/// the published cells it moves.
fn cheapest(
    system: &System,
    links: &Links,
    hidden: &[bool],
    around: &[usize],
    cell: usize,
    step: f64,
) -> Option<(f64, Vec<usize>)> {
    let at: std::collections::HashMap<usize, usize> =
        around.iter().enumerate().map(|(l, &g)| (g, l)).collect();
    let mut lp = Problem::new(OptimizationDirection::Minimize);
    // Known cells are never in the neighbourhood: only what can move is.
    let moves: Vec<(minilp::Variable, minilp::Variable)> = around
        .iter()
        .map(|&g| {
            let c = &system.cells[g];
            let cost = if hidden[g] { 0.0 } else { links.weight[g] };
            let down = (c.value - c.floor).max(0) as f64;
            (
                lp.add_var(cost, (0.0, f64::INFINITY)),
                lp.add_var(cost, (0.0, down)),
            )
        })
        .collect();
    let mut ks: Vec<usize> = around
        .iter()
        .flat_map(|&g| links.touching[g].iter().copied())
        .collect();
    ks.sort_unstable();
    ks.dedup();
    for k in ks {
        let c = &links.constraints[k];
        let mut expr = minilp::LinearExpr::empty();
        // Constraints are homogeneous (`Σ c·x op 0`) and hold at the truth;
        // cells outside the neighbourhood do not move.
        let mut at_truth = 0.0;
        for &(g, coef) in &c.terms {
            at_truth += coef * system.cells[g].value as f64;
            if let Some(&l) = at.get(&g) {
                expr.add(moves[l].0, coef);
                expr.add(moves[l].1, -coef);
            }
        }
        let slack = match c.op {
            ComparisonOp::Eq => 0.0,
            _ => (-at_truth).max(0.0),
        };
        lp.add_constraint(expr, c.op, slack);
    }
    // The count moves by `reached` toward `step`, paid far above any cell:
    // the programme reaches the whole step whenever the neighbourhood
    // allows it, at the least cost. Written so, all zeros is a solution
    // (the true table) and the solver needs no first phase to find one.
    let reached = lp.add_var(-REACH, (0.0, step.abs()));
    let l = at[&cell];
    let mut target = minilp::LinearExpr::empty();
    target.add(moves[l].0, 1.0);
    target.add(moves[l].1, -1.0);
    target.add(reached, -step.signum());
    lp.add_constraint(target, ComparisonOp::Eq, 0.0);
    let solution = lp.solve().ok()?;
    if *solution.var_value(reached) < step.abs() - 1e-6 {
        return None;
    }
    let moved: Vec<usize> = around
        .iter()
        .enumerate()
        .filter(|&(l, &g)| {
            !hidden[g] && solution.var_value(moves[l].0) + solution.var_value(moves[l].1) > 1e-9
        })
        .map(|(_, &g)| g)
        .collect();
    Some((solution.objective() + REACH * step.abs(), moved))
}
