//! Physical lines into CSV records (`;` delimiter, RFC 4180 quoting), each
//! numbered by the physical line it starts on (the header is line 1).
//!
//! What always holds:
//! - line numbers count every physical line, blank ones and the lines of
//!   multi-line quoted fields included; line ends are LF or CRLF, and a
//!   carriage return anywhere else refuses the file rather than shift the
//!   numbers;
//! - blank lines (nothing but spaces or tabs) are not records;
//! - every other physical line belongs to exactly one record. A quoted
//!   field may span lines, but only when it closes into a record of the
//!   header's width whose later lines could not stand alone as records;
//!   otherwise the quote ran away (an unbalanced `"` in an unquoted export)
//!   and its first line comes back alone as [`Parsed::Unclosed`], reading
//!   resuming on the next physical line, so that it swallows nothing.
//!
//! Fields are split by `csv-core`, the parser of the `csv` crate. The `csv`
//! reader itself is not used: it numbers a record from the end of the
//! previous one (so blank lines shift every later number) and, after an
//! unclosed quote, it cannot go back to the line that followed.

use std::collections::VecDeque;
use std::io::BufRead;
use std::path::Path;

use csv_core::ReadRecordResult;

use crate::error::{Error, Result};

/// The most physical lines one record may span. A quoted field longer than
/// this is taken for a runaway quote (no free-text field of an extract
/// comes near it).
pub const MAX_RECORD_LINES: usize = 200;

/// One physical line, without its line end.
#[derive(Debug)]
struct Line {
    number: u64,
    bytes: Vec<u8>,
}

impl Line {
    fn is_blank(&self) -> bool {
        self.bytes.iter().all(|b| matches!(b, b' ' | b'\t'))
    }
}

/// Splits one record into fields with `csv-core`, one physical line at a
/// time, so that the caller knows after each line whether a quoted field
/// is still open.
struct FieldSplitter {
    core: csv_core::Reader,
    out: Vec<u8>,
    nout: usize,
    ends: Vec<usize>,
    nend: usize,
    /// Nothing fed since [`FieldSplitter::start`].
    fresh: bool,
}

impl FieldSplitter {
    fn new() -> Self {
        FieldSplitter {
            core: csv_core::ReaderBuilder::new().delimiter(b';').build(),
            out: vec![0; 4096],
            nout: 0,
            ends: vec![0; 64],
            nend: 0,
            fresh: true,
        }
    }

    /// Forgets any record in progress.
    fn start(&mut self) {
        self.core.reset();
        self.nout = 0;
        self.nend = 0;
        self.fresh = true;
    }

    /// Feeds one physical line and its line end; true when the record is
    /// complete, false when a quoted field is still open.
    fn feed_line(&mut self, line: &[u8]) -> bool {
        // A line holds neither LF nor CR, so it cannot end the record.
        self.feed(line);
        self.feed(b"\n")
    }

    /// Ends the record where the input ends (an open quoted field is
    /// closed there, as `csv-core` does at the end of a file).
    fn finish(&mut self) {
        loop {
            let (res, _, _, nend) =
                self.core
                    .read_record(&[], &mut self.out[self.nout..], &mut self.ends[self.nend..]);
            self.nend += nend;
            match res {
                ReadRecordResult::OutputEndsFull => self.grow_ends(),
                _ => return,
            }
        }
    }

    fn feed(&mut self, mut input: &[u8]) -> bool {
        // An empty input would tell `csv-core` that the file has ended.
        while !input.is_empty() {
            // After a reset, `csv-core` drops a UTF-8 byte-order mark at the
            // start of its input, as at the start of a file. The file's own
            // is gone already, so one here is data (a line of a second BOM
            // only would otherwise vanish and merge with the next line):
            // one byte alone, too short to be stripped, goes first.
            let chunk = if std::mem::take(&mut self.fresh) {
                &input[..1]
            } else {
                input
            };
            let (res, nin, nout, nend) = self.core.read_record(
                chunk,
                &mut self.out[self.nout..],
                &mut self.ends[self.nend..],
            );
            input = &input[nin..];
            self.nout += nout;
            self.nend += nend;
            match res {
                ReadRecordResult::Record => return true,
                ReadRecordResult::OutputFull => {
                    let len = self.out.len();
                    self.out.resize(len * 2, 0);
                }
                ReadRecordResult::OutputEndsFull => self.grow_ends(),
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::End => return false,
            }
        }
        false
    }

