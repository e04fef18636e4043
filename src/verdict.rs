//! The verdict on a run's input (SPEC §2): an extract with no accepted row,
//! or with more than a configurable share of its rows quarantined, fails
//! the run. Its quarantine and `run.json` are still written and swapped
//! in, nothing is delivered, and the run exits with code 3.
//!
//! The verdict names each failing extract, its share, its main rules and,
//! when the evidence fits, a diagnosis: an undeclared Windows-1252 file,
//! numbers in scientific notation (a file that went through Excel), a
//! cut-off before the data. The judgement itself ([`judge`]) is pure: the
//! reconciliation and the evidence in, the findings out.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use chrono::NaiveDate;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::ingest::Encoding;
use crate::schema::{rule, Extract};
use crate::stage::{Reconciliation, Stage};

/// The share of an extract's rows that may be quarantined by default.
pub(crate) const DEFAULT_MAX_QUARANTINE: f64 = 0.05;

/// How many rules a finding names.
const MAIN_RULES: usize = 3;

/// Parses `--max-quarantine`: a percentage (`5%`) or a fraction (`0.05`).
///
/// ```
/// use ouistat::testing::verdict::parse_share;
/// assert_eq!(parse_share("5%").unwrap(), 0.05);
/// assert_eq!(parse_share("0.2").unwrap(), 0.2);
/// assert!(parse_share("5").is_err());
/// ```
///
/// # Errors
/// `Config` for anything but a share from 0 to 1 (0 % to 100 %).
pub fn parse_share(s: &str) -> Result<f64> {
    let t = s.trim();
    let (number, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (t, 1.0),
    };
    match number.parse::<f64>() {
        Ok(v) if (0.0..=scale).contains(&v) => Ok(v / scale),
        _ => Err(Error::Config(format!(
            "--max-quarantine `{s}` is not a share: write a percentage such as 5% or a \
             fraction such as 0.05, from 0 to 1"
        ))),
    }
}

/// What the verdict depends on besides the counts.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The largest share of an extract's rows that may be quarantined.
    pub max_quarantine: f64,
    pub encoding: Encoding,
    pub cutoff: NaiveDate,
    /// The plausible window of activity dates.
    pub activity: RangeInclusive<NaiveDate>,
}

/// What the quarantine of one extract shows beyond its rule counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Evidence {
    /// Quarantined values written in scientific notation.
    pub scientific: u64,
    /// One of them, as `column = value`.
    pub scientific_example: Option<String>,
    /// Implausible dates after the end of the plausible window.
    pub dates_after: u64,
    /// Implausible dates before its start.
    pub dates_before: u64,
}

/// A rule and the rows it quarantined.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RuleCount {
    pub regle: String,
    pub nb: u64,
}

/// An extract that fails the verdict (recorded in `run.json` under `refus`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    pub extrait: String,
    pub fichier: String,
    pub lues: u64,
    pub acceptees: u64,
    pub quarantaine: u64,
    /// Quarantined rows over rows read (1 when the file has no row).
    pub part_quarantaine: f64,
    /// The largest share allowed (`--max-quarantine`).
    pub part_maximale: f64,
    /// The rules that quarantined the most rows, most first.
    pub regles_principales: Vec<RuleCount>,
    /// What probably went wrong and what to do, when the evidence fits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<String>,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = |x: f64| format!("{:.1} %", x * 100.0);
        write!(
            f,
            "{}: {} of {} rows quarantined ({}, more than {} allowed by --max-quarantine)",
            self.fichier,
            self.quarantaine,
            self.lues,
            pct(self.part_quarantaine),
            pct(self.part_maximale)
        )?;
        if self.acceptees == 0 {
            f.write_str(", no row accepted")?;
        }
        let rules: Vec<String> = self
            .regles_principales
            .iter()
            .map(|r| format!("{} {}", r.regle, r.nb))
            .collect();
        if !rules.is_empty() {
            write!(f, "; main rules: {}", rules.join(", "))?;
        }
        if let Some(d) = &self.diagnostic {
            write!(f, "\n    → {d}")?;
        }
        Ok(())
    }
}

