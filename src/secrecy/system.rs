//! The linked system of one recipient: every count its plan publishes, as
//! one cell however many tables show it, and every relation between them
//! that the recipient can read off the tables it receives.
//!
//! Relations (SPEC §5): modalities add up to `ensemble`, départements and
//! zones d'emploi to their region, regions to France, months to their
//! four-month period, reasons to all reasons. Positioning counts add up
//! (equalities); distinct-person counts are bounded
//! (`max(parts) ≤ total ≤ sum(parts)`). A part is never more than its
//! whole (entries ≤ positionings). What a table's shape says is known too:
//! a row a covering table lacks is a known zero, and a row that exists has
//! a population (floors).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type};
use arrow::record_batch::RecordBatch;

use crate::domain::period::period_of_month;
use crate::error::{Error, Result};

use super::cubes::{def, variable, Cube, VARIABLES};
use super::plan::Table;

/// A key's text, shared: the million keys of a national run hold a few
/// hundred distinct texts, so each is stored once ([`text`]).
pub(crate) type Text = Arc<str>;

thread_local! {
    static TEXTS: RefCell<HashSet<Text>> = RefCell::default();
}

/// The shared copy of `s`: one allocation per distinct text (and thread),
/// however many keys hold it.
pub fn text(s: &str) -> Text {
    TEXTS.with(|texts| {
        let mut texts = texts.borrow_mut();
        if let Some(t) = texts.get(s) {
            return t.clone();
        }
        let t: Text = s.into();
        texts.insert(t.clone());
        t
    })
}

/// The key of a row of a cube (SPEC §6), with its reason (`ensemble` outside
/// the abandon cube's split). Its texts are shared ([`text`]): a clone
/// copies seven pointers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub periode: Text,
    pub type_periode: Text,
    pub niveau_geo: Text,
    pub code_geo: Option<Text>,
    pub dimension: Text,
    pub modalite: Text,
    pub motif: Text,
}

impl Key {
    pub(super) fn with_motif(&self, motif: &str) -> Key {
        Key {
            motif: text(motif),
            ..self.clone()
        }
    }

    /// `2026-T2, region 32, dispositif = AFC` (for messages and the audit).
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{}, {} {}",
            self.periode,
            self.niveau_geo,
            self.code_geo.as_deref().unwrap_or("")
        );
        if &*self.dimension != "ensemble" {
            s.push_str(&format!(", {} = {}", self.dimension, self.modalite));
        }
        if &*self.motif != "ensemble" {
            s.push_str(&format!(", motif {}", self.motif));
        }
        s.trim_end().replace("france ,", "france,")
    }
}

/// A count no table publishes but whose value the tables bound: it is
/// never published, and primary when it holds 1 to threshold − 1, so that
/// whatever would give it away is suppressed like for any small count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Latent {
    /// What a whole holds beyond its published parts (sessions with no
    /// département in a region, say).
    Remainder,
    /// The change of a count since an earlier release that published it:
    /// `now − before` when it grew (`growth`), `before − now` when it shrank.
    /// `now` and `then` are the count's cells now and at that release.
    Change {
        before: Text,
        growth: bool,
        now: usize,
        then: usize,
    },
    /// A département × zone d'emploi count: départements and zones both
    /// cut the same communes, so a reader of both levels and of the public
    /// zoning learns what lies in each crossing.
    Crossing,
    /// The value of a count in an earlier release: known when it was
    /// published then, an unknown that stays protected when it was not.
    Released { date_arrete: Text, published: bool },
}

/// One count: a variable at a key.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    /// Index in [`VARIABLES`].
    pub variable: usize,
    pub key: Key,
    pub value: i64,
    /// The least the recipient knows it is (a row that exists has a population).
    pub floor: i64,
    /// Known from a table's shape (a covering table lacks the row), a zero,
    /// or a value released earlier: always published, never a complement.
    pub known: bool,
    /// A count no table of this run publishes (`None` for a published one).
    pub latent: Option<Latent>,
    /// The recipients (bit `r` of [`Scope::recipient`]) receiving it.
    pub receivers: u64,
}

