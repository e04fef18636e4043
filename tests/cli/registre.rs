//! Issue 26: the register of deliveries, a person's access request, the
//! opposition list and a breach's scope.

use super::*;

/// Two recipients of microdata: Pôle emploi (identifiers as they are) and a
/// funder (pseudonyms under its key).
const TWO_RECIPIENTS: &str = r#"
[[destinataires]]
nom = "pole_emploi"
classe = "pole_emploi"

[[destinataires]]
nom = "financeur-2"
classe = "financeur"
financeur_code = "2"
cle = "cles/f2.cle"
"#;

/// 300 generated persons, the funder's key and the two recipients.
fn two_recipients() -> Run {
    let run = Run::new().args([
        "generate",
        "--out",
        "{tmp}/extraits",
        "--persons",
        "300",
        "--seed",
        "3",
    ]);
    run.succeeds();
    let run = run.args(["keygen", "--out", "{tmp}/cles/f2.cle"]);
    run.succeeds();
    std::fs::write(run.path("destinataires.toml"), TWO_RECIPIENTS).unwrap();
    run
}

/// `run` at a cut-off with the two recipients, and more flags.
fn run_at(run: Run, cutoff: &str, more: &[&str]) -> Run {
    let mut args = run_args(cutoff);
    args.extend(["--recipients", "{tmp}/destinataires.toml"].map(String::from));
    args.extend(more.iter().map(|s| s.to_string()));
    let run = run.args(args);
    run.succeeds();
    run
}

