//! Reading extracts: finds the four files, checks their headers and encoding,
//! and hands every record to a sink with its physical line number.
//!
//! What always holds: every data record of a file reaches the sink exactly
//! once, numbered by the physical line it starts on (header = line 1), either
//! as a row of text fields in schema order or as a structural rejection
//! (unclosed quote, no value, field count, encoding). Blank lines are not
//! records. Only a file that cannot be read at all is an error: a missing or
//! unknown header column, line ends other than LF or CRLF (`records`), or
//! bytes that contradict the declared encoding (`sniff`). A Parquet extract
//! is read by `parquet_file`, its times in French time (`french_time`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use smallvec::SmallVec;

use crate::error::{Error, Result};
use crate::schema::{rule, Extract};
use crate::warehouse::Db;

mod french_time;
mod notes;
mod parquet_file;
mod records;
mod sniff;

pub(crate) use notes::{column_notes, ColumnNote};
pub use records::MAX_RECORD_LINES;

use records::{Fields, Parsed, Records};

/// The encoding declared for CSV extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Encoding {
    Utf8,
    Windows1252,
}

/// The format of one extract file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum FileFormat {
    Csv,
    Parquet,
}

/// One extract file found in the extracts directory.
#[derive(Debug, Clone)]
pub struct Source {
    pub extract: Extract,
    pub path: PathBuf,
    pub format: FileFormat,
}

impl Source {
    /// The file name as it appears in the quarantine (`fichier`).
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Finds `NAME.csv` or `NAME.parquet` for each of the four extracts.
pub fn find_sources(dir: &Path) -> Result<Vec<Source>> {
    if !dir.is_dir() {
        return Err(Error::Unreadable {
            file: dir.to_path_buf(),
            problem: "the extracts directory does not exist".into(),
        });
    }
    Extract::ALL
        .iter()
        .map(|&extract| {
            let csv = dir.join(format!("{}.csv", extract.name()));
            let parquet = dir.join(format!("{}.parquet", extract.name()));
            match (csv.is_file(), parquet.is_file()) {
                (true, false) => Ok(Source {
                    extract,
                    path: csv,
                    format: FileFormat::Csv,
                }),
                (false, true) => Ok(Source {
                    extract,
                    path: parquet,
                    format: FileFormat::Parquet,
                }),
                (true, true) => Err(Error::Unreadable {
                    file: csv,
                    problem: format!(
                        "both {0}.csv and {0}.parquet exist; keep one",
                        extract.name()
                    ),
                }),
                (false, false) => Err(Error::Unreadable {
                    file: csv,
                    problem: format!(
                        "missing extract: expected {0}.csv or {0}.parquet",
                        extract.name()
                    ),
                }),
            }
        })
        .collect()
}

/// One record handed to the sink.
pub enum Record<'a> {
    /// A record with the right number of decodable fields, in schema order:
    /// `fields` as the rules read them, `shown` as the file holds them (the
    /// quarantine's `contenu`). They differ only for a Parquet value read
    /// in another encoding: an instant put in French time, a date written
    /// as a timestamp, an integer written as a decimal number.
    Row {
        line: u64,
        fields: &'a [Cow<'a, str>],
        shown: &'a [Cow<'a, str>],
    },
    /// A record rejected before typing.
    Rejected {
        line: u64,
        rule: &'static str,
        detail: String,
        content: String,
        key: Option<String>,
    },
}

/// Maps the file's header to the schema: `map[schema_index] = file_index`.
fn map_header(source: &Source, header: &[String]) -> Result<Vec<usize>> {
    let columns = source.extract.columns();
    if header.iter().any(|name| name.contains('\u{FEFF}')) {
        return Err(Error::Unreadable {
            file: source.path.clone(),
            problem: "the header holds a byte-order mark (U+FEFF) past the first bytes of the \
                      file: it starts with two, or was joined from several files; remove the \
                      extra one"
                .into(),
        });
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        if seen.insert(name.as_str(), i).is_some() {
            return Err(Error::Unreadable {
                file: source.path.clone(),
                problem: format!("header column `{name}` appears twice"),
            });
        }
    }
    let unknown: Vec<&str> = header
        .iter()
        .map(String::as_str)
        .filter(|n| !columns.iter().any(|c| c.name == *n))
        .collect();
    let missing: Vec<&str> = columns
        .iter()
        .map(|c| c.name)
        .filter(|n| !seen.contains_key(n))
        .collect();
    if !missing.is_empty() || !unknown.is_empty() {
        let mut problem = String::from("header does not match the input contract:");
        if !missing.is_empty() {
            problem.push_str(&format!(" missing column(s) {}", missing.join(", ")));
        }
        if !unknown.is_empty() {
            problem.push_str(&format!(" unknown column(s) {}", unknown.join(", ")));
            problem.push_str(&unknown_hint(&unknown, columns));
        }
        return Err(Error::Unreadable {
            file: source.path.clone(),
            problem,
        });
    }
    Ok(columns.iter().map(|c| seen[c.name]).collect())
}

