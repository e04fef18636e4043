//! Reading extracts: finds the four files, checks their headers and encoding,
//! and hands every record to a sink with its physical line number.
//!
//! What always holds: every data record of a file reaches the sink exactly
//! once, either as a row of text fields in schema order or as a structural
//! rejection (field count, encoding). Only a file that cannot be read at all
//! is an error.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::schema::{rule, Extract};

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
    /// A record with the right number of decodable fields, in schema order.
    Row {
        line: u64,
        fields: &'a [Cow<'a, str>],
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

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(Error::io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(Error::io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Maps the file's header to the schema: `map[schema_index] = file_index`.
fn map_header(source: &Source, header: &[String]) -> Result<Vec<usize>> {
    let columns = source.extract.columns();
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
        }
        return Err(Error::Unreadable {
            file: source.path.clone(),
            problem,
        });
    }
    Ok(columns.iter().map(|c| seen[c.name]).collect())
}

fn join_lossy(record: &csv::ByteRecord) -> String {
    let parts: Vec<Cow<'_, str>> = record.iter().map(String::from_utf8_lossy).collect();
    parts.join(";")
}

/// Turns CRLF into LF on the fly. The `csv` crate reports the line of a
/// record that follows a CRLF one line too early; with LF only, its line
/// numbers are the physical ones. A lone CR is left as it is.
struct CrlfToLf<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
}

impl<R: Read> CrlfToLf<R> {
    fn new(inner: R) -> Self {
        CrlfToLf {
            inner,
            buf: vec![0; 1 << 16],
            pos: 0,
            len: 0,
            eof: false,
        }
    }
}

impl<R: Read> Read for CrlfToLf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let mut written = 0;
            while written < out.len() && self.pos < self.len {
                let b = self.buf[self.pos];
                if b == b'\r' {
                    if self.pos + 1 < self.len {
                        if self.buf[self.pos + 1] == b'\n' {
                            self.pos += 1;
                            continue;
                        }
                    } else if !self.eof {
                        break; // a CR ends the chunk: look at the next byte first
                    }
                }
                out[written] = b;
                written += 1;
                self.pos += 1;
            }
            if written > 0 {
                return Ok(written);
            }
            if self.eof && self.pos >= self.len {
                return Ok(0);
            }
            let remaining = self.len - self.pos;
            self.buf.copy_within(self.pos..self.len, 0);
            self.pos = 0;
            self.len = remaining;
            let n = self.inner.read(&mut self.buf[remaining..])?;
            if n == 0 {
                self.eof = true;
            }
            self.len += n;
        }
    }
}

/// Reads a CSV extract (`;`, header, UTF-8 with or without BOM or
/// Windows-1252, CRLF or LF) and feeds every record to `sink`.
/// Returns the number of data records read.
pub fn read_csv(
    source: &Source,
    encoding: Encoding,
    mut sink: impl FnMut(Record<'_>) -> Result<()>,
) -> Result<u64> {
    let file = File::open(&source.path).map_err(Error::io(&source.path))?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(CrlfToLf::new(file));
    let unreadable = |problem: String| Error::Unreadable {
        file: source.path.clone(),
        problem,
    };
    let mut record = csv::ByteRecord::new();
    let has_header = reader
        .read_byte_record(&mut record)
        .map_err(|e| unreadable(format!("cannot read the header: {e}")))?;
    if !has_header {
        return Err(unreadable("the file is empty (no header row)".into()));
    }
    let mut header = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let field = if i == 0 {
            match field.strip_prefix(b"\xEF\xBB\xBF") {
                Some(rest) if encoding == Encoding::Windows1252 => {
                    let _ = rest;
                    return Err(unreadable(
                        "starts with a UTF-8 byte-order mark but windows-1252 was declared".into(),
                    ));
                }
                Some(rest) => rest,
                None => field,
            }
        } else {
            field
        };
        let name = match encoding {
            Encoding::Utf8 => std::str::from_utf8(field)
                .map_err(|_| unreadable("the header is not valid UTF-8 (declared encoding); use --encoding windows-1252 if the file comes from Excel".into()))?
                .to_string(),
            Encoding::Windows1252 => encoding_rs::WINDOWS_1252.decode_without_bom_handling(field).0.into_owned(),
        };
        header.push(name.trim().to_string());
    }
    let map = map_header(source, &header)?;
    let key_index = source
        .extract
        .column_index(source.extract.key())
        .map(|i| map[i]);
    let width = header.len();
    let mut read = 0u64;
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            unreadable(format!(
                "unreadable CSV after line {}: {e}",
                record.position().map_or(0, |p| p.line())
            ))
        })?;
        if !more {
            break;
        }
        read += 1;
        let line = record.position().map_or(0, |p| p.line());
        let key = || {
            key_index
                .and_then(|i| record.get(i))
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
        };
        if record.len() != width {
            sink(Record::Rejected {
                line,
                rule: rule::FIELD_COUNT,
                detail: format!("{} champs au lieu de {width}", record.len()),
                content: join_lossy(&record),
                key: key(),
            })?;
            continue;
        }
        let mut fields: Vec<Cow<'_, str>> = Vec::with_capacity(width);
        let mut bad_column = None;
        for &file_index in &map {
            let bytes = &record[file_index];
            let text = match encoding {
                Encoding::Utf8 => match std::str::from_utf8(bytes) {
                    Ok(s) => Cow::Borrowed(s),
                    Err(_) => {
                        bad_column = Some(file_index);
                        break;
                    }
                },
                Encoding::Windows1252 => {
                    encoding_rs::WINDOWS_1252
                        .decode_without_bom_handling(bytes)
                        .0
                }
            };
            fields.push(text);
        }
        if let Some(i) = bad_column {
            sink(Record::Rejected {
                line,
                rule: rule::UTF8,
                detail: format!("octets non UTF-8 dans la colonne {}", header[i]),
                content: join_lossy(&record),
                key: key(),
            })?;
            continue;
        }
        sink(Record::Row {
            line,
            fields: &fields,
        })?;
    }
    Ok(read)
}

