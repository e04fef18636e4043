//! The attacker: how narrowly can a suppressed cell be recomputed?
//!
//! For each count of each suppressed cell, the attacker minimises and then
//! maximises it, subject to every published cell, every relation of the
//! cube and non-negativity (SPEC §5). Positioning counts add up, so their
//! relations are equalities; distinct-person counts do not, so a total lies
//! between its largest group and the sum of its groups. The attacker is
//! given every relation the true table satisfies and nothing weaker, so it
//! is at least as strong as a real one.
//!
//! Two things keep this tractable on France-scale cubes:
//! - suppressed cells only interact through relations that hold two or more
//!   of them, so the programme splits into independent components (union
//!   of the cells of each such relation), solved in parallel;
//! - every solution the solver returns is a table the attacker cannot rule
//!   out. The widest values seen so far for each cell are a proven lower
//!   bound on its interval, so a cell whose seen range is already wide
//!   enough needs no programme of its own. The true table is the first such
//!   witness. Cells that stay narrow get both of their programmes solved
//!   exactly, and only those can be reported as exposed.

use minilp::{ComparisonOp, LinearExpr, OptimizationDirection, Problem};
use rayon::prelude::*;

use crate::disclosure::{CubeCells, Pattern, Relation};

/// How a count behaves under the relations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Additivity {
    /// Each unit is in exactly one group: total = sum of groups.
    Additive,
    /// Distinct persons: max(groups) ≤ total ≤ sum of groups.
    Persons,
}

impl Additivity {
    /// Distinct-person counts are named `nb_personnes_*` or `nb_eligibles_*`.
    pub fn of(count_name: &str) -> Self {
        if count_name.starts_with("nb_personnes") || count_name.starts_with("nb_eligibles") {
            Additivity::Persons
        } else {
            Additivity::Additive
        }
    }
}

/// A suppressed count and the interval the attacker proved for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub cell: usize,
    pub measure: usize,
    pub value: i64,
    pub min: f64,
    pub max: f64,
}

impl Finding {
    /// Width of the interval in whole units: counts are integers, so the
    /// attacker rounds the bounds inwards.
    pub fn width(&self) -> f64 {
        whole_width(self.min, self.max)
    }
}

fn whole_width(lo: f64, hi: f64) -> f64 {
    (hi + EPS).floor() - (lo - EPS).ceil()
}

/// What the attacker achieved on one table.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Suppressed cells.
    pub cells: usize,
    /// (cell, count) pairs examined.
    pub counts: usize,
    /// Independent components, and the size of the largest.
    pub components: usize,
    pub largest_component: usize,
    /// Linear programmes solved.
    pub programmes: usize,
    /// Counts proven at least as wide as the protection level, by two
    /// tables the attacker cannot rule out.
    pub proven: usize,
    /// Relations the true table does not satisfy as stated (e.g. a group
    /// left out of a geographic relation); the attacker gets the weaker
    /// relation that does hold.
    pub relaxed_relations: usize,
    /// Positive counts recomputed exactly.
    pub pinned: Vec<Finding>,
    /// Positive counts whose exact interval is narrower than the protection level (pinned included).
    pub narrow: Vec<Finding>,
    /// Positive counts not proven wide enough within the largest
    /// neighbourhood tried: treated as exposed.
    pub unproven: Vec<Finding>,
    /// Zero counts not proven wide: a zero is not sensitive (there is nobody
    /// to disclose), and published zero margins often say so anyway.
    pub zeros_pinned: usize,
    /// The narrowest proven interval among positive counts (a lower bound when proven by witness).
    pub narrowest: Option<Finding>,
}

impl Report {
    fn merge(&mut self, other: Report) {
        self.cells += other.cells;
        self.counts += other.counts;
        self.components += other.components;
        self.largest_component = self.largest_component.max(other.largest_component);
        self.programmes += other.programmes;
        self.proven += other.proven;
        self.unproven.extend(other.unproven);
        self.relaxed_relations += other.relaxed_relations;
        self.pinned.extend(other.pinned);
        self.narrow.extend(other.narrow);
        self.zeros_pinned += other.zeros_pinned;
        self.narrowest = match (self.narrowest.take(), other.narrowest) {
            (Some(a), Some(b)) => Some(if b.width() < a.width() { b } else { a }),
            (a, b) => a.or(b),
        };
    }
}

