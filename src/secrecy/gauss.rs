//! Secondary suppression by Gaussian elimination, after Langsrud (2024),
//! "Secondary cell suppression by Gaussian elimination", the method of
//! Statistics Norway's GaussSuppression.
//!
//! What the recipient knows is a linear space: the relations between cells
//! (rows over the cells) and every published cell. A primary cell `u` is
//! disclosed exactly when `e_u` lies in that space. The cells are taken in
//! order of preference, the most wanted published first; a cell is
//! published unless publishing it would put some primary cell in the
//! space, in which case it is suppressed (`D`).
//!
//! The space is kept in reduced form over the cells not published yet:
//! each row has a pivot column that no other row has. Publishing a cell
//! removes its column. `e_u` is in the space exactly when a row is a
//! multiple of `e_u`, so each step only looks at the rows it changes.
//! Arithmetic is on integers (rows scaled to coprime coefficients), never
//! on floats: 3.9999999 is not "wide".

use rayon::prelude::*;

/// Why a cell is not published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    /// Below the threshold, or its complement in its whole is (`A`).
    Primary,
    /// Publishing it would have disclosed this primary cell (`D`).
    Protects(usize),
    /// Its coefficients outgrew 64 bits: suppressed to stay on the safe side (`D`).
    Undecided,
}

/// A relation as a row over cells: `(cell, coefficient)`, sum = 0.
pub(crate) type Row = Vec<(usize, i64)>;

type LocalRow = Vec<(u32, i64)>;

const NONE: u32 = u32::MAX;

