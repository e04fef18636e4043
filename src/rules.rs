//! Pure field rules: parsing of the French export conventions and the key
//! checks of identifiers (NIR, SIRET). Shared by `validate` and `generate`.

use std::ops::RangeInclusive;

use chrono::{Months, NaiveDate, NaiveDateTime};

/// The first plausible day of a session, positioning or event: OuiForm
/// extracts hold nothing older. Overridable with `--earliest-date`.
pub(crate) const EARLIEST_ACTIVITY: NaiveDate =
    NaiveDate::from_ymd_opt(2015, 1, 1).expect("valid date");

/// How far after the cut-off a session, positioning or event may be dated
/// (sessions are planned ahead; nothing is planned further). Overridable
/// with `--latest-date`.
pub(crate) const ACTIVITY_HORIZON: Months = Months::new(12);

/// Births on or before this day are implausible: 1900-01-01 itself is the
/// usual placeholder of an unknown birth date.
pub(crate) const BIRTHS_AFTER: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date");

/// The plausible window of dates (SPEC §2), both ends included. A date
/// outside it is a typo (`1026` for `2026`): its row is quarantined under
/// `date_improbable`, so that it never turns into a thousand years of
/// periods. Which columns each window applies to is said in `schema`
/// (`Check::ActivityDate`, `Check::BirthDate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlausibleDates {
    /// Sessions (their start), positionings and events.
    pub activity: RangeInclusive<NaiveDate>,
    /// Dates of birth.
    pub births: RangeInclusive<NaiveDate>,
}

impl PlausibleDates {
    /// The default window at a cut-off: activity from [`EARLIEST_ACTIVITY`]
    /// to the cut-off plus [`ACTIVITY_HORIZON`]; births after
    /// [`BIRTHS_AFTER`] and before the cut-off.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use ouistat::testing::rules::PlausibleDates;
    /// let cutoff = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
    /// let window = PlausibleDates::for_cutoff(cutoff);
    /// assert_eq!(window.activity.end(), &NaiveDate::from_ymd_opt(2027, 10, 31).unwrap());
    /// assert!(!window.activity.contains(&NaiveDate::from_ymd_opt(1026, 2, 15).unwrap()));
    /// ```
    pub fn for_cutoff(cutoff: NaiveDate) -> Self {
        let day_after = |d: NaiveDate| d.succ_opt().unwrap_or(d);
        let day_before = |d: NaiveDate| d.pred_opt().unwrap_or(d);
        PlausibleDates {
            activity: EARLIEST_ACTIVITY
                ..=cutoff
                    .checked_add_months(ACTIVITY_HORIZON)
                    .unwrap_or(NaiveDate::MAX),
            births: day_after(BIRTHS_AFTER)..=day_before(cutoff),
        }
    }

    /// The same window with another first day of activity.
    pub fn with_earliest_activity(self, first: NaiveDate) -> Self {
        PlausibleDates {
            activity: first..=*self.activity.end(),
            ..self
        }
    }

    /// The same window with another last day of activity.
    pub fn with_latest_activity(self, last: NaiveDate) -> Self {
        PlausibleDates {
            activity: *self.activity.start()..=last,
            ..self
        }
    }
}

/// Days from 1970-01-01 to a date (Arrow's Date32).
pub(crate) fn days_since_epoch(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

/// Parses `YYYY-MM-DD` or `DD/MM/YYYY`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let (y, m, d) = match b.len() {
        10 if b[4] == b'-' && b[7] == b'-' => (&b[0..4], &b[5..7], &b[8..10]),
        10 if b[2] == b'/' && b[5] == b'/' => (&b[6..10], &b[3..5], &b[0..2]),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(digits(y)? as i32, digits(m)?, digits(d)?)
}

/// The number written by ASCII digits only (every validated date and time
/// goes through here: a hand parse is several times faster than chrono's
/// format strings).
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// Parses `YYYY-MM-DD HH:MM:SS` or `DD/MM/YYYY HH:MM:SS` (a `T` separator and
/// fractional seconds, as typed Parquet renders them, are accepted too).
pub fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    if s.len() < 19 {
        return None;
    }
    // Not `split_at`: the tenth byte may fall inside a character.
    let (date, rest) = s.split_at_checked(10)?;
    let d = parse_date(date)?;
    let rest = rest.strip_prefix(' ').or_else(|| rest.strip_prefix('T'))?;
    let b = rest.as_bytes();
    let t = if b.len() == 8 && b[2] == b':' && b[5] == b':' {
        chrono::NaiveTime::from_hms_opt(digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?)?
    } else {
        chrono::NaiveTime::parse_from_str(rest, "%H:%M:%S%.f").ok()?
    };
    Some(d.and_time(t))
}