    fn grow_ends(&mut self) {
        let len = self.ends.len();
        self.ends.resize(len * 2, 0);
    }

    fn len(&self) -> usize {
        self.nend
    }

    fn fields(&self) -> Fields<'_> {
        Fields {
            out: &self.out,
            ends: &self.ends[..self.nend],
            index: 0,
        }
    }

    /// Whether `line`, read alone, is a complete record of `width` fields.
    fn is_whole_record(&mut self, line: &[u8], width: usize) -> bool {
        self.start();
        self.feed_line(line) && self.len() == width
    }
}

/// The fields of a record, as raw bytes (quotes removed, `""` unescaped).
#[derive(Clone)]
pub(super) struct Fields<'a> {
    out: &'a [u8],
    ends: &'a [usize],
    index: usize,
}

impl<'a> Fields<'a> {
    /// The bytes of every field, one after the other (the fields are
    /// contiguous): one check of the whole record instead of one per field.
    pub(super) fn joined(&self) -> &'a [u8] {
        &self.out[..self.ends.last().copied().unwrap_or(0)]
    }

    /// Where field `i` lies in [`Fields::joined`].
    pub(super) fn range(&self, i: usize) -> std::ops::Range<usize> {
        let start = i.checked_sub(1).map_or(0, |p| self.ends[p]);
        start..self.ends[i]
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let end = *self.ends.get(self.index)?;
        let start = match self.index {
            0 => 0,
            i => self.ends[i - 1],
        };
        self.index += 1;
        Some(&self.out[start..end])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.ends.len() - self.index;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Fields<'_> {}

/// One record read from the file.
pub(super) enum Parsed<'a> {
    /// A well-formed record, whatever its number of fields.
    Record { line: u64, fields: Fields<'a> },
    /// A line whose quoted field never closes into a well-formed record:
    /// its fields as read up to the end of the line, and the line itself.
    Unclosed {
        line: u64,
        fields: Fields<'a>,
        raw: &'a [u8],
    },
}

impl Parsed<'_> {
    /// The physical line the record starts on.
    pub(super) fn line(&self) -> u64 {
        match self {
            Parsed::Record { line, .. } | Parsed::Unclosed { line, .. } => *line,
        }
    }
}

/// Reads the records of a CSV file with their physical line numbers.
pub(super) struct Records<'p, R> {
    input: R,
    path: &'p Path,
    /// Physical lines read from `input` so far.
    lines_read: u64,
    /// Lines read ahead for a quoted field that turned out to run away,
    /// to be read again as records of their own.
    replay: VecDeque<Line>,
    /// The number of fields a record must have to span lines (the
    /// header's, once known).
    width: Option<usize>,
    splitter: FieldSplitter,
    probe: FieldSplitter,
    /// The first line of the last record, when it came back unclosed.
    unclosed: Option<Line>,
    /// The buffer of the last line read, once done with, for the next
    /// one: most lines are records of their own, and then no line
    /// allocates.
    spare: Vec<u8>,
}

impl<'p, R: BufRead> Records<'p, R> {
    /// Reads records from `input` (after any byte-order mark); `path` names
    /// the file in errors.
    pub(super) fn new(input: R, path: &'p Path) -> Self {
        Records {
            input,
            path,
            lines_read: 0,
            replay: VecDeque::new(),
            width: None,
            splitter: FieldSplitter::new(),
            probe: FieldSplitter::new(),
            unclosed: None,
            spare: Vec::new(),
        }
    }

    /// Sets the number of fields of a well-formed record (the header's).
    pub(super) fn set_width(&mut self, width: usize) {
        self.width = Some(width);
    }

