//! Command-line parsing. Clap types stay here; the library sees validated
//! configurations (`RunConfig`, `generate::Options`).
//!
//! What always holds: a value that has a type (a date, a period, a region,
//! a size, a share) is parsed here, and a wrong one is a usage error (exit 2)
//! naming its flag, before any file is read.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};

/// A day `YYYY-MM-DD`.
fn day(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("`{s}` is not a date YYYY-MM-DD"))
}

/// A four-month period `YYYY-T1`..`YYYY-T3`.
fn period(s: &str) -> Result<String, String> {
    crate::domain::period::parse_period(s)
        .map(|_| s.to_string())
        .ok_or_else(|| format!("`{s}` is not of the form YYYY-T1, YYYY-T2 or YYYY-T3"))
}

/// An INSEE region code (`32`).
fn region(s: &str) -> Result<String, String> {
    match crate::geo::region_problem(s) {
        None => Ok(s.to_string()),
        Some(problem) => Err(problem),
    }
}

/// DuckDB's memory cap (`3GB`, `512MiB`, `80%`).
fn memory_limit(s: &str) -> Result<String, String> {
    crate::warehouse::check_memory_limit(s).map(|()| s.to_string())
}

/// A share (`5%`, `0.05`).
fn share(s: &str) -> Result<f64, String> {
    crate::verdict::parse_share(s).map_err(|e| match e {
        crate::Error::Config(m) => m,
        other => other.to_string(),
    })
}

/// Persons of the demo's regional extract: Hauts-de-France at its real
/// volume, about 55,000 positionings a four-month period (65–70 k entries a
/// year, SPEC §7).
pub const DEMO_PERSONS: u64 = 220_000;

#[derive(Debug, Parser)]
#[command(
    name = "ouistat",
    version,
    about = "Statistics, anonymised deliveries and committee reports from OuiForm extracts"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GenFormat {
    Csv,
    Parquet,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InputEncoding {
    #[value(name = "utf-8")]
    Utf8,
    #[value(name = "windows-1252")]
    Windows1252,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum QueryFormat {
    /// A table with its row count.
    Table,
    /// CSV with `,` and a decimal point.
    Csv,
    /// CSV as a French Excel opens it: `;`, decimal comma, UTF-8 with BOM.
    #[value(name = "csv-fr")]
    CsvFr,
    /// JSON lines.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate synthetic OuiForm extracts (deterministic for a given seed).
    #[command(after_help = "Examples:
  ouistat generate --out extraits --persons 20000
  ouistat generate --out extraits-32 --region 32 --format parquet --defects 0.01")]
    Generate(GenerateArgs),
    /// Validate, stage and compute every indicator as of a cut-off date.
    #[command(after_help = "Examples:
  ouistat run --extracts extraits --out sortie --cutoff 2026-10-31
  ouistat run --extracts extraits --out sortie --cutoff 2026-10-31 --recipients destinataires.toml
  ouistat run --extracts extraits --out sortie --cutoff 2026-10-31 --period 2026-T2 --memory-limit 2GB")]
    Run(RunArgs),
    /// Create a new random 32-byte pseudonymisation key (hex) for one recipient.
    #[command(after_help = "Example:
  ouistat keygen --out cles/pole_emploi.cle")]
    Keygen(KeygenArgs),
    /// Render the DREETS committee report for a region and a period.
    #[command(after_help = "Examples:
  ouistat report --out sortie --region 32 --period 2026-T2
  ouistat report --out sortie --region 32 --period 2026-T2 --from comite --template mon-rapport.html")]
    Report(ReportArgs),
    /// Re-check deliveries against their manifests (hashes, row counts,
    /// schemas), file by file: OK, FAILED, missing or extra.
    #[command(after_help = "Examples:
  ouistat verify sortie
  ouistat verify sortie/livraisons/ministere")]
    Verify(VerifyArgs),
    /// Generate a realistic dataset, run the pipeline and print a summary.
    #[command(after_help = "Examples:
  ouistat demo
  ouistat demo --dir /tmp/demo --persons 20000")]
    Demo(DemoArgs),
    /// Run DuckDB SQL over a run's output tables (views named after the files).
    #[command(after_help = "Examples:
  ouistat query --out sortie \"select * from entonnoir limit 5\"
  cd sortie && ouistat query --format csv-fr \"select periode, nb_entrees from entonnoir where niveau_geo = 'region'\"")]
    Query(QueryArgs),
    /// The register of deliveries: list it (by recipient, date, cut-off),
    /// verify its chain, answer a person's access request, scope a breach.
    #[command(
        args_conflicts_with_subcommands = true,
        after_help = "Examples:
  ouistat registre --out sortie --recipient ministere --since 2026-11-01
  ouistat registre verify --out sortie
  ouistat registre personne --out sortie --register-key registre.cle --nir 1850578123456
  ouistat registre livraison ministere --date 2026-12-07 --out sortie --register-key registre.cle --extracts extraits --to violation"
    )]
    Registre(RegistreArgs),
    /// Destroy the personal data of an output past the retention the
    /// policy sets (its [conservation] table), and write a destruction
    /// certificate into the register.
    #[command(after_help = "Examples:
  ouistat purge --out sortie --policy politique.toml --dry-run
  ouistat purge --out sortie --policy politique.toml")]
    Purge(PurgeArgs),
}

