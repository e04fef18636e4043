//! Groups, risk and the search for the least generalisation that reaches k.
//!
//! The lattice: one dimension per generalisation group of the policy (a
//! column, or columns that move together such as the dates of a parcours),
//! a node is one rung per dimension. Two facts make the search exact and
//! short, as in ARX's Flash and OLA algorithms:
//!
//! - *monotonicity*: coarsening a node merges groups, so the persons in a
//!   group smaller than k can only become fewer. A node that needs more
//!   suppression than allowed fails, and so does every node below it; the
//!   search never evaluates those.
//! - *an additive loss*: non-uniform entropy is a sum over columns, each
//!   term depending on that column's rung only, so every node's loss is
//!   known before any grouping. Nodes are visited by increasing loss (ties
//!   broken by the rungs, so the choice depends on the data and the policy
//!   only); the first node whose suppression stays within the limit has the
//!   least loss of all that do.

use std::collections::HashMap;
use std::rc::Rc;

use super::data::Microdata;
use super::ladder::Step;
use super::Table;

/// One view of the delivery on which risk is measured: the rows of a
/// table with some quasi-identifiers (a person's own, through the
/// pseudonym, or the row's).
#[derive(Debug)]
pub(crate) struct View {
    /// Short name, also the manifest's key.
    pub name: &'static str,
    /// The rows it counts.
    pub table: Table,
    /// Indices of the quasi-identifier columns it groups on.
    pub columns: Vec<usize>,
    /// Whether k is enforced on it (a projection of an enforced view is
    /// k-anonymous when the view is).
    pub enforced: bool,
    /// Rows ordered by person (for distinct persons per group).
    order: Vec<u32>,
    /// The view whose groups give a row's person part (the joined view
    /// starts from the `individus` groups instead of their columns).
    base: Option<usize>,
}

/// The views of a delivery: each file, and a person with their
/// positionings.
pub(crate) fn views(md: &Microdata) -> Vec<View> {
    let of = |t: Table| -> Vec<usize> {
        md.qis
            .iter()
            .enumerate()
            .filter(|(_, q)| q.table == t)
            .map(|(i, _)| i)
            .collect()
    };
    let ind = of(Table::Individus);
    let pos = of(Table::Positionnements);
    let evt = of(Table::Evenements);
    let mut out = Vec::new();
    let mut push = |name, table, columns: Vec<usize>, enforced| {
        if columns.is_empty() || md.rows(table) == 0 {
            return;
        }
        let mut order: Vec<u32> = Vec::new();
        if table != Table::Individus {
            order = (0..md.rows(table) as u32).collect();
            order.sort_by_key(|r| md.person(table, *r as usize));
        }
        out.push(View {
            name,
            table,
            columns,
            enforced,
            order,
            base: None,
        });
    };
    push("individus", Table::Individus, ind.clone(), true);
    let joined_is_new = !ind.is_empty() && !pos.is_empty();
    push(
        "positionnements",
        Table::Positionnements,
        pos.clone(),
        !joined_is_new,
    );
    if joined_is_new {
        let mut both = ind;
        both.extend(pos);
        push(
            "individus_positionnements",
            Table::Positionnements,
            both,
            true,
        );
    }
    push("evenements", Table::Evenements, evt, true);
    let base = out.iter().position(|v| v.table == Table::Individus);
    for v in &mut out {
        if v.name == "individus_positionnements" {
            v.base = base;
        }
    }
    out
}

/// Each row's group in a view at given steps (one step index per column).
#[derive(Debug)]
pub(crate) struct Grouping {
    /// Per row (emptied once `pairs` is built, but for `individus`).
    pub gid: Vec<u32>,
    pub groups: usize,
    /// Each (group, person) once, in order of persons: what counting
    /// distinct persons per group and flagging persons both walk through.
    pub pairs: Vec<(u32, u32)>,
    /// Per group: its first row. A coarser grouping of the same view
    /// computes each group's key from it, once per group instead of once
    /// per row ([`roll_up`]).
    pub rep: Vec<u32>,
    /// Per group: its persons, counted as the pairs are built.
    pub size: Vec<u32>,
    /// Who is in which group, built when local suppression needs it.
    index: std::cell::OnceCell<Index>,
    /// Counted once for the search's k: [`Counted`].
    counted: std::cell::OnceCell<Counted>,
}

/// The persons in a group under k (each once, in order of persons): what
/// every evaluation of a node with this grouping starts from.
#[derive(Debug)]
struct Counted {
    under: Vec<u32>,
}

/// The pairs of a grouping indexed both ways.
#[derive(Debug)]
struct Index {
    /// Group g's persons are `members[group_start[g]..group_start[g + 1]]`.
    group_start: Vec<u32>,
    members: Vec<u32>,
    /// Person p's pairs are `pairs[person_start[p]..person_start[p + 1]]`
    /// (pairs come in order of persons).
    person_start: Vec<u32>,
}

impl Grouping {
    fn counted(&self, k: u32) -> &Counted {
        self.counted.get_or_init(|| {
            let mut under = Vec::new();
            for (g, p) in &self.pairs {
                if self.size[*g as usize] < k && under.last() != Some(p) {
                    under.push(*p);
                }
            }
            Counted { under }
        })
    }

    fn index(&self, persons: usize) -> &Index {
        self.index.get_or_init(|| {
            let mut group_start = vec![0u32; self.groups + 1];
            let mut person_start = vec![0u32; persons + 1];
            for (g, p) in &self.pairs {
                group_start[*g as usize + 1] += 1;
                person_start[*p as usize + 1] += 1;
            }
            for i in 1..group_start.len() {
                group_start[i] += group_start[i - 1];
            }
            for i in 1..person_start.len() {
                person_start[i] += person_start[i - 1];
            }
            let mut next = group_start.clone();
            let mut members = vec![0u32; self.pairs.len()];
            for (g, p) in &self.pairs {
                let slot = &mut next[*g as usize];
                members[*slot as usize] = *p;
                *slot += 1;
            }
            Index {
                group_start,
                members,
                person_start,
            }
        })
    }
}

