//! Parquet extracts written the way the tools write them (issue 23), with
//! the `parquet` and `arrow` crates so that no Python is needed:
//!
//! - an information system's typed export: DATE, TIMESTAMP without time
//!   zone (wall-clock time), INT32, BOOLEAN;
//! - pyarrow from pandas: integers as DOUBLE (an integer column with one
//!   null becomes float64), dates as TIMESTAMP at midnight (pandas has no
//!   date type), times as time-zone-aware instants (`isAdjustedToUTC`);
//! - Spark or Hive: times as legacy INT96 UTC instants, warehouse NUMBER
//!   columns as DECIMAL, strings annotated UTF8, written with the column
//!   writer API (arrow's writer has no INT96), row groups as asked.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, StringArray,
    TimestampMicrosecondArray, TimestampNanosecondArray,
};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use ouistat::testing::schema::{Extract, Kind};
use parquet::arrow::ArrowWriter;
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, Int32Type, Int64Type, Int96, Int96Type,
};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

/// The tool that wrote an extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exporter {
    /// An information system's typed export.
    Typed,
    /// pyarrow from a pandas DataFrame.
    Pandas,
    /// Spark or Hive.
    Spark,
}

/// The values of one column, typed as a tool holds them.
#[derive(Debug, Clone)]
pub(crate) enum Values {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i32>>),
    /// float64, as pandas holds an integer column with a null.
    Float(Vec<Option<f64>>),
    /// Unscaled values of a DECIMAL(12, scale).
    Decimal(Vec<Option<i64>>, u8),
    Date(Vec<Option<NaiveDate>>),
    /// A time without time zone: wall-clock time.
    WallClock(Vec<Option<NaiveDateTime>>),
    /// An instant, given in UTC.
    Instant(Vec<Option<NaiveDateTime>>),
    Bool(Vec<Option<bool>>),
}

/// One column: its name and values.
pub(crate) type Column = (String, Values);

/// Paris wall-clock time → the instant it was, in UTC (what an exporter
/// that knows its time zone writes).
pub(crate) fn paris_to_utc(t: NaiveDateTime) -> NaiveDateTime {
    chrono_tz::Europe::Paris
        .from_local_datetime(&t)
        .single()
        .expect("an unambiguous Paris time")
        .naive_utc()
}

/// A UTC instant written `YYYY-MM-DD HH:MM:SS`.
pub(crate) fn utc(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("a UTC time")
}

/// A day written `YYYY-MM-DD`.
pub(crate) fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a day")
}

/// Text values (empty = null).
pub(crate) fn text(values: &[&str]) -> Values {
    Values::Text(
        values
            .iter()
            .map(|v| (!v.is_empty()).then(|| v.to_string()))
            .collect(),
    )
}

/// The columns of a CSV extract (`;`, no quotes, the contract's formats)
/// typed as `exporter` types them.
pub(crate) fn columns_of_csv(csv: &str, extract: Extract, exporter: Exporter) -> Vec<Column> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().expect("header").split(';').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(';').collect()).collect();
    extract
        .columns()
        .iter()
        .map(|col| {
            let i = header.iter().position(|h| *h == col.name).expect("column");
            let raw: Vec<&str> = rows.iter().map(|r| r[i]).collect();
            (col.name.to_string(), typed(&raw, col.kind, exporter))
        })
        .collect()
}

fn typed(raw: &[&str], kind: Kind, exporter: Exporter) -> Values {
    fn each<T>(raw: &[&str], f: impl Fn(&str) -> T) -> Vec<Option<T>> {
        raw.iter().map(|&v| (!v.is_empty()).then(|| f(v))).collect()
    }
    let int = |v: &str| v.parse::<i32>().expect("an integer");
    let date = |v: &str| ouistat::testing::rules::parse_date(v).expect("a date");
    let time = |v: &str| ouistat::testing::rules::parse_timestamp(v).expect("a timestamp");
    match (kind, exporter) {
        (Kind::Text | Kind::Enum(_), _) => text(raw),
        (Kind::Int, Exporter::Typed) => Values::Int(each(raw, int)),
        (Kind::Int, Exporter::Pandas) => Values::Float(each(raw, |v| f64::from(int(v)))),
        (Kind::Int, Exporter::Spark) => Values::Decimal(each(raw, |v| i64::from(int(v)) * 100), 2),
        (Kind::Date, Exporter::Pandas) => Values::WallClock(each(raw, |v| {
            date(v).and_hms_opt(0, 0, 0).expect("midnight")
        })),
        (Kind::Date, _) => Values::Date(each(raw, date)),
        (Kind::Timestamp, Exporter::Typed) => Values::WallClock(each(raw, time)),
        (Kind::Timestamp, _) => Values::Instant(each(raw, |v| paris_to_utc(time(v)))),
        (Kind::Bool, _) => Values::Bool(each(raw, |v| v == "O")),
    }
}

