-- An empty typed table that Rust appends to: a raw extract, typed as the
-- validator types its columns (`validate::staged_schema`), or a seed of
-- `src/reference/` (every column text). `colonnes`: (name, DuckDB type)
-- pairs from Rust constants, the name quoted.
select
{%- for nom, type in colonnes %} cast(null as {{ type }}) as {{ nom }}{{ "," if not loop.last }}{% endfor %}
limit 0
