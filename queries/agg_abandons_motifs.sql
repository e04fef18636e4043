-- Abandons of the positioning cohort split by the reason of the latest
-- abandon (a missing reason is `inconnu`).
create or replace table agg_abandons_motifs as
with

lignes as (
    select *, coalesce(motif_abandon, 'inconnu') as motif_code
    from int_cohorte
    where abandon
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
