-- The cells of the fill cube under disclosure control: entered persons.
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
        nb_entres,
    from remplissage
)

select * from final order by all
