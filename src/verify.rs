//! `ouistat verify`: re-checks deliveries against their manifests file by
//! file, as `sha256sum -c` does. Each file is `OK`, `FAILED` (with the
//! reason), `missing`, or `extra` (present but not in the manifest). A
//! run's output is checked delivery by delivery, every one of them, even
//! after a failure.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::deliver::{schema_of, Manifest, ManifestFile};
use crate::error::{Error, Result};

/// What became of one file of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    /// Present but different: the reason.
    Failed(String),
    /// Listed in the manifest, absent from the folder.
    Missing,
    /// In the folder, not listed in the manifest.
    Extra,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Ok => f.write_str("OK"),
            Status::Failed(why) => write!(f, "FAILED ({why})"),
            Status::Missing => f.write_str("missing"),
            Status::Extra => f.write_str("extra (not listed in manifest.json)"),
        }
    }
}

/// One delivery, checked.
#[derive(Debug, Clone)]
pub(crate) struct DeliveryCheck {
    pub manifest: Manifest,
    /// Every file of the manifest and every file beside it, by name
    /// relative to `dir`.
    pub files: Vec<(String, Status)>,
}

impl DeliveryCheck {
    /// The files that are not `OK`.
    pub(crate) fn failures(&self) -> impl Iterator<Item = &(String, Status)> {
        self.files.iter().filter(|(_, s)| *s != Status::Ok)
    }
}

/// The deliveries under `path`: `path` itself when it holds a
/// `manifest.json`, else each folder of `path/livraisons/` (a run's output).
///
/// # Errors
/// `Verify` saying plainly that `path` is neither.
pub(crate) fn deliveries(path: &Path) -> Result<Vec<PathBuf>> {
    if path.join("manifest.json").is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let root = path.join("livraisons");
    let Ok(entries) = std::fs::read_dir(&root) else {
        return Err(Error::Verify(format!(
            "{} has no manifest.json, so it is not a delivery, and no livraisons/ folder, so it \
             is not a run's output either: give a delivery (OUT/livraisons/<nom>) or an output (OUT)",
            path.display()
        )));
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(Error::Verify(format!(
            "{} holds no delivery (the run had no recipient, or delivered nothing)",
            root.display()
        )));
    }
    Ok(dirs)
}

/// Checks one delivery against its manifest: each file's SHA-256, and the
/// row count and schema of each Parquet file; then lists the files that
/// the manifest does not.
///
/// # Errors
/// `Verify` when the folder has no readable manifest, or when the manifest
/// names a file outside the delivery (refused before anything is opened).
pub(crate) fn check_delivery(dir: &Path) -> Result<DeliveryCheck> {
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        Error::Verify(format!(
            "{}: no readable manifest.json ({e}): this folder is not a delivery",
            dir.display()
        ))
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| Error::Verify(format!("{}: not a manifest: {e}", manifest_path.display())))?;
    for f in &manifest.fichiers {
        let inside = Path::new(&f.nom)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if !inside || f.nom.is_empty() {
            return Err(Error::Verify(format!(
                "{}: names `{}`, which is not a file of the delivery",
                manifest_path.display(),
                f.nom
            )));
        }
    }
    let mut files: Vec<(String, Status)> = manifest
        .fichiers
        .iter()
        .map(|f| (f.nom.clone(), check_file(dir, f)))
        .collect();
    for name in files_under(dir)? {
        if name != "manifest.json" && !manifest.fichiers.iter().any(|f| f.nom == name) {
            files.push((name, Status::Extra));
        }
    }
    Ok(DeliveryCheck { manifest, files })
}

/// One file against its manifest entry.
fn check_file(dir: &Path, f: &ManifestFile) -> Status {
    let path = dir.join(&f.nom);
    if std::fs::symlink_metadata(&path).is_err() {
        return Status::Missing;
    }
    match crate::digest::sha256_file(&path) {
        Err(e) => return Status::Failed(format!("unreadable: {e}")),
        Ok(sha) if sha != f.sha256 => {
            return Status::Failed("SHA-256 differs from the manifest".into())
        }
        Ok(_) => {}
    }
    let (Some(rows), Some(schema)) = (f.lignes, &f.schema) else {
        return Status::Ok;
    };
    let reader = std::fs::File::open(&path)
        .map_err(|e| e.to_string())
        .and_then(|file| {
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| e.to_string())
        });
    match reader {
        Err(e) => Status::Failed(format!("not readable Parquet: {e}")),
        Ok(r) if r.metadata().file_metadata().num_rows() as u64 != rows => Status::Failed(format!(
            "{} rows, manifest says {rows}",
            r.metadata().file_metadata().num_rows()
        )),
        Ok(r) if &schema_of(r.schema()) != schema => {
            Status::Failed("schema differs from the manifest".into())
        }
        Ok(_) => Status::Ok,
    }
}

/// Every file under `dir`, by path relative to it (`agregats/pic.parquet`).
fn files_under(dir: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, prefix)) = pending.pop() {
        for e in std::fs::read_dir(&folder).map_err(Error::io(&folder))? {
            let e = e.map_err(Error::io(&folder))?;
            let name = format!("{prefix}{}", e.file_name().to_string_lossy());
            if e.path().is_dir() {
                pending.push((e.path(), format!("{name}/")));
            } else {
                found.push(name);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Checks every delivery under `path` ([`deliveries`]), writing one line
/// per file (`<path>: OK`) and one per delivery to `w`.
///
/// # Errors
/// `Verify` naming every file that is not `OK` and every delivery that
/// could not be checked, after all of them were.
///
/// ```no_run
/// ouistat::testing::verify::verify(std::path::Path::new("sortie"), &mut std::io::stdout())?;
/// # Ok::<(), ouistat::Error>(())
/// ```
pub fn verify(path: &Path, w: &mut impl Write) -> Result<()> {
    let mut problems = Vec::new();
    let mut checked = 0;
    for dir in deliveries(path)? {
        let check = match check_delivery(&dir) {
            Ok(c) => c,
            Err(e) => {
                writeln!(w, "{}: FAILED ({e})", dir.display()).map_err(stdout_error)?;
                problems.push(e.to_string());
                continue;
            }
        };
        for (name, status) in &check.files {
            checked += 1;
            writeln!(w, "{}: {status}", dir.join(name).display()).map_err(stdout_error)?;
        }
        let failed: Vec<String> = check
            .failures()
            .map(|(name, status)| format!("{} {status}", dir.join(name).display()))
            .collect();
        let m = &check.manifest;
        writeln!(
            w,
            "{}: {} of {} files match manifest.json (recipient {}, policy {}, cut-off {})",
            dir.display(),
            check.files.len() - failed.len(),
            check.files.len(),
            m.destinataire,
            m.politique_version,
            m.date_arrete
        )
        .map_err(stdout_error)?;
        problems.extend(failed);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Verify(format!(
            "{} problem(s) among {checked} files: {}",
            problems.len(),
            problems.join("; ")
        )))
    }
}

fn stdout_error(e: std::io::Error) -> Error {
    Error::io("standard output")(e)
}
