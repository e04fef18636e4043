//! The report's tables as a workbook (`.xlsx`, written with
//! `rust_xlsxwriter`), beside the HTML: one sheet per table of the report,
//! then a sheet of notes.
//!
//! What always holds: a figure is a number cell with a French display
//! format (thousands separated, one decimal, `%`), written from the same
//! values as the HTML; a suppressed figure is the text `s`, as in the HTML;
//! no data is an empty cell. A sheet's first row says what it holds, its
//! period and, for the period still running at the cut-off, "provisoire".

use std::path::Path;

use rust_xlsxwriter::{Color, Format, FormatAlign, Workbook, Worksheet, XlsxError};

use super::context::{Compared, Figures, Territoire};
use super::data::Val;
use super::revisions::Revision;
use super::{provisional, Context};
use crate::error::{Error, Result};

/// How a number is shown.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `12 345`
    Entier,
    /// `45,3 %` (a rate stored as 0.453)
    Pct,
    /// `12,5` (days)
    Jours,
    /// `+4,5 %` (a relative change stored as 0.045)
    Variation,
    /// `+1,2 pt` (a difference of rates, stored in points)
    Points,
}

impl Kind {
    /// The Excel number format; Excel and LibreOffice show it with the
    /// reader's separators (a space and a comma in French).
    fn code(self) -> &'static str {
        match self {
            Kind::Entier => "#,##0",
            Kind::Pct => "0.0\\ %",
            Kind::Jours => "0.0",
            Kind::Variation => "+0.0\\ %;-0.0\\ %;0.0\\ %",
            Kind::Points => "+0.0\\ \"pt\";-0.0\\ \"pt\";0.0\\ \"pt\"",
        }
    }
}

/// One cell of a sheet.
enum Cell {
    Text(String),
    Value(Val, Kind),
}

impl Cell {
    fn opt(v: Option<f64>, kind: Kind) -> Cell {
        Cell::Value(v.map_or(Val::Absent, Val::Num), kind)
    }
}

