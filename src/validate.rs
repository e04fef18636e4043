//! Row-level validation (SPEC §2, severity *error*): types, enums, mandatory
//! fields, formats, identifier keys and date order.
//!
//! What always holds: a row either becomes one typed row of the output batch
//! or one quarantine entry naming its line, rule and raw content; nothing is
//! dropped. Set-level rules (duplicates, foreign keys, the cascade) need
//! every row and run in DuckDB afterwards (`stage`); warnings are counted
//! there too, on accepted rows only.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

use crate::error::Result;
use crate::rules::{self, PlausibleDates};
use crate::schema::{rule, Check, Column, Extract, Kind};

/// Rows per batch handed to the stage.
pub(crate) const BATCH_ROWS: usize = 65_536;

/// One quarantined row.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub line: u64,
    pub rule: &'static str,
    pub detail: String,
    pub content: String,
    /// The row's key (for the cascade), when readable.
    pub key: Option<String>,
}

/// The Arrow type of a validated column.
pub(crate) fn arrow_type(kind: Kind) -> DataType {
    match kind {
        Kind::Text | Kind::Enum(_) => DataType::Utf8,
        Kind::Int => DataType::Int32,
        Kind::Date => DataType::Date32,
        Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        Kind::Bool => DataType::Boolean,
    }
}

/// The schema of validated rows: `ligne` then the extract's columns.
pub(crate) fn staged_schema(extract: Extract) -> SchemaRef {
    let mut fields = vec![Field::new("ligne", DataType::Int64, false)];
    fields.extend(
        extract
            .columns()
            .iter()
            .map(|c| Field::new(c.name, arrow_type(c.kind), true)),
    );
    Arc::new(Schema::new(fields))
}

enum Value<'a> {
    Null,
    Text(&'a str),
    Int(i32),
    Date(i32),
    Timestamp(i64),
    Bool(bool),
}

enum Builder {
    Text(StringBuilder),
    Int(Int32Builder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Bool(BooleanBuilder),
}

impl Builder {
    fn new(kind: Kind) -> Self {
        match kind {
            Kind::Text | Kind::Enum(_) => Builder::Text(StringBuilder::new()),
            Kind::Int => Builder::Int(Int32Builder::new()),
            Kind::Date => Builder::Date(Date32Builder::new()),
            Kind::Timestamp => Builder::Timestamp(TimestampMicrosecondBuilder::new()),
            Kind::Bool => Builder::Bool(BooleanBuilder::new()),
        }
    }

