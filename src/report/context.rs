//! What the template is given: plain structs built from the delivery's
//! cubes, with no HTML and no wording. The template decides what is shown,
//! in which order, and says it.

use serde::Serialize;

use super::charts::{bar_chart, line_chart};
use super::data::{Cube, Delivery, Val};
use super::labels::Labels;
use super::revisions::{Previous, Revision, REVISED};
use crate::error::Result;

/// A value now, and the same value in the two periods it is compared with.
#[derive(Debug, Serialize)]
pub(crate) struct Compared {
    pub(crate) valeur: Val,
    pub(crate) precedente: Val,
    pub(crate) an_precedent: Val,
    /// The change from each comparison period when both values are
    /// published: relative for a count (0.045 for +4.5 %), a difference of
    /// rates for a rate (0.012 for +1.2 points).
    pub(crate) evol_precedente: Option<f64>,
    pub(crate) evol_an_precedent: Option<f64>,
    /// Whether the value is a rate (its change is in points).
    pub(crate) taux: bool,
    /// The value and the previous period's as the previous committee
    /// received them, for a count that release held.
    pub(crate) revision: Option<Revision>,
    pub(crate) revision_precedente: Option<Revision>,
}

/// A place the report shows: the region, or one of its départements.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Territoire {
    /// `region` or `departement`.
    pub(crate) niveau: &'static str,
    pub(crate) code: String,
    /// Its name (`Hauts-de-France`, `Aisne`).
    pub(crate) libelle: String,
}

/// One row of the headline table.
#[derive(Debug, Serialize)]
pub(crate) struct ChiffresCles {
    pub(crate) territoire: Territoire,
    pub(crate) nb_positionnements: Compared,
    pub(crate) nb_entrees: Compared,
    pub(crate) taux_remplissage: Compared,
    pub(crate) taux_entree: Compared,
    pub(crate) part_eligibles_pic_positionnes: Compared,
}

/// Session fill of a scheme or a place.
#[derive(Debug, Serialize)]
pub(crate) struct Remplissage {
    /// The scheme (`AFC`…) or the département's code.
    pub(crate) code: String,
    /// Its label.
    pub(crate) libelle: String,
    pub(crate) nb_sessions: Val,
    pub(crate) places_conventionnees: Val,
    pub(crate) nb_entres: Val,
    pub(crate) taux_remplissage: Val,
}

/// One step of the funnel.
#[derive(Debug, Serialize)]
pub(crate) struct Etape {
    /// The measure (`nb_positionnements`…).
    pub(crate) mesure: &'static str,
    /// Its label (`Positionnés`).
    pub(crate) libelle: &'static str,
    pub(crate) valeur: Val,
}

/// Entries of one month of positioning.
#[derive(Debug, Serialize)]
pub(crate) struct Mois {
    pub(crate) mois: String,
    pub(crate) nb_entrees: Val,
    /// The month was not over at the cut-off.
    pub(crate) provisoire: bool,
}

/// The funnel of one modality of a dimension (a prescriber), region-wide.
#[derive(Debug, Serialize)]
pub(crate) struct Ventilation {
    pub(crate) code: String,
    pub(crate) libelle: String,
    pub(crate) nb_positionnements: Val,
    pub(crate) nb_entrees: Val,
    pub(crate) taux_entree: Val,
}

/// One period and place of the previous release, then and now.
#[derive(Debug, Serialize)]
pub(crate) struct LigneRevision {
    pub(crate) periode: String,
    pub(crate) territoire: Territoire,
    /// The period was still running at the previous release's cut-off.
    pub(crate) provisoire_alors: bool,
    pub(crate) nb_positionnements: Val,
    pub(crate) revision_positionnements: Revision,
    pub(crate) nb_entrees: Val,
    pub(crate) revision_entrees: Revision,
}

/// PIC eligibility of a place.
#[derive(Debug, Serialize)]
pub(crate) struct Pic {
    pub(crate) territoire: Territoire,
    pub(crate) nb_personnes_positionnees: Val,
    pub(crate) nb_eligibles_pic_positionnes: Val,
    pub(crate) part_eligibles_pic_positionnes: Val,
    pub(crate) nb_personnes_entrees: Val,
    pub(crate) nb_eligibles_pic_entres: Val,
    pub(crate) part_eligibles_pic_entres: Val,
}

/// Delays of a place.
#[derive(Debug, Serialize)]
pub(crate) struct Delais {
    pub(crate) territoire: Territoire,
    pub(crate) nb_entrees: Val,
    pub(crate) mediane_jours_entree: Val,
    pub(crate) p75_jours_entree: Val,
    pub(crate) mediane_jours_ico: Val,
    pub(crate) p75_jours_ico: Val,
}

