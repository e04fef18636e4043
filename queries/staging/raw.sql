-- The raw table of an extract, as the validator types its columns: the
-- columns and their types come from `validate::staged_schema`.
create table raw_{{extrait}} ({{colonnes}})
