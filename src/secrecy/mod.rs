//! Statistical secrecy (SPEC §5) on the tables a recipient's publication
//! plan declares.
//!
//! Only this module marks an aggregate releasable: a [`Cleared`] table can
//! be built nowhere else. It never queries DuckDB: the full cubes come in
//! as Arrow batches, the cleared tables go out the same way.
//!
//! The steps, one owner each:
//! 1. [`system`]: the plan's tables as one linked system of cells (a count
//!    shared by two tables is one cell) and every relation the recipient
//!    can read off them;
//! 2. primary suppression here: each count below the threshold, and each
//!    part whose complement in its whole is (`A`);
//! 3. [`gauss`]: secondary suppression by Gaussian elimination, cells taken
//!    in order of preference (totals, regions, départements, large counts
//!    first), then the rule that primary cells alone in a relation must
//!    together reach the threshold (`D`);
//! 4. [`audit`]: every suppressed count attacked by linear programming, on
//!    every run. A count still too narrow gets one more complement; if
//!    none helps, nothing is delivered and the error names the cell.

pub(crate) mod audit;
pub(crate) mod cubes;
pub(crate) mod gauss;
pub(crate) mod plan;
pub(crate) mod system;
mod widen;

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, UInt32Array,
};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use serde::Serialize;

use crate::error::{Error, Result};

pub use plan::Plan;
pub use system::{text, CubeBatch, Geography, Key};
pub(crate) use system::{System, Text, KEY_COLUMNS};

use cubes::{def, variable};
use gauss::Hidden;
use system::{Bound, KeyColumns};

/// How a recipient's tables are protected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Settings {
    /// A count from 1 to `threshold − 1` is primary (SPEC §5: 11 by default).
    pub threshold: i64,
    /// The narrowest interval, in whole units, the recipient may compute
    /// for a suppressed count (1: no count may be pinned).
    pub protection: u32,
    /// Publish only this region and its départements and zones (committee).
    pub region: Option<String>,
}

/// Why a count is suppressed, as τ-Argus writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flag {
    /// Primary (`A`): below the threshold, or its complement is.
    Primary,
    /// Secondary (`D`): so that no primary count can be computed.
    Secondary,
}

impl Flag {
    pub(crate) fn letter(self) -> &'static str {
        match self {
            Flag::Primary => "A",
            Flag::Secondary => "D",
        }
    }
}

/// A table cleared for release: suppressed counts and the rates using them
/// are null, each with its `secret_<measure>` flag. Only this module builds one.
#[derive(Debug, Clone)]
pub struct Cleared {
    name: String,
    batch: RecordBatch,
}

impl Cleared {
    /// The table's name in the plan (its file under `agregats/`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn batch(&self) -> &RecordBatch {
        &self.batch
    }
}

/// Counts, primary and secondary suppressions of one published table.
#[derive(Debug, Clone, Serialize)]
pub struct TableShares {
    pub tableau: String,
    pub lignes: usize,
    /// Count cells published in the table (a count of a row is a cell).
    pub effectifs: usize,
    pub primaires_a: usize,
    pub secondaires_d: usize,
}

impl TableShares {
    /// Counts the cells of one count column and their flags.
    fn count(&mut self, flags: &[Option<Flag>]) {
        self.effectifs += flags.len();
        self.primaires_a += flags.iter().filter(|f| **f == Some(Flag::Primary)).count();
        self.secondaires_d += flags
            .iter()
            .filter(|f| **f == Some(Flag::Secondary))
            .count();
    }
}

/// What the protection did, for `OUT/interne/secret/` (internal).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub plan: String,
    pub plan_version: String,
    pub plan_sha256: String,
    pub seuil_secret: i64,
    pub niveau_protection: u32,
    pub region: Option<String>,
    /// Distinct cells of the linked system (a count shared by tables is one).
    pub cellules: usize,
    pub relations: usize,
    pub relations_ecartees: usize,
    /// Remainders added where a whole holds more than its published parts
    /// (in the whole run's system).
    pub restes: usize,
    /// The recipients whose tables were protected together in one system.
    pub proteges_ensemble: Vec<String>,
    /// Counts of this recipient's earlier releases (release register) found
    /// again among this run's counts and taken as published.
    pub diffusions_anterieures: usize,
    pub primaires_a: usize,
    pub secondaires_d: usize,
    /// Complements the audit asked for, beyond Gaussian elimination.
    pub complements_audit: usize,
    /// Complements published again because the recipient computes them exactly.
    pub complements_republies: usize,
    pub effectifs_audites: usize,
    pub programmes_resolus: usize,
    pub effectifs_exposes: usize,
    /// Width of the narrowest interval found for a suppressed count.
    pub intervalle_le_plus_etroit: Option<f64>,
    pub tableaux: Vec<TableShares>,
    pub secondes_protection: f64,
    pub secondes_audit: f64,
}

/// A plan's tables, cleared, with the internal audit.
pub struct Protection {
    pub tables: Vec<Cleared>,
    /// Every count released to the recipient, once each (a count shown by
    /// several tables is one), sorted by variable and key: what the
    /// release register keeps.
    pub released: Vec<ReleasedCount>,
    /// One row per suppressed count: its true value, flag, reason and the
    /// interval the recipient can compute (internal, never delivered).
    pub audit: RecordBatch,
    pub summary: Summary,
}

