-- The raw table of an extract, empty and typed as the validator types
-- its columns (`validate::staged_schema`: `cast(null as T) as "name"`);
-- Rust appends the valid rows.
select {{colonnes}}
limit 0
