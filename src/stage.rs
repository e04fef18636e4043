//! Staging in DuckDB: validated rows land in `raw_<extract>`, set-level rules
//! (duplicates, foreign keys, the cascade) split them into `stg_<extract>`
//! and the `quarantaine` table.
//!
//! What always holds, per extract: rows read = rows accepted + rows
//! quarantined ([`Reconciliation`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender};

use arrow::record_batch::RecordBatch;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::ingest::{self, ColumnNote, Encoding, FileFormat, Record, Source};
use crate::progress::Progress;
use crate::queries;
use crate::rules::PlausibleDates;
use crate::schema::Extract;
use crate::validate::{self, Rejected, TypeTally, Validator};
use crate::warehouse::{self, failed, params, Db};

/// Where the staging database lives. It holds raw personal data (names,
/// NIR, contact details), so by default it is a private folder (mode 700)
/// outside the output, removed when the run ends however it ends: on
/// return, on error and on panic (drop), on SIGINT, SIGTERM and SIGHUP (a
/// handler), and, for a run killed with SIGKILL, by the next run that
/// starts. `--keep-stage` keeps it in `OUT/.ouistat/` instead, on purpose.
pub(crate) enum StageDir {
    Private(tempfile::TempDir),
    Kept(PathBuf),
}

/// The prefix of private staging folders in the temporary directory.
/// The name of a run's private staging folder starts with it.
pub(crate) const STAGE_PREFIX: &str = "ouistat-stage-";

/// The schema of the département × zone d'emploi aggregates
/// ([`Stage::aggregate_crossing`]).
const CROSSING_SCHEMA: &str = "croisement";

impl StageDir {
    /// A new private staging folder, after removing those of runs that no
    /// longer exist.
    ///
    /// # Errors
    /// `Io` when the temporary directory cannot be written.
    pub(crate) fn private() -> Result<StageDir> {
        crate::cleanup::remove_abandoned(&std::env::temp_dir(), STAGE_PREFIX);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{STAGE_PREFIX}{}-", std::process::id()))
            .tempdir()
            .map_err(Error::io(std::env::temp_dir()))?;
        crate::cleanup::guard(dir.path());
        Ok(StageDir::Private(dir))
    }

    /// `OUT/.ouistat/`, kept after the run (`--keep-stage`).
    pub(crate) fn kept(out: &Path) -> Result<StageDir> {
        let dir = out.join(".ouistat");
        std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        Ok(StageDir::Kept(dir))
    }

    /// Where the staging database lives: `None` for a private folder, where
    /// it is in memory (spilling to the folder beyond the memory cap), the
    /// file `OUT/.ouistat/stage.duckdb` when kept.
    ///
    /// In memory, nothing of the raw extracts is written in DuckDB's own
    /// compressed format: at 2 M persons that halves the loading time.
    pub(crate) fn database(&self) -> Option<PathBuf> {
        match self {
            StageDir::Private(_) => None,
            StageDir::Kept(d) => Some(d.join("stage.duckdb")),
        }
    }

    /// The folder itself.
    pub(crate) fn folder(&self) -> &Path {
        match self {
            StageDir::Private(d) => d.path(),
            StageDir::Kept(d) => d,
        }
    }

    /// The folder DuckDB spills to when the memory cap is reached.
    pub(crate) fn spill(&self) -> PathBuf {
        match self {
            StageDir::Private(d) => d.path().join("debordement"),
            StageDir::Kept(d) => d.join("debordement"),
        }
    }
}

impl Drop for StageDir {
    fn drop(&mut self) {
        if let StageDir::Private(d) = self {
            crate::cleanup::release(d.path());
        }
    }
}

/// The reason codes shipped with the engine (overridable with `--motifs`).
pub(crate) const MOTIFS_DEFAUT: &str = include_str!("reference/motifs.csv");

/// Per-extract counts, reconciled.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Reconciliation {
    pub fichier: String,
    pub lues: u64,
    pub acceptees: u64,
    pub quarantaine: u64,
    pub reconcilie: bool,
    /// Quarantined rows per rule.
    pub par_regle: BTreeMap<String, u64>,
}

