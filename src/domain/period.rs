//! Period arithmetic, in one place: four-month committee periods
//! (`YYYY-T1` Jan–Apr, `YYYY-T2` May–Aug, `YYYY-T3` Sep–Dec) and months
//! (`YYYY-MM`).
//!
//! What always holds: a period string this module returns parses with
//! [`parse_period`].

use chrono::{Datelike, NaiveDate};

/// The four-month period of a day: `2026-T2`.
pub(crate) fn period_of(d: NaiveDate) -> String {
    format!("{}-T{}", d.year(), (d.month() - 1) / 4 + 1)
}

/// The four-month period of a month `YYYY-MM`: `2026-05` → `2026-T2`;
/// `None` when it is no month.
pub(crate) fn period_of_month(month: &str) -> Option<String> {
    let (y, m) = month.split_once('-')?;
    let m: u32 = m.parse().ok()?;
    (y.len() == 4 && (1..=12).contains(&m)).then(|| format!("{y}-T{}", (m - 1) / 4 + 1))
}

/// Parses `YYYY-Tn` into (year, n).
pub(crate) fn parse_period(p: &str) -> Option<(i32, u32)> {
    let (y, t) = p.split_once("-T")?;
    let year: i32 = y.parse().ok()?;
    let n: u32 = t.parse().ok()?;
    (y.len() == 4 && (1..=3).contains(&n)).then_some((year, n))
}

/// The period `back` four-month periods before `p` (a valid period).
///
/// # Panics
/// When `p` is not a period: callers pass a validated one.
pub(crate) fn shift_period(p: &str, back: i32) -> String {
    let (y, n) = parse_period(p).expect("validated period");
    let idx = y * 3 + n as i32 - 1 - back;
    format!("{}-T{}", idx.div_euclid(3), idx.rem_euclid(3) + 1)
}

/// The first day of the last month of the period `(year, n)`.
pub(crate) fn last_month_of(year: i32, n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, n * 4, 1).expect("a month")
}

/// The `count` months (`YYYY-MM`) that end with the month of `last`, in order.
pub(crate) fn months_ending(last: NaiveDate, count: i32) -> Vec<String> {
    (0..count)
        .rev()
        .map(|back| {
            let idx = last.year() * 12 + last.month0() as i32 - back;
            format!("{}-{:02}", idx.div_euclid(12), idx.rem_euclid(12) + 1)
        })
        .collect()
}

/// The four-month periods and months from `first` to `last`, restricted to
/// `requested` (and their months) when it is not empty.
pub(crate) fn periods_between(
    first: NaiveDate,
    last: NaiveDate,
    requested: &[String],
) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    let mut seen_t = std::collections::BTreeSet::new();
    let (mut y, mut m) = (first.year(), first.month());
    while (y, m) <= (last.year(), last.month()) {
        let day = NaiveDate::from_ymd_opt(y, m, 1).expect("valid month");
        let t = period_of(day);
        if requested.is_empty() || requested.contains(&t) {
            if seen_t.insert(t.clone()) {
                out.push((t, "quadrimestre"));
            }
            out.push((format!("{y}-{m:02}"), "mois"));
        }
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    for r in requested {
        if !seen_t.contains(r) {
            out.push((r.clone(), "quadrimestre"));
            let (year, n) = parse_period(r).expect("validated period");
            for month in (n - 1) * 4 + 1..=n * 4 {
                out.push((format!("{year}-{month:02}"), "mois"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_fall_in_their_four_month_period() {
        assert_eq!(period_of_month("2026-04").as_deref(), Some("2026-T1"));
        assert_eq!(period_of_month("2026-05").as_deref(), Some("2026-T2"));
        assert_eq!(period_of_month("2026-12").as_deref(), Some("2026-T3"));
        assert_eq!(period_of_month("2026-13"), None);
        assert_eq!(period_of_month("2026"), None);
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn periods_shift_across_years() {
        assert_eq!(shift_period("2026-T2", 1), "2026-T1");
        assert_eq!(shift_period("2026-T1", 1), "2025-T3");
        assert_eq!(shift_period("2026-T2", 3), "2025-T2");
        assert_eq!(last_month_of(2026, 2), d(2026, 8, 1));
        assert_eq!(last_month_of(2026, 3), d(2026, 12, 1));
        let months = months_ending(d(2026, 2, 10), 3);
        assert_eq!(months, ["2025-12", "2026-01", "2026-02"]);
    }

    #[test]
    fn periods() {
        assert_eq!(period_of(d(2026, 4, 30)), "2026-T1");
        assert_eq!(period_of(d(2026, 5, 1)), "2026-T2");
        assert_eq!(period_of(d(2026, 12, 31)), "2026-T3");
        let all = periods_between(d(2026, 3, 15), d(2026, 5, 2), &[]);
        let names: Vec<&str> = all.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            names,
            ["2026-T1", "2026-03", "2026-04", "2026-T2", "2026-05"]
        );
        let only = periods_between(d(2026, 1, 1), d(2026, 12, 1), &["2026-T2".into()]);
        assert_eq!(only.len(), 5);
        assert!(parse_period("2026-T4").is_none());
    }
}
