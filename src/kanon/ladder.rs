//! Generalisation ladders: the steps a quasi-identifier can be coarsened
//! through, and what each step makes of a value.
//!
//! A step is a pure function of one value (never of the other rows), so a
//! delivery's generalised columns depend only on the value and the step
//! chosen; the search in [`super::search`] chooses the steps.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::schema::{Check, Column, Kind};

/// One rung of a generalisation ladder, as the policy names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// A timestamp to the second, as extracted.
    Horodatage,
    /// The day (`2026-03-14`).
    Jour,
    /// The month (`2026-03`).
    Mois,
    /// The committee's four-month period (`2026-T1`).
    Quadrimestre,
    /// The year (`2026`).
    Annee,
    /// An INSEE commune code, as extracted.
    Commune,
    /// The zone d'emploi of a commune (`3203`), as the sessions extract
    /// places its communes; grouped within the commune's département, so
    /// that the step nests in the next one.
    ZoneEmploi,
    /// The département of a commune (`62`, `2A`, `971`).
    Departement,
    /// The INSEE region of a commune's département (`32`).
    Region,
    /// A Pôle emploi training level code, as extracted (`NV4`).
    Niveau,
    /// `infra-bac` (AFS to NV5) or `bac et plus` (NV4 to NV1).
    InfraBac,
    /// The level of a diploma in the 2019 nomenclature of diploma levels
    /// (`3` CAP/BEP to `8` doctorat), from the shipped
    /// `src/reference/diplomes.csv`.
    NiveauDiplome,
    /// Any value, as extracted.
    Valeur,
    /// Nothing left: every present value becomes `*` (a missing one stays missing).
    Masque,
}

/// The family a column belongs to, which decides the steps it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// A timestamp (wall-clock, to the second).
    Timestamp,
    /// A date.
    Date,
    /// An INSEE commune code.
    Commune,
    /// `niveau_formation`.
    Niveau,
    /// `diplome_plus_haut`: a diploma's name, as typed.
    Diplome,
    /// Anything else (codes, booleans, identifiers of sessions).
    Other,
}

impl Family {
    /// The family of an extract column.
    pub fn of(column: &Column) -> Family {
        match column.kind {
            Kind::Timestamp => Family::Timestamp,
            Kind::Date => Family::Date,
            _ if column.check == Check::Commune => Family::Commune,
            _ if column.name == "niveau_formation" => Family::Niveau,
            _ if column.name == "diplome_plus_haut" => Family::Diplome,
            _ => Family::Other,
        }
    }

    /// The step that leaves a value of this family as it is.
    pub fn identity(self) -> Step {
        match self {
            Family::Timestamp => Step::Horodatage,
            Family::Date => Step::Jour,
            Family::Commune => Step::Commune,
            Family::Niveau => Step::Niveau,
            Family::Diplome | Family::Other => Step::Valeur,
        }
    }
}

impl Step {
    /// How coarse the step is within its family (higher is coarser), or
    /// `None` when the step does not apply to the family.
    pub fn rank(self, family: Family) -> Option<u8> {
        use Family as F;
        use Step as S;
        match (self, family) {
            (S::Masque, _) => Some(100),
            (S::Horodatage, F::Timestamp) => Some(0),
            (S::Jour, F::Timestamp | F::Date) => Some(1),
            (S::Mois, F::Timestamp | F::Date) => Some(2),
            (S::Quadrimestre, F::Timestamp | F::Date) => Some(3),
            (S::Annee, F::Timestamp | F::Date) => Some(4),
            (S::Commune, F::Commune) => Some(0),
            (S::ZoneEmploi, F::Commune) => Some(1),
            (S::Departement, F::Commune) => Some(2),
            (S::Region, F::Commune) => Some(3),
            (S::Niveau, F::Niveau) => Some(0),
            (S::InfraBac, F::Niveau) => Some(1),
            (S::NiveauDiplome, F::Diplome) => Some(1),
            (S::Valeur, _) => Some(0),
            _ => None,
        }
    }

