-- Rows of sessions that break a set-level rule, with their rule: the first
-- occurrence of a session_id is kept, later ones are duplicates. Only the
-- rejected rows, and only the columns the quarantine needs: the accepted
-- rows stay where they are (`stage_accept`).
with

raw_rows as (
    select ligne, session_id from raw_sessions
),

-- The first line of every session_id that occurs more than once: a grouped
-- count, not a ranking window, so that a file without duplicates is one pass.
premieres as (
    select session_id, min(ligne) as premiere
    from raw_rows
    group by session_id
    having count(*) > 1
),

final as (
    select
        raw_rows.ligne,
        raw_rows.session_id,
        'doublon' as regle,
        'session_id déjà présent à une ligne précédente' as detail,
    from raw_rows
    inner join premieres using (session_id)
    where raw_rows.ligne > premieres.premiere
)

select * from final
