//! Hand-computed cases and a law checked on random extracts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Date32Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use arrow::record_batch::RecordBatch;
use rand::{Rng, SeedableRng};

use super::ladder::{label, Raw};
use super::*;

fn day(s: &str) -> i32 {
    (chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
        - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
    .num_days() as i32
}

fn qi(table: Table, column: &str, family: Family, ladder: &[Step]) -> Qi {
    Qi {
        table,
        column: column.into(),
        family,
        ladder: ladder.to_vec(),
        group: format!("{}.{column}", table.name()),
    }
}

fn persons_qis() -> Vec<Qi> {
    vec![
        qi(
            Table::Individus,
            "commune_residence",
            Family::Commune,
            &[Step::Commune, Step::Departement, Step::Masque],
        ),
        qi(
            Table::Individus,
            "date_inscription",
            Family::Date,
            &[Step::Jour, Step::Mois, Step::Masque],
        ),
    ]
}

fn persons(rows: &[(&str, &str)]) -> RecordBatch {
    let communes: ArrayRef = Arc::new(StringArray::from(
        rows.iter().map(|r| r.0).collect::<Vec<_>>(),
    ));
    let dates: ArrayRef = Arc::new(Date32Array::from(
        rows.iter().map(|r| day(r.1)).collect::<Vec<_>>(),
    ));
    RecordBatch::try_from_iter([("commune_residence", communes), ("date_inscription", dates)])
        .unwrap()
}

/// Six persons, worked out on paper (k = 2): every commune and every day
/// is unique, so no node keeping either is 2-anonymous. At (département,
/// month) the groups are 62/January {1, 2}, 59/January {3, 4},
/// 62/February {5, 6}: 2-anonymous, and below (département, masked) and
/// (masked, month) in the lattice, so it loses the least.
const SIX: [(&str, &str); 6] = [
    ("62001", "2026-01-05"),
    ("62002", "2026-01-20"),
    ("59001", "2026-01-07"),
    ("59002", "2026-01-09"),
    ("62003", "2026-02-03"),
    ("62004", "2026-02-11"),
];

fn run(rows: &[(&str, &str)], k: u32, share: f64) -> Result<Outcome> {
    let mut md = Microdata::new(persons_qis());
    md.push(Table::Individus, &persons(rows)).unwrap();
    anonymise(
        md.finish(),
        Some(Requirement {
            k,
            suppression_max: share,
        }),
    )
}

#[test]
fn six_persons_are_generalised_to_departement_and_month() {
    let out = run(&SIX, 2, 0.0).unwrap();
    let steps: Vec<Step> = out
        .report
        .generalisation
        .iter()
        .map(|g| g.echelon)
        .collect();
    assert_eq!(steps, [Step::Departement, Step::Mois]);
    assert_eq!(out.report.personnes_supprimees, 0);
    let before = &out.report.avant[0];
    assert_eq!(
        (before.enregistrements_uniques, before.plus_petit_groupe),
        (6, 1)
    );
    let after = &out.report.apres[0];
    assert_eq!(
        (
            after.combinaisons,
            after.enregistrements_uniques,
            after.plus_petit_groupe
        ),
        (3, 0, 2)
    );
    // Discernibility: 6 singletons before, three pairs after.
    let loss = out.report.perte_information.as_ref().unwrap();
    assert_eq!(
        (loss.discernabilite_avant, loss.discernabilite_apres),
        (6, 12)
    );
    let batch = persons(&SIX);
    let g = out.generalise(Table::Individus, 0, &batch).unwrap();
    let c = g.column(0).as_any().downcast_ref::<StringArray>().unwrap();
    let d = g.column(1).as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!((c.value(0), d.value(0)), ("62", "2026-01"));
    assert_eq!((c.value(5), d.value(5)), ("62", "2026-02"));
    assert!(out.keep(Table::Individus, 0, 6).unwrap().is_none());
}

#[test]
fn a_seventh_person_is_suppressed_when_allowed_else_everything_is_masked() {
    let mut seven = SIX.to_vec();
    seven.push(("80001", "2026-03-15"));
    // One person of seven may go: (département, month), person 7 out.
    let out = run(&seven, 2, 0.15).unwrap();
    let steps: Vec<Step> = out
        .report
        .generalisation
        .iter()
        .map(|g| g.echelon)
        .collect();
    assert_eq!(steps, [Step::Departement, Step::Mois]);
    assert_eq!(out.report.personnes_supprimees, 1);
    let keep = out.keep(Table::Individus, 0, 7).unwrap().unwrap();
    assert_eq!(
        keep.iter().map(Option::unwrap).collect::<Vec<_>>(),
        [true, true, true, true, true, true, false]
    );
    assert_eq!(out.report.apres[0].enregistrements, 6);
    // None may go: (masked, month) leaves March alone, (département,
    // masked) leaves 80 alone: both masked.
    let out = run(&seven, 2, 0.0).unwrap();
    let steps: Vec<Step> = out
        .report
        .generalisation
        .iter()
        .map(|g| g.echelon)
        .collect();
    assert_eq!(steps, [Step::Masque, Step::Masque]);
    assert_eq!(out.report.personnes_supprimees, 0);
}

#[test]
fn k_out_of_reach_is_refused_with_the_figures() {
    let e = run(&SIX[..3], 5, 0.05).unwrap_err();
    assert_eq!(e.exit_code(), crate::ExitCode::Refused);
    let msg = e.to_string();
    assert!(
        msg.contains("k_anonymat = 5 cannot be reached") && msg.contains("3 of 3 persons"),
        "{msg}"
    );
}

#[test]
fn without_requirement_risk_is_measured_and_nothing_changes() {
    let mut md = Microdata::new(persons_qis());
    md.push(Table::Individus, &persons(&SIX)).unwrap();
    let out = anonymise(md.finish(), None).unwrap();
    assert_eq!(out.report.k, REFERENCE_K);
    assert!(!out.report.k_exige && out.report.generalisation.is_empty());
    assert_eq!(out.report.avant[0].part_uniques, 1.0);
    assert_eq!(out.report.avant, out.report.apres);
    let batch = persons(&SIX);
    assert_eq!(out.generalise(Table::Individus, 0, &batch).unwrap(), batch);
    assert!(out.report.resume[1].contains("100,0 % des 6 enregistrements sont uniques"));
}

/// Two persons alike in `individus` but positioned on different sessions:
/// the joined view (a person with their positionings) tells them apart,
/// so the session must go although each file alone is 2-anonymous.
#[test]
fn the_joined_view_is_anonymised_too() {
    let qis = vec![
        qi(
            Table::Individus,
            "niveau_formation",
            Family::Niveau,
            &[Step::Niveau, Step::Masque],
        ),
        qi(
            Table::Positionnements,
            "session_id",
            Family::Other,
            &[Step::Valeur, Step::Masque],
        ),
    ];
    let mut md = Microdata::new(qis);
    let niveaux: ArrayRef = Arc::new(StringArray::from(vec!["NV4", "NV4", "NV5", "NV5"]));
    md.push(
        Table::Individus,
        &RecordBatch::try_from_iter([("niveau_formation", niveaux)]).unwrap(),
    )
    .unwrap();
    // Person 0 and 2 on S1, 1 and 3 on S2: each session has 2 persons,
    // each level 2 persons, but every (level, session) pair 1.
    let sessions: ArrayRef = Arc::new(StringArray::from(vec!["S1", "S2", "S1", "S2"]));
    let who: ArrayRef = Arc::new(Int64Array::from(vec![0, 1, 2, 3]));
    md.push(
        Table::Positionnements,
        &RecordBatch::try_from_iter([("personne", who), ("session_id", sessions)]).unwrap(),
    )
    .unwrap();
    let out = anonymise(md.finish(), Some(exactly(2))).unwrap();
    let joined = out
        .report
        .avant
        .iter()
        .find(|v| v.vue == "individus_positionnements")
        .unwrap();
    assert_eq!(joined.enregistrements_uniques, 4);
    let steps: Vec<Step> = out
        .report
        .generalisation
        .iter()
        .map(|g| g.echelon)
        .collect();
    // Masking either works; the session column carries 1 bit per row, the
    // level 1 bit per row too: the tie goes to the smaller node (level kept).
    assert!(steps.contains(&Step::Masque), "{steps:?}");
    assert!(out.report.apres.iter().all(|v| v.plus_petit_groupe >= 2));
}

/// A random extract the law below is checked on: persons with a commune
/// and a date (10 % without), positionings with a session and a time, and
/// the k asked.
struct RandomDelivery {
    k: u32,
    qis: Vec<Qi>,
    ind: RecordBatch,
    pos: RecordBatch,
    communes: Vec<String>,
    /// Each positioning's person (its row in `ind`).
    who: Vec<i64>,
}

/// A positioning's session and time, as the random deliveries declare them.
fn positionings_qis() -> [Qi; 2] {
    [
        qi(
            Table::Positionnements,
            "session_id",
            Family::Other,
            &[Step::Valeur, Step::Masque],
        ),
        qi(
            Table::Positionnements,
            "date_positionnement",
            Family::Timestamp,
            &[
                Step::Jour,
                Step::Mois,
                Step::Quadrimestre,
                Step::Annee,
                Step::Masque,
            ],
        ),
    ]
}

impl RandomDelivery {
    fn draw(seed: u64) -> Self {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let n = rng.gen_range(20..400);
        let k = rng.gen_range(2..6u32);
        let communes: Vec<String> = (0..n)
            .map(|_| {
                format!(
                    "{}{:03}",
                    ["62", "59", "80"][rng.gen_range(0..3)],
                    rng.gen_range(0..30)
                )
            })
            .collect();
        let dates: Vec<Option<i32>> = (0..n)
            .map(|_| (!rng.gen_bool(0.1)).then(|| day("2025-01-01") + rng.gen_range(0..500)))
            .collect();
        let m = rng.gen_range(0..3 * n);
        let who: Vec<i64> = (0..m).map(|_| rng.gen_range(0..n as i64)).collect();
        let sessions: Vec<String> = (0..m)
            .map(|_| format!("S{}", rng.gen_range(0..12)))
            .collect();
        let stamps: Vec<i64> = (0..m)
            .map(|_| {
                (i64::from(day("2025-06-01")) * 86_400 + rng.gen_range(0..40_000_000)) * 1_000_000
            })
            .collect();
        let mut qis = persons_qis();
        qis.extend(positionings_qis());
        let ind = RecordBatch::try_from_iter([
            (
                "commune_residence",
                Arc::new(StringArray::from(communes.clone())) as ArrayRef,
            ),
            (
                "date_inscription",
                Arc::new(Date32Array::from(dates)) as ArrayRef,
            ),
        ])
        .unwrap();
        let pos = RecordBatch::try_from_iter([
            (
                "personne",
                Arc::new(Int64Array::from(who.clone())) as ArrayRef,
            ),
            (
                "session_id",
                Arc::new(StringArray::from(sessions)) as ArrayRef,
            ),
            (
                "date_positionnement",
                Arc::new(TimestampMicrosecondArray::from(stamps)) as ArrayRef,
            ),
        ])
        .unwrap();
        RandomDelivery {
            k,
            qis,
            ind,
            pos,
            communes,
            who,
        }
    }

    fn microdata(&self) -> Microdata {
        let mut md = Microdata::new(self.qis.clone());
        md.push(Table::Individus, &self.ind).unwrap();
        md.push(Table::Positionnements, &self.pos).unwrap();
        md.finish()
    }
}

/// A delivered value as text (`∅` for null), as a reader of the file sees it.
fn text(b: &RecordBatch, c: usize, r: usize) -> String {
    let a = b.column(c).as_any().downcast_ref::<StringArray>().unwrap();
    if a.is_null(r) {
        "∅".into()
    } else {
        a.value(r).into()
    }
}

/// The rows of a table an outcome keeps.
fn kept(out: &Outcome, table: Table, rows: usize) -> Vec<bool> {
    out.keep(table, 0, rows)
        .unwrap()
        .map_or(vec![true; rows], |a| a.iter().map(Option::unwrap).collect())
}

/// Checks the law on one delivery, from the generalised batches and the
/// masks alone: every combination of delivered values of `individus`, and
/// of a person's with their positioning's, is shared by k persons.
fn assert_delivered_k_anonymous(d: &RandomDelivery, out: &Outcome, seed: u64) {
    let (n, m) = (d.ind.num_rows(), d.pos.num_rows());
    let gi = out.generalise(Table::Individus, 0, &d.ind).unwrap();
    let gp = out.generalise(Table::Positionnements, 0, &d.pos).unwrap();
    let keep_i = kept(out, Table::Individus, n);
    let keep_p = kept(out, Table::Positionnements, m);
    let mut groups: BTreeMap<(String, String), BTreeSet<usize>> = BTreeMap::new();
    for r in (0..n).filter(|r| keep_i[*r]) {
        groups
            .entry((text(&gi, 0, r), text(&gi, 1, r)))
            .or_default()
            .insert(r);
    }
    let k = d.k as usize;
    assert!(groups.values().all(|g| g.len() >= k), "seed {seed}");
    let mut joined: BTreeMap<Vec<String>, BTreeSet<i64>> = BTreeMap::new();
    for r in (0..m).filter(|r| keep_p[*r]) {
        let p = d.who[r] as usize;
        assert!(keep_i[p], "a kept positioning of a suppressed person");
        let key = vec![
            text(&gi, 0, p),
            text(&gi, 1, p),
            text(&gp, 1, r),
            text(&gp, 2, r),
        ];
        joined.entry(key).or_default().insert(d.who[r]);
    }
    assert!(joined.values().all(|g| g.len() >= k), "seed {seed}");
    // Spot-check the labels against the steps.
    let step = out.step(Table::Individus, "commune_residence").unwrap();
    if let Some(r) = (0..n).find(|r| keep_i[*r]) {
        assert_eq!(
            text(&gi, 0, r),
            label(
                step,
                &Raw::Text(d.communes[r].clone()),
                &Reference::default()
            )
        );
    }
}

/// The law: on random extracts, every combination of delivered
/// (generalised) values is shared by at least k persons, in each file and
/// in the join, computed from the labels alone; the same input gives the
/// same choice.
#[test]
fn random_extracts_are_k_anonymous_once_delivered() {
    for seed in 0..25u64 {
        let d = RandomDelivery::draw(seed);
        let req = Requirement {
            k: d.k,
            suppression_max: 0.1,
        };
        let out = match anonymise(d.microdata(), Some(req)) {
            Ok(out) => out,
            Err(e) => {
                assert!(e.to_string().contains("cannot be reached"), "{e}");
                continue;
            }
        };
        let again = anonymise(d.microdata(), Some(req)).unwrap();
        assert_eq!(out.report, again.report, "seed {seed}");
        assert!(out.report.part_supprimee <= 0.1);
        assert_delivered_k_anonymous(&d, &out, seed);
    }
}

/// Random persons (5 % without a commune, 10 % without a date) and
/// positionings (5 % without a delivered person), with sessions and
/// times: the extracts the search's laws are checked on.
fn random_microdata(rng: &mut rand_chacha::ChaCha8Rng) -> Microdata {
    let n = rng.gen_range(30..200);
    let m = rng.gen_range(0..3 * n);
    let communes: Vec<Option<String>> = (0..n)
        .map(|_| {
            (!rng.gen_bool(0.05)).then(|| {
                format!(
                    "{}{:03}",
                    ["62", "59", "80"][rng.gen_range(0..3)],
                    rng.gen_range(0..20)
                )
            })
        })
        .collect();
    let dates: Vec<Option<i32>> = (0..n)
        .map(|_| (!rng.gen_bool(0.1)).then(|| day("2025-01-01") + rng.gen_range(0..500)))
        .collect();
    let who: Vec<Option<i64>> = (0..m)
        .map(|_| (!rng.gen_bool(0.05)).then(|| rng.gen_range(0..n as i64)))
        .collect();
    let sessions: Vec<String> = (0..m)
        .map(|_| format!("S{}", rng.gen_range(0..6)))
        .collect();
    let stamps: Vec<i64> = (0..m)
        .map(|_| (i64::from(day("2025-06-01")) * 86_400 + rng.gen_range(0..40_000_000)) * 1_000_000)
        .collect();
    let mut qis = persons_qis();
    qis.push(qi(
        Table::Positionnements,
        "session_id",
        Family::Other,
        &[Step::Valeur, Step::Masque],
    ));
    qis.push(qi(
        Table::Positionnements,
        "date_positionnement",
        Family::Timestamp,
        &[Step::Jour, Step::Mois, Step::Annee, Step::Masque],
    ));
    let ind = RecordBatch::try_from_iter([
        (
            "commune_residence",
            Arc::new(StringArray::from(communes)) as ArrayRef,
        ),
        (
            "date_inscription",
            Arc::new(Date32Array::from(dates)) as ArrayRef,
        ),
    ])
    .unwrap();
    let pos = RecordBatch::try_from_iter([
        ("personne", Arc::new(Int64Array::from(who)) as ArrayRef),
        (
            "session_id",
            Arc::new(StringArray::from(sessions)) as ArrayRef,
        ),
        (
            "date_positionnement",
            Arc::new(TimestampMicrosecondArray::from(stamps)) as ArrayRef,
        ),
    ])
    .unwrap();
    let mut md = Microdata::new(qis);
    md.push(Table::Individus, &ind).unwrap();
    md.push(Table::Positionnements, &pos).unwrap();
    md.finish()
}

/// A node's groups rolled up from a finer node's are the very groups of
/// its rows (same numbering, same pairs), for every pair of nodes of a
/// random extract's lattice, positionings without a delivered person
/// included.
#[test]
fn groups_rolled_up_from_a_finer_node_are_the_groups_of_the_rows() {
    for seed in 0..4u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let md = random_microdata(&mut rng);
        let views = search::views(&md);
        let dims = search::dims(&md);
        let mut nodes: Vec<Vec<u8>> = vec![vec![0; dims.len()]];
        for (d, dim) in dims.iter().enumerate() {
            nodes = nodes
                .into_iter()
                .flat_map(|n| {
                    (0..dim.ladder.len() as u8).map(move |r| {
                        let mut n = n.clone();
                        n[d] = r;
                        n
                    })
                })
                .collect();
        }
        for fine in &nodes {
            let fine_steps = search::steps_at(&md, &dims, fine);
            for coarse in nodes
                .iter()
                .filter(|c| c.iter().zip(fine).all(|(c, f)| c >= f))
            {
                let steps = search::steps_at(&md, &dims, coarse);
                for v in 0..views.len() {
                    let from = search::grouped(&md, &views, v, &fine_steps);
                    let direct = search::grouped(&md, &views, v, &steps);
                    // From the view's own columns, and from the persons'
                    // groups at these steps (as the search does).
                    let persons = search::grouped(&md, &views, 0, &steps);
                    for base in [None, Some(&persons)] {
                        let rolled = search::roll_up(&md, &views[v], &steps, &from, base);
                        let what = format!(
                            "seed {seed}, view {}, {fine:?} → {coarse:?}, base {}",
                            views[v].name,
                            base.is_some()
                        );
                        assert_eq!(rolled.groups, direct.groups, "{what}");
                        assert_eq!(rolled.gid, direct.gid, "{what}");
                        assert_eq!(rolled.pairs, direct.pairs, "{what}");
                        assert_eq!(rolled.rep, direct.rep, "{what}");
                        assert_eq!(rolled.size, direct.size, "{what}");
                        assert_eq!(
                            direct.size,
                            search::sizes(&direct, &vec![false; md.all_persons()]),
                            "{what}"
                        );
                    }
                }
            }
        }
    }
}