/// What the unknown columns most likely are: pandas' index, or contract
/// columns in another case.
fn unknown_hint(unknown: &[&str], columns: &[crate::schema::Column]) -> String {
    let mut hint = String::new();
    if unknown.iter().any(|n| n.starts_with("__index_level_")) {
        hint.push_str(
            "; `__index_level_N__` is the index pandas writes: export with `index=False`",
        );
    }
    let recased: Vec<String> = unknown
        .iter()
        .filter(|n| columns.iter().any(|c| c.name == n.to_lowercase()))
        .map(|n| format!("{n} for {}", n.to_lowercase()))
        .collect();
    if !recased.is_empty() {
        hint.push_str(&format!(
            "; column names are lower-case ({})",
            recased.join(", ")
        ));
    }
    hint
}

/// Why a field cannot be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Undecodable {
    /// A NUL byte: binary data, never text in a CSV extract.
    Nul,
    /// Not UTF-8, when UTF-8 is declared.
    NotUtf8,
}

impl Undecodable {
    /// The quarantine's wording.
    fn detail(self) -> &'static str {
        match self {
            Undecodable::Nul => "octet NUL",
            Undecodable::NotUtf8 => "octets non UTF-8",
        }
    }
}

/// Decodes one field in the declared encoding.
fn decode(bytes: &[u8], encoding: Encoding) -> Result<Cow<'_, str>, Undecodable> {
    if bytes.contains(&0) {
        return Err(Undecodable::Nul);
    }
    match encoding {
        Encoding::Utf8 => std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|_| Undecodable::NotUtf8),
        Encoding::Windows1252 => Ok(encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0),
    }
}

/// Decodes bytes for the quarantine's `contenu`, replacing what cannot be.
fn decode_lossy(bytes: &[u8], encoding: Encoding) -> Cow<'_, str> {
    match encoding {
        Encoding::Utf8 => String::from_utf8_lossy(bytes),
        Encoding::Windows1252 => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}

fn join_lossy(fields: Fields<'_>, encoding: Encoding) -> String {
    let parts: Vec<Cow<'_, str>> = fields.map(|f| decode_lossy(f, encoding)).collect();
    parts.join(";")
}

/// Opens a CSV extract past its byte-order mark, refusing it when its first
/// bytes contradict the declared encoding.
fn open_csv(source: &Source, encoding: Encoding) -> Result<BufReader<File>> {
    let file = File::open(&source.path).map_err(Error::io(&source.path))?;
    let mut input = BufReader::with_capacity(1 << 20, file);
    let head = input.fill_buf().map_err(Error::io(&source.path))?;
    let bom = sniff::check_first_bytes(head, encoding).map_err(|problem| Error::Unreadable {
        file: source.path.clone(),
        problem,
    })?;
    input.consume(bom);
    Ok(input)
}

/// Reads the header (the first record that is not blank) as column names.
fn read_header<R: std::io::BufRead>(
    source: &Source,
    encoding: Encoding,
    records: &mut Records<'_, R>,
) -> Result<Vec<String>> {
    let unreadable = |problem: &str| Error::Unreadable {
        file: source.path.clone(),
        problem: problem.to_string(),
    };
    let fields = match records.next_record()? {
        None => return Err(unreadable("the file is empty (no header row)")),
        Some(Parsed::Unclosed { .. }) => {
            return Err(unreadable(
                "the header opens a double quote that is never closed",
            ))
        }
        Some(Parsed::Record { fields, .. }) => fields,
    };
    fields
        .map(|field| match decode(field, encoding) {
            Ok(name) => Ok(name.trim().to_string()),
            Err(Undecodable::Nul) => Err(unreadable(
                "the header holds NUL bytes: this is not a CSV text file (a spreadsheet or binary file?)",
            )),
            Err(Undecodable::NotUtf8) => Err(unreadable(
                "the header is not valid UTF-8 (declared encoding); use --encoding windows-1252 if the file comes from Excel",
            )),
        })
        .collect()
}

