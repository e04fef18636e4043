-- Appended to `agg_cohorte` (a `_vides` model adds rows to its table).
-- The france × ensemble row exists for every requested period, with zero
-- counts and null medians when the period has no positioning.
select
    periode,
    type_periode,
    'france' as niveau_geo,
    cast(null as varchar) as code_geo,
    'ensemble' as dimension,
    'ensemble' as modalite,
    0 as nb_positionnements,
    0 as nb_presents_ico,
    0 as nb_retenus,
    0 as nb_ais_validees,
    0 as nb_entrees,
    0 as nb_abandons,
    0 as nb_personnes_positionnees,
    0 as nb_personnes_entrees,
    0 as nb_eligibles_pic_positionnes,
from int_periodes
anti join agg_cohorte using (periode, type_periode)
