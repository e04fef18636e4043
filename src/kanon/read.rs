//! Collects a delivery's quasi-identifiers from the batches `deliver`
//! reads to write its files: the data is read once, and row n of the
//! measure is row n of the file.
//!
//! `deliver` appends the key columns of [`key_columns`] to its read of
//! each table (after the delivered columns, dropped before writing); the
//! collector numbers the persons in the order of `individus` and gives
//! each positioning and event its person through them.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::{Microdata, Qi, Reference, Table};
use crate::error::{Error, Result};

/// The hidden column carrying a row's `identifiant_spe`.
pub(crate) const PERSON_KEY: &str = "kanon_identifiant_spe";
/// The hidden column carrying a row's `positionnement_id`.
pub(crate) const POSITIONING_KEY: &str = "kanon_positionnement_id";

/// The key columns a table's read must append: (extract column, hidden name).
pub(crate) fn key_columns(table: Table) -> &'static [(&'static str, &'static str)] {
    match table {
        Table::Individus => &[("identifiant_spe", PERSON_KEY)],
        Table::Positionnements => &[
            ("identifiant_spe", PERSON_KEY),
            ("positionnement_id", POSITIONING_KEY),
        ],
        Table::Evenements => &[("positionnement_id", POSITIONING_KEY)],
    }
}

/// Identifiers → a value. Most identifiers are short (`000000001A`,
/// `P000000001`): up to 15 bytes they are packed, with their length, in a
/// 128-bit number, looked up without allocating or comparing strings
/// (at 2,000,000 persons, 5 million boxed strings cost seconds to hash,
/// allocate and free). Longer ones are kept as strings.
#[derive(Debug, Default)]
struct Index {
    short: HashMap<u128, Option<u32>, foldhash::fast::FixedState>,
    long: HashMap<Box<str>, Option<u32>, foldhash::fast::FixedState>,
}

/// An identifier of up to 15 bytes as a number: its bytes, then its
/// length in the last byte (so that no two identifiers share one).
fn packed(id: &str) -> Option<u128> {
    let bytes = id.as_bytes();
    if bytes.len() > 15 {
        return None;
    }
    let mut buf = [0u8; 16];
    buf[..bytes.len()].copy_from_slice(bytes);
    buf[15] = bytes.len() as u8;
    Some(u128::from_le_bytes(buf))
}

impl Index {
    fn insert(&mut self, id: &str, value: Option<u32>) {
        match packed(id) {
            Some(key) => self.short.insert(key, value),
            None => self.long.insert(id.into(), value),
        };
    }

    fn get(&self, id: &str) -> Option<Option<u32>> {
        match packed(id) {
            Some(key) => self.short.get(&key).copied(),
            None => self.long.get(id).copied(),
        }
    }
}

/// The quasi-identifiers of a delivery, gathered batch by batch, tables
/// in the order `individus`, `positionnements`, `evenements`.
#[derive(Debug)]
pub(crate) struct Collector {
    md: Microdata,
    /// `identifiant_spe` → row of the person in `individus`.
    persons: Index,
    /// `positionnement_id` → its person (`None`: not delivered).
    positionings: Index,
}

fn keys(batch: &RecordBatch, name: &str) -> Result<ArrayRef> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| Error::Internal(format!("delivery read without `{name}`")))?;
    Ok(arrow::compute::cast(col, &DataType::Utf8)?)
}

impl Collector {
    /// An empty collector for these quasi-identifiers, whose steps look
    /// values up in `reference`.
    pub(crate) fn new(qis: Vec<Qi>, reference: Reference) -> Self {
        let mut md = Microdata::new(qis);
        md.set_reference(reference);
        Collector {
            md,
            persons: Index::default(),
            positionings: Index::default(),
        }
    }

    /// Takes one batch of a table as `deliver` read it (delivered columns,
    /// then [`key_columns`]).
    ///
    /// # Errors
    /// `Internal` when a key or quasi-identifier column is missing.
    pub(crate) fn push(&mut self, table: Table, batch: &RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        let Collector {
            md,
            persons,
            positionings,
        } = self;
        let first = md.rows(Table::Individus) as u32;
        // The identifiers are looked up while the quasi-identifiers are
        // encoded (they do not depend on each other).
        let (person, encoded) = rayon::join(
            || -> Result<Option<ArrayRef>> {
                Ok(match table {
                    Table::Individus => {
                        let ids = keys(batch, PERSON_KEY)?;
                        let ids = ids.as_string::<i32>();
                        for i in 0..n {
                            if ids.is_valid(i) {
                                persons.insert(ids.value(i), Some(first + i as u32));
                            }
                        }
                        None
                    }
                    Table::Positionnements => {
                        let ids = keys(batch, PERSON_KEY)?;
                        let ids = ids.as_string::<i32>();
                        let pos = keys(batch, POSITIONING_KEY)?;
                        let pos = pos.as_string::<i32>();
                        let person: Int64Array = (0..n)
                            .map(|i| {
                                let p = ids
                                    .is_valid(i)
                                    .then(|| persons.get(ids.value(i)).flatten())
                                    .flatten();
                                if pos.is_valid(i) {
                                    positionings.insert(pos.value(i), p);
                                }
                                p.map(i64::from)
                            })
                            .collect();
                        Some(Arc::new(person))
                    }
                    Table::Evenements => {
                        let pos = keys(batch, POSITIONING_KEY)?;
                        let pos = pos.as_string::<i32>();
                        // A positioning's events come one after the other:
                        // the last one looked up is looked up again first.
                        let mut last: Option<(&str, Option<u32>)> = None;
                        let person: Int64Array = (0..n)
                            .map(|i| {
                                if pos.is_null(i) {
                                    return None;
                                }
                                let id = pos.value(i);
                                let p = match last {
                                    Some((seen, p)) if seen == id => p,
                                    _ => {
                                        let p = positionings.get(id).flatten();
                                        last = Some((id, p));
                                        p
                                    }
                                };
                                p.map(i64::from)
                            })
                            .collect();
                        Some(Arc::new(person))
                    }
                })
            },
            || md.encode(table, batch),
        );
        encoded?;
        md.push_persons(table, n, person?.as_ref())
    }

