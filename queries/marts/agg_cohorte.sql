-- Every measure of the positioning cohort for one geographic level, by
-- period and dimension (one grouping set per dimension).
--
-- Distinct persons: rows of persons with a single positioning in the
-- period, plus `agg_personnes_multiples`.
with

lignes as (
    select *, '{{niveau_geo}}' as niveau_geo, {{code_geo}} as code_geo
    from int_eclate
    where base = 'cohorte'
),

comptes as (
    select
        periode,
        type_periode,
        niveau_geo,
        code_geo,
        {{dimension}} as dimension,
        {{modalite}} as modalite,
        count(*) as nb_positionnements,
        count(*) filter (where present_ico) as nb_presents_ico,
        count(*) filter (where retenu) as nb_retenus,
        count(*) filter (where ais_validee) as nb_ais_validees,
        count(*) filter (where entre) as nb_entrees,
        count(*) filter (where abandon) as nb_abandons,
        count(*) filter (where not plusieurs) as nb_personnes_seules,
        count(*) filter (where entre and not plusieurs) as nb_personnes_seules_entrees,
        count(*) filter (where est_eligible_pic and not plusieurs) as nb_personnes_seules_eligibles,
        quantile_cont(jours_entree, [0.5, 0.75]) as quantiles_jours_entree,
        quantile_cont(jours_ico, [0.5, 0.75]) as quantiles_jours_ico,
    from lignes
    group by grouping sets ({{grouping_sets}})
),

multiples as (
    select * from agg_personnes_multiples
    where base = 'cohorte' and niveau_geo = '{{niveau_geo}}'
),

final as (
    select
        comptes.periode,
        comptes.type_periode,
        comptes.niveau_geo,
        comptes.code_geo,
        comptes.dimension,
        comptes.modalite,
        nb_positionnements,
        nb_presents_ico,
        nb_retenus,
        nb_ais_validees,
        nb_entrees,
        nb_abandons,
        nb_personnes_seules + coalesce(multiples.nb_personnes, 0) as nb_personnes_positionnees,
        nb_personnes_seules_entrees + coalesce(multiples.nb_personnes_entrees, 0) as nb_personnes_entrees,
        nb_personnes_seules_eligibles + coalesce(multiples.nb_personnes_eligibles, 0)
            as nb_eligibles_pic_positionnes,
        quantiles_jours_entree[1] as mediane_jours_entree,
        quantiles_jours_entree[2] as p75_jours_entree,
        quantiles_jours_ico[1] as mediane_jours_ico,
        quantiles_jours_ico[2] as p75_jours_ico,
    from comptes
    left join multiples
        on multiples.periode = comptes.periode
        and multiples.type_periode = comptes.type_periode
        and multiples.code_geo is not distinct from comptes.code_geo
        and multiples.dimension = comptes.dimension
        and multiples.modalite = comptes.modalite
)

select * from final
