-- The rows of sessions a recipient receives, in the file's order: the
-- columns the policy grants (names from `schema`), the
-- person of each row and the keys microdata anonymisation needs.
select {{colonnes}}
from stg_sessions t
where t.session_id in (select session_id from dlv_sessions)
order by t.ligne
