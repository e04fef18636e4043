//! Reading a Parquet extract (SPEC §2, "Parquet input"), typed or all
//! text, as an information system, Spark or pandas writes it.
//!
//! What always holds: every row reaches the sink once, numbered by its row
//! number + 2 whatever the row groups (empty ones included); its fields are
//! the text the CSV rules read, and its `shown` fields what the file holds
//! (the quarantine's `contenu`). Every time the rules see is Europe/Paris
//! wall-clock time (`french_time`). A value that is exactly the column's
//! type in another encoding becomes that type's text: a TIMESTAMP at
//! midnight in a DATE column, a DOUBLE, FLOAT or DECIMAL with no fractional
//! part in an integer column. Anything else is left as it is, for the
//! validator to reject as `type_invalide`.

use std::borrow::Cow;
use std::path::Path;

use arrow::array::{Array, ArrayRef, AsArray, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Int64Type, TimeUnit as Unit};
use parquet::basic::{ConvertedType, LogicalType, TimeUnit, Type as Physical};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::schema::types::Type as SchemaType;

use super::french_time;
use super::{map_header, Record, Source};
use crate::error::{Error, Result};
use crate::schema::Kind;
use crate::warehouse::Db;

/// How the values of a Parquet column are stored, as far as reading them
/// goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stored {
    Boolean,
    /// A TIMESTAMP without time zone (`isAdjustedToUTC = false`):
    /// wall-clock time already.
    WallClock,
    /// A TIMESTAMP that holds an instant: `isAdjustedToUTC = true`, or the
    /// legacy TIMESTAMP_MILLIS / TIMESTAMP_MICROS annotation, which the
    /// Parquet format defines as UTC-adjusted.
    Instant,
    /// INT96, which holds UTC instants as Spark and Hive write them.
    Int96,
    /// DOUBLE, FLOAT or DECIMAL.
    Number,
    /// Anything else, cast to text by DuckDB.
    Other,
}

/// One top-level column of a Parquet file, from its footer.
#[derive(Debug, Clone)]
pub(super) struct FileColumn {
    pub(super) name: String,
    /// The physical type and its annotation, as Parquet names them:
    /// `INT64 (TIMESTAMP(isAdjustedToUTC = true, MICROS))`.
    pub(super) physical: String,
    pub(super) stored: Stored,
}

/// The top-level columns of a Parquet file, in the file's order.
pub(super) fn describe(path: &Path) -> Result<Vec<FileColumn>> {
    let unreadable = |e: parquet::errors::ParquetError| Error::Unreadable {
        file: path.to_path_buf(),
        problem: format!("not a readable Parquet file: {e}"),
    };
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let reader = SerializedFileReader::new(file).map_err(unreadable)?;
    let schema = reader.metadata().file_metadata().schema_descr();
    Ok(schema
        .root_schema()
        .get_fields()
        .iter()
        .map(|field| describe_field(field.as_ref()))
        .collect())
}

fn describe_field(field: &SchemaType) -> FileColumn {
    let name = field.name().to_string();
    if !field.is_primitive() {
        return FileColumn {
            name,
            physical: "GROUP".into(),
            stored: Stored::Other,
        };
    }
    let info = field.get_basic_info();
    let physical = field.get_physical_type();
    let logical = info.logical_type_ref();
    let converted = info.converted_type();
    let stored = match (physical, logical, converted) {
        (Physical::INT96, _, _) => Stored::Int96,
        (_, Some(LogicalType::Timestamp(t)), _) if t.is_adjusted_to_u_t_c => Stored::Instant,
        (_, Some(LogicalType::Timestamp(_)), _) => Stored::WallClock,
        (_, None, ConvertedType::TIMESTAMP_MILLIS | ConvertedType::TIMESTAMP_MICROS) => {
            Stored::Instant
        }
        (Physical::BOOLEAN, _, _) => Stored::Boolean,
        (Physical::DOUBLE | Physical::FLOAT, _, _) => Stored::Number,
        (_, Some(LogicalType::Decimal(_)), _) | (_, None, ConvertedType::DECIMAL) => Stored::Number,
        _ => Stored::Other,
    };
    let annotation = match (logical, converted) {
        (Some(logical), _) => Some(logical_name(logical, field)),
        (None, ConvertedType::NONE) => None,
        (None, converted) => Some(converted.to_string()),
    };
    FileColumn {
        name,
        physical: match annotation {
            Some(a) => format!("{physical} ({a})"),
            None => physical.to_string(),
        },
        stored,
    }
}

