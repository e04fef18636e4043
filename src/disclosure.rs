//! Statistical secrecy (SPEC §5): primary and secondary suppression.
//!
//! Only this module can mark an aggregate releasable: [`Cleared`] has no
//! public constructor, and publishing code takes a `Cleared`, never a raw
//! batch. A cell is suppressed as a whole; its flag is `A` (primary) or `D`
//! (secondary), as τ-Argus writes them.
//!
//! Secondary suppression works on the linear relations that published
//! tables expose (modalities add up to `ensemble`, départements and zones
//! to their region, regions to France, months to their period): no relation
//! may hold exactly one suppressed cell, since that cell would then be its
//! total minus the published others. Complements are chosen to lose little:
//! the smallest non-empty unsuppressed inner cell of the relation first, the
//! total only when no inner cell is left. That rule alone can leave a cell
//! pinned through several relations at once:
//! [`CubeCells::protect_against_attack`] then runs the attacker of
//! [`crate::attack`] and [`reinforce`]s the pattern until every suppressed
//! count is proven protected.

use std::collections::HashMap;

use arrow::record_batch::RecordBatch;

/// Why a cell is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flag {
    /// Below the threshold (`A`).
    Primary,
    /// Complementary, so that a primary cell cannot be recomputed (`D`).
    Secondary,
}

impl Flag {
    /// The τ-Argus letter.
    pub fn letter(self) -> &'static str {
        match self {
            Flag::Primary => "A",
            Flag::Secondary => "D",
        }
    }
}

/// An additive relation: `total` = sum of `parts`.
#[derive(Debug, Clone)]
pub struct Relation {
    pub total: usize,
    pub parts: Vec<usize>,
    /// Human-readable name for the audit (e.g. `dispositif, 2026-T2, region 32`).
    pub label: String,
}

/// One line of the audit: which cell, which flag, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub cell: usize,
    pub flag: Flag,
    pub reason: String,
}

/// The pattern found for a table.
#[derive(Debug, Clone, Default)]
pub struct Pattern {
    pub flags: Vec<Option<Flag>>,
    pub audit: Vec<AuditEntry>,
    /// Directions (cell, change) from the true table that keep every
    /// relation and move hidden cells only: the boxes and tables cells
    /// were hidden for. The attacker of this pattern, or of a cube sharing
    /// its cells, checks them like its own.
    pub witnesses: Vec<crate::attack::Direction>,
}

impl Pattern {
    pub fn suppressed(&self, cell: usize) -> bool {
        self.flags[cell].is_some()
    }

    pub fn count(&self, flag: Flag) -> usize {
        self.flags.iter().filter(|f| **f == Some(flag)).count()
    }
}

/// A count is primary-sensitive when it is positive and below the threshold.
pub fn is_primary(count: i64, threshold: i64) -> bool {
    count > 0 && count < threshold
}

/// Finds a suppression pattern.
///
/// `size[i]` is the cell's main count (used to prefer small complements);
/// `primary[i]` says whether the cell fails the threshold rule.
///
/// ```
/// use ouistat::disclosure::{suppress, Flag, Relation};
/// // total 30 = 3 + 12 + 15: the 3 is primary, and 12 is added so it cannot be recomputed.
/// let p = suppress(&[30, 3, 12, 15], &[false, true, false, false],
///                  &[Relation { total: 0, parts: vec![1, 2, 3], label: "t".into() }]);
/// assert_eq!(p.flags, vec![None, Some(Flag::Primary), Some(Flag::Secondary), None]);
/// ```
pub fn suppress(size: &[i64], primary: &[bool], relations: &[Relation]) -> Pattern {
    let flags: Vec<Option<Flag>> = primary.iter().map(|p| p.then_some(Flag::Primary)).collect();
    let audit: Vec<AuditEntry> = flags
        .iter()
        .enumerate()
        .filter(|(_, f)| f.is_some())
        .map(|(cell, _)| AuditEntry {
            cell,
            flag: Flag::Primary,
            reason: "effectif inférieur au seuil".into(),
        })
        .collect();
    let mut pattern = Pattern {
        flags,
        audit,
        witnesses: Vec::new(),
    };
    propagate(
        size,
        &mut pattern,
        relations,
        &[],
        (0..relations.len()).collect(),
    );
    pattern
}

/// The relations each cell belongs to.
fn membership(relations: &[Relation]) -> HashMap<usize, Vec<usize>> {
    let mut member_of: HashMap<usize, Vec<usize>> = HashMap::new();
    for (r, rel) in relations.iter().enumerate() {
        for &c in std::iter::once(&rel.total).chain(&rel.parts) {
            member_of.entry(c).or_default().push(r);
        }
    }
    member_of
}

/// The complement chosen in a relation: the smallest unsuppressed inner
/// cell, else the total. An empty cell protects nothing (its other
/// relations may well say it is zero), so it comes last.
fn complement(
    size: &[i64],
    flags: &[Option<Flag>],
    locked: &[bool],
    rel: &Relation,
) -> Option<usize> {
    let free = |c: usize| flags[c].is_none() && !locked.get(c).copied().unwrap_or(false);
    rel.parts
        .iter()
        .copied()
        .filter(|&c| free(c))
        .min_by_key(|&c| (size[c] == 0, size[c], c))
        .or_else(|| free(rel.total).then_some(rel.total))
}

/// Adds complements until no relation holds a lone suppressed cell,
/// starting from the relations in `queue`.
/// Cells marked `locked` are published elsewhere and never chosen.
fn propagate(
    size: &[i64],
    pattern: &mut Pattern,
    relations: &[Relation],
    locked: &[bool],
    mut queue: Vec<usize>,
) {
    let member_of = membership(relations);
    let mut queued = vec![false; relations.len()];
    for &r in &queue {
        queued[r] = true;
    }
    while let Some(r) = queue.pop() {
        queued[r] = false;
        let rel = &relations[r];
        let suppressed = std::iter::once(&rel.total)
            .chain(&rel.parts)
            .filter(|&&c| pattern.flags[c].is_some())
            .count();
        if suppressed != 1 {
            continue;
        }
        let Some(cell) = complement(size, &pattern.flags, locked, rel) else {
            continue;
        };
        pattern.flags[cell] = Some(Flag::Secondary);
        pattern.audit.push(AuditEntry {
            cell,
            flag: Flag::Secondary,
            reason: format!("complément de la relation {}", rel.label),
        });
        for &other in member_of.get(&cell).into_iter().flatten() {
            if !queued[other] {
                queued[other] = true;
                queue.push(other);
            }
        }
    }
}

/// Strengthens a pattern around cells the attacker could recompute too
/// narrowly: each relation of an exposed cell gets one more complement,
/// then no relation is left with a lone suppressed cell. Returns how many
/// cells were added.
pub fn reinforce(
    size: &[i64],
    pattern: &mut Pattern,
    relations: &[Relation],
    locked: &[bool],
    exposed: &[usize],
) -> usize {
    let member_of = membership(relations);
    let before = pattern.audit.len();
    let mut touched = Vec::new();
    for &cell in exposed {
        // The cell's own relations first; when they are all suppressed
        // already, those of the suppressed cells next to it, and so on.
        let mut around = vec![cell];
        let mut seen: std::collections::HashSet<usize> = around.iter().copied().collect();
        for _ in 0..4 {
            let mut added = false;
            let mut next = Vec::new();
            for &c in &around {
                for &r in member_of.get(&c).into_iter().flatten() {
                    let rel = &relations[r];
                    if let Some(k) = complement(size, &pattern.flags, locked, rel) {
                        pattern.flags[k] = Some(Flag::Secondary);
                        pattern.audit.push(AuditEntry {
                            cell: k,
                            flag: Flag::Secondary,
                            reason: format!("renfort contre l'attaque, relation {}", rel.label),
                        });
                        touched.extend(member_of.get(&k).into_iter().flatten().copied());
                        added = true;
                    }
                    // Rings through large relations grow fast: the
                    // nearest cells only.
                    for &m in std::iter::once(&rel.total).chain(&rel.parts) {
                        if next.len() < REINFORCE_RING && seen.insert(m) {
                            next.push(m);
                        }
                    }
                }
            }
            if added {
                break;
            }
            around = next;
        }
    }
    touched.sort_unstable();
    touched.dedup();
    propagate(size, pattern, relations, locked, touched);
    pattern.audit.len() - before
}