thread_local! {
    /// The table numbering narrow keys, kept from one grouping to the next
    /// (allocated and cleared whole for each, it cost more than the grouping).
    static SLOTS: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Keys below this many values are numbered through a table.
const TABLE_SPAN: u64 = 1 << 22;

/// Renumbers `keys` densely (spanning `span` values) when one more
/// column of `card` values would overflow a `u64` key.
fn make_room(keys: &mut [u64], span: &mut u64, card: u64) {
    if span.checked_mul(card).is_none() {
        let (gid, groups) = densify(keys, *span);
        for (k, g) in keys.iter_mut().zip(gid) {
            *k = u64::from(g);
        }
        *span = groups as u64;
    }
}

/// Numbers the distinct keys (each below `span`) in order of first
/// appearance: through a table when the keys are few, else through hash
/// tables ([`number_wide`]).
pub(crate) fn densify(keys: &[u64], span: u64) -> (Vec<u32>, usize) {
    if span > TABLE_SPAN {
        return number_wide(keys);
    }
    let mut next = 0u32;
    let gid = SLOTS.with_borrow_mut(|table| {
        if (table.len() as u64) < span {
            table.resize(span as usize, u32::MAX);
        }
        let gid = keys
            .iter()
            .map(|k| {
                let slot = &mut table[*k as usize];
                if *slot == u32::MAX {
                    *slot = next;
                    next += 1;
                }
                *slot
            })
            .collect();
        // Only the slots used are cleared for the next grouping.
        for k in keys {
            table[*k as usize] = u32::MAX;
        }
        gid
    });
    (gid, next as usize)
}

/// Appends the view's columns at `steps` to the keys as mixed-radix
/// digits (each column's codes a digit, so that the keys span the product
/// of the columns' cardinalities and are numbered through a table more
/// often; densified whenever the next column would not fit). Key i is
/// row `reps[i]`'s, or row i's without `reps`; with `based`, the person's
/// columns are left out (their part of the key is the person's group,
/// already in it).
fn push_columns(
    md: &Microdata,
    view: &View,
    steps: &[usize],
    based: bool,
    (keys, span): (&mut [u64], &mut u64),
    reps: Option<&[u32]>,
) {
    for &c in &view.columns {
        let own = md.qis[c].table == view.table;
        if based && !own {
            continue;
        }
        let enc = &md.columns[c];
        let card = u64::from(enc.cards[steps[c]]);
        if card <= 1 {
            continue;
        }
        make_room(keys, span, card);
        let map = &enc.maps[steps[c]];
        if own && reps.is_none() {
            // Every row, in order: zipped, without a lookup per row.
            for (key, raw) in keys.iter_mut().zip(&enc.raw) {
                *key = *key * card + u64::from(map[*raw as usize]);
            }
        } else {
            for (i, key) in keys.iter_mut().enumerate() {
                let r = reps.map_or(i, |reps| reps[i] as usize);
                let source = if own {
                    r
                } else {
                    md.person(view.table, r) as usize
                };
                let code = enc.raw.get(source).map_or(0, |raw| map[*raw as usize]);
                *key = *key * card + u64::from(code);
            }
        }
        *span *= card;
    }
}

/// The person's part of each key: their group in `base` (rows of persons
/// without an `individus` row share one extra group, as their missing
/// person columns would), and the span of those keys. Key i is row
/// `row(i)`'s.
fn base_keys(
    md: &Microdata,
    view: &View,
    base: &Grouping,
    n: usize,
    row: impl Fn(usize) -> usize,
) -> (Vec<u64>, u64) {
    let keys = (0..n)
        .map(|i| {
            let p = md.person(view.table, row(i)) as usize;
            u64::from(base.gid.get(p).copied().unwrap_or(base.groups as u32))
        })
        .collect();
    (keys, base.groups as u64 + 1)
}

impl Grouping {
    /// A grouping of these groups, nothing counted yet.
    fn new(
        gid: Vec<u32>,
        groups: usize,
        pairs: Vec<(u32, u32)>,
        rep: Vec<u32>,
        size: Vec<u32>,
    ) -> Self {
        Grouping {
            gid,
            groups,
            pairs,
            rep,
            size,
            index: std::cell::OnceCell::new(),
            counted: std::cell::OnceCell::new(),
        }
    }
}

/// Keys per partition of [`number_wide`]: its table (16 bytes a slot,
/// at most two thirds full) then stays within a core's cache.
const KEYS_PER_PARTITION: usize = if cfg!(test) { 64 } else { 1 << 14 };

/// Numbers keys below `u64::MAX` in order of first appearance. On
/// millions of keys one table of all keys misses the cache at every
/// probe, so the keys are first partitioned on the high bits of their
/// hash (Fibonacci hashing) into parts of about [`KEYS_PER_PARTITION`],
/// each numbered through its own open-addressing table of (key + 1,
/// group) pairs, 0 marking an empty slot. Groups are then renumbered in
/// order of their first row.
fn number_wide(keys: &[u64]) -> (Vec<u32>, usize) {
    let hash = |k: u64| k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let part_bits = (keys.len() / KEYS_PER_PARTITION)
        .next_power_of_two()
        .trailing_zeros();
    let part_of = |h: u64| h.checked_shr(64 - part_bits).unwrap_or(0) as usize;
    // The keys (+ 1) and their rows, part after part, in order of rows.
    let mut start = vec![0usize; (1 << part_bits) + 1];
    for k in keys {
        start[part_of(hash(*k + 1)) + 1] += 1;
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    let mut next = start.clone();
    let mut entries: Vec<(u64, u32)> = vec![(0, 0); keys.len()];
    for (r, k) in keys.iter().enumerate() {
        let k = *k + 1;
        let slot = &mut next[part_of(hash(k))];
        entries[*slot] = (k, r as u32);
        *slot += 1;
    }
    // Per row, its group's place in `first`; per group, its first row.
    let mut group_of = vec![0u32; keys.len()];
    let mut first: Vec<u32> = Vec::new();
    let mut slots: Vec<(u64, u32)> = Vec::new();
    for part in start.windows(2).map(|w| &entries[w[0]..w[1]]) {
        let bits = (part.len() * 3 / 2 + 1)
            .next_power_of_two()
            .max(16)
            .trailing_zeros();
        let mask = (1usize << bits) - 1;
        slots.clear();
        slots.resize(mask + 1, (0, 0));
        for (k, r) in part {
            // The hash's bits below the part's.
            let mut i = ((hash(*k) << part_bits) >> (64 - bits)) as usize;
            group_of[*r as usize] = loop {
                let slot = &mut slots[i];
                if slot.0 == *k {
                    break slot.1;
                }
                if slot.0 == 0 {
                    *slot = (*k, first.len() as u32);
                    first.push(*r);
                    break slot.1;
                }
                i = (i + 1) & mask;
            };
        }
    }
    // Groups in order of their first row.
    let mut first_of_row = vec![u32::MAX; keys.len()];
    for (g, r) in first.iter().enumerate() {
        first_of_row[*r as usize] = g as u32;
    }
    let mut rank = vec![0u32; first.len()];
    let mut groups = 0u32;
    for g in first_of_row {
        if g != u32::MAX {
            rank[g as usize] = groups;
            groups += 1;
        }
    }
    let gid = group_of.iter().map(|g| rank[*g as usize]).collect();
    (gid, groups as usize)
}

/// Groups the rows of a view: the codes of its columns at the given steps
/// are combined into one 64-bit key per row ([`push_columns`]), then
/// numbered.
pub(crate) fn group(
    md: &Microdata,
    view: &View,
    steps: &[usize],
    base: Option<&Grouping>,
) -> Grouping {
    let n = md.rows(view.table);
    let (mut keys, mut span) = match base {
        Some(b) => base_keys(md, view, b, n, |r| r),
        None => (vec![0u64; n], 1),
    };
    push_columns(
        md,
        view,
        steps,
        base.is_some(),
        (&mut keys, &mut span),
        None,
    );
    let (gid, groups) = densify(&keys, span);
    drop(keys);
    // Groups are numbered in order of first appearance: group g's first
    // row is the row where the numbering reaches g.
    let mut rep = Vec::with_capacity(groups);
    for (r, g) in gid.iter().enumerate() {
        if *g as usize == rep.len() {
            rep.push(r as u32);
        }
    }
    let mut size = vec![0u32; groups];
    let pairs = if view.table == Table::Individus {
        gid.iter()
            .enumerate()
            .map(|(r, g)| {
                size[*g as usize] += 1;
                (*g, r as u32)
            })
            .collect()
    } else {
        let mut pairs = Vec::with_capacity(n);
        let mut run = 0;
        for &r in &view.order {
            let p = md.person(view.table, r as usize);
            push_pair(&mut pairs, &mut run, &mut size, gid[r as usize], p);
        }
        pairs.shrink_to_fit();
        pairs
    };
    Grouping::new(gid, groups, pairs, rep, size)
}

/// Appends (group, person) unless the person has it already: pairs come in
/// order of persons, `run` is where the person's own begin (a person has
/// few, so they are looked through rather than a table of all groups).
#[inline]
fn push_pair(pairs: &mut Vec<(u32, u32)>, run: &mut usize, size: &mut [u32], g: u32, p: u32) {
    if pairs.last().is_none_or(|(_, q)| *q != p) {
        *run = pairs.len();
    } else if pairs[*run..].iter().any(|(h, _)| *h == g) {
        return;
    }
    size[g as usize] += 1;
    pairs.push((g, p));
}

/// A view's grouping computed from its rows (the joined view from the
/// persons' grouping), as the search does without a finer grouping.
#[cfg(test)]
pub(crate) fn grouped(md: &Microdata, views: &[View], v: usize, steps: &[usize]) -> Grouping {
    let base = views[v].base.map(|b| grouped(md, views, b, steps));
    group(md, &views[v], steps, base.as_ref())
}

/// The grouping of a view at `steps` from its grouping `fine` at steps
/// no coarser on any of its columns (Incognito's and ARX's roll-up).
///
/// Every step of a ladder is a function of the step before (the policy
/// refuses a step that is not coarser, and the zone d'emploi is keyed
/// within its département), so all rows of a fine group share their
/// codes at `steps`: the key is computed once per group, from its first
/// row, and the pairs are merged instead of regrouping every row. The
/// result is the very grouping [`group`] returns: groups are numbered in
/// order of their first row either way (fine groups are numbered so), and
/// each person's pairs come in the same order.
pub(crate) fn roll_up(
    md: &Microdata,
    view: &View,
    steps: &[usize],
    fine: &Grouping,
    base: Option<&Grouping>,
) -> Grouping {
    let joined = view.columns.iter().any(|c| md.qis[*c].table != view.table);
    let rep = |g: usize| fine.rep[g] as usize;
    let (mut keys, mut span) = match base.filter(|_| joined) {
        // The person's part of the key is their group at these steps, as
        // in `group`.
        Some(b) => base_keys(md, view, b, fine.groups, rep),
        // A person without an `individus` row is a group apart, as in
        // `group` from the persons' groups.
        None if joined => (
            (0..fine.groups)
                .map(|g| u64::from((md.person(view.table, rep(g)) as usize) < md.persons))
                .collect(),
            2,
        ),
        None => (vec![0u64; fine.groups], 1),
    };
    push_columns(
        md,
        view,
        steps,
        base.is_some(),
        (&mut keys, &mut span),
        Some(&fine.rep),
    );
    let (coarse, groups) = densify(&keys, span);
    drop(keys);
    let mut rep = Vec::with_capacity(groups);
    for (g, c) in coarse.iter().enumerate() {
        if *c as usize == rep.len() {
            rep.push(fine.rep[g]);
        }
    }
    let gid = fine.gid.iter().map(|g| coarse[*g as usize]).collect();
    let mut size = vec![0u32; groups];
    let pairs = if view.table == Table::Individus {
        // One row, so one pair, per person.
        fine.pairs
            .iter()
            .map(|(g, p)| {
                let c = coarse[*g as usize];
                size[c as usize] += 1;
                (c, *p)
            })
            .collect()
    } else {
        let mut pairs = Vec::with_capacity(fine.pairs.len());
        let mut run = 0;
        for (g, p) in &fine.pairs {
            push_pair(&mut pairs, &mut run, &mut size, coarse[*g as usize], *p);
        }
        pairs.shrink_to_fit();
        pairs
    };
    Grouping::new(gid, groups, pairs, rep, size)
}

/// Distinct persons per group, leaving out the excluded persons.
pub(crate) fn sizes(g: &Grouping, excluded: &[bool]) -> Vec<u32> {
    sizes_of(g.groups, &g.pairs, excluded)
}

fn sizes_of(groups: usize, pairs: &[(u32, u32)], excluded: &[bool]) -> Vec<u32> {
    let mut size = vec![0u32; groups];
    for (gid, p) in pairs {
        size[*gid as usize] += u32::from(!excluded[*p as usize]);
    }
    size
}

/// A view's groups at the node the search found, as it counted them:
/// the risk after and the discernibility are measured from them instead
/// of grouping the rows again.
#[derive(Debug)]
pub(crate) struct Known {
    groups: usize,
    pairs: Vec<(u32, u32)>,
}

impl Known {
    /// Distinct persons per group, leaving out the excluded persons.
    pub(crate) fn sizes(&self, excluded: &[bool]) -> Vec<u32> {
        sizes_of(self.groups, &self.pairs, excluded)
    }
}

/// The risk of one view, as the manifest reports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ViewRisk {
    /// `individus`, `positionnements`, `individus_positionnements` or `evenements`.
    pub vue: String,
    /// Rows counted (suppressed rows left out).
    pub enregistrements: u64,
    /// Distinct persons among them.
    pub personnes: u64,
    /// Distinct combinations of the quasi-identifiers.
    pub combinaisons: u64,
    /// Rows whose combination belongs to one person only.
    pub enregistrements_uniques: u64,
    /// Rows whose combination belongs to fewer than k persons.
    pub enregistrements_sous_k: u64,
    pub part_uniques: f64,
    pub part_sous_k: f64,
    /// Persons sharing the rarest combination (0 when there is no row).
    pub plus_petit_groupe: u64,
}

/// Measures a view at given steps, from its groups there when the
/// search `known` them.
pub(crate) fn risk(
    md: &Microdata,
    view: &View,
    steps: &[usize],
    k: u32,
    excluded: &[bool],
    known: Option<&Known>,
) -> ViewRisk {
    if let Some(known) = known {
        let size = known.sizes(excluded);
        // After local suppression no group left is under k (nor, k
        // above 1, unique): only the rows kept need counting.
        if size.iter().all(|s| *s == 0 || (*s >= k && *s > 1)) {
            let rows = (0..md.rows(view.table))
                .filter(|r| !excluded[md.person(view.table, *r) as usize])
                .count() as u64;
            return view_risk(md, view, excluded, [rows, 0, 0], &size);
        }
    }
    let g = group(md, view, steps, None);
    let size = sizes(&g, excluded);
    let mut rows = 0u64;
    let mut unique = 0u64;
    let mut under = 0u64;
    for (r, gid) in g.gid.iter().enumerate() {
        if excluded[md.person(view.table, r) as usize] {
            continue;
        }
        rows += 1;
        let s = size[*gid as usize];
        unique += u64::from(s == 1);
        under += u64::from(s < k);
    }
    view_risk(md, view, excluded, [rows, unique, under], &size)
}

/// A view's risk from its rows counted (kept, unique, under k) and its
/// groups' sizes.
fn view_risk(
    md: &Microdata,
    view: &View,
    excluded: &[bool],
    [rows, unique, under]: [u64; 3],
    size: &[u32],
) -> ViewRisk {
    let nonempty: Vec<u32> = size.iter().copied().filter(|s| *s > 0).collect();
    let persons = if view.table == Table::Individus {
        rows
    } else {
        let mut n = 0u64;
        let mut last = u32::MAX;
        for &r in &view.order {
            let p = md.person(view.table, r as usize);
            if !excluded[p as usize] && p != last {
                n += 1;
                last = p;
            }
        }
        n
    };
    let share = |x: u64| {
        if rows == 0 {
            0.0
        } else {
            round6(x as f64 / rows as f64)
        }
    };
    ViewRisk {
        vue: view.name.to_string(),
        enregistrements: rows,
        personnes: persons,
        combinaisons: nonempty.len() as u64,
        enregistrements_uniques: unique,
        enregistrements_sous_k: under,
        part_uniques: share(unique),
        part_sous_k: share(under),
        plus_petit_groupe: nonempty.iter().copied().min().map_or(0, u64::from),
    }
}

/// Rounds a share to six decimals, so manifests print it the same everywhere.
pub(crate) fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// A dimension of the lattice: columns that take the same rung.
#[derive(Debug, Clone)]
pub(crate) struct Dim {
    pub columns: Vec<usize>,
    pub ladder: Vec<Step>,
}

pub(crate) fn dims(md: &Microdata) -> Vec<Dim> {
    let mut out: Vec<(String, Dim)> = Vec::new();
    for (i, q) in md.qis.iter().enumerate() {
        match out.iter_mut().find(|(g, _)| *g == q.group) {
            Some((_, d)) => d.columns.push(i),
            None => out.push((
                q.group.clone(),
                Dim {
                    columns: vec![i],
                    ladder: q.ladder.clone(),
                },
            )),
        }
    }
    out.into_iter().map(|(_, d)| d).collect()
}

/// The step index of every column at a node.
pub(crate) fn steps_at(md: &Microdata, dims: &[Dim], node: &[u8]) -> Vec<usize> {
    let mut steps = vec![0; md.columns.len()];
    for (d, rung) in dims.iter().zip(node) {
        for &c in &d.columns {
            steps[c] = md.columns[c].step_index(d.ladder[*rung as usize]);
        }
    }
    steps
}

/// Non-uniform entropy of each column at each of its steps, in bits: the
/// information a reader loses on the value of every row, summed
/// (`−log2(frequency of the value / frequency of its generalisation)`).
/// The last entry is the cost of masking the column entirely.
pub(crate) fn entropy_costs(md: &Microdata) -> Vec<Vec<f64>> {
    md.columns
        .iter()
        .map(|enc| {
            let mut count = vec![0u64; enc.distinct.len() + 1];
            for r in &enc.raw {
                count[*r as usize] += 1;
            }
            let present: u64 = count[1..].iter().sum();
            let cost_of = |map: &[u32], card: usize| {
                let mut level = vec![0u64; card];
                for (code, c) in count.iter().enumerate().skip(1) {
                    level[map[code] as usize] += c;
                }
                count
                    .iter()
                    .enumerate()
                    .skip(1)
                    .filter(|(_, c)| **c > 0)
                    .map(|(code, c)| {
                        *c as f64 * (level[map[code] as usize] as f64 / *c as f64).log2()
                    })
                    .sum::<f64>()
            };
            let mut costs: Vec<f64> = enc
                .maps
                .iter()
                .zip(&enc.cards)
                .map(|(m, card)| cost_of(m, *card as usize))
                .collect();
            let masked: f64 = count[1..]
                .iter()
                .filter(|c| **c > 0)
                .map(|c| *c as f64 * (present as f64 / *c as f64).log2())
                .sum();
            costs.push(masked);
            costs
        })
        .collect()
}

/// What the search found.
#[derive(Debug)]
pub(crate) struct Found {
    /// The rungs chosen, one per dimension.
    pub node: Vec<u8>,
    /// Persons suppressed (indexed by person).
    pub excluded: Vec<bool>,
    pub suppressed: usize,
    /// Nodes evaluated, as the manifest reports them ([`Evaluator`]).
    pub evaluated: usize,
    /// Per view of the delivery, its groups at the node when the search
    /// kept them ([`Evaluator::known`]).
    pub known: Vec<Option<Known>>,
    /// Of those, the nodes whose groups were computed (the tests read it).
    #[cfg_attr(not(test), allow(dead_code))]
    pub grouped: usize,
}

/// Why the search found nothing: the suppression even the coarsest node needs.
#[derive(Debug)]
pub(crate) struct OutOfReach {
    pub needed: usize,
    pub allowed: usize,
    pub persons: usize,
}

struct Evaluator<'a> {
    md: &'a Microdata,
    /// The delivery's views, then the projections only the search counts
    /// ([`projections`]).
    views: Vec<&'a View>,
    k: u32,
    cache: Vec<Vec<Cached>>,
    /// Counts the groupings asked for, to find the least recently used.
    clock: u64,
    /// Per view and its columns' steps: the persons that view alone puts
    /// in groups under k. A view that alone needs too much fails every
    /// node with the same steps on its columns, without grouping.
    solo: Vec<HashMap<Vec<usize>, usize>>,
    /// Steps found to pass, with the limit they passed within: every node
    /// at least as coarse passes within that limit or a larger one.
    passed: Vec<(Vec<usize>, usize)>,
    /// Nodes the search evaluated: grouped, or decided from what nodes
    /// grouped before showed ([`Evaluator::fails`], [`Evaluator::fails_below`]).
    /// The manifest reports it: it depends on the data and the policy
    /// only (the same inputs give the same count), and falls whenever the
    /// search prunes more (issue 25e: 272 → 164 at 500,000 persons).
    evaluated: usize,
    /// Of those, the nodes whose groups were computed (in one view at least).
    grouped: usize,
    /// Whether the shortcuts are taken (tests compare with a search without).
    shortcuts: bool,
    /// The views the first pass counts, those on the fewest dimensions
    /// first ([`Evaluator::first_pass`]).
    checked: Vec<usize>,
}

