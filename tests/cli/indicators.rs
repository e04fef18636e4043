//! Indicators on the hand-computed fixture, the output contract, quarantine and `query`.

use super::*;

/// Expected numbers worked out by hand in tests/fixtures/parcours/README.md.
#[test]
fn funnel_on_hand_computed_fixture() {
    let run = run_fixture();
    let e = rows(&run.path("sortie/indicateurs/entonnoir.parquet"));
    assert_measures(
        cube_row(&e, "2026-T1", "france", "", "ensemble", "ensemble"),
        &[
            ("nb_positionnements", "5"),
            ("nb_presents_ico", "5"),
            ("nb_retenus", "4"),
            ("nb_ais_validees", "3"),
            ("nb_entrees", "3"),
            ("nb_abandons", "1"),
            ("taux_entree", "0.6"),
            ("nb_personnes_positionnees", "4"),
            ("nb_personnes_entrees", "3"),
        ],
    );
    // P7 is positioned on the cut-off day at 23:00: it exists. P6 (the next day) does not.
    assert_measures(
        cube_row(&e, "2026-T2", "france", "", "ensemble", "ensemble"),
        &[
            ("nb_positionnements", "1"),
            ("nb_entrees", "0"),
            ("taux_entree", "0.0"),
        ],
    );
    // Person counts are distinct: I2 is positioned on both schemes.
    assert_measures(
        cube_row(&e, "2026-T1", "france", "", "dispositif", "AFC"),
        &[
            ("nb_positionnements", "2"),
            ("nb_entrees", "2"),
            ("nb_personnes_positionnees", "2"),
        ],
    );
    assert_measures(
        cube_row(&e, "2026-T1", "france", "", "dispositif", "PRF"),
        &[
            ("nb_positionnements", "3"),
            ("nb_entrees", "1"),
            ("nb_personnes_positionnees", "3"),
        ],
    );
    assert_measures(
        cube_row(&e, "2026-T1", "departement", "59", "ensemble", "ensemble"),
        &[("nb_positionnements", "3"), ("nb_retenus", "2")],
    );
    assert_measures(
        cube_row(&e, "2026-T1", "france", "", "tranche_age", "26-49"),
        &[
            ("nb_positionnements", "3"),
            ("nb_personnes_positionnees", "2"),
        ],
    );
    assert_measures(
        cube_row(&e, "2026-02", "france", "", "ensemble", "ensemble"),
        &[("nb_positionnements", "2"), ("nb_entrees", "2")],
    );
    // A group with no data has no row.
    assert!(e.iter().all(|r| !(r["periode"] == "2026-T1"
        && r["dimension"] == "dispositif"
        && r["modalite"] == "POEC")));
}

#[test]
fn delays_pic_abandons_and_fill_on_hand_computed_fixture() {
    let run = run_fixture();
    let d = rows(&run.path("sortie/indicateurs/delais.parquet"));
    assert_measures(
        cube_row(&d, "2026-T1", "france", "", "ensemble", "ensemble"),
        &[
            ("nb_entrees", "3"),
            ("mediane_jours_entree", "29.0"),
            ("p75_jours_entree", "30.0"),
            ("mediane_jours_ico", "9.0"),
            ("p75_jours_ico", "10.5"),
        ],
    );
    let p = rows(&run.path("sortie/indicateurs/pic.parquet"));
    assert_measures(
        cube_row(&p, "2026-T1", "france", "", "ensemble", "ensemble"),
        &[
            ("nb_personnes_positionnees", "4"),
            ("nb_eligibles_pic_positionnes", "2"),
            ("part_eligibles_pic_positionnes", "0.5"),
            ("nb_personnes_entrees", "2"),
            ("nb_eligibles_pic_entres", "1"),
            ("part_eligibles_pic_entres", "0.5"),
        ],
    );
    assert_measures(
        cube_row(&p, "2026-T2", "france", "", "ensemble", "ensemble"),
        &[
            ("nb_personnes_positionnees", "1"),
            ("nb_eligibles_pic_positionnes", "1"),
            ("nb_personnes_entrees", "1"),
            ("nb_eligibles_pic_entres", "0"),
            ("part_eligibles_pic_entres", "0.0"),
        ],
    );
    let a = rows(&run.path("sortie/indicateurs/abandons.parquet"));
    let total = one(
        &a,
        &[
            ("periode", "2026-T1"),
            ("niveau_geo", "france"),
            ("dimension", "ensemble"),
            ("motif_code", "ensemble"),
        ],
    );
    assert_measures(total, &[("nb_entrees", "3"), ("nb_abandons", "1")]);
    assert!(total["taux_abandon"].starts_with("0.3333"), "{total:?}");
    // The ABANDON of P4 precedes its entry: a withdrawal, not an abandon.
    let motifs: BTreeSet<&str> = a
        .iter()
        .filter(|r| {
            r["periode"] == "2026-T1" && r["niveau_geo"] == "france" && r["dimension"] == "ensemble"
        })
        .map(|r| r["motif_code"].as_str())
        .collect();
    assert_eq!(motifs, BTreeSet::from(["AB01", "ensemble"]));

    let s = rows(&run.path("sortie/indicateurs/sessions_remplissage.parquet"));
    assert_eq!(s.len(), 3);
    assert_measures(
        one(&s, &[("session_id", "S1")]),
        &[
            ("periode", "2026-T1"),
            ("nb_positionnes", "3"),
            ("nb_retenus", "2"),
            ("nb_entres", "2"),
            ("taux_remplissage", "0.2"),
        ],
    );
    // P3's later ICO was recorded after the cut-off; P5's entry too.
    assert_measures(
        one(&s, &[("session_id", "S2")]),
        &[
            ("periode", "2026-T2"),
            ("nb_positionnes", "3"),
            ("nb_retenus", "2"),
            ("nb_entres", "1"),
            ("taux_remplissage", "0.5"),
        ],
    );
    assert_measures(
        one(&s, &[("session_id", "S3")]),
        &[
            ("nb_positionnes", "0"),
            ("nb_entres", "0"),
            ("taux_remplissage", "0.0"),
        ],
    );
}