/// Reads the evidence of every extract's quarantine from the staging.
///
/// # Errors
/// `Query` when the staging cannot be read.
pub(crate) fn evidence(
    stage: &Stage,
    activity: &RangeInclusive<NaiveDate>,
) -> Result<BTreeMap<String, Evidence>> {
    let (first, last) = (activity.start().to_string(), activity.end().to_string());
    let rows = stage.db().query_map(
        "diag_quarantaine",
        crate::queries::get("diag_quarantaine"),
        [first, last],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                Evidence {
                    scientific: r.get::<_, i64>(1)? as u64,
                    scientific_example: r.get(2)?,
                    dates_after: r.get::<_, i64>(3)? as u64,
                    dates_before: r.get::<_, i64>(4)? as u64,
                },
            ))
        },
    )?;
    Ok(rows.into_iter().collect())
}

/// The extracts that fail, parents first, each with its diagnosis.
pub(crate) fn judge(
    reconciliation: &BTreeMap<String, Reconciliation>,
    evidence: &BTreeMap<String, Evidence>,
    settings: &Settings,
) -> Vec<Finding> {
    let none = Evidence::default();
    Extract::ALL
        .iter()
        .filter_map(|e| reconciliation.get(e.name()).map(|r| (e.name(), r)))
        .filter(|(_, r)| {
            r.acceptees == 0
                || (r.quarantaine >= MIN_QUARANTINED && share(r) > settings.max_quarantine)
        })
        .map(|(name, r)| {
            let e = evidence.get(name).unwrap_or(&none);
            let mut rules: Vec<RuleCount> = r
                .par_regle
                .iter()
                .map(|(regle, nb)| RuleCount {
                    regle: regle.clone(),
                    nb: *nb,
                })
                .collect();
            rules.sort_by(|a, b| b.nb.cmp(&a.nb).then_with(|| a.regle.cmp(&b.regle)));
            rules.truncate(MAIN_RULES);
            Finding {
                extrait: name.to_string(),
                fichier: r.fichier.clone(),
                lues: r.lues,
                acceptees: r.acceptees,
                quarantaine: r.quarantaine,
                part_quarantaine: share(r),
                part_maximale: settings.max_quarantine,
                diagnostic: diagnose(r, rules.first(), e, settings),
                regles_principales: rules,
            }
        })
        .collect()
}

/// The fewest quarantined rows that can fail a run by their share: one bad
/// row is a typo, not a broken export, however small the file (the cases
/// of `shared/cases/`: one row of seven, of eighteen).
pub(crate) const MIN_QUARANTINED: u64 = 2;

/// Quarantined rows over rows read; 1 for a file with no row.
fn share(r: &Reconciliation) -> f64 {
    if r.lues == 0 {
        1.0
    } else {
        r.quarantaine as f64 / r.lues as f64
    }
}

/// The likely cause of an extract's quarantine, from its main rule and the
/// evidence, with what to do.
fn diagnose(
    r: &Reconciliation,
    main: Option<&RuleCount>,
    e: &Evidence,
    s: &Settings,
) -> Option<String> {
    if r.lues == 0 {
        return Some("the file has a header and no row: is it the whole extract?".into());
    }
    let main = main?;
    // The rows this extract lost on its own account, not through a parent.
    let own = r.quarantaine - r.par_regle.get(rule::PARENT).copied().unwrap_or(0);
    if e.scientific > 0 && 2 * e.scientific >= own {
        return Some(format!(
            "{} values are numbers in scientific notation (e.g. {}): the file went through \
             Excel, which rewrites long codes such as SIRET and loses their digits; export it \
             again from OuiForm, or import it into Excel with these columns as text",
            e.scientific,
            e.scientific_example.as_deref().unwrap_or("?")
        ));
    }
    match main.regle.as_str() {
        rule::UTF8 if s.encoding == Encoding::Utf8 => Some(
            "bytes that are not UTF-8: the file is most likely Windows-1252 (as Excel and many \
             French exports write it); try --encoding windows-1252"
                .into(),
        ),
        rule::IMPLAUSIBLE_DATE if e.dates_after >= e.dates_before => Some(format!(
            "{} dates are after {}, the end of the plausible window: the cut-off {} seems to \
             be before the data (the cut-off is the day the extracts were frozen)",
            e.dates_after,
            s.activity.end(),
            s.cutoff
        )),
        rule::IMPLAUSIBLE_DATE => Some(format!(
            "{} dates are before {}, the start of the plausible window: if the programme is \
             older, set --earliest-date",
            e.dates_before,
            s.activity.start()
        )),
        rule::PARENT => {
            Some("its rows follow their parents into the quarantine: see the extracts above".into())
        }
        _ => None,
    }
}

