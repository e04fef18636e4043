-- The quarantine: every rejected row of every extract, with its rule,
-- empty and typed; Rust appends the rows the validator rejects, then those
-- of the set-level rules with their raw content (`stage_quarantine`).
select
    cast(null as varchar) as extrait,
    cast(null as varchar) as fichier,
    cast(null as bigint) as ligne,
    cast(null as varchar) as regle,
    cast(null as varchar) as detail,
    cast(null as varchar) as contenu,
    cast(null as varchar) as cle,
limit 0
