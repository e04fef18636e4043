//! Reads a delivery's quasi-identifiers from the staged extracts, in the
//! order and with the row filters `deliver` writes them with, so that row
//! n of the measure is row n of the file.

use super::{Microdata, Qi, Table};
use crate::error::Result;

/// Reads the quasi-identifiers `qis` of the rows of each table that
/// `rows(table)` selects (an SQL condition on alias `t`), ordered by line.
///
/// # Errors
/// `Query` when DuckDB fails.
pub fn read(
    db: &crate::warehouse::Db,
    qis: Vec<Qi>,
    rows: &dyn Fn(Table) -> String,
) -> Result<Microdata> {
    let mut md = Microdata::new(qis.clone());
    // Each delivered person's row number, and each positioning's person, once.
    db.execute(
        "kanon: persons and positionings numbered",
        &format!(
            "create or replace temp table kanon_personnes as \
         select t.identifiant_spe, row_number() over (order by t.ligne) - 1 as personne \
         from stg_individus t where {}; \
         create or replace temp table kanon_positionnements as \
         select p.positionnement_id, k.personne from stg_positionnements p \
         left join kanon_personnes k on k.identifiant_spe = p.identifiant_spe;",
            rows(Table::Individus)
        ),
    )?;
    for table in Table::ALL {
        let columns: Vec<String> = qis
            .iter()
            .filter(|q| q.table == table)
            .map(|q| format!("t.\"{}\"", q.column))
            .collect();
        let select = if columns.is_empty() {
            "1 as vide".to_string()
        } else {
            columns.join(", ")
        };
        let filter = rows(table);
        let sql = match table {
            Table::Individus => {
                format!("select {select} from stg_individus t where {filter} order by t.ligne")
            }
            Table::Positionnements => format!(
                "select k.personne, {select} from stg_positionnements t \
                 left join kanon_positionnements k on k.positionnement_id = t.positionnement_id \
                 where {filter} order by t.ligne"
            ),
            Table::Evenements => format!(
                "select k.personne, {select} from stg_evenements t \
                 left join kanon_positionnements k on k.positionnement_id = t.positionnement_id \
                 where {filter} order by t.ligne"
            ),
        };
        let (_, batches) = db.query_arrow("kanon: quasi-identifiers", &sql, [])?;
        for batch in &batches {
            md.push(table, batch)?;
        }
    }
    db.execute(
        "kanon: clean up",
        "drop table if exists kanon_personnes; drop table if exists kanon_positionnements;",
    )?;
    Ok(md.finish())
}
