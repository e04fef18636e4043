-- The raw content of quarantined lines, empty and typed: Rust appends
-- the lines read back from the file.
select
    cast(null as bigint) as ligne,
    cast(null as varchar) as contenu,
limit 0
