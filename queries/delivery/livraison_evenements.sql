-- The rows of evenements a recipient receives, in the file's order: the
-- columns the policy grants (names from `schema`), the
-- person of each row and the keys microdata anonymisation needs.
select {{colonnes}}
from stg_evenements t
where t.positionnement_id in (select positionnement_id from dlv_positionnements)
    and t.enregistre_le < (select date_arrete from parametres) + interval 1 day
order by t.ligne