/// The arguments of `ouistat purge`.
#[derive(Debug, clap::Args)]
pub struct PurgeArgs {
    /// The run's output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// The policy whose [conservation] table sets the retention (default:
    /// the shipped policy, which sets no convention end).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Judge retention as of this day (default: today, UTC).
    #[arg(long, value_parser = day)]
    pub as_of: Option<NaiveDate>,
    /// List what would be destroyed; touch nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The arguments of `ouistat registre`.
#[derive(Debug, clap::Args)]
pub struct RegistreArgs {
    #[command(subcommand)]
    pub command: Option<RegistreCommand>,
    #[command(flatten)]
    pub list: RegistreListArgs,
}

/// The listing of the register of deliveries.
#[derive(Debug, clap::Args)]
pub struct RegistreListArgs {
    /// The run's output directory (default: found from the current one).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only the deliveries to this recipient.
    #[arg(long)]
    pub recipient: Option<String>,
    /// Only the deliveries made on or after this day (YYYY-MM-DD, UTC).
    #[arg(long, value_parser = day)]
    pub since: Option<NaiveDate>,
    /// Only the deliveries made on or before this day (YYYY-MM-DD, UTC).
    #[arg(long, value_parser = day)]
    pub until: Option<NaiveDate>,
    /// Only the deliveries at this cut-off.
    #[arg(long, value_parser = day)]
    pub cutoff: Option<NaiveDate>,
}

#[derive(Debug, Subcommand)]
pub enum RegistreCommand {
    /// Check the register's chain: a removed or altered entry, persons file
    /// or manifest copy is reported (exit 5).
    Verify {
        /// The run's output directory (default: found from the current one).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// An access request: the deliveries that held a person's data, when,
    /// in which files and columns, and the oppositions honoured.
    Personne(PersonneArgs),
    /// A breach: the persons one delivery held, re-identified from the
    /// current extracts, with the columns each received, written to an
    /// owner-only folder.
    Livraison(LivraisonArgs),
}

/// The arguments of `ouistat registre personne`.
#[derive(Debug, clap::Args)]
pub struct PersonneArgs {
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The register key the run used.
    #[arg(long)]
    pub register_key: PathBuf,
    #[command(flatten)]
    pub id: PersonId,
}

/// One identifier of a person.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct PersonId {
    #[arg(long)]
    pub identifiant_spe: Option<String>,
    #[arg(long)]
    pub nir: Option<String>,
    #[arg(long)]
    pub identifiant_national_pe: Option<String>,
    #[arg(long)]
    pub identifiant_regional_pe: Option<String>,
}

/// The arguments of `ouistat registre livraison`.
#[derive(Debug, clap::Args)]
pub struct LivraisonArgs {
    /// The recipient's name.
    pub name: String,
    /// The day of the delivery (UTC) or its cut-off.
    #[arg(long, value_parser = day)]
    pub date: NaiveDate,
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The register key the run used.
    #[arg(long)]
    pub register_key: PathBuf,
    /// The current extracts, where the persons are re-identified.
    #[arg(long)]
    pub extracts: PathBuf,
    /// The folder to write the listing to (created owner-only; must not
    /// exist or be empty).
    #[arg(long)]
    pub to: PathBuf,
}

/// The arguments of `ouistat generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Directory to write the four extracts into.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of persons.
    #[arg(long, default_value_t = 10_000)]
    pub persons: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: GenFormat,
    /// Share of rows (0 to 1) that receive a defect; the list of injected
    /// defects is written to defauts_injectes.csv.
    #[arg(long, default_value_t = 0.0)]
    pub defects: f64,
    /// One region's extract (INSEE code, e.g. 32), as a DREETS has it;
    /// France when absent.
    #[arg(long)]
    pub region: Option<String>,
}

