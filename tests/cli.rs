//! End-to-end tests: the real `ouistat` binary in a temporary directory.
//! Outputs are read back with the `parquet` crate, not with the DuckDB
//! that wrote them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use arrow::util::display::array_value_to_string;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

mod exporters;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/parcours");

/// A run of the CLI in a fresh temporary directory.
struct Run {
    dir: tempfile::TempDir,
    args: Vec<String>,
}

impl Run {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        // Each run's own temporary directory (staging goes there).
        std::fs::create_dir(dir.path().join("tmp")).expect("tmp dir");
        Run {
            dir,
            args: Vec::new(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Copies a fixture directory to `extraits/`.
    fn extracts(self, fixture: &str) -> Self {
        let to = self.path("extraits");
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(fixture).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
        self
    }

    fn args<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, args: I) -> Self {
        let root = self.dir.path().to_string_lossy().into_owned();
        self.args = args
            .into_iter()
            .map(|a| a.as_ref().replace("{tmp}", &root))
            .collect();
        self
    }

    fn output(&self) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ouistat"))
            .args(&self.args)
            .current_dir(self.dir.path())
            .env("TMPDIR", self.dir.path().join("tmp"))
            .output()
            .expect("run ouistat")
    }

    fn succeeds(&self) -> Output {
        let out = self.output();
        assert!(
            out.status.success(),
            "ouistat {:?} failed:\n{}",
            self.args,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn fails(&self) -> (i32, String) {
        let out = self.output();
        assert!(
            !out.status.success(),
            "ouistat {:?} should have failed",
            self.args
        );
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// `run` on `{tmp}/extraits` into `{tmp}/sortie` at a cut-off.
fn run_args(cutoff: &str) -> Vec<String> {
    [
        "run",
        "--extracts",
        "{tmp}/extraits",
        "--out",
        "{tmp}/sortie",
        "--cutoff",
        cutoff,
    ]
    .map(String::from)
    .to_vec()
}

/// `run_args` for a test about the quarantine itself: a small fixture with
/// one bad row quarantines more than the 5 % that fail a run by default.
fn lenient_run_args(cutoff: &str) -> Vec<String> {
    let mut args = run_args(cutoff);
    args.extend(["--max-quarantine", "100%"].map(String::from));
    args
}

fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every row as column → displayed value ("" for null).
fn rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut out = Vec::new();
    for b in read_parquet(path) {
        for r in 0..b.num_rows() {
            let mut row = HashMap::new();
            for (i, f) in b.schema().fields().iter().enumerate() {
                let col = b.column(i);
                let v = if col.is_null(r) {
                    String::new()
                } else {
                    array_value_to_string(col, r).unwrap()
                };
                row.insert(f.name().clone(), v);
            }
            out.push(row);
        }
    }
    out
}

/// The one row matching every `(column, value)`.
fn one<'a>(
    rows: &'a [HashMap<String, String>],
    filter: &[(&str, &str)],
) -> &'a HashMap<String, String> {
    let found: Vec<_> = rows
        .iter()
        .filter(|r| {
            filter
                .iter()
                .all(|(k, v)| r.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one row for {filter:?}, found {}",
        found.len()
    );
    found[0]
}

fn assert_measures(row: &HashMap<String, String>, expected: &[(&str, &str)]) {
    for (k, v) in expected {
        assert_eq!(
            row.get(*k).map(String::as_str),
            Some(*v),
            "column {k} in {row:?}"
        );
    }
}

fn cube_row<'a>(
    rows: &'a [HashMap<String, String>],
    periode: &str,
    niveau: &str,
    code: &str,
    dim: &str,
    modalite: &str,
) -> &'a HashMap<String, String> {
    one(
        rows,
        &[
            ("periode", periode),
            ("niveau_geo", niveau),
            ("code_geo", code),
            ("dimension", dim),
            ("modalite", modalite),
        ],
    )
}

fn run_fixture() -> Run {
    let run = Run::new().extracts(FIXTURE).args(run_args("2026-06-30"));
    run.succeeds();
    run
}

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

#[test]
fn identical_inputs_give_identical_indicator_files() {
    let a = run_fixture();
    let b = run_fixture();
    for table in [
        "sessions_remplissage",
        "entonnoir",
        "delais",
        "pic",
        "abandons",
    ] {
        let rel = format!("sortie/indicateurs/{table}.parquet");
        assert_eq!(
            std::fs::read(a.path(&rel)).unwrap(),
            std::fs::read(b.path(&rel)).unwrap(),
            "{table}"
        );
    }
}

fn read_defects(path: &Path) -> BTreeSet<(String, u64, String)> {
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

fn quarantined(out: &Path) -> BTreeSet<(String, u64, String)> {
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

// ---------------------------------------------------------------------------
// Deliveries (Annex 1 policy, pseudonymisation, manifests).

const RECIPIENTS: &str = r#"
[[destinataires]]
nom = "pole_emploi"
classe = "pole_emploi"

[[destinataires]]
nom = "financeur-2"
classe = "financeur"
financeur_code = "2"
cle = "cles/f2.cle"

[[destinataires]]
nom = "departement-62"
classe = "partenaire"
departement = "62"
public = "beneficiaire_rsa"
cle = "cles/d62.cle"

[[destinataires]]
nom = "ministere"
classe = "ministere"
cle = "cles/min.cle"

[[destinataires]]
nom = "comite"
classe = "comite"
seuil_secret = 11
"#;

/// `run` with the recipients of `RECIPIENTS`.
fn delivery_args() -> Vec<String> {
    let mut args = run_args("2026-10-31");
    args.extend([
        "--recipients".to_string(),
        "{tmp}/destinataires.toml".to_string(),
    ]);
    args
}

/// Generates a small dataset, keys and recipients, and runs with deliveries.
fn delivery_run(persons: &str) -> Run {
    let mut run = Run::new().args([
        "generate",
        "--out",
        "{tmp}/extraits",
        "--persons",
        persons,
        "--seed",
        "3",
    ]);
    run.succeeds();
    for k in ["f2", "d62", "min"] {
        run = run.args(["keygen", "--out", &format!("{{tmp}}/cles/{k}.cle")]);
        run.succeeds();
    }
    std::fs::write(run.path("destinataires.toml"), RECIPIENTS).unwrap();
    let run = run.args(delivery_args());
    run.succeeds();
    run
}

fn column_values(path: &Path, column: &str) -> Vec<String> {
    rows(path).into_iter().map(|r| r[column].clone()).collect()
}

fn csv_column(path: &Path, column: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(';').collect();
    let i = header.iter().position(|h| *h == column).unwrap();
    lines
        .filter_map(|l| l.split(';').nth(i).map(str::to_string))
        .filter(|v| !v.is_empty())
        .collect()
}

#[test]
fn deliveries_follow_the_policy_and_leak_no_identifier() {
    let run = delivery_run("600");
    let policy: toml::Value = toml::from_str(include_str!("../src/policy/annexe1.toml")).unwrap();
    let entries = policy["colonnes"].as_array().unwrap();
    for (recipient, class) in [
        ("pole_emploi", "pole_emploi"),
        ("financeur-2", "financeur"),
        ("departement-62", "partenaire"),
        ("ministere", "ministere"),
    ] {
        for table in ["sessions", "individus", "positionnements", "evenements"] {
            let path = run.path(&format!("sortie/livraisons/{recipient}/{table}.parquet"));
            let batches = read_parquet(&path);
            let schema = batches.first().map(|b| b.schema()).unwrap_or_else(|| {
                Arc::new(
                    ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
                        .unwrap()
                        .schema()
                        .as_ref()
                        .clone(),
                )
            });
            for field in schema.fields() {
                let (source, pseudo) = match field.name().strip_suffix("_pseudo") {
                    Some(s) => (s, true),
                    None => (field.name().as_str(), false),
                };
                let entry = entries
                    .iter()
                    .find(|e| {
                        e["table"].as_str() == Some(table) && e["colonne"].as_str() == Some(source)
                    })
                    .unwrap_or_else(|| {
                        panic!(
                            "{recipient}/{table}: column {} is not in the policy",
                            field.name()
                        )
                    });
                let treatment = entry[class].as_str().unwrap();
                assert_ne!(
                    treatment,
                    "supprimer",
                    "{recipient}/{table}.{} is not granted",
                    field.name()
                );
                assert_eq!(
                    pseudo,
                    treatment == "pseudonymiser",
                    "{recipient}/{table}.{}",
                    field.name()
                );
            }
        }
        assert!(run
            .path(&format!("sortie/livraisons/{recipient}/dictionnaire.md"))
            .is_file());
    }

    // A byte scan of the ministry's files finds no raw identifier of the input.
    let mut needles: BTreeSet<String> = BTreeSet::new();
    for column in [
        "identifiant_spe",
        "identifiant_national_pe",
        "identifiant_regional_pe",
        "nir",
        "nom_naissance",
        "prenom",
        "email",
        "telephone",
        "adresse",
    ] {
        for v in csv_column(&run.path("extraits/individus.csv"), column) {
            // Short generic values (a first name like "Léa") could appear by chance inside
            // a compressed page; identifiers are long, names are checked when ≥ 6 bytes.
            if v.len() >= 6 {
                needles.insert(v);
            }
        }
    }
    for v in csv_column(
        &run.path("extraits/positionnements.csv"),
        "prescripteur_email",
    ) {
        needles.insert(v);
    }
    assert!(needles.len() > 1000);
    let dir = run.path("sortie/livraisons/ministere");
    let mut files = Vec::new();
    let mut pending = vec![dir.clone()];
    while let Some(d) = pending.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                pending.push(p);
            } else {
                files.push(p);
            }
        }
    }
    assert!(files
        .iter()
        .any(|p| p.ends_with("agregats/entonnoir.parquet")));
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        // Parquet pages are compressed: scan the decoded values too.
        let mut haystacks = vec![bytes];
        if path.extension().and_then(|x| x.to_str()) == Some("parquet") {
            let decoded: String = rows(&path)
                .iter()
                .flat_map(|r| r.values().cloned())
                .collect::<Vec<_>>()
                .join("\n");
            haystacks.push(decoded.into_bytes());
        }
        for hay in &haystacks {
            for n in &needles {
                assert!(
                    !hay.windows(n.len()).any(|w| w == n.as_bytes()),
                    "{} contains the raw value {n}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn funder_delivery_holds_exactly_its_positionings() {
    let run = delivery_run("600");
    // Independent computation from the generated CSV: sessions of funder 2.
    let sessions_text = std::fs::read_to_string(run.path("extraits/sessions.csv")).unwrap();
    let funded: BTreeSet<String> = sessions_text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(';').collect();
            (f[4] == "2").then(|| f[0].to_string())
        })
        .collect();
    let delivered = rows(&run.path("sortie/livraisons/financeur-2/positionnements.parquet"));
    let pe = rows(&run.path("sortie/livraisons/pole_emploi/positionnements.parquet"));
    let expected: usize = pe
        .iter()
        .filter(|r| funded.contains(&r["session_id"]))
        .count();
    assert!(expected > 0);
    assert_eq!(delivered.len(), expected);
    assert!(delivered.iter().all(|r| funded.contains(&r["session_id"])));
    let sessions = rows(&run.path("sortie/livraisons/financeur-2/sessions.parquet"));
    assert!(sessions.iter().all(|r| r["financeur_code"] == "2"));
    // The partner sees only RSA beneficiaries on sessions of département 62.
    let partner = rows(&run.path("sortie/livraisons/departement-62/individus.parquet"));
    assert!(!partner.is_empty());
    assert!(partner.iter().all(|r| r["beneficiaire_rsa"] == "true"));
}

#[test]
fn pseudonyms_are_stable_per_key_and_disjoint_across_keys() {
    let run = delivery_run("400");
    let first = column_values(
        &run.path("sortie/livraisons/ministere/individus.parquet"),
        "identifiant_spe_pseudo",
    );
    // Tables still join: every positioning's person is in the individus table.
    let persons: BTreeSet<String> = first.iter().cloned().collect();
    let pos = column_values(
        &run.path("sortie/livraisons/ministere/positionnements.parquet"),
        "identifiant_spe_pseudo",
    );
    assert!(pos.iter().all(|p| persons.contains(p)));
    // Same key, second run: same pseudonyms, same bytes.
    let before = std::fs::read(run.path("sortie/livraisons/ministere/individus.parquet")).unwrap();
    let run = run.args(delivery_args());
    run.succeeds();
    assert_eq!(
        before,
        std::fs::read(run.path("sortie/livraisons/ministere/individus.parquet")).unwrap()
    );
    // Another recipient's key: disjoint pseudonyms for the same persons.
    let other: BTreeSet<String> = column_values(
        &run.path("sortie/livraisons/financeur-2/individus.parquet"),
        "identifiant_spe_pseudo",
    )
    .into_iter()
    .collect();
    assert!(!other.is_empty());
    assert!(other.is_disjoint(&persons));
    assert!(first
        .iter()
        .all(|p| p.len() == 32 && p.chars().all(|c| c.is_ascii_hexdigit())));
}

#[test]
fn bad_keys_are_refused_and_nothing_is_written() {
    let run = Run::new().extracts(FIXTURE);
    std::fs::create_dir_all(run.path("cles")).unwrap();
    let one = |key: Option<&[u8]>| {
        let _ = std::fs::remove_dir_all(run.path("sortie"));
        let key_path = run.path("cles/min.cle");
        let _ = std::fs::remove_file(&key_path);
        if let Some(k) = key {
            std::fs::write(&key_path, k).unwrap();
        }
        std::fs::write(
            run.path("destinataires.toml"),
            "[[destinataires]]\nnom = \"ministere\"\nclasse = \"ministere\"\ncle = \"cles/min.cle\"\n",
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_ouistat"))
            .args(["run", "--cutoff", "2026-06-30", "--extracts"])
            .arg(run.path("extraits"))
            .arg("--out")
            .arg(run.path("sortie"))
            .arg("--recipients")
            .arg(run.path("destinataires.toml"))
            .output()
            .unwrap();
        assert!(!run.path("sortie").exists(), "something was written");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // A key that cannot be read is a configuration error (exit 2) naming
    // the file and the system's reason; a key too weak is refused (exit 4).
    let (code, err) = one(None);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("cannot read key file") && err.contains("min.cle"),
        "{err}"
    );
    let (code, err) = one(Some(b"00112233"));
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("key too short"), "{err}");
    let (code, err) = one(Some(b"this is not hex at all, not even close!!"));
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("hex"), "{err}");
    let secret = "ab".repeat(40);
    let (code, err) = one(Some(&secret.as_bytes()[..62]));
    assert_eq!(code, Some(4), "{err}");
    assert!(
        err.contains("key too short") && !err.contains(&secret[..20]),
        "{err}"
    );
}

