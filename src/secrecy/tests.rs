//! Hand-built linked tables whose right pattern can be worked out on paper,
//! and a property test against an independent LP attacker.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
use arrow::datatypes::Int64Type;
use arrow::record_batch::RecordBatch;
use minilp::{ComparisonOp, OptimizationDirection, Problem};
use rand::{Rng, SeedableRng};

use super::*;

/// A row of a test cube: (periode, niveau_geo, code_geo, dimension,
/// modalite, counts in the order of the cube's columns).
type TestRow<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a str,
    &'a str,
    Vec<i64>,
);

/// A cube batch with the key columns and the given integer columns.
fn batch(columns: &[&str], rows: &[TestRow]) -> RecordBatch {
    let text = |f: &dyn Fn(&TestRow) -> Option<String>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        ("periode", text(&|r| Some(r.0.to_string()))),
        (
            "type_periode",
            text(&|r| {
                Some(
                    if r.0.contains('T') {
                        "quadrimestre"
                    } else {
                        "mois"
                    }
                    .to_string(),
                )
            }),
        ),
        ("niveau_geo", text(&|r| Some(r.1.to_string()))),
        ("code_geo", text(&|r| r.2.map(str::to_string))),
        ("dimension", text(&|r| Some(r.3.to_string()))),
        ("modalite", text(&|r| Some(r.4.to_string()))),
    ];
    for (i, c) in columns.iter().enumerate() {
        cols.push((
            c,
            Arc::new(rows.iter().map(|r| r.5[i]).collect::<Int64Array>()),
        ));
    }
    RecordBatch::try_from_iter(cols).unwrap()
}

fn plan(text: &str) -> Plan {
    Plan::parse("test", &format!("version = \"t\"\n{text}")).unwrap()
}

fn settings() -> Settings {
    Settings {
        threshold: 11,
        protection: 1,
        region: None,
    }
}

fn geography(pairs: &[(&str, &str, &str)]) -> Geography {
    pairs
        .iter()
        .map(|(l, c, r)| ((l.to_string(), c.to_string()), r.to_string()))
        .collect()
}

/// The flags of a count column of a cleared table, by `code_geo/modalite/periode`.
fn flags(p: &Protection, table: &str, count: &str) -> Vec<(String, Option<String>)> {
    let t = p.tables.iter().find(|t| t.name() == table).unwrap().batch();
    let s = |name: &str| t.column_by_name(name).unwrap().as_string::<i32>().clone();
    let (per, code, modal, flag) = (
        s("periode"),
        s("code_geo"),
        s("modalite"),
        s(&format!("secret_{count}")),
    );
    let values = t
        .column_by_name(count)
        .unwrap()
        .as_primitive::<Int64Type>()
        .clone();
    (0..t.num_rows())
        .map(|i| {
            let f = flag.is_valid(i).then(|| flag.value(i).to_string());
            // A suppressed count is null; a published one is not.
            assert_eq!(values.is_null(i), f.is_some(), "row {i} of {table}");
            let code = if code.is_valid(i) {
                code.value(i)
            } else {
                "FR"
            };
            (format!("{code}/{}/{}", modal.value(i), per.value(i)), f)
        })
        .collect()
}

fn hidden(p: &Protection, table: &str, count: &str) -> Vec<String> {
    flags(p, table, count)
        .into_iter()
        .filter_map(|(k, f)| f.map(|f| format!("{k}:{f}")))
        .collect()
}

/// The counts of the funnel, in the order [`funnel_and_abandons`] takes.
const FUNNEL: [&str; 8] = [
    "nb_positionnements",
    "nb_presents_ico",
    "nb_retenus",
    "nb_ais_validees",
    "nb_entrees",
    "nb_abandons",
    "nb_personnes_positionnees",
    "nb_personnes_entrees",
];

