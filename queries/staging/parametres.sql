-- The run's cut-off date ($1, `YYYY-MM-DD`).
select cast($1 as date) as date_arrete
