//! Parquet extracts as exporters write them (issue 23).

use super::exporters::{Column, Exporter, Values};
use super::*;

pub(crate) const FIXTURE_TABLES: [&str; 6] = [
    "sessions_remplissage",
    "entonnoir",
    "delais",
    "pic",
    "abandons",
    "remplissage",
];

/// A run at `cutoff` on extracts that `write` puts in `extraits/`.
pub(crate) fn run_on(cutoff: &str, write: impl FnOnce(&Path)) -> Run {
    // These tests quarantine rows on purpose.
    let run = Run::new().args(lenient_run_args(cutoff));
    let dir = run.path("extraits");
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir);
    run
}

/// The fixture's extract `name` as CSV text.
pub(crate) fn fixture_csv(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURE).join(format!("{name}.csv"))).unwrap()
}

/// The fixture's extract typed as `exporter` types it.
pub(crate) fn fixture_columns(
    extract: ouistat::testing::schema::Extract,
    exporter: Exporter,
) -> Vec<Column> {
    exporters::columns_of_csv(&fixture_csv(extract.name()), extract, exporter)
}

/// Copies the fixture's CSV extracts `names` to `dir`.
pub(crate) fn copy_fixture_csv(dir: &Path, names: &[&str]) {
    for name in names {
        std::fs::write(dir.join(format!("{name}.csv")), fixture_csv(name)).unwrap();
    }
}

/// The reading notes of a run (`lecture` in `run.json`) as
/// (fichier, colonne, regle, type_parquet, type_attendu, nb, nb_valeurs).
pub(crate) fn reading_notes(run: &Run) -> Vec<(String, String, String, String, String, u64, u64)> {
    let json = run_json(run);
    let Some(notes) = json["lecture"].as_array() else {
        return Vec::new();
    };
    notes
        .iter()
        .map(|n| {
            let s = |k: &str| {
                n[k].as_str()
                    .unwrap_or_else(|| panic!("{k}: {n}"))
                    .to_string()
            };
            let u = |k: &str| n[k].as_u64().unwrap_or_else(|| panic!("{k}: {n}"));
            (
                s("fichier"),
                s("colonne"),
                s("regle"),
                s("type_parquet"),
                s("type_attendu"),
                u("nb"),
                u("nb_valeurs"),
            )
        })
        .collect()
}

/// (lues, acceptees, quarantaine, par_regle) of every extract.
pub(crate) fn reconciled(run: &Run) -> BTreeMap<String, String> {
    let json = run_json(run);
    json["reconciliation"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(extract, r)| {
            let counts = format!(
                "{} {} {} {}",
                r["lues"], r["acceptees"], r["quarantaine"], r["par_regle"]
            );
            (extract.clone(), counts)
        })
        .collect()
}

/// The fixture's indicators and counts are the same from CSV, from an
/// information system's typed Parquet, from pandas' Parquet (floats,
/// midnight timestamps, tz-aware instants) and from Spark's (INT96,
/// DECIMAL); only Spark's INT96 columns get a note, once each.
#[test]
fn issue_23_fixture_indicators_are_the_same_from_csv_and_every_exporters_parquet() {
    let csv = run_fixture();
    for exporter in [Exporter::Typed, Exporter::Pandas, Exporter::Spark] {
        let run = run_on("2026-06-30", |dir| {
            exporters::write_fixture(Path::new(FIXTURE), dir, exporter)
        });
        let stderr = String::from_utf8_lossy(&run.succeeds().stderr).into_owned();
        for table in FIXTURE_TABLES {
            let path = format!("sortie/indicateurs/{table}.parquet");
            let expected = rows(&csv.path(&path));
            assert!(!expected.is_empty(), "{table}");
            assert_eq!(expected, rows(&run.path(&path)), "{exporter:?}: {table}");
        }
        assert_eq!(reconciled(&csv), reconciled(&run), "{exporter:?}");
        let int96: Vec<(String, String, String)> = reading_notes(&run)
            .into_iter()
            .map(|(fichier, colonne, regle, physical, ..)| {
                assert_eq!(physical, "INT96");
                (fichier, colonne, regle)
            })
            .collect();
        let expected: Vec<(String, String, String)> = match exporter {
            Exporter::Spark => [
                ("positionnements.parquet", "date_positionnement"),
                ("evenements.parquet", "enregistre_le"),
            ]
            .iter()
            .map(|(f, c)| (f.to_string(), c.to_string(), "int96_lu_en_utc".to_string()))
            .collect(),
            _ => Vec::new(),
        };
        assert_eq!(int96, expected, "{exporter:?}");
        assert_eq!(
            stderr.matches("is INT96, read as UTC instants").count(),
            expected.len(),
            "{stderr}"
        );
    }
}

