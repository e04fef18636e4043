-- Set-level rules on sessions: the first occurrence of a session_id is kept,
-- later ones are duplicates.
create or replace table chk_sessions as
with

raw_rows as (
    select * from raw_sessions
),

ranked as (
    select
        *,
        row_number() over (partition by session_id order by ligne) as rang,
    from raw_rows
),

final as (
    select
        * exclude (rang),
        case when rang > 1 then 'doublon' end as regle,
        case when rang > 1 then 'session_id déjà présent à une ligne précédente' end as detail,
    from ranked
)

select * from final
