-- The rows of individus a recipient receives, in the file's order: the
-- columns the policy grants (names from `schema`), the
-- person of each row and the keys microdata anonymisation needs.
select {{colonnes}}
from stg_individus t
where t.identifiant_spe in (select identifiant_spe from dlv_individus)
order by t.ligne
