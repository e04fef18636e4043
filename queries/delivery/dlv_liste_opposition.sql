-- The opposition and limitation list (issue 26), one row per identifier
-- and class of recipient, appended by Rust.
create or replace temp table dlv_liste_opposition (
    genre varchar,
    identifiant varchar,
    classe varchar,
    demande varchar
)