    fn push(&mut self, v: &Value<'_>) {
        match (self, v) {
            (Builder::Text(b), Value::Text(s)) => b.append_value(s),
            (Builder::Text(b), _) => b.append_null(),
            (Builder::Int(b), Value::Int(i)) => b.append_value(*i),
            (Builder::Int(b), _) => b.append_null(),
            (Builder::Date(b), Value::Date(d)) => b.append_value(*d),
            (Builder::Date(b), _) => b.append_null(),
            (Builder::Timestamp(b), Value::Timestamp(t)) => b.append_value(*t),
            (Builder::Timestamp(b), _) => b.append_null(),
            (Builder::Bool(b), Value::Bool(x)) => b.append_value(*x),
            (Builder::Bool(b), _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
        }
    }
}

/// How the values of one column fared against its type, over every row
/// validated (for the file-level note on a column that fails as a whole).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeTally {
    /// Non-null values.
    pub values: u64,
    /// Values that are not of the column's type (`type_invalide`).
    pub invalid: u64,
    /// The first of them, as the file holds it.
    pub example: Option<String>,
}

impl TypeTally {
    /// Counts one outcome of `parse`; `shown` is the value as the file holds it.
    fn count(&mut self, outcome: &Result<Value<'_>, Failure>, shown: &str) {
        match outcome {
            Ok(Value::Null) => {}
            Err((r, _)) if *r == rule::REQUIRED => {}
            Err((r, _)) if *r == rule::TYPE => {
                self.values += 1;
                self.invalid += 1;
                if self.example.is_none() {
                    self.example = Some(shown.to_string());
                }
            }
            _ => self.values += 1,
        }
    }
}

/// Validates the rows of one extract into typed Arrow batches.
pub struct Validator {
    extract: Extract,
    schema: SchemaRef,
    lines: Int64Builder,
    builders: Vec<Builder>,
    rows: usize,
    key_index: usize,
    dates: PlausibleDates,
    tallies: Option<Vec<TypeTally>>,
}

type Failure = (&'static str, String);

// Inlined into the validation loop, as when it had one caller: apart, the
// call and its returned value cost about 3 % of reading a Parquet extract.
// It stays one function (over 80 lines) for the same reason: every rule of
// a cell, in the order it applies, on the hottest path of a run.
#[inline(always)]
fn parse<'a>(col: &Column, raw: &'a str, dates: &PlausibleDates) -> Result<Value<'a>, Failure> {
    let v = raw.trim();
    if v.is_empty() {
        if col.required {
            return Err((rule::REQUIRED, format!("{} est obligatoire", col.name)));
        }
        return Ok(Value::Null);
    }
    let bad_type = |what: &str| {
        (
            rule::TYPE,
            format!("{} : « {v} » n'est pas {what}", col.name),
        )
    };
    // The day of a date or timestamp, for the plausible window.
    let mut day = None;
    let value = match col.kind {
        Kind::Text => Value::Text(v),
        Kind::Enum(allowed) => {
            if !allowed.contains(&v) {
                return Err((
                    rule::ENUM,
                    format!("{} : valeur « {v} » inconnue", col.name),
                ));
            }
            Value::Text(v)
        }
        Kind::Int => Value::Int(v.parse().map_err(|_| bad_type("un entier"))?),
        Kind::Date => {
            let d = rules::parse_date(v)
                .ok_or_else(|| bad_type("une date AAAA-MM-JJ ou JJ/MM/AAAA"))?;
            day = Some(d);
            Value::Date(rules::days_since_epoch(d))
        }
        Kind::Timestamp => {
            let t = rules::parse_timestamp(v).ok_or_else(|| {
                bad_type("un horodatage AAAA-MM-JJ HH:MM:SS ou JJ/MM/AAAA HH:MM:SS")
            })?;
            day = Some(t.date());
            Value::Timestamp(t.and_utc().timestamp_micros())
        }
        Kind::Bool => Value::Bool(rules::parse_bool(v).ok_or_else(|| bad_type("un booléen O/N"))?),
    };
    let window = match col.check {
        Check::ActivityDate => Some(&dates.activity),
        Check::BirthDate => Some(&dates.births),
        _ => None,
    };
    if let (Some(window), Some(day)) = (window, day) {
        if !window.contains(&day) {
            return Err((
                rule::IMPLAUSIBLE_DATE,
                format!(
                    "{} : « {v} » hors de la fenêtre plausible, du {} au {}",
                    col.name,
                    window.start().format("%d/%m/%Y"),
                    window.end().format("%d/%m/%Y")
                ),
            ));
        }
    }
    let format_err = |what: &str| {
        (
            rule::FORMAT,
            format!("{} : « {v} » n'est pas {what}", col.name),
        )
    };
    match (col.check, &value) {
        (Check::None, _) => {}
        (Check::Formacode, _) if !rules::is_formacode(v) => {
            return Err(format_err("un formacode à 5 chiffres"))
        }
        (Check::Commune, _) if !rules::is_commune(v) => {
            return Err(format_err("un code commune INSEE"))
        }
        (Check::Departement, _) if !rules::is_departement(v) => {
            return Err(format_err("un code département"))
        }
        (Check::Region, _) if !rules::is_region(v) => {
            return Err(format_err("un code région INSEE"))
        }
        (Check::ZoneEmploi, _) if !rules::is_zone_emploi(v) => {
            return Err(format_err("un code zone d'emploi à 4 chiffres"))
        }
        (Check::Siret, _) if !rules::is_siret(v) => {
            return Err((
                rule::SIRET,
                format!(
                    "{} : « {v} » n'est pas un SIRET valide (14 chiffres, clé de Luhn)",
                    col.name
                ),
            ))
        }
        (Check::Nir, _) => {
            if let Some(problem) = rules::nir_problem(v) {
                return Err((rule::NIR, format!("{} : {problem}", col.name)));
            }
        }
        (Check::Positive, Value::Int(i)) if *i <= 0 => {
            return Err((
                rule::RANGE,
                format!("{} : {i} doit être strictement positif", col.name),
            ))
        }
        _ => {}
    }
    Ok(value)
}

impl Validator {
    /// A validator for the rows of `extract`, with dates checked against
    /// the plausible window `dates`.
    pub fn new(extract: Extract, dates: PlausibleDates) -> Self {
        Validator {
            extract,
            schema: staged_schema(extract),
            lines: Int64Builder::new(),
            builders: extract
                .columns()
                .iter()
                .map(|c| Builder::new(c.kind))
                .collect(),
            rows: 0,
            key_index: extract.column_index(extract.key()).unwrap_or(0),
            dates,
            tallies: None,
        }
    }