#[test]
fn verify_passes_then_names_the_altered_file() {
    let run = delivery_run("300");
    let dir = run.path("sortie/livraisons/ministere");
    let run = run.args(["verify", &dir.to_string_lossy()]);
    run.succeeds();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["politique_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(manifest["empreinte_cle"].as_str().unwrap().len(), 16);
    let key_hex = std::fs::read_to_string(run.path("cles/min.cle")).unwrap();
    let manifest_text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    assert!(!manifest_text.contains(key_hex.trim()));
    let path = dir.join("positionnements.parquet");
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    // Issue 20: one line per file, as `sha256sum -c` writes them, every
    // file checked after the first failure.
    std::fs::remove_file(dir.join("sessions.parquet")).unwrap();
    std::fs::write(dir.join("notes.txt"), "ajouté").unwrap();
    let out = run.output();
    assert_eq!(out.status.code(), Some(5));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let status_of = |name: &str| -> String {
        let line = format!("{}: ", dir.join(name).display());
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .unwrap_or_else(|| panic!("no line for {name} in\n{stdout}"))
            .to_string()
    };
    assert!(status_of("positionnements.parquet").starts_with("FAILED (SHA-256"));
    assert_eq!(status_of("sessions.parquet"), "missing");
    assert!(status_of("notes.txt").starts_with("extra"));
    for ok in ["individus.parquet", "evenements.parquet", "dictionnaire.md"] {
        assert_eq!(status_of(ok), "OK", "{ok}");
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("positionnements.parquet") && err.contains("3 problem(s)"),
        "{err}"
    );
    // A whole output: every delivery in turn, the altered one failing.
    let whole = run.args(["verify", "{tmp}/sortie"]);
    let out = whole.output();
    assert_eq!(out.status.code(), Some(5));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for recipient in ["pole_emploi", "financeur-2", "departement-62", "comite"] {
        let summary = stdout
            .lines()
            .find(|l| l.contains(&format!("livraisons/{recipient}: ")))
            .unwrap_or_else(|| panic!("{recipient} not checked:\n{stdout}"));
        let (matching, total) = summary
            .split(": ")
            .nth(1)
            .unwrap()
            .split_once(" of ")
            .unwrap();
        assert_eq!(
            matching,
            total.split_whitespace().next().unwrap(),
            "{summary}"
        );
    }
    let listed = manifest["fichiers"].as_array().unwrap().len();
    let expected = format!(
        "livraisons/ministere: {} of {} files match",
        listed - 2,
        listed + 1
    );
    assert!(stdout.contains(&expected), "{expected}:\n{stdout}");
    // A folder that is no delivery says so.
    let run = whole.args(["verify", "{tmp}/cles"]);
    let (code, err) = run.fails();
    assert_eq!(code, 5);
    assert!(err.contains("has no manifest.json"), "{err}");
    let run = run.args(["verify", &dir.to_string_lossy()]);
    // A manifest that names a file outside its delivery is refused before
    // anything is opened.
    let hostile = manifest_text.replacen(
        "\"nom\": \"positionnements.parquet\"",
        "\"nom\": \"../../run.json\"",
        1,
    );
    assert_ne!(hostile, manifest_text);
    std::fs::write(dir.join("manifest.json"), hostile).unwrap();
    let (code, err) = run.fails();
    assert_eq!(code, 5);
    assert!(
        err.contains("../../run.json") && err.contains("not a file of the delivery"),
        "{err}"
    );
}

/// `report` builds paths from `--region` and `--from`: anything but a
/// region code and a recipient name is refused (exit 2), nothing written.
#[test]
fn report_refuses_a_region_or_recipient_that_is_not_a_name() {
    let mut run = Run::new();
    for (region, from) in [
        ("../../tmp", "comite"),
        ("32", "../ministere"),
        ("32/x", "comite"),
    ] {
        run = run.args([
            "report",
            "--out",
            "{tmp}/sortie",
            "--region",
            region,
            "--period",
            "2026-T2",
            "--from",
            from,
        ]);
        let (code, err) = run.fails();
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains(if region == "32" { from } else { region }),
            "{err}"
        );
    }
    assert!(!run.path("sortie").exists());
}

