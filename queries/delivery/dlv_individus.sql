-- The persons a recipient receives: for a recipient of every person ($1),
-- every staged person the opposition list does not withhold; for the
-- others, the persons of its positionings.
with

individus as (
    select identifiant_spe from stg_individus
),

retenus as (
    select identifiant_spe from dlv_retenus
),

positionnements as (
    select identifiant_spe from dlv_positionnements
),

final as (
    select identifiant_spe
    from individus
    where case
        when $1 then identifiant_spe not in (select identifiant_spe from retenus)
        else identifiant_spe in (select identifiant_spe from positionnements)
    end
)

select * from final
