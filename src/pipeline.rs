//! The `run` command: extracts → validated staging → indicators, quarantine
//! and `run.json` under the output directory (SPEC §6).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::deliver;
use crate::error::{Error, Result};
use crate::ingest::{self, Encoding, FileFormat};
use crate::output::{self, Building};
use crate::policy::Policy;
use crate::progress::Progress;
use crate::rules::{self, PlausibleDates};
use crate::schema::Extract;
use crate::stage::{Reconciliation, Stage, StageDir, MOTIFS_DEFAUT};
use crate::verdict;

/// DuckDB's memory cap by default. A national run (2 M persons) peaks at
/// about 3.1 GB of resident memory with it, within the 4 GB budget of issue
/// 16; 2 GB made the cube queries spill and cost about 10 % more time
/// (measured in `docs/performance.md`).
pub const DEFAULT_MEMORY_LIMIT: &str = "3GB";

/// A validated configuration for one run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub extracts: PathBuf,
    pub out: PathBuf,
    pub cutoff: NaiveDate,
    /// Requested four-month periods (`YYYY-Tn`); empty = every period with data.
    pub periods: Vec<String>,
    pub encoding: Encoding,
    /// A replacement reason-code list (`type;motif_code;libelle`).
    pub motifs: Option<PathBuf>,
    /// DuckDB memory cap, e.g. `3GB` ([`DEFAULT_MEMORY_LIMIT`]).
    pub memory_limit: String,
    pub threads: Option<usize>,
    /// Keep the staging database (raw personal data) after the run.
    pub keep_stage: bool,
    /// Recipients to deliver to (TOML), if any.
    pub recipients: Option<PathBuf>,
    /// A policy replacing the shipped Annex 1 policy.
    pub policy: Option<PathBuf>,
    /// The first plausible day of a session, positioning or event.
    pub earliest_activity: NaiveDate,
    /// The last plausible day of a session, positioning or event; `None`
    /// for the cut-off plus [`rules::ACTIVITY_HORIZON`].
    pub latest_activity: Option<NaiveDate>,
    /// The largest share of an extract's rows that may be quarantined
    /// before the run fails and delivers nothing (`verdict`).
    pub max_quarantine: f64,
}

impl RunConfig {
    pub fn new(extracts: impl Into<PathBuf>, out: impl Into<PathBuf>, cutoff: NaiveDate) -> Self {
        RunConfig {
            extracts: extracts.into(),
            out: out.into(),
            cutoff,
            periods: Vec::new(),
            encoding: Encoding::Utf8,
            motifs: None,
            memory_limit: DEFAULT_MEMORY_LIMIT.into(),
            threads: None,
            keep_stage: false,
            recipients: None,
            policy: None,
            earliest_activity: rules::EARLIEST_ACTIVITY,
            latest_activity: None,
            max_quarantine: verdict::DEFAULT_MAX_QUARANTINE,
        }
    }

    /// The window outside which a date is quarantined as implausible.
    pub fn plausible_dates(&self) -> PlausibleDates {
        let window =
            PlausibleDates::for_cutoff(self.cutoff).with_earliest_activity(self.earliest_activity);
        match self.latest_activity {
            Some(last) => window.with_latest_activity(last),
            None => window,
        }
    }
}

/// The indicator tables written under `indicateurs/`, with their query.
pub const INDICATORS: &[(&str, &str)] = &[
    ("sessions_remplissage", "out_sessions_remplissage"),
    ("entonnoir", "out_entonnoir"),
    ("delais", "out_delais"),
    ("pic", "out_pic"),
    ("abandons", "out_abandons"),
    ("remplissage", "out_remplissage"),
];

#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    pub extrait: String,
    pub fichier: String,
    pub format: FileFormat,
    pub octets: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    pub extrait: String,
    pub regle: String,
    pub colonne: String,
    pub nb: u64,
}