/// A grouping kept for a view: at its key (the steps of the view's
/// columns), and when it last served.
struct Cached {
    key: Vec<usize>,
    grouping: Rc<Grouping>,
    used: u64,
}

/// Groupings kept per view: the dates' view, grouped on few columns, comes
/// back often, and a node's groups roll up from a finer node's; the cache
/// stays small at any scale (a grouping is a few bytes per row).
const CACHE_PER_VIEW: usize = 4;

/// Whether `node` lies at or below `other` in the lattice: no dimension
/// higher on its ladder.
fn at_or_below<T: PartialOrd>(node: &[T], other: &[T]) -> bool {
    node.iter().zip(other).all(|(a, b)| a <= b)
}

impl<'a> Evaluator<'a> {
    /// An evaluator of nodes over the `views` searched (the delivery's,
    /// then the projections only the search counts), nothing cached yet.
    fn new(md: &'a Microdata, views: Vec<&'a View>, k: u32, shortcuts: bool) -> Self {
        Evaluator {
            md,
            k,
            cache: views.iter().map(|_| Vec::new()).collect(),
            clock: 0,
            solo: views.iter().map(|_| HashMap::new()).collect(),
            passed: Vec::new(),
            evaluated: 0,
            grouped: 0,
            shortcuts,
            checked: checked_views(md, &views, shortcuts),
            views,
        }
    }
}

