//! Re-identification risk of microdata deliveries, and k-anonymity by
//! generalisation along the policy's ladders (SPEC §4, "Anonymised means
//! measured").
//!
//! Owns one thing: deciding, from the delivered quasi-identifiers alone,
//! how coarse each one is delivered and which persons are left out. What
//! always holds for a recipient with a `k_anonymat`: every combination of
//! its delivered quasi-identifiers, in each file and for a person joined
//! with each of their positionings, is shared by at least k persons, or
//! the delivery is refused ([`Error::Policy`], exit 4).
//!
//! Pure: [`Microdata`] in (built from Arrow batches), an [`Outcome`] out
//! (a row mask per file, a step per column, a report). Reading the staged
//! extracts is [`read`]'s job; `deliver` applies the outcome.
//!
//! ```
//! use ouistat::testing::kanon::{anonymise, Family, Microdata, Qi, Requirement, Step, Table};
//! use arrow::array::StringArray;
//! use arrow::record_batch::RecordBatch;
//! use std::sync::Arc;
//!
//! let qi = Qi {
//!     table: Table::Individus,
//!     column: "commune_residence".into(),
//!     family: Family::Commune,
//!     ladder: vec![Step::Commune, Step::Departement],
//!     group: "commune_residence".into(),
//! };
//! let communes = StringArray::from(vec!["62041", "62193", "62001", "62500", "62765"]);
//! let batch = RecordBatch::try_from_iter([("commune_residence", Arc::new(communes) as _)]).unwrap();
//! let mut md = Microdata::new(vec![qi]);
//! md.push(Table::Individus, &batch).unwrap();
//! let out = anonymise(md.finish(), Some(Requirement { k: 5, suppression_max: 0.0 })).unwrap();
//! assert_eq!(out.report.generalisation[0].echelon, Step::Departement);
//! ```

mod data;
pub(crate) mod ladder;
pub(crate) mod read;
mod search;

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

pub use data::Microdata;
pub(crate) use ladder::Reference;
pub use ladder::{Family, Step};
pub(crate) use search::ViewRisk;

use crate::error::{Error, Result};

/// A file of a microdata delivery that carries quasi-identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    Individus,
    Positionnements,
    Evenements,
}

impl Table {
    /// Every table, in delivery order.
    pub const ALL: [Table; 3] = [Table::Individus, Table::Positionnements, Table::Evenements];

    /// The extract's name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Individus => "individus",
            Table::Positionnements => "positionnements",
            Table::Evenements => "evenements",
        }
    }

    /// The table of an extract name (`sessions` carries no person).
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// A quasi-identifier of a delivery and its ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qi {
    pub table: Table,
    pub column: String,
    pub family: Family,
    /// The steps, finest first; the first is the least a k-anonymous
    /// delivery is generalised to.
    pub ladder: Vec<Step>,
    /// Columns of one group always take the same rung (the dates of a
    /// parcours: generalising one and not the others would give it back).
    pub group: String,
}

/// What a recipient class requires.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Requirement {
    /// Every combination of quasi-identifiers is shared by at least k persons.
    pub k: u32,
    /// The largest share of persons local suppression may remove.
    pub suppression_max: f64,
}

/// The k against which a delivery without requirement is measured.
pub(crate) const REFERENCE_K: u32 = 5;

/// One column's generalisation, for the manifest and the dictionary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnStep {
    pub table: Table,
    pub colonne: String,
    pub echelon: Step,
    /// The ladder the step was chosen on.
    pub echelle: Vec<Step>,
}

/// Information lost by the generalisation and the suppression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loss {
    /// Non-uniform entropy, in bits, over every delivered quasi-identifier cell.
    pub entropie_non_uniforme_bits: f64,
    /// The same as a share of what masking every quasi-identifier would lose.
    pub part_entropie: f64,
    /// Discernibility of the `individus` file before: the sum of squared group sizes.
    pub discernabilite_avant: u64,
    /// After: kept groups squared, plus the persons suppressed times all persons.
    pub discernabilite_apres: u64,
}