/// What `run.json` records.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub logiciel: String,
    pub version: String,
    pub date_arrete: String,
    pub periodes: Vec<String>,
    pub entrees: Vec<InputFile>,
    pub reconciliation: BTreeMap<String, Reconciliation>,
    pub avertissements: Vec<Warning>,
    /// Notes on how the columns of Parquet extracts were read: INT96
    /// columns, and columns whose values fail their type as a whole.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lecture: Vec<ingest::ColumnNote>,
    pub sorties: BTreeMap<String, u64>,
    /// Rows delivered per recipient.
    pub livraisons: BTreeMap<String, u64>,
    /// Per recipient of aggregates: the counts it receives and how many are
    /// suppressed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secret: BTreeMap<String, SecretShares>,
    /// Reports rendered from the previous run, kept under
    /// `rapport/arrete-<its cut-off>/` (paths relative to `OUT`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rapports_conserves: Vec<String>,
    /// The extracts that failed the verdict: when there are any, nothing
    /// was delivered and the run failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refus: Vec<verdict::Finding>,
    pub durees_secondes: BTreeMap<String, f64>,
}

/// The suppressed counts of one recipient's aggregates.
#[derive(Debug, Clone, Serialize)]
pub struct SecretShares {
    /// Count cells published in its tables (a count shown by two tables twice).
    pub effectifs: usize,
    pub primaires_a: usize,
    pub secondaires_d: usize,
    /// Counts of its earlier releases (release register) taken as published.
    pub diffusions_anterieures: usize,
}

/// The four-month period of a day: `2026-T2`.
pub fn period_of(d: NaiveDate) -> String {
    format!("{}-T{}", d.year(), (d.month() - 1) / 4 + 1)
}

/// Parses `YYYY-Tn` into (year, n).
pub fn parse_period(p: &str) -> Option<(i32, u32)> {
    let (y, t) = p.split_once("-T")?;
    let year: i32 = y.parse().ok()?;
    let n: u32 = t.parse().ok()?;
    (y.len() == 4 && (1..=3).contains(&n)).then_some((year, n))
}

/// The four-month periods and months from `first` to `last`, restricted to
/// `requested` (and their months) when it is not empty.
pub fn periods_between(
    first: NaiveDate,
    last: NaiveDate,
    requested: &[String],
) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    let mut seen_t = std::collections::BTreeSet::new();
    let (mut y, mut m) = (first.year(), first.month());
    while (y, m) <= (last.year(), last.month()) {
        let day = NaiveDate::from_ymd_opt(y, m, 1).expect("valid month");
        let t = period_of(day);
        if requested.is_empty() || requested.contains(&t) {
            if seen_t.insert(t.clone()) {
                out.push((t, "quadrimestre"));
            }
            out.push((format!("{y}-{m:02}"), "mois"));
        }
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    for r in requested {
        if !seen_t.contains(r) {
            out.push((r.clone(), "quadrimestre"));
            let (year, n) = parse_period(r).expect("validated period");
            for month in (n - 1) * 4 + 1..=n * 4 {
                out.push((format!("{year}-{month:02}"), "mois"));
            }
        }
    }
    out
}

fn sql_path(p: &Path) -> String {
    p.to_string_lossy().replace('\'', "''")
}