/// The arguments of `ouistat run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Directory holding sessions, individus, positionnements and evenements (.csv or .parquet).
    #[arg(long)]
    pub extracts: PathBuf,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Cut-off date (YYYY-MM-DD), whole day included.
    #[arg(long, value_parser = day)]
    pub cutoff: NaiveDate,
    /// Four-month periods to compute (YYYY-T1..T3); default: every period with data.
    #[arg(long = "period", value_parser = period)]
    pub periods: Vec<String>,
    /// Encoding of CSV extracts.
    #[arg(long, value_enum, default_value = "utf-8")]
    pub encoding: InputEncoding,
    /// Reason-code list replacing the shipped one (type;motif_code;libelle).
    #[arg(long)]
    pub motifs: Option<PathBuf>,
    /// DuckDB memory cap; larger data spills to disk.
    #[arg(long, default_value = crate::warehouse::DEFAULT_MEMORY_LIMIT, value_parser = memory_limit)]
    pub memory_limit: String,
    /// DuckDB threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Keep the staging database (holds raw personal data) in OUT/.ouistat.
    #[arg(long)]
    pub keep_stage: bool,
    /// Recipients to deliver to (TOML); deliveries go to OUT/livraisons/<nom>/.
    #[arg(long)]
    pub recipients: Option<PathBuf>,
    /// A policy replacing the shipped Annex 1 policy (TOML).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// First plausible date of a session, positioning or event
    /// (YYYY-MM-DD, default 2015-01-01); earlier ones, like later ones
    /// than a year after the cut-off, are quarantined (date_improbable).
    #[arg(long, value_parser = day)]
    pub earliest_date: Option<NaiveDate>,
    /// Last plausible date of a session, positioning or event
    /// (YYYY-MM-DD, not before the cut-off; default the cut-off plus
    /// one year); later ones are quarantined (date_improbable).
    #[arg(long, value_parser = day)]
    pub latest_date: Option<NaiveDate>,
    /// Largest share of an extract's rows that may be quarantined, as a
    /// percentage (5%) or a fraction (0.05). Beyond it, or when an
    /// extract has no accepted row (a single quarantined row never fails
    /// a run on its own), the run writes its quarantine and
    /// run.json, delivers nothing and exits with code 3.
    #[arg(long, default_value = "5%", value_parser = share)]
    pub max_quarantine: f64,
    /// The register key (hex), under which the register of deliveries
    /// records persons as digests; default registre.cle beside the
    /// recipients file, created on the first run.
    #[arg(long)]
    pub register_key: Option<PathBuf>,
    /// Opposition and limitation list (`<identifier>;classes;date`, see the
    /// README): those persons' rows never reach the classes named.
    #[arg(long)]
    pub opposition: Option<PathBuf>,
}

/// The arguments of `ouistat keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Key file to create (refuses to overwrite); keep it outside the outputs.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the recipient's key in this file: the next delivery uses the
    /// new key and carries a table from old to new pseudonyms.
    #[arg(long)]
    pub rotation: bool,
}

/// The arguments of `ouistat report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The run's output directory (the report goes to OUT/rapport/).
    #[arg(long)]
    pub out: PathBuf,
    /// INSEE region code, e.g. 32 for Hauts-de-France.
    #[arg(long, value_parser = region)]
    pub region: String,
    /// Four-month period, e.g. 2026-T2.
    #[arg(long, value_parser = period)]
    pub period: String,
    /// The committee delivery whose cleared aggregates are read: a
    /// recipient name (OUT/livraisons/NAME), or the path of a delivery
    /// folder, which then suffices on its own.
    #[arg(long, default_value = "comite-dreets")]
    pub from: String,
    /// HTML template (default: reports/comite.html if present, else the built-in copy).
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// Labels replacing or adding to the shipped ones: a `;`-separated file
    /// `nomenclature;code;libelle` (nomenclatures dispositif,
    /// financeur_code, prescripteur_type, motif, departement, region).
    #[arg(long)]
    pub libelles: Option<PathBuf>,
}

/// The arguments of `ouistat verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A delivery folder (holding manifest.json), or a run's output
    /// (every delivery under its livraisons/).
    pub dir: PathBuf,
}

/// The arguments of `ouistat demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Working directory for the demo's extracts and outputs.
    #[arg(long, default_value = "ouistat-demo")]
    pub dir: PathBuf,
    /// Persons of the region's extract; the default gives Hauts-de-France
    /// its real volume (about 55,000 positionings a four-month period).
    #[arg(long, default_value_t = DEMO_PERSONS)]
    pub persons: u64,
    /// The region of the extract and of the committee report (INSEE code).
    #[arg(long, default_value = "32", value_parser = region)]
    pub region: String,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// The arguments of `ouistat query`.
#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// The SQL statement.
    pub sql: String,
    /// The run's output directory; by default, the output the current
    /// directory is in (or holds as `sortie/`), found as git finds its
    /// repository.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: QueryFormat,
}
