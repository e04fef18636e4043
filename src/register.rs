//! The release register: what each recipient of cleared aggregates
//! received, release after release, so that the next run treats it as
//! published (SPEC §5: secrecy holds against everything a recipient holds).
//!
//! What always holds:
//! - the register lives in `OUT/registre/`, readable by its owner only,
//!   carried over by every run into the next output, never delivered;
//! - `registre.json` lists the releases, one per recipient and cut-off, in a
//!   fixed order; `effectifs/<recipient>/date_arrete=<cut-off>.parquet`
//!   holds every count of one release with its true value and its flag
//!   (`A`, `D`, or null when published), so identical inputs and register
//!   give identical bytes;
//! - a register written for another plan, recipient or perimeter is refused,
//!   never silently ignored.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::secrecy::{Key, Released, ReleasedCount, KEY_COLUMNS};

/// The register's folder under `OUT`.
pub const DIR: &str = "registre";

const INDEX: &str = "registre.json";

/// One release of aggregates to one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub destinataire: String,
    pub classe: String,
    pub region: Option<String>,
    /// The cut-off of the release (`YYYY-MM-DD`).
    pub date_arrete: String,
    pub plan_version: String,
    pub plan_sha256: String,
    /// The regions the extracts covered (INSEE codes, sorted).
    pub perimetre: Vec<String>,
    /// The counts file, relative to the register's folder.
    pub fichier: String,
    pub sha256: String,
    /// Counts released, and among them published (not suppressed).
    pub effectifs: usize,
    pub publies: usize,
}

/// The register, as read from `OUT/registre/` (empty when there is none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Register {
    pub diffusions: Vec<Entry>,
    #[serde(skip)]
    dir: PathBuf,
}

/// Who a release is for, as the register checks it.
#[derive(Debug, Clone)]
pub struct Recipient<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub region: Option<&'a str>,
    pub plan_version: &'a str,
    pub plan_sha256: &'a str,
}