impl Evaluator<'_> {
    fn key(&self, v: usize, steps: &[usize]) -> Vec<usize> {
        self.views[v].columns.iter().map(|c| steps[*c]).collect()
    }

    fn grouping(&mut self, v: usize, steps: &[usize]) -> Rc<Grouping> {
        let key = self.key(v, steps);
        self.clock += 1;
        let clock = self.clock;
        if let Some(c) = self.cache[v].iter_mut().find(|c| c.key == key) {
            c.used = clock;
            return Rc::clone(&c.grouping);
        }
        // The smallest cached grouping no coarser on any column, rolled
        // up; else the rows grouped.
        let finer = self.cache[v]
            .iter()
            .enumerate()
            .filter(|(_, c)| at_or_below(&c.key, &key))
            .min_by_key(|(_, c)| (c.grouping.groups, c.used))
            .map(|(i, _)| i);
        let base = self.views[v].base.map(|b| self.grouping(b, steps));
        let mut g = match finer {
            Some(i) => {
                let c = &mut self.cache[v][i];
                c.used = clock;
                roll_up(self.md, self.views[v], steps, &c.grouping, base.as_deref())
            }
            None => group(self.md, self.views[v], steps, base.as_deref()),
        };
        if self.views[v].table != Table::Individus {
            // Only the persons' groups serve as a base; the rest walk pairs.
            g.gid = Vec::new();
        }
        let g = Rc::new(g);
        if self.cache[v].len() >= CACHE_PER_VIEW {
            // The least recently used goes.
            if let Some(old) = (0..self.cache[v].len()).min_by_key(|i| self.cache[v][*i].used) {
                self.cache[v].swap_remove(old);
            }
        }
        self.cache[v].push(Cached {
            key,
            grouping: Rc::clone(&g),
            used: clock,
        });
        g
    }

    /// The persons in a group under k in some view (each view counted on
    /// all persons), or `None` as soon as they are more than `limit`.
    ///
    /// The views that are not enforced are projections of one that is
    /// (`positionnements` of the joined view): whoever is under k in a
    /// projection is under k in the view, so counting them changes no
    /// figure, and they are counted first with the views on few
    /// dimensions, whose few groupings come back from the cache: a node
    /// they already fail is decided before the joined view is grouped.
    fn first_pass(
        &mut self,
        steps: &[usize],
        limit: usize,
    ) -> Option<(usize, Vec<bool>, Vec<u32>)> {
        let checked = self.checked.clone();
        let all = self.md.all_persons();
        let mut excluded = vec![false; all];
        let mut removed = Vec::new();
        for &v in &checked {
            let key = self.key(v, steps);
            // A view known to fail alone is not grouped. It is recorded at
            // these steps as if grouped (the number, a lower bound, only
            // ever compared with the limit), so that the nodes skipped
            // later for it are the same as when it was grouped.
            if let Some(n) = self.fails_below(v, &key, limit).filter(|_| self.shortcuts) {
                self.solo[v].insert(key, n);
                return None;
            }
            if v == checked[0] {
                self.grouped += 1;
            }
            let g = self.grouping(v, steps);
            // The persons this view alone puts under k, counted once per
            // grouping (pairs come in order of persons, so each once).
            let under = &g.counted(self.k).under;
            for p in under {
                if !excluded[*p as usize] {
                    excluded[*p as usize] = true;
                    removed.push(*p);
                }
            }
            self.solo[v].insert(key, under.len());
            if removed.len() > limit {
                return None;
            }
        }
        Some((removed.len(), excluded, removed))
    }

    /// A node's local suppression within `limit`, or `None`; counted as
    /// evaluated unless a view already failed alone at its steps.
    fn suppress(&mut self, steps: &[usize], limit: usize) -> Option<(usize, Vec<bool>)> {
        if self.fails_alone(steps, limit) {
            return None;
        }
        self.evaluated += 1;
        self.evaluate(steps, limit)
    }

    /// Whether some view already failed alone at these very steps of its
    /// columns (such a node is not counted as evaluated).
    fn fails_alone(&self, steps: &[usize], limit: usize) -> bool {
        (0..self.views.len()).any(|v| {
            self.solo[v]
                .get(&self.key(v, steps))
                .is_some_and(|n| *n > limit)
        })
    }

    /// More than `limit` persons that view `v` alone puts under k at
    /// `key`, when known without grouping: it puts at least as many as at
    /// any key at least as coarse on each column (groups only split
    /// towards finer steps).
    fn fails_below(&self, v: usize, key: &[usize], limit: usize) -> Option<usize> {
        self.solo[v]
            .iter()
            .filter(|(coarser, n)| **n > limit && coarser.iter().zip(key).all(|(c, s)| c >= s))
            .map(|(_, n)| *n)
            .max()
    }

    /// Whether a node fails, for the climb: known without grouping when
    /// it lies above a node that passed within the limit.
    fn fails(&mut self, steps: &[usize], limit: usize) -> bool {
        if self.fails_alone(steps, limit) {
            return true;
        }
        self.evaluated += 1;
        if self.shortcuts
            && self
                .passed
                .iter()
                .any(|(finer, l)| *l <= limit && finer.iter().zip(steps).all(|(f, s)| f <= s))
        {
            return false;
        }
        match self.evaluate(steps, limit) {
            Some(_) => {
                self.passed.push((steps.to_vec(), limit));
                false
            }
            None => true,
        }
    }

    /// The groupings at `steps` of the first `delivered` views (the
    /// delivery's), taken from the cache: the very groups of their rows
    /// (roll-ups are, and so are the joined view's from the persons'
    /// groups, unless a row's person is not delivered: such a person is a
    /// group apart there, not among the persons without values).
    fn known(&mut self, delivered: usize, steps: &[usize]) -> Vec<Option<Known>> {
        (0..delivered)
            .map(|v| {
                if self.views[v].base.is_some() && self.md.all_persons() != self.md.persons {
                    return None;
                }
                let key = self.key(v, steps);
                let i = self.cache[v].iter().position(|c| c.key == key)?;
                let g = self.cache[v].swap_remove(i).grouping;
                Some(match Rc::try_unwrap(g) {
                    Ok(g) => Known {
                        groups: g.groups,
                        pairs: g.pairs,
                    },
                    Err(g) => Known {
                        groups: g.groups,
                        pairs: g.pairs.clone(),
                    },
                })
            })
            .collect()
    }

    /// From the first pass, until no enforced view has a group under k
    /// (the largest set of persons whose every group has k of them), or
    /// past `limit`. Each person removed lowers the sizes of their groups;
    /// a group falling under k sends its other members after them.
    fn evaluate(&mut self, steps: &[usize], limit: usize) -> Option<(usize, Vec<bool>)> {
        let (mut total, mut excluded, removed) = self.first_pass(steps, limit)?;
        let all = self.md.all_persons();
        let enforced: Vec<usize> = (0..self.views.len())
            .filter(|v| self.views[*v].enforced)
            .collect();
        let groupings: Vec<Rc<Grouping>> = enforced
            .into_iter()
            .map(|v| self.grouping(v, steps))
            .collect();
        // Sizes without the persons removed: the counts over all persons,
        // less each removed person's groups.
        let mut size: Vec<Vec<u32>> = groupings
            .iter()
            .map(|g| {
                let mut size = g.size.clone();
                let index = g.index(all);
                for p in &removed {
                    let p = *p as usize;
                    for (group, _) in
                        &g.pairs[index.person_start[p] as usize..index.person_start[p + 1] as usize]
                    {
                        size[*group as usize] -= 1;
                    }
                }
                size
            })
            .collect();
        let mut queue: Vec<u32> = Vec::new();
        for (g, size) in groupings.iter().zip(&size) {
            let index = g.index(all);
            for (group, s) in size.iter().enumerate() {
                if *s > 0 && *s < self.k {
                    let members = &index.members
                        [index.group_start[group] as usize..index.group_start[group + 1] as usize];
                    queue.extend(members.iter().filter(|p| !excluded[**p as usize]));
                }
            }
        }
        while let Some(p) = queue.pop() {
            let p = p as usize;
            if excluded[p] {
                continue;
            }
            excluded[p] = true;
            total += 1;
            if total > limit {
                return None;
            }
            for (g, size) in groupings.iter().zip(size.iter_mut()) {
                let index = g.index(all);
                let pairs =
                    &g.pairs[index.person_start[p] as usize..index.person_start[p + 1] as usize];
                for (group, _) in pairs {
                    let s = &mut size[*group as usize];
                    *s -= 1;
                    if *s + 1 == self.k && *s > 0 {
                        let g = *group as usize;
                        let members = &index.members
                            [index.group_start[g] as usize..index.group_start[g + 1] as usize];
                        queue.extend(members.iter().filter(|q| !excluded[**q as usize]));
                    }
                }
            }
        }
        Some((total, excluded))
    }
}

