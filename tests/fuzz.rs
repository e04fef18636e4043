//! Mutated extracts through the CSV reader and the validator (issue 15).
//!
//! Each case takes a well-formed extract (the hand-computed fixture or a
//! small generated one), mutates its bytes (random bytes, a cut file, stray
//! quotes, CR and NUL bytes, duplicated or altered headers, blank and
//! duplicated lines, a byte-order mark), and reads it as a run does. What
//! must hold, whatever the bytes:
//!
//! - nothing panics, and a file that cannot be read stops with a clear
//!   `Unreadable` error naming it, never an internal one;
//! - read = accepted + quarantined;
//! - every physical line is accounted for: records start on non-blank
//!   lines, in order, after the header; a non-blank line that starts no
//!   record lies inside a quoted field opened on the line of the record
//!   before it (fewer than `MAX_RECORD_LINES` lines up).
//!
//! A short run is part of `cargo test`; a longer one:
//! `OUISTAT_FUZZ_CASES=20000 cargo test --test fuzz` (`OUISTAT_FUZZ_SEED`
//! picks another sequence, `OUISTAT_FUZZ_RUNS` the number of whole runs).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use ouistat::testing::ingest::{self, Encoding, FileFormat, Record, Source, MAX_RECORD_LINES};
use ouistat::testing::pipeline::{self, RunConfig};
use ouistat::testing::rules::PlausibleDates;
use ouistat::testing::schema::Extract;
use ouistat::testing::validate::Validator;
use ouistat::Error;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/parcours");

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cutoff() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()
}

/// The well-formed extracts mutations start from: the fixture's and a
/// small generated set with its own defects.
fn seeds(dir: &Path) -> Vec<(Extract, Vec<u8>)> {
    let generated = dir.join("generes");
    ouistat::testing::generate::generate(&ouistat::testing::generate::Options {
        out: generated.clone(),
        persons: 30,
        seed: 7,
        format: ouistat::testing::generate::Format::Csv,
        defects: 0.1,
        region: None,
    })
    .unwrap();
    let mut out = Vec::new();
    for root in [Path::new(FIXTURE), generated.as_path()] {
        for extract in Extract::ALL {
            let path = root.join(format!("{}.csv", extract.name()));
            out.push((extract, std::fs::read(&path).unwrap()));
        }
    }
    out
}

/// Byte offsets where each physical line starts.
fn line_starts(bytes: &[u8]) -> Vec<usize> {
    std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .filter(|&i| i < bytes.len())
        .collect()
}