/// Cells of each ring searched around an exposed cell for one more complement.
const REINFORCE_RING: usize = 256;

/// The key of a cube cell (SPEC §6).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct CellKey {
    pub periode: String,
    pub type_periode: String,
    pub niveau_geo: String,
    pub code_geo: Option<String>,
    pub dimension: String,
    pub modalite: String,
    /// For the abandon cube: the reason (`ensemble` for all reasons).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motif: Option<String>,
}

/// The two families of cells: each has its own counts and relations, as
/// the positioning cohort and the entry cohort are different populations.
pub const FAMILIES: &[(&str, &str)] = &[
    ("cohorte", "sec_cellules_cohorte"),
    ("entrees", "sec_cellules_entrees"),
    ("remplissage", "sec_cellules_remplissage"),
];

/// The cells of the cubes and the relations between them: modalities add
/// up to `ensemble`, départements and zones to their region, regions to
/// France, months to their four-month period.
pub struct CubeCells {
    /// Names of the counts, in the order of each `counts` row.
    pub count_names: Vec<String>,
    pub keys: Vec<CellKey>,
    pub counts: Vec<Vec<i64>>,
    /// The least each count can be, as the attacker knows from the cube's
    /// shape (laid out as `counts`; a missing entry is 0): a group with
    /// nobody has no row, so a row's defining count is at least 1.
    pub floors: Vec<Vec<i64>>,
    pub relations: Vec<Relation>,
    /// Département or zone (level, code) → region, as used for the relations.
    pub parent_region: HashMap<(String, String), String>,
}

fn period_of_month(month: &str) -> Option<String> {
    let (y, m) = month.split_once('-')?;
    let m: u32 = m.parse().ok()?;
    Some(format!("{y}-T{}", (m - 1) / 4 + 1))
}

