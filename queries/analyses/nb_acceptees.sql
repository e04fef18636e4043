-- The accepted rows of an extract.
select count(*) as nb from stg_{{extrait}}
