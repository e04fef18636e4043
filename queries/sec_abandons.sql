-- The abandon cube as it leaves with statistical secrecy (committee,
-- ministry). Every key keeps its total (motif_code = ensemble: the funnel's
-- abandons and rate, cleared with the funnel). The split by reason is a
-- coarser table (global recoding): by four-month period, for France and the
-- regions by any dimension, and for the départements over all persons.
-- Finer splits (months, zones d'emploi, départements by dimension) are
-- mostly below the threshold, and their absent reasons are known zeros that
-- leave no complement able to protect the rest; they stay in the internal
-- indicator cube and are never delivered.
--
-- The cube has a total row for every key of the funnel, with 0 entries where
-- there were none: a missing row would say that a key whose funnel cell is
-- suppressed had no entry and no abandon.
with

cube as (
    {{out_abandons}}
),

sans_entree as (
    select
        periode,
        type_periode,
        niveau_geo,
        code_geo,
        dimension,
        modalite,
        'ensemble' as motif_code,
        nb_entrees,
        nb_abandons,
        null::double as taux_abandon,
        null::double as part_abandons,
    from agg_cohorte as cohorte
    where not exists (
        select 1
        from cube
        where cube.motif_code = 'ensemble'
            and cube.periode = cohorte.periode
            and cube.type_periode = cohorte.type_periode
            and cube.niveau_geo = cohorte.niveau_geo
            and cube.code_geo is not distinct from cohorte.code_geo
            and cube.dimension = cohorte.dimension
            and cube.modalite = cohorte.modalite
    )
),

final as (
    select *
    from cube
    where motif_code = 'ensemble'
        or (
            type_periode = 'quadrimestre'
            and niveau_geo in ('france', 'region')
            and dimension = 'ensemble'
        )
    union all
    select * from sans_entree
)

select * from final order by all
