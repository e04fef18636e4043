//! The quasi-identifiers of one delivery, read once and encoded as small
//! integers: each value becomes a code, and each step of its ladder a map
//! from that code to the code of the generalised value.
//!
//! Rows keep the order in which they were pushed, which is the order in
//! which `deliver` writes them, so a row's fate (kept or suppressed) is a
//! position, never an identifier.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::record_batch::RecordBatch;

use super::ladder::{self, Key, Raw, Reference, Step};
use super::{Qi, Table};
use crate::error::{Error, Result};

/// One quasi-identifier column, encoded.
#[derive(Debug)]
pub(crate) struct Encoded {
    /// Per row: 0 for a missing value, else 1 + its index in `distinct`.
    pub raw: Vec<u32>,
    /// The distinct values, in order of first appearance.
    pub distinct: Vec<Raw>,
    /// The steps this column can be at: its identity first, then its ladder.
    pub steps: Vec<Step>,
    /// Per step: raw code → generalised code (0 stays 0, missing).
    pub maps: Vec<Vec<u32>>,
    /// Per step: the number of codes (missing included).
    pub cards: Vec<u32>,
}

impl Encoded {
    fn new(identity: Step, ladder: &[Step]) -> Self {
        let mut steps = vec![identity];
        steps.extend(ladder.iter().copied().filter(|s| *s != identity));
        Encoded {
            raw: Vec::new(),
            distinct: Vec::new(),
            steps,
            maps: Vec::new(),
            cards: Vec::new(),
        }
    }

    /// The index in `steps` of a step of the ladder.
    pub(crate) fn step_index(&self, step: Step) -> usize {
        self.steps.iter().position(|s| *s == step).unwrap_or(0)
    }

    fn finish(&mut self, reference: &Reference) {
        // The identity (the first step) keeps every distinct value apart:
        // its codes are the values' own.
        let n = self.distinct.len() as u32;
        self.maps.push((0..=n).collect());
        self.cards.push(n + 1);
        // The calendar steps of a date or a time depend on its day only:
        // their keys are computed once per day.
        let days: Vec<Option<i64>> = self
            .distinct
            .iter()
            .map(|v| match v {
                Raw::Date(d) => Some(i64::from(*d)),
                Raw::Timestamp(s) => Some(s.div_euclid(86_400)),
                Raw::Text(_) => None,
            })
            .collect();
        for step in &self.steps[1..] {
            let by_day = matches!(
                step,
                Step::Jour | Step::Mois | Step::Quadrimestre | Step::Annee | Step::Masque
            );
            let mut day_codes: HashMap<i64, u32, foldhash::fast::FixedState> = HashMap::default();
            // Dates and times generalise to numbers: hashed as such.
            let mut numbers: HashMap<i64, u32, foldhash::fast::FixedState> = HashMap::default();
            let mut others: HashMap<Key, u32, foldhash::fast::FixedState> = HashMap::default();
            let mut map = Vec::with_capacity(self.distinct.len() + 1);
            map.push(0);
            let mut next = 1u32;
            for (v, day) in self.distinct.iter().zip(&days) {
                let day = day.filter(|_| by_day);
                if let Some(code) = day.and_then(|d| day_codes.get(&d)) {
                    map.push(*code);
                    continue;
                }
                let code = match ladder::key(*step, v, reference) {
                    Key::Num(n) => *numbers.entry(n).or_insert_with(|| {
                        next += 1;
                        next - 1
                    }),
                    other => *others.entry(other).or_insert_with(|| {
                        next += 1;
                        next - 1
                    }),
                };
                if let Some(d) = day {
                    day_codes.insert(d, code);
                }
                map.push(code);
            }
            self.cards.push(next);
            self.maps.push(map);
        }
    }
}

/// The quasi-identifiers of a delivery, row by row, with each row's person.
#[derive(Debug)]
pub struct Microdata {
    pub(crate) qis: Vec<Qi>,
    pub(crate) columns: Vec<Encoded>,
    /// Rows of `individus`, one per person.
    pub(crate) persons: usize,
    /// Per row of `positionnements` and `evenements`: the person's index.
    pub(crate) person_of: [Vec<u32>; 2],
    /// Persons beyond `persons` for rows whose person is not delivered.
    extra_persons: usize,
    /// What the steps look values up in.
    pub(crate) reference: Reference,
    dictionaries: Vec<Dictionary>,
}

/// Codes of the values seen so far in one column, looked up without
/// allocating (dates and times by number, text by `&str`).
#[derive(Debug, Default)]
struct Dictionary {
    numbers: HashMap<i64, u32, foldhash::fast::FixedState>,
    texts: HashMap<String, u32, foldhash::fast::FixedState>,
}

