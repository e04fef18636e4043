-- The reason codes, empty and typed: Rust appends `motifs.csv` (or
-- `--motifs`).
select
    cast(null as varchar) as type,
    cast(null as varchar) as motif_code,
    cast(null as varchar) as libelle,
limit 0