#[test]
fn later_cutoff_revises_earlier_periods() {
    let run = Run::new().extracts(FIXTURE).args(run_args("2026-07-10"));
    run.succeeds();
    let e = rows(&run.path("sortie/indicateurs/entonnoir.parquet"));
    // P5's entry (recorded 5 July) and P3's second ICO (2 July) now exist.
    assert_measures(
        cube_row(&e, "2026-T1", "france", "", "ensemble", "ensemble"),
        &[
            ("nb_positionnements", "5"),
            ("nb_retenus", "5"),
            ("nb_entrees", "4"),
        ],
    );
}

/// Issue 20: `--out` belongs to ouistat or is refused before any work, and
/// nothing a user put there, nor the run's own inputs, is ever deleted.
#[test]
fn a_run_never_deletes_a_file_it_did_not_write() {
    let run = Run::new().extracts(FIXTURE);
    let root = run.dir.path().to_path_buf();
    let refused = |out: &str, needle: &str| {
        // Paths relative to the run's folder, where the command runs.
        let mut args = run_args("2026-06-30");
        args[2] = "extraits".to_string();
        args[4] = out.to_string();
        let out = Command::new(env!("CARGO_BIN_EXE_ouistat"))
            .args(&args)
            .current_dir(&root)
            .env("TMPDIR", root.join("tmp"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    };
    // A folder of the user's own.
    std::fs::create_dir_all(run.path("mon-dossier")).unwrap();
    std::fs::write(run.path("mon-dossier/budget.xlsx"), "mes chiffres").unwrap();
    refused("mon-dossier", "budget.xlsx");
    assert!(run.path("mon-dossier/budget.xlsx").exists());
    // The project folder holding the extracts, the extracts themselves, a
    // folder inside them.
    refused(".", "holds the extracts");
    refused("extraits", "holds the extracts");
    refused("extraits/sortie", "lies inside the extracts");
    assert_eq!(
        std::fs::read_dir(run.path("extraits")).unwrap().count(),
        std::fs::read_dir(FIXTURE).unwrap().count()
    );
    assert!(!run.path("extraits/sortie").exists());

    // A report rendered from a run survives the next run, under its
    // cut-off; a file the user adds to the output stops the next run.
    let run = run.args(run_args("2026-06-30"));
    run.succeeds();
    assert!(run.path("sortie/.ouistat-sortie").is_file());
    std::fs::create_dir_all(run.path("sortie/rapport")).unwrap();
    std::fs::write(
        run.path("sortie/rapport/comite-32-2026-T1.html"),
        "présenté",
    )
    .unwrap();
    let run = run.args(run_args("2026-07-10"));
    let out = run.succeeds();
    let kept = run.path("sortie/rapport/arrete-2026-06-30/comite-32-2026-T1.html");
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "présenté");
    assert!(String::from_utf8_lossy(&out.stdout).contains("arrete-2026-06-30"));
    assert!(!run.path("sortie/rapport/comite-32-2026-T1.html").exists());
    std::fs::write(run.path("sortie/notes.txt"), "à garder").unwrap();
    refused("sortie", "notes.txt");
    assert!(run.path("sortie/notes.txt").exists());
    assert!(kept.exists());
}

/// The contract of SPEC §6: column names and types, read by a second client.
#[test]
fn outputs_follow_the_contract() {
    let run = run_fixture();
    let keys = ["periode", "niveau_geo", "code_geo", "dimension", "modalite"];
    let expected: &[(&str, &[&str])] = &[
        (
            "sessions_remplissage",
            &[
                "session_id",
                "periode",
                "dispositif",
                "financeur_code",
                "region",
                "departement",
                "zone_emploi",
                "date_debut",
                "places_conventionnees",
                "nb_positionnes",
                "nb_retenus",
                "nb_entres",
                "taux_remplissage",
            ],
        ),
        (
            "entonnoir",
            &[
                "nb_positionnements",
                "nb_presents_ico",
                "nb_retenus",
                "nb_ais_validees",
                "nb_entrees",
                "nb_abandons",
                "taux_entree",
                "nb_personnes_positionnees",
                "nb_personnes_entrees",
            ],
        ),
        (
            "delais",
            &[
                "nb_entrees",
                "mediane_jours_entree",
                "p75_jours_entree",
                "mediane_jours_ico",
                "p75_jours_ico",
            ],
        ),
        (
            "pic",
            &[
                "nb_personnes_positionnees",
                "nb_eligibles_pic_positionnes",
                "part_eligibles_pic_positionnes",
                "nb_personnes_entrees",
                "nb_eligibles_pic_entres",
                "part_eligibles_pic_entres",
            ],
        ),
        (
            "abandons",
            &["motif_code", "nb_entrees", "nb_abandons", "taux_abandon"],
        ),
    ];
    for (table, columns) in expected {
        let batches = read_parquet(&run.path(&format!("sortie/indicateurs/{table}.parquet")));
        let schema = batches[0].schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let mut wanted: Vec<&str> = columns.to_vec();
        if *table != "sessions_remplissage" {
            wanted.extend(keys);
        }
        for c in wanted {
            let field = schema
                .field_with_name(c)
                .unwrap_or_else(|_| panic!("{table} lacks column {c}; has {names:?}"));
            let dt = field.data_type();
            let ok =
                if c.starts_with("nb_") || c == "places_conventionnees" || c == "financeur_code" {
                    matches!(dt, DataType::Int64 | DataType::Int32)
                } else if c.starts_with("taux_")
                    || c.starts_with("part_")
                    || c.starts_with("mediane_")
                    || c.starts_with("p75_")
                {
                    dt == &DataType::Float64
                } else if c == "date_debut" {
                    dt == &DataType::Date32
                } else {
                    matches!(
                        dt,
                        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
                    )
                };
            assert!(ok, "{table}.{c} has type {dt:?}");
        }
    }
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.path("sortie/run.json")).unwrap())
            .unwrap();
    for extract in ["sessions", "individus", "positionnements", "evenements"] {
        assert_eq!(
            run_json["reconciliation"][extract]["reconcilie"], true,
            "{extract}"
        );
    }
    assert_eq!(run_json["reconciliation"]["positionnements"]["lues"], 7);
    assert_eq!(run_json["entrees"].as_array().unwrap().len(), 4);
}