/// The re-identification risk of a delivery, as its manifest records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `table.colonne` of every quasi-identifier delivered.
    pub quasi_identifiants: Vec<String>,
    /// The k of the shares below: the requirement's, else [`REFERENCE_K`].
    pub k: u32,
    /// Whether the recipient's class requires k (and the delivery was generalised).
    pub k_exige: bool,
    /// Risk of the quasi-identifiers as extracted.
    pub avant: Vec<ViewRisk>,
    /// Risk of the files as delivered (the same as `avant` without requirement).
    pub apres: Vec<ViewRisk>,
    /// The step of each quasi-identifier (empty without requirement).
    #[serde(default)]
    pub generalisation: Vec<ColumnStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression_max: Option<f64>,
    /// Persons left out with their positionings and events.
    pub personnes_supprimees: u64,
    pub part_supprimee: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perte_information: Option<Loss>,
    /// Nodes of the generalisation lattice, and those evaluated: grouped,
    /// or decided from nodes grouped before (`search::Evaluator`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treillis: Option<(u64, u64)>,
    /// The same in sentences a data-protection officer reads.
    pub resume: Vec<String>,
}

/// What a delivery does with its microdata.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    /// Per table (in [`Table::ALL`] order): whether each row is delivered.
    keep: [Vec<bool>; 3],
    /// Per table: column → its generalisation, for a recipient with a requirement.
    generalised: [BTreeMap<String, Generalised>; 3],
}

/// One generalised column: each row's value code and the label of its
/// generalised value, formatted once per value.
#[derive(Debug)]
struct Generalised {
    step: Step,
    /// Per row of the table: the value's code (0 when missing).
    raw: Vec<u32>,
    /// Value code → generalised code.
    map: Vec<u32>,
    /// Generalised code → the text delivered (`None` for a missing value).
    labels: Vec<Option<String>>,
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0).replace('.', ",")
}

fn view_label(name: &str) -> &'static str {
    match name {
        "individus" => "individus (une ligne par personne)",
        "positionnements" => "positionnements",
        "individus_positionnements" => {
            "une personne avec chacun de ses positionnements (jointure par le pseudonyme)"
        }
        _ => "événements",
    }
}

fn risk_sentence(when: &str, v: &ViewRisk, k: u32) -> String {
    format!(
        "{when}, {} : {} des {} enregistrements sont uniques sur leurs quasi-identifiants, {} sont dans un groupe de moins de {k} personnes ; le plus petit groupe compte {} personne{}.",
        view_label(&v.vue),
        pct(v.part_uniques),
        v.enregistrements,
        pct(v.part_sous_k),
        v.plus_petit_groupe,
        if v.plus_petit_groupe > 1 { "s" } else { "" },
    )
}

/// Records each quasi-identifier's chosen step in the report, and takes
/// from `md` what writing needs to generalise its values: the map of value
/// codes to the step's codes and a label per code.
fn generalise_columns(md: &mut Microdata, steps: &[usize], outcome: &mut Outcome) {
    for (c, q) in md.qis.iter().enumerate() {
        let step = md.columns[c].steps[steps[c]];
        outcome.report.generalisation.push(ColumnStep {
            table: q.table,
            colonne: q.column.clone(),
            echelon: step,
            echelle: q.ladder.clone(),
        });
        let enc = &mut md.columns[c];
        let map = std::mem::take(&mut enc.maps[steps[c]]);
        let mut labels = vec![None; enc.cards[steps[c]] as usize];
        for (v, raw) in enc.distinct.iter().enumerate() {
            labels[map[v + 1] as usize]
                .get_or_insert_with(|| ladder::label(step, raw, &md.reference));
        }
        outcome.generalised[q.table.slot()].insert(
            q.column.clone(),
            Generalised {
                step,
                raw: std::mem::take(&mut enc.raw),
                map,
                labels,
            },
        );
    }
}

/// The report's sentences after generalisation: the steps chosen, the
/// persons suppressed, the risk after and the information lost.
fn summarise(
    r: &mut Report,
    req: &Requirement,
    suppressed: usize,
    apres: &[ViewRisk],
    loss: &Loss,
) {
    let k = r.k;
    r.resume.push(format!(
        "Généralisation choisie (la moindre perte d'information qui atteint k = {}) : {}.",
        req.k,
        r.generalisation
            .iter()
            .map(|g| format!("{} → {}", g.colonne, g.echelon.label()))
            .collect::<Vec<_>>()
            .join(" ; ")
    ));
    r.resume.push(format!(
        "Suppression locale : {} personne{} ({}) retirée{} de la livraison avec leurs positionnements et événements (au plus {} permis).",
        suppressed,
        if suppressed > 1 { "s" } else { "" },
        pct(r.part_supprimee),
        if suppressed > 1 { "s" } else { "" },
        pct(req.suppression_max)
    ));
    r.resume.extend(
        apres
            .iter()
            .map(|v| risk_sentence("Après généralisation", v, k)),
    );
    r.resume.push(format!(
        "Information perdue : {} de l'entropie des quasi-identifiants (entropie non uniforme, {:.0} bits).",
        pct(loss.part_entropie),
        loss.entropie_non_uniforme_bits
    ));
}