/// `batch` with `extra` columns appended.
fn with_columns(batch: RecordBatch, extra: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let schema = batch.schema();
    let own = schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .zip(batch.columns().iter().cloned());
    RecordBatch::try_from_iter(own.chain(extra.into_iter().map(|(n, a)| (n.to_string(), a))))
        .unwrap()
}

/// One national cell of the funnel (`counts` in the order of [`FUNNEL`])
/// and of the abandons, with their rates, protected together.
fn funnel_and_abandons(counts: [i64; 8]) -> Protection {
    let (positionings, entries, abandons) = (counts[0], counts[4], counts[5]);
    let cell = |columns: &[&str], values: Vec<i64>| {
        batch(
            columns,
            &[("2026-T3", "france", None, "ensemble", "ensemble", values)],
        )
    };
    let rate = |x: f64| Arc::new(arrow::array::Float64Array::from(vec![x])) as ArrayRef;
    let e = with_columns(
        cell(&FUNNEL, counts.to_vec()),
        vec![("taux_entree", rate(entries as f64 / positionings as f64))],
    );
    let a = with_columns(
        cell(&["nb_entrees", "nb_abandons"], vec![entries, abandons]),
        vec![
            (
                "motif_code",
                Arc::new(StringArray::from(vec!["ensemble"])) as ArrayRef,
            ),
            ("taux_abandon", rate(abandons as f64 / entries as f64)),
            ("part_abandons", rate(1.0)),
        ],
    );
    let plan = plan(
        "[[tableau]]\nnom = \"entonnoir\"\ncube = \"entonnoir\"\nniveaux = [\"france\"]\nperiode = \"quadrimestre\"\n\
         [[tableau]]\nnom = \"abandons\"\ncube = \"abandons\"\nniveaux = [\"france\"]\nperiode = \"quadrimestre\"\n",
    );
    let cubes = [
        CubeBatch {
            cube: cubes::Cube::Entonnoir,
            batch: e,
        },
        CubeBatch {
            cube: cubes::Cube::Abandons,
            batch: a,
        },
    ];
    protect(&plan, &cubes, &Geography::new(), &settings()).unwrap()
}

#[test]
fn each_count_is_its_own_cell() {
    let p = funnel_and_abandons([2779, 2000, 1500, 800, 450, 10, 2500, 400]);
    let flag = |p: &Protection, table: &str, column: &str| -> Option<String> {
        let t = p.tables.iter().find(|t| t.name() == table).unwrap().batch();
        let f = t
            .column_by_name(&format!("secret_{column}"))
            .unwrap()
            .as_string::<i32>()
            .clone();
        f.is_valid(0).then(|| f.value(0).to_string())
    };
    // 10 abandons: only they and the abandon rate go.
    for c in FUNNEL
        .iter()
        .filter(|c| **c != "nb_abandons")
        .chain(&["taux_entree"])
    {
        assert_eq!(flag(&p, "entonnoir", c), None, "{c}");
    }
    assert_eq!(flag(&p, "entonnoir", "nb_abandons").as_deref(), Some("A"));
    assert_eq!(flag(&p, "abandons", "nb_abandons").as_deref(), Some("A"));
    assert_eq!(flag(&p, "abandons", "taux_abandon").as_deref(), Some("A"));
    assert_eq!(flag(&p, "abandons", "nb_entrees"), None);
    // 445 entries out of 450 positionings leave 5 without entry: the
    // entries go (a complement of 5), the positionings stay.
    let p = funnel_and_abandons([450, 300, 250, 200, 445, 30, 400, 380]);
    assert_eq!(flag(&p, "entonnoir", "nb_entrees").as_deref(), Some("A"));
    assert_eq!(flag(&p, "entonnoir", "taux_entree").as_deref(), Some("A"));
    assert_eq!(flag(&p, "entonnoir", "nb_positionnements"), None);
    assert_eq!(flag(&p, "abandons", "nb_entrees").as_deref(), Some("A"));
    let audit = &p.audit;
    assert!(audit.num_rows() >= 1);
    assert_eq!(p.summary.effectifs_exposes, 0);
}

