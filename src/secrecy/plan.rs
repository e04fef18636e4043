//! Publication plans (SPEC §5): what a class of recipient receives, declared
//! as data, versioned, and hashed into every manifest.
//!
//! A plan lists tables. A table is one cube (a family of measures), some
//! geographic levels, one kind of period, and `ensemble` with at most one
//! dimension beside it (its modalities and their margin). Secrecy protects
//! exactly the tables of a plan, together; nothing outside a plan leaves.
//!
//! A plan that names an unknown cube, level, period, dimension or measure
//! is refused at load, with the file and line.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::domain::cubes::DIMENSIONS;
use crate::error::{Error, Result};

use super::cubes::{Cube, CubeDef, CUBES};

/// The plan of the DREETS regional committee, shipped with the engine.
pub(crate) const COMITE: &str = include_str!("../plans/comite.toml");
/// The plan of the ministry of labour (DARES), shipped with the engine.
pub(crate) const MINISTERE: &str = include_str!("../plans/ministere.toml");

/// Geographic levels of the cubes (SPEC §6), from the widest: the seed
/// `niveaux_geo.csv`'s, kept here so that secrecy reads no seed (a test of
/// `queries` checks they are the same).
pub(crate) const LEVELS: &[&str] = &["france", "region", "departement", "zone_emploi"];

/// The most tables a plan may list.
pub(crate) const MAX_TABLES: usize = 64;

/// One published table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// File name under `agregats/` (without `.parquet`); starts with the cube's name.
    pub nom: String,
    pub cube: Cube,
    /// Levels published, among [`LEVELS`].
    pub niveaux: Vec<String>,
    /// `quadrimestre` or `mois`.
    pub type_periode: String,
    /// The dimension published beside `ensemble`, if any.
    pub dimension: Option<String>,
    /// For the abandon cube: the split by reason is published.
    pub motifs: bool,
    /// Measure columns published (every measure of the cube when the plan names none).
    pub mesures: Vec<&'static str>,
}

impl Table {
    /// Whether the table holds a row of its cube with these keys.
    pub fn holds(
        &self,
        type_periode: &str,
        niveau_geo: &str,
        dimension: &str,
        motif: &str,
    ) -> bool {
        self.type_periode == type_periode
            && self.niveaux.iter().any(|n| n == niveau_geo)
            && (dimension == "ensemble" || self.dimension.as_deref() == Some(dimension))
            && (motif == "ensemble" || self.motifs)
    }
}

/// A publication plan, as loaded.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where it comes from: a path, or `comite` / `ministere` for a shipped plan.
    pub source: String,
    pub version: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    pub tables: Vec<Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    version: String,
    #[serde(rename = "tableau")]
    tables: Vec<TableFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    nom: Spanned<String>,
    cube: Spanned<String>,
    niveaux: Vec<Spanned<String>>,
    periode: Spanned<String>,
    dimension: Option<Spanned<String>>,
    #[serde(default)]
    motifs: Option<Spanned<bool>>,
    mesures: Option<Vec<Spanned<String>>>,
}

impl Plan {
    /// The plan shipped for a class of recipient (`comite` or `ministere`).
    pub fn shipped(class: crate::policy::RecipientClass) -> Option<Plan> {
        use crate::policy::RecipientClass;
        let (name, text) = match class {
            RecipientClass::Comite => ("comite", COMITE),
            RecipientClass::Ministere => ("ministere", MINISTERE),
            _ => return None,
        };
        Some(Plan::parse(name, text).expect("the shipped plans are valid (tested)"))
    }

