//! French time (SPEC §2): OuiForm records wall-clock time in Europe/Paris.
//!
//! What always holds: an instant (a Parquet TIMESTAMP flagged UTC-adjusted,
//! or INT96) becomes the wall-clock time it was in Paris at that instant,
//! daylight saving included, by the IANA rules that `chrono-tz` carries
//! (no offset table of ours); a TIMESTAMP without time zone is wall-clock
//! time already and is not shifted. Converting an instant is never
//! ambiguous: the hour repeated in October is two different instants.

use arrow::datatypes::TimeUnit;
use chrono::{DateTime, Datelike, NaiveDateTime, Offset, TimeZone, Timelike};
use chrono_tz::Europe::Paris;

/// The time `value` (in `unit`) after 1970-01-01 00:00:00, or `None` past
/// what a date can hold.
pub(super) fn from_epoch(value: i64, unit: TimeUnit) -> Option<NaiveDateTime> {
    let per_second: i64 = match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    };
    let seconds = value.div_euclid(per_second);
    let nanos = value.rem_euclid(per_second) * (1_000_000_000 / per_second);
    DateTime::from_timestamp(seconds, nanos as u32).map(|t| t.naive_utc())
}

/// The wall-clock time in Paris at the instant `utc`, and Paris' offset
/// from UTC then, in seconds (3600 in winter, 7200 in summer).
pub(super) fn in_paris(utc: NaiveDateTime) -> (NaiveDateTime, i32) {
    let t = Paris.from_utc_datetime(&utc);
    (t.naive_local(), t.offset().fix().local_minus_utc())
}

/// Whether `t` is midnight exactly (a date written as a timestamp).
pub(super) fn is_midnight(t: NaiveDateTime) -> bool {
    t.num_seconds_from_midnight() == 0 && t.nanosecond() == 0
}

/// Appends `YYYY-MM-DD`. Written by hand: this runs for every time of a
/// typed extract, and chrono's format strings are several times slower.
fn push_date(out: &mut String, t: NaiveDateTime) {
    let year = t.year();
    if (0..=9999).contains(&year) {
        push_digits(out, year as u32, 4);
    } else {
        out.push_str(&year.to_string());
    }
    out.push('-');
    push_digits(out, t.month(), 2);
    out.push('-');
    push_digits(out, t.day(), 2);
}

/// Appends `YYYY-MM-DD HH:MM:SS`, then the fraction of a second when
/// there is one (`.123`, `.123456` or `.123456789`).
pub(super) fn push_datetime(out: &mut String, t: NaiveDateTime) {
    push_date(out, t);
    out.push(' ');
    push_digits(out, t.hour(), 2);
    out.push(':');
    push_digits(out, t.minute(), 2);
    out.push(':');
    push_digits(out, t.second(), 2);
    let nanos = t.nanosecond();
    if nanos != 0 {
        out.push('.');
        match (nanos % 1_000_000, nanos % 1_000) {
            (0, _) => push_digits(out, nanos / 1_000_000, 3),
            (_, 0) => push_digits(out, nanos / 1_000, 6),
            _ => push_digits(out, nanos, 9),
        }
    }
}

/// Appends an offset from UTC in seconds as `+01:00`.
pub(super) fn push_offset(out: &mut String, seconds: i32) {
    out.push(if seconds < 0 { '-' } else { '+' });
    let minutes = seconds.unsigned_abs() / 60;
    push_digits(out, minutes / 60, 2);
    out.push(':');
    push_digits(out, minutes % 60, 2);
}

/// Appends the last `width` decimal digits of `n`, zero-padded.
fn push_digits(out: &mut String, n: u32, width: u32) {
    for i in (0..width).rev() {
        let digit = (n / 10u32.pow(i)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn utc(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn paris(s: &str) -> String {
        let (t, offset) = in_paris(utc(s));
        let mut out = String::new();
        push_datetime(&mut out, t);
        push_offset(&mut out, offset);
        out
    }

    /// Both sides of both changes of 2026 (29 March, 25 October, at 01:00
    /// UTC) and near-midnight instants at a month's end in winter and
    /// in summer.
    #[test]
    fn instants_become_paris_wall_clock_time_with_daylight_saving() {
        for (instant, wall_clock) in [
            ("2026-03-29 00:59:59", "2026-03-29 01:59:59+01:00"),
            ("2026-03-29 01:00:00", "2026-03-29 03:00:00+02:00"),
            ("2026-10-25 00:59:59", "2026-10-25 02:59:59+02:00"),
            ("2026-10-25 01:00:00", "2026-10-25 02:00:00+01:00"),
            ("2026-10-31 22:59:59", "2026-10-31 23:59:59+01:00"),
            ("2026-10-31 23:30:00", "2026-11-01 00:30:00+01:00"),
            ("2026-06-30 21:30:00", "2026-06-30 23:30:00+02:00"),
            ("2026-06-30 22:30:00", "2026-07-01 00:30:00+02:00"),
            ("2026-01-31 23:00:00", "2026-02-01 00:00:00+01:00"),
        ] {
            assert_eq!(paris(instant), wall_clock, "{instant} UTC");
        }
    }

    #[test]
    fn every_unit_reads_the_same_instant_and_keeps_its_fraction() {
        let t = utc("2026-02-09 23:30:00");
        let micros = t.and_utc().timestamp_micros();
        assert_eq!(from_epoch(micros / 1_000_000, TimeUnit::Second), Some(t));
        assert_eq!(from_epoch(micros / 1_000, TimeUnit::Millisecond), Some(t));
        assert_eq!(from_epoch(micros, TimeUnit::Microsecond), Some(t));
        assert_eq!(from_epoch(micros * 1_000, TimeUnit::Nanosecond), Some(t));
        // Before 1970: the fraction counts forward from the second below.
        let before = from_epoch(-1_500, TimeUnit::Millisecond).unwrap();
        let mut out = String::new();
        push_datetime(&mut out, before);
        assert_eq!(out, "1969-12-31 23:59:58.500");
        assert_eq!(from_epoch(i64::MAX, TimeUnit::Second), None);
    }

    #[test]
    fn midnight_is_exact() {
        let day = NaiveDate::from_ymd_opt(2026, 2, 10).unwrap();
        assert!(is_midnight(day.and_hms_opt(0, 0, 0).unwrap()));
        assert!(!is_midnight(day.and_hms_nano_opt(0, 0, 0, 1).unwrap()));
        assert!(!is_midnight(day.and_hms_opt(0, 0, 1).unwrap()));
    }
}
