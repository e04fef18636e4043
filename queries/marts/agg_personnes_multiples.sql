-- Distinct persons per cell among persons with several positionings in
-- the same base and period (`plusieurs`, see `int_eclate`), for both bases
-- and one geographic level: all, the entered and the PIC-eligible. The
-- periods and modalities are numbers, as in `int_eclate`.
--
-- The cubes count every other person as a row (a person with a single
-- positioning in the period is one row of every cell it is in) and add
-- these. Counted in two steps, one row per cell and person then a count
-- per cell: exact, and several times faster than distinct counts under
-- filters, which read every row.
with

lignes as (
    select *, '{{niveau_geo}}' as niveau_geo, {{code_geo}} as code_geo
    from int_eclate
    where plusieurs
),

par_personne as (
    select
        base,
        code_periode,
        niveau_geo,
        code_geo,
        {{dimension}} as dimension,
        {{modalite}} as code_modalite,
        identifiant_spe,
        bool_or(entre) as entre,
        bool_or(est_eligible_pic) as eligible_pic,
    from lignes
    group by grouping sets ({{grouping_sets_base_personne}})
),

final as (
    select
        base,
        code_periode,
        niveau_geo,
        code_geo,
        dimension,
        code_modalite,
        count(*) as nb_personnes,
        count(*) filter (where entre) as nb_personnes_entrees,
        count(*) filter (where eligible_pic) as nb_personnes_eligibles,
    from par_personne
    group by all
)

select * from final
