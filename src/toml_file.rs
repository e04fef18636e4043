//! The TOML files a user writes (recipients, policy): an error names the
//! file and the line of the value at fault, as a compiler does, and says
//! what was expected (serde lists the valid values of an enumeration).

use serde::de::DeserializeOwned;

/// The 1-based line of a byte offset of `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// `origin, line N`: where a byte offset of `text` is.
pub(crate) fn at(origin: &str, text: &str, offset: usize) -> String {
    format!("{origin}, line {}", line_of(text, offset))
}

/// Parses `text`, the content of the file `origin`.
///
/// # Errors
/// `origin, line N: what is wrong` (no line when the error is about the
/// whole file, such as a missing table).
///
/// ```
/// #[derive(serde::Deserialize, Debug)]
/// struct F { seuil: u32 }
/// let e = ouistat::testing::toml_file::parse::<F>("f.toml", "# comment\nseuil = \"onze\"\n").unwrap_err();
/// assert!(e.starts_with("f.toml, line 2: invalid type"), "{e}");
/// ```
pub fn parse<T: DeserializeOwned>(origin: &str, text: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|e| {
        let message = e.message().trim_end();
        match e.span() {
            Some(span) => format!("{}: {message}", at(origin, text, span.start)),
            None => format!("{origin}: {message}"),
        }
    })
}