const EPS: f64 = 1e-6;

/// Attacks every count of a family of cells under its suppression pattern.
pub fn attack_cells(cells: &CubeCells, pattern: &Pattern, protection: f64) -> Report {
    let suppressed: Vec<bool> = (0..cells.keys.len())
        .map(|c| pattern.suppressed(c))
        .collect();
    let components = components(&suppressed, &cells.relations);
    let mut report = Report {
        cells: suppressed.iter().filter(|&&s| s).count(),
        components: components.len(),
        largest_component: components.iter().map(|c| c.cells.len()).max().unwrap_or(0),
        ..Report::default()
    };
    let values: Vec<Vec<i64>> = (0..cells.count_names.len())
        .map(|m| cells.counts.iter().map(|c| c[m]).collect())
        .collect();
    // Components in parallel; within one, the counts one after the other,
    // so that the directions found for one count serve the next.
    let found = components
        .par_iter()
        .map(|comp| {
            let mut directions = Vec::new();
            let mut report = Report::default();
            for (m, name) in cells.count_names.iter().enumerate() {
                let mut r = attack_component(
                    &values[m],
                    &cells.relations,
                    &suppressed,
                    comp,
                    Additivity::of(name),
                    protection,
                    &mut directions,
                );
                for f in r
                    .pinned
                    .iter_mut()
                    .chain(r.narrow.iter_mut())
                    .chain(r.unproven.iter_mut())
                    .chain(r.narrowest.iter_mut())
                {
                    f.measure = m;
                }
                r.components = 0;
                report.merge(r);
            }
            report
        })
        .reduce(Report::default, |mut a, b| {
            a.merge(b);
            a
        });
    report.merge(found);
    report
}

/// Attacks one count of a table: `values` are the true values, `suppressed`
/// says which cells are hidden.
pub fn attack(
    values: &[i64],
    relations: &[Relation],
    suppressed: &[bool],
    additivity: Additivity,
    protection: f64,
) -> Report {
    let components = components(suppressed, relations);
    let mut r = attack_components(
        values,
        relations,
        suppressed,
        &components,
        additivity,
        protection,
    );
    r.cells = suppressed.iter().filter(|&&s| s).count();
    r.largest_component = components.iter().map(|c| c.cells.len()).max().unwrap_or(0);
    r
}

/// Suppressed cells linked by relations, and the relations that bind them.
struct Component {
    cells: Vec<usize>,
    relations: Vec<usize>,
}

fn components(suppressed: &[bool], relations: &[Relation]) -> Vec<Component> {
    let mut parent: Vec<usize> = (0..suppressed.len()).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    fn members<'a>(rel: &'a Relation, suppressed: &'a [bool]) -> impl Iterator<Item = usize> + 'a {
        std::iter::once(rel.total)
            .chain(rel.parts.iter().copied())
            .filter(move |&c| suppressed[c])
    }
    for rel in relations {
        let mut it = members(rel, suppressed);
        if let Some(first) = it.next() {
            for c in it {
                let (a, b) = (find(&mut parent, first), find(&mut parent, c));
                parent[a] = b;
            }
        }
    }
    let mut index = std::collections::HashMap::new();
    let mut out: Vec<Component> = Vec::new();
    for c in (0..suppressed.len()).filter(|&c| suppressed[c]) {
        let root = find(&mut parent, c);
        let i = *index.entry(root).or_insert_with(|| {
            out.push(Component {
                cells: Vec::new(),
                relations: Vec::new(),
            });
            out.len() - 1
        });
        out[i].cells.push(c);
    }
    for (r, rel) in relations.iter().enumerate() {
        if let Some(first) = members(rel, suppressed).next() {
            let root = find(&mut parent, first);
            out[index[&root]].relations.push(r);
        }
    }
    out
}

