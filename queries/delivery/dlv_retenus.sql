-- The persons the opposition list withholds from a delivery (issue 26):
-- those of its class ($1) among the persons of its perimeter, or among
-- every staged person for a recipient of every person ($2), with their
-- earliest request.
with

opposes as (
    select identifiant_spe, demande from dlv_opposes where classe = $1
),

perimetre as (
    select identifiant_spe from dlv_perimetre
),

individus as (
    select identifiant_spe from stg_individus
),

final as (
    select identifiant_spe, min(demande) as demande
    from opposes
    where identifiant_spe in (select identifiant_spe from perimetre)
        or ($2 and identifiant_spe in (select identifiant_spe from individus))
    group by identifiant_spe
)

select * from final
