//! Destruction of personal data on time (convention art. 5.3; issue 26):
//! what of an output is personal, when each piece was written, and the
//! certificate of what was destroyed.
//!
//! What always holds: only files holding personal data are removed — the
//! deliveries of microdata, the quarantine's raw rows, a kept staging, the
//! register's persons files and the staging leftovers of killed runs; the
//! indicators, their history, the reports, the deliveries of aggregates and
//! the register's metadata stay. Every file removed is hashed first and
//! listed in the certificate, which the register records.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::policy::Conservation;
use crate::register::Register;

/// One file destroyed, as the certificate lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Destroyed {
    /// Relative to `OUT` (absolute for a leftover outside it).
    pub chemin: String,
    pub sha256: String,
    pub octets: u64,
    /// The day the data was written (delivery, run), by which retention runs.
    pub date_donnees: String,
    /// What the file held.
    pub nature: String,
}

/// The destruction certificate (`OUT/registre/destructions/…json`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Certificate {
    pub logiciel: String,
    pub version: String,
    /// When the files were destroyed (RFC 3339, UTC).
    pub horodatage: String,
    /// The day retention was judged at.
    pub date_effet: String,
    pub regle: String,
    pub fichiers: Vec<Destroyed>,
}

/// A piece of personal data found in an output: a file or a folder, what
/// it holds, and the day it was written.
struct Piece {
    path: PathBuf,
    nature: &'static str,
    day: NaiveDate,
    /// A leftover of an interrupted run, due whatever its age.
    leftover: bool,
}