fn attack_components(
    values: &[i64],
    relations: &[Relation],
    suppressed: &[bool],
    components: &[Component],
    additivity: Additivity,
    protection: f64,
) -> Report {
    components
        .par_iter()
        .map(|c| {
            attack_component(
                values,
                relations,
                suppressed,
                c,
                additivity,
                protection,
                &mut Vec::new(),
            )
        })
        .reduce(Report::default, |mut a, b| {
            a.merge(b);
            a
        })
}

/// One constraint over the component's variables: `sum(coef × x) op rhs`.
struct Row {
    terms: Vec<(usize, f64)>,
    op: ComparisonOp,
    rhs: f64,
}

/// The constraints a relation gives the attacker, given which cells are
/// hidden (`var[c]` is the cell's variable). Returns whether the stated
/// relation had to be relaxed to one the true table satisfies.
fn relation_rows(
    rel: &Relation,
    values: &[i64],
    var: &dyn Fn(usize) -> Option<usize>,
    additivity: Additivity,
    rows: &mut Vec<Row>,
) -> bool {
    let sum_parts: i64 = rel.parts.iter().map(|&p| values[p]).sum();
    let total = values[rel.total];
    // `coef_total × total + coef_part × sum(parts) op 0`, with known cells moved right.
    let linear = |coef_total: f64, coef_part: f64, op: ComparisonOp| {
        let mut terms = Vec::new();
        let mut rhs = 0.0;
        for (c, coef) in std::iter::once((rel.total, coef_total))
            .chain(rel.parts.iter().map(|&p| (p, coef_part)))
        {
            match var(c) {
                Some(v) => terms.push((v, coef)),
                None => rhs -= coef * values[c] as f64,
            }
        }
        Row { terms, op, rhs }
    };
    let mut relaxed = false;
    match additivity {
        Additivity::Additive if total == sum_parts => {
            rows.push(linear(1.0, -1.0, ComparisonOp::Eq));
        }
        Additivity::Additive => {
            relaxed = true;
            if total >= sum_parts {
                rows.push(linear(1.0, -1.0, ComparisonOp::Ge));
            }
        }
        Additivity::Persons => {
            if total <= sum_parts {
                rows.push(linear(1.0, -1.0, ComparisonOp::Le));
            } else {
                relaxed = true;
            }
            for &p in &rel.parts {
                if values[p] > total {
                    relaxed = true;
                    continue;
                }
                // part ≤ total
                let (vt, vp) = (var(rel.total), var(p));
                if vt.is_none() && vp.is_none() {
                    continue;
                }
                let mut terms = Vec::new();
                let mut rhs = 0.0;
                match vp {
                    Some(v) => terms.push((v, 1.0)),
                    None => rhs -= values[p] as f64,
                }
                match vt {
                    Some(v) => terms.push((v, -1.0)),
                    None => rhs += total as f64,
                }
                rows.push(Row {
                    terms,
                    op: ComparisonOp::Le,
                    rhs,
                });
            }
        }
    }
    rows.retain(|r| !r.terms.is_empty());
    relaxed
}

/// Largest neighbourhood solved.
const NEIGHBOURHOOD_CAP: usize = 2000;

/// Radius and size of the patch pushed in a random direction around each unproven cell.
const PATCH_RADIUS: usize = 2;
const PATCH_CAP: usize = 400;

/// (hidden cells followed per relation, radius) of each neighbourhood tried.
const ATTEMPTS: &[(usize, usize)] = &[(1, 4), (2, 3), (usize::MAX, usize::MAX)];