    /// The policy's name of the step.
    pub fn name(self) -> &'static str {
        match self {
            Step::Horodatage => "horodatage",
            Step::Jour => "jour",
            Step::Mois => "mois",
            Step::Quadrimestre => "quadrimestre",
            Step::Annee => "annee",
            Step::Commune => "commune",
            Step::ZoneEmploi => "zone_emploi",
            Step::Departement => "departement",
            Step::Region => "region",
            Step::Niveau => "niveau",
            Step::InfraBac => "infra_bac",
            Step::NiveauDiplome => "niveau_diplome",
            Step::Valeur => "valeur",
            Step::Masque => "masque",
        }
    }

    /// The step in words, for the data dictionary.
    pub fn label(self) -> &'static str {
        match self {
            Step::Horodatage => "date et heure à la seconde",
            Step::Jour => "jour (AAAA-MM-JJ)",
            Step::Mois => "mois (AAAA-MM)",
            Step::Quadrimestre => "quadrimestre (AAAA-T1 à T3)",
            Step::Annee => "année (AAAA)",
            Step::Commune => "code commune INSEE",
            Step::ZoneEmploi => "zone d'emploi 2020 (code INSEE, « inconnue » pour une commune qu'aucune session ne situe)",
            Step::Departement => "département (code INSEE)",
            Step::Region => "région (code INSEE)",
            Step::Niveau => "niveau de formation (code Pôle emploi)",
            Step::InfraBac => "« infra-bac » ou « bac et plus »",
            Step::NiveauDiplome => "niveau du diplôme (nomenclature 2019 : 3 CAP, BEP ; 4 bac ; 5 bac + 2 ; 6 licence ; 7 master ; 8 doctorat ; « infra 3 » sans diplôme de niveau 3 ; « non classé » pour un intitulé inconnu)",
            Step::Valeur => "valeur telle quelle",
            Step::Masque => "masqué (« * »)",
        }
    }
}

/// Why a ladder cannot stand, or `Ok` when every step applies to the
/// family and each is strictly coarser than the one before.
pub(crate) fn check_ladder(family: Family, ladder: &[Step]) -> Result<(), String> {
    if ladder.is_empty() {
        return Err("the ladder is empty".into());
    }
    let mut previous: Option<(Step, u8)> = None;
    for step in ladder {
        let Some(rank) = step.rank(family) else {
            return Err(format!(
                "step `{}` does not apply to this column (a {family:?} column)",
                step.name()
            ));
        };
        if let Some((p, r)) = previous {
            if rank <= r {
                return Err(format!(
                    "step `{}` is not coarser than `{}`",
                    step.name(),
                    p.name()
                ));
            }
        }
        previous = Some((*step, rank));
    }
    Ok(())
}

/// A quasi-identifier's value as read, before any step.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Raw {
    /// A date, as days since 1970-01-01.
    Date(i32),
    /// A wall-clock timestamp, as seconds since 1970-01-01 00:00:00.
    Timestamp(i64),
    /// Text (codes; booleans are written `O`/`N`).
    Text(String),
}

/// What a step keeps of a value: a number for dates and times, text
/// otherwise. Two values with the same key are indistinguishable after
/// the step.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Key {
    Num(i64),
    Text(String),
    Masked,
}

fn date_of(raw: &Raw) -> Option<NaiveDate> {
    let days = match raw {
        Raw::Date(d) => i64::from(*d),
        Raw::Timestamp(s) => s.div_euclid(86_400),
        Raw::Text(_) => return None,
    };
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::days(days))
}

/// The département of an INSEE commune code (`971xx` → `971`, `2A004` → `2A`).
pub(crate) fn departement_of(commune: &str) -> &str {
    if commune.starts_with("97") && commune.len() >= 3 {
        &commune[..3]
    } else {
        commune.get(..2).unwrap_or(commune)
    }
}

/// The region of a département, or `inconnue`.
fn region_of(departement: &str) -> &'static str {
    crate::geo::REGIONS
        .iter()
        .find(|r| r.2.contains(&departement))
        .map_or("inconnue", |r| r.0)
}

/// What the steps that look a value up are given: the zone d'emploi of
/// each commune. The sessions extract is the engine's only commune → zone
/// d'emploi table (each session carries both), so `deliver` builds it
/// from there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reference {
    /// Commune INSEE code → zone d'emploi code.
    pub zones: HashMap<String, String>,
}

/// The zone d'emploi a commune's value is delivered as.
const ZONE_INCONNUE: &str = "inconnue";

/// The shipped nomenclature of diploma levels: `intitulé;niveau`.
pub(crate) const DIPLOMES: &str = include_str!("../reference/diplomes.csv");

/// A diploma's name as the nomenclature is looked up: upper case, without
/// accents, dots or repeated spaces (`B.T.S.` → `BTS`, `Bac. pro` → `BAC PRO`).
fn normalise_diploma(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = match c {
            'à' | 'â' | 'ä' | 'À' | 'Â' | 'Ä' => 'A',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'E',
            'î' | 'ï' | 'Î' | 'Ï' => 'I',
            'ô' | 'ö' | 'Ô' | 'Ö' => 'O',
            'ù' | 'û' | 'ü' | 'Ù' | 'Û' | 'Ü' => 'U',
            'ç' | 'Ç' => 'C',
            '.' => continue,
            '_' | '-' | '\u{a0}' => ' ',
            c => c.to_ascii_uppercase(),
        };
        if c != ' ' || !out.ends_with(' ') {
            out.push(c);
        }
    }
    out.trim().to_string()
}