/// Abandons of one motif.
#[derive(Debug, Serialize)]
pub(crate) struct Motif {
    pub(crate) motif_code: String,
    /// Its label, or "autre motif (code XY)".
    pub(crate) libelle: String,
    pub(crate) nb_abandons: Val,
    pub(crate) part_abandons: Val,
}

/// The charts, as bare SVG; the template captions them.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Graphiques {
    pub(crate) remplissage_dispositif: String,
    pub(crate) remplissage_departement: String,
    pub(crate) entonnoir: String,
    pub(crate) entrees_mensuelles: String,
    pub(crate) pic: String,
    pub(crate) delais: String,
    pub(crate) abandons: String,
}

/// The figures of one report.
#[derive(Debug, Serialize)]
pub(crate) struct Figures {
    pub(crate) chiffres_cles: Vec<ChiffresCles>,
    pub(crate) remplissage_dispositifs: Vec<Remplissage>,
    pub(crate) remplissage_departements: Vec<Remplissage>,
    pub(crate) entonnoir: Vec<Etape>,
    pub(crate) prescripteurs: Vec<Ventilation>,
    pub(crate) entrees_mensuelles: Vec<Mois>,
    pub(crate) pic: Vec<Pic>,
    pub(crate) delais: Vec<Delais>,
    pub(crate) taux_abandon: Val,
    pub(crate) abandons: Vec<Motif>,
    /// Every period and place of the previous release; empty when there is
    /// none.
    pub(crate) revisions: Vec<LigneRevision>,
    pub(crate) graphiques: Graphiques,
}

/// The steps of the funnel, in order, with the labels drawn on its chart.
const STEPS: [(&str, &str); 5] = [
    ("nb_positionnements", "Positionnés"),
    ("nb_presents_ico", "Présents ICO"),
    ("nb_retenus", "Retenus"),
    ("nb_ais_validees", "AIS validées"),
    ("nb_entrees", "Entrés"),
];

/// What the figures are of.
pub(crate) struct Scope<'a> {
    pub(crate) periode: &'a str,
    pub(crate) precedente: &'a str,
    pub(crate) an_precedent: &'a str,
    /// The region first, then its départements.
    pub(crate) territoires: &'a [Territoire],
    /// The twelve months of the monthly series.
    pub(crate) mois: &'a [String],
    pub(crate) cutoff: chrono::NaiveDate,
    pub(crate) labels: &'a Labels,
    /// The previous release to the same committee, if any.
    pub(crate) previous: Option<&'a Previous>,
}

const ENSEMBLE: (&str, &str) = ("ensemble", "ensemble");

/// The change from `then` to `now`: relative for a count, a difference for
/// a rate; none unless both are published (and `then` positive for a count).
fn change(now: Val, then: Val, rate: bool) -> Option<f64> {
    let (now, then) = (now.num()?, then.num()?);
    if rate {
        Some(now - then)
    } else {
        (then > 0.0).then(|| now / then - 1.0)
    }
}

fn compared(cube: &Cube, measure: &str, t: &Territoire, s: &Scope) -> Compared {
    let get = |p: &str| cube.get(measure, p, place(t), ENSEMBLE);
    let (valeur, precedente, an_precedent) =
        (get(s.periode), get(s.precedente), get(s.an_precedent));
    let taux = !REVISED.contains(&measure) && !measure.starts_with("nb_");
    let revision = |p: &str, now: Val| {
        s.previous
            .filter(|_| REVISED.contains(&measure))
            .and_then(|prev| prev.revision(measure, p, place(t), now))
    };
    Compared {
        evol_precedente: change(valeur, precedente, taux),
        evol_an_precedent: change(valeur, an_precedent, taux),
        taux,
        revision: revision(s.periode, valeur),
        revision_precedente: revision(s.precedente, precedente),
        valeur,
        precedente,
        an_precedent,
    }
}

/// Every period and place the previous release held, then and now.
fn revisions(d: &Delivery, s: &Scope) -> Vec<LigneRevision> {
    let Some(prev) = s.previous else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for periode in prev.periods() {
        for t in s.territoires {
            let now = |m: &str| d.entonnoir.get(m, &periode, place(t), ENSEMBLE);
            let (pos, ent) = (now(REVISED[0]), now(REVISED[1]));
            let (Some(rp), Some(re)) = (
                prev.revision(REVISED[0], &periode, place(t), pos),
                prev.revision(REVISED[1], &periode, place(t), ent),
            ) else {
                continue;
            };
            lines.push(LigneRevision {
                provisoire_alors: !closed_by(&periode, prev.date_arrete),
                periode: periode.clone(),
                territoire: t.clone(),
                nb_positionnements: pos,
                revision_positionnements: rp,
                nb_entrees: ent,
                revision_entrees: re,
            });
        }
    }
    lines
}