fn attack_component(
    values: &[i64],
    relations: &[Relation],
    suppressed: &[bool],
    comp: &Component,
    additivity: Additivity,
    protection: f64,
    directions: &mut Vec<Vec<(usize, f64)>>,
) -> Report {
    let n = comp.cells.len();
    let local: std::collections::HashMap<usize, usize> = comp
        .cells
        .iter()
        .enumerate()
        .map(|(i, &c)| (c, i))
        .collect();
    // The relations of each cell, and the hidden cells of each relation.
    let mut relations_of: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut hidden: Vec<Vec<usize>> = Vec::with_capacity(comp.relations.len());
    for (k, &r) in comp.relations.iter().enumerate() {
        let rel = &relations[r];
        let cells: Vec<usize> = std::iter::once(rel.total)
            .chain(rel.parts.iter().copied())
            .filter(|&c| suppressed[c])
            .map(|c| local[&c])
            .collect();
        for &i in &cells {
            relations_of[i].push(k);
        }
        hidden.push(cells);
    }
    let mut report = Report {
        components: 1,
        largest_component: n,
        ..Report::default()
    };
    let mut rows = Vec::new();
    {
        let var = |c: usize| suppressed[c].then(|| local[&c]);
        for &r in &comp.relations {
            if relation_rows(&relations[r], values, &var, additivity, &mut rows) {
                report.relaxed_relations += 1;
            }
        }
    }
    // The widest values seen in tables the attacker cannot rule out; the
    // true table is the first.
    let mut lo: Vec<f64> = comp.cells.iter().map(|&c| values[c] as f64).collect();
    let mut hi = lo.clone();
    let mut exact = vec![false; n];
    let wide = |lo: f64, hi: f64| whole_width(lo, hi) >= protection.max(1.0);
    // Directions found for earlier counts: the true table moved along one,
    // as far as this count's constraints allow, is another table the
    // attacker cannot rule out.
    let truth = lo.clone();
    {
        let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (k, row) in rows.iter().enumerate() {
            for &(v, _) in &row.terms {
                rows_of[v].push(k);
            }
        }
        let mut delta = vec![0.0; n];
        for d in directions.iter() {
            if d.iter().all(|&(v, _)| wide(lo[v], hi[v])) {
                continue;
            }
            for &(v, dv) in d {
                delta[v] = dv;
            }
            let (mut t_lo, mut t_hi) = (f64::NEG_INFINITY, f64::INFINITY);
            for &(v, dv) in d {
                if dv < 0.0 {
                    t_hi = t_hi.min(truth[v] / -dv);
                } else {
                    t_lo = t_lo.max(-truth[v] / dv);
                }
            }
            let mut touched: Vec<usize> = d
                .iter()
                .flat_map(|&(v, _)| rows_of[v].iter().copied())
                .collect();
            touched.sort_unstable();
            touched.dedup();
            for k in touched {
                let row = &rows[k];
                let slope: f64 = row.terms.iter().map(|&(v, c)| c * delta[v]).sum();
                let at: f64 = row.terms.iter().map(|&(v, c)| c * truth[v]).sum();
                if slope.abs() < EPS {
                    continue;
                }
                // How far the row lets t go: rhs - at for ≤, at - rhs for ≥.
                let (up, down) = match row.op {
                    ComparisonOp::Eq => (0.0, 0.0),
                    ComparisonOp::Le => ((row.rhs - at).max(0.0), f64::INFINITY),
                    ComparisonOp::Ge => (f64::INFINITY, (at - row.rhs).max(0.0)),
                };
                // lhs(t) = at + t·slope must stay within [at - down, at + up].
                if slope > 0.0 {
                    t_hi = t_hi.min(up / slope);
                    t_lo = t_lo.max(-down / slope);
                } else {
                    t_hi = t_hi.min(down / -slope);
                    t_lo = t_lo.max(-up / -slope);
                }
            }
            for &(v, dv) in d {
                delta[v] = 0.0;
                for t in [t_lo, t_hi] {
                    if t.is_finite() {
                        let x = truth[v] + t * dv;
                        lo[v] = lo[v].min(x);
                        hi[v] = hi[v].max(x);
                    } else if (t > 0.0) == (dv > 0.0) {
                        // An unbounded ray.
                        hi[v] = f64::INFINITY;
                    }
                }
            }
        }
    }
    // Solves with only `free` cells unknown and every other hidden cell at
    // its true value: a smaller feasible set, so any solution is a table the
    // attacker cannot rule out, and an unbounded one is unbounded in full.
    let solve = |free: &[usize], weight: &dyn Fn(usize) -> f64, dir: OptimizationDirection| {
        let position: std::collections::HashMap<usize, usize> = free
            .iter()
            .enumerate()
            .map(|(p, &i)| (comp.cells[i], p))
            .collect();
        let var = |c: usize| position.get(&c).copied();
        let mut touched: Vec<usize> = free
            .iter()
            .flat_map(|&i| relations_of[i].iter().copied())
            .collect();
        touched.sort_unstable();
        touched.dedup();
        let mut rows = Vec::new();
        for k in touched {
            relation_rows(
                &relations[comp.relations[k]],
                values,
                &var,
                additivity,
                &mut rows,
            );
        }
        let mut lp = Problem::new(dir);
        let vars: Vec<_> = free
            .iter()
            .map(|&i| lp.add_var(weight(i), (0.0, f64::INFINITY)))
            .collect();
        add_rows(&mut lp, &vars, &rows);
        match lp.solve() {
            // minilp may report an unbounded programme as an infinite
            // objective with finite values.
            Ok(s) if !s.objective().is_finite() => None,
            Ok(s) => Some(vars.iter().map(|&v| s[v]).collect::<Vec<f64>>()),
            Err(minilp::Error::Unbounded) => None,
            Err(minilp::Error::Infeasible) => {
                panic!("the true table satisfies every constraint given to the attacker")
            }
        }
    };
    // The hidden cells one relation away from `frontier` not yet `seen`,
    // following at most `branch` of them per relation (the largest first).
    let ring = |frontier: &[usize], branch: usize, stamp: usize, seen: &mut [usize]| {
        let mut next = Vec::new();
        for &j in frontier {
            for &k in &relations_of[j] {
                let mut others: Vec<usize> = hidden[k]
                    .iter()
                    .copied()
                    .filter(|&c| seen[c] != stamp)
                    .collect();
                if others.len() > branch {
                    others.sort_by_key(|&c| std::cmp::Reverse(values[comp.cells[c]]));
                    others.truncate(branch);
                }
                for c in others {
                    seen[c] = stamp;
                    next.push(c);
                }
            }
        }
        next
    };
    let mut seen = vec![usize::MAX; n];
    let mut stamp = 0usize;
    for i in 0..n {
        // A zero is not sensitive: no programme of its own (other cells'
        // programmes may still prove it wide).
        if values[comp.cells[i]] == 0 {
            continue;
        }
        // First a patch around the cell, pushed in a random direction and its
        // opposite: one programme moves many hidden cells at once.
        if !wide(lo[i], hi[i]) {
            stamp += 1;
            seen[i] = stamp;
            let mut free = vec![i];
            let mut frontier = vec![i];
            for _ in 0..PATCH_RADIUS {
                let next = ring(&frontier, usize::MAX, stamp, &mut seen);
                if free.len() + next.len() > PATCH_CAP {
                    break;
                }
                free.extend(&next);
                frontier = next;
            }
            let sign: Vec<f64> = free
                .iter()
                .map(|&j| {
                    if wide(lo[j], hi[j]) {
                        0.0
                    } else if (j.wrapping_mul(0x9E37_79B9) ^ i) & 4 == 0 {
                        1.0
                    } else {
                        -1.0
                    }
                })
                .collect();
            let position: std::collections::HashMap<usize, usize> =
                free.iter().enumerate().map(|(p, &j)| (j, p)).collect();
            for flip in [1.0, -1.0] {
                report.programmes += 1;
                if let Some(point) = solve(
                    &free,
                    &|j| flip * sign[position[&j]],
                    OptimizationDirection::Maximize,
                ) {
                    absorb(&free, &point, &truth, &mut lo, &mut hi, directions);
                }
            }
        }
        // Neighbourhoods of growing radius: first following, in each
        // relation, only the hidden cells with the largest values (the
        // cycles that protect a cell are usually short), then every hidden
        // cell, up to the cap.
        for &(branch, max_radius) in ATTEMPTS {
            if wide(lo[i], hi[i]) || exact[i] {
                break;
            }
            stamp += 1;
            seen[i] = stamp;
            let mut free = vec![i];
            let mut frontier = vec![i];
            for _ in 0..max_radius {
                let next = ring(&frontier, branch, stamp, &mut seen);
                if next.is_empty() || free.len() + next.len() > NEIGHBOURHOOD_CAP {
                    // Every hidden cell linked to `i` is free: the interval is exact.
                    exact[i] = next.is_empty() && branch == usize::MAX;
                    if !exact[i] {
                        break;
                    }
                } else {
                    free.extend(&next);
                    frontier = next;
                }
                for dir in [
                    OptimizationDirection::Maximize,
                    OptimizationDirection::Minimize,
                ] {
                    report.programmes += 1;
                    match solve(&free, &|j| if j == i { 1.0 } else { 0.0 }, dir) {
                        Some(point) => {
                            absorb(&free, &point, &truth, &mut lo, &mut hi, directions);
                        }
                        None => hi[i] = f64::INFINITY,
                    }
                    if !exact[i] && wide(lo[i], hi[i]) {
                        break;
                    }
                }
                if exact[i] || wide(lo[i], hi[i]) {
                    break;
                }
            }
        }
    }
    for i in 0..n {
        let value = values[comp.cells[i]];
        report.counts += 1;
        let finding = Finding {
            cell: comp.cells[i],
            measure: 0,
            value,
            min: lo[i],
            max: hi[i],
        };
        if wide(lo[i], hi[i]) {
            report.proven += 1;
        } else if value == 0 {
            report.zeros_pinned += 1;
            continue;
        } else if exact[i] {
            if finding.width() < 1.0 {
                report.pinned.push(finding.clone());
            }
            report.narrow.push(finding.clone());
        } else {
            report.unproven.push(finding.clone());
        }
        if report
            .narrowest
            .as_ref()
            .is_none_or(|f| finding.width() < f.width())
        {
            report.narrowest = Some(finding);
        }
    }
    report
}