impl Cell {
    /// The count's column name, for messages and the audit
    /// (`reste:nb_entrees`, `evolution_2026-06-30:nb_entrees` for latent
    /// counts).
    pub(crate) fn name(&self) -> String {
        let v = VARIABLES[self.variable].name;
        match &self.latent {
            None => v.to_string(),
            Some(Latent::Remainder) => format!("reste:{v}"),
            Some(Latent::Crossing) => format!("croisement:{v}"),
            Some(Latent::Change { before, .. }) => format!("evolution_{before}:{v}"),
            Some(Latent::Released { date_arrete, .. }) => format!("diffuse_{date_arrete}:{v}"),
        }
    }

    /// Whether a table of this run can publish it.
    pub(crate) fn publishable(&self) -> bool {
        self.latent.is_none()
    }

    /// Whether the recipients cannot read it whatever the pattern: a
    /// latent count other than one an earlier release published.
    pub(crate) fn unpublished(&self) -> bool {
        match &self.latent {
            None => false,
            Some(Latent::Released { published, .. }) => !published,
            Some(_) => true,
        }
    }

    fn new(variable: usize, key: Key, value: i64) -> Cell {
        Cell {
            variable,
            key,
            value,
            floor: 0,
            known: false,
            latent: None,
            receivers: 0,
        }
    }
}

/// How a relation binds its total to its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// `total = sum(parts)`.
    Equal,
    /// Distinct persons: `max(parts) ≤ total ≤ sum(parts)`.
    Persons,
}

/// A relation between cells (indices into [`System::cells`]).
#[derive(Debug, Clone)]
pub(crate) struct Relation {
    pub total: usize,
    pub parts: Vec<usize>,
    pub bound: Bound,
    /// `dispositif → ensemble`, `départements → région`, `mois → quadrimestre`…
    pub kind: Text,
}

/// The cells and relations the recipients of a run can read, together.
#[derive(Debug, Clone, Default)]
pub(crate) struct System {
    pub cells: Vec<Cell>,
    pub relations: Vec<Relation>,
    /// `(part, whole)`: the part is at most its whole, and their difference is a cell.
    pub wholes: Vec<(usize, usize)>,
    /// `(small, large)`: every bound of one key derived from the catalogue
    /// ([`super::cubes::bounds`]): the wholes, and persons ≤ positionings.
    pub bounds: Vec<(usize, usize)>,
    /// Relations whose parts hold more than their whole on the data (a code
    /// mapped to two regions): left out, as the recipient cannot rely on
    /// them either. A whole holding more than its parts keeps its relation,
    /// with a [`Latent::Remainder`].
    pub dropped: usize,
    /// Remainder cells added to relations the parts do not exhaust.
    pub remainders: usize,
    /// (variable, key) → cell.
    pub index: HashMap<(usize, Key), usize>,
}

/// A table published to one recipient, restricted to its region.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub table: &'a Table,
    pub region: Option<&'a str>,
    /// The recipient's index in the run (below 64).
    pub recipient: usize,
}

/// Département or zone d'emploi code → its region, for the geographic
/// relations (codes found in several regions are left out).
pub type Geography = HashMap<(String, String), String>;

/// A cube in full, as computed (internal, unsuppressed).
pub struct CubeBatch {
    pub cube: Cube,
    pub batch: RecordBatch,
}

/// The full batch of a cube.
///
/// # Errors
/// `Internal` when the cube was not computed.
pub(super) fn batch_of(cubes: &[CubeBatch], cube: Cube) -> Result<&RecordBatch> {
    cubes
        .iter()
        .find(|c| c.cube == cube)
        .map(|c| &c.batch)
        .ok_or_else(|| Error::Internal(format!("cube {} was not computed", def(cube).name)))
}