/// Eight persons in four communes of two zones d'emploi (k = 3, no
/// suppression): each commune holds two persons, each zone four. The
/// zone is enough and costs less than the département, which k = 5 needs.
#[test]
fn a_commune_is_generalised_to_its_zone_d_emploi_when_that_is_enough() {
    let communes = [
        "62001", "62001", "62002", "62002", "62003", "62003", "62004", "62004",
    ];
    let zones = [
        ("62001", "3201"),
        ("62002", "3201"),
        ("62003", "3202"),
        ("62004", "3202"),
    ];
    let reference = Reference {
        zones: zones
            .iter()
            .map(|(c, z)| (c.to_string(), z.to_string()))
            .collect(),
    };
    let batch = RecordBatch::try_from_iter([(
        "commune_residence",
        Arc::new(StringArray::from(communes.to_vec())) as ArrayRef,
    )])
    .unwrap();
    let qi = qi(
        Table::Individus,
        "commune_residence",
        Family::Commune,
        &[
            Step::Commune,
            Step::ZoneEmploi,
            Step::Departement,
            Step::Masque,
        ],
    );
    let run = |k| one_column(&qi, &reference, &batch, k);
    let (step, labels) = run(3);
    assert_eq!(step, Step::ZoneEmploi);
    assert_eq!(
        labels,
        ["3201", "3201", "3201", "3201", "3202", "3202", "3202", "3202"]
    );
    let (step, labels) = run(5);
    assert_eq!(step, Step::Departement);
    assert_eq!(labels, ["62"; 8]);
}

