//! Issue 25: the ministry's microdata, measured and made k-anonymous as
//! the policy says, checked from the delivered files alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/parcours");

/// A temporary working folder and the CLI run in it.
struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Self {
        Work {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn cli(&self, args: &[&str]) -> Output {
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{tmp}", &self.dir.path().to_string_lossy()))
            .collect();
        Command::new(env!("CARGO_BIN_EXE_ouistat"))
            .args(&args)
            .output()
            .expect("ouistat runs")
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// A ministry recipient with a fresh key.
    fn ministry(&self) {
        self.ok(&["keygen", "--out", "{tmp}/cles/min.cle"]);
        std::fs::write(
            self.path("destinataires.toml"),
            "[[destinataires]]\nnom = \"ministere\"\nclasse = \"ministere\"\ncle = \"cles/min.cle\"\n",
        )
        .unwrap();
    }

    fn run(&self, extra: &[&str]) -> Output {
        let mut args = vec![
            "run",
            "--extracts",
            "{tmp}/extraits",
            "--out",
            "{tmp}/sortie",
            "--cutoff",
            "2026-10-31",
            "--recipients",
            "{tmp}/destinataires.toml",
        ];
        args.extend(extra);
        self.cli(&args)
    }
}

/// Every row of a Parquet file, columns as text (null as `None`).
fn rows(path: &Path) -> Vec<BTreeMap<String, Option<String>>> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let schema = batch.schema();
        let cols: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| arrow::compute::cast(c, &DataType::Utf8).unwrap())
            .collect();
        for r in 0..batch.num_rows() {
            out.push(
                schema
                    .fields()
                    .iter()
                    .zip(&cols)
                    .map(|(f, c)| {
                        let s = c.as_string::<i32>();
                        (
                            f.name().clone(),
                            (!s.is_null(r)).then(|| s.value(r).to_string()),
                        )
                    })
                    .collect(),
            );
        }
    }
    out
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

/// Distinct persons per combination of `columns`.
fn groups<'a>(
    rows: impl Iterator<Item = (Vec<Option<String>>, &'a str)>,
) -> BTreeMap<Vec<Option<String>>, BTreeSet<&'a str>> {
    let mut g: BTreeMap<_, BTreeSet<&str>> = BTreeMap::new();
    for (key, person) in rows {
        g.entry(key).or_default().insert(person);
    }
    g
}