/// Writes the four extracts of the CSV fixture `fixture` to `out` as
/// `exporter` writes them.
pub(crate) fn write_fixture(fixture: &Path, out: &Path, exporter: Exporter) {
    std::fs::create_dir_all(out).unwrap();
    for extract in Extract::ALL {
        let csv = std::fs::read_to_string(fixture.join(format!("{}.csv", extract.name()))).unwrap();
        let columns = columns_of_csv(&csv, extract, exporter);
        write(
            exporter,
            &out.join(format!("{}.parquet", extract.name())),
            &columns,
        );
    }
}

/// Writes `columns` as `exporter` writes them, in one row group.
pub(crate) fn write(exporter: Exporter, path: &Path, columns: &[Column]) {
    match exporter {
        Exporter::Typed => write_arrow(path, columns, false),
        Exporter::Pandas => write_arrow(path, columns, true),
        Exporter::Spark => write_spark(path, columns, &[rows(columns)]),
    }
}

/// The number of rows of `columns`.
pub(crate) fn rows(columns: &[Column]) -> usize {
    columns.first().map_or(0, |(_, v)| len(v))
}

fn len(values: &Values) -> usize {
    match values {
        Values::Text(v) => v.len(),
        Values::Int(v) => v.len(),
        Values::Float(v) => v.len(),
        Values::Decimal(v, _) => v.len(),
        Values::Date(v) => v.len(),
        Values::WallClock(v) | Values::Instant(v) => v.len(),
        Values::Bool(v) => v.len(),
    }
}

fn epoch_days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

