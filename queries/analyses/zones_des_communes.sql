-- The zone d'emploi of each commune where a session takes place (the
-- smallest code when a commune has two): the reference by which
-- k-anonymity climbs a commune to its zone (issue 25).
with

sessions as (
    select commune_insee, zone_emploi from stg_sessions
),

final as (
    select commune_insee, min(zone_emploi) as zone_emploi
    from sessions
    where commune_insee is not null and zone_emploi is not null
    group by commune_insee
)

select * from final
