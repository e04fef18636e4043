//! The interval audit: what a recipient can compute of each suppressed
//! count from everything it receives (SPEC §5).
//!
//! Each suppressed count is minimised and maximised by linear programming
//! (the pure-Rust `minilp` solver) under every published cell, every
//! relation (equalities for positionings, `max(parts) ≤ total ≤
//! sum(parts)` for persons, remainders included), every bound of one key
//! the catalogue derives (a part within its whole, persons within
//! positionings), non-negativity and the floors a row's existence implies. A count whose interval is
//! narrower than the protection level is exposed.
//!
//! Programmes are solved per component of suppressed cells (cells linked
//! by a constraint). Every solution is a table the recipient cannot tell
//! from the true one, so it proves wide every count it moves far enough:
//! most counts are proven by another count's programme, not their own.

use minilp::{ComparisonOp, OptimizationDirection, Problem};
use rayon::prelude::*;

use crate::error::{Error, Result};

use super::gauss;
use super::system::{Bound, System};

/// What the recipient can compute of one suppressed count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Interval {
    pub cell: usize,
    /// The lowest and highest values found in tables the recipient cannot
    /// tell from the true one. When `exact`, they are the programme's
    /// optimum: the recipient's interval itself.
    pub min: f64,
    pub max: f64,
    pub exact: bool,
}

impl Interval {
    pub(crate) fn width(&self) -> f64 {
        self.max - self.min
    }
}

/// The audit of a suppression pattern.
#[derive(Debug, Clone, Default)]
pub(crate) struct Audit {
    /// One per suppressed count audited, in cell order.
    pub intervals: Vec<Interval>,
    /// Linear programmes solved.
    pub programmes: usize,
}

impl Audit {
    /// The counts narrower than `protection`.
    pub(crate) fn exposed(&self, protection: f64) -> impl Iterator<Item = &Interval> {
        self.intervals
            .iter()
            .filter(move |i| i.width() < protection - 1e-6)
    }
}

/// A linear constraint over cells: `Σ c·x (op) 0`.
pub(super) struct Constraint {
    pub terms: Vec<(usize, f64)>,
    pub op: ComparisonOp,
}

