-- Rows of evenements that break a set-level rule, with their rule: the
-- positioning must be accepted; a quarantined positioning takes its events
-- with it. Only the rejected rows, and only the columns the quarantine
-- needs.
with

raw_rows as (
    select ligne, positionnement_id from raw_evenements
),

positionnements_acceptes as (
    select positionnement_id from stg_positionnements
),

positionnements_en_quarantaine as (
    select distinct cle as positionnement_id
    from quarantaine
    where extrait = 'positionnements' and cle is not null
),

rejetees as (
    select raw_rows.*
    from raw_rows
    anti join positionnements_acceptes using (positionnement_id)
),

final as (
    select
        rejetees.ligne,
        rejetees.positionnement_id,
        case
            when positionnements_en_quarantaine.positionnement_id is not null then 'parent_en_quarantaine'
            else 'cle_etrangere_absente'
        end as regle,
        case
            when positionnements_en_quarantaine.positionnement_id is not null then 'positionnement en quarantaine'
            else 'positionnement_id absent des positionnements'
        end as detail,
    from rejetees
    left join positionnements_en_quarantaine using (positionnement_id)
)

select * from final
