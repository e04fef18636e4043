-- Every measure of the positioning cohort, by period, geography and
-- dimension. The france × ensemble row exists for every requested period.
create or replace table agg_cohorte as
with

lignes as (
    select * from int_cohorte
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
),

vides as (
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
        cast(null as double) as mediane_jours_entree,
        cast(null as double) as p75_jours_entree,
        cast(null as double) as mediane_jours_ico,
        cast(null as double) as p75_jours_ico,
    from int_periodes
    anti join agregats using (periode, type_periode)
),

final as (
    select * from agregats
    union all by name
    select * from vides
)

select * from final
