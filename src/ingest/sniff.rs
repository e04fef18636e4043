//! Encoding evidence: what the bytes of a CSV extract say about its
//! encoding, checked against the encoding the run declares.
//!
//! What always holds: a file whose bytes contradict the declared encoding
//! (a byte-order mark of another encoding, UTF-16 or UTF-32 text, UTF-8
//! text declared as Windows-1252) is refused with a sentence saying what
//! the file is and how to fix it; it is never decoded into mojibake.

use super::Encoding;

/// How many leading bytes are enough to recognise UTF-16 without a BOM.
const SAMPLE: usize = 4096;

/// The byte-order marks ouistat recognises, longest first, with the
/// encoding each one announces.
const BOMS: &[(&[u8], &str)] = &[
    (b"\xFF\xFE\x00\x00", "UTF-32LE"),
    (b"\x00\x00\xFE\xFF", "UTF-32BE"),
    (b"\xEF\xBB\xBF", "UTF-8"),
    (b"\xFF\xFE", "UTF-16LE"),
    (b"\xFE\xFF", "UTF-16BE"),
];

/// Advice for a file in a Unicode encoding ouistat does not read.
const CONVERT_TO_UTF8: &str =
    "ouistat reads UTF-8 or Windows-1252 only: convert the file to UTF-8 \
     (e.g. `iconv -f UTF-16 -t UTF-8`, or \"CSV UTF-8\" when saving from Excel)";

/// Checks the first bytes of a file against the declared encoding.
///
/// Returns the length of the byte-order mark to skip (3 for a UTF-8 BOM
/// when UTF-8 is declared, else 0), or the problem that stops the run.
pub(super) fn check_first_bytes(head: &[u8], declared: Encoding) -> Result<usize, String> {
    if let Some((bom, name)) = BOMS.iter().find(|(bom, _)| head.starts_with(bom)) {
        return match (*name, declared) {
            ("UTF-8", Encoding::Utf8) => Ok(bom.len()),
            ("UTF-8", Encoding::Windows1252) => Err(
                "starts with a UTF-8 byte-order mark, but --encoding windows-1252 was declared: \
                 the file is UTF-8; read it as UTF-8 (--encoding utf-8, the default) or save it \
                 again as Windows-1252"
                    .into(),
            ),
            (name, _) => Err(format!(
                "is {name} text (byte-order mark {}); {CONVERT_TO_UTF8}",
                hex_bytes(bom)
            )),
        };
    }
    if let Some(name) = utf16_without_bom(&head[..head.len().min(SAMPLE)]) {
        return Err(format!(
            "is {name} text without a byte-order mark (every other byte is NUL); {CONVERT_TO_UTF8}"
        ));
    }
    Ok(0)
}

/// Recognises UTF-16 text without a BOM: mostly Latin text in UTF-16 has a
/// NUL in every other byte (the high byte of each character).
fn utf16_without_bom(sample: &[u8]) -> Option<&'static str> {
    let pairs = sample.len() / 2;
    if pairs < 2 {
        return None;
    }
    let nul_at = |parity: usize| {
        sample
            .chunks_exact(2)
            .filter(|pair| pair[parity] == 0)
            .count()
    };
    // Half of the characters being ASCII is already far more NUL bytes
    // than any CSV in a single-byte encoding holds.
    if nul_at(1) * 2 >= pairs {
        Some("UTF-16LE")
    } else if nul_at(0) * 2 >= pairs {
        Some("UTF-16BE")
    } else {
        None
    }
}

fn hex_bytes(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
    parts.join(" ")
}

/// Collects the evidence, over a whole file read as Windows-1252, that it
/// is UTF-8 after all: its non-ASCII bytes all form valid UTF-8 sequences
/// (`Ã§` for `ç`), which French text in Windows-1252 never does.
#[derive(Debug, Default)]
pub(super) struct Utf8InCp1252 {
    /// The first line holding non-ASCII bytes that are valid UTF-8.
    first_utf8_line: Option<u64>,
    /// Whether some non-ASCII bytes are not valid UTF-8.
    seen_non_utf8: bool,
}

impl Utf8InCp1252 {
    /// Looks at the bytes of one field (or line) read at `line`.
    pub(super) fn observe(&mut self, line: u64, bytes: &[u8]) {
        if self.seen_non_utf8 || bytes.is_ascii() {
            return;
        }
        if std::str::from_utf8(bytes).is_ok() {
            self.first_utf8_line.get_or_insert(line);
        } else {
            self.seen_non_utf8 = true;
        }
    }

    /// The problem, once the whole file is read, when it is UTF-8.
    pub(super) fn verdict(&self) -> Option<String> {
        match (self.first_utf8_line, self.seen_non_utf8) {
            (Some(line), false) => Some(format!(
                "is UTF-8, but --encoding windows-1252 was declared: every accented character \
                 is a UTF-8 sequence (the first on line {line}) and would be read as mojibake \
                 (`Ã§` for `ç`); read it as UTF-8 (--encoding utf-8, the default)"
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|u| {
                if big_endian {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect()
    }

    #[test]
    fn a_utf8_bom_is_skipped_when_utf8_is_declared() {
        assert_eq!(
            check_first_bytes(b"\xEF\xBB\xBFa;b\n", Encoding::Utf8),
            Ok(3)
        );
        assert_eq!(check_first_bytes(b"a;b\n", Encoding::Utf8), Ok(0));
        assert_eq!(check_first_bytes(b"a;b\n", Encoding::Windows1252), Ok(0));
    }

    #[test]
    fn a_utf8_bom_contradicts_windows_1252() {
        let problem = check_first_bytes(b"\xEF\xBB\xBFa;b\n", Encoding::Windows1252).unwrap_err();
        assert!(problem.contains("UTF-8 byte-order mark"), "{problem}");
    }

    #[test]
    fn utf16_is_refused_with_or_without_bom_whatever_is_declared() {
        let header = "identifiant_spe;civilite;nom_naissance\r\n";
        for declared in [Encoding::Utf8, Encoding::Windows1252] {
            for (bytes, name) in [
                (
                    [b"\xFF\xFE".as_slice(), &utf16(header, false)].concat(),
                    "UTF-16LE",
                ),
                (
                    [b"\xFE\xFF".as_slice(), &utf16(header, true)].concat(),
                    "UTF-16BE",
                ),
                (utf16(header, false), "UTF-16LE"),
                (utf16(header, true), "UTF-16BE"),
            ] {
                let problem = check_first_bytes(&bytes, declared).unwrap_err();
                assert!(problem.contains(name), "{problem}");
                assert!(problem.contains("convert the file to UTF-8"), "{problem}");
                assert!(!problem.contains("--encoding windows-1252"), "{problem}");
            }
        }
    }

    #[test]
    fn a_few_nul_bytes_are_not_utf16() {
        assert_eq!(check_first_bytes(b"a;b\nc\0;d\n", Encoding::Utf8), Ok(0));
    }

    #[test]
    fn utf8_text_read_as_windows_1252_is_recognised_after_the_whole_file() {
        let mut e = Utf8InCp1252::default();
        e.observe(1, b"ascii");
        e.observe(2, "française".as_bytes());
        assert!(e.verdict().unwrap().contains("line 2"));
        e.observe(3, b"fran\xE7aise"); // ç in Windows-1252
        assert_eq!(e.verdict(), None);
    }
}
