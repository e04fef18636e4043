-- Rows of sessions that break a set-level rule, with their rule: the first
-- occurrence of a session_id is kept, later ones are duplicates. Only the
-- rejected rows, and only the columns the quarantine needs: the accepted
-- rows stay where they are (`stage_accept`).
with

raw_rows as (
    select ligne, session_id from raw_sessions
),

ranked as (
    select
        *,
        row_number() over (partition by session_id order by ligne) as rang,
    from raw_rows
),

final as (
    select
        ligne,
        session_id,
        'doublon' as regle,
        'session_id déjà présent à une ligne précédente' as detail,
    from ranked
    where rang > 1
)

select * from final