/// `ouistat registre …` on `{tmp}/sortie`: its exit code and stdout.
fn registre(run: Run, args: &[&str]) -> (Run, i32, String) {
    let mut all = vec!["registre".to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(["--out", "{tmp}/sortie"].map(String::from));
    let run = run.args(all);
    let out = run.output();
    let code = out.status.code().unwrap_or(-1);
    (run, code, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The listed entries' (number, recipient, cut-off).
fn listed(stdout: &str) -> Vec<(u64, String, String)> {
    stdout
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 9 {
                return None;
            }
            Some((f[0].parse().ok()?, f[3].to_string(), f[2].to_string()))
        })
        .collect()
}

/// The pseudonym a recipient's key gives an identifier (SPEC §4), computed
/// here independently of ouistat.
fn pseudonym(key: &Path, id: &str) -> String {
    use hmac::{Hmac, Mac};
    let key = hex::decode(std::fs::read_to_string(key).unwrap().trim()).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(id.trim().to_uppercase().as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// `(identifiant_spe, nir)` of every person of the generated extract.
fn persons_of_extract(run: &Run) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(run.path("extraits/individus.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(';').collect();
            (f[0].to_string(), f[4].to_string())
        })
        .collect()
}

/// The values of `column` in a delivered table.
fn delivered(run: &Run, recipient: &str, table: &str, column: &str) -> BTreeSet<String> {
    let path = run.path(&format!("sortie/livraisons/{recipient}/{table}.parquet"));
    column_values(&path, column).into_iter().collect()
}

/// The persons (raw `identifiant_spe`) whose rows a delivery holds, read
/// from its files: as they are for Pôle emploi, by their pseudonym under
/// the funder's key for the funder.
fn held(run: &Run, recipient: &str) -> BTreeSet<String> {
    let (column, key) = match recipient {
        "pole_emploi" => ("identifiant_spe", None),
        _ => ("identifiant_spe_pseudo", Some(run.path("cles/f2.cle"))),
    };
    let mut values = delivered(run, recipient, "individus", column);
    values.extend(delivered(run, recipient, "positionnements", column));
    persons_of_extract(run)
        .into_iter()
        .map(|(spe, _)| spe)
        .filter(|spe| {
            let shown = match &key {
                None => spe.clone(),
                Some(k) => pseudonym(k, spe),
            };
            values.contains(&shown)
        })
        .collect()
}

#[test]
fn the_register_after_three_runs_with_two_recipients_detects_an_altered_entry() {
    let mut run = two_recipients();
    for cutoff in ["2026-06-30", "2026-08-31", "2026-10-31"] {
        run = run_at(run, cutoff, &[]);
    }
    let (run, code, stdout) = registre(run, &[]);
    assert_eq!(code, 0, "{stdout}");
    let entries = listed(&stdout);
    let expected: Vec<(u64, String, String)> = ["2026-06-30", "2026-08-31", "2026-10-31"]
        .iter()
        .flat_map(|c| ["pole_emploi", "financeur-2"].map(|r| (r.to_string(), c.to_string())))
        .enumerate()
        .map(|(i, (r, c))| (i as u64 + 1, r, c))
        .collect();
    assert_eq!(entries, expected);
    // Filtered by recipient, by cut-off, by day of delivery.
    let (run, _, stdout) = registre(run, &["--recipient", "financeur-2"]);
    let numbers: Vec<u64> = listed(&stdout).iter().map(|e| e.0).collect();
    assert_eq!(numbers, [2, 4, 6]);
    let (run, _, stdout) = registre(run, &["--cutoff", "2026-08-31"]);
    let numbers: Vec<u64> = listed(&stdout).iter().map(|e| e.0).collect();
    assert_eq!(numbers, [3, 4]);
    let (run, _, stdout) = registre(run, &["--until", "2000-01-01"]);
    assert!(listed(&stdout).is_empty(), "{stdout}");

    // Each entry links to the SHA-256 of the line before it, holds the
    // delivery's files as the manifest of that run listed them, and no
    // raw identifier nor any pseudonym of the funder.
    let log_path = run.path("sortie/registre/livraisons.jsonl");
    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let mut previous = "0".repeat(64);
    for line in &lines {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(entry["precedente_sha256"].as_str().unwrap(), previous);
        previous = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(line.as_bytes()));
    }
    let last: serde_json::Value = serde_json::from_str(lines[5]).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.path("sortie/livraisons/financeur-2/manifest.json")).unwrap(),
    )
    .unwrap();
    for (f, m) in last["fichiers"]
        .as_array()
        .unwrap()
        .iter()
        .zip(manifest["fichiers"].as_array().unwrap())
    {
        assert_eq!((&f["nom"], &f["sha256"]), (&m["nom"], &m["sha256"]));
    }
    assert_eq!(last["empreinte_cle"], manifest["empreinte_cle"]);
    let pseudonyms = delivered(&run, "financeur-2", "individus", "identifiant_spe_pseudo");
    let mut register_text = log.clone();
    for entry in std::fs::read_dir(run.path("sortie/registre/personnes")).unwrap() {
        for row in rows(&entry.unwrap().path()) {
            register_text.extend(row.into_values());
        }
    }
    for (spe, nir) in persons_of_extract(&run) {
        assert!(!register_text.contains(&spe) && (nir.is_empty() || !register_text.contains(&nir)));
    }
    assert!(pseudonyms
        .iter()
        .all(|p| !register_text.contains(p.as_str())));

    let (run, code, stdout) = registre(run, &["verify"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("6 entries, chain intact"), "{stdout}");

    // An altered entry: entry 3 now says fewer rows were delivered.
    let entry3: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
    let rows3 = entry3["fichiers"][1]["lignes"].as_u64().unwrap();
    let altered = lines[2].replacen(
        &format!("\"lignes\":{rows3}"),
        &format!("\"lignes\":{}", rows3 - 1),
        1,
    );
    assert_ne!(altered, lines[2]);
    let mut tampered = lines.clone();
    tampered[2] = &altered;
    std::fs::write(&log_path, tampered.join("\n") + "\n").unwrap();
    let (run, code, stdout) = registre(run, &["verify"]);
    assert_eq!(code, 5, "{stdout}");
    assert!(
        stdout.contains("(entry 4): the entry before it was altered"),
        "{stdout}"
    );

    // A removed entry, in the middle or at the end.
    let mut removed = lines.clone();
    removed.remove(3);
    std::fs::write(&log_path, removed.join("\n") + "\n").unwrap();
    let (run, code, stdout) = registre(run, &["verify"]);
    assert_eq!(code, 5, "{stdout}");
    assert!(
        stdout.contains("entry 5 where entry 4 was expected"),
        "{stdout}"
    );
    std::fs::write(&log_path, lines[..5].join("\n") + "\n").unwrap();
    let (run, code, stdout) = registre(run, &["verify"]);
    assert_eq!(code, 5, "{stdout}");
    assert!(
        stdout.contains("records 6 entries, the log holds 5"),
        "{stdout}"
    );
    // A damaged register is never appended to.
    let mut args = run_args("2026-10-31");
    args.extend(["--recipients", "{tmp}/destinataires.toml"].map(String::from));
    let (code, err) = run.args(args).fails();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("registre verify"), "{err}");
}