/// Rounds of audit and complement before failing closed.
const AUDIT_ROUNDS: usize = 20;

/// The order in which cells are published: the most wanted first.
/// Totals and region-level cells, then département × four-month `ensemble`
/// cells, then finer ones; within a tier, large counts first.
fn preference(k: &Key) -> u8 {
    let geo = match &*k.niveau_geo {
        "france" | "region" => 0,
        "departement" => 1,
        _ => 3,
    };
    let split = if &*k.dimension == "ensemble" && &*k.motif == "ensemble" {
        0
    } else {
        2
    };
    let month = u8::from(&*k.type_periode == "mois" && geo > 0);
    geo + split + month
}

/// One recipient of cleared aggregates in a run.
#[derive(Debug, Clone)]
pub struct Release<'a> {
    pub name: &'a str,
    pub plan: &'a Plan,
    pub settings: Settings,
}

/// A count of an earlier release, read from the release register: its
/// true value, and whether it was published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    pub recipient: Text,
    /// The cut-off of the release (`YYYY-MM-DD`).
    pub date_arrete: Text,
    /// The variable's name in [`cubes::VARIABLES`] (`nb_entrees`).
    pub variable: Text,
    pub key: Key,
    pub value: i64,
    pub published: bool,
}

/// One count of a release, as the register keeps it (internal: the true
/// value of a suppressed count too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasedCount {
    /// The variable's name (`nb_entrees`).
    pub variable: Text,
    pub key: Key,
    pub value: i64,
    /// `A`, `D`, or `None` when published.
    pub flag: Option<Text>,
}

/// Protects the tables of `plan` over the full `cubes`, for one recipient
/// alone and with no earlier release ([`protect_run`] with one release).
///
/// # Errors
/// As [`protect_run`].
#[cfg(test)]
pub(crate) fn protect(
    plan: &Plan,
    cubes: &[CubeBatch],
    geography: &Geography,
    settings: &Settings,
) -> Result<Protection> {
    let release = Release {
        name: "",
        plan,
        settings: settings.clone(),
    };
    let mut all = protect_run(&[release], cubes, geography, &[])?;
    Ok(all.remove(0))
}

/// Protects the tables of every recipient of a run together, as one
/// system: a count published to several recipients is published, or
/// hidden, the same way for all, and what one receives cannot undo what
/// another's suppression protects. Every count of `earlier` releases that
/// this run publishes again is taken as published then: its change since
/// is a cell too, primary when it holds 1 to threshold − 1.
///
/// A cell's threshold is the highest of its recipients'; the protection
/// level is the highest of all.
///
/// Returns one [`Protection`] per release, in order.
///
/// # Errors
/// `Policy` when the audit still computes a suppressed count more narrowly
/// than the protection level after every complement it could add (the
/// message names the cell and its interval); `Config` beyond 64 recipients
/// of aggregates; `Internal` on an inconsistent cube.
pub fn protect_run(
    releases: &[Release],
    cubes: &[CubeBatch],
    geography: &Geography,
    earlier: &[Released],
) -> Result<Vec<Protection>> {
    if releases.len() > 64 {
        return Err(Error::Config(format!(
            "{} recipients of aggregates in one run: at most 64",
            releases.len()
        )));
    }
    let started = std::time::Instant::now();
    let scopes: Vec<system::Scope> = releases
        .iter()
        .enumerate()
        .flat_map(|(r, rel)| {
            rel.plan.tables.iter().map(move |table| system::Scope {
                table,
                region: rel.settings.region.as_deref(),
                recipient: r,
            })
        })
        .collect();
    let mut system = System::build(&scopes, cubes, geography)?;
    let taken = remember(&mut system, releases, earlier);
    let (threshold, settings) = thresholds(&system, releases);
    let mut reasons: Vec<Option<(Flag, String)>> = vec![None; system.cells.len()];
    primary(&system, &threshold, &mut reasons);
    let rank = preference_rank(&system, &reasons);
    secondary(&system, &rank, &mut reasons);
    let mut tried = vec![false; system.cells.len()];
    sums(&system, &threshold, &rank, &tried, &mut reasons);
    let protected_in = started.elapsed().as_secs_f64();

    let started = std::time::Instant::now();
    let audited = audit_until_protected(
        &system,
        &settings,
        &threshold,
        &rank,
        &mut tried,
        &mut reasons,
    )?;
    let audited_in = started.elapsed().as_secs_f64();

    let pattern = Pattern {
        flags: reasons.iter().map(|r| r.as_ref().map(|r| r.0)).collect(),
        system,
        reasons,
        audited,
        names: releases.iter().map(|r| r.name.to_string()).collect(),
        seconds: (protected_in, audited_in),
    };
    releases
        .iter()
        .enumerate()
        .map(|(r, rel)| pattern.protection(r, rel, taken[r], cubes, geography))
        .collect()
}

