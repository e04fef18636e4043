//! What the cubes are made of: their dimensions and key columns, in one
//! place for the SQL templates (`queries`), the publication plans
//! (`secrecy::plan`) and the benches.

/// Dimensions of the cubes (SPEC §6), besides `ensemble`.
pub(crate) const DIMENSIONS: &[&str] = &[
    "dispositif",
    "financeur_code",
    "prescripteur_type",
    "sexe",
    "tranche_age",
    "niveau",
    "eligible_pic",
    "beneficiaire_rsa",
    "travailleur_handicape",
];

/// Key columns of the cube models' grouping sets: the period as its
/// number (`code_periode`, which names its kind too: the SQL macros
/// `code_mois` and `code_quadrimestre`), the geographic level and its code.
/// The marts turn the number back into the cubes' `periode` and
/// `type_periode`.
pub(crate) const CUBE_KEYS: &[&str] = &["code_periode", "niveau_geo", "code_geo"];
