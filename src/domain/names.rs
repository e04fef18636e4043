//! Names that become parts of paths: a recipient's name is a folder of
//! `livraisons/`, so it is checked here, once, before any path is built.

/// A recipient name: letters, digits, `-` or `_`, not empty.
pub(crate) fn is_recipient_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
