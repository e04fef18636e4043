-- The sessions a partner sees: those of its positionings.
select session_id from stg_sessions
where session_id in (select session_id from dlv_positionnements)