/// With arrow's writer, as pyarrow writes: `pandas` for nanoseconds and
/// instants in the Europe/Paris zone (a tz-aware pandas column), else
/// microseconds and instants in UTC.
fn write_arrow(path: &Path, columns: &[Column], pandas: bool) {
    let arrays: Vec<(String, ArrayRef)> = columns
        .iter()
        .map(|(name, values)| (name.clone(), arrow_array(values, pandas)))
        .collect();
    let fields: Vec<Field> = arrays
        .iter()
        .map(|(name, a)| Field::new(name, a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays.into_iter().map(|(_, a)| a).collect())
        .expect("batch");
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, schema, None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

fn arrow_array(values: &Values, pandas: bool) -> ArrayRef {
    let nanos = |t: &NaiveDateTime| t.and_utc().timestamp_nanos_opt().expect("in range");
    let micros = |t: &NaiveDateTime| t.and_utc().timestamp_micros();
    let times = |v: &[Option<NaiveDateTime>], zone: Option<&str>| -> ArrayRef {
        match (pandas, zone) {
            (true, None) => Arc::new(TimestampNanosecondArray::from(
                v.iter().map(|t| t.as_ref().map(nanos)).collect::<Vec<_>>(),
            )),
            (true, Some(z)) => Arc::new(
                TimestampNanosecondArray::from(
                    v.iter().map(|t| t.as_ref().map(nanos)).collect::<Vec<_>>(),
                )
                .with_timezone(z),
            ),
            (false, None) => Arc::new(TimestampMicrosecondArray::from(
                v.iter().map(|t| t.as_ref().map(micros)).collect::<Vec<_>>(),
            )),
            (false, Some(z)) => Arc::new(
                TimestampMicrosecondArray::from(
                    v.iter().map(|t| t.as_ref().map(micros)).collect::<Vec<_>>(),
                )
                .with_timezone(z),
            ),
        }
    };
    match values {
        Values::Text(v) => Arc::new(StringArray::from(v.clone())),
        Values::Int(v) => Arc::new(Int32Array::from(v.clone())),
        Values::Float(v) => Arc::new(Float64Array::from(v.clone())),
        Values::Decimal(v, scale) => Arc::new(
            Decimal128Array::from(v.iter().map(|x| x.map(i128::from)).collect::<Vec<_>>())
                .with_precision_and_scale(12, *scale as i8)
                .expect("decimal"),
        ),
        Values::Date(v) => Arc::new(Date32Array::from(
            v.iter().map(|d| d.map(epoch_days)).collect::<Vec<_>>(),
        )),
        Values::WallClock(v) => times(v, None),
        Values::Instant(v) => times(v, Some(if pandas { "Europe/Paris" } else { "UTC" })),
        Values::Bool(v) => Arc::new(BooleanArray::from(v.clone())),
    }
}

/// The Spark schema line of one column.
fn spark_type(name: &str, values: &Values) -> String {
    let (physical, annotation) = match values {
        Values::Text(_) => ("binary", " (UTF8)".to_string()),
        Values::Int(_) => ("int32", String::new()),
        Values::Decimal(_, scale) => ("int64", format!(" (DECIMAL(12,{scale}))")),
        Values::Date(_) => ("int32", " (DATE)".to_string()),
        Values::Instant(_) => ("int96", String::new()),
        Values::Bool(_) => ("boolean", String::new()),
        Values::Float(_) | Values::WallClock(_) => panic!("not written as Spark writes"),
    };
    format!("optional {physical} {name}{annotation};")
}

/// INT96 as Spark writes a UTC instant: nanoseconds of the day (8 bytes,
/// little-endian), then the Julian day (4 bytes).
fn int96(t: &NaiveDateTime) -> Int96 {
    let julian = epoch_days(t.date()) as u32 + 2_440_588;
    let nanos = t.and_utc().timestamp_nanos_opt().expect("in range")
        - i64::from(epoch_days(t.date())) * 86_400_000_000_000;
    let mut v = Int96::new();
    v.set_data(nanos as u32, (nanos >> 32) as u32, julian);
    v
}

/// With the column writer API, as Spark writes: one row group per entry
/// of `row_groups` (its number of rows; 0 for an empty row group).
pub(crate) fn write_spark(path: &Path, columns: &[Column], row_groups: &[usize]) {
    let message = format!(
        "message spark_schema {{ {} }}",
        columns
            .iter()
            .map(|(n, v)| spark_type(n, v))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let schema = Arc::new(parquet::schema::parser::parse_message_type(&message).expect("schema"));
    let props = Arc::new(WriterProperties::builder().build());
    let file = std::fs::File::create(path).unwrap();
    let mut writer = SerializedFileWriter::new(file, schema, props).expect("writer");
    let mut start = 0;
    for &rows in row_groups {
        let mut group = writer.next_row_group().expect("row group");
        let mut index = 0;
        while let Some(mut column) = group.next_column().expect("column") {
            write_spark_column(&mut column, &columns[index].1, start..start + rows);
            column.close().expect("close column");
            index += 1;
        }
        group.close().expect("close row group");
        start += rows;
    }
    writer.close().expect("close");
}

fn write_spark_column(
    column: &mut parquet::file::writer::SerializedColumnWriter<'_>,
    values: &Values,
    rows: std::ops::Range<usize>,
) {
    /// Present values and definition levels (1 present, 0 null).
    fn split<T, U>(v: &[Option<T>], f: impl Fn(&T) -> U) -> (Vec<U>, Vec<i16>) {
        let present = v.iter().flatten().map(f).collect();
        let levels = v.iter().map(|x| i16::from(x.is_some())).collect();
        (present, levels)
    }
    let written = match values {
        Values::Text(v) => {
            let (p, d) = split(&v[rows], |s| ByteArray::from(s.as_str()));
            column
                .typed::<ByteArrayType>()
                .write_batch(&p, Some(&d), None)
        }
        Values::Int(v) => {
            let (p, d) = split(&v[rows], |x| *x);
            column.typed::<Int32Type>().write_batch(&p, Some(&d), None)
        }
        Values::Decimal(v, _) => {
            let (p, d) = split(&v[rows], |x| *x);
            column.typed::<Int64Type>().write_batch(&p, Some(&d), None)
        }
        Values::Date(v) => {
            let (p, d) = split(&v[rows], |x| epoch_days(*x));
            column.typed::<Int32Type>().write_batch(&p, Some(&d), None)
        }
        Values::Instant(v) => {
            let (p, d) = split(&v[rows], int96);
            column.typed::<Int96Type>().write_batch(&p, Some(&d), None)
        }
        Values::Bool(v) => {
            let (p, d) = split(&v[rows], |x| *x);
            column.typed::<BoolType>().write_batch(&p, Some(&d), None)
        }
        Values::Float(_) | Values::WallClock(_) => panic!("not written as Spark writes"),
    };
    written.expect("write column");
}

/// Days written `YYYY-MM-DD` as `exporter` writes a date column (pandas:
/// a TIMESTAMP at midnight).
pub(crate) fn dates(exporter: Exporter, days: &[&str]) -> Values {
    typed(days, Kind::Date, exporter)
}

/// Replaces the values of the column `name`.
pub(crate) fn set(columns: &mut [Column], name: &str, values: Values) {
    let column = columns
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    column.1 = values;
}