/// Positionings for the near-midnight case: [id, person, session, UTC
/// instant]; the other columns empty.
pub(crate) fn positionings(rows: &[[&str; 4]]) -> Vec<Column> {
    let column = |i: usize| exporters::text(&rows.iter().map(|r| r[i]).collect::<Vec<_>>());
    let empty = exporters::text(&vec![""; rows.len()]);
    let none = Values::Bool(vec![None; rows.len()]);
    let instants = Values::Instant(rows.iter().map(|r| Some(exporters::utc(r[3]))).collect());
    [
        ("positionnement_id", column(0)),
        ("identifiant_spe", column(1)),
        ("session_id", column(2)),
        (
            "prescripteur_type",
            exporters::text(&vec!["PE"; rows.len()]),
        ),
        ("prescripteur_structure", empty.clone()),
        ("prescripteur_nom", empty.clone()),
        ("prescripteur_email", empty.clone()),
        ("hors_spe", none.clone()),
        ("date_positionnement", instants),
        ("projet_valide_cep", none.clone()),
        ("freins_identifies", none),
        ("projet_professionnel", empty.clone()),
        ("detail_freins", empty),
    ]
    .into_iter()
    .map(|(name, values)| (name.to_string(), values))
    .collect()
}

/// Events for the near-midnight case: [positioning, type, statut, day,
/// UTC instant of recording].
pub(crate) fn events(exporter: Exporter, rows: &[[&str; 5]]) -> Vec<Column> {
    let column = |i: usize| rows.iter().map(|r| r[i]).collect::<Vec<_>>();
    let instants = Values::Instant(rows.iter().map(|r| Some(exporters::utc(r[4]))).collect());
    [
        ("positionnement_id", exporters::text(&column(0))),
        ("type", exporters::text(&column(1))),
        ("statut", exporters::text(&column(2))),
        ("motif_code", exporters::text(&vec![""; rows.len()])),
        ("date_evenement", exporters::dates(exporter, &column(3))),
        ("enregistre_le", instants),
    ]
    .into_iter()
    .map(|(name, values)| (name.to_string(), values))
    .collect()
}

