//! The history of the indicators: every run keeps its cubes under
//! `OUT/historique/<cube>/date_arrete=<cut-off>/<cube>.parquet`, a Hive-style
//! dataset per cube that DuckDB (`hive_partitioning = true`), Polars
//! (`scan_parquet(..., hive_partitioning=True)`) and pyarrow
//! (`dataset(..., partitioning="hive")`) read with the cut-off as a column.
//!
//! What always holds:
//! - the history is internal like `indicateurs/` (owner-only folders, never
//!   delivered) and carried over from run to run by the atomic swap;
//! - a run adds the partition of its own cut-off, or replaces it when an
//!   earlier run had the same cut-off; other partitions keep their bytes.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::output::create_private_dir;

/// The history's folder under `OUT`.
pub(crate) const DIR: &str = "historique";

/// The partition folder of one cube at one cut-off (`YYYY-MM-DD`).
pub(crate) fn partition(out: &Path, cube: &str, date_arrete: &str) -> PathBuf {
    out.join(DIR)
        .join(cube)
        .join(format!("date_arrete={date_arrete}"))
}

/// Copies each indicator file `indicateurs/<cube>.parquet` of the output
/// being built in `out` into its partition at `date_arrete`, replacing
/// that partition if it exists.
///
/// # Errors
/// `Io` naming the file or folder that could not be written.
pub(crate) fn keep(out: &Path, cubes: &[&str], date_arrete: &str) -> Result<()> {
    create_private_dir(&out.join(DIR))?;
    for cube in cubes {
        let dir = partition(out, cube, date_arrete);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(Error::io(&dir))?;
        }
        create_private_dir(&dir)?;
        let from = out.join("indicateurs").join(format!("{cube}.parquet"));
        let to = dir.join(format!("{cube}.parquet"));
        std::fs::copy(&from, &to).map_err(Error::io(&to))?;
    }
    Ok(())
}

/// The cubes the history of `out` holds, each with the glob of its
/// partitions' files (for `read_parquet(..., hive_partitioning = true)`),
/// sorted by name.
pub(crate) fn datasets(out: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(out.join(DIR)) else {
        return Vec::new();
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            Some((name, e.path().join("date_arrete=*").join("*.parquet")))
        })
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_off_replaces_its_own_partition_only() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        std::fs::create_dir_all(out.join("indicateurs")).unwrap();
        let write = |text: &str| {
            std::fs::write(out.join("indicateurs/entonnoir.parquet"), text).unwrap();
        };
        write("juin");
        keep(out, &["entonnoir"], "2026-06-30").unwrap();
        write("octobre");
        keep(out, &["entonnoir"], "2026-10-31").unwrap();
        write("octobre, corrigé");
        keep(out, &["entonnoir"], "2026-10-31").unwrap();
        let read = |d: &str| {
            std::fs::read_to_string(partition(out, "entonnoir", d).join("entonnoir.parquet"))
                .unwrap()
        };
        assert_eq!(read("2026-06-30"), "juin");
        assert_eq!(read("2026-10-31"), "octobre, corrigé");
        assert_eq!(
            datasets(out),
            [(
                "entonnoir".to_string(),
                out.join("historique/entonnoir/date_arrete=*/*.parquet")
            )]
        );
    }
}
