-- The additive counts of both bases per period, place and modality: one
-- row per (base, period, region × département × zone d'emploi) for the
-- keys alone and for each modality of each dimension (one grouping set per
-- dimension).
--
-- Every geographic level of the cubes is a sum of these rows
-- (`agg_comptes`), so `int_eclate`'s rows are grouped once here instead
-- of once per level. Counts of persons are counts of rows of persons with
-- a single positioning in the period (`plusieurs`, see `int_eclate`); the
-- others are counted by `agg_personnes_multiples`. Delays (quantiles) and
-- distinct persons do not add up: the cubes compute them per level.
with

lignes as (
    select * from int_eclate
),

final as (
    select
        base,
        code_periode,
        region,
        departement,
        zone_emploi,
        {{dimension}} as dimension,
        {{modalite}} as code_modalite,
        count(*) as nb_positionnements,
        count(*) filter (where present_ico) as nb_presents_ico,
        count(*) filter (where retenu) as nb_retenus,
        count(*) filter (where ais_validee) as nb_ais_validees,
        count(*) filter (where entre) as nb_entrees,
        count(*) filter (where abandon) as nb_abandons,
        count(*) filter (where not plusieurs) as nb_personnes_seules,
        count(*) filter (where entre and not plusieurs) as nb_personnes_seules_entrees,
        count(*) filter (where est_eligible_pic and not plusieurs) as nb_personnes_seules_eligibles,
    from lignes
    group by grouping sets ({{grouping_sets_lieux}})
)

select * from final