/// Measures a delivery's risk and, with a requirement, generalises and
/// suppresses until every combination is shared by k persons.
///
/// # Errors
/// `Policy` (exit 4) with the figures when k cannot be reached within
/// the suppression allowed, or when the lattice is too large to search.
pub fn anonymise(mut md: Microdata, requirement: Option<Requirement>) -> Result<Outcome> {
    let views = search::views(&md);
    let k = requirement.map_or(REFERENCE_K, |r| r.k);
    let mut outcome = measured(&md, &views, k, requirement);
    let Some(req) = requirement else {
        return Ok(outcome);
    };
    let dims = search::dims(&md);
    let lattice: u64 = dims.iter().map(|d| d.ladder.len() as u64).product();
    if lattice > MAX_LATTICE {
        return Err(Error::Policy(format!(
            "the quasi-identifiers' ladders make {lattice} combinations of steps, more than {MAX_LATTICE}: group columns or shorten ladders"
        )));
    }
    let all = md.all_persons();
    let allowed = (req.suppression_max * all as f64).floor() as usize;
    let found =
        search::search(&md, &views, &dims, req.k, allowed).map_err(|o| out_of_reach(&req, &o))?;
    let steps = search::steps_at(&md, &dims, &found.node);
    use rayon::prelude::*;
    let (apres, loss) = rayon::join(
        || {
            views
                .par_iter()
                .zip(&found.known)
                .map(|(v, known)| search::risk(&md, v, &steps, k, &found.excluded, known.as_ref()))
                .collect::<Vec<ViewRisk>>()
        },
        || {
            let persons = views.iter().position(|v| v.table == Table::Individus);
            let known = persons.and_then(|v| found.known[v].as_ref());
            information_loss(&md, &views, &steps, &found.excluded, known)
        },
    );
    generalise_columns(&mut md, &steps, &mut outcome);
    let r = &mut outcome.report;
    r.personnes_supprimees = found.suppressed as u64;
    r.part_supprimee = search::round6(found.suppressed as f64 / all.max(1) as f64);
    r.treillis = Some((lattice, found.evaluated as u64));
    summarise(r, &req, found.suppressed, &apres, &loss);
    r.apres = apres;
    r.perte_information = Some(loss);
    for t in Table::ALL {
        for (row, keep) in outcome.keep[t.slot()].iter_mut().enumerate() {
            *keep = !found.excluded[md.person(t, row) as usize];
        }
    }
    Ok(outcome)
}

/// The risk of `md` as it is, on every view, in an outcome that keeps
/// every row and generalises nothing (what a class without a required k
/// receives, and where a search starts from).
fn measured(
    md: &Microdata,
    views: &[search::View],
    k: u32,
    requirement: Option<Requirement>,
) -> Outcome {
    let none = vec![false; md.all_persons()];
    let identity = vec![0usize; md.columns.len()];
    // Views are measured in parallel (each groups its own rows).
    use rayon::prelude::*;
    let avant: Vec<ViewRisk> = views
        .par_iter()
        .map(|v| search::risk(md, v, &identity, k, &none, None))
        .collect();
    let names: Vec<String> = md
        .qis
        .iter()
        .map(|q| format!("{}.{}", q.table.name(), q.column))
        .collect();
    let mut resume = vec![format!(
        "Quasi-identifiants (données qu'un tiers peut connaître d'une personne) : {}.",
        names.join(", ")
    )];
    let lead = if requirement.is_some() {
        "Avant généralisation"
    } else {
        "Risque mesuré"
    };
    resume.extend(avant.iter().map(|v| risk_sentence(lead, v, k)));
    Outcome {
        report: Report {
            quasi_identifiants: names,
            k,
            k_exige: requirement.is_some(),
            apres: avant.clone(),
            avant,
            generalisation: Vec::new(),
            suppression_max: requirement.map(|r| r.suppression_max),
            personnes_supprimees: 0,
            part_supprimee: 0.0,
            perte_information: None,
            treillis: None,
            resume,
        },
        keep: Table::ALL.map(|t| vec![true; md.rows(t)]),
        generalised: Default::default(),
    }
}