/// The committee receives the tables of its publication plan, cleared:
/// each count below the threshold is null and flagged `A`, complements are
/// flagged `D`, every suppressed count is in the internal audit with an
/// interval at least one unit wide, and the manifest names the plan.
#[test]
fn committee_aggregates_are_cleared() {
    let run = delivery_run("1500");
    let dir = run.path("sortie/livraisons/comite");
    let names: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "agregats".to_string(),
            "dictionnaire.md".into(),
            "manifest.json".into()
        ]),
        "the committee receives no microdata"
    );
    let plan = ouistat::secrecy::Plan::shipped(ouistat::policy::RecipientClass::Comite).unwrap();
    let files: BTreeSet<String> = std::fs::read_dir(dir.join("agregats"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let planned: BTreeSet<String> = plan
        .tables
        .iter()
        .map(|t| format!("{}.parquet", t.nom))
        .collect();
    assert_eq!(
        files, planned,
        "one file per table of the plan, nothing else"
    );
    let (mut primary, mut secondary, mut published) = (0, 0, 0);
    // Each suppressed count: (count, key) as the audit writes them.
    let mut suppressed: BTreeSet<Vec<String>> = BTreeSet::new();
    for table in &plan.tables {
        for r in rows(&dir.join(format!("agregats/{}.parquet", table.nom))) {
            assert!(
                r["niveau_geo"] == "region" || r["niveau_geo"] == "departement",
                "the committee plan has no {} row",
                r["niveau_geo"]
            );
            if r["type_periode"] == "mois" {
                assert_eq!(
                    r["niveau_geo"], "region",
                    "département × month is not in the plan"
                );
            }
            for (k, flag) in r.iter().filter(|(k, _)| k.starts_with("secret_")) {
                let measure = &k["secret_".len()..];
                let value = &r[measure];
                match flag.as_str() {
                    "" if measure.starts_with("nb_") => {
                        let n: i64 = value.parse().unwrap();
                        assert!(n == 0 || n >= 11, "published {measure} = {n} in {r:?}");
                        published += 1;
                    }
                    "" => {}
                    "A" | "D" => {
                        assert!(value.is_empty(), "suppressed {measure} shown in {r:?}");
                        if measure.starts_with("nb_") {
                            if flag == "A" {
                                primary += 1;
                            } else {
                                secondary += 1;
                            }
                            let (_, uses) = ouistat::secrecy::cubes::def(table.cube)
                                .counts
                                .iter()
                                .find(|(c, _)| *c == measure)
                                .unwrap();
                            let motif = match r.get("motif_code") {
                                Some(m) if !uses.all_reasons => m.clone(),
                                _ => "ensemble".to_string(),
                            };
                            let variable = uses.variable.to_string();
                            suppressed.insert(vec![
                                variable,
                                r["periode"].clone(),
                                r["niveau_geo"].clone(),
                                r["code_geo"].clone(),
                                r["dimension"].clone(),
                                r["modalite"].clone(),
                                motif,
                                flag.clone(),
                            ]);
                        }
                    }
                    other => panic!("flag {other} in {r:?}"),
                }
            }
        }
    }
    assert!(
        primary > 0 && secondary > 0 && published > 0,
        "primary {primary}, secondary {secondary}, published {published}"
    );
    // The audit lists each suppressed count once, with its true value and
    // an interval the recipient cannot narrow below one unit.
    let audit = rows(&run.path("sortie/secret/audit-comite.parquet"));
    let mut listed: BTreeSet<Vec<String>> = BTreeSet::new();
    for a in &audit {
        let (lo, hi) = (&a["min_calculable"], &a["max_calculable"]);
        if !hi.is_empty() {
            let (lo, hi): (f64, f64) = (lo.parse().unwrap(), hi.parse().unwrap());
            assert!(hi - lo >= 1.0 - 1e-6, "{a:?}");
        }
        listed.insert(
            [
                "effectif",
                "periode",
                "niveau_geo",
                "code_geo",
                "dimension",
                "modalite",
                "motif_code",
                "secret",
            ]
            .iter()
            .map(|k| a[*k].clone())
            .collect(),
        );
    }
    assert_eq!(listed.len(), audit.len(), "one audit row per count");
    assert!(
        suppressed.is_subset(&listed),
        "every suppressed count is audited"
    );
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.path("sortie/secret/secret-comite.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["effectifs_exposes"], 0);
    // What may not leave the building is readable by its owner only.
    #[cfg(unix)]
    for internal in ["secret", "indicateurs", "quarantaine"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(run.path(&format!("sortie/{internal}")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{internal}");
    }
    assert_eq!(
        summary["effectifs_audites"].as_u64().unwrap() as usize,
        audit.len()
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["plan_sha256"].as_str(), Some(plan.sha256.as_str()));
    let run = run.args(["verify", &dir.to_string_lossy()]);
    run.succeeds();
}

// ---------------------------------------------------------------------------
// The committee report.

fn report_run() -> Run {
    let run = delivery_run("3000");
    let run = run.args([
        "report",
        "--out",
        "{tmp}/sortie",
        "--region",
        "32",
        "--period",
        "2026-T2",
        "--from",
        "comite",
    ]);
    run.succeeds();
    run
}

#[test]
fn report_has_every_section_and_chart_and_no_suppressed_value() {
    let run = report_run();
    let html = std::fs::read_to_string(run.path("sortie/rapport/comite-32-2026-T2.html")).unwrap();
    for section in [
        "1. Chiffres clés",
        "2. Remplissage des sessions",
        "3. Du positionnement à l'entrée en formation",
        "4. Entrées en formation des douze derniers mois",
        "5. Éligibilité au Plan d'investissement",
        "6. Délais",
        "7. Abandons et motifs",
        "8. Méthode",
    ] {
        assert!(html.contains(section), "missing section {section}");
    }
    for chart in [
        "Taux de remplissage par dispositif",
        "Taux de remplissage par département",
        "Du positionnement à l'entrée",
        "Entrées en formation par mois",
        "Part des éligibles PIC",
        "Délai médian",
        "Abandons par motif",
    ] {
        assert!(
            html.contains(&format!("aria-label=\"{}", chart.replace('\'', "&#x27;")))
                || html.contains(&format!("aria-label=\"{chart}")),
            "missing chart {chart}"
        );
    }
    assert_eq!(html.matches("<svg").count(), 7);
    assert!(
        !html.contains("http://")
            || html.matches("http://").count()
                == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    assert!(
        !html.contains("https://"),
        "the report must not fetch anything"
    );
    assert!(html.contains("\u{202f}%"), "French percentages");

    // Every département row of the headline table: where the cleared cube
    // suppresses positionings, the row shows `s` and not the true value.
    let cleared = rows(&run.path("sortie/livraisons/comite/agregats/entonnoir.parquet"));
    let raw = rows(&run.path("sortie/indicateurs/entonnoir.parquet"));
    assert!(cleared.iter().all(|r| r["code_geo"] != "32"
        || r["niveau_geo"] != "region"
        || r["periode"] != "2026-T2"
        || r["secret_nb_positionnements"].is_empty()));
    let mut checked = 0;
    for r in cleared.iter().filter(|r| {
        r["periode"] == "2026-T2"
            && r["niveau_geo"] == "departement"
            && r["dimension"] == "ensemble"
    }) {
        let code = &r["code_geo"];
        let Some(start) = html.find(&format!("<tr data-code=\"{code}\">")) else {
            continue;
        };
        let row = &html[start..start + html[start..].find("</tr>").unwrap()];
        // Positionings, then entries: the first two cells of the row.
        for (cell, measure) in [(1, "nb_positionnements"), (2, "nb_entrees")] {
            let shown = row.split("<td").nth(cell).unwrap();
            if r[&format!("secret_{measure}")].is_empty() {
                assert!(
                    !shown.starts_with(" class=\"s\""),
                    "{code}: published {measure} shown as s"
                );
                continue;
            }
            checked += 1;
            assert!(
                shown.starts_with(" class=\"s\">s<"),
                "{code}: suppressed {measure} shown: {shown}"
            );
            let truth = &one(
                &raw,
                &[
                    ("periode", "2026-T2"),
                    ("niveau_geo", "departement"),
                    ("code_geo", code),
                    ("dimension", "ensemble"),
                    ("modalite", "ensemble"),
                ],
            )[measure];
            assert!(
                !shown.contains(&format!(">{truth}<")),
                "{code}: true {measure} {truth} leaked"
            );
        }
    }
    assert!(
        checked > 0,
        "no suppressed département in the headline table: the check checked nothing"
    );
    // Charts: a suppressed département's fill rate is not drawn, its label says (s).
    let fill = rows(&run.path("sortie/livraisons/comite/agregats/remplissage.parquet"));
    let hauts_de_france = ["02", "59", "60", "62", "80"];
    let chart = {
        let start = html
            .find("aria-label=\"Taux de remplissage par département")
            .unwrap();
        &html[start..start + html[start..].find("</svg>").unwrap()]
    };
    for r in fill.iter().filter(|r| {
        r["periode"] == "2026-T2"
            && r["niveau_geo"] == "departement"
            && r["dimension"] == "ensemble"
            && hauts_de_france.contains(&r["code_geo"].as_str())
    }) {
        let label = format!(">\n{} (s)\n<", r["code_geo"]);
        assert_eq!(
            chart.contains(&label),
            !r["secret_taux_remplissage"].is_empty(),
            "département {} in the fill chart",
            r["code_geo"]
        );
    }
    // The methods page states the cut-off and the quarantine.
    assert!(html.contains("31 octobre 2026"));
    assert!(html.contains("mises en quarantaine"));
}

/// The page loads in headless Chromium without console errors and a
/// screenshot can be taken. Skipped, with a message, where Chromium is not installed.
#[test]
fn report_loads_in_headless_chromium() {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(chromium) = chromium else {
        eprintln!(
            "SKIPPED: Chromium is not installed (scripts/setup.sh installs Debian's chromium)"
        );
        return;
    };
    let run = report_run();
    let page = run.path("sortie/rapport/comite-32-2026-T2.html");
    let shot = run.path("capture.png");
    let profile = run.path("profil-chromium");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1240,1754",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed: {log}");
    let console_errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") && (l.contains("ERROR") || l.contains("Uncaught")))
        .collect();
    assert!(
        console_errors.is_empty(),
        "console errors: {console_errors:?}"
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot of {} bytes",
        png.len()
    );
}

/// A run of the fixture at cut-off 2026-06-30, for the recipients of
/// `toml`; it must succeed.
fn fixture_run(toml: &str) -> Run {
    let run = Run::new().extracts(FIXTURE);
    std::fs::write(run.path("destinataires.toml"), toml).unwrap();
    let mut args = run_args("2026-06-30");
    args.extend(["--recipients", "{tmp}/destinataires.toml"].map(String::from));
    let run = run.args(args);
    run.succeeds();
    run
}

/// The same extracts, run twice (two processes): the committee gets the
/// same tables and the same audit, byte for byte.
#[test]
fn the_same_extracts_give_the_same_cleared_aggregates() {
    let recipients = "[[destinataires]]\nnom = \"comite\"\nclasse = \"comite\"\n";
    let (a, b) = (fixture_run(recipients), fixture_run(recipients));
    let dir = "sortie/livraisons/comite/agregats";
    let mut files = 0;
    for entry in std::fs::read_dir(a.path(dir)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(b.path(&format!("{dir}/{name}"))).unwrap(),
            "{name}"
        );
        files += 1;
    }
    assert!(files >= 5);
    assert_eq!(
        std::fs::read(a.path("sortie/secret/audit-comite.parquet")).unwrap(),
        std::fs::read(b.path("sortie/secret/audit-comite.parquet")).unwrap()
    );
}

/// Issue 21: every release of aggregates goes into the release register,
/// which the next run carries over and takes as published; the same
/// inputs and register give the same bytes; a register made under another
/// plan is refused before any work.
#[test]
fn the_release_register_remembers_every_release_and_refuses_another_plan() {
    let recipients = "[[destinataires]]\nnom = \"comite\"\nclasse = \"comite\"\n\n\
         [[destinataires]]\nnom = \"ministere\"\nclasse = \"ministere\"\ncle = \"cles/min.cle\"\n";
    let run = Run::new().extracts(FIXTURE);
    std::fs::create_dir_all(run.path("cles")).unwrap();
    std::fs::write(run.path("cles/min.cle"), "ab".repeat(32)).unwrap();
    std::fs::write(run.path("destinataires.toml"), recipients).unwrap();
    // Issue 25: the fixture's four persons can never be 5-anonymous; this
    // test is about aggregates, so its policy requires no k of the ministry.
    let no_k = ouistat::policy::ANNEXE1.replace(
        "[[k_anonymat]]\nclasse = \"ministere\"\nk = 5\nsuppression_max = 0.05\n",
        "",
    );
    assert_ne!(no_k, ouistat::policy::ANNEXE1);
    std::fs::write(run.path("politique.toml"), no_k).unwrap();
    let at = |cutoff: &str, out: &str| {
        let mut args = run_args(cutoff);
        args[4] = format!("{{tmp}}/{out}");
        args.extend(["--recipients", "{tmp}/destinataires.toml"].map(String::from));
        args.extend(["--policy", "{tmp}/politique.toml"].map(String::from));
        args
    };
    let run = run.args(at("2026-06-30", "sortie"));
    let first = String::from_utf8_lossy(&run.succeeds().stdout).into_owned();
    assert!(first.contains("0 counts of earlier releases"), "{first}");
    let copy = Command::new("cp")
        .args(["-a", "sortie", "sortie-b"])
        .current_dir(run.dir.path())
        .status()
        .unwrap();
    assert!(copy.success());
    let run = run.args(at("2026-07-10", "sortie"));
    let second = String::from_utf8_lossy(&run.succeeds().stdout).into_owned();
    let taken = run_json(&run)["secret"]["comite"]["diffusions_anterieures"]
        .as_u64()
        .unwrap();
    assert!(taken > 0, "{second}");
    assert!(
        second.contains(&format!("{taken} counts of earlier releases")),
        "{second}"
    );
    let register: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.path("sortie/registre/registre.json")).unwrap(),
    )
    .unwrap();
    let releases: Vec<(String, String)> = register["diffusions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["destinataire"].as_str().unwrap().to_string(),
                e["date_arrete"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        releases,
        [
            ("comite", "2026-06-30"),
            ("ministere", "2026-06-30"),
            ("comite", "2026-07-10"),
            ("ministere", "2026-07-10")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(run.path("sortie/registre"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the register is its owner's only");
    }
    // The same inputs and register give the same register and tables.
    let run = run.args(at("2026-07-10", "sortie-b"));
    run.succeeds();
    for file in [
        "registre/registre.json",
        "registre/effectifs/comite/date_arrete=2026-07-10.parquet",
        "livraisons/comite/agregats/entonnoir.parquet",
        "livraisons/ministere/agregats/entonnoir.parquet",
    ] {
        assert_eq!(
            std::fs::read(run.path(&format!("sortie/{file}"))).unwrap(),
            std::fs::read(run.path(&format!("sortie-b/{file}"))).unwrap(),
            "{file}"
        );
    }
    // Another plan for a recipient with earlier releases is refused, and
    // the output stays as it was.
    std::fs::write(
        run.path("mon-plan.toml"),
        "version = \"autre\"\n[[tableau]]\nnom = \"entonnoir\"\ncube = \"entonnoir\"\nniveaux = [\"region\"]\nperiode = \"quadrimestre\"\n",
    )
    .unwrap();
    std::fs::write(
        run.path("destinataires.toml"),
        recipients.replace(
            "classe = \"comite\"\n",
            "classe = \"comite\"\nplan = \"mon-plan.toml\"\n",
        ),
    )
    .unwrap();
    let before = std::fs::read(run.path("sortie/registre/registre.json")).unwrap();
    let run = run.args(at("2026-07-10", "sortie"));
    let (code, err) = run.fails();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`comite`") && err.contains("plan"), "{err}");
    assert_eq!(
        std::fs::read(run.path("sortie/registre/registre.json")).unwrap(),
        before
    );
}

/// Two recipients with the same plan, threshold and protection level get
/// the same tables, protected once.
#[test]
fn recipients_with_the_same_secrecy_share_one_protection() {
    let run = fixture_run(
        "[[destinataires]]\nnom = \"comite\"\nclasse = \"comite\"\n\n\
         [[destinataires]]\nnom = \"comite_bis\"\nclasse = \"comite\"\nseuil_secret = 11\nniveau_protection = 1\n",
    );
    let read = |name: &str| -> String {
        std::fs::read_to_string(run.path(&format!("sortie/secret/secret-{name}.json"))).unwrap()
    };
    // Equal to the nanosecond (the seconds it took): one protection, not two.
    assert_eq!(read("comite"), read("comite_bis"));
    let dir = run.path("sortie/livraisons/comite/agregats");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name();
        assert_eq!(
            std::fs::read(dir.join(&name)).unwrap(),
            std::fs::read(
                run.path("sortie/livraisons/comite_bis/agregats")
                    .join(&name)
            )
            .unwrap(),
            "{name:?}"
        );
    }
}

/// A recipients file cannot turn primary suppression off, and a plan that
/// names an unknown dimension is refused at load with its line.
#[test]
fn a_low_threshold_or_a_bad_plan_is_refused_before_anything_is_written() {
    let run = Run::new().extracts(FIXTURE);
    std::fs::write(
        run.path("destinataires.toml"),
        "[[destinataires]]\nnom = \"comite\"\nclasse = \"comite\"\nseuil_secret = 1\n",
    )
    .unwrap();
    let mut args = run_args("2026-06-30");
    args.extend(["--recipients", "{tmp}/destinataires.toml"].map(String::from));
    let run = run.args(args.clone());
    let (code, err) = run.fails();
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("seuil_secret = 1"), "{err}");
    std::fs::write(
        run.path("plan.toml"),
        "version = \"1\"\n[[tableau]]\nnom = \"entonnoir\"\ncube = \"entonnoir\"\nniveaux = [\"region\"]\nperiode = \"quadrimestre\"\ndimension = \"couleur\"\n",
    )
    .unwrap();
    std::fs::write(
        run.path("destinataires.toml"),
        "[[destinataires]]\nnom = \"comite\"\nclasse = \"comite\"\nplan = \"plan.toml\"\n",
    )
    .unwrap();
    let (code, err) = run.fails();
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("plan.toml, line 7") && err.contains("`couleur`"),
        "{err}"
    );
    assert!(!run.path("sortie/livraisons").exists());
}

/// Settings that reach DuckDB are checked first: a typo is a usage error
/// (exit 2) naming the flag, not a failed query (issue 15). A header behind
/// a second byte-order mark is refused saying so, not as an invisible
/// unknown column.
#[test]
fn bad_settings_and_a_second_byte_order_mark_are_named() {
    let run = Run::new().extracts(FIXTURE);
    for (extra, says) in [
        (["--threads", "0"], "--threads must be at least 1"),
        (["--memory-limit", "lots"], "--memory-limit `lots`"),
        (["--memory-limit", "2GB'; select 1; --"], "is not a size"),
    ] {
        let mut args = run_args("2026-10-31");
        args.extend(extra.map(String::from));
        let (code, err) = Run {
            dir: tempfile::tempdir().unwrap(),
            args: Vec::new(),
        }
        .args(args)
        .fails();
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(says), "{err}");
    }
    rewrite_bytes(&run, "sessions.csv", |bytes| {
        [&b"\xEF\xBB\xBF\xEF\xBB\xBF"[..], &bytes].concat()
    });
    let (code, err) = run.args(run_args("2026-10-31")).fails();
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("sessions.csv") && err.contains("byte-order mark (U+FEFF)"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// Faults from real exports (tests/fixtures/cases, issue 15): physical line
// numbers, encoding evidence, runaway quotes, implausible dates.

const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cases");

/// A run of one case of `tests/fixtures/cases` at the cases' cut-off.
fn case_run(name: &str, extra: &[&str]) -> Run {
    let mut args = lenient_run_args("2026-10-31");
    args.extend(extra.iter().map(|a| a.to_string()));
    Run::new().extracts(&format!("{CASES}/{name}")).args(args)
}

fn run_json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.path("sortie/run.json")).unwrap()).unwrap()
}