/// `O`/`N` (and `true`/`false` from typed Parquet).
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "O" | "true" => Some(true),
        "N" | "false" => Some(false),
        _ => None,
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn is_formacode(s: &str) -> bool {
    s.len() == 5 && all_digits(s)
}

pub(crate) fn is_commune(s: &str) -> bool {
    s.len() == 5
        && (all_digits(s) || ((s.starts_with("2A") || s.starts_with("2B")) && all_digits(&s[2..])))
}

pub(crate) fn is_departement(s: &str) -> bool {
    match s.len() {
        2 => all_digits(s) || s == "2A" || s == "2B",
        3 => all_digits(s),
        _ => false,
    }
}

pub(crate) fn is_region(s: &str) -> bool {
    s.len() == 2 && all_digits(s)
}

pub(crate) fn is_zone_emploi(s: &str) -> bool {
    s.len() == 4 && all_digits(s)
}

/// Luhn sum of a digit string (doubling every second digit from the right).
fn luhn_sum(digits: &[u8]) -> u32 {
    digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let v = u32::from(d - b'0');
            if i % 2 == 1 {
                let v2 = v * 2;
                if v2 > 9 {
                    v2 - 9
                } else {
                    v2
                }
            } else {
                v
            }
        })
        .sum()
}

/// SIREN of La Poste, whose establishments are exempt from Luhn.
pub(crate) const SIREN_LA_POSTE: &str = "356000000";

/// 14 digits with a valid Luhn key; La Poste's SIRETs instead have a digit sum
/// that is a multiple of 5.
pub(crate) fn is_siret(s: &str) -> bool {
    if s.len() != 14 || !all_digits(s) {
        return false;
    }
    if s.starts_with(SIREN_LA_POSTE) {
        let sum: u32 = s.bytes().map(|b| u32::from(b - b'0')).sum();
        return sum.is_multiple_of(5);
    }
    luhn_sum(s.as_bytes()).is_multiple_of(10)
}

/// The Luhn check digit that completes a 13-digit prefix into a SIRET.
pub(crate) fn siret_check_digit(prefix13: &str) -> u8 {
    let mut with_zero = prefix13.as_bytes().to_vec();
    with_zero.push(b'0');
    let r = luhn_sum(&with_zero) % 10;
    ((10 - r) % 10) as u8
}

/// The numeric value of the first 13 characters of a NIR, with Corsica's
/// 2A/2B counted as 19/18. `None` when not 13 digits.
fn nir_number(first13: &str) -> Option<u64> {
    if first13.len() != 13 || !first13.is_ascii() {
        return None;
    }
    let mut normalised = String::with_capacity(13);
    normalised.push_str(&first13[..5]);
    match &first13[5..7] {
        "2A" => normalised.push_str("19"),
        "2B" => normalised.push_str("18"),
        other => normalised.push_str(other),
    }
    normalised.push_str(&first13[7..]);
    if !all_digits(&normalised) {
        return None;
    }
    normalised.parse().ok()
}

/// The two-digit key of a NIR's first 13 characters.
pub(crate) fn nir_key(first13: &str) -> Option<u8> {
    nir_number(first13).map(|n| (97 - n % 97) as u8)
}