/// The level of a diploma's name, `non classé` when the nomenclature
/// does not know it.
pub(crate) fn diploma_level(name: &str) -> &'static str {
    static LEVELS: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    let levels = LEVELS.get_or_init(|| {
        DIPLOMES
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(';'))
            .map(|(name, level)| (normalise_diploma(name), level.trim()))
            .collect()
    });
    levels
        .get(&normalise_diploma(name))
        .copied()
        .unwrap_or("non classé")
}

/// Training levels below the baccalauréat (Pôle emploi codes).
const INFRA_BAC: &[&str] = &["AFS", "CP4", "CFG", "C3A", "C12", "NV5"];

/// The key a step keeps of a value.
pub(crate) fn key(step: Step, raw: &Raw, reference: &Reference) -> Key {
    let date = || date_of(raw);
    match step {
        Step::Masque => Key::Masked,
        Step::Horodatage => match raw {
            Raw::Timestamp(s) => Key::Num(*s),
            other => fallback(other),
        },
        Step::Jour => {
            date().map_or_else(|| fallback(raw), |d| Key::Num(d.num_days_from_ce().into()))
        }
        Step::Mois => date().map_or_else(
            || fallback(raw),
            |d| Key::Num(i64::from(d.year()) * 12 + i64::from(d.month0())),
        ),
        Step::Quadrimestre => date().map_or_else(
            || fallback(raw),
            |d| Key::Num(i64::from(d.year()) * 3 + i64::from(d.month0() / 4)),
        ),
        Step::Annee => date().map_or_else(|| fallback(raw), |d| Key::Num(d.year().into())),
        Step::ZoneEmploi => {
            // Within the département: a zone straddling two counts as two
            // groups, so that coarsening to the département only merges.
            let commune = text_of(raw);
            Key::Text(format!(
                "{}|{}",
                departement_of(&commune),
                label(step, raw, reference)
            ))
        }
        Step::Departement | Step::Region | Step::InfraBac | Step::NiveauDiplome => {
            Key::Text(label(step, raw, reference))
        }
        Step::Commune | Step::Niveau | Step::Valeur => fallback(raw),
    }
}

fn fallback(raw: &Raw) -> Key {
    match raw {
        Raw::Date(d) => Key::Num(i64::from(*d)),
        Raw::Timestamp(s) => Key::Num(*s),
        Raw::Text(t) => Key::Text(t.clone()),
    }
}

/// A value as text, as extracted.
fn text_of(raw: &Raw) -> String {
    match raw {
        Raw::Text(t) => t.clone(),
        Raw::Date(_) => date_of(raw).map_or_else(String::new, |d| d.format("%Y-%m-%d").to_string()),
        Raw::Timestamp(s) => chrono::DateTime::from_timestamp(*s, 0)
            .map_or_else(String::new, |t| {
                t.naive_utc().format("%Y-%m-%d %H:%M:%S").to_string()
            }),
    }
}