/// A logical type as the Parquet format writes it.
fn logical_name(logical: &LogicalType, field: &SchemaType) -> String {
    let unit = |u: &TimeUnit| match u {
        TimeUnit::MILLIS => "MILLIS",
        TimeUnit::MICROS => "MICROS",
        TimeUnit::NANOS => "NANOS",
    };
    match logical {
        LogicalType::String => "STRING".into(),
        LogicalType::Date => "DATE".into(),
        LogicalType::Timestamp(t) => format!(
            "TIMESTAMP(isAdjustedToUTC = {}, {})",
            t.is_adjusted_to_u_t_c,
            unit(&t.unit)
        ),
        LogicalType::Decimal(_) => {
            format!("DECIMAL({}, {})", field.get_precision(), field.get_scale())
        }
        LogicalType::Integer(i) => format!(
            "INT({}, {})",
            i.bit_width,
            if i.is_signed { "signed" } else { "unsigned" }
        ),
        other => format!("{other:?}").to_uppercase(),
    }
}

/// How one column of the extract is read: how the file stores it and
/// what the contract expects.
#[derive(Debug, Clone, Copy)]
struct Reading {
    stored: Stored,
    kind: Kind,
}

impl Reading {
    /// How `queries/analyses/lire_parquet.sql` reads the column: text
    /// (`booleen` as O/N, `texte` cast), except times (`temps`), which
    /// come as they are, to be put in French time here.
    fn reading(self) -> &'static str {
        match self.stored {
            Stored::Boolean => "booleen",
            Stored::WallClock | Stored::Instant | Stored::Int96 => "temps",
            Stored::Number | Stored::Other => "texte",
        }
    }

    /// The column of one batch as the rules read it and as the file holds it.
    fn render(self, array: &ArrayRef) -> Result<Rendered> {
        match self.stored {
            Stored::WallClock | Stored::Instant | Stored::Int96 => render_times(array, self),
            Stored::Number if self.kind == Kind::Int => {
                let shown = array.as_string::<i32>().clone();
                let value = shown
                    .iter()
                    .map(|v| v.map(|v| integral(v).unwrap_or(v)))
                    .collect();
                Ok(Rendered::Two { value, shown })
            }
            _ => Ok(Rendered::Same(array.as_string::<i32>().clone())),
        }
    }
}

/// `12` for `12.0` or `12.000` (a DOUBLE or DECIMAL rendered by DuckDB);
/// `None` for a number with a fractional part or in another notation.
fn integral(text: &str) -> Option<&str> {
    let (whole, fraction) = text.split_once('.')?;
    let digits = whole.strip_prefix('-').unwrap_or(whole);
    let is_integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    (is_integer && !fraction.is_empty() && fraction.bytes().all(|b| b == b'0')).then_some(whole)
}

/// A column of one batch.
enum Rendered {
    /// Read as the file holds it.
    Same(StringArray),
    /// Read as `value`; the file holds `shown`.
    Two {
        value: StringArray,
        shown: StringArray,
    },
}

fn text(array: &StringArray, row: usize) -> Cow<'_, str> {
    if array.is_null(row) {
        Cow::Borrowed("")
    } else {
        Cow::Borrowed(array.value(row))
    }
}

impl Rendered {
    fn value(&self, row: usize) -> Cow<'_, str> {
        match self {
            Rendered::Same(a) | Rendered::Two { value: a, .. } => text(a, row),
        }
    }

    fn shown(&self, row: usize) -> Cow<'_, str> {
        match self {
            Rendered::Same(a) | Rendered::Two { shown: a, .. } => text(a, row),
        }
    }
}

/// Times in French time. As the rules read them: wall-clock time in
/// Paris, a midnight in a DATE column as its day. As the file holds them:
/// a wall-clock time as it is, an instant as Paris time with its offset
/// (`2026-02-10 00:30:00+01:00`), the same instant exactly.
fn render_times(array: &ArrayRef, reading: Reading) -> Result<Rendered> {
    let DataType::Timestamp(unit, _) = array.data_type() else {
        return Err(Error::Internal(format!(
            "a Parquet TIMESTAMP column came from DuckDB as {}",
            array.data_type()
        )));
    };
    let raw = arrow::compute::cast(array, &DataType::Int64)?;
    let raw = raw.as_primitive::<Int64Type>();
    // A wall-clock time outside a DATE column is read as the file holds it.
    let same = reading.stored == Stored::WallClock && reading.kind != Kind::Date;
    let mut value = StringBuilder::with_capacity(raw.len(), raw.len() * 20);
    let mut shown = (!same).then(|| StringBuilder::with_capacity(raw.len(), raw.len() * 26));
    let mut buf = String::with_capacity(40);
    for v in raw.iter() {
        match v {
            None => value.append_null(),
            Some(v) => {
                let read = time_text(&mut buf, v, *unit, reading);
                value.append_value(&buf[..read]);
            }
        }
        if let Some(shown) = &mut shown {
            shown.append_option(v.map(|_| &buf));
        }
    }
    Ok(match shown {
        None => Rendered::Same(value.finish()),
        Some(mut shown) => Rendered::Two {
            value: value.finish(),
            shown: shown.finish(),
        },
    })
}