/// Adds the constraints, `vars[v]` standing for the rows' variable `v`.
fn add_rows(lp: &mut Problem, vars: &[minilp::Variable], rows: &[Row]) {
    for row in rows {
        let mut expr = LinearExpr::empty();
        for &(v, coef) in &row.terms {
            expr.add(vars[v], coef);
        }
        lp.add_constraint(expr, row.op, row.rhs);
    }
}

/// Widens the seen range of each `free` cell with a solution, and keeps the
/// solution's direction from the true table for the next counts.
fn absorb(
    free: &[usize],
    point: &[f64],
    truth: &[f64],
    lo: &mut [f64],
    hi: &mut [f64],
    directions: &mut Vec<Vec<(usize, f64)>>,
) {
    let mut direction = Vec::new();
    for (&j, &x) in free.iter().zip(point) {
        lo[j] = lo[j].min(x);
        hi[j] = hi[j].max(x);
        if (x - truth[j]).abs() > EPS {
            direction.push((j, x - truth[j]));
        }
    }
    if !direction.is_empty() {
        directions.push(direction);
    }
}

/// The exact interval of every suppressed cell (two programmes each, no
/// shortcut): the reference the tests hold the fast attacker to.
#[cfg(test)]
pub fn exact_intervals(
    values: &[i64],
    relations: &[Relation],
    suppressed: &[bool],
    additivity: Additivity,
) -> Vec<Finding> {
    let var = |c: usize| suppressed[c].then_some(c);
    let mut rows = Vec::new();
    for rel in relations {
        relation_rows(rel, values, &var, additivity, &mut rows);
    }
    let mut out = Vec::new();
    for target in (0..values.len()).filter(|&c| suppressed[c]) {
        let mut bounds = [0.0; 2];
        for (k, dir) in [
            OptimizationDirection::Minimize,
            OptimizationDirection::Maximize,
        ]
        .into_iter()
        .enumerate()
        {
            let mut lp = Problem::new(dir);
            let vars: Vec<_> = (0..values.len())
                .map(|c| {
                    let obj = if c == target { 1.0 } else { 0.0 };
                    if suppressed[c] {
                        lp.add_var(obj, (0.0, f64::INFINITY))
                    } else {
                        // Unused: known cells are already on the right-hand side.
                        lp.add_var(0.0, (0.0, 0.0))
                    }
                })
                .collect();
            add_rows(&mut lp, &vars, &rows);
            bounds[k] = match lp.solve() {
                Ok(s) => s.objective(),
                Err(minilp::Error::Unbounded) => f64::INFINITY,
                Err(e) => panic!("{e}"),
            };
        }
        out.push(Finding {
            cell: target,
            measure: 0,
            value: values[target],
            min: bounds[0],
            max: bounds[1],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disclosure::{is_primary, suppress, CellKey, CubeCells};
    use rand::{Rng, SeedableRng};

    /// A random region × four-month period × dimension cube with its
    /// départements, two months and modalities, every margin included.
    /// Some départements lack a modality, so some relations have one part.
    fn random_cube(rng: &mut impl Rng) -> (Vec<i64>, Vec<Relation>) {
        let depts = rng.gen_range(1..4);
        let mods = rng.gen_range(1..4);
        let months = 2;
        // Index (g, t, m): g = 0 region, 1.. départements; t = 0 period,
        // 1.. months; m = 0 ensemble, 1.. modalities.
        let (ng, nt, nm) = (depts + 1, months + 1, mods + 1);
        let at = |g: usize, t: usize, m: usize| (g * nt + t) * nm + m;
        let mut values = vec![0i64; ng * nt * nm];
        for g in 1..ng {
            for t in 1..nt {
                for m in 1..nm {
                    values[at(g, t, m)] = match rng.gen_range(0..10) {
                        0 => 0,
                        1..=3 => rng.gen_range(1..11),
                        _ => rng.gen_range(11..60),
                    };
                }
            }
        }
        let mut relations = Vec::new();
        let mut rel = |total: usize, parts: Vec<usize>, values: &mut Vec<i64>| {
            values[total] = parts.iter().map(|&p| values[p]).sum();
            relations.push(Relation {
                total,
                parts,
                label: String::new(),
            });
        };
        // Leaves first, then margins: modalities, months, départements.
        for g in 1..ng {
            for t in 1..nt {
                rel(
                    at(g, t, 0),
                    (1..nm).map(|m| at(g, t, m)).collect(),
                    &mut values,
                );
            }
            for m in 0..nm {
                rel(
                    at(g, 0, m),
                    (1..nt).map(|t| at(g, t, m)).collect(),
                    &mut values,
                );
            }
        }
        for t in 0..nt {
            for m in 0..nm {
                rel(
                    at(0, t, m),
                    (1..ng).map(|g| at(g, t, m)).collect(),
                    &mut values,
                );
            }
        }
        // The region's own modality and month relations.
        for t in 1..nt {
            relations.push(Relation {
                total: at(0, t, 0),
                parts: (1..nm).map(|m| at(0, t, m)).collect(),
                label: String::new(),
            });
        }
        for m in 0..nm {
            relations.push(Relation {
                total: at(0, 0, m),
                parts: (1..nt).map(|t| at(0, t, m)).collect(),
                label: String::new(),
            });
        }
        (values, relations)
    }

    fn primary(values: &[i64]) -> Vec<bool> {
        values.iter().map(|&v| is_primary(v, 11)).collect()
    }

    fn cells(values: &[i64], relations: &[Relation]) -> CubeCells {
        let key = CellKey {
            periode: String::new(),
            type_periode: String::new(),
            niveau_geo: String::new(),
            code_geo: None,
            dimension: String::new(),
            modalite: String::new(),
            motif: None,
        };
        CubeCells {
            count_names: vec!["nb_positionnements".into()],
            keys: vec![key; values.len()],
            counts: values.iter().map(|&v| vec![v]).collect(),
            relations: relations.to_vec(),
            parent_region: Default::default(),
        }
    }

    /// Positive suppressed counts whose exact interval is narrower than `p`.
    fn exactly_narrow(
        values: &[i64],
        relations: &[Relation],
        suppressed: &[bool],
        p: f64,
    ) -> Vec<usize> {
        exact_intervals(values, relations, suppressed, Additivity::Additive)
            .into_iter()
            .filter(|f| f.value > 0 && f.width() < p.max(1.0))
            .map(|f| f.cell)
            .collect()
    }

    #[test]
    fn the_fast_attacker_finds_exactly_what_the_exact_one_finds() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut exposed_seen = 0;
        for _ in 0..40 {
            let (values, relations) = random_cube(&mut rng);
            let pattern = suppress(&values, &primary(&values), &relations);
            let suppressed: Vec<bool> = (0..values.len()).map(|c| pattern.suppressed(c)).collect();
            for p in [1.0, 5.0] {
                let fast = attack(&values, &relations, &suppressed, Additivity::Additive, p);
                assert!(
                    fast.unproven.is_empty(),
                    "small components are solved exactly"
                );
                let mut found: Vec<usize> = fast.narrow.iter().map(|f| f.cell).collect();
                found.sort_unstable();
                assert_eq!(found, exactly_narrow(&values, &relations, &suppressed, p));
                exposed_seen += found.len();
            }
        }
        // The singleton rule alone does leave cells exposed on such cubes:
        // the comparison above is not vacuous.
        assert!(exposed_seen > 0);
    }

    /// Directions found for one count are reused for the next: the result
    /// must still be the exact attacker's, count by count.
    #[test]
    fn several_counts_share_directions_and_stay_exact() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        for _ in 0..30 {
            let (first, relations) = random_cube(&mut rng);
            let is_leaf: Vec<bool> = {
                let totals: std::collections::HashSet<usize> =
                    relations.iter().map(|r| r.total).collect();
                (0..first.len()).map(|c| !totals.contains(&c)).collect()
            };
            let derive = |f: &dyn Fn(i64) -> i64| {
                let mut v: Vec<i64> = first
                    .iter()
                    .zip(&is_leaf)
                    .map(|(&x, &leaf)| if leaf { f(x) } else { 0 })
                    .collect();
                for r in &relations {
                    v[r.total] = r.parts.iter().map(|&p| v[p]).sum();
                }
                v
            };
            let measures = [first.clone(), derive(&|x| x / 2), derive(&|x| x % 5)];
            let mut cube = cells(&first, &relations);
            cube.count_names = vec!["a".into(), "b".into(), "c".into()];
            cube.counts = (0..first.len())
                .map(|c| measures.iter().map(|m| m[c]).collect())
                .collect();
            let pattern = cube.protect(11);
            let suppressed: Vec<bool> = (0..first.len()).map(|c| pattern.suppressed(c)).collect();
            let report = attack_cells(&cube, &pattern, 1.0);
            assert!(report.unproven.is_empty());
            for (m, values) in measures.iter().enumerate() {
                let mut found: Vec<usize> = report
                    .narrow
                    .iter()
                    .filter(|f| f.measure == m)
                    .map(|f| f.cell)
                    .collect();
                found.sort_unstable();
                assert_eq!(
                    found,
                    exactly_narrow(values, &relations, &suppressed, 1.0),
                    "count {m}"
                );
            }
        }
    }

    #[test]
    fn reinforced_patterns_resist_the_exact_attacker() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        for _ in 0..40 {
            let (values, relations) = random_cube(&mut rng);
            let cube = cells(&values, &relations);
            for p in [1.0, 3.0] {
                let (pattern, report) = cube.protect_against_attack(11, p, 20);
                let suppressed: Vec<bool> =
                    (0..values.len()).map(|c| pattern.suppressed(c)).collect();
                assert!(report.narrow.is_empty() && report.unproven.is_empty());
                assert_eq!(
                    exactly_narrow(&values, &relations, &suppressed, p),
                    Vec::<usize>::new()
                );
                for c in 0..values.len() {
                    if primary(&values)[c] {
                        assert!(pattern.suppressed(c));
                    }
                }
            }
        }
    }

    #[test]
    fn person_counts_are_bounded_by_their_largest_group_and_their_sum() {
        // Region 12 persons = départements 8 and 7 (4 persons in both,
        // hidden): the attacker knows 8 ≤ 12 and 12 ≤ 8 + x, so x ≥ 4, and
        // x ≤ 12.
        let values = [12, 8, 7];
        let relations = [Relation {
            total: 0,
            parts: vec![1, 2],
            label: String::new(),
        }];
        let found = exact_intervals(
            &values,
            &relations,
            &[false, false, true],
            Additivity::Persons,
        );
        assert_eq!((found[0].min, found[0].max), (4.0, 12.0));
        // As positioning counts this table would be inconsistent (12 ≠ 15):
        // the attacker is then given the weaker total ≥ sum, here none.
        let r = attack(
            &values,
            &relations,
            &[false, false, true],
            Additivity::Additive,
            1.0,
        );
        assert_eq!(r.relaxed_relations, 1);
    }
}