/// Reads a CSV extract (`;`, header, UTF-8 with or without BOM or
/// Windows-1252, CRLF or LF) and feeds every record to `sink`, numbered by
/// its physical line. Returns the number of data records read (blank lines
/// are not records).
pub fn read_csv(
    source: &Source,
    encoding: Encoding,
    mut sink: impl FnMut(Record<'_>) -> Result<()>,
) -> Result<u64> {
    let input = open_csv(source, encoding)?;
    let mut records = Records::new(input, &source.path);
    let header = read_header(source, encoding, &mut records)?;
    let map = map_header(source, &header)?;
    let width = header.len();
    records.set_width(width);
    let key_index = source
        .extract
        .column_index(source.extract.key())
        .map(|i| map[i]);
    let mut utf8_evidence = sniff::Utf8InCp1252::default();
    let mut read = 0u64;
    while let Some(parsed) = records.next_record()? {
        read += 1;
        let line = parsed.line();
        let (fields, unclosed_line) = match parsed {
            Parsed::Record { fields, .. } => (fields, None),
            Parsed::Unclosed { fields, raw, .. } => (fields, Some(raw)),
        };
        if encoding == Encoding::Windows1252 {
            for field in fields.clone() {
                utf8_evidence.observe(line, field);
            }
        }
        let key = || {
            key_index
                .and_then(|i| fields.clone().nth(i))
                .map(|b| decode_lossy(b, encoding).trim().to_string())
        };
        let reject = |(rule, detail, content)| Record::Rejected {
            line,
            rule,
            detail,
            content,
            key: key(),
        };
        if let Some(problem) = misshapen(fields.clone(), unclosed_line, width, encoding) {
            sink(reject(problem))?;
            continue;
        }
        let decoded = match decode_row(&fields, &map, &header, encoding) {
            Ok(decoded) => decoded,
            Err(detail) => {
                sink(reject((
                    rule::UTF8,
                    detail,
                    join_lossy(fields.clone(), encoding),
                )))?;
                continue;
            }
        };
        sink(Record::Row {
            line,
            fields: &decoded[..],
            shown: &decoded[..],
        })?;
    }
    if let Some(problem) = utf8_evidence.verdict() {
        return Err(Error::Unreadable {
            file: source.path.clone(),
            problem,
        });
    }
    Ok(read)
}

/// A rejected record: its rule, the detail shown and its content as read.
type Rejection = (&'static str, String, String);

/// Why a record is not a row of the extract's shape: an unclosed quote
/// (`unclosed` holds the line read alone), separators alone, or another
/// number of fields than the header's `width`.
fn misshapen(
    fields: Fields<'_>,
    unclosed: Option<&[u8]>,
    width: usize,
    encoding: Encoding,
) -> Option<Rejection> {
    if let Some(raw) = unclosed {
        return Some((
            rule::UNCLOSED_QUOTE,
            "un guillemet ouvre un champ qui ne se referme pas en un enregistrement bien formé : \
             la ligne est lue seule et la lecture reprend à la ligne suivante"
                .into(),
            decode_lossy(raw, encoding).into_owned(),
        ));
    }
    if fields
        .clone()
        .all(|f| f.iter().all(u8::is_ascii_whitespace))
    {
        return Some((
            rule::NO_VALUE,
            "ligne faite de séparateurs seuls, sans aucune valeur".into(),
            join_lossy(fields, encoding),
        ));
    }
    if fields.len() != width {
        return Some((
            rule::FIELD_COUNT,
            format!("{} champs au lieu de {width}", fields.len()),
            join_lossy(fields, encoding),
        ));
    }
    None
}

/// The fields of a well-shaped record decoded in the extract's column
/// order (`map`: column → field of the file); `Err` says which column of
/// `header` does not decode and why ([`decode`]). A UTF-8 record is
/// checked whole and borrowed, and the row lives on the stack up to [`ROW_INLINE`] columns:
/// this runs once per line of every extract.
fn decode_row<'a>(
    fields: &Fields<'a>,
    map: &[usize],
    header: &[String],
    encoding: Encoding,
) -> Result<DecodedRow<'a>, String> {
    let joined = fields.joined();
    if encoding == Encoding::Utf8 && !joined.contains(&0) {
        if let Ok(text) = std::str::from_utf8(joined) {
            return Ok(map
                .iter()
                .map(|&i| Cow::Borrowed(&text[fields.range(i)]))
                .collect());
        }
    }
    let raw: SmallVec<[&[u8]; ROW_INLINE]> = fields.clone().collect();
    map.iter()
        .map(|&file_index| {
            decode(raw[file_index], encoding).map_err(|problem| {
                format!(
                    "{} dans la colonne {}",
                    problem.detail(),
                    header[file_index]
                )
            })
        })
        .collect()
}

/// Columns a decoded row holds without allocating: more than any extract
/// has (the widest, `individus`, has 20).
const ROW_INLINE: usize = 32;

type DecodedRow<'a> = SmallVec<[Cow<'a, str>; ROW_INLINE]>;

