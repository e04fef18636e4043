-- Appended to `agg_remplissage` (a `_vides` model adds rows to its table).
-- The france × ensemble row of session fill exists for every requested
-- four-month period (SPEC §3), with 0 sessions, 0 places, 0 entrants and a
-- null rate when no session starts in it (a positioning made months before
-- its session gives its period a funnel row, not a fill row).
select
    periode,
    type_periode,
    'france' as niveau_geo,
    cast(null as varchar) as code_geo,
    'ensemble' as dimension,
    'ensemble' as modalite,
    0 as nb_sessions,
    0 as places_conventionnees,
    0 as nb_entres,
    cast(null as double) as taux_remplissage,
from int_periodes
anti join agg_remplissage using (periode, type_periode)
where type_periode = 'quadrimestre'
