//! The attacker: how narrowly can a suppressed cell be recomputed?
//!
//! For each count of each suppressed cell, the attacker minimises and then
//! maximises it, subject to every published cell, every relation of the
//! cube and non-negativity (SPEC §5). Positioning counts add up, so their
//! relations are equalities; distinct-person counts do not, so a total lies
//! between its largest group and the sum of its groups. The attacker is
//! given every relation the true table satisfies and nothing weaker.
//!
//! One thing a real attacker knows is not used: a suppressed row that is
//! present in a cube has a population (its cube has no row for an empty
//! group), so its defining count is at least 1, not 0. Its bound here is
//! non-negativity, as SPEC §5 states it (the README says what that leaves
//! open).
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

// The cells' coordinates and indices are hashed in the hot loops: a fast
// hash, not a DoS-resistant one (the keys come from our own cubes).
use foldhash::{HashMap, HashMapExt};

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
    /// Box directions built from the cube's coordinates.
    pub boxes: usize,
    /// Counts proven wide before any programme of their own (by boxes, or
    /// by the directions found for an earlier count).
    pub proven_without_programme: usize,
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
    /// Counts not attacked here because another family proved them: cells
    /// whose whole component, relations and published cells are that
    /// family's (the abandon cube's `ensemble` rows out of the reasons'
    /// reach, proven in the cohort family).
    pub proven_in_family: usize,
    /// The narrowest proven interval among positive counts (a lower bound when proven by witness).
    pub narrowest: Option<Finding>,
}

impl Report {
    /// The counts this report settles: those it proves, and the zeros it
    /// leaves narrow (not sensitive), with the work spent. The counts left
    /// exposed, and the description of the table (cells, components,
    /// relations), are left out: they belong to the next round's report.
    pub fn settled(&self) -> Report {
        Report {
            counts: self.counts - self.narrow.len() - self.unproven.len(),
            programmes: self.programmes,
            boxes: self.boxes,
            proven_without_programme: self.proven_without_programme,
            proven: self.proven,
            zeros_pinned: self.zeros_pinned,
            narrowest: self.narrowest.clone(),
            ..Report::default()
        }
    }

    /// Adds `other`'s counts to this one's.
    pub fn merge(&mut self, other: Report) {
        self.cells += other.cells;
        self.counts += other.counts;
        self.components += other.components;
        self.largest_component = self.largest_component.max(other.largest_component);
        self.programmes += other.programmes;
        self.boxes += other.boxes;
        self.proven_without_programme += other.proven_without_programme;
        self.proven += other.proven;
        self.unproven.extend(other.unproven);
        self.relaxed_relations += other.relaxed_relations;
        self.pinned.extend(other.pinned);
        self.narrow.extend(other.narrow);
        self.zeros_pinned += other.zeros_pinned;
        self.proven_in_family += other.proven_in_family;
        self.narrowest = match (self.narrowest.take(), other.narrowest) {
            (Some(a), Some(b)) => Some(if b.width() < a.width() { b } else { a }),
            (a, b) => a.or(b),
        };
    }
}

const EPS: f64 = 1e-6;

/// A change of some hidden cells (cell, change) that leaves every relation
/// unchanged: the true table moved along it is another table, as far as
/// non-negativity and the attacker's other constraints allow.
pub type Direction = Vec<(usize, f64)>;

/// Attacks every count of a family of cells under its suppression pattern.
///
/// `cap` is the largest neighbourhood solved ([`FAST_CAP`] or
/// [`NEIGHBOURHOOD_CAP`]); a count not proven within it is reported as not
/// proven, and treated as exposed.
pub fn attack_cells(cells: &CubeCells, pattern: &Pattern, protection: f64, cap: usize) -> Report {
    attack_cells_with(cells, pattern, protection, cap, &[], None)
}

/// [`attack_cells`], also trying `hints`: directions (cell, change) that
/// move hidden cells only, such as the ones [`Hider`] hid cells for. Each
/// is checked against every constraint like the attacker's own, so a hint
/// can only prove what is true.
///
/// With `targets` (per count, then per cell), only the counts marked are
/// attacked and reported; the others (proven in an earlier round, say)
/// are left alone. Hiding more cells only takes constraints away from
/// the attacker, so a count proven wide stays wide.
pub fn attack_cells_with(
    cells: &CubeCells,
    pattern: &Pattern,
    protection: f64,
    cap: usize,
    hints: &[Direction],
    targets: Option<&[Vec<bool>]>,
) -> Report {
    attack_in_chunks(cells, pattern, protection, cap, hints, targets, CHUNK)
}

