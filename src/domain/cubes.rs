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

/// Key columns shared by every cube.
pub(crate) const CUBE_KEYS: &[&str] = &["periode", "type_periode", "niveau_geo", "code_geo"];