    /// The microdata gathered, ready for [`super::anonymise`].
    pub(crate) fn finish(self) -> Microdata {
        self.md.finish()
    }
}

/// The zone d'emploi of each commune where a session takes place, from
/// the staged sessions (the smallest code when a commune has two).
///
/// # Errors
/// `Query` when DuckDB fails.
pub(crate) fn zones(db: &crate::warehouse::Db) -> Result<Reference> {
    let (_, batches) = db.query_arrow(
        "zones_des_communes",
        crate::queries::get("zones_des_communes"),
        [],
    )?;
    let mut reference = Reference::default();
    for batch in &batches {
        let communes = arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
        let zones = arrow::compute::cast(batch.column(1), &DataType::Utf8)?;
        let (communes, zones) = (communes.as_string::<i32>(), zones.as_string::<i32>());
        for i in 0..batch.num_rows() {
            reference
                .zones
                .insert(communes.value(i).to_string(), zones.value(i).to_string());
        }
    }
    Ok(reference)
}

/// A private folder where a delivery's batches wait between their measure
/// and their write, so that they are not held in memory. It lies in the
/// staging folder (private, removed with it however the run ends) and is
/// removed when dropped.
#[derive(Debug)]
pub(crate) struct Spill {
    dir: tempfile::TempDir,
}

/// A table's batches being spilled.
pub(crate) struct Spilling {
    path: PathBuf,
    writer: arrow_ipc::writer::StreamWriter<BufWriter<File>>,
}

/// A table's batches spilled, read back once.
#[derive(Debug)]
pub(crate) struct Spilled {
    path: PathBuf,
}

impl Spill {
    /// A new folder beside the staging's own spill folder (DuckDB's
    /// `temp_directory`).
    ///
    /// # Errors
    /// `Query` when DuckDB fails, `Io` when the folder cannot be made.
    pub(crate) fn new(db: &crate::warehouse::Db) -> Result<Spill> {
        // The staging folder: `debordement`'s parent (relative to the
        // working directory when the output's path is, as for DuckDB).
        let temp = db.spill_folder()?;
        let parent = match temp.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => {
                return Err(Error::Internal(format!(
                    "the staging has no private spill folder ({})",
                    temp.display()
                )))
            }
        };
        std::fs::create_dir_all(&parent).map_err(Error::io(&parent))?;
        let dir = tempfile::Builder::new()
            .prefix("kanon-")
            .tempdir_in(&parent)
            .map_err(Error::io(&parent))?;
        Ok(Spill { dir })
    }

    /// Starts spilling a table's batches of this schema.
    ///
    /// # Errors
    /// `Io` when the file cannot be created.
    pub(crate) fn create(&self, table: Table, schema: SchemaRef) -> Result<Spilling> {
        let path = self.dir.path().join(format!("{}.arrows", table.name()));
        let file = File::create(&path).map_err(Error::io(&path))?;
        let writer = arrow_ipc::writer::StreamWriter::try_new(BufWriter::new(file), &schema)?;
        Ok(Spilling { path, writer })
    }
}

impl Spilling {
    /// Appends a batch.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.writer.write(batch)?)
    }

    /// Ends the file.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub(crate) fn finish(mut self) -> Result<Spilled> {
        self.writer.finish()?;
        Ok(Spilled { path: self.path })
    }
}

impl Spilled {
    /// The batches, as they were written; the file is removed once open.
    ///
    /// # Errors
    /// `Io` when the file cannot be read.
    pub(crate) fn read(self) -> Result<arrow_ipc::reader::StreamReader<BufReader<File>>> {
        let file = File::open(&self.path).map_err(Error::io(&self.path))?;
        let reader = arrow_ipc::reader::StreamReader::try_new(BufReader::new(file), None)?;
        std::fs::remove_file(&self.path).map_err(Error::io(&self.path))?;
        Ok(reader)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packed identifiers are told apart by their bytes and their length
    /// (a trailing NUL byte included); longer ones are kept as strings.
    #[test]
    fn identifiers_short_and_long_are_looked_up_exactly() {
        let mut index = Index::default();
        let ids = [
            "",
            "A",
            "A\0",
            "000000001A",
            "000000001B",
            "123456789012345",
            "1234567890123456",
            "12345678901234567",
        ];
        for (i, id) in ids.iter().enumerate() {
            index.insert(id, Some(i as u32));
        }
        index.insert("P1", None);
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id), Some(Some(i as u32)), "{id:?}");
        }
        assert_eq!(index.get("P1"), Some(None));
        assert_eq!(index.get("P2"), None);
        assert_eq!((index.short.len(), index.long.len()), (7, 2));
    }
}