impl CubeCells {
    /// Builds the relations over `keys`; `parent_region` maps a
    /// département or zone code to its region (codes mapped to several
    /// regions are left out of the geographic relations).
    pub fn new(
        count_names: Vec<String>,
        keys: Vec<CellKey>,
        counts: Vec<Vec<i64>>,
        parent_region: &HashMap<(String, String), String>,
    ) -> Self {
        let index: HashMap<&CellKey, usize> =
            keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
        let mut groups: HashMap<(CellKey, &'static str), Vec<usize>> = HashMap::new();
        for (i, k) in keys.iter().enumerate() {
            // Modalities → ensemble of the same period and place.
            if k.dimension != "ensemble" {
                let total = CellKey {
                    dimension: "ensemble".into(),
                    modalite: "ensemble".into(),
                    ..k.clone()
                };
                groups.entry((total, "modalites")).or_default().push(i);
            }
            // Places → their parent.
            let parent = match (k.niveau_geo.as_str(), &k.code_geo) {
                ("region", Some(_)) => Some(CellKey {
                    niveau_geo: "france".into(),
                    code_geo: None,
                    ..k.clone()
                }),
                (level @ ("departement" | "zone_emploi"), Some(code)) => parent_region
                    .get(&(level.to_string(), code.clone()))
                    .map(|region| CellKey {
                        niveau_geo: "region".into(),
                        code_geo: Some(region.clone()),
                        ..k.clone()
                    }),
                _ => None,
            };
            if let Some(p) = parent {
                let kind = if k.niveau_geo == "zone_emploi" {
                    "zones"
                } else {
                    "territoires"
                };
                groups.entry((p, kind)).or_default().push(i);
            }
            // Reasons → all reasons.
            if k.motif.as_deref().is_some_and(|m| m != "ensemble") {
                let total = CellKey {
                    motif: Some("ensemble".into()),
                    ..k.clone()
                };
                groups.entry((total, "motifs")).or_default().push(i);
            }
            // Months → their period.
            if k.type_periode == "mois" {
                if let Some(t) = period_of_month(&k.periode) {
                    let total = CellKey {
                        periode: t,
                        type_periode: "quadrimestre".into(),
                        ..k.clone()
                    };
                    groups.entry((total, "mois")).or_default().push(i);
                }
            }
        }
        let mut relations: Vec<Relation> = groups
            .into_iter()
            .filter_map(|((total, kind), mut parts)| {
                let &t = index.get(&total)?;
                parts.sort_unstable();
                // Within "modalites", one relation per dimension.
                Some((t, kind, parts))
            })
            .flat_map(|(t, kind, parts)| {
                if kind == "modalites" {
                    let mut by_dim: std::collections::BTreeMap<&str, Vec<usize>> =
                        Default::default();
                    for p in parts {
                        by_dim
                            .entry(keys[p].dimension.as_str())
                            .or_default()
                            .push(p);
                    }
                    by_dim
                        .into_iter()
                        .map(|(d, parts)| (t, format!("{d} → ensemble"), parts))
                        .collect::<Vec<_>>()
                } else {
                    vec![(t, kind.to_string(), parts)]
                }
            })
            .map(|(t, what, parts)| {
                let k = &keys[t];
                Relation {
                    total: t,
                    parts,
                    label: format!(
                        "{what} ({} {}, {} {}, {} = {})",
                        k.type_periode,
                        k.periode,
                        k.niveau_geo,
                        k.code_geo.as_deref().unwrap_or("-"),
                        k.dimension,
                        k.modalite
                    ),
                }
            })
            .collect();
        relations.sort_by_key(|r| (r.total, r.parts.first().copied()));
        CubeCells {
            count_names,
            keys,
            counts,
            floors: Vec::new(),
            relations,
            parent_region: parent_region.clone(),
        }
    }

    /// How far count `m` of cell `c` can go down before it falls below
    /// what the attacker knows it is at least.
    pub fn room(&self, c: usize, m: usize) -> i64 {
        self.counts[c][m] - self.floor(c, m)
    }

    /// SHA-256 of the cells (keys, counts, floors) and relations, in order:
    /// two runs whose tables have the same fingerprint attack the same
    /// table, so they must find the same pattern.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for name in &self.count_names {
            h.update(name.as_bytes());
            h.update([0]);
        }
        for (c, key) in self.keys.iter().enumerate() {
            h.update(format!("{key:?}").as_bytes());
            for m in 0..self.count_names.len() {
                h.update(self.counts[c][m].to_le_bytes());
                h.update(self.floor(c, m).to_le_bytes());
            }
        }
        for rel in &self.relations {
            h.update((rel.total as u64).to_le_bytes());
            for &p in &rel.parts {
                h.update((p as u64).to_le_bytes());
            }
            h.update(rel.label.as_bytes());
        }
        hex::encode(h.finalize())
    }

    /// The relations each cell is the total of.
    fn relations_of_totals(&self) -> Vec<Vec<usize>> {
        let mut of_total = vec![Vec::new(); self.keys.len()];
        for (r, rel) in self.relations.iter().enumerate() {
            of_total[rel.total].push(r);
        }
        of_total
    }

    /// The least count `m` of cell `c` can be (see [`Self::floors`]).
    pub fn floor(&self, c: usize, m: usize) -> i64 {
        self.floors
            .get(c)
            .and_then(|f| f.get(m))
            .copied()
            .unwrap_or(0)
    }

    /// Each cell's largest count: complements are chosen small.
    fn sizes(&self) -> Vec<i64> {
        self.counts
            .iter()
            .map(|c| c.iter().copied().max().unwrap_or(0))
            .collect()
    }

    /// The suppression pattern at `threshold`.
    pub fn protect(&self, threshold: i64) -> Pattern {
        let primary: Vec<bool> = self
            .counts
            .iter()
            .map(|c| c.iter().any(|&v| is_primary(v, threshold)))
            .collect();
        suppress(&self.sizes(), &primary, &self.relations)
    }

    /// The pattern at `threshold`, then attacked and reinforced until the
    /// attacker proves every positive count of every suppressed cell at
    /// least `protection` wide. Returns the pattern and the last attack.
    ///
    /// Three stages of at most `rounds` rounds each, the attacker trying
    /// harder at each stage:
    /// 1. boxes only; each count they do not prove gets a box of its own
    ///    ([`crate::attack::Hider::hide_box`]), else waits for stage 2;
    /// 2. boxes, then small programmes; a count still exposed gets a box,
    ///    else the cells that one programme moves it with
    ///    ([`crate::attack::Hider::hide_by_programme`]), else its relations
    ///    are reinforced;
    /// 3. the same with the largest programmes, until nothing is exposed.
    ///
    /// Programmes cost about a tenth of a second per count: when more than
    /// [`PROGRAMMED_COUNTS`] counts are left for them, the attack stops
    /// there and reports them exposed (the delivery then fails closed).
    pub fn protect_against_attack(
        &self,
        threshold: i64,
        protection: f64,
        rounds: usize,
    ) -> (Pattern, crate::attack::Report) {
        self.defend(self.protect(threshold), &[], None, protection, rounds)
    }

    /// Attacks `pattern` and reinforces it as [`Self::protect_against_attack`]
    /// does; cells marked `locked` are published elsewhere and never hidden.
    /// With `first`, the first round attacks only those (count, cell)
    /// pairs: the others are proven elsewhere.
    pub fn defend(
        &self,
        mut pattern: Pattern,
        locked: &[bool],
        first: Option<&[Vec<bool>]>,
        protection: f64,
        rounds: usize,
    ) -> (Pattern, crate::attack::Report) {
        use crate::attack::{Report, BOXES_ONLY, FAST_CAP, NEIGHBOURHOOD_CAP};
        let size = self.sizes();
        let progress = crate::progress::Progress::new("attack", 0);
        let mut round = 0;
        // Hidden cells stay hidden, so a table found for the hider stays one
        // the attacker cannot rule out.
        let mut hints = std::mem::take(&mut pattern.witnesses);
        let signature = |h: &crate::attack::Direction| -> Vec<(usize, i64)> {
            h.iter()
                .map(|&(c, d)| (c, (d * 1e6).round() as i64))
                .collect()
        };
        let mut seen: std::collections::HashSet<_> = hints.iter().map(signature).collect();
        let mut attack = |pattern: &Pattern,
                          cap: usize,
                          hints: &[crate::attack::Direction],
                          targets: Option<&[Vec<bool>]>| {
            let start = std::time::Instant::now();
            let report =
                crate::attack::attack_cells_with(self, pattern, protection, cap, hints, targets);
            progress.message(&format!(
                "round {round}: {} suppressed cells, {} counts attacked, {} boxes, {} programmes, {} exposed ({:.1}s)",
                report.cells,
                report.counts,
                report.boxes,
                report.programmes,
                report.narrow.len() + report.unproven.len(),
                start.elapsed().as_secs_f64()
            ));
            round += 1;
            report
        };
        let exposed = |report: &Report| {
            let mut exposed: Vec<(usize, usize)> = report
                .narrow
                .iter()
                .chain(&report.unproven)
                .map(|f| (f.cell, f.measure))
                .collect();
            exposed.sort_unstable();
            exposed.dedup();
            exposed
        };
        // A count proven wide stays wide when more cells are hidden (the
        // attacker only loses constraints), so after the first round only
        // the counts left exposed and those of newly hidden cells are
        // attacked; the counts proven earlier are settled here.
        let mut settled = Report::default();
        let mut targets = |report: &Report, new: &[AuditEntry]| {
            let mut targets = vec![vec![false; self.keys.len()]; self.count_names.len()];
            for (c, m) in exposed(report) {
                targets[m][c] = true;
            }
            for entry in new {
                for t in targets.iter_mut() {
                    t[entry.cell] = true;
                }
            }
            settled.merge(report.settled());
            targets
        };
        let mut report = attack(&pattern, BOXES_ONLY, &hints, first);
        for cap in [BOXES_ONLY, FAST_CAP, NEIGHBOURHOOD_CAP] {
            if cap != BOXES_ONLY {
                let left = report.unproven.len() + report.narrow.len();
                if left == 0 {
                    break;
                }
                if left > PROGRAMMED_COUNTS {
                    progress.message(&format!(
                        "{left} counts left for programmes, more than {PROGRAMMED_COUNTS}: they stay exposed"
                    ));
                    break;
                }
                if !report.unproven.is_empty() {
                    let targets = targets(&report, &[]);
                    report = attack(&pattern, cap, &hints, Some(&targets));
                }
            }
            for _ in 0..rounds {
                let exposed = exposed(&report);
                if exposed.is_empty() {
                    break;
                }
                let start = std::time::Instant::now();
                let known = (hints.len(), pattern.audit.len());
                let [boxed, programmed, related] = self.strengthen(
                    &size,
                    &mut pattern,
                    locked,
                    &exposed,
                    if cap == BOXES_ONLY {
                        0
                    } else {
                        PROGRAMMES.len()
                    },
                    &mut hints,
                );
                progress.message(&format!(
                    "{} counts exposed: {boxed} cells hidden in boxes, {programmed} by programmes, {related} in relations ({:.1}s)",
                    exposed.len(),
                    start.elapsed().as_secs_f64()
                ));
                // A hint found again is no progress.
                let mut fresh = hints.split_off(known.0);
                fresh.retain(|h| seen.insert(signature(h)));
                hints.append(&mut fresh);
                if boxed + programmed + related == 0 && hints.len() == known.0 {
                    break;
                }
                let targets = targets(&report, &pattern.audit[known.1..]);
                report = attack(&pattern, cap, &hints, Some(&targets));
            }
        }
        progress.done();
        report.merge(settled);
        pattern.witnesses = hints;
        (pattern, report)
    }

    /// Hides more cells around each (cell, count) of `exposed`: a box, else
    /// the cells one programme moves it with (the first `tiers` of
    /// [`PROGRAMMES`]), else one more complement in its relations (when
    /// `tiers > 0`). The boxes and tables used are
    /// added to `hints`, for the attacker to check. Returns the cells
    /// hidden each way.
    pub(crate) fn strengthen(
        &self,
        size: &[i64],
        pattern: &mut Pattern,
        locked: &[bool],
        exposed: &[(usize, usize)],
        tiers: usize,
        hints: &mut Vec<crate::attack::Direction>,
    ) -> [usize; 3] {
        let mut added = [0; 3];
        let mut left = Vec::new();
        match crate::attack::Hider::new(self, pattern, locked) {
            None => left.extend(exposed.iter().map(|&(c, _)| c)),
            Some(mut hider) => {
                for &(x, m) in exposed {
                    let found = match hider.hide_box(x, m, size) {
                        Some(new) => Some((0, new)),
                        None if tiers > 0 => PROGRAMMES
                            .iter()
                            .take(tiers)
                            .filter(|&&(_, _, most)| exposed.len() <= most)
                            .find_map(|&(radius, cap, _)| {
                                hider.hide_by_programme(x, m, size, radius, cap)
                            })
                            .map(|new| (1, new)),
                        None => None,
                    };
                    let Some((way, new)) = found else {
                        left.push(x);
                        continue;
                    };
                    let k = &self.keys[x];
                    let reason = format!(
                        "renfort contre l'attaque, {} autour de ({} {}, {} {}, {} = {}{})",
                        ["boîte", "programme"][way],
                        k.type_periode,
                        k.periode,
                        k.niveau_geo,
                        k.code_geo.as_deref().unwrap_or("-"),
                        k.dimension,
                        k.modalite,
                        k.motif
                            .as_deref()
                            .map(|m| format!(", motif {m}"))
                            .unwrap_or_default()
                    );
                    for c in new {
                        pattern.flags[c] = Some(Flag::Secondary);
                        pattern.audit.push(AuditEntry {
                            cell: c,
                            flag: Flag::Secondary,
                            reason: reason.clone(),
                        });
                        added[way] += 1;
                    }
                }
                hints.append(&mut hider.hints);
            }
        }
        left.dedup();
        // Without programmes (the first stage), a count no box protects is
        // left to the next stage's programmes: more complements in its
        // relations, chosen blind, often expose more counts than they save.
        if tiers > 0 {
            added[2] = reinforce(size, pattern, &self.relations, locked, &left);
        }
        added
    }
}

/// Most counts left to the programmes of stages 2 and 3 (see
/// [`CubeCells::protect_against_attack`]).
pub const PROGRAMMED_COUNTS: usize = 5000;