/// The level of the département × zone d'emploi rows a cube carries when
/// a run publishes both levels (never published: see [`Latent::Crossing`]).
pub(crate) const CROSSING_LEVEL: &str = "departement_zone";

/// The separator of a crossing row's `code_geo`: `59|3201`.
pub(crate) const CROSSING_SEPARATOR: char = '|';

/// Whether tables publish both départements and zones d'emploi, so that
/// the cubes must carry their crossing ([`CROSSING_LEVEL`]).
pub(crate) fn crosses_zonings<'a>(tables: impl IntoIterator<Item = &'a Table>) -> bool {
    let (mut dep, mut zone) = (false, false);
    for t in tables {
        dep |= t.niveaux.iter().any(|n| n == "departement");
        zone |= t.niveaux.iter().any(|n| n == "zone_emploi");
    }
    dep && zone
}

/// The key columns of a cube (SPEC §6), the abandon cube's reason last.
pub(crate) const KEY_COLUMNS: [&str; 7] = [
    "periode",
    "type_periode",
    "niveau_geo",
    "code_geo",
    "dimension",
    "modalite",
    "motif_code",
];

/// The text columns of a cube's key, row by row.
pub(super) struct KeyColumns {
    cols: Vec<Option<arrow::array::StringArray>>,
}

impl KeyColumns {
    /// The key columns of a cube, the reason last.
    pub(super) const NAMES: [&'static str; 7] = KEY_COLUMNS;
    pub(super) fn of(batch: &RecordBatch) -> Result<Self> {
        let cols = Self::NAMES
            .iter()
            .enumerate()
            .map(|(i, name)| match batch.column_by_name(name) {
                Some(c) => {
                    let c = arrow::compute::cast(c, &DataType::Utf8)?;
                    Ok(Some(c.as_string::<i32>().clone()))
                }
                None if i == 6 => Ok(None),
                None => Err(Error::Internal(format!(
                    "a cube lacks its key column {name}"
                ))),
            })
            .collect::<Result<_>>()?;
        Ok(KeyColumns { cols })
    }

    pub(super) fn key(&self, row: usize) -> Key {
        let at = |i: usize| -> Option<Text> {
            self.cols[i]
                .as_ref()
                .filter(|c| c.is_valid(row))
                .map(|c| text(c.value(row)))
        };
        Key {
            periode: at(0).unwrap_or_else(|| text("")),
            type_periode: at(1).unwrap_or_else(|| text("")),
            niveau_geo: at(2).unwrap_or_else(|| text("")),
            code_geo: at(3),
            dimension: at(4).unwrap_or_else(|| text("")),
            modalite: at(5).unwrap_or_else(|| text("")),
            motif: at(6).unwrap_or_else(|| text("ensemble")),
        }
    }
}

/// A cube column as integers (nulls as 0).
pub(super) fn int_column(batch: &RecordBatch, name: &str) -> Result<Vec<i64>> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| Error::Internal(format!("a cube lacks its column {name}")))?;
    let col = arrow::compute::cast(col, &DataType::Int64)?;
    let col = col.as_primitive::<Int64Type>();
    Ok((0..col.len())
        .map(|i| if col.is_valid(i) { col.value(i) } else { 0 })
        .collect())
}

/// Whether a row of a table is published to a recipient restricted to
/// `region` (every row when `None`).
pub(super) fn in_region(key: &Key, region: Option<&str>, geography: &Geography) -> bool {
    let Some(region) = region else { return true };
    match (&*key.niveau_geo, key.code_geo.as_deref()) {
        ("france", _) => true,
        ("region", Some(code)) => code == region,
        (level, Some(code)) => geography
            .get(&(level.to_string(), code.to_string()))
            .is_some_and(|r| r == region),
        _ => false,
    }
}