/// Reads a Parquet extract (typed or all text) through DuckDB, casting every
/// column to text so the CSV rules apply; `ligne` is the row number + 1.
pub fn read_parquet(
    conn: &duckdb::Connection,
    source: &Source,
    mut sink: impl FnMut(Record<'_>) -> Result<()>,
) -> Result<u64> {
    let path = source.path.to_string_lossy().replace('\'', "''");
    let unreadable = |problem: String| Error::Unreadable {
        file: source.path.clone(),
        problem,
    };
    let mut stmt = conn
        .prepare(&format!("select * from read_parquet('{path}') limit 0"))
        .map_err(|e| unreadable(format!("not a readable Parquet file: {e}")))?;
    let schema = stmt
        .query_arrow([])
        .map_err(|e| unreadable(format!("not a readable Parquet file: {e}")))?
        .get_schema();
    let header: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let map = map_header(source, &header)?;
    let select: Vec<String> = map
        .iter()
        .map(|&i| {
            let field = schema.field(i);
            let quoted = format!("\"{}\"", field.name().replace('"', "\"\""));
            match field.data_type() {
                arrow::datatypes::DataType::Boolean => {
                    format!("case when {quoted} then 'O' when not {quoted} then 'N' end")
                }
                arrow::datatypes::DataType::Timestamp(..) => {
                    format!("strftime({quoted}, '%Y-%m-%d %H:%M:%S')")
                }
                _ => format!("cast({quoted} as varchar)"),
            }
        })
        .collect();
    let sql = format!(
        "select file_row_number, {} from read_parquet('{path}', file_row_number = true) order by file_row_number",
        select.join(", ")
    );
    let mut stmt = conn
        .prepare(&sql)
        .map_err(|e| unreadable(format!("cannot read: {e}")))?;
    let batches = stmt
        .stream_arrow([])
        .map_err(|e| unreadable(format!("cannot read: {e}")))?;
    let mut read = 0u64;
    for batch in batches {
        let batch = batch.map_err(|e| unreadable(format!("cannot read: {e}")))?;
        let rows = batch
            .column(0)
            .as_primitive::<arrow::datatypes::Int64Type>()
            .clone();
        let texts: Vec<_> = (1..batch.num_columns())
            .map(|i| batch.column(i).as_string::<i32>().clone())
            .collect();
        let mut fields: Vec<Cow<'_, str>> = Vec::with_capacity(texts.len());
        for r in 0..batch.num_rows() {
            read += 1;
            fields.clear();
            for col in &texts {
                fields.push(if col.is_null(r) {
                    Cow::Borrowed("")
                } else {
                    Cow::Borrowed(col.value(r))
                });
            }
            sink(Record::Row {
                line: rows.value(r) as u64 + 2,
                fields: &fields,
            })?;
        }
    }
    Ok(read)
}

/// Re-reads the raw content of the given lines (for rows rejected by
/// set-level rules, whose raw text was not kept).
pub fn raw_lines(
    conn: &duckdb::Connection,
    source: &Source,
    encoding: Encoding,
    lines: &std::collections::HashSet<u64>,
) -> Result<HashMap<u64, String>> {
    let mut out = HashMap::with_capacity(lines.len());
    let mut keep = |rec: Record<'_>| {
        if let Record::Row { line, fields } = rec {
            if lines.contains(&line) {
                let parts: Vec<&str> = fields.iter().map(|c| c.as_ref()).collect();
                out.insert(line, parts.join(";"));
            }
        }
        Ok(())
    };
    match source.format {
        FileFormat::Csv => read_csv(source, encoding, &mut keep)?,
        FileFormat::Parquet => read_parquet(conn, source, &mut keep)?,
    };
    Ok(out)
}

/// Converts the generator's CSV extracts to all-text Parquet files.
pub fn csv_dir_to_text_parquet(csv_dir: &Path, out: &Path) -> Result<()> {
    let conn = duckdb::Connection::open_in_memory()?;
    for extract in Extract::ALL {
        let csv = csv_dir.join(format!("{}.csv", extract.name()));
        let parquet = out.join(format!("{}.parquet", extract.name()));
        let sql = format!(
            "copy (select * from read_csv('{}', delim = ';', header = true, all_varchar = true, parallel = false)) \
             to '{}' (format parquet, compression zstd)",
            csv.to_string_lossy().replace('\'', "''"),
            parquet.to_string_lossy().replace('\'', "''"),
        );
        conn.execute_batch(&sql)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_becomes_lf_across_chunk_boundaries() {
        let input = b"a;b\r\nc;d\r\n\re\r".to_vec();
        for chunk in 1..6 {
            struct Chunked(Vec<u8>, usize, usize);
            impl Read for Chunked {
                fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                    let n = self.1.min(out.len()).min(self.0.len() - self.2);
                    out[..n].copy_from_slice(&self.0[self.2..self.2 + n]);
                    self.2 += n;
                    Ok(n)
                }
            }
            let mut r = CrlfToLf::new(Chunked(input.clone(), chunk, 0));
            r.buf = vec![0; 2];
            let mut got = Vec::new();
            r.read_to_end(&mut got).unwrap();
            assert_eq!(got, b"a;b\nc;d\n\re\r", "chunk {chunk}");
        }
    }
}
