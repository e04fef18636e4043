-- Distinct persons per cell among persons with several positionings in
-- the same base and period (`plusieurs`, see `int_eclate`), for both bases
-- and one geographic level: all, the entered and the PIC-eligible.
--
-- The cubes count every other person as a row (a person with a single
-- positioning in the period is one row of every cell it is in) and add
-- these. A distinct count under a filter reads every row, 5 to 8 times
-- slower than on these few rows.
with

lignes as (
    select *, '{{niveau_geo}}' as niveau_geo, {{code_geo}} as code_geo
    from int_eclate
    where plusieurs
),

final as (
    select
        base,
        periode,
        type_periode,
        niveau_geo,
        code_geo,
        {{dimension}} as dimension,
        {{modalite}} as modalite,
        count(distinct identifiant_spe) as nb_personnes,
        count(distinct identifiant_spe) filter (where entre) as nb_personnes_entrees,
        count(distinct identifiant_spe) filter (where est_eligible_pic) as nb_personnes_eligibles,
    from lignes
    group by grouping sets ({{grouping_sets_base}})
)

select * from final
