//! The input contract (SPEC §2): the four extracts, their columns, types and rules.
//!
//! This is the single description of what a valid extract looks like; the
//! generator writes it, `validate` enforces it and `stage` types it.

/// How a column is typed once validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Date,
    Timestamp,
    Bool,
    Enum(&'static [&'static str]),
}

/// A format rule checked on a present value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    None,
    /// 5 digits.
    Formacode,
    /// 14 digits, Luhn (La Poste's SIREN 356000000 by its own rule).
    Siret,
    /// 15 characters with the key of the French social-security number.
    Nir,
    /// INSEE commune code: 5 characters, digits or 2A/2B.
    Commune,
    /// 2 or 3 characters (2A, 2B, 971…).
    Departement,
    /// INSEE region code: 2 digits.
    Region,
    /// 4 digits (2020 zoning).
    ZoneEmploi,
    /// Integer > 0.
    Positive,
    /// A date (or the day of a timestamp) of the activity: within
    /// `PlausibleDates::activity`.
    ActivityDate,
    /// A date of birth: within `PlausibleDates::births`.
    BirthDate,
}

/// One column of an extract.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    /// Mandatory: a missing value quarantines the row.
    pub required: bool,
    pub check: Check,
    /// Annex 1 "*" field: a missing value is a warning.
    pub recommended: bool,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        required: false,
        check: Check::None,
        recommended: false,
    }
}

const fn req(name: &'static str, kind: Kind) -> Column {
    Column {
        required: true,
        ..col(name, kind)
    }
}

const fn chk(name: &'static str, kind: Kind, required: bool, check: Check) -> Column {
    Column {
        required,
        check,
        ..col(name, kind)
    }
}

const fn rec(name: &'static str) -> Column {
    Column {
        recommended: true,
        ..col(name, Kind::Text)
    }
}

pub(crate) const DISPOSITIFS: &[&str] =
    &["AFC", "POEC", "PRF", "SIEG", "PARCOURS_INTEGRE", "AUTRE"];
pub(crate) const CIVILITES: &[&str] = &["M", "MME"];
pub(crate) const NIVEAUX: &[&str] = &[
    "AFS", "CP4", "CFG", "C3A", "C12", "NV5", "NV4", "NV3", "NV2", "NV1",
];
pub(crate) const CATEGORIES: &[&str] = &["A", "B", "C", "D", "E"];
pub(crate) const PRESCRIPTEURS: &[&str] = &["PE", "ML", "CE", "CD", "REGION", "AUTRE"];
pub(crate) const TYPES_EVENEMENT: &[&str] = &[
    "ICO",
    "PLAN_FORMATION",
    "AIS",
    "ENTREE",
    "ABSENCE",
    "ABANDON",
    "BILAN",
];

/// The statuses allowed for an event type; empty means the status must be null.
pub(crate) fn statuts(type_evenement: &str) -> &'static [&'static str] {
    match type_evenement {
        "ICO" => &[
            "PRESENT_RETENU",
            "PRESENT_NON_RETENU",
            "ABSENT",
            "DESISTE",
            "REPORTE",
        ],
        "AIS" => &["VALIDEE", "REFUSEE", "ANNULEE"],
        "ENTREE" => &["AES_RECUE", "AES_NON_RECUE"],
        "BILAN" => &["TERMINE", "CERTIFIE", "NON_CERTIFIE"],
        _ => &[],
    }
}

/// Every status of every type, for the column's enum check.
pub(crate) const STATUTS: &[&str] = &[
    "PRESENT_RETENU",
    "PRESENT_NON_RETENU",
    "ABSENT",
    "DESISTE",
    "REPORTE",
    "VALIDEE",
    "REFUSEE",
    "ANNULEE",
    "AES_RECUE",
    "AES_NON_RECUE",
    "TERMINE",
    "CERTIFIE",
    "NON_CERTIFIE",
];

use Kind::*;

pub(crate) const SESSIONS: &[Column] = &[
    req("session_id", Text),
    req("intitule", Text),
    chk("formacode", Text, false, Check::Formacode),
    req("dispositif", Enum(DISPOSITIFS)),
    req("financeur_code", Int),
    chk("organisme_siret", Text, false, Check::Siret),
    col("organisme_nom", Text),
    chk("commune_insee", Text, false, Check::Commune),
    chk("departement", Text, false, Check::Departement),
    chk("region", Text, false, Check::Region),
    chk("zone_emploi", Text, false, Check::ZoneEmploi),
    chk("date_debut", Date, true, Check::ActivityDate),
    // Not windowed: a long course may end more than a year after the
    // cut-off; date_fin >= date_debut bounds it below, and no indicator uses it.
    req("date_fin", Date),
    chk("duree_heures", Int, true, Check::Positive),
    chk("places_conventionnees", Int, true, Check::Positive),
];

