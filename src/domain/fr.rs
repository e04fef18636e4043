//! French formatting, in one place: numbers (`12 345`, `45,3 %`, `12,5`),
//! dates (`31 octobre 2026`) and period labels (`2026-T2 (mai à août 2026)`).
//!
//! What always holds: thousands are separated by a narrow no-break space
//! (U+202F), as is the percent sign; decimals take a comma.

use chrono::{Datelike, NaiveDate};

use super::period::parse_period;

/// The months, in French.
pub(crate) const MOIS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// An integer: `12 345`.
pub fn fr_int(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A rate as a percentage with one decimal: `45,3 %`.
pub fn fr_pct(rate: f64) -> String {
    format!("{:.1}\u{202f}%", rate * 100.0).replace('.', ",")
}

/// A number with one decimal: `12,5`.
pub(crate) fn fr_decimal(x: f64) -> String {
    format!("{x:.1}").replace('.', ",")
}

/// A date: `31 octobre 2026`.
pub(crate) fn fr_date(d: NaiveDate) -> String {
    format!("{} {} {}", d.day(), MOIS[d.month0() as usize], d.year())
}

/// A four-month period with its months: `2026-T2 (mai à août 2026)`; any
/// other string as it is.
pub(crate) fn period_label(p: &str) -> String {
    match parse_period(p) {
        Some((y, n)) => {
            let first = (n - 1) * 4;
            format!(
                "{p} ({} à {} {y})",
                MOIS[first as usize],
                MOIS[first as usize + 3]
            )
        }
        None => p.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_numbers_dates_and_periods() {
        assert_eq!(fr_int(12345), "12\u{202f}345");
        assert_eq!(fr_int(999), "999");
        assert_eq!(fr_int(-1_234_567), "-1\u{202f}234\u{202f}567");
        assert_eq!(fr_pct(0.4532), "45,3\u{202f}%");
        assert_eq!(fr_decimal(12.25), "12,2");
        assert_eq!(period_label("2026-T2"), "2026-T2 (mai à août 2026)");
        assert_eq!(
            fr_date(NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()),
            "31 octobre 2026"
        );
    }
}
