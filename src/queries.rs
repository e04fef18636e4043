//! The SQL of the engine: one statement per file under `queries/<layer>/`,
//! compiled in and looked up by name, so a missing file fails the build.
//!
//! A few statements are templates: `{{name}}` placeholders filled by
//! [`render`], so the list of dimensions lives in one place ([`DIMENSIONS`]).

pub use crate::domain::cubes::{CUBE_KEYS, DIMENSIONS};

macro_rules! queries {
    ($($layer:literal: [$($name:literal),* $(,)?]),* $(,)?) => {
        /// (layer, name, SQL) of every file of `queries/<layer>/<name>.sql`.
        const FILES: &[(&str, &str, &str)] = &[
            $($(($layer, $name, include_str!(concat!("../queries/", $layer, "/", $name, ".sql")))),*),*
        ];
    };
}

// The folder is the layer, as in a dbt project, and every file but the
// macros and one update (`quarantaine_contenus`) is one `select`; Rust
// decides how each is materialised ([`materialisation`], [`build_statements`],
// or the staging's own calls):
// - `macros`: created once per connection;
// - `checks`: the rows that break a set-level rule (each row a failure, as
//   a dbt data test returns them), and the warnings, built as tables;
// - `staging`: the typed empty tables Rust appends to (raw extracts,
//   quarantine, reference lists), and the split of an extract into its
//   accepted rows (`stg_`) and its quarantined ones;
// - `intermediate`: tables, in the order their SQL gives
//   ([`layer_in_dependency_order`]);
// - `marts`: the cubes' `agg_` tables and the published `out_` views, in
//   the order their SQL gives;
// - `delivery`: a recipient's perimeter (`dlv_`, temporary tables, one
//   `select` per class of perimeter) and the rows it receives (`livraison_`);
// - `analyses`: what Rust reads (counts, the quarantine's export, the
//   `query` command's copies), compiled in but never materialised, as a
//   dbt project's `analyses/`.
queries!(
    "macros": ["macro_periode", "macro_age"],
    "checks": [
        "chk_sessions",
        "chk_individus",
        "chk_positionnements",
        "chk_evenements",
        "avertissements",
    ],
    "staging": [
        "raw",
        "quarantaine",
        "ref_motifs",
        "parametres",
        "int_periodes",
        "contenus",
        "quarantaine_contenus",
        "stage_quarantine",
        "stage_accept",
    ],
    "intermediate": ["int_positionnements", "int_lignes", "int_eclate"],
    "marts": [
        "agg_personnes_multiples",
        "agg_cohorte",
        "agg_cohorte_vides",
        "agg_entrees",
        "agg_abandons_motifs",
        "out_sessions_remplissage",
        "out_entonnoir",
        "out_delais",
        "out_pic",
        "out_abandons",
        "agg_remplissage",
        "agg_remplissage_vides",
        "out_remplissage",
    ],
    "delivery": [
        "dlv_liste_opposition",
        "dlv_opposes",
        "dlv_perimetre_national",
        "dlv_perimetre_financeur",
        "dlv_perimetre_partenaire",
        "dlv_retenus",
        "dlv_positionnements",
        "dlv_sessions_national",
        "dlv_sessions_financeur",
        "dlv_sessions_partenaire",
        "dlv_individus",
        "livraison_sessions",
        "livraison_individus",
        "livraison_positionnements",
        "livraison_evenements",
    ],
    "analyses": [
        "diag_quarantaine",
        "lignes_sans_contenu",
        "nb_acceptees",
        "quarantaine_par_regle",
        "etendue_donnees",
        "lire_avertissements",
        "export_quarantaine",
        "lire_parquet",
        "lire_retenus",
        "lignes_du_niveau",
        "sortie",
        "historique",
    ],
);

/// The SQL of a named query.
///
/// # Panics
/// On an unknown name: names are literals of this crate, so that is a bug
/// that the test below catches.
pub fn get(name: &str) -> &'static str {
    FILES
        .iter()
        .find(|(_, n, _)| *n == name)
        .map(|(_, _, sql)| *sql)
        .unwrap_or_else(|| panic!("no query named {name}"))
}

