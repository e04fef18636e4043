//! What secrecy knows of each published cube: which columns are counts and
//! which population each counts (its variable), which rates and statistics
//! are computed from which counts, and what a row's existence says.
//!
//! Two cubes that publish the same count of the same population publish
//! one cell: `nb_entrees` of a key is the same number in `entonnoir`,
//! `delais` and `abandons`, so it is one variable. `pic`'s
//! `nb_personnes_entrees` counts persons whose entry falls in the period,
//! another population than the funnel's, so it is another variable.

/// The cubes that can be published (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cube {
    Entonnoir,
    Delais,
    Pic,
    Abandons,
    Remplissage,
}

/// What a count counts: its unit (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Positionings (rows of `positionnements`).
    Positionnement,
    /// Distinct persons (`identifiant_spe`), each counted once per cell.
    Personne,
    /// Entrants of the sessions starting in a period (`remplissage`).
    Entrant,
}

/// A population of units a count is taken over, and the population it lies
/// in: whatever is in `retenus` is in `presents_ico`, and so on (SPEC §3).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Population {
    pub name: &'static str,
    pub within: Option<&'static str>,
}

/// The populations of SPEC §3 and their inclusions.
pub(crate) const POPULATIONS: &[Population] = &[
    // Positioned in the period (date of positioning): the cohort.
    Population {
        name: "cohorte",
        within: None,
    },
    Population {
        name: "presents_ico",
        within: Some("cohorte"),
    },
    Population {
        name: "retenus",
        within: Some("presents_ico"),
    },
    Population {
        name: "ais_validees",
        within: Some("cohorte"),
    },
    Population {
        name: "entrees",
        within: Some("cohorte"),
    },
    Population {
        name: "abandons",
        within: Some("entrees"),
    },
    Population {
        name: "eligibles_pic",
        within: Some("cohorte"),
    },
    // Entered in the period (date of entry), whatever their positioning's date.
    Population {
        name: "entrees_periode",
        within: None,
    },
    Population {
        name: "eligibles_pic_entres",
        within: Some("entrees_periode"),
    },
    // Entrants of the sessions starting in the period.
    Population {
        name: "entrees_sessions",
        within: None,
    },
];

/// A published count: a unit over a population, shared by every cube that
/// publishes it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Variable {
    pub name: &'static str,
    pub unit: Unit,
    pub population: &'static str,
}

impl Variable {
    /// Distinct persons: groups do not add up to their total, they bound it
    /// (`max(parts) ≤ total ≤ sum(parts)`, SPEC §5).
    pub(crate) fn persons(&self) -> bool {
        self.unit == Unit::Personne
    }
}

const fn count(name: &'static str, unit: Unit, population: &'static str) -> Variable {
    Variable {
        name,
        unit,
        population,
    }
}

/// Every variable under secrecy.
pub(crate) const VARIABLES: &[Variable] = &[
    count("nb_positionnements", Unit::Positionnement, "cohorte"),
    count("nb_presents_ico", Unit::Positionnement, "presents_ico"),
    count("nb_retenus", Unit::Positionnement, "retenus"),
    count("nb_ais_validees", Unit::Positionnement, "ais_validees"),
    count("nb_entrees", Unit::Positionnement, "entrees"),
    count("nb_abandons", Unit::Positionnement, "abandons"),
    count("nb_personnes_positionnees", Unit::Personne, "cohorte"),
    count("nb_personnes_entrees", Unit::Personne, "entrees"),
    count(
        "nb_eligibles_pic_positionnes",
        Unit::Personne,
        "eligibles_pic",
    ),
    count(
        "nb_personnes_entrees_periode",
        Unit::Personne,
        "entrees_periode",
    ),
    count(
        "nb_eligibles_pic_entres",
        Unit::Personne,
        "eligibles_pic_entres",
    ),
    count("nb_entres_sessions", Unit::Entrant, "entrees_sessions"),
];

fn population(name: &str) -> &'static Population {
    POPULATIONS
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no population {name}"))
}

/// The variable of `unit` over `population`, if one is published.
fn counted(unit: Unit, population: &str) -> Option<usize> {
    VARIABLES
        .iter()
        .position(|v| v.unit == unit && v.population == population)
}

/// The whole a variable is a part of: the count of the same unit over the
/// nearest enclosing population that has one (entries within positionings,
/// PIC-eligible persons within persons). Their difference counts units of
/// the enclosing population outside the part, so it is a cell of its own.
pub(crate) fn whole(v: usize) -> Option<usize> {
    let var = &VARIABLES[v];
    let mut p = population(var.population).within;
    while let Some(name) = p {
        if let Some(w) = counted(var.unit, name) {
            return Some(w);
        }
        p = population(name).within;
    }
    None
}