/// From a failed node, a failed node as high as one pass finds: each
/// dimension in turn is raised to the highest rung that still fails, the
/// others held (a binary search, since coarsening one dimension only
/// lowers the suppression needed). Everything below it is pruned at once:
/// this is Flash's and OLA's predictive tagging, climbing instead of
/// waiting for the loss order to reach high nodes.
///
/// A dimension is raised only as far as some node still `open` needs
/// (one the loss order has yet to reach, before the least node known to
/// pass, not below a failure, and within the rungs already climbed on the
/// dimensions before): higher, a failure would prune only nodes the
/// search never visits. Not raising is always sound (the node returned
/// has failed either way); the answer cannot change, only how many
/// nodes are grouped to reach it.
fn climb(
    ev: &mut Evaluator<'_>,
    lattice: &Lattice,
    mut node: Vec<u8>,
    allowed: usize,
    failed: &[Vec<u8>],
    open: &[u32],
    bound: &mut u32,
) -> Vec<u8> {
    let below_failure = |n: &[u8]| failed.iter().any(|f| at_or_below(n, f));
    for d in 0..lattice.dims.len() {
        let needed = if !ev.shortcuts {
            Some(lattice.heights[d] - 1)
        } else {
            open.iter()
                .take_while(|r| **r < *bound)
                .map(|r| &lattice.nodes[*r as usize].1)
                .filter(|m| m[d] > node[d] && at_or_below(&m[..d], &node[..d]))
                .map(|m| m[d])
                .max()
        };
        let Some(needed) = needed else {
            continue;
        };
        let (mut lo, mut hi) = (node[d], needed);
        // The highest rung first: failures climb most dimensions to the
        // top, decided then in one trial instead of a binary search's two
        // or three.
        let mut first = ev.shortcuts;
        while lo < hi {
            let mid = if first { hi } else { (lo + hi).div_ceil(2) };
            first = false;
            let mut trial = node.clone();
            trial[d] = mid;
            let fails =
                below_failure(&trial) || ev.fails(&steps_at(ev.md, lattice.dims, &trial), allowed);
            if fails {
                lo = mid;
            } else {
                hi = mid - 1;
                *bound = (*bound).min(lattice.rank(&trial));
            }
        }
        node[d] = lo;
    }
    node
}

