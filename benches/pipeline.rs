//! France-scale benchmark (issue 16): `ouistat run` beside the DuckDB script
//! an analyst would write for the same six cubes (`benches/baseline.sql`),
//! measured side by side in one session on the same generated extracts.
//!
//! ```sh
//! cargo bench --profile dev --bench pipeline            # 200,000 persons
//! OUISTAT_BENCH_PERSONS=200000,2000000,4000000 cargo bench --profile dev --bench pipeline
//! ```
//! For each size it prints the wall time and peak resident size of three
//! steps, each in a child process of its own so that peaks do not mix:
//! the baseline script (cubes written to Parquet), `run` without
//! recipients, and `run` with the demo's five recipients (microdata with
//! keyed pseudonyms, extracts, and the aggregates under secrecy; left out
//! with `OUISTAT_BENCH_RECIPIENTS=0`). Then each step's time and peak as a
//! multiple of the baseline's, where `run`'s time goes (its `run.json`
//! timings), the read-and-validate throughput, the number of cube rows on
//! which ouistat and the baseline differ, and rows per second across sizes.
//! No timed assertion: the targets are printed beside the figures.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::rss_mb;
use ouistat::testing::generate::{generate, Format, Options};
use ouistat::testing::pipeline::{run, RunConfig};

const CUBES: [&str; 6] = [
    "entonnoir",
    "delais",
    "pic",
    "abandons",
    "remplissage",
    "sessions_remplissage",
];
const CUTOFF: &str = "2026-06-30";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--etape") {
        step(&args[i + 1], Path::new(&args[i + 2]));
        return;
    }
    let sizes: Vec<u64> = std::env::var("OUISTAT_BENCH_PERSONS")
        .unwrap_or_else(|_| "200000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("OUISTAT_BENCH_PERSONS: persons, comma-separated")
        })
        .collect();
    let mut scaling = Vec::new();
    for persons in sizes {
        scaling.push(size(persons));
    }
    println!("\nscaling (run without recipients):");
    println!(
        "  {:>9} {:>11} {:>8} {:>12}",
        "persons", "rows", "run s", "rows/s"
    );
    for (persons, rows, secs) in &scaling {
        println!(
            "  {persons:>9} {rows:>11} {secs:>8.1} {:>12.0}",
            *rows as f64 / secs
        );
    }
}