/// One table of the report.
struct Sheet {
    name: &'static str,
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

fn territoire(t: &Territoire) -> Cell {
    Cell::Text(match t.niveau {
        "region" => format!("Région {}", t.libelle),
        _ => format!("{} ({})", t.libelle, t.code),
    })
}

fn revision_cells(r: Option<&Revision>) -> [Cell; 2] {
    match r {
        Some(r) => [
            Cell::Value(r.avant, Kind::Entier),
            Cell::Value(r.ecart, Kind::Entier),
        ],
        None => [
            Cell::Value(Val::Absent, Kind::Entier),
            Cell::Value(Val::Absent, Kind::Entier),
        ],
    }
}

/// The headline table, one row per place and indicator.
fn chiffres_cles(c: &Context, f: &Figures) -> Sheet {
    let mut header: Vec<String> = vec![
        "Territoire".into(),
        "Indicateur".into(),
        c.periode_entete(),
        c.periode_precedente.clone(),
        "Évolution".into(),
        c.periode_an_precedent.clone(),
        "Évolution".into(),
    ];
    if let Some(date) = &c.diffusion_precedente {
        header.push(format!("{} publié au {date}", c.periode));
        header.push("Révision".into());
        header.push(format!("{} publié au {date}", c.periode_precedente));
        header.push("Révision".into());
    }
    let mut rows = Vec::new();
    for r in &f.chiffres_cles {
        let indicators: [(&str, &Compared, Kind); 5] = [
            ("Positionnements", &r.nb_positionnements, Kind::Entier),
            ("Entrées", &r.nb_entrees, Kind::Entier),
            ("Taux de remplissage", &r.taux_remplissage, Kind::Pct),
            ("Taux d'entrée", &r.taux_entree, Kind::Pct),
            (
                "Part PIC (positionnés)",
                &r.part_eligibles_pic_positionnes,
                Kind::Pct,
            ),
        ];
        for (name, v, kind) in indicators {
            let (evol, scale) = if v.taux {
                (Kind::Points, 100.0)
            } else {
                (Kind::Variation, 1.0)
            };
            let mut row = vec![
                territoire(&r.territoire),
                Cell::Text(name.into()),
                Cell::Value(v.valeur, kind),
                Cell::Value(v.precedente, kind),
                Cell::opt(v.evol_precedente.map(|e| e * scale), evol),
                Cell::Value(v.an_precedent, kind),
                Cell::opt(v.evol_an_precedent.map(|e| e * scale), evol),
            ];
            if c.diffusion_precedente.is_some() {
                row.extend(revision_cells(v.revision.as_ref()));
                row.extend(revision_cells(v.revision_precedente.as_ref()));
            }
            rows.push(row);
        }
    }
    Sheet {
        name: "Chiffres clés",
        title: c.titre("Chiffres clés"),
        header,
        rows,
    }
}

fn revisions(c: &Context, f: &Figures) -> Sheet {
    let date = c.diffusion_precedente.clone().unwrap_or_default();
    let header = vec![
        "Période".into(),
        "Territoire".into(),
        format!("Positionnements publiés au {date}"),
        "Positionnements aujourd'hui".into(),
        "Révision".into(),
        format!("Entrées publiées au {date}"),
        "Entrées aujourd'hui".into(),
        "Révision".into(),
    ];
    let rows = f
        .revisions
        .iter()
        .map(|l| {
            let periode = provisional(&l.periode, l.provisoire_alors, &date);
            let [avant_p, ecart_p] = revision_cells(Some(&l.revision_positionnements));
            let [avant_e, ecart_e] = revision_cells(Some(&l.revision_entrees));
            vec![
                Cell::Text(periode),
                territoire(&l.territoire),
                avant_p,
                Cell::Value(l.nb_positionnements, Kind::Entier),
                ecart_p,
                avant_e,
                Cell::Value(l.nb_entrees, Kind::Entier),
                ecart_e,
            ]
        })
        .collect();
    let title = match &c.diffusion_precedente {
        Some(d) => format!(
            "Révisions depuis la diffusion au comité des données arrêtées au {d} (données arrêtées au {})",
            c.date_arrete
        ),
        None => "Révisions : première diffusion à ce comité, rien à comparer".into(),
    };
    Sheet {
        name: "Révisions",
        title,
        header,
        rows,
    }
}

fn sheets(c: &Context) -> Vec<Sheet> {
    let f = &c.figures;
    vec![
        chiffres_cles(c, f),
        revisions(c, f),
        fill(
            "Remplissage dispositifs",
            c.titre("Remplissage des sessions par dispositif"),
            "Dispositif",
            &f.remplissage_dispositifs,
        ),
        fill(
            "Remplissage départements",
            c.titre("Remplissage des sessions par département"),
            "Département",
            &f.remplissage_departements,
        ),
        Sheet {
            name: "Entonnoir",
            title: c.titre("Du positionnement à l'entrée en formation"),
            header: header(&["Étape", "Positionnements"]),
            rows: f
                .entonnoir
                .iter()
                .map(|e| vec![Cell::Text(e.libelle.into()), int(e.valeur)])
                .collect(),
        },
        Sheet {
            name: "Prescripteurs",
            title: c.titre("Positionnements et entrées par prescripteur"),
            header: header(&[
                "Prescripteur",
                "Positionnements",
                "Entrées",
                "Taux d'entrée",
            ]),
            rows: f
                .prescripteurs
                .iter()
                .map(|p| {
                    vec![
                        Cell::Text(p.libelle.clone()),
                        int(p.nb_positionnements),
                        int(p.nb_entrees),
                        pct(p.taux_entree),
                    ]
                })
                .collect(),
        },
        monthly_entries(c, f),
        pic(c, f),
        delays(c, f),
        Sheet {
            name: "Abandons",
            title: c.titre("Abandons par motif"),
            header: header(&["Motif", "Abandons", "Part des abandons"]),
            rows: f
                .abandons
                .iter()
                .map(|m| {
                    vec![
                        Cell::Text(m.libelle.clone()),
                        int(m.nb_abandons),
                        pct(m.part_abandons),
                    ]
                })
                .collect(),
        },
    ]
}

fn int(v: Val) -> Cell {
    Cell::Value(v, Kind::Entier)
}

fn pct(v: Val) -> Cell {
    Cell::Value(v, Kind::Pct)
}

fn days(v: Val) -> Cell {
    Cell::Value(v, Kind::Jours)
}

fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// A fill sheet: sessions, places, entries and the fill rate by `first`.
fn fill(
    name: &'static str,
    title: String,
    first: &str,
    rows: &[super::context::Remplissage],
) -> Sheet {
    Sheet {
        name,
        title,
        header: header(&[
            first,
            "Sessions",
            "Places",
            "Entrées",
            "Taux de remplissage",
        ]),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Cell::Text(r.libelle.clone()),
                    int(r.nb_sessions),
                    int(r.places_conventionnees),
                    int(r.nb_entres),
                    pct(r.taux_remplissage),
                ]
            })
            .collect(),
    }
}

