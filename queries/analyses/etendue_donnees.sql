-- The first and last day of activity in the accepted extracts: the first
-- positioning or session, the last positioning, session or event.
with

positionnements as (
    select cast(date_positionnement as date) as jour from stg_positionnements
),

sessions as (
    select date_debut as jour from stg_sessions
),

evenements as (
    select cast(enregistre_le as date) as jour from stg_evenements
),

final as (
    select
        cast(least(
            (select min(jour) from positionnements),
            (select min(jour) from sessions)) as varchar) as premier,
        cast(greatest(
            (select max(jour) from positionnements),
            (select max(jour) from sessions),
            (select max(jour) from evenements)) as varchar) as dernier,
)

select * from final
