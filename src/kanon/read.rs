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
    conn: &duckdb::Connection,
    qis: Vec<Qi>,
    rows: &dyn Fn(Table) -> String,
) -> Result<Microdata> {
    let mut md = Microdata::new(qis.clone());
    let persons = format!(
        "select t.identifiant_spe, row_number() over (order by t.ligne) - 1 as personne \
         from stg_individus t where {}",
        rows(Table::Individus)
    );
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
                "with personnes as ({persons}) \
                 select personnes.personne, {select} from stg_positionnements t \
                 left join personnes on personnes.identifiant_spe = t.identifiant_spe \
                 where {filter} order by t.ligne"
            ),
            Table::Evenements => format!(
                "with personnes as ({persons}), \
                 pos as (select p.positionnement_id, personnes.personne from stg_positionnements p \
                 left join personnes on personnes.identifiant_spe = p.identifiant_spe) \
                 select pos.personne, {select} from stg_evenements t \
                 left join pos on pos.positionnement_id = t.positionnement_id \
                 where {filter} order by t.ligne"
            ),
        };
        let mut stmt = conn.prepare(&sql)?;
        for batch in stmt.query_arrow([])? {
            md.push(table, &batch)?;
        }
    }
    Ok(md.finish())
}
