-- The cells of the entry cohort under disclosure control (the entered
-- half of pic): persons whose entry date falls in the period.
with

entrees as (
    select * from agg_entrees
),

final as (
    select
        periode,
        type_periode,
        niveau_geo,
        code_geo,
        dimension,
        modalite,
        nb_personnes_entrees,
        nb_eligibles_pic_entres,
    from entrees
)

select * from final order by all