/// Runs the pipeline.
///
/// # Errors
/// [`Error::Rejected`] when an extract fails the verdict ([`verdict`]):
/// the output, with its quarantine and `run.json`, is in place, and
/// nothing was delivered.
///
/// ```no_run
/// use ouistat::pipeline::{run, RunConfig};
/// let cutoff = chrono::NaiveDate::from_ymd_opt(2026, 8, 31).unwrap();
/// let report = run(&RunConfig::new("extraits", "sortie", cutoff))?;
/// assert!(report.reconciliation.values().all(|r| r.reconcilie));
/// # Ok::<(), ouistat::Error>(())
/// ```
pub fn run(cfg: &RunConfig) -> Result<RunReport> {
    for p in &cfg.periods {
        if parse_period(p).is_none() {
            return Err(Error::Config(format!(
                "period `{p}` is not of the form YYYY-T1, YYYY-T2 or YYYY-T3"
            )));
        }
    }
    if cfg.earliest_activity > cfg.cutoff {
        return Err(Error::Config(format!(
            "the earliest plausible date {} is after the cut-off {}",
            cfg.earliest_activity, cfg.cutoff
        )));
    }
    if cfg.threads == Some(0) {
        return Err(Error::Config("--threads must be at least 1".into()));
    }
    check_memory_limit(&cfg.memory_limit)?;
    let dates = cfg.plausible_dates();
    let (first, last) = (*dates.activity.start(), *dates.activity.end());
    if last < cfg.cutoff {
        return Err(Error::Config(format!(
            "the latest plausible date {last} (--latest-date) is before the cut-off {}: \
             rows dated up to the cut-off would be quarantined",
            cfg.cutoff
        )));
    }
    if first >= last {
        return Err(Error::Config(format!(
            "the earliest plausible date {first} (--earliest-date) is not before the latest \
             {last} (--latest-date)"
        )));
    }
    let mut timings = BTreeMap::new();
    let clock = Instant::now();
    // Policy, recipients and keys are checked before anything is written.
    let policy = Policy::load(cfg.policy.as_deref())?;
    let recipients = match &cfg.recipients {
        Some(p) => deliver::load_recipients(p)?,
        None => Vec::new(),
    };
    let keys = deliver::load_keys(&recipients, &policy)?;
    let sources = ingest::find_sources(&cfg.extracts)?;
    let motifs = match &cfg.motifs {
        Some(p) => std::fs::read_to_string(p).map_err(Error::io(p))?,
        None => MOTIFS_DEFAUT.to_string(),
    };
    let mut inputs_read: Vec<(&str, &Path)> = vec![("the extracts", &cfg.extracts)];
    for (what, path) in [
        ("the recipients file", &cfg.recipients),
        ("the policy", &cfg.policy),
        ("the reason list", &cfg.motifs),
    ] {
        if let Some(p) = path {
            inputs_read.push((what, p));
        }
    }
    for r in &recipients {
        inputs_read.extend(r.cle.as_deref().map(|p| ("a key", p)));
        inputs_read.extend(r.plan.as_deref().map(|p| ("a publication plan", p)));
    }
    output::check_ownership(&cfg.out, &inputs_read)?;
    // Earlier releases made under another plan are refused before any work.
    deliver::open_register(&cfg.out, &recipients)?;
    // Everything is written beside OUT and swapped in when complete.
    let building = Building::start(&cfg.out)?;
    let rapports_conserves = building
        .carry_over()?
        .iter()
        .filter_map(|p| p.strip_prefix(&building.path).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let cfg = &RunConfig {
        out: building.path.clone(),
        ..cfg.clone()
    };
    for dir in ["indicateurs", "quarantaine"] {
        output::create_private_dir(&cfg.out.join(dir))?;
    }
    let stage_dir = if cfg.keep_stage {
        StageDir::kept(&cfg.out)?
    } else {
        StageDir::private()?
    };
    let stage = Stage::open(
        stage_dir.database().as_deref(),
        &stage_dir.spill(),
        &cfg.memory_limit,
        cfg.threads,
    )?;
    stage.load_motifs(&motifs)?;

    let mut inputs = Vec::new();
    let mut read = BTreeMap::new();
    let mut lecture = Vec::new();
    for source in &sources {
        let meta = std::fs::metadata(&source.path).map_err(Error::io(&source.path))?;
        inputs.push(InputFile {
            extrait: source.extract.name().into(),
            fichier: source.file_name(),
            format: source.format,
            octets: meta.len(),
            sha256: ingest::sha256_file(&source.path)?,
        });
        let loaded = stage.load(source, cfg.encoding, &dates)?;
        for note in &loaded.notes {
            eprintln!("warning: {note}");
        }
        lecture.extend(loaded.notes);
        read.insert(source.extract, loaded.read);
    }
    timings.insert(
        "lecture_validation".to_string(),
        clock.elapsed().as_secs_f64(),
    );

    let t = Instant::now();
    stage.apply_set_rules(&sources, cfg.encoding)?;
    let mut reconciliation = BTreeMap::new();
    for source in &sources {
        let r = stage.reconcile(source, read[&source.extract])?;
        if !r.reconcilie {
            return Err(Error::Internal(format!(
                "{}: {} rows read but {} accepted + {} quarantined",
                r.fichier, r.lues, r.acceptees, r.quarantaine
            )));
        }
        reconciliation.insert(source.extract.name().to_string(), r);
    }
    let refus = verdict::check(&stage, &reconciliation, &verdict::Settings::of(cfg))?;
    timings.insert("regles_ensemblistes".to_string(), t.elapsed().as_secs_f64());

    let t = Instant::now();
    let (first, latest) = data_span(&stage)?;
    let first = first.unwrap_or(cfg.cutoff).min(cfg.cutoff);
    if let Some(latest) = latest {
        // The periods run from the data's first day to the cut-off: a
        // cut-off far beyond the data would compute empty periods by the
        // thousand (a typo such as 2206 for 2026).
        if cfg.cutoff > latest + chrono::Months::new(12) {
            return Err(Error::Config(format!(
                "the cut-off {} is more than a year after the latest date of the extracts ({latest}): \
                 a cut-off is the day the extracts were frozen",
                cfg.cutoff
            )));
        }
    }
    let periods = periods_between(first, cfg.cutoff, &cfg.periods);
    stage.set_parameters(cfg.cutoff, &periods)?;
    stage.run("avertissements", &[])?;
    let progress = Progress::new("indicateurs", 0);
    for name in ["int_positionnements", "int_lignes", "int_eclate"] {
        progress.message(name);
        let step = Instant::now();
        stage.run(name, &[])?;
        timings.insert(format!("indicateurs/{name}"), step.elapsed().as_secs_f64());
    }
    for table in [
        "agg_personnes_multiples",
        "agg_cohorte",
        "agg_entrees",
        "agg_abandons_motifs",
    ] {
        progress.message(table);
        let step = Instant::now();
        stage.aggregate_by_level(table)?;
        timings.insert(format!("indicateurs/{table}"), step.elapsed().as_secs_f64());
    }
    stage.conn.execute_batch("drop table int_eclate")?;
    stage.run("agg_cohorte_vides", &[])?;
    stage.conn.execute_batch(&format!(
        "create or replace table int_sessions_remplissage as {}",
        crate::queries::render("out_sessions_remplissage", &[])
    ))?;
    stage.run("agg_remplissage", &[])?;
    stage.run("agg_remplissage_vides", &[])?;
    stage.keep_result_order()?;
    let mut outputs = BTreeMap::new();
    for (table, query) in INDICATORS {
        let path = cfg.out.join("indicateurs").join(format!("{table}.parquet"));
        let sql = crate::queries::render(query, &[]);
        copy_to_parquet(&stage, &sql, &path, query)?;
        let n: i64 = stage.conn.query_row(
            &format!("select count(*) from read_parquet('{}')", sql_path(&path)),
            [],
            |r| r.get(0),
        )?;
        outputs.insert(format!("indicateurs/{table}.parquet"), n as u64);
    }
    for extract in Extract::ALL {
        let path = cfg
            .out
            .join("quarantaine")
            .join(format!("{}.parquet", extract.name()));
        let sql = format!(
            "select fichier, ligne, regle, detail, contenu from quarantaine where extrait = '{}' order by ligne, regle",
            extract.name()
        );
        copy_to_parquet(&stage, &sql, &path, "quarantaine")?;
        outputs.insert(
            format!("quarantaine/{}.parquet", extract.name()),
            reconciliation[extract.name()].quarantaine,
        );
    }
    progress.done();
    timings.insert("indicateurs".to_string(), t.elapsed().as_secs_f64());

    let mut stmt = stage
        .conn
        .prepare("select extrait, regle, colonne, nb from avertissements order by all")?;
    let avertissements = stmt
        .query_map([], |r| {
            Ok(Warning {
                extrait: r.get(0)?,
                regle: r.get(1)?,
                colonne: r.get(2)?,
                nb: r.get::<_, i64>(3)? as u64,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    drop(stmt);

    let t = Instant::now();
    let mut livraisons = BTreeMap::new();
    let mut secret = BTreeMap::new();
    if !recipients.is_empty() && refus.is_empty() {
        let ctx = deliver::Context::new(
            &stage,
            &policy,
            cfg.cutoff,
            inputs
                .iter()
                .map(|i| (i.fichier.clone(), i.sha256.clone()))
                .collect(),
            &cfg.out,
            &recipients,
        )?;
        for (r, key) in recipients.iter().zip(&keys) {
            let (m, secrecy) = deliver::deliver(&ctx, r, key.as_ref())?;
            if let Some(s) = secrecy {
                timings.insert(format!("secret_statistique_{}", r.nom), s.secondes);
                secret.insert(
                    r.nom.clone(),
                    SecretShares {
                        effectifs: s.summary.tableaux.iter().map(|t| t.effectifs).sum(),
                        primaires_a: s.summary.tableaux.iter().map(|t| t.primaires_a).sum(),
                        secondaires_d: s.summary.tableaux.iter().map(|t| t.secondaires_d).sum(),
                        diffusions_anterieures: s.summary.diffusions_anterieures,
                    },
                );
            }
            let rows: u64 = m.fichiers.iter().filter_map(|f| f.lignes).sum();
            livraisons.insert(r.nom.clone(), rows);
        }
        timings.insert("livraisons".to_string(), t.elapsed().as_secs_f64());
        // Issue 25: measuring and anonymising microdata beside writing them.
        for (nom, (anon, total)) in ctx.anonymisation_secondes.borrow().iter() {
            timings.insert(format!("anonymisation_{nom}"), *anon);
            timings.insert(format!("livraison_{nom}"), *total);
        }
    }
    drop(keys);
    drop(stage);
    drop(stage_dir);
    timings.insert("total".to_string(), clock.elapsed().as_secs_f64());
    let report = RunReport {
        logiciel: "ouistat".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        date_arrete: cfg.cutoff.format("%Y-%m-%d").to_string(),
        periodes: periods.iter().map(|(p, _)| p.clone()).collect(),
        entrees: inputs,
        reconciliation,
        avertissements,
        lecture,
        sorties: outputs,
        livraisons,
        secret,
        rapports_conserves,
        refus,
        durees_secondes: timings,
    };
    let path = cfg.out.join("run.json");
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Internal(e.to_string()))?;
    std::fs::write(&path, json).map_err(Error::io(&path))?;
    building.finish()?;
    verdict::conclude(report)
}

/// The first and the latest day of the staged extracts: positionings,
/// session starts and event recordings (`None` for an empty extract).
fn data_span(stage: &Stage) -> Result<(Option<NaiveDate>, Option<NaiveDate>)> {
    let (first, latest): (Option<String>, Option<String>) = stage.conn.query_row(
        "select
            cast(least(
                (select min(cast(date_positionnement as date)) from stg_positionnements),
                (select min(date_debut) from stg_sessions)) as varchar),
            cast(greatest(
                (select max(cast(date_positionnement as date)) from stg_positionnements),
                (select max(date_debut) from stg_sessions),
                (select max(cast(enregistre_le as date)) from stg_evenements)) as varchar)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let day = |d: Option<String>| d.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
    Ok((day(first), day(latest)))
}

/// Checks a DuckDB memory cap (`2GB`, `512 MiB`, `80%`) before it reaches
/// SQL, so that a typo is the user's configuration, not a failed query.
fn check_memory_limit(limit: &str) -> Result<()> {
    const UNITS: &[&str] = &[
        "", "b", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib", "%",
    ];
    let t = limit.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    if number.parse::<f64>().is_ok_and(|n| n > 0.0) && UNITS.contains(&unit.as_str()) {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "--memory-limit `{limit}` is not a size such as 2GB, 512MiB or 80%"
        )))
    }
}

/// Writes the result of `sql` to a zstd Parquet file.
pub fn copy_to_parquet(stage: &Stage, sql: &str, path: &Path, query: &str) -> Result<()> {
    let copy = format!(
        "copy ({sql}) to '{}' (format parquet, compression zstd)",
        sql_path(path)
    );
    stage
        .conn
        .execute_batch(&copy)
        .map_err(|source| Error::Query {
            query: query.to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(period_of(d(2026, 4, 30)), "2026-T1");
        assert_eq!(period_of(d(2026, 5, 1)), "2026-T2");
        assert_eq!(period_of(d(2026, 12, 31)), "2026-T3");
        let all = periods_between(d(2026, 3, 15), d(2026, 5, 2), &[]);
        let names: Vec<&str> = all.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            names,
            ["2026-T1", "2026-03", "2026-04", "2026-T2", "2026-05"]
        );
        let only = periods_between(d(2026, 1, 1), d(2026, 12, 1), &["2026-T2".into()]);
        assert_eq!(only.len(), 5);
        assert!(parse_period("2026-T4").is_none());
    }
}
