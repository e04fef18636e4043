-- Session fill (SPEC §3): one row per session whose date_debut falls in a
-- requested period; counts are distinct persons over every positioning
-- that exists at the cut-off, whatever its date.
with

sessions as (
    select * from stg_sessions
),

lignes as (
    select * from int_lignes
),

periodes as (
    select periode from int_periodes where type_periode = 'quadrimestre'
),

comptes as (
    select
        session_id,
        count(distinct identifiant_spe) as nb_positionnes,
        count(distinct case when retenu then identifiant_spe end) as nb_retenus,
        count(distinct case when entre then identifiant_spe end) as nb_entres,
    from lignes
    group by session_id
),

final as (
    select
        sessions.session_id,
        periode_quadrimestre(sessions.date_debut) as periode,
        sessions.dispositif,
        sessions.financeur_code,
        sessions.region,
        sessions.departement,
        sessions.zone_emploi,
        sessions.date_debut,
        sessions.places_conventionnees,
        coalesce(comptes.nb_positionnes, 0) as nb_positionnes,
        coalesce(comptes.nb_retenus, 0) as nb_retenus,
        coalesce(comptes.nb_entres, 0) as nb_entres,
        coalesce(comptes.nb_entres, 0) / sessions.places_conventionnees as taux_remplissage,
        coalesce(comptes.nb_entres, 0) > sessions.places_conventionnees as sur_effectif,
    from sessions
    left join comptes using (session_id)
    where periode_quadrimestre(sessions.date_debut) in (select periode from periodes)
)

select * from final order by periode, session_id
