//! Whole-pipeline benchmark on generated data.
//!
//! ```sh
//! OUISTAT_BENCH_PERSONS=200000 cargo bench --profile dev --bench pipeline
//! ```
//! Prints the time of each stage and rows per second; no timed assertion.

use std::time::Instant;

use ouistat::generate::{generate, Format, Options};
use ouistat::pipeline::{run, RunConfig};

fn main() {
    let persons: u64 = std::env::var("OUISTAT_BENCH_PERSONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let extracts = dir.path().join("extraits");
    let t = Instant::now();
    let summary = generate(&Options {
        out: extracts.clone(),
        persons,
        seed: 1,
        format: Format::Csv,
        defects: 0.001,
        region: None,
    })
    .expect("generate");
    let gen_s = t.elapsed().as_secs_f64();
    let rows = summary.sessions + summary.individus + summary.positionnements + summary.evenements;
    println!(
        "generate   {persons} persons, {rows} rows in {gen_s:.2} s ({:.0} rows/s)",
        rows as f64 / gen_s
    );
    let cutoff = chrono::NaiveDate::from_ymd_opt(2026, 10, 31).expect("date");
    let t = Instant::now();
    let report = run(&RunConfig::new(
        &extracts,
        dir.path().join("sortie"),
        cutoff,
    ))
    .expect("run");
    let run_s = t.elapsed().as_secs_f64();
    for (stage, secs) in &report.durees_secondes {
        println!("run/{stage:<20} {secs:8.2} s");
    }
    println!(
        "run        {rows} rows in {run_s:.2} s ({:.0} rows/s)",
        rows as f64 / run_s
    );
}
