//! The committee report, the release register and settings checks.

use super::*;

pub(crate) fn report_run() -> Run {
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
        // Issue 24: the label is the département's name and code.
        let label = format!(" ({}) (s)\n<", r["code_geo"]);
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
pub(crate) fn fixture_run(toml: &str) -> Run {
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
    let no_k = ouistat::testing::policy::ANNEXE1.replace(
        "[[k_anonymat]]\nclasse = \"ministere\"\nk = 5\nsuppression_max = 0.05\n",
        "",
    );
    assert_ne!(no_k, ouistat::testing::policy::ANNEXE1);
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
        let read = |out: &str| std::fs::read(run.path(&format!("{out}/{file}"))).unwrap();
        match file.ends_with(".json") {
            // Issue 26: the index also anchors the log of deliveries,
            // which dates each delivery; the releases are what must agree.
            true => {
                let releases = |b: Vec<u8>| {
                    serde_json::from_slice::<serde_json::Value>(&b).unwrap()["diffusions"].clone()
                };
                assert_eq!(
                    releases(read("sortie")),
                    releases(read("sortie-b")),
                    "{file}"
                );
            }
            false => assert_eq!(read("sortie"), read("sortie-b"), "{file}"),
        }
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
        (["--memory-limit", "lots"], "`lots` is not a size"),
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
        assert!(err.contains(says) && err.contains(extra[0]), "{err}");
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

/// A plan publishing départements and zones d'emploi together: secrecy
/// protects their crossing (the cells département × zone, never
/// published), and the analysts' indicators carry no crossing row.
#[test]
fn departements_and_zones_published_together_are_crossed() {
    let run = Run::new().extracts(FIXTURE);
    std::fs::write(
        run.path("plan.toml"),
        "version = \"z\"\n[[tableau]]\nnom = \"entonnoir\"\ncube = \"entonnoir\"\nniveaux = [\"region\", \"departement\", \"zone_emploi\"]\nperiode = \"quadrimestre\"\n\n\
         [[tableau]]\nnom = \"remplissage\"\ncube = \"remplissage\"\nniveaux = [\"departement\", \"zone_emploi\"]\nperiode = \"quadrimestre\"\n",
    )
    .unwrap();
    std::fs::write(
        run.path("destinataires.toml"),
        "[[destinataires]]\nnom = \"comite\"\nclasse = \"comite\"\nplan = \"plan.toml\"\n",
    )
    .unwrap();
    let mut args = run_args("2026-06-30");
    args.extend(["--recipients", "{tmp}/destinataires.toml"].map(String::from));
    let run = run.args(args);
    run.succeeds();
    let audit = rows(&run.path("sortie/secret/audit-comite.parquet"));
    assert!(
        audit
            .iter()
            .any(|r| r["effectif"].starts_with("croisement:")),
        "no crossing among {} audited counts",
        audit.len()
    );
    for cube in ["entonnoir", "remplissage"] {
        let rows = rows(&run.path(&format!("sortie/indicateurs/{cube}.parquet")));
        assert!(rows.iter().all(|r| r["niveau_geo"] != "departement_zone"));
    }
}