impl Dictionary {
    fn number(&mut self, enc: &mut Encoded, v: i64, raw: impl FnOnce(i64) -> Raw) -> u32 {
        if let Some(c) = self.numbers.get(&v) {
            return *c;
        }
        enc.distinct.push(raw(v));
        let code = enc.distinct.len() as u32;
        self.numbers.insert(v, code);
        code
    }

    fn text(&mut self, enc: &mut Encoded, v: &str) -> u32 {
        if let Some(c) = self.texts.get(v) {
            return *c;
        }
        enc.distinct.push(Raw::Text(v.to_string()));
        let code = enc.distinct.len() as u32;
        self.texts.insert(v.to_string(), code);
        code
    }
}

/// Reads a value of an Arrow column as a [`Raw`].
pub(crate) fn raw_at(a: &dyn Array, i: usize) -> Result<Option<Raw>> {
    if a.is_null(i) {
        return Ok(None);
    }
    Ok(Some(match a.data_type() {
        DataType::Date32 => Raw::Date(a.as_primitive::<arrow::datatypes::Date32Type>().value(i)),
        DataType::Timestamp(unit, _) => {
            let x = match unit {
                TimeUnit::Second => a
                    .as_primitive::<arrow::datatypes::TimestampSecondType>()
                    .value(i),
                TimeUnit::Millisecond => a
                    .as_primitive::<arrow::datatypes::TimestampMillisecondType>()
                    .value(i)
                    .div_euclid(1_000),
                TimeUnit::Microsecond => a
                    .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                    .value(i)
                    .div_euclid(1_000_000),
                TimeUnit::Nanosecond => a
                    .as_primitive::<arrow::datatypes::TimestampNanosecondType>()
                    .value(i)
                    .div_euclid(1_000_000_000),
            };
            Raw::Timestamp(x)
        }
        DataType::Boolean => Raw::Text(if a.as_boolean().value(i) { "O" } else { "N" }.into()),
        DataType::Utf8 => Raw::Text(a.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => Raw::Text(a.as_string::<i64>().value(i).to_string()),
        DataType::Utf8View => Raw::Text(a.as_string_view().value(i).to_string()),
        _ => {
            let text = arrow::compute::cast(&a.slice(i, 1), &DataType::Utf8)?;
            Raw::Text(text.as_string::<i32>().value(0).to_string())
        }
    }))
}

impl Microdata {
    /// Empty microdata for these quasi-identifiers.
    pub fn new(qis: Vec<Qi>) -> Self {
        let columns = qis
            .iter()
            .map(|q| Encoded::new(q.family.identity(), &q.ladder))
            .collect();
        let dictionaries = qis.iter().map(|_| Dictionary::default()).collect();
        Microdata {
            qis,
            columns,
            persons: 0,
            person_of: [Vec::new(), Vec::new()],
            extra_persons: 0,
            reference: Reference::default(),
            dictionaries,
        }
    }

    /// Sets what the steps look values up in (the zones d'emploi).
    pub fn set_reference(&mut self, reference: Reference) {
        self.reference = reference;
    }

    /// Appends rows of a table. The batch holds the table's quasi-identifiers
    /// by name and, for `positionnements` and `evenements`, `personne`: the
    /// 0-based row of the person in `individus` (null when not delivered).
    ///
    /// # Errors
    /// `Internal` when a column is missing.
    pub fn push(&mut self, table: Table, batch: &RecordBatch) -> Result<()> {
        self.push_persons(table, batch.num_rows(), batch.column_by_name("personne"))?;
        self.encode(table, batch)
    }

    /// Appends the persons of `n` rows of a table: `personne` as
    /// [`Microdata::push`] takes it (not read for `individus`).
    pub(crate) fn push_persons(
        &mut self,
        table: Table,
        n: usize,
        personne: Option<&ArrayRef>,
    ) -> Result<()> {
        match table {
            Table::Individus => self.persons += n,
            Table::Positionnements | Table::Evenements => {
                let col = personne
                    .ok_or_else(|| Error::Internal("microdata without `personne`".into()))?;
                let col = arrow::compute::cast(col, &DataType::Int64)?;
                let p = col.as_primitive::<arrow::datatypes::Int64Type>();
                let slot = usize::from(table == Table::Evenements);
                for i in 0..n {
                    let person = if p.is_null(i) {
                        self.extra_persons += 1;
                        u32::MAX - self.extra_persons as u32
                    } else {
                        p.value(i) as u32
                    };
                    self.person_of[slot].push(person);
                }
            }
        }
        Ok(())
    }

    /// Appends the codes of a table's quasi-identifiers in a batch, the
    /// columns in parallel (each has its own dictionary).
    pub(crate) fn encode(&mut self, table: Table, batch: &RecordBatch) -> Result<()> {
        use rayon::prelude::*;
        let mut work = Vec::new();
        for ((qi, dict), enc) in self
            .qis
            .iter()
            .zip(&mut self.dictionaries)
            .zip(&mut self.columns)
        {
            if qi.table != table {
                continue;
            }
            let array: &ArrayRef = batch
                .column_by_name(&qi.column)
                .ok_or_else(|| Error::Internal(format!("microdata without `{}`", qi.column)))?;
            work.push((dict, enc, array));
        }
        work.into_par_iter()
            .try_for_each(|(dict, enc, array)| encode_column(dict, enc, array))
    }
}

/// Appends the codes of one column's values.
fn encode_column(dict: &mut Dictionary, enc: &mut Encoded, array: &ArrayRef) -> Result<()> {
    let n = array.len();
    enc.raw.reserve(n);
    let a = array.as_ref();
    // Seconds of a timestamp array, whatever its unit.
    let seconds = match a.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => 1,
        DataType::Timestamp(TimeUnit::Millisecond, _) => 1_000,
        DataType::Timestamp(TimeUnit::Microsecond, _) => 1_000_000,
        DataType::Timestamp(TimeUnit::Nanosecond, _) => 1_000_000_000,
        _ => 0,
    };
    match a.data_type() {
        DataType::Date32 => {
            let d = a.as_primitive::<arrow::datatypes::Date32Type>();
            for i in 0..n {
                let code = if d.is_null(i) {
                    0
                } else {
                    dict.number(enc, i64::from(d.value(i)), |v| Raw::Date(v as i32))
                };
                enc.raw.push(code);
            }
        }
        DataType::Timestamp(..) => {
            let t = arrow::compute::cast(a, &DataType::Int64)?;
            let t = t.as_primitive::<arrow::datatypes::Int64Type>();
            for i in 0..n {
                let code = if t.is_null(i) {
                    0
                } else {
                    dict.number(enc, t.value(i).div_euclid(seconds), Raw::Timestamp)
                };
                enc.raw.push(code);
            }
        }
        DataType::Utf8 => {
            let t = a.as_string::<i32>();
            for i in 0..n {
                let code = if t.is_null(i) {
                    0
                } else {
                    dict.text(enc, t.value(i))
                };
                enc.raw.push(code);
            }
        }
        _ => {
            for i in 0..n {
                let code = match raw_at(a, i)? {
                    None => 0,
                    Some(Raw::Text(v)) => dict.text(enc, &v),
                    Some(Raw::Date(v)) => dict.number(enc, i64::from(v), |v| Raw::Date(v as i32)),
                    Some(Raw::Timestamp(v)) => dict.number(enc, v, Raw::Timestamp),
                };
                enc.raw.push(code);
            }
        }
    }
    Ok(())
}