/// Finds the secondary suppressions of a table.
///
/// - `equalities`: linear relations the recipient knows, each `Σ c·x = 0`;
/// - `primary[i]`: cell `i` must not be disclosed;
/// - `known[i]`: cell `i` is published whatever happens (the recipient
///   reads it off a table's shape);
/// - `order`: the cells that may be published, the most wanted first; a
///   cell neither primary nor known nor in `order` is never published
///   (a remainder no table shows), and is not protected either.
///
/// Returns, per cell, `None` when published, else why it is hidden.
///
/// ```
/// use ouistat::testing::secrecy::gauss::{suppress, Hidden};
/// // total 0 = 1 + 2 + 3: cell 1 is primary; 3, the last in order, protects it.
/// let rows = vec![vec![(0, 1), (1, -1), (2, -1), (3, -1)]];
/// let hidden = suppress(4, &rows, &[false, true, false, false], &[false; 4], &[0, 2, 3]);
/// assert_eq!(hidden, vec![None, Some(Hidden::Primary), None, Some(Hidden::Protects(1))]);
/// ```
pub fn suppress(
    cells: usize,
    equalities: &[Row],
    primary: &[bool],
    known: &[bool],
    order: &[usize],
) -> Vec<Option<Hidden>> {
    let mut hidden: Vec<Option<Hidden>> = primary
        .iter()
        .map(|&p| p.then_some(Hidden::Primary))
        .collect();
    // Cells linked by relations form components, solved independently;
    // a component with no primary cell publishes everything.
    let mut parent: Vec<usize> = (0..cells).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for row in equalities {
        for w in row.windows(2) {
            let (a, b) = (root(&mut parent, w[0].0), root(&mut parent, w[1].0));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let roots: Vec<usize> = (0..cells).map(|i| root(&mut parent, i)).collect();
    let mut with_primary = vec![false; cells];
    for (i, &p) in primary.iter().enumerate() {
        if p {
            with_primary[roots[i]] = true;
        }
    }
    let mut members: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..cells {
        if with_primary[roots[i]] {
            members.entry(roots[i]).or_default().push(i);
        }
    }
    let mut rows_of: std::collections::HashMap<usize, Vec<&Row>> = Default::default();
    for row in equalities {
        if let Some(&(c, _)) = row.first() {
            if with_primary[roots[c]] {
                rows_of.entry(roots[c]).or_default().push(row);
            }
        }
    }
    let mut rank = vec![usize::MAX; cells];
    for (r, &c) in order.iter().enumerate() {
        rank[c] = r;
    }
    let latent: Vec<bool> = (0..cells)
        .map(|i| !primary[i] && !known[i] && rank[i] == usize::MAX)
        .collect();
    let results: Vec<Vec<(usize, Hidden)>> = members
        .par_iter()
        .map(|(root, cells)| {
            let rows = rows_of.get(root).map(Vec::as_slice).unwrap_or(&[]);
            component(cells, rows, primary, known, &latent, &rank)
        })
        .collect();
    for (cell, why) in results.into_iter().flatten() {
        hidden[cell] = Some(why);
    }
    hidden
}

/// One component: its cells (global indices), relations, and the global
/// order's ranks. Returns the secondary suppressions.
fn component(
    cells: &[usize],
    rows: &[&Row],
    primary: &[bool],
    known: &[bool],
    latent: &[bool],
    rank: &[usize],
) -> Vec<(usize, Hidden)> {
    // Pivots go to the cells published last: primaries and latent cells
    // never, known cells (published first) least, then later and later
    // candidates.
    let pref: Vec<u64> = cells
        .iter()
        .map(|&g| {
            if primary[g] || latent[g] {
                0
            } else if known[g] {
                1
            } else {
                2 + rank[g].min(u32::MAX as usize) as u64
            }
        })
        .collect();
    let is_primary = cells.iter().map(|&g| primary[g]).collect();
    let (mut elim, _) = Elimination::over(cells, rows.iter().copied(), is_primary, pref);
    let n = cells.len();
    let mut steps: Vec<u32> = (0..n as u32)
        .filter(|&l| !elim.primary[l as usize] && !latent[cells[l as usize]])
        .collect();
    steps.sort_by_key(|&l| {
        let g = cells[l as usize];
        (!known[g], rank[g], g)
    });
    let mut out = Vec::new();
    for l in steps {
        let g = cells[l as usize];
        match elim.publish(l) {
            Ok(()) => {}
            Err(_) if known[g] => {
                // The recipient reads it anyway; the audit judges the rest.
                elim.force(l);
            }
            Err(Some(u)) => {
                elim.pref[l as usize] = u64::MAX;
                out.push((g, Hidden::Protects(cells[u as usize])));
            }
            Err(None) => {
                elim.pref[l as usize] = u64::MAX;
                out.push((g, Hidden::Undecided));
            }
        }
    }
    out
}

struct Elimination {
    /// Rows in reduced form, coefficients coprime; an empty row is gone.
    rows: Vec<LocalRow>,
    /// The row whose pivot a column is.
    pivot_row: Vec<u32>,
    /// Rows that may hold a column (checked on use).
    col_rows: Vec<Vec<u32>>,
    primary: Vec<bool>,
    pref: Vec<u64>,
}

fn coef(row: &[(u32, i64)], col: u32) -> i64 {
    row.binary_search_by_key(&col, |e| e.0)
        .map_or(0, |i| row[i].1)
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

/// `a·ca − b·cb`, scaled to coprime coefficients; `None` past 64 bits.
fn combine(a: &[(u32, i64)], ca: i64, b: &[(u32, i64)], cb: i64) -> Option<LocalRow> {
    let mut out: LocalRow = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let (col, v) = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                i += 1;
                j += 1;
                (
                    x.0,
                    i128::from(x.1) * i128::from(ca) - i128::from(y.1) * i128::from(cb),
                )
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                i += 1;
                (x.0, i128::from(x.1) * i128::from(ca))
            }
            (Some(x), None) => {
                i += 1;
                (x.0, i128::from(x.1) * i128::from(ca))
            }
            (_, Some(y)) => {
                j += 1;
                (y.0, -i128::from(y.1) * i128::from(cb))
            }
            (None, None) => unreachable!(),
        };
        if v != 0 {
            out.push((col, i64::try_from(v).ok()?));
        }
    }
    let g = out.iter().fold(0, |g, e| gcd(g, e.1));
    if g > 1 {
        for e in &mut out {
            e.1 /= g;
        }
    }
    Some(out)
}