fn grouping_sets(extra: &[&str]) -> String {
    let keys: Vec<&str> = CUBE_KEYS.iter().chain(extra).copied().collect();
    let mut sets = vec![format!("({})", keys.join(", "))];
    for d in DIMENSIONS {
        sets.push(format!("({}, {d})", keys.join(", ")));
    }
    sets.join(",\n        ")
}

fn case_over_dimensions(value: impl Fn(&str) -> String) -> String {
    let arms: Vec<String> = DIMENSIONS
        .iter()
        .map(|d| format!("when grouping({d}) = 0 then {}", value(d)))
        .collect();
    format!("case {} else 'ensemble' end", arms.join(" "))
}

/// The infra-bac levels of `schema` as an SQL list: `'AFS', 'CP4', …`.
fn infra_bac_list() -> String {
    crate::schema::NIVEAUX_INFRA_BAC
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A named query with its placeholders filled: the cube templates, any
/// `{{key}}` from `vars`, and `{{query}}` for another query (rendered with
/// the same `vars`), which a query reads as a subquery.
pub fn render(name: &str, vars: &[(&str, &str)]) -> String {
    let mut sql = get(name).to_string();
    for (_, included, _) in FILES {
        let placeholder = format!("{{{{{included}}}}}");
        if sql.contains(&placeholder) {
            sql = sql.replace(&placeholder, &render(included, vars));
        }
    }
    if sql.contains("{{") {
        sql = sql
            .replace("{{grouping_sets}}", &grouping_sets(&[]))
            .replace("{{grouping_sets_motif}}", &grouping_sets(&["motif_code"]))
            .replace(
                "{{grouping_sets_base_personne}}",
                &grouping_sets(&["base", "identifiant_spe"]),
            )
            .replace("{{dimension}}", &case_over_dimensions(|d| format!("'{d}'")))
            .replace("{{modalite}}", &case_over_dimensions(|d| d.to_string()))
            .replace("{{dimensions}}", &DIMENSIONS.join(", "))
            .replace("{{niveaux_infra_bac}}", &infra_bac_list());
        for (k, v) in vars {
            sql = sql.replace(&format!("{{{{{k}}}}}"), v);
        }
    }
    sql
}

/// How Rust builds a model, decided by its layer and its name as a dbt
/// project's configuration decides it, never by a list of models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Materialisation {
    /// `create or replace table NAME as` its `select`: the checks, the
    /// intermediate models and the marts' `agg_` tables.
    Table,
    /// A table built one geographic level at a time ([`GEO_LEVELS`]): an
    /// `agg_` model whose `select` reads `{{niveau_geo}}`. One level at a
    /// time keeps the holistic aggregates (quantiles, distinct counts) of a
    /// national run within the memory cap.
    TableByLevel,
    /// Rows appended to another model's table (`insert into … by name`): an
    /// `agg_…_vides` model adds the rows its table lacks.
    AppendTo(&'static str),
    /// `create or replace view NAME as` its `select`: the marts' `out_`
    /// files, which other marts may read, and which Rust exports by running
    /// their `select` (so that the Parquet files' bytes do not depend on a
    /// table's statistics).
    View,
    /// Not built: a `select` read where it is used (the checks read by
    /// Rust) or a statement run as it is.
    Query,
}

/// How the model `name` is materialised ([`Materialisation`]).
pub fn materialisation(name: &str) -> Materialisation {
    let Some((layer, name, sql)) = FILES.iter().find(|(_, n, _)| *n == name) else {
        return Materialisation::Query;
    };
    match *layer {
        "checks" | "intermediate" => Materialisation::Table,
        "marts" if name.starts_with("out_") => Materialisation::View,
        "marts" if name.starts_with("agg_") => {
            let base = name
                .strip_suffix("_vides")
                .and_then(|b| FILES.iter().find(|(_, n, _)| *n == b));
            match base {
                Some((_, base, _)) => Materialisation::AppendTo(base),
                None if sql.contains("{{niveau_geo}}") => Materialisation::TableByLevel,
                None => Materialisation::Table,
            }
        }
        _ => Materialisation::Query,
    }
}

/// The statements that build the model `name` (a label naming the model,
/// and the SQL), as [`materialisation`] says: in the schema `schema` when
/// given (the crossing's), a model built by level at each of `levels`
/// (`(niveau_geo, code_geo)`, see [`GEO_LEVELS`]).
pub fn build_statements(
    name: &str,
    schema: Option<&str>,
    levels: &[(&str, &str)],
) -> Vec<(String, String)> {
    let table = |t: &str| match schema {
        Some(s) => format!("{s}.{t}"),
        None => t.to_string(),
    };
    match materialisation(name) {
        Materialisation::Table => vec![(
            name.to_string(),
            format!(
                "create or replace table {} as\n{}",
                table(name),
                render(name, &[])
            ),
        )],
        Materialisation::TableByLevel => levels
            .iter()
            .enumerate()
            .map(|(i, (niveau_geo, code_geo))| {
                let select = render_level(name, niveau_geo, code_geo);
                let sql = if i == 0 {
                    format!("create or replace table {} as {select}", table(name))
                } else {
                    format!("insert into {} {select}", table(name))
                };
                (format!("{name} ({niveau_geo})"), sql)
            })
            .collect(),
        Materialisation::View => vec![(
            name.to_string(),
            format!(
                "create or replace view {} as\n{}",
                table(name),
                render(name, &[])
            ),
        )],
        Materialisation::AppendTo(base) => vec![(
            name.to_string(),
            format!("insert into {} by name\n{}", table(base), render(name, &[])),
        )],
        Materialisation::Query => vec![(name.to_string(), render(name, &[]))],
    }
}

/// The statement that builds a model, as the engine does
/// ([`build_statements`] at every level of [`GEO_LEVELS`]); with `vars`, a
/// template's placeholders filled as by [`render`] (the statements of
/// `staging/` and `checks/`, which take the extract's name).
pub fn materialise(name: &str, vars: &[(&str, &str)]) -> String {
    if !vars.is_empty() {
        return render(name, vars);
    }
    build_statements(name, None, GEO_LEVELS)
        .into_iter()
        .map(|(_, sql)| sql)
        .collect::<Vec<_>>()
        .join(";\n")
}

/// The models of a layer (the files of `queries/<layer>/`, e.g.
/// `intermediate`), in the order their dependencies give: a model runs
/// after every other model of the layer whose name its SQL reads. Ties
/// keep the names' alphabetical order, so the order is the same on every
/// run.
///
/// # Errors
/// `Internal` when the models read each other in a cycle (a bug in
/// `queries/`, which the tests below catch).
pub fn layer_in_dependency_order(layer: &str) -> crate::error::Result<Vec<&'static str>> {
    let mut models: Vec<(&str, &str)> = FILES
        .iter()
        .filter(|(l, _, _)| *l == layer)
        .map(|(_, name, sql)| (*name, *sql))
        .collect();
    models.sort_unstable();
    dependency_order(&models).map_err(crate::error::Error::Internal)
}

