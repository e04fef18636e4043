//! File-level notes on how the columns of a Parquet extract were read
//! (SPEC §2, "Parquet input"), written once in `run.json` and on the
//! terminal: an INT96 column and the reading taken, and a column whose
//! values fail their type as a whole, so that the user fixes the export
//! rather than read thousands of quarantined rows.

use serde::Serialize;

use super::parquet_file::{describe, Stored};
use super::Source;
use crate::error::Result;
use crate::schema::{rule, Kind};
use crate::validate::TypeTally;

/// A note on one column of an extract, in `run.json` (`lecture`) and on
/// the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnNote {
    /// The extract's file name.
    pub fichier: String,
    /// The column, as the contract names it.
    pub colonne: String,
    /// `int96_lu_en_utc` or `colonne_type_invalide`.
    pub regle: &'static str,
    /// The column's physical type and annotation, as Parquet names them.
    pub type_parquet: String,
    /// The column's type in the input contract (SPEC §2).
    pub type_attendu: &'static str,
    /// Non-null values of the column.
    pub nb_valeurs: u64,
    /// Values concerned: read as UTC instants (INT96), or not of the
    /// expected type.
    pub nb: u64,
    /// One value of the wrong type, as the file holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemple: Option<String>,
    /// What happened and what to do, in French.
    pub detail: String,
    /// The contract's type, for the terminal's wording.
    #[serde(skip)]
    kind: Kind,
}

/// The contract's name of a type, and what a Parquet file may hold for
/// it, in French and in English.
fn expected(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::Int => (
            "int",
            "INT32 ou INT64 ; un DOUBLE ou un DECIMAL sans partie fractionnaire est accepté",
            "INT32 or INT64; a DOUBLE or DECIMAL without a fractional part is accepted",
        ),
        Kind::Date => (
            "date",
            "DATE ; un TIMESTAMP à minuit (heure de Paris) est accepté",
            "DATE; a TIMESTAMP at midnight (Paris time) is accepted",
        ),
        Kind::Timestamp => (
            "timestamp",
            "TIMESTAMP, ou texte AAAA-MM-JJ HH:MM:SS",
            "TIMESTAMP, or text YYYY-MM-DD HH:MM:SS",
        ),
        Kind::Bool => ("bool", "BOOLEAN, ou texte O/N", "BOOLEAN, or text O/N"),
        Kind::Text => ("text", "texte (STRING)", "text (STRING)"),
        Kind::Enum(_) => ("enum", "texte (STRING)", "text (STRING)"),
    }
}

/// The notes on the columns of a Parquet extract, given how often each
/// column's values failed their type (`tallies`, in schema order).
pub(crate) fn column_notes(source: &Source, tallies: &[TypeTally]) -> Result<Vec<ColumnNote>> {
    let described = describe(&source.path)?;
    let mut notes = Vec::new();
    for (col, tally) in source.extract.columns().iter().zip(tallies) {
        let Some(file_column) = described.iter().find(|c| c.name == col.name) else {
            continue;
        };
        let (type_attendu, accepted, _) = expected(col.kind);
        let note = |regle, nb, exemple, detail| ColumnNote {
            fichier: source.file_name(),
            colonne: col.name.to_string(),
            regle,
            type_parquet: file_column.physical.clone(),
            type_attendu,
            nb_valeurs: tally.values,
            nb,
            exemple,
            detail,
            kind: col.kind,
        };
        if file_column.stored == Stored::Int96 {
            notes.push(note(
                rule::W_INT96,
                tally.values,
                None,
                format!(
                    "{} est en INT96 : lu comme des instants UTC, ainsi que Spark et Hive les \
                     écrivent, et converti en heure de Paris",
                    col.name
                ),
            ));
        }
        if tally.values > 0 && tally.invalid * 2 > tally.values {
            notes.push(note(
                rule::W_COLUMN_TYPE,
                tally.invalid,
                tally.example.clone(),
                format!(
                    "{} valeurs sur {} de {} ({}) ne sont pas du type {type_attendu} attendu \
                     ({accepted}) : corriger l'export plutôt que les lignes mises en quarantaine",
                    tally.invalid, tally.values, col.name, file_column.physical
                ),
            ));
        }
    }
    Ok(notes)
}

impl std::fmt::Display for ColumnNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (fichier, colonne) = (&self.fichier, &self.colonne);
        if self.regle == rule::W_INT96 {
            return write!(
                f,
                "{fichier}: column {colonne} is INT96, read as UTC instants (as Spark and Hive \
                 write them) and converted to Europe/Paris time"
            );
        }
        let (_, _, english) = expected(self.kind);
        write!(
            f,
            "{fichier}: column {colonne} ({}) fails its type in {} of {} values: expected {} \
             ({english}){}; fix the export rather than the quarantined rows",
            self.type_parquet,
            self.nb,
            self.nb_valeurs,
            self.type_attendu,
            self.exemple
                .as_deref()
                .map(|e| format!(", found e.g. `{e}`"))
                .unwrap_or_default()
        )
    }
}
