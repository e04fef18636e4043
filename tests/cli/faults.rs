//! Faults from real exports (tests/fixtures/cases, issue 15): physical line numbers, encoding evidence, runaway quotes, implausible dates.

use super::*;

pub(crate) const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cases");

/// A run of one case of `tests/fixtures/cases` at the cases' cut-off.
pub(crate) fn case_run(name: &str, extra: &[&str]) -> Run {
    let mut args = lenient_run_args("2026-10-31");
    args.extend(extra.iter().map(|a| a.to_string()));
    Run::new().extracts(&format!("{CASES}/{name}")).args(args)
}

pub(crate) fn run_json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.path("sortie/run.json")).unwrap()).unwrap()
}

/// (read, accepted, quarantined) of one extract in `run.json`.
pub(crate) fn reconciliation(run: &Run, extract: &str) -> (u64, u64, u64) {
    let r = &run_json(run)["reconciliation"][extract];
    let count = |k: &str| {
        r[k].as_u64()
            .unwrap_or_else(|| panic!("{extract}.{k}: {r}"))
    };
    (count("lues"), count("acceptees"), count("quarantaine"))
}

/// The quarantine of one extract as (ligne, regle, contenu), in line order.
pub(crate) fn quarantine(run: &Run, extract: &str) -> Vec<(u64, String, String)> {
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
pub(crate) fn quarantined_lines(run: &Run, extract: &str) -> Vec<(u64, String)> {
    quarantine(run, extract)
        .into_iter()
        .map(|(l, r, _)| (l, r))
        .collect()
}

pub(crate) fn rewrite(run: &Run, file: &str, edit: impl FnOnce(String) -> String) {
    let path = run.path(&format!("extraits/{file}"));
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
}

pub(crate) fn rewrite_bytes(run: &Run, file: &str, edit: impl FnOnce(Vec<u8>) -> Vec<u8>) {
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
            "`31/12/2027` is not a date",
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
pub(crate) fn snapshot(dir: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
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
pub(crate) fn without_timings(
    snap: &BTreeMap<String, Option<Vec<u8>>>,
) -> BTreeMap<String, Option<Vec<u8>>> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                // Issue 26: the register of deliveries dates each entry, and
                // chains it to the previous one by its hash.
                map.retain(|k, _| {
                    !matches!(
                        k.as_str(),
                        "durees_secondes" | "horodatage" | "precedente_sha256" | "derniere_sha256"
                    ) && !k.starts_with("secondes_")
                });
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
                Some(b) if path.ends_with(".jsonl") => Some(
                    b.split(|c| *c == b'\n')
                        .filter(|l| !l.is_empty())
                        .flat_map(|l| {
                            let mut v: serde_json::Value = serde_json::from_slice(l).unwrap();
                            strip(&mut v);
                            serde_json::to_vec(&v).unwrap()
                        })
                        .collect(),
                ),
                other => other.clone(),
            };
            (path.clone(), bytes)
        })
        .collect()
}

/// Names in `dir` starting with `prefix`, with the pid that follows it.
pub(crate) fn leftovers_of(dir: &Path, prefix: &str) -> Vec<(String, u32)> {
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