/// The rows of a cube batch a table publishes.
pub(super) fn table_rows(
    table: &Table,
    keys: &KeyColumns,
    rows: usize,
    region: Option<&str>,
    geography: &Geography,
) -> Vec<(usize, Key)> {
    (0..rows)
        .filter(|&r| {
            let text = |i: usize| keys.cols[i].as_ref().map_or("ensemble", |c| c.value(r));
            table.holds(text(1), text(2), text(4), text(6))
        })
        .map(|r| (r, keys.key(r)))
        .filter(|(_, k)| in_region(k, region, geography))
        .collect()
}

/// Dimensions that are attributes of the person, so that a person is in
/// exactly one modality and person counts add up over them.
const PERSON_ATTRIBUTES: &[&str] = &[
    "sexe",
    "niveau",
    "eligible_pic",
    "beneficiaire_rsa",
    "travailleur_handicape",
];

/// Adds, for every département × zone d'emploi row of the cubes, a latent
/// [`Latent::Crossing`] cell for each count whose département or zone is a
/// cell: the crossings of a département add up to it, and those of a zone
/// to the zone. A pair no row holds shares no positioning; it is left out,
/// as a zero the reader is assumed to know.
///
/// # Errors
/// `Internal` when a cube the tables publish carries no crossing row while
/// it has départements and zones (the run did not compute them).
fn add_crossings(
    scopes: &[Scope],
    cubes: &[CubeBatch],
    cells: &mut Vec<Cell>,
    index: &mut HashMap<(usize, Key), usize>,
) -> Result<()> {
    let mut published: Vec<Cube> = scopes.iter().map(|s| s.table.cube).collect();
    published.sort_unstable_by_key(|c| def(*c).name);
    published.dedup();
    for cube in published {
        let d = def(cube);
        let batch = batch_of(cubes, cube)?;
        let keys = KeyColumns::of(batch)?;
        let rows: Vec<Key> = (0..batch.num_rows()).map(|r| keys.key(r)).collect();
        let crossing: Vec<usize> = (0..rows.len())
            .filter(|&r| &*rows[r].niveau_geo == CROSSING_LEVEL)
            .collect();
        if crossing.is_empty() && rows.iter().any(|k| &*k.niveau_geo == "zone_emploi") {
            return Err(Error::Internal(format!(
                "cube {} carries no département × zone d'emploi row, which secrecy needs when départements and zones are both published",
                d.name
            )));
        }
        let measured = |column: &str| {
            scopes
                .iter()
                .any(|s| s.table.cube == cube && s.table.mesures.contains(&column))
        };
        for (column, uses) in d.counts.iter().filter(|(c, _)| measured(c)) {
            let values = int_column(batch, column)?;
            let v = variable(uses.variable);
            for &r in &crossing {
                let key = if uses.all_reasons {
                    rows[r].with_motif("ensemble")
                } else {
                    rows[r].clone()
                };
                let Some((dep, zone)) = key
                    .code_geo
                    .as_deref()
                    .and_then(|c| c.split_once(CROSSING_SEPARATOR))
                else {
                    continue;
                };
                let receivers = [("departement", dep), ("zone_emploi", zone)]
                    .into_iter()
                    .filter_map(|(level, code)| {
                        let at = Key {
                            niveau_geo: level.into(),
                            code_geo: Some(text(code)),
                            ..key.clone()
                        };
                        index.get(&(v, at)).map(|&i| cells[i].receivers)
                    })
                    .fold(None, |acc: Option<u64>, r| Some(acc.unwrap_or(0) | r));
                let Some(receivers) = receivers else { continue };
                if index.contains_key(&(v, key.clone())) {
                    continue;
                }
                let mut cell = Cell::new(v, key.clone(), values[r]);
                cell.latent = Some(Latent::Crossing);
                cell.receivers = receivers;
                cells.push(cell);
                index.insert((v, key), cells.len() - 1);
            }
        }
    }
    Ok(())
}