/// A DuckDB database holding the staged extracts.
pub struct Stage {
    db: Db,
}

fn duck_type(dt: &arrow::datatypes::DataType) -> &'static str {
    use arrow::datatypes::DataType;
    match dt {
        DataType::Int64 => "bigint",
        DataType::Int32 => "integer",
        DataType::Date32 => "date",
        DataType::Timestamp(..) => "timestamp",
        DataType::Boolean => "boolean",
        _ => "varchar",
    }
}

/// The `select` of an empty table of `cols` ((quoted name, DuckDB type)).
fn empty_table(cols: &[(String, &str)]) -> String {
    queries::render_template("table_vide", minijinja::context! { colonnes => cols })
}

/// A batch on its way from the reader to the appender.
struct Batch {
    rows: Option<RecordBatch>,
    rejected: Vec<Rejected>,
}

/// What loading one extract gives.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Rows read.
    pub read: u64,
    /// Notes on how its columns were read (a Parquet extract's INT96
    /// columns, and columns whose values fail their type as a whole).
    pub notes: Vec<ColumnNote>,
}

/// Records read from an extract and not yet validated, owned, on their
/// way from the reading thread to the validating one, in file order.
#[derive(Default)]
struct TextRows {
    /// Every field of every row, one after the other.
    text: String,
    /// The end of each field in `text`.
    ends: Vec<usize>,
    items: Vec<TextItem>,
}

/// One record of [`TextRows`]: a row for the validator, or a record the
/// reader rejected already (its shape or its encoding).
enum TextItem {
    /// A row of the extract's width, its fields from `first` in `ends`;
    /// `shown` when the fields as the file holds them follow, different.
    Row {
        line: u64,
        first: usize,
        shown: bool,
    },
    Rejected(Rejected),
}

impl TextRows {
    /// Appends each field of `fields` to `text`, with its end.
    fn push_fields(&mut self, fields: &[Cow<'_, str>]) {
        for f in fields {
            self.text.push_str(f);
            self.ends.push(self.text.len());
        }
    }

    /// Keeps `record`, copied, after the others.
    fn push(&mut self, record: Record<'_>) {
        let item = match record {
            Record::Row {
                line,
                fields,
                shown,
            } => {
                let first = self.ends.len();
                self.push_fields(fields);
                let differs = !std::ptr::eq(fields, shown);
                if differs {
                    self.push_fields(shown);
                }
                TextItem::Row {
                    line,
                    first,
                    shown: differs,
                }
            }
            Record::Rejected {
                line,
                rule,
                detail,
                content,
                key,
            } => TextItem::Rejected(Rejected {
                line,
                rule,
                detail,
                content,
                key,
            }),
        };
        self.items.push(item);
    }

    /// Field `i` of the fields kept, counted across rows.
    fn field(&self, i: usize) -> &str {
        let start = i.checked_sub(1).map_or(0, |p| self.ends[p]);
        &self.text[start..self.ends[i]]
    }
}

/// The first of the three threads of [`Stage::load`]: parses the extract
/// (CSV, or Parquet through `parquet`, a connection of the staging
/// database) and sends its records as text. Returns the records read;
/// stops with an error when the validator is gone.
fn read_records(
    source: &Source,
    encoding: Encoding,
    parquet: Option<Db>,
    sender: SyncSender<TextRows>,
) -> Result<u64> {
    let progress = Progress::new(source.extract.name(), 0);
    let mut seen = 0u64;
    let mut rows = TextRows::default();
    let send = |rows: &mut TextRows| {
        sender
            .send(std::mem::take(rows))
            .map_err(|_| Error::Internal(format!("{}: the validator stopped", source.file_name())))
    };
    let mut sink = |record: Record<'_>| -> Result<()> {
        seen += 1;
        progress.tick(seen);
        rows.push(record);
        if rows.items.len() >= TEXT_ROWS {
            send(&mut rows)?;
        }
        Ok(())
    };
    let read = match (&source.format, &parquet) {
        (FileFormat::Parquet, Some(db)) => ingest::read_parquet(db, source, &mut sink)?,
        _ => ingest::read_csv(source, encoding, &mut sink)?,
    };
    send(&mut rows)?;
    progress.done();
    Ok(read)
}

