-- The accepted rows of an extract, typed: what every indicator reads. In no
-- particular order: what needs the file's order sorts by `ligne` itself.
create or replace table stg_{{extrait}} as
select * exclude (regle, detail)
from chk_{{extrait}}
where regle is null