/// Instants near midnight, on both sides of a month's end in winter
/// (UTC+1) and in summer (UTC+2), of a four-month period's end and of the
/// cut-off, as a warehouse (UTC), pandas (Europe/Paris) and Spark (INT96)
/// write them: each counts on its day in Paris. Read as UTC clock times,
/// Q1, Q3, Q5 would fall a month early, Q7 would exist, and the ICO of Q1
/// and the entry of Q5 would be quarantined as recorded before their date.
#[test]
fn issue_23_instants_near_midnight_count_on_their_day_in_paris() {
    let positioned = [
        ["Q1", "I1", "S1", "2026-01-31 23:30:00"], // 2026-02-01 00:30 CET
        ["Q2", "I2", "S1", "2026-01-31 22:30:00"], // 2026-01-31 23:30 CET
        ["Q3", "I3", "S2", "2026-04-30 22:30:00"], // 2026-05-01 00:30 CEST, T2
        ["Q4", "I4", "S2", "2026-04-30 21:30:00"], // 2026-04-30 23:30 CEST, T1
        ["Q5", "I1", "S2", "2026-06-30 22:30:00"], // 2026-07-01 00:30 CEST
        ["Q6", "I2", "S2", "2026-06-30 21:30:00"], // 2026-06-30 23:30 CEST
        ["Q7", "I3", "S1", "2026-10-31 23:30:00"], // 2026-11-01 00:30 CET: after the cut-off
        ["Q8", "I4", "S1", "2026-10-31 22:59:59"], // 2026-10-31 23:59:59 CET
    ];
    let recorded = [
        [
            "Q1",
            "ICO",
            "PRESENT_RETENU",
            "2026-02-01",
            "2026-01-31 23:45:00",
        ],
        [
            "Q5",
            "ENTREE",
            "AES_RECUE",
            "2026-07-01",
            "2026-06-30 22:40:00",
        ],
        [
            "Q4",
            "ENTREE",
            "AES_RECUE",
            "2026-10-31",
            "2026-10-31 22:30:00",
        ],
        [
            "Q8",
            "ENTREE",
            "AES_RECUE",
            "2026-10-31",
            "2026-10-31 23:30:00",
        ],
        // Recorded 2026-02-01 00:45 in Paris, the day before its date.
        ["Q2", "ICO", "ABSENT", "2026-02-02", "2026-01-31 23:45:00"],
    ];
    for exporter in [Exporter::Typed, Exporter::Pandas, Exporter::Spark] {
        let run = run_on("2026-10-31", |dir| {
            copy_fixture_csv(dir, &["sessions", "individus"]);
            let file = |name: &str| dir.join(format!("{name}.parquet"));
            exporters::write(
                exporter,
                &file("positionnements"),
                &positionings(&positioned),
            );
            exporters::write(exporter, &file("evenements"), &events(exporter, &recorded));
        });
        run.succeeds();
        let e = rows(&run.path("sortie/indicateurs/entonnoir.parquet"));
        let count = |periode: &str, measure: &str| {
            let row = cube_row(&e, periode, "france", "", "ensemble", "ensemble");
            row[measure].clone()
        };
        for (periode, positionnements, entrees) in [
            ("2026-T1", "3", "1"),
            ("2026-T2", "3", "1"),
            ("2026-T3", "1", "0"),
            ("2026-01", "1", "0"),
            ("2026-02", "1", "0"),
            ("2026-04", "1", "1"),
            ("2026-05", "1", "0"),
            ("2026-06", "1", "0"),
            ("2026-07", "1", "1"),
            ("2026-10", "1", "0"),
        ] {
            assert_eq!(
                (
                    count(periode, "nb_positionnements"),
                    count(periode, "nb_entrees")
                ),
                (positionnements.to_string(), entrees.to_string()),
                "{exporter:?} {periode}"
            );
        }
        assert_eq!(count("2026-T1", "nb_presents_ico"), "1", "{exporter:?}");
        // Q5 entered on the day it was positioned, in Paris.
        let d = rows(&run.path("sortie/indicateurs/delais.parquet"));
        let t2 = cube_row(&d, "2026-T2", "france", "", "ensemble", "ensemble");
        assert_eq!(t2["mediane_jours_entree"], "0.0", "{exporter:?}");
        assert!(
            quarantine(&run, "positionnements").is_empty(),
            "{exporter:?}"
        );
        let q = quarantine(&run, "evenements");
        assert_eq!(q.len(), 1, "{exporter:?}: {q:?}");
        let (ligne, regle, contenu) = &q[0];
        assert_eq!((*ligne, regle.as_str()), (6, "dates_incoherentes"));
        // The instant the file holds, in Paris time with its offset.
        assert!(
            contenu.ends_with(";2026-02-01 00:45:00+01:00"),
            "{exporter:?}: {contenu}"
        );
    }
}

