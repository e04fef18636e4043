-- The region of each place of a geographic level finer than the region
-- ({{niveau}}, from `niveaux_geo.csv`), read from the sessions; a code found
-- in several regions is left out.
select {{niveau}}, min(region)
from stg_sessions
where {{niveau}} is not null and region is not null
group by {{niveau}}
having count(distinct region) = 1