/// [`attack_cells_with`], a large component's counts attacked `chunk` at a
/// time (at most four chunks per thread).
fn attack_in_chunks(
    cells: &CubeCells,
    pattern: &Pattern,
    protection: f64,
    cap: usize,
    hints: &[Direction],
    targets: Option<&[Vec<bool>]>,
    chunk: usize,
) -> Report {
    let suppressed: Vec<bool> = (0..cells.keys.len())
        .map(|c| pattern.suppressed(c))
        .collect();
    let components = components(&suppressed, &cells.relations);
    let mut owner = vec![usize::MAX; suppressed.len()];
    for (k, comp) in components.iter().enumerate() {
        for &c in &comp.cells {
            owner[c] = k;
        }
    }
    // A hint may move hidden cells of several components (a programme moves
    // hidden cells at no cost). No relation holds hidden cells of two
    // components, so each component's part of a hint is a direction of
    // its own. A hint that moves a published cell is dropped.
    let mut hints_of: Vec<Vec<Direction>> = vec![Vec::new(); components.len()];
    for h in hints {
        if h.iter().any(|&(c, _)| owner[c] == usize::MAX) {
            continue;
        }
        let mut parts: std::collections::BTreeMap<usize, Direction> = Default::default();
        for &(c, d) in h {
            parts.entry(owner[c]).or_default().push((c, d));
        }
        for (k, part) in parts {
            hints_of[k].push(part);
        }
    }
    let mut report = Report {
        cells: suppressed.iter().filter(|&&s| s).count(),
        components: components.len(),
        largest_component: components.iter().map(|c| c.cells.len()).max().unwrap_or(0),
        ..Report::default()
    };
    let values: Vec<Vec<i64>> = (0..cells.count_names.len())
        .map(|m| cells.counts.iter().map(|c| c[m]).collect())
        .collect();
    let floors: Vec<Vec<i64>> = (0..cells.count_names.len())
        .map(|m| (0..cells.keys.len()).map(|c| cells.floor(c, m)).collect())
        .collect();
    let aimed = |c: usize, m: usize| targets.is_none_or(|t| t[m][c]);
    // Boxes are searched from the counts attacked and from the hidden cells
    // that share a relation with one: a box found from a neighbour often
    // holds a count its own search missed.
    let near: Option<Vec<Vec<bool>>> = targets.map(|t| {
        t.iter()
            .map(|aimed| {
                let mut near = aimed.clone();
                for rel in &cells.relations {
                    let members = || std::iter::once(&rel.total).chain(&rel.parts);
                    if members().any(|&c| aimed[c]) {
                        for &c in members().filter(|&&c| suppressed[c]) {
                            near[c] = true;
                        }
                    }
                }
                near
            })
            .collect()
    });
    let search_from = |c: usize, m: usize| near.as_ref().is_none_or(|n| n[m][c]);
    // Components in parallel; within one, the counts one after the other,
    // so that the directions found for one count serve the next.
    let boxes = Boxes::new(cells, suppressed.clone());
    // A large component is split into chunks of the counts it attacks, so
    // that both cores work on it; each chunk finds its own directions.
    let threads = rayon::current_num_threads();
    let work: Vec<(usize, std::ops::Range<usize>, bool)> = components
        .iter()
        .enumerate()
        .flat_map(|(k, comp)| {
            let measures = 0..cells.count_names.len();
            let wanted: Vec<usize> = (0..comp.cells.len())
                .filter(|&i| measures.clone().any(|m| aimed(comp.cells[i], m)))
                .collect();
            let chunks = (wanted.len() / chunk).clamp(1, 4 * threads);
            let per = wanted.len().div_ceil(chunks).max(1);
            let bounds: Vec<(usize, std::ops::Range<usize>, bool)> = if wanted.is_empty() {
                vec![(k, 0..0, true)]
            } else {
                wanted
                    .chunks(per)
                    .enumerate()
                    .map(|(j, w)| {
                        let end = wanted
                            .get((j + 1) * per)
                            .copied()
                            .unwrap_or(comp.cells.len());
                        let start = if j == 0 { 0 } else { w[0] };
                        (k, start..end, j == 0)
                    })
                    .collect()
            };
            bounds
        })
        .collect();
    let found = work
        .par_iter()
        .map(|(k, range, first)| {
            let (comp, hints) = (&components[*k], &hints_of[*k]);
            if range.is_empty() {
                // Nothing to attack here; its relations are still counted.
                let mut report = Report::default();
                let var = |c: usize| suppressed[c].then_some(0);
                let mut rows = Vec::new();
                for (m, name) in cells.count_names.iter().enumerate() {
                    for &r in &comp.relations {
                        rows.clear();
                        let relaxed = relation_rows(
                            &cells.relations[r],
                            &values[m],
                            &var,
                            Additivity::of(name),
                            &mut rows,
                        );
                        report.relaxed_relations += usize::from(relaxed);
                    }
                }
                return report;
            }
            let local = comp.local();
            let in_chunk = |c: usize| local.get(&c).is_some_and(|i| range.contains(i));
            let chunk_aimed = |c: usize, m: usize| in_chunk(c) && aimed(c, m);
            let chunk_near = |c: usize, m: usize| in_chunk(c) && search_from(c, m);
            let mut directions: Vec<Vec<(usize, f64)>> = hints
                .iter()
                .map(|h| h.iter().map(|&(c, d)| (local[&c], d)).collect())
                .collect();
            if let Some(b) = &boxes {
                directions.extend(b.directions(comp, &local, protection, &chunk_near));
            }
            let mut report = Report {
                boxes: directions.len(),
                ..Report::default()
            };
            for (m, name) in cells.count_names.iter().enumerate() {
                let mut r = attack_component(
                    &values[m],
                    &cells.relations,
                    &suppressed,
                    comp,
                    Additivity::of(name),
                    protection,
                    Hints {
                        cap,
                        target: &|c| chunk_aimed(c, m),
                        directions: &mut directions,
                        region: &|i| match &boxes {
                            Some(b) => b.region(comp.cells[i], m, &local),
                            None => Vec::new(),
                        },
                        floor: &floors[m],
                    },
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
                if !first {
                    // Counted once per component.
                    r.relaxed_relations = 0;
                }
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

impl Component {
    /// Cell → its index in the component.
    fn local(&self) -> HashMap<usize, usize> {
        self.cells
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, i))
            .collect()
    }
}

/// The suppressed cells whose component holds a relation that `seed`
/// picks. A cell outside it shares no relation, directly or through other
/// suppressed cells, with those relations: they cannot narrow it.
pub(crate) fn reach(
    suppressed: &[bool],
    relations: &[Relation],
    seed: impl Fn(&Relation) -> bool,
) -> Vec<bool> {
    let mut out = vec![false; suppressed.len()];
    for comp in components(suppressed, relations) {
        if comp.relations.iter().any(|&r| seed(&relations[r])) {
            for &c in &comp.cells {
                out[c] = true;
            }
        }
    }
    out
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
    let mut index = HashMap::new();
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
                Hints {
                    cap: NEIGHBOURHOOD_CAP,
                    target: &|_| true,
                    directions: &mut Vec::new(),
                    region: &|_| Vec::new(),
                    floor: &[],
                },
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
    let first = rows.len();
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
    // Only the rows pushed here: `rows` holds a whole component's.
    let mut added = rows.split_off(first);
    added.retain(|r| !r.terms.is_empty());
    rows.append(&mut added);
    relaxed
}

/// Counts attacked per chunk of a large component (at most four chunks per
/// thread).
const CHUNK: usize = 4096;

/// Largest neighbourhood solved when a count must be settled.
pub const NEIGHBOURHOOD_CAP: usize = 2000;

/// Largest neighbourhood solved in the fast rounds of attack and
/// reinforcement: what it cannot prove is reinforced, which costs a few
/// more suppressions but spares the slowest programmes.
pub const FAST_CAP: usize = 400;

/// No programme at all: only the boxes are tried. What they cannot prove is
/// reinforced with a box of its own ([`Hider`]).
pub const BOXES_ONLY: usize = 0;

/// Radius and size of the patch pushed in a random direction around each unproven cell.
const PATCH_RADIUS: usize = 2;
const PATCH_CAP: usize = 400;

/// (hidden cells followed per relation, radius) of each neighbourhood tried.
const ATTEMPTS: &[(usize, usize)] = &[(1, 4), (2, 3), (usize::MAX, usize::MAX)];

/// What the attack of a component starts from, besides the true table.
struct Hints<'a> {
    /// Largest neighbourhood solved.
    cap: usize,
    /// Whether the count of a cell (global index) is attacked.
    target: &'a dyn Fn(usize) -> bool,
    /// Directions found earlier (boxes, earlier counts), in the
    /// component's local indices; the directions found here are added.
    directions: &'a mut Vec<Vec<(usize, f64)>>,
    /// Each cell's box region (local indices), empty without keys.
    region: &'a dyn Fn(usize) -> Vec<usize>,
    /// The least each cell's count can be, as the attacker knows (global
    /// indices; empty: non-negativity only).
    floor: &'a [i64],
}

fn attack_component(
    values: &[i64],
    relations: &[Relation],
    suppressed: &[bool],
    comp: &Component,
    additivity: Additivity,
    protection: f64,
    hints: Hints,
) -> Report {
    let Hints {
        cap,
        directions,
        region,
        target,
        floor,
    } = hints;
    let n = comp.cells.len();
    // The least cell `i` (local index) can be.
    let least = |i: usize| floor.get(comp.cells[i]).map_or(0.0, |&f| f as f64);
    let local = comp.local();
    // The cells whose count is attacked.
    let aimed: Vec<bool> = comp.cells.iter().map(|&c| target(c)).collect();
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
        let mut rows_of: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
        for (k, row) in rows.iter().enumerate() {
            for &(v, c) in &row.terms {
                rows_of[v].push((k, c));
            }
        }
        // Each row's left-hand side on the true table.
        let at: Vec<f64> = rows
            .iter()
            .map(|row| row.terms.iter().map(|&(v, c)| c * truth[v]).sum())
            .collect();
        let mut slope = vec![0.0; rows.len()];
        let mut touched = Vec::new();
        for d in directions.iter() {
            if d.iter().all(|&(v, _)| !aimed[v] || wide(lo[v], hi[v])) {
                continue;
            }
            let (mut t_lo, mut t_hi) = (f64::NEG_INFINITY, f64::INFINITY);
            for &(v, dv) in d {
                let room = truth[v] - least(v);
                if dv < 0.0 {
                    t_hi = t_hi.min(room / -dv);
                } else {
                    t_lo = t_lo.max(-room / dv);
                }
                for &(k, c) in &rows_of[v] {
                    slope[k] += c * dv;
                    touched.push(k);
                }
            }
            touched.sort_unstable();
            touched.dedup();
            for &k in &touched {
                let slope = std::mem::take(&mut slope[k]);
                if slope.abs() < EPS {
                    continue;
                }
                let row = &rows[k];
                // How far the row lets t go: rhs - at for ≤, at - rhs for ≥.
                let (up, down) = match row.op {
                    ComparisonOp::Eq => (0.0, 0.0),
                    ComparisonOp::Le => ((row.rhs - at[k]).max(0.0), f64::INFINITY),
                    ComparisonOp::Ge => (f64::INFINITY, (at[k] - row.rhs).max(0.0)),
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
            touched.clear();
            for &(v, dv) in d {
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
    report.proven_without_programme = (0..n)
        .filter(|&i| aimed[i] && values[comp.cells[i]] > 0 && wide(lo[i], hi[i]))
        .count();
    // Solves with only `free` cells unknown and every other hidden cell at
    // its true value: a smaller feasible set, so any solution is a table the
    // attacker cannot rule out, and an unbounded one is unbounded in full.
    let solve = |free: &[usize], weight: &dyn Fn(usize) -> f64, dir: OptimizationDirection| {
        let position: HashMap<usize, usize> = free
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
            .map(|&i| lp.add_var(weight(i), (least(i), f64::INFINITY)))
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
    // Maximises, then minimises cell `i` over `free`, stopping once it is
    // wide unless the bounds are wanted `exact`. Returns the programmes solved.
    let bound = |free: &[usize],
                 i: usize,
                 exact: bool,
                 lo: &mut [f64],
                 hi: &mut [f64],
                 directions: &mut Vec<Vec<(usize, f64)>>| {
        let mut programmes = 0;
        for dir in [
            OptimizationDirection::Maximize,
            OptimizationDirection::Minimize,
        ] {
            programmes += 1;
            match solve(free, &|j| if j == i { 1.0 } else { 0.0 }, dir) {
                Some(point) => absorb(free, &point, &truth, lo, hi, directions),
                None => hi[i] = f64::INFINITY,
            }
            if !exact && wide(lo[i], hi[i]) {
                break;
            }
        }
        programmes
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
    // With no room for programmes, the boxes are the whole attack.
    let programmes = if cap == BOXES_ONLY { 0 } else { n };
    for i in 0..programmes {
        // A zero is not sensitive: no programme of its own (other cells'
        // programmes may still prove it wide).
        if !aimed[i] || values[comp.cells[i]] == 0 {
            continue;
        }
        // First the cell's box region: a small programme over the corners
        // of every box tried around it, which may combine boxes.
        if !wide(lo[i], hi[i]) {
            let free = region(i);
            if free.len() > 1 {
                report.programmes += bound(&free, i, false, &mut lo, &mut hi, directions);
            }
        }
        // Then a patch around the cell, pushed in a random direction and its
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
            let position: HashMap<usize, usize> =
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
            // Size of the last neighbourhood solved: the next is solved once
            // it has doubled, so a cell costs a few programmes, not one per ring.
            let mut solved = 0;
            for _ in 0..max_radius {
                let next = ring(&frontier, branch, stamp, &mut seen);
                let last = next.is_empty() || free.len() + next.len() > cap;
                if last {
                    // Every hidden cell linked to `i` is free: the interval is exact.
                    exact[i] = next.is_empty() && branch == usize::MAX;
                    if free.len() == solved {
                        // Already solved on this very neighbourhood.
                        break;
                    }
                } else {
                    free.extend(&next);
                    frontier = next;
                    if free.len() < 2 * solved {
                        continue;
                    }
                }
                solved = free.len();
                report.programmes += bound(&free, i, exact[i], &mut lo, &mut hi, directions);
                if last || wide(lo[i], hi[i]) {
                    break;
                }
            }
        }
    }
    for i in (0..n).filter(|&i| aimed[i]) {
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
            if value > 0
                && report
                    .narrowest
                    .as_ref()
                    .is_none_or(|f| finding.width() < f.width())
            {
                report.narrowest = Some(finding);
            }
        } else if value == 0 {
            report.zeros_pinned += 1;
        } else if exact[i] {
            if finding.width() < 1.0 {
                report.pinned.push(finding.clone());
            }
            report.narrow.push(finding);
        } else {
            report.unproven.push(finding);
        }
    }
    report
}

/// Box directions, built from the cube's coordinates.
///
/// A cell sits at (place, period, modality, reason). Along one axis, a
/// *move* adds a unit to the cell and takes one from a hidden sibling (a
/// total moved this way takes its hidden parts along). The product of one
/// move per axis — the corners of a box, signs alternating — leaves every
/// relation of every axis unchanged. If all corners are hidden, the true
/// table moved along the box, as far as non-negativity allows, is a table
/// the attacker cannot rule out: no programme is needed. Every box is
/// checked against the relations before it is used, so a wrong guess costs
/// time, never soundness.
struct Boxes<'a> {
    cells: &'a CubeCells,
    suppressed: Vec<bool>,
    /// Every cell may be a corner (to choose the cells to hide), not only
    /// the hidden ones (to attack)...
    open: bool,
    /// ...except these, published elsewhere.
    locked: Vec<bool>,
    coords: Vec<[u32; AXES]>,
    at: HashMap<[u32; AXES], usize>,
    /// The one axis each relation runs along (its total and parts differ there only).
    axis: Vec<Option<usize>>,
    /// The relations of each cell: (relation, the cell is its total).
    member: Vec<Vec<(usize, bool)>>,
}

/// Place, period, modality, reason.
const AXES: usize = 4;

/// Moves tried along each axis, and boxes kept per cell.
const MOVES_PER_AXIS: usize = 8;
const BOXES_PER_CELL: usize = 64;
/// Moves tried in all when searching the boxes of a cell: by the attacker,
/// and by the hider (which searches only around the counts left exposed).
const SEARCH_BUDGET: usize = 256;
const HIDER_BUDGET: usize = 512;
/// Boxes with room the hider compares before choosing the cheapest.
const HIDER_CHOICES: usize = 8;
/// Largest box region solved as one programme.
const REGION_CAP: usize = 400;
/// Levels a move may climb when a cell has no hidden sibling.
const CLIMB: usize = 2;

impl<'a> Boxes<'a> {
    /// None when the keys do not identify the cells.
    fn new(cells: &'a CubeCells, suppressed: Vec<bool>) -> Option<Self> {
        let mut names: [HashMap<(&str, Option<&str>), u32>; AXES] = Default::default();
        let coords: Vec<[u32; AXES]> = cells
            .keys
            .iter()
            .map(|k| {
                let parts = [
                    (k.niveau_geo.as_str(), k.code_geo.as_deref()),
                    (k.type_periode.as_str(), Some(k.periode.as_str())),
                    (k.dimension.as_str(), Some(k.modalite.as_str())),
                    ("", k.motif.as_deref()),
                ];
                let mut c = [0u32; AXES];
                for (a, name) in parts.into_iter().enumerate() {
                    let next = names[a].len() as u32;
                    c[a] = *names[a].entry(name).or_insert(next);
                }
                c
            })
            .collect();
        let at: HashMap<[u32; AXES], usize> =
            coords.iter().enumerate().map(|(i, &c)| (c, i)).collect();
        if at.len() != coords.len() {
            return None;
        }
        let mut member = vec![Vec::new(); coords.len()];
        let axis = cells
            .relations
            .iter()
            .enumerate()
            .map(|(r, rel)| {
                member[rel.total].push((r, true));
                for &p in &rel.parts {
                    member[p].push((r, false));
                }
                let differ = |p: usize| {
                    (0..AXES)
                        .filter(|&a| coords[p][a] != coords[rel.total][a])
                        .collect::<Vec<_>>()
                };
                let a = differ(*rel.parts.first()?);
                (a.len() == 1 && rel.parts.iter().all(|&p| differ(p) == a)).then(|| a[0])
            })
            .collect();
        Some(Boxes {
            cells,
            suppressed,
            open: false,
            locked: Vec::new(),
            coords,
            at,
            axis,
            member,
        })
    }

    /// Whether `c` may be a corner.
    fn hidden(&self, c: usize) -> bool {
        self.suppressed[c] || (self.open && !self.locked.get(c).copied().unwrap_or(false))
    }

    /// Adds `y` with `sign` to a move along `axis`, with one hidden part of
    /// each relation `y` is the total of (and so on down). False when a
    /// total has no hidden part to move with it.
    fn down(
        &self,
        y: usize,
        axis: usize,
        sign: f64,
        room: &dyn Fn(usize) -> i64,
        out: &mut Vec<(u32, f64)>,
    ) -> bool {
        out.push((self.coords[y][axis], sign));
        self.member[y]
            .iter()
            .filter(|&&(r, total)| total && self.axis[r] == Some(axis))
            .all(|&(r, _)| {
                self.best_part(r, room)
                    .is_some_and(|z| self.down(z, axis, sign, room, out))
            })
    }

    /// The moves of cell `x` along `axis`, in `x`'s own slice: `x` gains
    /// a unit (with its hidden parts), balanced in the relation above it.
    fn moves(&self, x: usize, axis: usize, room: &dyn Fn(usize) -> i64) -> Vec<Vec<(u32, f64)>> {
        let mut base = Vec::new();
        let mut out = Vec::new();
        if self.down(x, axis, 1.0, room, &mut base) {
            self.balance(x, axis, room, base, CLIMB, &mut out);
        }
        out
    }

    /// Completes `base`, where `y` has gained a unit, in the relation above
    /// `y`: a hidden sibling (the roomiest first) loses a unit, or the
    /// parent gains one too and is balanced in turn, at most `climb` levels up.
    fn balance(
        &self,
        y: usize,
        axis: usize,
        room: &dyn Fn(usize) -> i64,
        base: Vec<(u32, f64)>,
        climb: usize,
        out: &mut Vec<Vec<(u32, f64)>>,
    ) {
        let Some(&(r, _)) = self.member[y]
            .iter()
            .find(|&&(r, total)| !total && self.axis[r] == Some(axis))
        else {
            out.push(base);
            return;
        };
        let rel = &self.cells.relations[r];
        let mut siblings: Vec<usize> = rel
            .parts
            .iter()
            .copied()
            .filter(|&s| s != y && self.hidden(s))
            .collect();
        siblings.sort_by_key(|&s| std::cmp::Reverse(room(s)));
        for s in siblings {
            if out.len() == MOVES_PER_AXIS {
                break;
            }
            let mut m = base.clone();
            if self.down(s, axis, -1.0, room, &mut m) {
                out.push(m);
            }
        }
        // Climbing is tried even when siblings abound: in a sparse cube the
        // siblings' boxes may all miss a corner.
        let p = rel.total;
        if climb > 0 && self.hidden(p) {
            let mut m = base;
            m.push((self.coords[p][axis], 1.0));
            // The parent's other relations along the axis gain a unit too.
            let balanced = self.member[p]
                .iter()
                .filter(|&&(r2, total)| total && r2 != r && self.axis[r2] == Some(axis))
                .all(|&(r2, _)| {
                    self.best_part(r2, room)
                        .is_some_and(|z| self.down(z, axis, 1.0, room, &mut m))
                });
            if balanced {
                self.balance(p, axis, room, m, climb - 1, out);
            }
        }
    }

    /// The hidden part of relation `r` with the most room.
    fn best_part(&self, r: usize, room: &dyn Fn(usize) -> i64) -> Option<usize> {
        self.cells.relations[r]
            .parts
            .iter()
            .copied()
            .filter(|&z| self.hidden(z))
            .max_by_key(|&z| room(z))
    }

    /// The hidden cells of the component spanned by the moves of `x` along
    /// every axis (the product of their coordinates), for count `m`: the
    /// boxes tried around `x` and every combination of them. At most
    /// `REGION_CAP` cells: fewer moves per axis are kept if needed.
    fn region(&self, x: usize, m: usize, local: &HashMap<usize, usize>) -> Vec<usize> {
        let room = |c: usize| self.cells.room(c, m);
        let moves: Vec<Vec<Vec<(u32, f64)>>> = (0..AXES).map(|a| self.moves(x, a, &room)).collect();
        for keep in (1..=MOVES_PER_AXIS).rev() {
            let axes: Vec<Vec<u32>> = (0..AXES)
                .map(|a| {
                    let mut v: Vec<u32> = moves[a]
                        .iter()
                        .take(keep)
                        .flatten()
                        .map(|&(c, _)| c)
                        .chain([self.coords[x][a]])
                        .collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                })
                .collect();
            if axes.iter().map(Vec::len).product::<usize>() > REGION_CAP {
                continue;
            }
            let mut coords = vec![self.coords[x]];
            for (a, values) in axes.iter().enumerate() {
                coords = coords
                    .iter()
                    .flat_map(|&c| {
                        values.iter().map(move |&v| {
                            let mut c = c;
                            c[a] = v;
                            c
                        })
                    })
                    .collect();
            }
            return coords
                .iter()
                .filter_map(|c| local.get(self.at.get(c)?).copied())
                .collect();
        }
        Vec::new()
    }

    /// Boxes around `x`, built one axis at a time: along each axis, the
    /// moves of `x` (best ranked first) whose corners all exist and may be
    /// corners. A cube is sparse (an empty group has no cell), so most
    /// products of the best moves have a missing corner: building axis by
    /// axis drops a move as soon as one of its corners is missing. `visit`
    /// gets each box that leaves every relation unchanged, and returns
    /// false to stop; at most `budget` moves are tried in all.
    fn search(
        &self,
        x: usize,
        rank: &dyn Fn(usize) -> i64,
        budget: usize,
        visit: &mut dyn FnMut(Vec<(usize, f64)>) -> bool,
    ) {
        let moves: Vec<Vec<Vec<(u32, f64)>>> = (0..AXES).map(|a| self.moves(x, a, rank)).collect();
        if moves.iter().any(Vec::is_empty) {
            return;
        }
        let mut budget = budget;
        self.extend(vec![(x, 1.0)], 0, &moves, &mut budget, visit);
    }

    /// Extends a partial box (its corners so far) along `axis` and the
    /// next ones. False when the search must stop.
    fn extend(
        &self,
        corners: Vec<(usize, f64)>,
        axis: usize,
        moves: &[Vec<Vec<(u32, f64)>>],
        budget: &mut usize,
        visit: &mut dyn FnMut(Vec<(usize, f64)>) -> bool,
    ) -> bool {
        if axis == AXES {
            return !self.balanced(&corners) || visit(corners);
        }
        for m in &moves[axis] {
            if *budget == 0 {
                return false;
            }
            *budget -= 1;
            // Every move holds the cell's own coordinate first, so the
            // corners so far are kept and new ones added.
            let mut next = Vec::with_capacity(corners.len() * m.len());
            let complete = corners.iter().all(|&(c, s)| {
                m.iter().all(|&(v, t)| {
                    let mut at = self.coords[c];
                    at[axis] = v;
                    match self.at.get(&at) {
                        Some(&cell) if self.hidden(cell) => {
                            next.push((cell, s * t));
                            true
                        }
                        _ => false,
                    }
                })
            });
            if complete && !self.extend(next, axis + 1, moves, budget, visit) {
                return false;
            }
        }
        true
    }

    /// Whether moving `corners` (cell, sign) leaves every relation unchanged.
    fn balanced(&self, corners: &[(usize, f64)]) -> bool {
        let mut sums: Vec<(usize, f64)> = corners
            .iter()
            .flat_map(|&(c, s)| {
                self.member[c]
                    .iter()
                    .map(move |&(r, total)| (r, if total { -s } else { s }))
            })
            .collect();
        sums.sort_by_key(|&(r, _)| r);
        sums.chunk_by(|a, b| a.0 == b.0)
            .all(|g| g.iter().map(|&(_, s)| s).sum::<f64>().abs() < EPS)
    }

    /// Boxes through the component's cells (those `aimed`) until every
    /// positive count of each is moved at least `protection` by
    /// non-negativity and the floors alone (the attacker's other
    /// constraints are applied later, count by count).
    /// Directions are in the component's local indices.
    fn directions(
        &self,
        comp: &Component,
        local: &HashMap<usize, usize>,
        protection: f64,
        aimed: &dyn Fn(usize, usize) -> bool,
    ) -> Vec<Vec<(usize, f64)>> {
        let counts = &self.cells.counts;
        let measures = self.cells.count_names.len();
        let mut directions: Vec<Vec<(usize, f64)>> = Vec::new();
        // For each cell of the component and each count: how far the boxes
        // found so far move it down and up by non-negativity alone (the
        // smallest value among the corners of each sign of a box).
        let mut reach: Vec<[i64; 2]> = vec![[0, 0]; comp.cells.len() * measures];
        let covered = |x: usize, m: usize, reach: &[[i64; 2]]| {
            let v = counts[x][m];
            let [down, up] = reach[local[&x] * measures + m];
            v == 0 || whole_width((v - down) as f64, (v + up) as f64) >= protection.max(1.0)
        };
        for &x in &comp.cells {
            for m in 0..measures {
                if !aimed(x, m) || covered(x, m, &reach) {
                    continue;
                }
                let key = |c: usize| self.cells.room(c, m);
                let mut found = 0;
                self.search(x, &key, SEARCH_BUDGET, &mut |cells| {
                    if !cells.iter().all(|(c, _)| local.contains_key(c)) {
                        return true;
                    }
                    let mut r = [vec![i64::MAX; measures], vec![i64::MAX; measures]];
                    for &(c, s) in &cells {
                        let side = &mut r[usize::from(s < 0.0)];
                        for (k, v) in side.iter_mut().enumerate() {
                            *v = (*v).min(self.cells.room(c, k));
                        }
                    }
                    // A box that moves no count further than those found
                    // already is not kept.
                    let mut improves = false;
                    for &(c, s) in &cells {
                        let [with, against] = if s > 0.0 {
                            [&r[0], &r[1]]
                        } else {
                            [&r[1], &r[0]]
                        };
                        for k in 0..measures {
                            let e = &mut reach[local[&c] * measures + k];
                            if with[k] > e[0] || against[k] > e[1] {
                                improves = true;
                                e[0] = e[0].max(with[k]);
                                e[1] = e[1].max(against[k]);
                            }
                        }
                    }
                    if !improves {
                        return true;
                    }
                    directions.push(cells.iter().map(|&(c, s)| (local[&c], s)).collect());
                    found += 1;
                    found < BOXES_PER_CELL && !covered(x, m, &reach)
                });
            }
        }
        directions
    }
}

/// Chooses the cells to hide so that a count the attacker could not prove
/// becomes a corner of a box of hidden cells that moves it: the hypercube
/// method of secondary suppression, used to reinforce a pattern. The
/// attacker still has to find and check the box itself.
pub struct Hider<'a> {
    boxes: Boxes<'a>,
    /// Cells hidden by this hider.
    fresh: Vec<bool>,
    /// The boxes and the tables it hid cells for: (cell, change) each.
    pub hints: Vec<Direction>,
}

impl<'a> Hider<'a> {
    /// None when the keys do not identify the cells. Cells marked `locked`
    /// are published elsewhere and never hidden.
    pub fn new(cells: &'a CubeCells, pattern: &Pattern, locked: &[bool]) -> Option<Self> {
        let suppressed = (0..cells.keys.len())
            .map(|c| pattern.suppressed(c))
            .collect();
        let mut boxes = Boxes::new(cells, suppressed)?;
        boxes.open = true;
        boxes.locked = locked.to_vec();
        let fresh = vec![false; cells.keys.len()];
        Some(Hider {
            boxes,
            fresh,
            hints: Vec::new(),
        })
    }

    /// The cells not hidden yet of the cheapest box found around count `m`
    /// of cell `x` that moves it at least one unit (fewest new cells, then
    /// smallest `size`); they count as hidden from now on. None when no
    /// box is found, or when the best is hidden already and none of its
    /// cells was hidden here (the attacker should have found it).
    pub fn hide_box(&mut self, x: usize, m: usize, size: &[i64]) -> Option<Vec<usize>> {
        let b = &self.boxes;
        // Siblings ranked: hidden with room, then those not hidden with
        // room (the smallest first, or the largest: a cube is sparse, and a
        // large cell's neighbours are less often missing), then the rest.
        const TIER: i64 = 1 << 40;
        let mut best: Option<((usize, i64), Vec<usize>, Direction)> = None;
        for largest in [false, true] {
            let rank = |c: usize| -> i64 {
                let v = b.cells.room(c, m);
                let small = if largest { size[c] } else { -size[c] }.clamp(1 - TIER, TIER - 1);
                match (b.suppressed[c], v >= 1) {
                    (true, true) => 3 * TIER + v.min(TIER - 1),
                    (false, true) => 2 * TIER + small,
                    (true, false) => 0,
                    (false, false) => -TIER + small,
                }
            };
            let mut found = 0;
            b.search(x, &rank, HIDER_BUDGET, &mut |corners| {
                let room = |negative: bool| {
                    corners
                        .iter()
                        .filter(|&&(_, s)| (s < 0.0) == negative)
                        .map(|&(c, _)| b.cells.room(c, m))
                        .min()
                        .unwrap_or(i64::MAX)
                };
                if room(false) >= 1 || room(true) >= 1 {
                    let new: Vec<usize> = corners
                        .iter()
                        .map(|&(c, _)| c)
                        .filter(|&c| !b.suppressed[c])
                        .collect();
                    let fresh = corners.iter().any(|&(c, _)| self.fresh[c]);
                    let cost = (new.len(), new.iter().map(|&c| size[c]).sum::<i64>());
                    if (fresh || !new.is_empty()) && best.as_ref().is_none_or(|(k, _, _)| cost < *k)
                    {
                        best = Some((cost, new, corners));
                    }
                    found += 1;
                }
                found < HIDER_CHOICES
            });
            if best.is_some() {
                break;
            }
        }
        let (_, new, corners) = best?;
        for &c in &new {
            self.boxes.suppressed[c] = true;
            self.fresh[c] = true;
        }
        self.hints.push(corners);
        Some(new)
    }
}

impl Hider<'_> {
    /// The cells to hide so that count `m` of cell `x` can move one unit
    /// when no box does: one programme over the cells within `radius`
    /// relations of `x` (at most `cap`), hidden or not, finds the table
    /// closest to the true one (fewest units moved on cells not hidden yet,
    /// the small ones cheaper) where `x` has moved one unit down (or up)
    /// and every relation still holds. The cells it moves are hidden. None
    /// when no such table exists within the neighbourhood.
    pub fn hide_by_programme(
        &mut self,
        x: usize,
        m: usize,
        size: &[i64],
        radius: usize,
        cap: usize,
    ) -> Option<Vec<usize>> {
        let b = &self.boxes;
        let relations = &b.cells.relations;
        let value = |c: usize| b.cells.counts[c][m] as f64;
        let room = |c: usize| b.cells.room(c, m) as f64;
        let persons = Additivity::of(&b.cells.count_names[m]) == Additivity::Persons;
        let mut index: HashMap<usize, usize> = [(x, 0)].into_iter().collect();
        let mut cells = vec![x];
        let mut touched: Vec<usize> = Vec::new();
        let mut frontier = vec![x];
        for _ in 0..radius {
            if frontier.is_empty() {
                break;
            }
            let mut next = Vec::new();
            for &c in &frontier {
                for &(r, _) in &b.member[c] {
                    touched.push(r);
                    let rel = &relations[r];
                    for &y in std::iter::once(&rel.total).chain(&rel.parts) {
                        if cells.len() < cap && !index.contains_key(&y) {
                            index.insert(y, cells.len());
                            cells.push(y);
                            next.push(y);
                        }
                    }
                }
            }
            frontier = next;
        }
        touched.sort_unstable();
        touched.dedup();
        // The relations of the outer ring too: their other cells stay fixed.
        let outer: Vec<usize> = frontier
            .iter()
            .flat_map(|&c| b.member[c].iter().map(|&(r, _)| r))
            .collect();
        touched.extend(outer);
        touched.sort_unstable();
        touched.dedup();
        for direction in [-1.0, 1.0] {
            if direction < 0.0 && room(x) < 1.0 {
                continue;
            }
            let mut lp = Problem::new(OptimizationDirection::Minimize);
            // Each cell moves by up − down, and stays at or above its floor.
            let vars: Vec<(minilp::Variable, minilp::Variable)> = cells
                .iter()
                .map(|&c| {
                    let cost = if c == x || b.suppressed[c] {
                        0.0
                    } else {
                        1.0 + (size[c].max(0) as f64).ln_1p()
                    };
                    if c == x {
                        let (up, down) = if direction > 0.0 {
                            (1.0, 0.0)
                        } else {
                            (0.0, 1.0)
                        };
                        (lp.add_var(0.0, (up, up)), lp.add_var(0.0, (down, down)))
                    } else if !b.hidden(c) {
                        // Published elsewhere: it stays.
                        (lp.add_var(0.0, (0.0, 0.0)), lp.add_var(0.0, (0.0, 0.0)))
                    } else {
                        (
                            lp.add_var(cost, (0.0, f64::INFINITY)),
                            lp.add_var(cost, (0.0, room(c))),
                        )
                    }
                })
                .collect();
            let change = |expr: &mut LinearExpr, c: usize, coef: f64| {
                if let Some(&i) = index.get(&c) {
                    expr.add(vars[i].0, coef);
                    expr.add(vars[i].1, -coef);
                }
            };
            for &r in &touched {
                let rel = &relations[r];
                let mut expr = LinearExpr::empty();
                for (c, coef) in
                    std::iter::once((rel.total, -1.0)).chain(rel.parts.iter().map(|&p| (p, 1.0)))
                {
                    change(&mut expr, c, coef);
                }
                lp.add_constraint(expr, ComparisonOp::Eq, 0.0);
                // Persons: no part may outgrow its total, as the attacker knows.
                if persons {
                    for &p in &rel.parts {
                        let slack = value(rel.total) - value(p);
                        if slack >= 0.0
                            && (index.contains_key(&p) || index.contains_key(&rel.total))
                        {
                            let mut expr = LinearExpr::empty();
                            change(&mut expr, p, 1.0);
                            change(&mut expr, rel.total, -1.0);
                            lp.add_constraint(expr, ComparisonOp::Le, slack);
                        }
                    }
                }
            }
            let solved = lp.solve();
            let Ok(solution) = solved else {
                continue;
            };
            let moved: Vec<(usize, f64)> = cells
                .iter()
                .zip(&vars)
                .map(|(&c, &(up, down))| (c, solution[up] - solution[down]))
                .filter(|&(_, d)| d.abs() > EPS)
                .collect();
            let new: Vec<usize> = moved
                .iter()
                .map(|&(c, _)| c)
                .filter(|&c| !b.suppressed[c])
                .collect();
            for &c in &new {
                self.boxes.suppressed[c] = true;
                self.fresh[c] = true;
            }
            self.hints.push(moved);
            return Some(new);
        }
        None
    }
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
/// shortcut), each cell at least its `floor` (empty: 0): the reference the
/// tests hold the fast attacker to.
#[cfg(test)]
pub fn exact_intervals(
    values: &[i64],
    relations: &[Relation],
    suppressed: &[bool],
    additivity: Additivity,
    floor: &[i64],
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
                        let least = floor.get(c).map_or(0.0, |&f| f as f64);
                        lp.add_var(obj, (least, f64::INFINITY))
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
    fn random_cube(rng: &mut impl Rng) -> (Vec<i64>, Vec<Relation>, Vec<CellKey>) {
        let depts = rng.gen_range(1..4);
        let mods = rng.gen_range(1..4);
        grid(depts, 2, mods, &mut || match rng.gen_range(0..10) {
            0 => 0,
            1..=3 => rng.gen_range(1..11),
            _ => rng.gen_range(11..60),
        })
    }

    /// A region × period × dimension cube of `depts` départements,
    /// `months` months and `mods` modalities, every margin included, with
    /// the keys the cube's cells would have.
    fn grid(
        depts: usize,
        months: usize,
        mods: usize,
        leaf: &mut dyn FnMut() -> i64,
    ) -> (Vec<i64>, Vec<Relation>, Vec<CellKey>) {
        // Index (g, t, m): g = 0 region, 1.. départements; t = 0 period,
        // 1.. months; m = 0 ensemble, 1.. modalities.
        let (ng, nt, nm) = (depts + 1, months + 1, mods + 1);
        let at = |g: usize, t: usize, m: usize| (g * nt + t) * nm + m;
        let mut values = vec![0i64; ng * nt * nm];
        let mut keys = Vec::with_capacity(values.len());
        for g in 0..ng {
            for t in 0..nt {
                for m in 0..nm {
                    keys.push(CellKey {
                        periode: if t == 0 {
                            "2026-T1".into()
                        } else {
                            format!("2026-{t:02}")
                        },
                        type_periode: if t == 0 { "quadrimestre" } else { "mois" }.into(),
                        niveau_geo: if g == 0 { "region" } else { "departement" }.into(),
                        code_geo: Some(format!("g{g}")),
                        dimension: if m == 0 { "ensemble" } else { "dim" }.into(),
                        modalite: if m == 0 {
                            "ensemble".into()
                        } else {
                            format!("m{m}")
                        },
                        motif: None,
                    });
                    if g > 0 && t > 0 && m > 0 {
                        values[at(g, t, m)] = leaf();
                    }
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
        // The modalities of the départements' periods, and the region's
        // own modality and month relations.
        for g in 1..ng {
            relations.push(Relation {
                total: at(g, 0, 0),
                parts: (1..nm).map(|m| at(g, 0, m)).collect(),
                label: String::new(),
            });
        }
        for t in 0..nt {
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
        (values, relations, keys)
    }

    fn primary(values: &[i64]) -> Vec<bool> {
        values.iter().map(|&v| is_primary(v, 11)).collect()
    }

    fn cells(values: &[i64], relations: &[Relation], keys: &[CellKey]) -> CubeCells {
        CubeCells {
            count_names: vec!["nb_positionnements".into()],
            keys: keys.to_vec(),
            counts: values.iter().map(|&v| vec![v]).collect(),
            floors: Vec::new(),
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
        exact_intervals(values, relations, suppressed, Additivity::Additive, &[])
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
            let (values, relations, keys) = random_cube(&mut rng);
            let pattern = suppress(&values, &primary(&values), &relations);
            let suppressed: Vec<bool> = (0..values.len()).map(|c| pattern.suppressed(c)).collect();
            let cube = cells(&values, &relations, &keys);
            for p in [1.0, 5.0] {
                let exact = exactly_narrow(&values, &relations, &suppressed, p);
                // Without the cube's keys (programmes only), then with them (boxes first).
                let plain = attack(&values, &relations, &suppressed, Additivity::Additive, p);
                let boxed = attack_cells(&cube, &pattern, p, NEIGHBOURHOOD_CAP);
                // Two counts at a time, each chunk with its own directions.
                let chunked = attack_in_chunks(&cube, &pattern, p, NEIGHBOURHOOD_CAP, &[], None, 2);
                assert_eq!(chunked.counts, boxed.counts, "each count attacked once");
                for fast in [plain, boxed, chunked] {
                    assert!(
                        fast.unproven.is_empty(),
                        "small components are solved exactly"
                    );
                    let mut found: Vec<usize> = fast.narrow.iter().map(|f| f.cell).collect();
                    found.sort_unstable();
                    assert_eq!(found, exact);
                }
                // Only the counts of odd cells: the same verdict on those.
                let odd = vec![(0..values.len()).map(|c| c % 2 == 1).collect::<Vec<bool>>()];
                let some =
                    attack_cells_with(&cube, &pattern, p, NEIGHBOURHOOD_CAP, &[], Some(&odd));
                let mut found: Vec<usize> = some.narrow.iter().map(|f| f.cell).collect();
                found.sort_unstable();
                let odd_exact: Vec<usize> = exact.iter().copied().filter(|c| c % 2 == 1).collect();
                assert_eq!(found, odd_exact);
                assert_eq!(
                    some.counts,
                    (0..values.len())
                        .filter(|&c| c % 2 == 1 && suppressed[c])
                        .count()
                );
                exposed_seen += exact.len();
            }
        }
        // The singleton rule alone does leave cells exposed on such cubes:
        // the comparison above is not vacuous.
        assert!(exposed_seen > 0);
    }

    /// A hint that moves hidden cells of two components proves the counts
    /// of both: each component is given its part.
    #[test]
    fn a_hint_across_components_proves_each_part() {
        // Two 2 × 2 blocks of hidden cells (5 each) with published margins
        // (10 each), keys that do not identify the cells (so no box).
        let mut values = Vec::new();
        let mut relations = Vec::new();
        for block in 0..2 {
            let o = 8 * block;
            values.extend([5, 5, 5, 5, 10, 10, 10, 10]);
            for (total, parts) in [(4, [0, 1]), (5, [2, 3]), (6, [0, 2]), (7, [1, 3])] {
                relations.push(Relation {
                    total: o + total,
                    parts: parts.iter().map(|p| o + p).collect(),
                    label: String::new(),
                });
            }
        }
        let key = CellKey {
            periode: "2025-T1".into(),
            type_periode: "quadrimestre".into(),
            niveau_geo: "france".into(),
            code_geo: None,
            dimension: "ensemble".into(),
            modalite: "ensemble".into(),
            motif: None,
        };
        let cube = cells(&values, &relations, &vec![key; values.len()]);
        let pattern = Pattern {
            flags: (0..values.len())
                .map(|c| (c % 8 < 4).then_some(crate::disclosure::Flag::Primary))
                .collect(),
            audit: Vec::new(),
            witnesses: Vec::new(),
        };
        let none = attack_cells_with(&cube, &pattern, 1.0, BOXES_ONLY, &[], None);
        assert_eq!((none.proven, none.unproven.len()), (0, 8));
        let hint: Direction = [0, 8]
            .iter()
            .flat_map(|&o| [(o, 1.0), (o + 1, -1.0), (o + 2, -1.0), (o + 3, 1.0)])
            .collect();
        let hinted = attack_cells_with(&cube, &pattern, 1.0, BOXES_ONLY, &[hint], None);
        assert_eq!((hinted.proven, hinted.unproven.len()), (8, 0));
    }

    /// Directions found for one count are reused for the next: the result
    /// must still be the exact attacker's, count by count.
    #[test]
    fn several_counts_share_directions_and_stay_exact() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        for _ in 0..30 {
            let (first, relations, keys) = random_cube(&mut rng);
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
            let mut cube = cells(&first, &relations, &keys);
            cube.count_names = vec!["a".into(), "b".into(), "c".into()];
            cube.counts = (0..first.len())
                .map(|c| measures.iter().map(|m| m[c]).collect())
                .collect();
            let pattern = cube.protect(11);
            let suppressed: Vec<bool> = (0..first.len()).map(|c| pattern.suppressed(c)).collect();
            let report = attack_cells(&cube, &pattern, 1.0, NEIGHBOURHOOD_CAP);
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
            let (values, relations, keys) = random_cube(&mut rng);
            let cube = cells(&values, &relations, &keys);
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

    /// Small cells everywhere below the département margins: each hidden
    /// cell is a corner of boxes of hidden cells, and the boxes alone prove
    /// every count wide, with no programme.
    #[test]
    fn boxes_prove_a_grid_of_small_cells_without_programmes() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        let (values, relations, keys) = grid(4, 4, 3, &mut || rng.gen_range(1..11));
        let cube = cells(&values, &relations, &keys);
        let pattern = cube.protect(11);
        let suppressed: Vec<bool> = (0..values.len()).map(|c| pattern.suppressed(c)).collect();
        // 4 × 4 × 3 small leaves, all hidden.
        assert!(suppressed.iter().filter(|&&s| s).count() >= 48);
        let report = attack_cells(&cube, &pattern, 1.0, NEIGHBOURHOOD_CAP);
        assert_eq!(report.programmes, 0);
        assert_eq!(report.proven, report.counts);
        assert!(exactly_narrow(&values, &relations, &suppressed, 1.0).is_empty());
        // Without the keys the same proof takes programmes.
        let plain = attack(&values, &relations, &suppressed, Additivity::Additive, 1.0);
        assert!(plain.programmes > 0 && plain.narrow.is_empty());
    }

    /// Each count the boxes do not prove gets a box of its own, which the
    /// attacker then finds: on random cubes, rounds of boxes (and of
    /// relations where no box fits) end with every count proven by boxes
    /// alone, and the exact attacker agrees.
    #[test]
    fn hidden_boxes_protect_random_cubes_without_programmes() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(19);
        let mut boxed = 0;
        for _ in 0..40 {
            let (values, relations, keys) = random_cube(&mut rng);
            let cube = cells(&values, &relations, &keys);
            let mut pattern = cube.protect(11);
            let mut report = attack_cells(&cube, &pattern, 1.0, BOXES_ONLY);
            for _ in 0..20 {
                let exposed: Vec<(usize, usize)> = report
                    .unproven
                    .iter()
                    .map(|f| (f.cell, f.measure))
                    .collect();
                if exposed.is_empty() {
                    break;
                }
                let mut hider = Hider::new(&cube, &pattern, &[]).unwrap();
                let mut left = Vec::new();
                for &(x, m) in &exposed {
                    match hider.hide_box(x, m, &values) {
                        Some(new) => {
                            for c in new {
                                pattern.flags[c] = Some(crate::disclosure::Flag::Secondary);
                            }
                        }
                        None => left.push((x, m)),
                    }
                }
                let left_cells: Vec<usize> = left.iter().map(|&(c, _)| c).collect();
                crate::disclosure::reinforce(&values, &mut pattern, &relations, &[], &left_cells);
                report = attack_cells(&cube, &pattern, 1.0, BOXES_ONLY);
                for f in &report.unproven {
                    assert!(
                        left.contains(&(f.cell, f.measure))
                            || !exposed.contains(&(f.cell, f.measure)),
                        "a count given a box is proven by it"
                    );
                }
                boxed += exposed.len() - left.len();
            }
            assert_eq!(report.programmes, 0);
            assert!(report.unproven.is_empty() && report.narrow.is_empty());
            let suppressed: Vec<bool> = (0..values.len()).map(|c| pattern.suppressed(c)).collect();
            assert_eq!(
                exactly_narrow(&values, &relations, &suppressed, 1.0),
                Vec::<usize>::new()
            );
        }
        // The singleton rule alone leaves counts the boxes do not prove.
        assert!(boxed > 0);
    }

    /// The programme that chooses cells to hide gives each count it is run
    /// for a table, with only hidden cells moved, where the count has moved
    /// one unit: the exact attacker then finds it at least one unit wide.
    #[test]
    fn cells_hidden_by_a_programme_move_the_count_one_unit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(23);
        let mut tried = 0;
        for _ in 0..40 {
            let (values, relations, keys) = random_cube(&mut rng);
            let cube = cells(&values, &relations, &keys);
            let mut pattern = cube.protect(11);
            let suppressed: Vec<bool> = (0..values.len()).map(|c| pattern.suppressed(c)).collect();
            let exposed = exactly_narrow(&values, &relations, &suppressed, 1.0);
            let Some(&x) = exposed.first() else {
                continue;
            };
            let mut hider = Hider::new(&cube, &pattern, &[]).unwrap();
            let new = hider
                .hide_by_programme(x, 0, &values, usize::MAX, usize::MAX)
                .expect("a whole cube always lets a cell move");
            assert!(!new.is_empty());
            for c in new {
                pattern.flags[c] = Some(crate::disclosure::Flag::Secondary);
            }
            let suppressed: Vec<bool> = (0..values.len()).map(|c| pattern.suppressed(c)).collect();
            let after =
                exact_intervals(&values, &relations, &suppressed, Additivity::Additive, &[]);
            let f = after.iter().find(|f| f.cell == x).unwrap();
            assert!(f.width() >= 1.0 - EPS, "{f:?}");
            tried += 1;
        }
        assert!(tried > 0);
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
            &[],
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

    /// The floors of a cube whose every row exists because someone is in
    /// it: each count at least 1 where it is positive.
    fn present(values: &[i64]) -> Vec<i64> {
        values.iter().map(|&v| v.min(1)).collect()
    }

    /// Two hidden cells of 1 whose sum is published: non-negativity leaves
    /// each in [0, 2], but a row that exists holds someone, so both are 1.
    /// The attacker told the floors finds them pinned, and the defence
    /// hides a third cell.
    #[test]
    fn a_row_that_exists_counts_at_least_one() {
        // Region 22 = modalities 1 + 1 + 20, one period, one département.
        let (mut values, relations, keys) = grid(1, 1, 3, &mut || 0);
        let leaves = [1, 1, 20];
        for (c, k) in keys.iter().enumerate() {
            let m = ["ensemble", "m1", "m2", "m3"]
                .iter()
                .position(|&n| n == k.modalite)
                .unwrap();
            values[c] = if m == 0 { 22 } else { leaves[m - 1] };
        }
        let mut cube = cells(&values, &relations, &keys);
        let pattern = cube.protect(11);
        let suppressed: Vec<bool> = (0..values.len()).map(|c| pattern.suppressed(c)).collect();
        let hidden: Vec<usize> = (0..values.len()).filter(|&c| suppressed[c]).collect();
        assert!(hidden.iter().all(|&c| values[c] == 1));
        let floor = present(&values);
        let exact = |s: &[bool], floor: &[i64]| {
            exact_intervals(&values, &relations, s, Additivity::Additive, floor)
        };
        assert!(exact(&suppressed, &[]).iter().all(|f| f.width() >= 1.0));
        assert!(exact(&suppressed, &floor).iter().all(|f| f.width() < EPS));
        // The fast attacker agrees, once told the floors.
        assert!(attack_cells(&cube, &pattern, 1.0, NEIGHBOURHOOD_CAP)
            .narrow
            .is_empty());
        cube.floors = floor.iter().map(|&f| vec![f]).collect();
        let report = attack_cells(&cube, &pattern, 1.0, NEIGHBOURHOOD_CAP);
        assert_eq!(report.pinned.len(), hidden.len());
        let (defended, report) = cube.protect_against_attack(11, 1.0, 20);
        assert!(report.narrow.is_empty() && report.unproven.is_empty());
        let suppressed: Vec<bool> = (0..values.len()).map(|c| defended.suppressed(c)).collect();
        assert!(suppressed.iter().filter(|&&s| s).count() > hidden.len());
        assert!(exact(&suppressed, &floor)
            .iter()
            .all(|f| f.width() >= 1.0 - EPS));
    }

    /// On random cubes whose rows all hold someone, the defended pattern
    /// resists the exact attacker told the floors (property test).
    #[test]
    fn reinforced_patterns_resist_the_attacker_who_knows_the_floors() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(29);
        let mut floored = 0;
        for _ in 0..40 {
            // Many cells of 1 or 2, where the floors bite.
            let (depts, mods) = (rng.gen_range(1..4), rng.gen_range(1..4));
            let (values, relations, keys) =
                grid(depts, 2, mods, &mut || match rng.gen_range(0..10) {
                    0 => 0,
                    1..=4 => rng.gen_range(1..3),
                    _ => rng.gen_range(11..40),
                });
            let floor = present(&values);
            let mut cube = cells(&values, &relations, &keys);
            cube.floors = floor.iter().map(|&f| vec![f]).collect();
            let (pattern, report) = cube.protect_against_attack(11, 1.0, 20);
            let suppressed: Vec<bool> = (0..values.len()).map(|c| pattern.suppressed(c)).collect();
            assert!(report.narrow.is_empty() && report.unproven.is_empty());
            let narrow: Vec<Finding> = exact_intervals(
                &values,
                &relations,
                &suppressed,
                Additivity::Additive,
                &floor,
            )
            .into_iter()
            .filter(|f| f.value > 0 && f.width() < 1.0 - EPS)
            .collect();
            assert!(narrow.is_empty(), "{narrow:?}");
            // The floors matter: on the first pattern (no attack), some
            // counts non-negativity leaves wide are narrow with the floors.
            let first = cells(&values, &relations, &keys).protect(11);
            let suppressed: Vec<bool> = (0..values.len()).map(|c| first.suppressed(c)).collect();
            let narrow = |floor: &[i64]| -> Vec<usize> {
                exact_intervals(
                    &values,
                    &relations,
                    &suppressed,
                    Additivity::Additive,
                    floor,
                )
                .into_iter()
                .filter(|f| f.value > 0 && f.width() < 1.0 - EPS)
                .map(|f| f.cell)
                .collect()
            };
            floored += usize::from(narrow(&floor).len() > narrow(&[]).len());
        }
        assert!(floored > 0);
    }
}
