-- The fill cube: sessions starting in the period, grouped.
with

remplissage as (
    select * from agg_remplissage
),

final as (
    select
        periode,
        type_periode,
        niveau_geo,
        code_geo,
        dimension,
        modalite,
        nb_sessions,
        places_conventionnees,
        nb_entres,
        taux_remplissage,
    from remplissage
)

select * from final order by all
