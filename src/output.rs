//! A run's output folder: who may own it, how a new one is built beside it
//! and swapped in, and what a new run carries over from the previous one.
//!
//! What always holds:
//! - ouistat writes only into an `OUT` that is missing, empty or marked as
//!   its own ([`MARKER`]); anything else is refused before any work, and so
//!   is an `OUT` that is, holds or lies inside one of the run's inputs;
//! - `OUT` holds one whole run: the new output is built beside it
//!   (`.OUT.en-cours-<pid>`) and swapped in when complete;
//! - what the previous run kept for later runs (reports rendered from it,
//!   the release register) is carried into the new output, never dropped.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};

/// The file that marks a folder as a ouistat output. A run writes it first,
/// so that a killed first run can be rerun into the same folder.
pub(crate) const MARKER: &str = ".ouistat-sortie";

/// The reports folder: rendered by `ouistat report` after a run, kept by
/// the next run under `rapport/arrete-<previous cut-off>/`.
pub(crate) const REPORTS: &str = "rapport";

/// The entries a run writes at the top of `OUT`: a marked output holding
/// anything else is refused, as that file would be lost.
const WRITTEN: &[&str] = &[
    MARKER,
    "run.json",
    "indicateurs",
    "quarantaine",
    "livraisons",
    "secret",
    "registre",
    "historique",
    REPORTS,
    ".ouistat",
];

/// Checks that a run may write `out` (exit code 2 otherwise), before any
/// work: `out` must be missing, an empty folder or an earlier ouistat
/// output, and must neither be, hold nor lie inside any of `inputs` (the
/// extracts, recipients file, keys, plans, policy).
///
/// # Errors
/// `Config` naming the folder and what is in it, or the input it would
/// overwrite.
pub(crate) fn check_ownership(out: &Path, inputs: &[(&str, &Path)]) -> Result<()> {
    let out_abs = absolute(out)?;
    for (what, input) in inputs {
        let input_abs = absolute(input)?;
        if out_abs == input_abs || input_abs.starts_with(&out_abs) {
            return Err(Error::Config(format!(
                "--out {} holds {what} {}: a run replaces its output folder as a whole, \
                 so choose a folder of its own (e.g. {})",
                out.display(),
                input.display(),
                out_abs.with_file_name("sortie").display()
            )));
        }
        if out_abs.starts_with(&input_abs) {
            return Err(Error::Config(format!(
                "--out {} lies inside {what} {}: choose a folder outside it",
                out.display(),
                input.display()
            )));
        }
    }
    if out.is_file() {
        return Err(Error::Config(format!(
            "--out {} is a file, not a folder",
            out.display()
        )));
    }
    if !out.is_dir() {
        return Ok(());
    }
    let ours = is_ouistat_output(out);
    let mut entries: Vec<String> = std::fs::read_dir(out)
        .map_err(Error::io(out))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !(ours && WRITTEN.contains(&name.as_str())))
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    entries.sort();
    if ours {
        return Err(Error::Config(format!(
            "--out {} is a ouistat output that also holds {}, which ouistat did not write: \
             a run replaces its output folder as a whole, so move them out first",
            out.display(),
            entries.join(", ")
        )));
    }
    let shown = entries.len().min(5);
    let more = if entries.len() > shown {
        format!(" and {} more", entries.len() - shown)
    } else {
        String::new()
    };
    Err(Error::Config(format!(
        "--out {} is not empty and is not a ouistat output (it holds {}{more}): \
         a run replaces its output folder as a whole, so give it a new or empty folder",
        out.display(),
        entries[..shown].join(", ")
    )))
}