    /// Validates one row of text fields (schema order). On success the row is
    /// buffered and `Ok(None)` returned; otherwise the rejection.
    pub fn push<S: AsRef<str>>(&mut self, line: u64, fields: &[S]) -> Option<Rejected> {
        self.push_shown(line, fields, fields)
    }

    /// As [`Validator::push`], for a row whose fields as the file holds
    /// them (`shown`, the rejection's content) differ from the text the
    /// rules read (`fields`): a Parquet value in another encoding.
    pub fn push_shown<S: AsRef<str>>(
        &mut self,
        line: u64,
        fields: &[S],
        shown: &[S],
    ) -> Option<Rejected> {
        let columns = self.extract.columns();
        let mut values = Vec::with_capacity(columns.len());
        let mut failure = None;
        for (col, raw) in columns.iter().zip(fields) {
            match parse(col, raw.as_ref(), &self.dates) {
                Ok(v) => values.push(v),
                Err(f) => {
                    failure = Some(f);
                    break;
                }
            }
        }
        self.tally(&values, fields, shown);
        let failure = failure.or_else(|| self.cross_field(&values));
        if let Some((rule, detail)) = failure {
            let content: Vec<&str> = shown.iter().map(|c| c.as_ref()).collect();
            return Some(Rejected {
                line,
                rule,
                detail,
                content: content.join(";"),
                key: fields
                    .get(self.key_index)
                    .map(|k| k.as_ref().trim().to_string()),
            });
        }
        self.lines.append_value(line as i64);
        for (b, v) in self.builders.iter_mut().zip(&values) {
            b.push(v);
        }
        self.rows += 1;
        None
    }