/// The pieces of personal data of the output `out`.
fn personal_pieces(out: &Path, register: &Register) -> Result<Vec<Piece>> {
    let deliveries = register.deliveries()?;
    let mut pieces = Vec::new();
    let livraisons = out.join("livraisons");
    for dir in entries(&livraisons)? {
        let name = file_name(&dir);
        let manifest = std::fs::read_to_string(dir.join("manifest.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<crate::deliver::Manifest>(&t).ok());
        let leftover = name.starts_with('.');
        // The deliveries of aggregates hold no person.
        if !leftover
            && manifest
                .as_ref()
                .is_some_and(|m| m.classe.name() == "comite")
        {
            continue;
        }
        let day = deliveries
            .iter()
            .rfind(|d| d.destinataire == name)
            .and_then(|d| NaiveDate::parse_from_str(d.day(), "%Y-%m-%d").ok())
            .map_or_else(|| modified(&dir), Ok)?;
        pieces.push(Piece {
            path: dir,
            nature: if leftover {
                "livraison inachevée"
            } else {
                "livraison de microdonnées"
            },
            day,
            leftover,
        });
    }
    for file in entries(&out.join("quarantaine"))? {
        pieces.push(Piece {
            day: modified(&file)?,
            path: file,
            nature: "lignes brutes en quarantaine",
            leftover: false,
        });
    }
    let kept = out.join(".ouistat");
    if kept.exists() {
        pieces.push(Piece {
            day: modified(&kept)?,
            path: kept,
            nature: "base de travail conservée (--keep-stage)",
            leftover: false,
        });
    }
    for d in &deliveries {
        if let Some(p) = &d.personnes {
            let path = out.join(crate::register::DIR).join(&p.fichier);
            if path.exists() {
                pieces.push(Piece {
                    path,
                    nature: "empreintes des personnes livrées (registre)",
                    day: NaiveDate::parse_from_str(d.day(), "%Y-%m-%d")
                        .map_err(|e| Error::Internal(format!("entry {}: {e}", d.numero)))?,
                    leftover: false,
                });
            }
        }
    }
    Ok(pieces)
}

/// The staging leftovers of killed runs: abandoned staging folders and
/// outputs being built; always due, whatever their age.
fn leftovers(out: &Path) -> Vec<PathBuf> {
    let mut found = crate::cleanup::abandoned(&std::env::temp_dir(), crate::stage::STAGE_PREFIX);
    if let (Some(parent), Some(name)) = (out.parent(), out.file_name()) {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        let name = name.to_string_lossy();
        for kind in ["en-cours", "ancien"] {
            found.extend(crate::cleanup::abandoned(
                parent,
                &format!(".{name}.{kind}-"),
            ));
        }
    }
    found
}

/// Destroys, in the output `out`, every piece of personal data past the
/// retention `rule` sets on `as_of`, and the staging leftovers; writes the
/// certificate and records it in the register. Returns the certificate
/// and its path (`None` when nothing was due). With `dry_run`, lists what
/// would be destroyed and touches nothing.
///
/// # Errors
/// `Config` when `out` is not a ouistat output; `Io` naming the file that
/// could not be read or removed.
pub(crate) fn purge(
    out: &Path,
    rule: &Conservation,
    as_of: NaiveDate,
    dry_run: bool,
) -> Result<(Certificate, Option<PathBuf>)> {
    if !out.join(crate::output::MARKER).is_file() {
        return Err(Error::Config(format!(
            "{} is not a ouistat output (no {})",
            out.display(),
            crate::output::MARKER
        )));
    }
    let mut register = Register::open(out)?;
    let mut due: Vec<Piece> = personal_pieces(out, &register)?
        .into_iter()
        .filter(|p| p.leftover || rule.due(p.day, as_of))
        .collect();
    for path in leftovers(out) {
        due.push(Piece {
            day: modified(&path)?,
            path,
            nature: "reste d'une exécution interrompue",
            leftover: true,
        });
    }
    let mut fichiers = Vec::new();
    for piece in &due {
        for file in files_under(&piece.path)? {
            let chemin = file
                .strip_prefix(out)
                .map_or_else(|_| file.display().to_string(), |p| p.display().to_string());
            fichiers.push(Destroyed {
                chemin,
                sha256: crate::digest::sha256_file(&file)?,
                octets: std::fs::metadata(&file).map_err(Error::io(&file))?.len(),
                date_donnees: piece.day.to_string(),
                nature: piece.nature.to_string(),
            });
        }
    }
    let certificate = Certificate {
        logiciel: "ouistat".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        horodatage: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        date_effet: as_of.to_string(),
        regle: rule.rule(),
        fichiers,
    };
    if dry_run || due.is_empty() {
        return Ok((certificate, None));
    }
    for piece in &due {
        let p = &piece.path;
        if p.is_dir() {
            std::fs::remove_dir_all(p).map_err(Error::io(p))?;
        } else {
            std::fs::remove_file(p).map_err(Error::io(p))?;
        }
    }
    let path = register.record_destruction(&certificate)?;
    Ok((certificate, Some(path)))
}

/// The folders and files directly in `dir` (none when it is missing), sorted.
fn entries(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(Error::io(dir))?
        .map(|e| e.map(|e| e.path()).map_err(Error::io(dir)))
        .collect::<Result<_>>()?;
    out.sort();
    Ok(out)
}

/// Every file under `path` (itself when it is a file), sorted.
fn files_under(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    for e in entries(path)? {
        out.extend(files_under(&e)?);
    }
    Ok(out)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The day (UTC) a file or folder was last written.
fn modified(path: &Path) -> Result<NaiveDate> {
    let time = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(Error::io(path))?;
    Ok(chrono::DateTime::<chrono::Utc>::from(time).date_naive())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn retention_runs_from_the_end_of_the_convention_or_from_the_data() {
        let end = Conservation {
            fin_convention: Some(day("2026-12-31")),
            ..Conservation::default()
        };
        assert_eq!(end.deadline(), Some(day("2027-02-28")));
        assert!(!end.due(day("2026-01-01"), day("2027-02-27")));
        assert!(end.due(day("2026-12-30"), day("2027-02-28")));
        let rolling = Conservation {
            retention_mois: Some(6),
            ..Conservation::default()
        };
        assert!(rolling.due(day("2026-01-15"), day("2026-07-15")));
        assert!(!rolling.due(day("2026-01-16"), day("2026-07-15")));
        assert!(!Conservation::default().due(day("2000-01-01"), day("2026-07-15")));
    }
}