/// Same extracts, same cut-off, two processes: every output file is the
/// same bytes (run.json apart from its timings).
#[test]
fn identical_inputs_give_identical_outputs() {
    let a = run_fixture();
    let b = run_fixture();
    fn files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let (mut in_a, mut in_b) = (Vec::new(), Vec::new());
    files(&a.path("sortie"), &a.path("sortie"), &mut in_a);
    files(&b.path("sortie"), &b.path("sortie"), &mut in_b);
    in_a.sort();
    in_b.sort();
    assert_eq!(in_a, in_b);
    assert!(in_a.iter().any(|p| p.ends_with("remplissage.parquet")));
    for rel in &in_a {
        let (fa, fb) = (a.path("sortie").join(rel), b.path("sortie").join(rel));
        if rel.as_os_str() == "run.json" {
            // Everything but the timings.
            let read = |p: &Path| {
                let mut v: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
                v.as_object_mut().unwrap().remove("durees_secondes");
                v
            };
            assert_eq!(read(&fa), read(&fb), "run.json");
            continue;
        }
        assert_eq!(
            std::fs::read(&fa).unwrap(),
            std::fs::read(&fb).unwrap(),
            "{}",
            rel.display()
        );
    }
}

pub(crate) fn read_defects(path: &Path) -> BTreeSet<(String, u64, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let p: Vec<&str> = l.split(';').collect();
            (p[0].to_string(), p[1].parse().unwrap(), p[2].to_string())
        })
        .collect()
}