/// The bounds every reader knows at one key, derived from the catalogue:
/// `(small, large)` means `small ≤ large`.
///
/// - a population inside another counts no more units: the [`whole`];
/// - the distinct persons of a population are no more than its positionings
///   (each person has at least one).
pub(crate) fn bounds() -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (v, var) in VARIABLES.iter().enumerate() {
        if let Some(w) = whole(v) {
            out.push((v, w));
        }
        if var.unit == Unit::Personne {
            if let Some(p) = counted(Unit::Positionnement, var.population) {
                out.push((v, p));
            }
        }
    }
    out
}

/// Index of a variable in [`VARIABLES`].
pub(crate) fn variable(name: &str) -> usize {
    VARIABLES
        .iter()
        .position(|v| v.name == name)
        .unwrap_or_else(|| panic!("no variable {name}"))
}

/// A count a rate is computed from: a variable of the same key, or of the
/// key's `ensemble` reason (`part_abandons` divides by all abandons).
#[derive(Debug, Clone, Copy)]
pub struct Uses {
    pub variable: &'static str,
    pub all_reasons: bool,
}

const fn uses(variable: &'static str) -> Uses {
    Uses {
        variable,
        all_reasons: false,
    }
}

/// One cube as secrecy sees it.
#[derive(Debug)]
pub struct CubeDef {
    pub cube: Cube,
    pub name: &'static str,
    /// The query that computes it in full (internal, unsuppressed).
    pub query: &'static str,
    /// Count columns and their variable; a count of the abandon cube's
    /// `nb_entrees` column is the key's, whatever the row's reason.
    pub counts: &'static [(&'static str, Uses)],
    /// Rates and statistics, and the counts they are computed from: they
    /// are suppressed with any of them.
    pub rates: &'static [(&'static str, &'static [Uses])],
    /// Columns published as they are (not counts of persons or positionings).
    pub plain: &'static [&'static str],
    /// What a row's existence says: at least one of these groups of
    /// variables are all at least 1 (a group with nobody has no row).
    pub exists_if: &'static [&'static [&'static str]],
    pub periods: &'static [&'static str],
    /// The dimensions it is split by (`None`: every dimension of SPEC §3).
    pub dimensions: Option<&'static [&'static str]>,
    pub by_motif: bool,
}

impl CubeDef {
    /// Every measure column, in the cube's order: counts, rates, plain.
    pub fn measures(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.counts
            .iter()
            .map(|(c, _)| *c)
            .chain(self.rates.iter().map(|(r, _)| *r))
            .chain(self.plain.iter().copied())
    }

    /// The column that publishes a variable, if this cube has one.
    pub fn column_of(&self, variable: &str) -> Option<&'static str> {
        self.counts
            .iter()
            .find(|(_, u)| u.variable == variable)
            .map(|(c, _)| *c)
    }
}

const PERIODS: &[&str] = &["quadrimestre", "mois"];