fn monthly_entries(c: &Context, f: &Figures) -> Sheet {
    Sheet {
        name: "Entrées mensuelles",
        title: format!(
            "Entrées en formation des douze derniers mois, région {} (données arrêtées au {})",
            c.region_nom, c.date_arrete
        ),
        header: header(&["Mois de positionnement", "Entrées"]),
        rows: f
            .entrees_mensuelles
            .iter()
            .map(|m| {
                let mois = provisional(&m.mois, m.provisoire, &c.date_arrete);
                vec![Cell::Text(mois), int(m.nb_entrees)]
            })
            .collect(),
    }
}

fn pic(c: &Context, f: &Figures) -> Sheet {
    Sheet {
        name: "PIC",
        title: c.titre("Éligibilité au PIC"),
        header: header(&[
            "Territoire",
            "Personnes positionnées",
            "dont éligibles PIC",
            "Part",
            "Personnes entrées",
            "dont éligibles PIC",
            "Part",
        ]),
        rows: f
            .pic
            .iter()
            .map(|r| {
                vec![
                    territoire(&r.territoire),
                    int(r.nb_personnes_positionnees),
                    int(r.nb_eligibles_pic_positionnes),
                    pct(r.part_eligibles_pic_positionnes),
                    int(r.nb_personnes_entrees),
                    int(r.nb_eligibles_pic_entres),
                    pct(r.part_eligibles_pic_entres),
                ]
            })
            .collect(),
    }
}

fn delays(c: &Context, f: &Figures) -> Sheet {
    Sheet {
        name: "Délais",
        title: c.titre("Délais en jours"),
        header: header(&[
            "Territoire",
            "Entrées",
            "Médiane jusqu'à l'entrée",
            "75e centile",
            "Médiane jusqu'à l'ICO",
            "75e centile",
        ]),
        rows: f
            .delais
            .iter()
            .map(|r| {
                vec![
                    territoire(&r.territoire),
                    int(r.nb_entrees),
                    days(r.mediane_jours_entree),
                    days(r.p75_jours_entree),
                    days(r.mediane_jours_ico),
                    days(r.p75_jours_ico),
                ]
            })
            .collect(),
    }
}