/// The law of issue 25, on random generated extracts: every combination
/// of the declared quasi-identifiers in the delivered files is shared by
/// at least k = 5 persons, in each file and for a person joined with each
/// of their positionings; computed from the files and the manifest's list
/// of quasi-identifiers only. The same inputs give the same bytes.
#[test]
fn ministry_microdata_is_k_anonymous_from_the_delivered_files_alone() {
    for (seed, persons) in [("7", "600"), ("19", "1500")] {
        let w = Work::new();
        w.ok(&[
            "generate",
            "--out",
            "{tmp}/extraits",
            "--persons",
            persons,
            "--seed",
            seed,
        ]);
        w.ministry();
        let out = w.run(&[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = w.path("sortie/livraisons/ministere");
        let m = manifest(&dir);
        let risk = &m["risque_reidentification"];
        assert_eq!(risk["k"], 5);
        assert_eq!(risk["k_exige"], true);
        let qis: Vec<(String, String)> = risk["quasi_identifiants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                let (t, c) = q.as_str().unwrap().split_once('.').unwrap();
                (t.to_string(), c.to_string())
            })
            .collect();
        let of = |t: &str| -> Vec<String> {
            qis.iter()
                .filter(|q| q.0 == t)
                .map(|q| q.1.clone())
                .collect()
        };
        let (qi_ind, qi_pos, qi_evt) = (of("individus"), of("positionnements"), of("evenements"));
        assert!(qi_ind.len() >= 3 && !qi_pos.is_empty() && !qi_evt.is_empty());
        let ind = rows(&dir.join("individus.parquet"));
        let pos = rows(&dir.join("positionnements.parquet"));
        let evt = rows(&dir.join("evenements.parquet"));
        let pick = |r: &BTreeMap<String, Option<String>>, cols: &[String]| -> Vec<Option<String>> {
            cols.iter()
                .map(|c| {
                    r.get(c)
                        .unwrap_or_else(|| panic!("column {c} delivered"))
                        .clone()
                })
                .collect()
        };
        let person = |r: &BTreeMap<String, Option<String>>| -> String {
            r["identifiant_spe_pseudo"].clone().unwrap()
        };
        let persons_of: BTreeMap<String, &BTreeMap<String, Option<String>>> =
            ind.iter().map(|r| (person(r), r)).collect();
        let ids: Vec<String> = ind.iter().map(person).collect();
        let small = |g: &BTreeMap<Vec<Option<String>>, BTreeSet<&str>>| {
            g.values().map(BTreeSet::len).min().unwrap_or(usize::MAX)
        };
        // individus
        let g = groups(
            ind.iter()
                .zip(&ids)
                .map(|(r, p)| (pick(r, &qi_ind), p.as_str())),
        );
        assert!(
            small(&g) >= 5,
            "seed {seed}: individus group of {}",
            small(&g)
        );
        // a person with each of their positionings
        let pos_person: Vec<String> = pos.iter().map(person).collect();
        let joined = groups(pos.iter().zip(&pos_person).map(|(r, p)| {
            let who = persons_of
                .get(p)
                .expect("every positioning's person is delivered");
            let mut key = pick(who, &qi_ind);
            key.extend(pick(r, &qi_pos));
            (key, p.as_str())
        }));
        assert!(
            small(&joined) >= 5,
            "seed {seed}: joined group of {}",
            small(&joined)
        );
        // events, through their positioning's person
        let by_pos: BTreeMap<String, String> = pos
            .iter()
            .map(|r| (r["positionnement_id_pseudo"].clone().unwrap(), person(r)))
            .collect();
        let evt_person: Vec<String> = evt
            .iter()
            .map(|r| by_pos[r["positionnement_id_pseudo"].as_ref().unwrap()].clone())
            .collect();
        let g = groups(
            evt.iter()
                .zip(&evt_person)
                .map(|(r, p)| (pick(r, &qi_evt), p.as_str())),
        );
        assert!(small(&g) >= 5, "seed {seed}: events group of {}", small(&g));
        // The manifest's figures are the files'.
        let after = risk["apres"].as_array().unwrap();
        let view = |name: &str| after.iter().find(|v| v["vue"] == name).unwrap();
        assert_eq!(view("individus")["enregistrements"], ind.len());
        assert_eq!(
            view("individus_positionnements")["enregistrements"],
            pos.len()
        );
        assert_eq!(view("evenements")["enregistrements"], evt.len());
        assert!(after
            .iter()
            .all(|v| v["plus_petit_groupe"].as_u64().unwrap() >= 5));
        let suppressed = risk["personnes_supprimees"].as_u64().unwrap();
        let before = risk["avant"].as_array().unwrap()[0]["enregistrements"]
            .as_u64()
            .unwrap();
        assert_eq!(before - suppressed, ind.len() as u64);
        assert!(risk["part_supprimee"].as_f64().unwrap() <= 0.05);
        // The dictionary says it, column by column.
        let dict = std::fs::read_to_string(dir.join("dictionnaire.md")).unwrap();
        assert!(dict.contains("## Risque de réidentification"), "{dict}");
        assert!(dict.contains("quasi-identifiant généralisé"), "{dict}");
        if seed == "7" {
            // Same inputs, same key: same bytes.
            let before: Vec<Vec<u8>> = ["individus.parquet", "evenements.parquet", "manifest.json"]
                .iter()
                .map(|f| std::fs::read(dir.join(f)).unwrap())
                .collect();
            let again = w.run(&[]);
            assert!(again.status.success());
            for (f, b) in ["individus.parquet", "evenements.parquet", "manifest.json"]
                .iter()
                .zip(before)
            {
                assert_eq!(std::fs::read(dir.join(f)).unwrap(), b, "{f} changed");
            }
        }
    }
}

/// The parcours fixture has four persons: no generalisation gives a group
/// of five, and suppressing them all is more than 5 %. Refused (exit 4)
/// with the figures, and nothing delivered.
#[test]
fn k_out_of_reach_is_refused_and_nothing_is_delivered() {
    let w = Work::new();
    std::fs::create_dir_all(w.path("extraits")).unwrap();
    for f in ["sessions", "individus", "positionnements", "evenements"] {
        std::fs::copy(
            Path::new(FIXTURE).join(format!("{f}.csv")),
            w.path(&format!("extraits/{f}.csv")),
        )
        .unwrap();
    }
    w.ministry();
    let out = w.run(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("recipient `ministere`")
            && err.contains("k_anonymat = 5 cannot be reached")
            && err.contains("4 of 4 persons"),
        "{err}"
    );
    assert!(!w.path("sortie/livraisons/ministere").exists());
}

/// The shipped policy up to its quasi-identifiers, then `tail`.
fn policy_with(tail: &str) -> String {
    let head = ouistat::testing::policy::ANNEXE1
        .split("# ---------------------------------------------------------------------------\n# Quasi-identifiers")
        .next()
        .unwrap();
    format!("{head}\n{tail}")
}

/// The ministry's delivery under the shipped policy with `tail` as its
/// quasi-identifiers and k; the run must succeed.
fn delivered_with(w: &Work, tail: &str) -> PathBuf {
    std::fs::write(w.path("politique.toml"), policy_with(tail)).unwrap();
    w.ministry();
    let out = w.run(&["--policy", "{tmp}/politique.toml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    w.path("sortie/livraisons/ministere")
}

/// The step of each quasi-identifier, as the manifest's risk says.
fn steps_of(risk: &serde_json::Value) -> Vec<&str> {
    risk["generalisation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["echelon"].as_str().unwrap())
        .collect()
}

/// Worked out on paper: six persons, communes and days all different.
/// With commune → département → masked and day → month → masked, k = 2
/// and no suppression, every node keeping the commune or the day leaves
/// singletons; (département, month) gives 62/January {1, 2}, 59/January
/// {3, 4} and 62/February {5, 6}, and lies below the two other
/// 2-anonymous nodes, (département, masked) and (masked, month).
#[test]
fn a_hand_built_extract_is_generalised_as_worked_out_on_paper() {
    let w = Work::new();
    hand_built(
        &w,
        &[
            &[(0, "I1"), (16, "62041"), (21, "2025-01-05")],
            &[(0, "I2"), (16, "62042"), (21, "2025-01-20")],
            &[(0, "I3"), (16, "59350"), (21, "2025-01-07")],
            &[(0, "I4"), (16, "59351"), (21, "2025-01-09")],
            &[(0, "I5"), (16, "62043"), (21, "2025-02-03")],
            &[(0, "I6"), (16, "62044"), (21, "2025-02-11")],
        ],
        &[],
    );
    let dir = delivered_with(
        &w,
        "[[quasi_identifiants]]\ntable = \"individus\"\ncolonne = \"commune_residence\"\n\
             echelle = [\"commune\", \"departement\", \"masque\"]\n\n\
             [[quasi_identifiants]]\ntable = \"individus\"\ncolonne = \"date_inscription\"\n\
             echelle = [\"jour\", \"mois\", \"masque\"]\n\n\
             [[k_anonymat]]\nclasse = \"ministere\"\nk = 2\nsuppression_max = 0.0\n",
    );
    let got: BTreeSet<(String, String)> = rows(&dir.join("individus.parquet"))
        .into_iter()
        .map(|r| {
            (
                r["commune_residence"].clone().unwrap(),
                r["date_inscription"].clone().unwrap(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> =
        [("62", "2025-01"), ("59", "2025-01"), ("62", "2025-02")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    assert_eq!(got, expected);
    let risk = &manifest(&dir)["risque_reidentification"];
    assert_eq!(risk["personnes_supprimees"], 0);
    assert_eq!(risk["avant"][0]["enregistrements_uniques"], 6);
    assert_eq!(risk["apres"][0]["plus_petit_groupe"], 2);
    let steps = steps_of(risk);
    assert_eq!(steps, ["departement", "mois"]);
}

/// The fixture's extracts with `individus` made of `people` (fields of
/// the fixture's first person replaced, by index) and `sessions` with
/// more rows (`commune_insee`, `departement`, `zone_emploi` replaced).
fn hand_built(w: &Work, people: &[&[(usize, &str)]], sessions: &[(&str, &str, &str)]) {
    std::fs::create_dir_all(w.path("extraits")).unwrap();
    for f in ["positionnements", "evenements"] {
        std::fs::copy(
            Path::new(FIXTURE).join(format!("{f}.csv")),
            w.path(&format!("extraits/{f}.csv")),
        )
        .unwrap();
    }
    let with = |file: &str, rows: Vec<Vec<(usize, String)>>| {
        let fixture = std::fs::read_to_string(Path::new(FIXTURE).join(file)).unwrap();
        let mut lines = fixture.lines();
        let header = lines.next().unwrap();
        let template: Vec<&str> = lines.next().unwrap().split(';').collect();
        let mut csv = if file == "individus.csv" {
            format!("{header}\n")
        } else {
            fixture.clone()
        };
        if !csv.ends_with('\n') {
            csv.push('\n');
        }
        for row in rows {
            let mut f: Vec<String> = template.iter().map(|v| v.to_string()).collect();
            for (i, v) in row {
                f[i] = v;
            }
            csv.push_str(&f.join(";"));
            csv.push('\n');
        }
        std::fs::write(w.path(&format!("extraits/{file}")), csv).unwrap();
    };
    with(
        "individus.csv",
        people
            .iter()
            .map(|p| p.iter().map(|(i, v)| (*i, v.to_string())).collect())
            .collect(),
    );
    with(
        "sessions.csv",
        sessions
            .iter()
            .enumerate()
            .map(|(n, (commune, departement, zone))| {
                vec![
                    (0, format!("SZ{n}")),
                    (7, commune.to_string()),
                    (8, departement.to_string()),
                    (10, zone.to_string()),
                ]
            })
            .collect(),
    );
}

/// Worked out on paper: six persons, communes and diplomas all different,
/// k = 2 and no suppression. The sessions put 62041 and 62042 in zone
/// d'emploi 3206, 59350 and 59351 in 3201, 62043 and 62044 in 3207; the
/// diplomas pair by level (CAP, BEP: 3; bac pro, BP: 4; licence, licence
/// professionnelle: 6). Every node keeping the commune or the diploma
/// leaves singletons. (zone d'emploi, level) is 2-anonymous and loses the
/// least: the zone costs 6 bits where the département costs 10, the level
/// 6 bits where masking the diploma costs 15.5.
#[test]
fn the_zone_d_emploi_and_the_diploma_level_are_taken_when_they_suffice() {
    let w = Work::new();
    hand_built(
        &w,
        &[
            &[(0, "I1"), (16, "62041"), (18, "CAP")],
            &[(0, "I2"), (16, "62042"), (18, "BEP")],
            &[(0, "I3"), (16, "59350"), (18, "Bac pro")],
            &[(0, "I4"), (16, "59351"), (18, "BP")],
            &[(0, "I5"), (16, "62043"), (18, "Licence")],
            &[(0, "I6"), (16, "62044"), (18, "Licence professionnelle")],
        ],
        &[
            ("62042", "62", "3206"),
            ("59351", "59", "3201"),
            ("62043", "62", "3207"),
            ("62044", "62", "3207"),
        ],
    );
    let dir = delivered_with(
        &w,
        "[[quasi_identifiants]]\ntable = \"individus\"\ncolonne = \"commune_residence\"\n\
             echelle = [\"commune\", \"zone_emploi\", \"departement\", \"masque\"]\n\n\
             [[quasi_identifiants]]\ntable = \"individus\"\ncolonne = \"diplome_plus_haut\"\n\
             echelle = [\"valeur\", \"niveau_diplome\", \"masque\"]\n\n\
             [[k_anonymat]]\nclasse = \"ministere\"\nk = 2\nsuppression_max = 0.0\n",
    );
    let got: Vec<(String, String)> = rows(&dir.join("individus.parquet"))
        .into_iter()
        .map(|r| {
            (
                r["commune_residence"].clone().unwrap(),
                r["diplome_plus_haut"].clone().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("3206", "3"),
        ("3206", "3"),
        ("3201", "4"),
        ("3201", "4"),
        ("3207", "6"),
        ("3207", "6"),
    ];
    assert_eq!(got, expected.map(|(a, b)| (a.to_string(), b.to_string())));
    let risk = &manifest(&dir)["risque_reidentification"];
    let steps = steps_of(risk);
    assert_eq!(steps, ["zone_emploi", "niveau_diplome"]);
    assert_eq!(risk["personnes_supprimees"], 0);
    let dictionary = std::fs::read_to_string(dir.join("dictionnaire.md")).unwrap();
    for said in [
        "quasi-identifiant généralisé : zone d'emploi 2020",
        "quasi-identifiant généralisé : niveau du diplôme (nomenclature 2019",
    ] {
        assert!(dictionary.contains(said), "{said}\n{dictionary}");
    }
}

/// A ladder on a column no recipient receives as it is, or a step that
/// is not coarser than the one before, is refused when the policy loads
/// (exit 4), naming the file and line.
#[test]
fn a_policy_with_a_bad_ladder_is_refused_at_load() {
    let w = Work::new();
    std::fs::create_dir_all(w.path("extraits")).unwrap();
    for f in ["sessions", "individus", "positionnements", "evenements"] {
        std::fs::copy(
            Path::new(FIXTURE).join(format!("{f}.csv")),
            w.path(&format!("extraits/{f}.csv")),
        )
        .unwrap();
    }
    w.ministry();
    let cases = [
        (
            "[[quasi_identifiants]]\ntable = \"individus\"\ncolonne = \"date_inscription\"\nechelle = [\"mois\", \"jour\"]\n",
            "`jour` is not coarser than `mois`",
        ),
        (
            "[[quasi_identifiants]]\ntable = \"individus\"\ncolonne = \"numero_imilo\"\nechelle = [\"valeur\", \"masque\"]\n",
            "delivered as it is to no recipient",
        ),
        (
            "[[quasi_identifiants]]\ntable = \"individus\"\ncolonne = \"commune_residence\"\nechelle = [\"commune\", \"mois\"]\n",
            "`mois` does not apply",
        ),
    ];
    for (tail, expected) in cases {
        // i-milo numbers go to Pôle emploi only: here to nobody.
        let policy = policy_with(tail).replacen(
            "description = \"Numéro de dossier en mission locale (i-milo)\"\npole_emploi = \"garder\"",
            "description = \"Numéro de dossier en mission locale (i-milo)\"\npole_emploi = \"supprimer\"",
            1,
        );
        assert_ne!(policy, policy_with(tail));
        std::fs::write(w.path("politique.toml"), policy).unwrap();
        let out = w.run(&["--policy", "{tmp}/politique.toml"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{err}");
        assert!(
            err.contains(expected) && err.contains("politique.toml, line "),
            "{err}"
        );
        assert!(!w.path("sortie/livraisons").exists());
    }
}

/// Every file and folder under a folder, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        }
        out.push(path);
    }
    out
}

/// Issue 25, third pass: the batches read for the one read wait in a
/// spill inside the private staging folder. With the staging kept in the
/// output (`--keep-stage`, the output given relative to the working
/// folder), the delivery is the same file for file, and no spilled batch
/// is left anywhere.
#[test]
fn the_spilled_batches_leave_nothing_behind_and_change_nothing() {
    let w = Work::new();
    w.ok(&[
        "generate",
        "--out",
        "{tmp}/extraits",
        "--persons",
        "400",
        "--seed",
        "3",
    ]);
    w.ministry();
    w.ok(&[
        "run",
        "--extracts",
        "{tmp}/extraits",
        "--out",
        "{tmp}/sortie",
        "--cutoff",
        "2026-10-31",
        "--recipients",
        "{tmp}/destinataires.toml",
    ]);
    let kept = Command::new(env!("CARGO_BIN_EXE_ouistat"))
        .current_dir(w.dir.path())
        .args([
            "run",
            "--extracts",
            "extraits",
            "--out",
            "sortie-gardee",
            "--cutoff",
            "2026-10-31",
            "--recipients",
            "destinataires.toml",
            "--keep-stage",
        ])
        .output()
        .expect("ouistat runs");
    assert!(
        kept.status.success(),
        "{}",
        String::from_utf8_lossy(&kept.stderr)
    );
    assert!(w.path("sortie-gardee/.ouistat").is_dir());
    for name in ["individus", "positionnements", "evenements"] {
        let file = format!("livraisons/ministere/{name}.parquet");
        assert_eq!(
            std::fs::read(w.path(&format!("sortie/{file}"))).unwrap(),
            std::fs::read(w.path(&format!("sortie-gardee/{file}"))).unwrap(),
            "{file}"
        );
    }
    let left: Vec<PathBuf> = files_under(w.dir.path())
        .into_iter()
        .filter(|p| {
            p.extension().is_some_and(|e| e == "arrows")
                || p.components()
                    .any(|c| c.as_os_str().to_string_lossy().starts_with("kanon-"))
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