/// The names of `models` (name, SQL) ordered so that each comes after the
/// models its SQL names; `Err` names the models left in a cycle.
fn dependency_order<'a>(models: &[(&'a str, &str)]) -> Result<Vec<&'a str>, String> {
    let reads = |sql: &str, other: &str| {
        sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|word| word == other)
    };
    let depends: Vec<Vec<usize>> = models
        .iter()
        .map(|(name, sql)| {
            models
                .iter()
                .enumerate()
                .filter(|(_, (other, _))| other != name && reads(sql, other))
                .map(|(j, _)| j)
                .collect()
        })
        .collect();
    let mut done = vec![false; models.len()];
    let mut order = Vec::with_capacity(models.len());
    while order.len() < models.len() {
        let ready = (0..models.len())
            .find(|&i| !done[i] && depends[i].iter().all(|&j| done[j]))
            .ok_or_else(|| {
                let left: Vec<&str> = (0..models.len())
                    .filter(|&i| !done[i])
                    .map(|i| models[i].0)
                    .collect();
                format!("the models {} read each other in a cycle", left.join(", "))
            })?;
        done[ready] = true;
        order.push(models[ready].0);
    }
    Ok(order)
}

/// Geographic levels of the cubes (SPEC §6), with the column of
/// `int_lignes` that gives a row's code at that level (`france` has none).
pub const GEO_LEVELS: &[(&str, &str)] = &[
    ("france", "cast(null as varchar)"),
    ("region", "region"),
    ("departement", "departement"),
    ("zone_emploi", "zone_emploi"),
];

