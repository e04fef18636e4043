//! Turns a parsed command into validated configurations and runs it.

use std::path::Path;

use chrono::NaiveDate;

use crate::cli::{Command, GenFormat, InputEncoding, QueryFormat};
use crate::domain::fr::{fr_int, fr_pct};
use crate::error::{Error, Result};
use crate::generate::{self, Format};
use crate::ingest::Encoding;
use crate::pipeline::{self, RunConfig, RunReport};
use crate::query::{self, OutputFormat};

/// The cut-off of the demo: end of October 2026, inside 2026-T3.
const DEMO_CUTOFF: (i32, u32, u32) = (2026, 10, 31);
/// The last complete period at the demo's cut-off.
const DEMO_PERIOD: &str = "2026-T2";

/// Executes one command.
pub fn execute(command: Command) -> Result<()> {
    match command {
        Command::Generate {
            out,
            persons,
            seed,
            format,
            defects,
            region,
        } => {
            let summary = generate::generate(&generate::Options {
                out: out.clone(),
                persons,
                seed,
                format: match format {
                    GenFormat::Csv => Format::Csv,
                    GenFormat::Parquet => Format::Parquet,
                },
                defects,
                region,
            })?;
            println!(
                "wrote {} sessions, {} persons, {} positionings, {} events to {} ({} injected defects)",
                summary.sessions,
                summary.individus,
                summary.positionnements,
                summary.evenements,
                out.display(),
                summary.defects
            );
            Ok(())
        }
        Command::Run {
            extracts,
            out,
            cutoff,
            periods,
            encoding,
            motifs,
            memory_limit,
            threads,
            keep_stage,
            recipients,
            policy,
            earliest_date,
            latest_date,
            max_quarantine,
        } => {
            let mut cfg = RunConfig::new(extracts, out, cutoff);
            cfg.periods = periods;
            cfg.encoding = match encoding {
                InputEncoding::Utf8 => Encoding::Utf8,
                InputEncoding::Windows1252 => Encoding::Windows1252,
            };
            cfg.motifs = motifs;
            cfg.memory_limit = memory_limit;
            cfg.threads = threads;
            cfg.keep_stage = keep_stage;
            cfg.recipients = recipients;
            cfg.policy = policy;
            if let Some(day) = earliest_date {
                cfg.earliest_activity = day;
            }
            cfg.latest_activity = latest_date;
            cfg.max_quarantine = max_quarantine;
            run_and_summarise(&cfg).map(|_| ())
        }
        Command::Demo {
            dir,
            persons,
            seed,
            region,
        } => demo(&dir, persons, seed, &region),
        Command::Keygen { out } => {
            crate::pseudonymise::SecretKey::generate(&out)?;
            let key = crate::pseudonymise::SecretKey::from_file(&out)?;
            println!(
                "wrote a new key to {} (fingerprint {})",
                out.display(),
                key.fingerprint()
            );
            Ok(())
        }
        Command::Report {
            out,
            region,
            period,
            from,
            template,
        } => {
            let path = crate::report::render(&crate::report::ReportConfig {
                out,
                region,
                period,
                from,
                template,
            })?;
            println!("report written to {}", path.display());
            Ok(())
        }
        Command::Verify { dir } => crate::verify::verify(&dir, &mut std::io::stdout().lock()),
        Command::Query { sql, out, format } => {
            let out = match out {
                Some(out) => out,
                None => {
                    crate::output::find_output(&std::env::current_dir().map_err(Error::io("."))?)?
                }
            };
            let batches = query::query(&out, &sql)?;
            let format = match format {
                QueryFormat::Table => OutputFormat::Table,
                QueryFormat::Csv => OutputFormat::Csv,
                QueryFormat::CsvFr => OutputFormat::CsvFr,
                QueryFormat::Json => OutputFormat::Json,
            };
            print!("{}", query::render(&batches, format)?);
            Ok(())
        }
    }
}

/// Runs the pipeline and prints its summary, that of a refused run too
/// (before its error).
fn run_and_summarise(cfg: &RunConfig) -> Result<RunReport> {
    let report = pipeline::execute(cfg)?;
    print!("{}", crate::summary::render(&report, &cfg.out));
    pipeline::conclude(report)
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
    run_and_summarise(&cfg)?;

    let outputs = query::open(&out)?;
    let db = outputs.db();
    let (pos, entrees, taux, pers, elig): (i64, i64, Option<f64>, i64, i64) = db.query_row(
        "the demo's headline",
        "select e.nb_positionnements, e.nb_entrees, e.taux_entree, p.nb_personnes_positionnees, p.nb_eligibles_pic_positionnes
         from entonnoir e join pic p using (periode, niveau_geo, dimension, modalite)
         where e.periode = ? and e.niveau_geo = 'region' and e.code_geo = ? and e.dimension = 'ensemble'",
        [DEMO_PERIOD, region],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    let (places, entres): (i64, i64) = db.query_row(
        "the demo's fill rate",
        "select coalesce(sum(places_conventionnees), 0), coalesce(sum(nb_entres), 0) from sessions_remplissage where periode = ? and region = ?",
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
    })?;
    println!(
        "Committee report, region {region}, {DEMO_PERIOD}: {}",
        report.display()
    );
    println!("\nTry next:");
    println!(
        "  cargo run -- query --out {} \"select periode, code_geo, nb_positionnements, nb_entrees, round(taux_entree, 3) as taux \
         from entonnoir where niveau_geo = 'region' and dimension = 'ensemble' and periode = '{DEMO_PERIOD}' order by code_geo\"",
        out.display()
    );
    println!("  cargo run -- verify {}", out.display());
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