/// Reads the evidence and judges the run's extracts (see [`judge`]).
///
/// # Errors
/// `Query` when the staging cannot be read.
pub(crate) fn check(
    stage: &Stage,
    reconciliation: &BTreeMap<String, Reconciliation>,
    settings: &Settings,
) -> Result<Vec<Finding>> {
    let evidence = evidence(stage, &settings.activity)?;
    Ok(judge(reconciliation, &evidence, settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reconciliation(name: &str, read: u64, rules: &[(&str, u64)]) -> (String, Reconciliation) {
        let par_regle: BTreeMap<String, u64> =
            rules.iter().map(|(r, n)| (r.to_string(), *n)).collect();
        let q: u64 = par_regle.values().sum();
        (
            name.to_string(),
            Reconciliation {
                fichier: format!("{name}.csv"),
                lues: read,
                acceptees: read - q,
                quarantaine: q,
                reconcilie: true,
                par_regle,
            },
        )
    }

    fn settings() -> Settings {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        Settings {
            max_quarantine: DEFAULT_MAX_QUARANTINE,
            encoding: Encoding::Utf8,
            cutoff: d(2020, 1, 1),
            activity: d(2015, 1, 1)..=d(2021, 1, 1),
        }
    }

    #[test]
    fn the_share_decides_and_the_main_rule_diagnoses() {
        let recs: BTreeMap<_, _> = [
            reconciliation("sessions", 100, &[(rule::TYPE, 5)]),
            reconciliation("individus", 100, &[(rule::UTF8, 90), (rule::NIR, 2)]),
            reconciliation("positionnements", 10, &[(rule::IMPLAUSIBLE_DATE, 10)]),
            reconciliation("evenements", 20, &[(rule::PARENT, 20)]),
        ]
        .into_iter()
        .collect();
        let evidence = BTreeMap::from([(
            "positionnements".to_string(),
            Evidence {
                dates_after: 10,
                ..Evidence::default()
            },
        )]);
        let found = judge(&recs, &evidence, &settings());
        // Parents first; 5 % exactly is allowed.
        let names: Vec<&str> = found.iter().map(|f| f.extrait.as_str()).collect();
        assert_eq!(names, ["individus", "positionnements", "evenements"]);
        assert_eq!(found[0].regles_principales[0].regle, rule::UTF8);
        assert!(found[0]
            .diagnostic
            .as_deref()
            .unwrap()
            .contains("--encoding windows-1252"));
        assert!(found[1]
            .diagnostic
            .as_deref()
            .unwrap()
            .contains("cut-off 2020-01-01"));
        assert!(found[2].to_string().contains("no row accepted"));
    }

    #[test]
    fn scientific_notation_is_named_with_an_example() {
        let recs: BTreeMap<_, _> = [reconciliation("sessions", 3, &[(rule::SIRET, 3)])]
            .into_iter()
            .collect();
        let evidence = BTreeMap::from([(
            "sessions".to_string(),
            Evidence {
                scientific: 3,
                scientific_example: Some("organisme_siret = 7.32829E+13".into()),
                ..Evidence::default()
            },
        )]);
        let found = judge(&recs, &evidence, &settings());
        let d = found[0].diagnostic.as_deref().unwrap();
        assert!(d.contains("Excel") && d.contains("7.32829E+13"), "{d}");
    }
}