/// A cube template for one geographic level, every dimension in one
/// grouping set each: `{{niveau_geo}}` and `{{code_geo}}` come from
/// [`GEO_LEVELS`].
pub fn render_level(name: &str, niveau_geo: &str, code_geo: &str) -> String {
    render(name, &[("niveau_geo", niveau_geo), ("code_geo", code_geo)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_intermediate_layer_runs_in_the_order_its_sql_gives() {
        // int_lignes reads int_positionnements; int_eclate reads int_lignes
        // (and int_periodes, a seed filled by the run, not a model).
        assert_eq!(
            layer_in_dependency_order("intermediate").unwrap(),
            ["int_positionnements", "int_lignes", "int_eclate"]
        );
    }

    /// The SQL of a file without its comment lines.
    fn code(sql: &str) -> String {
        sql.lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn every_model_is_one_select() {
        for (layer, name, sql) in FILES {
            if *layer == "macros" || *name == "quarantaine_contenus" {
                continue;
            }
            let code = code(sql);
            let code = code.trim();
            assert!(
                code.starts_with("with") || code.starts_with("select"),
                "{layer}/{name} is not one select"
            );
            assert!(
                !code.trim_end_matches(';').contains(';'),
                "{layer}/{name} holds several statements"
            );
        }
    }

    #[test]
    fn models_are_materialised_by_their_layer_and_name() {
        for name in layer_in_dependency_order("intermediate").unwrap() {
            assert_eq!(materialisation(name), Materialisation::Table);
            assert!(
                materialise(name, &[]).starts_with(&format!("create or replace table {name} as\n")),
                "{name}"
            );
        }
        assert_eq!(materialisation("chk_individus"), Materialisation::Table);
        assert_eq!(
            materialisation("agg_cohorte"),
            Materialisation::TableByLevel
        );
        assert_eq!(materialisation("agg_remplissage"), Materialisation::Table);
        assert_eq!(
            materialisation("agg_cohorte_vides"),
            Materialisation::AppendTo("agg_cohorte")
        );
        assert_eq!(materialisation("out_pic"), Materialisation::View);
        assert_eq!(materialisation("nb_acceptees"), Materialisation::Query);
        let by_level = build_statements("agg_cohorte", None, GEO_LEVELS);
        assert_eq!(by_level.len(), GEO_LEVELS.len());
        assert!(by_level[0]
            .1
            .starts_with("create or replace table agg_cohorte as"));
        assert!(by_level[1].1.starts_with("insert into agg_cohorte "));
        assert_eq!(materialise("macro_age", &[]), render("macro_age", &[]));
    }

    #[test]
    fn the_marts_run_in_the_order_their_sql_gives() {
        let order = layer_in_dependency_order("marts").unwrap();
        let at = |n: &str| order.iter().position(|m| *m == n).unwrap();
        assert!(at("agg_personnes_multiples") < at("agg_cohorte"));
        assert!(at("agg_personnes_multiples") < at("agg_entrees"));
        assert!(at("agg_cohorte") < at("agg_cohorte_vides"));
        assert!(at("out_sessions_remplissage") < at("agg_remplissage"));
        assert!(at("agg_remplissage") < at("agg_remplissage_vides"));
        assert!(at("agg_cohorte_vides") < at("out_entonnoir"));
    }

    #[test]
    fn dependencies_are_whole_names_and_cycles_are_refused() {
        let models = [
            ("b", "select * from a_suite, a"),
            ("a", "select 1"),
            ("a_suite", "select * from a"),
        ];
        assert_eq!(dependency_order(&models).unwrap(), ["a", "a_suite", "b"]);
        let cycle = [("x", "select * from y"), ("y", "select * from x")];
        assert_eq!(
            dependency_order(&cycle).unwrap_err(),
            "the models x, y read each other in a cycle"
        );
    }

    #[test]
    fn every_query_is_found_and_templates_are_filled() {
        for (_, name, _) in FILES {
            let sql = render(
                name,
                &[
                    ("extrait", "sessions"),
                    ("fichier", "sessions.csv"),
                    ("cle", "session_id"),
                    ("niveau_geo", "france"),
                    ("type_periode", "mois"),
                    ("code_geo", "region"),
                    ("colonnes", "t.ligne"),
                    ("public", "beneficiaire_rsa"),
                    ("select", "select 1"),
                ],
            );
            assert!(!sql.contains("{{"), "{name} keeps a placeholder");
        }
    }
}
