-- Set-level rules on evenements: the positioning must be accepted; a
-- quarantined positioning takes its events with it.
create or replace table chk_evenements as
with

raw_rows as (
    select * from raw_evenements
),

positionnements_acceptes as (
    select positionnement_id from stg_positionnements
),

positionnements_en_quarantaine as (
    select distinct cle as positionnement_id
    from quarantaine
    where extrait = 'positionnements' and cle is not null
),

joined as (
    select
        raw_rows.*,
        positionnements_acceptes.positionnement_id is not null as parent_accepte,
        positionnements_en_quarantaine.positionnement_id is not null as parent_en_quarantaine,
    from raw_rows
    left join positionnements_acceptes using (positionnement_id)
    left join positionnements_en_quarantaine using (positionnement_id)
),

final as (
    select
        * exclude (parent_accepte, parent_en_quarantaine),
        case
            when parent_accepte then null
            when parent_en_quarantaine then 'parent_en_quarantaine'
            else 'cle_etrangere_absente'
        end as regle,
        case
            when parent_accepte then null
            when parent_en_quarantaine then 'positionnement en quarantaine'
            else 'positionnement_id absent des positionnements'
        end as detail,
    from joined
)

select * from final
