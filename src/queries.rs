//! The SQL of the engine: one statement per file under `queries/<layer>/`,
//! compiled in and looked up by name, so a missing file fails the build.
//!
//! A few statements are templates: `{{name}}` placeholders filled by
//! [`render`], so the list of dimensions lives in one place ([`DIMENSIONS`]):
//! the grouping sets and the `case` over dimensions are the `minijinja`
//! fragments of `queries/fragments/`.

use std::path::Path;

pub(crate) use crate::domain::cubes::{CUBE_KEYS, DIMENSIONS};

macro_rules! queries {
    ($($layer:literal: [$($name:literal),* $(,)?]),* $(,)?) => {
        /// (layer, name, SQL) of every file of `queries/<layer>/<name>.sql`.
        const FILES: &[(&str, &str, &str)] = &[
            $($(($layer, $name, include_str!(concat!("../queries/", $layer, "/", $name, ".sql")))),*),*
        ];
    };
}

// The folder is the layer, as in a dbt project, and every file but the
// macros is one `select`; Rust decides how each is materialised
// ([`materialisation`], [`build_statements`], or the staging's own calls):
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
// - `tests`: data tests, as a dbt project's: each selects the rows that
//   break what must hold of the built tables, and the run stops on a row
//   (a bug in ouistat);
// - `fragments`: pieces of SQL spliced into the cube models, `minijinja`
//   templates over the constant lists of keys and dimensions (a dbt
//   project's macros); never run alone;
// - `adapter`: the statements the warehouse wraps around a model or runs
//   for itself (materialisations, settings, schemas, variables), as
//   `minijinja` macros, a dbt adapter's macros ([`adapter`]);
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
        "table_vide",
        "quarantaine",
        "ref_motifs",
        "parametres",
        "int_periodes",
        "contenus",
        "stage_quarantine",
        "stage_accept",
    ],
    "intermediate": [
        "int_positionnements",
        "int_lignes",
        "int_modalites",
        "int_codes_periodes",
        "int_eclate",
        "int_comptes_lieux",
    ],
    "marts": [
        "agg_comptes",
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
    "tests": [
        "test_regles_connues",
        "test_niveaux_geo_connus",
        "test_ensemble_par_periode",
        "test_cohorte_emboitee",
        "test_remplissage_taux",
        "test_codes_periodes",
    ],
    "fragments": [
        "ensembles_de_regroupement",
        "cas_dimension",
        "cas_modalite",
        "modalites_numerotees",
        "dimensions_numerotees",
        "jointures_modalites",
        "libelles_des_codes",
    ],
    "adapter": ["adaptateur"],
    "analyses": [
        "diag_quarantaine",
        "lignes_rejetees",
        "nb_acceptees",
        "quarantaine_par_regle",
        "etendue_donnees",
        "lire_avertissements",
        "export_quarantaine",
        "lire_parquet",
        "lire_retenus",
        "lignes_du_niveau",
        "region_des_lieux",
        "zones_des_communes",
        "identifiants_des_personnes",
        "contacts_des_personnes",
        "demo_chiffres",
        "demo_remplissage",
        "csv_en_texte",
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

/// A fragment of `queries/fragments/`, a `minijinja` template, rendered
/// over a cube's `keys` and the [`DIMENSIONS`].
fn fragment(name: &str, keys: &[&str]) -> String {
    render_template(
        name,
        minijinja::context! { keys => keys, dimensions => DIMENSIONS },
    )
}

/// A query of `queries/` that is a `minijinja` template (it holds `{%`),
/// rendered over `context`: lists of columns from the crate's constants,
/// already quoted ([`ident`]).
///
/// # Panics
/// When the template does not render: its name and context are this
/// crate's, so that is a bug the tests catch.
pub(crate) fn render_template(name: &str, context: minijinja::Value) -> String {
    minijinja::Environment::new()
        .render_str(get(name), context)
        .unwrap_or_else(|e| panic!("template {name}: {e}"))
}

/// A named query with its placeholders filled: the cube templates, any
/// `{{key}}` from `vars`, and `{{query}}` for another query (rendered with
/// the same `vars`), which a query reads as a subquery.
pub fn render(name: &str, vars: &[(&str, &str)]) -> String {
    let mut sql = get(name).to_string();
    for (_, included, _) in FILES.iter().filter(|(layer, _, _)| *layer != "fragments") {
        let placeholder = format!("{{{{{included}}}}}");
        if sql.contains(&placeholder) {
            sql = sql.replace(&placeholder, &render(included, vars));
        }
    }
    if sql.contains("{{") {
        let cube = |extra: &[&str]| {
            let keys: Vec<&str> = CUBE_KEYS.iter().chain(extra).copied().collect();
            fragment("ensembles_de_regroupement", &keys)
        };
        sql = sql
            .replace("{{grouping_sets}}", &cube(&[]))
            .replace("{{grouping_sets_motif}}", &cube(&["motif_code"]))
            .replace(
                "{{grouping_sets_base_personne}}",
                &cube(&["base", "identifiant_spe"]),
            )
            .replace(
                "{{grouping_sets_lieux}}",
                &fragment("ensembles_de_regroupement", &place_keys()),
            )
            .replace("{{dimension}}", &fragment("cas_dimension", &[]))
            .replace("{{modalite}}", &fragment("cas_modalite", &[]))
            .replace(
                "{{modalites_numerotees}}",
                &fragment("modalites_numerotees", &[]),
            )
            .replace(
                "{{dimensions_numerotees}}",
                &fragment("dimensions_numerotees", &[]),
            )
            .replace(
                "{{jointures_modalites}}",
                &fragment("jointures_modalites", &[]),
            )
            .replace(
                "{{libelles_des_codes}}",
                &fragment("libelles_des_codes", &[]),
            );
        for (k, v) in vars {
            sql = sql.replace(&format!("{{{{{k}}}}}"), v);
        }
    }
    sql
}

/// A string as an SQL literal: `'it''s'`.
pub(crate) fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A path as an SQL literal.
pub(crate) fn path_literal(p: &Path) -> String {
    literal(&p.to_string_lossy())
}

/// A name as an SQL identifier: `"name"`.
pub(crate) fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A statement of the warehouse: the macro `name` of
/// `queries/adapter/adaptateur.sql` called with `args`, SQL that Rust has
/// already quoted ([`ident`], [`literal`]).
///
/// # Panics
/// On an unknown macro: names are literals of this crate, and a test calls
/// every macro.
pub(crate) fn adapter(name: &str, args: &[&str]) -> String {
    let call: Vec<String> = (0..args.len()).map(|i| format!("a[{i}]")).collect();
    let source = format!("{}{{{{ {name}({}) }}}}", get("adaptateur"), call.join(", "));
    minijinja::Environment::new()
        .render_str(&source, minijinja::context! { a => args })
        .unwrap_or_else(|e| panic!("adapter macro {name}: {e}"))
        .trim()
        .to_string()
}

/// How Rust builds a model, decided by its layer and its name as a dbt
/// project's configuration decides it, never by a list of models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Materialisation {
    /// `create or replace table NAME as` its `select`: the checks, the
    /// intermediate models and the marts' `agg_` tables.
    Table,
    /// A table built one geographic level at a time ([`geo_levels`]): an
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
pub(crate) fn materialisation(name: &str) -> Materialisation {
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
/// (`(niveau_geo, code_geo)`, see [`geo_levels`]).
pub(crate) fn build_statements(
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
            adapter("creer_table", &[&table(name), &render(name, &[])]),
        )],
        Materialisation::TableByLevel => levels
            .iter()
            .enumerate()
            .map(|(i, (niveau_geo, code_geo))| {
                let select = render_level(name, niveau_geo, code_geo);
                let how = if i == 0 { "creer_table" } else { "ajouter" };
                (
                    format!("{name} ({niveau_geo})"),
                    adapter(how, &[&table(name), &select]),
                )
            })
            .collect(),
        Materialisation::View => vec![(
            name.to_string(),
            adapter("creer_vue", &[&table(name), &render(name, &[])]),
        )],
        Materialisation::AppendTo(base) => vec![(
            name.to_string(),
            adapter("ajouter_par_nom", &[&table(base), &render(name, &[])]),
        )],
        Materialisation::Query => vec![(name.to_string(), render(name, &[]))],
    }
}

