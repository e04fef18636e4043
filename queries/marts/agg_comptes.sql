-- The additive counts of both bases for one geographic level: the sums of
-- `int_comptes_lieux` over the level's places, by period and modality.
-- Each row keeps the numbers it was grouped by (`code_periode`,
-- `code_modalite`, as in `int_eclate`), which the cubes join on, and
-- gains their labels (`int_codes_periodes`, `int_modalites`), which the
-- cubes publish. The cohort's and the entrants' cubes read them.
with

sommes as (
    select
        base,
        code_periode,
        '{{niveau_geo}}' as niveau_geo,
        {{code_geo}} as code_geo,
        dimension,
        code_modalite,
        cast(sum(nb_positionnements) as bigint) as nb_positionnements,
        cast(sum(nb_presents_ico) as bigint) as nb_presents_ico,
        cast(sum(nb_retenus) as bigint) as nb_retenus,
        cast(sum(nb_ais_validees) as bigint) as nb_ais_validees,
        cast(sum(nb_entrees) as bigint) as nb_entrees,
        cast(sum(nb_abandons) as bigint) as nb_abandons,
        cast(sum(nb_personnes_seules) as bigint) as nb_personnes_seules,
        cast(sum(nb_personnes_seules_entrees) as bigint) as nb_personnes_seules_entrees,
        cast(sum(nb_personnes_seules_eligibles) as bigint) as nb_personnes_seules_eligibles,
    from int_comptes_lieux
    group by all
),

final as (
    select
        comptes.*,
        int_codes_periodes.periode,
        int_codes_periodes.type_periode,
        int_modalites.modalite,
    from sommes as comptes
    {{libelles_des_codes}}
)

select * from final
