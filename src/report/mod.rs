//! The DREETS committee report: one self-contained HTML file per region and
//! period, in French, with plotters charts as inline SVG; the same tables
//! as a workbook (`.xlsx`) and the HTML printed to an A4 PDF, beside it.
//!
//! The walk: [`data`] reads the cleared tables of one committee delivery
//! once; [`revisions`] reads what the previous release to the same
//! committee held (release register); [`labels`] gives codes their words;
//! [`context`] turns them into plain structs and draws the charts;
//! [`template`] renders `reports/comite.html` with them, [`workbook`]
//! writes the tables, [`pdf`] prints the HTML. Wording, order, tables and
//! columns of the HTML are the template's: a statistician edits them there
//! without recompiling.
//!
//! What always holds: the report reads only a committee delivery (its
//! `agregats/`, where suppressed measures are null, and its
//! `manifest.json`) and the published counts of the register, so it cannot
//! show a suppressed value; a suppressed value is written `s`, and a chart
//! leaves it out.

mod charts;
mod context;
mod data;
mod labels;
mod pdf;
mod revisions;
mod template;
mod workbook;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::domain::fr::{fr_date, period_label};
use crate::domain::period::{last_month_of, months_ending, parse_period, shift_period};
use crate::error::{Error, Result};
use context::{Figures, Scope, Territoire};
use data::Delivery;
use labels::Labels;
use revisions::Previous;

pub use pdf::Pdf;
pub use template::TEMPLATE;

/// What to render.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    pub out: PathBuf,
    pub region: String,
    pub period: String,
    /// The committee delivery to read: a recipient name (the delivery
    /// `OUT/livraisons/<name>/`), or the path of a delivery folder (one
    /// that holds `manifest.json` and `agregats/`), which then suffices on
    /// its own.
    pub from: String,
    pub template: Option<PathBuf>,
    /// Labels replacing or adding to the shipped ones (`nomenclature;code;libelle`).
    pub libelles: Option<PathBuf>,
}

/// What a report wrote: the HTML, the workbook, and the PDF or why not.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub html: PathBuf,
    pub xlsx: PathBuf,
    pub pdf: Pdf,
}

fn region_name(code: &str) -> &'static str {
    crate::geo::region_name(code).unwrap_or("inconnue")
}

/// What a committee delivery covers.
struct Coverage {
    regions: Vec<String>,
    /// Four-month periods, in order.
    periods: Vec<String>,
}

impl Coverage {
    fn of(delivery: &Delivery) -> Self {
        let mut periods = delivery.entonnoir.periods();
        periods.retain(|p| parse_period(p).is_some());
        Coverage {
            regions: delivery.entonnoir.codes("region"),
            periods,
        }
    }

    /// Refuses a region or a period the delivery does not cover, listing
    /// what it covers.
    fn check(&self, cfg: &ReportConfig) -> Result<()> {
        let from = &cfg.from;
        if !self.regions.contains(&cfg.region) {
            let covered: Vec<String> = self
                .regions
                .iter()
                .map(|r| format!("{r} ({})", region_name(r)))
                .collect();
            return Err(Error::Config(format!(
                "region {} ({}) is not in the delivery `{from}`, which covers region(s) {}",
                cfg.region,
                region_name(&cfg.region),
                or_none(&covered)
            )));
        }
        if !self.periods.contains(&cfg.period) {
            return Err(Error::Config(format!(
                "period {} is not in the delivery `{from}`, which covers {} (a run computes the \
                 periods from the data's first day to its cut-off, or those of --period)",
                cfg.period,
                or_none(&self.periods)
            )));
        }
        Ok(())
    }
}

fn or_none(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".into()
    } else {
        items.join(", ")
    }
}

