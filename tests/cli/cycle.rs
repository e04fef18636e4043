//! Issue 24, the committee's cycle: what changed since the last committee,
//! the report's tables as a workbook and a PDF, words instead of codes.

use super::*;

use super::broken_runs::report_args;
use ouistat::testing::domain::fr::fr_int;

const COMMITTEE: &str =
    "[[destinataires]]\nnom = \"comite\"\nclasse = \"comite\"\nregion = \"32\"\nseuil_secret = 11\n";

/// The cut-offs of two committees four months apart.
const CUTOFFS: [&str; 2] = ["2026-06-30", "2026-10-31"];

/// The report's files, read after one run.
struct Report {
    stdout: String,
    html: String,
}

/// A regional extract, then a run and a report at each cut-off, into one
/// output (the release register carries over); the report of each run.
fn cycle() -> (Run, Vec<Report>) {
    let mut run = committee_extracts();
    let mut reports = Vec::new();
    for cutoff in CUTOFFS {
        run = run_at(run, cutoff);
        run = run.args(report_args("32", "2026-T2", "comite"));
        let stdout = String::from_utf8_lossy(&run.succeeds().stdout).into_owned();
        let html =
            std::fs::read_to_string(run.path("sortie/rapport/comite-32-2026-T2.html")).unwrap();
        reports.push(Report { stdout, html });
    }
    (run, reports)
}

/// A regional extract of Hauts-de-France and the committee recipient.
fn committee_extracts() -> Run {
    let run = Run::new().args([
        "generate",
        "--out",
        "{tmp}/extraits",
        "--persons",
        "3000",
        "--seed",
        "5",
        "--region",
        "32",
    ]);
    run.succeeds();
    std::fs::write(run.path("destinataires.toml"), COMMITTEE).unwrap();
    run
}

/// A run at `cutoff` into `{tmp}/sortie`, with the committee.
fn run_at(run: Run, cutoff: &str) -> Run {
    let mut args = run_args(cutoff);
    args.extend(["--recipients", "{tmp}/destinataires.toml"].map(String::from));
    let run = run.args(args);
    run.succeeds();
    run
}

/// The text of each `<td>` of the row that starts with `start`.
fn row_cells(html: &str, start: &str) -> Vec<String> {
    let at = html.find(start).unwrap_or_else(|| panic!("no row {start}"));
    let row = &html[at..at + html[at..].find("</tr>").unwrap()];
    row.split("<td")
        .skip(1)
        .map(|c| {
            let text = &c[c.find('>').unwrap() + 1..c.find("</td>").unwrap()];
            text.to_string()
        })
        .collect()
}

/// (variable, period, level, code) → (value, published) of the headline
/// counts of one release in the register.
type Counts = BTreeMap<(String, String, String, String), (i64, bool)>;

fn released(run: &Run, cutoff: &str) -> Counts {
    rows(&run.path(&format!(
        "sortie/registre/effectifs/comite/date_arrete={cutoff}.parquet"
    )))
    .into_iter()
    .filter(|r| {
        ["nb_positionnements", "nb_entrees"].contains(&r["effectif"].as_str())
            && r["type_periode"] == "quadrimestre"
            && r["dimension"] == "ensemble"
            && r["modalite"] == "ensemble"
            && r["motif_code"] == "ensemble"
    })
    .map(|r| {
        (
            (
                r["effectif"].clone(),
                r["periode"].clone(),
                r["niveau_geo"].clone(),
                r["code_geo"].clone(),
            ),
            (r["valeur"].parse().unwrap(), r["secret"].is_empty()),
        )
    })
    .collect()
}

fn signed(x: i64) -> String {
    if x > 0 {
        format!("+{}", fr_int(x))
    } else {
        fr_int(x)
    }
}