/// Four persons with four diplomas, two of each level (k = 2): the level
/// is enough, and loses less than masking.
#[test]
fn a_diploma_is_generalised_to_its_level_when_that_is_enough() {
    let batch = RecordBatch::try_from_iter([(
        "diplome_plus_haut",
        Arc::new(StringArray::from(vec![
            "CAP",
            "BEP",
            "Bac pro",
            "bac. pro.",
        ])) as ArrayRef,
    )])
    .unwrap();
    let qi = qi(
        Table::Individus,
        "diplome_plus_haut",
        Family::Diplome,
        &[Step::Valeur, Step::NiveauDiplome, Step::Masque],
    );
    let (step, labels) = one_column(&qi, &Reference::default(), &batch, 2);
    assert_eq!(step, Step::NiveauDiplome);
    assert_eq!(labels, ["3", "3", "4", "4"]);
}

/// A requirement of k without suppression.
fn exactly(k: u32) -> Requirement {
    Requirement {
        k,
        suppression_max: 0.0,
    }
}

/// The step chosen for a lone quasi-identifier of `individus` and the
/// values delivered.
fn one_column(qi: &Qi, reference: &Reference, batch: &RecordBatch, k: u32) -> (Step, Vec<String>) {
    let mut md = Microdata::new(vec![qi.clone()]);
    md.set_reference(reference.clone());
    md.push(Table::Individus, batch).unwrap();
    let out = anonymise(md.finish(), Some(exactly(k))).unwrap();
    let g = out.generalise(Table::Individus, 0, batch).unwrap();
    let labels = g
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap()
        .iter()
        .map(|v| v.unwrap().to_string())
        .collect();
    (out.report.generalisation[0].echelon, labels)
}