impl Register {
    /// Reads the register of the output being built in `out`.
    ///
    /// # Errors
    /// `Config` naming `registre.json` when it cannot be parsed.
    pub fn open(out: &Path) -> Result<Register> {
        let dir = out.join(DIR);
        let path = dir.join(INDEX);
        let mut register = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str::<Register>(&text).map_err(|e| {
                Error::Config(format!(
                    "{}: not a release register ({e}); move it aside to start a new one",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Register::default(),
            Err(e) => return Err(Error::io(&path)(e)),
        };
        register.dir = dir;
        Ok(register)
    }

    /// Refuses a recipient whose earlier releases were made under another
    /// plan, class or region: the counts it holds would not be the ones
    /// this run protects against.
    ///
    /// # Errors
    /// `Config` naming the recipient, the difference and what to do.
    pub fn check(&self, r: &Recipient) -> Result<()> {
        let Some(last) = self.diffusions.iter().rfind(|e| e.destinataire == r.name) else {
            return Ok(());
        };
        let differs = if last.plan_sha256 != r.plan_sha256 {
            Some(format!(
                "publication plan {} (SHA-256 {}…), now {} ({}…)",
                last.plan_version,
                &last.plan_sha256[..12.min(last.plan_sha256.len())],
                r.plan_version,
                &r.plan_sha256[..12.min(r.plan_sha256.len())]
            ))
        } else if last.classe != r.class || last.region.as_deref() != r.region {
            Some(format!(
                "class {} region {}, now class {} region {}",
                last.classe,
                last.region.as_deref().unwrap_or("-"),
                r.class,
                r.region.unwrap_or("-")
            ))
        } else {
            None
        };
        match differs {
            None => Ok(()),
            Some(what) => Err(Error::Config(format!(
                "the release register {} holds releases to `{}` at cut-off {} under {what}: \
                 secrecy cannot take them into account. Keep the recipient's plan, or give it \
                 a new name, or move {} aside to start a new register deliberately",
                self.dir.display(),
                r.name,
                last.date_arrete,
                self.dir.display()
            ))),
        }
    }

    /// Refuses a register written from extracts of another perimeter.
    ///
    /// # Errors
    /// `Config` naming both perimeters.
    pub fn check_perimeter(&self, perimeter: &[String]) -> Result<()> {
        match self.diffusions.iter().find(|e| e.perimetre != perimeter) {
            None => Ok(()),
            Some(e) => Err(Error::Config(format!(
                "the release register {} was written from extracts of regions {} (release to `{}` \
                 at {}), and these extracts cover regions {}: use another --out for another \
                 perimeter, or move the register aside to start a new one",
                self.dir.display(),
                e.perimetre.join(", "),
                e.destinataire,
                e.date_arrete,
                perimeter.join(", ")
            ))),
        }
    }

    /// Every count of every earlier release, for every recipient, with its
    /// true value and whether it was published.
    ///
    /// # Errors
    /// `Config` when a counts file is missing or altered (its SHA-256).
    pub fn earlier(&self) -> Result<Vec<Released>> {
        let mut out = Vec::new();
        for e in &self.diffusions {
            out.extend(self.counts(e)?);
        }
        Ok(out)
    }

    /// The last release to `recipient` before the cut-off `before`
    /// (`YYYY-MM-DD`), with every count it held: what that recipient was
    /// given at its previous meeting.
    ///
    /// # Errors
    /// As [`Register::earlier`].
    pub fn previous(
        &self,
        recipient: &str,
        before: &str,
    ) -> Result<Option<(Entry, Vec<Released>)>> {
        let Some(e) = self
            .diffusions
            .iter()
            .filter(|e| e.destinataire == recipient && e.date_arrete.as_str() < before)
            .max_by(|a, b| a.date_arrete.cmp(&b.date_arrete))
        else {
            return Ok(None);
        };
        Ok(Some((e.clone(), self.counts(e)?)))
    }

    /// The counts of one release, checked against their SHA-256.
    fn counts(&self, e: &Entry) -> Result<Vec<Released>> {
        let path = self.dir.join(&e.fichier);
        let sha = crate::digest::sha256_file(&path).map_err(|_| self.damaged(&path))?;
        if sha != e.sha256 {
            return Err(self.damaged(&path));
        }
        Ok(read_counts(&path)?
            .into_iter()
            .map(|c| Released {
                recipient: e.destinataire.clone(),
                date_arrete: e.date_arrete.clone(),
                variable: c.variable,
                key: c.key,
                value: c.value,
                published: c.flag.is_none(),
            })
            .collect())
    }

    fn damaged(&self, path: &Path) -> Error {
        Error::Config(format!(
            "{}: missing or altered counts of the release register (its SHA-256 no longer \
             matches registre.json)",
            path.display()
        ))
    }

    /// Records a release (replacing one to the same recipient at the same
    /// cut-off) and writes the register.
    ///
    /// # Errors
    /// `Io` or `Output` naming the file that could not be written.
    pub fn record(
        &mut self,
        r: &Recipient,
        date_arrete: &str,
        perimeter: &[String],
        counts: &[ReleasedCount],
    ) -> Result<()> {
        let fichier = format!("effectifs/{}/date_arrete={date_arrete}.parquet", r.name);
        let path = self.dir.join(&fichier);
        let parent = path.parent().unwrap_or(&self.dir).to_path_buf();
        crate::output::create_private_dir(&parent)?;
        crate::output::write_parquet(&path, &counts_batch(counts)?)?;
        let entry = Entry {
            destinataire: r.name.to_string(),
            classe: r.class.to_string(),
            region: r.region.map(str::to_string),
            date_arrete: date_arrete.to_string(),
            plan_version: r.plan_version.to_string(),
            plan_sha256: r.plan_sha256.to_string(),
            perimetre: perimeter.to_vec(),
            fichier,
            sha256: crate::digest::sha256_file(&path)?,
            effectifs: counts.len(),
            publies: counts.iter().filter(|c| c.flag.is_none()).count(),
        };
        self.diffusions
            .retain(|e| !(e.destinataire == entry.destinataire && e.date_arrete == date_arrete));
        self.diffusions.push(entry);
        self.diffusions.sort_by(|a, b| {
            (&a.date_arrete, &a.destinataire).cmp(&(&b.date_arrete, &b.destinataire))
        });
        let json =
            serde_json::to_string_pretty(self).map_err(|e| Error::Internal(e.to_string()))?;
        let index = self.dir.join(INDEX);
        std::fs::write(&index, json).map_err(Error::io(&index))
    }
}

/// Reads one key column's value off a key.
type KeyPart<'a> = &'a dyn Fn(&Key) -> Option<String>;

fn counts_batch(counts: &[ReleasedCount]) -> Result<RecordBatch> {
    let text = |f: &dyn Fn(&ReleasedCount) -> Option<String>| -> ArrayRef {
        Arc::new(counts.iter().map(f).collect::<StringArray>())
    };
    let mut fields = vec![Field::new("effectif", DataType::Utf8, false)];
    let mut columns = vec![text(&|c| Some(c.variable.clone()))];
    let parts: [KeyPart; 7] = [
        &|k| Some(k.periode.clone()),
        &|k| Some(k.type_periode.clone()),
        &|k| Some(k.niveau_geo.clone()),
        &|k| k.code_geo.clone(),
        &|k| Some(k.dimension.clone()),
        &|k| Some(k.modalite.clone()),
        &|k| Some(k.motif.clone()),
    ];
    for (name, part) in KEY_COLUMNS.iter().zip(parts) {
        fields.push(Field::new(*name, DataType::Utf8, true));
        columns.push(text(&|c| part(&c.key)));
    }
    fields.push(Field::new("valeur", DataType::Int64, false));
    columns.push(Arc::new(
        counts.iter().map(|c| c.value).collect::<Int64Array>(),
    ));
    fields.push(Field::new("secret", DataType::Utf8, true));
    columns.push(text(&|c| c.flag.clone()));
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

fn read_counts(path: &Path) -> Result<Vec<ReleasedCount>> {
    let mut out = Vec::new();
    for batch in crate::output::read_parquet(path)? {
        let col = |name: &str| -> Result<StringArray> {
            let c = batch
                .column_by_name(name)
                .ok_or_else(|| Error::Config(format!("{}: no column {name}", path.display())))?;
            Ok(arrow::compute::cast(c, &DataType::Utf8)?
                .as_string::<i32>()
                .clone())
        };
        let variable = col("effectif")?;
        let keys: Vec<StringArray> = KEY_COLUMNS.iter().map(|k| col(k)).collect::<Result<_>>()?;
        let values = batch
            .column_by_name("valeur")
            .ok_or_else(|| Error::Config(format!("{}: no column valeur", path.display())))?;
        let values = arrow::compute::cast(values, &DataType::Int64)?;
        let values = values.as_primitive::<Int64Type>();
        let flags = col("secret")?;
        for row in 0..batch.num_rows() {
            let text = |a: &StringArray| a.is_valid(row).then(|| a.value(row).to_string());
            out.push(ReleasedCount {
                variable: variable.value(row).to_string(),
                key: Key {
                    periode: text(&keys[0]).unwrap_or_default(),
                    type_periode: text(&keys[1]).unwrap_or_default(),
                    niveau_geo: text(&keys[2]).unwrap_or_default(),
                    code_geo: text(&keys[3]),
                    dimension: text(&keys[4]).unwrap_or_default(),
                    modalite: text(&keys[5]).unwrap_or_default(),
                    motif: text(&keys[6]).unwrap_or_default(),
                },
                value: values.value(row),
                flag: text(&flags),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(value: i64, flag: Option<&str>) -> ReleasedCount {
        ReleasedCount {
            variable: "nb_entrees".into(),
            key: Key {
                periode: "2026-T2".into(),
                type_periode: "quadrimestre".into(),
                niveau_geo: "region".into(),
                code_geo: Some("32".into()),
                dimension: "ensemble".into(),
                modalite: "ensemble".into(),
                motif: "ensemble".into(),
            },
            value,
            flag: flag.map(str::to_string),
        }
    }

    fn recipient(plan_sha256: &str) -> Recipient<'_> {
        Recipient {
            name: "comite",
            class: "comite",
            region: Some("32"),
            plan_version: "1",
            plan_sha256,
        }
    }

    #[test]
    fn a_release_is_read_back_and_a_changed_plan_or_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = Register::open(dir.path()).unwrap();
        crate::output::create_private_dir(&dir.path().join(DIR)).unwrap();
        let perimeter = vec!["32".to_string()];
        reg.record(
            &recipient("aaaa"),
            "2026-06-30",
            &perimeter,
            &[count(45, None), count(4, Some("A"))],
        )
        .unwrap();
        let again = Register::open(dir.path()).unwrap();
        assert_eq!(again.diffusions, reg.diffusions);
        let earlier = again.earlier().unwrap();
        let read: Vec<(i64, bool)> = earlier.iter().map(|e| (e.value, e.published)).collect();
        assert_eq!(read, [(45, true), (4, false)]);
        assert_eq!(earlier[0].date_arrete, "2026-06-30");
        assert!(again.check(&recipient("aaaa")).is_ok());
        let e = again.check(&recipient("bbbb")).unwrap_err().to_string();
        assert!(e.contains("comite") && e.contains("plan"), "{e}");
        assert!(again.check_perimeter(&["11".to_string()]).is_err());
        let file = dir.path().join(DIR).join(&again.diffusions[0].fichier);
        std::fs::write(&file, b"altered").unwrap();
        assert!(again.earlier().is_err());
    }
}
