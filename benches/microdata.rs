//! Issue 25: the re-identification risk of the ministry's microdata, and
//! what reaching its `k_anonymat` costs, at the demo's size and beyond.
//!
//! ```sh
//! cargo bench --profile dev --bench microdata                 # the demo: 220,000 persons of region 32
//! OUISTAT_BENCH_PERSONS=220000,2000000 cargo bench --profile dev --bench microdata
//! ```
//! Each size is generated as the demo generates it (region 32, seed 42,
//! 0.1 % defects, cut-off 2026-10-31) and run with the ministry as the
//! only recipient, in a child process so that its peak resident size is
//! its own. Printed: the risk before and after per view (share unique,
//! share under k, smallest group), the generalisation chosen, the persons
//! suppressed, the information lost (non-uniform entropy, discernibility),
//! the lattice nodes evaluated, and the time of measuring and generalising
//! beside the time of writing the delivery. No timed assertion: the
//! target (measuring and generalising take at most the time of writing)
//! is printed beside the figures.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::rss_mb;
use ouistat::testing::generate::{generate, Format, Options};
use ouistat::testing::pipeline::{run, RunConfig};

const CUTOFF: &str = "2026-10-31";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--etape") {
        step(Path::new(&args[i + 1]));
        return;
    }
    let sizes: Vec<u64> = std::env::var("OUISTAT_BENCH_PERSONS")
        .unwrap_or_else(|_| "220000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("OUISTAT_BENCH_PERSONS: persons, comma-separated")
        })
        .collect();
    for persons in sizes {
        size(persons);
    }
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn size(persons: u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let extracts = dir.path().join("extraits");
    let t = Instant::now();
    let summary = generate(&Options {
        out: extracts.clone(),
        persons,
        seed: 42,
        format: Format::Csv,
        defects: 0.001,
        region: Some("32".into()),
    })
    .expect("generate");
    println!(
        "\n{persons} persons: {} positionings, {} events, generated in {:.1} s",
        summary.positionnements,
        summary.evenements,
        t.elapsed().as_secs_f64()
    );
    ouistat::testing::commands::demo_recipients(dir.path(), "32").expect("keys");
    std::fs::write(
        dir.path().join("destinataires.toml"),
        "[[destinataires]]\nnom = \"ministere\"\nclasse = \"ministere\"\ncle = \"cles/ministere.cle\"\nseuil_secret = 11\n",
    )
    .expect("recipients");

    let exe = std::env::current_exe().expect("bench executable");
    let output = Command::new(exe)
        .arg("--etape")
        .arg(dir.path())
        .output()
        .expect("child step");
    assert!(
        output.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = |key: &str| -> f64 {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("sortie/livraisons/ministere/manifest.json"))
            .expect("manifest"),
    )
    .expect("manifest json");
    let r = &manifest["risque_reidentification"];
    println!("  risk on the declared quasi-identifiers (k = {}):", r["k"]);
    println!(
        "    {:<28} {:>10} {:>9} {:>9} {:>6}   {:>10} {:>9} {:>9} {:>6}",
        "view", "rows", "unique", "< k", "min", "rows after", "unique", "< k", "min"
    );
    for (a, b) in r["avant"]
        .as_array()
        .expect("avant")
        .iter()
        .zip(r["apres"].as_array().expect("apres"))
    {
        println!(
            "    {:<28} {:>10} {:>9} {:>9} {:>6}   {:>10} {:>9} {:>9} {:>6}",
            a["vue"].as_str().unwrap_or(""),
            a["enregistrements"].as_u64().unwrap_or(0),
            pct(a["part_uniques"].as_f64().unwrap_or(f64::NAN)),
            pct(a["part_sous_k"].as_f64().unwrap_or(f64::NAN)),
            a["plus_petit_groupe"].as_u64().unwrap_or(0),
            b["enregistrements"].as_u64().unwrap_or(0),
            pct(b["part_uniques"].as_f64().unwrap_or(f64::NAN)),
            pct(b["part_sous_k"].as_f64().unwrap_or(f64::NAN)),
            b["plus_petit_groupe"].as_u64().unwrap_or(0),
        );
    }
    let steps: Vec<String> = r["generalisation"]
        .as_array()
        .expect("generalisation")
        .iter()
        .map(|g| {
            format!(
                "{}→{}",
                g["colonne"].as_str().unwrap_or(""),
                g["echelon"].as_str().unwrap_or("")
            )
        })
        .collect();
    println!("  generalisation: {}", steps.join(", "));
    println!(
        "  suppressed: {} persons ({}), at most {}",
        r["personnes_supprimees"],
        pct(r["part_supprimee"].as_f64().unwrap_or(f64::NAN)),
        pct(r["suppression_max"].as_f64().unwrap_or(f64::NAN))
    );
    let loss = &r["perte_information"];
    println!(
        "  information lost: non-uniform entropy {} ({} bits); discernibility {} → {}",
        pct(loss["part_entropie"].as_f64().unwrap_or(f64::NAN)),
        loss["entropie_non_uniforme_bits"],
        loss["discernabilite_avant"],
        loss["discernabilite_apres"]
    );
    println!(
        "  lattice: {} nodes, {} evaluated",
        r["treillis"][0], r["treillis"][1]
    );
    let anon = value("anonymisation_ministere");
    let delivery = value("livraison_ministere");
    let secrecy = value("secret_statistique_ministere");
    let writing = delivery - anon - secrecy;
    println!(
        "  time: measure and generalise {anon:.1} s; write the microdata {writing:.1} s (aggregates' secrecy {secrecy:.1} s apart); whole run {:.1} s; peak {} MB",
        value("secondes"),
        value("pic_mo")
    );
    println!(
        "  target: measure and generalise ≤ writing: {:.2} ×",
        anon / writing
    );
}

/// The child: runs the pipeline and prints its timings and peak.
fn step(dir: &Path) {
    let cutoff = chrono::NaiveDate::parse_from_str(CUTOFF, "%Y-%m-%d").expect("date");
    let t = Instant::now();
    let mut cfg = RunConfig::new(dir.join("extraits"), dir.join("sortie"), cutoff);
    cfg.recipients = Some(dir.join("destinataires.toml"));
    let report = run(&cfg).expect("run");
    for (stage, secs) in &report.durees_secondes {
        println!("{stage} {secs}");
    }
    println!("secondes {}", t.elapsed().as_secs_f64());
    println!("pic_mo {}", rss_mb("VmHWM:"));
}