/// Records per [`TextRows`]: small enough that the three threads overlap
/// from the start of a file.
const TEXT_ROWS: usize = 8_192;

/// The second thread of [`Stage::load`]: validates each row of text and
/// sends batches of valid and rejected rows, as many as
/// [`validate::BATCH_ROWS`]. Returns how each column's values fared
/// against its type (counted for a Parquet extract only); stops with an
/// error when the appender is gone.
fn validate_rows(
    source: &Source,
    dates: &PlausibleDates,
    received: Receiver<TextRows>,
    batches: SyncSender<Batch>,
) -> Result<Vec<TypeTally>> {
    let mut validator = Validator::new(source.extract, dates.clone());
    if source.format == FileFormat::Parquet {
        validator = validator.counting_types();
    }
    let width = source.extract.columns().len();
    let mut rejected: Vec<Rejected> = Vec::new();
    let send = |validator: &mut Validator, rejected: &mut Vec<Rejected>| -> Result<()> {
        let batch = Batch {
            rows: validator.take_batch()?,
            rejected: std::mem::take(rejected),
        };
        batches
            .send(batch)
            .map_err(|_| Error::Internal(format!("{}: the appender stopped", source.file_name())))
    };
    for mut rows in received {
        let items = std::mem::take(&mut rows.items);
        let mut fields: Vec<&str> = Vec::with_capacity(width);
        let mut shown: Vec<&str> = Vec::with_capacity(width);
        for item in items {
            match item {
                TextItem::Row {
                    line,
                    first,
                    shown: differs,
                } => {
                    fields.clear();
                    fields.extend((first..first + width).map(|i| rows.field(i)));
                    let shown_fields = if differs {
                        shown.clear();
                        shown.extend((first + width..first + 2 * width).map(|i| rows.field(i)));
                        &shown
                    } else {
                        &fields
                    };
                    if let Some(r) = validator.push_shown(line, &fields, shown_fields) {
                        rejected.push(r);
                    }
                }
                TextItem::Rejected(r) => rejected.push(r),
            }
            if validator.buffered() >= validate::BATCH_ROWS
                || rejected.len() >= validate::BATCH_ROWS
            {
                send(&mut validator, &mut rejected)?;
            }
        }
    }
    send(&mut validator, &mut rejected)?;
    Ok(validator.tallies().to_vec())
}

impl Stage {
    /// Opens the staging database: in memory when `database` is `None`,
    /// else the file (replaced if it exists). DuckDB's memory is capped at
    /// `memory_limit` (e.g. `3GB`); beyond it, large runs spill to `spill`.
    ///
    /// # Errors
    /// `Io` when an old staging file cannot be removed; `Duckdb` when the
    /// database cannot be opened or a setting is refused.
    pub fn open(
        database: Option<&Path>,
        spill: &Path,
        memory_limit: &str,
        threads: Option<usize>,
    ) -> Result<Self> {
        let db = Db::open(&warehouse::Settings {
            database,
            memory_limit,
            threads,
            spill,
        })?;
        let stage = Stage { db };
        stage.create_tables()?;
        Ok(stage)
    }

    /// From now on, results come in the order their query asks for. The
    /// staging runs with `preserve_insertion_order = false` (faster loads),
    /// and then even a query's `order by` is not kept across the chunks of
    /// a large result: the rows come in whatever order the threads finish.
    /// The outputs, the deliveries and the cells under statistical secrecy
    /// must not depend on that.
    pub fn keep_result_order(&self) -> Result<()> {
        self.db.keep_result_order()
    }

    /// A kept staging database (`--keep-stage`), opened as it is: benches
    /// read the cubes of a run from it.
    ///
    /// # Errors
    /// `Query` when DuckDB cannot open it.
    pub fn open_kept(path: &Path) -> Result<Self> {
        Ok(Stage {
            db: Db::open_existing(path)?,
        })
    }

    /// The database, for the stages that read from it (indicators,
    /// deliveries, the verdict).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Runs a named query (with template variables).
    pub fn run(&self, name: &str, vars: &[(&str, &str)]) -> Result<()> {
        self.db.execute(name, &queries::render(name, vars))
    }