pub(crate) fn quarantined(out: &Path) -> BTreeSet<(String, u64, String)> {
    let mut all = BTreeSet::new();
    for extract in ["sessions", "individus", "positionnements", "evenements"] {
        for r in rows(&out.join(format!("quarantaine/{extract}.parquet"))) {
            assert!(
                !r["contenu"].is_empty(),
                "quarantined row without content: {r:?}"
            );
            all.insert((
                r["fichier"].clone(),
                r["ligne"].parse().unwrap(),
                r["regle"].clone(),
            ));
        }
    }
    all
}

/// Every injected defect is quarantined under its rule, the cascade follows,
/// no clean row is quarantined, and the counts reconcile.
#[test]
fn injected_defects_are_quarantined_exactly() {
    let run = Run::new().args([
        "generate",
        "--out",
        "{tmp}/extraits",
        "--persons",
        "6000",
        "--seed",
        "11",
        "--defects",
        "0.05",
    ]);
    run.succeeds();
    let expected = read_defects(&run.path("extraits/defauts_injectes.csv"));
    let rules: BTreeSet<&str> = expected.iter().map(|(_, _, r)| r.as_str()).collect();
    for rule in [
        "nombre_champs",
        "encodage_invalide",
        "type_invalide",
        "valeur_inconnue",
        "obligatoire_manquant",
        "format_invalide",
        "siret_invalide",
        "nir_invalide",
        "hors_bornes",
        "dates_incoherentes",
        "date_improbable",
        "statut_incoherent",
        "doublon",
        "cle_etrangere_absente",
        "parent_en_quarantaine",
    ] {
        assert!(rules.contains(rule), "the generator injected no {rule}");
    }
    let run2 = Run {
        dir: run.dir,
        args: Vec::new(),
    }
    .args(lenient_run_args("2026-10-31"));
    run2.succeeds();
    let got = quarantined(&run2.path("sortie"));
    let missing: Vec<_> = expected.difference(&got).take(5).collect();
    let extra: Vec<_> = got.difference(&expected).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}\nunexpected {extra:?}"
    );

    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run2.path("sortie/run.json")).unwrap())
            .unwrap();
    let mut total_q = 0;
    for (extract, r) in run_json["reconciliation"].as_object().unwrap() {
        let (read, acc, q) = (
            r["lues"].as_u64().unwrap(),
            r["acceptees"].as_u64().unwrap(),
            r["quarantaine"].as_u64().unwrap(),
        );
        assert_eq!(read, acc + q, "{extract}");
        total_q += q;
    }
    assert_eq!(total_q as usize, expected.len());
}

#[test]
fn generator_is_deterministic_and_parquet_input_matches_csv() {
    let run = Run::new().args([
        "generate",
        "--out",
        "{tmp}/a",
        "--persons",
        "800",
        "--seed",
        "5",
    ]);
    run.succeeds();
    let run = Run {
        dir: run.dir,
        args: Vec::new(),
    }
    .args([
        "generate",
        "--out",
        "{tmp}/b",
        "--persons",
        "800",
        "--seed",
        "5",
    ]);
    run.succeeds();
    for f in [
        "sessions.csv",
        "individus.csv",
        "positionnements.csv",
        "evenements.csv",
    ] {
        assert_eq!(
            std::fs::read(run.path(&format!("a/{f}"))).unwrap(),
            std::fs::read(run.path(&format!("b/{f}"))).unwrap(),
            "{f}"
        );
    }
    let run = Run {
        dir: run.dir,
        args: Vec::new(),
    }
    .args([
        "generate",
        "--out",
        "{tmp}/p",
        "--persons",
        "800",
        "--seed",
        "5",
        "--format",
        "parquet",
    ]);
    run.succeeds();
    for (input, out) in [("a", "out-csv"), ("p", "out-parquet")] {
        let r = Run {
            dir: tempfile::tempdir().unwrap(),
            args: Vec::new(),
        };
        let _ = r;
        let cmd = Command::new(env!("CARGO_BIN_EXE_ouistat"))
            .args(["run", "--extracts"])
            .arg(run.path(input))
            .arg("--out")
            .arg(run.path(out))
            .args(["--cutoff", "2026-10-31"])
            .output()
            .unwrap();
        assert!(
            cmd.status.success(),
            "{}",
            String::from_utf8_lossy(&cmd.stderr)
        );
    }
    for table in [
        "sessions_remplissage",
        "entonnoir",
        "delais",
        "pic",
        "abandons",
    ] {
        let a = rows(&run.path(&format!("out-csv/indicateurs/{table}.parquet")));
        let b = rows(&run.path(&format!("out-parquet/indicateurs/{table}.parquet")));
        assert!(!a.is_empty());
        assert_eq!(a, b, "{table}");
    }
}

