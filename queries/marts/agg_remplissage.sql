-- Session fill by four-month period, geography and scheme or funder: for a
-- group of sessions the rate is sum(nb_entres) / sum(places), never a mean
-- of rates.
with

sessions as (
    select
        * exclude (financeur_code),
        cast(financeur_code as varchar) as financeur_code,
    from out_sessions_remplissage
),

geo as (
    select *, 'france' as niveau_geo, cast(null as varchar) as code_geo from sessions
    union all
    select *, 'region' as niveau_geo, coalesce(region, 'inconnu') as code_geo from sessions
    union all
    select *, 'departement' as niveau_geo, coalesce(departement, 'inconnu') as code_geo from sessions
    union all
    select *, 'zone_emploi' as niveau_geo, coalesce(zone_emploi, 'inconnu') as code_geo from sessions
    union all
    -- Département × zone d'emploi, for statistical secrecy only: set when
    -- a run publishes both levels (see `Stage::aggregate_crossing`).
    select
        *,
        'departement_zone' as niveau_geo,
        coalesce(departement, 'inconnu') || '|' || coalesce(zone_emploi, 'inconnu') as code_geo,
    from sessions
    where coalesce(getvariable('croisement'), false)
),

final as (
    select
        periode,
        'quadrimestre' as type_periode,
        niveau_geo,
        code_geo,
        case
            when grouping(dispositif) = 0 then 'dispositif'
            when grouping(financeur_code) = 0 then 'financeur_code'
            else 'ensemble'
        end as dimension,
        case
            when grouping(dispositif) = 0 then dispositif
            when grouping(financeur_code) = 0 then financeur_code
            else 'ensemble'
        end as modalite,
        count(*) as nb_sessions,
        cast(sum(places_conventionnees) as bigint) as places_conventionnees,
        cast(sum(nb_entres) as bigint) as nb_entres,
        sum(nb_entres) / sum(places_conventionnees) as taux_remplissage,
    from geo
    group by grouping sets (
        (periode, niveau_geo, code_geo),
        (periode, niveau_geo, code_geo, dispositif),
        (periode, niveau_geo, code_geo, financeur_code)
    )
)

select * from final