/// Reads a Parquet extract (typed or all text) through DuckDB and feeds
/// every row to `sink` as text, so that the CSV rules apply; `ligne` is the
/// row number + 2 (see `parquet_file`). Returns the number of rows read.
pub(crate) fn read_parquet(
    db: &Db,
    source: &Source,
    sink: impl FnMut(Record<'_>) -> Result<()>,
) -> Result<u64> {
    parquet_file::read(db, source, sink)
}

/// Re-reads the raw content of the given lines (for rows rejected by
/// set-level rules, whose raw text was not kept).
pub(crate) fn raw_lines(
    db: &Db,
    source: &Source,
    encoding: Encoding,
    lines: &std::collections::HashSet<u64>,
) -> Result<HashMap<u64, String>> {
    let mut out = HashMap::with_capacity(lines.len());
    let mut keep = |rec: Record<'_>| {
        if let Record::Row { line, shown, .. } = rec {
            if lines.contains(&line) {
                let parts: Vec<&str> = shown.iter().map(|c| c.as_ref()).collect();
                out.insert(line, parts.join(";"));
            }
        }
        Ok(())
    };
    match source.format {
        FileFormat::Csv => read_csv(source, encoding, &mut keep)?,
        FileFormat::Parquet => read_parquet(db, source, &mut keep)?,
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const EVENTS: &str = include_str!("../tests/fixtures/parcours/evenements.csv");

    /// What `read_csv` makes of `bytes` as `evenements.csv`: the rows read
    /// and (line, rule) of each record, `None` for an accepted row.
    type Seen = (u64, Vec<(u64, Option<&'static str>)>);

    fn read_bytes(dir: &Path, bytes: &[u8], encoding: Encoding) -> Result<Seen> {
        let path = dir.join("evenements.csv");
        std::fs::write(&path, bytes).unwrap();
        let source = Source {
            extract: Extract::Evenements,
            path,
            format: FileFormat::Csv,
        };
        let mut seen = Vec::new();
        let read = read_csv(&source, encoding, |record| {
            seen.push(match record {
                Record::Row { line, .. } => (line, None),
                Record::Rejected { line, rule, .. } => (line, Some(rule)),
            });
            Ok(())
        })?;
        Ok((read, seen))
    }

    /// The physical lines (1-based) that are not blank.
    fn non_blank_lines(bytes: &[u8]) -> Vec<u64> {
        let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        body.split(|&b| b == b'\n')
            .zip(1..)
            .filter(|(line, _)| !line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')))
            .map(|(_, n)| n)
            .collect()
    }

    #[test]
    fn bare_delimiters_and_nul_bytes_are_never_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let text =
            format!("{EVENTS}\n;;;;;\n; ;;;;\nP1;ICO;ABS\0ENT;;2026-02-10;2026-02-10 10:00:00\n");
        let (read, seen) = read_bytes(dir.path(), text.as_bytes(), Encoding::Utf8).unwrap();
        assert_eq!(read, 21);
        assert_eq!(
            seen[18..],
            [
                (21, Some(rule::NO_VALUE)),
                (22, Some(rule::NO_VALUE)),
                (23, Some(rule::UTF8))
            ]
        );
    }

    /// Random damage (stray quotes, CR, NUL, line feeds, delimiters, cut
    /// files, random bytes): no panic; the file is refused or every record
    /// is counted once, in line order, on a physical line that is not
    /// blank; without quotes, every non-blank line after the header is one
    /// record.
    #[test]
    fn damaged_extracts_never_panic_and_every_line_is_accounted_for() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(15);
        let (mut read_ok, mut unquoted_ok) = (0, 0);
        for _ in 0..3000 {
            let mut bytes = EVENTS.as_bytes().to_vec();
            for _ in 0..rng.gen_range(1..5) {
                let at = rng.gen_range(0..=bytes.len());
                match rng.gen_range(0..8) {
                    0 => bytes.insert(at, b'"'),
                    1 => bytes.insert(at, b'\r'),
                    2 => bytes.insert(at, 0),
                    3 | 4 => bytes.insert(at, b'\n'),
                    5 => bytes.insert(at, b';'),
                    6 => bytes.truncate(at),
                    _ => bytes.insert(at, rng.gen()),
                }
            }
            let encoding = if rng.gen_bool(0.5) {
                Encoding::Utf8
            } else {
                Encoding::Windows1252
            };
            let Ok((read, seen)) = read_bytes(dir.path(), &bytes, encoding) else {
                continue;
            };
            read_ok += 1;
            assert_eq!(read as usize, seen.len());
            let lines: Vec<u64> = seen.iter().map(|(line, _)| *line).collect();
            let non_blank = non_blank_lines(&bytes);
            assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
            assert!(
                lines.iter().all(|l| non_blank[1..].contains(l)),
                "{lines:?}"
            );
            if !bytes.contains(&b'"') {
                unquoted_ok += 1;
                assert_eq!(lines, non_blank[1..], "{}", String::from_utf8_lossy(&bytes));
            }
        }
        assert!(
            read_ok > 1000 && unquoted_ok > 500,
            "{read_ok} {unquoted_ok}"
        );
    }
}