/// A TIMESTAMP at midnight in a DATE column is that date and one with a
/// time of day is not; a DOUBLE (pandas) or DECIMAL (a warehouse NUMBER)
/// without a fractional part in an integer column is that integer, and
/// 37.5 is not. The quarantine shows the values as the file holds them.
#[test]
fn issue_23_midnight_timestamps_and_whole_numbers_are_dates_and_integers() {
    use ouistat::testing::schema::Extract;
    let mut csv = fixture_csv("sessions");
    csv.push_str("S4;Maçon;23684;POEC;4;;OF Arras;62041;62;32;3206;2026-08-03;2026-10-30;300;5\n");
    for exporter in [Exporter::Pandas, Exporter::Spark] {
        let mut sessions = exporters::columns_of_csv(&csv, Extract::Sessions, exporter);
        let mut expected = Vec::new();
        if exporter == Exporter::Pandas {
            let mut fin: Vec<_> = ["2026-06-30", "2026-09-30", "2026-10-30", "2026-10-30"]
                .iter()
                .map(|d| exporters::day(d).and_hms_opt(0, 0, 0))
                .collect();
            fin[2] = exporters::day("2026-10-30").and_hms_opt(14, 0, 0);
            exporters::set(&mut sessions, "date_fin", Values::WallClock(fin));
            expected.push((4, "2026-10-30 14:00:00;300.0;5.0"));
        }
        let (places, shown) = match exporter {
            Exporter::Pandas => (
                Values::Float(vec![Some(10.0), Some(2.0), Some(5.0), Some(37.5)]),
                "37.5",
            ),
            _ => (
                Values::Decimal(vec![Some(1000), Some(200), Some(500), Some(3750)], 2),
                "37.50",
            ),
        };
        exporters::set(&mut sessions, "places_conventionnees", places);
        expected.push((5, shown));
        let run = run_on("2026-06-30", |dir| {
            copy_fixture_csv(dir, &["individus", "positionnements", "evenements"]);
            exporters::write(exporter, &dir.join("sessions.parquet"), &sessions);
        });
        run.succeeds();
        let q = quarantine(&run, "sessions");
        let got: Vec<(u64, &str)> = q.iter().map(|(l, r, _)| (*l, r.as_str())).collect();
        let lines: Vec<(u64, &str)> = expected
            .iter()
            .map(|(l, _)| (*l, "type_invalide"))
            .collect();
        assert_eq!(got, lines, "{exporter:?}");
        for ((_, _, contenu), (_, tail)) in q.iter().zip(&expected) {
            assert!(
                contenu.contains(tail),
                "{exporter:?}: {contenu} holds {tail}"
            );
        }
        let s = rows(&run.path("sortie/indicateurs/sessions_remplissage.parquet"));
        for (id, entres, taux) in [("S1", "2", "0.2"), ("S2", "1", "0.5")] {
            assert_measures(
                one(&s, &[("session_id", id)]),
                &[("nb_entres", entres), ("taux_remplissage", taux)],
            );
        }
        // financeur_code 4.0 or 4.00 is the funder 4.
        let f = rows(&run.path("sortie/indicateurs/remplissage.parquet"));
        assert!(
            f.iter()
                .any(|r| r["dimension"] == "financeur_code" && r["modalite"] == "4"),
            "{exporter:?}"
        );
    }
}

