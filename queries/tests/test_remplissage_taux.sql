-- A group's fill rate is its entrants over its places, never a mean of
-- rates. Zero rows expected.
select *
from agg_remplissage
where places_conventionnees > 0
    and abs(taux_remplissage - nb_entres / places_conventionnees) > 1e-12
