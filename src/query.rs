//! `ouistat query`: DuckDB SQL over a run's outputs, each Parquet table
//! exposed as a table named after its file (`entonnoir`, `pic`,
//! `quarantaine_sessions`, …).
//!
//! What always holds: a query writes nothing. The tables are copied into a
//! private DuckDB database, outside the output, which is then opened
//! read-only with every file access turned off and the configuration
//! locked: `create table` fails on the read-only database, and `copy … to`,
//! `attach` or `install` fail on the file access, so a query can neither
//! change an output nor overwrite a delivery.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::stage::StageDir;
use crate::warehouse::Db;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    Table,
    Csv,
    /// CSV as Excel opens it in a French locale: `;` separator, decimal
    /// comma, UTF-8 with a byte-order mark.
    CsvFr,
    Json,
}

/// A run's output tables, open for reading only.
pub(crate) struct Outputs {
    /// Declared first: the connection closes before its folder is removed.
    db: Db,
    _folder: StageDir,
}

impl Outputs {
    /// The read-only database of the output tables.
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }
}

/// The output tables of `out`: (table name, (the model of `queries/analyses/`
/// that reads it, its path)), the history's cubes as `historique_<cube>` with their cut-off as
/// the column `date_arrete`.
fn output_tables(out: &Path) -> Result<Vec<(String, (&'static str, String))>> {
    let mut found = Vec::new();
    for (dir, prefix) in [("indicateurs", ""), ("quarantaine", "quarantaine_")] {
        let Ok(entries) = std::fs::read_dir(out.join(dir)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if path.extension().and_then(|e| e.to_str()) != Some("parquet") {
                continue;
            }
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            found.push((
                format!("{prefix}{stem}"),
                ("sortie", path.to_string_lossy().into_owned()),
            ));
        }
    }
    for (cube, glob) in crate::history::datasets(out) {
        found.push((
            format!("historique_{cube}"),
            ("historique", glob.to_string_lossy().into_owned()),
        ));
    }
    if found.is_empty() {
        return Err(Error::Config(format!(
            "{} holds no output tables: run `ouistat run --out {}` first",
            out.display(),
            out.display()
        )));
    }
    Ok(found)
}

/// Opens the output tables of `out` read-only (see the module's doc).
///
/// # Errors
/// `Config` when `out` holds no output table; `Query` when a table cannot
/// be copied.
pub(crate) fn open(out: &Path) -> Result<Outputs> {
    let tables = output_tables(out)?;
    // The quarantine holds raw rows: the copy goes to a private folder,
    // removed however the command ends.
    let folder = StageDir::private()?;
    let database = folder.folder().join("sortie.duckdb");
    {
        let copy = Db::open_existing(&database)?;
        for (name, read) in &tables {
            let (model, path) = read;
            copy.build_table(name, crate::queries::get(model), [path])?;
        }
    }
    Ok(Outputs {
        db: Db::open_locked(&database)?,
        _folder: folder,
    })
}

/// A user's statement that DuckDB refused: a write is named as such. The
/// machine's limits stay what they are.
fn user_error(e: Error) -> Error {
    let text = match e {
        Error::Query { problem, .. } => problem,
        other => return other,
    };
    if text.contains("read-only") || text.contains("disabled by configuration") {
        Error::UserSql(format!(
            "`ouistat query` is read-only: it writes no table and no file ({text})"
        ))
    } else {
        Error::UserSql(text)
    }
}

/// Runs `sql` over the outputs of `out`: the result's batches, at least
/// one (empty when no row matched, so that its columns are known).
///
/// ```no_run
/// let batches = ouistat::testing::query::query("sortie".as_ref(), "select count(*) from entonnoir")?;
/// # Ok::<(), ouistat::Error>(())
/// ```
pub fn query(out: &Path, sql: &str) -> Result<Vec<RecordBatch>> {
    let outputs = open(out)?;
    let (schema, mut batches) = outputs
        .db
        .query_arrow("query", sql, [])
        .map_err(user_error)?;
    if batches.is_empty() {
        batches.push(RecordBatch::new_empty(schema));
    }
    Ok(batches)
}

/// Decimal numbers written with a comma (`0,6`), as a French Excel reads them.
fn decimal_comma(batch: &RecordBatch) -> Result<RecordBatch> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let decimal = matches!(
            field.data_type(),
            DataType::Decimal128(..) | DataType::Decimal256(..)
        );
        if field.data_type().is_floating() || decimal {
            let text = arrow::compute::cast(column, &DataType::Utf8)?;
            let comma: StringArray = text
                .as_string::<i32>()
                .iter()
                .map(|v| v.map(|v| v.replace('.', ",")))
                .collect();
            fields.push(Field::new(field.name(), DataType::Utf8, true));
            columns.push(Arc::new(comma));
        } else {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// Renders batches as a table (with its row count), CSV, French CSV or
/// JSON lines; a table and a CSV have their header even with no row.
///
/// # Errors
/// `UserSql` when the user's result holds a type the format cannot print
/// (a list in CSV, a union in JSON), with a way out.
pub(crate) fn render(batches: &[RecordBatch], format: OutputFormat) -> Result<String> {
    let unprintable = |format: &'static str| {
        move |e: arrow::error::ArrowError| {
            Error::UserSql(format!(
                "the result cannot be printed as {format}: {e}; cast the column to varchar \
                 or choose another --format"
            ))
        }
    };
    let text = |buf: Vec<u8>| {
        String::from_utf8(buf).map_err(|e| Error::UserSql(format!("the result is not text: {e}")))
    };
    match format {
        OutputFormat::Table => {
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            let table = arrow::util::pretty::pretty_format_batches(batches)
                .map_err(unprintable("a table"))?;
            Ok(format!(
                "{table}\n{rows} row{}\n",
                if rows == 1 { "" } else { "s" }
            ))
        }
        OutputFormat::Csv | OutputFormat::CsvFr => {
            let french = format == OutputFormat::CsvFr;
            let mut buf = Vec::new();
            {
                let mut w = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .with_delimiter(if french { b';' } else { b',' })
                    .build(&mut buf);
                for b in batches {
                    let b = if french { decimal_comma(b)? } else { b.clone() };
                    w.write(&b).map_err(unprintable("CSV"))?;
                }
            }
            let csv = text(buf)?;
            // The byte-order mark tells Excel the file is UTF-8.
            Ok(if french {
                format!("\u{feff}{csv}")
            } else {
                csv
            })
        }
        OutputFormat::Json => {
            let mut buf = Vec::new();
            {
                let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
                for b in batches {
                    w.write(b).map_err(unprintable("JSON"))?;
                }
                w.finish().map_err(unprintable("JSON"))?;
            }
            text(buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int64Array};

    #[test]
    fn french_csv_has_semicolons_and_decimal_commas() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("taux", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1200, 3])),
                Arc::new(Float64Array::from(vec![Some(0.25), None])),
            ],
        )
        .unwrap();
        let csv = render(std::slice::from_ref(&batch), OutputFormat::CsvFr).unwrap();
        assert_eq!(csv, "\u{feff}n;taux\n1200;0,25\n3;\n");
        let empty = render(&[batch.slice(0, 0)], OutputFormat::Table).unwrap();
        assert!(
            empty.contains("| taux |") && empty.ends_with("0 rows\n"),
            "{empty}"
        );
    }
}