/// Writes to `buf` the time `v` (in `unit`) as the file holds it, and
/// returns the length of what the rules read of it (the day alone, for a
/// midnight in a DATE column).
fn time_text(buf: &mut String, v: i64, unit: Unit, reading: Reading) -> usize {
    buf.clear();
    let Some(t) = french_time::from_epoch(v, unit) else {
        // Beyond any date: the number itself, which no rule takes.
        buf.push_str(&v.to_string());
        return buf.len();
    };
    let (wall, offset) = match reading.stored {
        Stored::WallClock => (t, None),
        _ => {
            let (wall, offset) = french_time::in_paris(t);
            (wall, Some(offset))
        }
    };
    french_time::push_datetime(buf, wall);
    let read = if reading.kind == Kind::Date && french_time::is_midnight(wall) {
        buf.find(' ').unwrap_or(buf.len())
    } else {
        buf.len()
    };
    if let Some(offset) = offset {
        french_time::push_offset(buf, offset);
    }
    read
}

/// Reads a Parquet extract through DuckDB and feeds every row to `sink`,
/// numbered by its row number + 2 (`ligne`, as if the file were a CSV with
/// a header). Returns the number of rows read.
pub(super) fn read(
    db: &Db,
    source: &Source,
    mut sink: impl FnMut(Record<'_>) -> Result<()>,
) -> Result<u64> {
    let unreadable = |problem: String| Error::Unreadable {
        file: source.path.clone(),
        problem,
    };
    let columns = describe(&source.path)?;
    let header: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let map = map_header(source, &header)?;
    let readings: Vec<Reading> = source
        .extract
        .columns()
        .iter()
        .zip(&map)
        .map(|(c, &i)| Reading {
            stored: columns[i].stored,
            kind: c.kind,
        })
        .collect();
    let colonnes: Vec<(String, &str)> = readings
        .iter()
        .zip(&map)
        .map(|(r, &i)| (crate::queries::ident(&columns[i].name), r.reading()))
        .collect();
    let sql = crate::queries::render_template(
        "lire_parquet",
        minijinja::context! { colonnes => colonnes },
    );
    let mut read = 0u64;
    db.read_file(&sql, &source.path, unreadable, |batch| {
        let rows = batch.column(0).as_primitive::<Int64Type>().clone();
        let rendered = readings
            .iter()
            .enumerate()
            .map(|(i, r)| r.render(batch.column(i + 1)))
            .collect::<Result<Vec<_>>>()?;
        // Most batches (all-text files above all) are read as they are held.
        let same = rendered.iter().all(|c| matches!(c, Rendered::Same(_)));
        let mut fields: Vec<Cow<'_, str>> = Vec::with_capacity(readings.len());
        let mut shown: Vec<Cow<'_, str>> = Vec::with_capacity(readings.len());
        for r in 0..batch.num_rows() {
            read += 1;
            fields.clear();
            fields.extend(rendered.iter().map(|c| c.value(r)));
            if !same {
                shown.clear();
                shown.extend(rendered.iter().map(|c| c.shown(r)));
            }
            sink(Record::Row {
                line: rows.value(r) as u64 + 2,
                fields: &fields,
                shown: if same { &fields } else { &shown },
            })?;
        }
        Ok(())
    })?;
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_numbers_are_integers() {
        for (text, expected) in [
            ("12.0", Some("12")),
            ("400.00", Some("400")),
            ("-3.0", Some("-3")),
            ("37.5", None),
            ("12", None),
            ("12.", None),
            (".0", None),
            ("1e+20", None),
            ("nan", None),
            ("inf", None),
            ("12.0.0", None),
        ] {
            assert_eq!(integral(text), expected, "{text}");
        }
    }
}
