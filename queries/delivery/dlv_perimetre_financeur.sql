-- The positionings (existing at the cut-off) of a funder: those of the
-- national perimeter (`dlv_perimetre_tous`) in the sessions it funds ($1,
-- its financeur_code).
select perimetre.*
from dlv_perimetre_tous as perimetre
inner join stg_sessions as sessions using (session_id)
where sessions.financeur_code = $1