/// The search's pruning and shortcuts (below a failure, above a node
/// that passed, a view or a projection that fails alone, a climb that
/// stops where no node left to visit needs it) change nothing the
/// delivery shows: on random extracts, at several k and limits, the node
/// found, the persons suppressed and the refusals are those of a search
/// that evaluates every node on its own in the same order, and of the
/// search without shortcuts; the count of nodes evaluated is the same
/// from one run to the next, and the shortcuts group fewer nodes in all.
#[test]
fn the_search_s_pruning_and_shortcuts_change_no_answer() {
    let (mut with_grouped, mut without_grouped) = (0, 0);
    for seed in 0..12u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let md = random_microdata(&mut rng);
        let views = search::views(&md);
        let dims = search::dims(&md);
        let all = md.all_persons();
        for k in [2, 3, 5] {
            for allowed in [0, all / 50, all / 20, all / 8, all / 3] {
                let with = search::search_with(&md, &views, &dims, k, allowed, true);
                let again = search::search_with(&md, &views, &dims, k, allowed, true);
                let without = search::search_with(&md, &views, &dims, k, allowed, false);
                let oracle = search::search_exhaustively(&md, &views, &dims, k, allowed);
                let what = format!("seed {seed}, k {k}, allowed {allowed}");
                match (with, again, without, oracle) {
                    (Ok(a), Ok(a2), Ok(b), Some((node, excluded, suppressed))) => {
                        assert_eq!(a.node, node, "{what}");
                        assert_eq!(a.excluded, excluded, "{what}");
                        assert_eq!(a.suppressed, suppressed, "{what}");
                        assert_eq!(b.node, node, "{what}");
                        assert_eq!(b.excluded, excluded, "{what}");
                        assert_eq!(a2.evaluated, a.evaluated, "{what}");
                        assert_eq!(b.grouped, b.evaluated, "{what}");
                        with_grouped += a.grouped;
                        without_grouped += b.grouped;
                    }
                    (Err(a), Err(_), Err(b), None) => assert_eq!(a.needed, b.needed, "{what}"),
                    (a, _, b, o) => panic!("{what}: {a:?} against {b:?} and {o:?}"),
                }
            }
        }
    }
    // The shortcuts are taken on these extracts.
    assert!(
        with_grouped < without_grouped,
        "{with_grouped} against {without_grouped}"
    );
}