/// The value a step delivers, as text.
pub(crate) fn label(step: Step, raw: &Raw, reference: &Reference) -> String {
    let text = text_of;
    match step {
        Step::Masque => "*".into(),
        Step::Horodatage | Step::Commune | Step::Niveau | Step::Valeur => text(raw),
        Step::Jour => date_of(raw).map_or_else(
            || text(raw),
            |d| format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
        ),
        Step::Mois => date_of(raw).map_or_else(
            || text(raw),
            |d| format!("{:04}-{:02}", d.year(), d.month()),
        ),
        Step::Quadrimestre => {
            date_of(raw).map_or_else(|| text(raw), crate::domain::period::period_of)
        }
        Step::Annee => date_of(raw).map_or_else(|| text(raw), |d| d.year().to_string()),
        Step::ZoneEmploi => reference
            .zones
            .get(&text(raw))
            .map_or(ZONE_INCONNUE, String::as_str)
            .to_string(),
        Step::NiveauDiplome => diploma_level(&text(raw)).to_string(),
        Step::Departement => departement_of(&text(raw)).to_string(),
        Step::Region => region_of(departement_of(&text(raw))).to_string(),
        Step::InfraBac => {
            let t = text(raw);
            if INFRA_BAC.contains(&t.as_str()) {
                "infra-bac".into()
            } else {
                "bac et plus".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_coarsen_dates_communes_and_levels() {
        let none = Reference::default();
        let label = |s: Step, r: &Raw| super::label(s, r, &none);
        let key = |s: Step, r: &Raw| super::key(s, r, &none);
        let d = Raw::Date(
            (NaiveDate::from_ymd_opt(2026, 5, 14).unwrap()
                - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
            .num_days() as i32,
        );
        assert_eq!(label(Step::Jour, &d), "2026-05-14");
        assert_eq!(label(Step::Mois, &d), "2026-05");
        assert_eq!(label(Step::Quadrimestre, &d), "2026-T2");
        assert_eq!(label(Step::Annee, &d), "2026");
        let t = Raw::Timestamp(1_778_753_001); // 2026-05-14 10:03:21
        assert_eq!(label(Step::Horodatage, &t), "2026-05-14 10:03:21");
        assert_eq!(label(Step::Jour, &t), "2026-05-14");
        assert_eq!(key(Step::Jour, &t), key(Step::Jour, &d));
        assert_eq!(key(Step::Mois, &t), key(Step::Mois, &d));
        let c = Raw::Text("62041".into());
        assert_eq!(label(Step::Departement, &c), "62");
        assert_eq!(label(Step::Region, &c), "32");
        assert_eq!(label(Step::Departement, &Raw::Text("97105".into())), "971");
        assert_eq!(label(Step::Region, &Raw::Text("2A004".into())), "94");
        assert_eq!(label(Step::InfraBac, &Raw::Text("NV5".into())), "infra-bac");
        assert_eq!(
            label(Step::InfraBac, &Raw::Text("NV4".into())),
            "bac et plus"
        );
        assert_eq!(label(Step::Masque, &c), "*");
    }

    #[test]
    fn a_ladder_must_apply_and_coarsen() {
        use Step::*;
        assert!(check_ladder(Family::Date, &[Jour, Mois, Quadrimestre, Masque]).is_ok());
        assert!(check_ladder(Family::Timestamp, &[Jour, Mois]).is_ok());
        let e = check_ladder(Family::Date, &[Mois, Jour]).unwrap_err();
        assert!(e.contains("`jour` is not coarser than `mois`"), "{e}");
        assert!(check_ladder(Family::Date, &[Jour, Jour]).is_err());
        let e = check_ladder(Family::Date, &[Horodatage, Jour]).unwrap_err();
        assert!(e.contains("does not apply"), "{e}");
        assert!(check_ladder(Family::Other, &[Departement]).is_err());
        assert!(check_ladder(Family::Commune, &[Commune, Departement, Region, Masque]).is_ok());
        assert!(check_ladder(Family::Commune, &[]).is_err());
        assert!(check_ladder(
            Family::Commune,
            &[Commune, ZoneEmploi, Departement, Region, Masque]
        )
        .is_ok());
        let e = check_ladder(Family::Commune, &[Departement, ZoneEmploi]).unwrap_err();
        assert!(e.contains("`zone_emploi` is not coarser"), "{e}");
        assert!(check_ladder(Family::Diplome, &[Valeur, NiveauDiplome, Masque]).is_ok());
        assert!(check_ladder(Family::Other, &[Valeur, NiveauDiplome]).is_err());
        assert!(check_ladder(Family::Niveau, &[NiveauDiplome]).is_err());
    }

    #[test]
    fn a_commune_s_zone_d_emploi_nests_in_its_departement() {
        let reference = Reference {
            zones: [("62041", "3206"), ("59350", "3206")]
                .iter()
                .map(|(c, z)| (c.to_string(), z.to_string()))
                .collect(),
        };
        let arras = Raw::Text("62041".into());
        let lille = Raw::Text("59350".into());
        assert_eq!(label(Step::ZoneEmploi, &arras, &reference), "3206");
        assert_eq!(label(Step::ZoneEmploi, &lille, &reference), "3206");
        // One zone across two départements: two groups, so that the
        // département step only merges.
        assert_ne!(
            key(Step::ZoneEmploi, &arras, &reference),
            key(Step::ZoneEmploi, &lille, &reference)
        );
        let nowhere = Raw::Text("62999".into());
        assert_eq!(label(Step::ZoneEmploi, &nowhere, &reference), "inconnue");
    }

    #[test]
    fn diplomas_are_read_in_the_nomenclature_of_levels() {
        for (name, level) in [
            ("CAP", "3"),
            ("Bac pro", "4"),
            ("baccalauréat professionnel", "4"),
            ("B.T.S.", "5"),
            ("Licence professionnelle", "6"),
            ("master", "7"),
            ("Doctorat", "8"),
            ("Brevet des collèges", "infra 3"),
            ("Permis poids lourd", "non classé"),
        ] {
            assert_eq!(diploma_level(name), level, "{name}");
        }
        // Every line of the shipped nomenclature has a known level.
        for line in DIPLOMES.lines().skip(1) {
            let (_, level) = line.split_once(';').expect("intitulé;niveau");
            assert!(
                ["infra 3", "3", "4", "5", "6", "7", "8"].contains(&level),
                "{line}"
            );
        }
    }
}
