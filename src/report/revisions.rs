//! What changed since the last committee: the figures the previous release
//! to the same recipient held, read from the release register
//! (`OUT/registre/`), set beside the same figures now.
//!
//! What always holds: a figure of the previous release is shown only when
//! it was published then (its register flag is null), so the report never
//! shows a value the register keeps for secrecy's sake; a revision is shown
//! only when both figures are published. That is also the rule that keeps a
//! protected revision hidden: the secrecy of each release treats the change
//! since every earlier release as a cell of its own (`secrecy::remember`),
//! suppressed when it holds 1 to threshold − 1, and hiding it means that one
//! of the two figures is not published. The report needs no other signal.

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use super::data::Val;
use crate::error::Result;
use crate::register::Register;

/// The counts of the headline whose revisions the report shows.
pub(crate) const REVISED: [&str; 2] = ["nb_positionnements", "nb_entrees"];

/// A figure then and now.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Revision {
    /// The figure of the previous release: a number when it was published,
    /// `s` when it was not.
    pub(crate) avant: Val,
    /// Now minus then, when both are published; `s` otherwise.
    pub(crate) ecart: Val,
}

/// The previous release to the committee: its cut-off and its published
/// headline counts.
#[derive(Debug)]
pub(crate) struct Previous {
    pub(crate) date_arrete: NaiveDate,
    /// (variable, four-month period, level, code) → value when published,
    /// `None` when it was suppressed.
    counts: HashMap<(String, String, String, String), Option<i64>>,
}

impl Previous {
    /// The last release to `recipient` before `cutoff` in the register of
    /// `out`, if any.
    ///
    /// # Errors
    /// `Config` when the register is unreadable or its counts altered.
    pub(crate) fn read(out: &Path, recipient: &str, cutoff: NaiveDate) -> Result<Option<Self>> {
        let register = Register::open(out)?;
        let before = cutoff.format("%Y-%m-%d").to_string();
        let Some((entry, released)) = register.previous(recipient, &before)? else {
            return Ok(None);
        };
        let Ok(date_arrete) = NaiveDate::parse_from_str(&entry.date_arrete, "%Y-%m-%d") else {
            return Ok(None);
        };
        let counts = released
            .into_iter()
            .filter(|c| {
                REVISED.contains(&&*c.variable)
                    && &*c.key.type_periode == "quadrimestre"
                    && &*c.key.dimension == "ensemble"
                    && &*c.key.modalite == "ensemble"
                    && &*c.key.motif == "ensemble"
            })
            .filter_map(|c| {
                let code = c.key.code_geo?;
                Some((
                    (
                        c.variable.to_string(),
                        c.key.periode.to_string(),
                        c.key.niveau_geo.to_string(),
                        code.to_string(),
                    ),
                    c.published.then_some(c.value),
                ))
            })
            .collect();
        Ok(Some(Previous {
            date_arrete,
            counts,
        }))
    }

    /// The four-month periods the previous release held, in order.
    pub(crate) fn periods(&self) -> Vec<String> {
        let mut p: Vec<String> = self.counts.keys().map(|k| k.1.clone()).collect();
        p.sort();
        p.dedup();
        p
    }

    /// `variable` of one period and place then, beside its value `now`;
    /// `None` when the previous release did not hold it.
    pub(crate) fn revision(
        &self,
        variable: &str,
        periode: &str,
        (niveau, code): (&str, &str),
        now: Val,
    ) -> Option<Revision> {
        let key = (
            variable.to_string(),
            periode.to_string(),
            niveau.to_string(),
            code.to_string(),
        );
        let then = self.counts.get(&key)?;
        Some(match (then, now) {
            (Some(then), Val::Num(now)) => Revision {
                avant: Val::Num(*then as f64),
                ecart: Val::Num(now - *then as f64),
            },
            (Some(then), _) => Revision {
                avant: Val::Num(*then as f64),
                ecart: Val::Secret,
            },
            (None, _) => Revision {
                avant: Val::Secret,
                ecart: Val::Secret,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn previous() -> Previous {
        let key = |v: &str, code: &str| {
            (
                v.to_string(),
                "2026-T2".to_string(),
                "departement".to_string(),
                code.to_string(),
            )
        };
        Previous {
            date_arrete: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
            counts: [
                (key("nb_entrees", "02"), Some(40)),
                (key("nb_entrees", "59"), None),
            ]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn a_revision_needs_both_figures_published() {
        let p = previous();
        let dept = |c| ("departement", c);
        let r = p
            .revision("nb_entrees", "2026-T2", dept("02"), Val::Num(52.0))
            .unwrap();
        assert_eq!((r.avant, r.ecart), (Val::Num(40.0), Val::Num(12.0)));
        // Suppressed now: the figure then is shown, the revision is not.
        let r = p
            .revision("nb_entrees", "2026-T2", dept("02"), Val::Secret)
            .unwrap();
        assert_eq!((r.avant, r.ecart), (Val::Num(40.0), Val::Secret));
        // Suppressed then: its true value stays in the register.
        let r = p
            .revision("nb_entrees", "2026-T2", dept("59"), Val::Num(300.0))
            .unwrap();
        assert_eq!((r.avant, r.ecart), (Val::Secret, Val::Secret));
        assert!(p
            .revision("nb_entrees", "2026-T1", dept("02"), Val::Num(1.0))
            .is_none());
        assert_eq!(p.periods(), ["2026-T2"]);
    }
}