/// Whether a four-month period (`2026-T2`) or a month (`2026-05`) was
/// over at `cutoff` (its last day included).
pub(crate) fn closed_by(period: &str, cutoff: chrono::NaiveDate) -> bool {
    let month = |p: &str| -> Option<(i32, u32)> {
        let (y, m) = p.split_once('-')?;
        Some((y.parse().ok()?, m.parse().ok()?))
    };
    let Some((year, last)) = crate::domain::period::parse_period(period)
        .map(|(y, n)| (y, n * 4))
        .or_else(|| month(period))
    else {
        return true;
    };
    let (y, m) = if last == 12 {
        (year + 1, 1)
    } else {
        (year, last + 1)
    };
    // Over when the cut-off is its last day or later.
    chrono::NaiveDate::from_ymd_opt(y, m, 1)
        .is_none_or(|first_after| cutoff.succ_opt().is_some_and(|d| d >= first_after))
}

fn chiffres_cles(d: &Delivery, s: &Scope) -> Vec<ChiffresCles> {
    s.territoires
        .iter()
        .map(|t| ChiffresCles {
            territoire: t.clone(),
            nb_positionnements: compared(&d.entonnoir, "nb_positionnements", t, s),
            nb_entrees: compared(&d.entonnoir, "nb_entrees", t, s),
            taux_remplissage: compared(&d.remplissage, "taux_remplissage", t, s),
            taux_entree: compared(&d.entonnoir, "taux_entree", t, s),
            part_eligibles_pic_positionnes: compared(
                &d.pic,
                "part_eligibles_pic_positionnes",
                t,
                s,
            ),
        })
        .collect()
}

fn remplissage(
    d: &Delivery,
    s: &Scope,
    (code, libelle): (&str, String),
    t: &Territoire,
    dim: (&str, &str),
) -> Remplissage {
    let get = |m: &str| d.remplissage.get(m, s.periode, place(t), dim);
    Remplissage {
        code: code.to_string(),
        libelle,
        nb_sessions: get("nb_sessions"),
        places_conventionnees: get("places_conventionnees"),
        nb_entres: get("nb_entres"),
        taux_remplissage: get("taux_remplissage"),
    }
}

fn pic(d: &Delivery, s: &Scope) -> Vec<Pic> {
    s.territoires
        .iter()
        .map(|t| {
            let get = |m: &str| d.pic.get(m, s.periode, place(t), ENSEMBLE);
            Pic {
                territoire: t.clone(),
                nb_personnes_positionnees: get("nb_personnes_positionnees"),
                nb_eligibles_pic_positionnes: get("nb_eligibles_pic_positionnes"),
                part_eligibles_pic_positionnes: get("part_eligibles_pic_positionnes"),
                nb_personnes_entrees: get("nb_personnes_entrees"),
                nb_eligibles_pic_entres: get("nb_eligibles_pic_entres"),
                part_eligibles_pic_entres: get("part_eligibles_pic_entres"),
            }
        })
        .collect()
}

fn delais(d: &Delivery, s: &Scope) -> Vec<Delais> {
    s.territoires
        .iter()
        .map(|t| {
            let get = |m: &str| d.delais.get(m, s.periode, place(t), ENSEMBLE);
            Delais {
                territoire: t.clone(),
                nb_entrees: get("nb_entrees"),
                mediane_jours_entree: get("mediane_jours_entree"),
                p75_jours_entree: get("p75_jours_entree"),
                mediane_jours_ico: get("mediane_jours_ico"),
                p75_jours_ico: get("p75_jours_ico"),
            }
        })
        .collect()
}

fn abandons(d: &Delivery, s: &Scope) -> Vec<Motif> {
    let region = place(&s.territoires[0]);
    d.abandons
        .modalities(s.periode, region, "ensemble", true)
        .into_iter()
        .map(|motif| {
            let get = |m: &str| d.abandons.get_motif(m, s.periode, region, ENSEMBLE, &motif);
            Motif {
                nb_abandons: get("nb_abandons"),
                part_abandons: get("part_abandons"),
                libelle: s.labels.label("motif", &motif),
                motif_code: motif.clone(),
            }
        })
        .collect()
}

/// The values of a column of rows.
fn column<T>(rows: &[T], value: impl Fn(&T) -> Val) -> Vec<Val> {
    rows.iter().map(value).collect()
}