fn one_count_plan(tables: &[(&str, &str, &str, Option<&str>)]) -> Plan {
    let text: String = tables
        .iter()
        .map(|(nom, niveaux, periode, dim)| {
            format!(
                "[[tableau]]\nnom = \"{nom}\"\ncube = \"entonnoir\"\nniveaux = [{niveaux}]\nperiode = \"{periode}\"\nmesures = [\"nb_positionnements\"]\n{}",
                dim.map(|d| format!("dimension = \"{d}\"\n")).unwrap_or_default()
            )
        })
        .collect();
    plan(&text)
}

fn positionings(rows: &[TestRow]) -> [CubeBatch; 1] {
    [CubeBatch {
        cube: cubes::Cube::Entonnoir,
        batch: batch(&["nb_positionnements"], rows),
    }]
}

#[test]
fn a_month_hidden_inside_its_four_month_period_gets_one_more_month() {
    let rows: Vec<TestRow> = [
        ("2026-05", 40),
        ("2026-06", 3),
        ("2026-07", 35),
        ("2026-08", 22),
        ("2026-T2", 100),
    ]
    .into_iter()
    .map(|(p, v)| (p, "region", Some("32"), "ensemble", "ensemble", vec![v]))
    .collect();
    let plan = one_count_plan(&[
        ("entonnoir", "\"region\"", "quadrimestre", None),
        ("entonnoir_mois", "\"region\"", "mois", None),
    ]);
    let p = protect(&plan, &positionings(&rows), &Geography::new(), &settings()).unwrap();
    // The smallest other month protects it; the period stays published.
    assert_eq!(
        hidden(&p, "entonnoir_mois", "nb_positionnements"),
        ["32/ensemble/2026-06:A", "32/ensemble/2026-08:D"]
    );
    assert!(hidden(&p, "entonnoir", "nb_positionnements").is_empty());
}

#[test]
fn a_departement_alone_in_its_region_shares_its_pattern() {
    let rows: Vec<TestRow> = vec![
        (
            "2026-T2",
            "region",
            Some("94"),
            "ensemble",
            "ensemble",
            vec![30],
        ),
        (
            "2026-T2",
            "region",
            Some("94"),
            "dispositif",
            "AFC",
            vec![4],
        ),
        (
            "2026-T2",
            "region",
            Some("94"),
            "dispositif",
            "POEC",
            vec![26],
        ),
        (
            "2026-T2",
            "departement",
            Some("2A"),
            "ensemble",
            "ensemble",
            vec![30],
        ),
        (
            "2026-T2",
            "departement",
            Some("2A"),
            "dispositif",
            "AFC",
            vec![4],
        ),
        (
            "2026-T2",
            "departement",
            Some("2A"),
            "dispositif",
            "POEC",
            vec![26],
        ),
    ];
    let plan = one_count_plan(&[(
        "entonnoir_dispositif",
        "\"region\", \"departement\"",
        "quadrimestre",
        Some("dispositif"),
    )]);
    let geo = geography(&[("departement", "2A", "94")]);
    let p = protect(&plan, &positionings(&rows), &geo, &settings()).unwrap();
    assert_eq!(
        hidden(&p, "entonnoir_dispositif", "nb_positionnements"),
        [
            "94/AFC/2026-T2:A",
            "94/POEC/2026-T2:D",
            "2A/AFC/2026-T2:A",
            "2A/POEC/2026-T2:D"
        ]
    );
}

/// One positioning count at four-month `2026-T2`, `ensemble`.
fn at(level: &str, code: &str, n: i64) -> TestRow<'static> {
    let (level, code): (&'static str, &'static str) =
        (Box::leak(level.into()), Box::leak(code.into()));
    (
        "2026-T2",
        level,
        Some(code),
        "ensemble",
        "ensemble",
        vec![n],
    )
}

