//! The one owner of DuckDB connections: how a database is opened (memory
//! cap, threads, spill folder), how a value or a name is quoted, and how a
//! failure is told.
//!
//! What always holds: every statement runs under a name (a query of
//! `queries/`, or a short description), and its failure says that name. A
//! failure of the machine (out of memory, a full disk) is told apart from
//! a failure of our own SQL: the first is [`Error::Resources`], something
//! the user can fix; the second is [`Error::Query`], a bug in ouistat.

use std::path::Path;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use duckdb::{AccessMode, Appender, Config, Connection, Params, Row};

/// Parameters bound to a statement: `params![a, b]`.
pub(crate) use duckdb::params;

use crate::error::{Error, Result};
use crate::queries::{adapter, ident, literal, path_literal};

/// DuckDB's memory cap by default. A national run (2 M persons) peaks at
/// about 3.1 GB of resident memory with it, within the 4 GB budget of issue
/// 16; 2 GB made the cube queries spill and cost about 10 % more time
/// (measured in `docs/performance.md`).
pub(crate) const DEFAULT_MEMORY_LIMIT: &str = "3GB";

/// Checks a DuckDB memory cap (`2GB`, `512 MiB`, `80%`) before it reaches
/// SQL, so that a typo is the user's configuration, not a failed query.
///
/// # Errors
/// What is wrong, quoting `limit`.
pub(crate) fn check_memory_limit(limit: &str) -> std::result::Result<(), String> {
    const UNITS: &[&str] = &[
        "", "b", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib", "%",
    ];
    let t = limit.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    if number.parse::<f64>().is_ok_and(|n| n > 0.0) && UNITS.contains(&unit.as_str()) {
        Ok(())
    } else {
        Err(format!(
            "`{limit}` is not a size such as 2GB, 512MiB or 80%"
        ))
    }
}

/// The error of a statement named `name`: the machine's limits apart from
/// our own SQL.
pub(crate) fn failed(name: &str) -> impl FnOnce(duckdb::Error) -> Error + '_ {
    move |source| {
        let text = source.to_string();
        let lower = text.to_ascii_lowercase();
        let resource = if lower.contains("out of memory") || lower.contains("could not allocate") {
            Some("out of memory: raise --memory-limit, or run on a machine with more memory")
        } else if lower.contains("no space left on device") || lower.contains("disk full") {
            Some("the disk is full: free space where the output and the staging's spill folder are (TMPDIR)")
        } else {
            None
        };
        match resource {
            Some(advice) => Error::Resources {
                query: name.to_string(),
                problem: format!("{advice} ({text})"),
            },
            None => Error::Query {
                query: name.to_string(),
                problem: text,
            },
        }
    }
}

/// How a database is opened.
pub struct Settings<'a> {
    /// The database file, replaced if it exists; in memory when `None`.
    pub database: Option<&'a Path>,
    /// DuckDB's memory cap (`3GB`, `80%`), already checked.
    pub memory_limit: &'a str,
    pub threads: Option<usize>,
    /// Where DuckDB spills beyond its memory cap.
    pub spill: &'a Path,
}

/// A DuckDB database. The connection is private: statements go through
/// the methods below, each under a name.
pub struct Db {
    conn: Connection,
}

impl Db {
    /// Opens a database with its memory cap, threads and spill folder; the
    /// staging loads faster without preserving insertion order (see
    /// [`Db::keep_result_order`]).
    ///
    /// # Errors
    /// `Io` when an old database file cannot be removed; `Query` or
    /// `Resources` when DuckDB refuses to open or a setting.
    pub fn open(s: &Settings<'_>) -> Result<Self> {
        let conn = match s.database {
            Some(path) => {
                if path.exists() {
                    std::fs::remove_file(path).map_err(Error::io(path))?;
                }
                Connection::open(path).map_err(failed("open the staging database"))?
            }
            None => Connection::open_in_memory().map_err(failed("open a database in memory"))?,
        };
        let db = Db { conn };
        let threads = s.threads.map(|t| t.to_string()).unwrap_or_default();
        db.execute(
            "settings",
            &adapter(
                "reglages",
                &[&literal(s.memory_limit), &path_literal(s.spill), &threads],
            ),
        )?;
        Ok(db)
    }

    /// The folder where DuckDB spills beyond its memory cap
    /// ([`Settings::spill`] as it was set).
    ///
    /// # Errors
    /// `Query` when DuckDB fails.
    pub(crate) fn spill_folder(&self) -> Result<std::path::PathBuf> {
        let folder: String = self.query_row(
            "the spill folder",
            &adapter("dossier_debordement", &[]),
            [],
            |r| r.get(0),
        )?;
        Ok(folder.into())
    }

    /// A database in memory with DuckDB's defaults.
    ///
    /// # Errors
    /// `Query` or `Resources` when DuckDB cannot start.
    pub fn in_memory() -> Result<Self> {
        Ok(Db {
            conn: Connection::open_in_memory().map_err(failed("open a database in memory"))?,
        })
    }

