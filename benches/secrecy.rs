//! Statistical secrecy benchmark: the publication plans protected and
//! audited, with the targets of the publication-plan issue printed beside
//! what was measured. No timed assertion.
//!
//! ```sh
//! # a region at its real volume (Hauts-de-France, committee plan)
//! cargo bench --profile dev --bench secrecy
//! # also France scale (ministry plan, and the committee plan for region 32)
//! OUISTAT_BENCH_FRANCE_PERSONS=2000000 cargo bench --profile dev --bench secrecy
//! ```
//! `OUISTAT_BENCH_REGION_PERSONS` sets the region's persons (220,000 by
//! default: about 55,000 positionings a four-month period). Memory: the
//! resident size once the cubes are read, and the peak during protection
//! and audit (the peak is reset just before, through `/proc/self/clear_refs`).

mod common;

use std::time::Instant;

use common::{reset_peak, rss_mb};

use arrow::array::{Array, AsArray};
use ouistat::deliver::read_cubes;
use ouistat::generate::{generate, Format, Options};
use ouistat::pipeline::{run, RunConfig};
use ouistat::policy::RecipientClass;
use ouistat::secrecy::{protect, Plan, Protection, Settings};
use ouistat::stage::Stage;

fn persons(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let region = persons("OUISTAT_BENCH_REGION_PERSONS", ouistat::app::DEMO_PERSONS);
    let france = persons("OUISTAT_BENCH_FRANCE_PERSONS", 0);
    if region > 0 {
        let stage = staged("région 32", region, Some("32"));
        let p = measure(&stage.0, RecipientClass::Comite, Some("32"));
        targets_region(&p);
    }
    if france > 0 {
        let stage = staged("France", france, None);
        for (class, region) in [
            (RecipientClass::Ministere, None),
            (RecipientClass::Comite, Some("32")),
        ] {
            let p = measure(&stage.0, class, region);
            let total = p.summary.secondes_protection + p.summary.secondes_audit;
            println!("  target: protected and audited in at most 60 s: {total:.1} s");
        }
    }
}

/// Generates the extracts, runs the pipeline (no recipient) and opens its
/// staging database.
fn staged(label: &str, persons: u64, region: Option<&str>) -> (Stage, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let extracts = dir.path().join("extraits");
    let t = Instant::now();
    let summary = generate(&Options {
        out: extracts.clone(),
        persons,
        seed: 7,
        format: Format::Csv,
        defects: 0.001,
        region: region.map(str::to_string),
    })
    .expect("generate");
    println!(
        "{label}: {persons} persons, {} positionings, generated in {:.1} s",
        summary.positionnements,
        t.elapsed().as_secs_f64()
    );
    let out = dir.path().join("sortie");
    let cutoff = chrono::NaiveDate::from_ymd_opt(2026, 10, 31).expect("date");
    let mut config = RunConfig::new(&extracts, out.clone(), cutoff);
    config.keep_stage = true;
    let t = Instant::now();
    run(&config).expect("run");
    println!("  pipeline run in {:.1} s", t.elapsed().as_secs_f64());
    let stage = Stage {
        conn: duckdb::Connection::open(out.join(".ouistat").join("stage.duckdb")).expect("stage"),
    };
    (stage, dir)
}

/// Protects and audits one plan, and prints its shares per table.
fn measure(stage: &Stage, class: RecipientClass, region: Option<&str>) -> Protection {
    let (cubes, geography) = read_cubes(stage).expect("cubes");
    let plan = Plan::shipped(class).expect("a shipped plan");
    let settings = Settings {
        threshold: 11,
        protection: 1,
        region: region.map(str::to_string),
    };
    let before = rss_mb("VmRSS:");
    reset_peak();
    let t = Instant::now();
    let p = protect(&plan, &cubes, &geography, &settings).expect("protected");
    let s = &p.summary;
    println!(
        "  plan {} ({}): {} cells, {} relations, {} A, {} D, {} audited with {} programmes, {} complements from the audit, {} exposed",
        s.plan,
        region.unwrap_or("France"),
        s.cellules,
        s.relations,
        s.primaires_a,
        s.secondaires_d,
        s.effectifs_audites,
        s.programmes_resolus,
        s.complements_audit,
        s.effectifs_exposes
    );
    println!(
        "  protection {:.2} s, audit {:.2} s, in all {:.2} s; resident {} MB before (cubes read), peak {} MB during",
        s.secondes_protection,
        s.secondes_audit,
        t.elapsed().as_secs_f64(),
        before,
        rss_mb("VmHWM:")
    );
    println!(
        "  {:<26} {:>8} {:>9} {:>8} {:>8}",
        "table", "rows", "counts", "A %", "D %"
    );
    let (mut counts, mut d) = (0, 0);
    for t in &s.tableaux {
        let pct = |n: usize| 100.0 * n as f64 / t.effectifs.max(1) as f64;
        println!(
            "  {:<26} {:>8} {:>9} {:>8.2} {:>8.2}",
            t.tableau,
            t.lignes,
            t.effectifs,
            pct(t.primaires_a),
            pct(t.secondaires_d)
        );
        counts += t.effectifs;
        d += t.secondaires_d;
    }
    println!(
        "  target: D at most 5 % of published counts: {:.2} %",
        100.0 * d as f64 / counts.max(1) as f64
    );
    p
}

/// The region's targets: no region-level count and no département ×
/// four-month `ensemble` count hidden unless itself small (flag `A`).
fn targets_region(p: &Protection) {
    let (mut region_d, mut reason_d, mut dept_d) = (0, 0, 0);
    let mut periods = std::collections::BTreeSet::new();
    for t in &p.tables {
        let b = t.batch();
        let text = |n: &str| b.column_by_name(n).expect("key").as_string::<i32>().clone();
        let (niveau, dimension, type_periode, periode) = (
            text("niveau_geo"),
            text("dimension"),
            text("type_periode"),
            text("periode"),
        );
        let motif = b
            .column_by_name("motif_code")
            .map(|c| c.as_string::<i32>().clone());
        for field in b.schema().fields() {
            let Some(count) = field.name().strip_prefix("secret_nb_") else {
                continue;
            };
            let flags = text(field.name());
            for i in 0..b.num_rows() {
                if !flags.is_valid(i) || flags.value(i) != "D" {
                    continue;
                }
                if motif.as_ref().is_some_and(|m| m.value(i) != "ensemble") {
                    // A reason's split: when one reason is small, another
                    // reason of the same total has to go with it.
                    reason_d += 1;
                } else if niveau.value(i) == "region" {
                    region_d += 1;
                    periods.insert(format!("{} nb_{count}", periode.value(i)));
                } else if niveau.value(i) == "departement"
                    && dimension.value(i) == "ensemble"
                    && type_periode.value(i) == "quadrimestre"
                {
                    dept_d += 1;
                    periods.insert(format!("{} département nb_{count}", periode.value(i)));
                }
            }
        }
    }
    println!("  target: no region-level count hidden as a complement (D): {region_d}");
    println!("    (reasons of the abandon split hidden as a complement: {reason_d})");
    println!("  target: no département × four-month ensemble count hidden as D: {dept_d}");
    if !periods.is_empty() {
        println!("    where: {periods:?}");
    }
    let total = p.summary.secondes_protection + p.summary.secondes_audit;
    println!("  target: protection and audit in at most 10 s: {total:.2} s");
}