/// The lattice's nodes in the order the search visits them (by
/// increasing loss, ties broken by the rungs), and each node's rank in
/// that order.
struct Lattice<'a> {
    dims: &'a [Dim],
    heights: Vec<u8>,
    nodes: Vec<(f64, Vec<u8>)>,
    /// Per node, indexed in mixed radix of the rungs: its place in `nodes`.
    ranks: Vec<u32>,
}

impl<'a> Lattice<'a> {
    fn new(md: &Microdata, dims: &'a [Dim]) -> Self {
        let costs = entropy_costs(md);
        let heights: Vec<u8> = dims.iter().map(|d| d.ladder.len() as u8).collect();
        let mut nodes: Vec<(f64, Vec<u8>)> = Vec::new();
        let mut node = vec![0u8; dims.len()];
        loop {
            let steps = steps_at(md, dims, &node);
            let loss: f64 = steps.iter().enumerate().map(|(c, s)| costs[c][*s]).sum();
            nodes.push((loss, node.clone()));
            // Next node, odometer order.
            let mut d = 0;
            loop {
                if d == node.len() {
                    break;
                }
                node[d] += 1;
                if node[d] < heights[d] {
                    break;
                }
                node[d] = 0;
                d += 1;
            }
            if d == node.len() {
                break;
            }
        }
        nodes.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        let mut lattice = Lattice {
            dims,
            heights,
            ranks: vec![0; nodes.len()],
            nodes: Vec::new(),
        };
        for (r, (_, n)) in nodes.iter().enumerate() {
            let i = lattice.index(n);
            lattice.ranks[i] = r as u32;
        }
        lattice.nodes = nodes;
        lattice
    }