/// A row a covering table lacks: its counts there are known zeros.
/// `present`: (scope, row key) published.
fn mark_absent_rows(
    cells: &mut [Cell],
    scopes: &[Scope],
    present: &HashSet<(usize, Key)>,
    geography: &Geography,
) {
    let carriers: Vec<Vec<usize>> = (0..VARIABLES.len())
        .map(|v| {
            scopes
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    def(s.table.cube).counts.iter().any(|(c, u)| {
                        s.table.mesures.contains(c) && u.variable == VARIABLES[v].name
                    })
                })
                .map(|(t, _)| t)
                .collect()
        })
        .collect();
    for cell in cells.iter_mut() {
        let k = &cell.key;
        cell.known = carriers[cell.variable].iter().any(|&t| {
            let s = &scopes[t];
            s.table
                .holds(&k.type_periode, &k.niveau_geo, &k.dimension, &k.motif)
                && !present.contains(&(t, k.clone()))
                && in_region(k, s.region, geography)
        });
    }
}

impl System {
    /// Builds the system of the tables of every scope over the full cubes:
    /// a count published by several tables, or to several recipients, is
    /// one cell.
    ///
    /// # Errors
    /// `Internal` when a cube a table names was not computed, or two tables
    /// disagree on one cell.
    pub(crate) fn build(
        scopes: &[Scope],
        cubes: &[CubeBatch],
        geography: &Geography,
    ) -> Result<System> {
        let mut index: HashMap<(usize, Key), usize> = HashMap::new();
        let mut cells: Vec<Cell> = Vec::new();
        // (scope, row key) published, for the known zeros.
        let mut present: HashSet<(usize, Key)> = HashSet::new();
        for (t, scope) in scopes.iter().enumerate() {
            let table = scope.table;
            let d = def(table.cube);
            let batch = batch_of(cubes, table.cube)?;
            let keys = KeyColumns::of(batch)?;
            let counts: Vec<(&str, super::cubes::Uses, Vec<i64>)> = d
                .counts
                .iter()
                .filter(|(c, _)| table.mesures.contains(c))
                .map(|(c, u)| Ok((*c, *u, int_column(batch, c)?)))
                .collect::<Result<_>>()?;
            for (row, key) in table_rows(table, &keys, batch.num_rows(), scope.region, geography) {
                let always = &*key.niveau_geo == "france" && &*key.dimension == "ensemble";
                let satisfied: Vec<&str> = d
                    .exists_if
                    .iter()
                    .filter(|group| {
                        group.iter().all(|v| {
                            counts
                                .iter()
                                .find(|(_, u, _)| u.variable == *v && !u.all_reasons)
                                .is_some_and(|(_, _, values)| values[row] >= 1)
                        })
                    })
                    .flat_map(|g| g.iter().copied())
                    .collect();
                for (column, uses, values) in &counts {
                    let cell_key = if uses.all_reasons {
                        key.with_motif("ensemble")
                    } else {
                        key.clone()
                    };
                    let v = variable(uses.variable);
                    let value = values[row];
                    let at = *index.entry((v, cell_key.clone())).or_insert_with(|| {
                        cells.push(Cell::new(v, cell_key.clone(), value));
                        cells.len() - 1
                    });
                    if cells[at].value != value {
                        return Err(Error::Internal(format!(
                            "{column} of {} is {value} in {} but {} elsewhere",
                            cell_key.describe(),
                            table.nom,
                            cells[at].value
                        )));
                    }
                    cells[at].receivers |= 1 << scope.recipient;
                    if !always && !uses.all_reasons && satisfied.contains(&uses.variable) {
                        cells[at].floor = 1;
                    }
                }
                present.insert((t, key));
            }
        }
        if crosses_zonings(scopes.iter().map(|s| s.table)) {
            add_crossings(scopes, cubes, &mut cells, &mut index)?;
        }
        mark_absent_rows(&mut cells, scopes, &present, geography);
        let mut system = System {
            cells,
            ..System::default()
        };
        system.relate(geography, &index);
        system.index = index;
        system.spread_known_zeros();
        // A zero is published whatever happens: it protects nothing.
        for c in system.cells.iter_mut().filter(|c| c.publishable()) {
            c.known |= c.value == 0;
        }
        Ok(system)
    }