#[test]
fn zones_beside_departements_are_crossed_with_them() {
    // Zone 3202 lies wholly in département 62 (no row 59|3202: the pair
    // shares no commune); zone 3201 straddles both. Every published count
    // is large, but 3201 − 59 gives the 3 positionings of 3201 in 62.
    let rows: Vec<TestRow> = vec![
        at("region", "32", 45),
        at("departement", "59", 20),
        at("departement", "62", 25),
        at("zone_emploi", "3201", 23),
        at("zone_emploi", "3202", 22),
        at("departement_zone", "59|3201", 20),
        at("departement_zone", "62|3201", 3),
        at("departement_zone", "62|3202", 22),
    ];
    let geo = geography(&[
        ("departement", "59", "32"),
        ("departement", "62", "32"),
        ("zone_emploi", "3201", "32"),
        ("zone_emploi", "3202", "32"),
    ]);
    let both = one_count_plan(&[(
        "entonnoir",
        "\"region\", \"departement\", \"zone_emploi\"",
        "quadrimestre",
        None,
    )]);
    let p = protect(&both, &positionings(&rows), &geo, &settings()).unwrap();
    let shown = hidden(&p, "entonnoir", "nb_positionnements");
    // The crossing 62|3201 is primary, never published: whatever pins it
    // (59 and 3201 together, or 62 and 3202) is broken.
    let gone = |code: &str| shown.iter().any(|h| h.starts_with(&format!("{code}/")));
    assert!(
        (gone("59") || gone("3201")) && (gone("62") || gone("3202")),
        "{shown:?}"
    );
    assert!(shown.iter().all(|h| h.ends_with(":D")), "{shown:?}");
    // Without its crossing rows, a cube cannot serve both levels.
    let Err(e) = protect(&both, &positionings(&rows[..5]), &geo, &settings()) else {
        panic!("départements and zones protected without their crossing");
    };
    assert!(e.to_string().contains("zone d'emploi"), "{e}");
    // Zones alone, within their region: no crossing needed.
    let zones = one_count_plan(&[(
        "entonnoir",
        "\"region\", \"zone_emploi\"",
        "quadrimestre",
        None,
    )]);
    let small: Vec<TestRow> = vec![
        at("region", "32", 45),
        at("zone_emploi", "3201", 5),
        at("zone_emploi", "3202", 40),
    ];
    let p = protect(&zones, &positionings(&small), &geo, &settings()).unwrap();
    assert_eq!(
        hidden(&p, "entonnoir", "nb_positionnements"),
        ["3201/ensemble/2026-T2:A", "3202/ensemble/2026-T2:D"]
    );
}

#[test]
fn two_small_primary_cells_must_not_reveal_their_small_sum() {
    let rows: Vec<TestRow> = vec![
        (
            "2026-T2",
            "region",
            Some("32"),
            "ensemble",
            "ensemble",
            vec![57],
        ),
        (
            "2026-T2",
            "region",
            Some("32"),
            "dispositif",
            "AFC",
            vec![3],
        ),
        (
            "2026-T2",
            "region",
            Some("32"),
            "dispositif",
            "POEC",
            vec![4],
        ),
        (
            "2026-T2",
            "region",
            Some("32"),
            "dispositif",
            "PRF",
            vec![20],
        ),
        (
            "2026-T2",
            "region",
            Some("32"),
            "dispositif",
            "SIEG",
            vec![30],
        ),
    ];
    let plan = one_count_plan(&[(
        "entonnoir_dispositif",
        "\"region\"",
        "quadrimestre",
        Some("dispositif"),
    )]);
    let p = protect(&plan, &positionings(&rows), &Geography::new(), &settings()).unwrap();
    // Neither 3 nor 4 can be computed, but 3 + 4 = 7 could: PRF goes too.
    assert_eq!(
        hidden(&p, "entonnoir_dispositif", "nb_positionnements"),
        ["32/AFC/2026-T2:A", "32/POEC/2026-T2:A", "32/PRF/2026-T2:D"]
    );
}

