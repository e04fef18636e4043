-- Every period of the run has its france × ensemble row in the cohort
-- cube (`agg_cohorte_vides` adds the empty ones). Zero rows expected.
with

periodes as (
    select periode, type_periode from int_periodes
),

ensemble as (
    select periode, type_periode
    from agg_cohorte
    where niveau_geo = 'france' and dimension = 'ensemble'
),

final as (
    select * from periodes
    anti join ensemble using (periode, type_periode)
)

select * from final