impl Figures {
    /// Reads every figure of the report from the delivery, and draws the charts.
    ///
    /// # Errors
    /// `Internal` when a chart cannot be drawn.
    pub(crate) fn build(d: &Delivery, s: &Scope) -> Result<Self> {
        let p = s.periode;
        let region = &s.territoires[0];
        let remplissage_dispositifs: Vec<Remplissage> = d
            .remplissage
            .modalities(p, place(region), "dispositif", false)
            .iter()
            .map(|m| {
                let label = s.labels.label("dispositif", m);
                remplissage(d, s, (m, label), region, ("dispositif", m))
            })
            .collect();
        let remplissage_departements: Vec<Remplissage> = s.territoires[1..]
            .iter()
            .map(|t| {
                let label = format!("{} ({})", t.libelle, t.code);
                remplissage(d, s, (&t.code, label), t, ENSEMBLE)
            })
            .collect();
        let prescripteurs: Vec<Ventilation> = d
            .entonnoir
            .modalities(p, place(region), "prescripteur_type", false)
            .into_iter()
            .map(|code| {
                let get = |m: &str| {
                    d.entonnoir
                        .get(m, p, place(region), ("prescripteur_type", &code))
                };
                Ventilation {
                    libelle: s.labels.label("prescripteur_type", &code),
                    nb_positionnements: get("nb_positionnements"),
                    nb_entrees: get("nb_entrees"),
                    taux_entree: get("taux_entree"),
                    code,
                }
            })
            .collect();
        let entonnoir: Vec<Etape> = STEPS
            .iter()
            .map(|(m, l)| Etape {
                mesure: m,
                libelle: l,
                valeur: d.entonnoir.get(m, p, place(region), ENSEMBLE),
            })
            .collect();
        let entrees_mensuelles: Vec<Mois> = s
            .mois
            .iter()
            .map(|m| Mois {
                mois: m.clone(),
                nb_entrees: d.entonnoir.get("nb_entrees", m, place(region), ENSEMBLE),
                provisoire: !closed_by(m, s.cutoff),
            })
            .collect();
        let (pic, delais, abandons) = (pic(d, s), delais(d, s), abandons(d, s));
        let mut figures = Figures {
            chiffres_cles: chiffres_cles(d, s),
            remplissage_dispositifs,
            remplissage_departements,
            entonnoir,
            prescripteurs,
            entrees_mensuelles,
            pic,
            delais,
            taux_abandon: d.abandons.get("taux_abandon", p, place(region), ENSEMBLE),
            abandons,
            revisions: revisions(d, s),
            graphiques: Graphiques::default(),
        };
        figures.graphiques = Graphiques::draw(&figures, s.mois)?;
        Ok(figures)
    }
}

impl Graphiques {
    /// The charts of the figures; `mois`: the months of the monthly entries.
    ///
    /// # Errors
    /// `Internal` when plotters fails to draw.
    fn draw(f: &Figures, mois: &[String]) -> Result<Self> {
        let delay_labels: Vec<String> = f
            .delais
            .iter()
            .map(|r| match r.territoire.niveau {
                "region" => "Région".to_string(),
                _ => r.territoire.libelle.clone(),
            })
            .collect();
        Ok(Graphiques {
            remplissage_dispositif: bar_chart(
                &libelles(&f.remplissage_dispositifs),
                &column(&f.remplissage_dispositifs, |r| r.taux_remplissage),
                true,
            )?,
            remplissage_departement: bar_chart(
                &libelles(&f.remplissage_departements),
                &column(&f.remplissage_departements, |r| r.taux_remplissage),
                true,
            )?,
            entonnoir: bar_chart(
                &STEPS.map(|(_, l)| l.to_string()),
                &column(&f.entonnoir, |e| e.valeur),
                false,
            )?,
            entrees_mensuelles: line_chart(mois, &column(&f.entrees_mensuelles, |m| m.nb_entrees))?,
            pic: bar_chart(
                &["Positionnés".to_string(), "Entrés".to_string()],
                &[
                    f.pic[0].part_eligibles_pic_positionnes,
                    f.pic[0].part_eligibles_pic_entres,
                ],
                true,
            )?,
            delais: bar_chart(
                &delay_labels,
                &column(&f.delais, |r| r.mediane_jours_entree),
                false,
            )?,
            abandons: bar_chart(
                &f.abandons
                    .iter()
                    .map(|m| m.libelle.clone())
                    .collect::<Vec<_>>(),
                &column(&f.abandons, |m| m.nb_abandons),
                false,
            )?,
        })
    }
}

/// A place as a cube looks it up: level and code.
fn place(t: &Territoire) -> (&'static str, &str) {
    (t.niveau, t.code.as_str())
}

fn libelles(rows: &[Remplissage]) -> Vec<String> {
    rows.iter().map(|r| r.libelle.clone()).collect()
}
