-- The positionings (existing at the cut-off) of a partner: its public
-- (a boolean column, one of `deliver::PUBLICS`) in the sessions of its département ($1).
with

positionnements as (
    select positionnement_id, identifiant_spe, session_id from int_positionnements
),

sessions as (
    select * from stg_sessions
),

individus as (
    select * from stg_individus
),

final as (
    select
        positionnements.positionnement_id,
        positionnements.identifiant_spe,
        positionnements.session_id,
    from positionnements
    inner join sessions using (session_id)
    inner join individus using (identifiant_spe)
    where sessions.departement = $1 and coalesce(individus.{{public}}, false)
)

select * from final