/// (read, accepted, quarantined) of one extract in `run.json`.
fn reconciliation(run: &Run, extract: &str) -> (u64, u64, u64) {
    let r = &run_json(run)["reconciliation"][extract];
    let count = |k: &str| {
        r[k].as_u64()
            .unwrap_or_else(|| panic!("{extract}.{k}: {r}"))
    };
    (count("lues"), count("acceptees"), count("quarantaine"))
}

/// The quarantine of one extract as (ligne, regle, contenu), in line order.
fn quarantine(run: &Run, extract: &str) -> Vec<(u64, String, String)> {
    let mut q: Vec<_> = rows(&run.path(&format!("sortie/quarantaine/{extract}.parquet")))
        .into_iter()
        .map(|r| {
            (
                r["ligne"].parse().unwrap(),
                r["regle"].clone(),
                r["contenu"].clone(),
            )
        })
        .collect();
    q.sort();
    q
}

/// (ligne, regle) of the quarantine of one extract.
fn quarantined_lines(run: &Run, extract: &str) -> Vec<(u64, String)> {
    quarantine(run, extract)
        .into_iter()
        .map(|(l, r, _)| (l, r))
        .collect()
}

fn rewrite(run: &Run, file: &str, edit: impl FnOnce(String) -> String) {
    let path = run.path(&format!("extraits/{file}"));
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
}

fn rewrite_bytes(run: &Run, file: &str, edit: impl FnOnce(Vec<u8>) -> Vec<u8>) {
    let path = run.path(&format!("extraits/{file}"));
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, edit(bytes)).unwrap();
}

/// Three blank lines before a typo: the typo keeps its own physical line.
#[test]
fn case_30_blank_lines_midfile() {
    let run = case_run("30-blank-lines-midfile", &[]);
    run.succeeds();
    assert_eq!(
        quarantined_lines(&run, "evenements"),
        [(14, "valeur_inconnue".to_string())]
    );
    assert_eq!(reconciliation(&run, "evenements"), (18, 17, 1));
}

/// Trailing blank lines (LF and CRLF) are not rows; a row of bare
/// delimiters is quarantined at its own line; the indicators are those of
/// the clean fixture.
#[test]
fn case_21_trailing_empty_lines() {
    let run = case_run("21-trailing-empty-lines", &[]);
    run.succeeds();
    assert_eq!(
        quarantined_lines(&run, "evenements"),
        [(21, "ligne_sans_valeur".to_string())]
    );
    assert_eq!(reconciliation(&run, "evenements"), (19, 18, 1));
    assert_eq!(reconciliation(&run, "individus"), (4, 4, 0));
    let base = Run::new().extracts(FIXTURE).args(run_args("2026-10-31"));
    base.succeeds();
    for table in [
        "entonnoir",
        "delais",
        "pic",
        "abandons",
        "sessions_remplissage",
    ] {
        let path = format!("sortie/indicateurs/{table}.parquet");
        assert_eq!(rows(&base.path(&path)), rows(&run.path(&path)), "{table}");
    }
}

/// A UTF-8 file with a BOM run as Windows-1252 stops the run, naming it,
/// before anything is delivered.
#[test]
fn case_27_bom_declared_cp1252() {
    let run = case_run(
        "27-bom-declared-cp1252",
        &[
            "--encoding",
            "windows-1252",
            "--recipients",
            "{tmp}/extraits/destinataires.toml",
        ],
    );
    let (code, err) = run.fails();
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("individus.csv") && err.contains("UTF-8 byte-order mark"),
        "{err}"
    );
    assert!(!run.path("sortie/livraisons").exists());
}