impl Microdata {
    /// Ends the reading: builds each step's map.
    pub fn finish(mut self) -> Self {
        // Persons of rows without a delivered person get indices after the
        // delivered ones.
        let persons = self.persons as u32;
        for slot in &mut self.person_of {
            for p in slot.iter_mut() {
                if *p >= u32::MAX - self.extra_persons as u32 {
                    *p = persons + (u32::MAX - *p - 1);
                }
            }
        }
        // Columns are independent: their maps are built in parallel.
        use rayon::prelude::*;
        let reference = &self.reference;
        self.columns
            .par_iter_mut()
            .for_each(|c| c.finish(reference));
        self.dictionaries = Vec::new();
        self
    }

    /// Rows of a table.
    pub(crate) fn rows(&self, table: Table) -> usize {
        match table {
            Table::Individus => self.persons,
            Table::Positionnements => self.person_of[0].len(),
            Table::Evenements => self.person_of[1].len(),
        }
    }

    /// Persons, those without a delivered `individus` row included.
    pub(crate) fn all_persons(&self) -> usize {
        self.persons + self.extra_persons
    }

    /// The person of a row of a table.
    pub(crate) fn person(&self, table: Table, row: usize) -> u32 {
        match table {
            Table::Individus => row as u32,
            Table::Positionnements => self.person_of[0][row],
            Table::Evenements => self.person_of[1][row],
        }
    }
}
