//! Each SQL model on a few hand-computed rows, in sqllogictest style (the
//! files of `tests/models/`, as DataFusion's `sqllogictest/`).
//!
//! A file is a list of records separated by blank lines:
//!
//! ```text
//! statement ok
//! create table stg_evenements as select …
//!
//! model int_positionnements
//!
//! query
//! select positionnement_id, retenu from int_positionnements order by 1
//! ----
//! P1 true
//! ```
//!
//! `model NAME` builds the model of `queries/` as the engine does
//! (`ouistat::testing::queries::materialise`: a table for a check's, an intermediate
//! model's or an `agg_` mart's `select`, every geographic level of a mart
//! built by level, a view for an `out_` mart); `model NAME k=v` fills a
//! template's `{{k}}`, `into=TABLE` materialises it as that table, and
//! `$1=v $2=w` binds its parameters (as text, cast by DuckDB to the type
//! the statement gives them, as the engine binds a recipient's values).
//! `test NAME` runs a data test of `queries/tests/`, which must select no
//! row (`test NAME fails`: some). A query's rows are
//! its values as text, separated by one space, `NULL` for null; a query
//! expecting no row (`----` then nothing) is a check that must hold, as
//! dbt's data tests are.

use std::path::Path;

fn run_file(path: &Path) {
    let text = std::fs::read_to_string(path).expect("model test file");
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    for name in ["macro_periode", "macro_age"] {
        conn.execute_batch(&ouistat::testing::queries::render(name, &[]))
            .expect("macros");
    }
    // The seeds, as the engine loads them: text columns.
    for (table, csv) in ouistat::testing::queries::SEEDS {
        let (header, rows) = ouistat::testing::queries::seed_rows(csv);
        let columns: Vec<String> = header.iter().map(|c| format!("{c} varchar")).collect();
        conn.execute_batch(&format!("create table {table} ({})", columns.join(", ")))
            .expect("seed");
        let mut app = conn.appender(table).expect("seed");
        for row in rows {
            let values: Vec<&dyn duckdb::ToSql> =
                row.iter().map(|v| v as &dyn duckdb::ToSql).collect();
            app.append_row(values.as_slice()).expect("seed");
        }
    }
    for record in text.split("\n\n").map(str::trim).filter(|r| !r.is_empty()) {
        let lines: Vec<&str> = record
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect();
        let Some((head, body)) = lines.split_first() else {
            continue;
        };
        let where_ = format!("{}: `{head}`", path.display());
        if let Some(model) = head.strip_prefix("model ") {
            // `model NAME key=value …`: the placeholders of a template.
            let mut words = model.split_whitespace();
            let name = words.next().unwrap_or_default();
            let (bound, words): (Vec<&str>, Vec<&str>) = words.partition(|w| w.starts_with('$'));
            let params: Vec<&str> = bound
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let (at, value) = w.split_once('=').expect("`$n=value`");
                    assert_eq!(at, format!("${}", i + 1), "{where_}: parameters in order");
                    value
                })
                .collect();
            let mut vars: Vec<(&str, &str)> =
                words.iter().filter_map(|w| w.split_once('=')).collect();
            // `into=TABLE`: a model the engine materialises under another
            // name (`stage_accept` as `stg_<extract>`).
            let into = vars
                .iter()
                .position(|(k, _)| *k == "into")
                .map(|i| vars.remove(i).1);
            let sql = match into {
                Some(table) => format!(
                    "create or replace table {table} as\n{}",
                    ouistat::testing::queries::render(name, &vars)
                ),
                None => ouistat::testing::queries::materialise(name, &vars),
            };
            let built = if params.is_empty() {
                conn.execute_batch(&sql)
            } else {
                conn.execute(&sql, duckdb::params_from_iter(&params))
                    .map(|_| ())
            };
            built.unwrap_or_else(|e| panic!("{where_}: {e}"));
        } else if let Some(test) = head.strip_prefix("test ") {
            // `test NAME`: a data test of `queries/tests/` selects no row;
            // `test NAME fails`: it selects some (the test can fail).
            let (name, fails) = match test.strip_suffix(" fails") {
                Some(name) => (name, true),
                None => (test, false),
            };
            let got = rows(&conn, ouistat::testing::queries::get(name))
                .unwrap_or_else(|e| panic!("{where_}: {e}"));
            assert_eq!(got.is_empty(), !fails, "{where_}: {got:?}");
        } else if *head == "statement ok" {
            conn.execute_batch(&body.join("\n"))
                .unwrap_or_else(|e| panic!("{where_}: {e}"));
        } else if *head == "query" {
            let split = body
                .iter()
                .position(|l| l.trim() == "----")
                .unwrap_or_else(|| panic!("{where_}: no ---- line"));
            let sql = body[..split].join("\n");
            let expected: Vec<String> = body[split + 1..]
                .iter()
                .map(|l| l.trim().to_string())
                .collect();
            let got = rows(&conn, &sql).unwrap_or_else(|e| panic!("{where_}: {e}"));
            assert_eq!(got, expected, "{where_}\n{sql}");
        } else {
            panic!("{where_}: unknown record");
        }
    }
}

/// The rows of `sql`, each as its values in text joined by one space.
fn rows(conn: &duckdb::Connection, sql: &str) -> duckdb::Result<Vec<String>> {
    let text = format!("select cast(columns(*) as varchar) from ({sql})");
    let mut statement = conn.prepare(&text)?;
    let mut result = statement.query([])?;
    let mut out = Vec::new();
    while let Some(row) = result.next()? {
        let n = row.as_ref().column_count();
        let values: Vec<String> = (0..n)
            .map(|i| {
                row.get::<_, Option<String>>(i)
                    .map(|v| v.unwrap_or_else(|| "NULL".into()))
            })
            .collect::<duckdb::Result<_>>()?;
        out.push(values.join(" "));
    }
    Ok(out)
}

#[test]
fn every_model_file_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/models")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no model test in {}", dir.display());
    for file in files {
        run_file(&file);
    }
}
