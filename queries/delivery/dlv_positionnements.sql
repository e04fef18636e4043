-- The positionings a recipient receives: its perimeter less the persons
-- the opposition list withholds.
with

perimetre as (
    select * from dlv_perimetre
),

retenus as (
    select identifiant_spe from dlv_retenus
),

final as (
    select *
    from perimetre
    where identifiant_spe not in (select identifiant_spe from retenus)
)

select * from final
