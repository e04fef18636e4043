-- The periods the run computes, appended by Rust.
create or replace table int_periodes (periode varchar, type_periode varchar)