/// (relations away from a count, cells, most counts exposed) of the
/// programmes that choose the cells to hide when no box protects it, tried
/// in turn. The largest takes seconds a count: it is tried only when few
/// are left (at 100,000 persons, cells of a single-département region, by
/// month, needed it).
const PROGRAMMES: &[(usize, usize, usize)] = &[
    (3, 1500, usize::MAX),
    (8, 5000, usize::MAX),
    (16, 30000, 100),
];

/// Prefix of a column that gives a count's floor (see [`CubeCells::floors`]).
const FLOOR_PREFIX: &str = "plancher_";

/// Reads one family of cells (a query of [`FAMILIES`]) from the staged aggregates.
pub fn cube_cells(stage: &crate::stage::Stage, query: &str) -> crate::Result<CubeCells> {
    let conn = &stage.conn;
    let mut parent_region = HashMap::new();
    for level in ["departement", "zone_emploi"] {
        let mut stmt = conn.prepare(&format!(
            "select {level}, min(region) from stg_sessions where {level} is not null and region is not null \
             group by {level} having count(distinct region) = 1"
        ))?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (code, region) = row?;
            parent_region.insert((level.to_string(), code), region);
        }
    }
    let sql = crate::queries::render(query, &[]);
    let mut stmt = conn.prepare(&sql)?;
    stmt.execute([])?;
    // After the key, the counts; a column `plancher_<count>` gives the
    // least that count can be as the attacker knows it.
    let columns: Vec<String> = stmt.column_names().into_iter().skip(6).collect();
    let count_names: Vec<String> = columns
        .iter()
        .filter(|c| !c.starts_with(FLOOR_PREFIX))
        .cloned()
        .collect();
    let floor_of: Vec<Option<usize>> = count_names
        .iter()
        .map(|name| {
            columns
                .iter()
                .position(|c| c.strip_prefix(FLOOR_PREFIX) == Some(name.as_str()))
        })
        .collect();
    let count_at: Vec<usize> = count_names
        .iter()
        .map(|name| columns.iter().position(|c| c == name).unwrap_or_default())
        .collect();
    let rows = stmt.query_map([], |r| {
        let key = CellKey {
            periode: r.get(0)?,
            type_periode: r.get(1)?,
            niveau_geo: r.get(2)?,
            code_geo: r.get(3)?,
            dimension: r.get(4)?,
            modalite: r.get(5)?,
            motif: None,
        };
        let c: Vec<i64> = count_at
            .iter()
            .map(|&i| r.get::<_, i64>(6 + i))
            .collect::<Result<_, _>>()?;
        let f: Vec<i64> = floor_of
            .iter()
            .map(|i| i.map_or(Ok(0), |i| r.get::<_, i64>(6 + i)))
            .collect::<Result<_, _>>()?;
        Ok((key, c, f))
    })?;
    let mut rows: Vec<(CellKey, Vec<i64>, Vec<i64>)> = rows.collect::<Result<_, _>>()?;
    // The pattern depends on the order of the cells: it is the keys'
    // order, whatever order the rows came in.
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut keys = Vec::with_capacity(rows.len());
    let mut counts = Vec::with_capacity(rows.len());
    let mut floors = Vec::with_capacity(rows.len());
    for (k, c, f) in rows {
        keys.push(k);
        counts.push(c);
        floors.push(f);
    }
    let mut cells = CubeCells::new(count_names, keys, counts, &parent_region);
    cells.floors = floors;
    Ok(cells)
}

/// The cell key of each row of a cube batch (with its `motif_code` when
/// `with_motif`).
fn batch_keys(batch: &RecordBatch, with_motif: bool) -> crate::Result<Vec<CellKey>> {
    use arrow::array::{Array, AsArray};
    let text = |name: &str| -> crate::Result<arrow::array::StringArray> {
        let col = batch
            .column_by_name(name)
            .ok_or_else(|| crate::Error::Internal(format!("cube lacks {name}")))?;
        Ok(
            arrow::compute::cast(col, &arrow::datatypes::DataType::Utf8)?
                .as_string::<i32>()
                .clone(),
        )
    };
    let cols = [
        text("periode")?,
        text("type_periode")?,
        text("niveau_geo")?,
        text("code_geo")?,
        text("dimension")?,
        text("modalite")?,
    ];
    let motif = if with_motif {
        Some(text("motif_code")?)
    } else {
        None
    };
    let get =
        |c: &arrow::array::StringArray, r: usize| (!c.is_null(r)).then(|| c.value(r).to_string());
    Ok((0..batch.num_rows())
        .map(|r| CellKey {
            periode: get(&cols[0], r).unwrap_or_default(),
            type_periode: get(&cols[1], r).unwrap_or_default(),
            niveau_geo: get(&cols[2], r).unwrap_or_default(),
            code_geo: get(&cols[3], r),
            dimension: get(&cols[4], r).unwrap_or_default(),
            modalite: get(&cols[5], r).unwrap_or_default(),
            motif: motif.as_ref().map(|m| get(m, r).unwrap_or_default()),
        })
        .collect())
}

/// The flag of each row of a cube batch from the patterns of the cell
/// families: a row is suppressed when any family suppresses its key (`A`
/// over `D`); a row whose key no family knows is suppressed (fail-closed).
fn key_flags(
    batch: &RecordBatch,
    families: &[&(CubeCells, Pattern)],
) -> crate::Result<Vec<Option<Flag>>> {
    let indexes: Vec<HashMap<&CellKey, usize>> = families
        .iter()
        .map(|(cells, _)| cells.keys.iter().enumerate().map(|(i, k)| (k, i)).collect())
        .collect();
    Ok(batch_keys(batch, false)?
        .into_iter()
        .map(|key| {
            let mut known = false;
            let mut flag = None;
            for ((_, pattern), index) in families.iter().zip(&indexes) {
                if let Some(&i) = index.get(&key) {
                    known = true;
                    flag = match (flag, pattern.flags[i]) {
                        (Some(Flag::Primary), _) | (_, Some(Flag::Primary)) => Some(Flag::Primary),
                        (a, b) => a.or(b),
                    };
                }
            }
            if known {
                flag
            } else {
                Some(Flag::Primary)
            }
        })
        .collect())
}

/// Clears a cube batch with the patterns of the cell families it publishes.
pub fn clear_cube(
    batch: &RecordBatch,
    measures: &[&str],
    families: &[&(CubeCells, Pattern)],
) -> crate::Result<Cleared> {
    let flags = key_flags(batch, families)?;
    clear(
        batch,
        measures,
        &Pattern {
            flags,
            audit: Vec::new(),
            witnesses: Vec::new(),
        },
    )
}

