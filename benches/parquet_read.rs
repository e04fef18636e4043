//! Reading Parquet extracts (issue 23): the read-and-validate time of one
//! generated extract set as CSV, as all-text Parquet (`generate --format
//! parquet`) and as typed Parquet whose times are UTC-adjusted instants
//! (what a warehouse or pyarrow writes, put in French time on reading).
//!
//! ```sh
//! cargo bench --profile dev --bench parquet_read                     # 200,000 persons
//! OUISTAT_BENCH_PERSONS=50000 cargo bench --profile dev --bench parquet_read
//! ```
//! Each format is read as a run reads it: the four extracts found, each
//! parsed, validated and appended to a fresh in-memory staging database
//! (`Stage::load`, the `lecture_validation` step of a run without the
//! inputs' SHA-256). Best and median wall time of `OUISTAT_BENCH_REPEAT`
//! readings (7 by default), and their median CPU time (all threads), which
//! other work on a shared machine disturbs less. The bench runs unchanged
//! on an older commit, for a figure side by side. No timed assertion.

use std::path::Path;
use std::time::Instant;

use ouistat::testing::generate::{generate, Format, Options};
use ouistat::testing::rules::PlausibleDates;
use ouistat::testing::schema::{Extract, Kind};
use ouistat::testing::stage::Stage;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).map_or(default, |v| {
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}: a number"))
    })
}

fn main() {
    let persons = env_number("OUISTAT_BENCH_PERSONS", 200_000);
    let repeat = env_number("OUISTAT_BENCH_REPEAT", 7);
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("csv");
    let t = Instant::now();
    let summary = generate(&Options {
        out: csv.clone(),
        persons,
        seed: 1,
        format: Format::Csv,
        defects: 0.0,
        region: None,
    })
    .expect("generate");
    let rows = summary.sessions + summary.individus + summary.positionnements + summary.evenements;
    println!(
        "{persons} persons, {rows} rows, generated in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let text = dir.path().join("parquet-texte");
    let typed = dir.path().join("parquet-type");
    for out in [&text, &typed] {
        std::fs::create_dir_all(out).expect("folder");
    }
    ouistat::testing::generate::csv_dir_to_text_parquet(&csv, &text).expect("text Parquet");
    typed_parquet(&csv, &typed);
    println!(
        "typed evenements.enregistre_le: {}",
        parquet_type(&typed.join("evenements.parquet"), "enregistre_le")
    );
    println!(
        "  {:<34} {:>6} {:>8} {:>10} {:>10} {:>12}",
        "extracts", "MB", "best s", "median s", "cpu s", "rows/s"
    );
    for (label, extracts) in [
        ("CSV", &csv),
        ("Parquet, all text", &text),
        ("Parquet, typed, UTC instants", &typed),
    ] {
        let (mut wall, mut cpu): (Vec<f64>, Vec<f64>) = (0..repeat)
            .map(|_| read_seconds(extracts, dir.path()))
            .unzip();
        wall.sort_by(f64::total_cmp);
        cpu.sort_by(f64::total_cmp);
        let (best, median, cpu) = (wall[0], wall[wall.len() / 2], cpu[cpu.len() / 2]);
        println!(
            "  {label:<34} {:>6.0} {best:>8.2} {median:>10.2} {cpu:>10.2} {:>12.0}",
            megabytes(extracts),
            rows as f64 / best
        );
    }
}

/// Seconds (wall, CPU) to read, validate and stage the four extracts in
/// `extracts`, as a run does (a fresh in-memory staging database, spilling
/// in `tmp`).
fn read_seconds(extracts: &Path, tmp: &Path) -> (f64, f64) {
    let cutoff = chrono::NaiveDate::from_ymd_opt(2026, 6, 30).expect("date");
    let dates = PlausibleDates::for_cutoff(cutoff);
    let sources = ouistat::testing::ingest::find_sources(extracts).expect("extracts");
    let stage = Stage::open(None, &tmp.join("debordement"), "3GB", None).expect("stage");
    let (t, cpu) = (Instant::now(), cpu_seconds());
    for source in &sources {
        let _ = stage
            .load(source, ouistat::testing::ingest::Encoding::Utf8, &dates)
            .expect("load");
    }
    (t.elapsed().as_secs_f64(), cpu_seconds() - cpu)
}

/// CPU time of this process so far, all threads (user and system), from
/// `/proc/self/stat` (Linux; clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15, the 12th and 13th after it.
    (ticks(11) + ticks(12)) / 100.0
}

/// The Parquet type of a column, as its footer states it.
fn parquet_type(path: &Path, column: &str) -> String {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader =
        SerializedFileReader::new(std::fs::File::open(path).expect("file")).expect("Parquet");
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let field = schema
        .columns()
        .iter()
        .find(|c| c.name() == column)
        .expect("column")
        .clone();
    format!("{} {:?}", field.physical_type(), field.logical_type_ref())
}

fn megabytes(dir: &Path) -> f64 {
    std::fs::read_dir(dir)
        .expect("extracts")
        .filter_map(|e| e.ok())
        .map(|e| e.metadata().map_or(0, |m| m.len()))
        .sum::<u64>() as f64
        / 1e6
}

/// The generated CSV extracts as typed Parquet: INT32, DATE, BOOLEAN, and
/// times as TIMESTAMP WITH TIME ZONE (written `isAdjustedToUTC = true`).
fn typed_parquet(csv: &Path, out: &Path) {
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    for extract in Extract::ALL {
        let columns: Vec<String> = extract
            .columns()
            .iter()
            .map(|c| {
                let q = format!("\"{}\"", c.name);
                let expr = match c.kind {
                    Kind::Int => format!("cast({q} as integer)"),
                    Kind::Date => format!(
                        "cast(coalesce(try_strptime({q}, '%Y-%m-%d'), try_strptime({q}, '%d/%m/%Y')) as date)"
                    ),
                    Kind::Timestamp => format!(
                        "cast(coalesce(try_strptime({q}, '%Y-%m-%d %H:%M:%S'), \
                         try_strptime({q}, '%d/%m/%Y %H:%M:%S')) as timestamptz)"
                    ),
                    Kind::Bool => format!("{q} = 'O'"),
                    Kind::Text | Kind::Enum(_) => q.clone(),
                };
                format!("{expr} as {q}")
            })
            .collect();
        let from = csv.join(format!("{}.csv", extract.name()));
        let to = out.join(format!("{}.parquet", extract.name()));
        conn.execute_batch(&format!(
            "copy (select {} from read_csv('{}', delim = ';', header = true, all_varchar = true)) \
             to '{}' (format parquet, compression zstd)",
            columns.join(", "),
            from.to_string_lossy(),
            to.to_string_lossy()
        ))
        .expect("typed Parquet");
    }
}