fn without(row: &[(u32, i64)], col: u32) -> LocalRow {
    let mut r: LocalRow = row.iter().filter(|e| e.0 != col).copied().collect();
    let g = r.iter().fold(0, |g, e| gcd(g, e.1));
    if g > 1 {
        for e in &mut r {
            e.1 /= g;
        }
    }
    r
}

impl Elimination {
    /// The relations `rows` over `cells` (global indices), reduced; and
    /// each cell's local column.
    fn over<'r>(
        cells: &[usize],
        rows: impl Iterator<Item = &'r Row>,
        primary: Vec<bool>,
        pref: Vec<u64>,
    ) -> (Elimination, std::collections::HashMap<usize, u32>) {
        let local: std::collections::HashMap<usize, u32> = cells
            .iter()
            .enumerate()
            .map(|(l, &g)| (g, l as u32))
            .collect();
        let n = cells.len();
        let mut elim = Elimination {
            rows: Vec::new(),
            pivot_row: vec![NONE; n],
            col_rows: vec![Vec::new(); n],
            primary,
            pref,
        };
        for row in rows {
            let mut r: LocalRow = row.iter().map(|&(c, a)| (local[&c], a)).collect();
            r.sort_unstable();
            elim.add(r);
        }
        (elim, local)
    }

    fn rows_with(&self, col: u32) -> Vec<u32> {
        let mut found: Vec<u32> = self.col_rows[col as usize]
            .iter()
            .copied()
            .filter(|&r| coef(&self.rows[r as usize], col) != 0)
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    fn choose_pivot(&self, row: &[(u32, i64)]) -> u32 {
        row.iter()
            .map(|e| e.0)
            .max_by_key(|&c| (self.pref[c as usize], c))
            .expect("a pivot is chosen in a non-empty row")
    }

    fn set_row(&mut self, r: u32, row: LocalRow) {
        for e in &row {
            if coef(&self.rows[r as usize], e.0) == 0 {
                self.col_rows[e.0 as usize].push(r);
            }
        }
        self.rows[r as usize] = row;
    }

    /// Adds a relation, reduced against the rows already there.
    fn add(&mut self, mut row: LocalRow) {
        while let Some(&(col, a)) = row.iter().find(|e| self.pivot_row[e.0 as usize] != NONE) {
            let p = self.pivot_row[col as usize] as usize;
            let pc = coef(&self.rows[p], col);
            match combine(&row, pc, &self.rows[p], a) {
                Some(r) => row = r,
                None => return, // dropping a relation only weakens the recipient's knowledge…
            }
        }
        if row.is_empty() {
            return;
        }
        let q = self.choose_pivot(&row);
        let aq = coef(&row, q);
        let r = self.rows.len() as u32;
        self.rows.push(Vec::new());
        for k in self.rows_with(q) {
            let kq = coef(&self.rows[k as usize], q);
            if let Some(reduced) = combine(&self.rows[k as usize], aq, &row, kq) {
                self.set_row(k, reduced);
            }
        }
        self.set_row(r, row);
        self.pivot_row[q as usize] = r;
    }

    /// Publishes a cell unless that discloses a primary cell: `Err(Some(u))`
    /// names it; `Err(None)` when the arithmetic overflowed.
    fn publish(&mut self, c: u32) -> Result<(), Option<u32>> {
        let changes = self.changes(c)?;
        for (_, row) in &changes.rows {
            if row.len() == 1 && self.primary[row[0].0 as usize] {
                return Err(Some(row[0].0));
            }
        }
        self.apply(c, changes);
        Ok(())
    }

    /// Publishes a cell whatever it discloses.
    fn force(&mut self, c: u32) {
        if let Ok(changes) = self.changes(c) {
            self.apply(c, changes);
        }
    }

    fn changes(&self, c: u32) -> Result<Changes, Option<u32>> {
        let mut rows = Vec::new();
        let r = self.pivot_row[c as usize];
        if r == NONE {
            for k in self.rows_with(c) {
                rows.push((k, without(&self.rows[k as usize], c)));
            }
            return Ok(Changes { rows, pivot: None });
        }
        let rest = without(&self.rows[r as usize], c);
        if rest.is_empty() {
            return Ok(Changes {
                rows: vec![(r, rest)],
                pivot: None,
            });
        }
        let q = self.choose_pivot(&rest);
        let aq = coef(&rest, q);
        for k in self.rows_with(q) {
            if k == r {
                continue;
            }
            let kq = coef(&self.rows[k as usize], q);
            rows.push((
                k,
                combine(&self.rows[k as usize], aq, &rest, kq).ok_or(None)?,
            ));
        }
        rows.push((r, rest));
        Ok(Changes {
            rows,
            pivot: Some((r, q)),
        })
    }

    fn apply(&mut self, c: u32, changes: Changes) {
        for (k, row) in changes.rows {
            if row.is_empty() && self.pivot_row[c as usize] == k {
                self.pivot_row[c as usize] = NONE;
            }
            self.set_row(k, row);
        }
        if let Some((r, q)) = changes.pivot {
            self.pivot_row[c as usize] = NONE;
            self.pivot_row[q as usize] = r;
        }
    }
}

