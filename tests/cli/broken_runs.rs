//! Issue 20: broken runs fail, commands check what they are asked; the report's coverage and template.

use super::*;

/// A run of the fixture, edited by `edit`, with a committee recipient;
/// it must fail: (the run, its exit code, its stderr).
pub(crate) fn broken_run(cutoff: &str, edit: impl FnOnce(&Run)) -> (Run, i32, String) {
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
pub(crate) fn committee_run() -> Run {
    fixture_run("[[destinataires]]\nnom = \"comite\"\nclasse = \"comite\"\nregion = 32\n")
}

pub(crate) fn report_args(region: &str, period: &str, from: &str) -> Vec<String> {
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
    // A template with a misspelt variable.
    let template =
        ouistat::testing::report::TEMPLATE.replace("{{ region_nom }}", "{{ regoin_nom }}");
    std::fs::write(run.path("gabarit.html"), template).unwrap();
    let mut args = report_args("32", "2026-T2", "comite");
    args.extend(["--template", "{tmp}/gabarit.html"].map(String::from));
    run = run.args(args);
    let (code, err) = run.fails();
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("gabarit.html") && err.contains("unknown variable(s) regoin_nom"),
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

/// A statistician reorders the report's sections, drops a column and adds a
/// sentence quoting a figure, by editing the template alone.
#[test]
fn the_report_is_edited_in_its_template_alone() {
    let mut run = committee_run();
    let template = ouistat::testing::report::TEMPLATE;
    let section = |title: &str| {
        let start = template[..template.find(title).unwrap()]
            .rfind("<section")
            .unwrap();
        let end = start + template[start..].find("</section>").unwrap() + "</section>".len();
        &template[start..end]
    };
    let (delays, pic) = (section("6. Délais"), section("5. Éligibilité"));
    // Delays before PIC; the fill tables lose their column of places; a
    // sentence quotes the region's positionings.
    let edited = template
        .replace(delays, "@@PIC@@")
        .replace(pic, delays)
        .replace("@@PIC@@", pic)
        .replace("<th>Places</th>", "")
        .replace("{{ td(r.places_conventionnees) }}", "")
        .replace(
            "<h2>1. Chiffres clés</h2>",
            "<h2>1. Chiffres clés</h2>\n<p id=\"phrase\">La région compte {{ chiffres_cles[0].nb_positionnements.valeur|entier }} positionnements.</p>",
        );
    std::fs::write(run.path("gabarit.html"), edited).unwrap();
    let mut args = report_args("32", "2026-T2", "comite");
    args.extend(["--template", "{tmp}/gabarit.html"].map(String::from));
    run = run.args(args);
    run.succeeds();
    let html = std::fs::read_to_string(run.path("sortie/rapport/comite-32-2026-T2.html")).unwrap();
    assert!(html.find("6. Délais").unwrap() < html.find("5. Éligibilité").unwrap());
    assert!(!html.contains("<th>Places</th>"));
    // Sessions, entries and rate: three cells, not four, in a fill row.
    let fill = &html[html.find("<th>Département</th>").unwrap()..];
    let fill = &fill[..fill.find("</table>").unwrap()];
    let row = fill
        .split("<tr data-code=")
        .nth(1)
        .expect("a département row");
    assert_eq!(row.matches("<td").count(), 3, "{row}");
    // The sentence quotes the headline figure of the region.
    let headline = &html[html.find("<tr data-code=\"32\">").unwrap()..];
    let cell = headline.split("<td").nth(1).unwrap();
    let cell = &cell[cell.find('>').unwrap() + 1..];
    let figure = &cell[..cell.find('<').unwrap()];
    assert!(
        html.contains(&format!("La région compte {figure} positionnements.")),
        "{figure}"
    );
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

/// A committee delivery on its own renders the report: `--from` takes the
/// path of its folder, and nothing of the run's output is read (its
/// `indicateurs/` are removed here).
#[test]
fn the_report_renders_from_a_delivery_folder_alone() {
    let mut run = committee_run();
    run = run.args(report_args("32", "2026-T2", "comite"));
    run.succeeds();
    let beside =
        std::fs::read_to_string(run.path("sortie/rapport/comite-32-2026-T2.html")).unwrap();
    let alone = run.path("recu/comite");
    std::fs::create_dir_all(alone.join("agregats")).unwrap();
    for entry in std::fs::read_dir(run.path("sortie/livraisons/comite/agregats")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(
            &path,
            alone.join("agregats").join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    for file in ["manifest.json", "dictionnaire.md"] {
        std::fs::copy(
            run.path(&format!("sortie/livraisons/comite/{file}")),
            alone.join(file),
        )
        .unwrap();
    }
    std::fs::remove_dir_all(run.path("sortie/indicateurs")).unwrap();
    run = run.args(
        [
            "report",
            "--out",
            "{tmp}/comite-seul",
            "--region",
            "32",
            "--period",
            "2026-T2",
            "--from",
            "{tmp}/recu/comite",
        ]
        .map(String::from),
    );
    run.succeeds();
    let html =
        std::fs::read_to_string(run.path("comite-seul/rapport/comite-32-2026-T2.html")).unwrap();
    // The same figures: every table row of the headline is the same.
    let headline = |h: &str| {
        let start = h.find("<th>Territoire</th>").unwrap();
        h[start..start + h[start..].find("</table>").unwrap()].to_string()
    };
    assert_eq!(headline(&html), headline(&beside));
    assert!(
        html.contains("30 juin 2026"),
        "the cut-off comes from the manifest"
    );
    // Without the run's output, the report does not claim its quarantine.
    assert!(!html.contains("mises en quarantaine"));
}