#[test]
fn unreadable_extracts_stop_the_run_naming_the_file() {
    let run = Run::new().extracts(FIXTURE);
    let path = run.path("extraits/sessions.csv");
    let text =
        std::fs::read_to_string(&path)
            .unwrap()
            .replacen("places_conventionnees", "places", 1);
    std::fs::write(&path, text).unwrap();
    let run = run.args(run_args("2026-06-30"));
    let (code, err) = run.fails();
    assert_eq!(code, 3);
    assert!(
        err.contains("sessions.csv") && err.contains("places_conventionnees"),
        "{err}"
    );

    let run = Run::new().extracts(FIXTURE);
    std::fs::remove_file(run.path("extraits/evenements.csv")).unwrap();
    let run = run.args(run_args("2026-06-30"));
    let (_, err) = run.fails();
    assert!(err.contains("evenements"), "{err}");

    // A Windows-1252 file read as UTF-8 fails on its first bytes (the header).
    let run = Run::new().extracts(FIXTURE);
    let path = run.path("extraits/individus.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("prenom", "pr\u{e9}nom", 1);
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
    std::fs::write(&path, bytes).unwrap();
    let run = run.args(run_args("2026-06-30"));
    let (_, err) = run.fails();
    assert!(
        err.contains("individus.csv") && err.contains("UTF-8"),
        "{err}"
    );
}

/// A failure to write the output is the system's, named with its path,
/// never "a bug in ouistat" (issue 15): here the output's parent is a file.
#[test]
fn an_output_that_cannot_be_written_names_its_path_and_the_system_error() {
    let run = Run::new().extracts(FIXTURE);
    std::fs::write(run.path("fichier"), "not a folder").unwrap();
    let run = run.args([
        "run",
        "--extracts",
        "{tmp}/extraits",
        "--out",
        "{tmp}/fichier/sortie",
        "--cutoff",
        "2026-06-30",
    ]);
    let (code, err) = run.fails();
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("fichier") && err.contains("os error") && !err.contains("bug"),
        "{err}"
    );
}

/// BOM, CRLF and Windows-1252 give the same staged data as plain UTF-8.
#[test]
fn encodings_bom_and_crlf_are_accepted() {
    let base = run_fixture();
    // Windows-1252 (the fixture has accented values) with CRLF.
    let run = Run::new().extracts(FIXTURE);
    for f in [
        "sessions.csv",
        "individus.csv",
        "positionnements.csv",
        "evenements.csv",
    ] {
        let path = run.path(&format!("extraits/{f}"));
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace('\n', "\r\n");
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
        assert!(!unmappable);
        std::fs::write(&path, &bytes).unwrap();
    }
    let run = run.args([
        "run",
        "--extracts",
        "{tmp}/extraits",
        "--out",
        "{tmp}/sortie",
        "--cutoff",
        "2026-06-30",
        "--encoding",
        "windows-1252",
    ]);
    run.succeeds();
    let a = rows(&base.path("sortie/indicateurs/entonnoir.parquet"));
    let b = rows(&run.path("sortie/indicateurs/entonnoir.parquet"));
    assert_eq!(a, b);

    // UTF-8 with BOM and CRLF.
    let run = Run::new().extracts(FIXTURE);
    for f in [
        "sessions.csv",
        "individus.csv",
        "positionnements.csv",
        "evenements.csv",
    ] {
        let path = run.path(&format!("extraits/{f}"));
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(
            std::fs::read_to_string(&path)
                .unwrap()
                .replace('\n', "\r\n")
                .as_bytes(),
        );
        std::fs::write(&path, bytes).unwrap();
    }
    let run = run.args(run_args("2026-06-30"));
    run.succeeds();
    assert_eq!(a, rows(&run.path("sortie/indicateurs/entonnoir.parquet")));
}

