//! The policy's declarations: quasi-identifiers with their ladders, and
//! the k each class of recipient requires. Checked when the policy loads.

use serde::Deserialize;

use super::{ColumnPolicy, RecipientClass, Treatment};
use crate::kanon::ladder::{check_ladder, Family, Step};
use crate::kanon::{Qi, Requirement, Table};
use crate::schema::Extract;

/// `[[quasi_identifiants]]` of the policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QiEntry {
    pub table: String,
    pub colonne: String,
    /// The ladder, finest first.
    pub echelle: Vec<Step>,
    /// Columns of a group are generalised together (same ladder).
    #[serde(default)]
    pub groupe: Option<String>,
}

/// `[[k_anonymat]]` of the policy: what a class requires.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KEntry {
    pub classe: RecipientClass,
    pub k: u32,
    /// Largest share of persons that local suppression may remove (0 to 1).
    pub suppression_max: f64,
}

/// Treatments under which a delivered column keeps values a third party
/// can know (and so can be generalised).
fn generalisable(t: Treatment) -> bool {
    matches!(
        t,
        Treatment::Garder | Treatment::CommuneSeulement | Treatment::StructureSeulement
    )
}

const CLASSES: [RecipientClass; 4] = [
    RecipientClass::PoleEmploi,
    RecipientClass::Financeur,
    RecipientClass::Partenaire,
    RecipientClass::Ministere,
];

/// Why a quasi-identifier declaration cannot stand.
pub(crate) fn check_qi(entry: &QiEntry, columns: &[ColumnPolicy]) -> Result<(), String> {
    let extract = Extract::ALL
        .into_iter()
        .find(|e| e.name() == entry.table)
        .ok_or_else(|| format!("unknown table `{}`", entry.table))?;
    if Table::from_name(&entry.table).is_none() {
        return Err(format!(
            "`{}` carries no person: its columns cannot be quasi-identifiers",
            entry.table
        ));
    }
    let column = extract
        .columns()
        .iter()
        .find(|c| c.name == entry.colonne)
        .ok_or_else(|| format!("column `{}.{}` does not exist", entry.table, entry.colonne))?;
    let policy = columns
        .iter()
        .find(|c| c.table == entry.table && c.colonne == entry.colonne);
    let delivered = policy.is_some_and(|p| CLASSES.iter().any(|c| generalisable(p.treatment(*c))));
    if !delivered {
        return Err(format!(
            "`{}.{}` has a ladder but is delivered as it is to no recipient",
            entry.table, entry.colonne
        ));
    }
    check_ladder(Family::of(column), &entry.echelle)
        .map_err(|e| format!("`{}.{}`: {e}", entry.table, entry.colonne))
}

/// Why the declarations cannot stand together: a column declared twice, a
/// group whose ladders differ, a class twice, an impossible k or share.
pub(crate) fn check_all(qis: &[QiEntry], ks: &[KEntry]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for q in qis {
        if !seen.insert((&q.table, &q.colonne)) {
            return Err(format!("`{}.{}` is declared twice", q.table, q.colonne));
        }
        if let Some(g) = &q.groupe {
            if let Some(other) = qis
                .iter()
                .find(|o| o.groupe.as_ref() == Some(g) && o.echelle != q.echelle)
            {
                return Err(format!(
                    "group `{g}`: `{}.{}` and `{}.{}` have different ladders",
                    q.table, q.colonne, other.table, other.colonne
                ));
            }
        }
    }
    let mut classes = std::collections::HashSet::new();
    for k in ks {
        if !classes.insert(k.classe.name()) {
            return Err(format!("class `{}` has two k_anonymat", k.classe.name()));
        }
        if k.k < 2 {
            return Err(format!(
                "class `{}`: k = {} protects nobody (at least 2)",
                k.classe.name(),
                k.k
            ));
        }
        if !(0.0..1.0).contains(&k.suppression_max) {
            return Err(format!(
                "class `{}`: suppression_max = {} is not a share from 0 to 1",
                k.classe.name(),
                k.suppression_max
            ));
        }
    }
    Ok(())
}

/// The quasi-identifiers a class receives as they are, in policy order.
pub(crate) fn qis_for(
    entries: &[QiEntry],
    columns: &[ColumnPolicy],
    class: RecipientClass,
) -> Vec<Qi> {
    entries
        .iter()
        .filter_map(|e| {
            let table = Table::from_name(&e.table)?;
            let p = columns
                .iter()
                .find(|c| c.table == e.table && c.colonne == e.colonne)?;
            if !generalisable(p.treatment(class)) {
                return None;
            }
            let extract = Extract::ALL.into_iter().find(|x| x.name() == e.table)?;
            let column = extract.columns().iter().find(|c| c.name == e.colonne)?;
            Some(Qi {
                table,
                column: e.colonne.clone(),
                family: Family::of(column),
                ladder: e.echelle.clone(),
                group: e
                    .groupe
                    .clone()
                    .unwrap_or_else(|| format!("{}.{}", e.table, e.colonne)),
            })
        })
        .collect()
}

/// A recipient's requirement: its class's, made stricter (never looser)
/// by its own `k_anonymat` and `suppression_max`.
///
/// # Errors
/// A message when the recipient asks for less than its class.
pub(crate) fn requirement(
    ks: &[KEntry],
    class: RecipientClass,
    k: Option<u32>,
    suppression_max: Option<f64>,
) -> Result<Option<Requirement>, String> {
    let base = ks.iter().find(|e| e.classe == class);
    match (base, k) {
        (None, None) => Ok(None),
        (Some(b), Some(k)) if k < b.k => Err(format!(
            "k_anonymat = {k} is below the policy's {} for class `{}`",
            b.k,
            class.name()
        )),
        (b, k) => {
            let k = k.or(b.map(|b| b.k)).unwrap_or(crate::kanon::REFERENCE_K);
            if k < 2 {
                return Err(format!("k_anonymat = {k} protects nobody (at least 2)"));
            }
            let base_share = b.map_or(0.05, |b| b.suppression_max);
            let share = suppression_max.unwrap_or(base_share);
            if !(0.0..1.0).contains(&share) {
                return Err(format!(
                    "suppression_max = {share} is not a share from 0 to 1"
                ));
            }
            if share > base_share {
                return Err(format!(
                    "suppression_max = {share} is above the policy's {base_share} for class `{}`",
                    class.name()
                ));
            }
            Ok(Some(Requirement {
                k,
                suppression_max: share,
            }))
        }
    }
}
