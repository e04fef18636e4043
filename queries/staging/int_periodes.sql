-- The periods the run computes, empty and typed: Rust appends them.
select
    cast(null as varchar) as periode,
    cast(null as varchar) as type_periode,
limit 0