/// The directions in which suppressed cells can move together without
/// changing a published cell or breaking a relation: the null space of the
/// relations restricted to the suppressed cells, in reduced form. The
/// audit moves the true table along them to prove counts wide without a
/// linear programme.
pub(crate) struct NullSpace {
    elim: Elimination,
    /// Local column → global cell.
    cells: Vec<usize>,
    local: std::collections::HashMap<usize, u32>,
}

impl NullSpace {
    /// `cells`: the suppressed cells; `rows`: the relations, already
    /// restricted to them (published cells are constants and drop out);
    /// `room[l]`: how far cell `cells[l]` can go down from its true value
    /// (value − floor). Pivots, which every direction freeing another cell
    /// moves, are chosen among the cells with the most room, so that cells
    /// at their floor (a change of 0 since an earlier release, a count of
    /// 1 whose row exists) stay free and block no direction.
    pub(crate) fn new(cells: &[usize], rows: &[Row], room: &[u64]) -> Self {
        let n = cells.len();
        let pref = room
            .iter()
            .zip(0..n as u64)
            .map(|(&r, l)| (r.min(1 << 31) << 32) | l)
            .collect();
        let (elim, local) = Elimination::over(cells, rows.iter(), vec![false; n], pref);
        NullSpace {
            elim,
            cells: cells.to_vec(),
            local,
        }
    }

    /// The direction that frees column `f`: `f` moves by 1, each pivot of a
    /// row holding `f` by what keeps that row at zero.
    fn free(&self, f: u32) -> Vec<(usize, f64)> {
        let mut d = vec![(self.cells[f as usize], 1.0)];
        for r in self.elim.rows_with(f) {
            let row = &self.elim.rows[r as usize];
            let Some(&(p, a)) = row.iter().find(|e| self.elim.pivot_row[e.0 as usize] == r) else {
                continue;
            };
            d.push((self.cells[p as usize], -(coef(row, f) as f64) / a as f64));
        }
        d
    }

    /// Up to `at_most` directions that move `cell` (global index); none
    /// when the relations determine it.
    pub(crate) fn directions(&self, cell: usize, at_most: usize) -> Vec<Vec<(usize, f64)>> {
        let Some(&l) = self.local.get(&cell) else {
            return Vec::new();
        };
        let r = self.elim.pivot_row[l as usize];
        if r == NONE {
            return vec![self.free(l)];
        }
        self.elim.rows[r as usize]
            .iter()
            .filter(|e| e.0 != l)
            .take(at_most)
            .map(|e| self.free(e.0))
            .collect()
    }
}

struct Changes {
    rows: Vec<(u32, LocalRow)>,
    pivot: Option<(u32, u32)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(total: usize, parts: &[usize]) -> Row {
        std::iter::once((total, 1))
            .chain(parts.iter().map(|&p| (p, -1)))
            .collect()
    }