    /// Loads a plan file.
    ///
    /// # Errors
    /// `Io` when the file cannot be read; `Config` naming the file and line
    /// of the first unknown cube, level, period, dimension or measure, or
    /// of a syntax error.
    pub fn load(path: &Path) -> Result<Plan> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        Plan::parse(&path.display().to_string(), &text)
    }

    /// Parses a plan's text; `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> Result<Plan> {
        let src = Source { name: source, text };
        let file: PlanFile = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            src.refuse(at, e.message().to_string())
        })?;
        let mut tables: Vec<Table> = Vec::new();
        for t in file.tables {
            let table = src.table(&t, &tables)?;
            tables.push(table);
        }
        if tables.is_empty() || tables.len() > MAX_TABLES {
            return Err(src.refuse(
                0,
                format!(
                    "a plan has 1 to {MAX_TABLES} tables, this one {}",
                    tables.len()
                ),
            ));
        }
        Ok(Plan {
            source: source.to_string(),
            version: file.version,
            sha256: crate::digest::sha256_hex(text.as_bytes()),
            tables,
        })
    }
}

/// A plan's text and where it came from, for errors that name the line.
struct Source<'a> {
    name: &'a str,
    text: &'a str,
}

/// The offset a plan's value starts at.
fn at<T>(s: &Spanned<T>) -> usize {
    s.span().start
}