/// The suppression pattern of a run, audited: what each recipient's
/// [`Protection`] is cut from.
struct Pattern {
    system: System,
    /// Per cell: its flag, and its flag with the reason.
    flags: Vec<Option<Flag>>,
    reasons: Vec<Option<(Flag, String)>>,
    audited: Audited,
    /// The recipients protected together.
    names: Vec<String>,
    /// Seconds of protection and of audit.
    seconds: (f64, f64),
}

impl Pattern {
    /// The tables, released counts, audit and summary of recipient `r`,
    /// which took `taken` counts of earlier releases into account.
    ///
    /// # Errors
    /// `Internal` when a table's cube was not computed.
    fn protection(
        &self,
        r: usize,
        rel: &Release,
        taken: usize,
        cubes: &[CubeBatch],
        geography: &Geography,
    ) -> Result<Protection> {
        let (system, flags, audited) = (&self.system, &self.flags, &self.audited);
        let region = rel.settings.region.as_deref();
        let tables = rel
            .plan
            .tables
            .iter()
            .map(|t| clear(t, cubes, system, flags, geography, region))
            .collect::<Result<Vec<_>>>()?;
        let mine = |i: &usize| system.cells[*i].receivers & (1 << r) != 0;
        let count = |flag: Flag| {
            (0..system.cells.len())
                .filter(mine)
                .filter(|&i| system.cells[i].publishable() && flags[i] == Some(flag))
                .count()
        };
        let intervals = audited
            .intervals
            .iter()
            .enumerate()
            .filter(|(i, _)| mine(i));
        let summary = Summary {
            plan: rel.plan.source.clone(),
            plan_version: rel.plan.version.clone(),
            plan_sha256: rel.plan.sha256.clone(),
            seuil_secret: rel.settings.threshold,
            niveau_protection: rel.settings.protection,
            region: rel.settings.region.clone(),
            cellules: (0..system.cells.len())
                .filter(mine)
                .filter(|&i| system.cells[i].publishable())
                .count(),
            relations: system.relations.len(),
            relations_ecartees: system.dropped,
            restes: system.remainders,
            proteges_ensemble: self.names.clone(),
            diffusions_anterieures: taken,
            primaires_a: count(Flag::Primary),
            secondaires_d: count(Flag::Secondary),
            complements_audit: audited.complements,
            complements_republies: audited.republished,
            effectifs_audites: intervals.clone().filter(|(_, i)| i.is_some()).count(),
            programmes_resolus: audited.programmes,
            effectifs_exposes: 0,
            intervalle_le_plus_etroit: intervals
                .filter_map(|(_, i)| i.as_ref())
                .map(audit::Interval::width)
                .min_by(f64::total_cmp),
            tableaux: tables.iter().map(|(_, s)| s.clone()).collect(),
            secondes_protection: self.seconds.0,
            secondes_audit: self.seconds.1,
        };
        let mut released: Vec<ReleasedCount> = (0..system.cells.len())
            .filter(|i| mine(i) && system.cells[*i].publishable())
            .map(|i| {
                let c = &system.cells[i];
                ReleasedCount {
                    variable: text(cubes::VARIABLES[c.variable].name),
                    key: c.key.clone(),
                    value: c.value,
                    flag: flags[i].map(|f| text(f.letter())),
                }
            })
            .collect();
        released.sort_by(|a, b| (&a.variable, &a.key).cmp(&(&b.variable, &b.key)));
        Ok(Protection {
            tables: tables.into_iter().map(|(c, _)| c).collect(),
            released,
            audit: audit_batch(system, &self.reasons, &audited.intervals, &|i| mine(&i))?,
            summary,
        })
    }
}

/// Each cell's threshold (the highest of its recipients'), and the run's
/// settings: the highest threshold and protection level of all.
fn thresholds(system: &System, releases: &[Release]) -> (Vec<i64>, Settings) {
    let threshold = system
        .cells
        .iter()
        .map(|c| {
            releases
                .iter()
                .enumerate()
                .filter(|(r, _)| c.receivers & (1 << r) != 0)
                .map(|(_, rel)| rel.settings.threshold)
                .max()
                .unwrap_or(DEFAULT_THRESHOLD)
        })
        .collect();
    let settings = Settings {
        threshold: releases
            .iter()
            .map(|r| r.settings.threshold)
            .max()
            .unwrap_or(DEFAULT_THRESHOLD),
        protection: releases
            .iter()
            .map(|r| r.settings.protection)
            .max()
            .unwrap_or(1),
        region: None,
    };
    (threshold, settings)
}

/// The threshold of a cell no recipient receives (SPEC §5).
const DEFAULT_THRESHOLD: i64 = 11;

