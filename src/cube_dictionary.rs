//! The dictionary of the indicator cubes: `indicateurs/dictionnaire.md`,
//! in French like the deliveries' dictionaries. It says what a key, a
//! level, a kind of period and `ensemble` mean, warns that rows of
//! different levels, periods or dimensions must never be summed (with the
//! query that gives one level), and lists every column of every cube with
//! its type and meaning.
//!
//! The wording lives in `src/reference/dictionnaire_indicateurs.md` (a
//! minijinja template) and the meanings in `src/reference/indicateurs.csv`
//! (`objet;colonne;signification`); this module only fills them.

use std::path::Path;

use arrow::datatypes::DataType;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::secrecy::KEY_COLUMNS;

const TEMPLATE: &str = include_str!("reference/dictionnaire_indicateurs.md");
const MEANINGS: &str = include_str!("reference/indicateurs.csv");

/// What a column of the shipped meanings file is said to be when it is
/// missing (a test keeps every written column described).
pub const UNDESCRIBED: &str = "(non documentée)";

#[derive(Serialize)]
struct Column {
    nom: String,
    #[serde(rename = "type")]
    kind: &'static str,
    signification: String,
}

#[derive(Serialize)]
struct Cube {
    nom: String,
    lignes: u64,
    objet: String,
    colonnes: Vec<Column>,
}

/// The meaning of `name` of kind `object` (`cube` or `colonne`).
fn meaning(object: &str, name: &str) -> Option<&'static str> {
    MEANINGS.lines().skip(1).find_map(|line| {
        let mut f = line.splitn(3, ';');
        (f.next()? == object && f.next()? == name)
            .then(|| f.next())
            .flatten()
    })
}

fn french_type(t: &DataType) -> &'static str {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "texte",
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => "entier",
        DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => "décimal",
        DataType::Date32 | DataType::Date64 => "date",
        DataType::Boolean => "booléen",
        _ => "autre",
    }
}

/// Writes `indicateurs/dictionnaire.md` under `out` for `cubes` (name,
/// rows), read from their Parquet files there; `date_arrete` is the run's
/// cut-off (`YYYY-MM-DD`).
///
/// # Errors
/// `Io` or `Output` when a cube's file cannot be read or the dictionary
/// written; `Internal` when the shipped template does not render.
pub(crate) fn write(out: &Path, cubes: &[(&str, u64)], date_arrete: &str) -> Result<()> {
    let dir = out.join("indicateurs");
    let mut described = Vec::new();
    for (name, rows) in cubes {
        let path = dir.join(format!("{name}.parquet"));
        let file = std::fs::File::open(&path).map_err(Error::io(&path))?;
        let schema = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(Error::output(&path))?
            .schema()
            .clone();
        let colonnes = schema
            .fields()
            .iter()
            .map(|f| Column {
                nom: f.name().clone(),
                kind: french_type(f.data_type()),
                signification: if KEY_COLUMNS.contains(&f.name().as_str()) {
                    "clé (voir « Lire un cube »)".to_string()
                } else {
                    meaning("colonne", f.name())
                        .unwrap_or(UNDESCRIBED)
                        .to_string()
                },
            })
            .collect();
        described.push(Cube {
            nom: name.to_string(),
            lignes: *rows,
            objet: meaning("cube", name).unwrap_or(UNDESCRIBED).to_string(),
            colonnes,
        });
    }
    let env = minijinja::Environment::new();
    let text = env
        .render_str(
            TEMPLATE,
            minijinja::context! { date_arrete => date_arrete, cubes => described },
        )
        .map_err(|e| Error::Internal(format!("the cube dictionary's template: {e}")))?;
    let path = dir.join("dictionnaire.md");
    std::fs::write(&path, text).map_err(Error::io(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meanings_file_is_three_fields_a_line() {
        for line in MEANINGS.lines() {
            assert_eq!(line.split(';').count(), 3, "{line}");
        }
        assert!(meaning("colonne", "nb_entrees").is_some());
        assert!(meaning("cube", "entonnoir").is_some());
        assert!(meaning("colonne", "entonnoir").is_none());
    }
}
