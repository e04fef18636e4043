-- The funnel cube: positioning cohort, followed up to the cut-off.
with

cohorte as (
    select * from agg_cohorte
),

final as (
    select
        periode,
        type_periode,
        niveau_geo,
        code_geo,
        dimension,
        modalite,
        nb_positionnements,
        nb_presents_ico,
        nb_retenus,
        nb_ais_validees,
        nb_entrees,
        nb_abandons,
        nb_entrees / nullif(nb_positionnements, 0) as taux_entree,
        nb_personnes_positionnees,
        nb_personnes_entrees,
    from cohorte
)

select * from final order by all
