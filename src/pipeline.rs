//! The `run` command: extracts → validated staging → indicators, quarantine
//! and `run.json` under the output directory (SPEC §6).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;
use serde::Serialize;

use crate::deliver;
use crate::domain::period::{parse_period, periods_between};
use crate::error::{Error, Result};
use crate::ingest::{self, Encoding, FileFormat};
use crate::output::{self, Building};
use crate::policy::Policy;
use crate::progress::Progress;
use crate::rules::{self, PlausibleDates};
use crate::schema::Extract;
use crate::stage::{Reconciliation, Stage, StageDir, MOTIFS_DEFAUT};
use crate::verdict;

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
    /// DuckDB memory cap, e.g. `3GB` ([`crate::warehouse::DEFAULT_MEMORY_LIMIT`]).
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
    /// The register key (issue 26); `None` for [`register_key_path`]'s default.
    pub register_key: Option<PathBuf>,
    /// The opposition and limitation list applied to every delivery.
    pub opposition: Option<PathBuf>,
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
            memory_limit: crate::warehouse::DEFAULT_MEMORY_LIMIT.into(),
            threads: None,
            keep_stage: false,
            recipients: None,
            policy: None,
            earliest_activity: rules::EARLIEST_ACTIVITY,
            latest_activity: None,
            max_quarantine: verdict::DEFAULT_MAX_QUARANTINE,
            register_key: None,
            opposition: None,
        }
    }

    /// The register key's file: `--register-key`, or `registre.cle` beside
    /// the recipients file (`None` without recipients).
    pub fn register_key_path(&self) -> Option<PathBuf> {
        let recipients = self.recipients.as_ref()?;
        Some(self.register_key.clone().unwrap_or_else(|| {
            recipients
                .parent()
                .unwrap_or(Path::new("."))
                .join(crate::register::KEY_FILE)
        }))
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

/// What the verdict of a run depends on besides the counts.
fn verdict_settings(cfg: &RunConfig) -> verdict::Settings {
    verdict::Settings {
        max_quarantine: cfg.max_quarantine,
        encoding: cfg.encoding,
        cutoff: cfg.cutoff,
        activity: cfg.plausible_dates().activity,
    }
}

/// The indicator tables written under `indicateurs/`, with their query.
pub(crate) const INDICATORS: &[(&str, &str)] = &[
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

/// Runs the pipeline and judges it: [`execute`], then [`conclude`].
///
/// # Errors
/// [`Error::Rejected`] when an extract fails the verdict ([`verdict`]):
/// the output, with its quarantine and `run.json`, is in place, and
/// nothing was delivered.
///
/// ```no_run
/// use ouistat::testing::pipeline::{run, RunConfig};
/// let cutoff = chrono::NaiveDate::from_ymd_opt(2026, 8, 31).unwrap();
/// let report = run(&RunConfig::new("extraits", "sortie", cutoff))?;
/// assert!(report.reconciliation.values().all(|r| r.reconcilie));
/// # Ok::<(), ouistat::Error>(())
/// ```
pub fn run(cfg: &RunConfig) -> Result<RunReport> {
    execute(cfg).and_then(conclude)
}

/// The run's result once its output is in place: the report, or the
/// refusal that names what failed.
///
/// # Errors
/// `Rejected` (exit 3) when the report holds findings.
pub(crate) fn conclude(report: RunReport) -> Result<RunReport> {
    if report.refus.is_empty() {
        return Ok(report);
    }
    let findings: Vec<String> = report.refus.iter().map(|f| format!("  {f}")).collect();
    Err(Error::Rejected(format!(
        "the input is too damaged to deliver from: nothing was delivered; the quarantine \
         and run.json are written\n{}",
        findings.join("\n")
    )))
}

/// Checks what the flags cannot check alone: the periods, the threads, the
/// memory cap and the window of plausible dates against the cut-off.
fn check_config(cfg: &RunConfig) -> Result<PlausibleDates> {
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
    crate::warehouse::check_memory_limit(&cfg.memory_limit)
        .map_err(|problem| Error::Config(format!("--memory-limit {problem}")))?;
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
    Ok(dates)
}

/// What a run reads before it writes anything: the policy, the recipients
/// and their keys, the extracts found, the reason codes.
struct Inputs {
    policy: Policy,
    recipients: Vec<deliver::Recipient>,
    keys: Vec<Option<crate::pseudonymise::SecretKey>>,
    /// After a rotation, each recipient's previous key.
    previous_keys: Vec<Option<crate::pseudonymise::SecretKey>>,
    /// The register key (with recipients) and the opposition list.
    register_key: Option<crate::pseudonymise::SecretKey>,
    oppositions: Option<Vec<crate::opposition::Opposition>>,
    sources: Vec<ingest::Source>,
    motifs: String,
}

/// Reads and checks every input, then checks that `--out` is ouistat's and
/// that the release register accepts the recipients' plans: all before any
/// work.
fn read_inputs(cfg: &RunConfig) -> Result<Inputs> {
    let policy = Policy::load(cfg.policy.as_deref())?;
    warn_retention(
        &policy.conservation,
        chrono::Utc::now().date_naive(),
        &cfg.out,
    );
    let recipients = match &cfg.recipients {
        Some(p) => deliver::load_recipients(p)?,
        None => Vec::new(),
    };
    let keys = deliver::load_keys(&recipients, &policy)?;
    let previous_keys = deliver::load_previous_keys(&recipients)?;
    let oppositions = match &cfg.opposition {
        Some(p) => Some(crate::opposition::load(p)?),
        None => None,
    };
    let register_key_path = cfg.register_key_path();
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
        ("the opposition list", &cfg.opposition),
        ("the register key", &register_key_path),
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
    let register_key = register_key_path
        .as_deref()
        .map(crate::register::open_key)
        .transpose()?;
    Ok(Inputs {
        policy,
        recipients,
        keys,
        previous_keys,
        register_key,
        oppositions,
        sources,
        motifs,
    })
}

/// Issue 26: warns when the convention has ended, so that personal data
/// is destroyed by the deadline (`ouistat purge`).
fn warn_retention(rule: &crate::policy::Conservation, today: NaiveDate, out: &Path) {
    if let (Some(end), Some(deadline)) = (rule.fin_convention, rule.deadline()) {
        if today > end {
            eprintln!(
                "warning: the convention ended on {end}: every copy of personal data must be \
                 destroyed by {deadline}; run `ouistat purge --out {}` with this policy",
                out.display()
            );
        }
    }
}

/// What reading the extracts gives: their files, the rows read per extract,
/// and the notes on how Parquet columns were read.
struct Read {
    files: Vec<InputFile>,
    rows: BTreeMap<Extract, u64>,
    notes: Vec<ingest::ColumnNote>,
}

/// Reads, validates and stages every extract.
fn load_extracts(
    stage: &Stage,
    sources: &[ingest::Source],
    cfg: &RunConfig,
    dates: &PlausibleDates,
) -> Result<Read> {
    let mut read = Read {
        files: Vec::new(),
        rows: BTreeMap::new(),
        notes: Vec::new(),
    };
    for source in sources {
        let meta = std::fs::metadata(&source.path).map_err(Error::io(&source.path))?;
        // The file's digest is taken while it loads, on the core the
        // appender leaves idle; an error of hashing (the file cannot be
        // read) comes first.
        let (sha256, loaded) = std::thread::scope(|scope| {
            let hashing = scope.spawn(|| crate::digest::sha256_file(&source.path));
            let loaded = stage.load(source, cfg.encoding, dates);
            let sha256 = hashing
                .join()
                .map_err(|_| Error::Internal(format!("hashing {} panicked", source.file_name())));
            (sha256.and_then(|s| s), loaded)
        });
        read.files.push(InputFile {
            extrait: source.extract.name().into(),
            fichier: source.file_name(),
            format: source.format,
            octets: meta.len(),
            sha256: sha256?,
        });
        let loaded = loaded?;
        for note in &loaded.notes {
            eprintln!("warning: {note}");
        }
        read.notes.extend(loaded.notes);
        read.rows.insert(source.extract, loaded.read);
    }
    Ok(read)
}

/// Applies the set-level rules and reconciles every extract: rows read =
/// accepted + quarantined, or a bug.
fn reconcile(
    stage: &Stage,
    sources: &[ingest::Source],
    read: &Read,
) -> Result<BTreeMap<String, Reconciliation>> {
    let mut reconciliation = BTreeMap::new();
    for source in sources {
        let r = stage.reconcile(source, read.rows[&source.extract])?;
        if !r.reconcilie {
            return Err(Error::Internal(format!(
                "{}: {} rows read but {} accepted + {} quarantined",
                r.fichier, r.lues, r.acceptees, r.quarantaine
            )));
        }
        reconciliation.insert(source.extract.name().to_string(), r);
    }
    Ok(reconciliation)
}

/// The periods of the run: from the data's first day to the cut-off (or
/// those asked for), refusing a cut-off far beyond the data.
fn periods_of_run(stage: &Stage, cfg: &RunConfig) -> Result<Vec<(String, &'static str)>> {
    let (first, latest) = data_span(stage)?;
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
    Ok(periods_between(first, cfg.cutoff, &cfg.periods))
}

/// The model after which [`UNREAD_AFTER_LIGNES`] are dropped.
const LIGNES: &str = "int_lignes";

/// What no step reads once `int_lignes` is built, unless the run delivers
/// (the deliveries read the extracts) or keeps its staging: no later model,
/// view or data test names them (a test below checks it).
const UNREAD_AFTER_LIGNES: &[&str] = &[
    "stg_individus",
    "stg_positionnements",
    "stg_evenements",
    "int_positionnements",
];

/// Builds the indicator tables in the staging, in the order their
/// dependencies give, timing each step; with `crossing`, the
/// département × zone d'emploi aggregates secrecy needs too
/// ([`Stage::aggregate_crossing`]).
fn build_indicators(
    stage: &Stage,
    progress: &Progress,
    timings: &mut BTreeMap<String, f64>,
    crossing: bool,
    keep_extracts: bool,
) -> Result<()> {
    stage
        .db()
        .build_table("avertissements", crate::queries::get("avertissements"), [])?;
    // The intermediate models, then the marts' tables, each layer in the
    // order its SQL gives; the `out_` selects are exported afterwards.
    for layer in ["intermediate", "marts"] {
        for name in crate::queries::layer_in_dependency_order(layer)? {
            if crate::queries::materialisation(name) == crate::queries::Materialisation::Query {
                continue;
            }
            progress.message(name);
            let step = Instant::now();
            stage.build(name)?;
            if name == LIGNES && !keep_extracts {
                stage.db().drop_tables(UNREAD_AFTER_LIGNES)?;
            }
            timings.insert(format!("indicateurs/{name}"), step.elapsed().as_secs_f64());
        }
    }
    check_data_tests(stage)?;
    if crossing {
        stage.aggregate_crossing()?;
    }
    stage.db().drop_tables(&["int_eclate"])
}

/// Runs the data tests of `queries/tests/` over the built tables: each
/// selects the rows that break what must hold, so a row is a bug.
///
/// # Errors
/// `Internal` naming the test and its rows.
fn check_data_tests(stage: &Stage) -> Result<()> {
    for name in crate::queries::layer("tests") {
        let failing = stage.db().count_rows(name, crate::queries::get(name))?;
        if failing > 0 {
            return Err(Error::Internal(format!(
                "the data test {name} (queries/tests/{name}.sql) selects {failing} rows where none may be"
            )));
        }
    }
    Ok(())
}

/// Writes the indicators' dictionary and keeps them in the history at the
/// run's cut-off (`historique/<cube>/date_arrete=…/`).
fn document_and_keep(
    out: &Path,
    outputs: &BTreeMap<String, u64>,
    cutoff: chrono::NaiveDate,
) -> Result<()> {
    let date = cutoff.format("%Y-%m-%d").to_string();
    let cubes: Vec<(&str, u64)> = INDICATORS
        .iter()
        .map(|(t, _)| (*t, outputs[&format!("indicateurs/{t}.parquet")]))
        .collect();
    crate::cube_dictionary::write(out, &cubes, &date)?;
    let names: Vec<&str> = cubes.iter().map(|c| c.0).collect();
    crate::history::keep(out, &names, &date)
}

/// Writes `indicateurs/` and `quarantaine/`; returns each file's rows.
fn write_indicators(
    stage: &Stage,
    out: &Path,
    reconciliation: &BTreeMap<String, Reconciliation>,
) -> Result<BTreeMap<String, u64>> {
    stage.keep_result_order()?;
    let mut outputs = BTreeMap::new();
    for (table, query) in INDICATORS {
        let path = out.join("indicateurs").join(format!("{table}.parquet"));
        let sql = crate::queries::render(query, &[]);
        stage.db().copy_to_parquet(query, &sql, &path)?;
        let n = stage.db().count_parquet(&path)?;
        outputs.insert(format!("indicateurs/{table}.parquet"), n);
    }
    for extract in Extract::ALL {
        let path = out
            .join("quarantaine")
            .join(format!("{}.parquet", extract.name()));
        stage.db().copy_to_parquet_with(
            "export_quarantaine",
            crate::queries::get("export_quarantaine"),
            [extract.name()],
            &path,
        )?;
        outputs.insert(
            format!("quarantaine/{}.parquet", extract.name()),
            reconciliation[extract.name()].quarantaine,
        );
    }
    Ok(outputs)
}

/// The warnings counted per rule (rows kept).
fn read_warnings(stage: &Stage) -> Result<Vec<Warning>> {
    stage.db().query_map(
        "lire_avertissements",
        crate::queries::get("lire_avertissements"),
        [],
        |r| {
            Ok(Warning {
                extrait: r.get(0)?,
                regle: r.get(1)?,
                colonne: r.get(2)?,
                nb: r.get::<_, i64>(3)? as u64,
            })
        },
    )
}

/// What the deliveries give `run.json`: rows per recipient, and the
/// suppressed counts of each recipient of aggregates.
#[derive(Default)]
struct Delivered {
    rows: BTreeMap<String, u64>,
    secret: BTreeMap<String, SecretShares>,
}

/// Delivers to every recipient.
fn deliver_all(
    stage: &Stage,
    inputs: &Inputs,
    files: &[InputFile],
    cfg: &RunConfig,
    timings: &mut BTreeMap<String, f64>,
) -> Result<Delivered> {
    let mut delivered = Delivered::default();
    let key = inputs
        .register_key
        .as_ref()
        .ok_or_else(|| Error::Internal("deliveries without a register key".into()))?;
    let ctx = deliver::Context::new(
        stage,
        &inputs.policy,
        cfg.cutoff,
        files
            .iter()
            .map(|i| (i.fichier.clone(), i.sha256.clone()))
            .collect(),
        &cfg.out,
        &inputs.recipients,
        deliver::Rights {
            digests: crate::pseudonymise::RegisterDigests::new(key),
            fingerprint: key.fingerprint(),
            oppositions: inputs.oppositions.clone(),
        },
    )?;
    for ((r, key), previous) in inputs
        .recipients
        .iter()
        .zip(&inputs.keys)
        .zip(&inputs.previous_keys)
    {
        let (m, secrecy) = deliver::deliver(&ctx, r, key.as_ref(), previous.as_ref())?;
        if let Some(s) = secrecy {
            timings.insert(format!("secret_statistique_{}", r.nom), s.secondes);
            delivered.secret.insert(
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
        delivered.rows.insert(r.nom.clone(), rows);
    }
    // Measuring and anonymising microdata, beside writing them.
    for (nom, (anon, total)) in ctx.anonymisation_secondes.borrow().iter() {
        timings.insert(format!("anonymisation_{nom}"), *anon);
        timings.insert(format!("livraison_{nom}"), *total);
    }
    Ok(delivered)
}

/// The run's staging: its folder (kept in the output with `keep_stage`,
/// else private and removed when dropped) and its database.
///
/// # Errors
/// What creating the folder or opening DuckDB raises.
fn open_stage(cfg: &RunConfig) -> Result<(StageDir, Stage)> {
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
    Ok((stage_dir, stage))
}

/// Issue 26: the keys rotated before this run, retired once its
/// deliveries, which bridge their pseudonyms, are in place (none when
/// nothing was delivered or the policy keeps old keys).
fn retired_keys(inputs: &Inputs, delivered: &Delivered) -> Vec<PathBuf> {
    if delivered.rows.is_empty() || inputs.policy.conservation.garder_anciennes_cles {
        return Vec::new();
    }
    inputs
        .recipients
        .iter()
        .zip(&inputs.previous_keys)
        .filter(|(_, k)| k.is_some())
        .filter_map(|(r, _)| r.cle.as_deref().map(crate::pseudonymise::previous_key_path))
        .collect()
}

/// Runs the pipeline and returns what `run.json` records, that of a run
/// the verdict refuses too (its `refus` then names why; nothing was
/// delivered).
///
/// The walk: check the configuration and read the inputs (nothing written
/// yet); stage and validate the extracts; apply the set-level rules and
/// reconcile; judge; build and write the indicators; deliver; write
/// `run.json` and swap the new output in.
///
/// # Errors
/// Any error but `Rejected`: the verdict is [`conclude`]'s.
pub(crate) fn execute(cfg: &RunConfig) -> Result<RunReport> {
    let dates = check_config(cfg)?;
    let mut timings = BTreeMap::new();
    let clock = Instant::now();
    let inputs = read_inputs(cfg)?;
    let (building, cfg, rapports_conserves) = start_output(cfg)?;
    let cfg = &cfg;
    let (stage_dir, stage) = open_stage(cfg)?;
    stage.load_motifs(&inputs.motifs)?;
    let read = load_extracts(&stage, &inputs.sources, cfg, &dates)?;
    timings.insert(
        "lecture_validation".to_string(),
        clock.elapsed().as_secs_f64(),
    );

    let t = Instant::now();
    stage.apply_set_rules(&inputs.sources, cfg.encoding)?;
    let reconciliation = reconcile(&stage, &inputs.sources, &read)?;
    let refus = verdict::check(&stage, &reconciliation, &verdict_settings(cfg))?;
    timings.insert("regles_ensemblistes".to_string(), t.elapsed().as_secs_f64());

    let t = Instant::now();
    let periods = periods_of_run(&stage, cfg)?;
    stage.set_parameters(cfg.cutoff, &periods)?;
    let progress = Progress::new("indicateurs", 0);
    let crossing = deliver::crosses_zonings(&inputs.recipients)?;
    let delivering = !inputs.recipients.is_empty() && refus.is_empty();
    let keep_extracts = delivering || cfg.keep_stage;
    build_indicators(&stage, &progress, &mut timings, crossing, keep_extracts)?;
    let outputs = write_indicators(&stage, &cfg.out, &reconciliation)?;
    document_and_keep(&cfg.out, &outputs, cfg.cutoff)?;
    progress.done();
    timings.insert("indicateurs".to_string(), t.elapsed().as_secs_f64());
    let avertissements = read_warnings(&stage)?;

    let t = Instant::now();
    let mut delivered = Delivered::default();
    if !inputs.recipients.is_empty() && refus.is_empty() {
        delivered = deliver_all(&stage, &inputs, &read.files, cfg, &mut timings)?;
        timings.insert("livraisons".to_string(), t.elapsed().as_secs_f64());
    }
    let retired = retired_keys(&inputs, &delivered);
    drop(inputs);
    drop(stage);
    drop(stage_dir);
    timings.insert("total".to_string(), clock.elapsed().as_secs_f64());
    let report = RunReport {
        logiciel: "ouistat".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        date_arrete: cfg.cutoff.format("%Y-%m-%d").to_string(),
        periodes: periods.iter().map(|(p, _)| p.clone()).collect(),
        entrees: read.files,
        reconciliation,
        avertissements,
        lecture: read.notes,
        sorties: outputs,
        livraisons: delivered.rows,
        secret: delivered.secret,
        rapports_conserves,
        refus,
        durees_secondes: timings,
    };
    let path = cfg.out.join("run.json");
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Internal(e.to_string()))?;
    std::fs::write(&path, json).map_err(Error::io(&path))?;
    building.finish()?;
    for key in retired {
        std::fs::remove_file(&key).map_err(Error::io(&key))?;
        eprintln!("note: retired the rotated key {}", key.display());
    }
    Ok(report)
}

/// Starts the output beside `cfg.out` (everything is written there and
/// swapped in when complete), with the register and the history carried
/// over and the private folders made; returns it, the run's configuration
/// pointed at it, and the reports kept from the previous output (paths
/// relative to it).
///
/// # Errors
/// As [`Building::start`] and [`Building::carry_over`]; `Io` when a folder
/// cannot be made.
fn start_output(cfg: &RunConfig) -> Result<(Building, RunConfig, Vec<String>)> {
    let building = Building::start(&cfg.out)?;
    let kept = building
        .carry_over(&[crate::register::DIR, crate::history::DIR])?
        .iter()
        .filter_map(|p| p.strip_prefix(&building.path).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let cfg = RunConfig {
        out: building.path.clone(),
        ..cfg.clone()
    };
    for dir in ["indicateurs", "quarantaine"] {
        output::create_private_dir(&cfg.out.join(dir))?;
    }
    Ok((building, cfg, kept))
}

/// The first and the latest day of the staged extracts: positionings,
/// session starts and event recordings (`None` for an empty extract).
fn data_span(stage: &Stage) -> Result<(Option<NaiveDate>, Option<NaiveDate>)> {
    let (first, latest): (Option<String>, Option<String>) = stage.db().query_row(
        "etendue_donnees",
        crate::queries::get("etendue_donnees"),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let day = |d: Option<String>| d.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
    Ok((day(first), day(latest)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queries::{get, layer, layer_in_dependency_order, names};

    /// The tables dropped once `int_lignes` is built are read by no model
    /// built after it, no view (read when exported) and no data test.
    #[test]
    fn nothing_after_int_lignes_reads_the_tables_dropped_then() {
        let mut order = layer_in_dependency_order("intermediate").unwrap();
        order.extend(layer_in_dependency_order("marts").unwrap());
        let at = order.iter().position(|m| *m == LIGNES).unwrap();
        let later: Vec<&str> = order[at + 1..]
            .iter()
            .copied()
            .chain(layer("tests"))
            .collect();
        assert!(later.contains(&"agg_cohorte") && later.contains(&"test_cohorte_emboitee"));
        for table in UNREAD_AFTER_LIGNES {
            for model in &later {
                assert!(!names(get(model), table), "{model} reads {table}");
            }
        }
        // The check can fail: int_lignes itself reads one of them.
        assert!(UNREAD_AFTER_LIGNES.iter().any(|t| names(get(LIGNES), t)));
    }
}