pub(crate) const INDIVIDUS: &[Column] = &[
    req("identifiant_spe", Text),
    col("identifiant_national_pe", Text),
    col("identifiant_regional_pe", Text),
    col("numero_imilo", Text),
    chk("nir", Text, false, Check::Nir),
    req("civilite", Enum(CIVILITES)),
    req("nom_naissance", Text),
    col("nom_usage", Text),
    req("prenom", Text),
    chk("date_naissance", Date, true, Check::BirthDate),
    rec("lieu_naissance_commune"),
    rec("lieu_naissance_pays"),
    rec("nationalite"),
    rec("telephone"),
    rec("email"),
    rec("adresse"),
    chk("commune_residence", Text, false, Check::Commune),
    req("niveau_formation", Enum(NIVEAUX)),
    col("diplome_plus_haut", Text),
    col("eligible_pic", Bool),
    col("inscrit_pe", Bool),
    col("date_inscription", Date),
    col("categorie_inscription", Enum(CATEGORIES)),
    col("travailleur_handicape", Bool),
    col("beneficiaire_rsa", Bool),
    col("beneficiaire_aah", Bool),
];

pub(crate) const POSITIONNEMENTS: &[Column] = &[
    req("positionnement_id", Text),
    req("identifiant_spe", Text),
    req("session_id", Text),
    req("prescripteur_type", Enum(PRESCRIPTEURS)),
    col("prescripteur_structure", Text),
    col("prescripteur_nom", Text),
    col("prescripteur_email", Text),
    col("hors_spe", Bool),
    chk("date_positionnement", Timestamp, true, Check::ActivityDate),
    col("projet_valide_cep", Bool),
    col("freins_identifies", Bool),
    col("projet_professionnel", Text),
    col("detail_freins", Text),
];

pub(crate) const EVENEMENTS: &[Column] = &[
    req("positionnement_id", Text),
    req("type", Enum(TYPES_EVENEMENT)),
    col("statut", Enum(STATUTS)),
    col("motif_code", Text),
    chk("date_evenement", Date, true, Check::ActivityDate),
    chk("enregistre_le", Timestamp, true, Check::ActivityDate),
];

/// One of the four extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Extract {
    Sessions,
    Individus,
    Positionnements,
    Evenements,
}

impl Extract {
    /// In dependency order: parents before children.
    pub const ALL: [Extract; 4] = [
        Extract::Sessions,
        Extract::Individus,
        Extract::Positionnements,
        Extract::Evenements,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Extract::Sessions => "sessions",
            Extract::Individus => "individus",
            Extract::Positionnements => "positionnements",
            Extract::Evenements => "evenements",
        }
    }

    pub fn columns(self) -> &'static [Column] {
        match self {
            Extract::Sessions => SESSIONS,
            Extract::Individus => INDIVIDUS,
            Extract::Positionnements => POSITIONNEMENTS,
            Extract::Evenements => EVENEMENTS,
        }
    }

    /// The column whose value identifies a row for duplicates and for the
    /// quarantine cascade (`parent_en_quarantaine`).
    pub fn key(self) -> &'static str {
        match self {
            Extract::Sessions => "session_id",
            Extract::Individus => "identifiant_spe",
            Extract::Positionnements | Extract::Evenements => "positionnement_id",
        }
    }

    pub fn column_index(self, name: &str) -> Option<usize> {
        self.columns().iter().position(|c| c.name == name)
    }
}

/// The names of the quarantine rules (column `regle`).
pub(crate) mod rule {
    pub(crate) const FIELD_COUNT: &str = "nombre_champs";
    /// A double quote that opens a field and never closes it (the line is
    /// read alone and reading resumes on the next one).
    pub(crate) const UNCLOSED_QUOTE: &str = "guillemet_non_ferme";
    /// A row of bare delimiters (`;;;;;`), as spreadsheets leave behind.
    pub(crate) const NO_VALUE: &str = "ligne_sans_valeur";
    pub(crate) const UTF8: &str = "encodage_invalide";
    pub(crate) const TYPE: &str = "type_invalide";
    pub(crate) const ENUM: &str = "valeur_inconnue";
    pub(crate) const REQUIRED: &str = "obligatoire_manquant";
    pub(crate) const FORMAT: &str = "format_invalide";
    pub(crate) const NIR: &str = "nir_invalide";
    pub(crate) const SIRET: &str = "siret_invalide";
    pub(crate) const RANGE: &str = "hors_bornes";
    pub(crate) const DATE_ORDER: &str = "dates_incoherentes";
    /// A date outside the plausible window (`rules::PlausibleDates`).
    pub(crate) const IMPLAUSIBLE_DATE: &str = "date_improbable";
    pub(crate) const STATUS: &str = "statut_incoherent";
    pub(crate) const DUPLICATE: &str = "doublon";
    pub(crate) const FOREIGN_KEY: &str = "cle_etrangere_absente";
    pub(crate) const PARENT: &str = "parent_en_quarantaine";

    // The warning rules (`champ_recommande_manquant`, `motif_inconnu`,
    // `age_improbable`) are applied by SQL alone: they are named in
    // `regles.csv` and `queries/checks/avertissements.sql`, not here.

    /// Notes on how a Parquet column was read (`run.json`, `lecture`).
    pub(crate) const W_INT96: &str = "int96_lu_en_utc";
    pub(crate) const W_COLUMN_TYPE: &str = "colonne_type_invalide";
}