/// The risk after and the discernibility measured from the groups the
/// search kept are those of the rows grouped again, on random extracts
/// with positionings of persons not delivered (`random_microdata`) and
/// without (`RandomDelivery`, where the joined view's groups serve too).
#[test]
fn the_risk_after_from_the_search_s_groups_is_the_risk_of_the_rows() {
    let mut joined_known = 0;
    for seed in 0..12u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for md in [
            random_microdata(&mut rng),
            RandomDelivery::draw(seed).microdata(),
        ] {
            let views = search::views(&md);
            let dims = search::dims(&md);
            let all = md.all_persons();
            for k in [2, 3, 5] {
                let Ok(found) = search::search(&md, &views, &dims, k, all / 8) else {
                    continue;
                };
                let steps = search::steps_at(&md, &dims, &found.node);
                for (v, known) in views.iter().zip(&found.known) {
                    let joined = v.name == "individus_positionnements";
                    joined_known += usize::from(joined && known.is_some());
                    assert_eq!(
                        search::risk(&md, v, &steps, k, &found.excluded, known.as_ref()),
                        search::risk(&md, v, &steps, k, &found.excluded, None),
                        "seed {seed}, k {k}, {}",
                        v.name
                    );
                }
                let persons = views.iter().position(|v| v.table == Table::Individus);
                let known = persons.and_then(|v| found.known[v].as_ref());
                assert_eq!(
                    information_loss(&md, &views, &steps, &found.excluded, known),
                    information_loss(&md, &views, &steps, &found.excluded, None),
                    "seed {seed}, k {k}"
                );
            }
        }
    }
    assert!(joined_known > 0);
}