/// One random mutation of `bytes`; its name, for the failure message.
fn mutate(rng: &mut ChaCha8Rng, bytes: &mut Vec<u8>) -> &'static str {
    let at = |rng: &mut ChaCha8Rng, bytes: &Vec<u8>| rng.gen_range(0..=bytes.len());
    let line = |rng: &mut ChaCha8Rng, bytes: &Vec<u8>| -> (usize, usize) {
        let starts = line_starts(bytes);
        if starts.is_empty() {
            return (0, 0);
        }
        let i = rng.gen_range(0..starts.len());
        let end = starts.get(i + 1).copied().unwrap_or(bytes.len());
        (starts[i], end)
    };
    match rng.gen_range(0..14) {
        0 => {
            let n = rng.gen_range(1..8);
            let pos = at(rng, bytes);
            let random: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
            bytes.splice(pos..pos, random);
            "random bytes"
        }
        1 => {
            let pos = at(rng, bytes);
            bytes.truncate(pos);
            "cut file"
        }
        2 => {
            let pos = at(rng, bytes);
            bytes.insert(pos, b'"');
            "stray quote"
        }
        3 => {
            // A quoted field that spans lines and closes.
            let (start, end) = line(rng, bytes);
            if end > start {
                let open = rng.gen_range(start..end);
                let close = rng.gen_range(open..=bytes.len().min(end + 80));
                bytes.insert(close, b'"');
                bytes.insert(open, b'"');
            }
            "quotes around a line end"
        }
        4 => {
            let pos = at(rng, bytes);
            bytes.insert(pos, b'\r');
            "CR byte"
        }
        5 => {
            let pos = at(rng, bytes);
            bytes.insert(pos, 0);
            "NUL byte"
        }
        6 => {
            // The header again, further down.
            let header_end = line_starts(bytes).get(1).copied().unwrap_or(bytes.len());
            let header = bytes[..header_end].to_vec();
            let (start, _) = line(rng, bytes);
            bytes.splice(start..start, header);
            "duplicated header line"
        }
        7 => {
            // One header column renamed as another: a duplicated column.
            let header_end = bytes
                .iter()
                .position(|b| *b == b'\n')
                .unwrap_or(bytes.len());
            let text = String::from_utf8_lossy(&bytes[..header_end]).into_owned();
            let mut names: Vec<&str> = text.split(';').collect();
            if names.len() > 1 {
                let from = rng.gen_range(0..names.len());
                let to = rng.gen_range(0..names.len());
                names[to] = names[from];
            }
            let header = names.join(";").into_bytes();
            bytes.splice(..header_end, header);
            "duplicated header column"
        }
        8 => {
            let (start, _) = line(rng, bytes);
            let blank: &[u8] = [&b"\n"[..], b"\r\n", b"  \t\n", b";;;;\n", b"\n\n\n"]
                .choose(rng)
                .unwrap();
            bytes.splice(start..start, blank.iter().copied());
            "blank line"
        }
        9 => {
            let (start, end) = line(rng, bytes);
            let copy = bytes[start..end].to_vec();
            bytes.splice(end..end, copy);
            "duplicated line"
        }
        10 => {
            let (start, end) = line(rng, bytes);
            bytes.drain(start..end);
            "deleted line"
        }
        11 => {
            let semicolons: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == b';').collect();
            if let Some(&i) = semicolons.choose(rng) {
                bytes[i] = *[b',', b'"', b'\n', b' '].choose(rng).unwrap();
            }
            "altered separator"
        }
        12 => {
            let bom: &[u8] = [&[0xEF, 0xBB, 0xBF][..], &[0xFF, 0xFE], &[0xFE, 0xFF]]
                .choose(rng)
                .unwrap();
            bytes.splice(0..0, bom.iter().copied());
            "byte-order mark"
        }
        _ => {
            // Latin-1 and stray UTF-8 continuation bytes inside a field.
            let pos = at(rng, bytes);
            let odd: &[u8] = [&[0xE9][..], &[0xC3], &[0x80, 0x80], &[0xC3, 0xA9]]
                .choose(rng)
                .unwrap();
            bytes.splice(pos..pos, odd.iter().copied());
            "non-UTF-8 bytes"
        }
    }
}

/// What reading one file gave.
struct Outcome {
    read: u64,
    accepted: u64,
    quarantined: u64,
    /// The physical line of each record, in reading order.
    lines: Vec<u64>,
}

/// Reads `source` as a run does: the reader, then the validator on the rows
/// it hands over.
fn read_and_validate(source: &Source, encoding: Encoding) -> ouistat::Result<Outcome> {
    let mut validator = Validator::new(source.extract, PlausibleDates::for_cutoff(cutoff()));
    let (mut accepted, mut quarantined, mut lines) = (0u64, 0u64, Vec::new());
    let read = ingest::read_csv(source, encoding, |record| {
        match record {
            Record::Row { line, fields, .. } => {
                lines.push(line);
                match validator.push(line, fields) {
                    None => accepted += 1,
                    Some(rejected) => {
                        assert_eq!(rejected.line, line, "a rejection keeps its line");
                        quarantined += 1;
                    }
                }
            }
            Record::Rejected { line, .. } => {
                lines.push(line);
                quarantined += 1;
            }
        }
        Ok(())
    })?;
    let batch_rows = validator.take_batch()?.map_or(0, |b| b.num_rows() as u64);
    assert_eq!(batch_rows, accepted, "every accepted row is in the batch");
    Ok(Outcome {
        read,
        accepted,
        quarantined,
        lines,
    })
}