/// The error for a committee delivery that is not there, saying how to
/// produce one.
fn missing_delivery(cfg: &ReportConfig, agg_dir: &Path) -> Error {
    let with_aggregates: Vec<String> = std::fs::read_dir(cfg.out.join("livraisons"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("agregats").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    let elsewhere = if with_aggregates.is_empty() {
        String::new()
    } else {
        format!(
            " (deliveries with aggregates in this output: {}; choose one with --from)",
            with_aggregates.join(", ")
        )
    };
    Error::Config(format!(
        "{} does not exist: this output has no committee delivery `{}`{elsewhere}. \
         To produce one, add to the recipients file\n\n[[destinataires]]\nnom = \"{}\"\n\
         classe = \"comite\"\nregion = \"{}\"\n\nand run again with --recipients <that file>",
        agg_dir.display(),
        cfg.from,
        cfg.from,
        cfg.region
    ))
}

/// What the report takes from the delivery's `manifest.json` and, when
/// the delivery sits in its run's output, from `run.json`.
struct Provenance {
    cutoff: chrono::NaiveDate,
    threshold: String,
    plan_version: Option<String>,
    /// Rows read and quarantined by the run, when its `run.json` is there.
    rows: Option<(u64, u64)>,
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    serde_json::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
}

impl Provenance {
    /// Reads the delivery's manifest, and `run.json` two folders up when the
    /// delivery is in its run's output (`OUT/livraisons/<name>/`).
    fn read(delivery: &Path) -> Result<Self> {
        let manifest_path = delivery.join("manifest.json");
        let manifest = read_json(&manifest_path).ok();
        let run_json = delivery
            .parent()
            .and_then(Path::parent)
            .map(|out| out.join("run.json"))
            .filter(|p| p.is_file())
            .map(|p| read_json(&p))
            .transpose()?;
        let day = |v: Option<&serde_json::Value>| {
            v.and_then(|v| v["date_arrete"].as_str())
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        };
        let cutoff = day(manifest.as_ref())
            .or_else(|| day(run_json.as_ref()))
            .ok_or_else(|| {
                Error::Config(format!(
                    "{} has no date_arrete: is it a delivery of ouistat?",
                    manifest_path.display()
                ))
            })?;
        // Deliveries written before the manifest named its threshold: read
        // back from the dictionary's prose.
        let threshold = match manifest.as_ref().and_then(|m| m["seuil_secret"].as_u64()) {
            Some(t) => t.to_string(),
            None => {
                let text =
                    std::fs::read_to_string(delivery.join("dictionnaire.md")).unwrap_or_default();
                text.split("inférieur à ")
                    .nth(1)
                    .and_then(|t| t.split_whitespace().next())
                    .unwrap_or("11")
                    .to_string()
            }
        };
        let rows = run_json.map(|run| {
            let sum = |field: &str| -> u64 {
                run["reconciliation"]
                    .as_object()
                    .map(|o| o.values().filter_map(|r| r[field].as_u64()).sum())
                    .unwrap_or(0)
            };
            (sum("lues"), sum("quarantaine"))
        });
        Ok(Provenance {
            cutoff,
            threshold,
            plan_version: manifest
                .as_ref()
                .and_then(|m| m["plan_version"].as_str().map(str::to_string)),
            rows,
        })
    }
}

/// Everything the template is given.
#[derive(Serialize)]
struct Context {
    region: String,
    region_nom: &'static str,
    periode: String,
    periode_libelle: String,
    /// The period was still running at the cut-off.
    periode_provisoire: bool,
    periode_precedente: String,
    periode_an_precedent: String,
    /// Whether the output computed each comparison period.
    precedente_calculee: bool,
    an_precedent_calculee: bool,
    /// The comparison periods the output did not compute.
    periodes_non_calculees: Vec<String>,
    date_arrete: String,
    /// The cut-off of the previous release to this committee (French
    /// date), none for the first one.
    diffusion_precedente: Option<String>,
    /// The same, short (`30/06/2026`).
    diffusion_precedente_courte: Option<String>,
    /// Whether the release register was found beside the delivery.
    registre: bool,
    seuil: String,
    version_plan: Option<String>,
    /// None when the delivery is read without its run's output.
    lignes_lues: Option<u64>,
    lignes_quarantaine: Option<u64>,
    #[serde(flatten)]
    figures: Figures,
}

impl Context {
    /// The period as a header: `2026-T3 (provisoire au 31 octobre 2026)`.
    fn periode_entete(&self) -> String {
        provisional(&self.periode, self.periode_provisoire, &self.date_arrete)
    }

    /// The title of a table: what, where, when.
    fn titre(&self, what: &str) -> String {
        format!(
            "{what}, région {}, {} (données arrêtées au {})",
            self.region_nom,
            self.periode_entete(),
            self.date_arrete
        )
    }
}

/// A period or month, marked provisional at `date` when it was running.
fn provisional(period: &str, running: bool, date: &str) -> String {
    if running {
        format!("{period} (provisoire au {date})")
    } else {
        period.to_string()
    }
}

/// Checks what becomes part of a path or a lookup before anything is read.
fn check_args(cfg: &ReportConfig) -> Result<()> {
    if let Some(problem) = crate::geo::region_problem(&cfg.region) {
        return Err(Error::Config(format!("--region {problem}")));
    }
    if !crate::domain::names::is_recipient_name(&cfg.from) && !Path::new(&cfg.from).is_dir() {
        return Err(Error::Config(format!(
            "--from `{}` is neither a recipient name (letters, digits, - or _) nor a delivery folder",
            cfg.from
        )));
    }
    if parse_period(&cfg.period).is_none() {
        return Err(Error::Config(format!(
            "period `{}` is not of the form YYYY-T1..T3",
            cfg.period
        )));
    }
    Ok(())
}

/// The template to render, and where it comes from.
fn load_template(cfg: &ReportConfig) -> Result<(String, String)> {
    Ok(match &cfg.template {
        Some(p) => (
            std::fs::read_to_string(p).map_err(Error::io(p))?,
            p.display().to_string(),
        ),
        None => match std::fs::read_to_string("reports/comite.html") {
            Ok(t) => (t, "reports/comite.html".to_string()),
            Err(_) => (TEMPLATE.to_string(), "(built-in)".to_string()),
        },
    })
}

/// Renders the report: the HTML file, the workbook beside it
/// (`.xlsx`), and the PDF when Chromium is installed.
///
/// ```no_run
/// use ouistat::testing::report::{render, Pdf, ReportConfig};
/// let done = render(&ReportConfig {
///     out: "sortie".into(), region: "32".into(), period: "2026-T2".into(),
///     from: "comite-dreets".into(), template: None, libelles: None,
/// })?;
/// if let Pdf::Skipped(why) = &done.pdf { eprintln!("no PDF: {why}"); }
/// # Ok::<(), ouistat::Error>(())
/// ```
///
/// # Errors
/// `Config` for a region, period, delivery, template or labels file that
/// is wrong (naming it); `Internal` when Chromium is installed but fails.
pub fn render(cfg: &ReportConfig) -> Result<Rendered> {
    check_args(cfg)?;
    let (source, origin) = load_template(cfg)?;
    let labels = Labels::load(cfg.libelles.as_deref())?;
    let delivery_dir = if crate::domain::names::is_recipient_name(&cfg.from) {
        cfg.out.join("livraisons").join(&cfg.from)
    } else {
        PathBuf::from(&cfg.from)
    };
    let agg_dir = delivery_dir.join("agregats");
    if !agg_dir.is_dir() {
        return Err(missing_delivery(cfg, &agg_dir));
    }
    let provenance = Provenance::read(&delivery_dir)?;
    let (registre, previous) = previous_release(&delivery_dir, &provenance)?;
    let delivery = Delivery::open(&agg_dir)?;
    let coverage = Coverage::of(&delivery);
    coverage.check(cfg)?;

    let region = cfg.region.as_str();
    let p = cfg.period.as_str();
    let prev = shift_period(p, 1);
    let year_before = shift_period(p, 3);
    let territoires = territories(region, &delivery, &labels);
    // The last twelve months up to the period's last month or the cut-off.
    let (y, n) = parse_period(p).expect("validated");
    let mois = months_ending(last_month_of(y, n).min(provenance.cutoff), 12);
    let figures = Figures::build(
        &delivery,
        &Scope {
            periode: p,
            precedente: &prev,
            an_precedent: &year_before,
            territoires: &territoires,
            mois: &mois,
            cutoff: provenance.cutoff,
            labels: &labels,
            previous: previous.as_ref(),
        },
    )?;
    let context = report_context(
        cfg,
        provenance,
        (registre, previous.as_ref()),
        &coverage,
        figures,
    );
    let html = template::render(
        &source,
        &origin,
        &minijinja::Value::from_serialize(&context),
    )?;
    let name = format!("comite-{region}-{p}");
    let html = write_report(&cfg.out, &format!("{name}.html"), |path| {
        std::fs::write(path, &html).map_err(Error::io(path))
    })?;
    let xlsx = write_report(&cfg.out, &format!("{name}.xlsx"), |path| {
        workbook::write(&context, path)
    })?;
    let pdf = pdf::print(&html)?;
    Ok(Rendered { html, xlsx, pdf })
}

/// The report's context: the period and its neighbours, whether each was
/// computed, the provenance of the figures and the figures themselves.
fn report_context(
    cfg: &ReportConfig,
    provenance: Provenance,
    (registre, previous): (bool, Option<&Previous>),
    coverage: &Coverage,
    figures: Figures,
) -> Context {
    let (region, p) = (cfg.region.as_str(), cfg.period.as_str());
    let (prev, year_before) = (shift_period(p, 1), shift_period(p, 3));
    let computed = |per: &str| coverage.periods.iter().any(|c| c == per);
    Context {
        region: region.to_string(),
        region_nom: region_name(region),
        periode: p.to_string(),
        periode_libelle: period_label(p),
        periode_provisoire: !context::closed_by(p, provenance.cutoff),
        precedente_calculee: computed(&prev),
        an_precedent_calculee: computed(&year_before),
        periodes_non_calculees: [&prev, &year_before]
            .into_iter()
            .filter(|per| !computed(per))
            .cloned()
            .collect(),
        periode_precedente: prev,
        periode_an_precedent: year_before,
        date_arrete: fr_date(provenance.cutoff),
        diffusion_precedente: previous.map(|p| fr_date(p.date_arrete)),
        diffusion_precedente_courte: previous.map(|p| p.date_arrete.format("%d/%m/%Y").to_string()),
        registre,
        seuil: provenance.threshold,
        version_plan: provenance.plan_version,
        lignes_lues: provenance.rows.map(|r| r.0),
        lignes_quarantaine: provenance.rows.map(|r| r.1),
        figures,
    }
}

/// Whether the run that made the delivery keeps a release register (it sits
/// in the run's output, two folders above the delivery), and the
/// recipient's release before this one's cut-off, if the register holds
/// one.
///
/// # Errors
/// As [`Previous::read`]: an unreadable or damaged register.
fn previous_release(
    delivery_dir: &Path,
    provenance: &Provenance,
) -> Result<(bool, Option<Previous>)> {
    let run_out = delivery_dir.parent().and_then(Path::parent);
    let registre = run_out.is_some_and(|o| o.join(crate::register::DIR).is_dir());
    let recipient = delivery_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let previous = match run_out.filter(|_| registre) {
        Some(out) => Previous::read(out, &recipient, provenance.cutoff)?,
        None => None,
    };
    Ok((registre, previous))
}

/// The region, then its départements the delivery has figures for.
fn territories(region: &str, delivery: &Delivery, labels: &Labels) -> Vec<Territoire> {
    let in_region = crate::geo::REGIONS
        .iter()
        .find(|r| r.0 == region)
        .map(|r| r.2)
        .unwrap_or_default();
    std::iter::once(Territoire {
        niveau: "region",
        code: region.to_string(),
        libelle: labels.label("region", region),
    })
    .chain(
        delivery
            .entonnoir
            .codes("departement")
            .into_iter()
            .filter(|d| in_region.contains(&d.as_str()))
            .map(|code| Territoire {
                niveau: "departement",
                libelle: labels.label("departement", &code),
                code,
            }),
    )
    .collect()
}

/// Writes a file of the report beside, then renames it: a file is whole
/// or absent.
fn write_report(
    out: &Path,
    name: &str,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<PathBuf> {
    let dir = out.join("rapport");
    std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    let path = dir.join(name);
    let partial = dir.join(format!(".{name}.en-cours"));
    write(&partial)?;
    std::fs::rename(&partial, &path).map_err(Error::io(&path))?;
    Ok(path)
}