#[test]
fn a_cell_shared_by_two_tables_is_one_cell() {
    // Entries by département: in the funnel and in the delays table.
    let rows: Vec<TestRow> = vec![
        (
            "2026-T2",
            "region",
            Some("32"),
            "ensemble",
            "ensemble",
            vec![50],
        ),
        (
            "2026-T2",
            "departement",
            Some("59"),
            "ensemble",
            "ensemble",
            vec![5],
        ),
        (
            "2026-T2",
            "departement",
            Some("62"),
            "ensemble",
            "ensemble",
            vec![20],
        ),
        (
            "2026-T2",
            "departement",
            Some("80"),
            "ensemble",
            "ensemble",
            vec![25],
        ),
    ];
    let plan = plan(
        "[[tableau]]\nnom = \"entonnoir\"\ncube = \"entonnoir\"\nniveaux = [\"region\", \"departement\"]\nperiode = \"quadrimestre\"\nmesures = [\"nb_entrees\"]\n\
         [[tableau]]\nnom = \"delais\"\ncube = \"delais\"\nniveaux = [\"region\", \"departement\"]\nperiode = \"quadrimestre\"\nmesures = [\"nb_entrees\"]\n",
    );
    let cubes = [
        CubeBatch {
            cube: cubes::Cube::Entonnoir,
            batch: batch(&["nb_entrees"], &rows),
        },
        CubeBatch {
            cube: cubes::Cube::Delais,
            batch: batch(&["nb_entrees"], &rows),
        },
    ];
    let geo = geography(&[
        ("departement", "59", "32"),
        ("departement", "62", "32"),
        ("departement", "80", "32"),
    ]);
    let p = protect(&plan, &cubes, &geo, &settings()).unwrap();
    let expected = ["59/ensemble/2026-T2:A", "62/ensemble/2026-T2:D"];
    assert_eq!(hidden(&p, "entonnoir", "nb_entrees"), expected);
    assert_eq!(hidden(&p, "delais", "nb_entrees"), expected);
    assert_eq!(p.summary.cellules, 4, "one cell per count, not per table");
}

#[test]
fn a_row_a_table_lacks_is_a_known_zero() {
    // The delays table has no row where nobody entered: there the funnel's
    // entries are known to be 0, and cannot serve as a complement.
    let funnel: Vec<TestRow> = vec![
        (
            "2026-T2",
            "region",
            Some("32"),
            "ensemble",
            "ensemble",
            vec![58, 19],
        ),
        (
            "2026-T2",
            "departement",
            Some("59"),
            "ensemble",
            "ensemble",
            vec![15, 5],
        ),
        (
            "2026-T2",
            "departement",
            Some("62"),
            "ensemble",
            "ensemble",
            vec![13, 0],
        ),
        (
            "2026-T2",
            "departement",
            Some("80"),
            "ensemble",
            "ensemble",
            vec![30, 14],
        ),
    ];
    let delays: Vec<TestRow> = funnel
        .iter()
        .filter(|r| r.5[1] > 0)
        .map(|r| (r.0, r.1, r.2, r.3, r.4, vec![r.5[1]]))
        .collect();
    let plan = plan(
        "[[tableau]]\nnom = \"entonnoir\"\ncube = \"entonnoir\"\nniveaux = [\"region\", \"departement\"]\nperiode = \"quadrimestre\"\nmesures = [\"nb_positionnements\", \"nb_entrees\"]\n\
         [[tableau]]\nnom = \"delais\"\ncube = \"delais\"\nniveaux = [\"region\", \"departement\"]\nperiode = \"quadrimestre\"\nmesures = [\"nb_entrees\"]\n",
    );
    let cubes = [
        CubeBatch {
            cube: cubes::Cube::Entonnoir,
            batch: batch(&["nb_positionnements", "nb_entrees"], &funnel),
        },
        CubeBatch {
            cube: cubes::Cube::Delais,
            batch: batch(&["nb_entrees"], &delays),
        },
    ];
    let geo = geography(&[
        ("departement", "59", "32"),
        ("departement", "62", "32"),
        ("departement", "80", "32"),
    ]);
    let p = protect(&plan, &cubes, &geo, &settings()).unwrap();
    // 59's 5 is primary. 62's 0, the smallest, would be the cheapest
    // complement, but it is known: 80's 14 goes instead.
    let expected = ["59/ensemble/2026-T2:A", "80/ensemble/2026-T2:D"];
    assert_eq!(hidden(&p, "entonnoir", "nb_entrees"), expected);
    assert_eq!(hidden(&p, "delais", "nb_entrees"), expected);
    assert_eq!(p.summary.effectifs_exposes, 0);
}

