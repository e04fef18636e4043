//! `ouistat demo`: a realistic regional extract, a run with the five
//! recipients, the headline and the committee report.

use std::path::Path;

use chrono::NaiveDate;

use crate::cli::DemoArgs;
use crate::domain::fr::{fr_int, fr_pct};
use crate::error::{Error, Result};
use crate::generate::{self, Format};
use crate::pipeline::RunConfig;
use crate::query;

/// The cut-off of the demo: end of October 2026, inside 2026-T3.
const DEMO_CUTOFF: (i32, u32, u32) = (2026, 10, 31);
/// The last complete period at the demo's cut-off.
const DEMO_PERIOD: &str = "2026-T2";

pub(super) fn execute(args: &DemoArgs) -> Result<()> {
    demo(&args.dir, args.persons, args.seed, &args.region)
}

fn demo(dir: &Path, persons: u64, seed: u64, region: &str) -> Result<()> {
    let extracts = dir.join("extraits");
    let out = dir.join("sortie");
    println!(
        "ouistat demo: region {region}, {} synthetic persons (seed {seed}) in {}",
        fr_int(persons as i64),
        dir.display()
    );
    let summary = generate::generate(&generate::Options {
        out: extracts.clone(),
        persons,
        seed,
        format: Format::Csv,
        defects: 0.001,
        region: Some(region.to_string()),
    })?;
    println!(
        "  generated {} sessions, {} persons, {} positionings, {} events ({} defects injected on purpose)",
        summary.sessions, summary.individus, summary.positionnements, summary.evenements, summary.defects
    );
    let recipients = demo_recipients(dir, region)?;
    let (y, m, d) = DEMO_CUTOFF;
    let cutoff = NaiveDate::from_ymd_opt(y, m, d).expect("valid demo cut-off");
    let mut cfg = RunConfig::new(&extracts, &out, cutoff);
    cfg.recipients = Some(recipients.clone());
    println!("\nRun (cut-off {}):", cfg.cutoff);
    super::run::execute(&cfg)?;

    print_headline(&out, region)?;
    println!(
        "\nRecipients and their keys: {} (keys stay outside the outputs)",
        recipients.display()
    );
    let report = crate::report::render(&crate::report::ReportConfig {
        out: out.clone(),
        region: region.into(),
        period: DEMO_PERIOD.into(),
        from: "comite-dreets".into(),
        template: None,
        libelles: None,
    })?;
    println!("Committee report, region {region}, {DEMO_PERIOD}:");
    super::report::print_paths(&report);
    println!("\nTry next:");
    println!(
        "  cargo run -- query --out {} \"select periode, code_geo, nb_positionnements, nb_entrees, round(taux_entree, 3) as taux \
         from entonnoir where niveau_geo = 'region' and dimension = 'ensemble' and periode = '{DEMO_PERIOD}' order by code_geo\"",
        out.display()
    );
    println!("  cargo run -- verify {}", out.display());
    println!("  cargo run -- registre --out {}", out.display());
    Ok(())
}

/// Prints the demo's headline for `region` in [`DEMO_PERIOD`], read from
/// the run's output `out`: positionings, entries, the entry rate, the
/// session fill rate and the PIC-eligible share.
///
/// # Errors
/// What opening the output or its queries raise.
fn print_headline(out: &Path, region: &str) -> Result<()> {
    let outputs = query::open(out)?;
    let db = outputs.db();
    let (pos, entrees, taux, pers, elig): (i64, i64, Option<f64>, i64, i64) = db.query_row(
        "demo_chiffres",
        crate::queries::get("demo_chiffres"),
        [DEMO_PERIOD, region],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    let (places, entres): (i64, i64) = db.query_row(
        "demo_remplissage",
        crate::queries::get("demo_remplissage"),
        [DEMO_PERIOD, region],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    println!("\nHeadline, region {region}, {DEMO_PERIOD}:");
    println!("  positionings        {:>10}", fr_int(pos));
    println!("  entries             {:>10}", fr_int(entrees));
    println!(
        "  entry rate          {:>10}",
        taux.map_or("n/a".into(), fr_pct)
    );
    if places > 0 {
        println!(
            "  session fill rate   {:>10}",
            fr_pct(entres as f64 / places as f64)
        );
    }
    if pers > 0 {
        println!(
            "  PIC-eligible share  {:>10}",
            fr_pct(elig as f64 / pers as f64)
        );
    }
    Ok(())
}

/// Writes the demo's five recipients (Pôle emploi, a funder, a département,
/// the ministry and the committee of `region`) to `dir/destinataires.toml`
/// and creates their missing keys in `dir/cles/`; returns the file's path.
///
/// # Errors
/// [`Error::Io`] when a file cannot be written.
pub fn demo_recipients(dir: &Path, region: &str) -> Result<std::path::PathBuf> {
    let keys = dir.join("cles");
    for name in ["ministere", "financeur-region", "departement-62"] {
        let k = keys.join(format!("{name}.cle"));
        if !k.exists() {
            crate::pseudonymise::SecretKey::generate(&k)?;
        }
    }
    let path = dir.join("destinataires.toml");
    let text = format!(
        r#"# Recipients of the demo's deliveries (SPEC §4). Keys are relative to this file.
[[destinataires]]
nom = "pole_emploi"
classe = "pole_emploi"

[[destinataires]]
nom = "financeur-region"
classe = "financeur"
financeur_code = 2
cle = "cles/financeur-region.cle"

[[destinataires]]
nom = "departement-62"
classe = "partenaire"
departement = "62"
public = "beneficiaire_rsa"
cle = "cles/departement-62.cle"

[[destinataires]]
nom = "ministere"
classe = "ministere"
cle = "cles/ministere.cle"
seuil_secret = 11

[[destinataires]]
nom = "comite-dreets"
classe = "comite"
region = "{region}"
seuil_secret = 11
"#
    );
    std::fs::write(&path, text).map_err(Error::io(&path))?;
    Ok(path)
}
