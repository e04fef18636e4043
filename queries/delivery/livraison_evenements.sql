-- The rows of evenements a recipient receives, in the file's order: the
-- columns the policy grants (names from `schema`), the
-- person of each row (`d.identifiant_spe`, of its positioning) and the keys microdata anonymisation needs.
select {{colonnes}}
from stg_evenements t
inner join dlv_positionnements d on d.positionnement_id = t.positionnement_id
where t.enregistre_le < (select date_arrete from parametres) + interval 1 day
order by t.ligne
