//! The Annex 1 policy as data: for each extract column and each class of
//! recipient, one treatment.
//!
//! Fail-closed in both directions: a column the policy does not name is
//! never delivered, and a policy naming a column the extracts do not have is
//! refused at load. The policy's SHA-256 goes into every manifest.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::schema::Extract;

pub(crate) mod quasi;

/// The policy shipped with the engine, transcribed from Annex 1.
pub const ANNEXE1: &str = include_str!("policy/annexe1.toml");

/// What a recipient receives of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Treatment {
    /// The value as it is.
    Garder,
    /// Not delivered.
    Supprimer,
    /// Keyed pseudonym (column renamed `<column>_pseudo`).
    Pseudonymiser,
    /// A commune code and nothing finer (an address is reduced to it).
    CommuneSeulement,
    /// A prescriber reduced to its structure (type or structure id).
    StructureSeulement,
    /// A date of birth reduced to the year (`annee_naissance`).
    AnneeEtTrancheAge,
}

impl Treatment {
    /// French label for the data dictionary.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Treatment::Garder => "transmis tel quel",
            Treatment::Supprimer => "non transmis",
            Treatment::Pseudonymiser => "pseudonymisé (HMAC-SHA256 à clé, 128 bits)",
            Treatment::CommuneSeulement => "réduit au code commune",
            Treatment::StructureSeulement => "réduit à la structure",
            Treatment::AnneeEtTrancheAge => "réduit à l'année de naissance",
        }
    }
}

/// The classes of recipients of SPEC §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientClass {
    PoleEmploi,
    Financeur,
    Partenaire,
    Ministere,
    /// The DREETS regional committee: aggregates only, never a row of microdata.
    Comite,
}

impl RecipientClass {
    /// The class as recipients files write it (`pole_emploi`, `comite`…).
    pub fn name(self) -> &'static str {
        match self {
            RecipientClass::PoleEmploi => "pole_emploi",
            RecipientClass::Financeur => "financeur",
            RecipientClass::Partenaire => "partenaire",
            RecipientClass::Ministere => "ministere",
            RecipientClass::Comite => "comite",
        }
    }
}

/// One column's entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ColumnPolicy {
    pub table: String,
    pub colonne: String,
    pub rubrique: String,
    pub description: String,
    pub pole_emploi: Treatment,
    pub financeur: Treatment,
    pub partenaire: Treatment,
    pub ministere: Treatment,
    #[serde(default)]
    pub motif: String,
}

impl ColumnPolicy {
    pub(crate) fn treatment(&self, class: RecipientClass) -> Treatment {
        match class {
            RecipientClass::PoleEmploi => self.pole_emploi,
            RecipientClass::Financeur => self.financeur,
            RecipientClass::Partenaire => self.partenaire,
            RecipientClass::Ministere => self.ministere,
            RecipientClass::Comite => Treatment::Supprimer,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    version: String,
    source: String,
    colonnes: Vec<toml::Spanned<ColumnPolicy>>,
    // Issue 25: quasi-identifiers and the k each class requires (`kanon`).
    #[serde(default)]
    quasi_identifiants: Vec<toml::Spanned<quasi::QiEntry>>,
    #[serde(default)]
    k_anonymat: Vec<quasi::KEntry>,
    // Issue 26: how long personal data may be kept.
    #[serde(default)]
    conservation: Option<Conservation>,
}

/// How long personal data may be kept (convention art. 5.3: destroyed at
/// the latest two months after the convention ends), as the policy's
/// `[conservation]` table sets it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Conservation {
    /// The day the convention ends (`"YYYY-MM-DD"`); unset, only the
    /// rolling retention applies.
    #[serde(default, deserialize_with = "optional_day")]
    pub fin_convention: Option<chrono::NaiveDate>,
    /// Months after the end by which every copy is destroyed (2).
    #[serde(default = "two_months")]
    pub delai_mois: u32,
    /// A shorter, rolling retention: months after the data was written.
    pub retention_mois: Option<u32>,
    /// Keep a recipient's previous key after a rotation (retired by default).
    #[serde(default)]
    pub garder_anciennes_cles: bool,
}

fn two_months() -> u32 {
    2
}

fn optional_day<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<chrono::NaiveDate>, D::Error> {
    let s = String::deserialize(d)?;
    chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a date \"YYYY-MM-DD\"")))
}

impl Default for Conservation {
    fn default() -> Self {
        Conservation {
            fin_convention: None,
            delai_mois: two_months(),
            retention_mois: None,
            garder_anciennes_cles: false,
        }
    }
}

