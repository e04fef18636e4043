-- The demo's headline for one region ($2) and period ($1): positionings,
-- entries, the entry rate, persons and PIC-eligible persons.
select
    entonnoir.nb_positionnements,
    entonnoir.nb_entrees,
    entonnoir.taux_entree,
    pic.nb_personnes_positionnees,
    pic.nb_eligibles_pic_positionnes,
from entonnoir
join pic using (periode, niveau_geo, code_geo, dimension, modalite)
where entonnoir.periode = $1
    and entonnoir.niveau_geo = 'region'
    and entonnoir.code_geo = $2
    and entonnoir.dimension = 'ensemble'