    /// Adds a latent cell and returns its index.
    pub(super) fn add_latent(
        &mut self,
        variable: usize,
        key: Key,
        value: i64,
        latent: Latent,
    ) -> usize {
        let mut cell = Cell::new(variable, key, value);
        cell.latent = Some(latent);
        self.cells.push(cell);
        self.cells.len() - 1
    }

    /// Finds the relations between the cells, keeping those the data satisfy.
    fn relate(&mut self, geography: &Geography, index: &HashMap<(usize, Key), usize>) {
        let groups = self.parts_of_wholes(geography, index);
        let remainder_of = self.add_relations(groups);
        self.add_bounds(index, &remainder_of);
    }

    /// (whole, kind of relation) → its parts found among the cells:
    /// modalities of `ensemble`, départements, zones and crossings of
    /// their region or of each other, regions of France, months of their
    /// four-month period, reasons of all reasons.
    fn parts_of_wholes(
        &self,
        geography: &Geography,
        index: &HashMap<(usize, Key), usize>,
    ) -> BTreeMap<(usize, Text), Vec<usize>> {
        let mut groups: BTreeMap<(usize, Text), Vec<usize>> = BTreeMap::new();
        for (i, c) in self.cells.iter().enumerate() {
            let k = &c.key;
            let mut add = |total: Key, kind: &str| {
                if let Some(&t) = index.get(&(c.variable, total)) {
                    groups.entry((t, text(kind))).or_default().push(i);
                }
            };
            if &*k.dimension != "ensemble" {
                let total = Key {
                    dimension: "ensemble".into(),
                    modalite: "ensemble".into(),
                    ..k.clone()
                };
                add(total, &format!("{} → ensemble", k.dimension));
            }
            for (total, kind) in geographic_wholes(k, geography) {
                add(total, kind);
            }
            if &*k.type_periode == "mois" {
                if let Some(t) = period_of_month(&k.periode) {
                    add(
                        Key {
                            periode: text(&t),
                            type_periode: "quadrimestre".into(),
                            ..k.clone()
                        },
                        "mois → quadrimestre",
                    );
                }
            }
            if &*k.motif != "ensemble" {
                add(k.with_motif("ensemble"), "motifs → ensemble");
            }
        }
        groups
    }

    /// Keeps the relations the data satisfy, each with a remainder when its
    /// parts do not exhaust its whole. Returns each whole's remainders, with
    /// the kind of their relation.
    fn add_relations(
        &mut self,
        groups: BTreeMap<(usize, Text), Vec<usize>>,
    ) -> HashMap<usize, Vec<(Text, usize)>> {
        // Whole → (kind of relation, its remainder).
        let mut remainder_of: HashMap<usize, Vec<(Text, usize)>> = HashMap::new();
        for ((total, kind), mut parts) in groups {
            let (t_value, v) = (self.cells[total].value, self.cells[total].variable);
            let values: Vec<i64> = parts.iter().map(|&p| self.cells[p].value).collect();
            let sum: i64 = values.iter().sum();
            let max = values.iter().copied().max().unwrap_or(0);
            let persons = VARIABLES[v].persons();
            // Parts holding more than their whole: the relation is not one.
            if max > t_value || (!persons && sum > t_value) {
                self.dropped += 1;
                continue;
            }
            // Persons add up where each is in at most one part: one part
            // (the whole minus it counts the persons outside it), or a
            // dimension that is an attribute of the person.
            let exact = !persons
                || parts.len() == 1
                || (sum <= t_value && PERSON_ATTRIBUTES.iter().any(|a| kind.starts_with(a)));
            // A whole its parts do not exhaust gets a remainder: what no
            // published part holds (for persons, at least that many).
            if t_value > sum {
                let key = self.cells[total].key.clone();
                let r = self.add_latent(v, key, t_value - sum, Latent::Remainder);
                self.cells[r].receivers = self.cells[total].receivers;
                parts.push(r);
                self.remainders += 1;
                remainder_of
                    .entry(total)
                    .or_default()
                    .push((kind.clone(), r));
            }
            self.relations.push(Relation {
                total,
                parts,
                bound: if exact { Bound::Equal } else { Bound::Persons },
                kind,
            });
        }
        remainder_of
    }