    /// Builds a model as [`queries::materialisation`] says, a model built
    /// by level at every level of [`queries::geo_levels`].
    pub fn build(&self, name: &str) -> Result<()> {
        let levels = queries::geo_levels();
        let levels: Vec<(&str, &str)> = levels.iter().map(|(l, c)| (*l, c.as_str())).collect();
        for (label, sql) in queries::build_statements(name, None, &levels) {
            self.db.execute(&label, &sql)?;
        }
        Ok(())
    }

    /// Builds, in the schema `croisement`, the marts' tables at the
    /// département × zone d'emploi level ([`secrecy::system::CROSSING_LEVEL`],
    /// codes `59|3201`), which secrecy needs when a run publishes both
    /// levels: the tables built by level at that level alone, the others
    /// with the variable `croisement` set (see `agg_remplissage`); the
    /// `_vides` rows are left out. The tables of the main schema, hence the
    /// indicators, are untouched. Call it after the marts are built, while
    /// `int_eclate` exists.
    pub fn aggregate_crossing(&self) -> Result<()> {
        let level = crate::secrecy::system::CROSSING_LEVEL;
        let code = format!(
            "departement || '{}' || zone_emploi",
            crate::secrecy::system::CROSSING_SEPARATOR
        );
        self.db.create_schema(CROSSING_SCHEMA)?;
        self.db.set_search_path(CROSSING_SCHEMA)?;
        self.db.set_variable("croisement", true)?;
        let built = (|| {
            for name in queries::layer_in_dependency_order("marts")? {
                if !matches!(
                    queries::materialisation(name),
                    queries::Materialisation::Table | queries::Materialisation::TableByLevel
                ) {
                    continue;
                }
                for (label, sql) in
                    queries::build_statements(name, Some(CROSSING_SCHEMA), &[(level, &code)])
                {
                    self.db.execute(&format!("{label} ({level})"), &sql)?;
                }
            }
            Ok(())
        })();
        self.db.reset_variable("croisement")?;
        self.db.reset_search_path()?;
        built
    }