/// Adds every earlier release to the system, one layer per cut-off: each
/// count released then is a cell (known when it was published, an unknown
/// still protected when it was not), related to the others of its release
/// as this run's counts are (with remainders of their own), and linked to
/// the same count now by its change since (`now = then + change`, or
/// `then = now + change` when it shrank), a latent cell primary when small.
/// Returns, per release, the published counts of its earlier releases found
/// among this run's counts.
fn remember(system: &mut System, releases: &[Release], earlier: &[Released]) -> Vec<usize> {
    let mut taken = vec![0; releases.len()];
    // Cut-off → (variable, key) → (value, published): recipients of one
    // run share their values and flags.
    let mut layers: BTreeMap<&str, Layer> = BTreeMap::new();
    for e in earlier {
        let Some(v) = cubes::VARIABLES.iter().position(|v| v.name == &*e.variable) else {
            continue;
        };
        if !system.index.contains_key(&(v, e.key.clone())) {
            continue;
        }
        if let Some(r) = releases.iter().position(|r| r.name == &*e.recipient) {
            taken[r] += usize::from(e.published);
        }
        let layer = layers.entry(&*e.date_arrete).or_default();
        let at = layer.entry((v, &e.key)).or_insert((e.value, e.published));
        at.1 |= e.published;
    }
    // This run's cells, relations and bounds: each layer repeats them.
    let (now, relations, bounds) = (
        system.cells.len(),
        system.relations.len(),
        system.bounds.len(),
    );
    for (date, layer) in layers {
        let mut then: HashMap<usize, usize> = HashMap::new();
        for x in 0..now {
            let c = &system.cells[x];
            if !c.publishable() {
                continue;
            }
            if let Some(&(value, published)) = layer.get(&(c.variable, &c.key)) {
                let (v, key, receivers) = (c.variable, c.key.clone(), c.receivers);
                let latent = system::Latent::Released {
                    date_arrete: text(date),
                    published,
                };
                let o = system.add_latent(v, key, value, latent);
                system.cells[o].known = published;
                system.cells[o].receivers = receivers;
                then.insert(x, o);
            }
        }
        relate_then(system, &mut then, relations, date);
        for b in 0..bounds {
            let (small, large) = system.bounds[b];
            if let (Some(&a), Some(&b)) = (then.get(&small), then.get(&large)) {
                system.bounds.push((a, b));
            }
        }
        let mut linked: Vec<(usize, usize)> = then.into_iter().collect();
        linked.sort_unstable();
        for (x, o) in linked {
            link(system, x, o, date);
        }
    }
    taken
}

/// Relates the counts of an earlier release (`then`: a cell now → the
/// same count at that release) as the first `relations` of the system
/// relate this run's: a relation then whose parts do not exhaust its total
/// gets a remainder of its own, which joins `then` beside the remainder
/// now (one population's count, then and now).
fn relate_then(
    system: &mut System,
    then: &mut HashMap<usize, usize>,
    relations: usize,
    date: &str,
) {
    for i in 0..relations {
        let rel = &system.relations[i];
        let Some(&total) = then.get(&rel.total) else {
            continue;
        };
        let mut parts: Vec<usize> = rel
            .parts
            .iter()
            .filter_map(|p| then.get(p).copied())
            .collect();
        if parts.is_empty() {
            continue;
        }
        let r_now = rel
            .parts
            .iter()
            .copied()
            .find(|&p| system.cells[p].latent == Some(system::Latent::Remainder));
        let bound = rel.bound;
        let kind = text(&format!("{} (diffusion au {date})", rel.kind));
        let sum: i64 = parts.iter().map(|&p| system.cells[p].value).sum();
        let t = &system.cells[total];
        let (t_value, v, key, receivers) = (t.value, t.variable, t.key.clone(), t.receivers);
        if bound == Bound::Equal && sum > t_value {
            system.dropped += 1;
            continue;
        }
        if t_value > sum {
            let r = system.add_latent(v, key, t_value - sum, system::Latent::Remainder);
            system.cells[r].receivers = receivers;
            if let Some(r_now) = r_now {
                then.insert(r_now, r);
            }
            parts.push(r);
        }
        system.relations.push(system::Relation {
            total,
            parts,
            bound,
            kind,
        });
    }
}

/// One earlier release: (variable, key) → (value, published).
type Layer<'a> = HashMap<(usize, &'a Key), (i64, bool)>;

/// Links a count now to its value at an earlier release through its change
/// since, a latent cell: `now = then + change`, or `then = now + change`
/// when it shrank. An unchanged count gets a change of 0 too: the reader
/// does not know that it did not change.
fn link(system: &mut System, now: usize, then: usize, date: &str) {
    let (a, b) = (system.cells[now].value, system.cells[then].value);
    let c = &system.cells[now];
    let (v, key, receivers) = (c.variable, c.key.clone(), c.receivers);
    let change = system.add_latent(
        v,
        key,
        (a - b).abs(),
        system::Latent::Change {
            before: text(date),
            growth: a >= b,
            now,
            then,
        },
    );
    system.cells[change].receivers = receivers;
    let (total, parts) = if a >= b {
        (now, vec![then, change])
    } else {
        (then, vec![now, change])
    };
    system.relations.push(system::Relation {
        total,
        parts,
        bound: Bound::Equal,
        kind: text(&format!("évolution depuis le {date}")),
    });
}

/// Each cell's place in the order of publication (0: the most wanted);
/// `usize::MAX` for primary cells.
fn preference_rank(system: &System, reasons: &[Option<(Flag, String)>]) -> Vec<usize> {
    let n = system.cells.len();
    let mut order: Vec<usize> = (0..n)
        .filter(|&i| reasons[i].is_none() && !system.cells[i].unpublished())
        .collect();
    order.sort_by_cached_key(|&i| {
        let c = &system.cells[i];
        (
            preference(&c.key),
            Reverse(c.value),
            c.variable,
            c.key.clone(),
        )
    });
    let mut rank = vec![usize::MAX; n];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    rank
}

