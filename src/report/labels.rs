//! Words instead of codes: the French labels of schemes, funders,
//! prescribers, abandon reasons, départements and regions.
//!
//! What always holds: every code gets a label. The labels shipped with the
//! engine (`src/reference/libelles.csv`, `src/reference/motifs.csv`, the
//! region names of [`crate::geo`]) are read first; a file given with
//! `ouistat report --libelles FILE` (same format as `libelles.csv`) replaces
//! or adds labels; a code no file names reads "autre motif (code XY)" (or
//! "autre dispositif…"), never a bare code presented as a category.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};

/// The labels shipped with the engine: `nomenclature;code;libelle`.
const LIBELLES: &str = include_str!("../reference/libelles.csv");

/// The nomenclatures a labels file may name, with the words for a code it
/// does not know.
const NOMENCLATURES: [(&str, &str); 6] = [
    ("dispositif", "autre dispositif"),
    ("financeur_code", "autre financeur"),
    ("prescripteur_type", "autre prescripteur"),
    ("motif", "autre motif"),
    ("departement", "département"),
    ("region", "région"),
];

/// Labels by nomenclature and code.
#[derive(Debug, Clone)]
pub(crate) struct Labels {
    by_code: HashMap<(String, String), String>,
}

impl Labels {
    /// The shipped labels, then those of `overrides` (a `libelles.csv`-like
    /// file), which win.
    ///
    /// # Errors
    /// `Io` naming a file that cannot be read; `Config` naming the file and
    /// line of a malformed row or an unknown nomenclature.
    pub(crate) fn load(overrides: Option<&Path>) -> Result<Self> {
        let mut labels = Labels {
            by_code: HashMap::new(),
        };
        for region in crate::geo::REGIONS {
            labels.insert("region", region.0, region.1);
        }
        // motifs.csv: `type;motif_code;libelle`, the type (ICO, ABANDON…)
        // aside.
        for (_, _, code, libelle) in rows(crate::stage::MOTIFS_DEFAUT, "motifs.csv")? {
            labels.insert("motif", code, libelle);
        }
        labels.read(LIBELLES, "libelles.csv")?;
        if let Some(path) = overrides {
            let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
            labels.read(&text, &path.display().to_string())?;
        }
        Ok(labels)
    }

    fn insert(&mut self, nomenclature: &str, code: &str, libelle: &str) {
        self.by_code.insert(
            (nomenclature.to_string(), code.to_string()),
            libelle.to_string(),
        );
    }

    fn read(&mut self, text: &str, origin: &str) -> Result<()> {
        for (line, nomenclature, code, libelle) in rows(text, origin)? {
            if !NOMENCLATURES.iter().any(|(n, _)| *n == nomenclature) {
                return Err(Error::Config(format!(
                    "{origin}, line {line}: unknown nomenclature `{nomenclature}` (expected one of {})",
                    NOMENCLATURES.map(|(n, _)| n).join(", ")
                )));
            }
            self.insert(nomenclature, code, libelle);
        }
        Ok(())
    }

    /// The label of `code` in `nomenclature` (`dispositif`, `motif`…), or
    /// "autre motif (code XY)" for a code no file names.
    pub(crate) fn label(&self, nomenclature: &str, code: &str) -> String {
        if let Some(l) = self
            .by_code
            .get(&(nomenclature.to_string(), code.to_string()))
        {
            return l.clone();
        }
        let words = NOMENCLATURES
            .iter()
            .find(|(n, _)| *n == nomenclature)
            .map_or("autre code", |(_, w)| w);
        format!("{words} (code {code})")
    }
}

/// The rows of a `;`-separated file of three columns after its header,
/// each with its line number (from 1).
///
/// # Errors
/// `Config` naming `origin` and the line of a row that does not have three
/// non-empty fields.
type Row<'a> = (usize, &'a str, &'a str, &'a str);

fn rows<'a>(text: &'a str, origin: &str) -> Result<Vec<Row<'a>>> {
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let mut f = l.trim_end_matches('\r').splitn(3, ';').map(str::trim);
            match (f.next(), f.next(), f.next()) {
                (Some(a), Some(b), Some(c)) if !a.is_empty() && !b.is_empty() && !c.is_empty() => {
                    Ok((i + 1, a, b, c))
                }
                _ => Err(Error::Config(format!(
                    "{origin}, line {}: expected three fields `nomenclature;code;libelle`, got `{l}`",
                    i + 1
                ))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_labels_an_unknown_code_and_an_override() {
        let labels = Labels::load(None).unwrap();
        assert_eq!(labels.label("motif", "AB01"), "Reprise d'emploi");
        assert_eq!(labels.label("motif", "ZZ42"), "autre motif (code ZZ42)");
        assert_eq!(
            labels.label("dispositif", "PARCOURS_INTEGRE"),
            "Parcours intégré"
        );
        assert_eq!(labels.label("departement", "02"), "Aisne");
        assert_eq!(labels.label("region", "32"), "Hauts-de-France");
        assert_eq!(labels.label("prescripteur_type", "ML"), "Mission locale");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mes-libelles.csv");
        std::fs::write(
            &file,
            "nomenclature;code;libelle\nmotif;ZZ42;Motif local\ndispositif;AFC;AFC régionale\n",
        )
        .unwrap();
        let labels = Labels::load(Some(&file)).unwrap();
        assert_eq!(labels.label("motif", "ZZ42"), "Motif local");
        assert_eq!(labels.label("dispositif", "AFC"), "AFC régionale");
        std::fs::write(&file, "nomenclature;code;libelle\nmetier;X;Y\n").unwrap();
        let e = Labels::load(Some(&file)).unwrap_err().to_string();
        assert!(
            e.contains("mes-libelles.csv, line 2") && e.contains("metier"),
            "{e}"
        );
        std::fs::write(&file, "nomenclature;code;libelle\nmotif;ZZ42\n").unwrap();
        let e = Labels::load(Some(&file)).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("three fields"), "{e}");
    }
}
