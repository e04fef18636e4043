-- The PIC cube: PIC-eligible persons among those positioned in the period
-- (cohort) and among those whose entry date falls in the period.
with

positionnes as (
    select
        periode, type_periode, niveau_geo, code_geo, dimension, modalite,
        nb_personnes_positionnees,
        nb_eligibles_pic_positionnes,
    from agg_cohorte
),

entres as (
    select * from agg_entrees
),

final as (
    select
        coalesce(positionnes.periode, entres.periode) as periode,
        coalesce(positionnes.type_periode, entres.type_periode) as type_periode,
        coalesce(positionnes.niveau_geo, entres.niveau_geo) as niveau_geo,
        coalesce(positionnes.code_geo, entres.code_geo) as code_geo,
        coalesce(positionnes.dimension, entres.dimension) as dimension,
        coalesce(positionnes.modalite, entres.modalite) as modalite,
        coalesce(positionnes.nb_personnes_positionnees, 0) as nb_personnes_positionnees,
        coalesce(positionnes.nb_eligibles_pic_positionnes, 0) as nb_eligibles_pic_positionnes,
        coalesce(positionnes.nb_eligibles_pic_positionnes, 0)
            / nullif(coalesce(positionnes.nb_personnes_positionnees, 0), 0) as part_eligibles_pic_positionnes,
        coalesce(entres.nb_personnes_entrees, 0) as nb_personnes_entrees,
        coalesce(entres.nb_eligibles_pic_entres, 0) as nb_eligibles_pic_entres,
        coalesce(entres.nb_eligibles_pic_entres, 0)
            / nullif(coalesce(entres.nb_personnes_entrees, 0), 0) as part_eligibles_pic_entres,
    from positionnes
    full outer join entres
        on positionnes.periode = entres.periode
        and positionnes.type_periode = entres.type_periode
        and positionnes.niveau_geo = entres.niveau_geo
        and positionnes.code_geo is not distinct from entres.code_geo
        and positionnes.dimension = entres.dimension
        and positionnes.modalite = entres.modalite
)

select * from final order by all
