-- An empty typed table that Rust appends to: a raw extract, typed as the
-- validator types its columns (`validate::staged_schema`), or a seed of
-- `src/reference/` (every column text). The columns come from Rust
-- constants: `cast(null as T) as "name"`.
select {{colonnes}}
limit 0