/// An unbalanced quote in an unquoted export: the bad row is quarantined at
/// its line and the four rows after it are read again, not swallowed.
#[test]
fn case_11_stray_quote_midfile() {
    let run = case_run("11-stray-quote-midfile", &[]);
    run.succeeds();
    let q = quarantine(&run, "positionnements");
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!((q[0].0, q[0].1.as_str()), (4, "guillemet_non_ferme"));
    assert!(q[0].2.ends_with(";\"cariste CACES 1;"), "{q:?}");
    assert_eq!(reconciliation(&run, "positionnements"), (7, 6, 1));
    // P3's events go with it, and only they.
    for (line, rule, content) in quarantine(&run, "evenements") {
        assert_eq!(rule, "parent_en_quarantaine", "line {line}");
        assert!(content.starts_with("P3;"), "line {line}: {content}");
    }
}

/// The same kind as case 30 under other line-end layouts: CRLF, blank lines
/// with spaces, and a multi-line quoted field before the bad row.
#[test]
fn quarantined_rows_keep_their_physical_line_after_multiline_fields_and_crlf() {
    let run = Run::new().extracts(FIXTURE);
    rewrite(&run, "positionnements.csv", |text| {
        text.replacen(
            "N;N;;\nP4;",
            "N;N;\"cariste\nCACES 1;3\n\nsans permis\";\n  \nP4;",
            1,
        )
        .replace("P5;I4;S2;PE;", "P5;I4;S2;APEC;")
        .replace('\n', "\r\n")
    });
    let run = run.args(lenient_run_args("2026-10-31"));
    run.succeeds();
    // P3 spans lines 4-7 and a blank line follows: P5 is on line 10.
    assert_eq!(
        quarantined_lines(&run, "positionnements"),
        [(10, "valeur_inconnue".to_string())]
    );
    assert_eq!(reconciliation(&run, "positionnements"), (7, 6, 1));
}

/// The same kind as case 11: two stray quotes in the same column would
/// close each other into a record of the right width; neither swallows
/// the rows between them.
#[test]
fn stray_quotes_that_close_each_other_swallow_no_row() {
    let run = Run::new().extracts(FIXTURE);
    rewrite(&run, "positionnements.csv", |text| {
        text.replace(
            "P3;I2;S2;ML;ML59001;Conseiller Trois;trois@ml.fr;N;2026-03-20 10:00:00;N;N;;",
            "P3;I2;S2;ML;ML59001;Conseiller Trois;trois@ml.fr;N;2026-03-20 10:00:00;N;N;\"cariste;",
        )
        .replace(
            "P6;I1;S2;PE;PE59001;Conseiller Un;un@pe.fr;N;2026-07-01 08:00:00;N;N;;",
            "P6;I1;S2;PE;PE59001;Conseiller Un;un@pe.fr;N;2026-07-01 08:00:00;N;N;soudeur\";",
        )
    });
    let run = run.args(lenient_run_args("2026-10-31"));
    run.succeeds();
    // P6's lone closing quote is a literal character of an unquoted field.
    assert_eq!(
        quarantined_lines(&run, "positionnements"),
        [(4, "guillemet_non_ferme".to_string())]
    );
    assert_eq!(reconciliation(&run, "positionnements"), (7, 6, 1));
}

/// Lone and doubled carriage returns would shift the line numbers: the
/// file is refused, naming it and the line.
#[test]
fn line_ends_other_than_lf_or_crlf_stop_the_run_naming_the_file() {
    for (ends, line) in [("\r\r\n", "line 1"), ("\r", "line 1")] {
        let run = Run::new().extracts(FIXTURE);
        rewrite(&run, "evenements.csv", |text| text.replace('\n', ends));
        let (code, err) = run.args(run_args("2026-10-31")).fails();
        assert_eq!(code, 3, "{err}");
        assert!(
            err.contains("evenements.csv") && err.contains(line),
            "{err}"
        );
    }
    // One stray CR inside a row.
    let run = Run::new().extracts(FIXTURE);
    rewrite(&run, "evenements.csv", |text| {
        text.replacen("P2;ICO;REPORTE;", "P2;ICO;\rREPORTE;", 1)
    });
    let (code, err) = run.args(run_args("2026-10-31")).fails();
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("evenements.csv") && err.contains("line 5"),
        "{err}"
    );
}

/// The same kind as case 27: UTF-16 (with or without BOM, whatever the
/// declared encoding) and UTF-8 without BOM declared as Windows-1252 stop
/// the run naming the file, with advice that leads somewhere.
#[test]
fn encoding_evidence_contradicting_the_declared_encoding_stops_the_run() {
    let utf16 = |text: String, bom: bool| {
        let mut bytes = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        bytes
    };
    for (bom, encoding) in [(true, "utf-8"), (false, "utf-8"), (true, "windows-1252")] {
        let run = Run::new().extracts(FIXTURE);
        rewrite_bytes(&run, "individus.csv", |bytes| {
            utf16(String::from_utf8(bytes).unwrap(), bom)
        });
        let (code, err) = run
            .args(
                run_args("2026-10-31")
                    .into_iter()
                    .chain(["--encoding".into(), encoding.into()]),
            )
            .fails();
        assert_eq!(code, 3, "{err}");
        assert!(
            err.contains("individus.csv") && err.contains("UTF-16LE"),
            "{err}"
        );
        assert!(!err.contains("--encoding windows-1252"), "{err}");
    }
    // A UTF-8 BOM on a file declared Windows-1252 (case 27 on another
    // file; the others are Windows-1252).
    let run = Run::new().extracts(FIXTURE);
    for f in ["sessions.csv", "individus.csv", "evenements.csv"] {
        rewrite_bytes(&run, f, |bytes| {
            let text = String::from_utf8(bytes).unwrap();
            encoding_rs::WINDOWS_1252.encode(&text).0.into_owned()
        });
    }
    rewrite_bytes(&run, "positionnements.csv", |bytes| {
        [b"\xEF\xBB\xBF".to_vec(), bytes].concat()
    });
    let (code, err) = run
        .args(
            run_args("2026-10-31")
                .into_iter()
                .chain(["--encoding".into(), "windows-1252".into()]),
        )
        .fails();
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("positionnements.csv") && err.contains("UTF-8 byte-order mark"),
        "{err}"
    );
    // UTF-8 without BOM (the fixture: `française`) declared Windows-1252.
    let run = Run::new().extracts(FIXTURE).args(
        run_args("2026-10-31")
            .into_iter()
            .chain(["--encoding".into(), "windows-1252".into()]),
    );
    let (code, err) = run.fails();
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("individus.csv") && err.contains("is UTF-8"),
        "{err}"
    );
}

/// A typo in a year (1026 for 2026) is quarantined under its own rule and
/// does not widen the periods; the window is configurable.
#[test]
fn implausible_dates_are_quarantined_and_do_not_widen_the_periods() {
    let run = Run::new().extracts(FIXTURE);
    rewrite(&run, "positionnements.csv", |text| {
        text.replace("15/02/2026 14:00:00", "15/02/1026 14:00:00")
    });
    rewrite(&run, "individus.csv", |text| {
        text.replace("1970-03-03", "1900-01-01")
    });
    rewrite(&run, "evenements.csv", |text| {
        text.replace(
            "P4;ABANDON;;AB03;2026-04-25;2026-04-25 10:00:00",
            "P4;ABANDON;;AB03;2026-04-25;2207-04-25 10:00:00",
        )
    });
    let run = run.args(lenient_run_args("2026-10-31"));
    run.succeeds();
    assert_eq!(
        quarantined_lines(&run, "positionnements")
            .into_iter()
            .filter(|(_, rule)| rule == "date_improbable")
            .collect::<Vec<_>>(),
        [(3, "date_improbable".to_string())]
    );
    assert_eq!(
        quarantined_lines(&run, "individus"),
        [(4, "date_improbable".to_string())]
    );
    assert!(quarantined_lines(&run, "evenements").contains(&(14, "date_improbable".to_string())));
    let periods = run_json(&run)["periodes"].clone();
    assert_eq!(periods[0], "2026-T1", "{periods}");

    // An older programme: an earlier first plausible day lets 2014 in.
    let run = Run::new().extracts(FIXTURE);
    rewrite(&run, "positionnements.csv", |text| {
        text.replace("15/02/2026 14:00:00", "15/06/2014 14:00:00")
    });
    let run = run.args(lenient_run_args("2026-10-31"));
    run.succeeds();
    assert_eq!(
        quarantined_lines(&run, "positionnements"),
        [(3, "date_improbable".to_string())]
    );
    let run = Run {
        dir: run.dir,
        args: Vec::new(),
    }
    .args(
        lenient_run_args("2026-10-31")
            .into_iter()
            .chain(["--earliest-date".into(), "2014-01-01".into()]),
    );
    run.succeeds();
    assert!(quarantined_lines(&run, "positionnements").is_empty());
    assert_eq!(run_json(&run)["periodes"][0], "2014-T2");
}

/// The end of the plausible window moves with `--latest-date` (default
/// the cut-off plus a year); a window that ends before the cut-off, or
/// that is empty, is refused before anything is written (issue 15).
#[test]
fn the_latest_plausible_date_is_configurable_and_checked() {
    let run = Run::new().extracts(FIXTURE);
    // A positioning planned 13 months after the cut-off.
    rewrite(&run, "positionnements.csv", |text| {
        text.replace("15/02/2026 14:00:00", "15/11/2027 14:00:00")
    });
    let with = |run: Run, extra: &[&str]| -> Run {
        Run {
            dir: run.dir,
            args: Vec::new(),
        }
        .args(
            lenient_run_args("2026-10-31")
                .into_iter()
                .chain(extra.iter().map(|a| a.to_string())),
        )
    };
    let run = with(run, &[]);
    run.succeeds();
    assert_eq!(
        quarantined_lines(&run, "positionnements"),
        [(3, "date_improbable".to_string())]
    );
    let run = with(run, &["--latest-date", "2027-12-31"]);
    run.succeeds();
    assert!(quarantined_lines(&run, "positionnements").is_empty());
    let before = std::fs::read(run.path("sortie/run.json")).unwrap();
    let mut run = run;
    for (extra, says) in [
        (
            &["--latest-date", "2026-10-30"][..],
            "before the cut-off 2026-10-31",
        ),
        (
            &[
                "--earliest-date",
                "2026-10-31",
                "--latest-date",
                "2026-10-31",
            ],
            "is not before the latest",
        ),
        (
            &["--latest-date", "31/12/2027"],
            "--latest-date `31/12/2027` is not a date",
        ),
    ] {
        run = with(run, extra);
        let (code, stderr) = run.fails();
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains(says), "{extra:?}: {stderr}");
        assert_eq!(std::fs::read(run.path("sortie/run.json")).unwrap(), before);
    }
}