    /// The next record, or `None` at the end of the file.
    pub(super) fn next_record(&mut self) -> Result<Option<Parsed<'_>>> {
        let first = loop {
            match self.next_line()? {
                None => return Ok(None),
                Some(line) if line.is_blank() => self.spare = line.bytes,
                Some(line) => break line,
            }
        };
        self.splitter.start();
        if self.splitter.feed_line(&first.bytes) {
            self.spare = first.bytes;
            return Ok(Some(Parsed::Record {
                line: first.number,
                fields: self.splitter.fields(),
            }));
        }
        if self.continue_quoted_field()? {
            return Ok(Some(Parsed::Record {
                line: first.number,
                fields: self.splitter.fields(),
            }));
        }
        // The quote ran away: the first line alone, up to its end.
        self.splitter.start();
        self.splitter.feed(&first.bytes);
        self.splitter.finish();
        let line = first.number;
        let unclosed = self.unclosed.insert(first);
        Ok(Some(Parsed::Unclosed {
            line,
            fields: self.splitter.fields(),
            raw: &unclosed.bytes,
        }))
    }

    /// Reads the following lines into an open quoted field. True when they
    /// complete a well-formed record; otherwise every line read is put back
    /// to be read again.
    fn continue_quoted_field(&mut self) -> Result<bool> {
        let mut taken: Vec<Line> = Vec::new();
        let mut complete = false;
        while taken.len() + 1 < MAX_RECORD_LINES {
            let Some(line) = self.next_line()? else { break };
            let stands_alone = match self.width {
                Some(width) => !line.is_blank() && self.probe.is_whole_record(&line.bytes, width),
                None => false,
            };
            let closes = !stands_alone && self.splitter.feed_line(&line.bytes);
            taken.push(line);
            if stands_alone {
                break;
            }
            if closes {
                complete = self.width.is_none_or(|w| self.splitter.len() == w);
                break;
            }
        }
        if !complete {
            for line in taken.into_iter().rev() {
                self.replay.push_front(line);
            }
        }
        Ok(complete)
    }

    /// The next physical line (replayed ones first), without its line end.
    fn next_line(&mut self) -> Result<Option<Line>> {
        if let Some(line) = self.replay.pop_front() {
            return Ok(Some(line));
        }
        let mut bytes = std::mem::take(&mut self.spare);
        bytes.clear();
        let n = self
            .input
            .read_until(b'\n', &mut bytes)
            .map_err(Error::io(self.path))?;
        if n == 0 {
            return Ok(None);
        }
        self.lines_read += 1;
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
        }
        // CRLF; or a final CR cut from its LF at the end of the file.
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        if bytes.contains(&b'\r') {
            return Err(Error::Unreadable {
                file: self.path.to_path_buf(),
                problem: format!(
                    "line {} holds a carriage return (CR) that is not part of a CRLF line end \
                     (a lone or doubled CR); only LF or CRLF line ends are read, so that line \
                     numbers stay those of the file: convert its line ends (e.g. `dos2unix`, \
                     or save it again as CSV)",
                    self.lines_read
                ),
            });
        }
        Ok(Some(Line {
            number: self.lines_read,
            bytes,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (line, rendered fields or `!raw` for an unclosed line) for each record.
    fn read(text: &[u8], width: Option<usize>) -> Result<Vec<(u64, String)>> {
        let path = Path::new("test.csv");
        let mut records = Records::new(text, path);
        if let Some(w) = width {
            records.set_width(w);
        }
        let mut out = Vec::new();
        while let Some(parsed) = records.next_record()? {
            let rendered = match &parsed {
                Parsed::Record { fields, .. } => fields
                    .clone()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect::<Vec<_>>()
                    .join("|"),
                Parsed::Unclosed { raw, .. } => format!("!{}", String::from_utf8_lossy(raw)),
            };
            out.push((parsed.line(), rendered));
        }
        Ok(out)
    }

    fn lines(records: &[(u64, String)]) -> Vec<u64> {
        records.iter().map(|(l, _)| *l).collect()
    }

    #[test]
    fn blank_lines_are_skipped_and_still_counted() {
        let got = read(b"h;i\n\na;b\n  \n\t\nc;d\n\n\n", Some(2)).unwrap();
        assert_eq!(
            got,
            [(1, "h|i".into()), (3, "a|b".into()), (6, "c|d".into())]
        );
    }

    #[test]
    fn crlf_and_lf_give_the_same_line_numbers() {
        let lf = read(b"h;i\na;b\n\nc;d\n", Some(2)).unwrap();
        let crlf = read(b"h;i\r\na;b\r\n\r\nc;d\r\n", Some(2)).unwrap();
        assert_eq!(lf, crlf);
        assert_eq!(lines(&crlf), [1, 2, 4]);
    }

    #[test]
    fn a_quoted_field_spans_lines_and_the_next_record_keeps_its_line() {
        let text = b"h;i;j\na;\"one; two\n\n\"\"three\"\"\";x\nb;c;d\n";
        let got = read(text, Some(3)).unwrap();
        assert_eq!(
            got,
            [
                (1, "h|i|j".into()),
                (2, "a|one; two\n\n\"three\"|x".into()),
                (5, "b|c|d".into())
            ]
        );
    }

    #[test]
    fn a_quote_that_never_closes_swallows_nothing() {
        let got = read(b"h;i;j\na;\"open;x\nb;c;d\ne;f;g\n", Some(3)).unwrap();
        assert_eq!(
            got,
            [
                (1, "h|i|j".into()),
                (2, "!a;\"open;x".into()),
                (3, "b|c|d".into()),
                (4, "e|f|g".into())
            ]
        );
    }

    #[test]
    fn a_quote_closed_by_a_later_stray_quote_swallows_nothing() {
        // Lines 2 and 5 each hold one stray quote in the same column: read
        // as one quoted field they would make a record of the right width.
        let text = b"h;i;j\na;\"open;x\nb;c;d\ne;f;g\nk;shut\";y\nl;m;n\n";
        let got = read(text, Some(3)).unwrap();
        assert_eq!(lines(&got), [1, 2, 3, 4, 5, 6]);
        assert!(got[1].1.starts_with('!'), "{got:?}");
        assert_eq!(got[2].1, "b|c|d");
        assert_eq!(got[4].1, "k|shut\"|y");
    }

    #[test]
    fn a_quoted_field_of_the_wrong_width_is_read_again_line_by_line() {
        let got = read(b"h;i\n\"one\ntwo\";x;y\na;b\n", Some(2)).unwrap();
        assert_eq!(lines(&got), [1, 2, 3, 4]);
        assert_eq!(got[1].1, "!\"one");
        assert_eq!(got[2].1, "two\"|x|y");
        assert_eq!(got[3].1, "a|b");
    }

    #[test]
    fn a_quoted_field_longer_than_max_record_lines_is_a_runaway() {
        let text = |free_lines: usize| {
            let mut text = b"h;i\na;\"open\n".to_vec();
            text.extend(b"free text\n".repeat(free_lines));
            text.extend_from_slice(b"end\"\n");
            text
        };
        let short = MAX_RECORD_LINES - 2;
        let got = read(&text(short), Some(2)).unwrap();
        assert_eq!(lines(&got), [1, 2]);
        let long = MAX_RECORD_LINES + 5;
        let got = read(&text(long), Some(2)).unwrap();
        assert_eq!(got[1], (2, "!a;\"open".into()));
        assert_eq!(got.len(), long + 3);
        assert_eq!(got.last().unwrap().0, long as u64 + 3);
    }

    #[test]
    fn bare_delimiters_are_a_record_of_empty_fields() {
        let got = read(b"h;i;j\n;;\n", Some(3)).unwrap();
        assert_eq!(got[1], (2, "||".into()));
    }

    #[test]
    fn a_lone_or_doubled_cr_refuses_the_file_naming_the_line() {
        for text in [&b"h;i\r\na;b\r\r\nc;d\r\n"[..], b"h;i\na;b\rc;d\n"] {
            let err = read(text, Some(2)).unwrap_err().to_string();
            assert!(err.contains("test.csv") && err.contains("line 2"), "{err}");
        }
        // Old Mac files: one line of lone CRs.
        let err = read(b"h;i\ra;b\r", Some(2)).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    /// Found by `tests/fuzz.rs`: a byte-order mark past the file's first
    /// bytes (a second one, or files joined with `cat`) is data. A line of a
    /// BOM alone no longer vanishes into the next line.
    #[test]
    fn a_byte_order_mark_inside_the_file_is_data() {
        let got = read(b"h;i\n\xEF\xBB\xBF\na;b\n\xEF\xBB\xBFc;d\n", Some(2)).unwrap();
        assert_eq!(
            got,
            [
                (1, "h|i".into()),
                (2, "\u{FEFF}".into()),
                (3, "a|b".into()),
                (4, "\u{FEFF}c|d".into())
            ]
        );
    }

    #[test]
    fn a_final_cr_cut_from_its_lf_is_a_line_end() {
        let got = read(b"h;i\r\na;b\r", Some(2)).unwrap();
        assert_eq!(got, [(1, "h|i".into()), (2, "a|b".into())]);
    }

    #[test]
    fn long_records_grow_the_buffers() {
        let field = "x".repeat(10_000);
        let text = format!(
            "h{}\n{}\n",
            ";h".repeat(99),
            [field.as_str(); 100].join(";")
        );
        let got = read(text.as_bytes(), Some(100)).unwrap();
        assert_eq!(got[1].1.len(), 100 * 10_000 + 99);
    }
}
