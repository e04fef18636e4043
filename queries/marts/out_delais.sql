-- The delay cube: entered positionings of the cohort, days from the
-- positioning's day to the entry and to the latest ICO.
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
        nb_entrees,
        mediane_jours_entree,
        p75_jours_entree,
        mediane_jours_ico,
        p75_jours_ico,
    from cohorte
    where nb_entrees > 0 or (niveau_geo = 'france' and dimension = 'ensemble')
)

select * from final order by all