/// Secondary suppression by Gaussian elimination over the equalities.
fn secondary(system: &System, rank: &[usize], reasons: &mut [Option<(Flag, String)>]) {
    let n = system.cells.len();
    let mut order: Vec<usize> = (0..n).filter(|&i| rank[i] != usize::MAX).collect();
    order.sort_by_key(|&i| rank[i]);
    let equalities: Vec<gauss::Row> = system
        .relations
        .iter()
        .filter(|r| r.bound == Bound::Equal)
        .map(|r| {
            std::iter::once((r.total, 1))
                .chain(r.parts.iter().map(|&p| (p, -1)))
                .collect()
        })
        .collect();
    let is_primary: Vec<bool> = reasons.iter().map(Option::is_some).collect();
    let known: Vec<bool> = system.cells.iter().map(|c| c.known).collect();
    for (i, h) in gauss::suppress(n, &equalities, &is_primary, &known, &order)
        .into_iter()
        .enumerate()
    {
        let why = match h {
            Some(Hidden::Protects(u)) => format!(
                "protège {} ({})",
                system.cells[u].name(),
                system.cells[u].key.describe()
            ),
            Some(Hidden::Undecided) => "élimination indécidable sur 64 bits".into(),
            _ => continue,
        };
        reasons[i] = Some((Flag::Secondary, why));
    }
}

/// What the audit found and did.
struct Audited {
    /// Per cell, the interval found for a suppressed count.
    intervals: Vec<Option<audit::Interval>>,
    programmes: usize,
    complements: usize,
    republished: usize,
}

/// Audits every suppressed count, then, round after round, widens the
/// counts still too narrow, until none is.
///
/// # Errors
/// `Policy`, naming a count and its interval, when no neighbourhood can
/// widen it or [`AUDIT_ROUNDS`] rounds were not enough.
fn audit_until_protected(
    system: &System,
    settings: &Settings,
    threshold: &[i64],
    rank: &[usize],
    tried: &mut [bool],
    reasons: &mut [Option<(Flag, String)>],
) -> Result<Audited> {
    let n = system.cells.len();
    let protection = f64::from(settings.protection);
    let tier: Vec<u8> = system.cells.iter().map(|c| preference(&c.key)).collect();
    let links = widen::Links::new(system, &tier, rank);
    let mut done = Audited {
        intervals: vec![None; n],
        programmes: 0,
        complements: 0,
        republished: 0,
    };
    let mut check: Vec<usize> = (0..n).filter(|&i| reasons[i].is_some()).collect();
    for round in 0.. {
        let mut hidden = hidden_cells(system, reasons);
        let found = audit::audit_with(system, &links.constraints, &hidden, &check, protection)?;
        done.programmes += found.programmes;
        let exposed: Vec<audit::Interval> = found.exposed(protection).copied().collect();
        for i in found.intervals {
            done.intervals[i.cell] = Some(i);
        }
        if exposed.is_empty() {
            return Ok(done);
        }
        if round == AUDIT_ROUNDS {
            let why = format!(
                ", and {} counts still are after {AUDIT_ROUNDS} rounds of complements",
                exposed.len()
            );
            return Err(refuse(system, &exposed[0], settings, &why));
        }
        // A complement the recipient computes exactly protects nothing and
        // hides nothing: it is published (that tells no more than before).
        // It is never chosen as a complement again.
        let mut republished = false;
        for e in &exposed {
            if matches!(reasons[e.cell], Some((Flag::Secondary, _))) && e.width() < 1e-6 {
                reasons[e.cell] = None;
                done.intervals[e.cell] = None;
                hidden[e.cell] = false;
                tried[e.cell] = true;
                done.republished += 1;
                republished = true;
            }
        }
        check.clear();
        if republished {
            // A republished complement may leave a small hidden sum.
            for i in sums(system, threshold, rank, tried, reasons) {
                hidden[i] = true;
                check.push(i);
            }
        }
        let still: Vec<audit::Interval> = exposed.into_iter().filter(|e| hidden[e.cell]).collect();
        for e in &still {
            let extra = complements(system, &links, &hidden, e, settings)?;
            let c = &system.cells[e.cell];
            for x in extra {
                if reasons[x].is_some() {
                    continue;
                }
                let why = format!("audit : {} ({}) trop étroit", c.name(), c.key.describe());
                reasons[x] = Some((Flag::Secondary, why));
                hidden[x] = true;
                done.complements += 1;
                check.push(x);
            }
            check.push(e.cell);
        }
        check.sort_unstable();
        check.dedup();
    }
    unreachable!("the rounds end by returning")
}

