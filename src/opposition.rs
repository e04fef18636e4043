//! The opposition and limitation list (RGPD art. 18 and 21, forwarded by
//! Pôle emploi under the convention): persons whose rows must not reach
//! some classes of recipients, applied by `deliver` at every run.
//!
//! The list is a `;`-separated UTF-8 file with a header:
//!
//! ```text
//! nir;classes;date
//! 1850578123456;financeur,partenaire;2026-09-15
//! 2900112345678;toutes;2026-10-02
//! ```
//!
//! The first column names the identifier kind (one of
//! [`crate::register::IDENTIFIERS`]); `classes` lists recipient classes
//! receiving microdata, comma-separated, or `toutes`; `date` is the date of
//! the request. What always holds: a malformed line is refused with the
//! file, the line and the rule, before any work.

use std::path::Path;

use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::policy::RecipientClass;

/// The classes that receive rows of persons, hence the ones a list may name.
pub(crate) const MICRODATA_CLASSES: [RecipientClass; 4] = [
    RecipientClass::PoleEmploi,
    RecipientClass::Financeur,
    RecipientClass::Partenaire,
    RecipientClass::Ministere,
];

/// One line of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opposition {
    /// The identifier's kind: a column of `individus` ([`crate::register::IDENTIFIERS`]).
    pub kind: &'static str,
    pub identifiant: String,
    pub classes: Vec<RecipientClass>,
    /// The date of the request.
    pub date: NaiveDate,
}

/// Reads an opposition list.
///
/// # Errors
/// `Config` naming the file and line: an unknown identifier kind, a
/// missing field, an unknown class, the committee (it receives aggregates
/// only) or a date that is not `YYYY-MM-DD`.
pub(crate) fn load(path: &Path) -> Result<Vec<Opposition>> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    parse(&text, &path.display().to_string())
}

/// Parses the text of a list; `origin` names it in errors.
///
/// # Errors
/// As [`load`].
pub(crate) fn parse(text: &str, origin: &str) -> Result<Vec<Opposition>> {
    let mut lines = text
        .trim_start_matches('\u{feff}')
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let err = |line: usize, why: String| Error::Config(format!("{origin}:{}: {why}", line + 1));
    let Some((at, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let head: Vec<&str> = header.split(';').map(str::trim).collect();
    let kind = crate::register::IDENTIFIERS
        .into_iter()
        .find(|k| head.first() == Some(k))
        .filter(|_| head.get(1..) == Some(&["classes", "date"][..]))
        .ok_or_else(|| {
            err(
                at,
                format!(
                    "the header must be `<identifier>;classes;date`, the identifier one of {}",
                    crate::register::IDENTIFIERS.join(", ")
                ),
            )
        })?;
    let mut out = Vec::new();
    for (at, line) in lines {
        let fields: Vec<&str> = line.split(';').map(str::trim).collect();
        let [id, classes, date] = fields[..] else {
            return Err(err(
                at,
                format!(
                    "{} fields where 3 are expected ({kind};classes;date)",
                    fields.len()
                ),
            ));
        };
        if id.is_empty() {
            return Err(err(at, format!("no {kind}")));
        }
        let classes = parse_classes(classes).map_err(|why| err(at, why))?;
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| err(at, format!("`{date}` is not a date YYYY-MM-DD")))?;
        out.push(Opposition {
            kind,
            identifiant: id.to_string(),
            classes,
            date,
        });
    }
    Ok(out)
}

fn parse_classes(text: &str) -> std::result::Result<Vec<RecipientClass>, String> {
    if text == "toutes" {
        return Ok(MICRODATA_CLASSES.to_vec());
    }
    let names = || {
        MICRODATA_CLASSES
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = Vec::new();
    for name in text.split(',').map(str::trim) {
        if name == RecipientClass::Comite.name() {
            return Err(
                "the committee receives anonymous aggregates only: no person's rows to withhold"
                    .into(),
            );
        }
        let class = MICRODATA_CLASSES
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown recipient class `{name}`, expected `toutes` or some of {}",
                    names()
                )
            })?;
        out.push(class);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_read_and_a_bad_line_named() {
        let list = parse(
            "nir;classes;date\n185;financeur, partenaire;2026-09-15\n\n290;toutes;2026-10-02\n",
            "liste.csv",
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].kind, "nir");
        assert_eq!(
            list[0].classes,
            [RecipientClass::Financeur, RecipientClass::Partenaire]
        );
        assert_eq!(list[1].classes.len(), 4);
        let e = parse("nir;classes;date\n185;comite;2026-09-15\n", "liste.csv").unwrap_err();
        assert!(e.to_string().contains("liste.csv:2"), "{e}");
        let e = parse("nir;classes;date\n185;financeur;15/09/2026\n", "l").unwrap_err();
        assert!(
            e.to_string().contains("l:2") && e.to_string().contains("15/09"),
            "{e}"
        );
        assert!(parse("email;classes;date\n", "l").is_err());
    }
}
