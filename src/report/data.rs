//! The cleared tables of one committee delivery, read once into plain
//! structs: no SQL, no HTML.
//!
//! What always holds: a value is read from a delivery's `agregats/`, where
//! a suppressed measure is null and flagged `secret_<measure>`; a flagged
//! value reads [`Val::Secret`], whatever the table holds beside it.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use arrow::array::{Array, Float64Array, StringArray};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use serde::{Serialize, Serializer};

use crate::error::{Error, Result};

/// The cubes a committee report reads, each from the tables named after it
/// (`entonnoir`, `entonnoir_mois`…).
pub(crate) const CUBES: [&str; 5] = ["entonnoir", "delais", "pic", "abandons", "remplissage"];

/// The columns that say which cell a row is; every other column is a
/// measure or the flag of one.
const KEY: [&str; 5] = ["periode", "niveau_geo", "code_geo", "dimension", "modalite"];

/// A published value, a suppressed one, or no data.
///
/// In a template: a number, the string `"s"`, or none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val {
    Num(f64),
    Secret,
    Absent,
}

impl Val {
    pub(crate) fn num(self) -> Option<f64> {
        match self {
            Val::Num(v) => Some(v),
            _ => None,
        }
    }
}

impl Serialize for Val {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Val::Num(v) => s.serialize_f64(*v),
            Val::Secret => s.serialize_str("s"),
            Val::Absent => s.serialize_none(),
        }
    }
}

/// Which cell of a cube: its period, place, dimension and modality.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    periode: String,
    niveau_geo: String,
    code_geo: Option<String>,
    dimension: String,
    modalite: String,
}

/// One row of a table: its abandon motif (the `abandons` cube only), and
/// each measure with whether it is flagged as suppressed.
#[derive(Debug, Default)]
struct Row {
    motif_code: Option<String>,
    measures: HashMap<String, (Option<f64>, bool)>,
}

/// Every row of the tables of one cube.
#[derive(Debug, Default)]
pub(crate) struct Cube {
    rows: Vec<(Key, Row)>,
    index: HashMap<Key, Vec<usize>>,
}

impl Cube {
    /// One measure of one cell, with motif `ensemble` where the cube has
    /// motifs: tables of one cube share their `ensemble` rows, and the row
    /// that has the measure (or its flag) is read.
    pub(crate) fn get(
        &self,
        measure: &str,
        periode: &str,
        (niveau, code): (&str, &str),
        (dimension, modalite): (&str, &str),
    ) -> Val {
        self.get_motif(
            measure,
            periode,
            (niveau, code),
            (dimension, modalite),
            "ensemble",
        )
    }

    /// [`Cube::get`] for one abandon motif.
    pub(crate) fn get_motif(
        &self,
        measure: &str,
        periode: &str,
        (niveau, code): (&str, &str),
        (dimension, modalite): (&str, &str),
        motif: &str,
    ) -> Val {
        let key = Key {
            periode: periode.into(),
            niveau_geo: niveau.into(),
            code_geo: Some(code.into()),
            dimension: dimension.into(),
            modalite: modalite.into(),
        };
        let rows = self.index.get(&key).map(Vec::as_slice).unwrap_or_default();
        rows.iter()
            .map(|&i| &self.rows[i].1)
            .filter(|row| row.motif_code.as_deref().is_none_or(|m| m == motif))
            .find_map(|row| match row.measures.get(measure) {
                Some((_, true)) => Some(Val::Secret),
                Some((Some(v), false)) => Some(Val::Num(*v)),
                _ => None,
            })
            .unwrap_or(Val::Absent)
    }

    /// The distinct values of `column` (`modalite` or `motif_code`) over the
    /// rows of one place, period and dimension, sorted; `ensemble` left out
    /// for motifs.
    pub(crate) fn modalities(
        &self,
        periode: &str,
        (niveau, code): (&str, &str),
        dimension: &str,
        motifs: bool,
    ) -> Vec<String> {
        let found: BTreeSet<&str> = self
            .rows
            .iter()
            .filter(|(k, _)| {
                k.periode == periode
                    && k.niveau_geo == niveau
                    && k.code_geo.as_deref() == Some(code)
                    && k.dimension == dimension
            })
            .filter_map(|(k, row)| {
                if motifs {
                    row.motif_code.as_deref().filter(|m| *m != "ensemble")
                } else {
                    Some(k.modalite.as_str())
                }
            })
            .collect();
        found.into_iter().map(str::to_string).collect()
    }