impl Conservation {
    /// The last day personal data may be kept: the convention's end plus
    /// [`Conservation::delai_mois`].
    pub(crate) fn deadline(&self) -> Option<chrono::NaiveDate> {
        self.fin_convention
            .map(|end| end + chrono::Months::new(self.delai_mois))
    }

    /// Whether personal data written on `day` is past retention on `as_of`:
    /// the deadline is reached, or the rolling retention is over.
    pub(crate) fn due(&self, day: chrono::NaiveDate, as_of: chrono::NaiveDate) -> bool {
        self.deadline().is_some_and(|d| as_of >= d)
            || self
                .retention_mois
                .is_some_and(|m| day + chrono::Months::new(m) <= as_of)
    }

    /// The rule, in words, for the destruction certificate (French).
    pub(crate) fn rule(&self) -> String {
        let mut parts = Vec::new();
        if let (Some(end), Some(deadline)) = (self.fin_convention, self.deadline()) {
            parts.push(format!(
                "fin de la convention le {end}, destruction au plus tard {} mois après, le {deadline}",
                self.delai_mois
            ));
        }
        if let Some(m) = self.retention_mois {
            parts.push(format!("conservation glissante de {m} mois"));
        }
        parts.join(" ; ")
    }
}

/// A loaded, checked policy.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub version: String,
    pub source: String,
    pub columns: Vec<ColumnPolicy>,
    /// SHA-256 of the policy text.
    pub sha256: String,
    /// Quasi-identifiers and their generalisation ladders (`kanon`).
    pub quasi_identifiants: Vec<quasi::QiEntry>,
    /// The k-anonymity each class of recipient requires (`kanon`).
    pub k_anonymat: Vec<quasi::KEntry>,
    /// How long personal data may be kept (issue 26).
    pub conservation: Conservation,
}

/// Anonymised recipients must never get these as they are.
fn anonymised_forbidden(c: &ColumnPolicy) -> bool {
    let free_text = c.rubrique.contains("texte libre");
    let direct = matches!(
        c.colonne.as_str(),
        "nir"
            | "nom_naissance"
            | "nom_usage"
            | "prenom"
            | "telephone"
            | "email"
            | "adresse"
            | "prescripteur_nom"
            | "prescripteur_email"
    );
    free_text || direct
}

/// Why a policy entry cannot stand: an unknown table or column (the
/// valid ones listed), or a grant the ministry may not receive.
fn check_column(c: &ColumnPolicy) -> std::result::Result<(), String> {
    let names = |items: Vec<&str>| items.join(", ");
    let extract = Extract::ALL
        .into_iter()
        .find(|e| e.name() == c.table)
        .ok_or_else(|| {
            format!(
                "unknown table `{}`, expected one of {}",
                c.table,
                names(Extract::ALL.iter().map(|e| e.name()).collect())
            )
        })?;
    if extract.column_index(&c.colonne).is_none() {
        return Err(format!(
            "column `{}.{}` does not exist in the extracts; the columns of {} are {}",
            c.table,
            c.colonne,
            c.table,
            names(extract.columns().iter().map(|col| col.name).collect())
        ));
    }
    if anonymised_forbidden(c) && !matches!(c.ministere, Treatment::Supprimer) {
        return Err(format!(
            "`{}.{}` is a direct identifier or free text and cannot be delivered to the ministry",
            c.table, c.colonne
        ));
    }
    if c.ministere == Treatment::Garder
        && (c.colonne.starts_with("identifiant")
            || c.colonne == "numero_imilo"
            || c.colonne == "positionnement_id")
    {
        return Err(format!(
            "identifier `{}.{}` must be pseudonymised or dropped for the ministry",
            c.table, c.colonne
        ));
    }
    Ok(())
}

