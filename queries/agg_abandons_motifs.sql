-- Abandons of the positioning cohort split by the reason of the latest
-- abandon (a missing reason is `inconnu`).
with

lignes as (
    select *, coalesce(motif_abandon, 'inconnu') as motif_code
    from int_cohorte
    where abandon and niveau_geo = '{{niveau_geo}}' and type_periode = '{{type_periode}}'
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
