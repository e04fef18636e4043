//! `ouistat query`: DuckDB SQL over a run's outputs, each Parquet table
//! exposed as a view named after its file (`entonnoir`, `pic`,
//! `quarantaine_sessions`, …).

use std::path::Path;

use arrow::record_batch::RecordBatch;
use duckdb::Connection;

use crate::error::{Error, Result};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
}

/// Opens an in-memory DuckDB with one view per output table of `out`.
pub fn open(out: &Path) -> Result<Connection> {
    let conn = Connection::open_in_memory()?;
    let mut found = 0;
    for (dir, prefix) in [("indicateurs", ""), ("quarantaine", "quarantaine_")] {
        let d = out.join(dir);
        let Ok(entries) = std::fs::read_dir(&d) else {
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
            conn.execute_batch(&format!(
                "create view \"{prefix}{stem}\" as select * from read_parquet('{}')",
                path.to_string_lossy().replace('\'', "''")
            ))?;
            found += 1;
        }
    }
    if found == 0 {
        return Err(Error::Config(format!(
            "{} holds no output tables: run `ouistat run --out {}` first",
            out.display(),
            out.display()
        )));
    }
    Ok(conn)
}

/// Runs `sql` over the outputs of `out` and returns the result batches.
pub fn query(out: &Path, sql: &str) -> Result<Vec<RecordBatch>> {
    let conn = open(out)?;
    let mut stmt = conn
        .prepare(sql)
        .map_err(|e| Error::UserSql(e.to_string()))?;
    let batches = stmt
        .query_arrow([])
        .map_err(|e| Error::UserSql(e.to_string()))?
        .collect();
    Ok(batches)
}

/// Renders batches as a table, CSV or JSON lines.
///
/// # Errors
/// `UserSql` when the user's result holds a type the format cannot print
/// (a list in CSV, a union in JSON), with a way out.
pub fn render(batches: &[RecordBatch], format: OutputFormat) -> Result<String> {
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
        OutputFormat::Table => Ok(arrow::util::pretty::pretty_format_batches(batches)
            .map_err(unprintable("a table"))?
            .to_string()),
        OutputFormat::Csv => {
            let mut buf = Vec::new();
            {
                let mut w = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut buf);
                for b in batches {
                    w.write(b).map_err(unprintable("CSV"))?;
                }
            }
            text(buf)
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