/// A column whose values fail their type as a whole (all of them, or more
/// than half) is named once in `run.json` and on the terminal, with its
/// physical type and the expected one; a column where a few fail is not.
#[test]
fn issue_23_a_column_that_fails_as_a_whole_is_named_once() {
    use ouistat::testing::schema::Extract;
    let events = fixture_columns(Extract::Evenements, Exporter::Typed);
    // An export that put the recording time in the date column.
    let mut wrong = events.clone();
    let recorded = events
        .iter()
        .find(|(n, _)| n == "enregistre_le")
        .map(|(_, v)| v.clone())
        .unwrap();
    exporters::set(&mut wrong, "date_evenement", recorded);
    let n_events = exporters::rows(&events) as u64;
    let mut sessions = fixture_columns(Extract::Sessions, Exporter::Pandas);
    exporters::set(
        &mut sessions,
        "duree_heures",
        Values::Float(vec![Some(400.5), Some(600.5), Some(300.0)]),
    );
    exporters::set(
        &mut sessions,
        "places_conventionnees",
        Values::Float(vec![Some(10.0), Some(2.0), Some(5.5)]),
    );
    let run = run_on("2026-06-30", |dir| {
        copy_fixture_csv(dir, &["individus", "positionnements"]);
        exporters::write(Exporter::Typed, &dir.join("evenements.parquet"), &wrong);
        exporters::write(Exporter::Pandas, &dir.join("sessions.parquet"), &sessions);
    });
    let out = run.output();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(run.path("sortie/run.json").exists(), "{stderr}");
    let note = |f: &str, c: &str, physical: &str, expected: &str, nb: u64, values: u64| {
        let t = |s: &str| s.to_string();
        (
            t(f),
            t(c),
            t("colonne_type_invalide"),
            t(physical),
            t(expected),
            nb,
            values,
        )
    };
    assert_eq!(
        reading_notes(&run),
        [
            note("sessions.parquet", "duree_heures", "DOUBLE", "int", 2, 3),
            note(
                "evenements.parquet",
                "date_evenement",
                "INT64 (TIMESTAMP(isAdjustedToUTC = false, MICROS))",
                "date",
                n_events,
                n_events
            ),
        ]
    );
    for (column, times) in [
        ("sessions.parquet: column duree_heures (DOUBLE)", 1),
        ("evenements.parquet: column date_evenement (INT64", 1),
        ("places_conventionnees", 0),
    ] {
        assert_eq!(stderr.matches(column).count(), times, "{column}: {stderr}");
    }
    assert!(
        stderr.contains("expected date (DATE; a TIMESTAMP at midnight"),
        "{stderr}"
    );
    assert_eq!(
        reconciliation(&run, "evenements"),
        (n_events, 0, n_events),
        "every event is quarantined"
    );
}

/// pandas' index and upper-case column names refuse the file, naming it,
/// the column and the likely cause.
#[test]
fn issue_23_pandas_index_and_upper_case_columns_refuse_the_file_naming_it() {
    use ouistat::testing::schema::Extract;
    let mut indexed = fixture_columns(Extract::Positionnements, Exporter::Pandas);
    let n = exporters::rows(&indexed) as i32;
    indexed.push((
        "__index_level_0__".into(),
        Values::Int((0..n).map(Some).collect()),
    ));
    let mut upper = fixture_columns(Extract::Sessions, Exporter::Pandas);
    upper[0].0 = "SESSION_ID".into();
    for (file, columns, expected) in [
        (
            "positionnements",
            indexed,
            ["__index_level_0__", "index=False"],
        ),
        ("sessions", upper, ["SESSION_ID", "lower-case"]),
    ] {
        let run = run_on("2026-06-30", |dir| {
            copy_fixture_csv(
                dir,
                &["sessions", "individus", "positionnements", "evenements"],
            );
            std::fs::remove_file(dir.join(format!("{file}.csv"))).unwrap();
            exporters::write(
                Exporter::Pandas,
                &dir.join(format!("{file}.parquet")),
                &columns,
            );
        });
        let (code, stderr) = run.fails();
        assert_eq!(code, 3, "{stderr}");
        assert!(stderr.contains(&format!("{file}.parquet")), "{stderr}");
        for word in expected {
            assert!(stderr.contains(word), "{word}: {stderr}");
        }
    }
}

