//! Deliveries (Annex 1 policy, pseudonymisation, manifests), verification and the committee's cleared aggregates.

use super::*;

pub(crate) const RECIPIENTS: &str = r#"
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
pub(crate) fn delivery_args() -> Vec<String> {
    let mut args = run_args("2026-10-31");
    args.extend([
        "--recipients".to_string(),
        "{tmp}/destinataires.toml".to_string(),
    ]);
    args
}

/// Generates a small dataset, keys and recipients, and runs with deliveries.
pub(crate) fn delivery_run(persons: &str) -> Run {
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

pub(crate) fn column_values(path: &Path, column: &str) -> Vec<String> {
    rows(path).into_iter().map(|r| r[column].clone()).collect()
}

pub(crate) fn csv_column(path: &Path, column: &str) -> Vec<String> {
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
    let policy: toml::Value =
        toml::from_str(include_str!("../../src/policy/annexe1.toml")).unwrap();
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
                    !contains_outside_digests(hay, n.as_bytes()),
                    "{} contains the raw value {n}",
                    path.display()
                );
            }
        }
    }
}

/// Whether `needle` occurs in `hay` other than inside a hex digest.
///
/// Pseudonyms (32 lowercase hex digits, from a key drawn at random by each
/// test run) and the manifest's SHA-256 sums hold runs of decimal digits by
/// chance: an 8-digit identifier turns up inside one in about one run in
/// twenty. A match whose enclosing run of `[0-9a-f]` is 16 characters or more
/// and holds a letter is such a digest, not a leak; a raw identifier stands
/// alone (a value of its own, or between a Parquet length prefix and the next).
fn contains_outside_digests(hay: &[u8], needle: &[u8]) -> bool {
    let hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    (0..hay.len().saturating_sub(needle.len() - 1))
        .filter(|&i| &hay[i..i + needle.len()] == needle)
        .any(|i| {
            let start = hay[..i].iter().rposition(|b| !hex(b)).map_or(0, |p| p + 1);
            let end = hay[i..]
                .iter()
                .position(|b| !hex(b))
                .map_or(hay.len(), |p| i + p);
            let run = &hay[start..end];
            run.len() < 16 || !run.iter().any(u8::is_ascii_lowercase)
        })
}

#[test]
fn a_raw_value_inside_a_pseudonym_is_chance_and_alone_is_a_leak() {
    assert!(!contains_outside_digests(
        b"\x20\0\0\0e3b0c44298fc1c1450864597ae41e4649",
        b"50864597"
    ));
    assert!(contains_outside_digests(
        b"\x08\x00\x00\x0050864597\x20",
        b"50864597"
    ));
    assert!(contains_outside_digests(
        b"id 50864597 and more",
        b"50864597"
    ));
    assert!(contains_outside_digests(
        b"0123456789012345650864597",
        b"50864597"
    ));
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
    let plan =
        ouistat::testing::secrecy::Plan::shipped(ouistat::testing::policy::RecipientClass::Comite)
            .unwrap();
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
                            let (_, uses) = ouistat::testing::secrecy::cubes::def(table.cube)
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