/// The physical lines of `bytes` as the reader numbers them (from 1,
/// without their line end and after a UTF-8 byte-order mark).
fn physical_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
        .into_iter()
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t'))
}

/// Checks the laws for one outcome; the first broken one, if any.
fn broken_law(bytes: &[u8], outcome: &Outcome) -> Option<String> {
    if outcome.read != outcome.accepted + outcome.quarantined {
        return Some(format!(
            "read {} ≠ accepted {} + quarantined {}",
            outcome.read, outcome.accepted, outcome.quarantined
        ));
    }
    if outcome.read != outcome.lines.len() as u64 {
        return Some(format!(
            "read {} but {} records handed over",
            outcome.read,
            outcome.lines.len()
        ));
    }
    let lines = physical_lines(bytes);
    let Some(header) = lines
        .iter()
        .position(|l| !is_blank(l))
        .map(|i| i as u64 + 1)
    else {
        return Some("a file without a header was read".into());
    };
    let mut starts = vec![header];
    for &l in &outcome.lines {
        let last = *starts.last().unwrap_or(&0);
        if l <= last || l as usize > lines.len() {
            return Some(format!(
                "record line {l} after {last} (of {} lines)",
                lines.len()
            ));
        }
        if is_blank(lines[l as usize - 1]) {
            return Some(format!("a record starts on blank line {l}"));
        }
        starts.push(l);
    }
    for (i, line) in lines.iter().enumerate() {
        let p = i as u64 + 1;
        if p <= header || is_blank(line) || starts.contains(&p) {
            continue;
        }
        let s = starts.iter().copied().filter(|&s| s < p).max().unwrap_or(0);
        let opens_quote = s > 0 && lines[s as usize - 1].contains(&b'"');
        if !opens_quote || p - s >= MAX_RECORD_LINES as u64 {
            return Some(format!(
                "line {p} is in no record (the record before it starts on line {s})"
            ));
        }
    }
    None
}

/// Mutated extracts through the reader and the validator: no panic, read =
/// accepted + quarantined, every physical line accounted for, and a file
/// that cannot be read stops with an `Unreadable` error naming it.
#[test]
fn mutated_extracts_are_read_accounted_for_or_refused_clearly() {
    let cases = env_or("OUISTAT_FUZZ_CASES", 400);
    let seed = env_or("OUISTAT_FUZZ_SEED", 15);
    let dir = tempfile::tempdir().unwrap();
    let seeds = seeds(dir.path());
    let mut refused = 0u64;
    for case in 0..cases {
        let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(case));
        let (extract, base) = seeds.choose(&mut rng).unwrap();
        let mut bytes = base.clone();
        let mutations: Vec<&str> = (0..rng.gen_range(1..=4))
            .map(|_| mutate(&mut rng, &mut bytes))
            .collect();
        let encoding = if rng.gen_bool(0.25) {
            Encoding::Windows1252
        } else {
            Encoding::Utf8
        };
        let path = dir.path().join(format!("{}.csv", extract.name()));
        std::fs::write(&path, &bytes).unwrap();
        let source = Source {
            extract: *extract,
            path: path.clone(),
            format: FileFormat::Csv,
        };
        let keep = || -> PathBuf {
            let kept = std::env::temp_dir().join(format!("ouistat-fuzz-{seed}-{case}.csv"));
            std::fs::write(&kept, &bytes).unwrap();
            kept
        };
        let what = format!(
            "case {case} (OUISTAT_FUZZ_SEED={seed}), {} with {mutations:?}, {encoding:?}",
            extract.name()
        );
        let result = catch_unwind(AssertUnwindSafe(|| read_and_validate(&source, encoding)));
        match result {
            Err(_) => panic!("{what}: panicked; input kept in {}", keep().display()),
            Ok(Err(Error::Unreadable { file, problem })) => {
                assert_eq!(file, path, "{what}: the error names the file");
                assert!(!problem.is_empty(), "{what}");
                refused += 1;
            }
            Ok(Err(e)) => panic!(
                "{what}: stopped with `{e}` instead of naming what is unreadable; input kept in {}",
                keep().display()
            ),
            Ok(Ok(outcome)) => {
                if let Some(law) = broken_law(&bytes, &outcome) {
                    panic!("{what}: {law}; input kept in {}", keep().display());
                }
            }
        }
    }
    // Both ways out are exercised, or the mutations are too mild or too harsh.
    assert!(
        refused > 0 && refused < cases,
        "{refused} of {cases} refused"
    );
}

