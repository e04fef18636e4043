-- The sessions a funder sees: those it funds ($1, its financeur_code).
select session_id from stg_sessions where financeur_code = $1