/// An independent attacker: from the generated table itself (not from the
/// system secrecy builds), min and max of each suppressed cell.
fn attack(
    values: &[Vec<i64>],
    totals_row: &[i64],
    total: i64,
    hidden: &dyn Fn(usize, usize) -> bool,
) -> Vec<(f64, f64)> {
    // Cells: values[r][c] (regions × modalities), row totals, column totals
    // (France by modality), grand total; all additive.
    let (rows, cols) = (values.len(), values[0].len());
    let col_totals: Vec<i64> = (0..cols)
        .map(|c| values.iter().map(|r| r[c]).sum())
        .collect();
    let mut cells: Vec<(usize, usize, i64)> = Vec::new(); // (r, c, value) with r = rows for France, c = cols for ensemble
    for r in 0..=rows {
        for c in 0..=cols {
            let v = match (r == rows, c == cols) {
                (false, false) => values[r][c],
                (false, true) => totals_row[r],
                (true, false) => col_totals[c],
                (true, true) => total,
            };
            cells.push((r, c, v));
        }
    }
    let idx = |r: usize, c: usize| r * (cols + 1) + c;
    let mut out = Vec::new();
    for (target, &(tr, tc, _)) in cells.iter().enumerate() {
        if !hidden(tr, tc) {
            continue;
        }
        let mut bounds = [0.0; 2];
        for (k, dir) in [
            OptimizationDirection::Minimize,
            OptimizationDirection::Maximize,
        ]
        .into_iter()
        .enumerate()
        {
            let mut lp = Problem::new(dir);
            let vars: Vec<_> = cells
                .iter()
                .enumerate()
                .map(|(i, &(r, c, v))| {
                    let obj = if i == target { 1.0 } else { 0.0 };
                    if hidden(r, c) {
                        lp.add_var(obj, (0.0, f64::INFINITY))
                    } else {
                        lp.add_var(obj, (v as f64, v as f64))
                    }
                })
                .collect();
            for r in 0..=rows {
                let mut e: Vec<(minilp::Variable, f64)> =
                    (0..cols).map(|c| (vars[idx(r, c)], 1.0)).collect();
                e.push((vars[idx(r, cols)], -1.0));
                lp.add_constraint(&e[..], ComparisonOp::Eq, 0.0);
            }
            for c in 0..=cols {
                let mut e: Vec<(minilp::Variable, f64)> =
                    (0..rows).map(|r| (vars[idx(r, c)], 1.0)).collect();
                e.push((vars[idx(rows, c)], -1.0));
                lp.add_constraint(&e[..], ComparisonOp::Eq, 0.0);
            }
            bounds[k] = match lp.solve() {
                Ok(s) => s.objective(),
                Err(minilp::Error::Unbounded) => f64::INFINITY,
                Err(e) => panic!("{e}"),
            };
        }
        out.push((bounds[0], bounds[1]));
    }
    out
}

