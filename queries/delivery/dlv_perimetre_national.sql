-- The positionings (existing at the cut-off) of a national recipient
-- (Pôle emploi, the ministry, the committee): all of them.
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
    
)

select * from final