/// Generates `persons` and measures the three steps on them; returns
/// (persons, input rows, run seconds) for the scaling table.
fn size(persons: u64) -> (u64, u64, f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let extracts = dir.path().join("extraits");
    let t = Instant::now();
    let summary = generate(&Options {
        out: extracts.clone(),
        persons,
        seed: 1,
        format: Format::Csv,
        defects: 0.0,
        region: None,
    })
    .expect("generate");
    let rows = summary.sessions + summary.individus + summary.positionnements + summary.evenements;
    let csv_mb = csv_bytes(&extracts) as f64 / 1e6;
    println!(
        "\n{persons} persons: {rows} rows, {csv_mb:.0} MB of CSV, generated in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    ouistat::testing::commands::demo_recipients(dir.path(), "32").expect("recipients");

    let baseline = child("baseline", dir.path());
    let plain = child("run", dir.path());
    // OUISTAT_BENCH_RECIPIENTS=0 leaves out the run with recipients (its
    // secrecy audit dominates at France scale).
    let full = match std::env::var("OUISTAT_BENCH_RECIPIENTS").as_deref() {
        Ok("0") => None,
        _ => Some(child("run-destinataires", dir.path())),
    };
    let differences = compare(
        &dir.path().join("baseline"),
        &dir.path().join("sortie/indicateurs"),
    );

    println!(
        "  {:<28} {:>8} {:>9} {:>11} {:>11}",
        "step", "wall s", "peak MB", "time ×base", "peak ×base"
    );
    let mut steps = vec![
        ("baseline DuckDB script", &baseline),
        ("run, no recipients", &plain),
    ];
    if let Some(full) = &full {
        steps.push(("run, five recipients", full));
    }
    for (label, m) in steps {
        println!(
            "  {label:<28} {:>8.1} {:>9} {:>10.2}× {:>10.2}×",
            m.secs,
            m.peak_mb,
            m.secs / baseline.secs,
            m.peak_mb as f64 / baseline.peak_mb as f64
        );
    }
    println!("  where run's time goes (run.json, durees_secondes):");
    for (stage, secs) in &plain.stages {
        println!("    run/{stage:<36} {secs:8.2} s");
    }
    if let Some(full) = &full {
        println!("  and with five recipients, secrecy and deliveries:");
        for (stage, secs) in &full.stages {
            if ["secret", "anonymisation", "livraison", "total"]
                .iter()
                .any(|p| stage.starts_with(p))
            {
                println!("    run-destinataires/{stage:<22} {secs:8.2} s");
            }
        }
    }
    println!("  where the baseline's time goes (its statements):");
    for (stage, secs) in &baseline.stages {
        println!("    baseline/{stage:<31} {secs:8.2} s");
    }
    let read = plain.stage("lecture_validation");
    println!(
        "  target: run ≤ 1.0 × baseline:            {:.2} ×",
        plain.secs / baseline.secs
    );
    if let Some(full) = &full {
        println!(
            "  target: run with recipients ≤ 2.5 ×:      {:.2} ×",
            full.secs / baseline.secs
        );
    }
    println!(
        "  target: read and validate ≥ 150 MB/s:    {:.0} MB/s",
        csv_mb / read
    );
    println!(
        "  target: peak ≤ 4,000 MB:                 {} MB{}",
        plain.peak_mb,
        full.as_ref().map_or(String::new(), |f| format!(
            " (with recipients {} MB)",
            f.peak_mb
        ))
    );
    println!("  cube rows differing from the baseline:   {differences}");
    (persons, rows, plain.secs)
}

/// What a child step measured.
struct Measure {
    secs: f64,
    peak_mb: u64,
    stages: Vec<(String, f64)>,
}

impl Measure {
    fn stage(&self, name: &str) -> f64 {
        self.stages
            .iter()
            .find(|(s, _)| s == name)
            .map_or(f64::NAN, |(_, secs)| *secs)
    }
}

/// Runs one step in a child process of this bench and reads back its
/// measure (one `key value` per line on its standard output).
fn child(name: &str, dir: &Path) -> Measure {
    let exe = std::env::current_exe().expect("bench executable");
    let output = Command::new(exe)
        .args(["--etape", name])
        .arg(dir)
        .output()
        .expect("child step");
    assert!(
        output.status.success(),
        "step {name} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut m = Measure {
        secs: f64::NAN,
        peak_mb: 0,
        stages: Vec::new(),
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        match line.split_once(' ') {
            Some(("secondes", v)) => m.secs = v.parse().expect("seconds"),
            Some(("pic_mo", v)) => m.peak_mb = v.parse().expect("MB"),
            Some(("etape", v)) => {
                let (stage, secs) = v.rsplit_once(' ').expect("stage and seconds");
                m.stages
                    .push((stage.to_string(), secs.parse().expect("seconds")));
            }
            _ => {}
        }
    }
    m
}

/// A child step: runs it and prints its measure, with the peak resident
/// size of this process (a fresh one, so the peak is the step's own).
fn step(name: &str, dir: &Path) {
    let extracts = dir.join("extraits");
    let cutoff = chrono::NaiveDate::parse_from_str(CUTOFF, "%Y-%m-%d").expect("date");
    let t = Instant::now();
    match name {
        "baseline" => baseline(&extracts, &dir.join("baseline")),
        "run" | "run-destinataires" => {
            let mut cfg = RunConfig::new(
                &extracts,
                dir.join(if name == "run" {
                    "sortie"
                } else {
                    "sortie-destinataires"
                }),
                cutoff,
            );
            if name == "run-destinataires" {
                cfg.recipients = Some(dir.join("destinataires.toml"));
            }
            let report = run(&cfg).expect("run");
            for (stage, secs) in &report.durees_secondes {
                println!("etape {stage} {secs}");
            }
        }
        "comparer" => {
            let n = compare(&dir.join("baseline"), &dir.join("sortie/indicateurs"));
            println!("cube rows differing from the baseline: {n}");
        }
        other => panic!("unknown step {other}"),
    }
    println!("secondes {}", t.elapsed().as_secs_f64());
    println!("pic_mo {}", rss_mb("VmHWM:"));
}

/// The analyst's script, run as it is with DuckDB's defaults, its cubes
/// written to `out/<cube>.parquet` as ouistat writes its own.
fn baseline(extracts: &Path, out: &Path) {
    std::fs::create_dir_all(out).expect("baseline folder");
    // OUISTAT_BENCH_BASELINE=FILE runs another script in its place (to try
    // a variant without rebuilding the bench).
    let script = std::env::var("OUISTAT_BENCH_BASELINE").map_or_else(
        |_| include_str!("baseline.sql").to_string(),
        |f| std::fs::read_to_string(&f).expect("OUISTAT_BENCH_BASELINE: a readable script"),
    );
    let sql = script
        .replace("{{extraits}}", &extracts.to_string_lossy())
        .replace("{{date_arrete}}", CUTOFF);
    let (head, rest) = sql
        .split_once("-- pour chaque niveau\n")
        .expect("the per-level block");
    let (block, tail) = rest.split_once("-- fin\n").expect("its end");
    // The analyst's loop: the geographic levels and their columns, written
    // here rather than taken from ouistat.
    let levels = [
        ("france", "null::varchar"),
        ("region", "region"),
        ("departement", "departement"),
        ("zone_emploi", "zone_emploi"),
    ];
    let mut sql = head.to_string();
    for (level, column) in levels {
        sql.push_str(
            &block
                .replace("{{niveau_geo}}", level)
                .replace("{{code_geo}}", column),
        );
    }
    sql.push_str(tail);
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    // Spill inside the bench's temporary folder, not `.tmp/` in the
    // current directory (the checkout, under `cargo bench`).
    let spill = out.join("debordement");
    conn.execute_batch(&format!(
        "set temp_directory = '{}'",
        spill.to_string_lossy().replace('\'', "''")
    ))
    .expect("temp_directory");
    // One statement at a time, each timed: where the baseline's time goes.
    for statement in sql.split(";\n").filter(|s| !s.trim().is_empty()) {
        let t = Instant::now();
        conn.execute_batch(statement).expect("baseline script");
        println!(
            "etape {} {}",
            statement_label(statement),
            t.elapsed().as_secs_f64()
        );
    }
    for cube in CUBES {
        let path = out.join(format!("{cube}.parquet"));
        conn.execute_batch(&format!(
            "copy (select * from b_{cube}) to '{}' (format parquet, compression zstd)",
            path.to_string_lossy()
        ))
        .expect("baseline cube written");
    }
}

/// What a statement of the baseline creates or fills, and the level for
/// the per-level ones: `insert into b_cellules (region)`.
fn statement_label(statement: &str) -> String {
    let code = statement
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("--"))
        .collect::<Vec<_>>()
        .join(" ");
    let words: Vec<&str> = code.split_whitespace().collect();
    let label = match words.as_slice() {
        ["insert", "into", table, ..] => format!("insert into {table}"),
        ["create", "or", "replace", kind, "table", table, ..] => format!("create {kind} {table}"),
        ["create", "or", "replace", "macro", name, ..] => format!("macro {name}"),
        _ => words.iter().take(3).copied().collect::<Vec<_>>().join(" "),
    };
    let level = ["france", "region", "departement", "zone_emploi"]
        .into_iter()
        .find(|l| label.starts_with("insert") && code.contains(&format!("'{l}'")));
    match level {
        Some(l) => format!("{label} ({l})"),
        None => label,
    }
}

/// Rows of every cube found in one folder and not the other (multisets,
/// both ways), columns matched by name.
fn compare(baseline: &Path, ouistat: &Path) -> u64 {
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    let mut total = 0;
    for cube in CUBES {
        let file = |dir: &Path| {
            format!(
                "'{}'",
                dir.join(format!("{cube}.parquet")).to_string_lossy()
            )
        };
        let (a, b) = (file(baseline), file(ouistat));
        let columns: String = conn
            .query_row(
                &format!("select string_agg(name, ', ' order by name) from parquet_schema({b}) where name <> 'duckdb_schema'"),
                [],
                |r| r.get(0),
            )
            .expect("columns");
        let n: i64 = conn
            .query_row(
                &format!(
                    "with a as (select {columns} from {a}), b as (select {columns} from {b})
                     select (select count(*) from (from a except all from b))
                          + (select count(*) from (from b except all from a))"
                ),
                [],
                |r| r.get(0),
            )
            .expect("comparison");
        if n > 0 {
            println!("  {cube}: {n} rows differ from the baseline");
        }
        total += n as u64;
    }
    total
}

fn csv_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("extracts")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p: &PathBuf| p.extension().is_some_and(|x| x == "csv"))
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum()
}