/// The notes sheet: what the figures are, and what `s` means.
fn notes(c: &Context) -> Vec<(String, String)> {
    let seuil = &c.seuil;
    vec![
        (
            "Région".into(),
            format!("{} (code {})", c.region_nom, c.region),
        ),
        ("Période".into(), c.periode_entete()),
        ("Date d'arrêté".into(), c.date_arrete.clone()),
        (
            "Diffusion précédente au comité".into(),
            c.diffusion_precedente
                .clone()
                .unwrap_or_else(|| "aucune (première diffusion)".into()),
        ),
        (
            "Définitions".into(),
            "Un positionnement est « présent » si sa dernière information collective (ICO) est \
             présent-retenu ou présent-non-retenu, « retenu » si elle est présent-retenu ; il est \
             « entré » dès qu'une entrée en formation est enregistrée. Le taux d'entrée rapporte \
             les entrées aux positionnements de la période ; le taux de remplissage rapporte les \
             personnes entrées aux places conventionnées des sessions débutant dans la période."
                .into(),
        ),
        (
            "Évolutions".into(),
            "Variation relative pour un effectif (+4,5 %), écart en points pour un taux \
             (+1,2 pt), calculées lorsque les deux valeurs sont diffusées."
                .into(),
        ),
        (
            "Révisions".into(),
            "Écart entre la valeur d'aujourd'hui et celle diffusée au comité précédent, donné \
             seulement lorsque les deux valeurs sont diffusées."
                .into(),
        ),
        (
            "Période provisoire".into(),
            "Une période (ou un mois) non close à la date d'arrêté est provisoire : ses chiffres \
             seront complétés aux arrêtés suivants."
                .into(),
        ),
        (
            "Secret statistique".into(),
            format!(
                "Un effectif strictement positif inférieur à {seuil} est masqué (secret primaire), \
                 de même qu'une partie dont le complément dans son tout est inférieur au seuil, \
                 et l'évolution d'un effectif depuis la diffusion précédente si elle est \
                 inférieure au seuil ; d'autres effectifs sont masqués pour qu'aucune valeur \
                 masquée ne puisse être recalculée (secret secondaire). Un taux est masqué avec \
                 tout effectif dont il est calculé."
            ),
        ),
        (
            "s".into(),
            format!(
                "Secret statistique : valeur masquée car portant sur moins de {seuil} personnes \
                 ou positionnements, ou masquée pour empêcher de recalculer une telle valeur."
            ),
        ),
        (
            "Cellule vide".into(),
            "Pas de donnée pour cette case.".into(),
        ),
    ]
}

/// Writes the workbook of `c` to `path`.
///
/// # Errors
/// `Output` naming the file when it cannot be written.
pub(super) fn write(c: &Context, path: &Path) -> Result<()> {
    let fail = |e: XlsxError| Error::Output {
        path: path.to_path_buf(),
        problem: e.to_string(),
    };
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_background_color(Color::RGB(0xEEF0FA));
    let secret = Format::new()
        .set_align(FormatAlign::Right)
        .set_italic()
        .set_font_color(Color::RGB(0x777777));
    let number = |k: Kind| Format::new().set_num_format(k.code());
    for sheet in sheets(c) {
        let ws = book.add_worksheet();
        ws.set_name(sheet.name).map_err(fail)?;
        ws.write_string_with_format(0, 0, &sheet.title, &bold)
            .map_err(fail)?;
        for (j, h) in sheet.header.iter().enumerate() {
            ws.write_string_with_format(2, col(j), h, &header)
                .map_err(fail)?;
        }
        for (i, row) in sheet.rows.iter().enumerate() {
            let r = 3 + i as u32;
            for (j, cell) in row.iter().enumerate() {
                match cell {
                    Cell::Text(t) => ws.write_string(r, col(j), t).map(drop),
                    Cell::Value(Val::Num(x), k) => ws
                        .write_number_with_format(r, col(j), *x, &number(*k))
                        .map(drop),
                    Cell::Value(Val::Secret, _) => ws
                        .write_string_with_format(r, col(j), "s", &secret)
                        .map(drop),
                    Cell::Value(Val::Absent, _) => Ok(()),
                }
                .map_err(fail)?;
            }
        }
        widths(ws, sheet.header.len()).map_err(fail)?;
        ws.set_freeze_panes(3, 1).map_err(fail)?;
    }
    let ws = book.add_worksheet();
    ws.set_name("Notes").map_err(fail)?;
    ws.write_string_with_format(0, 0, "Notes", &bold)
        .map_err(fail)?;
    let wrap = Format::new().set_text_wrap();
    for (i, (k, v)) in notes(c).iter().enumerate() {
        let r = 2 + i as u32;
        ws.write_string_with_format(r, 0, k, &bold).map_err(fail)?;
        ws.write_string_with_format(r, 1, v, &wrap).map_err(fail)?;
    }
    ws.set_column_width(0, 30).map_err(fail)?;
    ws.set_column_width(1, 100).map_err(fail)?;
    book.save(path).map_err(fail)
}

fn col(j: usize) -> u16 {
    u16::try_from(j).expect("a report table has few columns")
}

fn widths(ws: &mut Worksheet, columns: usize) -> std::result::Result<(), XlsxError> {
    ws.set_column_width(0, 34)?;
    for j in 1..columns {
        ws.set_column_width(col(j), 16)?;
    }
    Ok(())
}
