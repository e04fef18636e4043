{#- The statements the warehouse (src/warehouse.rs) wraps around a model or
    runs for itself, as a dbt adapter's macros: how a `select` is
    materialised, DuckDB's settings, schemas and variables. Each macro is
    one statement (`reglages` a few settings). Its arguments are SQL
    already quoted by Rust (`ident`, `literal`): names come from the
    crate's constants, never from data. -#}

{% macro creer_table(nom, select) %}create or replace table {{ nom }} as
{{ select }}{% endmacro %}

{% macro creer_table_temporaire(nom, select) %}create or replace temp table {{ nom }} as
{{ select }}{% endmacro %}

{% macro creer_vue(nom, select) %}create or replace view {{ nom }} as
{{ select }}{% endmacro %}

{% macro ajouter(nom, select) %}insert into {{ nom }}
{{ select }}{% endmacro %}

{% macro ajouter_par_nom(nom, select) %}insert into {{ nom }} by name
{{ select }}{% endmacro %}

{% macro supprimer_table(nom) %}drop table {{ nom }}{% endmacro %}

{% macro compter(select) %}select count(*) from (
{{ select }}
){% endmacro %}

{% macro compter_parquet(fichier) %}select count(*) from read_parquet({{ fichier }}){% endmacro %}

{% macro copier_parquet(select, fichier) %}copy ({{ select }}) to {{ fichier }} (format parquet, compression zstd){% endmacro %}

{#- `checkpoint_threshold`: the staging lives in memory, where DuckDB's
    automatic checkpoint (after every 16 MB appended) only rewrites every
    table again: without it, reading and the set rules take half the time
    at 2,000,000 persons (docs/performance.md). A kept staging file
    (`--keep-stage`) is checkpointed once, when it is closed. -#}
{% macro reglages(memoire, debordement, fils) %}set memory_limit = {{ memoire }}; set preserve_insertion_order = false; set checkpoint_threshold = '1TB'; set temp_directory = {{ debordement }};{% if fils %} set threads = {{ fils }};{% endif %}{% endmacro %}

{% macro ordre_conserve() %}set preserve_insertion_order = true;{% endmacro %}

{% macro dossier_debordement() %}select current_setting('temp_directory'){% endmacro %}

{% macro creer_schema(nom) %}create schema if not exists {{ nom }}{% endmacro %}

{% macro schema_existe() %}select count(*) from duckdb_schemas() where schema_name = ?{% endmacro %}

{% macro chemin_de_recherche(chemin) %}set search_path = {{ chemin }}{% endmacro %}

{% macro chemin_de_recherche_initial() %}reset search_path{% endmacro %}

{% macro variable(nom, valeur) %}set variable {{ nom }} = {{ valeur }}{% endmacro %}

{% macro variable_effacee(nom) %}reset variable {{ nom }}{% endmacro %}
