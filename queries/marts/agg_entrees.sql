-- Distinct persons whose entry date falls in the period, and the
-- PIC-eligible among them, for one geographic level: rows of persons with
-- a single entry in the period (`agg_comptes`), plus `agg_personnes_multiples`.
-- Periods and modalities are read back as labels at the end
-- (`int_codes_periodes`, `int_modalites`).
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
        int_codes_periodes.periode,
        int_codes_periodes.type_periode,
        comptes.niveau_geo,
        comptes.code_geo,
        comptes.dimension,
        int_modalites.modalite,
        nb_personnes_seules + coalesce(multiples.nb_personnes, 0) as nb_personnes_entrees,
        nb_personnes_seules_eligibles + coalesce(multiples.nb_personnes_eligibles, 0)
            as nb_eligibles_pic_entres,
    from comptes
    inner join int_codes_periodes using (code_periode)
    inner join int_modalites
        on int_modalites.dimension = comptes.dimension
        and int_modalites.code = comptes.code_modalite
    left join multiples
        on multiples.code_periode = comptes.code_periode
        and multiples.code_geo is not distinct from comptes.code_geo
        and multiples.dimension = comptes.dimension
        and multiples.code_modalite = comptes.code_modalite
)

select * from final
