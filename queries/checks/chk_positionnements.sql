-- Rows of positionnements that break a set-level rule, with their rule:
-- duplicates, then parents that exist nowhere, then parents that were
-- quarantined (the cascade). Only the rejected rows, and only the columns
-- the quarantine needs.
with

raw_rows as (
    select ligne, positionnement_id, identifiant_spe, session_id from raw_positionnements
),

individus_acceptes as (
    select identifiant_spe from stg_individus
),

sessions_acceptees as (
    select session_id from stg_sessions
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
        row_number() over (partition by positionnement_id order by ligne) as rang,
        individus_acceptes.identifiant_spe is not null as individu_accepte,
        sessions_acceptees.session_id is not null as session_acceptee,
        individus_en_quarantaine.identifiant_spe is not null as individu_en_quarantaine,
        sessions_en_quarantaine.session_id is not null as session_en_quarantaine,
    from raw_rows
    left join individus_acceptes using (identifiant_spe)
    left join sessions_acceptees using (session_id)
    left join individus_en_quarantaine using (identifiant_spe)
    left join sessions_en_quarantaine using (session_id)
),

final as (
    select
        ligne,
        positionnement_id,
        case
            when rang > 1 then 'doublon'
            when not individu_accepte and not individu_en_quarantaine then 'cle_etrangere_absente'
            when not session_acceptee and not session_en_quarantaine then 'cle_etrangere_absente'
            when not individu_accepte or not session_acceptee then 'parent_en_quarantaine'
        end as regle,
        case
            when rang > 1 then 'positionnement_id déjà présent à une ligne précédente'
            when not individu_accepte and not individu_en_quarantaine then 'identifiant_spe absent des individus'
            when not session_acceptee and not session_en_quarantaine then 'session_id absent des sessions'
            when not individu_accepte then 'individu en quarantaine'
            when not session_acceptee then 'session en quarantaine'
        end as detail,
    from ranked
    where rang > 1 or not individu_accepte or not session_acceptee
)

select * from final
