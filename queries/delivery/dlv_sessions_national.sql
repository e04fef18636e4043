-- The sessions a national recipient sees: all of them.
select session_id from stg_sessions
