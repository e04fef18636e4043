-- The opposition and limitation list (issue 26), empty and typed: Rust
-- appends one row per identifier and class of recipient.
select
    cast(null as varchar) as genre,
    cast(null as varchar) as identifiant,
    cast(null as varchar) as classe,
    cast(null as varchar) as demande,
limit 0
