-- The cells of the entry cohort under disclosure control (the entered
-- half of pic): persons whose entry date falls in the period.
-- A pic row exists when someone was positioned or entered: where no one was
-- positioned, the attacker knows that at least one person entered
-- (plancher_nb_personnes_entrees).
with

entrees as (
    select * from agg_entrees
),

cohorte as (
    select periode, type_periode, niveau_geo, code_geo, dimension, modalite
    from agg_cohorte
    where nb_positionnements > 0
),

final as (
    select
        entrees.periode,
        entrees.type_periode,
        entrees.niveau_geo,
        entrees.code_geo,
        entrees.dimension,
        entrees.modalite,
        entrees.nb_personnes_entrees,
        entrees.nb_eligibles_pic_entres,
        case
            when cohorte.periode is null then least(entrees.nb_personnes_entrees, 1)
            else 0
        end as plancher_nb_personnes_entrees,
    from entrees
    left join cohorte
        on entrees.periode = cohorte.periode
        and entrees.type_periode = cohorte.type_periode
        and entrees.niveau_geo = cohorte.niveau_geo
        and entrees.code_geo is not distinct from cohorte.code_geo
        and entrees.dimension = cohorte.dimension
        and entrees.modalite = cohorte.modalite
)

select * from final order by all
