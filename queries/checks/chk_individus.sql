-- Rows of individus that break a set-level rule, with their rule: the first
-- occurrence of an identifiant_spe is kept, later ones are duplicates. Only the
-- rejected rows, and only the columns the quarantine needs: the accepted
-- rows stay where they are (`stage_accept`).
with

raw_rows as (
    select ligne, identifiant_spe from raw_individus
),

-- The first line of every identifiant_spe that occurs more than once: a grouped
-- count, not a ranking window, so that a file without duplicates is one pass.
premieres as (
    select identifiant_spe, min(ligne) as premiere
    from raw_rows
    group by identifiant_spe
    having count(*) > 1
),

final as (
    select
        raw_rows.ligne,
        raw_rows.identifiant_spe,
        'doublon' as regle,
        'identifiant_spe déjà présent à une ligne précédente' as detail,
    from raw_rows
    inner join premieres using (identifiant_spe)
    where raw_rows.ligne > premieres.premiere
)

select * from final