/// The published cells to suppress so that the exposed count `e` is wide:
/// the cheapest complement found or, where none is, every published cell
/// sharing a constraint with it (the next round audits it again).
///
/// # Errors
/// `Policy` when no published cell around it can move.
fn complements(
    system: &System,
    links: &widen::Links,
    hidden: &[bool],
    e: &audit::Interval,
    settings: &Settings,
) -> Result<Vec<usize>> {
    let protection = f64::from(settings.protection);
    if let Some(extra) = widen::widen(system, links, hidden, e.cell, protection) {
        return Ok(extra);
    }
    let around = links.around(system, hidden, e.cell);
    if around.is_empty() {
        return Err(refuse(
            system,
            e,
            settings,
            ", and no published cell around it can protect it",
        ));
    }
    Ok(around)
}

/// The refusal naming an exposed count and the interval the recipients
/// can compute; `why` says why no complement helped.
fn refuse(system: &System, e: &audit::Interval, settings: &Settings, why: &str) -> Error {
    let c = &system.cells[e.cell];
    Error::Policy(format!(
        "statistical secrecy: {} ({}) can be computed to [{:.2}, {:.2}] from the published tables (protection level {}){why}",
        c.name(),
        c.key.describe(),
        e.min,
        e.max,
        settings.protection
    ))
}

/// Which cells the recipients cannot read: the suppressed ones and the
/// latent counts no table publishes.
fn hidden_cells(system: &System, reasons: &[Option<(Flag, String)>]) -> Vec<bool> {
    reasons
        .iter()
        .zip(&system.cells)
        .map(|(r, c)| r.is_some() || c.unpublished())
        .collect()
}

/// Primary suppression: each count from 1 to its threshold − 1, latent
/// counts included (a remainder, a change since an earlier release); each
/// count whose change since a release that published it is (its earlier
/// value is out: only the count itself can hide the change); and each part
/// whose complement in a whole that is not itself small is.
fn primary(system: &System, threshold: &[i64], reasons: &mut [Option<(Flag, String)>]) {
    for (i, c) in system.cells.iter().enumerate() {
        if c.known || c.value < 1 || c.value >= threshold[i] {
            continue;
        }
        let why = match &c.latent {
            None => "effectif inférieur au seuil".to_string(),
            Some(system::Latent::Remainder) => "reste (non publié) inférieur au seuil".to_string(),
            Some(system::Latent::Crossing) => {
                "croisement département × zone d'emploi (non publié) inférieur au seuil".to_string()
            }
            Some(system::Latent::Change { before, .. }) => {
                format!("évolution depuis la diffusion au {before} inférieure au seuil")
            }
            Some(system::Latent::Released { date_arrete, .. }) => {
                format!("effectif masqué à la diffusion au {date_arrete}, inférieur au seuil")
            }
        };
        reasons[i] = Some((Flag::Primary, why));
    }
    // A count whose own change since a release that published it is small:
    // the earlier value is out, so the count itself must go (it is hidden
    // for what it holds, not for another count).
    for (i, c) in system.cells.iter().enumerate() {
        let Some(system::Latent::Change {
            before, now, then, ..
        }) = &c.latent
        else {
            continue;
        };
        let small = c.value >= 1 && c.value < threshold[i];
        if small && system.cells[*then].known && !system.cells[*now].known {
            reasons[*now].get_or_insert_with(|| {
                (
                    Flag::Primary,
                    format!("évolution depuis la diffusion au {before} inférieure au seuil"),
                )
            });
        }
    }
    for &(part, whole) in &system.wholes {
        let (p, w) = (&system.cells[part], &system.cells[whole]);
        let small = |v: i64| v >= 1 && v < threshold[part];
        if reasons[part].is_none()
            && !p.known
            && w.value >= threshold[part]
            && small(w.value - p.value)
        {
            reasons[part] = Some((
                Flag::Primary,
                format!(
                    "complément {} − {} = {} inférieur au seuil",
                    w.name(),
                    p.name(),
                    w.value - p.value
                ),
            ));
        }
    }
}

/// Two rules on what Gaussian elimination leaves published, repeated until
/// neither suppresses anything more; returns the cells they suppressed:
/// - a bound of one key that is tight (persons = positionings) and has one
///   side hidden: the other side goes too, or it would pin it;
/// - wherever the hidden cells of an equality have a sum the recipients
///   can compute (its total is published), that sum must reach the
///   threshold or be 0, whether the hidden cells are primary, secondary or
///   latent: else one more part is suppressed, the least wanted that holds
///   something and was never published back by the audit.
fn sums(
    system: &System,
    threshold: &[i64],
    rank: &[usize],
    tried: &[bool],
    reasons: &mut [Option<(Flag, String)>],
) -> Vec<usize> {
    let mut added = Vec::new();
    let mut hidden = hidden_cells(system, reasons);
    loop {
        let before = added.len();
        tight_bounds(system, tried, &mut hidden, reasons, &mut added);
        small_sums(
            system,
            threshold,
            rank,
            tried,
            &mut hidden,
            reasons,
            &mut added,
        );
        if added.len() == before {
            return added;
        }
    }
}