    /// An existing database file, as it is (benches read a kept staging).
    ///
    /// # Errors
    /// `Query` or `Resources` when DuckDB cannot open it.
    pub fn open_existing(path: &Path) -> Result<Self> {
        Ok(Db {
            conn: Connection::open(path).map_err(failed("open a database"))?,
        })
    }

    /// A database file opened read-only, with every file access turned off
    /// and the configuration locked: a statement can neither write a table
    /// nor a file.
    ///
    /// # Errors
    /// `Query` or `Resources` when DuckDB cannot open it.
    pub fn open_locked(path: &Path) -> Result<Self> {
        let config = Config::default()
            .access_mode(AccessMode::ReadOnly)
            .and_then(|c| c.enable_external_access(false))
            .and_then(|c| c.with("lock_configuration", "true"))
            .map_err(failed("configure a read-only database"))?;
        Ok(Db {
            conn: Connection::open_with_flags(path, config)
                .map_err(failed("open a read-only database"))?,
        })
    }

    /// From now on, results come in the order their query asks for (see
    /// [`Db::open`]).
    ///
    /// # Errors
    /// `Query` when DuckDB refuses the setting.
    pub fn keep_result_order(&self) -> Result<()> {
        self.execute("keep result order", &adapter("ordre_conserve", &[]))
    }

