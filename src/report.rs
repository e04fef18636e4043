//! The DREETS committee report: one self-contained HTML file per region and
//! period, in French, with plotters charts as inline SVG.
//!
//! What always holds: the report reads only cleared aggregates (the
//! `agregats/` of a committee delivery, where suppressed measures are
//! null), so it cannot show a suppressed value; a suppressed value is
//! written `s`, and a chart leaves it out. Wording and order live in the
//! template (`reports/comite.html`), read at run time.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use duckdb::Connection;
use plotters::prelude::*;

use crate::app::{fr_int, fr_pct};
use crate::error::{Error, Result};

/// The template shipped with the engine, used when `reports/comite.html`
/// is not found.
pub const TEMPLATE: &str = include_str!("../reports/comite.html");

/// The placeholders a template must hold: one per section of the report.
pub const SECTIONS: &[&str] = &[
    "chiffres_cles",
    "remplissage",
    "entonnoir",
    "entrees_mensuelles",
    "pic",
    "delais",
    "abandons",
    "methode",
];

/// The placeholders a template may hold besides [`SECTIONS`].
pub const LABELS: &[&str] = &[
    "region_nom",
    "region",
    "periode_libelle",
    "periode_precedente",
    "periode_an_precedent",
    "date_arrete",
    "seuil",
];