/// A bound the reader knows that is tight (persons = positionings, entries
/// = positionings) gives a hidden cell away through its published partner:
/// the partner goes too (pushed on `added`).
fn tight_bounds(
    system: &System,
    tried: &[bool],
    hidden: &mut [bool],
    reasons: &mut [Option<(Flag, String)>],
    added: &mut Vec<usize>,
) {
    for &(small, large) in &system.bounds {
        let (a, b) = (&system.cells[small], &system.cells[large]);
        if a.value != b.value || a.value == 0 || hidden[small] == hidden[large] {
            continue;
        }
        let (shown, by) = if hidden[small] {
            (large, small)
        } else {
            (small, large)
        };
        let c = &system.cells[shown];
        if !c.publishable() || c.known || tried[shown] {
            continue;
        }
        reasons[shown] = Some((
            Flag::Secondary,
            format!(
                "borne {} ≤ {} atteinte ({}) : protège {}",
                a.name(),
                b.name(),
                a.value,
                system.cells[by].name()
            ),
        ));
        hidden[shown] = true;
        added.push(shown);
    }
}

/// Wherever the hidden parts of an equality whose total is published hold
/// 1 to threshold − 1 together, one more part goes (pushed on `added`):
/// the least wanted never published back by the audit; else the total
/// itself; else a part the audit published back (the next round audits it
/// again).
fn small_sums(
    system: &System,
    threshold: &[i64],
    rank: &[usize],
    tried: &[bool],
    hidden: &mut [bool],
    reasons: &mut [Option<(Flag, String)>],
    added: &mut Vec<usize>,
) {
    for rel in system.relations.iter().filter(|r| r.bound == Bound::Equal) {
        if hidden[rel.total] {
            continue;
        }
        let sum: i64 = rel
            .parts
            .iter()
            .filter(|&&p| hidden[p])
            .map(|&p| system.cells[p].value)
            .sum();
        if sum < 1 || sum >= threshold[rel.total] {
            continue;
        }
        let free = |p: usize, retry: bool| {
            let c = &system.cells[p];
            !hidden[p] && c.publishable() && !c.known && c.value > 0 && (retry || !tried[p])
        };
        let part = |retry: bool| {
            rel.parts
                .iter()
                .copied()
                .filter(|&p| free(p, retry))
                .max_by_key(|&p| rank[p])
        };
        let extra = part(false)
            .or_else(|| free(rel.total, false).then_some(rel.total))
            .or_else(|| part(true));
        let Some(extra) = extra else { continue };
        reasons[extra] = Some((
            Flag::Secondary,
            format!(
                "somme des cellules masquées de la relation {} ({}) : {} inférieure au seuil",
                rel.kind,
                system.cells[rel.total].key.describe(),
                sum
            ),
        ));
        hidden[extra] = true;
        added.push(extra);
    }
}

/// The worst of the flags of the counts a measure uses.
fn worst(flags: impl Iterator<Item = Option<Flag>>) -> Option<Flag> {
    flags.fold(None, |acc, f| match (acc, f) {
        (Some(Flag::Primary), _) | (_, Some(Flag::Primary)) => Some(Flag::Primary),
        (Some(Flag::Secondary), _) | (_, Some(Flag::Secondary)) => Some(Flag::Secondary),
        _ => None,
    })
}

/// The flags of a measure's rows (`rows`: row and key): a count's own, a
/// rate's the worst of the counts it is computed from. `None` for a column
/// published as it is; `Some((true, _))` for a count.
fn measure_flags(
    d: &cubes::CubeDef,
    measure: &str,
    rows: &[(usize, Key)],
    flag_of: &dyn Fn(&Key, &cubes::Uses) -> Option<Flag>,
) -> Option<(bool, Vec<Option<Flag>>)> {
    if let Some((_, u)) = d.counts.iter().find(|(c, _)| *c == measure) {
        return Some((true, rows.iter().map(|(_, k)| flag_of(k, u)).collect()));
    }
    let (_, us) = d.rates.iter().find(|(r, _)| *r == measure)?;
    Some((
        false,
        rows.iter()
            .map(|(_, k)| worst(us.iter().map(|u| flag_of(k, u))))
            .collect(),
    ))
}

/// The key columns of a cube's rows `take`, with the reason only in the
/// abandon cube.
///
/// # Errors
/// `Internal` when the cube lacks one.
fn key_columns(
    d: &cubes::CubeDef,
    batch: &RecordBatch,
    take: &UInt32Array,
) -> Result<(Vec<Field>, Vec<ArrayRef>)> {
    let (mut fields, mut columns) = (Vec::new(), Vec::new());
    for name in &KeyColumns::NAMES[..if d.by_motif { 7 } else { 6 }] {
        let col = batch
            .column_by_name(name)
            .ok_or_else(|| Error::Internal(format!("cube {} lacks {name}", d.name)))?;
        fields.push(Field::new(*name, col.data_type().clone(), true));
        columns.push(arrow::compute::take(col, take, None)?);
    }
    Ok((fields, columns))
}

