-- Every measure of the positioning cohort, by period, geography and
-- dimension, for one geographic level and one kind of period at a time
-- (holistic aggregates such as medians and distinct counts are held in
-- memory: one slice at a time keeps large runs within the memory cap).
with

lignes as (
    select *
    from int_cohorte
    where niveau_geo = '{{niveau_geo}}' and type_periode = '{{type_periode}}'
),

agregats as (
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
        count(distinct identifiant_spe) as nb_personnes_positionnees,
        count(distinct case when entre then identifiant_spe end) as nb_personnes_entrees,
        count(distinct case when est_eligible_pic then identifiant_spe end) as nb_eligibles_pic_positionnes,
        quantile_cont(jours_entree, 0.5) as mediane_jours_entree,
        quantile_cont(jours_entree, 0.75) as p75_jours_entree,
        quantile_cont(jours_ico, 0.5) as mediane_jours_ico,
        quantile_cont(jours_ico, 0.75) as p75_jours_ico,
    from lignes
    group by grouping sets ({{grouping_sets}})
)

select * from agregats
