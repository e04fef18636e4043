-- Distinct persons whose entry date falls in the period, and the
-- PIC-eligible among them.
with

lignes as (
    select *
    from int_entrees
    where niveau_geo = '{{niveau_geo}}' and type_periode = '{{type_periode}}'
),

final as (
    select
        periode,
        type_periode,
        niveau_geo,
        code_geo,
        {{dimension}} as dimension,
        {{modalite}} as modalite,
        count(distinct identifiant_spe) as nb_personnes_entrees,
        count(distinct case when est_eligible_pic then identifiant_spe end) as nb_eligibles_pic_entres,
    from lignes
    group by grouping sets ({{grouping_sets}})
)

select * from final
