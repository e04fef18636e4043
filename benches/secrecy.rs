//! Statistical secrecy benchmark: the attack and reinforcement of each
//! family, then of the abandon-by-reason cube, on a staged run.
//!
//! ```sh
//! # on generated data (a fresh run of the pipeline first)
//! OUISTAT_BENCH_PERSONS=20000 cargo bench --profile dev --bench secrecy
//! # on the staging database a run left behind (copied, never changed)
//! OUISTAT_STAGE=sortie/.ouistat/stage.duckdb cargo bench --profile dev --bench secrecy
//! ```
//! `OUISTAT_BENCH_QUICK=1` skips the families' attack (their first
//! pattern is kept) to time the abandon cube alone. `OUISTAT_BENCH_DEBUG=1`
//! prints, for the first abandon counts left exposed, every relation that
//! holds them, with each member's counts and flag, and the audit of the
//! reasons suppressed at France level.
//!
//! Prints the time of each cube, its suppressed cells and what the last
//! attack left exposed; no timed assertion.

use std::time::Instant;

use arrow::array::AsArray;
use ouistat::disclosure::{self, CubeCells, Flag, Pattern};
use ouistat::generate::{generate, Format, Options};
use ouistat::pipeline::{run, RunConfig};
use ouistat::stage::Stage;

/// The committee's defaults: threshold 11, protection 1, 8 rounds a stage.
const THRESHOLD: i64 = 11;
const PROTECTION: f64 = 1.0;
const ROUNDS: usize = 8;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = match std::env::var_os("OUISTAT_STAGE") {
        Some(path) => std::path::PathBuf::from(path),
        None => staged_run(dir.path()),
    };
    let copy = dir.path().join("copie.duckdb");
    std::fs::copy(&source, &copy).expect("copy the staging database");
    let wal = source.with_extension("duckdb.wal");
    if wal.exists() {
        std::fs::copy(&wal, copy.with_extension("duckdb.wal")).expect("copy its log");
    }
    let stage = Stage {
        conn: duckdb::Connection::open(&copy).expect("open the staging database"),
    };
    // With OUISTAT_BENCH_QUICK=1 the families keep their first pattern, not
    // attacked: only the abandon cube is timed.
    let quick = std::env::var_os("OUISTAT_BENCH_QUICK").is_some();
    let mut families: Vec<(CubeCells, Pattern)> = Vec::new();
    for (name, query) in disclosure::FAMILIES {
        let cells = disclosure::cube_cells(&stage, query).expect("family cells");
        let t = Instant::now();
        if quick {
            let pattern = cells.protect(THRESHOLD);
            families.push((cells, pattern));
            continue;
        }
        let (pattern, report) = cells.protect_against_attack(THRESHOLD, PROTECTION, ROUNDS);
        print(name, cells.keys.len(), &pattern, &report, t);
        exposed(&cells, &report);
        families.push((cells, pattern));
    }
    let cohort: Vec<&(CubeCells, Pattern)> = disclosure::FAMILIES
        .iter()
        .zip(&families)
        .filter(|((name, _), _)| *name == "cohorte")
        .map(|(_, f)| f)
        .collect();
    let sql = ouistat::queries::render("sec_abandons", &[]);
    let mut stmt = stage.conn.prepare(&sql).expect("abandon query");
    let batches: Vec<_> = stmt.query_arrow([]).expect("abandon rows").collect();
    let batch = arrow::compute::concat_batches(&stmt.schema(), &batches).expect("one batch");
    let t = Instant::now();
    let disclosure::ClearedByMotif {
        cleared,
        cells,
        pattern,
        report,
    } = disclosure::clear_by_motif(
        &batch,
        &["nb_entrees", "nb_abandons", "taux_abandon", "part_abandons"],
        &cohort,
        THRESHOLD,
        Some((PROTECTION, ROUNDS)),
    )
    .expect("clear the abandon cube");
    let report = report.expect("attacked");
    exposed(&cells, &report);
    let secret = cleared
        .batch()
        .column_by_name("secret")
        .expect("a secret column")
        .as_string::<i32>();
    if std::env::var_os("OUISTAT_BENCH_DEBUG").is_some() {
        for a in &pattern.audit {
            let k = &cells.keys[a.cell];
            if k.niveau_geo == "france" && k.motif.as_deref() != Some("ensemble") {
                println!(
                    "AUDIT {k:?} {:?} {:?} {}",
                    cells.counts[a.cell], a.flag, a.reason
                );
            }
        }
        for f in report.narrow.iter().chain(&report.unproven).take(2) {
            println!("DEBUG {:?} = {}", cells.keys[f.cell], f.value);
            for r in cells
                .relations
                .iter()
                .filter(|r| r.total == f.cell || r.parts.contains(&f.cell))
            {
                println!("  relation {}", r.label);
                for &c in std::iter::once(&r.total).chain(&r.parts) {
                    println!(
                        "    {:?} {:?} {:?}",
                        cells.keys[c],
                        cells.counts[c],
                        secret.value(c).to_string()
                    );
                }
            }
        }
    }
    let [a, d] = ["A", "D"].map(|f| secret.iter().filter(|s| *s == Some(f)).count());
    println!(
        "abandons     {:>9} cells {:>9} suppressed (A {a}, D {d}) {:>8} exposed {:8.1} s",
        cells.keys.len(),
        a + d,
        report.narrow.len() + report.unproven.len(),
        t.elapsed().as_secs_f64()
    );
}

fn print(
    name: &str,
    cells: usize,
    pattern: &Pattern,
    report: &ouistat::attack::Report,
    t: Instant,
) {
    let [a, d] = [Flag::Primary, Flag::Secondary].map(|f| pattern.count(f));
    println!(
        "{name:<12} {cells:>9} cells {:>9} suppressed (A {a}, D {d}) {:>8} exposed {:8.1} s",
        a + d,
        report.narrow.len() + report.unproven.len(),
        t.elapsed().as_secs_f64()
    );
}

/// The first counts left exposed, if any.
fn exposed(cells: &CubeCells, report: &ouistat::attack::Report) {
    for f in report.narrow.iter().chain(&report.unproven).take(12) {
        println!(
            "  exposed {:?} {} = {} in [{}, {}]",
            cells.keys[f.cell], cells.count_names[f.measure], f.value, f.min, f.max
        );
    }
}

/// Generates `OUISTAT_BENCH_PERSONS` persons (20,000 by default), runs the
/// pipeline on them and returns its staging database.
fn staged_run(dir: &std::path::Path) -> std::path::PathBuf {
    let persons: u64 = std::env::var("OUISTAT_BENCH_PERSONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let extracts = dir.join("extraits");
    generate(&Options {
        out: extracts.clone(),
        persons,
        seed: 7,
        format: Format::Csv,
        defects: 0.001,
    })
    .expect("generate");
    let out = dir.join("sortie");
    let cutoff = chrono::NaiveDate::from_ymd_opt(2026, 10, 31).expect("date");
    let mut config = RunConfig::new(&extracts, out.clone(), cutoff);
    config.keep_stage = true;
    run(&config).expect("run");
    out.join(".ouistat").join("stage.duckdb")
}
