-- The raw content of quarantined lines, read back from the file and
-- appended by Rust.
create or replace temp table contenus (ligne bigint, contenu varchar)