#[test]
fn query_prints_tables_csv_and_json() {
    let run = run_fixture();
    let q = |format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_ouistat"))
            .args([
                "query",
                "select modalite, nb_positionnements from entonnoir where periode = '2026-T1' and niveau_geo = 'france' and dimension = 'dispositif' order by modalite",
                "--format",
                format,
                "--out",
            ])
            .arg(run.path("sortie"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(q("csv"), "modalite,nb_positionnements\nAFC,2\nPRF,3\n");
    let json = q("json");
    assert!(
        json.contains(r#"{"modalite":"AFC","nb_positionnements":2}"#),
        "{json}"
    );
    assert!(q("table").contains("| PRF"));
    let bad = Command::new(env!("CARGO_BIN_EXE_ouistat"))
        .args(["query", "select * from nulle_part", "--out"])
        .arg(run.path("sortie"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(3));
    // A result the format cannot print is the user's query, not a bug.
    for (format, sql) in [
        ("csv", "select [1, 2] as liste"),
        ("json", "select union_value(k := 1) as u"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ouistat"))
            .args(["query", sql, "--format", format, "--out"])
            .arg(run.path("sortie"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(
            stderr.contains("cannot be printed as") && !stderr.contains("bug"),
            "{stderr}"
        );
    }
}

#[test]
fn warnings_are_counted_per_rule() {
    let run = Run::new().extracts(FIXTURE);
    let path = run.path("extraits/individus.csv");
    // Drop I1's telephone and give I2 an implausible birth date.
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(";0600000001;", ";;")
        .replace("01/01/1980", "01/01/1930");
    std::fs::write(&path, text).unwrap();
    let path = run.path("extraits/evenements.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("AB01", "ZZ99");
    std::fs::write(&path, text).unwrap();
    let run = run.args(run_args("2026-06-30"));
    run.succeeds();
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.path("sortie/run.json")).unwrap())
            .unwrap();
    let warnings: BTreeMap<String, u64> = run_json["avertissements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                format!(
                    "{}:{}",
                    w["regle"].as_str().unwrap(),
                    w["colonne"].as_str().unwrap()
                ),
                w["nb"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        warnings.get("champ_recommande_manquant:telephone"),
        Some(&1),
        "{warnings:?}"
    );
    assert_eq!(
        warnings.get("age_improbable:date_naissance"),
        Some(&1),
        "{warnings:?}"
    );
    assert_eq!(
        warnings.get("motif_inconnu:motif_code"),
        Some(&1),
        "{warnings:?}"
    );
    // Warnings keep the row.
    assert_eq!(run_json["reconciliation"]["individus"]["quarantaine"], 0);
}

/// Three runs at three cut-offs into one output: the history holds one
/// partition per cut-off, a rerun replaces its own, `query` reads them
/// as `historique_<cube>` with the cut-off as a column, and
/// `indicateurs/` carries a dictionary describing every column.
#[test]
fn the_history_keeps_every_cut_off_and_the_cubes_have_a_dictionary() {
    let run = Run::new().extracts(FIXTURE);
    let mut run = run;
    for cutoff in ["2026-06-30", "2026-07-10", "2026-07-20", "2026-07-10"] {
        run = run.args(run_args(cutoff));
        run.succeeds();
    }
    let partitions: Vec<String> = std::fs::read_dir(run.path("sortie/historique/entonnoir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        partitions,
        [
            "date_arrete=2026-06-30",
            "date_arrete=2026-07-10",
            "date_arrete=2026-07-20"
        ]
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ouistat"))
        .args([
            "query",
            "select cast(date_arrete as varchar) as date_arrete, nb_positionnements from historique_entonnoir \
             where periode = '2026-T1' and niveau_geo = 'france' and dimension = 'ensemble' order by 1",
            "--format",
            "csv",
            "--out",
        ])
        .arg(run.path("sortie"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[1].starts_with("2026-06-30,") && lines[3].starts_with("2026-07-20,"));
    let dictionary =
        std::fs::read_to_string(run.path("sortie/indicateurs/dictionnaire.md")).unwrap();
    for cube in [
        "entonnoir",
        "delais",
        "pic",
        "abandons",
        "remplissage",
        "sessions_remplissage",
    ] {
        assert!(dictionary.contains(&format!("## {cube}.parquet")), "{cube}");
    }
    assert!(dictionary.contains("Ne jamais additionner"));
    assert!(
        !dictionary.contains(ouistat::testing::cube_dictionary::UNDESCRIBED),
        "{dictionary}"
    );
}