/// Wide keys are numbered in order of first appearance, as a hash map
/// numbers them, whatever their spread (keys over 2^22, so not through
/// the table; collisions and wrap-around of the probing included, and,
/// parts being 64 keys in the tests, from one part to many).
#[test]
fn wide_keys_are_numbered_in_order_of_first_appearance() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for (n, spread) in [
        (0, 1u64 << 40),
        (1, 1 << 40),
        (1000, 1 << 23),
        (5000, 1 << 63),
        (20_000, 50),
    ] {
        let keys: Vec<u64> = (0..n)
            .map(|_| rng.gen_range(0..spread) + (1 << 23))
            .collect();
        let mut ids: BTreeMap<u64, u32> = BTreeMap::new();
        let expected: Vec<u32> = keys
            .iter()
            .map(|k| {
                let next = ids.len() as u32;
                *ids.entry(*k).or_insert(next)
            })
            .collect();
        let span = u64::MAX;
        assert_eq!(
            search::densify(&keys, span),
            (expected, ids.len()),
            "{n} keys"
        );
    }
}

/// A view whose columns together span more than 64 bits (six columns of
/// about 3,000 values each: 2^69 combinations) is grouped as a tuple of
/// its values would be: keys renumbered densely before they overflow
/// (`make_room`), groups in order of first appearance.
#[test]
fn keys_wider_than_64_bits_group_as_the_values_do() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let n = 3000;
    let names: Vec<String> = (0..6).map(|c| format!("colonne_{c}")).collect();
    let values: Vec<Vec<String>> = names
        .iter()
        .map(|_| {
            (0..n)
                // Few values on the first rows, so that some tuples repeat.
                .map(|r| format!("v{}", rng.gen_range(0..if r < 300 { 2 } else { 5000 })))
                .collect()
        })
        .collect();
    let qis: Vec<Qi> = names
        .iter()
        .map(|c| {
            qi(
                Table::Individus,
                c,
                Family::Other,
                &[Step::Valeur, Step::Masque],
            )
        })
        .collect();
    let batch = RecordBatch::try_from_iter(names.iter().zip(&values).map(|(c, v)| {
        (
            c.as_str(),
            Arc::new(StringArray::from(v.clone())) as ArrayRef,
        )
    }))
    .unwrap();
    let mut md = Microdata::new(qis);
    md.push(Table::Individus, &batch).unwrap();
    let md = md.finish();
    let span: f64 = md.columns.iter().map(|c| f64::from(c.cards[0])).product();
    assert!(span > 2f64.powi(64), "{span}");
    let views = search::views(&md);
    let g = search::grouped(&md, &views, 0, &vec![0; md.columns.len()]);
    let mut ids: BTreeMap<Vec<&str>, u32> = BTreeMap::new();
    let expected: Vec<u32> = (0..n)
        .map(|r| {
            let next = ids.len() as u32;
            *ids.entry(values.iter().map(|v| v[r].as_str()).collect())
                .or_insert(next)
        })
        .collect();
    assert!(ids.len() < n, "some tuples repeat");
    assert_eq!(g.gid, expected);
    assert_eq!(g.groups, ids.len());
}