/// Every constraint of the system, as the recipient reads it.
pub(super) fn constraints(system: &System) -> Vec<Constraint> {
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
    for &(small, large) in &system.bounds {
        out.push(Constraint {
            terms: vec![(small, 1.0), (large, -1.0)],
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
#[cfg(test)]
pub(crate) fn audit(
    system: &System,
    hidden: &[bool],
    check: &[usize],
    protection: f64,
) -> Result<Audit> {
    audit_with(system, &constraints(system), hidden, check, protection)
}

/// [`audit`] with the system's constraints already built.
pub(super) fn audit_with(
    system: &System,
    all: &[Constraint],
    hidden: &[bool],
    check: &[usize],
    protection: f64,
) -> Result<Audit> {
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

/// A constraint of one component over its suppressed cells (local
/// indices), published cells moved to the right-hand side.
struct Local {
    terms: Vec<(usize, f64)>,
    op: ComparisonOp,
    rhs: f64,
}

/// Directions tried per count before a linear programme.
const DIRECTIONS: usize = 4;

/// Programmes over all unproven counts of a component at once, at most,
/// before one per count ([`component`]); they stop as soon as one proves
/// fewer than a tenth of the rest.
const PROBES: usize = 6;

/// Unproven counts from which such a programme is worth its solve.
const PROBE_FROM: usize = 8;

/// Cells of one block of a large component ([`component`], step 2a).
const BLOCK: usize = 400;

/// Constraints crossed from a count to the edge of its first
/// neighbourhood ([`component`], step 2b); each next one is twice as deep.
const NEAR: usize = 2;

/// One component: its hidden cells, the constraints touching them, and
/// the cells to audit. Returns their intervals and the programmes solved.
///
/// 1. Directions of the null space widen most counts without a programme.
/// 2. Programmes over blocks of unproven counts prove most of the rest.
/// 3. Each count still unproven gets programmes over wider and wider
///    neighbourhoods, then, if still narrow, its exact interval.
fn component(
    system: &System,
    comp: &[usize],
    cons: &[&Constraint],
    check: &[usize],
    hidden: &[bool],
    protection: f64,
) -> Result<(Vec<Interval>, usize)> {
    let mut c = Component::new(system, comp, cons, hidden, protection);
    c.along_null_space(cons, hidden, check);
    c.probe_blocks(check)?;
    let outer = propagate(&c.local, &c.floor);
    let out = check
        .iter()
        .map(|&g| c.interval(g, &outer))
        .collect::<Result<_>>()?;
    Ok((out, c.programmes))
}

/// A component's system around the true table (local indices), and the
/// range each cell has been seen to take in tables the recipient cannot
/// tell from the true one.
struct Component<'a> {
    system: &'a System,
    comp: &'a [usize],
    /// Cell of the system → local index.
    at: std::collections::HashMap<usize, usize>,
    local: Vec<Local>,
    /// The true table and each cell's floor.
    x: Vec<f64>,
    floor: Vec<f64>,
    /// The constraints, and the inequalities, touching each cell.
    constraints_of: Vec<Vec<usize>>,
    inequalities_of: Vec<Vec<usize>>,
    /// The lowest and highest values seen so far: the true table first.
    lo: Vec<f64>,
    hi: Vec<f64>,
    protection: f64,
    programmes: usize,
}

impl<'a> Component<'a> {
    fn new(
        system: &'a System,
        comp: &'a [usize],
        cons: &[&Constraint],
        hidden: &[bool],
        protection: f64,
    ) -> Self {
        let at: std::collections::HashMap<usize, usize> =
            comp.iter().enumerate().map(|(l, &g)| (g, l)).collect();
        let value = |g: usize| system.cells[g].value as f64;
        let local: Vec<Local> = cons
            .iter()
            .map(|c| {
                let mut rhs = 0.0;
                let mut terms = Vec::new();
                for &(g, coef) in &c.terms {
                    if hidden[g] {
                        terms.push((at[&g], coef));
                    } else {
                        rhs -= coef * value(g);
                    }
                }
                Local {
                    terms,
                    op: c.op,
                    rhs,
                }
            })
            .collect();
        let x: Vec<f64> = comp.iter().map(|&g| value(g)).collect();
        let floor = comp.iter().map(|&g| system.cells[g].floor as f64).collect();
        let mut constraints_of: Vec<Vec<usize>> = vec![Vec::new(); comp.len()];
        let mut inequalities_of: Vec<Vec<usize>> = vec![Vec::new(); comp.len()];
        for (k, c) in local.iter().enumerate() {
            for t in &c.terms {
                constraints_of[t.0].push(k);
                if !matches!(c.op, ComparisonOp::Eq) {
                    inequalities_of[t.0].push(k);
                }
            }
        }
        Component {
            system,
            comp,
            at,
            local,
            lo: x.clone(),
            hi: x.clone(),
            x,
            floor,
            constraints_of,
            inequalities_of,
            protection,
            programmes: 0,
        }
    }

    fn wide(&self, l: usize) -> bool {
        self.hi[l] - self.lo[l] >= self.protection
    }

    fn seen(&mut self, point: Vec<(usize, f64)>) {
        for (i, v) in point {
            self.lo[i] = self.lo[i].min(v);
            self.hi[i] = self.hi[i].max(v);
        }
    }

    /// Step 1: directions of the null space of the equalities and of the
    /// inequalities tight at the truth (persons = positionings): the true
    /// table moved along one keeps them all, as far as floors and the
    /// other inequalities allow.
    fn along_null_space(&mut self, cons: &[&Constraint], hidden: &[bool], check: &[usize]) {
        let tight = |l: &Local| {
            let at: f64 = l.terms.iter().map(|&(i, a)| a * self.x[i]).sum();
            (at - l.rhs).abs() < 1e-9
        };
        let equalities: Vec<gauss::Row> = cons
            .iter()
            .zip(&self.local)
            .filter(|(c, l)| matches!(c.op, ComparisonOp::Eq) || tight(l))
            .map(|(c, _)| {
                c.terms
                    .iter()
                    .filter(|t| hidden[t.0])
                    .map(|&(g, coef)| (g, coef as i64))
                    .collect::<gauss::Row>()
            })
            .filter(|r| !r.is_empty())
            .collect();
        let room: Vec<u64> = self
            .x
            .iter()
            .zip(&self.floor)
            .map(|(v, f)| (v - f).max(0.0) as u64)
            .collect();
        let null = gauss::NullSpace::new(self.comp, &equalities, &room);
        for &g in check {
            let l = self.at[&g];
            for d in null.directions(g, DIRECTIONS) {
                if self.wide(l) {
                    break;
                }
                let d: Vec<(usize, f64)> = d.into_iter().map(|(c, v)| (self.at[&c], v)).collect();
                let (up, down) = (self.reach(&d, 1.0), self.reach(&d, -1.0));
                let x = &self.x;
                let point: Vec<(usize, f64)> = d
                    .iter()
                    .flat_map(|&(i, di)| {
                        let (a, b) = (x[i] + up * di, x[i] - down * di);
                        [
                            (i, if a.is_nan() { x[i] } else { a }),
                            (i, if b.is_nan() { x[i] } else { b }),
                        ]
                    })
                    .collect();
                self.seen(point);
            }
        }
    }

    /// How far the table can move along `d` (local indices), `sign` ±1.
    fn reach(&self, d: &[(usize, f64)], sign: f64) -> f64 {
        let x = &self.x;
        let mut t = f64::INFINITY;
        for &(i, di) in d {
            if sign * di < 0.0 {
                t = t.min((x[i] - self.floor[i]) / (-sign * di));
            }
        }
        let mut seen: Vec<usize> = d
            .iter()
            .flat_map(|&(i, _)| self.inequalities_of[i].iter().copied())
            .collect();
        seen.sort_unstable();
        seen.dedup();
        for k in seen {
            let c = &self.local[k];
            let ad: f64 = c
                .terms
                .iter()
                .map(|&(j, a)| a * d.iter().find(|e| e.0 == j).map_or(0.0, |e| e.1))
                .sum::<f64>()
                * sign;
            if ad > 1e-12 {
                let ax: f64 = c.terms.iter().map(|&(j, a)| a * x[j]).sum();
                t = t.min(((c.rhs - ax) / ad).max(0.0));
            }
        }
        t
    }

    /// Solves one programme over the cells of `scope` (local indices), every
    /// other cell kept at its true value: its solution is still a table the
    /// recipient cannot tell from the true one. Its variables are the moves
    /// up and down from the true table (`x = true + up − down`), so that all
    /// zeros is feasible and the solver needs no first phase. `objective`:
    /// (local cell, weight); `cap` bounds every move up. Counts the
    /// programme, and returns the solution over the scope (`None` when
    /// unbounded).
    fn solve(
        &mut self,
        scope: &[usize],
        objective: &[(usize, f64)],
        direction: OptimizationDirection,
        cap: f64,
    ) -> Result<Option<Vec<(usize, f64)>>> {
        self.programmes += 1;
        let (x, floor) = (&self.x, &self.floor);
        let position: std::collections::HashMap<usize, usize> =
            scope.iter().enumerate().map(|(p, &l)| (l, p)).collect();
        let mut weight = vec![0.0; scope.len()];
        for &(l, w) in objective {
            weight[position[&l]] = w;
        }
        let mut lp = Problem::new(direction);
        let moves: Vec<(minilp::Variable, minilp::Variable)> = scope
            .iter()
            .zip(&weight)
            .map(|(&l, &w)| {
                let up = lp.add_var(w, (0.0, cap));
                let down = lp.add_var(-w, (0.0, (x[l] - floor[l]).max(0.0)));
                (up, down)
            })
            .collect();
        let mut touched: Vec<usize> = scope
            .iter()
            .flat_map(|&l| self.constraints_of[l].iter().copied())
            .collect();
        touched.sort_unstable();
        touched.dedup();
        for c in touched.into_iter().map(|k| &self.local[k]) {
            let mut expr = minilp::LinearExpr::empty();
            let mut at_truth = 0.0;
            for &(l, coef) in &c.terms {
                if let Some(&p) = position.get(&l) {
                    expr.add(moves[p].0, coef);
                    expr.add(moves[p].1, -coef);
                }
                at_truth += coef * x[l];
            }
            // The truth satisfies the constraint; the moves keep it.
            let slack = match c.op {
                ComparisonOp::Eq => 0.0,
                _ => (c.rhs - at_truth).max(0.0),
            };
            lp.add_constraint(expr, c.op, slack);
        }
        match lp.solve() {
            // minilp may report an unbounded programme as an infinite optimum.
            Ok(s) if !s.objective().is_finite() => Ok(None),
            Ok(s) => Ok(Some(
                scope
                    .iter()
                    .zip(&moves)
                    .map(|(&l, (u, d))| (l, x[l] + s.var_value(*u) - s.var_value(*d)))
                    .collect(),
            )),
            Err(minilp::Error::Unbounded) => Ok(None),
            Err(minilp::Error::Infeasible) => Err(Error::Internal(format!(
                "the secrecy audit found no table around {} ({} cells): the relations contradict the data",
                self.system.cells[self.comp[objective.first().map_or(0, |o| o.0)]]
                    .key
                    .describe(),
                self.comp.len()
            ))),
        }
    }

    /// The cap on every move up of a programme that is not exact, so that
    /// none is unbounded.
    fn cap(&self) -> f64 {
        4.0 * self.protection.max(1.0)
    }

    /// Step 2: programmes over many unproven counts at once. The table that
    /// moves them furthest, alternately up and down, proves most of them
    /// wide in one solve. A large component is cut into blocks of cells
    /// around its unproven counts, each solved with the rest kept at its
    /// true value.
    fn probe_blocks(&mut self, check: &[usize]) -> Result<()> {
        let mut in_block = vec![false; self.comp.len()];
        let mut blocks: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
        for &g in check {
            let l = self.at[&g];
            if in_block[l] || self.wide(l) {
                continue;
            }
            let scope = neighbourhood(&self.local, &self.constraints_of, l, usize::MAX, BLOCK);
            let counts: Vec<usize> = scope
                .iter()
                .copied()
                .filter(|&i| !in_block[i] && !self.wide(i))
                .collect();
            for &i in &scope {
                in_block[i] = true;
            }
            blocks.push((scope, counts));
        }
        for (scope, mut unproven) in blocks {
            for probe in 0..PROBES {
                if unproven.len() < PROBE_FROM {
                    break;
                }
                let objective: Vec<(usize, f64)> = unproven
                    .iter()
                    .enumerate()
                    .map(|(k, &l)| (l, if (k + probe) % 2 == 0 { 1.0 } else { -1.0 }))
                    .collect();
                let cap = self.cap();
                if let Some(point) =
                    self.solve(&scope, &objective, OptimizationDirection::Maximize, cap)?
                {
                    self.seen(point);
                }
                let before = unproven.len();
                unproven.retain(|&l| !self.wide(l));
                if unproven.len() * 10 > before * 9 {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Step 3: the interval of the cell `g`, after programmes over its
    /// neighbourhood (the cells within a few constraints of it, the others
    /// kept at their true value), wider and wider: a count that moves in a
    /// small table is wide in the whole one. Only a count still narrow in
    /// the whole component gets its exact interval. `outer`: the bounds
    /// propagation gives every cell ([`propagate`]).
    fn interval(&mut self, g: usize, outer: &(Vec<f64>, Vec<f64>)) -> Result<Interval> {
        let l = self.at[&g];
        let (outer_lo, outer_hi) = (outer.0[l], outer.1[l]);
        if outer_hi - outer_lo < 1e-6 {
            // Pinned whatever the table: no programme can widen it.
            return Ok(Interval {
                cell: g,
                min: outer_lo,
                max: outer_hi,
                exact: outer_lo == self.lo[l] && outer_hi == self.hi[l],
            });
        }
        let cap = self.cap();
        let mut hops = NEAR;
        while !self.wide(l) {
            let scope = neighbourhood(&self.local, &self.constraints_of, l, hops, usize::MAX);
            if scope.len() == self.comp.len() {
                break;
            }
            for direction in [
                OptimizationDirection::Maximize,
                OptimizationDirection::Minimize,
            ] {
                if self.wide(l) {
                    break;
                }
                if let Some(point) = self.solve(&scope, &[(l, 1.0)], direction, cap)? {
                    self.seen(point);
                }
            }
            hops *= 2;
        }
        let mut exact = [false, false];
        if self.wide(l) {
            return Ok(Interval {
                cell: g,
                min: self.lo[l],
                max: self.hi[l],
                exact: false,
            });
        }
        let everything: Vec<usize> = (0..self.comp.len()).collect();
        for (side, direction) in [
            OptimizationDirection::Minimize,
            OptimizationDirection::Maximize,
        ]
        .into_iter()
        .enumerate()
        {
            if self.wide(l) {
                break;
            }
            match self.solve(&everything, &[(l, 1.0)], direction, f64::INFINITY)? {
                Some(point) => {
                    self.seen(point);
                    exact[side] = true;
                }
                None => self.hi[l] = f64::INFINITY,
            }
        }
        Ok(Interval {
            cell: g,
            min: self.lo[l],
            max: self.hi[l],
            exact: exact[0] && exact[1],
        })
    }
}

/// The cells within `hops` constraints of `l` (local indices, sorted), at
/// most `limit` of them; all the component's cells when that is most of it.
fn neighbourhood(
    local: &[Local],
    constraints_of: &[Vec<usize>],
    l: usize,
    hops: usize,
    limit: usize,
) -> Vec<usize> {
    let n = constraints_of.len();
    let mut scope = std::collections::BTreeSet::from([l]);
    let mut frontier = vec![l];
    for _ in 0..hops {
        let mut next = Vec::new();
        'grow: for &i in &frontier {
            for &k in &constraints_of[i] {
                for &(j, _) in &local[k].terms {
                    if scope.insert(j) {
                        next.push(j);
                        if scope.len() >= limit {
                            break 'grow;
                        }
                    }
                }
            }
        }
        if scope.len() * 2 > n {
            return (0..n).collect();
        }
        if next.is_empty() || scope.len() >= limit {
            break;
        }
        frontier = next;
    }
    scope.into_iter().collect()
}

/// Passes of [`propagate`] at most.
const PASSES: usize = 30;

/// The bounds every cell of a component can take, propagated from the
/// floors through its constraints, one at a time (interval propagation):
/// for `Σ a·x ≤ b`, each `a_j·x_j ≤ b − Σ_{i≠j} min(a_i·x_i)`. The
/// recipient's interval of a cell always lies within them, so a cell
/// narrower than the protection level here is exposed without a linear
/// programme. Returns `(lower, upper)`, local indices, `f64::INFINITY` for
/// no upper bound.
fn propagate(local: &[Local], floor: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut lo = floor.to_vec();
    let mut hi = vec![f64::INFINITY; floor.len()];
    for _ in 0..PASSES {
        let mut changed = false;
        for c in local {
            let signs: &[f64] = match c.op {
                ComparisonOp::Eq => &[1.0, -1.0],
                ComparisonOp::Le => &[1.0],
                _ => &[-1.0],
            };
            for &s in signs {
                // Σ (s·a)·x ≤ s·b, with each term at its least.
                fn least(lo: &[f64], hi: &[f64], i: usize, a: f64) -> f64 {
                    if a > 0.0 {
                        a * lo[i]
                    } else {
                        a * hi[i]
                    }
                }
                let (mut finite, mut infinite) = (0.0, 0);
                for &(i, a) in &c.terms {
                    match least(&lo, &hi, i, s * a) {
                        m if m.is_finite() => finite += m,
                        _ => infinite += 1,
                    }
                }
                for &(j, a) in &c.terms {
                    let a = s * a;
                    let own = least(&lo, &hi, j, a);
                    let rest = match (own.is_finite(), infinite) {
                        (true, 0) => finite - own,
                        (false, 1) => finite,
                        _ => continue,
                    };
                    let bound = (s * c.rhs - rest) / a;
                    if a > 0.0 && bound < hi[j] - 1e-9 {
                        hi[j] = bound;
                        changed = true;
                    } else if a < 0.0 && bound > lo[j] + 1e-9 {
                        lo[j] = bound;
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::super::system::{Cell, Key, Relation};
    use super::*;

    pub(crate) fn cell(value: i64) -> Cell {
        Cell {
            variable: 0,
            key: Key {
                periode: "".into(),
                type_periode: "".into(),
                niveau_geo: "".into(),
                code_geo: None,
                dimension: "".into(),
                modalite: "".into(),
                motif: "".into(),
            },
            value,
            floor: 0,
            known: false,
            latent: None,
            receivers: 1,
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
    fn propagation_bounds_each_cell_from_the_floors_and_the_constraints() {
        // x0 + x1 = 2 (a published total of 10 minus a published 8).
        let total = Local {
            terms: vec![(0, 1.0), (1, 1.0)],
            op: ComparisonOp::Eq,
            rhs: 2.0,
        };
        // Floors of 1 pin both; floors of 0 leave each in [0, 2].
        assert_eq!(
            propagate(std::slice::from_ref(&total), &[1.0, 1.0]),
            (vec![1.0; 2], vec![1.0; 2])
        );
        assert_eq!(
            propagate(std::slice::from_ref(&total), &[0.0, 0.0]),
            (vec![0.0; 2], vec![2.0; 2])
        );
        // Persons x2 ≤ positionings x0: x2 in [1, 2]; x3 is bounded by nothing.
        let persons = Local {
            terms: vec![(2, 1.0), (0, -1.0)],
            op: ComparisonOp::Le,
            rhs: 0.0,
        };
        let (lo, hi) = propagate(&[total, persons], &[0.0, 0.0, 1.0, 0.0]);
        assert_eq!(lo, vec![1.0, 0.0, 1.0, 0.0]);
        assert_eq!(hi, vec![2.0, 1.0, 2.0, f64::INFINITY]);
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