/// The statement that builds a model, as the engine does
/// ([`build_statements`] at every level of [`geo_levels`]); with `vars`, a
/// template's placeholders filled as by [`render`] (the statements of
/// `staging/` and `checks/`, which take the extract's name).
pub fn materialise(name: &str, vars: &[(&str, &str)]) -> String {
    if !vars.is_empty() {
        return render(name, vars);
    }
    let levels = geo_levels();
    let levels: Vec<(&str, &str)> = levels.iter().map(|(l, c)| (*l, c.as_str())).collect();
    build_statements(name, None, &levels)
        .into_iter()
        .map(|(_, sql)| sql)
        .collect::<Vec<_>>()
        .join(";\n")
}

/// The names of the files of a layer, alphabetically (the data tests of
/// `queries/tests/`).
pub(crate) fn layer(layer: &str) -> Vec<&'static str> {
    let mut names: Vec<&str> = FILES
        .iter()
        .filter(|(l, _, _)| *l == layer)
        .map(|(_, n, _)| *n)
        .collect();
    names.sort_unstable();
    names
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
pub(crate) fn layer_in_dependency_order(layer: &str) -> crate::error::Result<Vec<&'static str>> {
    let mut models: Vec<(&str, &str)> = FILES
        .iter()
        .filter(|(l, _, _)| *l == layer)
        .map(|(_, name, sql)| (*name, *sql))
        .collect();
    models.sort_unstable();
    dependency_order(&models).map_err(crate::error::Error::Internal)
}