    /// The distinct codes of a geographic level, sorted.
    pub(crate) fn codes(&self, niveau: &str) -> Vec<String> {
        let found: BTreeSet<&str> = self
            .rows
            .iter()
            .filter(|(k, _)| k.niveau_geo == niveau)
            .filter_map(|(k, _)| k.code_geo.as_deref())
            .collect();
        found.into_iter().map(str::to_string).collect()
    }

    /// The distinct periods, sorted.
    pub(crate) fn periods(&self) -> Vec<String> {
        let found: BTreeSet<&str> = self.rows.iter().map(|(k, _)| k.periode.as_str()).collect();
        found.into_iter().map(str::to_string).collect()
    }

    fn push(&mut self, key: Key, row: Row) {
        self.index
            .entry(key.clone())
            .or_default()
            .push(self.rows.len());
        self.rows.push((key, row));
    }

    fn add_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let text = |name: &str| -> Result<Option<StringArray>> {
            let Some(col) = batch.column_by_name(name) else {
                return Ok(None);
            };
            let col = arrow::compute::cast(col, &DataType::Utf8)?;
            Ok(Some(
                col.as_any()
                    .downcast_ref::<StringArray>()
                    .expect("cast to Utf8")
                    .clone(),
            ))
        };
        let keys: Vec<StringArray> = KEY
            .iter()
            .map(|k| {
                text(k)?
                    .ok_or_else(|| Error::Config(format!("a cleared table has no `{k}` column")))
            })
            .collect::<Result<_>>()?;
        let motif = text("motif_code")?;
        let schema = batch.schema();
        let mut measures: Vec<(String, Float64Array, Option<StringArray>)> = Vec::new();
        for field in schema.fields() {
            let name = field.name();
            if KEY.contains(&name.as_str())
                || name == "motif_code"
                || name.starts_with("secret")
                || !field.data_type().is_numeric()
            {
                continue;
            }
            let col = arrow::compute::cast(
                batch.column_by_name(name).expect("field"),
                &DataType::Float64,
            )?;
            let values = col
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("cast to Float64")
                .clone();
            measures.push((name.clone(), values, text(&format!("secret_{name}"))?));
        }
        let get = |a: &StringArray, i: usize| (!a.is_null(i)).then(|| a.value(i).to_string());
        for i in 0..batch.num_rows() {
            let key = Key {
                periode: get(&keys[0], i).unwrap_or_default(),
                niveau_geo: get(&keys[1], i).unwrap_or_default(),
                code_geo: get(&keys[2], i),
                dimension: get(&keys[3], i).unwrap_or_default(),
                modalite: get(&keys[4], i).unwrap_or_default(),
            };
            let row = Row {
                motif_code: motif.as_ref().and_then(|m| get(m, i)),
                measures: measures
                    .iter()
                    .map(|(name, values, flag)| {
                        let value = (!values.is_null(i)).then(|| values.value(i));
                        let secret = flag.as_ref().is_some_and(|f| !f.is_null(i));
                        (name.clone(), (value, secret))
                    })
                    .collect(),
            };
            self.push(key, row);
        }
        Ok(())
    }
}

/// The cubes of one committee delivery.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub(crate) entonnoir: Cube,
    pub(crate) delais: Cube,
    pub(crate) pic: Cube,
    pub(crate) abandons: Cube,
    pub(crate) remplissage: Cube,
}

impl Delivery {
    /// Reads every table of `dir` (a delivery's `agregats/`) once, in the
    /// order of their names.
    ///
    /// # Errors
    /// `Config` when a cube has no table; `Io`/`Output` naming a file that
    /// cannot be read.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map_err(Error::io(dir))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".parquet").map(str::to_string))
            .collect();
        names.sort();
        let mut cubes = CUBES.map(|_| Cube::default());
        for (cube, name) in cubes.iter_mut().zip(CUBES) {
            let tables: Vec<&String> = names
                .iter()
                .filter(|n| *n == name || n.strip_prefix(name).is_some_and(|r| r.starts_with('_')))
                .collect();
            if tables.is_empty() {
                return Err(Error::Config(format!(
                    "{} has no `{name}` table: run with a recipient of class `comite` whose publication plan has one (see README)",
                    dir.display()
                )));
            }
            for table in tables {
                for batch in crate::output::read_parquet(&dir.join(format!("{table}.parquet")))? {
                    cube.add_batch(&batch)?;
                }
            }
        }
        let [entonnoir, delais, pic, abandons, remplissage] = cubes;
        Ok(Delivery {
            entonnoir,
            delais,
            pic,
            abandons,
            remplissage,
        })
    }
}
