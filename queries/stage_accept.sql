-- The accepted rows of an extract, typed: what every indicator reads.
create or replace table stg_{{extrait}} as
select * exclude (regle, detail)
from chk_{{extrait}}
where regle is null
order by ligne
