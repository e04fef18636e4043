//! French administrative geography: the INSEE codes of the eighteen
//! regions (2016) and of their départements. A code a user types (a
//! recipient's region or département, `report --region`) is checked here,
//! so that `region = "99"` is refused rather than delivering nothing.

use serde::de::{self, Deserializer, Unexpected, Visitor};

/// Regions: INSEE code, name, départements.
pub(crate) const REGIONS: &[(&str, &str, &[&str])] = &[
    ("01", "Guadeloupe", &["971"]),
    ("02", "Martinique", &["972"]),
    ("03", "Guyane", &["973"]),
    ("04", "La Réunion", &["974"]),
    ("06", "Mayotte", &["976"]),
    (
        "11",
        "Île-de-France",
        &["75", "77", "78", "91", "92", "93", "94", "95"],
    ),
    (
        "24",
        "Centre-Val de Loire",
        &["18", "28", "36", "37", "41", "45"],
    ),
    (
        "27",
        "Bourgogne-Franche-Comté",
        &["21", "25", "39", "58", "70", "71", "89", "90"],
    ),
    ("28", "Normandie", &["14", "27", "50", "61", "76"]),
    ("32", "Hauts-de-France", &["02", "59", "60", "62", "80"]),
    (
        "44",
        "Grand Est",
        &["08", "10", "51", "52", "54", "55", "57", "67", "68", "88"],
    ),
    ("52", "Pays de la Loire", &["44", "49", "53", "72", "85"]),
    ("53", "Bretagne", &["22", "29", "35", "56"]),
    (
        "75",
        "Nouvelle-Aquitaine",
        &[
            "16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87",
        ],
    ),
    (
        "76",
        "Occitanie",
        &[
            "09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82",
        ],
    ),
    (
        "84",
        "Auvergne-Rhône-Alpes",
        &[
            "01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74",
        ],
    ),
    (
        "93",
        "Provence-Alpes-Côte d'Azur",
        &["04", "05", "06", "13", "83", "84"],
    ),
    ("94", "Corse", &["2A", "2B"]),
];

/// The French name of a region, `None` for a code that is not a region.
///
/// ```
/// assert_eq!(ouistat::testing::geo::region_name("32"), Some("Hauts-de-France"));
/// assert_eq!(ouistat::testing::geo::region_name("99"), None);
/// ```
pub fn region_name(code: &str) -> Option<&'static str> {
    REGIONS.iter().find(|r| r.0 == code).map(|r| r.1)
}

/// Whether `code` is a département (`62`, `2A`, `974`).
pub(crate) fn is_departement(code: &str) -> bool {
    REGIONS.iter().any(|r| r.2.contains(&code))
}

/// The regions as `code name` pairs, for error messages.
pub(crate) fn region_list() -> String {
    REGIONS
        .iter()
        .map(|(code, name, _)| format!("{code} {name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why `code` is not a region, with the code the user probably meant when
/// it has a leading zero too many (`032`).
pub(crate) fn region_problem(code: &str) -> Option<String> {
    if region_name(code).is_some() {
        return None;
    }
    let trimmed = code.trim_start_matches('0');
    let meant = [trimmed.to_string(), format!("0{trimmed}")]
        .into_iter()
        .find(|c| c.len() == 2 && region_name(c).is_some());
    Some(match meant {
        Some(c) if c != code => format!(
            "`{code}` is not an INSEE region code: region codes have two digits; did you mean `{c}`?"
        ),
        _ => format!(
            "`{code}` is not an INSEE region code; the regions are {}",
            region_list()
        ),
    })
}

/// A code written quoted or not in a TOML file: `region = 32` and
/// `region = "32"` are the same code; a number is written with at least
/// two digits (`2` → `"02"`).
pub(crate) fn code<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct Code;
    impl Visitor<'_> for Code {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a code, quoted or not (32 or \"32\")")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.trim().to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(format!("{v:02}"))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            u64::try_from(v)
                .map(|v| format!("{v:02}"))
                .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
        }
    }
    d.deserialize_any(Code)
}

/// A region code ([`code`]) that must be one of [`REGIONS`].
pub(crate) fn region<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let c = code(d)?;
    match region_problem(&c) {
        None => Ok(Some(c)),
        Some(problem) => Err(de::Error::custom(problem)),
    }
}

/// A département code ([`code`]) that must be a département of [`REGIONS`].
pub(crate) fn departement<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let c = code(d)?;
    if is_departement(&c) {
        Ok(Some(c))
    } else {
        Err(de::Error::custom(format!(
            "`{c}` is not a département code (01 to 95 with 2A and 2B, or 971 to 976)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_departement_is_in_one_region() {
        let all: Vec<&str> = REGIONS.iter().flat_map(|r| r.2.iter().copied()).collect();
        assert_eq!(all.len(), 101);
        let unique: std::collections::BTreeSet<&str> = all.iter().copied().collect();
        assert_eq!(unique.len(), all.len());
        assert!(all.iter().all(|d| crate::rules::is_departement(d)));
    }

    #[test]
    fn region_codes_are_checked_with_a_hint() {
        assert_eq!(region_problem("32"), None);
        assert!(region_problem("032").unwrap().contains("did you mean `32`"));
        assert!(region_problem("4").unwrap().contains("did you mean `04`"));
        let unknown = region_problem("99").unwrap();
        assert!(unknown.contains("32 Hauts-de-France"), "{unknown}");
    }
}