    /// Runs statements without a result.
    ///
    /// # Errors
    /// `Query` (our SQL) or `Resources` (the machine), naming `name`.
    pub fn execute(&self, name: &str, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql).map_err(failed(name))
    }

    /// Runs one statement with bound parameters; returns the rows changed.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn execute_with(&self, name: &str, sql: &str, params: impl Params) -> Result<usize> {
        self.conn.execute(sql, params).map_err(failed(name))
    }

    /// Materialises the `select` of model `name` as a table of that name,
    /// replacing it, with bound parameters.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn build_table(&self, name: &str, select: &str, params: impl Params) -> Result<usize> {
        self.execute_with(
            name,
            &adapter("creer_table", &[&ident(name), select]),
            params,
        )
    }

    /// As [`Db::build_table`], a temporary table (dropped with the
    /// connection; a delivery's perimeter).
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn build_temp_table(&self, name: &str, select: &str, params: impl Params) -> Result<usize> {
        self.execute_with(
            name,
            &adapter("creer_table_temporaire", &[&ident(name), select]),
            params,
        )
    }

    /// Appends the rows of the `select` of model `name` to `table`, with
    /// bound parameters.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn append_to(
        &self,
        name: &str,
        table: &str,
        select: &str,
        params: impl Params,
    ) -> Result<usize> {
        self.execute_with(name, &adapter("ajouter", &[&ident(table), select]), params)
    }

    /// Drops tables no longer needed, so that their memory goes to what
    /// follows.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn drop_tables(&self, tables: &[&str]) -> Result<()> {
        for t in tables {
            self.execute(
                &format!("drop {t}"),
                &adapter("supprimer_table", &[&ident(t)]),
            )?;
        }
        Ok(())
    }

    /// Creates a schema if it does not exist.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn create_schema(&self, schema: &str) -> Result<()> {
        self.execute(
            &format!("create schema {schema}"),
            &adapter("creer_schema", &[&ident(schema)]),
        )
    }

    /// Whether a schema exists.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn schema_exists(&self, schema: &str) -> Result<bool> {
        let n: i64 = self.query_row(
            &format!("schema {schema}"),
            &adapter("schema_existe", &[]),
            [schema],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// Names are looked up in `schema` first, then in `main`.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn set_search_path(&self, schema: &str) -> Result<()> {
        self.execute(
            &format!("search path {schema}"),
            &adapter(
                "chemin_de_recherche",
                &[&literal(&format!("{schema},main"))],
            ),
        )
    }

    /// Names are looked up in `main` again.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn reset_search_path(&self) -> Result<()> {
        self.execute(
            "reset search path",
            &adapter("chemin_de_recherche_initial", &[]),
        )
    }

    /// Sets a DuckDB variable that models read with `getvariable`.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn set_variable(&self, name: &str, value: bool) -> Result<()> {
        self.execute(
            &format!("set variable {name}"),
            &adapter("variable", &[&ident(name), &value.to_string()]),
        )
    }

    /// Unsets a variable of [`Db::set_variable`].
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn reset_variable(&self, name: &str) -> Result<()> {
        self.execute(
            &format!("reset variable {name}"),
            &adapter("variable_effacee", &[&ident(name)]),
        )
    }

    /// The single row of a query, mapped by `f`.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn query_row<T>(
        &self,
        name: &str,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> duckdb::Result<T>,
    ) -> Result<T> {
        self.conn.query_row(sql, params, f).map_err(failed(name))
    }

    /// Every row of a query, mapped by `f`.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn query_map<T>(
        &self,
        name: &str,
        sql: &str,
        params: impl Params,
        f: impl FnMut(&Row<'_>) -> duckdb::Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare(sql).map_err(failed(name))?;
        let rows = stmt.query_map(params, f).map_err(failed(name))?;
        rows.collect::<duckdb::Result<Vec<T>>>()
            .map_err(failed(name))
    }

    /// The result of a query as Arrow: its schema and batches.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn query_arrow(
        &self,
        name: &str,
        sql: &str,
        params: impl Params,
    ) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let mut stmt = self.conn.prepare(sql).map_err(failed(name))?;
        let arrow = stmt.query_arrow(params).map_err(failed(name))?;
        let schema = arrow.get_schema();
        Ok((schema, arrow.collect()))
    }

    /// The result of a query as Arrow, one batch at a time: `start` is
    /// given the schema and makes a state (a file being written), `each`
    /// takes every batch into it; the state is returned. A large result is
    /// never held whole.
    ///
    /// # Errors
    /// As [`Db::execute`], or what `start` or `each` return.
    pub fn stream_arrow<S>(
        &self,
        name: &str,
        sql: &str,
        start: impl FnOnce(SchemaRef) -> Result<S>,
        mut each: impl FnMut(&mut S, RecordBatch) -> Result<()>,
    ) -> Result<S> {
        let mut stmt = self.conn.prepare(sql).map_err(failed(name))?;
        let stream = stmt.stream_arrow([]).map_err(failed(name))?;
        let mut state = start(stream.get_schema())?;
        for batch in stream {
            each(&mut state, batch.map_err(failed(name))?)?;
        }
        Ok(state)
    }

    /// An appender to `table`.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn appender(&self, table: &str) -> Result<Appender<'_>> {
        self.conn
            .appender(table)
            .map_err(failed(&format!("append to {table}")))
    }

    /// Appends rows of text values to `table` (a seed).
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn append_text_rows(&self, table: &str, rows: &[Vec<&str>]) -> Result<()> {
        let mut app = self.appender(table)?;
        for row in rows {
            let values: Vec<&dyn duckdb::ToSql> =
                row.iter().map(|v| v as &dyn duckdb::ToSql).collect();
            app.append_row(values.as_slice())
                .map_err(failed(&format!("append to {table}")))?;
        }
        app.flush().map_err(failed(&format!("append to {table}")))
    }

    /// The rows of the `select` of model `name`.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn count_rows(&self, name: &str, select: &str) -> Result<u64> {
        let n: i64 = self.query_row(name, &adapter("compter", &[select]), [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Writes the result of `sql` to a zstd Parquet file.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn copy_to_parquet(&self, name: &str, sql: &str, path: &Path) -> Result<()> {
        self.execute(
            name,
            &adapter("copier_parquet", &[sql, &path_literal(path)]),
        )
    }

    /// As [`Db::copy_to_parquet`], with bound parameters.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn copy_to_parquet_with(
        &self,
        name: &str,
        sql: &str,
        params: impl Params,
        path: &Path,
    ) -> Result<()> {
        self.execute_with(
            name,
            &adapter("copier_parquet", &[sql, &path_literal(path)]),
            params,
        )
        .map(|_| ())
    }

    /// The rows of a Parquet file.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn count_parquet(&self, path: &Path) -> Result<u64> {
        let n: i64 = self.query_row(
            "count the rows of an output",
            &adapter("compter_parquet", &[&path_literal(path)]),
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// A second connection to the same database, for another thread.
    ///
    /// # Errors
    /// As [`Db::execute`].
    pub fn try_clone(&self) -> Result<Db> {
        Ok(Db {
            conn: self
                .conn
                .try_clone()
                .map_err(failed("open a second connection"))?,
        })
    }

    /// Reads a file through `sql`, whose one parameter is the file's path,
    /// one Arrow batch at a time into `each`. DuckDB's refusal is the
    /// file's (damaged, not Parquet), not a bug of ours: `unreadable` makes
    /// the error that names the file from DuckDB's words.
    ///
    /// # Errors
    /// `unreadable`'s error, or what `each` returns.
    pub(crate) fn read_file(
        &self,
        sql: &str,
        path: &Path,
        unreadable: impl Fn(String) -> Error,
        mut each: impl FnMut(RecordBatch) -> Result<()>,
    ) -> Result<()> {
        let cannot = |e: duckdb::Error| unreadable(format!("cannot read: {e}"));
        let mut stmt = self.conn.prepare(sql).map_err(cannot)?;
        let batches = stmt
            .stream_arrow([path.to_string_lossy().into_owned()])
            .map_err(cannot)?;
        for batch in batches {
            each(batch.map_err(cannot)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_failures_are_told_apart() {
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        let db = Db::in_memory().unwrap();
        let err = db
            .execute("int_lignes", "select * from nowhere")
            .unwrap_err();
        assert!(matches!(err, Error::Query { ref query, .. } if query == "int_lignes"));
        assert!(err.to_string().contains("int_lignes"), "{err}");
        let n = db
            .query_row("one", "select ? + 1", [41], |r| r.get::<_, i64>(0))
            .unwrap();
        assert_eq!(n, 42);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        db.copy_to_parquet_with(
            "bound",
            "select * from range(10) r(i) where i < $1",
            [3],
            &path,
        )
        .unwrap();
        assert_eq!(db.count_parquet(&path).unwrap(), 3);
    }
}