/// The refusal of a delivery whose k cannot be reached within the share
/// of suppression its class allows (exit 4), with the figures.
fn out_of_reach(req: &Requirement, o: &search::OutOfReach) -> Error {
    Error::Policy(format!(
        "k_anonymat = {} cannot be reached: even with every quasi-identifier at the top of its ladder, {} of {} persons ({:.1} %) sit in groups of fewer than {} and would have to be suppressed, more than the {} allowed (suppression_max = {}); nothing is delivered",
        req.k,
        o.needed,
        o.persons,
        o.needed as f64 * 100.0 / o.persons.max(1) as f64,
        req.k,
        o.allowed,
        req.suppression_max
    ))
}

/// The largest lattice searched: beyond, a policy is refused rather than
/// searched for minutes.
pub(crate) const MAX_LATTICE: u64 = 2_000_000;

/// Non-uniform entropy lost and discernibility, suppressed rows counted
/// as entirely masked; the persons' groups at `steps` taken from the
/// search when it `known` them.
fn information_loss(
    md: &Microdata,
    views: &[search::View],
    steps: &[usize],
    excluded: &[bool],
    known: Option<&search::Known>,
) -> Loss {
    let mut bits = 0.0;
    let mut max = 0.0;
    for (c, enc) in md.columns.iter().enumerate() {
        let table = md.qis[c].table;
        let mut count = vec![0u64; enc.distinct.len() + 1];
        for r in &enc.raw {
            count[*r as usize] += 1;
        }
        let present: u64 = count[1..].iter().sum();
        let map = &enc.maps[steps[c]];
        let mut level = vec![0u64; enc.cards[steps[c]] as usize];
        for (code, n) in count.iter().enumerate() {
            level[map[code] as usize] += n;
        }
        for (row, raw) in enc.raw.iter().enumerate() {
            if *raw == 0 {
                continue;
            }
            let f = count[*raw as usize] as f64;
            let full = (present as f64 / f).log2();
            max += full;
            bits += if excluded[md.person(table, row) as usize] {
                full
            } else {
                (level[map[*raw as usize] as usize] as f64 / f).log2()
            };
        }
    }
    let discern = |steps: &[usize], excluded: &[bool], known: Option<&search::Known>| -> u64 {
        let Some(v) = views.iter().find(|v| v.table == Table::Individus) else {
            return 0;
        };
        let sizes = match known {
            Some(known) => known.sizes(excluded),
            None => search::sizes(&search::group(md, v, steps, None), excluded),
        };
        let suppressed = excluded[..md.persons].iter().filter(|e| **e).count() as u64;
        sizes.iter().map(|s| u64::from(*s).pow(2)).sum::<u64>() + suppressed * md.persons as u64
    };
    let none = vec![false; excluded.len()];
    let (avant, apres) = rayon::join(
        || discern(&vec![0; steps.len()], &none, None),
        || discern(steps, excluded, known),
    );
    Loss {
        entropie_non_uniforme_bits: bits.round(),
        part_entropie: if max > 0.0 {
            search::round6(bits / max)
        } else {
            0.0
        },
        discernabilite_avant: avant,
        discernabilite_apres: apres,
    }
}

impl Outcome {
    /// The rows of a batch of `table` to deliver, starting at row `offset`
    /// of the table; `None` when all are.
    pub fn keep(&self, table: Table, offset: usize, len: usize) -> Result<Option<BooleanArray>> {
        let mask = self.keep[table.slot()]
            .get(offset..offset + len)
            .ok_or_else(|| {
                Error::Internal(format!(
                    "{} rows delivered but {} measured in {}",
                    offset + len,
                    self.keep[table.slot()].len(),
                    table.name()
                ))
            })?;
        if mask.iter().all(|k| *k) {
            return Ok(None);
        }
        Ok(Some(BooleanArray::from(mask.to_vec())))
    }

