//! Statistical secrecy benchmark: the aggregates of a run (the ministry
//! and the committee of region 32) protected and audited, released twice
//! (cut-offs 2026-06-30 and 2026-10-31), side by side in one run:
//!
//! - *apart*: each recipient protected alone, no memory of the earlier
//!   release (what ouistat did before the release register);
//! - *together*: both recipients in one system, the second release taking
//!   every count of the first as published (what a run does now).
//!
//! Printed: A and D per recipient and release, what the audit proved, the
//! time, the peak memory of secrecy, and the targets. No timed assertion.
//!
//! ```sh
//! # a region at its real volume (Hauts-de-France)
//! cargo bench --profile dev --bench secrecy
//! # also France scale
//! OUISTAT_BENCH_FRANCE_PERSONS=200000 cargo bench --profile dev --bench secrecy
//! ```
//! `OUISTAT_BENCH_REGION_PERSONS` sets the region's persons (220,000 by
//! default: about 55,000 positionings a four-month period, the demo);
//! `OUISTAT_BENCH_APART=0` leaves out the recipients protected apart.
//! Memory: the peak during protection and audit (reset just before,
//! through `/proc/self/clear_refs`).

mod common;

use std::time::Instant;

use common::{reset_peak, rss_mb};

use arrow::array::{Array, AsArray};
use ouistat::testing::deliver::read_cubes;
use ouistat::testing::generate::{generate, Format, Options};
use ouistat::testing::pipeline::{run, RunConfig};
use ouistat::testing::policy::RecipientClass;
use ouistat::testing::secrecy::{
    protect_run, CubeBatch, Geography, Plan, Protection, Release, Released, Settings,
};
use ouistat::testing::stage::Stage;

fn env_number(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const CUTOFFS: [&str; 2] = ["2026-06-30", "2026-10-31"];

fn main() {
    let region = env_number(
        "OUISTAT_BENCH_REGION_PERSONS",
        ouistat::testing::cli::DEMO_PERSONS,
    );
    let france = env_number("OUISTAT_BENCH_FRANCE_PERSONS", 0);
    if region > 0 {
        releases("région 32", region, Some("32"), 10.0);
    }
    if france > 0 {
        releases("France", france, None, 60.0);
    }
}

/// The two releases of one extract, apart and together.
fn releases(label: &str, persons: u64, region: Option<&str>, seconds: f64) {
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
    let plans = [
        Plan::shipped(RecipientClass::Ministere).expect("plan"),
        Plan::shipped(RecipientClass::Comite).expect("plan"),
    ];
    let recipients: Vec<Release> = ["ministere", "comite"]
        .into_iter()
        .zip(&plans)
        .map(|(name, plan)| Release {
            name,
            plan,
            settings: Settings {
                threshold: 11,
                protection: 1,
                region: (name == "comite").then(|| "32".to_string()),
            },
        })
        .collect();
    let mut earlier: Vec<Released> = Vec::new();
    let apart = env_number("OUISTAT_BENCH_APART", 1) != 0;
    for cutoff in CUTOFFS {
        let (cubes, geography) = cubes_at(dir.path(), &extracts, cutoff);
        println!("  release at cut-off {cutoff}:");
        for rel in recipients.iter().filter(|_| apart) {
            let (p, secs, peak) = timed(std::slice::from_ref(rel), &cubes, &geography, &[]);
            line("apart", &p[0], rel.name, secs, peak);
        }
        let (together, secs, peak) = timed(&recipients, &cubes, &geography, &earlier);
        for (p, rel) in together.iter().zip(&recipients) {
            line("together", p, rel.name, secs, peak);
        }
        println!("    target: protection and audit in at most {seconds} s: {secs:.2} s; {peak} (target 1 GB)");
        targets_region(&together[1]);
        for (p, rel) in together.iter().zip(&recipients) {
            for c in &p.released {
                earlier.push(Released {
                    recipient: ouistat::testing::secrecy::text(rel.name),
                    date_arrete: ouistat::testing::secrecy::text(cutoff),
                    variable: c.variable.clone(),
                    key: c.key.clone(),
                    value: c.value,
                    published: c.flag.is_none(),
                });
            }
        }
    }
}

/// Runs the pipeline at `cutoff` (kept staging) and reads its full cubes.
fn cubes_at(
    dir: &std::path::Path,
    extracts: &std::path::Path,
    cutoff: &str,
) -> (Vec<CubeBatch>, Geography) {
    let out = dir.join(format!("sortie-{cutoff}"));
    let day = chrono::NaiveDate::parse_from_str(cutoff, "%Y-%m-%d").expect("date");
    let mut config = RunConfig::new(extracts, out.clone(), day);
    config.keep_stage = true;
    let t = Instant::now();
    run(&config).expect("run");
    println!(
        "  pipeline at {cutoff} in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let stage = Stage::open_kept(&out.join(".ouistat").join("stage.duckdb")).expect("stage");
    read_cubes(&stage).expect("cubes")
}

/// Protects `releases` together; the seconds and the resident MB: the
/// peak during protection, and what the bench held before it (the cubes,
/// the earlier releases), so that secrecy's own share is the difference.
fn timed(
    releases: &[Release],
    cubes: &[CubeBatch],
    geography: &Geography,
    earlier: &[Released],
) -> (Vec<Protection>, f64, Peak) {
    let before = rss_mb("VmRSS:");
    reset_peak();
    let t = Instant::now();
    let p = protect_run(releases, cubes, geography, earlier).expect("protected");
    let peak = Peak {
        before,
        peak: rss_mb("VmHWM:"),
    };
    (p, t.elapsed().as_secs_f64(), peak)
}

/// Resident memory around one protection, in MB.
#[derive(Clone, Copy)]
struct Peak {
    before: u64,
    peak: u64,
}

impl std::fmt::Display for Peak {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "peak {} MB, of which secrecy {} MB",
            self.peak,
            self.peak.saturating_sub(self.before)
        )
    }
}