/// Whether `sql` names the table or model `name` (as a whole word: a
/// `from`, a join, a `{{name}}` subquery).
pub(crate) fn names(sql: &str, name: &str) -> bool {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|word| word == name)
}

/// The names of `models` (name, SQL) ordered so that each comes after the
/// models its SQL names; `Err` names the models left in a cycle.
fn dependency_order<'a>(models: &[(&'a str, &str)]) -> Result<Vec<&'a str>, String> {
    let reads = names;
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

/// The seeds: lists that are data, one CSV each (`;`-separated, a
/// header), as `motifs.csv` is. The engine loads each as a table of text
/// columns (`ref_<name>`) that the models read; Rust reads the same text
/// ([`seed_rows`]), and its constants are checked against it.
pub const SEEDS: &[(&str, &str)] = &[
    ("ref_regles", include_str!("reference/regles.csv")),
    ("ref_niveaux_geo", include_str!("reference/niveaux_geo.csv")),
    (
        "ref_niveaux_infra_bac",
        include_str!("reference/niveaux_infra_bac.csv"),
    ),
];

/// The header and the rows of a seed's CSV text (blank lines skipped).
pub fn seed_rows(csv: &str) -> (Vec<&str>, Vec<Vec<&str>>) {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header = lines
        .next()
        .map(|h| h.split(';').map(str::trim).collect())
        .unwrap_or_default();
    let rows = lines
        .map(|l| l.split(';').map(str::trim).collect())
        .collect();
    (header, rows)
}

/// The rows of the seed `table` ([`SEEDS`]).
///
/// # Panics
/// On an unknown seed: names are literals of this crate.
pub(crate) fn seed(table: &str) -> Vec<Vec<&'static str>> {
    let csv = SEEDS
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, csv)| *csv)
        .unwrap_or_else(|| panic!("no seed named {table}"));
    seed_rows(csv).1
}