/// Clears the abandon cube. Each row is a key and a reason (`motif_code`,
/// `ensemble` for all reasons). Rows first take their key's flag from the
/// families; a reason whose count is below the threshold is suppressed;
/// then complements are added so that no relation holds a lone hidden row:
/// reasons add up to `ensemble`, and each reason's rows follow the same
/// geographic, modality and month relations as the cube. `ensemble` rows
/// published in the funnel are never chosen as complements.
///
/// With `attack` (protection level, rounds), the pattern is then attacked
/// and reinforced like a family's ([`CubeCells::defend`]), the `ensemble`
/// rows published in the funnel staying as they are.
pub fn clear_by_motif(
    batch: &RecordBatch,
    measures: &[&str],
    families: &[&(CubeCells, Pattern)],
    threshold: i64,
    attack: Option<(f64, usize)>,
) -> crate::Result<ClearedByMotif> {
    use arrow::array::{Array, AsArray};
    let key_flag = key_flags(batch, families)?;
    let keys = batch_keys(batch, true)?;
    let counts = arrow::compute::cast(
        batch
            .column_by_name("nb_abandons")
            .ok_or_else(|| crate::Error::Internal("abandons lacks nb_abandons".into()))?,
        &arrow::datatypes::DataType::Int64,
    )?;
    let counts = counts.as_primitive::<arrow::datatypes::Int64Type>();
    let count: Vec<i64> = (0..batch.num_rows())
        .map(|r| {
            if counts.is_null(r) {
                0
            } else {
                counts.value(r)
            }
        })
        .collect();
    let locked: Vec<bool> = keys
        .iter()
        .zip(&key_flag)
        .map(|(k, f)| k.motif.as_deref() == Some("ensemble") && f.is_none())
        .collect();
    // A reason of a key suppressed in the funnel is suppressed with it (the
    // `ensemble` rows are the funnel's cells, audited with their family).
    let mut audit: Vec<AuditEntry> = keys
        .iter()
        .zip(&key_flag)
        .enumerate()
        .filter_map(|(cell, (k, f))| match (k.motif.as_deref(), f) {
            (Some(m), Some(flag)) if m != "ensemble" => Some(AuditEntry {
                cell,
                flag: *flag,
                reason: "clé masquée dans l'entonnoir".into(),
            }),
            _ => None,
        })
        .collect();
    let mut flags = key_flag;
    for (r, f) in flags.iter_mut().enumerate() {
        if f.is_none() && is_primary(count[r], threshold) {
            *f = Some(Flag::Primary);
            audit.push(AuditEntry {
                cell: r,
                flag: Flag::Primary,
                reason: "effectif inférieur au seuil".into(),
            });
        }
    }
    let parent_region = families
        .first()
        .map(|(c, _)| c.parent_region.clone())
        .unwrap_or_default();
    let mut cells = CubeCells::new(
        vec!["nb_abandons".into()],
        keys,
        count.iter().map(|&c| vec![c]).collect(),
        &parent_region,
    );
    // A reason nobody gave has no row: a reason's row counts at least one
    // abandon, as the attacker knows.
    cells.floors = cells
        .keys
        .iter()
        .zip(&count)
        .map(|(k, &c)| {
            vec![if k.motif.as_deref() == Some("ensemble") {
                0
            } else {
                c.min(1)
            }]
        })
        .collect();
    no_reason_no_abandon(&mut cells);
    let mut pattern = Pattern {
        flags,
        audit,
        witnesses: Vec::new(),
    };
    let all = (0..cells.relations.len()).collect();
    propagate(&count, &mut pattern, &cells.relations, &locked, all);
    let (pattern, report) = match attack {
        None => (pattern, None),
        Some((protection, rounds)) => {
            let suppressed: Vec<bool> = (0..cells.keys.len())
                .map(|c| pattern.suppressed(c))
                .collect();
            let of_total = cells.relations_of_totals();
            pattern.witnesses = family_witnesses(&cells, families)
                .into_iter()
                .filter_map(|w| with_reasons(&cells, &of_total, &suppressed, w))
                .collect();
            // Only the reasons can narrow what the cohort family proved:
            // the `ensemble` rows are its cells, with its relations and
            // published cells, and a published one is never hidden here. A
            // suppressed row out of the reasons' reach keeps that proof (a
            // row hidden later is a reason, which cannot reach it either).
            let suppressed: Vec<bool> = (0..cells.keys.len())
                .map(|c| pattern.suppressed(c))
                .collect();
            let reach = crate::attack::reach(&suppressed, &cells.relations, |rel| {
                rel.parts.is_empty()
                    || rel
                        .parts
                        .iter()
                        .any(|&p| cells.keys[p].motif.as_deref() != Some("ensemble"))
            });
            let (pattern, mut report) = cells.defend(
                pattern,
                &locked,
                Some(std::slice::from_ref(&reach)),
                protection,
                rounds,
            );
            report.proven_in_family = suppressed
                .iter()
                .zip(&reach)
                .filter(|(s, r)| **s && !**r)
                .count();
            (pattern, Some(report))
        }
    };
    Ok(ClearedByMotif {
        cleared: clear(batch, measures, &pattern)?,
        cells,
        pattern,
        report,
    })
}

/// Where the split by reason is delivered (a kind of period, a level and a
/// dimension with at least one reason row), a key with no reason row had
/// no abandon, as the attacker can tell: its `ensemble` row gets the
/// relation `nb_abandons = 0` (a relation with no parts).
fn no_reason_no_abandon(cells: &mut CubeCells) {
    let level = |k: &CellKey| {
        (
            k.type_periode.clone(),
            k.niveau_geo.clone(),
            k.dimension.clone(),
        )
    };
    let split: std::collections::BTreeSet<_> = cells
        .keys
        .iter()
        .filter(|k| k.motif.as_deref() != Some("ensemble"))
        .map(level)
        .collect();
    let mut with_reasons = vec![false; cells.keys.len()];
    for rel in &cells.relations {
        if rel
            .parts
            .iter()
            .any(|&p| cells.keys[p].motif.as_deref() != Some("ensemble"))
        {
            with_reasons[rel.total] = true;
        }
    }
    for (r, k) in cells.keys.iter().enumerate() {
        if k.motif.as_deref() == Some("ensemble") && !with_reasons[r] && split.contains(&level(k)) {
            cells.relations.push(Relation {
                total: r,
                parts: Vec::new(),
                label: format!(
                    "aucun motif, aucun abandon ({} {}, {} {})",
                    k.type_periode,
                    k.periode,
                    k.niveau_geo,
                    k.code_geo.as_deref().unwrap_or("-")
                ),
            });
        }
    }
}

/// The families' witnesses, moved onto the abandon cube's `ensemble` rows
/// (the same keys): handed to its attacker, they prove again what they
/// proved there. One that breaks a relation of reasons moves no table, as
/// every hint is checked.
fn family_witnesses(
    cells: &CubeCells,
    families: &[&(CubeCells, Pattern)],
) -> Vec<crate::attack::Direction> {
    let row_of: HashMap<&CellKey, usize> = cells
        .keys
        .iter()
        .enumerate()
        .filter(|(_, k)| k.motif.as_deref() == Some("ensemble"))
        .map(|(r, k)| (k, r))
        .collect();
    let mut out = Vec::new();
    for (family, pattern) in families.iter().filter(|(_, p)| !p.witnesses.is_empty()) {
        // Each family cell's row, looked up once.
        let row: Vec<Option<usize>> = family
            .keys
            .iter()
            .map(|k| {
                let key = CellKey {
                    motif: Some("ensemble".into()),
                    ..k.clone()
                };
                row_of.get(&key).copied()
            })
            .collect();
        out.extend(pattern.witnesses.iter().filter_map(|w| {
            w.iter()
                .map(|&(c, d)| row[c].map(|r| (r, d)))
                .collect::<Option<crate::attack::Direction>>()
        }));
    }
    out
}

/// A family's witness moved onto the abandon cube (`ensemble` rows only)
/// breaks the reasons' relations wherever it moves a row that has reasons.
/// Lifted: in each such four-month period, every moved row moves one
/// hidden reason by as much, the same reason for all (its France row then
/// moves by their sum, which is the France row's own move). None when no
/// reason is hidden in every moved row (and at France, when it moves).
fn with_reasons(
    cells: &CubeCells,
    of_total: &[Vec<usize>],
    suppressed: &[bool],
    witness: crate::attack::Direction,
) -> Option<crate::attack::Direction> {
    let is_reason = |c: usize| cells.keys[c].motif.as_deref() != Some("ensemble");
    // The reason relations of the rows this witness moves.
    // Four-month period → (move, reason relation) of each moved row.
    type Moves<'a> = Vec<(f64, &'a Relation)>;
    let mut groups: std::collections::BTreeMap<(&str, &str), Moves> = Default::default();
    for (rel, d) in witness
        .iter()
        .flat_map(|&(c, d)| of_total[c].iter().map(move |&r| (&cells.relations[r], d)))
    {
        if rel.parts.is_empty() {
            // No reason, no abandon: the row cannot move.
            return None;
        }
        if rel.parts.iter().any(|&p| is_reason(p)) {
            let k = &cells.keys[rel.total];
            groups
                .entry((k.periode.as_str(), k.type_periode.as_str()))
                .or_default()
                .push((d, rel));
        }
    }
    let mut out = witness;
    for rows in groups.values() {
        // The reasons hidden in every moved row, the roomiest first.
        let hidden_reasons = |rel: &Relation| -> HashMap<String, usize> {
            rel.parts
                .iter()
                .filter(|&&p| suppressed[p] && is_reason(p))
                .filter_map(|&p| Some((cells.keys[p].motif.clone()?, p)))
                .collect()
        };
        let per_row: Vec<HashMap<String, usize>> =
            rows.iter().map(|(_, rel)| hidden_reasons(rel)).collect();
        let mut common: Vec<&String> = per_row[0]
            .keys()
            .filter(|m| per_row.iter().all(|h| h.contains_key(*m)))
            .collect();
        common.sort_by_key(|m| {
            let least = per_row.iter().map(|h| cells.room(h[*m], 0)).min();
            (std::cmp::Reverse(least), (*m).clone())
        });
        let reason = common.first()?;
        for ((d, _), h) in rows.iter().zip(&per_row) {
            out.push((h[*reason], *d));
        }
    }
    Some(out)
}