impl Source<'_> {
    /// `publication plan NAME, line N: WHAT`.
    fn refuse(&self, offset: usize, what: String) -> Error {
        let line = self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1;
        Error::Config(format!(
            "publication plan {}, line {line}: {what}",
            self.name
        ))
    }

    /// One table of the plan, checked against its cube's definition and
    /// the tables `before` it.
    ///
    /// # Errors
    /// `Config`, naming the line: an unknown cube, level, period kind,
    /// dimension or measure, a table not named after its cube or named
    /// twice, no level, a split by reason the cube lacks, a rate without
    /// its counts.
    fn table(&self, t: &TableFile, before: &[Table]) -> Result<Table> {
        let cube = CUBES
            .iter()
            .find(|c| c.name == t.cube.get_ref())
            .ok_or_else(|| {
                self.refuse(
                    at(&t.cube),
                    format!(
                        "unknown cube `{}` (one of {})",
                        t.cube.get_ref(),
                        CUBES.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
        let nom = t.nom.get_ref();
        if !named_after(nom, cube.name) {
            return Err(self.refuse(
                at(&t.nom),
                format!(
                    "table `{nom}` must be named `{0}` or `{0}_<suffix>` (lowercase letters, digits, _)",
                    cube.name
                ),
            ));
        }
        if before.iter().any(|o| o.nom == *nom) {
            return Err(self.refuse(at(&t.nom), format!("table `{nom}` appears twice")));
        }
        let mut niveaux = Vec::new();
        for n in &t.niveaux {
            if !LEVELS.contains(&n.get_ref().as_str()) {
                return Err(self.refuse(
                    at(n),
                    format!(
                        "unknown geographic level `{}` (one of {})",
                        n.get_ref(),
                        LEVELS.join(", ")
                    ),
                ));
            }
            niveaux.push(n.get_ref().clone());
        }
        if niveaux.is_empty() {
            return Err(self.refuse(at(&t.nom), format!("table `{nom}` has no level")));
        }
        let periode = t.periode.get_ref();
        if !cube.periods.contains(&periode.as_str()) {
            return Err(self.refuse(
                at(&t.periode),
                format!(
                    "cube `{}` has no period kind `{periode}` (one of {})",
                    cube.name,
                    cube.periods.join(", ")
                ),
            ));
        }
        let dimension = self.dimension(cube, t.dimension.as_ref())?;
        let motifs = match &t.motifs {
            Some(m) if *m.get_ref() && !cube.by_motif => {
                return Err(self.refuse(
                    at(m),
                    format!("cube `{}` has no split by reason", cube.name),
                ))
            }
            Some(m) => *m.get_ref(),
            None => false,
        };
        Ok(Table {
            nom: nom.clone(),
            cube: cube.cube,
            niveaux,
            type_periode: periode.clone(),
            dimension,
            motifs,
            mesures: self.measures(cube, t)?,
        })
    }

    /// The table's dimension (`None` for `ensemble` or none given).
    fn dimension(&self, cube: &CubeDef, d: Option<&Spanned<String>>) -> Result<Option<String>> {
        let Some(d) = d.filter(|d| d.get_ref() != "ensemble") else {
            return Ok(None);
        };
        let known = cube.dimensions.unwrap_or(DIMENSIONS);
        if !known.contains(&d.get_ref().as_str()) {
            return Err(self.refuse(
                at(d),
                format!(
                    "cube `{}` has no dimension `{}` (one of {})",
                    cube.name,
                    d.get_ref(),
                    known.join(", ")
                ),
            ));
        }
        Ok(Some(d.get_ref().clone()))
    }

    /// The measures a table publishes (all of its cube's when none are
    /// listed). A rate or statistic published without a count it is
    /// computed from would give that count away: refused.
    fn measures(&self, cube: &CubeDef, t: &TableFile) -> Result<Vec<&'static str>> {
        let all: Vec<&'static str> = cube.measures().collect();
        let Some(list) = &t.mesures else {
            return Ok(all);
        };
        let mut chosen = Vec::new();
        for m in list {
            let found = all.iter().find(|a| **a == m.get_ref()).ok_or_else(|| {
                self.refuse(
                    at(m),
                    format!(
                        "cube `{}` has no measure `{}` (one of {})",
                        cube.name,
                        m.get_ref(),
                        all.join(", ")
                    ),
                )
            })?;
            chosen.push(*found);
        }
        for (rate, uses) in cube.rates {
            if !chosen.contains(rate) {
                continue;
            }
            for u in uses.iter() {
                let column = cube.column_of(u.variable);
                if !column.is_some_and(|c| chosen.contains(&c)) {
                    return Err(self.refuse(
                        at(&t.nom),
                        format!(
                            "table `{}` publishes `{rate}` without the count `{}` it is computed from",
                            t.nom.get_ref(),
                            column.unwrap_or(u.variable)
                        ),
                    ));
                }
            }
        }
        Ok(chosen)
    }
}

/// Whether a table's name is its cube's, or the cube's and `_suffix`
/// (lowercase letters, digits, `_`).
fn named_after(nom: &str, cube: &str) -> bool {
    nom == cube
        || nom
            .strip_prefix(cube)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|rest| {
                !rest.is_empty()
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_plans_load() {
        for text in [COMITE, MINISTERE] {
            let plan = Plan::parse("shipped", text).unwrap();
            assert!(plan.tables.len() >= 5);
            assert_eq!(plan.sha256.len(), 64);
        }
    }

    fn refused(text: &str) -> String {
        Plan::parse("p.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn unknown_names_are_refused_with_their_line() {
        let head = "version = \"1\"\n\n[[tableau]]\nnom = \"entonnoir\"\ncube = \"entonnoir\"\n";
        let e = refused(&format!(
            "{head}niveaux = [\"region\", \"canton\"]\nperiode = \"quadrimestre\"\n"
        ));
        assert!(
            e.contains("p.toml, line 6") && e.contains("`canton`"),
            "{e}"
        );
        let e = refused(&format!(
            "{head}niveaux = [\"region\"]\nperiode = \"quadrimestre\"\ndimension = \"couleur\"\n"
        ));
        assert!(e.contains("line 8") && e.contains("`couleur`"), "{e}");
        let e = refused(&format!(
            "{head}niveaux = [\"region\"]\nperiode = \"quadrimestre\"\nmesures = [\"nb_positionnements\", \"nb_inconnu\"]\n"
        ));
        assert!(e.contains("line 8") && e.contains("`nb_inconnu`"), "{e}");
        let e = refused("version = \"1\"\n[[tableau]]\nnom = \"x\"\ncube = \"cube_inconnu\"\nniveaux = [\"region\"]\nperiode = \"mois\"\n");
        assert!(e.contains("line 4") && e.contains("`cube_inconnu`"), "{e}");
        let e = refused(&format!(
            "{head}niveaux = [\"region\"]\nperiode = \"quadrimestre\"\nmesures = [\"taux_entree\", \"nb_entrees\"]\n"
        ));
        assert!(e.contains("without the count `nb_positionnements`"), "{e}");
        let e = refused(&format!(
            "{head}niveaux = [\"region\"]\nperiode = \"semaine\"\n"
        ));
        assert!(e.contains("line 7") && e.contains("`semaine`"), "{e}");
    }
}