    /// Checks that a table delivered exactly the rows measured.
    pub fn check_rows(&self, table: Table, rows: usize) -> Result<()> {
        if self.keep[table.slot()].len() == rows {
            Ok(())
        } else {
            Err(Error::Internal(format!(
                "{rows} rows delivered but {} measured in {}",
                self.keep[table.slot()].len(),
                table.name()
            )))
        }
    }

    /// The step applied to a delivered column, if generalised.
    pub fn step(&self, table: Table, column: &str) -> Option<Step> {
        self.generalised[table.slot()].get(column).map(|g| g.step)
    }

    /// Replaces each generalised column of a treated batch by its
    /// generalised values, as text. The batch holds rows `offset..` of
    /// the table, as measured (before suppression); a value the treatment
    /// left missing stays missing.
    ///
    /// # Errors
    /// `Internal` when the batch runs past the rows measured.
    pub fn generalise(
        &self,
        table: Table,
        offset: usize,
        batch: &RecordBatch,
    ) -> Result<RecordBatch> {
        let generalised = &self.generalised[table.slot()];
        if generalised.is_empty() {
            return Ok(batch.clone());
        }
        let schema = batch.schema();
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for (field, col) in schema.fields().iter().zip(batch.columns()) {
            match generalised.get(field.name()) {
                None => {
                    fields.push(field.as_ref().clone());
                    columns.push(Arc::clone(col));
                }
                Some(g) => {
                    let raw = g.raw.get(offset..offset + col.len()).ok_or_else(|| {
                        Error::Internal(format!(
                            "{} rows of {} generalised but {} measured",
                            offset + col.len(),
                            table.name(),
                            g.raw.len()
                        ))
                    })?;
                    let out: StringArray = raw
                        .iter()
                        .enumerate()
                        .map(|(i, code)| {
                            if col.is_null(i) {
                                None
                            } else {
                                g.labels[g.map[*code as usize] as usize].as_deref()
                            }
                        })
                        .collect();
                    fields.push(Field::new(field.name(), DataType::Utf8, true));
                    columns.push(Arc::new(out));
                }
            }
        }
        Ok(RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns,
        )?)
    }

    /// The dictionary's section on risk, in French.
    pub fn dictionary(&self) -> String {
        let r = &self.report;
        let mut text = String::from("\n## Risque de réidentification\n\n");
        text.push_str(&format!(
            "Un enregistrement est dit unique quand aucune autre personne de la livraison ne partage ses quasi-identifiants : qui connaît ces informations sur une personne (sa commune, sa date d'inscription, son niveau…) retrouve alors sa ligne, puis, par le pseudonyme, tous ses positionnements et événements. {}\n\n",
            if r.k_exige {
                format!(
                    "La politique exige que chaque combinaison de quasi-identifiants soit partagée par au moins {} personnes (k-anonymat) : les colonnes ci-dessous ont été généralisées, et les personnes restant dans des groupes trop petits retirées.",
                    r.k
                )
            } else {
                format!(
                    "Aucun k-anonymat n'est exigé pour ce destinataire ; le risque est mesuré pour information, avec k = {}.",
                    r.k
                )
            }
        ));
        for line in &r.resume {
            text.push_str(&format!("- {line}\n"));
        }
        text.push_str("\n| vue | enregistrements | personnes | uniques avant | sous k avant | plus petit groupe avant | uniques après | sous k après | plus petit groupe après |\n|---|---|---|---|---|---|---|---|---|\n");
        for (a, b) in r.avant.iter().zip(&r.apres) {
            text.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                view_label(&a.vue),
                b.enregistrements,
                b.personnes,
                pct(a.part_uniques),
                pct(a.part_sous_k),
                a.plus_petit_groupe,
                pct(b.part_uniques),
                pct(b.part_sous_k),
                b.plus_petit_groupe
            ));
        }
        text
    }

    /// The dictionary's note on a generalised column.
    pub fn column_note(&self, table: Table, column: &str) -> Option<String> {
        let g = self
            .report
            .generalisation
            .iter()
            .find(|g| g.table == table && g.colonne == column)?;
        Some(format!(
            "quasi-identifiant généralisé : {} (échelle : {})",
            g.echelon.label(),
            g.echelle
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(" → ")
        ))
    }
}

#[cfg(test)]
mod tests;