/// The cubes secrecy can publish.
pub(crate) const CUBES: &[CubeDef] = &[
    CubeDef {
        cube: Cube::Entonnoir,
        name: "entonnoir",
        query: "out_entonnoir",
        counts: &[
            ("nb_positionnements", uses("nb_positionnements")),
            ("nb_presents_ico", uses("nb_presents_ico")),
            ("nb_retenus", uses("nb_retenus")),
            ("nb_ais_validees", uses("nb_ais_validees")),
            ("nb_entrees", uses("nb_entrees")),
            ("nb_abandons", uses("nb_abandons")),
            (
                "nb_personnes_positionnees",
                uses("nb_personnes_positionnees"),
            ),
            ("nb_personnes_entrees", uses("nb_personnes_entrees")),
        ],
        rates: &[(
            "taux_entree",
            &[uses("nb_entrees"), uses("nb_positionnements")],
        )],
        plain: &[],
        exists_if: &[&["nb_positionnements", "nb_personnes_positionnees"]],
        periods: PERIODS,
        dimensions: None,
        by_motif: false,
    },
    CubeDef {
        cube: Cube::Delais,
        name: "delais",
        query: "out_delais",
        counts: &[("nb_entrees", uses("nb_entrees"))],
        rates: &[
            ("mediane_jours_entree", &[uses("nb_entrees")]),
            ("p75_jours_entree", &[uses("nb_entrees")]),
            ("mediane_jours_ico", &[uses("nb_entrees")]),
            ("p75_jours_ico", &[uses("nb_entrees")]),
        ],
        plain: &[],
        exists_if: &[&["nb_entrees"]],
        periods: PERIODS,
        dimensions: None,
        by_motif: false,
    },
    CubeDef {
        cube: Cube::Pic,
        name: "pic",
        query: "out_pic",
        counts: &[
            (
                "nb_personnes_positionnees",
                uses("nb_personnes_positionnees"),
            ),
            (
                "nb_eligibles_pic_positionnes",
                uses("nb_eligibles_pic_positionnes"),
            ),
            ("nb_personnes_entrees", uses("nb_personnes_entrees_periode")),
            ("nb_eligibles_pic_entres", uses("nb_eligibles_pic_entres")),
        ],
        rates: &[
            (
                "part_eligibles_pic_positionnes",
                &[
                    uses("nb_eligibles_pic_positionnes"),
                    uses("nb_personnes_positionnees"),
                ],
            ),
            (
                "part_eligibles_pic_entres",
                &[
                    uses("nb_eligibles_pic_entres"),
                    uses("nb_personnes_entrees_periode"),
                ],
            ),
        ],
        plain: &[],
        exists_if: &[
            &["nb_personnes_positionnees"],
            &["nb_personnes_entrees_periode"],
        ],
        periods: PERIODS,
        dimensions: None,
        by_motif: false,
    },
    CubeDef {
        cube: Cube::Abandons,
        name: "abandons",
        query: "out_abandons",
        counts: &[
            (
                "nb_entrees",
                Uses {
                    variable: "nb_entrees",
                    all_reasons: true,
                },
            ),
            ("nb_abandons", uses("nb_abandons")),
        ],
        rates: &[
            (
                "taux_abandon",
                &[
                    uses("nb_abandons"),
                    Uses {
                        variable: "nb_entrees",
                        all_reasons: true,
                    },
                ],
            ),
            (
                "part_abandons",
                &[
                    uses("nb_abandons"),
                    Uses {
                        variable: "nb_abandons",
                        all_reasons: true,
                    },
                ],
            ),
        ],
        plain: &[],
        // Reason rows exist because someone abandoned for that reason;
        // total rows because someone entered.
        exists_if: &[&["nb_abandons"], &["nb_entrees"]],
        periods: PERIODS,
        dimensions: None,
        by_motif: true,
    },
    CubeDef {
        cube: Cube::Remplissage,
        name: "remplissage",
        query: "out_remplissage",
        counts: &[("nb_entres", uses("nb_entres_sessions"))],
        rates: &[("taux_remplissage", &[uses("nb_entres_sessions")])],
        plain: &["nb_sessions", "places_conventionnees"],
        // A row exists because a session starts, entered or not.
        exists_if: &[],
        periods: &["quadrimestre"],
        dimensions: Some(&["dispositif", "financeur_code"]),
        by_motif: false,
    },
];

/// The definition of a cube.
pub fn def(cube: Cube) -> &'static CubeDef {
    CUBES
        .iter()
        .find(|c| c.cube == cube)
        .expect("every cube is defined")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_named_is_defined() {
        for c in CUBES {
            for (_, u) in c.counts {
                variable(u.variable);
            }
            for (_, us) in c.rates {
                for u in us.iter() {
                    variable(u.variable);
                }
            }
        }
        for v in VARIABLES {
            population(v.population);
        }
    }

    #[test]
    fn bounds_follow_from_units_and_populations() {
        let b = bounds();
        let has = |s: &str, l: &str| b.contains(&(variable(s), variable(l)));
        assert!(has("nb_entrees", "nb_positionnements"));
        assert!(has("nb_retenus", "nb_presents_ico"));
        assert!(has("nb_abandons", "nb_entrees"));
        assert!(has("nb_personnes_entrees", "nb_personnes_positionnees"));
        assert!(has("nb_personnes_entrees", "nb_entrees"));
        assert!(has("nb_personnes_positionnees", "nb_positionnements"));
        assert!(has(
            "nb_eligibles_pic_entres",
            "nb_personnes_entrees_periode"
        ));
        assert!(!has("nb_positionnements", "nb_entrees"));
        assert_eq!(whole(variable("nb_positionnements")), None);
        assert_eq!(whole(variable("nb_entres_sessions")), None);
    }
}
