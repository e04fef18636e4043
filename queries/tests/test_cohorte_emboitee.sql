-- The cohort's counts nest: entries among positionings, entered persons
-- among positioned persons, persons at most their positionings, abandons
-- and medians only where there are entries. Zero rows expected.
select *
from agg_cohorte
where nb_entrees > nb_positionnements
    or nb_personnes_entrees > nb_personnes_positionnees
    or nb_personnes_positionnees > nb_positionnements
    or nb_personnes_entrees > nb_entrees
    or (nb_entrees = 0 and mediane_jours_entree is not null)
