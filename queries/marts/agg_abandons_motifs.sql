-- Abandons of the positioning cohort split by the reason of the latest
-- abandon (a missing reason is `inconnu`), for one geographic level.
-- Periods and modalities are read back as labels at the end
-- (`int_codes_periodes`, `int_modalites`).
with

lignes as (
    select
        *,
        coalesce(motif_abandon, 'inconnu') as motif_code,
        '{{niveau_geo}}' as niveau_geo,
        {{code_geo}} as code_geo,
    from int_eclate
    where base = 'cohorte' and abandon
),

abandons as (
    select
        code_periode,
        niveau_geo,
        code_geo,
        {{dimension}} as dimension,
        {{modalite}} as code_modalite,
        motif_code,
        count(*) as nb_abandons,
    from lignes
    group by grouping sets ({{grouping_sets_motif}})
),

final as (
    select
        int_codes_periodes.periode,
        int_codes_periodes.type_periode,
        comptes.niveau_geo,
        comptes.code_geo,
        comptes.dimension,
        int_modalites.modalite,
        comptes.motif_code,
        comptes.nb_abandons,
    from abandons as comptes
    {{libelles_des_codes}}
)

select * from final