    /// Counts each value of a row against its column's type, when asked
    /// ([`Validator::counting_types`]). A row whose every field parsed
    /// (`values`) is counted from them; one that failed on a field is
    /// parsed again whole, so that a column that fails as a whole is seen
    /// whatever fails before it. The validation loop itself stays as it is.
    fn tally<S: AsRef<str>>(&mut self, values: &[Value<'_>], fields: &[S], shown: &[S]) {
        let Some(tallies) = &mut self.tallies else {
            return;
        };
        let columns = self.extract.columns();
        if values.len() == columns.len() {
            for (tally, value) in tallies.iter_mut().zip(values) {
                tally.values += u64::from(!matches!(value, Value::Null));
            }
            return;
        }
        let row = columns.iter().zip(fields).zip(shown);
        for (((col, raw), shown), tally) in row.zip(tallies.iter_mut()) {
            tally.count(&parse(col, raw.as_ref(), &self.dates), shown.as_ref());
        }
    }

    /// Counts from now on how the values of each column fare against its
    /// type ([`Validator::tallies`]), for the note on a column that fails
    /// as a whole; off by default, as CSV extracts have no such note.
    pub fn counting_types(mut self) -> Self {
        self.tallies = Some(vec![TypeTally::default(); self.extract.columns().len()]);
        self
    }

    /// How the values of each column (schema order) fared against its
    /// type; empty unless [`Validator::counting_types`] was asked.
    pub fn tallies(&self) -> &[TypeTally] {
        self.tallies.as_deref().unwrap_or_default()
    }

    /// Rules across fields of one row.
    fn cross_field(&self, values: &[Value<'_>]) -> Option<Failure> {
        let at = |name: &str| &values[self.extract.column_index(name).expect("schema column")];
        match self.extract {
            Extract::Sessions => {
                if let (Value::Date(debut), Value::Date(fin)) = (at("date_debut"), at("date_fin")) {
                    if fin < debut {
                        return Some((
                            rule::DATE_ORDER,
                            "date_fin est antérieure à date_debut".into(),
                        ));
                    }
                }
            }
            Extract::Evenements => {
                let Value::Text(kind) = at("type") else {
                    return None;
                };
                let allowed = crate::schema::statuts(kind);
                match (at("statut"), allowed.is_empty()) {
                    (Value::Null, false) => {
                        return Some((
                            rule::REQUIRED,
                            format!("statut est obligatoire pour un événement {kind}"),
                        ))
                    }
                    (Value::Text(s), true) => {
                        return Some((
                            rule::STATUS,
                            format!("un événement {kind} n'a pas de statut (reçu « {s} »)"),
                        ))
                    }
                    (Value::Text(s), false) if !allowed.contains(s) => {
                        return Some((
                            rule::STATUS,
                            format!("statut « {s} » impossible pour un événement {kind}"),
                        ))
                    }
                    _ => {}
                }
                if let (Value::Date(d), Value::Timestamp(t)) =
                    (at("date_evenement"), at("enregistre_le"))
                {
                    if *t < i64::from(*d) * 86_400_000_000 {
                        return Some((
                            rule::DATE_ORDER,
                            "enregistre_le est antérieur à date_evenement".into(),
                        ));
                    }
                }
            }
            Extract::Individus | Extract::Positionnements => {}
        }
        None
    }

    /// Rows buffered so far.
    pub fn buffered(&self) -> usize {
        self.rows
    }

    /// Takes the buffered rows as one batch.
    pub fn take_batch(&mut self) -> Result<Option<RecordBatch>> {
        if self.rows == 0 {
            return Ok(None);
        }
        let mut columns: Vec<ArrayRef> = vec![Arc::new(self.lines.finish())];
        columns.extend(self.builders.iter_mut().map(Builder::finish));
        self.rows = 0;
        Ok(Some(RecordBatch::try_new(self.schema.clone(), columns)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default window at the cut-off of the cases, 2026-10-31.
    fn dates() -> PlausibleDates {
        PlausibleDates::for_cutoff(chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap())
    }

    /// The rule a row of `extract` breaks once `column` is set to `value`
    /// in an otherwise valid row (`None`: accepted).
    fn rule_with(
        extract: Extract,
        valid: &[&str],
        column: &str,
        value: &str,
    ) -> Option<&'static str> {
        let mut fields = valid.to_vec();
        fields[extract.column_index(column).unwrap()] = value;
        Validator::new(extract, dates())
            .push(2, &fields)
            .map(|r| r.rule)
    }

    #[test]
    fn dates_outside_the_plausible_window_have_their_own_rule() {
        let event = [
            "P1",
            "ICO",
            "ABSENT",
            "",
            "2026-03-01",
            "2026-03-01 10:00:00",
        ];
        let positioning = [
            "P1",
            "I1",
            "S1",
            "PE",
            "",
            "",
            "",
            "N",
            "2026-02-15 10:00:00",
            "",
            "",
            "",
            "",
        ];
        let implausible = Some(rule::IMPLAUSIBLE_DATE);
        let positioned_at = |value| {
            rule_with(
                Extract::Positionnements,
                &positioning,
                "date_positionnement",
                value,
            )
        };
        // A typo for 2026.
        assert_eq!(positioned_at("15/02/1026 10:00:00"), implausible);
        assert_eq!(positioned_at("2015-01-01 00:00:00"), None);
        assert_eq!(positioned_at("2014-12-31 23:59:59"), implausible);
        let event_with = |column, value| rule_with(Extract::Evenements, &event, column, value);
        assert_eq!(event_with("date_evenement", "2014-12-31"), implausible);
        assert_eq!(event_with("enregistre_le", "2027-10-31 23:59:59"), None);
        assert_eq!(
            event_with("enregistre_le", "2027-11-01 00:00:00"),
            implausible
        );
        // Wrong type first: an impossible date is not a date at all.
        assert_eq!(event_with("date_evenement", "1026-02-30"), Some(rule::TYPE));
    }

    #[test]
    fn births_must_fall_after_1900_and_before_the_cutoff() {
        let person = [
            "I1",
            "",
            "",
            "",
            "",
            "M",
            "Alpha",
            "",
            "Jean",
            "2000-06-15",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "NV4",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ];
        for (value, expected) in [
            ("1900-01-01", Some(rule::IMPLAUSIBLE_DATE)),
            ("02/01/1900", None),
            ("2026-10-30", None),
            ("2026-10-31", Some(rule::IMPLAUSIBLE_DATE)),
            ("2062-06-15", Some(rule::IMPLAUSIBLE_DATE)),
        ] {
            assert_eq!(
                rule_with(Extract::Individus, &person, "date_naissance", value),
                expected,
                "{value}"
            );
        }
    }

    /// A session with its required fields only.
    const SESSION: [&str; 15] = [
        "S1",
        "Cuisinier",
        "",
        "AFC",
        "4",
        "",
        "",
        "",
        "",
        "",
        "",
        "2026-03-01",
        "2026-06-01",
        "400",
        "12",
    ];

    #[test]
    fn a_session_is_dated_by_its_start() {
        let session = SESSION;
        let rule = |column, value| rule_with(Extract::Sessions, &session, column, value);
        assert_eq!(
            rule("date_debut", "2030-01-01"),
            Some(rule::IMPLAUSIBLE_DATE)
        );
        assert_eq!(
            rule("date_debut", "1026-03-01"),
            Some(rule::IMPLAUSIBLE_DATE)
        );
        // A long course may end years after the cut-off.
        assert_eq!(rule("date_fin", "2029-06-01"), None);
    }

    #[test]
    fn event_rules() {
        let mut v = Validator::new(Extract::Evenements, dates());
        let ok = [
            "P1",
            "ICO",
            "PRESENT_RETENU",
            "",
            "2026-03-01",
            "01/03/2026 10:00:00",
        ];
        assert!(v.push(2, &ok).is_none());
        let cases: &[(&[&str], &str)] = &[
            (
                &[
                    "P1",
                    "ICO",
                    "VALIDEE",
                    "",
                    "2026-03-01",
                    "2026-03-01 10:00:00",
                ],
                rule::STATUS,
            ),
            (
                &[
                    "P1",
                    "ABANDON",
                    "VALIDEE",
                    "",
                    "2026-03-01",
                    "2026-03-01 10:00:00",
                ],
                rule::STATUS,
            ),
            (
                &["P1", "ICO", "", "", "2026-03-01", "2026-03-01 10:00:00"],
                rule::REQUIRED,
            ),
            (
                &["P1", "ICO", "FOO", "", "2026-03-01", "2026-03-01 10:00:00"],
                rule::ENUM,
            ),
            (
                &[
                    "P1",
                    "ICO",
                    "ABSENT",
                    "",
                    "2026-03-02",
                    "2026-03-01 23:59:59",
                ],
                rule::DATE_ORDER,
            ),
            (
                &[
                    "P1",
                    "ICO",
                    "ABSENT",
                    "",
                    "2026-02-30",
                    "2026-03-01 10:00:00",
                ],
                rule::TYPE,
            ),
            (
                &["", "ICO", "ABSENT", "", "2026-03-01", "2026-03-01 10:00:00"],
                rule::REQUIRED,
            ),
        ];
        for (fields, expected) in cases {
            let r = v.push(3, fields).expect("rejected");
            assert_eq!(r.rule, *expected, "{fields:?}: {}", r.detail);
        }
        let batch = v.take_batch().unwrap().unwrap();
        assert_eq!(batch.num_rows(), 1);
    }

    /// Every value of a column is counted against its type, also in rows
    /// that failed on an earlier column; nulls are not values.
    #[test]
    fn type_tallies_count_every_value_of_a_column() {
        let good = SESSION;
        let with = |changes: &[(usize, &'static str)]| {
            let mut f = good;
            for (i, v) in changes {
                f[*i] = v;
            }
            f
        };
        let mut v = Validator::new(Extract::Sessions, dates()).counting_types();
        assert!(v.push(2, &with(&[])).is_none());
        // Fails on date_debut first, then on duree_heures.
        let r = v.push(3, &with(&[(11, "01/13/2026"), (13, "400.5")]));
        assert_eq!(r.map(|r| r.rule), Some(rule::TYPE));
        let r = v.push(4, &with(&[(13, "37.5"), (14, "")]));
        assert_eq!(r.map(|r| r.rule), Some(rule::TYPE));
        let tally = |name: &str| v.tallies()[Extract::Sessions.column_index(name).unwrap()].clone();
        let duree = tally("duree_heures");
        assert_eq!((duree.values, duree.invalid), (3, 2));
        assert_eq!(duree.example.as_deref(), Some("400.5"));
        assert_eq!(tally("date_debut").invalid, 1);
        // A null is not a value; a missing mandatory value neither.
        assert_eq!(tally("places_conventionnees").values, 2);
        assert_eq!(tally("formacode").values, 0);
        // Not asked: nothing counted.
        assert!(Validator::new(Extract::Sessions, dates())
            .tallies()
            .is_empty());
    }

    #[test]
    fn session_rules() {
        let good = [
            "S1",
            "Cuisinier",
            "42752",
            "AFC",
            "4",
            "73282932000074",
            "OF",
            "62193",
            "62",
            "32",
            "3205",
            "2026-03-01",
            "2026-06-01",
            "400",
            "12",
        ];
        let mut v = Validator::new(Extract::Sessions, dates());
        assert!(v.push(2, &good).is_none());
        let mut check = |i: usize, value: &str, expected: &str| {
            let mut f = good;
            f[i] = value;
            let r = v.push(3, &f).expect("rejected");
            assert_eq!(r.rule, expected, "{value}: {}", r.detail);
        };
        check(2, "4275", rule::FORMAT);
        check(5, "73282932000075", rule::SIRET);
        check(7, "6219", rule::FORMAT);
        check(12, "2026-02-01", rule::DATE_ORDER);
        check(13, "0", rule::RANGE);
        check(14, "douze", rule::TYPE);
        check(3, "CPF", rule::ENUM);
    }
}