/// The geographic levels of the cubes (SPEC §6), from the seed
/// `niveaux_geo.csv`, each with the SQL of a row's code at that level: the
/// column of `int_eclate` it names (`france` has none: null).
pub(crate) fn geo_levels() -> Vec<(&'static str, String)> {
    seed("ref_niveaux_geo")
        .into_iter()
        .map(|row| {
            let code = match row[1] {
                "" => "cast(null as varchar)".to_string(),
                column => ident(column),
            };
            (row[0], code)
        })
        .collect()
}

/// The keys of `int_comptes_lieux`: the base and the period, and every
/// column a geographic level of [`geo_levels`] reads, so that each level
/// is a sum of its rows.
fn place_keys() -> Vec<&'static str> {
    let columns = seed("ref_niveaux_geo")
        .into_iter()
        .map(|row| row[1])
        .filter(|column| !column.is_empty());
    ["base", "code_periode"]
        .into_iter()
        .chain(columns)
        .collect()
}

/// The geographic levels finer than the region (`dans_region` in the seed):
/// each of their codes lies in one region.
pub(crate) fn levels_in_region() -> Vec<&'static str> {
    seed("ref_niveaux_geo")
        .into_iter()
        .filter(|row| row[2] == "O")
        .map(|row| row[0])
        .collect()
}

