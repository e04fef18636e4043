-- The cells of the positioning cohort under disclosure control (entonnoir,
-- delais and the positioned half of pic), with every count they publish.
-- A group with no positioning has no row (but France × ensemble, which is
-- there with zeros): the attacker knows that a row's positionings and
-- positioned persons are at least 1 (plancher_*).
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
        nb_personnes_positionnees,
        nb_personnes_entrees,
        nb_eligibles_pic_positionnes,
        least(nb_positionnements, 1) as plancher_nb_positionnements,
        least(nb_personnes_positionnees, 1) as plancher_nb_personnes_positionnees,
    from cohorte
)

select * from final order by all