/// The rows of a table of regions (`codes`) by dispositif (`mods`) with
/// its margins, France included: `values[region][dispositif]`.
fn region_by_dispositif<'a>(
    values: &[Vec<i64>],
    codes: &'a [String],
    mods: &'a [String],
) -> Vec<TestRow<'a>> {
    let totals: Vec<i64> = values.iter().map(|r| r.iter().sum()).collect();
    let cell = |code: Option<&'a str>, m: &'a str, v: i64| -> TestRow<'a> {
        let level = if code.is_some() { "region" } else { "france" };
        let dimension = if m == "ensemble" {
            "ensemble"
        } else {
            "dispositif"
        };
        ("2026-T2", level, code, dimension, m, vec![v])
    };
    let mut rows = vec![cell(None, "ensemble", totals.iter().sum())];
    for (m, name) in mods.iter().enumerate() {
        rows.push(cell(None, name, values.iter().map(|r| r[m]).sum()));
    }
    for (r, code) in codes.iter().enumerate() {
        rows.push(cell(Some(code), "ensemble", totals[r]));
        for (m, name) in mods.iter().enumerate() {
            rows.push(cell(Some(code), name, values[r][m]));
        }
    }
    rows
}

#[test]
fn no_suppressed_count_is_narrower_than_the_protection_level_on_random_tables() {
    for seed in 0..40u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (regions, modalities) = (rng.gen_range(2..6), rng.gen_range(2..5));
        let values: Vec<Vec<i64>> = (0..regions)
            .map(|_| {
                (0..modalities)
                    .map(|_| {
                        if rng.gen_bool(0.3) {
                            rng.gen_range(1..11)
                        } else {
                            rng.gen_range(11..60)
                        }
                    })
                    .collect()
            })
            .collect();
        let codes: Vec<String> = (0..regions).map(|r| format!("{}", 11 + r)).collect();
        let mods: Vec<String> = (0..modalities).map(|m| format!("M{m}")).collect();
        let totals: Vec<i64> = values.iter().map(|r| r.iter().sum()).collect();
        let total: i64 = totals.iter().sum();
        let rows = region_by_dispositif(&values, &codes, &mods);
        let plan = one_count_plan(&[(
            "entonnoir_dispositif",
            "\"france\", \"region\"",
            "quadrimestre",
            Some("dispositif"),
        )]);
        let p = match protect(&plan, &positionings(&rows), &Geography::new(), &settings()) {
            Ok(p) => p,
            // Failing closed is allowed; publishing a narrow count is not.
            Err(Error::Policy(_)) => continue,
            Err(e) => panic!("seed {seed}: {e}"),
        };
        let f = flags(&p, "entonnoir_dispositif", "nb_positionnements");
        let is_hidden = |r: usize, c: usize| {
            let code = if r == regions {
                "FR".to_string()
            } else {
                codes[r].clone()
            };
            let m = if c == modalities {
                "ensemble".to_string()
            } else {
                mods[c].clone()
            };
            f.iter()
                .any(|(k, fl)| fl.is_some() && *k == format!("{code}/{m}/2026-T2"))
        };
        for r in 0..=regions {
            for c in 0..=modalities {
                let v = match (r == regions, c == modalities) {
                    (false, false) => values[r][c],
                    (false, true) => totals[r],
                    (true, false) => values.iter().map(|x| x[c]).sum(),
                    (true, true) => total,
                };
                if (1..11).contains(&v) {
                    assert!(
                        is_hidden(r, c),
                        "seed {seed}: primary {v} at ({r}, {c}) is published"
                    );
                }
            }
        }
        for (lo, hi) in attack(&values, &totals, total, &is_hidden) {
            assert!(
                hi - lo >= 1.0 - 1e-6,
                "seed {seed}: a suppressed count lies in [{lo}, {hi}]"
            );
        }
    }
}