/// A cube template for one geographic level, every dimension in one
/// grouping set each: `{{niveau_geo}}` and `{{code_geo}}` come from
/// [`geo_levels`].
pub(crate) fn render_level(name: &str, niveau_geo: &str, code_geo: &str) -> String {
    render(name, &[("niveau_geo", niveau_geo), ("code_geo", code_geo)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_intermediate_layer_runs_in_the_order_its_sql_gives() {
        // int_codes_periodes numbers int_periodes (a seed filled by the
        // run, not a model); int_lignes reads int_positionnements;
        // int_modalites numbers int_lignes's modalities; int_eclate reads
        // the three; int_comptes_lieux reads int_eclate.
        assert_eq!(
            layer_in_dependency_order("intermediate").unwrap(),
            [
                "int_codes_periodes",
                "int_positionnements",
                "int_lignes",
                "int_modalites",
                "int_eclate",
                "int_comptes_lieux"
            ]
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
    fn every_adapter_macro_renders_one_statement() {
        let macros: Vec<(&str, usize)> = get("adaptateur")
            .lines()
            .filter_map(|l| l.strip_prefix("{% macro "))
            .map(|l| {
                let (name, rest) = l.split_once('(').unwrap();
                let params = rest.split_once(')').unwrap().0;
                (
                    name,
                    params.split(',').filter(|p| !p.trim().is_empty()).count(),
                )
            })
            .collect();
        assert!(macros.len() > 10, "{macros:?}");
        for (name, arity) in macros {
            let args = ["\"t\"", "select 1", "'x'"];
            let sql = adapter(name, &args[..arity]);
            assert!(!sql.is_empty() && !sql.contains("{{"), "{name}: {sql}");
            let unquoted: String = sql.split('\'').step_by(2).collect();
            let statements = unquoted.trim_end_matches(';').matches(';').count() + 1;
            assert!(name == "reglages" || statements == 1, "{name}: {sql}");
        }
        assert_eq!(
            adapter("reglages", &["'1GB'", "'/tmp'", ""]),
            "set memory_limit = '1GB'; set preserve_insertion_order = false; set checkpoint_threshold = '1TB'; set temp_directory = '/tmp';"
        );
    }

    #[test]
    fn every_model_is_one_select() {
        for (layer, name, sql) in FILES {
            if ["macros", "fragments", "adapter"].contains(layer) {
                continue;
            }
            let code = code(sql);
            let code = code.trim();
            assert!(
                code.starts_with("with") || code.starts_with("select"),
                "{layer}/{name} is not one select"
            );
            // A `;` outside string literals ends a statement.
            let unquoted: String = code.split('\'').step_by(2).collect();
            assert!(
                !unquoted.trim_end_matches(';').contains(';'),
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
        let by_level = build_statements(
            "agg_cohorte",
            None,
            &[("france", "null"), ("region", "region")],
        );
        assert_eq!(by_level.len(), 2);
        assert!(by_level[0]
            .1
            .starts_with("create or replace table agg_cohorte as"));
        assert!(by_level[1].1.starts_with("insert into agg_cohorte\n"));
        assert_eq!(materialise("macro_age", &[]), render("macro_age", &[]));
    }

    #[test]
    fn the_marts_run_in_the_order_their_sql_gives() {
        let order = layer_in_dependency_order("marts").unwrap();
        let at = |n: &str| order.iter().position(|m| *m == n).unwrap();
        assert!(at("agg_personnes_multiples") < at("agg_cohorte"));
        assert!(at("agg_personnes_multiples") < at("agg_entrees"));
        assert!(at("agg_comptes") < at("agg_cohorte"));
        assert!(at("agg_comptes") < at("agg_entrees"));
        assert!(at("agg_cohorte") < at("agg_cohorte_vides"));
        assert!(at("out_sessions_remplissage") < at("agg_remplissage"));
        assert!(at("agg_remplissage") < at("agg_remplissage_vides"));
        assert!(at("agg_cohorte_vides") < at("out_entonnoir"));
    }

    #[test]
    fn the_rust_constants_are_those_of_the_seeds() {
        use crate::schema::rule;
        let rules: Vec<&str> = seed("ref_regles").into_iter().map(|r| r[0]).collect();
        let in_rust = [
            rule::FIELD_COUNT,
            rule::UNCLOSED_QUOTE,
            rule::NO_VALUE,
            rule::UTF8,
            rule::TYPE,
            rule::ENUM,
            rule::REQUIRED,
            rule::FORMAT,
            rule::NIR,
            rule::SIRET,
            rule::RANGE,
            rule::DATE_ORDER,
            rule::IMPLAUSIBLE_DATE,
            rule::STATUS,
            rule::DUPLICATE,
            rule::FOREIGN_KEY,
            rule::PARENT,
            rule::W_INT96,
            rule::W_COLUMN_TYPE,
        ];
        for constant in in_rust {
            assert!(rules.contains(&constant), "{constant} is not in regles.csv");
        }
        // A rule no Rust constant names is applied by SQL alone: the warnings model.
        for code in &rules {
            assert!(
                in_rust.contains(code) || get("avertissements").contains(&format!("'{code}'")),
                "{code} of regles.csv is applied nowhere"
            );
        }
        // The levels below the baccalauréat are a seed only: a prefix of the level codes.
        let infra: Vec<&str> = seed("ref_niveaux_infra_bac")
            .into_iter()
            .map(|r| r[0])
            .collect();
        assert_eq!(infra, crate::schema::NIVEAUX[..infra.len()]);
        let levels: Vec<&str> = geo_levels().into_iter().map(|(l, _)| l).collect();
        assert_eq!(levels, ["france", "region", "departement", "zone_emploi"]);
        // Secrecy is pure and keeps its own list: it is the seed's.
        assert_eq!(levels, crate::secrecy::plan::LEVELS);
        assert_eq!(levels_in_region(), ["departement", "zone_emploi"]);
        // The opposition list matches persons by every identifier kind.
        for kind in crate::register::IDENTIFIERS {
            assert!(
                get("dlv_opposes").contains(&format!("liste.genre = '{kind}'")),
                "{kind}"
            );
        }
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
        for (_, name, _) in FILES.iter().filter(|(layer, _, sql)| {
            !["fragments", "adapter"].contains(layer) && !sql.contains("{%")
        }) {
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
                    ("niveau", "departement"),
                ],
            );
            assert!(!sql.contains("{{"), "{name} keeps a placeholder");
        }
    }
}