    /// Runs `select` as it is, and again over the crossing tables of
    /// [`Stage::aggregate_crossing`] when they exist, keeping only their
    /// crossing rows: the schema, and the batches of both in that order.
    ///
    /// # Errors
    /// `Query` naming `name` when either fails.
    pub fn query_with_crossing(
        &self,
        name: &str,
        select: &str,
    ) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
        let (schema, mut batches) = self.db.query_arrow(name, select, [])?;
        if !self.db.schema_exists(CROSSING_SCHEMA)? {
            return Ok((schema, batches));
        }
        self.db.set_search_path(CROSSING_SCHEMA)?;
        let crossing = self.db.query_arrow(
            name,
            &queries::render("lignes_du_niveau", &[("select", select)]),
            [crate::secrecy::system::CROSSING_LEVEL],
        );
        self.db.reset_search_path()?;
        batches.extend(crossing?.1);
        Ok((schema, batches))
    }

    fn create_tables(&self) -> Result<()> {
        for extract in Extract::ALL {
            let schema = validate::staged_schema(extract);
            let cols: Vec<(String, &str)> = schema
                .fields()
                .iter()
                .map(|f| (queries::ident(f.name()), duck_type(f.data_type())))
                .collect();
            self.db
                .build_table(&format!("raw_{}", extract.name()), &empty_table(&cols), [])?;
        }
        self.db
            .build_table("quarantaine", queries::get("quarantaine"), [])?;
        self.run("macro_periode", &[])?;
        self.run("macro_age", &[])?;
        self.load_seeds()
    }

    /// Loads every seed ([`queries::SEEDS`]) as a table of text columns.
    fn load_seeds(&self) -> Result<()> {
        for (table, csv) in queries::SEEDS {
            let (header, rows) = queries::seed_rows(csv);
            let cols: Vec<(String, &str)> = header
                .iter()
                .map(|c| (queries::ident(c), "varchar"))
                .collect();
            self.db.build_table(table, &empty_table(&cols), [])?;
            self.db.append_text_rows(table, &rows)?;
        }
        Ok(())
    }

    /// Loads the reason-code reference list (`type;motif_code;libelle`).
    pub fn load_motifs(&self, csv_text: &str) -> Result<()> {
        self.db
            .build_table("ref_motifs", queries::get("ref_motifs"), [])?;
        let mut app = self.db.appender("ref_motifs")?;
        for (i, line) in csv_text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let parts: Vec<&str> = line.split(';').collect();
            if parts.len() != 3 {
                return Err(Error::Config(format!(
                    "reason codes, line {}: expected type;motif_code;libelle",
                    i + 1
                )));
            }
            app.append_row(params![parts[0].trim(), parts[1].trim(), parts[2].trim()])
                .map_err(failed("ref_motifs"))?;
        }
        Ok(())
    }

    /// Sets the cut-off date and the periods to compute.
    pub fn set_parameters(
        &self,
        cutoff: chrono::NaiveDate,
        periods: &[(String, &str)],
    ) -> Result<()> {
        self.db.build_table(
            "parametres",
            queries::get("parametres"),
            params![cutoff.format("%Y-%m-%d").to_string()],
        )?;
        self.db
            .build_table("int_periodes", queries::get("int_periodes"), [])?;
        let mut app = self.db.appender("int_periodes")?;
        for (p, kind) in periods {
            app.append_row(params![p, kind])
                .map_err(failed("int_periodes"))?;
        }
        Ok(())
    }

    /// Reads, validates and appends one extract, its dates checked against
    /// the plausible window `dates`; returns the rows read and the notes on
    /// how its columns were read.
    ///
    /// Three threads share the work, one after the other on each batch:
    /// a reader parses the file ([`read_records`]), a validator types and
    /// checks each row ([`validate_rows`]) and this thread appends the
    /// batches to DuckDB. At 2,000,000 persons the reader alone is busier
    /// than the other two (`docs/performance.md`).
    ///
    /// # Errors
    /// What reading, validating or appending raised; an error of the
    /// appender comes first, then the validator's: the threads before the
    /// one that failed stop at their next batch.
    pub fn load(
        &self,
        source: &Source,
        encoding: Encoding,
        dates: &PlausibleDates,
    ) -> Result<Loaded> {
        let parquet = match source.format {
            FileFormat::Parquet => Some(self.db.try_clone()?),
            FileFormat::Csv => None,
        };
        let (text_sender, text_received) = std::sync::mpsc::sync_channel(4);
        let (batches, received) = std::sync::mpsc::sync_channel(2);
        std::thread::scope(|scope| {
            let panicked =
                |what| Error::Internal(format!("{what} {} panicked", source.file_name()));
            let reader = scope.spawn(move || read_records(source, encoding, parquet, text_sender));
            let validator =
                scope.spawn(move || validate_rows(source, dates, text_received, batches));
            let appended = self.append(source, received);
            let tallies = validator.join().map_err(|_| panicked("validating"))?;
            let read = reader.join().map_err(|_| panicked("reading"))?;
            let (tallies, read) = appended.and(tallies).and_then(|t| Ok((t, read?)))?;
            let notes = match source.format {
                FileFormat::Parquet => ingest::column_notes(source, &tallies)?,
                FileFormat::Csv => Vec::new(),
            };
            Ok(Loaded { read, notes })
        })
    }

    /// Appends batches as they arrive: valid rows to `raw_<extract>`,
    /// rejected rows to `quarantaine`.
    fn append(&self, source: &Source, received: Receiver<Batch>) -> Result<()> {
        let raw = format!("raw_{}", source.extract.name());
        let mut appender = self.db.appender(&raw)?;
        let mut quarantine = self.db.appender("quarantaine")?;
        let file_name = source.file_name();
        for batch in received {
            if let Some(rows) = batch.rows {
                appender.append_record_batch(rows).map_err(failed(&raw))?;
            }
            for r in batch.rejected {
                quarantine
                    .append_row(params![
                        source.extract.name(),
                        file_name,
                        r.line as i64,
                        r.rule,
                        r.detail,
                        r.content,
                        r.key
                    ])
                    .map_err(failed("quarantaine"))?;
            }
        }
        appender.flush().map_err(failed(&raw))?;
        quarantine.flush().map_err(failed("quarantaine"))?;
        Ok(())
    }

    /// Applies the set-level rules in dependency order and fills in the raw
    /// content of the rows they reject.
    pub fn apply_set_rules(&self, sources: &[Source], encoding: Encoding) -> Result<()> {
        for source in sources {
            let extract = source.extract;
            let name = extract.name();
            let vars = [("extrait", name), ("cle", extract.key())];
            let check = format!("chk_{name}");
            self.db.build_table(&check, queries::get(&check), [])?;
            self.read_back_contents(source, encoding, &vars)?;
            self.db.append_to(
                "stage_quarantine",
                "quarantaine",
                &queries::render("stage_quarantine", &vars),
                params![name, source.file_name()],
            )?;
            self.db.build_table(
                &format!("stg_{name}"),
                &queries::render("stage_accept", &vars),
                [],
            )?;
            // What is left of the extract is in stg_ and the quarantine:
            // the memory of the copies goes to the indicators.
            self.db
                .drop_tables(&[&format!("chk_{name}"), &format!("raw_{name}")])?;
        }
        Ok(())
    }

    /// Reads back from the file the raw content of the lines `chk_<extract>`
    /// rejects (the staged rows keep only typed values) into `contenus`.
    fn read_back_contents(
        &self,
        source: &Source,
        encoding: Encoding,
        vars: &[(&str, &str)],
    ) -> Result<()> {
        self.db
            .build_temp_table("contenus", queries::get("contenus"), [])?;
        let lines: HashSet<u64> = self
            .db
            .query_map(
                "lignes_rejetees",
                &queries::render("lignes_rejetees", vars),
                [],
                |r| r.get::<_, i64>(0),
            )?
            .into_iter()
            .map(|l| l as u64)
            .collect();
        if lines.is_empty() {
            return Ok(());
        }
        let reader = self.db.try_clone()?;
        let contents = ingest::raw_lines(&reader, source, encoding, &lines)?;
        let mut app = self.db.appender("contenus")?;
        for (line, content) in &contents {
            app.append_row(params![*line as i64, content])
                .map_err(failed("contenus"))?;
        }
        Ok(())
    }

    /// Reconciles read = accepted + quarantined for one extract.
    pub fn reconcile(&self, source: &Source, read: u64) -> Result<Reconciliation> {
        let name = source.extract.name();
        let accepted: i64 = self.db.query_row(
            "nb_acceptees",
            &queries::render("nb_acceptees", &[("extrait", name)]),
            [],
            |r| r.get(0),
        )?;
        let par_regle: BTreeMap<String, u64> = self
            .db
            .query_map(
                "quarantaine_par_regle",
                queries::get("quarantaine_par_regle"),
                params![name],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)),
            )?
            .into_iter()
            .collect();
        let quarantined: u64 = par_regle.values().sum();
        Ok(Reconciliation {
            fichier: source.file_name(),
            lues: read,
            acceptees: accepted as u64,
            quarantaine: quarantined,
            reconcilie: read == accepted as u64 + quarantined,
            par_regle,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of an ordered query over a table of several chunks, as a
    /// caller reads them.
    fn read_ordered(stage: &Stage) -> Vec<i64> {
        stage
            .db
            .query_map("t", "select v from t order by all", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap()
    }

    /// A large ordered result read while the staging does not keep the
    /// insertion order comes out of order; once asked, it is in order.
    #[test]
    fn ordered_queries_come_in_order_once_asked() {
        let dir = tempfile::tempdir().unwrap();
        let stage = Stage::open(None, dir.path(), "1GB", Some(2)).unwrap();
        stage
            .db
            .execute(
                "t",
                "create table t as select hash(i) % 1000000 as v from range(2000000) r(i)",
            )
            .unwrap();
        // Before, the chunks may come in any order (they did on this
        // machine with DuckDB 2.0, bundled in the duckdb crate 1.20000.1).
        stage.keep_result_order().unwrap();
        let after = read_ordered(&stage);
        assert_eq!(after.len(), 2_000_000);
        assert!(after.is_sorted());
    }
}