/// One recipient's figures.
fn line(mode: &str, p: &Protection, name: &str, secs: f64, peak: Peak) {
    let s = &p.summary;
    let counts: usize = s.tableaux.iter().map(|t| t.effectifs).sum();
    let a: usize = s.tableaux.iter().map(|t| t.primaires_a).sum();
    let d: usize = s.tableaux.iter().map(|t| t.secondaires_d).sum();
    let pct = |n: usize| 100.0 * n as f64 / counts.max(1) as f64;
    println!(
        "    {mode:<8} {name:<10} {counts:>7} counts, A {a:>6} ({:>5.2} %), D {d:>5} ({:>5.2} %, target ≤ 5 %), \
         {} audited ({} programmes, {} audit complements, {} republished), narrowest {:?}, \
         {} remainders, {} earlier counts taken, {secs:.2} s, {peak}",
        pct(a),
        pct(d),
        s.effectifs_audites,
        s.programmes_resolus,
        s.complements_audit,
        s.complements_republies,
        s.intervalle_le_plus_etroit,
        s.restes,
        s.diffusions_anterieures,
    );
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
    // Counts hidden as primary (A) though not small: their own change
    // since the earlier release is small (the earlier value is out), or
    // their complement in their whole is.
    let threshold = p.summary.seuil_secret;
    let own_change = |wanted: &dyn Fn(&ouistat::testing::secrecy::Key) -> bool| {
        p.released
            .iter()
            .filter(|c| c.flag.as_deref() == Some("A") && c.value >= threshold && wanted(&c.key))
            .count()
    };
    let region_own = own_change(&|k| &*k.niveau_geo == "region" && &*k.motif == "ensemble");
    let dept_own = own_change(&|k| {
        &*k.niveau_geo == "departement"
            && &*k.dimension == "ensemble"
            && &*k.type_periode == "quadrimestre"
            && &*k.motif == "ensemble"
    });
    println!(
        "    committee: counts not small hidden as primary (A: their change since the earlier release \
         or their complement in their whole is small): {region_own} region-level, {dept_own} \
         département × four-month ensemble"
    );
    println!("    committee target: no region-level count hidden as a complement (D): {region_d}");
    println!("      (reasons of the abandon split hidden as a complement: {reason_d})");
    println!(
        "    committee target: no département × four-month ensemble count hidden as D: {dept_d}"
    );
    if !periods.is_empty() {
        println!("    where: {periods:?}");
    }
}
