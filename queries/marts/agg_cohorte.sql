-- Every measure of the positioning cohort for one geographic level, by
-- period and dimension (one grouping set per dimension).
--
-- The counts come from `agg_comptes` (sums over the level's places);
-- distinct persons are rows of persons with a single positioning in the
-- period plus `agg_personnes_multiples`; the delays' quantiles are
-- computed from the rows themselves. They are joined on the numbers of
-- periods and modalities; the labels come with `agg_comptes`.
with

comptes as (
    select * from agg_comptes
    where base = 'cohorte' and niveau_geo = '{{niveau_geo}}'
),

-- Only the rows with a delay hold values for the quantiles (holistic: each
-- cell keeps its values), a cell without any has null delays.
delais as (
    select
        code_periode,
        niveau_geo,
        code_geo,
        {{dimension}} as dimension,
        {{modalite}} as code_modalite,
        quantile_cont(jours_entree, [0.5, 0.75]) as quantiles_jours_entree,
        quantile_cont(jours_ico, [0.5, 0.75]) as quantiles_jours_ico,
    from (
        select *, '{{niveau_geo}}' as niveau_geo, {{code_geo}} as code_geo
        from int_eclate
        where base = 'cohorte' and (jours_entree is not null or jours_ico is not null)
    )
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
    left join delais
        on delais.code_periode = comptes.code_periode
        and delais.code_geo is not distinct from comptes.code_geo
        and delais.dimension = comptes.dimension
        and delais.code_modalite = comptes.code_modalite
    left join multiples
        on multiples.code_periode = comptes.code_periode
        and multiples.code_geo is not distinct from comptes.code_geo
        and multiples.dimension = comptes.dimension
        and multiples.code_modalite = comptes.code_modalite
)

select * from final
