-- The abandon cube: abandons of the entered positionings of the cohort, in
-- total (motif_code = ensemble) and by reason.
with

totaux as (
    select
        periode, type_periode, niveau_geo, code_geo, dimension, modalite,
        nb_entrees,
        nb_abandons,
    from agg_cohorte
    where nb_entrees > 0 or (niveau_geo = 'france' and dimension = 'ensemble')
),

motifs as (
    select * from agg_abandons_motifs
),

par_motif as (
    select
        motifs.periode, motifs.type_periode, motifs.niveau_geo, motifs.code_geo,
        motifs.dimension, motifs.modalite,
        motifs.motif_code,
        totaux.nb_entrees,
        motifs.nb_abandons,
        totaux.nb_abandons as nb_abandons_ensemble,
    from motifs
    inner join totaux
        on motifs.periode = totaux.periode
        and motifs.type_periode = totaux.type_periode
        and motifs.niveau_geo = totaux.niveau_geo
        and motifs.code_geo is not distinct from totaux.code_geo
        and motifs.dimension = totaux.dimension
        and motifs.modalite = totaux.modalite
),

tous as (
    select
        periode, type_periode, niveau_geo, code_geo, dimension, modalite,
        'ensemble' as motif_code,
        nb_entrees,
        nb_abandons,
        nb_abandons as nb_abandons_ensemble,
    from totaux
    union all
    select * from par_motif
),

final as (
    select
        periode,
        type_periode,
        niveau_geo,
        code_geo,
        dimension,
        modalite,
        motif_code,
        nb_entrees,
        nb_abandons,
        nb_abandons / nullif(nb_entrees, 0) as taux_abandon,
        nb_abandons / nullif(nb_abandons_ensemble, 0) as part_abandons,
    from tous
)

select * from final order by all
