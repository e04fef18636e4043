-- The rows of positionnements a recipient receives, in the file's order: the
-- columns the policy grants (names from `schema`), the
-- person of each row and the keys microdata anonymisation needs.
select {{colonnes}}
from stg_positionnements t
where t.positionnement_id in (select positionnement_id from dlv_positionnements)
order by t.ligne