/// A few mutated extract sets through a whole run (staging, set rules,
/// reconciliation, indicators): a run that completes reconciles every
/// extract (it stops with an internal error otherwise); one that stops
/// says the input is unreadable (exit 3).
#[test]
fn mutated_extracts_through_a_whole_run_reconcile_or_stop_clearly() {
    let runs = env_or("OUISTAT_FUZZ_RUNS", 3);
    let seed = env_or("OUISTAT_FUZZ_SEED", 15);
    let dir = tempfile::tempdir().unwrap();
    for case in 0..runs {
        let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(7_919).wrapping_add(case));
        let extracts = dir.path().join(format!("extraits-{case}"));
        std::fs::create_dir_all(&extracts).unwrap();
        let mut applied = Vec::new();
        for extract in Extract::ALL {
            let name = format!("{}.csv", extract.name());
            let mut bytes = std::fs::read(Path::new(FIXTURE).join(&name)).unwrap();
            // Mild mutations, so that most runs get through.
            for _ in 0..rng.gen_range(0..=2) {
                let m = mutate(&mut rng, &mut bytes);
                if m != "CR byte" && m != "byte-order mark" && !m.starts_with("duplicated header") {
                    applied.push((extract.name(), m));
                } else {
                    applied.push((extract.name(), "(skipped)"));
                    bytes = std::fs::read(Path::new(FIXTURE).join(&name)).unwrap();
                }
            }
            std::fs::write(extracts.join(&name), bytes).unwrap();
        }
        let out = dir.path().join(format!("sortie-{case}"));
        let mut cfg = RunConfig::new(&extracts, &out, cutoff());
        cfg.threads = Some(1);
        let what = format!("run {case} (OUISTAT_FUZZ_SEED={seed}) with {applied:?}");
        match pipeline::run(&cfg) {
            Ok(report) => {
                for (extract, r) in &report.reconciliation {
                    assert!(r.reconcilie, "{what}: {extract} {r:?}");
                    assert_eq!(r.lues, r.acceptees + r.quarantaine, "{what}: {extract}");
                }
            }
            Err(e) => assert_eq!(
                e.exit_code(),
                ouistat::ExitCode::BadInput,
                "{what}: stopped with `{e}`"
            ),
        }
    }
}

/// The line law catches a reader that swallows a line or numbers one wrong.
#[test]
fn the_line_law_catches_a_swallowed_or_misnumbered_line() {
    let bytes = b"h;i\n1;2\n\n3;4\n";
    let outcome = |lines: Vec<u64>| Outcome {
        read: lines.len() as u64,
        accepted: lines.len() as u64,
        quarantined: 0,
        lines,
    };
    assert_eq!(broken_law(bytes, &outcome(vec![2, 4])), None);
    assert!(
        broken_law(bytes, &outcome(vec![2])).is_some(),
        "line 4 swallowed"
    );
    assert!(
        broken_law(bytes, &outcome(vec![2, 3])).is_some(),
        "blank line 3"
    );
    let quoted = b"h;i\n\"1\n2\";x\n3;4\n";
    assert_eq!(broken_law(quoted, &outcome(vec![2, 4])), None);
}
