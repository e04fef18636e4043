-- Abandons of the positioning cohort split by the reason of the latest
-- abandon (a missing reason is `inconnu`), for one geographic level.
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

final as (
    select
        periode,
        type_periode,
        niveau_geo,
        code_geo,
        {{dimension}} as dimension,
        {{modalite}} as modalite,
        motif_code,
        count(*) as nb_abandons,
    from lignes
    group by grouping sets ({{grouping_sets_motif}})
)

select * from final