impl Policy {
    /// Parses and checks a policy text; `origin` names it in errors.
    ///
    /// # Errors
    /// `Policy` naming the file and line of the first entry that is
    /// malformed, names an unknown table or column, grants the ministry a
    /// direct identifier, or repeats a column.
    pub(crate) fn parse(text: &str, origin: &str) -> Result<Self> {
        let file: PolicyFile = crate::toml_file::parse(origin, text)
            .map_err(|e| Error::Policy(format!("not a valid policy: {e}")))?;
        let mut seen = std::collections::HashSet::new();
        for spanned in &file.colonnes {
            let c = spanned.get_ref();
            let at = crate::toml_file::at(origin, text, spanned.span().start);
            check_column(c).map_err(|e| Error::Policy(format!("{at}: {e}")))?;
            if !seen.insert((c.table.as_str(), c.colonne.as_str())) {
                return Err(Error::Policy(format!(
                    "{at}: `{}.{}` is named twice",
                    c.table, c.colonne
                )));
            }
        }
        // Issue 25: quasi-identifiers name delivered columns, ladders coarsen.
        for spanned in &file.quasi_identifiants {
            let at = crate::toml_file::at(origin, text, spanned.span().start);
            let columns: Vec<ColumnPolicy> =
                file.colonnes.iter().map(|c| c.get_ref().clone()).collect();
            quasi::check_qi(spanned.get_ref(), &columns)
                .map_err(|e| Error::Policy(format!("{at}: {e}")))?;
        }
        let quasi_identifiants: Vec<quasi::QiEntry> = file
            .quasi_identifiants
            .into_iter()
            .map(toml::Spanned::into_inner)
            .collect();
        quasi::check_all(&quasi_identifiants, &file.k_anonymat)
            .map_err(|e| Error::Policy(format!("{origin}: {e}")))?;
        Ok(Policy {
            quasi_identifiants,
            k_anonymat: file.k_anonymat,
            conservation: file.conservation.unwrap_or_default(),
            version: file.version,
            source: file.source,
            columns: file
                .colonnes
                .into_iter()
                .map(toml::Spanned::into_inner)
                .collect(),
            sha256: crate::digest::sha256_hex(text.as_bytes()),
        })
    }

    /// The shipped Annex 1 policy.
    pub(crate) fn annexe1() -> Self {
        Policy::parse(ANNEXE1, "annexe1.toml").expect("the shipped policy is valid (tested)")
    }

    pub(crate) fn load(path: Option<&Path>) -> Result<Self> {
        match path {
            None => Ok(Policy::annexe1()),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(Error::io(p))?;
                Policy::parse(&text, &p.display().to_string())
            }
        }
    }

    /// The treatment of a column for a class; `Supprimer` when not named (fail-closed).
    pub(crate) fn treatment(&self, table: &str, column: &str, class: RecipientClass) -> Treatment {
        self.columns
            .iter()
            .find(|c| c.table == table && c.colonne == column)
            .map_or(Treatment::Supprimer, |c| c.treatment(class))
    }

    pub(crate) fn entry(&self, table: &str, column: &str) -> Option<&ColumnPolicy> {
        self.columns
            .iter()
            .find(|c| c.table == table && c.colonne == column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_policy_names_every_column_once() {
        let p = Policy::annexe1();
        for e in Extract::ALL {
            for c in e.columns() {
                assert!(
                    p.entry(e.name(), c.name).is_some(),
                    "{}.{} not in the policy",
                    e.name(),
                    c.name
                );
            }
        }
        assert_eq!(
            p.treatment("individus", "nir", RecipientClass::Ministere),
            Treatment::Supprimer
        );
        assert_eq!(
            p.treatment("individus", "colonne_inconnue", RecipientClass::PoleEmploi),
            Treatment::Supprimer
        );
    }

    #[test]
    fn unknown_columns_and_unsafe_ministry_grants_are_refused() {
        let bad_column = ANNEXE1.replacen("colonne = \"nir\"", "colonne = \"numero_secu\"", 1);
        assert!(Policy::parse(&bad_column, "t").is_err());
        let e = Policy::parse(&bad_column, "p.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("p.toml, line ")
                && e.contains("`individus.numero_secu`")
                && e.contains("nom_naissance"),
            "{e}"
        );
        let bad_treatment =
            ANNEXE1.replacen("ministere = \"supprimer\"", "ministere = \"effacer\"", 1);
        let e = Policy::parse(&bad_treatment, "p.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("p.toml, line ") && e.contains("`effacer`") && e.contains("`pseudonymiser`"),
            "{e}"
        );
        let leaky = ANNEXE1.replace(
            "colonne = \"prenom\"\nrubrique = \"Nom de naissance, nom d'usage, prénom\"\ndescription = \"Prénom\"\npole_emploi = \"garder\"\nfinanceur = \"garder\"\npartenaire = \"garder\"\nministere = \"supprimer\"",
            "colonne = \"prenom\"\nrubrique = \"Nom de naissance, nom d'usage, prénom\"\ndescription = \"Prénom\"\npole_emploi = \"garder\"\nfinanceur = \"garder\"\npartenaire = \"garder\"\nministere = \"garder\"",
        );
        assert_ne!(leaky, ANNEXE1);
        assert!(Policy::parse(&leaky, "t").is_err());
    }
}
