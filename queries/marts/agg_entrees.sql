-- Distinct persons whose entry date falls in the period, and the
-- PIC-eligible among them, for one geographic level: rows of persons with
-- a single entry in the period (`agg_comptes`), plus `agg_personnes_multiples`.
-- Joined on the numbers of periods and modalities; the labels come with
-- `agg_comptes`.
with

comptes as (
    select * from agg_comptes
    where base = 'entrees' and niveau_geo = '{{niveau_geo}}'
),

multiples as (
    select * from agg_personnes_multiples
    where base = 'entrees' and niveau_geo = '{{niveau_geo}}'
),

final as (
    select
        comptes.periode,
        comptes.type_periode,
        comptes.niveau_geo,
        comptes.code_geo,
        comptes.dimension,
        comptes.modalite,
        nb_personnes_seules + coalesce(multiples.nb_personnes, 0) as nb_personnes_entrees,
        nb_personnes_seules_eligibles + coalesce(multiples.nb_personnes_eligibles, 0)
            as nb_eligibles_pic_entres,
    from comptes
    left join multiples
        on multiples.code_periode = comptes.code_periode
        and multiples.code_geo is not distinct from comptes.code_geo
        and multiples.dimension = comptes.dimension
        and multiples.code_modalite = comptes.code_modalite
)

select * from final