/// The periods a run computes are bounded by the data: a cut-off typed
/// two centuries late would compute 2,000 empty months; it is refused
/// (exit 2) and the previous output stays (issue 15).
#[test]
fn a_cutoff_far_beyond_the_data_is_refused() {
    let run = Run::new().extracts(FIXTURE).args(run_args("2026-10-31"));
    run.succeeds();
    let before = std::fs::read(run.path("sortie/run.json")).unwrap();
    let run = run.args(run_args("2206-10-31"));
    let (code, stderr) = run.fails();
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("the cut-off 2206-10-31 is more than a year after the latest date"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(run.path("sortie/run.json")).unwrap(), before);
}

/// The demo at a region's real volume (about 55,000 positionings a
/// four-month period): the committee report shows every region-level
/// figure and every département headline figure, no `s` (issue 14).
#[test]
fn the_regional_demo_report_hides_no_region_or_departement_headline_figure() {
    let run = Run::new().args(["demo", "--dir", "{tmp}/demo"]);
    run.succeeds();
    let html =
        std::fs::read_to_string(run.path("demo/sortie/rapport/comite-32-2026-T2.html")).unwrap();
    let section = |from: &str, to: &str| {
        let start = html.find(from).unwrap();
        &html[start..start + html[start..].find(to).unwrap()]
    };
    for (from, to) in [
        ("1. Chiffres clés", "2. Remplissage"),
        ("2. Remplissage", "3. Du positionnement"),
        ("3. Du positionnement", "4. Entrées en formation"),
        ("4. Entrées en formation", "5. Éligibilité"),
        ("5. Éligibilité", "6. Délais"),
    ] {
        let part = section(from, to);
        assert!(part.contains("<td"), "{from}: no figure at all");
        assert!(
            !part.contains("class=\"s\""),
            "{from}: a figure is suppressed"
        );
    }
    // The committee's protection took the shipped plan, restricted to the region.
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.path("demo/sortie/secret/secret-comite-dreets.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["region"], "32");
    assert_eq!(summary["effectifs_exposes"], 0);
}

/// The staging database (raw personal data) never stays behind: not in
/// OUT, not in the temporary directory, after a run that succeeds or is
/// stopped; a run removes what a run killed with SIGKILL left; and a run
/// stopped midway leaves the previous output whole (issue 15).
#[test]
fn no_staging_data_is_left_after_a_run_however_it_ends() {
    let run = Run::new().extracts(FIXTURE);
    // What a killed run left: a staging folder of a process that is gone.
    let abandoned = run.path("tmp/ouistat-stage-4000000000-abcd");
    std::fs::create_dir_all(&abandoned).unwrap();
    std::fs::write(abandoned.join("stage.duckdb"), "raw data").unwrap();
    let leftovers = |run: &Run| -> Vec<String> {
        std::fs::read_dir(run.path("tmp"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    let run = run.args(run_args("2026-06-30"));
    run.succeeds();
    assert!(leftovers(&run).is_empty(), "{:?}", leftovers(&run));
    assert!(!run.path("sortie/.ouistat").exists());
    // A run stopped by SIGTERM while it stages: the handler removes the
    // staging and the half-built output, and the previous output stays whole.
    let run = run.args([
        "run",
        "--extracts",
        "{tmp}/extraits",
        "--out",
        "{tmp}/sortie-grand",
        "--cutoff",
        "2026-06-30",
    ]);
    run.succeeds();
    let before = std::fs::read(run.path("sortie-grand/run.json")).unwrap();
    let run = run.args(["generate", "--out", "{tmp}/grand", "--persons", "20000"]);
    run.succeeds();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ouistat"))
        .args([
            "run",
            "--extracts",
            "grand",
            "--out",
            "sortie-grand",
            "--cutoff",
            "2026-10-31",
        ])
        .current_dir(run.path(""))
        .env("TMPDIR", run.path("tmp"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while leftovers(&run).is_empty() && started.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        leftovers(&run).len(),
        1,
        "the run stages in the temporary directory"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(!status.success(), "the run was stopped");
    assert!(leftovers(&run).is_empty(), "{:?}", leftovers(&run));
    assert_eq!(
        std::fs::read(run.path("sortie-grand/run.json")).unwrap(),
        before
    );
    let siblings: Vec<String> = std::fs::read_dir(run.path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("en-cours") || n.contains("ancien"))
        .collect();
    assert!(siblings.is_empty(), "{siblings:?}");
}

/// SPEC §3: the `ensemble` row always exists. Session fill has its France
/// row for every four-month period the run computes, with 0 sessions and a
/// null rate where no session starts (issue 16).
#[test]
fn session_fill_has_its_france_row_for_every_period() {
    let run = Run::new().extracts(FIXTURE);
    let run = run.args(run_args("2026-10-31").into_iter().chain([
        "--period".into(),
        "2024-T1".into(),
        "--period".into(),
        "2026-T2".into(),
    ]));
    run.succeeds();
    let france = |file: &str| -> BTreeMap<String, HashMap<String, String>> {
        rows(&run.path(&format!("sortie/indicateurs/{file}.parquet")))
            .into_iter()
            .filter(|r| {
                r["niveau_geo"] == "france"
                    && r["dimension"] == "ensemble"
                    && r["type_periode"] == "quadrimestre"
            })
            .map(|r| (r["periode"].clone(), r))
            .collect()
    };
    let (funnel, fill) = (france("entonnoir"), france("remplissage"));
    assert!(funnel.contains_key("2024-T1"), "{:?}", funnel.keys());
    assert_eq!(
        funnel.keys().collect::<Vec<_>>(),
        fill.keys().collect::<Vec<_>>()
    );
    let empty = &fill["2024-T1"];
    assert_eq!(
        (
            empty["nb_sessions"].as_str(),
            empty["places_conventionnees"].as_str()
        ),
        ("0", "0")
    );
    assert_eq!(empty["taux_remplissage"], "", "a null rate, not 0 or NaN");
}

/// A run killed between the two renames of its swap left the previous
/// output aside and no OUT: the next run puts it back, and a run that then
/// fails leaves it whole (issue 15).
#[test]
fn a_run_puts_back_the_output_a_killed_swap_left_aside() {
    let run = Run::new().extracts(FIXTURE);
    let run = run.args(run_args("2026-06-30"));
    run.succeeds();
    let before = std::fs::read(run.path("sortie/run.json")).unwrap();
    // What a kill between the renames leaves: the output aside, none in place.
    std::fs::rename(run.path("sortie"), run.path(".sortie.ancien-4000000000")).unwrap();
    // A run that fails once its output is under way (an unreadable header).
    std::fs::write(
        run.path("extraits/sessions.csv"),
        "colonne_inconnue;x\n1;2\n",
    )
    .unwrap();
    let (code, _) = run.fails();
    assert_eq!(code, 3);
    assert_eq!(std::fs::read(run.path("sortie/run.json")).unwrap(), before);
    assert!(!run.path(".sortie.ancien-4000000000").exists());
}

/// Every file under `dir` (recursively) by relative path, with its bytes;
/// folders appear with no bytes, so that an extra empty folder shows too.
fn snapshot(dir: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Option<Vec<u8>>>) {
        for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = e.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                out.insert(rel, None);
                walk(root, &path, out);
            } else {
                out.insert(rel, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A snapshot with the timings of its JSON files removed (`durees_secondes`,
/// `secondes_*`): the only bytes in which two runs of the same inputs differ.
fn without_timings(snap: &BTreeMap<String, Option<Vec<u8>>>) -> BTreeMap<String, Option<Vec<u8>>> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.retain(|k, _| k != "durees_secondes" && !k.starts_with("secondes_"));
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    snap.iter()
        .map(|(path, bytes)| {
            let bytes = match bytes {
                Some(b) if path.ends_with(".json") => {
                    let mut v: serde_json::Value = serde_json::from_slice(b)
                        .unwrap_or_else(|e| panic!("{path} is not whole JSON: {e}"));
                    strip(&mut v);
                    Some(serde_json::to_vec(&v).unwrap())
                }
                other => other.clone(),
            };
            (path.clone(), bytes)
        })
        .collect()
}

/// Names in `dir` starting with `prefix`, with the pid that follows it.
fn leftovers_of(dir: &Path, prefix: &str) -> Vec<(String, u32)> {
    let mut found: Vec<(String, u32)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let pid = name.strip_prefix(prefix)?.split('-').next()?.parse().ok()?;
            Some((name, pid))
        })
        .collect();
    found.sort();
    found
}

/// A run with deliveries killed with SIGKILL at many instants, spread over
/// its whole duration and at the steps where it writes (indicators, the
/// temporary folder of a delivery, a finished delivery, the secrecy
/// record, `run.json` just before the swap): after each kill `OUT` is byte for byte the previous complete
/// run, or the new complete run (its `run.json` and every file beside it,
/// timings aside); what a killed run leaves (its half-built output beside
/// `OUT`, its staging database of raw personal data) is removed by the
/// next run as it starts, and nothing is left once a run completes
/// (issue 15).
#[test]
fn a_run_killed_at_any_point_leaves_the_previous_or_the_new_output() {
    let mut run = Run::new().args([
        "generate",
        "--out",
        "{tmp}/extraits",
        "--persons",
        "2000",
        "--seed",
        "3",
    ]);
    run.succeeds();
    for k in ["f2", "d62"] {
        run = run.args(["keygen", "--out", &format!("{{tmp}}/cles/{k}.cle")]);
        run.succeeds();
    }
    let run = run;
    // Every recipient class but the ministry, whose secrecy audit alone
    // would take most of the run.
    let recipients: Vec<&str> = RECIPIENTS
        .split("[[destinataires]]")
        .filter(|b| !b.contains("\"ministere\""))
        .collect();
    std::fs::write(
        run.path("destinataires.toml"),
        recipients.join("[[destinataires]]"),
    )
    .unwrap();
    let args = |cutoff: &str, out: &str| -> Vec<String> {
        [
            "run",
            "--extracts",
            "extraits",
            "--out",
            out,
            "--cutoff",
            cutoff,
            "--recipients",
            "destinataires.toml",
        ]
        .map(String::from)
        .to_vec()
    };
    let spawn = |args: &[String]| {
        Command::new(env!("CARGO_BIN_EXE_ouistat"))
            .args(args)
            .current_dir(run.path(""))
            .env("TMPDIR", run.path("tmp"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let complete = |args: &[String]| {
        let out = Command::new(env!("CARGO_BIN_EXE_ouistat"))
            .args(args)
            .current_dir(run.path(""))
            .env("TMPDIR", run.path("tmp"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // The complete output of each cut-off, built elsewhere; the second run
    // is timed to spread the kills over it.
    let mut complete_output = BTreeMap::new();
    let mut duration = std::time::Duration::ZERO;
    for cutoff in ["2026-06-30", "2026-10-31"] {
        let started = std::time::Instant::now();
        complete(&args(cutoff, &format!("reference-{cutoff}")));
        duration = started.elapsed();
        let out = snapshot(&run.path(&format!("reference-{cutoff}")));
        complete_output.insert(cutoff, without_timings(&out));
    }
    assert_ne!(
        complete_output["2026-06-30"], complete_output["2026-10-31"],
        "the two cut-offs give different outputs"
    );
    complete(&args("2026-06-30", "sortie"));
    let mut in_place = "2026-06-30";

    // Kill points: instants spread over the run, then steps of its writing.
    let mut points: Vec<(String, Option<&str>)> = (1..=7)
        .map(|i| (format!("at {i}/8 of the run"), None))
        .collect();
    for step in [
        "indicateurs/entonnoir.parquet",
        "livraisons/.tmp-pole_emploi",
        "livraisons/pole_emploi/manifest.json",
        "livraisons/.tmp-departement-62",
        "secret",
        "run.json",
    ] {
        points.push((format!("once {step} is written"), Some(step)));
    }
    let mut killed_pids = Vec::new();
    for (i, (when, step)) in points.iter().enumerate() {
        // Each run computes the cut-off that is not in place.
        let cutoff = if in_place == "2026-06-30" {
            "2026-10-31"
        } else {
            "2026-06-30"
        };
        let previous = snapshot(&run.path("sortie"));
        // The output carries its release register over, so the new output
        // is what a complete run gives from the same previous output.
        let from_previous = format!("avant-{i}");
        let copied = Command::new("cp")
            .args(["-a", "sortie", &from_previous])
            .current_dir(run.path(""))
            .status()
            .unwrap();
        assert!(copied.success());
        let mut child = spawn(&args(cutoff, "sortie"));
        let pid = child.id();
        let building = run.path(&format!(".sortie.en-cours-{pid}"));
        match step {
            None => std::thread::sleep(duration * (i as u32 + 1) / 8),
            Some(step) => {
                while !building.join(step).exists() && child.try_wait().unwrap().is_none() {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
        }
        let finished_before_the_kill = child.try_wait().unwrap().is_some();
        child.kill().unwrap();
        child.wait().unwrap();

        let now = snapshot(&run.path("sortie"));
        eprintln!(
            "killed {when}: {}",
            match (finished_before_the_kill, now == previous) {
                (true, _) => "the run had finished",
                (false, true) => "the previous output",
                (false, false) => "the new output",
            }
        );
        if now != previous {
            complete(&args(cutoff, &from_previous));
            let expected = without_timings(&snapshot(&run.path(&from_previous)));
            assert!(
                without_timings(&now) == expected,
                "killed {when}: `sortie` is neither the previous run nor the new one; \
                 files: {:?}",
                now.keys().collect::<Vec<_>>()
            );
            in_place = cutoff;
        }
        std::fs::remove_dir_all(run.path(&from_previous)).unwrap();
        // What killed runs left: only theirs, and this run, once it had
        // made its own, had removed those of the runs before it.
        killed_pids.push(pid);
        for (dir, prefix) in [
            (run.path(""), ".sortie.en-cours-"),
            (run.path(""), ".sortie.ancien-"),
            (run.path("tmp"), "ouistat-stage-"),
        ] {
            let left = leftovers_of(&dir, prefix);
            assert!(
                left.iter().all(|(_, p)| killed_pids.contains(p)),
                "killed {when}: {left:?}"
            );
            if left.iter().any(|(_, p)| *p == pid) {
                assert!(
                    left.iter().all(|(_, p)| *p == pid),
                    "killed {when}: the run did not remove what the runs killed before it left: {left:?}"
                );
            }
        }
    }
    // A run that completes leaves nothing behind, and the new output.
    let cutoff = if in_place == "2026-06-30" {
        "2026-10-31"
    } else {
        "2026-06-30"
    };
    let copied = Command::new("cp")
        .args(["-a", "sortie", "avant-fin"])
        .current_dir(run.path(""))
        .status()
        .unwrap();
    assert!(copied.success());
    complete(&args(cutoff, "sortie"));
    complete(&args(cutoff, "avant-fin"));
    assert!(
        without_timings(&snapshot(&run.path("sortie")))
            == without_timings(&snapshot(&run.path("avant-fin")))
    );
    for (dir, prefix) in [
        (run.path(""), ".sortie."),
        (run.path("tmp"), "ouistat-stage-"),
    ] {
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(prefix))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

// ---------------------------------------------------------------------------
// Issue 20: broken runs fail, commands check what they are asked.

/// A run of the fixture, edited by `edit`, with a committee recipient;
/// it must fail: (the run, its exit code, its stderr).
fn broken_run(cutoff: &str, edit: impl FnOnce(&Run)) -> (Run, i32, String) {
    let run = Run::new().extracts(FIXTURE);
    edit(&run);
    std::fs::write(
        run.path("destinataires.toml"),
        "[[destinataires]]\nnom = \"comite\"\nclasse = \"comite\"\n",
    )
    .unwrap();
    let mut args = run_args(cutoff);
    args.extend(["--recipients", "{tmp}/destinataires.toml"].map(String::from));
    let run = run.args(args);
    let (code, err) = run.fails();
    (run, code, err)
}

/// A run whose input is too damaged exits with code 3 and a diagnosis,
/// after writing its quarantine and `run.json`, and delivers nothing.
#[test]
fn a_damaged_input_fails_the_run_with_a_diagnosis_and_delivers_nothing() {
    /// Cut-off, failing extract, edit of the fixture, what the error says.
    type Case = (&'static str, &'static str, fn(&Run), [&'static str; 3]);
    let cases: [Case; 3] = [
        // Windows-1252 rows read as UTF-8 (the header is ASCII).
        (
            "2026-06-30",
            "individus",
            |run| {
                rewrite_bytes(run, "individus.csv", |b| {
                    let text = String::from_utf8(b).unwrap();
                    encoding_rs::WINDOWS_1252.encode(&text).0.into_owned()
                })
            },
            [
                "4 of 4 rows quarantined (100.0 %",
                "encodage_invalide 4",
                "try --encoding windows-1252",
            ],
        ),
        // SIRETs that went through Excel.
        (
            "2026-06-30",
            "sessions",
            |run| {
                rewrite(run, "sessions.csv", |t| {
                    t.replace(";73282932000074;", ";7.32829E+13;")
                })
            },
            [
                "2 of 3 rows quarantined (66.7 %",
                "siret_invalide 2",
                "organisme_siret = 7.32829E+13",
            ],
        ),
        // A cut-off before the data.
        (
            "2020-01-01",
            "sessions",
            |_| {},
            [
                "3 of 3 rows quarantined (100.0 %",
                "date_improbable 3",
                "the cut-off 2020-01-01 seems to be before the data",
            ],
        ),
    ];
    for (cutoff, extract, edit, says) in cases {
        let (run, code, err) = broken_run(cutoff, edit);
        assert_eq!(code, 3, "{err}");
        let line = err
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{extract}.csv:")))
            .unwrap_or_else(|| panic!("{extract} not named:\n{err}"));
        let diagnosis = err.split(line).nth(1).unwrap().lines().nth(1).unwrap_or("");
        for s in says {
            assert!(
                line.contains(s) || diagnosis.contains(s),
                "`{s}` missing for {extract}:\n{err}"
            );
        }
        assert!(err.contains("nothing was delivered"), "{err}");
        assert!(!run.path("sortie/livraisons").exists(), "{extract}");
        assert!(!run.path("sortie/secret").exists(), "{extract}");
        let json = run_json(&run);
        assert_eq!(json["refus"][0]["extrait"], extract, "{json}");
        let (read, _, quarantined) = reconciliation(&run, extract);
        assert_eq!(
            quarantine(&run, extract).len() as u64,
            quarantined,
            "the quarantine is written"
        );
        assert!(quarantined > 0 && quarantined <= read);
    }
    // One bad row of 18 events (5.6 %) is a typo, not a broken export: the
    // run succeeds. Two of them (11.1 %) fail by default and pass with a
    // higher share; a share that is not one is refused.
    let run = Run::new()
        .extracts(&format!("{CASES}/30-blank-lines-midfile"))
        .args(run_args("2026-10-31"));
    run.succeeds();
    rewrite(&run, "evenements.csv", |t| {
        t.replacen("VALIDEE;", "VALIDE;", 1)
    });
    let (code, err) = run.fails();
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("2 of 18 rows quarantined (11.1 %, more than 5.0 %"),
        "{err}"
    );
    let mut args = run_args("2026-10-31");
    args.extend(["--max-quarantine", "0.12"].map(String::from));
    let run = run.args(args);
    run.succeeds();
    let mut args = run_args("2026-10-31");
    args.extend(["--max-quarantine", "6"].map(String::from));
    let (code, err) = run.args(args).fails();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--max-quarantine `6`"), "{err}");
}

/// The run ends with a summary: each delivery with its rows and its share
/// of suppressed counts, the warnings by rule, and where the outputs are.
#[test]
fn a_run_prints_its_deliveries_secrecy_and_warnings() {
    let run = Run::new().extracts(FIXTURE);
    rewrite(&run, "individus.csv", |t| t.replace(";0600000001;", ";;"));
    std::fs::write(
        run.path("destinataires.toml"),
        "[[destinataires]]\nnom = \"comite\"\nclasse = \"comite\"\nregion = 32\n",
    )
    .unwrap();
    let mut args = run_args("2026-06-30");
    args.extend(["--recipients", "{tmp}/destinataires.toml"].map(String::from));
    let run = run.args(args);
    let stdout = String::from_utf8(run.succeeds().stdout).unwrap();
    let json = run_json(&run);
    let rows = json["livraisons"]["comite"].as_u64().unwrap();
    let secret: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.path("sortie/secret/secret-comite.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(secret["region"], "32", "`region = 32` is the region \"32\"");
    let sum = |k: &str| -> u64 {
        secret["tableaux"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t[k].as_u64().unwrap())
            .sum()
    };
    let (a, d) = (sum("primaires_a"), sum("secondaires_d"));
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("comite "))
        .unwrap_or_else(|| panic!("no delivery line:\n{stdout}"));
    assert!(line.contains(&format!(" {rows} rows")), "{line}");
    assert!(line.contains("sortie/livraisons/comite"), "{line}");
    assert!(
        line.contains(&format!(
            "suppressed counts {} of {}",
            a + d,
            sum("effectifs")
        )) && line.contains(&format!("(A {a}, D {d})")),
        "{line}"
    );
    let warning = stdout
        .lines()
        .find(|l| l.contains("champ_recommande_manquant"))
        .unwrap_or_else(|| panic!("no warning:\n{stdout}"));
    assert!(
        warning.contains("telephone") && warning.trim_end().ends_with(" 1"),
        "{warning}"
    );
    assert!(stdout.contains("sortie/quarantaine/"), "{stdout}");
}

/// A run of the fixture with a committee for region 32, then `report`.
fn committee_run() -> Run {
    fixture_run("[[destinataires]]\nnom = \"comite\"\nclasse = \"comite\"\nregion = 32\n")
}

fn report_args(region: &str, period: &str, from: &str) -> Vec<String> {
    [
        "report",
        "--out",
        "{tmp}/sortie",
        "--region",
        region,
        "--period",
        period,
        "--from",
        from,
    ]
    .map(String::from)
    .to_vec()
}

/// `report` refuses what the delivery does not cover, names what it
/// covers, says how to produce a missing committee delivery, and names the
/// comparison periods the output lacks.
#[test]
fn report_refuses_what_the_delivery_does_not_cover() {
    let mut run = committee_run();
    for (args, says) in [
        (
            report_args("11", "2026-T2", "comite"),
            &[
                "region 11 (Île-de-France) is not in the delivery `comite`",
                "covers region(s) 32 (Hauts-de-France)",
            ][..],
        ),
        (
            report_args("032", "2026-T2", "comite"),
            &["`032`", "did you mean `32`"],
        ),
        (
            report_args("99", "2026-T2", "comite"),
            &["`99` is not an INSEE region code"],
        ),
        (
            report_args("32", "2030-T1", "comite"),
            &["period 2030-T1", "covers 2026-T1, 2026-T2"],
        ),
        (
            report_args("32", "2026-T2", "comite-dreets"),
            &[
                "livraisons/comite-dreets/agregats does not exist",
                "deliveries with aggregates in this output: comite",
                "[[destinataires]]\nnom = \"comite-dreets\"\nclasse = \"comite\"\nregion = \"32\"",
            ],
        ),
    ] {
        run = run.args(args);
        let (code, err) = run.fails();
        assert_eq!(code, 2, "{err}");
        for s in says {
            assert!(err.contains(s), "`{s}` missing: {err}");
        }
    }
    assert!(!run.path("sortie/rapport").exists());
    // A template with a misspelt placeholder, that lost a section.
    let template = ouistat::report::TEMPLATE
        .replace("{{region_nom}}", "{{regoin_nom}}")
        .replace("{{pic}}", "");
    std::fs::write(run.path("gabarit.html"), template).unwrap();
    let mut args = report_args("32", "2026-T2", "comite");
    args.extend(["--template", "{tmp}/gabarit.html"].map(String::from));
    run = run.args(args);
    let (code, err) = run.fails();
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("gabarit.html")
            && err.contains("unknown placeholder(s) {{regoin_nom}}")
            && err.contains("missing section placeholder(s) {{pic}}"),
        "{err}"
    );
    // The report of 2026-T2: 2026-T1 is computed, 2025-T2 is not.
    run = run.args(report_args("32", "2026-T2", "comite"));
    run.succeeds();
    let html = std::fs::read_to_string(run.path("sortie/rapport/comite-32-2026-T2.html")).unwrap();
    assert!(
        html.contains("période non calculée dans cette sortie (2025-T2)"),
        "the missing comparison is not named"
    );
    assert!(html.contains("2025-T2 : n.c."));
    assert!(!html.contains("2026-T1 : n.c."));
    assert!(!html.contains("{{"), "a placeholder is left");
}

/// `query` writes nothing: neither a file (`copy … to`) nor a table; an
/// empty result prints its header and its row count; `--format csv-fr`
/// writes what a French Excel opens.
#[test]
fn query_is_read_only_and_prints_empty_results_and_french_csv() {
    let run = run_fixture();
    let query = |sql: &str, format: &str| {
        Command::new(env!("CARGO_BIN_EXE_ouistat"))
            .args(["query", sql, "--format", format, "--out"])
            .arg(run.path("sortie"))
            .env("TMPDIR", run.path("tmp"))
            .output()
            .unwrap()
    };
    let entonnoir = run.path("sortie/indicateurs/entonnoir.parquet");
    let before = std::fs::read(&entonnoir).unwrap();
    let leak = run.path("fuite.csv");
    for sql in [
        format!(
            "copy (select * from quarantaine_individus) to '{}'",
            leak.display()
        ),
        format!(
            "copy (select 1 as x) to '{}' (format parquet)",
            entonnoir.display()
        ),
        "create table t as select 1 as x".to_string(),
        "set enable_external_access = true".to_string(),
    ] {
        let out = query(&sql, "table");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{sql}: {err}");
        assert!(!err.contains("bug"), "{err}");
        if !sql.starts_with("set") {
            assert!(err.contains("`ouistat query` is read-only"), "{sql}: {err}");
        }
    }
    assert!(!leak.exists(), "copy … to wrote a file");
    assert_eq!(std::fs::read(&entonnoir).unwrap(), before);
    assert!(
        std::fs::read_dir(run.path("tmp")).unwrap().next().is_none(),
        "the private copy of the outputs is removed"
    );

    let empty = "select modalite, nb_positionnements from entonnoir where periode = '1999-T1'";
    let table = String::from_utf8(query(empty, "table").stdout).unwrap();
    assert!(
        table.contains("| modalite | nb_positionnements |") && table.ends_with("0 rows\n"),
        "{table}"
    );
    let csv = String::from_utf8(query(empty, "csv").stdout).unwrap();
    assert_eq!(csv, "modalite,nb_positionnements\n");

    let out = query(
        "select modalite, nb_positionnements, taux_entree from entonnoir where periode = '2026-T1' \
         and niveau_geo = 'france' and dimension = 'dispositif' order by modalite",
        "csv-fr",
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "\u{feff}modalite;nb_positionnements;taux_entree");
    // PRF: 1 entry of 3 positionings (tests/fixtures/parcours/README.md).
    assert!(lines[2].starts_with("PRF;3;0,333"), "{csv}");
}

/// Recipients are checked as they are read: codes quoted or not, the valid
/// values listed, a region or département outside the geography refused,
/// the line named; nothing is written.
#[test]
fn recipients_are_checked_with_their_line_and_valid_values() {
    let run = Run::new().extracts(FIXTURE);
    let mut args = run_args("2026-06-30");
    args.extend(["--recipients", "{tmp}/destinataires.toml"].map(String::from));
    let run = run.args(args);
    let partner = |line: &str| {
        format!(
            "# partenaire\n[[destinataires]]\nnom = \"d62\"\nclasse = \"partenaire\"\n{line}\ncle = \"k.cle\"\n"
        )
    };
    for (toml, says) in [
        (
            "[[destinataires]]\nnom = \"comite\"\nclasse = \"comite\"\nregion = \"99\"\n".to_string(),
            &["destinataires.toml, line 4", "`99` is not an INSEE region code", "32 Hauts-de-France"][..],
        ),
        (
            partner("departement = 62\npublic = \"rsa\""),
            &[
                "destinataires.toml, line 6",
                "unknown public `rsa`, expected one of `beneficiaire_rsa`, `travailleur_handicape`, `beneficiaire_aah`",
            ],
        ),
        (
            partner("departement = \"99\"\npublic = \"beneficiaire_rsa\""),
            &["destinataires.toml, line 5", "`99` is not a département code"],
        ),
        (
            "[[destinataires]]\nnom = \"f\"\nclasse = \"financier\"\n".to_string(),
            &["destinataires.toml, line 3", "`financier`", "`financeur`"],
        ),
        (
            "[[destinataires]]\nnom = \"ok\"\nclasse = \"comite\"\n\n[[destinataires]]\nnom = \"f\"\nclasse = \"financeur\"\n".to_string(),
            &["destinataires.toml, line 5", "funder `f` needs financeur_code"],
        ),
    ] {
        std::fs::write(run.path("destinataires.toml"), &toml).unwrap();
        let (code, err) = run.fails();
        assert_eq!(code, 2, "{toml}\n{err}");
        for s in says {
            assert!(err.contains(s), "`{s}` missing for\n{toml}\n{err}");
        }
        assert!(!run.path("sortie").exists());
    }
}

// ---------------------------------------------------------------------------
// Parquet extracts as exporters write them (issue 23).

use exporters::{Column, Exporter, Values};

const FIXTURE_TABLES: [&str; 6] = [
    "sessions_remplissage",
    "entonnoir",
    "delais",
    "pic",
    "abandons",
    "remplissage",
];

/// A run at `cutoff` on extracts that `write` puts in `extraits/`.
fn run_on(cutoff: &str, write: impl FnOnce(&Path)) -> Run {
    // These tests quarantine rows on purpose.
    let run = Run::new().args(lenient_run_args(cutoff));
    let dir = run.path("extraits");
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir);
    run
}

/// The fixture's extract `name` as CSV text.
fn fixture_csv(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURE).join(format!("{name}.csv"))).unwrap()
}

/// The fixture's extract typed as `exporter` types it.
fn fixture_columns(extract: ouistat::schema::Extract, exporter: Exporter) -> Vec<Column> {
    exporters::columns_of_csv(&fixture_csv(extract.name()), extract, exporter)
}

/// Copies the fixture's CSV extracts `names` to `dir`.
fn copy_fixture_csv(dir: &Path, names: &[&str]) {
    for name in names {
        std::fs::write(dir.join(format!("{name}.csv")), fixture_csv(name)).unwrap();
    }
}

/// The reading notes of a run (`lecture` in `run.json`) as
/// (fichier, colonne, regle, type_parquet, type_attendu, nb, nb_valeurs).
fn reading_notes(run: &Run) -> Vec<(String, String, String, String, String, u64, u64)> {
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
fn reconciled(run: &Run) -> BTreeMap<String, String> {
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
fn positionings(rows: &[[&str; 4]]) -> Vec<Column> {
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
fn events(exporter: Exporter, rows: &[[&str; 5]]) -> Vec<Column> {
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
    use ouistat::schema::Extract;
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
    use ouistat::schema::Extract;
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
    use ouistat::schema::Extract;
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
    use ouistat::schema::Extract;
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
    use ouistat::schema::Extract;
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
    use ouistat::schema::Extract;
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