/// The abandon cube after [`clear_by_motif`]: the cleared batch, its cells
/// and pattern (for the audit) and, when attacked, the attacker's last
/// report.
pub struct ClearedByMotif {
    pub cleared: Cleared,
    pub cells: CubeCells,
    pub pattern: Pattern,
    pub report: Option<crate::attack::Report>,
}

/// An aggregate that went through disclosure control: suppressed measures
/// are null and the `secret` column says why. Only this module builds one.
#[derive(Debug, Clone)]
pub struct Cleared {
    batch: RecordBatch,
}

impl Cleared {
    pub fn batch(&self) -> &RecordBatch {
        &self.batch
    }
}

/// Applies a pattern to a batch: measure columns of suppressed rows become
/// null, and a `secret` column (null, `A` or `D`) is appended.
pub fn clear(batch: &RecordBatch, measures: &[&str], pattern: &Pattern) -> crate::Result<Cleared> {
    use arrow::array::{ArrayRef, BooleanArray, StringArray};
    use std::sync::Arc;
    if pattern.flags.len() != batch.num_rows() {
        return Err(crate::Error::Internal(
            "pattern and batch differ in length".into(),
        ));
    }
    let keep: BooleanArray = pattern.flags.iter().map(|f| Some(f.is_none())).collect();
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (i, field) in batch.schema().fields().iter().enumerate() {
        let col = batch.column(i);
        let col = if measures.contains(&field.name().as_str()) {
            arrow::compute::nullif(col, &arrow::compute::not(&keep)?)?
        } else {
            col.clone()
        };
        fields.push(field.as_ref().clone().with_nullable(true));
        columns.push(col);
    }
    let secret: StringArray = pattern.flags.iter().map(|f| f.map(Flag::letter)).collect();
    fields.push(arrow::datatypes::Field::new(
        "secret",
        arrow::datatypes::DataType::Utf8,
        true,
    ));
    columns.push(Arc::new(secret));
    let schema = Arc::new(arrow::datatypes::Schema::new(fields));
    Ok(Cleared {
        batch: RecordBatch::try_new(schema, columns)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::{exact_intervals, Additivity};

    fn intervals(
        values: &[i64],
        relations: &[Relation],
        pattern: &Pattern,
    ) -> Vec<(usize, f64, f64)> {
        let suppressed: Vec<bool> = (0..values.len()).map(|c| pattern.suppressed(c)).collect();
        exact_intervals(values, relations, &suppressed, Additivity::Additive, &[])
            .into_iter()
            .map(|f| (f.cell, f.min, f.max))
            .collect()
    }

    fn rel(total: usize, parts: &[usize]) -> Relation {
        Relation {
            total,
            parts: parts.to_vec(),
            label: format!("{total}"),
        }
    }

    /// Asserts that no suppressed cell is pinned and each interval is at
    /// least `protection` wide.
    fn assert_protected(
        values: &[i64],
        relations: &[Relation],
        pattern: &Pattern,
        protection: f64,
    ) {
        for (cell, lo, hi) in intervals(values, relations, pattern) {
            assert!(
                hi - lo >= protection - 1e-6,
                "cell {cell} (value {}) is pinned to [{lo}, {hi}]",
                values[cell]
            );
        }
    }

    fn primary(values: &[i64], threshold: i64) -> Vec<bool> {
        values.iter().map(|&v| is_primary(v, threshold)).collect()
    }

    #[test]
    fn the_attacker_pins_a_lone_suppression() {
        let values = [40, 4, 20, 16];
        let rels = [rel(0, &[1, 2, 3])];
        let lone = Pattern {
            flags: vec![None, Some(Flag::Primary), None, None],
            audit: vec![],
            witnesses: Vec::new(),
        };
        let found = intervals(&values, &rels, &lone);
        assert_eq!(found.len(), 1);
        let (_, lo, hi) = found[0];
        assert!(
            (lo - 4.0).abs() < 1e-6 && (hi - 4.0).abs() < 1e-6,
            "[{lo}, {hi}]"
        );
    }

    #[test]
    fn a_single_small_cell_gets_one_complement() {
        // total 0 = 1 + 2 + 3.
        let values = [40, 4, 20, 16];
        let rels = [rel(0, &[1, 2, 3])];
        let p = suppress(&values, &primary(&values, 11), &rels);
        assert_eq!(
            p.flags,
            vec![None, Some(Flag::Primary), None, Some(Flag::Secondary)]
        );
        assert_protected(&values, &rels, &p, 4.0);
    }

    #[test]
    fn two_small_cells_in_one_row_protect_each_other() {
        let values = [50, 3, 5, 42];
        let rels = [rel(0, &[1, 2, 3])];
        let p = suppress(&values, &primary(&values, 11), &rels);
        assert_eq!(p.count(Flag::Primary), 2);
        assert_eq!(p.count(Flag::Secondary), 0);
        assert_protected(&values, &rels, &p, 3.0);
    }

    /// A 2 × 2 table of (département × dispositif) with both margins.
    /// Cells: 0 total; 1, 2 dispositif margins; 3, 4 département margins;
    /// 5 = (d1, a), 6 = (d1, b), 7 = (d2, a), 8 = (d2, b).
    #[test]
    fn small_cells_along_a_departement_and_a_dimension_margin() {
        let values = [100, 45, 55, 30, 70, 5, 25, 40, 30];
        let rels = [
            rel(0, &[1, 2]),
            rel(0, &[3, 4]),
            rel(3, &[5, 6]),
            rel(4, &[7, 8]),
            rel(1, &[5, 7]),
            rel(2, &[6, 8]),
        ];
        let p = suppress(&values, &primary(&values, 11), &rels);
        assert_eq!(p.flags[5], Some(Flag::Primary));
        // The whole 2 × 2 interior must go: a rectangle of suppressions.
        for c in [6, 7, 8] {
            assert!(p.suppressed(c), "cell {c}");
        }
        assert!(!p.suppressed(0));
        assert_protected(&values, &rels, &p, 5.0);
    }

    #[test]
    fn a_region_with_a_single_departement() {
        // Region 0 has one département 1: they are equal, so suppressing one
        // suppresses the other, and then a sibling pair in the dimension.
        // Cells: 0 region, 1 département; 2, 3 = modalities of the region;
        // 4, 5 = the same modalities for the département.
        let values = [60, 60, 7, 53, 7, 53];
        let rels = [
            rel(0, &[1]),
            rel(2, &[4]),
            rel(3, &[5]),
            rel(0, &[2, 3]),
            rel(1, &[4, 5]),
        ];
        let p = suppress(&values, &primary(&values, 11), &rels);
        for c in [2, 3, 4, 5] {
            assert!(p.suppressed(c), "cell {c}");
        }
        assert_protected(&values, &rels, &p, 7.0);
    }

    #[test]
    fn cleared_batches_null_every_measure_of_a_suppressed_cell() {
        use arrow::array::{Array, AsArray, Int64Array, StringArray};
        use std::sync::Arc;
        let batch = RecordBatch::try_from_iter(vec![
            ("modalite", Arc::new(StringArray::from(vec!["a", "b"])) as _),
            ("nb", Arc::new(Int64Array::from(vec![3, 40])) as _),
        ])
        .unwrap();
        let p = Pattern {
            flags: vec![Some(Flag::Primary), None],
            audit: vec![],
            witnesses: Vec::new(),
        };
        let c = clear(&batch, &["nb"], &p).unwrap();
        let b = c.batch();
        assert!(b.column(1).is_null(0));
        assert_eq!(
            b.column(1)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .value(1),
            40
        );
        assert_eq!(b.column(2).as_string::<i32>().value(0), "A");
        assert!(b.column(2).is_null(1));
        assert_eq!(b.column(0).as_string::<i32>().value(0), "a");
    }

    /// A reason hidden in one département must not be recomputable from
    /// its region's row for the same reason and the other départements'.
    #[test]
    fn abandon_reasons_are_protected_across_departements() {
        use arrow::array::{Array, AsArray, Int64Array, StringArray};
        use std::sync::Arc;
        let key = |geo: &str, code: &str| CellKey {
            periode: "2026-T1".into(),
            type_periode: "quadrimestre".into(),
            niveau_geo: geo.into(),
            code_geo: Some(code.into()),
            dimension: "ensemble".into(),
            modalite: "ensemble".into(),
            motif: None,
        };
        let parent: HashMap<(String, String), String> = [("d1", "R"), ("d2", "R")]
            .map(|(d, r)| (("departement".to_string(), d.to_string()), r.to_string()))
            .into_iter()
            .collect();
        // The funnel publishes every key's abandons: 23, 45 and 68.
        let funnel = CubeCells::new(
            vec!["nb_abandons".into()],
            vec![
                key("region", "R"),
                key("departement", "d1"),
                key("departement", "d2"),
            ],
            vec![vec![68], vec![23], vec![45]],
            &parent,
        );
        let published = Pattern {
            flags: vec![None; 3],
            audit: vec![],
            witnesses: Vec::new(),
        };
        let rows = [
            ("region", "R", "ensemble", 68),
            ("region", "R", "X", 18),
            ("region", "R", "Y", 50),
            ("departement", "d1", "ensemble", 23),
            ("departement", "d1", "X", 3),
            ("departement", "d1", "Y", 20),
            ("departement", "d2", "ensemble", 45),
            ("departement", "d2", "X", 15),
            ("departement", "d2", "Y", 30),
        ];
        type Row = (&'static str, &'static str, &'static str, i64);
        let text = |f: &dyn Fn(&Row) -> String| {
            Arc::new(rows.iter().map(f).map(Some).collect::<StringArray>()) as _
        };
        let batch = RecordBatch::try_from_iter(vec![
            ("periode", text(&|_| "2026-T1".into())),
            ("type_periode", text(&|_| "quadrimestre".into())),
            ("niveau_geo", text(&|r| r.0.into())),
            ("code_geo", text(&|r| r.1.into())),
            ("dimension", text(&|_| "ensemble".into())),
            ("modalite", text(&|_| "ensemble".into())),
            ("motif_code", text(&|r| r.2.into())),
            (
                "nb_abandons",
                Arc::new(rows.iter().map(|r| Some(r.3)).collect::<Int64Array>()) as _,
            ),
        ])
        .unwrap();
        let family = (funnel, published);
        let cleared = clear_by_motif(&batch, &["nb_abandons"], &[&family], 11, None)
            .unwrap()
            .cleared;
        // Attacked, the reasons' pattern holds against the attacker too.
        let report = clear_by_motif(&batch, &["nb_abandons"], &[&family], 11, Some((1.0, 8)))
            .unwrap()
            .report
            .unwrap();
        assert!(report.counts > 0 && report.narrow.is_empty() && report.unproven.is_empty());
        let secret = cleared
            .batch()
            .column_by_name("secret")
            .unwrap()
            .as_string::<i32>()
            .clone();
        let hidden: Vec<bool> = (0..rows.len()).map(|r| !secret.is_null(r)).collect();
        // d1 X is primary; d2 X protects it in the region's X relation, and
        // d1 Y, d2 Y protect both in their départements' reason relations.
        assert_eq!(
            hidden,
            vec![false, false, false, false, true, true, false, true, true]
        );
        // The attacker, given the reason relations and the region relations
        // of each reason, pins nothing.
        let keys = batch_keys(&batch, true).unwrap();
        let cells = CubeCells::new(
            vec!["nb_abandons".into()],
            keys,
            rows.iter().map(|r| vec![r.3]).collect(),
            &parent,
        );
        let values: Vec<i64> = rows.iter().map(|r| r.3).collect();
        for (cell, lo, hi) in crate::attack::exact_intervals(
            &values,
            &cells.relations,
            &hidden,
            crate::attack::Additivity::Additive,
            &[],
        )
        .into_iter()
        .map(|f| (f.cell, f.min, f.max))
        {
            assert!(hi - lo >= 1.0, "row {cell} pinned to [{lo}, {hi}]");
        }
    }

    /// A cohort witness moving region A up and B down, lifted into the
    /// abandon cube: the same hidden reason (the roomiest, X) moves with
    /// each, so every relation still holds; with B's reasons published it
    /// cannot be lifted.
    #[test]
    fn a_family_witness_moves_one_reason_of_each_row_it_moves() {
        let key = |place: &str, motif: &str| CellKey {
            periode: "2026-T1".into(),
            type_periode: "quadrimestre".into(),
            niveau_geo: if place == "F" { "france" } else { "region" }.into(),
            code_geo: (place != "F").then(|| place.to_string()),
            dimension: "ensemble".into(),
            modalite: "ensemble".into(),
            motif: Some(motif.into()),
        };
        let rows = [
            ("F", "ensemble", 20),
            ("A", "ensemble", 10),
            ("B", "ensemble", 10),
            ("F", "X", 12),
            ("F", "Y", 8),
            ("A", "X", 6),
            ("A", "Y", 4),
            ("B", "X", 6),
            ("B", "Y", 4),
        ];
        let cells = CubeCells::new(
            vec!["nb_abandons".into()],
            rows.iter().map(|&(p, m, _)| key(p, m)).collect(),
            rows.iter().map(|&(_, _, v)| vec![v]).collect(),
            &HashMap::new(),
        );
        let at = |p: &str, m: &str| cells.keys.iter().position(|k| *k == key(p, m)).unwrap();
        let witness = vec![(at("A", "ensemble"), 1.0), (at("B", "ensemble"), -1.0)];
        // France's rows are published, the regions' hidden.
        let mut suppressed: Vec<bool> = cells.keys.iter().map(|k| k.code_geo.is_some()).collect();
        let of_total = cells.relations_of_totals();
        let lifted = with_reasons(&cells, &of_total, &suppressed, witness.clone()).unwrap();
        let mut moved: Vec<(usize, f64)> = lifted.clone();
        moved.sort_by_key(|&(c, _)| c);
        let mut expected = vec![
            (at("A", "ensemble"), 1.0),
            (at("B", "ensemble"), -1.0),
            (at("A", "X"), 1.0),
            (at("B", "X"), -1.0),
        ];
        expected.sort_by_key(|&(c, _)| c);
        assert_eq!(moved, expected);
        // Every relation of the cube still holds.
        let change = |c: usize| lifted.iter().filter(|m| m.0 == c).map(|m| m.1).sum::<f64>();
        for rel in &cells.relations {
            let parts: f64 = rel.parts.iter().map(|&p| change(p)).sum();
            assert_eq!(change(rel.total), parts, "{}", rel.label);
        }
        // B's reasons published: no reason can move with B.
        suppressed[at("B", "X")] = false;
        suppressed[at("B", "Y")] = false;
        assert!(with_reasons(&cells, &of_total, &suppressed, witness).is_none());
    }

    /// A funnel of one count (`nb_abandons`) over `keys`.
    fn one_count_funnel(keys: Vec<CellKey>, values: &[i64]) -> CubeCells {
        CubeCells::new(
            vec!["nb_abandons".into()],
            keys,
            values.iter().map(|&v| vec![v]).collect(),
            &HashMap::new(),
        )
    }

    /// An abandon cube batch: one row per (key, reason, abandons).
    fn abandon_batch(rows: &[(CellKey, &str, i64)]) -> RecordBatch {
        use arrow::array::{Int64Array, StringArray};
        use std::sync::Arc;
        let text = |f: &dyn Fn(&CellKey) -> Option<String>| {
            Arc::new(rows.iter().map(|r| f(&r.0)).collect::<StringArray>()) as _
        };
        RecordBatch::try_from_iter(vec![
            ("periode", text(&|k| Some(k.periode.clone()))),
            ("type_periode", text(&|k| Some(k.type_periode.clone()))),
            ("niveau_geo", text(&|k| Some(k.niveau_geo.clone()))),
            ("code_geo", text(&|k| k.code_geo.clone())),
            ("dimension", text(&|k| Some(k.dimension.clone()))),
            ("modalite", text(&|k| Some(k.modalite.clone()))),
            (
                "motif_code",
                Arc::new(rows.iter().map(|r| Some(r.1)).collect::<StringArray>()) as _,
            ),
            (
                "nb_abandons",
                Arc::new(rows.iter().map(|r| Some(r.2)).collect::<Int64Array>()) as _,
            ),
        ])
        .unwrap()
    }

    /// Region C has no reason row where the reasons are delivered: it had
    /// no abandon, as the attacker can tell. With France and A published in
    /// the funnel, B's abandons are then France − A − C = 5 exactly: the
    /// cube's attacker finds it, and the delivery would fail closed (no
    /// published row may be hidden to save it). Without the relation
    /// `C = 0`, C's freedom seemed to protect B.
    #[test]
    fn a_key_without_reasons_had_no_abandon() {
        let key = |p: &str| CellKey {
            periode: "2026-T1".into(),
            type_periode: "quadrimestre".into(),
            niveau_geo: if p == "F" { "france" } else { "region" }.into(),
            code_geo: (p != "F").then(|| p.to_string()),
            dimension: "ensemble".into(),
            modalite: "ensemble".into(),
            motif: None,
        };
        let totals = [("F", 40), ("A", 35), ("B", 5), ("C", 0)];
        let funnel = one_count_funnel(
            totals.iter().map(|(p, _)| key(p)).collect(),
            &totals.map(|t| t.1),
        );
        // B is below the threshold in the funnel, C its complement.
        let pattern = Pattern {
            flags: vec![None, None, Some(Flag::Primary), Some(Flag::Secondary)],
            audit: vec![],
            witnesses: vec![],
        };
        // (place, reason, abandons)
        type Row<'a> = (&'a str, &'a str, i64);
        let rows: Vec<Row> = totals
            .iter()
            .map(|&(p, v)| (p, "ensemble", v))
            .chain([
                ("F", "X", 33),
                ("F", "Y", 7),
                ("A", "X", 30),
                ("A", "Y", 5),
                ("B", "X", 3),
                ("B", "Y", 2),
            ])
            .collect();
        let batch = abandon_batch(
            &rows
                .iter()
                .map(|&(p, m, v)| (key(p), m, v))
                .collect::<Vec<_>>(),
        );
        let family = (funnel, pattern);
        let c = clear_by_motif(&batch, &["nb_abandons"], &[&family], 11, Some((1.0, 8))).unwrap();
        // Only C gets the relation "no reason, no abandon".
        let zero: Vec<&str> = c
            .cells
            .relations
            .iter()
            .filter(|r| r.parts.is_empty())
            .map(|r| rows[r.total].0)
            .collect();
        assert_eq!(zero, ["C"]);
        let report = c.report.unwrap();
        let exposed: Vec<Row> = report
            .narrow
            .iter()
            .chain(&report.unproven)
            .map(|f| rows[f.cell])
            .collect();
        assert!(exposed.contains(&("B", "ensemble", 5)), "{exposed:?}");
        let b = report
            .narrow
            .iter()
            .find(|f| rows[f.cell].0 == "B")
            .unwrap();
        assert_eq!((b.min, b.max), (5.0, 5.0));
    }

    /// The months of a region are hidden in the funnel and touch no reason:
    /// the abandon attack leaves them to the cohort's proof, attacks the
    /// reasons, and the exact attacker on the whole cube pins nothing. The
    /// cohort's witnesses are carried over to the cube's rows.
    #[test]
    fn ensemble_rows_out_of_the_reasons_reach_keep_the_cohort_proof() {
        let key = |periode: &str| CellKey {
            periode: periode.into(),
            type_periode: if periode.contains('T') {
                "quadrimestre"
            } else {
                "mois"
            }
            .into(),
            niveau_geo: "region".into(),
            code_geo: Some("R".into()),
            dimension: "ensemble".into(),
            modalite: "ensemble".into(),
            motif: None,
        };
        // Abandons of 2026-T1 and of its months; the months 3 and 5 are hidden.
        let periods = [
            ("2026-T1", 40),
            ("2026-01", 3),
            ("2026-02", 5),
            ("2026-03", 32),
        ];
        let funnel = one_count_funnel(
            periods.iter().map(|(p, _)| key(p)).collect(),
            &periods.map(|p| p.1),
        );
        // The cohort proved them with one witness: 2026-01 up, 2026-02 down.
        let pattern = Pattern {
            flags: vec![None, Some(Flag::Primary), Some(Flag::Primary), None],
            audit: vec![],
            witnesses: vec![vec![(1, 1.0), (2, -1.0)]],
        };
        // The split by reason of the four-month period: Z is below the threshold.
        let rows: Vec<(&str, &str, i64)> = periods
            .iter()
            .map(|&(p, v)| (p, "ensemble", v))
            .chain([
                ("2026-T1", "X", 23),
                ("2026-T1", "Y", 15),
                ("2026-T1", "Z", 2),
            ])
            .collect();
        let batch = abandon_batch(
            &rows
                .iter()
                .map(|&(p, m, v)| (key(p), m, v))
                .collect::<Vec<_>>(),
        );
        let family = (funnel, pattern);
        let c = clear_by_motif(&batch, &["nb_abandons"], &[&family], 11, Some((1.0, 8))).unwrap();
        let report = c.report.unwrap();
        let hidden: Vec<bool> = (0..rows.len()).map(|r| c.pattern.suppressed(r)).collect();
        // Z is primary and Y protects it; the months keep the funnel's flags.
        assert_eq!(hidden, [false, true, true, false, false, true, true]);
        assert_eq!((report.counts, report.proven_in_family), (2, 2));
        // The witness now moves the same periods' rows of the abandon cube.
        let moved: Vec<(&str, &str, f64)> = c.pattern.witnesses[0]
            .iter()
            .map(|&(r, d)| (rows[r].0, rows[r].1, d))
            .collect();
        assert_eq!(
            moved,
            [("2026-01", "ensemble", 1.0), ("2026-02", "ensemble", -1.0)]
        );
        assert!(report.narrow.is_empty() && report.unproven.is_empty());
        let values: Vec<i64> = rows.iter().map(|r| r.2).collect();
        for f in crate::attack::exact_intervals(
            &values,
            &c.cells.relations,
            &hidden,
            crate::attack::Additivity::Additive,
            &[],
        ) {
            assert!(f.max - f.min >= 1.0, "row {} pinned: {f:?}", f.cell);
        }
    }

    /// Property: on random two-level tables (région → départements, each
    /// crossed with a dimension), the attacker pins no suppressed cell.
    #[test]
    fn random_cubes_resist_the_attacker() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..60 {
            let depts = rng.gen_range(1..4);
            let mods = rng.gen_range(2..4);
            // interior[d][m]
            let interior: Vec<Vec<i64>> = (0..depts)
                .map(|_| {
                    (0..mods)
                        .map(|_| {
                            if rng.gen_bool(0.3) {
                                rng.gen_range(1..11)
                            } else {
                                rng.gen_range(11..60)
                            }
                        })
                        .collect()
                })
                .collect();
            let mut values = Vec::new();
            let idx = |v: i64, values: &mut Vec<i64>| {
                values.push(v);
                values.len() - 1
            };
            let grand: i64 = interior.iter().flatten().sum();
            let total = idx(grand, &mut values);
            let mod_totals: Vec<usize> = (0..mods)
                .map(|m| idx(interior.iter().map(|r| r[m]).sum(), &mut values))
                .collect();
            let dept_totals: Vec<usize> = interior
                .iter()
                .map(|r| idx(r.iter().sum(), &mut values))
                .collect();
            let cells: Vec<Vec<usize>> = interior
                .iter()
                .map(|r| r.iter().map(|&v| idx(v, &mut values)).collect())
                .collect();
            let mut rels = vec![rel(total, &mod_totals), rel(total, &dept_totals)];
            for d in 0..depts {
                rels.push(rel(dept_totals[d], &cells[d]));
            }
            for m in 0..mods {
                rels.push(rel(
                    mod_totals[m],
                    &cells.iter().map(|r| r[m]).collect::<Vec<_>>(),
                ));
            }
            let p = suppress(&values, &primary(&values, 11), &rels);
            assert_protected(&values, &rels, &p, 1.0);
        }
    }
}
