-- Rows of positionnements that break a set-level rule, with their rule:
-- duplicates, then parents that exist nowhere, then parents that were
-- quarantined (the cascade). Only the rejected rows, and only the columns
-- the quarantine needs.
with

raw_rows as (
    select ligne, positionnement_id, identifiant_spe, session_id from raw_positionnements
),

-- The first line of every positionnement_id that occurs more than once.
premieres as (
    select positionnement_id, min(ligne) as premiere
    from raw_rows
    group by positionnement_id
    having count(*) > 1
),

doublons as (
    select raw_rows.ligne
    from raw_rows
    inner join premieres using (positionnement_id)
    where raw_rows.ligne > premieres.premiere
),

-- The rows some rule rejects, found by anti joins over the whole extract;
-- only they are then told apart, by the joins below.
rejetees as (
    select ligne from doublons
    union
    select ligne from raw_rows anti join stg_individus using (identifiant_spe)
    union
    select ligne from raw_rows anti join stg_sessions using (session_id)
),

individus_en_quarantaine as (
    select distinct cle as identifiant_spe from quarantaine where extrait = 'individus' and cle is not null
),

sessions_en_quarantaine as (
    select distinct cle as session_id from quarantaine where extrait = 'sessions' and cle is not null
),

ranked as (
    select
        raw_rows.*,
        doublons.ligne is not null as doublon,
        stg_individus.identifiant_spe is not null as individu_accepte,
        stg_sessions.session_id is not null as session_acceptee,
        individus_en_quarantaine.identifiant_spe is not null as individu_en_quarantaine,
        sessions_en_quarantaine.session_id is not null as session_en_quarantaine,
    from raw_rows
    semi join rejetees using (ligne)
    left join doublons using (ligne)
    left join stg_individus using (identifiant_spe)
    left join stg_sessions using (session_id)
    left join individus_en_quarantaine using (identifiant_spe)
    left join sessions_en_quarantaine using (session_id)
),

final as (
    select
        ligne,
        positionnement_id,
        case
            when doublon then 'doublon'
            when not individu_accepte and not individu_en_quarantaine then 'cle_etrangere_absente'
            when not session_acceptee and not session_en_quarantaine then 'cle_etrangere_absente'
            when not individu_accepte or not session_acceptee then 'parent_en_quarantaine'
        end as regle,
        case
            when doublon then 'positionnement_id déjà présent à une ligne précédente'
            when not individu_accepte and not individu_en_quarantaine then 'identifiant_spe absent des individus'
            when not session_acceptee and not session_en_quarantaine then 'session_id absent des sessions'
            when not individu_accepte then 'individu en quarantaine'
            when not session_acceptee then 'session en quarantaine'
        end as detail,
    from ranked
)

select * from final
