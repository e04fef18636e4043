-- The raw content of the lines a set-level rule rejects, empty and typed:
-- Rust appends the lines read back from the file.
select
    cast(null as bigint) as ligne,
    cast(null as varchar) as contenu,
limit 0