/// Whether `dir` is marked as an earlier ouistat output: by [`MARKER`], or,
/// for outputs written before the marker existed, by a `run.json` that
/// ouistat wrote.
fn is_ouistat_output(dir: &Path) -> bool {
    if dir.join(MARKER).is_file() {
        return true;
    }
    std::fs::read_to_string(dir.join("run.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .is_some_and(|v| v.get("logiciel").and_then(|l| l.as_str()) == Some("ouistat"))
}

/// The output `start` is in, as git finds its repository: `start` or its
/// nearest ancestor that is a ouistat output, or that holds one as
/// `sortie/` (the demo's layout).
///
/// # Errors
/// `Config` when there is none, saying to pass `--out`.
pub(crate) fn find_output(start: &Path) -> Result<PathBuf> {
    for dir in start.ancestors() {
        for candidate in [dir.to_path_buf(), dir.join("sortie")] {
            if is_ouistat_output(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(Error::Config(format!(
        "no ouistat output in {} or its parents: pass --out OUT (the folder of a run)",
        start.display()
    )))
}

/// `path` made absolute and normalised without touching the file system
/// beyond the current directory and the symbolic links of its existing
/// ancestors.
fn absolute(path: &Path) -> Result<PathBuf> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_err(Error::io(path))?.join(path)
    };
    // Resolve the longest existing ancestor (symbolic links included), then
    // append the rest with `.` and `..` folded.
    let mut existing = joined.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut out = existing.canonicalize().unwrap_or(existing);
    for name in rest.into_iter().rev() {
        for c in Path::new(&name).components() {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                other => out.push(other.as_os_str()),
            }
        }
    }
    Ok(out)
}

/// A run's output while it is built: a hidden sibling of `OUT`
/// (`.OUT.en-cours-<pid>`), swapped in once complete, so that `OUT` holds
/// the previous complete output or the new one, and `run.json` describes
/// exactly the files beside it. Removed if the run fails, panics or is
/// stopped by a signal; after a SIGKILL, by the next run into the same
/// `OUT`.
pub(crate) struct Building {
    /// Where the new output is written.
    pub path: PathBuf,
    out: PathBuf,
    done: bool,
}

impl Building {
    /// Starts a new output beside `out`, after putting back an output a
    /// killed swap left aside and removing abandoned ones. Writes [`MARKER`].
    ///
    /// # Errors
    /// `Config` when `out` names no folder; `Io` naming the path otherwise.
    pub(crate) fn start(out: &Path) -> Result<Building> {
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = out
            .file_name()
            .ok_or_else(|| Error::Config(format!("--out {} names no folder", out.display())))?
            .to_string_lossy()
            .into_owned();
        std::fs::create_dir_all(&parent).map_err(Error::io(&parent))?;
        // A run killed between the two renames of its swap left the
        // previous output as `.OUT.ancien-<pid>` and no `OUT`: it comes back.
        let previous = format!(".{name}.ancien-");
        if !out.exists() {
            if let Some(old) = crate::cleanup::abandoned(&parent, &previous)
                .into_iter()
                .next()
            {
                std::fs::rename(&old, out).map_err(Error::io(&old))?;
            }
        }
        crate::cleanup::remove_abandoned(&parent, &previous);
        let prefix = format!(".{name}.en-cours-");
        crate::cleanup::remove_abandoned(&parent, &prefix);
        let path = parent.join(format!("{prefix}{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(Error::io(&path))?;
        }
        std::fs::create_dir_all(&path).map_err(Error::io(&path))?;
        crate::cleanup::guard(&path);
        let marker = path.join(MARKER);
        std::fs::write(
            &marker,
            "Ce dossier est une sortie d'ouistat : chaque exécution le remplace en entier.\n",
        )
        .map_err(Error::io(&marker))?;
        Ok(Building {
            path,
            out: out.to_path_buf(),
            done: false,
        })
    }

    /// Copies into the new output what the previous one kept for later
    /// runs: the folders `carried` as they are (things that outlive a run,
    /// such as the release register), and the reports, moved
    /// under `rapport/arrete-<previous cut-off>/` (folders already there are
    /// kept as they are). Returns the reports kept.
    ///
    /// # Errors
    /// `Io` naming the file that could not be copied.
    pub(crate) fn carry_over(&self, carried: &[&str]) -> Result<Vec<PathBuf>> {
        for dir in carried {
            let from = self.out.join(dir);
            if from.is_dir() {
                copy_tree(&from, &self.path.join(dir))?;
            }
        }
        let from = self.out.join(REPORTS);
        let mut kept = Vec::new();
        if !from.is_dir() {
            return Ok(kept);
        }
        let to = self.path.join(REPORTS);
        copy_tree(&from, &to)?;
        let cutoff = previous_cutoff(&self.out).unwrap_or_else(|| "inconnu".into());
        let mut archive = to.join(format!("arrete-{cutoff}"));
        let mut n = 2;
        while archive.exists() {
            archive = to.join(format!("arrete-{cutoff}-{n}"));
            n += 1;
        }
        for entry in std::fs::read_dir(&to).map_err(Error::io(&to))?.flatten() {
            let path = entry.path();
            if path.is_file() {
                std::fs::create_dir_all(&archive).map_err(Error::io(&archive))?;
                let dest = archive.join(entry.file_name());
                std::fs::rename(&path, &dest).map_err(Error::io(&path))?;
                kept.push(dest);
            }
        }
        kept.sort();
        Ok(kept)
    }

    /// Swaps the built output in place of `OUT`: on Linux by one atomic
    /// exchange of the two folders, so that `OUT` is never missing; where
    /// the file system cannot exchange, by two renames (a kill between them
    /// leaves the previous output as `.OUT.ancien-<pid>`, which the next
    /// run puts back).
    ///
    /// # Errors
    /// `Io` naming the folder that could not be renamed or removed.
    pub(crate) fn finish(mut self) -> Result<()> {
        #[cfg(target_os = "linux")]
        if self.out.exists() {
            use rustix::fs::{renameat_with, RenameFlags, CWD};
            match renameat_with(CWD, &self.path, CWD, &self.out, RenameFlags::EXCHANGE) {
                Ok(()) => {
                    // The previous output now lies at the building path,
                    // whose name the next run removes if this one is killed
                    // before it does.
                    self.done = true;
                    return std::fs::remove_dir_all(&self.path).map_err(Error::io(&self.path));
                }
                Err(e)
                    if e == rustix::io::Errno::INVAL
                        || e == rustix::io::Errno::NOSYS
                        || e == rustix::io::Errno::OPNOTSUPP => {}
                Err(e) => return Err(Error::io(&self.out)(e.into())),
            }
        }
        let old = self.path.with_file_name(format!(
            ".{}.ancien-{}",
            self.out.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ));
        if self.out.exists() {
            std::fs::rename(&self.out, &old).map_err(Error::io(&self.out))?;
        }
        std::fs::rename(&self.path, &self.out).map_err(Error::io(&self.path))?;
        self.done = true;
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(Error::io(&old))?;
        }
        Ok(())
    }
}

impl Drop for Building {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.path);
        }
        crate::cleanup::release(&self.path);
    }
}

