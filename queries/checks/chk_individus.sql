-- Rows of individus that break a set-level rule, with their rule: the first
-- occurrence of an identifiant_spe is kept, later ones are duplicates. Only the
-- rejected rows, and only the columns the quarantine needs: the accepted
-- rows stay where they are (`stage_accept`).
with

raw_rows as (
    select ligne, identifiant_spe from raw_individus
),

ranked as (
    select
        *,
        row_number() over (partition by identifiant_spe order by ligne) as rang,
    from raw_rows
),

final as (
    select
        ligne,
        identifiant_spe,
        'doublon' as regle,
        'identifiant_spe déjà présent à une ligne précédente' as detail,
    from ranked
    where rang > 1
)

select * from final