    #[test]
    fn directions_leave_a_cell_at_its_floor_alone() {
        // a = b + z, with z = 0 at its floor (an unchanged count's change):
        // were z a pivot, every direction moving a would move z, blocked
        // one way. Pivots go to the cells with room, so a moves with b.
        let null = NullSpace::new(&[0, 1, 2], &[sum(0, &[1, 2])], &[5, 5, 0]);
        let directions = null.directions(0, 4);
        assert!(!directions.is_empty());
        for d in &directions {
            assert!(d.iter().all(|&(c, v)| c != 2 || v == 0.0), "{d:?}");
            assert!(d.iter().any(|&(c, v)| c == 1 && v != 0.0), "{d:?}");
        }
    }

    #[test]
    fn a_lone_primary_gets_the_last_candidate_as_complement() {
        let hidden = suppress(
            4,
            &[sum(0, &[1, 2, 3])],
            &[false, true, false, false],
            &[false; 4],
            &[0, 3, 2],
        );
        assert_eq!(
            hidden,
            vec![None, Some(Hidden::Primary), Some(Hidden::Protects(1)), None]
        );
    }

    #[test]
    fn two_way_table_needs_a_rectangle() {
        // A 2×2 table with margins: cells a b / c d, rows r1 r2, columns
        // k1 k2, total t. Hiding `a` needs b, c and d (a rectangle).
        // Indices: a0 b1 c2 d3 r1=4 r2=5 k1=6 k2=7 t8.
        let rows = vec![
            sum(4, &[0, 1]),
            sum(5, &[2, 3]),
            sum(6, &[0, 2]),
            sum(7, &[1, 3]),
            sum(8, &[4, 5]),
            sum(8, &[6, 7]),
        ];
        let mut primary = vec![false; 9];
        primary[0] = true;
        let order = [8, 4, 5, 6, 7, 1, 2, 3];
        let hidden = suppress(9, &rows, &primary, &[false; 9], &order);
        let suppressed: Vec<usize> = (0..9).filter(|&i| hidden[i].is_some()).collect();
        assert_eq!(suppressed, vec![0, 1, 2, 3], "{hidden:?}");
    }

    #[test]
    fn a_known_cell_is_published_even_when_it_discloses() {
        let hidden = suppress(
            3,
            &[sum(0, &[1, 2])],
            &[false, true, false],
            &[false, false, true],
            &[0, 2],
        );
        // Cell 2 is known; then publishing the total would disclose 1.
        assert_eq!(
            hidden,
            vec![Some(Hidden::Protects(1)), Some(Hidden::Primary), None]
        );
    }

    #[test]
    fn a_remainder_is_never_published_and_protected_only_when_small() {
        // total 0 = 1 + 2 + remainder 3, which no order lists.
        let rows = [sum(0, &[1, 2, 3])];
        let large = suppress(4, &rows, &[false; 4], &[false; 4], &[0, 1, 2]);
        assert_eq!(large, vec![None; 4]);
        // A small remainder is primary: the whole and its parts would give it.
        let small = suppress(
            4,
            &rows,
            &[false, false, false, true],
            &[false; 4],
            &[0, 1, 2],
        );
        assert_eq!(small.iter().filter(|h| h.is_some()).count(), 2);
        assert_eq!(small[2], Some(Hidden::Protects(3)));
    }

    #[test]
    fn combining_rows_scales_them_to_coprime_integers() {
        let a: LocalRow = vec![(0, 2), (1, 4)];
        let b: LocalRow = vec![(1, 2), (2, 6)];
        // 2a − 4b = (4, 8−8, −24) → (4, 0, −24) → gcd 4 → (1, −6).
        assert_eq!(combine(&a, 2, &b, 4), Some(vec![(0, 1), (2, -6)]));
        assert_eq!(combine(&[(0, i64::MAX)], 2, &[(0, 1)], 0), None);
    }
}