    fn index(&self, node: &[u8]) -> usize {
        node.iter()
            .zip(&self.heights)
            .rev()
            .fold(0, |i, (r, h)| i * usize::from(*h) + usize::from(*r))
    }

    fn rank(&self, node: &[u8]) -> u32 {
        self.ranks[self.index(node)]
    }

    /// The ranks, after `at` (the node that just failed) and before
    /// `bound`, of the nodes still to decide: neither below that node nor
    /// below a failure. A failure below one of them spares the loss order
    /// an evaluation.
    fn open(&self, at: usize, bound: u32, node: &[u8], failed: &[Vec<u8>]) -> Vec<u32> {
        (at as u32 + 1..bound)
            .filter(|r| {
                let m = &self.nodes[*r as usize].1;
                !at_or_below(m, node) && !failed.iter().any(|f| at_or_below(m, f))
            })
            .collect()
    }
}

/// The node a search without any pruning finds: every node evaluated on
/// its own, in the search's order, until one passes (what the tests hold
/// the search to).
#[cfg(test)]
pub(crate) fn search_exhaustively(
    md: &Microdata,
    views: &[View],
    dims: &[Dim],
    k: u32,
    allowed: usize,
) -> Option<(Vec<u8>, Vec<bool>, usize)> {
    let lattice = Lattice::new(md, dims);
    lattice.nodes.iter().find_map(|(_, node)| {
        let mut ev = Evaluator::new(md, views.iter().collect(), k, false);
        ev.evaluate(&steps_at(md, dims, node), allowed)
            .map(|(suppressed, excluded)| (node.clone(), excluded, suppressed))
    })
}

