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
    let head = ouistat::policy::ANNEXE1
        .split("# ---------------------------------------------------------------------------\n# Quasi-identifiers")
        .next()
        .unwrap();
    format!("{head}\n{tail}")
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
    std::fs::create_dir_all(w.path("extraits")).unwrap();
    for f in ["sessions", "positionnements", "evenements"] {
        std::fs::copy(
            Path::new(FIXTURE).join(format!("{f}.csv")),
            w.path(&format!("extraits/{f}.csv")),
        )
        .unwrap();
    }
    let fixture = std::fs::read_to_string(Path::new(FIXTURE).join("individus.csv")).unwrap();
    let mut lines = fixture.lines();
    let header = lines.next().unwrap();
    let template: Vec<&str> = lines.next().unwrap().split(';').collect();
    let people = [
        ("I1", "62041", "2025-01-05"),
        ("I2", "62042", "2025-01-20"),
        ("I3", "59350", "2025-01-07"),
        ("I4", "59351", "2025-01-09"),
        ("I5", "62043", "2025-02-03"),
        ("I6", "62044", "2025-02-11"),
    ];
    let mut csv = format!("{header}\n");
    for (id, commune, date) in people {
        let mut f = template.clone();
        f[0] = id;
        f[16] = commune;
        f[21] = date;
        csv.push_str(&f.join(";"));
        csv.push('\n');
    }
    std::fs::write(w.path("extraits/individus.csv"), csv).unwrap();
    std::fs::write(
        w.path("politique.toml"),
        policy_with(
            "[[quasi_identifiants]]\ntable = \"individus\"\ncolonne = \"commune_residence\"\n\
             echelle = [\"commune\", \"departement\", \"masque\"]\n\n\
             [[quasi_identifiants]]\ntable = \"individus\"\ncolonne = \"date_inscription\"\n\
             echelle = [\"jour\", \"mois\", \"masque\"]\n\n\
             [[k_anonymat]]\nclasse = \"ministere\"\nk = 2\nsuppression_max = 0.0\n",
        ),
    )
    .unwrap();
    w.ministry();
    let out = w.run(&["--policy", "{tmp}/politique.toml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = w.path("sortie/livraisons/ministere");
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
    let steps: Vec<&str> = risk["generalisation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["echelon"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["departement", "mois"]);
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
