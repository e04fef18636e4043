-- The quarantined rows of extract $1, per rule.
select regle, count(*) as nb
from quarantaine
where extrait = $1
group by regle
order by regle