/// Issue 24, item 1: the second committee sees, for every period and place
/// the first one received, the figure then, now and the revision; a
/// revision is given only where both figures are published, so a small
/// change that secrecy protects is never shown.
#[test]
fn the_second_committee_sees_the_revisions_and_no_protected_one() {
    let (run, reports) = cycle();
    for r in &reports {
        assert!(r.stdout.contains("workbook written to"), "{}", r.stdout);
    }
    assert!(
        reports[0].html.contains("Première diffusion à ce comité"),
        "the first report has nothing to compare"
    );
    assert!(!reports[1].html.contains("Première diffusion à ce comité"));
    assert!(reports[1]
        .html
        .contains("1 bis. Révisions depuis le comité précédent"));
    // Reasons in words, an unknown code named as such (this period has
    // abandons; the running one of the other test has none yet).
    let html = &reports[1].html;
    assert!(html.contains("Reprise d&#x27;emploi") && !html.contains(">AB01<"));
    assert!(
        html.contains(">autre motif (code ZZ42)<") && !html.contains(">ZZ42<"),
        "an unknown reason is named as such, never as a bare code"
    );
    let (then, now) = (released(&run, CUTOFFS[0]), released(&run, CUTOFFS[1]));
    let (mut shown, mut protected) = (0, 0);
    let places: BTreeSet<(String, String, String)> = then
        .keys()
        .map(|(_, p, n, c)| (p.clone(), n.clone(), c.clone()))
        .collect();
    assert!(places.iter().any(|(p, _, _)| p == "2026-T2"));
    for (periode, niveau, code) in &places {
        let cells = row_cells(
            &reports[1].html,
            &format!("<tr data-periode=\"{periode}\" data-code=\"{code}\">"),
        );
        let mut expected = Vec::new();
        for variable in ["nb_positionnements", "nb_entrees"] {
            let key = (
                variable.to_string(),
                periode.clone(),
                niveau.clone(),
                code.clone(),
            );
            let (a, a_pub) = then[&key];
            let (b, b_pub) = now[&key];
            let fig = |v: i64, published: bool| if published { fr_int(v) } else { "s".into() };
            let revision = if a_pub && b_pub {
                shown += 1;
                signed(b - a)
            } else {
                // Where the change is small, secrecy hid one of the two
                // figures: the revision must not be shown.
                if (1..11).contains(&(b - a).abs()) {
                    protected += 1;
                }
                "s".into()
            };
            expected.extend([fig(a, a_pub), fig(b, b_pub), revision]);
        }
        assert_eq!(cells, expected, "{periode} {niveau} {code}");
    }
    assert!(shown > 0, "some revisions are shown");
    assert!(
        protected > 0,
        "the data hold a small change that secrecy protects"
    );
    // The headline table gives the period's revision too.
    let region = &now[&(
        "nb_entrees".to_string(),
        "2026-T2".to_string(),
        "region".to_string(),
        "32".to_string(),
    )];
    let before = then[&(
        "nb_entrees".to_string(),
        "2026-T2".to_string(),
        "region".to_string(),
        "32".to_string(),
    )];
    assert!(region.1 && before.1);
    assert!(
        // minijinja escapes `/` in a value.
        reports[1].html.replace("&#x2f;", "/").contains(&format!(
            "2026-T2 au 30/06/2026 : {} ({})",
            fr_int(before.0),
            signed(region.0 - before.0)
        )),
        "headline revision of the region's entries"
    );
}

/// The rows of the table that follows `heading` in the HTML: each row's
/// header and the text of its cells (up to any `<small>`).
fn html_table(html: &str, heading: &str) -> Vec<(String, Vec<String>)> {
    let at = html.find(heading).unwrap_or_else(|| panic!("no {heading}"));
    let body = &html[at..];
    let body = &body[body.find("<tbody>").unwrap()..body.find("</tbody>").unwrap()];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            let th = &row[row.find("<th>").unwrap() + 4..row.find("</th>").unwrap()];
            let cells = row
                .split("<td")
                .skip(1)
                .map(|c| {
                    let text = &c[c.find('>').unwrap() + 1..c.find("</td>").unwrap()];
                    text.split("<small").next().unwrap().to_string()
                })
                .collect();
            (th.to_string(), cells)
        })
        .collect()
}

/// How a workbook column reads in the HTML.
#[derive(Clone, Copy)]
enum Shown {
    Int,
    Pct,
}

/// A workbook cell as the HTML writes it: `s`, `–` for an empty cell, or
/// the French number.
fn as_html(cell: &calamine::Data, shown: Shown) -> String {
    match cell {
        calamine::Data::Float(x) => match shown {
            Shown::Int => fr_int(x.round() as i64),
            Shown::Pct => ouistat::testing::domain::fr::fr_pct(*x),
        },
        calamine::Data::String(s) => s.clone(),
        calamine::Data::Empty => "–".into(),
        other => panic!("unexpected cell {other:?}"),
    }
}