/// Views only the search counts, to fail a node before grouping the
/// persons or their positionings: the persons' view on the columns of
/// its two dimensions of most values (a commune and a day, say; one when
/// the view has two), and the joined view on those and the
/// positionings' own columns. A projection's groups are unions of the
/// view's, so whoever is under k in it is under k in the view: a
/// projection that alone puts more persons under k than allowed fails
/// the node, and, grouped on few dimensions, it comes back from the
/// cache for most nodes ([`Evaluator::fails_below`] then decides every
/// node finer on those). At 2,000,000 persons the joined view's
/// projection took the nodes the search evaluates from 173 to 150 and
/// its time from 24 to 20 s (`docs/microdata.md`, tenth pass).
fn projections(md: &Microdata, views: &[View]) -> Vec<View> {
    let Some(persons) = views.iter().find(|v| v.table == Table::Individus) else {
        return Vec::new();
    };
    // The view's dimensions, each with its most values at the identity.
    let mut groups: Vec<(&str, u32)> = Vec::new();
    for c in &persons.columns {
        let (group, card) = (md.qis[*c].group.as_str(), md.columns[*c].cards[0]);
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, most)) => *most = (*most).max(card),
            None => groups.push((group, card)),
        }
    }
    if groups.len() < 2 {
        return Vec::new();
    }
    // Most values first, ties in the policy's order (a stable sort); one
    // dimension fewer than the view at least.
    groups.sort_by_key(|(_, card)| std::cmp::Reverse(*card));
    let kept: Vec<&str> = groups[..2.min(groups.len() - 1)]
        .iter()
        .map(|(g, _)| *g)
        .collect();
    let kept_of = |v: &View| -> Vec<usize> {
        v.columns
            .iter()
            .copied()
            .filter(|c| {
                md.qis[*c].table != Table::Individus || kept.contains(&md.qis[*c].group.as_str())
            })
            .collect()
    };
    let mut out = vec![View {
        name: "individus (projection)",
        table: Table::Individus,
        columns: kept_of(persons),
        enforced: false,
        order: Vec::new(),
        base: None,
    }];
    // The joined view on the same persons' columns and all the row's own:
    // its person part is the persons' projection's groups.
    if let Some(joined) = views.iter().find(|v| v.base.is_some()) {
        out.push(View {
            name: "individus_positionnements (projection)",
            table: joined.table,
            columns: kept_of(joined),
            enforced: false,
            order: joined.order.clone(),
            base: Some(views.len()),
        });
    }
    out
}

/// The views a node's first pass counts, in order: all, on the fewest
/// dimensions first (with the shortcuts; else the enforced views only, in
/// their order).
fn checked_views(md: &Microdata, views: &[&View], shortcuts: bool) -> Vec<usize> {
    if !shortcuts {
        return (0..views.len()).filter(|v| views[*v].enforced).collect();
    }
    let dims = |v: &View| {
        let mut groups: Vec<&str> = v
            .columns
            .iter()
            .map(|c| md.qis[*c].group.as_str())
            .collect();
        groups.sort_unstable();
        groups.dedup();
        groups.len()
    };
    let mut checked: Vec<usize> = (0..views.len()).collect();
    checked.sort_by_key(|v| (dims(views[*v]), *v));
    checked
}

/// Finds the node of least loss whose local suppression stays within
/// `allowed` persons.
pub(crate) fn search(
    md: &Microdata,
    views: &[View],
    dims: &[Dim],
    k: u32,
    allowed: usize,
) -> Result<Found, OutOfReach> {
    search_with(md, views, dims, k, allowed, true)
}

/// [`search`], with or without the shortcuts (a node decided from nodes
/// evaluated before, the projections counted first, a climb bounded by
/// the nodes still open and trying the highest rung first): the same
/// answer either way, fewer nodes grouped with them.
pub(crate) fn search_with(
    md: &Microdata,
    views: &[View],
    dims: &[Dim],
    k: u32,
    allowed: usize,
    shortcuts: bool,
) -> Result<Found, OutOfReach> {
    let lattice = Lattice::new(md, dims);
    let all = md.all_persons();
    let extra = if shortcuts {
        projections(md, views)
    } else {
        Vec::new()
    };
    let mut ev = Evaluator::new(md, views.iter().chain(&extra).collect(), k, shortcuts);
    // The coarsest node first: when it cannot reach k, nothing can.
    let top: Vec<u8> = lattice.heights.iter().map(|h| h - 1).collect();
    if ev.suppress(&steps_at(md, dims, &top), allowed).is_none() {
        let needed = ev
            .suppress(&steps_at(md, dims, &top), all)
            .map_or(all, |(n, _)| n);
        return Err(OutOfReach {
            needed,
            allowed,
            persons: md.persons,
        });
    }
    // Maximal nodes known to need more than `allowed`: every node below
    // one of them does too.
    let mut failed: Vec<Vec<u8>> = Vec::new();
    // The rank of the least node known to pass: the search stops there at
    // the latest, so nodes after it need no pruning.
    let mut bound = lattice.rank(&top);
    for (at, (_, node)) in lattice.nodes.iter().enumerate() {
        if failed.iter().any(|f| at_or_below(node, f)) {
            continue;
        }
        // The suppression a node needs only grows below it (the persons
        // kept form the largest set whose every group has k of them, and
        // a set valid at a node is valid above it), so a failure prunes.
        let steps = steps_at(md, dims, node);
        match ev.suppress(&steps, allowed) {
            Some((suppressed, excluded)) => {
                return Ok(Found {
                    node: node.clone(),
                    excluded,
                    suppressed,
                    evaluated: ev.evaluated,
                    grouped: ev.grouped,
                    known: ev.known(views.len(), &steps),
                })
            }
            None => {
                let open = lattice.open(at, bound, node, &failed);
                let high = climb(
                    &mut ev,
                    &lattice,
                    node.clone(),
                    allowed,
                    &failed,
                    &open,
                    &mut bound,
                );
                failed.retain(|f| !at_or_below(f, &high));
                failed.push(high);
            }
        }
    }
    // Unreachable: the top node passed above, and no failed node lies above it.
    Err(OutOfReach {
        needed: all,
        allowed,
        persons: md.persons,
    })
}