/// Checks a template's `{{placeholders}}`: an unknown one would be printed
/// as it is, a missing section would be left out.
///
/// # Errors
/// `Config` naming the unknown and the missing placeholders.
pub fn check_template(template: &str, origin: &str) -> Result<()> {
    let used: std::collections::BTreeSet<&str> = template
        .split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}").map(|(name, _)| name.trim()))
        .collect();
    let unknown: Vec<String> = used
        .iter()
        .filter(|n| !SECTIONS.contains(n) && !LABELS.contains(n))
        .map(|n| format!("{{{{{n}}}}}"))
        .collect();
    let missing: Vec<String> = SECTIONS
        .iter()
        .filter(|n| !used.contains(*n))
        .map(|n| format!("{{{{{n}}}}}"))
        .collect();
    let mut problems = Vec::new();
    if !unknown.is_empty() {
        problems.push(format!("unknown placeholder(s) {}", unknown.join(", ")));
    }
    if !missing.is_empty() {
        problems.push(format!(
            "missing section placeholder(s) {}",
            missing.join(", ")
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Config(format!(
        "template {origin}: {}; a template holds each of {} once, and may hold {}",
        problems.join("; "),
        SECTIONS
            .iter()
            .map(|n| format!("{{{{{n}}}}}"))
            .collect::<Vec<_>>()
            .join(", "),
        LABELS
            .iter()
            .map(|n| format!("{{{{{n}}}}}"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// What to render.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    pub out: PathBuf,
    pub region: String,
    pub period: String,
    /// The committee delivery to read (`livraisons/<name>/agregats`).
    pub from: String,
    pub template: Option<PathBuf>,
}

/// A published value, a suppressed one, or no data.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Val {
    Num(f64),
    Secret,
    Absent,
}

impl Val {
    fn num(self) -> Option<f64> {
        match self {
            Val::Num(v) => Some(v),
            _ => None,
        }
    }
}

fn region_name(code: &str) -> &'static str {
    crate::geo::region_name(code).unwrap_or("inconnue")
}

const MOIS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

fn french_date(d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    format!("{} {} {}", d.day(), MOIS[d.month0() as usize], d.year())
}

fn period_label(p: &str) -> String {
    match crate::pipeline::parse_period(p) {
        Some((y, n)) => {
            let first = (n - 1) * 4;
            format!(
                "{p} ({} à {} {y})",
                MOIS[first as usize],
                MOIS[first as usize + 3]
            )
        }
        None => p.to_string(),
    }
}

fn shift_period(p: &str, back: i32) -> String {
    let (y, n) = crate::pipeline::parse_period(p).expect("validated period");
    let idx = y * 3 + n as i32 - 1 - back;
    format!("{}-T{}", idx.div_euclid(3), idx.rem_euclid(3) + 1)
}

/// What a comparison shows for a period the output did not compute.
const NOT_COMPUTED: &str = "n.c.";

/// The note that names the comparison periods the output lacks, if any.
fn not_computed_note(coverage: &Coverage, compared: &[&str]) -> String {
    let lacking: Vec<&str> = compared
        .iter()
        .copied()
        .filter(|p| !coverage.periods.iter().any(|c| c == p))
        .collect();
    if lacking.is_empty() {
        return String::new();
    }
    format!(
        "<p class=\"note\">{NOT_COMPUTED} : période non calculée dans cette sortie ({}) : elle \
         précède les données des extractions, ou le traitement ne l'a pas demandée (option \
         <code>--period</code>).</p>",
        lacking.join(", ")
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn cell_int(v: Val) -> String {
    match v {
        Val::Num(x) => format!("<td class=\"n\">{}</td>", fr_int(x.round() as i64)),
        Val::Secret => "<td class=\"s\">s</td>".into(),
        Val::Absent => "<td class=\"n\">–</td>".into(),
    }
}

fn cell_pct(v: Val) -> String {
    match v {
        Val::Num(x) => format!("<td class=\"n\">{}</td>", fr_pct(x)),
        Val::Secret => "<td class=\"s\">s</td>".into(),
        Val::Absent => "<td class=\"n\">–</td>".into(),
    }
}

fn cell_days(v: Val) -> String {
    match v {
        Val::Num(x) => format!(
            "<td class=\"n\">{}</td>",
            format!("{x:.1}").replace('.', ",")
        ),
        Val::Secret => "<td class=\"s\">s</td>".into(),
        Val::Absent => "<td class=\"n\">–</td>".into(),
    }
}

fn text(v: Val, pct: bool) -> String {
    match v {
        Val::Num(x) if pct => fr_pct(x),
        Val::Num(x) => fr_int(x.round() as i64),
        Val::Secret => "s".into(),
        Val::Absent => "–".into(),
    }
}

struct Data {
    conn: Connection,
}

impl Data {
    /// Opens the published tables of a committee delivery, one view per
    /// cube over the tables of its plan (a table is named after its cube:
    /// `entonnoir`, `entonnoir_mois`…).
    fn open(dir: &Path) -> Result<Self> {
        let conn = Connection::open_in_memory()?;
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map_err(Error::io(dir))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".parquet").map(str::to_string))
            .collect();
        names.sort();
        for cube in ["entonnoir", "delais", "pic", "abandons", "remplissage"] {
            let files: Vec<String> = names
                .iter()
                .filter(|n| *n == cube || n.strip_prefix(cube).is_some_and(|r| r.starts_with('_')))
                .map(|n| {
                    format!(
                        "'{}'",
                        dir.join(format!("{n}.parquet"))
                            .to_string_lossy()
                            .replace('\'', "''")
                    )
                })
                .collect();
            if files.is_empty() {
                return Err(Error::Config(format!(
                    "{} has no `{cube}` table: run with a recipient of class `comite` whose publication plan has one (see README)",
                    dir.display()
                )));
            }
            conn.execute_batch(&format!(
                "create view {cube} as select * from read_parquet([{}], union_by_name = true)",
                files.join(", ")
            ))?;
        }
        Ok(Data { conn })
    }

    /// One measure of one cell of a cube, for a place of `territory`: its
    /// value, `s` when its flag `secret_<measure>` is set, or no data.
    fn get(
        &self,
        cube: &str,
        measure: &str,
        periode: &str,
        territory: &Territory,
        (dim, modalite): (&str, &str),
    ) -> Result<Val> {
        let (niveau, code) = (territory.niveau, Some(territory.code.as_str()));
        self.value(
            cube,
            measure,
            &format!(
                "periode = ? and niveau_geo = ? and code_geo is not distinct from ? and dimension = ? and modalite = ?{}",
                if cube == "abandons" { " and motif_code = 'ensemble'" } else { "" }
            ),
            &[periode, niveau, code.unwrap_or_default(), dim, modalite],
        )
    }

    /// A measure of the row `filter` selects (`?` bound to `params`).
    /// Tables of one cube share their `ensemble` rows: a row that has the
    /// measure is read first.
    fn value(&self, cube: &str, measure: &str, filter: &str, params: &[&str]) -> Result<Val> {
        let has = |c: &str| -> Result<bool> {
            let mut stmt = self.conn.prepare(&format!(
                "select count(*) from (describe {cube}) where column_name = ?"
            ))?;
            Ok(stmt.query_row([c], |r| r.get::<_, i64>(0))? > 0)
        };
        if !has(measure)? {
            return Ok(Val::Absent);
        }
        let flag = format!("secret_{measure}");
        let flag_sql = if has(&flag)? {
            flag.as_str()
        } else {
            "cast(null as varchar)"
        };
        let sql = format!(
            "select cast({measure} as double), {flag_sql} from {cube} where {filter} \
             order by ({measure} is null and {flag_sql} is null) limit 1"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(duckdb::params_from_iter(params.iter()))?;
        Ok(match rows.next()? {
            None => Val::Absent,
            Some(r) => {
                let secret: Option<String> = r.get(1)?;
                match (secret, r.get::<_, Option<f64>>(0)?) {
                    (Some(_), _) => Val::Secret,
                    (None, Some(v)) => Val::Num(v),
                    (None, None) => Val::Absent,
                }
            }
        })
    }

    /// The regions and the four-month periods the delivery covers.
    fn coverage(&self) -> Result<Coverage> {
        let regions = self.strings(
            "select distinct code_geo from entonnoir where niveau_geo = 'region' order by 1",
            &[],
        )?;
        let mut periods = self.strings("select distinct periode from entonnoir order by 1", &[])?;
        periods.retain(|p| crate::pipeline::parse_period(p).is_some());
        Ok(Coverage { regions, periods })
    }

    fn strings(&self, sql: &str, params: &[&str]) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map(duckdb::params_from_iter(params.iter()), |r| {
            r.get::<_, String>(0)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The top of a chart's value axis: 15 % above the largest published value.
fn y_ceiling(values: &[Val]) -> f64 {
    let max = values
        .iter()
        .filter_map(|v| v.num())
        .fold(0.0_f64, f64::max);
    if max <= 0.0 {
        1.0
    } else {
        max * 1.15
    }
}

/// A bar chart as inline SVG; suppressed or missing values draw no bar.
fn bar_chart(title: &str, labels: &[String], values: &[Val], percent: bool) -> Result<String> {
    let mut svg = String::new();
    let n = labels.len().max(1);
    let top = y_ceiling(values);
    {
        let root = SVGBackend::with_string(&mut svg, (640, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((0..n.saturating_sub(1).max(1)).into_segmented(), 0.0..top)
            .map_err(plot_err)?;
        let names: Vec<String> = labels
            .iter()
            .zip(values)
            .map(|(l, v)| {
                if *v == Val::Secret {
                    format!("{l} (s)")
                } else {
                    l.clone()
                }
            })
            .collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .y_label_formatter(&|y| {
                if percent {
                    fr_pct(*y)
                } else {
                    fr_int(y.round() as i64)
                }
            })
            .draw()
            .map_err(plot_err)?;
        let bars = values.iter().enumerate().filter_map(|(i, v)| {
            v.num().map(|y| {
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), y),
                    ],
                    RGBColor(0, 0, 145).filled(),
                );
                bar.set_margin(0, 0, 8, 8);
                bar
            })
        });
        chart.draw_series(bars).map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(figure(title, &svg))
}

/// A line chart of a monthly series; suppressed months break the line.
fn line_chart(title: &str, labels: &[String], values: &[Val]) -> Result<String> {
    let mut svg = String::new();
    let n = labels.len().max(1);
    let top = y_ceiling(values);
    {
        let root = SVGBackend::with_string(&mut svg, (640, 280)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0..n - 1, 0.0..top)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
            .y_label_formatter(&|y| fr_int(y.round() as i64))
            .draw()
            .map_err(plot_err)?;
        // One line per run of published months.
        let mut run: Vec<(usize, f64)> = Vec::new();
        let mut runs = Vec::new();
        for (i, v) in values.iter().enumerate() {
            match v.num() {
                Some(y) => run.push((i, y)),
                None => {
                    if !run.is_empty() {
                        runs.push(std::mem::take(&mut run));
                    }
                }
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }
        for r in runs {
            chart
                .draw_series(LineSeries::new(
                    r.clone(),
                    RGBColor(0, 0, 145).stroke_width(2),
                ))
                .map_err(plot_err)?;
            chart
                .draw_series(
                    r.into_iter()
                        .map(|p| Circle::new(p, 3, RGBColor(0, 0, 145).filled())),
                )
                .map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    Ok(figure(title, &svg))
}

fn plot_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::Internal(format!("chart: {e:?}"))
}

/// Wraps an SVG in a captioned figure with a text alternative.
fn figure(title: &str, svg: &str) -> String {
    let svg = svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{}\" ", escape(title)),
        1,
    );
    format!(
        "<figure>{svg}<figcaption>{} — données dans le tableau ci-dessous ; « s » : secret statistique, valeur non représentée.</figcaption></figure>",
        escape(title)
    )
}

/// What a committee delivery covers.
struct Coverage {
    regions: Vec<String>,
    /// Four-month periods, in order.
    periods: Vec<String>,
}

impl Coverage {
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

struct Territory {
    niveau: &'static str,
    code: String,
    label: String,
}

/// Renders the report; returns the path of the HTML file.
///
/// ```no_run
/// use ouistat::report::{render, ReportConfig};
/// let path = render(&ReportConfig {
///     out: "sortie".into(), region: "32".into(), period: "2026-T2".into(),
///     from: "comite-dreets".into(), template: None,
/// })?;
/// # Ok::<(), ouistat::Error>(())
/// ```
pub fn render(cfg: &ReportConfig) -> Result<PathBuf> {
    // Region and recipient become parts of paths: validated first.
    if let Some(problem) = crate::geo::region_problem(&cfg.region) {
        return Err(Error::Config(format!("--region {problem}")));
    }
    if !crate::deliver::is_recipient_name(&cfg.from) {
        return Err(Error::Config(format!(
            "--from `{}` is not a recipient name (letters, digits, - or _)",
            cfg.from
        )));
    }
    if crate::pipeline::parse_period(&cfg.period).is_none() {
        return Err(Error::Config(format!(
            "period `{}` is not of the form YYYY-T1..T3",
            cfg.period
        )));
    }
    let (template, origin) = match &cfg.template {
        Some(p) => (
            std::fs::read_to_string(p).map_err(Error::io(p))?,
            p.display().to_string(),
        ),
        None => match std::fs::read_to_string("reports/comite.html") {
            Ok(t) => (t, "reports/comite.html".to_string()),
            Err(_) => (TEMPLATE.to_string(), "(built-in)".to_string()),
        },
    };
    check_template(&template, &origin)?;
    let run_json: serde_json::Value = {
        let p = cfg.out.join("run.json");
        let text = std::fs::read_to_string(&p).map_err(Error::io(&p))?;
        serde_json::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", p.display())))?
    };
    let cutoff = run_json["date_arrete"]
        .as_str()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| Error::Config("run.json has no date_arrete".into()))?;
    let agg_dir = cfg.out.join("livraisons").join(&cfg.from).join("agregats");
    if !agg_dir.is_dir() {
        return Err(missing_delivery(cfg, &agg_dir));
    }
    let data = Data::open(&agg_dir)?;
    let coverage = data.coverage()?;
    coverage.check(cfg)?;
    let threshold = {
        let manifest = cfg
            .out
            .join("livraisons")
            .join(&cfg.from)
            .join("dictionnaire.md");
        let text = std::fs::read_to_string(&manifest).unwrap_or_default();
        text.split("inférieur à ")
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .unwrap_or("11")
            .to_string()
    };
    let region = cfg.region.as_str();
    let p = cfg.period.as_str();
    let prev = shift_period(p, 1);
    let year_before = shift_period(p, 3);

    // Départements of the region: from the internal session list (codes only).
    let depts = {
        let conn = Connection::open_in_memory()?;
        let path = cfg
            .out
            .join("indicateurs")
            .join("sessions_remplissage.parquet");
        let mut stmt = conn.prepare(&format!(
            "select distinct departement from read_parquet('{}') where region = ? and departement is not null order by 1",
            path.to_string_lossy().replace('\'', "''")
        ))?;
        let rows = stmt.query_map([region], |r| r.get::<_, String>(0))?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    let mut territories = vec![Territory {
        niveau: "region",
        code: region.to_string(),
        label: format!("Région {}", region_name(region)),
    }];
    territories.extend(depts.iter().map(|d| Territory {
        niveau: "departement",
        code: d.clone(),
        label: format!("Département {d}"),
    }));

    let get = |cube: &str, measure: &str, per: &str, t: &Territory, dim: &str, m: &str| {
        data.get(cube, measure, per, t, (dim, m))
    };

    // 1. Headline figures.
    let mut html = String::new();
    html.push_str("<table><thead><tr><th>Territoire</th><th>Positionnements</th><th>Entrées</th><th>Taux de remplissage</th><th>Taux d'entrée</th><th>Part PIC (positionnés)</th></tr></thead><tbody>");
    for t in &territories {
        let _ = write!(
            html,
            "<tr data-code=\"{}\"><th>{}</th>",
            escape(&t.code),
            escape(&t.label)
        );
        let measures: [(&str, &str, bool); 5] = [
            ("entonnoir", "nb_positionnements", false),
            ("entonnoir", "nb_entrees", false),
            ("remplissage", "taux_remplissage", true),
            ("entonnoir", "taux_entree", true),
            ("pic", "part_eligibles_pic_positionnes", true),
        ];
        for (cube, measure, pct) in measures {
            let now = get(cube, measure, p, t, "ensemble", "ensemble")?;
            let before = get(cube, measure, &prev, t, "ensemble", "ensemble")?;
            let last_year = get(cube, measure, &year_before, t, "ensemble", "ensemble")?;
            let cell = if pct { cell_pct(now) } else { cell_int(now) };
            let compared = |per: &str, v: Val| {
                if coverage.periods.iter().any(|c| c == per) {
                    text(v, pct)
                } else {
                    NOT_COMPUTED.to_string()
                }
            };
            let cell = cell.replacen(
                "</td>",
                &format!(
                    "<small class=\"evol\">{prev} : {} · {year_before} : {}</small></td>",
                    compared(&prev, before),
                    compared(&year_before, last_year)
                ),
                1,
            );
            html.push_str(&cell);
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html.push_str(&not_computed_note(
        &coverage,
        &[prev.as_str(), year_before.as_str()],
    ));
    let chiffres_cles = html;

    // 2. Fill rates by scheme and by département.
    let reg = &territories[0];
    let dispositifs = data.strings(
        "select distinct modalite from remplissage where periode = ? and niveau_geo = 'region' and code_geo = ? and dimension = 'dispositif' order by 1",
        &[p, region],
    )?;
    let mut fill_disp = Vec::new();
    let mut table = String::from("<table><thead><tr><th>Dispositif</th><th>Sessions</th><th>Places</th><th>Entrées</th><th>Taux de remplissage</th></tr></thead><tbody>");
    for d in &dispositifs {
        let rate = get("remplissage", "taux_remplissage", p, reg, "dispositif", d)?;
        fill_disp.push(rate);
        let _ = write!(
            table,
            "<tr><th>{}</th>{}{}{}{}</tr>",
            escape(d),
            cell_int(get("remplissage", "nb_sessions", p, reg, "dispositif", d)?),
            cell_int(get(
                "remplissage",
                "places_conventionnees",
                p,
                reg,
                "dispositif",
                d
            )?),
            cell_int(get("remplissage", "nb_entres", p, reg, "dispositif", d)?),
            cell_pct(rate)
        );
    }
    table.push_str("</tbody></table>");
    let mut remplissage = bar_chart(
        &format!(
            "Taux de remplissage par dispositif, {}, {p}",
            region_name(region)
        ),
        &dispositifs,
        &fill_disp,
        true,
    )?;
    remplissage.push_str(&table);
    let mut fill_dep = Vec::new();
    let mut table = String::from("<table><thead><tr><th>Département</th><th>Sessions</th><th>Places</th><th>Entrées</th><th>Taux de remplissage</th></tr></thead><tbody>");
    for t in &territories[1..] {
        let rate = get(
            "remplissage",
            "taux_remplissage",
            p,
            t,
            "ensemble",
            "ensemble",
        )?;
        fill_dep.push(rate);
        let _ = write!(
            table,
            "<tr data-code=\"{}\"><th>{}</th>{}{}{}{}</tr>",
            escape(&t.code),
            escape(&t.code),
            cell_int(get(
                "remplissage",
                "nb_sessions",
                p,
                t,
                "ensemble",
                "ensemble"
            )?),
            cell_int(get(
                "remplissage",
                "places_conventionnees",
                p,
                t,
                "ensemble",
                "ensemble"
            )?),
            cell_int(get(
                "remplissage",
                "nb_entres",
                p,
                t,
                "ensemble",
                "ensemble"
            )?),
            cell_pct(rate)
        );
    }
    table.push_str("</tbody></table>");
    remplissage.push_str(&bar_chart(
        &format!("Taux de remplissage par département, {p}"),
        &depts,
        &fill_dep,
        true,
    )?);
    remplissage.push_str(&table);

    // 3. Funnel.
    let steps = [
        ("nb_positionnements", "Positionnés"),
        ("nb_presents_ico", "Présents ICO"),
        ("nb_retenus", "Retenus"),
        ("nb_ais_validees", "AIS validées"),
        ("nb_entrees", "Entrés"),
    ];
    let values: Vec<Val> = steps
        .iter()
        .map(|(m, _)| get("entonnoir", m, p, reg, "ensemble", "ensemble"))
        .collect::<Result<_>>()?;
    let labels: Vec<String> = steps.iter().map(|(_, l)| l.to_string()).collect();
    let mut entonnoir = bar_chart(
        &format!("Du positionnement à l'entrée, {}, {p}", region_name(region)),
        &labels,
        &values,
        false,
    )?;
    entonnoir
        .push_str("<table><thead><tr><th>Étape</th><th>Positionnements</th></tr></thead><tbody>");
    for ((_, l), v) in steps.iter().zip(&values) {
        let _ = write!(entonnoir, "<tr><th>{l}</th>{}</tr>", cell_int(*v));
    }
    entonnoir.push_str("</tbody></table>");

    // 4. Monthly entries, last 12 months up to the period's end or the cut-off.
    let (y, n) = crate::pipeline::parse_period(p).expect("validated");
    let period_end = chrono::NaiveDate::from_ymd_opt(y, n * 4, 1).expect("month");
    let last = period_end.min(cutoff);
    let months: Vec<String> = (0..12)
        .rev()
        .map(|back| {
            use chrono::Datelike;
            let idx = last.year() * 12 + last.month0() as i32 - back;
            format!("{}-{:02}", idx.div_euclid(12), idx.rem_euclid(12) + 1)
        })
        .collect();
    let monthly: Vec<Val> = months
        .iter()
        .map(|m| get("entonnoir", "nb_entrees", m, reg, "ensemble", "ensemble"))
        .collect::<Result<_>>()?;
    let mut entrees_mensuelles = line_chart(
        &format!(
            "Entrées en formation par mois de positionnement, {}",
            region_name(region)
        ),
        &months,
        &monthly,
    )?;
    entrees_mensuelles.push_str(
        "<table><thead><tr><th>Mois de positionnement</th><th>Entrées</th></tr></thead><tbody>",
    );
    for (m, v) in months.iter().zip(&monthly) {
        let _ = write!(entrees_mensuelles, "<tr><th>{m}</th>{}</tr>", cell_int(*v));
    }
    entrees_mensuelles.push_str("</tbody></table>");

    // 5. PIC.
    let mut pic = String::from("<table><thead><tr><th>Territoire</th><th>Personnes positionnées</th><th>dont éligibles PIC</th><th>Part</th><th>Personnes entrées</th><th>dont éligibles PIC</th><th>Part</th></tr></thead><tbody>");
    let mut pic_labels = Vec::new();
    let mut pic_values = Vec::new();
    for t in &territories {
        let share_pos = get(
            "pic",
            "part_eligibles_pic_positionnes",
            p,
            t,
            "ensemble",
            "ensemble",
        )?;
        let share_ent = get(
            "pic",
            "part_eligibles_pic_entres",
            p,
            t,
            "ensemble",
            "ensemble",
        )?;
        let _ = write!(
            pic,
            "<tr data-code=\"{}\"><th>{}</th>{}{}{}{}{}{}</tr>",
            escape(&t.code),
            escape(&t.label),
            cell_int(get(
                "pic",
                "nb_personnes_positionnees",
                p,
                t,
                "ensemble",
                "ensemble"
            )?),
            cell_int(get(
                "pic",
                "nb_eligibles_pic_positionnes",
                p,
                t,
                "ensemble",
                "ensemble"
            )?),
            cell_pct(share_pos),
            cell_int(get(
                "pic",
                "nb_personnes_entrees",
                p,
                t,
                "ensemble",
                "ensemble"
            )?),
            cell_int(get(
                "pic",
                "nb_eligibles_pic_entres",
                p,
                t,
                "ensemble",
                "ensemble"
            )?),
            cell_pct(share_ent)
        );
        if t.niveau == "region" {
            pic_labels = vec!["Positionnés".to_string(), "Entrés".to_string()];
            pic_values = vec![share_pos, share_ent];
        }
    }
    pic.push_str("</tbody></table>");
    let pic = format!(
        "{}{pic}",
        bar_chart(
            &format!("Part des éligibles PIC, {}, {p}", region_name(region)),
            &pic_labels,
            &pic_values,
            true
        )?
    );

    // 6. Delays.
    let mut delais = String::from("<table><thead><tr><th>Territoire</th><th>Entrées</th><th>Médiane jusqu'à l'entrée</th><th>75e centile</th><th>Médiane jusqu'à l'ICO</th><th>75e centile</th></tr></thead><tbody>");
    let mut med = Vec::new();
    let mut labels = Vec::new();
    for t in &territories {
        let m = get(
            "delais",
            "mediane_jours_entree",
            p,
            t,
            "ensemble",
            "ensemble",
        )?;
        med.push(m);
        labels.push(if t.niveau == "region" {
            "Région".to_string()
        } else {
            t.code.clone()
        });
        let _ = write!(
            delais,
            "<tr data-code=\"{}\"><th>{}</th>{}{}{}{}{}</tr>",
            escape(&t.code),
            escape(&t.label),
            cell_int(get("delais", "nb_entrees", p, t, "ensemble", "ensemble")?),
            cell_days(m),
            cell_days(get(
                "delais",
                "p75_jours_entree",
                p,
                t,
                "ensemble",
                "ensemble"
            )?),
            cell_days(get(
                "delais",
                "mediane_jours_ico",
                p,
                t,
                "ensemble",
                "ensemble"
            )?),
            cell_days(get(
                "delais",
                "p75_jours_ico",
                p,
                t,
                "ensemble",
                "ensemble"
            )?)
        );
    }
    delais.push_str("</tbody></table>");
    let delais = format!(
        "{}{delais}",
        bar_chart(
            &format!("Délai médian du positionnement à l'entrée (jours), {p}"),
            &labels,
            &med,
            false
        )?
    );

    // 7. Abandons.
    let rate = get("abandons", "taux_abandon", p, reg, "ensemble", "ensemble")?;
    let mut abandons = format!(
        "<p>Parmi les positionnements de la période entrés en formation, taux d'abandon à la date d'arrêté : <strong>{}</strong>.</p>",
        text(rate, true)
    );
    let motifs = data.strings(
        "select distinct motif_code from abandons where periode = ? and niveau_geo = 'region' and code_geo = ? and dimension = 'ensemble' and motif_code <> 'ensemble' order by 1",
        &[p, region],
    )?;
    let mut counts = Vec::new();
    let mut rows = String::new();
    for m in &motifs {
        let filter = "periode = ? and niveau_geo = 'region' and code_geo = ? and dimension = 'ensemble' and motif_code = ?";
        let count = data.value("abandons", "nb_abandons", filter, &[p, region, m])?;
        let share = data.value("abandons", "part_abandons", filter, &[p, region, m])?;
        counts.push(count);
        let _ = write!(
            rows,
            "<tr><th>{}</th>{}{}</tr>",
            escape(m),
            cell_int(count),
            cell_pct(share)
        );
    }
    abandons.push_str(&bar_chart(
        &format!("Abandons par motif, {}, {p}", region_name(region)),
        &motifs,
        &counts,
        false,
    )?);
    let _ = write!(
        abandons,
        "<table><thead><tr><th>Motif</th><th>Abandons</th><th>Part des abandons</th></tr></thead><tbody>{rows}</tbody></table>"
    );

    // 8. Methods.
    let quarantined: u64 = run_json["reconciliation"]
        .as_object()
        .map(|o| o.values().filter_map(|r| r["quarantaine"].as_u64()).sum())
        .unwrap_or(0);
    let read: u64 = run_json["reconciliation"]
        .as_object()
        .map(|o| o.values().filter_map(|r| r["lues"].as_u64()).sum())
        .unwrap_or(0);
    let methode = format!(
        "<p><strong>Source.</strong> Extractions OuiForm arrêtées au {} (jour inclus) : seuls existent les positionnements \
         saisis et les événements enregistrés jusqu'à cette date.</p>\
         <p><strong>Définitions.</strong> Un positionnement est « présent » si sa dernière information collective (ICO) \
         est présent-retenu ou présent-non-retenu, « retenu » si elle est présent-retenu ; il est « entré » dès qu'une \
         entrée en formation est enregistrée ; un abandon est un abandon daté du jour d'entrée ou après. Le taux \
         d'entrée rapporte les entrées aux positionnements de la période (date du positionnement) ; le taux de \
         remplissage rapporte les personnes entrées aux places conventionnées des sessions débutant dans la période \
         (somme des entrées sur somme des places). Les effectifs de personnes sont des personnes distinctes.</p>\
         <p><strong>Secret statistique.</strong> Chaque effectif est traité séparément : un effectif strictement positif \
         inférieur à {threshold} est masqué (secret primaire), de même qu'une partie dont le complément dans son tout \
         (positionnements moins entrées, par exemple) est inférieur au seuil ; d'autres effectifs sont masqués pour \
         qu'aucune valeur masquée ne puisse être recalculée, même à un intervalle étroit près, à partir de l'ensemble \
         des tableaux diffusés au comité (secret secondaire, vérifié par programmation linéaire). Un taux est masqué \
         avec tout effectif dont il est calculé.</p>\
         <p><strong>Qualité des données.</strong> {} lignes lues, dont {} mises en quarantaine (règle, fichier et ligne \
         dans le dossier <code>quarantaine/</code>).</p>",
        french_date(cutoff),
        fr_int(read as i64),
        fr_int(quarantined as i64)
    );

    let html = [
        ("{{region_nom}}", region_name(region).to_string()),
        ("{{region}}", escape(region)),
        ("{{periode_libelle}}", period_label(p)),
        ("{{periode_precedente}}", prev.clone()),
        ("{{periode_an_precedent}}", year_before.clone()),
        ("{{date_arrete}}", french_date(cutoff)),
        ("{{seuil}}", threshold.clone()),
        ("{{chiffres_cles}}", chiffres_cles),
        ("{{remplissage}}", remplissage),
        ("{{entonnoir}}", entonnoir),
        ("{{entrees_mensuelles}}", entrees_mensuelles),
        ("{{pic}}", pic),
        ("{{delais}}", delais),
        ("{{abandons}}", abandons),
        ("{{methode}}", methode),
    ]
    .iter()
    .fold(template, |acc, (k, v)| acc.replace(k, v));
    let dir = cfg.out.join("rapport");
    std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    let path = dir.join(format!("comite-{region}-{p}.html"));
    // Written beside, then renamed: a report is whole or absent.
    let partial = dir.join(format!(".comite-{region}-{p}.html.en-cours"));
    std::fs::write(&partial, html).map_err(Error::io(&partial))?;
    std::fs::rename(&partial, &path).map_err(Error::io(&path))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_shift_across_years() {
        assert_eq!(shift_period("2026-T2", 1), "2026-T1");
        assert_eq!(shift_period("2026-T1", 1), "2025-T3");
        assert_eq!(shift_period("2026-T2", 3), "2025-T2");
        assert_eq!(period_label("2026-T2"), "2026-T2 (mai à août 2026)");
        assert_eq!(
            french_date(chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()),
            "31 octobre 2026"
        );
    }
}