/// Issue 24, items 2 to 4: the report of the period still running at the
/// cut-off says "provisoire"; its workbook has one sheet per table, numbers
/// as numbers and `s` where the HTML has `s`; its PDF has A4 pages with the
/// headline figures as text; reasons and places have their names.
#[test]
fn the_running_period_has_a_workbook_a_pdf_and_words() {
    let run = run_at(committee_extracts(), CUTOFFS[1]);
    let run = run.args(report_args("32", "2026-T3", "comite"));
    let stdout = String::from_utf8_lossy(&run.succeeds().stdout).into_owned();
    let html = std::fs::read_to_string(run.path("sortie/rapport/comite-32-2026-T3.html")).unwrap();
    let xlsx = run.path("sortie/rapport/comite-32-2026-T3.xlsx");
    assert!(stdout.contains(&xlsx.display().to_string()), "{stdout}");

    // Words, not codes; the running period is provisional.
    assert!(html.contains("provisoire au 31 octobre 2026"));
    assert!(html.contains("Hauts-de-France") && html.contains("Pas-de-Calais (62)"));
    assert!(html.contains(">Parcours intégré<") && !html.contains(">PARCOURS_INTEGRE<"));
    assert!(html.contains(">Mission locale<"), "prescribers in words");
    assert!(html.contains("\u{202f}%)"), "changes in %");

    // The workbook: its sheets, and the headline and PIC tables as in the HTML.
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    assert_eq!(
        book.sheet_names(),
        [
            "Chiffres clés",
            "Révisions",
            "Remplissage dispositifs",
            "Remplissage départements",
            "Entonnoir",
            "Prescripteurs",
            "Entrées mensuelles",
            "PIC",
            "Délais",
            "Abandons",
            "Notes"
        ]
    );
    let sheet = |book: &mut calamine::Xlsx<_>, name: &str| -> Vec<Vec<calamine::Data>> {
        let range = book.worksheet_range(name).unwrap();
        range.rows().map(<[calamine::Data]>::to_vec).collect()
    };
    let headline = sheet(&mut book, "Chiffres clés");
    assert!(headline[0][0]
        .to_string()
        .contains("provisoire au 31 octobre 2026"));
    let shown = [Shown::Int, Shown::Int, Shown::Pct, Shown::Pct, Shown::Pct];
    let (mut numbers, mut secrets) = (0, 0);
    for (place, cells) in html_table(&html, "1. Chiffres clés") {
        let lines: Vec<&Vec<calamine::Data>> = headline
            .iter()
            .filter(|r| r[0].to_string() == place)
            .collect();
        assert_eq!(lines.len(), 5, "{place}");
        for ((line, cell), kind) in lines.iter().zip(&cells).zip(shown) {
            numbers += usize::from(matches!(line[2], calamine::Data::Float(_)));
            secrets += usize::from(cell == "s");
            assert_eq!(&as_html(&line[2], kind), cell, "{place} {}", line[1]);
        }
    }
    assert!(numbers > 0);
    let pic = sheet(&mut book, "PIC");
    let kinds = [
        Shown::Int,
        Shown::Int,
        Shown::Pct,
        Shown::Int,
        Shown::Int,
        Shown::Pct,
    ];
    let html_pic = html_table(&html, "5. Éligibilité");
    assert_eq!(pic.len() - 3, html_pic.len());
    for ((place, cells), line) in html_pic.iter().zip(&pic[3..]) {
        assert_eq!(&line[0].to_string(), place);
        for ((cell, kind), value) in cells.iter().zip(kinds).zip(&line[1..]) {
            secrets += usize::from(cell == "s");
            assert_eq!(&as_html(value, kind), cell, "PIC {place}");
        }
    }
    assert!(
        secrets > 0,
        "the report holds suppressed figures to compare"
    );
    let notes = sheet(&mut book, "Notes");
    assert!(notes
        .iter()
        .any(|r| r[0] == "s" && r[1].to_string().contains("Secret statistique")));

    // The PDF, when Chromium is installed.
    let pdf = run.path("sortie/rapport/comite-32-2026-T3.pdf");
    if stdout.contains("PDF not written") {
        eprintln!("skipped: Chromium is not installed, no PDF to check ({stdout})");
    } else {
        check_pdf(&pdf, &html);
    }

    // Without Chromium the report and its workbook are written all the
    // same, and the command says why there is no PDF.
    let without = Command::new(env!("CARGO_BIN_EXE_ouistat"))
        .args(&run.args)
        .current_dir(run.dir.path())
        .env("OUISTAT_CHROMIUM", run.path("pas-de-chromium"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&without.stdout);
    assert!(without.status.success(), "{said}");
    assert!(
        said.contains("PDF not written: OUISTAT_CHROMIUM names")
            && said.contains("workbook written"),
        "{said}"
    );

    assert!(
        !pdf.exists(),
        "no PDF of an earlier rendering is left beside the report"
    );
}

/// The PDF has A4 pages, the report's sections and its headline figures as text.
fn check_pdf(pdf: &Path, html: &str) {
    let doc = pdf_extract::Document::load(pdf).unwrap();
    let pages = doc.get_pages();
    assert!((4..=16).contains(&pages.len()), "{} pages", pages.len());
    for (n, id) in pages {
        let page = doc.get_dictionary(id).unwrap();
        let media = page.get(b"MediaBox").unwrap().as_array().unwrap();
        let size: Vec<f64> = media[2..]
            .iter()
            .map(|v| {
                v.as_float()
                    .map(f64::from)
                    .or_else(|_| v.as_i64().map(|i| i as f64))
                    .unwrap()
            })
            .collect();
        assert!(
            (size[0] - 595.3).abs() < 2.0 && (size[1] - 841.9).abs() < 2.0,
            "page {n} is A4: {size:?}"
        );
    }
    let text: String = pdf_extract::extract_text(pdf)
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        // The "ff" ligature as two letters.
        .replace('\u{fb00}', "ff");
    assert!(
        text.contains("Chiffresclés") && text.contains("Méthode"),
        "{}",
        &text[..text.len().min(2000)]
    );
    let (_, region) = &html_table(html, "1. Chiffres clés")[0];
    for figure in &region[..2] {
        let figure: String = figure.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(
            text.contains(&figure),
            "headline figure {figure} in the PDF"
        );
    }
}