/// Why a NIR is invalid, or `None` when it is valid.
pub(crate) fn nir_problem(s: &str) -> Option<&'static str> {
    if s.len() != 15 || !s.is_ascii() {
        return Some("15 caractères attendus");
    }
    if !matches!(s.as_bytes()[0], b'1' | b'2' | b'3' | b'4' | b'7' | b'8') {
        return Some("premier chiffre (sexe) invalide");
    }
    let month: u32 = match s[3..5].parse() {
        Ok(m) => m,
        Err(_) => return Some("mois de naissance invalide"),
    };
    if !((1..=12).contains(&month) || (20..=42).contains(&month) || (50..=99).contains(&month)) {
        return Some("mois de naissance invalide");
    }
    let Some(expected) = nir_key(&s[..13]) else {
        return Some("caractères non numériques");
    };
    match s[13..].parse::<u8>() {
        Ok(k) if k == expected => None,
        _ => Some("clé de contrôle incorrecte"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nir_keys() {
        // 1 84 12 76 451 089 → key 46 (textbook example).
        assert_eq!(nir_key("1841276451089"), Some(46));
        assert_eq!(nir_problem("184127645108946"), None);
        assert_eq!(
            nir_problem("184127645108947"),
            Some("clé de contrôle incorrecte")
        );
        // Corsica: 2A counts as 19.
        let k = nir_key("2850519001002").unwrap();
        let corsica = format!("28505{}001002{:02}", "2A", k);
        assert_eq!(nir_problem(&corsica), None);
        assert!(nir_problem("584127645108946").is_some());
        assert!(nir_problem("184137645108946").is_some());
    }

    #[test]
    fn siret_luhn() {
        // A well-known valid SIRET (Luhn).
        assert!(is_siret("73282932000074"));
        assert!(!is_siret("73282932000075"));
        let prefix = "1234567890123";
        let full = format!("{prefix}{}", siret_check_digit(prefix));
        assert!(is_siret(&full));
        // La Poste: digit sum multiple of 5.
        assert!(is_siret("35600000000001"));
        assert!(!is_siret("35600000000002"));
    }

    #[test]
    fn the_default_date_window_follows_the_cutoff() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let w = PlausibleDates::for_cutoff(d(2026, 10, 31));
        assert_eq!(w.activity, d(2015, 1, 1)..=d(2027, 10, 31));
        assert_eq!(w.births, d(1900, 1, 2)..=d(2026, 10, 30));
        let w = w.with_earliest_activity(d(2012, 9, 1));
        assert_eq!(w.activity, d(2012, 9, 1)..=d(2027, 10, 31));
        let w = w.with_latest_activity(d(2030, 12, 31));
        assert_eq!(w.activity, d(2012, 9, 1)..=d(2030, 12, 31));
        assert_eq!(w.births, d(1900, 1, 2)..=d(2026, 10, 30));
        // The end of February of a leap year.
        let w = PlausibleDates::for_cutoff(d(2028, 2, 29));
        assert_eq!(*w.activity.end(), d(2029, 2, 28));
    }

    #[test]
    fn dates_both_formats() {
        assert_eq!(parse_date("2026-03-01"), parse_date("01/03/2026"));
        assert!(parse_date("2026-02-30").is_none());
        assert!(parse_date("2026/03/01").is_none());
        assert_eq!(
            parse_timestamp("01/03/2026 10:11:12"),
            parse_timestamp("2026-03-01 10:11:12")
        );
        assert!(parse_timestamp("2026-03-01").is_none());
        assert!(parse_timestamp("2026-03-01 25:00:00").is_none());
    }

    #[test]
    fn dates_are_digits_in_their_places_and_real_days() {
        assert_eq!(
            parse_date("29/02/2028"),
            NaiveDate::from_ymd_opt(2028, 2, 29)
        );
        assert!(parse_date("29/02/2026").is_none());
        for bad in [
            "2026- 3-01",
            "2026-03-0a",
            "+026-03-01",
            "00/13/2026",
            "1é/03/202",
        ] {
            assert!(parse_date(bad).is_none(), "{bad}");
        }
        assert_eq!(
            parse_timestamp("2026-03-01T10:11:12.5").map(|t| t.and_utc().timestamp_subsec_millis()),
            Some(500)
        );
        assert!(parse_timestamp("2026-03-01 10:1a:12").is_none());
    }

    /// Found by `tests/fuzz.rs`: a multi-byte character across the tenth
    /// byte of a timestamp, or a short NIR prefix, is invalid, not a panic.
    #[test]
    fn malformed_text_is_invalid_not_a_panic() {
        assert!(parse_timestamp("2026-0ŸÆ@\u{AD}S•3-25 10:00:00").is_none());
        assert!(parse_timestamp("2026-03-2é 10:00:00").is_none());
        assert!(nir_key("18412").is_none());
        assert!(nir_key("18412764510é").is_none());
    }
}