#[test]
fn an_access_request_finds_a_person_in_exactly_the_deliveries_that_held_them() {
    let run = run_at(two_recipients(), "2026-10-31", &[]);
    // A person the funder received, and one it did not.
    let funder = held(&run, "financeur-2");
    let everyone = held(&run, "pole_emploi");
    assert_eq!(everyone.len(), persons_of_extract(&run).len());
    let persons = persons_of_extract(&run);
    let (inside, inside_nir) = persons
        .iter()
        .find(|(spe, nir)| funder.contains(spe) && !nir.is_empty())
        .cloned()
        .unwrap();
    let (outside, _) = persons
        .iter()
        .find(|(spe, _)| !funder.contains(spe))
        .cloned()
        .unwrap();
    let key = run.path("registre.cle").to_string_lossy().into_owned();
    let entries_of = |stdout: &str| -> Vec<(u64, String)> {
        stdout
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.first() == Some(&"entry")).then(|| (f[1].parse().unwrap(), f[4].to_string()))
            })
            .collect()
    };
    let (run, code, stdout) = registre(
        run,
        &["personne", "--register-key", &key, "--nir", &inside_nir],
    );
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        entries_of(&stdout),
        [(1, "pole_emploi".into()), (2, "financeur-2".into())],
        "{stdout}"
    );
    let (run, _, stdout) = registre(
        run,
        &[
            "personne",
            "--register-key",
            &key,
            "--identifiant-spe",
            &outside,
        ],
    );
    assert_eq!(entries_of(&stdout), [(1, "pole_emploi".into())], "{stdout}");

    // The person opposes deliveries to funders: the next run keeps them
    // out of the funder's files only, and the manifest counts them.
    std::fs::write(
        run.path("opposition.csv"),
        format!("nir;classes;date\n{inside_nir};financeur;2026-11-15\n"),
    )
    .unwrap();
    let run = run_at(run, "2026-10-31", &["--opposition", "{tmp}/opposition.csv"]);
    assert!(!held(&run, "financeur-2").contains(&inside));
    assert_eq!(
        held(&run, "financeur-2"),
        funder.iter().filter(|p| **p != inside).cloned().collect()
    );
    assert!(held(&run, "pole_emploi").contains(&inside));
    let manifest = |recipient: &str| -> serde_json::Value {
        let path = run.path(&format!("sortie/livraisons/{recipient}/manifest.json"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    assert_eq!(manifest("financeur-2")["personnes_opposition"], 1);
    assert_eq!(manifest("pole_emploi")["personnes_opposition"], 0);
    let (_, _, stdout) = registre(
        run,
        &[
            "personne",
            "--register-key",
            &key,
            "--identifiant-spe",
            &inside,
        ],
    );
    assert_eq!(
        entries_of(&stdout),
        [
            (1, "pole_emploi".into()),
            (2, "financeur-2".into()),
            (3, "pole_emploi".into()),
            (4, "financeur-2".into())
        ],
        "{stdout}"
    );
    let line4 = stdout.lines().find(|l| l.contains("entry 4 ")).unwrap();
    assert!(
        line4.contains("withheld by the opposition list (request of 2026-11-15)"),
        "{stdout}"
    );
    assert!(stdout.contains("in 3 deliveries"), "{stdout}");
}

#[test]
fn a_breach_listing_equals_the_persons_of_the_delivery() {
    let run = run_at(two_recipients(), "2026-10-31", &[]);
    let key = run.path("registre.cle").to_string_lossy().into_owned();
    let (run, code, stdout) = registre(
        run,
        &[
            "livraison",
            "financeur-2",
            "--date",
            "2026-10-31",
            "--register-key",
            &key,
            "--extracts",
            "{tmp}/extraits",
            "--to",
            "{tmp}/violation",
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    let listing = run.path("violation/violation-financeur-2-2.csv");
    let text = std::fs::read_to_string(&listing).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(';').collect();
    assert_eq!(
        header[..5],
        [
            "identifiant_spe",
            "nir",
            "nom_naissance",
            "nom_usage",
            "prenom"
        ]
    );
    let listed: BTreeSet<String> = lines
        .map(|l| l.split(';').next().unwrap().to_string())
        .collect();
    let expected = held(&run, "financeur-2");
    assert!(!expected.is_empty());
    assert_eq!(listed, expected);
    assert!(
        text.contains("individus : identifiant_spe_pseudo"),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(run.path("violation"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}

/// Every file under `dir`, relative to it, with its SHA-256.
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(
                    rel,
                    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn purge_removes_exactly_what_is_past_retention_and_the_certificate_lists_it() {
    let run = two_recipients();
    // The convention ended on 31 January 2026: personal data may be kept
    // until 31 March 2026.
    let policy = format!(
        "{}\n[conservation]\nfin_convention = \"2026-01-31\"\n",
        include_str!("../../src/policy/annexe1.toml")
    );
    std::fs::write(run.path("politique.toml"), policy).unwrap();
    let mut args = run_args("2026-10-31");
    args.extend(
        [
            "--recipients",
            "{tmp}/destinataires.toml",
            "--policy",
            "{tmp}/politique.toml",
            "--keep-stage",
        ]
        .map(String::from),
    );
    let run = run.args(args);
    let err = String::from_utf8_lossy(&run.succeeds().stderr).into_owned();
    assert!(
        err.contains("the convention ended on 2026-01-31") && err.contains("2026-03-31"),
        "{err}"
    );
    let before = snapshot(&run.path("sortie"));
    let purge = |run: Run, more: &[&str]| -> (Run, String) {
        let mut args = vec![
            "purge",
            "--out",
            "{tmp}/sortie",
            "--policy",
            "{tmp}/politique.toml",
        ];
        args.extend(more);
        let run = run.args(args);
        let stdout = String::from_utf8_lossy(&run.succeeds().stdout).into_owned();
        (run, stdout)
    };
    // The day before the deadline, nothing is due.
    let (run, stdout) = purge(run, &["--as-of", "2026-03-30"]);
    assert!(stdout.contains("0 files"), "{stdout}");
    assert_eq!(snapshot(&run.path("sortie")), before);

    let (run, stdout) = purge(run, &[]);
    let after = snapshot(&run.path("sortie"));
    let personal = |path: &str| {
        [
            "livraisons/pole_emploi/",
            "livraisons/financeur-2/",
            "quarantaine/",
            ".ouistat/",
            "registre/personnes/",
        ]
        .iter()
        .any(|p| path.starts_with(p))
    };
    let expected: BTreeMap<&String, &String> = before.iter().filter(|(p, _)| personal(p)).collect();
    assert!(expected
        .keys()
        .any(|p| p.starts_with("registre/personnes/")));
    assert!(expected.keys().any(|p| p.starts_with("quarantaine/")));
    // Nothing else was touched: every other file is there, unchanged, but
    // for the register's index, which records the certificate.
    for (path, sha) in &before {
        match after.get(path) {
            None => assert!(personal(path), "{path} was removed\n{stdout}"),
            Some(now) if path != "registre/registre.json" => {
                assert!(!personal(path), "{path} was kept");
                assert_eq!(now, sha, "{path} changed");
            }
            Some(_) => {}
        }
    }
    let certificate_path = after
        .keys()
        .find(|p| p.starts_with("registre/destructions/certificat-"))
        .unwrap();
    let certificate: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.path(&format!("sortie/{certificate_path}"))).unwrap(),
    )
    .unwrap();
    let listed: BTreeMap<&str, &str> = certificate["fichiers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["chemin"].as_str().unwrap().starts_with('/'))
        .map(|f| (f["chemin"].as_str().unwrap(), f["sha256"].as_str().unwrap()))
        .collect();
    let expected: BTreeMap<&str, &str> = expected
        .iter()
        .map(|(p, s)| (p.as_str(), s.as_str()))
        .collect();
    assert_eq!(listed, expected);
    // The register's metadata stays, and its chain still verifies.
    let (_, code, stdout) = registre(run, &["verify"]);
    assert_eq!(code, 0, "{stdout}");
}

/// Every value of every column of the Parquet files of a delivery but the
/// table from old to new pseudonyms.
fn delivered_values(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".parquet") && name != "table_de_passage.parquet" {
            for row in rows(&path) {
                out.extend(row.into_values());
            }
        }
    }
    out
}

#[test]
fn after_a_rotation_old_and_new_deliveries_link_through_the_bridging_table() {
    let run = run_at(two_recipients(), "2026-10-31", &[]);
    let dir = run.path("sortie/livraisons/financeur-2");
    let old_persons = delivered(&run, "financeur-2", "individus", "identifiant_spe_pseudo");
    let old_positionings = delivered(
        &run,
        "financeur-2",
        "positionnements",
        "positionnement_id_pseudo",
    );
    let old_values = delivered_values(&dir);
    let old_fingerprint = {
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap())
                .unwrap();
        m["empreinte_cle"].as_str().unwrap().to_string()
    };
    let run = run.args(["keygen", "--rotation", "--out", "{tmp}/cles/f2.cle"]);
    run.succeeds();
    assert!(run.path("cles/f2.cle.ancienne").is_file());
    let run = run_at(run, "2026-10-31", &[]);
    // The previous key is retired once the bridging delivery is in place.
    assert!(!run.path("cles/f2.cle.ancienne").exists());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["empreinte_cle_precedente"],
        old_fingerprint.as_str()
    );
    assert_ne!(manifest["empreinte_cle"], old_fingerprint.as_str());
    assert!(manifest["fichiers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["nom"] == "table_de_passage.parquet"));
    let bridge: BTreeMap<(String, String), String> = rows(&dir.join("table_de_passage.parquet"))
        .into_iter()
        .map(|r| {
            (
                (r["colonne"].clone(), r["pseudonyme_ancien"].clone()),
                r["pseudonyme_nouveau"].clone(),
            )
        })
        .collect();
    // Every person and positioning of the old delivery links to the new one.
    let new_persons = delivered(&run, "financeur-2", "individus", "identifiant_spe_pseudo");
    let new_positionings = delivered(
        &run,
        "financeur-2",
        "positionnements",
        "positionnement_id_pseudo",
    );
    for (column, old, new) in [
        ("identifiant_spe", &old_persons, &new_persons),
        ("positionnement_id", &old_positionings, &new_positionings),
    ] {
        let linked: BTreeSet<String> = old
            .iter()
            .map(|p| bridge[&(column.to_string(), p.clone())].clone())
            .collect();
        assert_eq!(&linked, new, "{column}");
    }
    // No pseudonym of the old key is in the new files.
    let new_values = delivered_values(&dir);
    for (column, old) in bridge.keys() {
        assert!(!new_values.contains(old), "{column} {old}");
        assert!(old_values.contains(old));
    }
    // The register records the rotation.
    let log = std::fs::read_to_string(run.path("sortie/registre/livraisons.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(last["empreinte_cle_precedente"], old_fingerprint.as_str());

    // A key used by two recipients is refused.
    std::fs::write(
        run.path("destinataires.toml"),
        format!(
            "{TWO_RECIPIENTS}\n[[destinataires]]\nnom = \"ministere\"\nclasse = \"ministere\"\ncle = \"cles/f2.cle\"\n"
        ),
    )
    .unwrap();
    let mut args = run_args("2026-10-31");
    args.extend(["--recipients", "{tmp}/destinataires.toml"].map(String::from));
    let (code, err) = run.args(args).fails();
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("use the same key"), "{err}");
}

/// Two runs at one cut-off with one opposition list of many persons: the
/// register keeps the funder's persons of both deliveries as the same
/// bytes (the persons withheld in the order of their digests, not in the
/// staging's order).
#[test]
fn the_register_keeps_the_same_persons_as_the_same_bytes() {
    let run = two_recipients();
    let mut list = String::from("nir;classes;date\n");
    let nirs = persons_of_extract(&run).into_iter().map(|(_, nir)| nir);
    for nir in nirs.filter(|n| !n.is_empty()).take(60) {
        list.push_str(&format!("{nir};financeur;2026-11-15\n"));
    }
    std::fs::write(run.path("opposition.csv"), list).unwrap();
    let run = run_at(run, "2026-10-31", &["--opposition", "{tmp}/opposition.csv"]);
    let run = run_at(run, "2026-10-31", &["--opposition", "{tmp}/opposition.csv"]);
    let dir = run.path("sortie/registre/personnes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("financeur-2"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    let bytes = |p: &PathBuf| std::fs::read(p).unwrap();
    assert!(bytes(&files[0]) == bytes(&files[1]), "{files:?} differ");
}