/// Codes written as integers are read as they are, never padded back:
/// formacode 2691 is not 02691 (quarantined), commune 62041 and zone
/// d'emploi 3206 are codes.
#[test]
fn issue_23_integer_codes_are_never_padded() {
    use ouistat::testing::schema::Extract;
    let mut sessions = fixture_columns(Extract::Sessions, Exporter::Typed);
    for (column, codes) in [
        ("formacode", [42752, 43436, 2691]),
        ("commune_insee", [62041, 59350, 75056]),
        ("zone_emploi", [3206, 3201, 1101]),
    ] {
        exporters::set(&mut sessions, column, Values::Int(codes.map(Some).to_vec()));
    }
    let run = run_on("2026-06-30", |dir| {
        copy_fixture_csv(dir, &["individus", "positionnements", "evenements"]);
        exporters::write(Exporter::Typed, &dir.join("sessions.parquet"), &sessions);
    });
    run.succeeds();
    let q = quarantine(&run, "sessions");
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!((q[0].0, q[0].1.as_str()), (4, "format_invalide"));
    assert!(
        q[0].2.contains(";2691;") && !q[0].2.contains("02691"),
        "{q:?}"
    );
    let s = rows(&run.path("sortie/indicateurs/sessions_remplissage.parquet"));
    assert_measures(
        one(&s, &[("session_id", "S1")]),
        &[("nb_entres", "2"), ("taux_remplissage", "0.2")],
    );
}

/// Row groups of 0 rows shift no line: a defect after two empty row
/// groups keeps its row number + 2.
#[test]
fn issue_23_empty_row_groups_shift_no_line() {
    use ouistat::testing::schema::Extract;
    let mut events = fixture_columns(Extract::Evenements, Exporter::Spark);
    let statut = events.iter_mut().find(|(n, _)| n == "statut").unwrap();
    let Values::Text(v) = &mut statut.1 else {
        unreachable!("statut is text")
    };
    // The seventh event (line 8) gets an unknown status.
    v[6] = Some("INCONNU".into());
    let n = exporters::rows(&events);
    let run = run_on("2026-06-30", |dir| {
        copy_fixture_csv(dir, &["sessions", "individus", "positionnements"]);
        exporters::write_spark(&dir.join("evenements.parquet"), &events, &[0, 5, 0, n - 5]);
    });
    run.succeeds();
    assert_eq!(
        quarantined_lines(&run, "evenements"),
        [(8, "valeur_inconnue".to_string())]
    );
    assert_eq!(
        reconciliation(&run, "evenements"),
        (n as u64, n as u64 - 1, 1)
    );
}

/// The text `nan` is a value, not a null: a first name `nan` is accepted;
/// a DOUBLE NaN in an integer column is not an integer, and not a missing
/// value either.
#[test]
fn issue_23_the_text_nan_is_not_a_null() {
    use ouistat::testing::schema::Extract;
    let mut persons = fixture_columns(Extract::Individus, Exporter::Typed);
    let Values::Text(prenoms) = &mut persons.iter_mut().find(|(n, _)| n == "prenom").unwrap().1
    else {
        unreachable!("prenom is text")
    };
    prenoms[0] = Some("nan".into());
    let mut sessions = fixture_columns(Extract::Sessions, Exporter::Pandas);
    exporters::set(
        &mut sessions,
        "places_conventionnees",
        Values::Float(vec![Some(10.0), Some(2.0), Some(f64::NAN)]),
    );
    let run = run_on("2026-06-30", |dir| {
        copy_fixture_csv(dir, &["positionnements", "evenements"]);
        exporters::write(Exporter::Typed, &dir.join("individus.parquet"), &persons);
        exporters::write(Exporter::Pandas, &dir.join("sessions.parquet"), &sessions);
    });
    run.succeeds();
    assert!(quarantine(&run, "individus").is_empty());
    let q = quarantine(&run, "sessions");
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!((q[0].0, q[0].1.as_str()), (4, "type_invalide"));
    assert!(q[0].2.ends_with(";nan"), "{q:?}");
}