/// One table of the plan, cleared, and its shares of suppressed counts.
fn clear(
    table: &plan::Table,
    cubes: &[CubeBatch],
    system: &System,
    flags: &[Option<Flag>],
    geography: &Geography,
    region: Option<&str>,
) -> Result<(Cleared, TableShares)> {
    let d = def(table.cube);
    let batch = system::batch_of(cubes, table.cube)?;
    let keys = KeyColumns::of(batch)?;
    let rows = system::table_rows(table, &keys, batch.num_rows(), region, geography);
    let take = UInt32Array::from_iter_values(rows.iter().map(|(r, _)| *r as u32));
    let flag_of = |key: &Key, uses: &cubes::Uses| -> Option<Flag> {
        let k = if uses.all_reasons {
            key.with_motif("ensemble")
        } else {
            key.clone()
        };
        system
            .index
            .get(&(variable(uses.variable), k))
            .and_then(|&c| flags[c])
    };
    let (mut fields, mut columns) = key_columns(d, batch, &take)?;
    let mut row_flags: Vec<Option<Flag>> = vec![None; rows.len()];
    let mut flag_columns: Vec<(Field, ArrayRef)> = Vec::new();
    let mut shares = TableShares {
        tableau: table.nom.clone(),
        lignes: rows.len(),
        effectifs: 0,
        primaires_a: 0,
        secondaires_d: 0,
    };
    for measure in d.measures().filter(|m| table.mesures.contains(m)) {
        let col = batch
            .column_by_name(measure)
            .ok_or_else(|| Error::Internal(format!("cube {} lacks {measure}", d.name)))?;
        let col = arrow::compute::take(col, &take, None)?;
        let Some((is_count, measure_flags)) = measure_flags(d, measure, &rows, &flag_of) else {
            fields.push(Field::new(measure, col.data_type().clone(), true));
            columns.push(col);
            continue;
        };
        if is_count {
            shares.count(&measure_flags);
        }
        for (row, f) in row_flags.iter_mut().zip(&measure_flags) {
            *row = worst([*row, *f].into_iter());
        }
        let keep: BooleanArray = measure_flags.iter().map(|f| Some(f.is_none())).collect();
        let hidden = arrow::compute::not(&keep)?;
        fields.push(Field::new(measure, col.data_type().clone(), true));
        columns.push(arrow::compute::nullif(&col, &hidden)?);
        let letters: StringArray = measure_flags.iter().map(|f| f.map(Flag::letter)).collect();
        flag_columns.push((
            Field::new(format!("secret_{measure}"), DataType::Utf8, true),
            Arc::new(letters),
        ));
    }
    for (f, c) in flag_columns {
        fields.push(f);
        columns.push(c);
    }
    let letters: StringArray = row_flags.iter().map(|f| f.map(Flag::letter)).collect();
    fields.push(Field::new("secret", DataType::Utf8, true));
    columns.push(Arc::new(letters));
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    Ok((
        Cleared {
            name: table.nom.clone(),
            batch,
        },
        shares,
    ))
}

/// The internal audit: one row per suppressed count.
fn audit_batch(
    system: &System,
    reasons: &[Option<(Flag, String)>],
    intervals: &[Option<audit::Interval>],
    keep: &dyn Fn(usize) -> bool,
) -> Result<RecordBatch> {
    let rows: Vec<usize> = (0..system.cells.len())
        .filter(|&i| reasons[i].is_some() && keep(i))
        .collect();
    let cells = |f: &dyn Fn(&system::Cell) -> Option<String>| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|&i| f(&system.cells[i]))
                .collect::<StringArray>(),
        )
    };
    let interval = |f: &dyn Fn(&audit::Interval) -> f64| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|&i| intervals[i].map(|iv| f(&iv)).filter(|v| v.is_finite()))
                .collect::<Float64Array>(),
        )
    };
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    let schema = Schema::new(vec![
        text("effectif"),
        text("periode"),
        text("type_periode"),
        text("niveau_geo"),
        text("code_geo"),
        text("dimension"),
        text("modalite"),
        text("motif_code"),
        Field::new("valeur", DataType::Int64, false),
        text("secret"),
        text("raison"),
        Field::new("min_calculable", DataType::Float64, true),
        Field::new("max_calculable", DataType::Float64, true),
        Field::new("intervalle_exact", DataType::Boolean, true),
    ]);
    let columns: Vec<ArrayRef> = vec![
        cells(&|c| Some(c.name())),
        cells(&|c| Some(c.key.periode.to_string())),
        cells(&|c| Some(c.key.type_periode.to_string())),
        cells(&|c| Some(c.key.niveau_geo.to_string())),
        cells(&|c| c.key.code_geo.as_deref().map(str::to_string)),
        cells(&|c| Some(c.key.dimension.to_string())),
        cells(&|c| Some(c.key.modalite.to_string())),
        cells(&|c| Some(c.key.motif.to_string())),
        Arc::new(
            rows.iter()
                .map(|&i| system.cells[i].value)
                .collect::<Int64Array>(),
        ),
        Arc::new(
            rows.iter()
                .map(|&i| reasons[i].as_ref().map(|r| r.0.letter()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            rows.iter()
                .map(|&i| reasons[i].as_ref().map(|r| r.1.clone()))
                .collect::<StringArray>(),
        ),
        interval(&|i| i.min),
        interval(&|i| i.max),
        Arc::new(
            rows.iter()
                .map(|&i| intervals[i].map(|iv| iv.exact))
                .collect::<BooleanArray>(),
        ),
    ];
    Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
}

#[cfg(test)]
mod attacker;
#[cfg(test)]
mod tests;