/// The cut-off of the output in `out`, from its `run.json`.
fn previous_cutoff(out: &Path) -> Option<String> {
    let s = std::fs::read_to_string(out.join("run.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&s).ok()?;
    v.get("date_arrete")?.as_str().map(str::to_string)
}

/// Copies the folder `from` to `to`, keeping each folder's permissions.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let meta = std::fs::metadata(from).map_err(Error::io(from))?;
    std::fs::create_dir_all(to).map_err(Error::io(to))?;
    std::fs::set_permissions(to, meta.permissions()).map_err(Error::io(to))?;
    for entry in std::fs::read_dir(from).map_err(Error::io(from))?.flatten() {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(Error::io(&src))?;
        }
    }
    Ok(())
}

/// A zstd Parquet file being written batch by batch.
pub(crate) struct ParquetFile {
    writer: ArrowWriter<std::io::BufWriter<std::fs::File>>,
    path: PathBuf,
}

impl ParquetFile {
    /// Creates the file.
    ///
    /// # Errors
    /// `Io` or `Output` naming the file.
    pub(crate) fn create(path: &Path, schema: Arc<Schema>) -> Result<Self> {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_created_by(format!("ouistat {}", env!("CARGO_PKG_VERSION")))
            .build();
        let file = std::fs::File::create(path).map_err(Error::io(path))?;
        Ok(ParquetFile {
            writer: ArrowWriter::try_new(std::io::BufWriter::new(file), schema, Some(props))
                .map_err(Error::output(path))?,
            path: path.to_path_buf(),
        })
    }

    /// Appends a batch.
    ///
    /// # Errors
    /// `Output` naming the file.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write(batch).map_err(Error::output(&self.path))
    }

    /// Writes the footer.
    ///
    /// # Errors
    /// `Output` naming the file.
    pub(crate) fn close(self) -> Result<()> {
        self.writer.close().map_err(Error::output(&self.path))?;
        Ok(())
    }
}

/// Writes one batch to a zstd Parquet file.
///
/// # Errors
/// `Io` or `Output` naming the file.
pub(crate) fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<()> {
    let mut w = ParquetFile::create(path, batch.schema())?;
    w.write(batch)?;
    w.close()
}

/// Reads every batch of a Parquet file.
///
/// # Errors
/// `Io` or `Output` naming the file.
pub(crate) fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(Error::output(path))?
        .collect::<std::result::Result<_, _>>()
        .map_err(Error::output(path))
}

/// Creates a folder only its owner can read (mode 700 on Unix): the
/// quarantine's raw rows, the unsuppressed indicators and the secrecy audit
/// must not leave the building (SPEC §6).
///
/// # Errors
/// `Io` naming the folder.
pub(crate) fn create_private_dir(path: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(Error::io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_must_not_hold_or_lie_inside_an_input() {
        let dir = tempfile::tempdir().unwrap();
        let ext = dir.path().join("extraits");
        std::fs::create_dir_all(&ext).unwrap();
        let inputs = [("the extracts", ext.as_path())];
        assert!(check_ownership(dir.path(), &inputs).is_err());
        assert!(check_ownership(&ext, &inputs).is_err());
        assert!(check_ownership(&ext.join("sortie"), &inputs).is_err());
        assert!(check_ownership(&ext.join("../x/../extraits"), &inputs).is_err());
        assert!(check_ownership(&dir.path().join("sortie"), &inputs).is_ok());
    }

    #[test]
    fn a_folder_of_someone_else_is_refused_an_empty_or_marked_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_ownership(dir.path(), &[]).is_ok());
        std::fs::write(dir.path().join("budget.xlsx"), "x").unwrap();
        let e = check_ownership(dir.path(), &[]).unwrap_err().to_string();
        assert!(e.contains("budget.xlsx"), "{e}");
        std::fs::write(dir.path().join(MARKER), "").unwrap();
        let e = check_ownership(dir.path(), &[]).unwrap_err().to_string();
        assert!(e.contains("budget.xlsx"), "{e}");
        std::fs::remove_file(dir.path().join("budget.xlsx")).unwrap();
        std::fs::create_dir(dir.path().join(REPORTS)).unwrap();
        assert!(check_ownership(dir.path(), &[]).is_ok());
    }
}