    /// Every bound of one key the catalogue derives ([`super::cubes::bounds`]),
    /// and the same bounds between the remainders of those keys' wholes.
    fn add_bounds(
        &mut self,
        index: &HashMap<(usize, Key), usize>,
        remainder_of: &HashMap<usize, Vec<(Text, usize)>>,
    ) {
        let index_of = |v: usize, k: &Key| index.get(&(v, k.clone())).copied();
        let bounds = super::cubes::bounds();
        for (i, c) in self.cells.iter().enumerate() {
            if &*c.key.motif != "ensemble" || !c.publishable() {
                continue;
            }
            for &(small, large) in bounds.iter().filter(|b| b.0 == c.variable) {
                if let Some(j) = index_of(large, &c.key) {
                    self.bounds.push((i, j));
                    if super::cubes::whole(small) == Some(large) {
                        self.wholes.push((i, j));
                    }
                }
            }
        }
        // What the parts leave out of a whole is bounded as the whole is:
        // the persons no published département holds are no more than the
        // positionings none holds.
        let mut extra = Vec::new();
        for &(i, j) in &self.bounds {
            let (Some(ri), Some(rj)) = (remainder_of.get(&i), remainder_of.get(&j)) else {
                continue;
            };
            for (kind, a) in ri {
                if let Some((_, b)) = rj.iter().find(|(k, _)| k == kind) {
                    extra.push((*a, *b));
                }
            }
        }
        self.bounds.extend(extra);
    }

    /// A known zero makes its parts known zeros too (counts are not
    /// negative): no abandon where no one entered, no département where its
    /// region is empty.
    fn spread_known_zeros(&mut self) {
        loop {
            let mut changed = false;
            let zero = |c: &Cell| c.known && c.value == 0;
            let mut spread: Vec<usize> = Vec::new();
            for rel in &self.relations {
                if zero(&self.cells[rel.total]) {
                    spread.extend(rel.parts.iter().copied());
                }
            }
            for &(small, large) in &self.bounds {
                if zero(&self.cells[large]) {
                    spread.push(small);
                }
            }
            for i in spread {
                if !self.cells[i].known && self.cells[i].value == 0 && self.cells[i].publishable() {
                    self.cells[i].known = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }
}

/// The wholes a cell of key `k` is a part of by geography, each with the
/// kind of relation: a region in France, a département or an employment
/// zone in its region, a cell of the crossing in its département and in its
/// zone.
fn geographic_wholes(k: &Key, geography: &Geography) -> Vec<(Key, &'static str)> {
    let at = |niveau_geo: &str, code_geo: Option<Text>| Key {
        niveau_geo: niveau_geo.into(),
        code_geo,
        ..k.clone()
    };
    match (&*k.niveau_geo, &k.code_geo) {
        ("region", Some(_)) => vec![(at("france", None), "régions → France")],
        (level @ ("departement" | "zone_emploi"), Some(code)) => geography
            .get(&(level.to_string(), code.to_string()))
            .map(|region| {
                let kind = if level == "departement" {
                    "départements → région"
                } else {
                    "zones d'emploi → région"
                };
                vec![(at("region", Some(text(region))), kind)]
            })
            .unwrap_or_default(),
        (CROSSING_LEVEL, Some(code)) => code
            .split_once(CROSSING_SEPARATOR)
            .map(|(dep, zone)| {
                vec![
                    (
                        at("departement", Some(text(dep))),
                        "zones d'emploi → département",
                    ),
                    (
                        at("zone_emploi", Some(text(zone))),
                        "départements → zone d'emploi",
                    ),
                ]
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}
